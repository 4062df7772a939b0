"""The data the HTML explorer's expression box evaluates over (``expr_eval.js``).

The page cannot run Python, so an expression typed into it is parsed and
evaluated in the page. It gets, as one JSON document:

- ``consts``: the instance's constants;
- ``sorts``: every sort by name (``Bool``, ``Int`` and the model's): a finite
  sort's values in order, a symmetric range's prefix (``p`` for ``p0``), a
  record's fields with their sorts and its default value;
- ``vars``: each state variable's key sorts and value sort;
- ``states``: each state of the trace, decoded: a scalar's value, a map's
  values by the JSON text of the key list (``[0,1]``);
- ``defs``: each def's parameters, result sort and body, converted from the
  checked IR into the JSON AST the page's parser also produces;
- ``props``: each property's body, so that its name stands for it (as in
  ``rmapcheck eval``).

A sort is written ``"Name"``, ``{"opt": sort}`` or ``{"set": sort}``. Values
are as ``Instance.decode_value`` gives them: ``null`` for none, member names
for enums, objects for records, sorted lists for sets.
"""

from __future__ import annotations

import json
from typing import Any, assert_never

from rmapcheck import ir
from rmapcheck.instance import Instance
from rmapcheck.render.explain import _prefix
from rmapcheck.trace import State

JsonSort = str | dict[str, Any]


def sort_ref(sort: ir.Sort) -> JsonSort:
    match sort:
        case ir.BoolSort():
            return "Bool"
        case ir.IntSort():
            return "Int"
        case ir.RangeSort(name=name) | ir.EnumSort(name=name) | ir.RecordSort(name=name):
            return name
        case ir.OptionSort(inner=inner):
            return {"opt": sort_ref(inner)}
        case ir.SetSort(elem=elem):
            return {"set": sort_ref(elem)}
        case _:
            assert_never(sort)


def plain(sort: ir.Sort, value: Any) -> Any:
    """A decoded value as JSON: Bools as Booleans, sets as sorted lists."""
    if value is None:
        return None
    match sort:
        case ir.BoolSort():
            return bool(value)
        case ir.OptionSort(inner=inner):
            return plain(inner, value)
        case ir.SetSort(elem=elem):
            return [plain(elem, v) for v in sorted(value)]
        case ir.RecordSort(fields=fields):
            return {n: plain(s, value[n]) for n, s in fields}
        case _:
            return value


def _sort_entry(instance: Instance, sort: ir.Sort) -> dict[str, Any]:
    match sort:
        case ir.RangeSort(symmetric=symmetric):
            entry: dict[str, Any] = {"k": "range", "values": list(instance.values(sort))}
            if symmetric:
                entry["prefix"] = _prefix(sort)
            return entry
        case ir.EnumSort(members=members):
            return {"k": "enum", "values": list(members)}
        case ir.RecordSort(fields=fields):
            default = instance.decode_value(sort, instance.default(sort))
            return {"k": "rec", "fields": [[n, sort_ref(s)] for n, s in fields],
                    "default": plain(sort, default)}
        case _:
            raise AssertionError(f"no named sort {sort}")


def expr_json(expr: ir.Expr) -> dict[str, Any]:
    """An IR expression as the page's JSON AST (see ``expr_eval.js``)."""
    match expr:
        case ir.BoolLit(value=value):
            return {"t": "lit", "v": value, "s": "Bool"}
        case ir.IntLit(value=value, sort=sort):
            return {"t": "lit", "v": value, "s": sort_ref(sort)}
        case ir.EnumLit(member=member, sort=sort):
            return {"t": "lit", "v": member, "s": sort.name}
        case ir.NoneLit(sort=sort):
            return {"t": "none", "s": sort_ref(sort)}
        case ir.ConstRef(name=name):
            return {"t": "const", "n": name}
        case ir.Local(name=name):
            return {"t": "local", "n": name}
        case ir.StateRead(var=var, keys=keys):
            return {"t": "state", "n": var, "k": [expr_json(k) for k in keys]}
        case ir.Field(base=base, name=name):
            return {"t": "field", "b": expr_json(base), "n": name}
        case ir.Unary(op=op, arg=arg):
            return {"t": op, "a": expr_json(arg)}
        case ir.Binary(op=op, lhs=lhs, rhs=rhs):
            return {"t": "bin", "op": op, "l": expr_json(lhs), "r": expr_json(rhs)}
        case ir.Ite(cond=cond, then=then, else_=else_):
            return {"t": "ite", "c": expr_json(cond), "a": expr_json(then),
                    "b": expr_json(else_)}
        case ir.Quant(kind=kind, vars=vars_, body=body):
            return {"t": "quant", "q": kind, "vars": [[v.name, sort_ref(v.sort)] for v in vars_],
                    "b": expr_json(body)}
        case ir.RecordLit(sort=sort, fields=fields):
            return {"t": "rec", "s": sort.name, "f": [[n, expr_json(e)] for n, e in fields]}
        case ir.SetLit(sort=sort, elems=elems):
            return {"t": "set", "s": sort_ref(sort), "e": [expr_json(e) for e in elems]}
        case ir.Wrap(arg=arg, sort=sort):
            return {"t": "wrap", "a": expr_json(arg), "s": sort_ref(sort)}
        case ir.Unwrap(arg=arg):
            return {"t": "unwrap", "a": expr_json(arg)}
        case ir.HookValue(value=value):
            return expr_json(value)
        case _:
            assert_never(expr)


def _key_text(key: list[Any]) -> str:
    return json.dumps(key, separators=(",", ":"))


def eval_data(instance: Instance, states: list[State]) -> dict[str, Any]:
    model = instance.model
    sorts: dict[str, Any] = {"Bool": {"k": "bool", "values": [False, True]}, "Int": {"k": "int"}}
    for sort in model.sorts:
        sorts[str(sort)] = _sort_entry(instance, sort)
    variables = {v.name: {"keys": [sort_ref(k) for k in v.keys], "sort": sort_ref(v.value)}
                 for v in model.state}
    decoded_states = []
    for state in states:
        decoded = instance.decode(state)
        out: dict[str, Any] = {}
        for var in model.state:
            value = decoded[var.name]
            if not var.keys:
                out[var.name] = plain(var.value, value)
                continue
            out[var.name] = {
                _key_text([instance.decode_value(s, (k,)) for s, k in zip(var.keys, key,
                                                                        strict=True)]):
                plain(var.value, v) for key, v in value.items()}
        decoded_states.append(out)
    defs = {f.name: {"params": [[p.name, sort_ref(p.sort)] for p in f.params],
                     "sort": sort_ref(f.sort), "body": expr_json(f.body)}
            for f in model.functions}
    props = {p.name: expr_json(p.expr) for p in model.properties}
    return {"consts": dict(instance.consts), "sorts": sorts, "vars": variables,
            "states": decoded_states, "defs": defs, "props": props}


def eval_script(instance: Instance, states: list[State]) -> str:
    """The data as a ``<script type="application/json">`` element."""
    text = json.dumps(eval_data(instance, states), separators=(",", ":"))
    # no "</script>" can end the element early
    text = text.replace("<", "\\u003c")
    return f'<script type="application/json" id="eval-data">{text}</script>'
