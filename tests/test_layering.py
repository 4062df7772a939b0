"""The package's import structure: no module imports itself back through
others, and each imports only its own layer or the layers below it.

Every module of rmapcheck/ is parsed (not imported: nothing runs), and every
import counts, also those inside functions and under ``TYPE_CHECKING``: a
lazy import is still a dependency, only a later one. ``from package import
name`` depends on the submodule ``package.name`` when there is one, else on
the package itself.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "rmapcheck"

# Lowest first. A module belongs to the layer of the longest name below that
# is its own name or a package containing it.
LAYERS: list[tuple[str, list[str]]] = [
    # What every part shares: the IR and its printers, errors, traces and
    # verdicts, search limits, where the bundled files are, the board the
    # engines note their progress on; the package's __init__ (the version).
    ("foundation", ["rmapcheck", "rmapcheck.ir", "rmapcheck.ir_walk", "rmapcheck.ir_print",
                    "rmapcheck.errors", "rmapcheck.trace", "rmapcheck.limits",
                    "rmapcheck.resources", "rmapcheck.activity"]),
    # A spec read, checked and lowered, and laid out at its bounds.
    ("model", ["rmapcheck.frontend", "rmapcheck.instance"]),
    # The one semantics the engines share: the lowering and the interpreter.
    ("core", ["rmapcheck.core"]),
    # The engines. replay is here, not with the planner: it is the reference
    # check every engine runs on its traces before returning them (symbolic.bmc
    # and fuzz.run call it), and it needs nothing but the explicit machine.
    # conform runs the explicit machine beside the live kernel.
    ("engines", ["rmapcheck.explicit", "rmapcheck.replay", "rmapcheck.symbolic",
                 "rmapcheck.fuzz", "rmapcheck.conform"]),
    # Words and pictures of what the engines return.
    ("render", ["rmapcheck.render"]),
    # Which engine runs with which limits, and the report built from runs.
    ("planning", ["rmapcheck.portfolio", "rmapcheck.report"]),
    # What a user calls. fuzz.unittest_case is one: a unittest.TestCase
    # factory (``rmapcheck.fuzz.testcase``) that prints its counterexample as
    # the command line does, so it sits with the command line and not with the
    # fuzzer it drives (rmapcheck.fuzz reaches it only through importlib, by
    # name, when ``testcase`` is first used).
    # The language server (rmapcheck.lsp) is one too: it runs the front end
    # and the instance as ``rmapcheck check`` does, for an editor.
    ("front ends", ["rmapcheck.cli", "rmapcheck.__main__", "rmapcheck.fuzz.unittest_case",
                    "rmapcheck.lsp"]),
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every rmapcheck module that ``name`` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                yield node.lineno, sub if sub in MODULES else source


def _graph() -> dict[str, list[tuple[int, str]]]:
    return {name: sorted({(line, target) for line, target in _imports(name, path)
                          if target in MODULES and target != name})
            for name, path in MODULES.items()}


def _layer(module: str) -> int | None:
    matches = [(len(prefix), index) for index, (_, names) in enumerate(LAYERS)
               for prefix in names if module == prefix or module.startswith(prefix + ".")]
    return max(matches)[1] if matches else None  # the longest name decides


def test_every_module_has_a_layer() -> None:
    missing = sorted(m for m in MODULES if _layer(m) is None)
    assert not missing, f"no layer in tests/test_layering.py for: {', '.join(missing)}"


def test_no_import_cycle() -> None:
    graph = {name: sorted({target for _, target in edges}) for name, edges in _graph().items()}
    # Depth-first, keeping the path: the first back edge is a cycle.
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in graph[module]:
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_layers() -> None:
    wrong = []
    for name, edges in sorted(_graph().items()):
        own = _layer(name)
        for line, target in edges:
            theirs = _layer(target)
            if own is not None and theirs is not None and theirs > own:
                wrong.append(f"{MODULES[name].relative_to(ROOT.parent)}:{line} imports "
                             f"{target} (layer {LAYERS[theirs][0]!r}) from layer "
                             f"{LAYERS[own][0]!r}, below it")
    assert not wrong, "imports against the layers:\n  " + "\n  ".join(wrong)


@pytest.mark.parametrize("gone", ["rmapcheck.verify", "rmapcheck.explicit.auto",
                                  "rmapcheck.fuzz.cli", "rmapcheck.render.commands"])
def test_planning_and_commands_live_in_one_place(gone: str) -> None:
    # Which engine runs is decided in rmapcheck.portfolio alone, and the
    # command line lives in rmapcheck.cli alone.
    assert gone not in MODULES


def test_the_engines_do_not_plan() -> None:
    # A proof is handed what was searched; it never starts a search itself.
    for name, edges in _graph().items():
        if name.startswith("rmapcheck.symbolic"):
            for line, target in edges:
                assert not target.startswith(("rmapcheck.explicit.bfs",
                                              "rmapcheck.explicit.native",
                                              "rmapcheck.portfolio")), \
                    f"{MODULES[name].relative_to(ROOT.parent)}:{line} imports {target}"
