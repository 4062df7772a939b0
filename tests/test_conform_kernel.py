"""``rmapcheck conform``: the model held to the live kernel.

The tests that run the kernel need Linux, root, page frame numbers in
/proc/PID/pagemap and a C compiler, and are skipped (with the reason)
without them; CI runs as root. They pin what anon_vma_chain shows on today's
kernel (no mismatch, the VM_ACCOUNT sequence of Linux 6.7 included), catch
deliberately wrong variants with short sequences (mprotect keeping
VM_ACCOUNT, a fault that does not count its mapping, a read that allocates),
and check the exit codes of the command. The tests of the parts that need no
kernel (the comparison, the shrinking, the refusals) always run.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from rmapcheck.conform import KernelUnsuitable, Plan, conform, harness
from rmapcheck.conform.harness import ConformResult, Harness
from rmapcheck.conform.kernel_view import check_user
from rmapcheck.conform.observation import Labels, Seen, VmaSeen, compare
from rmapcheck.conform.shrink import Budget, shrink
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance

ROOT = Path(__file__).resolve().parent.parent


def _no_kernel() -> str | None:
    """Why the kernel tests cannot run here, or None."""
    if not sys.platform.startswith("linux"):
        return "not Linux"
    if os.geteuid() != 0:
        return "not root: /proc/PID/pagemap hides page frame numbers"
    page = mmap.mmap(-1, mmap.PAGESIZE)
    page[0] = 1
    cell = ctypes.c_char.from_buffer(page)
    address = ctypes.addressof(cell)
    del cell  # the buffer is exported while a ctypes object points into it
    with open("/proc/self/pagemap", "rb") as f:
        f.seek(address // mmap.PAGESIZE * 8)
        (entry,) = struct.unpack("<Q", f.read(8))
    page.close()
    if entry & ((1 << 55) - 1) == 0:
        return "/proc/PID/pagemap shows no page frame numbers here"
    from rmapcheck.explicit.native.loader import compiler

    if compiler() is None:
        return "no C compiler for the driven process"
    return None


NO_KERNEL = _no_kernel()
kernel = pytest.mark.skipif(NO_KERNEL is not None, reason=NO_KERNEL or "")

# mprotect making a never-written anonymous VMA read-only drops VM_ACCOUNT
# since this release; the model follows it, so older kernels disagree.
VM_ACCOUNT_DROPPED = (6, 7)
KNOWN = [("mmap", {"p": 0, "s": 0, "n": 2, "growsdown": False}),
         ("mprotect", {"p": 0, "s": 1, "n": 1, "writable": False}),
         ("fault", {"p": 0, "v": 0}),
         ("mprotect", {"p": 0, "s": 0, "n": 1, "writable": False})]
WITHOUT_MPROTECT = dict.fromkeys(
    ["mmap", "munmap", "mremap", "fork", "exit", "fault", "cow", "grow_stack"], 1.0)


def _release() -> tuple[int, int]:
    major, minor = os.uname().release.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


# Before 6.7 the kernel keeps VM_ACCOUNT where the model (and so the variant
# that keeps it, by differing from the model) expects it dropped.
since_vm_account_drop = pytest.mark.skipif(
    _release() < VM_ACCOUNT_DROPPED,
    reason="Linux before 6.7 keeps VM_ACCOUNT when mprotect makes a never-written anonymous "
    "VMA read-only; the model follows 6.7 and later")


def _machine(spec: str | Path) -> Machine:
    return Machine(Instance(load_model(spec)))


@pytest.fixture(scope="module")
def chain() -> Iterator[Harness]:
    with harness(_machine("anon_vma_chain")) as made:
        yield made


def _variant(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.spec"
    path.write_text(f"model {name}\nuse anon_vma_chain\n{body}")
    return path


def _steps(result: ConformResult, index: int = 0) -> list[tuple[str, dict[str, Any]]]:
    return [(s.action, dict(s.args)) for s in result.found[index].mismatch.steps]


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rmapcheck", "conform", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          check=False)


# ---------------------------------------------------------------- anon_vma_chain on this kernel


@kernel
@since_vm_account_drop
def test_anon_vma_chain_agrees_with_the_kernel(chain: Harness) -> None:
    result = conform(chain, Plan(runs=120, steps=20, seed=1))
    assert result.runs == 120 and result.interrupted is None
    assert result.mismatches == 0, [(f.kind, _steps(result, i))
                                    for i, f in enumerate(result.found)]
    assert result.actions.get("mprotect", 0) > 50


@kernel
@since_vm_account_drop
def test_the_vm_account_sequence_agrees(chain: Harness) -> None:
    steps = tuple((action, tuple(args.items())) for action, args in KNOWN)
    result = conform(chain, Plan(sequence=steps))
    assert (result.steps, result.mismatches, result.blocked) == (4, 0, None)


@kernel
def test_anon_vma_chain_agrees_without_mprotect(chain: Harness) -> None:
    result = conform(chain, Plan(runs=150, steps=20, seed=2, weights=WITHOUT_MPROTECT))
    assert result.mismatches == 0, [(f.kind, _steps(result, i))
                                    for i, f in enumerate(result.found)]
    assert result.steps > 1000
    for action in ("fork", "exit", "fault", "cow", "mremap", "munmap", "grow_stack"):
        assert result.actions.get(action, 0) > 0, action
    assert "mprotect" not in result.actions


@kernel
def test_what_the_spec_does_not_observe_is_said(chain: Harness) -> None:
    result = conform(chain, Plan(runs=1, steps=1, seed=0))
    assert [n.split(" ")[0] for n in result.not_compared] == ["zero_page", "exclusive"]
    swap_notes = [n for n in result.notes if n.startswith("swap_out")]
    assert bool(swap_notes) == (not chain.pageout)


# ---------------------------------------------------------------- wrong variants are caught


@kernel
def test_a_fault_that_does_not_count_its_mapping_is_caught(tmp_path: Path) -> None:
    spec = _variant(tmp_path, "uncounted", """
