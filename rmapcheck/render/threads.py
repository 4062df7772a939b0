"""What a trace says of threads: which thread ran a step, and which locks it
holds. Shared by the text, JSON and HTML renderers."""

from __future__ import annotations

from typing import Any

from rmapcheck import ir
from rmapcheck.instance import Instance
from rmapcheck.render.explain import format_value
from rmapcheck.trace import State


def step_thread(instance: Instance, action: str,
                args: tuple[tuple[str, Any], ...]) -> tuple[str, tuple[Any, ...]] | None:
    """The thread that ran a step of ``action`` (its name and its keys, as
    encoded values), or None for an action outside threads."""
    step = instance.model.action(action).thread
    if step is None:
        return None
    values = dict(args)
    return step.thread, tuple(values[name] for name in step.keys)


def thread_label(instance: Instance, thread: str, keys: tuple[Any, ...]) -> str:
    params = instance.model.thread(thread).params
    shown = ", ".join(format_value(instance, p.sort, k) for p, k in zip(params, keys,
                                                                         strict=True))
    return f"{thread}({shown})"


def locks_held(instance: Instance, state: State, thread: str,
               keys: tuple[Any, ...]) -> list[tuple[str, str]]:
    """The locks the thread holds in ``state``: (lock, how), in declaration
    order; how is ``reader`` or ``writer`` for an rwsem, ``held`` otherwise."""
    out: list[tuple[str, str]] = []
    for lock in instance.model.locks:
        var = lock.holder_var(thread)
        for name, key, value in instance.iter_entries(state):
            if name != var or tuple(key[len(lock.keys):]) != tuple(keys):
                continue
            how = instance.format_scalar(instance.model.state_var(var).value, value)
            if how == "unheld":
                continue
            lkeys = key[:len(lock.keys)]
            shown = ", ".join(format_value(instance, s, k) for s, k in zip(lock.keys, lkeys,
                                                                         strict=True))
            out.append((f"{lock.name}[{shown}]" if lkeys else lock.name,
                        how if lock.kind == "rwsem" else "held"))
    return out


def describe_locks(held: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name} as {how}" if how != "held" else name for name, how in held)


def is_thread_bookkeeping(model: ir.Model, var: str) -> bool:
    """A program counter or a lock's holders: what the step line and its
    ``holds`` line already say."""
    return any(t.pc == var for t in model.threads) or \
        any(var == v for lock in model.locks for _, v in lock.holders)
