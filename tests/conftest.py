"""Fixtures several test files share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rmapcheck.cli import main

ROOT = Path(__file__).resolve().parent.parent
BROKEN_FORK = "models/broken/anon_vma_fork_unlinked.spec"


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checkout's root as the working directory: outputs name spec files
    relative to it."""
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="session")
def broken_fork(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The counterexample of the broken fork as ITF: mmap, fault and fork (3 steps)."""
    path = tmp_path_factory.mktemp("traces") / "fork.itf.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        assert main(["verify", BROKEN_FORK, "--itf", str(path)]) == 12
    yield path