override action fault(p: Proc, v: VPage) "maps a page and leaves its mapcount at 0" {
  requires alive[p] and pte[p, v] == none
  let a = vma_at(p, v)
  requires a != none and vma[p, a].writable
  let f = choose f: Frame. not page[f].used
  requires f != none
  page[f] := Page(used: true, mapcount: 0)
  pte[p, v] := f
  on_fault(p, v, f)
}
""")
    with harness(_machine(spec)) as made:
        result = conform(made, Plan(runs=20, steps=20, seed=3))
    assert [f.kind for f in result.found] == [("fault", ("page_mapcount",))]
    assert [a for a, _ in _steps(result)] == ["mmap", "fault"]
    difference = result.found[0].mismatch.differences[0]
    assert (difference.model, difference.kernel) == ("0", "1")


READ_FAULT = """
action read_fault(p: Proc, v: VPage) "a read fault that gives the page a frame of its own" {
  requires alive[p] and pte[p, v] == none
  let a = vma_at(p, v)
  requires a != none
  let f = choose f: Frame. not page[f].used
  requires f != none
  page[f] := Page(used: true, mapcount: 1)
  pte[p, v] := f
  on_fault(p, v, f)
}

observe action read_fault(p, v) as read(p, v)
"""


@kernel
def test_a_read_that_allocates_a_page_is_caught(tmp_path: Path) -> None:
    with harness(_machine(_variant(tmp_path, "reading", READ_FAULT))) as made:
        result = conform(made, Plan(runs=10, steps=10, seed=1,
                                    weights={"mmap": 1, "read_fault": 1}))
    # The kernel maps the zero page, which no mapcount counts.
    assert [f.kind for f in result.found] == [("read_fault", ("page_mapcount",))]
    assert [a for a, _ in _steps(result)] == ["mmap", "read_fault"]


@kernel
def test_the_zero_page_is_compared_where_the_spec_observes_it(tmp_path: Path) -> None:
    spec = _variant(tmp_path, "zero", READ_FAULT + """
observe def zero_page(p: Proc, v: VPage): Bool "no page is the zero page here" = false
""")
    with harness(_machine(spec)) as made:
        result = conform(made, Plan(runs=10, steps=10, seed=1,
                                    weights={"mmap": 1, "read_fault": 1}))
    assert [f.kind for f in result.found] == [("read_fault", ("page_mapcount", "zero_page"))]
    zero = [d for d in result.found[0].mismatch.differences if d.observation == "zero_page"]
    read = dict(result.found[0].mismatch.steps[-1].args)["v"]
    assert [(d.where, d.model, d.kernel) for d in zero] == [(f"p0 page {read}", "no", "yes")]
    assert not any(n.startswith("zero_page") for n in result.not_compared)


@kernel
def test_exclusive_mappings_are_compared_where_the_spec_observes_them(tmp_path: Path) -> None:
    weights = dict.fromkeys(["mmap", "fault", "fork", "exit", "cow"], 1.0)
    right = _variant(tmp_path, "alone", """
