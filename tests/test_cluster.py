"""The breadth-first search on a Dask cluster (``verify --cluster``), held to
the one-machine search: the same states, verdicts and counterexamples, with
a local cluster of two worker processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from rmapcheck.explicit import bfs, cluster
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.trace import Violated

pytest.importorskip("distributed", reason="--cluster needs Dask's distributed scheduler")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with cluster.connect("local:2") as started:
        yield started


def _both(spec: str, client: Any, **consts: int) -> tuple[Any, Any]:
    machine = Machine(Instance(load_model(spec), consts))
    limits = SearchLimits(stop_at_first=False)
    return bfs.search(machine, limits), cluster.search(machine, limits, client)


@pytest.mark.parametrize(("spec", "consts", "states"), [
    ("pte_chains", {"VPAGES": 2, "FRAMES": 1}, 4_931),
    ("objrmap", {"VPAGES": 1}, 664),
    ("mremap_move_ptes", {}, 13_707),
])
def test_a_complete_search_finds_the_same_states(client: Any, spec: str,
                                                 consts: dict[str, int], states: int) -> None:
    one, many = _both(spec, client, **consts)
    assert one.stats.states == many.stats.states == states
    assert [(n, type(v)) for n, v in one.verdicts] == [(n, type(v)) for n, v in many.verdicts]
    assert many.stats.depth == one.stats.depth


@pytest.mark.parametrize("spec", ["anonmm", "broken/anon_vma_chain_merge_no_dup",
                                  "broken/mremap_move_ptes_unlocked"])
def test_a_refuted_model_gives_the_same_shortest_counterexample(client: Any, spec: str) -> None:
    machine = Machine(Instance(load_model(spec)))
    one = bfs.search(machine)
    many = cluster.search(machine, SearchLimits(), client)
    assert one.violations and all(isinstance(v, Violated) for _, v in many.violations)
    assert [(n, v.trace) for n, v in one.violations] == \
        [(n, v.trace) for n, v in many.violations]


def test_the_command_line(tmp_path: Any) -> None:
    run = subprocess.run([sys.executable, "-m", "rmapcheck", "verify", "anonmm", "-q",
                          "--cluster", "local:2"], capture_output=True, text=True,
                         check=False, timeout=120)
    assert run.returncode == 12, run.stderr
    assert "rmap_complete is VIOLATED after 3 steps  (cluster-bfs" in run.stdout
    wrong = subprocess.run([sys.executable, "-m", "rmapcheck", "verify", "anonmm",
                            "--cluster", "local:0"], capture_output=True, text=True,
                           check=False)
    assert wrong.returncode == 150
    assert "local:N starts N workers on this machine, N from 1 to 64" in wrong.stderr
    clash = subprocess.run([sys.executable, "-m", "rmapcheck", "verify", "anonmm",
                            "--cluster", "local:1", "--por"], capture_output=True, text=True,
                           check=False)
    assert clash.returncode == 150
    assert "does not take --por" in clash.stderr


def test_swarm_walks_find_the_race_and_shrink_it(client: Any) -> None:
    from rmapcheck.fuzz.swarm import strategies, swarm_walks

    machine = Machine(Instance(load_model("broken/mremap_move_ptes_unlocked")),
                      symmetry=False)
    trace, failed, figures = swarm_walks(machine, client, runs=800, steps=40, seed=3)
    assert failed == ["unmap_complete"] and trace is not None
    assert figures["tasks"] == 8 and figures["violating_tasks"] >= 1
    # A threaded operation's steps are kept or left out together.
    for plan in strategies(machine.model, 3, 8):
        kept = {name for name, _ in plan.weights or ()}
        assert ("mremap" in kept) == ("mremap.move" in kept)


def test_swarm_fuzz_merges_the_tasks(client: Any) -> None:
    from rmapcheck.fuzz.swarm import swarm_fuzz

    machine = Machine(Instance(load_model("anonmm")), symmetry=False)
    result = swarm_fuzz(machine, client, examples=400, steps=20, seed=11)
    assert result.engine == "fuzz-swarm"
    assert dict(result.stats.extra)["swarm_tasks"] == 8
    name, violation = result.violations[0]
    assert name == "rmap_complete" and len(violation.trace) == 3
