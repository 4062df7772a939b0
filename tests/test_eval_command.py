"""``rmapcheck eval SPEC TRACE EXPR``: an expression of the spec language,
checked in the spec's scope, evaluated by the reference interpreter in a state
of a trace and printed as the trace renderer prints values; a mistake in EXPR
is one sentence with a caret under it in EXPR, exit 150."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from conftest import BROKEN_FORK

from rmapcheck.cli import main
from rmapcheck.cli.main import build_parser

# rmap_complete's body, as models/vm.spec writes it
RMAP_COMPLETE = "forall p: Proc, v: VPage. pte[p, v] != none -> finds(pte[p, v], p, v)"


# The working directory is the checkout's root (outputs name spec files
# relative to it); broken_fork is the fork counterexample (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("at_root")


def evaluate(capsys: pytest.CaptureFixture[str], spec: str, trace: Path, expr: str,
             *rest: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["eval", spec, str(trace), expr, *rest])
    out, err = capsys.readouterr()
    return code, out, err.replace(str(trace), "TRACE")


@pytest.mark.parametrize("step, value", [
    ([], "2"), (["--step", "0"], "0"), (["--step", "1"], "0"), (["--step", "2"], "1"),
    (["--step", "3"], "2"), (["--step", "-1"], "2"), (["--step", "-2"], "1"),
    (["--step", "-4"], "0"),
])
def test_a_def_of_the_design_at_a_step(broken_fork: Path, capsys: pytest.CaptureFixture[str],
                                       step: list[str], value: str) -> None:
    assert evaluate(capsys, BROKEN_FORK, broken_fork, "mapped_by(0)", *step) == (
        0, value + "\n", "")


def test_every_step(broken_fork: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate(capsys, BROKEN_FORK, broken_fork, "mapped_by(0)", "--all") == (0, """\
  0. initial state: 0
  1. mmap(p=p0, s=0, n=1, growsdown=false): 0
  2. fault(p=p0, v=0): 1
  3. fork(parent=p0, child=p1): 2
""", "")


@pytest.mark.parametrize("expr, step, value", [
    (RMAP_COMPLETE, "2", "true"),
    (RMAP_COMPLETE, "3", "false"),
    ("rmap_complete", "3", "false"),  # a property by its name: its body
    ("count p: Proc. alive[p]", "3", "2"),
    ("exists a: VPage. vma[1, a] != none and vma[1, a].anon == none", "3", "true"),
    ("vma[1, 0]", "3",
     "{end: 1, pgoff: 0, growsdown: false, writable: true, unaccounted: false, anon: none}"),
    ("vma[1, 1]", "3", "none"),
    ("page[0].mapping", "3", "av0"),
    ("choose f: Frame. not page[f].used", "3", "f1"),
    ("if alive[1] then VPAGES else -1", "3", "3"),
])
def test_expressions_over_the_state(broken_fork: Path, capsys: pytest.CaptureFixture[str],
                                    expr: str, step: str, value: str) -> None:
    assert evaluate(capsys, BROKEN_FORK, broken_fork, expr, "--step", step) == (
        0, value + "\n", "")


def test_a_trace_of_another_design_is_evaluated_in_the_spec_s_states(
        broken_fork: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the fix links the child's VMA to its parent's anon_vma, the broken fork does not
    assert evaluate(capsys, "anon_vma.spec", broken_fork, "vma[1, 0].anon") == (0, "av0\n", "")
    assert evaluate(capsys, BROKEN_FORK, broken_fork, "vma[1, 0].anon") == (0, "none\n", "")
    assert evaluate(capsys, "anon_vma.spec", broken_fork, "rmap_complete") == (0, "true\n", "")


def test_sets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "sets.spec"
    spec.write_text("model sets\ntype R = 0 .. 3\nvar s: set R\n"
                    "action put(x: R) { s := s | {x} }\n")
    trace = tmp_path / "sets.itf.json"
    trace.write_text(
        '{"#meta": {"model": "sets", "consts": {}}, "vars": ["s"], "states": ['
        '{"s": {"#set": []}}, '
        '{"#meta": {"action": "put", "args": {"x": 2}}, "s": {"#set": [2]}}, '
        '{"#meta": {"action": "put", "args": {"x": 0}}, "s": {"#set": [0, 2]}}]}')
    assert evaluate(capsys, str(spec), trace, "s", "--all") == (0, """\
  0. initial state: {}
  1. put(x=2): {2}
  2. put(x=0): {0, 2}
""", "")
    assert evaluate(capsys, str(spec), trace, "s | {1}") == (0, "{0, 1, 2}\n", "")
    assert evaluate(capsys, str(spec), trace, "3 in s - {2}", "--step", "1") == (
        0, "false\n", "")


@pytest.mark.parametrize("expr, error", [
    ("mapped_by(0", """\