observe def exclusive(p: Proc, v: VPage): Bool "mapped by p alone" =
  pte[p, v] != none and page[pte[p, v]].mapcount == 1
""")
    with harness(_machine(right)) as made:
        result = conform(made, Plan(runs=40, steps=20, seed=1, weights=weights))
    assert result.mismatches == 0 and result.actions["cow"] > 0
    wrong = _variant(tmp_path, "always", """
observe def exclusive(p: Proc, v: VPage): Bool "every mapped page, wrongly" = pte[p, v] != none
""")
    with harness(_machine(wrong)) as made:
        result = conform(made, Plan(runs=10, steps=20, seed=1, weights=weights))
    assert [f.kind for f in result.found] == [("fork", ("exclusive",))]
    assert [a for a, _ in _steps(result)] == ["mmap", "fault", "fork"]


@kernel
def test_a_copy_where_the_kernel_reuses_is_caught(tmp_path: Path) -> None:
    spec = _variant(tmp_path, "copying", """
override action cow(p: Proc, v: VPage) "a write to a write-protected pte always copies" {
  requires alive[p] and pte[p, v] != none and wp[p, v]
  requires vma[p, vma_at(p, v)].writable
  let old = pte[p, v]
  let f = choose f: Frame. not page[f].used and f != old
  requires f != none
  on_unmap(p, v, old)
  page[old].mapcount := page[old].mapcount - 1
  if page[old].mapcount == 0 { page[old] := Page() }
  page[f] := Page(used: true, mapcount: 1)
  pte[p, v] := f
  wp[p, v] := false
  on_cow(p, v, f)
}
""")
    with harness(_machine(spec)) as made:
        result = conform(made, Plan(runs=60, steps=20, seed=1,
                                    weights=dict.fromkeys(["mmap", "fault", "fork", "exit",
                                                           "cow"], 1.0)))
    # The partition is the same (one page, one frame): only that the kernel's
    # page is the one from before the step tells the reuse from a copy.
    assert [f.kind for f in result.found] == [("cow", ("frame",))]
    assert [a for a, _ in _steps(result)] == ["mmap", "fault", "fork", "exit", "cow"]
    difference = result.found[0].mismatch.differences[0]
    assert (difference.model, difference.kernel) == ("frame B", "frame A")


@kernel
def test_what_the_kernel_refuses_is_a_mismatch(tmp_path: Path) -> None:
    # munmap of a range with a hole in it is fine; mprotect of one is ENOMEM.
    spec = _variant(tmp_path, "protecting", """
