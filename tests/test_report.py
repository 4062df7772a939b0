"""The generated documents: docstring fields, and the staleness comparison."""

from pathlib import Path

import pytest

from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance
from rmapcheck.report import (
    expected_of,
    source_of,
    spec_digest,
    stale_models,
    summary_line,
    year_of,
)
from rmapcheck.resources import models_dir


def test_docstring_fields_of_anonmm() -> None:
    doc = load_model("anonmm").doc
    assert summary_line(doc) == "one anonmm per fork family, page->index = the virtual address."
    assert year_of(doc) == "2004"
    assert source_of(doc).startswith("Hugh Dickins")
    assert expected_of(doc) == "rmap_complete is violated by mmap, fault, mremap (3 steps)."


def test_digest_changes_with_the_spec_and_the_bounds(tmp_path: Path) -> None:
    model = load_model("anonmm")
    base = spec_digest(model, Instance(model))
    assert spec_digest(model, Instance(model, {"VPAGES": 3})) != base
    spec = tmp_path / "anonmm2.spec"
    spec.write_text((models_dir() / "anonmm.spec").read_text().replace(
        "page[f].index := v", "page[f].index := 0"))
    changed = load_model(spec)
    assert spec_digest(changed, Instance(changed)) != base


def test_check_names_the_models_whose_digest_differs(tmp_path: Path) -> None:
    model = load_model("anonmm")
    properties = tmp_path / "PROPERTIES.md"
    properties.write_text(f"## anonmm\n\nSpec: x; digest `{spec_digest(model, Instance(model))}`.\n"
                          "## gone\n\ndigest `0123456789abcdef`.\n")
    assert stale_models(properties, [models_dir() / "anonmm.spec"]) == ["gone"]
    properties.write_text("## anonmm\n\ndigest `0123456789abcdef`.\n")
    assert stale_models(properties, [models_dir() / "anonmm.spec"]) == ["anonmm"]


def test_catalogue_table_is_spliced_between_its_markers(tmp_path: Path) -> None:
    from rmapcheck.report import BEGIN, END, catalogue_digest, splice_catalogue

    existing = f"# Models\n\nprose\n\n{BEGIN}\nold table\n{END}\n\nmore prose\n"
    new = splice_catalogue(existing, f"{BEGIN}\nnew table\n{END}")
    assert new == f"# Models\n\nprose\n\n{BEGIN}\nnew table\n{END}\n\nmore prose\n"
    assert splice_catalogue(None, "table").startswith("# The models\n\ntable")
    model = load_model("anonmm")
    properties = tmp_path / "PROPERTIES.md"
    properties.write_text(f"## anonmm\n\ndigest `{spec_digest(model, Instance(model))}`.\n")
    catalogue = tmp_path / "README.md"
    digest = catalogue_digest([(model, Instance(model))])
    catalogue.write_text(f"`rmapcheck report` (rmapcheck 0.1.0, digest `{digest}`)")
    paths = [models_dir() / "anonmm.spec"]
    assert stale_models(properties, paths, catalogue) == []
    catalogue.write_text("`rmapcheck report` (rmapcheck 0.1.0, digest `0123456789abcdef`)")
    assert stale_models(properties, paths, catalogue) == [str(catalogue)]


def test_committed_documents_are_up_to_date() -> None:
    """`rmapcheck report --check`: docs/PROPERTIES.md and the table of
    models/README.md were generated from the models as they are (regenerate
    them with `rmapcheck report` when a spec or a default bound changes)."""
    root = models_dir().parent
    if not (root / "pyproject.toml").exists():
        pytest.skip("the models are installed, not in a checkout with its docs/")
    properties = root / "docs" / "PROPERTIES.md"
    catalogue = models_dir() / "README.md"
    assert stale_models(properties, None, catalogue) == []


def test_update_replaces_only_the_models_reported(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from rmapcheck.report import run_model, update_documents

    root = models_dir().parent
    properties, catalogue = tmp_path / "PROPERTIES.md", tmp_path / "README.md"
    properties.write_text((root / "docs" / "PROPERTIES.md").read_text())
    catalogue.write_text((models_dir() / "README.md").read_text())
    before = properties.read_text()
    stale_before = stale_models(properties, catalogue=catalogue)
    # Named relative to the checkout, as `rmapcheck report --update
    # models/anonmm.spec` names it (it once ended in an internal error).
    monkeypatch.chdir(root)
    report = run_model(Path("models/anonmm.spec"), prove=False)
    update_documents([report], properties, catalogue)
    after = properties.read_text()
    # Another model's section is as it was; anonmm's is the new run's.
    section = before[before.index("## anon_vma\n"):before.index("## anon_vma_chain\n")]
    assert section in after
    anonmm = after[after.index("## anonmm\n"):after.index("## anonmm_mremap_cow\n")]
    assert "Z3 (prove" not in anonmm  # this run did not prove
    assert "| `rmap_complete` | invariant | **violated** after 3 steps" in anonmm
    assert after.count("\n## ") == before.count("\n## ")
    # Nothing the update did not rerun turns current (and anonmm is current).
    stale_after = stale_models(properties, catalogue=catalogue)
    assert "anonmm" not in stale_after and set(stale_after) <= set(stale_before)
