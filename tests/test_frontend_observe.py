"""The ``observe`` declarations (spec/LANGUAGE.md, section 19): what the
checker accepts and refuses, what the IR keeps of them, and the two tables of
the language reference, which are written from rmapcheck.frontend.observables.

Nothing here runs a kernel; tests/test_conform_kernel.py does."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmapcheck import ir
from rmapcheck.errors import SpecError
from rmapcheck.frontend import load_model
from rmapcheck.frontend.observables import KERNEL_OPS, OBSERVABLES
from rmapcheck.resources import grammar_path

DOC = grammar_path().parent / "LANGUAGE.md"

# A model of its own (no vm): the smallest that can carry observations.
HEAD = """model tiny
type Proc = symmetric 0 .. 1
type Frame = symmetric 0 .. 1
type VPage = 0 .. 1
var alive: Proc -> Bool
var pte: Proc, VPage -> Frame?
type Count = 0 .. 4
var uses: Frame -> Count
action touch(p: Proc, v: VPage) { requires alive[p] and pte[p, v] == none
  pte[p, v] := 0 }
"""
PROCESS = "observe def process(p: Proc): Bool = alive[p]\n"
FRAME = "observe def frame(p: Proc, v: VPage): Frame? = pte[p, v]\n"


def load(tmp_path: Path, text: str) -> ir.Model:
    path = tmp_path / "tiny.spec"
    path.write_text(HEAD + text)
    return load_model(path)


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(SpecError) as info:
        load(tmp_path, text)
    return info.value.message


def test_vm_declares_what_conform_compares() -> None:
    model = load_model("anon_vma_chain")
    assert model.observed == ("process", "frame", "page_mapcount", "vma_end", "vma_writable",
                              "vma_growsdown", "vma_accounted")
    ops = {m.action: m.op for m in model.observe_actions}
    assert ops == {"mmap": "mmap", "munmap": "munmap", "mprotect": "mprotect",
                   "mremap": "mremap", "fork": "fork", "exit": "exit", "fault": "write",
                   "cow": "write", "grow_stack": "expand_stack", "swap_out": "pageout"}
    # Each observation stays a def of the model, which the harness evaluates.
    vma_end = model.function("vma_end")
    assert isinstance(vma_end.sort, ir.OptionSort) and str(vma_end.sort.inner) == "VEnd"


def test_a_model_without_observations_has_none(tmp_path: Path) -> None:
    model = load(tmp_path, "")
    assert model.observed == () and model.observe_actions == ()


def test_an_observe_action_keeps_its_arguments_over_the_actions_parameters(
        tmp_path: Path) -> None:
    model = load(tmp_path, PROCESS + FRAME + "observe action touch(q, w) as write(q, w + 0)\n")
    [mapping] = model.observe_actions
    assert (mapping.action, mapping.op) == ("touch", "write")
    assert [p.sort.name for p in mapping.params] == ["Proc", "VPage"]  # type: ignore[union-attr]
    assert isinstance(mapping.args[1], ir.Binary)


@pytest.mark.parametrize(("text", "expected"), [
    (PROCESS + "observe def frames(p: Proc, v: VPage): Frame? = pte[p, v]\n",
     "'frames' is not an observation rmapcheck conform knows"),
    (FRAME, "the observations need 'observe def process(p: Proc): Bool'"),
    (PROCESS + "observe def frame(p: Proc, v: VPage): VPage? = v\n",
     "observation frame must return frame?"),
    (PROCESS + "observe def frame(p: Proc): Frame? = pte[p, 0]\n",
     "observation frame takes 2 arguments"),
    (PROCESS + "observe def frame(v: VPage, p: Proc): Frame? = pte[p, v]\n",
     "a process of an observation must be a symmetric sort"),
    (PROCESS + "observe def page_mapcount(f: Frame): Int = uses[f]\n",
     "'observe def page_mapcount' needs 'observe def frame'"),
    (PROCESS + FRAME + "observe def zero_page(p: Proc, v: Frame): Bool = false\n",
     "a page of an observation must be a range sort"),
    (PROCESS + FRAME + "observe action touch(p, v) as store(p, v)\n",
     "'store' is not a kernel operation rmapcheck conform runs"),
    (PROCESS + FRAME + "observe action touch(p) as write(p, 0)\n",
     "action touch takes 2 arguments (p, v); name each, in order, not 1"),
    (PROCESS + FRAME + "observe action touch(p, v) as write(p)\n",
     "write(p, v) takes 2 arguments, not 1"),
    (PROCESS + FRAME + "observe action poke(p, v) as write(p, v)\n",
     "'observe action poke': no action of that name"),
    (PROCESS + FRAME + "observe action touch(p, v) as write(p, v)\n"
     "observe action touch(p, v) as read(p, v)\n",
     "write 'override observe action touch' to replace it"),
    (PROCESS + FRAME + "override observe action touch(p, v) as read(p, v)\n",
     "'override observe action touch' overrides nothing"),
    (PROCESS + FRAME + "observe action touch(p, v) as write(v, v)\n", "expected Proc, found"),
    (PROCESS + "observe action touch(p, v) as pageout(p)\n",
     "the f of pageout(f) is a frame, and no observation says which sort that is"),
    (PROCESS + FRAME + "observe def frame(p: Proc, v: VPage): Frame? = none\n",
     "'frame' is already declared"),
])
def test_the_checker_holds_observations_to_their_shapes(tmp_path: Path, text: str,
                                                         expected: str) -> None:
    assert expected in refused(tmp_path, text)


def test_an_override_replaces_what_an_action_stands_for(tmp_path: Path) -> None:
    model = load(tmp_path, PROCESS + FRAME + "observe action touch(p, v) as write(p, v)\n"
                 "override observe action touch(p, v) as read(p, v)\n")
    assert [(m.action, m.op) for m in model.observe_actions] == [("touch", "read")]


def test_an_override_keeps_a_def_observed(tmp_path: Path) -> None:
    model = load(tmp_path, PROCESS + FRAME
                 + "override def frame(p: Proc, v: VPage): Frame? = none\n")
    assert model.observed == ("process", "frame")
    assert isinstance(model.function("frame").body, ir.NoneLit)


# ---------------------------------------------------------------- the tables of LANGUAGE.md


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def observations_table() -> str:
    lines = ["| observation | declared as | read from the kernel | what is compared |",
             "|---|---|---|---|"]
    for entry in OBSERVABLES:
        params = ", ".join(f"{name}: {kind}" for name, kind in entry.params)
        lines.append(f"| `{entry.name}` | `observe def {entry.name}({params}): {entry.result}` "
                     f"| {_cell(entry.source)} | {_cell(entry.meaning)} |")
    return "\n".join(lines) + "\n"


def operations_table() -> str:
    lines = ["| operation | arguments | what the driven process does |", "|---|---|---|"]
    for op in KERNEL_OPS:
        params = ", ".join(f"{name}: {kind}" for name, kind in op.params)
        lines.append(f"| `{op.name}` | `{params}` | {_cell(op.does)} |")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("what", "table"), [("observations", observations_table),
                                             ("kernel operations", operations_table)])
def test_the_language_reference_lists_every_observation_and_operation(what: str,
                                                                      table: object) -> None:
    start = f"<!-- the {what} table: tests/test_frontend_observe.py writes it -->\n"
    end = f"<!-- end of the {what} table -->"
    text = DOC.read_text()
    assert start in text and end in text
    expected = table()  # type: ignore[operator]
    assert text.split(start)[1].split(end)[0] == expected, \
        f"regenerate the {what} table in spec/LANGUAGE.md:\n{expected}"
