"""The Z3 back end: the IR as a transition relation (``encode``), bounded model
checking (``bmc.bmc``) and proofs (``induction.prove``: induction with lemmas,
k-induction, Spacer in ``spacer``).

Every trace it produces is replayed on the explicit machine before it is
returned; a solver ``unknown`` or timeout is reported as ``Unknown``, never as
a proof or as "holds". What it found is returned as data (a failing conjunct,
a counterexample to induction), for ``rmapcheck.render.proof`` to word; a
proof is handed the explicit search that ran before it
(``rmapcheck.portfolio`` plans that search, as every other).
"""
