"""The syntax tree of a .spec file: frozen attrs nodes, each with its source span.

The parser builds these from lark's tree; the checker (``check.py``) resolves
names and types and lowers them to ``rmapcheck.ir``.
"""

from __future__ import annotations

from attrs import frozen

from rmapcheck.ir import Span

# ---------------------------------------------------------------- sorts


@frozen
class SortRef:
    """``Name``, ``Name?`` or ``set Name``."""

    name: str
    span: Span
    optional: bool = False
    is_set: bool = False

    def __str__(self) -> str:
        if self.is_set:
            return f"set {self.name}"
        return self.name + ("?" if self.optional else "")


# ---------------------------------------------------------------- expressions


@frozen
class Name:
    id: str
    span: Span


@frozen
class IntLit:
    value: int
    span: Span


@frozen
class BoolLit:
    value: bool
    span: Span


@frozen
class NoneLit:
    span: Span


@frozen
class SetLit:
    elems: tuple[Expr, ...]
    span: Span


@frozen
class Index:
    base: Expr
    args: tuple[Expr, ...]
    span: Span


@frozen
class FieldAccess:
    base: Expr
    name: str
    span: Span


@frozen
class Call:
    func: str
    args: tuple[Expr, ...]
    span: Span
    func_span: Span


@frozen
class RecordLit:
    record: str
    fields: tuple[tuple[str, Expr, Span], ...]
    span: Span


@frozen
class RecordWith:
    base: Expr
    fields: tuple[tuple[str, Expr, Span], ...]
    span: Span


@frozen
class Unary:
    op: str  # "not" | "neg"
    arg: Expr
    span: Span


@frozen
class Binary:
    op: str  # source operator: "and", "->", "+", "|", ...
    lhs: Expr
    rhs: Expr
    span: Span


@frozen
class Chain:
    """``a < b <= c``: comparisons, chained as in Python."""

    operands: tuple[Expr, ...]
    ops: tuple[str, ...]
    span: Span


@frozen
class Ite:
    cond: Expr
    then: Expr
    else_: Expr
    span: Span


@frozen
class Binder:
    name: str
    sort: str
    span: Span


@frozen
class Quant:
    kind: str  # forall | exists | count | choose
    binders: tuple[Binder, ...]
    body: Expr
    span: Span


Expr = (Name | IntLit | BoolLit | NoneLit | SetLit | Index | FieldAccess | Call | RecordLit
        | RecordWith | Unary | Binary | Chain | Ite | Quant)


# ---------------------------------------------------------------- statements


@frozen
class LValue:
    name: str
    keys: tuple[Expr, ...]
    path: tuple[str, ...]
    span: Span


@frozen
class Assign:
    target: LValue
    value: Expr
    span: Span


@frozen
class IfStmt:
    cond: Expr
    then: tuple[Stmt, ...]
    else_: tuple[Stmt, ...]
    span: Span


@frozen
class ForStmt:
    var: str
    sort: str
    where: Expr | None
    body: tuple[Stmt, ...]
    span: Span
    sort_span: Span


@frozen
class LetStmt:
    name: str
    value: Expr
    span: Span


@frozen
class RequireStmt:
    cond: Expr
    span: Span


@frozen
class AssertStmt:
    name: str
    doc: str
    cond: Expr
    span: Span


@frozen
class CallStmt:
    name: str
    args: tuple[Expr, ...]
    span: Span


@frozen
class FailpointStmt:
    """``failpoint NAME "doc" { error path }``: where an allocation may fail.
    A step of the action may fail here (the first time it gets here): the
    error path runs and the step ends."""

    name: str
    doc: str
    body: tuple[Stmt, ...]
    span: Span


@frozen
class LockRef:
    """``name`` or ``name[keys]``: one lock of a ``lock`` declaration."""

    name: str
    keys: tuple[Expr, ...]
    span: Span


@frozen
class AcquireStmt:
    """``acquire LOCK [as reader|as writer]``: the first statement of a step of a
    threaded action; the step waits until the lock can be taken."""

    lock: LockRef
    mode: str | None  # "reader" | "writer" for an rwsem; None for a mutex or spinlock
    span: Span


@frozen
class ReleaseStmt:
    lock: LockRef
    span: Span


@frozen
class GotoStmt:
    """``goto STEP``: the thread's next step is STEP; this step ends here."""

    step: str
    span: Span


Stmt = (Assign | IfStmt | ForStmt | LetStmt | RequireStmt | AssertStmt | CallStmt
        | FailpointStmt | AcquireStmt | ReleaseStmt | GotoStmt)


