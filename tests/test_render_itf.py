"""ITF output: valid by ADR-015, round-trips, and replays to the same violation.

Every bundled model (models/*.spec and models/broken/*.spec) is searched with
a state limit; every counterexample found is written as ITF, validated,
read back and replayed with ``rmapcheck replay``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmapcheck.cli import main
from rmapcheck.explicit.bfs import search
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.render.itf import trace_from_itf, trace_to_itf, validate_itf
from rmapcheck.replay import replay_trace

MODELS = Path(__file__).resolve().parent.parent / "models"
SPECS = sorted(p for p in list(MODELS.glob("*.spec")) + list(MODELS.glob("broken/*.spec"))
               if not p.stem.startswith("vm"))  # vm*.spec are libraries, not designs
MAX_STATES = 30_000


def _violations(spec: Path) -> tuple[Machine, list]:
    machine = Machine(Instance(load_model(str(spec), {}), {}))
    result = search(machine, SearchLimits(max_states=MAX_STATES, timeout=20))
    return machine, result.violations


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_counterexample_is_valid_itf_and_replays(spec: Path) -> None:
    machine, violations = _violations(spec)
    if spec.stem == "anonmm":
        assert [name for name, _ in violations] == ["rmap_complete"]
    if not violations:
        pytest.skip(f"{spec.stem}: no violation within {MAX_STATES:,} states")
    for name, violation in violations:
        data = trace_to_itf(machine.instance, violation.trace, violated=name)
        text = json.dumps(data)
        assert validate_itf(json.loads(text)) == []
        back = trace_from_itf(machine.instance, json.loads(text))
        assert back == violation.trace
        report = replay_trace(machine, back)
        assert name in report.violated
        assert report.violated_at == len(violation.trace)


def test_replay_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    itf = tmp_path / "anonmm.itf.json"
    assert main(["verify", "anonmm.spec", "--itf", str(itf)]) == 12
    capsys.readouterr()
    data = json.loads(itf.read_text())
    assert data["#meta"]["violated"] == "rmap_complete"
    assert [s["#meta"].get("action") for s in data["states"]] == [None, "mmap", "fault", "mremap"]
    # the whole trace ends in the violation: 12, with the explanation
    assert main(["replay", str(itf), "anonmm.spec"]) == 12
    out = capsys.readouterr().out
    assert "violation at step 3: rmap_complete" in out
    assert "computes address 0" in out
    # a prefix replays and violates nothing: 0
    short = tmp_path / "short.itf.json"
    short.write_text(json.dumps(dict(data, states=data["states"][:3])))
    assert main(["replay", str(short), "anonmm.spec"]) == 0
    assert "no property is violated" in capsys.readouterr().out
    # on anon_vma the same operations violate nothing: a trace of another design
    # is replayed by its actions (tests/test_replay_across_designs.py): 0
    assert main(["replay", str(itf), "anon_vma.spec"]) == 0
    assert "the trace runs to its end on anon_vma (3 steps)" in capsys.readouterr().out
    # a state that the step does not produce: 150, naming the step
    bad = json.loads(itf.read_text())
    bad["states"][2]["pte"]["#map"][0][1] = {"tag": "Some", "value": 2}
    broken = tmp_path / "bad.itf.json"
    broken.write_text(json.dumps(bad))
    assert main(["replay", str(broken), "anonmm.spec"]) == 150
    assert "step 2" in capsys.readouterr().err
    # not ITF at all: 150
    junk = tmp_path / "junk.itf.json"
    junk.write_text('{"states": 3}')
    assert main(["replay", str(junk), "anonmm.spec"]) == 150
    assert "is not an ITF trace" in capsys.readouterr().err
    # JSON output
    assert main(["replay", str(itf), "anonmm.spec", "--json"]) == 12
    report = json.loads(capsys.readouterr().out)
    assert report["violated"] == ["rmap_complete"] and report["violated_at"] == 3


@pytest.mark.parametrize("data, problem", [
    ([], "not a JSON object"),
    ({"states": []}, "no 'vars'"),
    ({"vars": ["x"], "states": [{}]}, "no value for 'x'"),
    ({"vars": ["x"], "states": [{"x": 2**60}]}, "#bigint"),
    ({"vars": ["x"], "states": [{"x": {"#set": 1}}]}, "#set must be a list"),
    ({"vars": ["x"], "states": [{"x": {"#map": [[1]]}}]}, "not a [key, value] pair"),
    ({"vars": ["x"], "states": [{"x": {"#tup": [], "y": 1}}]}, "no other field"),
    ({"vars": ["x"], "states": [{"x": 1.5}]}, "not an integer"),
    ({"vars": ["x"], "states": [{"x": 1, "y": 2}]}, "'y' is not in vars"),
    ({"vars": ["x"], "states": [{"x": 1}], "loop": 4}, "loop is not the index"),
    ({"vars": ["x"], "states": [{"x": {"#foo": 1}}]}, "unknown ITF tag"),
])
def test_validator_rejects(data: object, problem: str) -> None:
    problems = validate_itf(data)
    assert problems and any(problem in p for p in problems), problems


def test_validator_accepts_adr_examples() -> None:
    trace = {"#meta": {"format": "ITF", "source": "x.qnt"}, "params": ["N"],
             "vars": ["a", "b"], "loop": 0,
             "states": [{"#meta": {"index": 0}, "N": 3,
                         "a": {"#map": [[{"#tup": [1, "x"]}, {"#set": [{"#bigint": "-7"}]}]]},
                         "b": {"tag": "None", "value": {"#tup": []}}},
                        {"N": 3, "a": {"f": [True, "s"]}, "b": {"#unserializable": "?"}}]}
    assert validate_itf(trace) == []