EXPR:1:11: error: the expression ends too early; expected ')', ','
  mapped_by(0
            ^
"""),
    ("mappd_by(0)", """\
EXPR:1:1: error: unknown function 'mappd_by'
  mappd_by(0)
  ^^^^^^^^
  note: did you mean 'mapped_by'?
"""),
    ("alive[0] and pagee[0].used", """\
EXPR:1:14: error: only state maps can be indexed, and 'pagee' is not one
  alive[0] and pagee[0].used
               ^^^^^
  note: did you mean 'page'?
"""),
    ("mapped_by(0) + alive[1]", """\
EXPR:1:16: error: expected a number, found Bool
  mapped_by(0) + alive[1]
                 ^^^^^^^^
"""),
    ("alive[0] @ 1", """\
EXPR:1:10: error: unexpected character '@'
  alive[0] @ 1
           ^
"""),
])
def test_a_mistake_in_expr_has_a_caret_under_it(
        broken_fork: Path, capsys: pytest.CaptureFixture[str], expr: str, error: str) -> None:
    assert evaluate(capsys, BROKEN_FORK, broken_fork, expr) == (150, "", error)


def test_a_step_out_of_range(broken_fork: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate(capsys, BROKEN_FORK, broken_fork, "mapped_by(0)", "--step", "4") == (
        150, "", "rmapcheck: error: --step 4: TRACE has steps 0 to 3\n")
    assert evaluate(capsys, BROKEN_FORK, broken_fork, "mapped_by(0)", "--step", "-5") == (
        150, "", ("rmapcheck: error: --step -5: counted from the last state, the states go "
        "back to -4 (the initial state)\n"))
    # a trace whose step 2 the spec does not allow has no state after it
    data = json.loads(broken_fork.read_text())
    data["states"][2]["#meta"].update(action="fork", args={"parent": 1, "child": 1})
    blocked = tmp_path / "blocked.itf.json"
    blocked.write_text(json.dumps(data))
    code, out, err = evaluate(capsys, "anon_vma.spec", blocked, "mapped_by(0)", "--step", "2")
    assert (code, out) == (150, "")
    assert err == ("rmapcheck: error: --step 2: anon_vma does not allow step 2 of TRACE, so "
                   "its states go only to step 1\n")


def test_an_expression_undefined_in_a_state(broken_fork: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate(capsys, BROKEN_FORK, broken_fork, "vma[1, 0].end", "--step", "2") == (
        150, "", """\
EXPR:1:1: error: reading field end of none
  vma[1, 0].end
  ^^^^^^^^^^^^^
  note: in the state after step 2 (fault(p=p0, v=0)) of TRACE
""")
    assert evaluate(capsys, BROKEN_FORK, broken_fork, "vma[1, 0].end", "--all") == (150, """\
  0. initial state: undefined: reading field end of none
  1. mmap(p=p0, s=0, n=1, growsdown=false): undefined: reading field end of none
  2. fault(p=p0, v=0): undefined: reading field end of none
  3. fork(parent=p0, child=p1): 1
""", "rmapcheck: error: EXPR is undefined after steps 0, 1, 2 (the lines above say why)\n")


def test_json(broken_fork: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = evaluate(capsys, BROKEN_FORK, broken_fork, "vma[1, 0]", "--json")
    assert (code, json.loads(out)) == (0, {
        "model": "anon_vma_fork_unlinked", "expr": "vma[1, 0]", "sort": "Vma?", "step": 3,
        "value": ("{end: 1, pgoff: 0, growsdown: false, writable: true, unaccounted: false, "
                  "anon: none}")})
    code, out, err = evaluate(capsys, BROKEN_FORK, broken_fork, "vma[1, 0].end", "--all",
                              "--json")
    assert code == 150 and out.count("\n") == 1
    assert json.loads(out)["values"] == [
        {"step": 0, "undefined": "reading field end of none"},
        {"step": 1, "undefined": "reading field end of none"},
        {"step": 2, "undefined": "reading field end of none"}, {"step": 3, "value": "1"}]
    assert err == ("rmapcheck: error: EXPR is undefined after steps 0, 1, 2 (their "
                   "'undefined' says why)\n")


def test_step_and_all_exclude_each_other(broken_fork: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["eval", BROKEN_FORK, str(broken_fork), "mapped_by(0)", "--all", "--step", "1"])
    assert exit_.value.code == 150
    assert "not allowed with argument" in capsys.readouterr().err


def test_an_unreadable_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "trace.itf.json"
    trace.write_bytes(b"\x80")
    assert evaluate(capsys, BROKEN_FORK, trace, "mapped_by(0)") == (
        150, "", ("rmapcheck: error: TRACE is not UTF-8 text: byte 0x80 cannot be decoded (an "
                  "ITF trace is JSON, read as UTF-8)\n"))


@pytest.mark.parametrize("command", ["eval", "replay"])
def test_every_option_has_help(command: str) -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    options = sub.choices[command]._actions
    assert [a.dest for a in options if not a.help] == []