@frozen
class LocalVarDecl:
    """``var NAME: Sort = init`` at the top of a threaded action: the thread's
    own variable, kept between the operation's steps."""

    name: str
    sort: SortRef
    init: Expr | None
    span: Span
    doc: str = ""


@frozen
class StepDecl:
    """``step NAME "doc" { ... }``: one atomic step of a threaded action."""

    name: str
    doc: str
    body: tuple[Stmt, ...]
    span: Span


# ---------------------------------------------------------------- declarations


@frozen
class Param:
    name: str
    sort: SortRef
    span: Span


@frozen
class Use:
    module: str
    span: Span


@frozen
class ConstDecl:
    name: str
    default: int
    lo: int | None
    hi: int | None
    doc: str
    span: Span
    # "override": a design's own default for a constant of a library it uses
    modifier: str | None = None


@frozen
class RangeType:
    name: str
    symmetric: bool
    lo: Expr
    hi: Expr
    doc: str
    span: Span


@frozen
class EnumType:
    name: str
    members: tuple[str, ...]
    doc: str
    span: Span


@frozen
class FieldDecl:
    name: str
    sort: SortRef
    span: Span


@frozen
class RecordDecl:
    name: str
    fields: tuple[FieldDecl, ...]
    doc: str
    span: Span


@frozen
class ExtendDecl:
    record: str
    fields: tuple[FieldDecl, ...]
    span: Span


@frozen
class VarDecl:
    name: str
    keys: tuple[SortRef, ...]
    value: SortRef
    init: Expr | None
    doc: str
    span: Span


@frozen
class InitDecl:
    body: tuple[Stmt, ...]
    span: Span


@frozen
class ThreadClause:
    """``in THREAD(args)`` after an action's parameters: the thread that runs it."""

    thread: str
    args: tuple[Expr, ...]
    span: Span


@frozen
class ActionDecl:
    modifier: str | None  # None | "hook" | "override"
    name: str
    params: tuple[Param, ...]
    doc: str
    body: tuple[Stmt, ...]
    span: Span
    thread: ThreadClause | None = None
    # A threaded action's own variables and its steps (none: the body is one step).
    locals: tuple[LocalVarDecl, ...] = ()
    steps: tuple[StepDecl, ...] = ()


@frozen
class DefDecl:
    modifier: str | None
    name: str
    params: tuple[Param, ...]
    sort: SortRef
    body: Expr | None
    doc: str
    span: Span


@frozen
class ProcDecl:
    modifier: str | None
    name: str
    params: tuple[Param, ...]
    doc: str
    body: tuple[Stmt, ...] | None
    span: Span


@frozen
class PropertyDecl:
    kind: str  # invariant | lemma | sometimes
    name: str
    doc: str
    expr: Expr
    span: Span
    modifier: str | None = None  # None | "override" (replaces an inherited property)


@frozen
class DropDecl:
    """``drop lemma NAME "why"``: a variant removes a property it inherited."""

    kind: str  # invariant | lemma | sometimes, as the dropped property was declared
    name: str
    doc: str
    span: Span


@frozen
class ObserveActionDecl:
    """``observe action NAME(params) as OP(args)``: the kernel operation a step
    of the action stands for (``rmapcheck conform``)."""

    action: str
    params: tuple[tuple[str, Span], ...]  # the action's parameters, in order, renamed
    op: str
    args: tuple[Expr, ...]
    doc: str
    span: Span
    op_span: Span
    override: bool = False  # replaces the observe action of a library


@frozen
class ThreadDecl:
    """``thread NAME(params) "doc"``: threads of control, one per value of the
    parameters; a threaded action runs in one of them, one at a time."""

    name: str
    params: tuple[Param, ...]
    doc: str
    span: Span


@frozen
class LockDecl:
    """``lock NAME: K1, K2 -> kind "doc"`` (kind: mutex, rwsem or spinlock)."""

    name: str
    keys: tuple[SortRef, ...]
    kind: str
    kind_span: Span
    doc: str
    span: Span


Decl = (Use | ConstDecl | RangeType | EnumType | RecordDecl | ExtendDecl | VarDecl | InitDecl
        | ActionDecl | DefDecl | ProcDecl | PropertyDecl | DropDecl | ObserveActionDecl
        | ThreadDecl | LockDecl)


@frozen
class SpecFile:
    path: str
    name: str
    doc: str
    items: tuple[Decl, ...]
    span: Span
    is_library: bool = False  # `library NAME`: meant to be used, not checked alone
    header_span: Span | None = None  # the name after `model` or `library`
