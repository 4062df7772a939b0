"""Syntax errors people make, each with malformed examples.

This table is both the messages and their test: the parser matches a failed
parse against these examples (lark's ``match_examples``) and reports the
message whose example fails in the same parser state; ``tests/test_syntax_errors.py``
parses every example and checks that it gets its own message.
"""

from __future__ import annotations

KNOWN_SYNTAX_ERRORS: dict[str, list[str]] = {
    "a spec starts with 'model NAME' (after an optional docstring)": [
        "var x: Bool",
        '"doc" use vm',
    ],
    "assignment is ':=', not '='; '=' only gives constants and initial values": [
        "model m action a() { x = 1 }",
        "model m action a() { x[p] = 1 }",
        "model m action a() { x.f = 1 }",
    ],
    "equality is '==', not '='": [
        "model m invariant i: x = 1",
        "model m action a() { requires x = 1 }",
        "model m action a() { if x = 1 { } }",
    ],
    "a quantifier names a sort for each variable and ends the binders with '.': "
    "forall p: Proc. body": [
        "model m invariant i: forall p. true",
        "model m invariant i: forall p: Proc true",
        "model m invariant i: forall p in Proc. true",
    ],
    "a block of statements is written in braces: { ... }": [
        "model m action a() requires true",
        "model m init x := 1",
        "model m action a() { if x y := 1 }",
    ],
    "a parameter needs a sort: name: Sort": [
        "model m action a(p) { }",
        "model m def f(p): Bool = true",
    ],
    "a definition needs a result sort: def name(params): Sort = expr": [
        "model m def f() = true",
    ],
    "a range sort is written 'lo .. hi', and an enum 'enum { a, b }'": [
        "model m type T = 3",
        "model m type T = { a, b }",
    ],
    "'else if' is written 'else if cond { ... }'; 'elif' is not a keyword": [
        "model m action a() { if x { } elif y { } }",
    ],
    "a property needs a name and a colon before its formula: invariant name: expr": [
        "model m invariant forall p: Proc. true",
        "model m invariant i forall p: Proc. true",
    ],
    "comparisons use '==' '!=' '<' '<=' '>' '>='; '=<' and '=>' are not operators": [
        "model m invariant i: x =< 1",
        "model m invariant i: x => 1",
    ],
    "logical operators are words: 'and', 'or', 'not'; '->' is implication": [
        "model m invariant i: x && y",
        "model m invariant i: x || y",
        "model m invariant i: !x",
    ],
}
