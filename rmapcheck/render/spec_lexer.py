"""A Pygments lexer for ``.spec`` files (``pygmentize -l rmapspec``, and
``.. code-block:: rmapspec`` in Sphinx).

Registered through the ``pygments.lexers`` entry point in pyproject.toml, so
Pygments finds it by name once rmapcheck is installed. Pygments is optional:
nothing in rmapcheck imports this module.

The keywords are those of spec/rmapcheck.lark, sorted by the part they play;
``tests/test_spec_lexer.py`` holds this lexer, the VS Code grammar
(editors/vscode/) and the grammar to the same set, and lexes every bundled
model without an error token. The lexer has no catch-all rule on purpose: a
character the language does not have is an error token, as it is for the
parser.

``.spec`` is also the extension of RPM spec files, so it is only an alias
file name: ``guess_lexer_for_filename`` weighs it with ``analyse_text``, and
``get_lexer_for_filename`` keeps giving RPM files to the RPM lexer.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

_NAME = r"[A-Za-z_][A-Za-z_0-9]*"

# The keywords of spec/rmapcheck.lark, by role.
MODULE_KEYWORDS = ("model", "library", "use")
DECLARATION_KEYWORDS = ("const", "type", "record", "extend", "var", "init", "action", "def",
                        "proc", "invariant", "lemma", "sometimes", "thread", "lock", "step")
MODIFIER_KEYWORDS = ("hook", "override", "local", "drop", "observe", "symmetric")
SORT_KEYWORDS = ("enum", "set")
STATEMENT_KEYWORDS = ("requires", "assert", "if", "then", "else", "for", "where", "let",
                      "failpoint", "acquire", "release", "goto")
QUANTIFIER_KEYWORDS = ("forall", "exists", "count", "choose")
OPERATOR_KEYWORDS = ("not", "and", "or", "in", "with", "as")
CONSTANT_KEYWORDS = ("true", "false", "none")
KEYWORDS = frozenset(MODULE_KEYWORDS + DECLARATION_KEYWORDS + MODIFIER_KEYWORDS + SORT_KEYWORDS
                     + STATEMENT_KEYWORDS + QUANTIFIER_KEYWORDS + OPERATOR_KEYWORDS
                     + CONSTANT_KEYWORDS)
BUILTIN_SORTS = ("Bool", "Int")

_HEADER = re.compile(rf"^\s*(model|library)\s+{_NAME}\s*$", re.MULTILINE)
_DECLARATION = re.compile(
    r"^\s*(use|const|type|record|var|action|def|proc|hook|observe|invariant)\b", re.MULTILINE)


class RmapSpecLexer(RegexLexer):
    name = "rmapcheck spec"
    aliases: ClassVar[list[str]] = ["rmapspec", "spec"]
    filenames: ClassVar[list[str]] = []
    alias_filenames: ClassVar[list[str]] = ["*.spec"]
    mimetypes: ClassVar[list[str]] = ["text/x-rmapspec"]

    tokens: ClassVar[dict[str, list[object]]] = {
        "root": [
            (r"\s+", Whitespace),
            (r"#[^\n]*", Comment.Single),
            (r'"""', String.Doc, "long_string"),
            (r'"', String.Double, "string"),
            # A declaration names what it declares right after its keyword.
            (rf"(model|library|use)(\s+)({_NAME})",
             bygroups(Keyword.Namespace, Whitespace, Name.Namespace)),
            (rf"(def|proc|action)(\s+)({_NAME})",
             bygroups(Keyword.Declaration, Whitespace, Name.Function)),
            (rf"(type|record)(\s+)({_NAME})",
             bygroups(Keyword.Declaration, Whitespace, Name.Class)),
            (rf"(extend)(\s+)(record)(\s+)({_NAME})",
             bygroups(Keyword.Declaration, Whitespace, Keyword.Declaration, Whitespace,
                      Name.Class)),
            (rf"(var)(\s+)({_NAME})", bygroups(Keyword.Declaration, Whitespace, Name.Variable)),
            (rf"(const)(\s+)({_NAME})", bygroups(Keyword.Declaration, Whitespace, Name.Constant)),
            (rf"(invariant|lemma|sometimes)(\s+)({_NAME})",
             bygroups(Keyword.Declaration, Whitespace, Name.Label)),
            (rf"(assert)(\s+)({_NAME})", bygroups(Keyword, Whitespace, Name.Label)),
            (words(MODULE_KEYWORDS, suffix=r"\b"), Keyword.Namespace),
            (words(DECLARATION_KEYWORDS, suffix=r"\b"), Keyword.Declaration),
            (words(MODIFIER_KEYWORDS, suffix=r"\b"), Keyword.Pseudo),
            (words(SORT_KEYWORDS, suffix=r"\b"), Keyword.Type),
            (words(STATEMENT_KEYWORDS + QUANTIFIER_KEYWORDS, suffix=r"\b"), Keyword),
            (words(OPERATOR_KEYWORDS, suffix=r"\b"), Operator.Word),
            (words(CONSTANT_KEYWORDS, suffix=r"\b"), Keyword.Constant),
            (words(BUILTIN_SORTS, suffix=r"\b"), Name.Builtin),
            (_NAME, Name),
            (r"[0-9]+", Number.Integer),
            (r":=|<->|->|==|!=|<=|>=|\.\.|[-+*/%&|<>=?]", Operator),
            (r"[{}()\[\],;:.]", Punctuation),
        ],
        "long_string": [
            (r'"""', String.Doc, "#pop"),
            (r'[^"]+|"', String.Doc),
        ],
        # One line, with backslash escapes (the grammar's STRING).
        "string": [
            (r'"', String.Double, "#pop"),
            (r"\\.", String.Escape),
            (r'[^"\\\n]+', String.Double),
        ],
    }

    @staticmethod
    def analyse_text(text: str) -> float:
        """How surely ``text`` is a spec rather than, say, an RPM spec file:
        it says ``model NAME`` or ``library NAME`` on a line of its own, and
        declares something."""
        if not _HEADER.search(text):
            return 0.0
        return 1.0 if _DECLARATION.search(text) else 0.5
