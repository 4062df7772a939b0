"""Traces in ITF, the Informal Trace Format of Apalache and Quint.

A trace is ``{"#meta": ..., "vars": [...], "states": [...]}``; each state maps
every state variable to a value: integers as JSON numbers, Booleans, enum
members as strings, records as objects, maps as ``{"#map": [[key, value]]}``
(a key of several sorts as ``{"#tup": [...]}``), sets as ``{"#set": [...]}``
and optional values as Quint's ``Option`` variant (``{"tag": "Some", "value":
v}`` or ``{"tag": "None", "value": {"#tup": []}}``). Each state's ``#meta``
names the action that led to it and its arguments, so ``rmapcheck replay``
can re-run the trace step by step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rmapcheck import __name__ as _pkg
from rmapcheck import ir
from rmapcheck.errors import SpecError
from rmapcheck.instance import Instance
from rmapcheck.trace import State, Step, Trace

_NONE = {"tag": "None", "value": {"#tup": []}}


def _value_to_itf(instance: Instance, sort: ir.Sort, slots: tuple[Any, ...] | list[Any]) -> Any:
    match sort:
        case ir.OptionSort(inner=ir.RecordSort() as rec):
            if not slots[0]:
                return _NONE
            return {"tag": "Some", "value": _value_to_itf(instance, rec, slots[1:])}
        case ir.OptionSort(inner=inner):
            if slots[0] is None:
                return _NONE
            return {"tag": "Some", "value": _value_to_itf(instance, inner, slots)}
        case ir.RecordSort(fields=fields):
            out: dict[str, Any] = {}
            pos = 0
            for name, fsort in fields:
                width = instance.width(fsort)
                out[name] = _value_to_itf(instance, fsort, slots[pos:pos + width])
                pos += width
            return out
        case ir.EnumSort(members=members):
            return members[slots[0]]
        case ir.SetSort(elem=elem):
            values = instance.values(elem)
            return {"#set": [_value_to_itf(instance, elem, (values[i],))
                             for i in range(len(values)) if slots[0] >> i & 1]}
        case ir.BoolSort():
            return bool(slots[0])
        case _:
            return int(slots[0])


def _value_from_itf(instance: Instance, sort: ir.Sort, value: Any) -> list[Any]:
    match sort:
        case ir.OptionSort(inner=ir.RecordSort() as rec):
            if value.get("tag") == "None":
                return list(instance.default(sort))
            return [True] + _value_from_itf(instance, rec, value["value"])
        case ir.OptionSort(inner=inner):
            if value.get("tag") == "None":
                return [None]
            return _value_from_itf(instance, inner, value["value"])
        case ir.RecordSort(fields=fields):
            slots: list[Any] = []
            for name, fsort in fields:
                slots.extend(_value_from_itf(instance, fsort, value[name]))
            return slots
        case ir.EnumSort(members=members):
            return [members.index(value)]
        case ir.SetSort(elem=elem):
            mask = 0
            for item in value["#set"]:
                mask |= 1 << instance.index_of(elem, _value_from_itf(instance, elem, item)[0])
            return [mask]
        case ir.BoolSort():
            return [bool(value)]
        case _:
            if isinstance(value, dict) and "#bigint" in value:
                return [int(value["#bigint"])]
            return [int(value)]


def _key_to_itf(instance: Instance, sorts: tuple[ir.Sort, ...], key: tuple[Any, ...]) -> Any:
    parts = [_value_to_itf(instance, s, (k,)) for s, k in zip(sorts, key)]
    return parts[0] if len(parts) == 1 else {"#tup": parts}


def state_to_itf(instance: Instance, state: State) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, rng in instance.layout.items():
        sort = rng.var.value
        if not rng.var.keys:
            out[name] = _value_to_itf(instance, sort, state[rng.offset:rng.end])
            continue
        entries = []
        for i, key in enumerate(rng.keys):
            start = rng.offset + i * rng.width
            entries.append([_key_to_itf(instance, rng.var.keys, key),
                            _value_to_itf(instance, sort, state[start:start + rng.width])])
        out[name] = {"#map": entries}
    return out


def state_from_itf(instance: Instance, data: dict[str, Any]) -> State:
    slots: list[Any] = []
    for name, rng in instance.layout.items():
        if name not in data:
            raise SpecError(f"the ITF state has no variable '{name}'", None)
        sort = rng.var.value
        if not rng.var.keys:
            slots.extend(_value_from_itf(instance, sort, data[name]))
            continue
        entries = {json.dumps(k, sort_keys=True): v for k, v in data[name]["#map"]}
        for key in rng.keys:
            itf_key = json.dumps(_key_to_itf(instance, rng.var.keys, key), sort_keys=True)
            if itf_key not in entries:
                raise SpecError(f"the ITF state has no entry {itf_key} in '{name}'", None)
            slots.extend(_value_from_itf(instance, sort, entries[itf_key]))
    return tuple(slots)


def trace_to_itf(instance: Instance, trace: Trace, violated: str | None = None) -> dict[str, Any]:
    model = instance.model
    states = []
    for index, (state, step) in enumerate(zip(trace.states(), (None,) + trace.steps)):
        entry = state_to_itf(instance, state)
        meta: dict[str, Any] = {"index": index}
        if step is not None:
            action = model.action(step.action)
            sorts = {p.name: p.sort for p in action.params}
            meta["action"] = step.action
            meta["args"] = {n: _value_to_itf(instance, sorts[n], (v,)) for n, v in step.args}
        entry["#meta"] = meta
        states.append(entry)
    meta = {"format": "ITF", "source": model.span.file, "model": model.name,
            "consts": dict(instance.consts), "generator": _pkg,
            "description": f"counterexample to {violated}" if violated else "a trace"}
    if violated:
        meta["violated"] = violated
    return {"#meta": meta, "vars": [v.name for v in model.state], "states": states}


def trace_from_itf(instance: Instance, data: dict[str, Any]) -> Trace:
    model = instance.model
    try:
        states = data["states"]
        initial = state_from_itf(instance, states[0])
        steps = []
        for entry in states[1:]:
            meta = entry.get("#meta", {})
            action = model.action(meta["action"])
            sorts = {p.name: p.sort for p in action.params}
            args = tuple((p.name, _value_from_itf(instance, sorts[p.name], meta["args"][p.name])[0])
                         for p in action.params)
            steps.append(Step(action.name, args, state_from_itf(instance, entry), action.span))
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise SpecError(f"the file is not an ITF trace of model {model.name} "
                        f"({type(err).__name__}: {err})", None) from None
    return Trace(initial, tuple(steps))


def write_itf(instance: Instance, trace: Trace, path: str, violated: str | None = None) -> None:
    Path(path).write_text(json.dumps(trace_to_itf(instance, trace, violated), indent=1) + "\n")
