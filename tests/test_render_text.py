"""Text rendering: VM-aware step diffs and the explanation of a violation."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from rmapcheck.cli import main
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance
from rmapcheck.render.explain import explain
from rmapcheck.render.text import Style, format_explanation, format_trace, step_changes
from rmapcheck.trace import Step, Trace

COUNTER = '''"""A counter: a model without the VM library."""
model counter

type Count = 0 .. 3
var x: Count "the count"

action inc() "add one" {
  requires x < 3
  x := x + 1
}

invariant small "x stays below 2": x < 2
'''


def machine(name: str) -> Machine:
    return Machine(Instance(load_model(name, {}), {}))


def run(m: Machine, *steps: tuple[str, dict]) -> Trace:
    state = m.initial_state()
    out = []
    for action, args in steps:
        nxt = m.step(state, action, args)
        assert nxt is not None, (action, args)
        out.append(Step(action, tuple(args.items()), nxt, m.model.action(action).span))
        state = nxt
    return Trace(m.initial_state(), tuple(out))


ANONMM_STEPS = (("mmap", {"p": 0, "s": 0, "n": 1, "growsdown": False}),
                ("fault", {"p": 0, "v": 0}),
                ("mremap", {"p": 0, "a": 0, "n": 1, "t": 1}))


@pytest.fixture(scope="module")
def anonmm_output() -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["verify", "anonmm.spec"]) == 12
    return out.getvalue()


def test_anonmm_counterexample_names_missed_pte_index_and_address(anonmm_output: str) -> None:
    text = anonmm_output
    # the three steps, with what changed in the VM's own terms
    assert "1. mmap(p=p0, s=0, n=1, growsdown=false)" in text
    assert "p0: VMA [0,1) mapped, pgoff 0, writable" in text
    assert "pte[p0, 0] := f0" in text
    assert "page[f0] allocated: mapcount 1, mapping p0, index 0" in text
    assert "p0: VMA [0,1) moved to [1,2), pgoff 0" in text
    assert "pte[p0, 1] := f0, moved from page 0" in text
    # the property, its docstring, the bindings and the failing conjunct
    assert "violated: rmap_complete" in text
    assert "every pte that maps a frame is found by the frame's reverse-map walk" in text
    assert "fails for p = p0, v = 1" in text
    assert "the conjunct that fails: v == page[f].index" in text
    # the missed pte, the page's index, the address the walk computed
    assert "the pte the walk should find: pte[p0, 1] = f0" in text
    assert "page[f0].index = 0" in text
    assert "visits p0's VMA [1,2) pgoff 0: computes address 0, outside the VMA" in text
    assert ("page->index went stale after mremap: page[f0].index = 0 was set at step 2 "
            "(fault), and step 3 (mremap) moved the pte from page 0 to page 1") in text
    assert "\x1b[" not in text  # piped: no colour


def test_colour_only_when_asked() -> None:
    m = machine("anonmm.spec")
    trace = run(m, *ANONMM_STEPS)
    coloured = "\n".join(format_explanation(m, "rmap_complete", trace, Style(True)))
    plain = "\n".join(format_explanation(m, "rmap_complete", trace, Style(False)))
    assert "\x1b[1;31mrmap_complete\x1b[0m" in coloured
    assert "\x1b[" not in plain


def test_explanation_data() -> None:
    m = machine("anonmm.spec")
    ex = explain(m, "rmap_complete", run(m, *ANONMM_STEPS))
    assert ex.missed == (0, 1, 0)
    assert ex.conjunct_in == "finds"
    assert [(w.proc, w.vma.start, w.address, w.found) for w in ex.walk] == [(0, 1, 0, False)]
    facts = {f.text: (f.value, f.written_at) for f in ex.facts}
    assert facts["page[f0].index"] == ("0", 2)
    assert facts["pte[p0, 1]"] == ("f0", 3)


def test_anon_vma_walk_follows_mremap() -> None:
    """anon_vma's walk_address is vm_start + (index - pgoff): it moves with mremap."""
    m = machine("anon_vma.spec")
    trace = run(m, *ANONMM_STEPS)
    state = trace.last
    assert m.eval_function("walk_visits", state, (0, 0, 1))
    assert m.eval_function("walk_address", state, (0, 0, 1)) == 1
    assert m.eval_function("finds", state, (0, 0, 1))
    assert m.failed_invariants(state) == []


