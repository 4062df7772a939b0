"""Proofs: induction with lemmas and CTIs, k-induction, Spacer, auto, and the
honesty rules (unknown is never proved; a vacuous model proves nothing)."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_symbolic_support import B, Builder, bi, counter, eq, evens, mutex, not_, vmlike

from rmapcheck import ir
from rmapcheck.errors import SpecError
from rmapcheck.instance import Instance
from rmapcheck.portfolio import prove
from rmapcheck.trace import Holds, Proved, Unknown, Violated


def without(model: ir.Model, *names: str) -> ir.Model:
    props = tuple(p for p in model.properties if p.name not in names)
    return ir.Model(model.name, model.doc, model.consts, model.sorts, model.state, model.init,
                    model.actions, props)


def test_lemma_makes_a_non_inductive_property_provable() -> None:
    result = prove(Instance(evens()), method="induction")
    v = result.verdict("not5")
    assert isinstance(v, Proved) and v.method == "induction" and v.lemmas == ("even",)
    assert isinstance(result.verdict("even"), Proved)
    assert isinstance(result.verdict("reach8"), Holds)  # the model is not vacuous


def test_induction_failure_names_action_conjunct_and_cti() -> None:
    result = prove(Instance(without(evens(), "even")), method="induction")
    v = result.verdict("not5")
    assert isinstance(v, Unknown)
    assert "not inductive: inc2()" in v.reason
    assert "x := 5" in v.reason
    # What the breadth-first search before the proof covered: every state.
    assert "no violation in every reachable state; 6 states (explicit search)" in v.reason
    ctis = dict(dict(result.stats.extra)["cti"])
    cti = ctis["not5"]
    assert cti.initial == (3,) and cti.steps[0].action == "inc2" and cti.steps[0].state == (5,)


def test_auto_falls_back_on_a_finished_search() -> None:
    # Nothing proves not5 without its lemma (no inference, no time for
    # Spacer), but the search saw all 6 reachable states: that is the proof
    # for this instance; the CTI is still there for the spec's author.
    result = prove(Instance(without(evens(), "even")), method="auto", infer_lemmas=False,
                   spacer_budget=0.001, k=1)
    v = result.verdict("not5")
    assert isinstance(v, Proved) and v.method == "exhaustive search", v
    assert v.detail == "every reachable state; 6 states"
    assert "not5" in dict(dict(result.stats.extra)["cti"])


def test_cti_names_the_quantified_instance() -> None:
    result = prove(Instance(without(mutex(), "owner_ok")), method="induction")
    v = result.verdict("mutex")
    assert isinstance(v, Unknown) and "enter(" in v.reason and "for p = " in v.reason


def test_symmetric_processes_proved_with_lemma() -> None:
    result = prove(Instance(mutex()), method="induction")
    v = result.verdict("mutex")
    assert isinstance(v, Proved) and "owner_ok" in v.lemmas


def test_reachable_violation_is_reported_with_trace() -> None:
    result = prove(Instance(mutex(broken=True)), method="induction")
    v = result.verdict("mutex")
    assert isinstance(v, Violated) and len(v.trace) == 4
    v = prove(Instance(counter()), method="induction").verdict("small")
    assert isinstance(v, Violated) and len(v.trace) == 3


def two_step() -> ir.Model:
    """``y := x; x := false``: "not y" is not 1-inductive (x may be true in an
    unreachable state) but 2-inductive."""
    m = Builder("twostep")
    m.var("x", B)
    m.var("y", B)
    m.action("shift", [], m.set("y", value=m.read("x")), m.set("x", value=ir.BoolLit(False)))
    m.prop("not_y", not_(m.read("y")))
    m.prop("stays", eq(m.read("x"), m.read("x")), kind="sometimes")
    return m.build()


def test_k_induction_proves_what_induction_cannot() -> None:
    inst = Instance(two_step())
    assert isinstance(prove(inst, method="induction").verdict("not_y"), Unknown)
    v = prove(inst, method="kinduction", k=2).verdict("not_y")
    assert isinstance(v, Proved) and v.method == "k-induction (k=2)"


def test_spacer_finds_the_invariant_itself() -> None:
    result = prove(Instance(without(evens(), "even")), method="spacer")
    v = result.verdict("not5")
    assert isinstance(v, Proved) and v.method.startswith("spacer")
    result = prove(Instance(vmlike()), method="spacer")
    assert isinstance(result.verdict("rmap_complete"), Proved)
    assert isinstance(result.verdict("mapcount"), Proved)


def test_spacer_refutation_gets_a_bmc_trace() -> None:
    result = prove(Instance(mutex(broken=True)), method="spacer")
    v = result.verdict("mutex")
    assert isinstance(v, Violated) and len(v.trace) == 4


def test_auto_reports_the_method() -> None:
    # Induction answers when it can; Spacer's proofs count for what it leaves.
    result = prove(Instance(evens()), method="auto")
    v = result.verdict("not5")
    assert isinstance(v, Proved) and v.method == "induction" and v.lemmas == ("even",)
    result = prove(Instance(without(evens(), "even")), method="auto")
    v = result.verdict("not5")
    assert isinstance(v, Proved) and v.method.startswith("spacer")
    methods = dict(result.stats.extra)["methods"]
    assert methods[:2] == ("induction", "spacer")


def test_assertions_proved_or_refuted() -> None:
    result = prove(Instance(vmlike(variant="badassert")), method="auto")
    v = result.verdict("single_sharer")
    assert isinstance(v, Violated) and len(v.trace) == 2


def test_timeout_is_unknown_never_proved() -> None:
    result = prove(Instance(vmlike()), method="spacer", solver_timeout=0.001)
    for name in ("rmap_complete", "mapcount"):
        assert isinstance(result.verdict(name), Unknown)


@pytest.mark.parametrize("method", ["auto", "induction", "kinduction"])
def test_time_limit_of_the_whole_proof_is_unknown_never_proved(method: str) -> None:
    # Every query gets what is left of one budget, so a limit already spent
    # leaves each property unknown, saying so, and no query answers unsat.
    result = prove(Instance(vmlike()), method=method, time_limit=1e-9)  # type: ignore[arg-type]
    for name, verdict in result.verdicts:
        assert isinstance(verdict, Unknown), (name, verdict)
    assert any("time limit" in v.reason for _, v in result.verdicts  # type: ignore[union-attr]
               if isinstance(v, Unknown))


def test_time_limit_leaves_a_quick_proof_alone() -> None:
    result = prove(Instance(evens()), method="induction", time_limit=600)
    assert isinstance(result.verdict("not5"), Proved)


def test_vacuous_model_proves_nothing() -> None:
    m = Builder("vacuous")
    m.var("x", B)
    m.action("stay", [], ir.Require(m.read("x")), m.set("x", value=ir.BoolLit(True)))
    m.prop("never_x", not_(m.read("x")))
    m.prop("x_sometimes", m.read("x"), kind="sometimes")
    result = prove(Instance(m.build()), method="induction")
    v = result.verdict("never_x")
    assert isinstance(v, Unknown) and "vacuous" in v.reason
    assert isinstance(result.verdict("x_sometimes"), Unknown)


def test_no_initial_state_is_an_error_not_a_proof() -> None:
    m = counter()
    bad = ir.Model(m.name, m.doc, m.consts, m.sorts, m.state,
                   (ir.Require(bi("lt", ir.IntLit(1), ir.IntLit(0))),), m.actions, m.properties)
    with pytest.raises(SpecError):
        prove(Instance(bad), method="induction")


def test_split_by_arguments_gives_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Force every per-action induction query to be split, one parameter at a
    # time, down to its instances (share(p, q, v): three levels).
    from rmapcheck.symbolic import induction

    variants = [vmlike(), vmlike(variant="noadd")]
    whole = [prove(Instance(m), method="induction").verdicts for m in variants]
    monkeypatch.setattr(induction, "SPLIT_AFTER", 0.0001)
    for m, verdicts in zip(variants, whole, strict=True):
        split = prove(Instance(m), method="induction").verdicts
        assert [(n, type(v)) for n, v in split] == [(n, type(v)) for n, v in verdicts]
    assert any(isinstance(v, Unknown) for _, v in whole[1])
    result = prove(Instance(mutex()), method="induction")
    v = result.verdict("mutex")
    assert isinstance(v, Proved) and "owner_ok" in v.lemmas
    v = prove(Instance(without(mutex(), "owner_ok")), method="induction").verdict("mutex")
    assert isinstance(v, Unknown) and "not inductive: enter(" in v.reason


@pytest.mark.parametrize("model", [mutex, vmlike, evens])
def test_one_process_and_two_give_the_same_proofs(model: object) -> None:
    # The step queries go to a forked child and back as plain data; with one
    # process they do not. The same properties proved, by the same method, the
    # same ones refuted by a CTI. (Not the same lemma lists: an unsat core
    # depends on Z3's numbering of the query literals, and two runs in one
    # process already differ there.)
    from rmapcheck.symbolic.bmc import select_targets
    from rmapcheck.symbolic.induction import induction
    from rmapcheck.symbolic.z3_emit import EVAL_ERROR, Encoder

    for variant in (model(), without(model(), *[p.name for p in model().properties  # type: ignore[operator]
                                               if p.kind == "lemma"])):
        inst = Instance(variant)
        targets = [t for t in select_targets(inst.model, None)
                   if t.kind != "witness" and t.name != EVAL_ERROR]
        one = induction(Encoder(inst), targets, workers=1)
        two = induction(Encoder(inst), targets, workers=2)
        assert {n: m for n, (m, _) in one.proved.items()} == \
            {n: m for n, (m, _) in two.proved.items()}
        for _, lemmas in two.proved.values():  # a lemma a proof names is proved with it
            assert set(lemmas) <= set(two.proved)
        assert set(one.ctis) == set(two.ctis)
        assert one.unknown == two.unknown


def test_spacer_that_overruns_its_budget_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from rmapcheck.symbolic import spacer
    from rmapcheck.symbolic.bmc import select_targets
    from rmapcheck.symbolic.z3_emit import Encoder

    def hangs(*args: object) -> None:
        time.sleep(60)  # as Spacer did on anon_vma, far past its timeout

    monkeypatch.setattr(spacer, "spacer_prove", hangs)
    monkeypatch.setattr(spacer, "GRACE_SECONDS", 0.2)
    inst = Instance(evens())
    targets = [t for t in select_targets(inst.model, None) if t.kind == "state"]
    started = time.monotonic()
    outcome = spacer.spacer_prove_bounded(Encoder(inst), targets, 0.2)
    assert time.monotonic() - started < 30
    assert not outcome.proved and set(outcome.unknown) == {t.name for t in targets}
    assert all("stopped" in why for why in outcome.unknown.values())
