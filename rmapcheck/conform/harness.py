"""``rmapcheck conform``'s engine: operation sequences run on the model and on
the live kernel side by side, compared after every step, and each kind of
mismatch shrunk to a short counterexample.

A run starts one driven process per process the model's initial state has,
each forked from the zygote; every step is run on the model's machine and,
as its ``observe action`` says, on the driven processes; then the
observations of both are compared. The first difference ends the run. A
*kind* of mismatch is the action of the step where it shows and the
observations that differ; after all runs, each kind's first example that
happens again when re-run is shrunk.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
from attrs import frozen

from rmapcheck import activity, ir
from rmapcheck.conform.driven_process import DrivenProcess, DrivenProcessError, HelperBuildError
from rmapcheck.conform.kernel_steps import Kernel, KernelCall, kernel_call
from rmapcheck.conform.kernel_view import (
    KernelUnsuitable,
    KernelView,
    Window,
    check_user,
    swap_is_on,
    thp_disabled,
)
from rmapcheck.conform.observation import (
    Difference,
    Labels,
    ModelView,
    PageAt,
    Seen,
    compare,
    observation_sorts,
)
from rmapcheck.conform.shrink import Budget, shrink
from rmapcheck.conform.walks import (
    Args,
    Chooser,
    ModelStep,
    State,
    given_steps,
    random_steps,
)
from rmapcheck.errors import SpecError
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend.observables import OBSERVABLES

# A fixed address far from where the kernel places mappings of its own
# choosing (the heap near the executable, mmap_base near the stack), in every
# 47-bit and 57-bit user address space.
WINDOW_BASE = 0x2000_0000_0000
SHRINK_RUNS = 400  # candidate runs each shrink may take
EXAMPLES_KEPT = 3  # examples of each kind tried when the first does not happen again


@frozen
class StepDone:
    """A step run on both sides: the model's action and the kernel's operation."""

    action: str
    args: Args
    call: KernelCall


Kind = tuple[str, tuple[str, ...]]


@frozen
class Mismatch:
    """The first step after which the kernel disagrees with the model (0: the
    initial state), what each side shows then, and the letters of the frames."""

    steps: tuple[StepDone, ...]
    differences: tuple[Difference, ...]
    model: Seen
    kernel: Seen
    model_pages: Mapping[PageAt, str]
    kernel_pages: Mapping[PageAt, str]
    refused: str | None = None  # what the kernel said when it did not do the last step

    @property
    def kind(self) -> Kind:
        action = self.steps[-1].action if self.steps else "the initial state"
        if self.refused is not None:
            return action, ("refused",)
        return action, tuple(sorted({d.observation for d in self.differences}))

    @property
    def model_steps(self) -> list[ModelStep]:
        return [(s.action, s.args) for s in self.steps]


@frozen
class RunOutcome:
    steps: tuple[StepDone, ...]
    mismatch: Mismatch | None = None
    # Why step len(steps) + 1 of a given sequence cannot be run.
    blocked: str | None = None


@frozen
class Found:
    """One kind of mismatch: how many runs showed it, the first that did
    (and its length), and its shrunk counterexample."""

    kind: Kind
    count: int
    run: int
    original_steps: int
    mismatch: Mismatch


@frozen
class ConformResult:
    model: str
    kernel: str
    seed: int | None
    runs: int
    steps: int
    actions: Mapping[str, int]  # steps run, per action
    found: tuple[Found, ...]
    # mismatches whose every kept example ran clean when run again
    unrepeatable: Mapping[Kind, int]
    notes: tuple[str, ...]
    not_compared: tuple[str, ...]
    seconds: float
    blocked: str | None = None  # why a given sequence stopped before its end
    # Ctrl-C: the steps of the run it stopped, and which run that was
    interrupted: tuple[StepDone, ...] | None = None
    interrupted_in: str = ""

    @property
    def mismatches(self) -> int:
        return sum(f.count for f in self.found) + sum(self.unrepeatable.values())


@frozen
class Plan:
    """Random walks (``sequence`` None) or one given sequence."""

    runs: int = 1
    steps: int = 20
    seed: int = 0
    weights: Mapping[str, float] = attrs.field(factory=dict)
    sequence: tuple[ModelStep, ...] | None = None
    shrink: bool = True


def not_compared(model: ir.Model) -> tuple[str, ...]:
    """The observations the spec does not declare, each with why it matters."""
    out = []
    for entry in OBSERVABLES:
        if entry.name not in model.observed:
            out.append(f"{entry.name} ({entry.meaning}): {model.name} declares no "
                       f"'observe def {entry.name}'")
    return tuple(out)


class Harness:
    """The model's machine, the zygote and the readers of /proc for one command."""

    def __init__(self, machine: Machine) -> None:
        model = machine.model
        if not model.observed:
            raise SpecError(f"{model.name} declares no observations ('observe def'), so "
                            "rmapcheck conform cannot tell what of its state the kernel should "
                            "show", None)
        if not model.observe_actions:
            raise SpecError(f"{model.name} declares no 'observe action', so no action of it "
                            "can be run on the kernel", None)
        self.machine = machine
        self.model = model
        self.sorts = observation_sorts(model, machine.instance.values)
        if self.sorts.page is None:
            raise SpecError(f"{model.name} observes no page (declare 'observe def frame' or "
                            "'observe def vma_end'), so the window has no size", None)
        self.model_view = ModelView(machine, self.sorts)
        self.mappings = {m.action: m for m in model.observe_actions}
        self.pageout = swap_is_on()
        check_user()
        window = Window(WINDOW_BASE, len(self.sorts.pages), os.sysconf("SC_PAGE_SIZE"))
        self.view = KernelView(window, frozenset(model.observed))
        try:
            self.zygote = DrivenProcess.start_zygote(
                window.base, window.pages * window.page_size, window.guard * window.page_size,
                min(os.sched_getaffinity(0)))
        except HelperBuildError as err:
            self.view.close()
            raise KernelUnsuitable(str(err)) from None
        except DrivenProcessError as err:
            self.view.close()
            raise KernelUnsuitable(f"the driven process cannot be set up here: {err}") from None
        try:
            self._probe()
        except BaseException:
            self.close()
            raise
        self.current: list[StepDone] = []

    def _probe(self) -> None:
        """Transparent huge pages are off for the driven processes, and a
        written page shows its PFN: else no observation means anything."""
        if thp_disabled(self.zygote.pid) is False:
            raise KernelUnsuitable("transparent huge pages stay on for the driven processes "
                                   "although they asked prctl(PR_SET_THP_DISABLE), so a fault "
                                   "may map a large folio")
        kernel = Kernel(self.zygote, self.view, self.sorts.name)
        first = self.sorts.processes[0]
        kernel.start([first])
        try:
            call = KernelCall("probe", "mmap", (("p", first), ("start", 0), ("pages", 1),
                                                ("writable", True), ("growsdown", False)))
            refused = kernel.run(call, lambda f: [])
            if refused is None:
                refused = kernel.run(KernelCall("probe", "write", (("p", first), ("v", 0))),
                                     lambda f: [])
            if refused is not None:
                raise KernelUnsuitable(f"a page of the window cannot be mapped and written "
                                       f"here ({refused})")
            if not self.view.seen(kernel.procs).pages:
                raise KernelUnsuitable("a page just written in the window is not present in "
                                       "/proc/PID/pagemap, so no page can be observed")
        finally:
            kernel.stop()

    def close(self) -> None:
        try:
            self.zygote.exit()
        except DrivenProcessError:
            self.zygote.kill()
        self.view.close()

    def runnable(self) -> tuple[set[str], list[str]]:
        """The actions a walk may take, and a note for each it may not."""
        notes = []
        ok = set()
        for action in self.model.actions:
            mapping = self.mappings.get(action.name)
            if mapping is None:
                notes.append(f"{action.name} is left out: {self.model.name} declares no "
                             f"'observe action {action.name}'")
            elif mapping.op == "pageout" and not self.pageout:
                notes.append(f"{action.name} is left out: no swap is on, and without it "
                             "MADV_PAGEOUT leaves an anonymous page where it is")
            else:
                ok.add(action.name)
        return ok, notes

    def proc_params(self, action: str) -> frozenset[str]:
        """The parameters of ``action`` that are processes."""
        return frozenset(p.name for p in self.model.action(action).params
                         if p.sort == self.sorts.process)

    # ------------------------------------------------------------ one run

    def run(self, choose: Chooser, limit: int) -> RunOutcome:
        """One run of at most ``limit`` steps, ended by the first mismatch."""
        machine = self.machine
        state = machine.initial_state()
        model_seen = self.model_view.seen(state)
        kernel = Kernel(self.zygote, self.view, self.sorts.name)
        done = self.current = []
        try:
            kernel.start(sorted(model_seen.processes))
            found = self._compare(Labels(), model_seen, kernel.seen(), done)
            if isinstance(found, Mismatch):
                return RunOutcome((), found)
            labels = found
            for index in range(limit):
                picked = choose(state, index)
                if picked is None:
                    break
                action, args, after = picked
                why = self._cannot_run(action, after)
                if why is not None:
                    return RunOutcome(tuple(done), blocked=f"step {index + 1}, {action}: {why}")
                assert after is not None
                mapping = self.mappings[action]
                call = kernel_call(machine, mapping, state, args)
                refused = kernel.run(call, _frame_pages(model_seen))
                state = after
                done.append(StepDone(action, args, call))
                model_seen = self.model_view.seen(state)
                kernel_seen = kernel.seen()
                if refused is not None:
                    # What differs after it is shown, though the refusal is the kind.
                    pages, theirs, _ = labels.carry(model_seen, kernel_seen)
                    differences = compare(model_seen, kernel_seen, pages, theirs,
                                          self.sorts.name)
                    return RunOutcome(tuple(done), Mismatch(
                        tuple(done), tuple(differences), model_seen, kernel_seen, pages, theirs,
                        refused))
                found = self._compare(labels, model_seen, kernel_seen, done)
                if isinstance(found, Mismatch):
                    return RunOutcome(tuple(done), found)
                labels = found
            return RunOutcome(tuple(done))
        except BaseException:
            kernel.kill()
            raise
        finally:
            kernel.stop()

    def _cannot_run(self, action: str, after: State | None) -> str | None:
        if after is None:
            return f"{self.model.name} does not allow it there"
        mapping = self.mappings.get(action)
        if mapping is None:
            return f"{self.model.name} declares no 'observe action {action}'"
        if mapping.op == "pageout" and not self.pageout:
            return "it is a pageout, and no swap is on"
        return None

    def _compare(self, labels: Labels, model: Seen, kernel: Seen,
                 done: list[StepDone]) -> Labels | Mismatch:
        mine, theirs, after = labels.carry(model, kernel)
        differences = compare(model, kernel, mine, theirs, self.sorts.name)
        if differences:
            return Mismatch(tuple(done), tuple(differences), model, kernel, mine, theirs)
        return after

    def run_steps(self, steps: Sequence[ModelStep], lenient: bool = False) -> RunOutcome:
        return self.run(given_steps(self.machine, steps, lenient), len(steps))

    def smaller(self, action: str, name: str, value: Any) -> list[Any]:
        """Simpler values of an argument, simplest first: lower numbers, false;
        none for a process or frame (renaming takes care of those)."""
        sort = next(p.sort for p in self.model.action(action).params if p.name == name)
        if isinstance(sort, ir.BoolSort):
            return [False] if value else []
        if isinstance(sort, ir.RangeSort) and not sort.symmetric:
            return [v for v in self.machine.instance.values(sort) if v < value]
        return []

    # ------------------------------------------------------------ shrinking

    def shrink(self, mismatch: Mismatch) -> Mismatch | None:
        """The mismatch shrunk; None when it does not happen again."""
        kind = mismatch.kind
        best: dict[str, Mismatch] = {}

        def still_fails(steps: Sequence[ModelStep]) -> list[ModelStep] | None:
            outcome = self.run_steps(steps, lenient=True)
            if outcome.mismatch is None or outcome.mismatch.kind != kind:
                return None
            best["last"] = outcome.mismatch
            return outcome.mismatch.model_steps

        again = still_fails(mismatch.model_steps)
        if again is None:
            return None
        initial = frozenset(self.model_view.seen(self.machine.initial_state()).processes)
        shrink(again, still_fails, self.proc_params, self.smaller, initial,
               Budget(SHRINK_RUNS))
        return best["last"]


