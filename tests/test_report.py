"""The generated documents: docstring fields, and the staleness comparison."""

from rmapcheck.frontend import load_model
from rmapcheck.report import expected_of, normalise, source_of, summary_line, year_of


def test_docstring_fields_of_anonmm() -> None:
    doc = load_model("anonmm").doc
    assert summary_line(doc) == "one anonmm per fork family, page->index = the virtual address."
    assert year_of(doc) == "2004"
    assert source_of(doc).startswith("Hugh Dickins")
    assert expected_of(doc) == "rmap_complete is violated by mmap, fault, mremap (3 steps)."


def test_staleness_ignores_timings_only() -> None:
    a = "Explicit search: 429 states, depth 3, 0.2 s.\nZ3: 12.5 s."
    b = "Explicit search: 429 states, depth 3, 1.7 s.\nZ3: 3 s."
    assert normalise(a) == normalise(b)
    assert normalise(a) != normalise(a.replace("429 states", "430 states"))
