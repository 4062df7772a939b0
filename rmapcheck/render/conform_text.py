"""The words and the JSON of ``rmapcheck conform``: the counts of what ran,
and for each kind of mismatch the steps (the model's action and the system
call it stood for), then what the model predicts and what the kernel shows,
side by side, the rows that differ marked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rmapcheck import ir
from rmapcheck.conform.harness import ConformResult, Found, Harness, Mismatch, StepDone
from rmapcheck.conform.observation import PageAt, Seen, vmas_text
from rmapcheck.render.text import Style, format_args

COLUMN = 34  # the width of the model's column


def _plural(n: int, word: str, plural: str = "") -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def kind_text(kind: tuple[str, tuple[str, ...]]) -> str:
    action, observations = kind
    if observations == ("refused",):
        return f"the kernel refused {action}"
    return f"{', '.join(observations)} after {action}"


def step_lines(made: Harness, steps: tuple[StepDone, ...], style: Style) -> list[str]:
    """Each step: the model's action, and under it the system call."""
    out = []
    instance = made.machine.instance
    for n, step in enumerate(steps, 1):
        shown = format_args(instance, made.model.action(step.action), step.args)
        out.append(f"  {n}. {step.action}({shown})")
        out.append(style.dim(f"       {step.call.describe(made.view.window, made.sorts.name)}"))
    return out


def _pages_text(made: Harness, p: int, letters: Mapping[PageAt, str]) -> str:
    return " ".join(f"{v}:{letters.get((p, v), '-')}" for v in made.sorts.pages)


def _flag_pages(made: Harness, p: int, pages: frozenset[PageAt]) -> str:
    marked = [str(v) for v in made.sorts.pages if (p, v) in pages]
    return ", ".join(marked) if marked else "none"


def side_by_side(made: Harness, mismatch: Mismatch, style: Style) -> list[str]:
    """The observations of both sides after the last step, one row each."""
    model, kernel = mismatch.model, mismatch.kernel
    # (label, model, kernel, the observations that mark the row, its process)
    rows: list[tuple[str, str, str, tuple[str, ...], int | None]] = []
    procs = sorted(model.processes | kernel.processes | set(model.vmas or {})
                   | set(kernel.vmas or {}) | {p for p, _ in model.pages}
                   | {p for p, _ in kernel.pages})
    for p in procs:
        name = made.sorts.name(p)
        if (p in model.processes) != (p in kernel.processes):
            rows.append((f"{name}", "exists" if p in model.processes else "does not exist",
                         "exists" if p in kernel.processes else "does not exist",
                         ("process",), p))
        if model.vmas is not None and kernel.vmas is not None:
            rows.append((f"{name} VMAs", vmas_text(model.vmas.get(p, ())),
                         vmas_text(kernel.vmas.get(p, ())),
                         ("vma_end", "vma_writable", "vma_growsdown"), p))
        if "frame" in made.model.observed:
            rows.append((f"{name} pages", _pages_text(made, p, mismatch.model_pages),
                         _pages_text(made, p, mismatch.kernel_pages), ("frame",), p))
        for what, ours, seen in (("zero_page", model.zero_page, kernel.zero_page),
                                 ("exclusive", model.exclusive, kernel.exclusive)):
            if ours is not None and seen is not None:
                rows.append((f"{name} {what.replace('_', ' ')}", _flag_pages(made, p, ours),
                             _flag_pages(made, p, seen), (what,), p))
    if model.mapcounts is not None and kernel.mapcounts is not None:
        rows.append(("mapcounts", _counts(model, mismatch.model_pages),
                     _counts(kernel, mismatch.kernel_pages), ("page_mapcount",), None))
    differ = {(d.observation, d.process) for d in mismatch.differences}
    out = [f"    {'':<18}{'model':<{COLUMN}}kernel"]
    for label, mine, theirs, observations, proc in rows:
        marked = any((o, proc) in differ for o in observations)
        line = f"  {'!' if marked else ' '} {label:<18}{mine:<{COLUMN}}{theirs}"
        out.append(style.red(line) if marked else line)
    # What the kernel keeps in vm_flags that the model does not (VM_ACCOUNT:
    # 'ac'), shown because a merge the kernel refuses is often decided there.
    for p, vmas in sorted((kernel.vmas or {}).items()):
        if any(v.flags for v in vmas):
            each = "; ".join(f"[{v.start},{v.end}): {v.flags}" for v in vmas)
            out.append(style.dim(f"    the kernel's VmFlags of {made.sorts.name(p)}: {each}"))
    return out


def _counts(seen: Seen, letters: Mapping[PageAt, str]) -> str:
    assert seen.mapcounts is not None
    named = {seen.pages[key]: name for key, name in letters.items()}
    parts = sorted((name, seen.mapcounts.get(ident)) for ident, name in named.items())
    return " ".join(f"{name}:{count}" for name, count in parts) if parts else "none"


def found_lines(made: Harness, found: Found, index: int, total: int,
                result: ConformResult, style: Style) -> list[str]:
    mismatch = found.mismatch
    where = f"run {found.run}" if result.seed is not None else "the given steps"
    size = len(mismatch.steps)
    shrunk = (f", shrunk to {size}" if size != found.original_steps else "")
    head = (f"mismatch {index} of {total}: {kind_text(found.kind)}, in "
            f"{_plural(found.count, 'run')} (first in {where}: "
            f"{_plural(found.original_steps, 'step')}{shrunk})")
    out = [style.bold(style.red(head))]
    out += step_lines(made, mismatch.steps, style)
    if mismatch.steps:
        last = mismatch.steps[-1]
        shown = format_args(made.machine.instance, made.model.action(last.action), last.args)
        after = f"after step {size}, {last.action}({shown})"
    else:
        after = "in the initial state"
    if mismatch.refused is not None:
        out.append(f"  the model allows step {size}; the kernel refused it: {mismatch.refused}")
    out.append(f"  {after}:")
    out += side_by_side(made, mismatch, style)
    return out


