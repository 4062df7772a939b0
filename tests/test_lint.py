"""The code is held to its lint rules (ruff, pyproject.toml's [tool.ruff.lint])
and its type annotations (mypy on the package), from the checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          check=False)


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_ruff() -> None:
    done = _run("ruff", "check", "--no-cache", "rmapcheck", "tests", "benchmarks/run")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy() -> None:
    pytest.importorskip("mypy")
    done = _run(sys.executable, "-m", "mypy", "rmapcheck")
    assert done.returncode == 0, done.stdout + done.stderr
