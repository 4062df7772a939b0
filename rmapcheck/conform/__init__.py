"""``rmapcheck conform``: the model held to the live kernel.

Operation sequences (random walks of the model's machine, or a given trace)
run on the model and on real processes side by side, one driven process per
modelled mm (``driven_process``, ``driven.c``); after every step what the
spec declares observable (its ``observe def``s) is compared with what /proc
shows (``kernel_view``), as sharing classes of frames carried across the step
(``observation``). A step is the kernel operation its ``observe action``
names (``kernel_steps``); the sequences come from ``walks``, mismatches are
shrunk by ``shrink``, and ``harness`` runs it all.
"""

from rmapcheck.conform.harness import ConformResult, Harness, Plan, conform, harness
from rmapcheck.conform.kernel_view import KernelUnsuitable

__all__ = ["ConformResult", "Harness", "KernelUnsuitable", "Plan", "conform", "harness"]
