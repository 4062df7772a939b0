"""The Z3 back end's evidence in words: failing parts and counterexamples to
induction.

BMC and the prover return what they found as data (``trace.FailingPart`` on
a ``Violated``, ``trace.Cti`` on an ``Unknown``); ``worded`` turns a result
of theirs into one whose details and reasons read as every other verdict
does, with model values named as the rest of ``render`` names them.
"""

from __future__ import annotations

import attrs

from rmapcheck.instance import Instance
from rmapcheck.render.explain import format_value
from rmapcheck.render.text import format_args, state_changes
from rmapcheck.symbolic.z3_emit import ERROR_PROP
from rmapcheck.trace import Cti, FailingPart, Result, Unknown, Verdict, Violated


def failing_part_text(instance: Instance, part: FailingPart) -> str:
    """``conjunct 2 of 3 at m.spec:12:5, for p = p0, v = 2``; empty when the
    property is one conjunct without variables."""
    label = ""
    if part.conjuncts > 1:
        at = f" at {part.span}" if part.span.line > 0 else ""
        label = f"conjunct {part.conjunct} of {part.conjuncts}{at}"
    if part.error:
        label = (label + ", " if label else "") + "evaluation hits a run-time error"
    if part.bindings:
        shown = ", ".join(f"{name} = {format_value(instance, sort, value)}"
                          for name, sort, value in part.bindings)
        label = (label + ", " if label else "") + "for " + shown
    return label


def cti_text(instance: Instance, cti: Cti) -> str:
    """``not inductive: act(p=p0) breaks inv (...) from a state satisfying
    ...; the step does x := 5``."""
    model = instance.model
    call = f"{cti.action}({format_args(instance, model.action(cti.action), cti.args)})"
    changes = list(state_changes(instance, cti.pre, cti.post))
    what = f"breaks {cti.prop}" if cti.prop != ERROR_PROP else "hits a run-time error"
    if cti.prop in {a.name for a in model.assertions()}:
        what = f"fails assertion {cti.prop}"
    text = f"not inductive: {call} {what}"
    part = failing_part_text(instance, cti.part) if cti.part is not None else ""
    if part:
        text += f" ({part})"
    if cti.assumed:
        text += f" from a state satisfying {', '.join(cti.assumed)}"
    if changes:
        text += "; the step does " + "; ".join(changes)
    return text


def worded(instance: Instance, result: Result) -> Result:
    """``result`` with the evidence its verdicts carry as data put in words
    (and dropped, so that wording twice changes nothing)."""

    def word(verdict: Verdict) -> Verdict:
        match verdict:
            case Violated(part=FailingPart() as part):
                text = failing_part_text(instance, part)
                return Violated(verdict.trace, f"{part.prop} fails: {text}" if text else "")
            case Unknown(cti=Cti() as cti):
                return Unknown(f"{cti_text(instance, cti)}; {verdict.reason}")
        return verdict

    return attrs.evolve(result, verdicts=tuple((name, word(v)) for name, v in result.verdicts))
