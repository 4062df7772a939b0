"""The words of a run-time error of the spec, for every engine.

A fault site (``nodes.FaultSite``) is decided once by the lowering; whichever
engine meets it (the interpreter, the generated Python, the generated C)
raises the error built here, so the message is the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rmapcheck import ir
from rmapcheck.core.nodes import FaultSite
from rmapcheck.errors import SpecRuntimeError
from rmapcheck.instance import Instance


def show_value(value: Any) -> str:
    if value is None:
        return "none"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def describe_sort(instance: Instance, sort: ir.Sort | None) -> str:
    if isinstance(sort, ir.OptionSort):
        sort = sort.inner
    if isinstance(sort, ir.RangeSort):
        lo, hi = instance.range_bounds(sort)
        return f"{sort.name} ({lo} .. {hi})"
    return str(sort)


def fault_error(instance: Instance, site: FaultSite, value: Any = None,
                keys: Sequence[Any] = ()) -> SpecRuntimeError:
    """The error of ``site`` for the offending ``value``, at the state location
    with ``keys`` (when the site names one and the keys are known)."""
    where = ""
    if site.var is not None:
        if keys:
            try:
                where = instance.format_key(site.var, tuple(keys))
            except (KeyError, IndexError):
                where = f"{site.var}[{', '.join(map(show_value, keys))}]"
        else:
            where = site.var
        where += "".join(f".{p}" for p in site.path)
    message = site.template.format(value=show_value(value),
                                   sort=describe_sort(instance, site.sort), where=where)
    return SpecRuntimeError(message, site.span)
