"""``rmapcheck run SPEC --actions FILE``: a given list of actions, one a line as
a trace prints a step, run from the initial state with the properties checked
after each. A violation is exit 12, printed as ``replay`` prints one; an
action that is not enabled is exit 11, with its line in FILE under a caret and
the ``requires`` that blocks it; a line that is no action of the spec is one
sentence with a caret and exit 150.

The places in the spec are read from the loaded model, not written out, so
that an edit of models/vm.spec that moves its lines leaves these tests as
they are.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from rmapcheck import ir
from rmapcheck.cli import main
from rmapcheck.frontend import load_model
from rmapcheck.render.explain import where

# The working directory is the checkout's root (outputs name spec files relative to it).
pytestmark = pytest.mark.usefixtures("at_root")

MERGE = "models/broken/anon_vma_merge_any_anon.spec"

# The counterexample of the module docstring of MERGE: two VMAs faulted
# apart, then the first grown in place onto the second. Every way of writing
# an action: named with the printed values, by position, by number, comments.
MERGE_RUN = """\
# anon_vma_merge_any_anon: two VMAs, each with its own anon_vma, merged
mmap(p=p0, s=0, n=1, growsdown=false)

mmap(0, 2, 1, false)        # by position, the process by its number
fault(p0, 0)
  fault( p = 0 , v = 2 )
mremap(p0, 0, 2, t=0)       # positional first, then by name, as in a call
exit(p0)                    # not run: the violation ends the run
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["run", *args])
    out, err = capsys.readouterr()
    return code, out, err


def actions_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "actions.txt"
    path.write_text(text)
    return path


def at(spec: str, action: str) -> str:
    return where(load_model(spec).action(action).span)


