"""``rmapcheck report``: run every bundled model and write docs/PROPERTIES.md
and models/README.md from the results (``rmapcheck.report``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rmapcheck import errors
from rmapcheck.cli.options import add_command, add_quiet, positive


def add_parser(sub: Any) -> None:
    report = add_command(
        sub, "report", help="check every bundled model and write docs/PROPERTIES.md and "
        "models/README.md from the results", epilog=False)
    report.add_argument("files", nargs="*", metavar="FILE",
                        help="models to report on (default: every bundled design)")
    report.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a model changed since the committed "
                        "documents were generated (compares digests: runs no search)")
    report.add_argument("--update", action="store_true",
                        help="replace only the given models' sections and rows in the "
                        "documents as they are (the others are kept)")
    report.add_argument("--no-prove", action="store_true", help="skip the Z3 proofs")
    add_quiet(report)
    report.add_argument("--docs", default="docs", metavar="DIR",
                        help="where PROPERTIES.md goes (default: docs)")
    report.add_argument("--catalogue", default=None, metavar="FILE",
                        help="where the models table goes (default: models/README.md)")
    report.add_argument("--solver-timeout", type=positive(float), default=30.0,
                        metavar="SECONDS", help="the limit of each solver query (default: 30)")
    report.add_argument("--proof-timeout", type=positive(float), default=600.0,
                        metavar="SECONDS",
                        help="the limit of each model's proofs together (default: 600)")
    report.add_argument("--budget", type=positive(int), default=20_000_000, metavar="STATES",
                        help="states for each model's explicit search; a search that does not "
                        "finish reports the depth it covered (default: 20,000,000)")


def _log_line(line: str) -> None:
    sys.stderr.write(line + "\n")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rmapcheck.frontend import resolve_spec_path
    from rmapcheck.report import report_models, stale_models, update_documents, write_documents
    from rmapcheck.resources import models_dir

    paths = [resolve_spec_path(f) for f in args.files] or None
    catalogue = Path(args.catalogue) if args.catalogue else models_dir() / "README.md"
    if args.check:
        properties = Path(args.docs) / "PROPERTIES.md"
        changed = stale_models(properties, paths, None if paths else catalogue)
        if changed:
            sys.stderr.write(f"rmapcheck: the generated documents are stale for "
                             f"{', '.join(changed)}; run 'rmapcheck report' and commit the "
                             "result\n")
            return 1
        print(f"{properties} and {catalogue} are up to date with every model")
        return errors.EXIT_OK
    reports = report_models(paths, prove=not args.no_prove, solver_timeout=args.solver_timeout,
                            proof_timeout=args.proof_timeout, budget=args.budget,
                            log=_log_line)
    if args.update:
        update_documents(reports, Path(args.docs) / "PROPERTIES.md", catalogue)
    else:
        write_documents(reports, Path(args.docs) / "PROPERTIES.md", catalogue)
    print(f"wrote {Path(args.docs) / 'PROPERTIES.md'} and {catalogue}")
    return errors.EXIT_OK
