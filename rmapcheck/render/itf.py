"""Traces in ITF, the Informal Trace Format of Apalache and Quint.

A trace is ``{"#meta": ..., "vars": [...], "states": [...]}``; each state maps
every state variable to a value: integers as JSON numbers, Booleans, enum
members as strings, records as objects, maps as ``{"#map": [[key, value]]}``
(a key of several sorts as ``{"#tup": [...]}``), sets as ``{"#set": [...]}``
and optional values as Quint's ``Option`` variant (``{"tag": "Some", "value":
v}`` or ``{"tag": "None", "value": {"#tup": []}}``). Each state's ``#meta``
names the action that led to it and its arguments, so ``rmapcheck replay``
can re-run the trace step by step.

The format is ADR-015 of Apalache ("Informal Trace Format"): a trace object
has ``vars`` (names), ``states`` (objects with one field per name, plus an
optional ``#meta``) and optionally ``#meta``, ``params`` and ``loop``; a value
is a Boolean, a string, an integer (a JSON number within +-(2^53 - 1), else
``{"#bigint": "digits"}``), a list, a record (an object whose fields do not
start with ``#``), ``#tup``, ``#set``, ``#map`` (a list of key-value pairs),
``#unserializable``, or a variant ``{"tag": name, "value": v}`` as Quint writes
it. ``validate_itf`` checks exactly that, and the tests run it on every
counterexample the bundled models produce.
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
    parts = [_value_to_itf(instance, s, (k,)) for s, k in zip(sorts, key, strict=True)]
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
    for index, (state, step) in enumerate(zip(trace.states(), (None,) + trace.steps, strict=True)):
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


_MAX_SAFE = 2**53 - 1


def _validate_value(value: Any, where: str, problems: list[str]) -> None:
    if isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE:
            problems.append(f"{where}: integer {value} is outside +-(2^53 - 1); "
                            "ITF requires {\"#bigint\": \"...\"} for it")
        return
    if isinstance(value, float):
        problems.append(f"{where}: {value} is not an integer")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _validate_value(item, f"{where}[{i}]", problems)
        return
    if not isinstance(value, dict):
        problems.append(f"{where}: {type(value).__name__} is not an ITF value")
        return
    special = [k for k in value if k.startswith("#")]
    if special:
        if len(value) != 1:
            problems.append(f"{where}: an object with {special[0]} must have no other field")
            return
        tag = special[0]
        inner = value[tag]
        if tag == "#bigint":
            if not (isinstance(inner, str) and inner.lstrip("-").isdigit()):
                problems.append(f"{where}: #bigint must be a string of digits")
        elif tag in ("#tup", "#set"):
            if not isinstance(inner, list):
                problems.append(f"{where}: {tag} must be a list")
                return
            for i, item in enumerate(inner):
                _validate_value(item, f"{where}.{tag}[{i}]", problems)
        elif tag == "#map":
            if not isinstance(inner, list):
                problems.append(f"{where}: #map must be a list of [key, value] pairs")
                return
            for i, pair in enumerate(inner):
                if not (isinstance(pair, list) and len(pair) == 2):
                    problems.append(f"{where}.#map[{i}]: not a [key, value] pair")
                    continue
                _validate_value(pair[0], f"{where}.#map[{i}][0]", problems)
                _validate_value(pair[1], f"{where}.#map[{i}][1]", problems)
        elif tag == "#unserializable":
            if not isinstance(inner, str):
                problems.append(f"{where}: #unserializable must be a string")
        else:
            problems.append(f"{where}: unknown ITF tag {tag}")
        return
    if set(value) == {"tag", "value"} and isinstance(value["tag"], str):
        _validate_value(value["value"], f"{where}.value", problems)  # a variant
        return
    for name, item in value.items():
        _validate_value(item, f"{where}.{name}", problems)


def validate_itf(data: Any) -> list[str]:
    """Every way ``data`` departs from ADR-015 (an empty list: a valid ITF trace)."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return ["the trace is not a JSON object"]
    allowed = {"#meta", "params", "vars", "states", "loop"}
    for key in data:
        if key not in allowed:
            problems.append(f"unknown top-level field '{key}'")
    if "#meta" in data and not isinstance(data["#meta"], dict):
        problems.append("#meta must be an object")
    for key in ("vars", "params"):
        if key in data and not (isinstance(data[key], list)
                                and all(isinstance(v, str) for v in data[key])):
            problems.append(f"{key} must be a list of names")
    if "vars" not in data:
        problems.append("the trace has no 'vars'")
    loop = data.get("loop")
    if "loop" in data and not (isinstance(loop, int) and not isinstance(loop, bool)):
        problems.append("loop must be an integer")
    states = data.get("states")
    if not isinstance(states, list):
        problems.append("the trace has no list of 'states'")
        return problems
    names = list(data.get("vars") or []) + list(data.get("params") or [])
    for i, state in enumerate(states):
        if not isinstance(state, dict):
            problems.append(f"states[{i}] is not an object")
            continue
        if "#meta" in state and not isinstance(state["#meta"], dict):
            problems.append(f"states[{i}].#meta must be an object")
        for name in names:
            if name not in state:
                problems.append(f"states[{i}] has no value for '{name}'")
        for name, value in state.items():
            if name == "#meta":
                continue
            if name.startswith("#"):
                problems.append(f"states[{i}]: unknown field '{name}'")
            elif name not in names:
                problems.append(f"states[{i}]: '{name}' is not in vars")
            else:
                _validate_value(value, f"states[{i}].{name}", problems)
    if isinstance(data.get("loop"), int) and not 0 <= data["loop"] < max(len(states), 1):
        problems.append("loop is not the index of a state")
    return problems


def read_itf(path: str) -> dict[str, Any]:
    """The JSON of an ITF file, or a SpecError naming what is wrong with it."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as err:
        raise SpecError(f"cannot read {path}: {err.strerror}", None) from None
    except json.JSONDecodeError as err:
        raise SpecError(f"{path} is not JSON: {err.msg} at line {err.lineno}", None) from None
    problems = validate_itf(data)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SpecError(f"{path} is not an ITF trace: {problems[0]}{more}", None)
    return data


def write_itf(instance: Instance, trace: Trace, path: str, violated: str | None = None) -> None:
    Path(path).write_text(json.dumps(trace_to_itf(instance, trace, violated), indent=1) + "\n")
