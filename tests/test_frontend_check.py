"""The checker: the bundled models load, and each kind of mistake gives one clear
sentence at the right place.

Each error test writes a small spec to a temporary file, loads it, and checks
the message, the line and column it points at (found from the text, so the
tests read as the specs do), and any 'did you mean' note.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rmapcheck import ir
from rmapcheck.errors import SpecError
from rmapcheck.frontend import bundled_models, load_model, resolve_spec_path
from rmapcheck.instance import MAX_SORT_SIZE, Instance
from rmapcheck.ir_walk import walk_stmts
from rmapcheck.resources import models_dir

# A small model that most tests add a line or two to.
BASE = """\
model t
const N = 2 in 1 .. 8 "processes"
type P = symmetric 0 .. N - 1
type V = 0 .. 3
type K = enum { red, green }
record R { a: Bool, b: V }
var flag: Bool
var x: P -> Bool
var y: V
var r: P -> R?
var s: set V
def pos(v: V): Bool = v > 0
proc set_y(v: V) { y := v }
"""


def write(tmp_path: Path, text: str, name: str = "main.spec") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def load(tmp_path: Path, extra: str) -> ir.Model:
    return load_model(write(tmp_path, BASE + extra))


def where(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
    """(line, column), both from 1, of the nth occurrence of ``needle`` in ``text``."""
    pos = -1
    for _ in range(nth):
        pos = text.index(needle, pos + 1)
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


def error(tmp_path: Path, extra: str, *, base: bool = True) -> tuple[SpecError, str]:
    text = BASE + extra if base else extra
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        Instance(load_model(path))
    err = info.value
    assert "\n" not in err.message, "one sentence, on one line"
    return err, text


def check(tmp_path: Path, extra: str, message: str, at: str, nth: int = 1, *,
          note: str | None = None, base: bool = True) -> SpecError:
    """The spec ``BASE + extra`` fails with ``message`` (a regular expression
    matched in full) at the ``nth`` occurrence of the text ``at``."""
    err, text = error(tmp_path, extra, base=base)
    assert re.fullmatch(message, err.message), err.message
    assert err.span is not None
    assert (err.span.line, err.span.col) == where(text, at, nth), err.render()
    assert err.note == note
    return err


# ---------------------------------------------------------------- bundled models


def _design_models() -> list[str]:
    return [str(p.relative_to(models_dir())) for p in bundled_models()]


@pytest.mark.parametrize("name", _design_models())
def test_bundled_models_load(name: str) -> None:
    model = load_model(models_dir() / name)
    assert model.name == Path(name).stem
    assert model.doc, "every model has a docstring"
    assert model.actions and model.properties
    names = [p.name for p in model.properties]
    if model.threads:
        # A race model states what its walk must achieve as an assertion.
        assert model.assertions() and ir.DEADLOCK_PROPERTY in names
    else:
        assert {"rmap_complete", "rmap_sound", "mapcount"} <= set(names)
    Instance(model)  # the default bounds are a valid instance


def test_bundled_model_found_by_name_with_or_without_suffix() -> None:
    assert resolve_spec_path("anonmm") == models_dir() / "anonmm.spec"
    assert resolve_spec_path("anonmm.spec") == models_dir() / "anonmm.spec"
    assert load_model("anon_vma").name == "anon_vma"


def test_library_alone_says_it_is_a_library() -> None:
    with pytest.raises(SpecError) as info:
        load_model("vm")
    err = info.value
    assert err.message == ("vm is a library, not a design: check a model that uses it "
                           "(one with 'use vm')")
    assert err.span is not None and err.span.file.endswith("vm.spec")
    text = (models_dir() / "vm.spec").read_text()
    line, col = where(text, "library vm")
    assert (err.span.line, err.span.col) == (line, col + len("library "))


def test_design_without_its_hook_names_the_missing_hook(tmp_path: Path) -> None:
    spec = tmp_path / "design.spec"
    spec.write_text("model design\nuse vm\n")
    with pytest.raises(SpecError) as info:
        load_model(spec)
    err = info.value
    assert err.message == ("hook def 'finds' has no definition; the design must define "
                           "'def finds(f: Frame, p: Proc, v: VPage): Bool'")
    text = (models_dir() / "vm.spec").read_text()
    assert err.span is not None and (err.span.line, err.span.col) == where(text, "hook def finds")


def test_loading_twice_gives_equal_models() -> None:
    assert load_model("anonmm") == load_model("anonmm")


# ---------------------------------------------------------------- names


def test_unknown_name_suggests_a_close_one(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires flg }\n", "unknown name 'flg'", "flg",
          note="did you mean 'flag'?")


def test_unknown_name_suggests_a_literal(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { flag := True }\n", "unknown name 'True'", "True",
          note="did you mean 'true'?")


def test_unknown_name_without_anything_close(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires zzz }\n", "unknown name 'zzz'", "zzz")


def test_indexing_something_that_is_not_a_map(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires xx[p] }\n",
          "only state maps can be indexed, and 'xx' is not one", "xx[p]",
          note="did you mean 'x'?")


def test_unknown_state_variable_assigned(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { flga := true }\n", "unknown state variable 'flga'",
          "flga", note="did you mean 'flag'?")


def test_unknown_sort(tmp_path: Path) -> None:
    check(tmp_path, "var w: Q\naction a(p: Pp) { }\n", "unknown sort 'Q'", "Q\n")


def test_unknown_sort_suggests(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires exists q: PP. x[q] }\n", "unknown sort 'PP'",
          "q: PP", note="did you mean 'P'?")


def test_unknown_field(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires r[p].bb == 1 }\n",
          "record R has no field 'bb'", "r[p].bb", note="did you mean 'b'?")


def test_unknown_field_in_record_literal(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { r[p] := R(c: true) }\n", "record R has no field 'c'",
          "c: true")


def test_unknown_field_assigned(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { r[p].bb := 1 }\n", "record R has no field 'bb'",
          "r[p].bb", note="did you mean 'b'?")


def test_field_of_a_non_record(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires y.a }\n",
          "V has no fields, so '.a' means nothing here", "y.a")


def test_extend_of_an_unknown_record(tmp_path: Path) -> None:
    check(tmp_path, "extend record S { c: Bool }\naction a(p: P) { }\n",
          "'extend record S': no record of that name", "extend record S")


def test_unknown_function_and_proc(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires poss(1) }\n", "unknown function 'poss'", "poss",
          note="did you mean 'pos'?")
    check(tmp_path, "action a(p: P) { sety(1) }\n", "unknown proc 'sety'", "sety(1)",
          note="did you mean 'set_y'?")


def test_proc_in_an_expression_and_def_as_a_statement(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires set_y(1) }\n",
          "'set_y' is a proc, which changes the state; only a def can be used in an "
          "expression", "set_y(1)")
    check(tmp_path, "action a(p: P) { pos(1) }\n",
          "'pos' is a def, which computes a value; a statement can only call a proc", "pos(1)")


def test_map_used_without_index(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires x == true }\n",
          r"'x' is a map over \(P\); index it, as in x\[p\]", "x == true")


# ---------------------------------------------------------------- types


def test_bool_where_a_number_is_expected(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires y + true > 1 }\n",
          "expected a number, found Bool", "true")


def test_comparing_incompatible_sorts(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires y == red }\n", "cannot compare V with K",
          "y == red")
    check(tmp_path, "action a(p: P) { requires x[p] == 1 }\n", "cannot compare Bool with Int",
          "x[p] == 1")


def test_arithmetic_on_a_symmetric_sort(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P, q: P) { requires p + 1 == q }\n",
          "P is a symmetric sort: its values are interchangeable ids, so arithmetic and "
          "ordering on them are not allowed", "p + 1")


def test_ordering_a_symmetric_sort(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P, q: P) { requires p < q }\n",
          "P is a symmetric sort: its values are interchangeable ids, so they cannot be "
          "ordered", "p < q")


def test_ordering_an_enum(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires red < green }\n",
          "'<' compares numbers, and this side is K", "red <")


def test_assigning_the_wrong_sort(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { y := r[p] }\n", "expected V, found R", "r[p] }")


def test_none_for_a_sort_without_none(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { y := none }\n",
          r"none is not a value of V; only optional sorts \(V\?\) have none", "none")


def test_condition_that_is_not_bool(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires not y }\n", "expected Bool, found V", "y }")


def test_if_then_else_branches_of_different_sorts(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires if x[p] then 1 else red }\n",
          "the branches of 'if ... then ... else' must have one sort, not Int and K",
          "if x[p]")


def test_in_needs_a_set(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires y in y }\n",
          "'in' tests membership of a set, and the right side is V", "y in y")


def test_set_literal_elements_of_one_sort(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires y in {1, red} }\n", "expected V, found K",
          "red} }")


def test_assigning_a_local(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { p := 1 }\n",
          r"'p' is a local name \(a parameter, let or loop variable\); only state variables "
          "can be assigned", "p := 1")


# ---------------------------------------------------------------- arity


def test_map_index_arity(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { x[p, p] := true }\n",
          r"'x' is a map over \(P\): it takes 1 index, not 2", "x[p, p]")
    check(tmp_path, "action a(p: P) { flag[p] := true }\n",
          "'flag' is not a map; use it without an index", "flag[p]")


def test_def_arity(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires pos(1, 2) }\n",
          "def 'pos' takes 1 argument, not 2", "pos(1, 2)")


def test_proc_arity(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { set_y() }\n", "proc 'set_y' takes 1 argument, not 0",
          "set_y()")


def test_choose_binds_one_variable(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires choose u: V, w: V. true }\n",
          "choose picks one value: 'choose x: Sort. condition'", "choose")


# ---------------------------------------------------------------- declarations


def test_duplicate_declaration(tmp_path: Path) -> None:
    check(tmp_path, "def flag(): Bool = true\naction a(p: P) { }\n",
          r"'flag' is already declared at .*main\.spec:7:1; choose another name",
          "def flag")


def test_duplicate_action(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { }\naction a(p: P) { }\n",
          r"action 'a' is already defined at .*main\.spec:\d+:1; write 'override action a' "
          "to replace it", "action a", 2)


def test_duplicate_enum_member(tmp_path: Path) -> None:
    check(tmp_path, "type K2 = enum { red, blue }\naction a(p: P) { }\n",
          "enum member 'red' is already a member of K", "type K2")


def test_duplicate_field_by_extension(tmp_path: Path) -> None:
    check(tmp_path, "extend record R { b: Bool }\naction a(p: P) { }\n",
          "record R already has a field 'b'", "b: Bool")


def test_duplicate_parameter(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P, p: P) { }\n",
          "action a has two parameters of the same name", "action a")


def test_builtin_sort_name_is_taken(tmp_path: Path) -> None:
    check(tmp_path, "type Bool = 0 .. 1\naction a(p: P) { }\n",
          r"'Bool' is already declared \(a built-in sort\); choose another name", "type Bool")


def test_model_without_actions(tmp_path: Path) -> None:
    check(tmp_path, "model empty\nvar b: Bool\n", "model empty has no actions", "model",
          base=False)


# ---------------------------------------------------------------- hooks and overrides

LIB = """\
model lib
type V = 0 .. 3
var y: V
hook def ok(v: V): Bool "the design's rule"
hook proc at_step(v: V) "what the design does at a step" { }
action go(v: V) { requires ok(v)
  at_step(v) }
