"""The core: the meaning of a model at fixed bounds, decided once.

``lower`` turns the IR of an ``Instance`` into the nodes of ``nodes`` (a
``CoreModel``); ``interp`` runs them (the reference semantics); the Python,
C and Z3 back ends print them (``rmapcheck.explicit.python_emit``,
``rmapcheck.explicit.native.c_emit``, ``rmapcheck.symbolic.z3_emit``).
"""
