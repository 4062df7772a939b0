"""Syntax errors people make, each with malformed examples.

This table is both the messages and their test: the parser matches a failed
parse against these examples (``parser._match_known``) and reports the message
whose example fails in the same LALR state on the same kind of token (a stray
character matches anywhere); ``tests/test_syntax_errors.py`` parses every
example and checks that it gets its own message, and that the same mistakes
in other contexts (nested blocks, parentheses) get it too.

An entry is worth adding only when it is matched reliably: the state on top of
the parser's stack must identify the mistake. A ';' after a declaration, for
instance, fails in a different state after each kind of declaration, so it is
left to the generic "unexpected ';'; expected ..." message.
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
        "model m invariant i: x[p] = 1",
        "model m invariant i: x.f = 1",
        "model m invariant i: f(x) = 1",
    ],
    "a quantifier names a sort for each variable and ends the binders with '.': "
    "forall p: Proc. body": [
        "model m invariant i: forall p. true",
        "model m invariant i: forall p: Proc true",
        "model m invariant i: forall p in Proc. true",
        "model m invariant i: forall p: Proc: true",
    ],
    "a block of statements is written in braces: { ... }": [
        "model m action a() requires true",
        "model m init x := 1",
        "model m action a() { if x y := 1 }",
        "model m action a() { if x { } else y := 1 }",
    ],
    "a parameter needs a sort: name: Sort": [
        "model m action a(p) { }",
        "model m def f(p): Bool = true",
    ],
    "a definition needs a result sort: def name(params): Sort = expr": [
        "model m def f() = true",
        "model m def f(x: T) -> Bool = true",
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
        "model m invariant i = true",
    ],
    "comparisons use '==' '!=' '<' '<=' '>' '>='; '=<' and '=>' are not operators": [
        "model m invariant i: x =< 1",
        "model m invariant i: x => 1",
        "model m invariant i: x <> 1",
    ],
    "logical operators are words: 'and', 'or', 'not'; '->' is implication": [
        "model m invariant i: x && y",
        "model m invariant i: x || y",
        "model m invariant i: !x",
        "model m invariant i: a and !x",
    ],
    "'let' binds a name with '=': let x = expr": [
        "model m action a() { let x := 1 }",
    ],
    "a def's body is one expression after '=': def name(params): Sort = expr; "
    "statements belong in a proc": [
        "model m def f(x: T): Bool { true }",
    ],
    "there is no '+=', '-=' or '++'; write x := x + 1": [
        "model m action a() { x += 1 }",
        "model m action a() { x -= 1 }",
        "model m action a() { x[p] += 1 }",
        "model m action a() { x.f += 1 }",
        "model m action a() { x++ }",
    ],
    "a statement is an assignment 'x := e', a proc call 'p(args)', or starts with "
    "'if', 'for', 'let', 'requires' or 'assert'": [
        "model m action a() { return }",
        "model m action a() { return x }",
        "model m action a() { break; }",
    ],
    "comments start with '#'": [
        "model m // comment",
        "model m /* comment */",
        "model m action a() { // comment\n }",
        "model m action a() { x := 1 // comment\n }",
        "model m invariant i: x == 1 // comment",
        "model m invariant i: x == 1 /* comment */",
        "model m var x: Bool // comment",
    ],
    "strings are written in double quotes: \"text\"": [
        "model m invariant i 'doc': true",
    ],
    "a constant is written 'const NAME = default in lo .. hi'": [
        "model m const N: Int = 3",
    ],
    "sorts are written 'S', 'S?' or 'set S', and a map 'var name: K1, K2 -> V'; "
    "there are no type parameters": [
        "model m var m: Map[Proc, Bool]",
        "model m var m: set<Proc>",
    ],
    "a statement 'if' takes a block: if cond { ... } else { ... }; "
    "'if c then a else b' is an expression": [
        "model m action a() { if x then y := 1 }",
    ],
    "a loop runs over a whole sort, restricted by 'where': "
    "for v in VPage where lo <= v < hi { ... }": [
        "model m action a() { for x: T { } }",
        "model m action a() { for x in 0 .. 3 { } }",
    ],
    "there is no '?:'; a conditional expression is 'if c then a else b'": [
        "model m invariant i: x ? a : b",
        "model m invariant i: x == 1 ? a : b",
        "model m action a() { let y = x[p] ? 1 : 2 }",
    ],
    "'use' names a module, without quotes or '.spec': use vm": [
        "model m use \"vm\"",
        "model m use vm.spec",
    ],
}
