"""``rmapcheck report``: what the tool itself says about every bundled model.

It runs the explicit engine (native when a C compiler is there) and the Z3
prover on each design at its default bounds, as ``rmapcheck.portfolio`` plans
them, and writes two documents from the results: ``docs/PROPERTIES.md``
(every property of every model: proved, holds to a bound, or violated with
its trace in brief) and ``models/README.md`` (the catalogue). ``--check``
says whether the committed files are stale without running a search: every
model's section records a digest of its lowered IR, its bounds and the
tool's version, and the check recomputes those digests.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from rmapcheck import __version__, ir
from rmapcheck.errors import SpecError
from rmapcheck.frontend import bundled_models, load_model
from rmapcheck.instance import Instance
from rmapcheck.portfolio import AUTO_STATES
from rmapcheck.resources import models_dir
from rmapcheck.trace import Holds, Proved, Result, Unknown, Verdict, Violated

# In every digest and generated document: a new version makes them stale.
VERSION = __version__


@attrs.frozen
class ModelReport:
    path: Path
    model: ir.Model
    instance: Instance
    explicit: Result
    proofs: Result | None
    explicit_seconds: float
    proof_seconds: float | None
    proof_note: str = ""
    proof_limits: str = ""  # the solver limits the proofs ran under, in words

    @property
    def broken(self) -> bool:
        return self.path.parent.name == "broken"


def _doc_field(doc: str, label: str) -> str:
    """The paragraph of a docstring that starts with ``label:``, on one line."""
    match = re.search(rf"^{label}:\s*(.*?)(?:\n\s*\n|\Z)", doc, re.MULTILINE | re.DOTALL)
    return " ".join(match.group(1).split()) if match else ""


def summary_line(doc: str) -> str:
    first = doc.strip().splitlines()[0] if doc.strip() else ""
    return first.split(":", 1)[1].strip() if ":" in first else first


def year_of(doc: str) -> str:
    design = _doc_field(doc, "Design")
    found = re.search(r"\b(19\d\d|20\d\d)\b", design or doc)
    return found.group(1) if found else ""


def source_of(doc: str) -> str:
    design = _doc_field(doc, "Design")
    sentence = re.split(r"(?<=[.;])\s", design, maxsplit=1)[0] if design else ""
    return sentence.rstrip(".;")


def expected_of(doc: str) -> str:
    return _doc_field(doc, "Expected")


# A design whose state space is too large to finish reports how deep every
# behaviour was explored within this many states (a count, not a time, so
# that the generated documents are the same on every machine).
SEARCH_BUDGET = 20_000_000


def expects_violation(path: Path, model: ir.Model) -> bool:
    return path.parent.name == "broken" or "violated" in expected_of(model.doc).lower()


def run_model(path: Path, prove: bool = True, solver_timeout: float = 30.0,
              proof_timeout: float | None = None, budget: int = SEARCH_BUDGET,
              log: Callable[[str], None] | None = None) -> ModelReport:
    from rmapcheck import portfolio
    from rmapcheck.explicit.machine import Machine

    model = load_model(path)
    instance = Instance(model)
    machine = Machine(instance)
    started = time.monotonic()
    explicit = portfolio.report_search(machine, budget, expects_violation(path, model))
    explicit_seconds = time.monotonic() - started
    if log:
        log(f"{model.name}: explicit search done in {explicit_seconds:.1f} s")
    proofs: Result | None = None
    proof_seconds: float | None = None
    note = ""
    if prove and explicit.violations:
        note = ("not run: the explicit search refutes the model (`rmapcheck prove` shows its "
                "counterexamples to induction)")
    elif prove and not portfolio.prover_available():
        note = "the Z3 prover is not available in this build"
    elif prove:
        started = time.monotonic()
        proofs = portfolio.prove(instance, method="auto", solver_timeout=solver_timeout,
                                 time_limit=proof_timeout, searched=explicit)
        proof_seconds = time.monotonic() - started
        if log:
            log(f"{model.name}: proofs done in {proof_seconds:.1f} s")
    limits = f"{solver_timeout:g} s per solver query"
    if proof_timeout is not None:
        limits += f", {proof_timeout:g} s in all"
    return ModelReport(path, model, instance, explicit, proofs, explicit_seconds,
                       proof_seconds, note, limits)


def spec_digest(model: ir.Model, instance: Instance) -> str:
    """What a model's results depend on: its lowered IR, its bounds and the
    tool's version. A report whose digests all match is not stale."""
    import hashlib

    from rmapcheck.ir_print import format_model

    text = f"{VERSION}\n{_consts(instance)}\n{format_model(model)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def digests_in(text: str) -> dict[str, str]:
    return dict(re.findall(r"^## (\S+).*?digest `([0-9a-f]+)`", text, re.MULTILINE | re.DOTALL))


