"""spec/LANGUAGE.md stays true: its complete examples load, its excerpts are
quoted from the bundled models, and its error example is what the checker says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rmapcheck.errors import SpecError
from rmapcheck.frontend import ast, load_model, parse_text
from rmapcheck.instance import MAX_SORT_SIZE, MAX_STATE_SLOTS, Instance
from rmapcheck.resources import grammar_path, models_dir

DOC = grammar_path().parent / "LANGUAGE.md"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```$", DOC.read_text(), re.DOTALL | re.MULTILINE)


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("text", _blocks("spec"), ids=lambda t: t.split("model ")[1].split()[0])
def test_complete_examples_load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "example.spec"
    path.write_text(text)
    Instance(load_model(path))


def test_there_are_examples_and_excerpts() -> None:
    assert len(_blocks("spec")) >= 2
    assert len(_blocks("excerpt")) >= 8


@pytest.mark.parametrize("text", _blocks("excerpt"), ids=lambda t: t.split("\n")[0][:40])
def test_excerpts_are_quoted_from_the_models(text: str) -> None:
    models = " ".join(_squash(p.read_text()) for p in sorted(models_dir().glob("**/*.spec")))
    for paragraph in text.split("\n\n"):
        assert _squash(paragraph) in models, paragraph


def test_the_limits_quoted_are_the_limits() -> None:
    text = DOC.read_text()
    assert f"more than {MAX_SORT_SIZE} values (`MAX_SORT_SIZE`)" in text
    assert f"more than {MAX_STATE_SLOTS} slots (`MAX_STATE_SLOTS`)" in text


def test_every_keyword_of_the_grammar_is_listed() -> None:
    grammar = grammar_path().read_text()
    keywords = set(re.findall(r'"([a-z]+)"', grammar))
    listed = DOC.read_text().split("- **Keywords**: `")[1].split("`")[0].split()
    assert keywords == set(listed)


def test_error_example(tmp_path: Path) -> None:
    text = DOC.read_text()
    intro = "Every mistake is one sentence with the place it concerns:\n\n```text\n"
    example = text.split(intro)[1]
    first, source, caret, note = example.split("\n")[:4]
    spec = (
        "model mine\ntype Proc = symmetric 0 .. 1\nvar flag: Bool\n" + "\n" * 8 + source.strip()
        + "\n"
    )
    path = tmp_path / "mine.spec"
    path.write_text(spec)
    with pytest.raises(SpecError) as info:
        load_model(path)
    rendered = info.value.render().splitlines()
    assert rendered[0].split(": ", 1)[1] == first.split(": ", 1)[1]
    assert rendered[0].split(":")[1:3] == first.split(":")[1:3]
    assert rendered[1:] == [source, caret, note]


HOOK_LIBRARIES = ("vm", "vm_file", "vm_nonlinear")
TABLE_START = "<!-- the hooks table: tests/test_frontend_language_doc.py writes it -->\n"
TABLE_END = "<!-- end of the hooks table -->"


def hooks_table() -> str:
    """The table of every hook of the bundled libraries, as the libraries declare them."""
    lines = ["| library | hook | if the design does not define it | what it decides |",
             "|---|---|---|---|"]
    for library in HOOK_LIBRARIES:
        path = models_dir() / f"{library}.spec"
        for item in parse_text(path.read_text(), str(path)).items:
            if not isinstance(item, ast.DefDecl | ast.ProcDecl) or item.modifier != "hook":
                continue
            params = ", ".join(f"{p.name}: {p.sort}" for p in item.params)
            if isinstance(item, ast.DefDecl):
                head = f"def {item.name}({params}): {item.sort}"
            else:
                head = f"proc {item.name}({params})"
            if item.body is None:
                default = "an error: the design must define it"
            elif isinstance(item, ast.ProcDecl):
                default = "does nothing" if not item.body else "runs the library's body"
            else:
                default = "the library's default"
            doc = " ".join(item.doc.split()).replace("|", "\\|")
            lines.append(f"| {library} | `{head}` | {default} | {doc} |")
    return "\n".join(lines) + "\n"


def test_the_hooks_table_lists_every_hook_of_the_libraries() -> None:
    text = DOC.read_text()
    assert TABLE_START in text and TABLE_END in text
    written = text.split(TABLE_START)[1].split(TABLE_END)[0]
    assert written == hooks_table(), "regenerate the table in spec/LANGUAGE.md:\n" + hooks_table()