"""


def test_hook_without_definition(tmp_path: Path) -> None:
    write(tmp_path, LIB, "lib.spec")
    err, _ = error(tmp_path, "model d\nuse lib\n", base=False)
    assert err.message == ("hook def 'ok' has no definition; the design must define "
                           "'def ok(v: V): Bool'")
    assert err.note is not None and err.note.startswith("the model is d (")
    assert err.span is not None and err.span.file.endswith("lib.spec")
    assert (err.span.line, err.span.col) == where(LIB, "hook def ok")


def test_hook_defined_by_a_plain_def(tmp_path: Path) -> None:
    write(tmp_path, LIB, "lib.spec")
    model = load_model(write(tmp_path, "model d\nuse lib\ndef ok(w: V): Bool = w > 1\n"))
    assert model.name == "d"
    assert [a.name for a in model.actions] == ["go"]
    assert model.function("ok").params[0].name == "w"


def test_hook_definition_with_another_signature(tmp_path: Path) -> None:
    write(tmp_path, LIB, "lib.spec")
    check(tmp_path, "model d\nuse lib\ndef ok(v: V, w: V): Bool = true\n",
          r"def 'ok' must take \(V\) as the hook declared at .*lib\.spec:4:1 does, not "
          r"\(V, V\)", "def ok", base=False, note="did you mean 'def ok(v: V): Bool'?")
    check(tmp_path, "model d\nuse lib\ndef ok(v: V): V = 1\n",
          r"def 'ok' must return Bool as the hook declared at .*lib\.spec:4:1 does, not V",
          "V = 1", base=False, note="did you mean 'def ok(v: V): Bool'?")


def test_hook_defined_twice(tmp_path: Path) -> None:
    write(tmp_path, LIB, "lib.spec")
    check(tmp_path, "model d\nuse lib\ndef ok(v: V): Bool = true\ndef ok(v: V): Bool = false\n",
          r"def 'ok' is already defined at .*main\.spec:3:1; write 'override def ok' to "
          "replace it", "def ok", 2, base=False)


def test_hook_declared_twice(tmp_path: Path) -> None:
    write(tmp_path, LIB, "lib.spec")
    check(tmp_path, "model d\nuse lib\nhook def ok(v: V): Bool\n",
          r"hook def 'ok' is already declared at .*lib\.spec:4:1", "hook def ok", base=False)


def test_misspelled_hook_is_an_error_with_the_hook_it_meant(tmp_path: Path) -> None:
    write(tmp_path, LIB, "lib.spec")
    check(tmp_path, "model d\nuse lib\ndef ok(v: V): Bool = true\nproc at_stepp(v: V) { }\n",
          r"proc 'at_stepp' is not a hook of the libraries this model uses, and nothing calls "
          r"it, so it never runs; if it is meant as a helper of its own, call it or declare "
          r"it 'local proc at_stepp'", "proc at_stepp", base=False,
          note=f"did you mean the hook 'proc at_step(v: V)' ({tmp_path / 'lib.spec'}:5:1)?")


def test_hook_lookalike_that_is_called_or_local_is_a_helper(tmp_path: Path) -> None:
    write(tmp_path, LIB, "lib.spec")
    called = load_model(write(tmp_path, "model d\nuse lib\ndef ok(v: V): Bool = okk(v)\n"
                                        "def okk(v: V): Bool = v > 1\n"))
    assert called.function("okk").body.span.line == 4
    local = load_model(write(tmp_path, "model d\nuse lib\ndef ok(v: V): Bool = true\n"
                                       "local proc at_stepp(v: V) { y := v }\n"))
    assert [a.name for a in local.actions] == ["go"]


def test_local_on_a_taken_name_or_an_action(tmp_path: Path) -> None:
    write(tmp_path, LIB, "lib.spec")
    check(tmp_path, "model d\nuse lib\ndef ok(v: V): Bool = true\nlocal proc at_step(v: V) { }\n",
          r"'local proc at_step' declares a name that is already taken: the hook declared at "
          r".*lib\.spec:5:1; a definition of it is a plain 'proc at_step'", "local proc",
          base=False)
    check(tmp_path, "model d\nuse lib\ndef ok(v: V): Bool = true\nlocal action a(v: V) { }\n",
          r"'local' marks a def or proc that is deliberately not a hook; an action is never "
          r"a hook, so write 'action a'", "local action", base=False)


def test_hook_defined_with_the_other_kind(tmp_path: Path) -> None:
    write(tmp_path, LIB, "lib.spec")
    check(tmp_path, "model d\nuse lib\ndef ok(v: V): Bool = true\n"
                    "def at_step(v: V): Bool = true\n",
          r"'at_step' is a hook proc \(.*lib\.spec:5:1\), so a design defines it with "
          r"'proc at_step\(v: V\)', not with a def", "def at_step", base=False)


def test_a_proc_no_one_calls_is_still_checked(tmp_path: Path) -> None:
    check(tmp_path, "local proc helper(p: P) { x := true }\naction a(p: P) { }\n",
          r"'x' is a map over \(P\): it takes 1 index, not 0", "x :=")


def test_override_replaces_and_keeps_the_signature(tmp_path: Path) -> None:
    write(tmp_path, LIB, "lib.spec")
    model = load_model(write(tmp_path, "model d\nuse lib\ndef ok(v: V): Bool = true\n"
                                       "override def ok(v: V): Bool = v == 2\n"
                                       "override action go(v: V) { y := v }\n"))
    (assign,) = model.action("go").body
    assert isinstance(assign, ir.Assign) and assign.target.var == "y"
    assert model.function("ok").body.span.line == 4
    check(tmp_path, "model d\nuse lib\ndef ok(v: V): Bool = true\n"
                    "override action go(v: V, w: V) { }\n",
          r"action 'go' must take \(V\) as the action it overrides \(at .*lib\.spec:6:1\) "
          r"does, not \(V, V\)", "override action", base=False,
          note="did you mean 'override action go(v: V)'?")


def test_override_of_nothing(tmp_path: Path) -> None:
    check(tmp_path, "override def poss(v: V): Bool = true\naction a(p: P) { }\n",
          "'override def poss' overrides nothing: no def of that name is declared before it",
          "override def", note="did you mean 'pos'?")


def test_override_const_sets_the_design_default(tmp_path: Path) -> None:
    model = load_model(write(tmp_path, BASE.replace("model m", "model m", 1)
                             + "override const N = 3\naction a(p: P) { }\n"))
    (n,) = [c for c in model.consts if c.name == "N"]
    assert (n.default, n.lo, n.hi, n.doc) == (3, 1, 8, "processes")
    narrowed = load_model(write(tmp_path, BASE + "override const N = 3 in 2 .. 4\n"
                                                 "action a(p: P) { }\n"))
    assert [(c.lo, c.hi) for c in narrowed.consts if c.name == "N"] == [(2, 4)]


def test_override_const_errors(tmp_path: Path) -> None:
    check(tmp_path, "override const NX = 3\naction a(p: P) { }\n",
          "'override const NX' overrides nothing: no constant of that name is declared "
          "before it", "override const NX", note="did you mean 'N'?")
    check(tmp_path, "override const N = 9\naction a(p: P) { }\n",
          "constant N = 9 is outside its range 1 .. 8", "override const N")
    check(tmp_path, "override const N = 3 in 0 .. 9\naction a(p: P) { }\n",
          "'override const N' may narrow its range 1 .. 8, not widen it to 0 .. 9",
          "override const N")
    check(tmp_path, "hook const N = 3\naction a(p: P) { }\n",
          "a constant cannot be a hook; a design changes a library's default with "
          "'override const N = ...'", "hook const N")


def test_hook_action_is_not_allowed(tmp_path: Path) -> None:
    check(tmp_path, "hook action b(p: P) { }\naction a(p: P) { }\n",
          "an action cannot be a hook; a design adds actions, or replaces one with "
          "'override action b'", "hook action")


# ---------------------------------------------------------------- recursion


def test_def_calling_itself(tmp_path: Path) -> None:
    check(tmp_path, "def f(v: V): Bool = f(v)\naction a(p: P) { requires f(1) }\n",
          r"def 'f' calls itself \(through f\); defs are expanded at each use, so they cannot "
          "recurse", "f(v)")


def test_defs_calling_each_other(tmp_path: Path) -> None:
    check(tmp_path, "def f(v: V): Bool = g(v)\ndef g(v: V): Bool = f(v)\n"
                    "action a(p: P) { requires f(1) }\n",
          r"def 'f' calls itself \(through f -> g\); defs are expanded at each use, so they "
          "cannot recurse", "f(v)")


def test_proc_calling_itself(tmp_path: Path) -> None:
    check(tmp_path, "proc g(v: V) { g(v) }\naction a(p: P) { g(1) }\n",
          r"proc 'g' calls itself \(through g\); procs are expanded at each call, so they "
          "cannot recurse", "g(v) }")


# ---------------------------------------------------------------- modules


def test_use_of_a_missing_module(tmp_path: Path) -> None:
    check(tmp_path, "model d\nuse nosuch\naction a() { }\n",
          r"'use nosuch': no spec file 'nosuch' here and no bundled model of that name "
          r"\(bundled: .*\)", "use nosuch", base=False)


def test_use_resolves_next_to_the_using_file_first(tmp_path: Path) -> None:
    # lib/vm.spec shadows the bundled vm for a spec in lib/.
    write(tmp_path, "model vm\nvar here: Bool\naction a() { here := true }\n", "lib/vm.spec")
    model = load_model(write(tmp_path, "model d\nuse vm\n", "lib/d.spec"))
    assert [v.name for v in model.state] == ["here"]


def test_use_of_the_bundled_library(tmp_path: Path) -> None:
    model = load_model(write(tmp_path, "model d\nuse vm\n"
                                       "def finds(f: Frame, p: Proc, v: VPage): Bool = false\n"))
    assert "mmap" in [a.name for a in model.actions]


def test_use_cycle(tmp_path: Path) -> None:
    write(tmp_path, "model b\nuse main\n", "b.spec")
    err, _ = error(tmp_path, "model main\nuse b\naction a() { }\n", base=False)
    assert err.message == "'use' makes a cycle: main -> b -> main"
    assert err.span is not None and err.span.file.endswith("b.spec")
    assert (err.span.line, err.span.col) == (2, 1)


def test_each_module_is_loaded_once(tmp_path: Path) -> None:
    write(tmp_path, "model base\nvar v: Bool\n", "base.spec")
    write(tmp_path, "model left\nuse base\n", "left.spec")
    write(tmp_path, "model right\nuse base\n", "right.spec")
    model = load_model(write(tmp_path, "model d\nuse left\nuse right\naction a() { v := true }\n"))
    assert [v.name for v in model.state] == ["v"]


# ---------------------------------------------------------------- finiteness and bounds


def test_state_variable_of_sort_int(tmp_path: Path) -> None:
    check(tmp_path, "var z: Int\naction a(p: P) { }\n",
          r"state variable z must have a finite sort, not Int; use a range such as 0 \.\. N",
          "Int\n")


def test_record_field_of_sort_int_in_the_state(tmp_path: Path) -> None:
    check(tmp_path, "record Q { n: Int }\nvar q: Q\naction a(p: P) { }\n",
          "field Q.n is stored in the state, so it needs a finite sort, not Int", "Q\nact")


def test_parameter_of_sort_int(tmp_path: Path) -> None:
    check(tmp_path, "action a(n: Int) { }\n",
          r"parameter n must be of a finite sort \(a range, an enum or Bool\), not Int", "Int")


def test_quantifier_over_a_record(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { requires forall q: R. true }\n",
          "R is not a finite sort: only ranges, enums and Bool can be quantified over, looped "
          "over or used as keys", "q: R")


def test_loop_over_int(tmp_path: Path) -> None:
    check(tmp_path, "action a(p: P) { for i in Int { } }\n",
          "Int is not a finite sort: .*", "Int {")


def test_set_of_records(tmp_path: Path) -> None:
    check(tmp_path, "var z: set R\naction a(p: P) { }\n",
          r"a set's elements must be of a finite sort \(a range, an enum or Bool\), not R",
          "set R")


def test_map_keyed_by_a_record(tmp_path: Path) -> None:
    check(tmp_path, "var z: R -> Bool\naction a(p: P) { }\n",
          r"a map must be indexed by finite sorts \(ranges, enums, Bool\), not R", "R -> Bool")


def test_initial_value_reading_the_state(tmp_path: Path) -> None:
    check(tmp_path, "var z: V = y\naction a(p: P) { }\n",
          "an initial value cannot read the state; use an init block", "y\naction")


def test_requires_in_init(tmp_path: Path) -> None:
    check(tmp_path, "init { requires y == 0 }\naction a(p: P) { }\n",
          "'requires' belongs in an action; an init block runs unconditionally",
          "requires y")


def test_constant_default_outside_its_range(tmp_path: Path) -> None:
    check(tmp_path, "const M = 10 in 1 .. 5\naction a(p: P) { }\n",
          r"constant M = 10 is outside its own range 1 \.\. 5", "const M")


def test_constant_set_outside_its_declared_range(tmp_path: Path) -> None:
    model = load(tmp_path, "action a(p: P) { }\n")
    with pytest.raises(SpecError) as info:
        Instance(model, {"N": 9})
    assert info.value.message == ("constant N = 9 is outside its declared range 1 .. 8; "
                                  "choose a value in that range")
    assert info.value.span is not None
    assert (info.value.span.line, info.value.span.col) == (2, 1)


def test_unknown_constant_on_the_command_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "action a(p: P) { }\n")
    with pytest.raises(SpecError) as info:
        load_model(path, {"M": 3})
    assert info.value.message == "--const M: the model has no constant M (its constants: N)"
    with pytest.raises(SpecError) as info:
        Instance(load_model(path), {"M": 3})
    assert info.value.message == "--const M: the model has no constant M (its constants: N)"


def test_oversized_sort(tmp_path: Path) -> None:
    err = check(tmp_path, f"const BIG = {MAX_SORT_SIZE} in 1 .. {2 * MAX_SORT_SIZE}\n"
                          "type Huge = 0 .. BIG\nvar h: Huge -> Bool\naction a(p: P) { }\n",
                f"sort Huge has {MAX_SORT_SIZE + 1} values at these bounds, more than the "
                f"{MAX_SORT_SIZE} a finite back end accepts; lower the constants", "type Huge")
    assert err.span is not None


def test_sort_bound_of_state(tmp_path: Path) -> None:
    check(tmp_path, "type W = 0 .. y\naction a(p: P) { }\n",
          "a sort bound must be built from numbers and constants, and 'y' is a state "
          "variable", "y\naction")


# ---------------------------------------------------------------- rendering


def test_error_renders_file_line_column_source_and_caret(tmp_path: Path) -> None:
    err, text = error(tmp_path, "action a(p: P) { requires flg }\n")
    line, col = where(text, "flg")
    assert err.render().splitlines() == [
        f"{tmp_path / 'main.spec'}:{line}:{col}: error: unknown name 'flg'",
        "  action a(p: P) { requires flg }",
        "                            ^^^",
        "  note: did you mean 'flag'?",
    ]


# ---------------------------------------------------------------- what lowering produces


def _action(tmp_path: Path, body: str, params: str = "p: P") -> ir.Action:
    return load(tmp_path, f"action a({params}) {{\n{body}\n}}\n").action("a")


def test_chained_comparison_is_a_conjunction(tmp_path: Path) -> None:
    (req,) = _action(tmp_path, "requires 1 <= y < 3", "").body
    assert isinstance(req, ir.Require)
    cond = req.cond
    assert isinstance(cond, ir.Binary) and cond.op == "and"
    assert isinstance(cond.lhs, ir.Binary) and cond.lhs.op == "le"
    assert isinstance(cond.rhs, ir.Binary) and cond.rhs.op == "lt"
    assert cond.lhs.rhs == cond.rhs.lhs  # the middle operand, once per comparison


def test_membership_in_a_literal_takes_the_element_sort(tmp_path: Path) -> None:
    (req,) = _action(tmp_path, "requires y in {1, 2}", "").body
    assert isinstance(req, ir.Require) and isinstance(req.cond, ir.Binary)
    assert req.cond.op == "in"
    assert req.cond.rhs.sort == ir.SetSort(load(tmp_path, "action a() { }\n").state_var("y").value)


def test_record_literal_fills_defaults_and_wraps_into_an_option(tmp_path: Path) -> None:
    (assign,) = _action(tmp_path, "r[p] := R(b: 2)").body
    assert isinstance(assign, ir.Assign)
    assert isinstance(assign.value, ir.Wrap)
    lit = assign.value.arg
    assert isinstance(lit, ir.RecordLit)
    assert [name for name, _ in lit.fields] == ["a", "b"]
    assert lit.fields[0][1] == ir.BoolLit(False)
    assert isinstance(lit.fields[1][1], ir.IntLit) and lit.fields[1][1].value == 2


def test_option_used_as_a_value_is_unwrapped(tmp_path: Path) -> None:
    (assign,) = _action(tmp_path, "y := r[p].b").body  # a field of an optional record
    assert isinstance(assign, ir.Assign) and isinstance(assign.value, ir.Field)
    body = load(tmp_path, "var o: V?\naction a() { y := o }\n").action("a").body
    assert isinstance(body[0], ir.Assign) and isinstance(body[0].value, ir.Unwrap)


def test_proc_arguments_are_bound_by_value_before_the_body(tmp_path: Path) -> None:
    let, assign = _action(tmp_path, "set_y(y + 1)", "").body
    assert isinstance(let, ir.Let) and let.var.name.startswith("v#")
    assert isinstance(assign, ir.Assign) and assign.value == let.var


def test_for_where_is_an_if_inside_the_loop(tmp_path: Path) -> None:
    (loop,) = _action(tmp_path, "for q in P where x[q] { flag := true }", "").body
    assert isinstance(loop, ir.For) and loop.var.sort.__class__ is ir.RangeSort
    (cond,) = loop.body
    assert isinstance(cond, ir.If) and len(cond.then) == 1 and cond.else_ == ()


def test_initial_values_run_before_init_blocks(tmp_path: Path) -> None:
    model = load(tmp_path, "init { y := 2 }\nvar z: V = 3\naction a() { }\n")
    assert isinstance(model.init[0], ir.Assign) and model.init[0].target.var == "z"
    assert isinstance(model.init[1], ir.Assign) and model.init[1].target.var == "y"


def test_defs_are_inlined_and_kept_by_name(tmp_path: Path) -> None:
    model = load(tmp_path, "action a() { requires pos(y) }\n")
    (req,) = model.action("a").body
    assert isinstance(req, ir.Require) and isinstance(req.cond, ir.Binary)
    assert req.cond.op == "gt"
    assert model.function("pos").sort == ir.BOOL


def test_optional_number_in_a_numeric_conditional_is_read_as_its_value(tmp_path: Path) -> None:
    # 'if c then o else 1' mixes V? and Int: the result is a number, so o is
    # unwrapped (a run-time error when it is none), never an Int that may be none.
    (req,) = load(tmp_path, "var o: V?\naction a() { requires (if flag then o else 1) + 1 > 0 }\n"
                  ).action("a").body
    assert isinstance(req, ir.Require) and isinstance(req.cond, ir.Binary)
    total = req.cond.lhs
    assert isinstance(total, ir.Binary) and isinstance(total.lhs, ir.Ite)
    assert total.lhs.sort == ir.INT
    assert isinstance(total.lhs.then, ir.Unwrap)


# ---------------------------------------------------------------- a variant's properties

PROPS = """
invariant small "y stays small": y < 3
lemma nonneg "y is a number": y >= 0
sometimes moved "y moves": y > 0
"""


def test_a_variant_drops_and_replaces_inherited_properties(tmp_path: Path) -> None:
    write(tmp_path, BASE.replace("model t", "library t") + PROPS, "t.spec")
    model = load_model(write(tmp_path, """model v
