"""The typed intermediate representation every back end reads.

The front end (``rmapcheck.frontend``) checks a spec and lowers it to one
``Model``: sorts, constants, state variables, an initialisation block,
actions and properties. Helper functions and procedures have been inlined, so
the back ends see only the constructs below; ``Model.functions`` keeps the pure
functions by name so that renderers can explain what a walk did.

Sorts keep their bounds symbolic (a ``RangeSort`` bound is an expression over
constants), and quantifiers stay quantifiers: a finite back end fixes the
constants through ``rmapcheck.instance.Instance`` and only then enumerates. A
parametric back end may leave the sorts uninterpreted.

Every node is a frozen attrs class and carries the ``Span`` of the spec text
it came from, so every engine can point back at the source.
"""

from __future__ import annotations

from typing import Literal

import attrs
from attrs import frozen


@frozen
class Span:
    file: str
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NOWHERE = Span("<builtin>", 0, 0)


# ---------------------------------------------------------------- sorts


@frozen
class BoolSort:
    def __str__(self) -> str:
        return "Bool"


@frozen
class IntSort:
    """Unbounded integers: the sort of arithmetic results and constants."""

    def __str__(self) -> str:
        return "Int"


@frozen
class RangeSort:
    """Integers lo..hi inclusive. A symmetric range is a set of interchangeable
    ids (processes, frames): its values only compare for equality and index
    maps, so every permutation of them is an automorphism of the model."""

    name: str
    lo: Expr
    hi: Expr
    symmetric: bool = False
    span: Span = attrs.field(default=NOWHERE, eq=False)

    def __str__(self) -> str:
        return self.name


@frozen
class EnumSort:
    name: str
    members: tuple[str, ...]
    span: Span = attrs.field(default=NOWHERE, eq=False)

    def __str__(self) -> str:
        return self.name


@frozen
class OptionSort:
    """``inner?``: a value of ``inner`` or ``none``."""

    inner: Sort

    def __str__(self) -> str:
        return f"{self.inner}?"


@frozen
class RecordSort:
    name: str
    fields: tuple[tuple[str, Sort], ...]
    span: Span = attrs.field(default=NOWHERE, eq=False)

    def field_sort(self, name: str) -> Sort:
        for field_name, sort in self.fields:
            if field_name == name:
                return sort
        raise KeyError(name)

    def __str__(self) -> str:
        return self.name


@frozen
class SetSort:
    """A finite set of elements of a finite sort."""

    elem: Sort

    def __str__(self) -> str:
        return f"set {self.elem}"


Sort = BoolSort | IntSort | RangeSort | EnumSort | OptionSort | RecordSort | SetSort

BOOL = BoolSort()
INT = IntSort()


def is_finite_scalar(sort: Sort) -> bool:
    """Sorts that may index maps, be quantified over and be set elements."""
    return isinstance(sort, (BoolSort, RangeSort, EnumSort))


# ---------------------------------------------------------------- expressions

UnaryOp = Literal["not", "neg"]
BinaryOp = Literal[
    "and", "or", "implies", "iff",
    "eq", "ne", "lt", "le", "gt", "ge",
    "add", "sub", "mul", "div", "mod",
    "union", "inter", "diff", "in",
]
QuantKind = Literal["forall", "exists", "count", "choose"]


@frozen
class BoolLit:
    value: bool
    span: Span = attrs.field(default=NOWHERE, eq=False)
    sort: Sort = BOOL


@frozen
class IntLit:
    value: int
    sort: Sort = INT
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class EnumLit:
    sort: EnumSort
    member: str
    span: Span = attrs.field(default=NOWHERE, eq=False)

    @property
    def index(self) -> int:
        return self.sort.members.index(self.member)


@frozen
class NoneLit:
    sort: OptionSort
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class ConstRef:
    """A model constant (``const PROCS = 2``); its value is fixed per instance."""

    name: str
    span: Span = attrs.field(default=NOWHERE, eq=False)
    sort: Sort = INT


@frozen
class Local:
    """An action parameter, a ``let`` binding or a quantified variable. The
    front end gives every binder a name unique within its action or property."""

    name: str
    sort: Sort
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class StateRead:
    """The value of state variable ``var`` at ``keys`` (empty for a scalar)."""

    var: str
    keys: tuple[Expr, ...]
    sort: Sort
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class Field:
    """``base.name``; ``base`` is a record, or an optional record, in which case
    reading a field of ``none`` is a run-time error of the spec."""

    base: Expr
    name: str
    sort: Sort
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class Unary:
    op: UnaryOp
    arg: Expr
    sort: Sort
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class Binary:
    op: BinaryOp
    lhs: Expr
    rhs: Expr
    sort: Sort
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class Ite:
    cond: Expr
    then: Expr
    else_: Expr
    sort: Sort
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class Quant:
    """``forall``/``exists`` (Bool), ``count`` (Int) over the product of the
    variables' sorts, and ``choose`` (one variable; the least value that
    satisfies the body, or ``none``: sort ``Option(var sort)``)."""

    kind: QuantKind
    vars: tuple[Local, ...]
    body: Expr
    sort: Sort
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class RecordLit:
    """Every field present: the front end fills omitted fields with defaults."""

    sort: RecordSort
    fields: tuple[tuple[str, Expr], ...]
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class SetLit:
    sort: SetSort
    elems: tuple[Expr, ...]
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class HookValue:
    """The value of a call of a ``hook def``: the hook's body, expanded at the
    call like any def's, kept apart so that coverage can count how often the
    hook runs. It means ``value``; every pass but the lowering sees through it."""

    hook: str
    value: Expr
    sort: Sort
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class Wrap:
    """A value of ``inner`` used where ``inner?`` is expected."""

    arg: Expr
    sort: OptionSort
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class Unwrap:
    """A value of ``inner?`` used where ``inner`` is expected: a run-time error
    of the spec when it is ``none``."""

    arg: Expr
    sort: Sort
    span: Span = attrs.field(default=NOWHERE, eq=False)


