"""``rmapcheck simulate --actions LIST``: walks that take only the listed
actions, each chosen by its weight among the listed ones that are enabled and
then one of its enabled instances uniformly, as ``rmapcheck conform``'s walks
choose (both call ``explicit.simulate.pick_weighted``); the list is read by
the parser ``conform --actions`` uses (``cli.options.parse_actions``)."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from rmapcheck.cli import main
from rmapcheck.conform.walks import random_steps
from rmapcheck.explicit.machine import Machine
from rmapcheck.explicit.simulate import pick_weighted, random_walk
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance


def simulate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["simulate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def walked(out: str) -> list[list[str]]:
    """The actions of every walk of ``simulate --json``."""
    return [[state["#meta"]["action"] for state in walk["trace"]["states"][1:]]
            for walk in json.loads(out)["walks"]]


def test_walks_take_only_the_listed_actions(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("anon_vma", "--actions", "mmap,fault", "--seed", "1", "--runs", "3", "--steps", "6")
    code, out, err = simulate(capsys, *args, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["actions"] == {"mmap": 1.0, "fault": 1.0}
    # Ended early: at bounds 2,4,3 mmap and fault run out of room and frames.
    assert walked(out) == [["mmap", "fault", "mmap", "fault", "fault"],
                           ["mmap", "fault", "mmap", "fault", "fault"],
                           ["mmap", "fault", "mmap", "fault"]]
    # the same seed, the same walks
    assert simulate(capsys, *args, "--json")[1] == out
    code, out, _ = simulate(capsys, *args, "--no-color")
    assert code == 0
    assert out.splitlines()[-3:-1] == [
        "  (no action of --actions is enabled: the walk ends here)", ""]


def test_a_weight_of_zero_leaves_an_action_out(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = simulate(capsys, "anon_vma", "--actions", "mmap=2,fault=0,fork=1", "--seed",
                            "4", "--runs", "5", "--steps", "4", "--json")
    assert code == 0
    taken = Counter(action for walk in walked(out) for action in walk)
    assert set(taken) == {"mmap", "fork"}
    assert taken == Counter({"mmap": 15, "fork": 5})


def test_the_weight_is_the_actions_and_its_instances_are_equally_likely() -> None:
    # In anon_vma's initial state 20 instances of mmap are enabled, one of fork
    # and one of exit: by instance mmap would be taken 10 times in 11.
    machine = Machine(Instance(load_model("anon_vma"), {}))
    options = machine.expand(machine.initial_state())
    enabled = Counter(machine.action_of(iid).name for iid, _, _ in options)
    assert enabled == Counter({"mmap": 20, "fork": 1, "exit": 1})

    def picks(weights: dict[str, float]) -> Counter[str]:
        rng = random.Random(0)
        out: Counter[str] = Counter()
        for _ in range(1000):
            picked = pick_weighted(machine, rng, options, weights)
            assert picked is not None
            out[machine.describe(picked[0])[0]] += 1
        return out

    assert picks({"mmap": 1, "fork": 1}) == Counter({"fork": 507, "mmap": 493})
    assert picks({"mmap": 1, "fork": 3}) == Counter({"fork": 746, "mmap": 254})
    # fault is not enabled: its weight goes to nothing, and the others share the picks
    assert picks({"mmap": 1, "fork": 3, "fault": 5}) == Counter({"fork": 746, "mmap": 254})
    assert pick_weighted(machine, random.Random(0), options, {"fault": 1, "cow": 1}) is None
    # within mmap, each of its instances
    rng = random.Random(0)
    instances = Counter(pick_weighted(machine, rng, options, {"mmap": 1})[0]  # type: ignore[index]
                        for _ in range(2000))
    assert len(instances) == 20 and min(instances.values()) > 70 and max(instances.values()) < 130


def test_simulate_and_conform_walk_alike() -> None:
    # One chooser for both: from the same random numbers, the same steps.
    machine = Machine(Instance(load_model("anon_vma"), {"VPAGES": 3}))
    weights = {"mmap": 3, "fault": 1, "fork": 1, "cow": 2, "exit": 0.5, "mprotect": 1}
    for seed in range(5):
        trace, _ = random_walk(machine, random.Random(seed), 12, weights=weights)
        choose = random_steps(machine, random.Random(seed), weights)
        state, steps = machine.initial_state(), []
        for index in range(len(trace.steps)):
            chosen = choose(state, index)
            assert chosen is not None and chosen[2] is not None
            steps.append((chosen[0], chosen[1]))
            state = chosen[2]
        assert steps == [(step.action, step.args) for step in trace.steps]


@pytest.mark.parametrize(("actions", "message"), [
    ("mmap,faul", "--actions: anon_vma has no action 'faul'; did you mean 'fault'?"),
    ("mmap,reclaim", ("--actions: anon_vma has no action 'reclaim' (it has mmap, munmap, "
     "mprotect, mremap, fork, exit, fault, cow, grow_stack, swap_out)")),
    ("mmap=x", "--actions mmap=x: a weight is a number"),
    ("mmap=-1", "--actions mmap=-1: a weight must not be negative"),
    ("mmap=0,fault=0", "--actions: every weight is 0, so no walk can take a step"),
])
def test_a_wrong_list_is_one_sentence(capsys: pytest.CaptureFixture[str], actions: str,
                                      message: str) -> None:
    code, out, err = simulate(capsys, "anon_vma", "--actions", actions, "--seed", "1")
    assert (code, out) == (150, "")
    assert err == f"rmapcheck: error: {message}\n"
