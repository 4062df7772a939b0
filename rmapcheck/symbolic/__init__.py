"""The Z3 back end: the IR as a transition relation (``encode``), bounded model
checking (``bmc.bmc``) and proofs (``induction.prove``: induction with lemmas,
k-induction, Spacer in ``spacer``).

Every trace it produces is replayed on the explicit machine before it is
returned; a solver ``unknown`` or timeout is reported as ``Unknown``, never as
a proof or as "holds".
"""
