"""Traces in ITF, the Informal Trace Format of Apalache and Quint.

A trace is ``{"#meta": ..., "vars": [...], "states": [...]}``; each state maps
every state variable to a value: integers as JSON numbers, Booleans, enum
members as strings, records as objects, maps as ``{"#map": [[key, value]]}``
(a key of several sorts as ``{"#tup": [...]}``), sets as ``{"#set": [...]}``
and optional values as Quint's ``Option`` variant (``{"tag": "Some", "value":
v}`` or ``{"tag": "None", "value": {"#tup": []}}``). Each state's ``#meta``
names the action that led to it and its arguments, so ``rmapcheck replay``
can re-run the trace step by step; the trace's ``#meta`` records the model,
its constants and the sort of every variable, so a replay on another design
knows which variables the two share.

Traces of Quint and Apalache have no action in their states; Quint's
model-based-testing traces name it in two variables of their own,
``mbt::actionTaken`` and ``mbt::nondetPicks`` (the action's nondeterministic
choices, as options), and ``itf_actions`` reads those too.

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

import difflib
import json
from pathlib import Path
from typing import Any

from attrs import frozen

from rmapcheck import __name__ as _pkg
from rmapcheck import ir
from rmapcheck.errors import SpecError
from rmapcheck.instance import Instance
from rmapcheck.render.threads import locks_held, step_thread, thread_label
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
            if isinstance(value, dict) and "tag" in value:
                value = value["tag"]  # Quint writes an enum member as a variant
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


def _unbig(value: Any) -> Any:
    """An ITF value with every ``#bigint`` an integer: Quint writes each
    integer so, rmapcheck only those outside a JSON number's exact range."""
    if isinstance(value, dict):
        if set(value) == {"#bigint"}:
            return int(value["#bigint"])
        return {k: _unbig(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unbig(v) for v in value]
    return value


def _var_from_itf(instance: Instance, name: str, value: Any) -> list[Any]:
    rng = instance.layout[name]
    sort = rng.var.value
    if not rng.var.keys:
        return _value_from_itf(instance, sort, value)
    entries = {json.dumps(_unbig(k), sort_keys=True): v for k, v in value["#map"]}
    if len(entries) != len(rng.keys):
        # A map over sorts of other bounds: its values would read, its keys not.
        raise SpecError(f"the ITF state's '{name}' has {len(entries)} entries, where the "
                        f"model's has {len(rng.keys)}", None)
    slots: list[Any] = []
    for key in rng.keys:
        itf_key = json.dumps(_key_to_itf(instance, rng.var.keys, key), sort_keys=True)
        if itf_key not in entries:
            raise SpecError(f"the ITF state has no entry {itf_key} in '{name}'", None)
        slots.extend(_value_from_itf(instance, sort, entries[itf_key]))
    return slots


def state_from_itf(instance: Instance, data: dict[str, Any]) -> State:
    slots: list[Any] = []
    for name in instance.layout:
        if name not in data:
            raise SpecError(f"the ITF state has no variable '{name}'", None)
        slots.extend(_var_from_itf(instance, name, data[name]))
    return tuple(slots)


def _fits(instance: Instance, sort: ir.Sort, slots: list[Any]) -> bool:
    """Whether decoded slots hold a value of ``sort`` at the instance's bounds."""
    match sort:
        case ir.RecordSort(fields=fields):
            pos = 0
            for _, fsort in fields:
                width = instance.width(fsort)
                if not _fits(instance, fsort, slots[pos:pos + width]):
                    return False
                pos += width
            return pos == len(slots)
        case ir.OptionSort(inner=ir.RecordSort() as rec):
            return isinstance(slots[0], bool) and _fits(instance, rec, slots[1:])
        case _:
            return len(slots) == 1 and instance.contains(sort, slots[0])


def sort_signature(sort: ir.Sort) -> str:
    """A sort down to its fields and members: two designs' variables of one
    signature hold the same values (at the same constants)."""
    match sort:
        case ir.RecordSort(name=name, fields=fields):
            return name + "{" + ", ".join(f"{f}: {sort_signature(s)}" for f, s in fields) + "}"
        case ir.OptionSort(inner=inner):
            return f"{sort_signature(inner)}?"
        case ir.SetSort(elem=elem):
            return f"set {sort_signature(elem)}"
        case ir.EnumSort(name=name, members=members):
            return name + "{" + ", ".join(members) + "}"
        case _:
            return str(sort)


def var_signature(var: ir.StateVar) -> str:
    value = sort_signature(var.value)
    return f"{', '.join(map(sort_signature, var.keys))} -> {value}" if var.keys else value


def shared_vars(instance: Instance, data: dict[str, Any]) -> tuple[str, ...]:
    """The instance's state variables that the trace has with the same shape:
    the same signature (when the trace records its sorts) and, in every
    state, a value that reads as one of the variable's sort at these bounds.
    The others are the design's own, not to be compared."""
    recorded = (data.get("#meta") or {}).get("sorts") or {}
    states = data.get("states") or []
    out = []
    for var in instance.model.state:
        if var.name in recorded and recorded[var.name] != var_signature(var):
            continue
        rng = instance.layout[var.name]
        try:
            for state in states:
                slots = _var_from_itf(instance, var.name, state[var.name])
                if not all(_fits(instance, var.value, slots[i:i + rng.width])
                           for i in range(0, len(slots), rng.width)):
                    break
            else:
                out.append(var.name)
        except (SpecError, KeyError, IndexError, TypeError, ValueError, AttributeError):
            continue  # not readable as this variable: the trace's own
    return tuple(out)


def with_trace_vars(instance: Instance, state: State, itf_state: dict[str, Any],
                    names: tuple[str, ...]) -> State:
    """``state`` with the variables ``names`` as the ITF state has them (the
    variables of ``shared_vars``), for comparing the two on those alone."""
    slots = list(state)
    for name in names:
        rng = instance.layout[name]
        slots[rng.offset:rng.end] = _var_from_itf(instance, name, itf_state[name])
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
            thread = step_thread(instance, step.action, step.args)
            if thread is not None:
                # Which thread took the step, and the locks it holds after it.
                meta["thread"] = thread_label(instance, *thread)
                meta["holds"] = [f"{name} as {how}" if how != "held" else name
                                 for name, how in locks_held(instance, state, *thread)]
        entry["#meta"] = meta
        states.append(entry)
    meta = {"format": "ITF", "source": model.span.file, "model": model.name,
            "consts": dict(instance.consts), "generator": _pkg,
            "description": f"counterexample to {violated}" if violated else "a trace",
            "sorts": {v.name: var_signature(v) for v in model.state}}
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


# ------------------------------------------------------------ any trace's actions

# Quint's model-based-testing mode (quint run --mbt) names the action taken
# and its nondeterministic choices in two variables; older releases in snake case.
_MBT_ACTION = ("mbt::actionTaken", "action_taken")
_MBT_PICKS = ("mbt::nondetPicks", "nondet_picks")


@frozen
class ItfAction:
    """What one step of an ITF trace says it did: the action and its
    arguments, as ITF values, by name."""

    action: str
    args: tuple[tuple[str, Any], ...]


def _mbt_var(state: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((state[n] for n in names if n in state), None)


def is_mbt(data: dict[str, Any]) -> bool:
    """Whether the trace is one of Quint's model-based-testing traces."""
    states = data.get("states") or [{}]
    return all(_mbt_var(state, _MBT_ACTION) is not None for state in states)


def own_vars(data: dict[str, Any]) -> list[str]:
    """The trace's variables, without Quint's MBT bookkeeping."""
    return [v for v in data.get("vars") or [] if v not in _MBT_ACTION + _MBT_PICKS]


def itf_actions(data: dict[str, Any], path: str) -> tuple[ItfAction, ...]:
    """The action of every step after the initial state, from the states'
    ``#meta`` (rmapcheck's traces) or Quint's MBT variables; a SpecError in
    one sentence for a trace that names no actions."""
    states = data["states"][1:]
    if is_mbt(data):
        out = []
        for state in states:
            picks = _mbt_var(state, _MBT_PICKS) or {}
            args = []
            for name, pick in (picks.items() if isinstance(picks, dict) else ()):
                if not (isinstance(pick, dict) and set(pick) == {"tag", "value"}):
                    args.append((name, pick))
                elif pick["tag"] == "Some":  # None: a choice of another action
                    args.append((name, pick["value"]))
            out.append(ItfAction(str(_mbt_var(state, _MBT_ACTION)), tuple(args)))
        return tuple(out)
    if any("action" not in (state.get("#meta") or {}) for state in states):
        source = (data.get("#meta") or {}).get("source")
        origin = f" (of {source})" if source else ""
        raise SpecError(f"{path} is an ITF trace from Quint or Apalache{origin}, and its "
                        "states have no 'action': rmapcheck replays the traces it writes "
                        "(--itf of verify and simulate) and Quint's model-based-testing "
                        "traces (quint run --mbt), whose states name the action taken", None)
    return tuple(ItfAction(str(state["#meta"]["action"]),
                           tuple((state["#meta"].get("args") or {}).items()))
                 for state in states)


@frozen
class Unmatched:
    """A step of another design's trace that names no action instance of the
    spec, and why, in one sentence."""

    reason: str


def _did_you_mean(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    return "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?" if close else ""


def match_action(instance: Instance, step: ItfAction,
                 ) -> tuple[str, tuple[tuple[str, Any], ...]] | Unmatched:
    """The action instance of the spec that ``step`` names, by action name and
    parameter names, with the arguments encoded; or why there is none."""
    model = instance.model
    try:
        action = model.action(step.action)
    except KeyError:
        names = [a.name for a in model.actions]
        return Unmatched(f"{model.name} has no action {step.action}"
                         + _did_you_mean(step.action, names))
    given = dict(step.args)
    params = [p.name for p in action.params]
    if set(given) != set(params):
        missing = [p for p in params if p not in given]
        extra = [n for n in given if n not in params]
        hint = "".join(_did_you_mean(n, missing) for n in extra[:1])
        return Unmatched(f"{model.name}'s action {action.name} takes "
                         f"({', '.join(params)}), and the trace gives it "
                         f"({', '.join(given) or 'nothing'})" + hint)
    args = []
    for p in action.params:
        try:
            value = _value_from_itf(instance, p.sort, _unbig(given[p.name]))[0]
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            value = None
        if value is None or not instance.contains(p.sort, value):
            return Unmatched(f"the trace's {p.name} = {json.dumps(given[p.name])} is not a "
                             f"value of {action.name}'s parameter {p.name}: {p.sort}"
                             f"{_values_of(instance, p.sort)}")
        args.append((p.name, value))
    return action.name, tuple(args)


def _values_of(instance: Instance, sort: ir.Sort) -> str:
    match sort:
        case ir.RangeSort():
            lo, hi = instance.range_bounds(sort)
            return f" ({lo} .. {hi} at {instance.model.name}'s bounds)"
        case ir.EnumSort(members=members):
            return f" ({', '.join(members)})"
        case _:
            return ""


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
    if Path(path).is_dir():
        raise SpecError(f"{path} is a directory, not an ITF trace", None)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise SpecError(f"cannot read {path}: {err.strerror}", None) from None
    except UnicodeDecodeError as err:
        raise SpecError(f"{path} is not UTF-8 text: byte {err.object[err.start]:#04x} cannot "
                        "be decoded (an ITF trace is JSON, read as UTF-8)", None) from None
    except json.JSONDecodeError as err:
        raise SpecError(f"{path} is not JSON: {err.msg} at line {err.lineno}", None) from None
    problems = validate_itf(data)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SpecError(f"{path} is not an ITF trace: {problems[0]}{more}", None)
    return data


def write_itf(instance: Instance, trace: Trace, path: str, violated: str | None = None) -> None:
    Path(path).write_text(json.dumps(trace_to_itf(instance, trace, violated), indent=1) + "\n")