use t
drop lemma nonneg "the variant does not need it"
override sometimes small "now only a witness": y == 3
action go(v: V) { y := v }
""", "v.spec"))
    # The override keeps the place of the property it replaces.
    assert [(p.kind, p.name) for p in model.properties] == [("sometimes", "small"),
                                                            ("sometimes", "moved")]


@pytest.mark.parametrize(("extra", "message", "at", "note"), [
    ("drop invariant nonneg\n", r"'nonneg' is a lemma \(at .*main\.spec:\d+:1\), not an invariant",
     "drop invariant", "did you mean 'drop lemma nonneg'?"),
    ("drop lemma nonnge\n", (r"'drop lemma nonnge' drops nothing: no property of that name is "
     r"declared before it"), "drop lemma", "did you mean 'nonneg'?"),
    ("drop lemma nonneg\ndrop lemma nonneg\n", (r"'drop lemma nonneg' drops nothing: it was "
     r"dropped already at .*main\.spec:\d+:1"), "drop lemma nonneg\ndrop", None),
    ("drop lemma nonneg\noverride lemma nonneg: true\n", (r"'override lemma nonneg' overrides "
     r"nothing: it was dropped at .*main\.spec:\d+:1"), "override lemma", None),
    ("override invariant smal: true\n", (r"'override invariant smal' overrides nothing: no "
     r"property of that name is declared before it"), "override", "did you mean 'small'?"),
    ("local lemma extra: true\n", (r"a property cannot be 'local'; a variant replaces an "
     r"inherited one with 'override lemma extra' or removes it with 'drop lemma extra'"),
     "local", None),
    ("lemma small: true\n", (r"'small' is already declared at .*main\.spec:\d+:1; choose another "
     r"name"), "lemma small", None),
])
def test_a_wrong_drop_or_override_of_a_property(tmp_path: Path, extra: str, message: str,
                                                at: str, note: str | None) -> None:
    err, text = error(tmp_path, PROPS + extra)
    assert re.fullmatch(message, err.message), err.message
    assert err.span is not None
    line, col = where(text, at)
    if at.startswith("drop lemma nonneg\n"):
        line += 1
    assert (err.span.line, err.span.col) == (line, col), err.render()
    assert err.note == note


# ---------------------------------------------------------------- failpoints

FAILING = """
proc take(v: V) {
  failpoint alloc "the allocation fails" { y := 0 }
  y := v
}
action go(v: V) {
  take(v)
  for w in V { if w == v { failpoint alloc } }
}
"""


def test_failpoints_add_a_last_parameter_naming_where_the_step_fails(tmp_path: Path) -> None:
    model = load(tmp_path, FAILING)
    go = model.action("go")
    assert [p.name for p in go.params] == ["v", "fail"] and go.failure == go.params[-1]
    sort = go.failure.sort
    assert isinstance(sort, ir.EnumSort)
    # In the order the expanded body reaches them; a name met twice is numbered.
    assert (sort.name, sort.members) == ("Failure_go", ("nothing", "alloc", "alloc_2"))
    stops = [s for s in walk_stmts(go.body) if isinstance(s, ir.Stop)]
    assert len(stops) == 2


@pytest.mark.parametrize(("extra", "message", "at"), [
    ("init { failpoint f }\n", r"a failpoint belongs in an action: the init block cannot fail",
     "failpoint"),
    ("action go() { failpoint f { failpoint g } }\n", (r"a failpoint inside an error path: a "
     r"step fails once, at one failpoint, and its error path then runs to the end of the step"),
     "failpoint g"),
    ("proc inner() { failpoint g }\naction go() { failpoint f { inner() } }\n",
     r"a failpoint inside an error path: .*", "failpoint g"),
    ("action go() { for p in P { failpoint f } }\n", (r"a failpoint inside a loop over the "
     r"symmetric sort P: it would fail at whichever P comes first, and the values of a "
     r"symmetric sort have no order that means anything; put it outside the loop"), "failpoint"),
    ("action go() { failpoint nothing }\n", (r"a failpoint cannot be named 'nothing': a step "
     r"that does not fail says fail=nothing"), "failpoint"),
    ("action go(fail: V) { failpoint f }\n", (r"action go has failpoints, which add a parameter "
     r"named 'fail'; rename its own"), "action go"),
])
def test_a_misplaced_failpoint(tmp_path: Path, extra: str, message: str, at: str) -> None:
    check(tmp_path, extra, message, at)
