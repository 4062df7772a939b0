"""``python -m rmapcheck.lsp`` (and the ``rmapcheck-lsp`` command): the
language server over stdio, for an editor to start."""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from rmapcheck.lsp.server import main as serve
    except ImportError as err:
        # pygls is the optional `lsp` extra; without it, say how to get it
        # instead of a traceback in the editor's log.
        if (err.name or "").partition(".")[0] not in ("pygls", "lsprotocol"):
            raise
        sys.stderr.write("rmapcheck-lsp needs pygls 2: pip install 'rmapcheck[lsp]'\n")
        return 1
    return serve()


if __name__ == "__main__":
    sys.exit(main())