def _consts(instance: Instance) -> str:
    return ", ".join(f"{k}={v}" for k, v in instance.consts.items())


def _trace_brief(report: ModelReport, verdict: Violated) -> str:
    from rmapcheck.render.text import format_args

    model = report.model
    steps = []
    for step in verdict.trace.steps:
        action = model.action(step.action)
        steps.append(f"{step.action}({format_args(report.instance, action, step.args)})")
    return ", ".join(steps) if steps else "the initial state"


def _verdict_cell(report: ModelReport, result: Result, name: str) -> str:
    """The verdict ``result`` (the explicit search or the proofs) gives ``name``."""
    from rmapcheck.render.text import reached_in

    verdict = result.verdict(name)
    if _kind(report.model, name) == "sometimes" and isinstance(verdict, Holds):
        steps = result.witness_steps(name, verdict)
        if steps is not None:
            return f"witnessed ({reached_in(steps)})"
    match verdict:
        case Proved(method=method, lemmas=lemmas):
            extra = f"; lemmas {verdict.lemma_list()}" if lemmas else ""
            return f"proved ({method}{extra})"
        case Holds(bound=bound):
            return f"holds ({bound.describe()})"
        case Violated() as violated:
            brief = _trace_brief(report, violated)
            return f"**violated** after {len(violated.trace)} steps: {brief}"
        case Unknown(reason=reason):
            return f"unknown ({reason})"
    raise AssertionError(verdict)


def _best(report: ModelReport, name: str) -> tuple[Verdict | None, Verdict | None]:
    explicit = dict(report.explicit.verdicts).get(name)
    proof = dict(report.proofs.verdicts).get(name) if report.proofs else None
    return explicit, proof


def shortest_violation(report: ModelReport) -> int | None:
    lengths = [len(v.trace) for _, v in report.explicit.violations]
    return min(lengths) if lengths else None


def render_properties(reports: Sequence[ModelReport]) -> str:
    out = [
        "# What rmapcheck says about every bundled model",
        "",
        (f"Generated by `rmapcheck report` (rmapcheck {VERSION}) from the tool's own results; "
        "do not edit by hand. CI regenerates it and fails when it is stale. For each model, "
        "at its default bounds: the explicit engine's exhaustive search, and the Z3 prover "
        "(`rmapcheck prove`)."),
        "",
        ("Verdicts: **proved** holds in every reachable state of the instance (the method "
        "says how); **holds** no violation in every reachable state the search explored "
        "(the bound says how far); **violated** with the shortest trace; **unknown** with "
        "the reason."),
        "",
    ]
    for report in reports:
        out.extend(_properties_section(report))
    return "\n".join(out)


