"""Syntax highlighting: the Pygments lexer (rmapcheck/render/spec_lexer.py)
and the VS Code TextMate grammar (editors/vscode/) against the grammar of the
language (spec/rmapcheck.lark) and against each other, so the three cannot
drift apart.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "spec" / "rmapcheck.lark"
VSCODE = ROOT / "editors" / "vscode"
TEXTMATE = VSCODE / "syntaxes" / "rmapspec.tmLanguage.json"
MODELS = sorted((ROOT / "models").glob("*.spec")) + sorted((ROOT / "models/broken").glob("*.spec"))


def grammar_keywords() -> set[str]:
    """Every word the grammar spells in quotes: the language's keywords."""
    text = re.sub(r"//[^\n]*", "", GRAMMAR.read_text())
    return set(re.findall(r'"([A-Za-z_]+)"', text))


def test_the_grammar_has_keywords() -> None:
    # If the pattern above stopped finding them, every test below would pass vacuously.
    assert {"model", "action", "forall", "requires", "none"} <= grammar_keywords()


# ---------------------------------------------------------------- TextMate


def _textmate() -> dict[str, Any]:
    return json.loads(TEXTMATE.read_text())  # type: ignore[no-any-return]


def _rules(grammar: dict[str, Any], patterns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``patterns`` with every ``include`` of the repository replaced by its rules."""
    out = []
    for rule in patterns:
        if "include" in rule:
            included = grammar["repository"][rule["include"].lstrip("#")]
            if "match" in included or "begin" in included:
                out.append(included)
            else:
                out += _rules(grammar, included["patterns"])
        else:
            out.append(rule)
    return out


def _first(body: str, pos: int, rules: list[tuple[str, dict[str, Any]]]
           ) -> tuple[dict[str, Any], re.Match[str]] | None:
    """The rule that matches earliest from ``pos``; of two at one place, the
    first listed (an end pattern is listed before the rules inside it)."""
    best = None
    for order, (regex, rule) in enumerate(rules):
        found = re.compile(regex).search(body, pos)
        if found is not None and (best is None or (found.start(), order) < best[:2]):
            best = (found.start(), order, rule, found)
    return (best[2], best[3]) if best is not None else None


def _keyword_rules() -> list[dict[str, Any]]:
    grammar = _textmate()
    return grammar["repository"]["keyword"]["patterns"]  # type: ignore[no-any-return]


def test_textmate_grammar_highlights_exactly_the_grammar_keywords() -> None:
    keywords = grammar_keywords()
    rules = [r for r in _keyword_rules() if not r["name"].startswith("support.")]
    for word in sorted(keywords):
        scopes = [r["name"] for r in rules if re.fullmatch(r["match"], word)]
        assert scopes, f"the TextMate grammar does not highlight the keyword {word!r}"
    listed = {w for r in rules for w in re.findall(r"[A-Za-z_]+", r["match"].replace(r"\b", " "))}
    assert listed == keywords, f"not keywords of the grammar: {sorted(listed - keywords)}"


def test_vscode_manifest_uses_the_grammar() -> None:
    manifest = json.loads((VSCODE / "package.json").read_text())
    [language] = manifest["contributes"]["languages"]
    [grammar] = manifest["contributes"]["grammars"]
    assert language["id"] == grammar["language"] == "rmapspec"
    assert language["extensions"] == [".spec"]
    assert grammar["scopeName"] == _textmate()["scopeName"]
    assert (VSCODE / grammar["path"]).resolve() == TEXTMATE
    config = json.loads((VSCODE / language["configuration"]).read_text())
    assert config["comments"]["lineComment"] == "#"
    assert ["{", "}"] in config["brackets"]
    for model in MODELS:
        assert re.match(language["firstLine"], model.read_text()), model.name


def textmate_scopes(text: str) -> list[str]:
    """The scope of each character of ``text`` under the TextMate grammar: a
    small interpreter of the rules it uses (match with captures, begin/end
    with rules inside, line by line as an editor runs them); "" for none."""
    grammar = _textmate()
    top = [(rule.get("match") or rule["begin"], rule) for rule in _rules(grammar,
                                                                          grammar["patterns"])]
    scopes = [""] * len(text)
    inside: dict[str, Any] | None = None
    offset = 0

    def paint(start: int, end: int, scope: str) -> None:
        for i in range(offset + start, offset + end):
            scopes[i] = scope

    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        pos = 0
        while pos <= len(body):
            if inside is not None:
                rules = [(inside["end"], {"end": True})] + [
                    (r["match"], r) for r in inside.get("patterns", [])]
                hit = _first(body, pos, rules)
                stop = hit[1].end() if hit is not None else len(body)
                paint(pos, stop, inside["name"])
                if hit is None:
                    break
                if "end" in hit[0]:
                    inside = None
                pos = max(stop, pos + 1)
                continue
            hit = _first(body, pos, top)
            if hit is None:
                break
            rule, found = hit
            if "begin" in rule:
                inside = rule
                paint(found.start(), found.end(), rule["name"])
            elif "captures" in rule:
                for group, capture in rule["captures"].items():
                    paint(found.start(int(group)), found.end(int(group)), capture["name"])
            else:
                paint(found.start(), found.end(), rule["name"])
            pos = max(found.end(), pos + 1)
        offset += len(line)
    return scopes


# ---------------------------------------------------------------- Pygments


@pytest.fixture(scope="module")
def lexer() -> Any:
    pytest.importorskip("pygments", reason="the spec lexer is for Pygments, which is optional")
    from rmapcheck.render.spec_lexer import RmapSpecLexer

    return RmapSpecLexer()


def test_lexer_keywords_are_the_grammar_keywords(lexer: Any) -> None:
    from pygments.token import Keyword, Operator

    from rmapcheck.render.spec_lexer import KEYWORDS

    assert set(KEYWORDS) == grammar_keywords()
    for word in sorted(grammar_keywords()):
        # After `(`, so that no declaration rule sees a name to declare.
        tokens = [(t, v) for t, v in lexer.get_tokens(f"({word} x")]
        kind = next(t for t, v in tokens if v == word)
        assert kind in Keyword or kind in Operator.Word, (word, kind)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_lexer_reads_every_model_without_an_error(lexer: Any, path: Path) -> None:
    from pygments.token import Error

    text = path.read_text()
    tokens = list(lexer.get_tokens_unprocessed(text))
    errors = [(index, value) for index, kind, value in tokens if kind in Error]
    assert not errors, f"{path.name}: error tokens {errors[:5]}"
    assert "".join(value for _, _, value in tokens) == text


def test_lexer_flags_what_the_language_lacks(lexer: Any) -> None:
    from pygments.token import Error

    kinds = {v: t for t, v in lexer.get_tokens('model m\naction a() { x := y @ "two\nlines" }')}
    assert kinds["@"] in Error


def _category(scope: str) -> str:
    for prefix, category in (("comment", "comment"), ("string", "string"),
                             ("constant.character.escape", "string"),
                             ("keyword.operator.rmapspec", "symbol"), ("punctuation", "symbol"),
                             ("keyword", "keyword"), ("storage", "keyword"),
                             ("constant.language", "keyword"), ("constant.numeric", "number"),
                             ("support.type", "builtin"), ("entity.name", "declared"),
                             ("variable.other.declaration", "declared")):
        if scope.startswith(prefix):
            return category
    assert not scope, scope
    return "name"


def _pygments_category(kind: Any) -> str:
    from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String

    if kind in Comment:
        return "comment"
    if kind in String:
        return "string"
    if kind in Keyword or kind in Operator.Word:
        return "keyword"
    if kind in Operator or kind in Punctuation:
        return "symbol"
    if kind in Number:
        return "number"
    if kind in Name.Builtin:
        return "builtin"
    if kind in (Name.Function, Name.Class, Name.Namespace, Name.Variable, Name.Constant,
                Name.Label):
        return "declared"
    return "name"


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_textmate_and_pygments_agree_on_every_model(lexer: Any, path: Path) -> None:
    text = path.read_text()
    scopes = textmate_scopes(text)
    disagree = []
    for index, kind, value in lexer.get_tokens_unprocessed(text):
        for i, char in enumerate(value, index):
            if char.isspace():
                continue
            theirs, ours = _category(scopes[i]), _pygments_category(kind)
            if theirs != ours:
                line = text.count("\n", 0, i) + 1
                disagree.append(f"line {line} {value!r}: TextMate {theirs}, Pygments {ours}")
                break
    assert not disagree, "\n".join(disagree[:10])


def test_textmate_interpreter_sees_strings_and_comments() -> None:
    # The comparison above is only as good as this interpreter.
    text = '"""doc # not a comment\nstill doc"""\nmodel m # note "x"\nvar s: Bool "a \\" b"\n'
    scopes = textmate_scopes(text)
    assert {_category(scopes[i]) for i in range(text.index("still"), text.index("model"))
            if not text[i].isspace()} == {"string"}
    assert _category(scopes[text.index("# note")]) == "comment"
    assert _category(scopes[text.index('"x"')]) == "comment"
    assert {_category(scopes[i]) for i in range(text.index('"a'), text.rindex('"') + 1)} \
        == {"string"}
    assert _category(scopes[text.index("model")]) == "keyword"
    assert _category(scopes[text.index("m #")]) == "declared"
    assert _category(scopes[text.index("Bool")]) == "builtin"


def test_pygments_finds_the_lexer_by_name(lexer: Any) -> None:
    from pygments.lexers import find_lexer_class_for_filename, get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        found = get_lexer_by_name("rmapspec")
    except ClassNotFound:
        pytest.fail("the pygments.lexers entry point is not installed: pip install -e .")
    assert type(found).__name__ == "RmapSpecLexer"
    # `.spec` is RPM's extension too: an RPM spec file keeps its own lexer.
    rpm = "Name: hello\nVersion: 1.0\n%description\nmodel of a greeting\n"
    assert find_lexer_class_for_filename("hello.spec", rpm) is not type(found)
    assert type(found).analyse_text(MODELS[0].read_text()) == 1.0
    assert type(found).analyse_text(rpm) == 0.0


def test_importing_rmapcheck_needs_no_pygments() -> None:
    code = ("import sys; sys.modules['pygments'] = None; sys.modules['pygls'] = None\n"
            "import rmapcheck, rmapcheck.cli.main, rmapcheck.frontend, rmapcheck.render.text\n"
            "import rmapcheck.lsp, rmapcheck.lsp.module_loader, rmapcheck.lsp.name_index\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