def _frame_pages(seen: Seen) -> Callable[[int], list[PageAt]]:
    """Where ``seen`` maps each frame: a pageout reaches a frame through them."""
    return lambda f: [key for key, ident in seen.pages.items() if ident == f]


@contextmanager
def harness(machine: Machine) -> Iterator[Harness]:
    made = Harness(machine)
    try:
        yield made
    finally:
        made.close()


def conform(made: Harness, plan: Plan) -> ConformResult:
    """Runs ``plan`` on the model and the kernel, and shrinks what it finds.
    Ctrl-C ends the runs; the result then says which steps were under way."""
    start = time.monotonic()
    allowed, notes = made.runnable()
    weights = {name: w for name, w in (plan.weights or dict.fromkeys(allowed, 1.0)).items()
               if name in allowed}
    actions: Counter[str] = Counter()
    examples: dict[Kind, list[tuple[int, Mismatch]]] = {}
    counts: Counter[Kind] = Counter()
    runs = steps = 0
    blocked: str | None = None
    interrupted: tuple[StepDone, ...] | None = None
    interrupted_in = ""
    if plan.sequence is None and not any(weights.values()):
        raise SpecError("no action the walks may take can run on this kernel (the notes "
                        f"say why): {'; '.join(notes)}", None)
    try:
        total = 1 if plan.sequence is not None else plan.runs
        for run in range(1, total + 1):
            if plan.sequence is not None:
                outcome = made.run_steps(plan.sequence)
                blocked = outcome.blocked
            else:
                rng = random.Random(f"{plan.seed}/{run}")
                outcome = made.run(random_steps(made.machine, rng, weights), plan.steps)
            runs = run
            steps += len(outcome.steps)
            actions.update(s.action for s in outcome.steps)
            if outcome.mismatch is not None:
                kind = outcome.mismatch.kind
                counts[kind] += 1
                kept = examples.setdefault(kind, [])
                if len(kept) < EXAMPLES_KEPT:
                    kept.append((run, outcome.mismatch))
            activity.note("conform", run=f"{run} of {total}", steps=steps,
                          mismatches=sum(counts.values()))
    except KeyboardInterrupt:
        interrupted, interrupted_in = tuple(made.current), f"run {runs + 1}"
    found: list[Found] = []
    unrepeatable: dict[Kind, int] = {}
    for kind, kept in examples.items():
        activity.note("conform: shrinking", mismatch=f"{', '.join(kind[1])} after {kind[0]}")
        if interrupted is not None or not plan.shrink:
            # Shown as found: after Ctrl-C the kernel is not run again.
            run, mismatch = kept[0]
            found.append(Found(kind, counts[kind], run, len(mismatch.steps), mismatch))
            continue
        # Each kept example shrunk, the shortest shown: delta debugging only
        # drops steps, and another walk may have taken a shorter way there.
        shrunk: list[Found] = []
        for run, mismatch in kept:
            try:
                small = made.shrink(mismatch)
            except KeyboardInterrupt:
                interrupted, interrupted_in = tuple(made.current), "a shrinking run"
                small = mismatch
            if small is not None:
                shrunk.append(Found(kind, counts[kind], run, len(mismatch.steps), small))
            if interrupted is not None:
                break
        if shrunk:
            found.append(min(shrunk, key=lambda f: len(f.mismatch.steps)))
        else:
            unrepeatable[kind] = counts[kind]
    return ConformResult(made.model.name, os.uname().release,
                         plan.seed if plan.sequence is None else None, runs, steps,
                         dict(actions), tuple(found), unrepeatable, tuple(notes),
                         not_compared(made.model), time.monotonic() - start, blocked,
                         interrupted, interrupted_in)