def format_conform(made: Harness, result: ConformResult, style: Style) -> list[str]:
    seed = f", seed {result.seed}" if result.seed is not None else ""
    mismatches = result.mismatches
    kinds = len(result.found) + len(result.unrepeatable)
    verdict = (f"{_plural(mismatches, 'mismatch', 'mismatches')} of {_plural(kinds, 'kind')}"
               if mismatches else "no mismatch")
    if result.interrupted is not None:
        verdict = f"interrupted, {verdict} so far"
    head = (f"{result.model} against Linux {result.kernel}: {_plural(result.runs, 'run')}, "
            f"{_plural(result.steps, 'step')}{seed}: {verdict} ({result.seconds:.1f} s)")
    colour = style.red if mismatches else style.yellow if result.interrupted is not None \
        else style.green
    out = [style.bold(colour(head))]
    if result.actions:
        counts = ", ".join(f"{a.name} {result.actions[a.name]:,}" for a in made.model.actions
                           if a.name in result.actions)
        out.append(f"  steps run: {counts}")
    out += [style.dim(f"  note: {note}") for note in result.notes]
    out += [style.dim(f"  not compared: {what}") for what in result.not_compared]
    if result.blocked is not None:
        out.append(style.yellow(f"  the given steps end early: {result.blocked}"))
    for kind, count in result.unrepeatable.items():
        out.append(style.yellow(f"  {kind_text(kind)}: {_plural(count, 'run')} disagreed, "
                                "but none of its examples did when run again"))
    for index, found in enumerate(result.found, 1):
        out.append("")
        out += found_lines(made, found, index, len(result.found), result, style)
    if result.interrupted is not None:
        out.append("")
        out.append(style.yellow(f"interrupted in {result.interrupted_in} after "
                                f"{_plural(len(result.interrupted), 'step')}:"))
        out += step_lines(made, result.interrupted, style)
    return out


# ------------------------------------------------------------ JSON


def _seen_json(made: Harness, seen: Seen, letters: Mapping[PageAt, str]) -> dict[str, Any]:
    name = made.sorts.name
    doc: dict[str, Any] = {
        "processes": [name(p) for p in sorted(seen.processes)],
        "pages": {f"{name(p)}:{v}": letter for (p, v), letter in sorted(letters.items())},
    }
    if seen.mapcounts is not None:
        doc["mapcounts"] = {letter: seen.mapcounts.get(seen.pages[key])
                            for key, letter in sorted(letters.items())}
    if seen.vmas is not None:
        doc["vmas"] = {name(p): [{"start": v.start, "end": v.end, "writable": v.writable,
                                  "growsdown": v.growsdown, "accounted": v.accounted,
                                  **({"vmflags": v.flags} if v.flags else {})}
                                 for v in vmas]
                       for p, vmas in sorted(seen.vmas.items())}
    for what, pages in (("zero_page", seen.zero_page), ("exclusive", seen.exclusive)):
        if pages is not None:
            doc[what] = [f"{name(p)}:{v}" for p, v in sorted(pages)]
    return doc


def _steps_json(made: Harness, steps: tuple[StepDone, ...]) -> list[dict[str, Any]]:
    from rmapcheck.render.explain import format_value

    instance = made.machine.instance

    def value(sort: ir.Sort, v: Any) -> Any:
        # Numbers and Booleans as JSON has them; a process or frame as the text names it.
        symmetric = isinstance(sort, ir.RangeSort) and sort.symmetric
        return format_value(instance, sort, v) if symmetric or v is None else v

    out = []
    for step in steps:
        sorts = {p.name: p.sort for p in made.model.action(step.action).params}
        out.append({"action": step.action,
                    "args": {k: value(sorts[k], v) for k, v in step.args},
                    "kernel": step.call.describe(made.view.window, made.sorts.name)})
    return out


def conform_to_json(made: Harness, result: ConformResult) -> dict[str, Any]:
    kinds = []
    for found in result.found:
        mismatch = found.mismatch
        kinds.append({
            "action": found.kind[0], "observations": list(found.kind[1]), "count": found.count,
            "run": found.run, "steps_before_shrinking": found.original_steps,
            "steps": _steps_json(made, mismatch.steps), "at_step": len(mismatch.steps),
            "refused": mismatch.refused,
            "differences": [{"observation": d.observation, "where": d.where, "model": d.model,
                             "kernel": d.kernel} for d in mismatch.differences],
            "model": _seen_json(made, mismatch.model, mismatch.model_pages),
            "kernel": _seen_json(made, mismatch.kernel, mismatch.kernel_pages),
        })
    return {
        "model": result.model, "kernel": result.kernel, "seed": result.seed,
        "runs": result.runs, "steps": result.steps, "actions": dict(result.actions),
        "seconds": round(result.seconds, 3), "mismatches": result.mismatches, "kinds": kinds,
        "unrepeatable": [{"action": k[0], "observations": list(k[1]), "count": c}
                         for k, c in result.unrepeatable.items()],
        "blocked": result.blocked, "notes": list(result.notes),
        "not_compared": list(result.not_compared),
        "interrupted": (None if result.interrupted is None
                        else {"in": result.interrupted_in,
                              "steps": _steps_json(made, result.interrupted)}),
    }
