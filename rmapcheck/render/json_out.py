"""``--json``: the verdict of every property and the statistics, machine-readable."""

from __future__ import annotations

from typing import Any

from rmapcheck.instance import Instance
from rmapcheck.render.coverage_report import coverage_to_json
from rmapcheck.render.explain import (
    BlockedExplanation,
    Evaluator,
    explain,
    fails_for,
    target_name,
    where,
)
from rmapcheck.render.itf import trace_to_itf
from rmapcheck.trace import Holds, Proved, Result, Trace, Unknown, Violated


def result_to_json(instance: Instance, result: Result,
                   machine: Evaluator | None = None) -> dict[str, Any]:
    """The result as one JSON document. With ``machine``, each violation
    says what fails in the words and the syntax of the text output."""
    verdicts: dict[str, Any] = {}
    for internal, verdict in result.verdicts:
        name = target_name(internal)
        match verdict:
            case Holds(bound=bound):
                verdicts[name] = {"verdict": "holds", "states": bound.states,
                                  "depth": bound.depth, "complete": bound.complete,
                                  "engine": bound.engine}
            case Proved(method=method, lemmas=lemmas, detail=detail):
                verdicts[name] = {"verdict": "proved", "method": method, "lemmas": list(lemmas),
                                  **({"detail": detail} if detail else {})}
            case Violated(trace=trace, detail=detail):
                verdicts[name] = {"verdict": "violated", "length": len(trace), "detail": detail,
                                  "trace": trace_to_itf(instance, trace, violated=internal)}
                if machine is not None:
                    verdicts[name].update(violation_to_json(machine, internal, trace))
            case Unknown(reason=reason):
                verdicts[name] = {"verdict": "unknown", "reason": reason}
    stats = result.stats
    return {
        "model": result.model,
        "engine": result.engine,
        "consts": dict(result.consts or instance.consts),
        "verdicts": verdicts,
        "stats": {"states": stats.states, "transitions": stats.transitions,
                  "depth": stats.depth, "seconds": round(stats.seconds, 3),
                  "peak_memory": stats.peak_memory,
                  **{k: _plain(instance, k, v) for k, v in stats.extra}},
        # Only --coverage counts the whole table (every hook and branch).
        **({"coverage": coverage_to_json(result.coverage)}
           if result.coverage is not None and result.coverage.full else {}),
    }


def _plain(instance: Instance, key: str, value: Any) -> Any:
    """An engine's extra statistic as JSON: witness traces become ITF."""
    if isinstance(value, Trace):
        return trace_to_itf(instance, value)
    if isinstance(value, (tuple, list)):
        return [_plain(instance, key, v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(instance, key, v) for k, v in value.items()}
    return str(value)


def violation_to_json(machine: Evaluator, name: str, trace: Trace) -> dict[str, Any]:
    """What fails, as the text says it: the values as the text writes them
    (p0, f1), the conjunct in the spec's own syntax, places as file:line:col."""
    try:
        ex = explain(machine, name, trace)
    except Exception:  # noqa: BLE001 - the verdict and its trace stand without the words
        return {}
    out: dict[str, Any] = {}
    if ex.bindings:
        out["fails_for"] = dict(ex.bindings)
    if ex.conjunct:
        out["conjunct"] = ex.conjunct
        out["conjunct_at"] = where(ex.conjunct_span)
        if ex.conjunct_in:
            out["conjunct_in_def"] = ex.conjunct_in
    facts = [{"place": f.text, "value": f.value,
              **({"written_at_step": f.written_at} if f.written_at is not None else {})}
             for f in ex.facts]
    if facts:
        out["values"] = facts
    if ex.diagnosis:
        out["diagnosis"] = list(ex.diagnosis)
    parts = []
    if ex.bindings:
        parts.append(fails_for(ex.bindings))
    if ex.conjunct:
        parts.append(f"the conjunct that fails: {ex.conjunct}")
    if parts:
        out["detail"] = "; ".join(parts)
    return out


def blocked_to_json(ex: BlockedExplanation) -> dict[str, Any]:
    """A step that is not allowed, as ``rmapcheck replay`` and ``rmapcheck run``
    say it: the ``requires`` (file:line:col and its text), its false part and
    the values that part reads, as the text writes them."""
    return {"requires": where(ex.span), "text": ex.text, "false_part": ex.conjunct,
            "values": {f.text: f.value for f in ex.facts}}