Expr = (
    BoolLit | IntLit | EnumLit | NoneLit | ConstRef | Local | StateRead | Field
    | Unary | Binary | Ite | Quant | RecordLit | SetLit | Wrap | Unwrap | HookValue
)


# ---------------------------------------------------------------- statements


@frozen
class LValue:
    """``var[keys].path``: a state location, possibly a field inside a record
    (path of field names, outermost first)."""

    var: str
    keys: tuple[Expr, ...]
    path: tuple[str, ...]
    sort: Sort
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class Assign:
    target: LValue
    value: Expr
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class If:
    cond: Expr
    then: tuple[Stmt, ...]
    else_: tuple[Stmt, ...]
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class For:
    """Runs ``body`` for each value of ``var.sort`` in increasing order."""

    var: Local
    body: tuple[Stmt, ...]
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class Let:
    """Binds ``var`` (immutable) for the statements after it in its block."""

    var: Local
    value: Expr
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class Require:
    """A guard: the action is not enabled when ``cond`` is false at this point
    of the body (evaluated on the state as updated by the statements before)."""

    cond: Expr
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class Assert:
    """A property of the transition: when ``cond`` is false at this point, the
    step violates the property ``name``."""

    name: str
    cond: Expr
    doc: str
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class HookEntry:
    """The start (``end``: the normal end) of an expanded call of a ``hook
    proc``, after its arguments are bound: nothing happens here; coverage
    counts how often a hook runs, and how often it runs to its end (a hook
    that starts and never ends disables every step that calls it)."""

    hook: str
    span: Span = attrs.field(default=NOWHERE, eq=False)
    end: bool = False


@frozen
class Stop:
    """The step ends here, with the state as the statements before left it:
    the end of a failpoint's error path (the checker turns ``failpoint NAME
    { ... }`` into ``if fail == NAME { ...; stop }``)."""

    span: Span = attrs.field(default=NOWHERE, eq=False)


Stmt = Assign | If | For | Let | Require | Assert | HookEntry | Stop


# ---------------------------------------------------------------- declarations


@frozen
class Const:
    name: str
    default: int
    lo: int
    hi: int
    doc: str = ""
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class StateVar:
    """A scalar (no keys) or a total map from the product of ``keys``."""

    name: str
    keys: tuple[Sort, ...]
    value: Sort
    doc: str = ""
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class ThreadStep:
    """Which thread runs an action, and which step of which operation it is:
    the checker turns a threaded action into one action per step.
    ``keys`` are the names of the action's parameters that say which thread
    (the thread's own parameters, in order); ``step`` is None for the call,
    the operation's first step, whose action takes all its parameters."""

    thread: str
    keys: tuple[str, ...]
    operation: str
    step: str | None = None


@frozen
class Action:
    """``failure``: the parameter the checker adds, last, to an action with
    failpoints: an enum of ``nothing`` and one member per failpoint, saying
    where the step fails (``nothing``: it does not). ``thread``: the thread
    and step, for an action that is one step of a threaded operation."""

    name: str
    params: tuple[Local, ...]
    body: tuple[Stmt, ...]
    doc: str = ""
    span: Span = attrs.field(default=NOWHERE, eq=False)
    failure: Local | None = None
    thread: ThreadStep | None = None


LockKind = Literal["mutex", "rwsem", "spinlock"]


@frozen
class Lock:
    """A ``lock`` declaration: one lock per key. Who holds it lives in one
    state variable per thread kind, ``holders[thread]``: a map from the lock's
    keys and the thread's keys to a ``LockHold`` (unheld, reader, writer; a
    mutex or spinlock is held as writer)."""

    name: str
    keys: tuple[Sort, ...]
    kind: LockKind
    holders: tuple[tuple[str, str], ...]  # (thread, state variable)
    doc: str = ""
    span: Span = attrs.field(default=NOWHERE, eq=False)

    def holder_var(self, thread: str) -> str:
        return dict(self.holders)[thread]