def test_the_merge_counterexample_is_run_to_its_violation(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = actions_file(tmp_path, MERGE_RUN)
    code, out, err = run(capsys, MERGE, "--actions", str(path), "--no-color",
                         "--itf", str(tmp_path / "run.itf.json"))
    assert (code, err) == (12, "")
    lines = out.splitlines()
    assert lines[0] == (f"anon_vma_merge_any_anon: running the 6 actions of {path}  "
                        "(ANON_VMAS=2 FRAMES=2 PROCS=2 VMAS=2 VPAGES=3)")
    assert [line for line in lines if line[:4] in ("  0.", "  1.", "  2.", "  3.", "  4.",
                                                    "  5.", "  6.")] == [
        "  0. initial state",
        f"  1. mmap(p=p0, s=0, n=1, growsdown=false)  {at(MERGE, 'mmap')}",
        f"  2. mmap(p=p0, s=2, n=1, growsdown=false)  {at(MERGE, 'mmap')}",
        f"  3. fault(p=p0, v=0)  {at(MERGE, 'fault')}",
        f"  4. fault(p=p0, v=2)  {at(MERGE, 'fault')}",
        f"  5. mremap(p=p0, a=0, n=2, t=0)  {at(MERGE, 'mremap')}"]
    violation = lines.index("  violation at step 5: rmap_complete")
    complete = load_model(MERGE).prop("rmap_complete")
    assert lines[violation + 1:violation + 4] == [
        f"  violated: rmap_complete  (invariant, {where(complete.span)})",
        f"    \"{complete.doc}\"",
        "  fails for p = p0, v = 2"]
    assert ("  the walk from f1 misses the pte of p0 at page 2 in p0's VMA [0,3): it visits no "
            "VMA at all") in lines
    assert lines[-1] == "  (the file goes on for 1 more action after the violation, not run)"
    # the run is the very counterexample verify finds, and replays as one
    capsys.readouterr()
    assert main(["verify", MERGE, "--json", "--quiet"]) == 12
    found = json.loads(capsys.readouterr().out)["verdicts"]["rmap_complete"]["trace"]
    code, out, _ = run(capsys, MERGE, "--actions", str(path), "--json")
    assert code == 12
    assert json.loads(out)["trace"] == found
    assert json.loads((tmp_path / "run.itf.json").read_text()) == found
    assert main(["replay", str(tmp_path / "run.itf.json"), MERGE]) == 12


def test_a_blocked_action_names_the_requires_that_stops_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = actions_file(tmp_path, "mmap(p0, 0, 1, false)\nfault(p0, 0)\n"
                                  "fault(p=p0, v=0)  # faulted already\nexit(p0)\n")
    code, out, err = run(capsys, "anon_vma", "--actions", str(path), "--no-color")
    assert (code, err) == (11, "")
    fault = load_model("anon_vma").action("fault")
    requires = fault.body[0]
    assert isinstance(requires, ir.Require)
    text = "requires alive[p] and pte[p, v] == none"
    assert out.endswith(f"""\
  3. fault(p=p0, v=0)  not allowed  {where(fault.span)}
       blocked by {text}  ({where(requires.span)})
       the part that is false: pte[p, v] == none
         where p = p0
               v = 0
               pte[p0, 0] = f0

{path}:3:1: not allowed: step 3, fault(p=p0, v=0), is not enabled: {text} \
({where(requires.span)}) is false
  fault(p=p0, v=0)  # faulted already
  ^^^^^^^^^^^^^^^^
  every property holds along the 2 steps before it
  (the file goes on for 1 more action, not run)
""")
    code, out, _ = run(capsys, "anon_vma", "--actions", str(path), "--json")
    assert code == 11
    report = json.loads(out)
    assert {k: report[k] for k in ("stop", "actions", "ran", "violated")} == {
        "stop": "blocked", "actions": 4, "ran": 2, "violated": []}
    assert report["blocked"] == {
        "step": 3, "action": "fault", "args": {"p": "p0", "v": "0"}, "at": f"{path}:3:1",
        "requires": where(requires.span), "text": text, "false_part": "pte[p, v] == none",
        "values": {"p": "p0", "v": "0", "pte[p0, 0]": "f0"}}
    assert [s["#meta"].get("action") for s in report["trace"]["states"]] == [None, "mmap",
                                                                             "fault"]


def test_standard_input_and_json_of_a_run_that_holds(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("mmap(p0, 0, 2, false)\nfault(p0, 1)\n"
                                                 "fork(parent=p0, child=p1)\ncow(p1, 1)\n"))
    code, out, err = run(capsys, "anon_vma", "--actions", "-", "--json", "--const", "VPAGES=2")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert {k: report[k] for k in ("model", "file", "actions", "ran", "stop", "violated",
                                   "blocked", "error")} == {
        "model": "anon_vma", "file": "<stdin>", "actions": 4, "ran": 4, "stop": "end",
        "violated": [], "blocked": None, "error": None}
    assert report["consts"]["VPAGES"] == 2
    states = report["trace"]["states"]
    assert [(s["#meta"].get("action"), s["#meta"].get("args")) for s in states] == [
        (None, None), ("mmap", {"p": 0, "s": 0, "n": 2, "growsdown": False}),
        ("fault", {"p": 0, "v": 1}), ("fork", {"parent": 0, "child": 1}),
        ("cow", {"p": 1, "v": 1})]
    monkeypatch.setattr("sys.stdin", io.StringIO("mmap(p0, 0, 2, false)\n"))
    code, out, err = run(capsys, "anon_vma", "--actions", "-", "--no-color")
    assert (code, err) == (0, "")
    assert out.splitlines()[0].startswith("anon_vma: running the 1 action of <stdin>  (")
    assert out.splitlines()[-1] == "  every property holds along the 1 action of <stdin>"


def test_a_mistake_on_standard_input_is_shown_with_its_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("exit(p0)\n  fualt(p0, 0)\n"))
    code, out, err = run(capsys, "anon_vma", "--actions", "-")
    assert (code, out) == (150, "")
    assert err == ("<stdin>:2:3: error: anon_vma has no action 'fualt'; did you mean 'fault'?\n"
                   "    fualt(p0, 0)\n"
                   "    ^^^^^\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("fault(p0, 7)\n"))
    code, out, err = run(capsys, "anon_vma", "--actions", "-", "--json")
    assert code == 150
    assert json.loads(out) == {"error": {
        "kind": "spec", "exit": 150, "file": "<stdin>", "line": 1, "col": 11,
        "message": "7 is not a value of fault's parameter v: VPage, whose values at these "
                   "bounds are 0, 1, 2, 3"}}


@pytest.mark.parametrize(("line", "col", "width", "message"), [
    ("faul(p0, 0)", 1, 4, "anon_vma has no action 'faul'; did you mean 'fault'?"),
    ("fault(p0)", 1, 9, "fault takes 2 arguments (p, v), and the line gives 1"),
    ("fault(p0, 0, 1)", 1, 15, "fault takes 2 arguments (p, v), and the line gives 3"),
    ("fault()", 1, 7, "fault takes 2 arguments (p, v), and the line gives 0"),
    ("fault(p=p0)", 11, 1, "fault takes 2 arguments (p, v); the line gives no value for v"),
    ("fault(p=p0, w=0)", 13, 1, "fault has no parameter 'w' (it has p, v)"),
    ("fault(p=p0, p=1)", 13, 1, "fault's parameter p is given twice"),
    ("fault(p=p0, 0)", 13, 1, ("a value without its parameter's name after a named one; fault "
     "takes 2 arguments (p, v): name this one too, or write the positional ones first")),
    ("fault(p0, 9)", 11, 1, ("9 is not a value of fault's parameter v: VPage, whose values at "
     "these bounds are 0, 1, 2, 3")),
    ("fault(p2, 0)", 7, 2, ("p2 is not a value of fault's parameter p: Proc, whose values at "
     "these bounds are p0, p1 (or 0 .. 1)")),
    ("fault(p0, none)", 11, 4, ("none is not a value of fault's parameter v: VPage, whose "
     "values at these bounds are 0, 1, 2, 3")),
    ("mmap(p0, 0, 1, maybe)", 16, 5, ("maybe is not a value of mmap's parameter growsdown: "
     "Bool, whose values are false, true")),
    ("fault p0", 7, 2, ("expected '(' after fault, not 'p0': an action is written "
     "fault(argument, ...)")),
    ("fault(p0 0)", 10, 1, "expected ',' or ')' after an argument of fault, not '0'"),
    ("fault(p0, 0", 12, 1, ("expected ',' or ')' after an argument of fault, not the end of "
     "the line")),
    ("fault(p0, 0,)", 13, 1, "expected a value of an argument of fault, not ')'"),
    ("fault(p0, 0) exit(p0)", 14, 4, "unexpected 'exit' after fault(...): one action a line"),
    ("1. fault(p0, 0)", 1, 1, ("expected an action's name, not '1': a line is an action as a "
     "trace prints it, such as fault(p=p0, v=0)")),
])
def test_a_line_that_is_no_action_is_one_sentence_with_a_caret(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, col: int, width: int,
        message: str) -> None:
    path = actions_file(tmp_path, f"# a comment, then a blank line\n\n{line}\nexit(p0)\n")
    code, out, err = run(capsys, "anon_vma", "--actions", str(path))
    assert (code, out) == (150, "")
    assert err == f"{path}:3:{col}: error: {message}\n  {line}\n  {' ' * (col - 1)}{'^' * width}\n"


def test_a_file_that_cannot_be_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "anon_vma", "--actions", str(tmp_path / "none.txt"))
    assert (code, err) == (150, (f"rmapcheck: error: cannot read {tmp_path / 'none.txt'}: No "
                                "such file or directory\n"))
    code, _, err = run(capsys, "anon_vma", "--actions", str(tmp_path))
    assert (code, err) == (150, (f"rmapcheck: error: {tmp_path} is a directory, not an action "
                                "file\n"))
    latin = tmp_path / "latin1.txt"
    latin.write_bytes(b"exit(p0)\nfault(p0, \xe9)\n")
    code, _, err = run(capsys, "anon_vma", "--actions", str(latin))
    assert code == 150
    assert err.splitlines()[0] == (f"{latin}:2:11: error: {latin} is not UTF-8 text: byte 0xe9 "
                                   "cannot be decoded (an action file is read as UTF-8)")
    assert err.splitlines()[2] == "            ^"