override observe action munmap(p, s, n) as mprotect(p, s, n, true)
""")
    with harness(_machine(spec)) as made:
        result = conform(made, Plan(runs=30, steps=10, seed=1,
                                    weights={"mmap": 1, "munmap": 1}))
    refused = [f for f in result.found if f.kind == ("munmap", ("refused",))]
    assert refused, [f.kind for f in result.found]
    assert refused[0].mismatch.refused == "mprotect failed: ENOMEM (Cannot allocate memory)"
    assert [a for a, _ in _steps(result, result.found.index(refused[0]))] == ["mmap", "munmap"]


# ---------------------------------------------------------------- the command


KEEPS_VM_ACCOUNT = ROOT / "tests" / "specs" / "conform" / "keeps_vm_account.spec"


@kernel
@since_vm_account_drop
def test_mprotect_that_keeps_vm_account_is_caught_in_two_steps() -> None:
    with harness(_machine(KEEPS_VM_ACCOUNT)) as made:
        result = conform(made, Plan(runs=40, steps=20, seed=1))
    assert [f.kind for f in result.found] == [("mprotect", ("vma_accounted",))]
    assert [a for a, _ in _steps(result)] == ["mmap", "mprotect"]
    mismatch = result.found[0].mismatch
    assert [v.accounted for v in mismatch.model.vmas[0]] == [True]  # type: ignore[index]
    assert [v.accounted for v in mismatch.kernel.vmas[0]] == [False]  # type: ignore[index]


@kernel
@since_vm_account_drop
def test_the_command_shrinks_prints_and_writes_the_trace(tmp_path: Path) -> None:
    trace = tmp_path / "known.itf.json"
    done = _cli(str(KEEPS_VM_ACCOUNT), "--runs", "40", "--seed", "1", "--json", "--itf",
                str(trace), "-q")
    assert done.returncode == 12, done.stderr
    doc = json.loads(done.stdout)
    [kind] = doc["kinds"]
    assert (kind["action"], kind["observations"], kind["at_step"]) == \
        ("mprotect", ["vma_accounted"], 2)
    assert kind["steps"][0]["kernel"].startswith("p0: mmap(0x200000000000, ")
    assert kind["steps"][1]["args"]["writable"] is False
    assert [v["accounted"] for v in kind["model"]["vmas"]["p0"]] == [True]
    assert [v["accounted"] for v in kind["kernel"]["vmas"]["p0"]] == [False]
    again = _cli(str(KEEPS_VM_ACCOUNT), "--trace", str(trace), "--no-color", "-q")
    assert again.returncode == 12, again.stderr
    head = ("mismatch 1 of 1: vma_accounted after mprotect, in 1 run "
            "(first in the given steps: 2 steps)")
    assert head in again.stdout
    assert " r- ac " in again.stdout and " r- no-ac" in again.stdout


@kernel
def test_agreement_exits_0_with_the_counts() -> None:
    done = _cli("anon_vma_chain.spec", "--runs", "5", "--seed", "4", "--actions",
                "mmap=2,fault=2,fork,exit", "--no-color", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    head = done.stdout.splitlines()[0]
    assert head.startswith("anon_vma_chain against Linux ") and ": 5 runs, " in head
    assert head.endswith(" s)") and "no mismatch" in head


@kernel
def test_ctrl_c_prints_what_was_run() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "rmapcheck", "conform", "anon_vma_chain",
                             "--runs", "1000000", "--seed", "1", "--no-color", "-q",
                             "--actions", "mmap,fault,fork,cow"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            start_new_session=True)
    time.sleep(3)
    # As a terminal's Ctrl-C: to the whole process group, driven processes too.
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted, " in out.splitlines()[0]
    assert "interrupted in run " in out and "steps run: " in out
    # Every process of its session is gone: the driven ones were ended, not orphaned.
    time.sleep(0.5)
    sessions = subprocess.run(["ps", "-eo", "sid="], capture_output=True, text=True,
                              check=False).stdout.split()
    assert str(proc.pid) not in sessions, "a driven process outlived the command"


@kernel
def test_a_step_that_cannot_be_run_ends_the_given_steps(chain: Harness) -> None:
    from rmapcheck.cli.conform_command import _exit_code

    steps = (("mmap", (("p", 0), ("s", 0), ("n", 1), ("growsdown", False))),
             ("cow", (("p", 0), ("v", 0))))
    result = conform(chain, Plan(sequence=steps))
    assert result.blocked == "step 2, cow: anon_vma_chain does not allow it there"
    assert (result.steps, result.mismatches, _exit_code(result)) == (1, 0, 11)


@kernel
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="no setpriv to drop CAP_SYS_ADMIN")
def test_without_page_frame_numbers_it_says_so_and_exits_13() -> None:
    done = subprocess.run(["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin",
                           sys.executable, "-m", "rmapcheck", "conform", "anon_vma_chain",
                           "--runs", "1"], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          check=False)
    assert done.returncode == 13, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("rmapcheck: cannot compare with this kernel: ")
    assert "page frame numbers" in line


@kernel
def test_the_driven_process_survives_what_the_kernel_refuses(chain: Harness) -> None:
    from rmapcheck.conform.driven_process import F_WRITABLE, OP_MMAP, OP_WRITE, DrivenProcess

    child = chain.zygote.fork()
    assert isinstance(child, DrivenProcess)
    window = chain.view.window
    try:
        assert child.call(OP_WRITE, 0, window.address(0), 1).error == 14  # EFAULT, not a SIGSEGV
        assert not child.call(OP_MMAP, F_WRITABLE, window.address(0), window.page_size).failed
        taken = child.call(OP_MMAP, F_WRITABLE, window.address(0), window.page_size)
        assert taken.error == 17  # EEXIST: MAP_FIXED_NOREPLACE over a mapping
        maps = Path(f"/proc/{child.pid}/maps").read_text().splitlines()
        guard_below = f"{window.base - window.guard * window.page_size:x}-{window.base:x} ---p"
        assert any(line.startswith(guard_below) for line in maps)
    finally:
        child.exit()


@kernel
def test_a_pageout_reaches_the_pages_of_its_frame(chain: Harness) -> None:
    from rmapcheck.conform.kernel_steps import Kernel, KernelCall

    kernel = Kernel(chain.zygote, chain.view, chain.sorts.name)
    kernel.start([0])
    reached: list[int] = []
    try:
        for call in (KernelCall("mmap", "mmap", (("p", 0), ("start", 0), ("pages", 1),
                                                 ("writable", True), ("growsdown", False))),
                     KernelCall("fault", "write", (("p", 0), ("v", 0)))):
            assert kernel.run(call, lambda f: []) is None
        pageout = KernelCall("swap_out", "pageout", (("f", 2),))
        def pages(f: int) -> list[tuple[int, int]]:
            reached.append(f)
            return [(0, 0)]

        assert kernel.run(pageout, pages) is None
        assert reached == [2]
        # Without swap the page stays; with it, it is reclaimed and not present.
        assert bool(kernel.seen().pages) == (not chain.pageout)
        gone = kernel.run(pageout, lambda f: [(1, 0)])
        assert gone == "p1 has no driven process (it does not exist)"
    finally:
        kernel.stop()


@kernel
def test_a_large_folio_stops_the_run(chain: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from rmapcheck.conform import kernel_view

    monkeypatch.setattr(kernel_view.KernelView, "pagemap",
                        lambda self, pid: [1 << 63 | 1234] + [0] * (self.window.pages - 1))
    monkeypatch.setattr(kernel_view.KernelView, "flags",
                        lambda self, pfn: 1 << kernel_view.KPF_COMPOUND_HEAD)
    with pytest.raises(KernelUnsuitable, match="large folio"):
        chain.view.seen({0: chain.zygote})


# ---------------------------------------------------------------- without a kernel


def test_a_spec_without_observations_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "toy.spec"
    spec.write_text('model toy\ntype Proc = symmetric 0 .. 1\nvar on: Proc -> Bool\n'
                    'action flip(p: Proc) { on[p] := not on[p] }\n')
    done = _cli(str(spec), "--runs", "1")
    assert done.returncode == 150
    [line] = done.stderr.strip().splitlines()
    assert "toy declares no observations ('observe def')" in line


def test_a_user_who_is_not_root_is_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(KernelUnsuitable, match="must run as root"):
        check_user()


def _seen(pages: Mapping[tuple[int, int], int], counts: Mapping[int, int] | None = None,
          vmas: Mapping[int, tuple[VmaSeen, ...]] | None = None) -> Seen:
    return Seen(frozenset({0, 1}), pages, counts, vmas)


def test_frames_compare_as_sharing_classes_not_numbers() -> None:
    model = _seen({(0, 0): 2, (1, 0): 2, (1, 1): 0}, {2: 2, 0: 1})
    kernel = _seen({(0, 0): 90817, (1, 0): 90817, (1, 1): 5123}, {90817: 2, 5123: 1})
    mine, theirs, _ = Labels().carry(model, kernel)
    assert mine == theirs == {(0, 0): "A", (1, 0): "A", (1, 1): "B"}
    assert compare(model, kernel, mine, theirs, lambda p: f"p{p}") == []
    split = _seen({(0, 0): 90817, (1, 0): 4444, (1, 1): 5123}, {90817: 1, 4444: 1, 5123: 1})
    mine, theirs, _ = Labels().carry(model, split)
    found = compare(model, split, mine, theirs, lambda p: f"p{p}")
    assert [(d.observation, d.where, d.model, d.kernel) for d in found] == [
        ("frame", "p1 page 0", "frame A", "frame B"),
        ("frame", "p1 page 1", "frame B", "frame C"),
        ("page_mapcount", "frame A", "2", "1")]


def test_a_page_keeps_its_letter_across_a_step_and_a_copy_gets_a_new_one() -> None:
    before_model, before_kernel = _seen({(0, 0): 1}), _seen({(0, 0): 777})
    _, _, labels = Labels().carry(before_model, before_kernel)
    # The model copies (frame 1 freed, frame 0 new); the kernel reuses page 777.
    mine, theirs, _ = labels.carry(_seen({(0, 0): 0}), _seen({(0, 0): 777}))
    assert (mine, theirs) == ({(0, 0): "B"}, {(0, 0): "A"})


def test_vmas_compare_by_bounds_then_flags() -> None:
    one: dict[int, tuple[VmaSeen, ...]] = {0: (VmaSeen(0, 2, True, False),)}
    two: dict[int, tuple[VmaSeen, ...]] = {0: (VmaSeen(0, 1, True, False),
                                               VmaSeen(1, 2, True, False))}
    ro: dict[int, tuple[VmaSeen, ...]] = {0: (VmaSeen(0, 2, False, False),)}
    stack: dict[int, tuple[VmaSeen, ...]] = {0: (VmaSeen(0, 2, True, True),)}
    name = "p{}".format
    assert [d.observation for d in compare(_seen({}, None, one), _seen({}, None, two), {}, {},
                                           name)] == ["vma_end"]
    assert [d.observation for d in compare(_seen({}, None, one), _seen({}, None, ro), {}, {},
                                           name)] == ["vma_writable"]
    assert [d.observation for d in compare(_seen({}, None, one), _seen({}, None, stack), {},
                                           {}, name)] == ["vma_growsdown"]
    # The kernel's VmFlags are shown, never compared.
    flagged = {0: (VmaSeen(0, 2, True, False, flags="rd wr ac"),)}
    assert compare(_seen({}, None, one), _seen({}, None, flagged), {}, {}, name) == []


def test_shrinking_drops_steps_and_processes_and_renames_them() -> None:
    def step(action: str, **args: Any) -> tuple[str, tuple[tuple[str, Any], ...]]:
        return action, tuple(args.items())

    steps = [step("fork", parent=0, child=1), step("fork", parent=0, child=2),
             step("mmap", p=2, s=0), step("noise", p=0, s=1), step("fault", p=2, v=0)]
    runs = []

    def still_fails(candidate: Any) -> list[Any] | None:
        runs.append(candidate)
        names = [(a, dict(args)) for a, args in candidate]
        # The "mismatch": a process forked from p0 maps page 0 and faults it.
        for a, args in names:
            if a == "fork":
                child = args["child"]
                if ("mmap", {"p": child, "s": 0}) in names \
                        and ("fault", {"p": child, "v": 0}) in names:
                    return list(candidate)
        return None

    def proc_params(action: str) -> frozenset[str]:
        return frozenset({"parent", "child", "p"})

    shrunk = shrink(steps, still_fails, proc_params, lambda action, name, value: [],
                    frozenset({0}), Budget(100))
    assert shrunk == [step("fork", parent=0, child=1), step("mmap", p=1, s=0),
                      step("fault", p=1, v=0)]
    assert len(runs) <= 100


def test_shrinking_folds_a_child_into_its_parent_and_lowers_arguments() -> None:
    def step(action: str, **args: Any) -> tuple[str, tuple[tuple[str, Any], ...]]:
        return action, tuple(args.items())

    steps = [step("mmap", p=0, s=1, n=2), step("fork", parent=0, child=1),
             step("fault", p=1, v=1)]

    def still_fails(candidate: Any) -> list[Any] | None:
        # The "mismatch": a process faults the first page of a VMA it mapped.
        named = [(a, dict(args)) for a, args in candidate]
        mapped = {(args["p"], args["s"]) for a, args in named if a == "mmap"}
        hit = any(a == "fault" and (args["p"], args["v"]) in mapped for a, args in named)
        return list(candidate) if hit else None

    def proc_params(action: str) -> frozenset[str]:
        return frozenset({"parent", "child", "p"})

    def smaller(action: str, name: str, value: Any) -> list[Any]:
        return list(range(value)) if name != "p" else []

    shrunk = shrink(steps, still_fails, proc_params, smaller, frozenset({0}), Budget(100))
    # The page stays 1: lowering it in one step and not the other loses the mismatch.
    assert shrunk == [step("mmap", p=0, s=1, n=0), step("fault", p=0, v=1)]