def _shown(path: Path, base: Path) -> str:
    """``path`` as the documents name it: relative to ``base``, whichever way
    the user named it on the command line (a spec outside it: as given)."""
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def _properties_section(report: ModelReport) -> list[str]:
    out: list[str] = []
    model = report.model
    stats = report.explicit.stats
    out.append(f"## {model.name}{' (broken variant)' if report.broken else ''}")
    out.append("")
    out.append(f"{summary_line(model.doc)}  ")
    out.append(f"Spec: `{_shown(report.path, models_dir().parent)}`; bounds "
               f"{_consts(report.instance)}; digest `{spec_digest(model, report.instance)}`.  ")
    out.append(f"Explicit search ({report.explicit.engine}): {stats.states:,} states, "
               f"{stats.transitions:,} transitions, depth {stats.depth}, "
               f"{report.explicit_seconds:.1f} s.")
    if report.proofs is not None and report.proof_seconds is not None:
        limits = f", {report.proof_limits}" if report.proof_limits else ""
        out.append(f"Z3 ({report.proofs.engine}{limits}): {report.proof_seconds:.1f} s.")
    elif report.proof_note:
        out.append(f"Z3: {report.proof_note}.")
    out.append("")
    out.append("| property | kind | explicit search | Z3 |")
    out.append("|---|---|---|---|")
    names = [name for name, _ in report.explicit.verdicts]
    for name in names:
        explicit, proof = _best(report, name)
        kind = _kind(model, name)
        cells = [_verdict_cell(report, report.explicit, name) if explicit else "",
                 _verdict_cell(report, report.proofs, name)
                 if proof and report.proofs else "not run"]
        out.append(f"| `{name}` | {kind} | {cells[0]} | {cells[1]} |")
    out.append("")
    return out


def _kind(model: ir.Model, name: str) -> str:
    try:
        return model.prop(name).kind
    except KeyError:
        return "assert"


BEGIN = "<!-- generated by rmapcheck report: begin -->"
END = "<!-- generated by rmapcheck report: end -->"


def catalogue_digest(models: Sequence[tuple[ir.Model, Instance]]) -> str:
    """One digest for the whole table: every model's, in order."""
    import hashlib

    joined = "\n".join(f"{m.name} {spec_digest(m, i)}" for m, i in models)
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def _proof_word(report: ModelReport) -> str:
    if report.proofs is None:
        return "not run"
    verdicts = [v for n, v in report.proofs.verdicts if _kind(report.model, n) != "sometimes"]
    proved = sum(isinstance(v, Proved) for v in verdicts)
    return f"{proved} of {len(verdicts)} proved"


