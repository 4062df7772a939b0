"""Lemma inference: the candidates, their text, and that inference can add
proofs but never a wrong one."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance
from rmapcheck.ir_print import format_expr
from rmapcheck.portfolio import prove
from rmapcheck.resources import models_dir
from rmapcheck.symbolic import infer as inference
from rmapcheck.symbolic.z3_emit import ERROR_PROP
from rmapcheck.trace import Proved, Unknown


def _plain(text: str) -> str:
    return re.sub(r"#\d+", "", text)


# anon_vma at two pages: the same candidates and proofs as at its default four,
# at a tenth of the time (the proof without the spec's lemmas takes 73 s there).
TWO_PAGES = {"VPAGES": 2}


def test_anon_vma_candidates() -> None:
    instance = Instance(load_model("anon_vma.spec", TWO_PAGES), TWO_PAGES)
    widened, found = inference.infer(instance)
    assert sorted(found) == sorted(f"inferred_{n}" for n in (
        "range_vma_pgoff_min", "range_vma_pgoff_max", "range_vma_pgoff_if_anon_min",
        "range_vma_pgoff_if_anon_max", "range_page_mapcount_max",
        "range_page_mapcount_if_used_min", "range_page_mapcount_if_mapping_min",
        "range_page_mapcount_if_mapping_max", "range_page_index_min", "range_page_index_max",
        "range_page_index_if_mapping_min", "range_page_index_if_mapping_max",
        "ref_vma_anon_av_used", "ref_pte_page_used", "ref_pte_page_mapping",
        "ref_page_mapping_av_used", "dead_alive_vma", "dead_alive_pte", "dead_alive_wp",
        "fixed_page_mapcount_if_no_used", "fixed_page_mapping_if_no_used",
        "fixed_page_index_if_no_used", "fixed_page_used_if_no_mapping",
        "fixed_page_mapcount_if_no_mapping", "fixed_page_index_if_no_mapping",
        "fixed_page_used_if_mapping", "implies_wp_pte", "fixed_vma_unaccounted",
    ))
    assert found["inferred_ref_vma_anon_av_used"].text == (
        'lemma inferred_ref_vma_anon_av_used "what vma.anon refers to has av_used":\n'
        "  forall p: Proc, v: VPage. vma[p, v] != none and vma[p, v].anon != none -> "
        "av_used[vma[p, v].anon]")
    assert {p.name for p in widened.model.properties} == \
        {p.name for p in instance.model.properties} | set(found)


def test_inferred_lemmas_paste_into_the_spec(tmp_path: Path) -> None:
    # What the prover prints is spec text: appended to the spec, it loads and
    # lowers to the same lemma.
    for name in ("vm.spec", "anon_vma.spec"):
        shutil.copy(models_dir() / name, tmp_path / name)
    instance = Instance(load_model("anon_vma.spec", TWO_PAGES), TWO_PAGES)
    _, found = inference.infer(instance)
    spec = tmp_path / "anon_vma.spec"
    spec.write_text(spec.read_text() + "\n" + "\n\n".join(c.text for c in found.values()) + "\n")
    pasted = load_model(spec, TWO_PAGES)
    for name, candidate in found.items():
        assert _plain(format_expr(pasted.prop(name).expr)) == \
            _plain(format_expr(candidate.prop.expr)), name


def test_anon_vma_proved_without_the_specs_lemmas() -> None:
    # Issue 7's goal: no lemma written by hand. The spec's two (wf_pgoff,
    # anon_vma_allocated) are left out; run-time errors are then excluded only
    # with an inferred bound on vm_pgoff.
    instance = Instance(load_model("anon_vma.spec", TWO_PAGES), TWO_PAGES)
    assert isinstance(prove(instance, method="induction", spec_lemmas=False,
                            infer_lemmas=False).verdict(ERROR_PROP), Unknown)
    result = prove(instance, method="induction", spec_lemmas=False)
    witnesses = {p.name for p in instance.model.witnesses}
    for name, verdict in result.verdicts:
        assert isinstance(verdict, Proved) or name in witnesses, (name, verdict)
    assert ERROR_PROP not in dict(result.verdicts)  # excluded: not listed
    texts = dict(result.stats.extra)["inferred lemmas"]
    assert any(t.startswith("lemma inferred_range_vma_pgoff_max ") for t in texts)
    assert "induction with inferred lemmas" in dict(result.stats.extra)["methods"]


def test_a_poor_sample_never_makes_a_wrong_proof(monkeypatch: pytest.MonkeyPatch) -> None:
    # With the initial state as the only sample, candidates that reachable
    # states break survive the filter ("page->index is at most 0"); Houdini
    # must drop them, and every lemma a proof uses must be a true invariant.
    monkeypatch.setattr(inference, "BFS_STATES", 1)
    monkeypatch.setattr(inference, "WALKS", 0)
    consts = {"PROCS": 1, "FRAMES": 2, **TWO_PAGES}
    instance = Instance(load_model("anon_vma.spec", consts), consts)
    widened, found = inference.infer(instance)
    assert "inferred_range_page_index_max" in found  # false, and not filtered out
    result = prove(instance, method="induction", spec_lemmas=False)
    used = {lemma for _, v in result.verdicts if isinstance(v, Proved) for lemma in v.lemmas}
    used &= set(found)
    assert "inferred_range_page_index_max" not in used
    machine = Machine(widened, symmetry=False)
    seen = {machine.initial_state()}
    frontier = list(seen)
    while frontier:
        state = frontier.pop()
        for name in used:
            assert machine.holds(name, state), name
        for _, nxt, _ in machine.expand(state):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert len(seen) > 1000
    witnesses = {p.name for p in instance.model.witnesses}
    for name, verdict in result.verdicts:
        assert isinstance(verdict, (Proved, Unknown)) or name in witnesses, (name, verdict)


def test_objrmap_fully_proved_with_inferred_lemmas() -> None:
    # rmap_sound, pte_chain_clean and swap_out_sound have counterexamples to
    # induction under the spec's lemmas; a pte chain entry naming a pte that
    # maps the page ("link") and a file VMA's pgoff bound rule them out.
    instance = Instance(load_model("objrmap.spec"))
    result = prove(instance, method="induction")
    witnesses = {p.name for p in instance.model.witnesses}
    for name, verdict in result.verdicts:
        assert isinstance(verdict, Proved) or name in witnesses, (name, verdict)
    texts = dict(result.stats.extra)["inferred lemmas"]
    assert any(t.startswith("lemma inferred_link_chain_pte ") for t in texts)
