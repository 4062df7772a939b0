"""Editor support: a language server for ``.spec`` files.

``module_loader`` checks a buffer with the real front end (taking unsaved
text from the editor), ``name_index`` answers hover and go-to-definition from
the parsed modules, and ``server`` is the pygls wiring (``python -m
rmapcheck.lsp`` or ``rmapcheck-lsp``). Only ``server`` needs pygls, so the
rest imports without the ``lsp`` extra.
"""