@frozen
class LockWait:
    """A step that begins by acquiring a lock, seen from the thread: while
    ``when`` holds, the thread waits there for ``lock[keys]`` (``when`` and
    ``keys`` are over the thread's parameters, ``Thread.params``)."""

    step: str
    when: Expr
    lock: str
    keys: tuple[Expr, ...]
    exclusive: bool
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class Thread:
    """A ``thread`` declaration: one thread of control per value of
    ``params``. ``pc``: the state variable of its program counter (an enum
    of ``idle`` and ``operation.step``), None when every operation it runs
    is one step. ``waits``: the steps where it can wait for a lock."""

    name: str
    params: tuple[Local, ...]
    pc: str | None
    waits: tuple[LockWait, ...] = ()
    doc: str = ""
    span: Span = attrs.field(default=NOWHERE, eq=False)


DEADLOCK_PROPERTY = "deadlock_free"


PropertyKind = Literal["invariant", "lemma", "sometimes"]


@frozen
class Property:
    """``invariant``: must hold in every reachable state. ``lemma``: an
    auxiliary invariant for proofs, checked like an invariant. ``sometimes``:
    must hold in at least one reachable state (a witness that the model is not
    vacuous)."""

    name: str
    kind: PropertyKind
    expr: Expr
    doc: str = ""
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class Function:
    name: str
    params: tuple[Local, ...]
    body: Expr
    sort: Sort
    doc: str = ""
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class Hook:
    """A ``hook def`` or ``hook proc`` of a library and what the model made of
    it: ``span`` is the definition in effect (the model's, or the library's
    default body), ``declared`` the hook's declaration; ``by_design`` says the
    definition is in a ``model`` file, not a library."""

    name: str
    kind: Literal["def", "proc"]
    by_design: bool
    span: Span = attrs.field(default=NOWHERE, eq=False)
    declared: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class ObserveAction:
    """An ``observe action``: the kernel operation ``op`` (one of
    ``frontend.observables.KERNEL_OPS``) that ``rmapcheck conform`` runs for a
    step of ``action``, with ``args`` evaluated in the state before the step
    over ``params``, the action's parameters in order under the names the
    declaration gives them."""

    action: str
    params: tuple[Local, ...]
    op: str
    args: tuple[Expr, ...]
    doc: str = ""
    span: Span = attrs.field(default=NOWHERE, eq=False)


@frozen
class Model:
    name: str
    doc: str
    consts: tuple[Const, ...]
    sorts: tuple[Sort, ...]
    state: tuple[StateVar, ...]
    init: tuple[Stmt, ...]
    actions: tuple[Action, ...]
    properties: tuple[Property, ...]
    functions: tuple[Function, ...] = ()
    span: Span = attrs.field(default=NOWHERE, eq=False)
    # The hooks of the libraries, and the files of the modules declared
    # ``model`` (not ``library``): what coverage reports as the design's own.
    hooks: tuple[Hook, ...] = ()
    design_files: tuple[str, ...] = ()
    # How the state shows on a live kernel: the names of the ``observe def``s
    # (each in ``functions``, in the order of the observables table), and the
    # ``observe action``s.
    observed: tuple[str, ...] = ()
    observe_actions: tuple[ObserveAction, ...] = ()
    # Threads of control and locks (races): threaded actions are already
    # split into one action per step; the property DEADLOCK_PROPERTY, when
    # there are locks, is completed by ``Instance`` at fixed bounds (a cycle of
    # waiting threads is as long as the number of threads).
    threads: tuple[Thread, ...] = ()
    locks: tuple[Lock, ...] = ()

    def action(self, name: str) -> Action:
        for action in self.actions:
            if action.name == name:
                return action
        raise KeyError(name)

    def prop(self, name: str) -> Property:
        for prop in self.properties:
            if prop.name == name:
                return prop
        raise KeyError(name)

    def state_var(self, name: str) -> StateVar:
        for var in self.state:
            if var.name == name:
                return var
        raise KeyError(name)

    def thread(self, name: str) -> Thread:
        for thread in self.threads:
            if thread.name == name:
                return thread
        raise KeyError(name)

    def function(self, name: str) -> Function:
        for fn in self.functions:
            if fn.name == name:
                return fn
        raise KeyError(name)

    @property
    def invariants(self) -> tuple[Property, ...]:
        return tuple(p for p in self.properties if p.kind in ("invariant", "lemma"))

    @property
    def witnesses(self) -> tuple[Property, ...]:
        return tuple(p for p in self.properties if p.kind == "sometimes")

    def assertions(self) -> tuple[Assert, ...]:
        found: list[Assert] = []

        def visit(stmts: tuple[Stmt, ...]) -> None:
            for stmt in stmts:
                if isinstance(stmt, Assert):
                    found.append(stmt)
                elif isinstance(stmt, If):
                    visit(stmt.then)
                    visit(stmt.else_)
                elif isinstance(stmt, For):
                    visit(stmt.body)

        for action in self.actions:
            visit(action.body)
        return tuple(found)


def with_sort(expr: Expr, sort: Sort) -> Expr:
    # evolve over a union of attrs classes: mypy cannot see that each has a sort
    return attrs.evolve(expr, sort=sort)  # type: ignore[arg-type]
