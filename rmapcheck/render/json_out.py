"""``--json``: the verdict of every property and the statistics, machine-readable."""

from __future__ import annotations

from typing import Any

from rmapcheck.instance import Instance
from rmapcheck.render.itf import trace_to_itf
from rmapcheck.trace import Holds, Proved, Result, Trace, Unknown, Violated


def result_to_json(instance: Instance, result: Result) -> dict[str, Any]:
    verdicts: dict[str, Any] = {}
    for name, verdict in result.verdicts:
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
                                  "trace": trace_to_itf(instance, trace, violated=name)}
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