def render_catalogue(reports: Sequence[ModelReport]) -> str:
    digest = catalogue_digest([(r.model, r.instance) for r in reports])
    out = [
        BEGIN,
        "",
        (f"Generated by `rmapcheck report` (rmapcheck {VERSION}, digest `{digest}`) from "
         "the tool's own results at each model's default bounds; CI fails when it is stale. "
         "Every property of every model, with the Z3 proofs, is in "
         "[docs/PROPERTIES.md](../docs/PROPERTIES.md)."),
        "",
        ("| model | design | source | year | expected | verdict | shortest counterexample | "
         f"states (the report's search: up to {SEARCH_BUDGET:,}; `verify` stops at "
         f"{AUTO_STATES:,} and proves) | Z3 | bounds |"),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    out.extend(_catalogue_row(report) for report in reports)
    out.append("")
    out.append(END)
    return "\n".join(out)


def _catalogue_row(report: ModelReport) -> str:
    model = report.model
    doc = model.doc
    violated = [name for name, _ in report.explicit.violations]
    bounds = [v.bound for _, v in report.explicit.verdicts if isinstance(v, Holds)]
    if violated:
        verdict = "violated: " + ", ".join(violated)
    elif report.explicit.unknowns or any(not b.complete for b in bounds):
        depth = min((b.depth for b in bounds if b.depth is not None), default=None)
        verdict = f"holds to depth {depth}" if depth is not None else "inconclusive"
    else:
        verdict = "holds"
    shortest = shortest_violation(report)
    name = f"broken/{model.name}" if report.broken else model.name
    return (
        f"| [{name}]({_shown(report.path, models_dir())}) | {summary_line(doc)} | "
        f"{source_of(doc)} | {year_of(doc)} | {expected_of(doc)} | {verdict} | "
        f"{shortest if shortest is not None else '-'} | {report.explicit.stats.states:,} | "
        f"{_proof_word(report)} | {_consts(report.instance)} |")


def splice_catalogue(existing: str | None, table: str) -> str:
    """The catalogue file with its generated table replaced (the prose around
    the markers is kept); the table alone when the file has no markers."""
    if existing and BEGIN in existing and END in existing:
        head, rest = existing.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        return head + table + tail
    return "# The models\n\n" + table + "\n"


def catalogue_digest_in(text: str) -> str | None:
    found = re.search(r"rmapcheck report` \(rmapcheck \S+, digest `([0-9a-f]+)`", text)
    return found.group(1) if found else None


def write_documents(reports: Sequence[ModelReport], properties: Path,
                    catalogue: Path) -> None:
    existing = catalogue.read_text() if catalogue.exists() else None
    for path, text in ((properties, render_properties(reports) + "\n"),
                       (catalogue, splice_catalogue(existing, render_catalogue(reports)))):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def update_documents(reports: Sequence[ModelReport], properties: Path,
                     catalogue: Path) -> None:
    """Replaces the sections and table rows of the reported models in the
    documents as they are, keeping every other model's (so that one changed
    spec does not cost a run of every model). The table's digest is that of
    every bundled model, as a full run writes it."""
    if not properties.exists() or not catalogue.exists():
        raise SpecError(f"{properties} and {catalogue} must exist to be updated; run "
                        "'rmapcheck report' without --update first", None)
    by_name = {r.model.name: r for r in reports}
    head, *sections = re.split(r"(?m)^(?=## )", properties.read_text())
    seen = set()
    for i, section in enumerate(sections):
        name = section.split("\n", 1)[0][3:].split(" ", 1)[0]
        if name in by_name:
            sections[i] = "\n".join(_properties_section(by_name[name])) + "\n"
            seen.add(name)
    missing = sorted(set(by_name) - seen)
    if missing:
        raise SpecError(f"{properties} has no section for {', '.join(missing)}; run "
                        "'rmapcheck report' without --update", None)
    properties.write_text(head + "".join(sections).rstrip("\n") + "\n")
    text = catalogue.read_text()
    lines = text.split("\n")
    for i, line in enumerate(lines):
        row = re.match(r"\| \[(?:broken/)?(\w+)\]\(", line)
        if row and row.group(1) in by_name:
            lines[i] = _catalogue_row(by_name[row.group(1)])
    old = catalogue_digest_in(text)
    updated = "\n".join(lines)
    # The table vouches for every model only when every section is current.
    if old is not None and not stale_models(properties):
        every = [(m, Instance(m)) for m in (load_model(p) for p in bundled_models())]
        updated = updated.replace(f"digest `{old}`", f"digest `{catalogue_digest(every)}`", 1)
    catalogue.write_text(updated)


def stale_models(properties: Path, paths: Sequence[Path] | None = None,
                 catalogue: Path | None = None) -> list[str]:
    """The models whose spec or bounds changed since ``properties`` was written,
    and the models it lacks or has too many of: cheap, no search is run. With
    ``catalogue``, its table must come from the same models (else it is named)."""
    recorded = digests_in(properties.read_text()) if properties.exists() else {}
    stale = []
    current: set[str] = set()
    models = []
    for path in (list(paths) if paths else bundled_models()):
        model = load_model(path)
        instance = Instance(model)
        models.append((model, instance))
        current.add(model.name)
        if recorded.get(model.name) != spec_digest(model, instance):
            stale.append(model.name)
    stale.extend(sorted(set(recorded) - current))
    if catalogue is not None:
        text = catalogue.read_text() if catalogue.exists() else ""
        if catalogue_digest_in(text) != catalogue_digest(models):
            stale.append(str(catalogue))
    return stale


def report_models(paths: Sequence[Path] | None = None, prove: bool = True,
                  log: Callable[[str], None] | None = None, solver_timeout: float = 30.0,
                  proof_timeout: float | None = None,
                  budget: int = SEARCH_BUDGET) -> list[ModelReport]:
    chosen = list(paths) if paths else bundled_models()
    return [run_model(path, prove=prove, solver_timeout=solver_timeout,
                      proof_timeout=proof_timeout, budget=budget, log=log)
            for path in chosen]
