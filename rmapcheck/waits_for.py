"""The deadlock property of a model with threads and locks, at fixed bounds.

A thread waits at a step that begins with ``acquire`` while another thread
holds the lock in a way that keeps it out (``ir.LockWait``); the threads are
deadlocked when such waits form a cycle. With ``n`` threads in all, a cycle
exists exactly when some thread starts a chain of ``n`` waits (a chain that
long repeats a thread), so the property is a chain of ``n`` nested
quantifiers, which only an instance can write: ``Instance`` puts it in place
of the front end's placeholder. Its size grows as the threads' values to the
power of ``n`` (six threads of one kind take minutes to compile), so past
EXACT_THREADS threads it checks the cycles of up to SHORT_CYCLES threads and
says so in its doc.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import attrs

from rmapcheck import ir
from rmapcheck.ir_walk import fold_bool, substitute


def with_deadlock_property(model: ir.Model, thread_count: int) -> ir.Model:
    """``model`` with DEADLOCK_PROPERTY written for ``thread_count`` threads."""
    if not any(p.name == ir.DEADLOCK_PROPERTY for p in model.properties):
        return model
    names = itertools.count(1)
    hold_sort = next(s for s in model.sorts
                     if isinstance(s, ir.EnumSort) and s.name == "LockHold")
    span = next(p.span for p in model.properties if p.name == ir.DEADLOCK_PROPERTY)

    def waits_on(t: ir.Thread, tkeys: tuple[ir.Expr, ...], u: ir.Thread,
                 ukeys: tuple[ir.Expr, ...]) -> ir.Expr:
        values = {p.name: k for p, k in zip(t.params, tkeys, strict=True)}
        parts: list[ir.Expr] = []
        for wait in t.waits:
            lock = next(lk for lk in model.locks if lk.name == wait.lock)
            lkeys = tuple(substitute(k, values) for k in wait.keys)
            hold = ir.StateRead(lock.holder_var(u.name), (*lkeys, *ukeys), hold_sort, span)
            keeps_out = ir.Binary("ne", hold, ir.EnumLit(hold_sort, "unheld", span), ir.BOOL,
                                  span) if wait.exclusive else \
                ir.Binary("eq", hold, ir.EnumLit(hold_sort, "writer", span), ir.BOOL, span)
            parts.append(ir.Binary("and", substitute(wait.when, values), keeps_out, ir.BOOL,
                                   span))
        return fold_bool("or", parts, span)

    def some_thread(body: Callable[[ir.Thread, tuple[ir.Expr, ...]], ir.Expr]) -> ir.Expr:
        parts: list[ir.Expr] = []
        for thread in model.threads:
            binders = tuple(ir.Local(f"{p.name}#wait{next(names)}", p.sort, span)
                            for p in thread.params)
            inner = body(thread, binders)
            parts.append(ir.Quant("exists", binders, inner, ir.BOOL, span) if binders
                         else inner)
        return fold_bool("or", parts, span)

    def chain(length: int, t: ir.Thread, tkeys: tuple[ir.Expr, ...]) -> ir.Expr:
        if length == 0:
            return ir.BoolLit(True, span)
        return some_thread(lambda u, ukeys: ir.Binary(
            "and", waits_on(t, tkeys, u, ukeys), chain(length - 1, u, ukeys), ir.BOOL, span))

    def closes(length: int, start: ir.Thread, skeys: tuple[ir.Expr, ...], t: ir.Thread,
               tkeys: tuple[ir.Expr, ...]) -> ir.Expr:
        """A chain of ``length`` more waits from t that ends waiting on start."""
        if length == 1:
            return waits_on(t, tkeys, start, skeys)
        return some_thread(lambda u, ukeys: ir.Binary(
            "and", waits_on(t, tkeys, u, ukeys), closes(length - 1, start, skeys, u, ukeys),
            ir.BOOL, span))

    if thread_count <= EXACT_THREADS:
        cycle = some_thread(lambda t, tkeys: chain(thread_count, t, tkeys))
        doc = None
    else:
        # The exact chain grows as the threads' values to the power of their
        # number; past EXACT_THREADS the cycles of up to SHORT_CYCLES threads
        # are checked, and the property says so.
        def cycles_of(n: int) -> ir.Expr:
            return some_thread(lambda t, tkeys: closes(n, t, tkeys, t, tkeys))

        cycle = fold_bool("or", [cycles_of(n) for n in range(1, SHORT_CYCLES + 1)], span)
        doc = (f"no cycle of up to {SHORT_CYCLES} threads waits, each at the start of a step "
               f"for a lock that the next one holds (of {thread_count} threads: longer cycles "
               "are not checked at these bounds)")
    expr = ir.Unary("not", cycle, ir.BOOL, span)
    props = tuple(attrs.evolve(p, expr=expr, doc=doc or p.doc)
                  if p.name == ir.DEADLOCK_PROPERTY else p for p in model.properties)
    return attrs.evolve(model, properties=props)


# Up to this many threads the property is exact (a chain of as many waits);
# beyond, cycles of up to SHORT_CYCLES threads (kernel deadlocks are two or three).
EXACT_THREADS = 5
SHORT_CYCLES = 4