def changes(m: Machine, *steps: tuple[str, dict]) -> list[list[str]]:
    trace = run(m, *steps)
    states = trace.states()
    return [step_changes(m.instance, a, b) for a, b in pairwise(states)]


def test_vma_split_merge_grow_unmap_fork() -> None:
    m = machine("anonmm.spec")
    got = changes(m,
                  ("mmap", {"p": 0, "s": 0, "n": 2, "growsdown": False}),
                  ("mprotect", {"p": 0, "s": 0, "n": 1, "writable": False}),
                  ("mprotect", {"p": 0, "s": 0, "n": 1, "writable": True}),
                  ("fork", {"parent": 0, "child": 1}),
                  ("munmap", {"p": 1, "s": 0, "n": 2}))
    assert got[0] == ["p0: VMA [0,2) mapped, pgoff 0, writable"]
    assert got[1] == [("p0: VMA [0,2) split into [0,1) pgoff 0 (writable := false) and "
                       "[1,2) pgoff 1")]
    assert got[2] == [("p0: VMAs [0,1) and [1,2) merged into [0,2), pgoff 0 "
                       "(writable := true)")]
    assert "mm p1 created" in got[3]
    assert "family[p1] := p0" in got[3]
    assert got[4] == ["p1: VMA [0,2) unmapped"]
    m = machine("anonmm.spec")
    grown = changes(m, ("mmap", {"p": 0, "s": 2, "n": 1, "growsdown": True}),
                    ("grow_stack", {"p": 0, "a": 2}))
    assert grown[1] == ["p0: VMA [2,3) grew down to [1,3), pgoff 2 -> 1"]


def test_fork_shares_ptes_write_protected() -> None:
    m = machine("anonmm.spec")
    got = changes(m, ("mmap", {"p": 0, "s": 0, "n": 1, "growsdown": False}),
                  ("fault", {"p": 0, "v": 0}),
                  ("fork", {"parent": 0, "child": 1}))
    assert "pte[p0, 0] -> f0 write-protected" in got[2]
    assert "pte[p1, 0] := f0 (write-protected)" in got[2]
    assert "page[f0].mapcount := 2" in got[2]


def test_generic_model_falls_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "counter.spec"
    spec.write_text(COUNTER)
    assert main(["verify", str(spec)]) == 12
    out = capsys.readouterr().out
    assert "x := 1" in out and "x := 2" in out
    assert "violated: small" in out and '"x stays below 2"' in out
    assert "the conjunct that fails: x < 2" in out
    assert "x = 2" in out


def test_format_trace_marks_steps_without_change() -> None:
    m = machine("anonmm.spec")
    trace = run(m, ("mmap", {"p": 0, "s": 0, "n": 1, "growsdown": False}))
    lines = format_trace(m.instance, trace)
    assert lines[0].strip() == "0. initial state"
    assert "models/vm.spec:" in lines[1]


def test_progress_stays_out_of_piped_output() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "rmapcheck", "verify", "anonmm.spec"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 12
    assert done.stderr == ""
    assert "\r" not in done.stdout and "\x1b[" not in done.stdout


def test_a_reader_that_stops_early_leaves_the_verdict_alone() -> None:
    """`rmapcheck verify anonmm.spec | head`: the pipe is closed before the
    report is written; the exit code is still the verdict's, with no error."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "rmapcheck", "verify", "anonmm.spec"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 12
    assert err == ""
