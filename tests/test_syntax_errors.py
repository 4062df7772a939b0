"""Every entry of the syntax-error table is recognised, in its examples and elsewhere."""

from __future__ import annotations

import pytest

from rmapcheck.errors import SpecError
from rmapcheck.frontend.parser import parse_text
from rmapcheck.frontend.syntax_errors import KNOWN_SYNTAX_ERRORS

EXAMPLES = [(message, example) for message, examples in KNOWN_SYNTAX_ERRORS.items()
            for example in examples]


def _error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_text(text, "example.spec")
    return info.value


@pytest.mark.parametrize(("message", "example"), EXAMPLES,
                         ids=[example for _, example in EXAMPLES])
def test_each_example_gets_its_own_message(message: str, example: str) -> None:
    err = _error(example)
    assert err.message == message
    assert err.span is not None
    assert err.span.file == "example.spec"
    assert err.span.line > 0 and err.span.col > 0


def test_messages_are_one_sentence_each() -> None:
    for message, examples in KNOWN_SYNTAX_ERRORS.items():
        assert examples, message
        assert "\n" not in message and not message.endswith(".")
        assert len(set(examples)) == len(examples), message


def _known(fragment: str) -> str:
    matches = [m for m in KNOWN_SYNTAX_ERRORS if fragment in m]
    assert len(matches) == 1, fragment
    return matches[0]


# The same mistakes where the table has no example: nested blocks, parentheses,
# after other operators, on later lines. The matcher compares the parser's top
# state, not the depth of its stack, so these are recognised too.
ELSEWHERE = [
    ("model m\naction a() {\n  for x in T { if y { z = 1 } }\n}", "assignment is ':='", 3, 25),
    ("model m\ninit { for p in Proc { family[p] = p } }", "assignment is ':='", 2, 34),
    ("model m\naction a() { requires a and b = 1 }", "equality is '=='", 2, 31),
    ("model m\ninvariant i: a and (b = 1)", "equality is '=='", 2, 23),
    ("model m\ndef f(x: T): Bool =\n  x == 1 and y = 2", "equality is '=='", 3, 16),
    ("model m\ninvariant i: forall p: P, q. true", "a quantifier names a sort", 2, 28),
    ("model m\ninvariant i: a -> (forall p. true)", "a quantifier names a sort", 2, 28),
    ("model m\naction a() { for x in T { if x { } elif y { } } }", "'elif' is not", 2, 41),
    ("model m\ninvariant i: a or !(b and c)", "logical operators are words", 2, 19),
    ("model m\naction a() { requires !x }", "logical operators are words", 2, 23),
    ("model m\ninvariant i: a -> x => 1", "'=<' and '=>' are not", 2, 21),
    ("model m\naction a(p: Proc, q) { }", "a parameter needs a sort", 2, 20),
    ("model m\naction a() {\n  for v in VPage where x {\n    z[v].f += 1\n  }\n}",
     "there is no '+='", 4, 12),
    ("model m\naction a() {\n  let q = (x ? 1 : 2)\n}", "there is no '?:'", 3, 14),
    ("model m\naction a() {\n  for v in VPage {\n    return\n  }\n}",
     "a statement is an assignment", 5, 3),
    ("model m\naction a() {\n  if x {\n    // c\n  }\n}", "comments start with '#'", 4, 5),
    ("model m\nrecord R { a: Bool, b: set<Proc> }", "there are no type parameters", 2, 27),
    ("model m\naction a() {\n  for x in 1 .. N { }\n}", "a loop runs over a whole sort", 3, 12),
]


@pytest.mark.parametrize(("text", "fragment", "line", "col"), ELSEWHERE,
                         ids=[t.splitlines()[-1].strip() or t for t, *_ in ELSEWHERE])
def test_known_mistakes_are_recognised_in_other_contexts(text: str, fragment: str, line: int,
                                                         col: int) -> None:
    err = _error(text)
    assert err.message == _known(fragment)
    assert err.span is not None
    assert (err.span.line, err.span.col) == (line, col)


def test_similar_mistakes_on_one_token_are_told_apart() -> None:
    # '=' then '<' fails on the same '=' as 'x = 1': the text after it decides.
    assert _error("model m\ninvariant i: x = 1").message == _known("equality is '=='")
    assert _error("model m\ninvariant i: x =< 1").message == _known("'=<' and '=>' are not")


@pytest.mark.parametrize(("text", "expected"), [
    ("model m\ninvariant i: x y", "unexpected 'y'; expected the end of the file, 'action'"),
    ("model m\naction a() { let x := 1 }", "'let' binds a name with '='"),
    ("model m\ninvariant i: x +", "the file ends too early; expected a name, a number, '('"),
    ("model m\ntype T = symmetric enum { a, b }", "unexpected '{'; expected '..'"),
    ("model m\ninvariant i: x $ y", "unexpected character '$'"),
])
def test_other_errors_name_the_token_and_what_was_expected(text: str, expected: str) -> None:
    err = _error(text)
    assert err.message.startswith(expected)
    assert "anon" not in err.message and "__" not in err.message


def test_unknown_mistake_is_not_forced_into_a_known_message() -> None:
    # A ';' after a declaration fails in a state of its own: no entry claims it.
    err = _error("model m\nconst N = 1 in 0 .. 3 \"doc\";")
    assert err.message not in KNOWN_SYNTAX_ERRORS
    assert err.message.startswith("unexpected ';'")
    assert err.span is not None and (err.span.line, err.span.col) == (2, 28)


def test_rendered_error_points_at_the_token() -> None:
    err = _error("model m\naction a() { x = 1 }")
    rendered = err.render()
    assert rendered.splitlines() == [
        "example.spec:2:16: error: " + _known("assignment is ':='"),
        "  action a() { x = 1 }",
        "                 ^",
    ]
