"""Pictures of the violating state: Graphviz source, SVG (ours and Graphviz's),
the HTML explorer's content, and random walks."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rmapcheck.cli import main
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance
from rmapcheck.render import dot as dot_module
from rmapcheck.render.html import trace_to_html
from rmapcheck.render.scene import build_scene
from rmapcheck.render.svg import scene_to_svg
from rmapcheck.trace import Step, Trace


def anonmm() -> tuple[Machine, Trace]:
    m = Machine(Instance(load_model("anonmm.spec", {}), {}))
    state = m.initial_state()
    steps = []
    for action, args in (("mmap", {"p": 0, "s": 0, "n": 1, "growsdown": False}),
                         ("fault", {"p": 0, "v": 0}),
                         ("mremap", {"p": 0, "a": 0, "n": 1, "t": 1})):
        state = m.step(state, action, args)
        steps.append(Step(action, tuple(args.items()), state, m.model.action(action).span))
    return m, Trace(m.initial_state(), tuple(steps))


def test_scene_has_the_missing_reverse_edge() -> None:
    m, trace = anonmm()
    scene = build_scene(m, trace, "rmap_complete")
    kinds = {(e.kind, e.src, e.dst) for e in scene.edges}
    assert ("pte", "p0.1", "f0") in kinds
    assert ("rmap", "f0", "p0") in kinds  # page->mapping: the anonmm of p0's family
    assert ("walk", "f0", "p0.ghost0") in kinds  # the walk looked at address 0: no VMA
    assert ("missing", "f0", "p0.1") in kinds
    assert scene.slot("p0.1").highlight
    # earlier states have no violation to draw
    assert all(e.kind != "missing" for e in build_scene(m, trace, "rmap_complete", 2).edges)


def test_dot_source() -> None:
    m, trace = anonmm()
    source = dot_module.trace_to_dot(m, trace, "rmap_complete")
    assert source.startswith("digraph rmap {")
    assert "subgraph cluster_p0" in source
    assert 'f0 -> p0_vma1:v1 [color="#d00000", style=dashed' in source
    assert "p0_vma1:v1 -> f0" in source
    assert "went stale after mremap" in source


def test_graphviz_renders_it(tmp_path: Path) -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (apt-get install graphviz); "
                    "the DOT source is tested without it")
    m, trace = anonmm()
    out = tmp_path / "anonmm.svg"
    dot_module.render_graphviz(m, trace, "rmap_complete", str(out), "svg")
    ET.fromstring(out.read_text())
    assert "missing rmap edge" in out.read_text()


def test_missing_graphviz_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(dot_module.shutil, "which", lambda name: None)
    code = main(["verify", "anonmm.spec", "--svg", str(tmp_path / "x.svg"),
                 "--dot", str(tmp_path / "x.dot")])
    assert code == 12  # the verdict is unchanged
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [("rmapcheck: Graphviz's 'dot' program is not installed, so no SVG was "
                    "written (install it with 'apt-get install graphviz'; --dot FILE writes "
                    "the picture's source without it)")]
    assert (tmp_path / "x.dot").exists() and not (tmp_path / "x.svg").exists()


def test_inline_svg_is_well_formed() -> None:
    m, trace = anonmm()
    for index in range(len(trace) + 1):
        svg = scene_to_svg(build_scene(m, trace, "rmap_complete", index), f"-s{index}")
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
    assert 'class="edge edge-missing"' in svg


def test_html_is_self_contained(tmp_path: Path) -> None:
    m, trace = anonmm()
    page = trace_to_html(m, trace, "rmap_complete")
    assert page.count('<div class="picture"') == 4
    assert "<script>" in page and "<script src" not in page and "<link" not in page
    without_ns = page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http://" not in without_ns and "https://" not in without_ns
    assert "computes address 0" in page


def test_simulate_is_reproducible(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ["simulate", "anonmm.spec", "--steps", "8", "--seed", "7", "--runs", "3"]
    first = main(args + ["--itf", str(tmp_path / "walk.itf.json")])
    out1 = capsys.readouterr().out
    second = main(args)
    out2 = capsys.readouterr().out
    assert first == second and first in (0, 12)
    assert out1 == out2
    assert "random walk 3 of 3, seed 7" in out1
    assert (tmp_path / "walk.itf.json").exists()
    assert main(["replay", str(tmp_path / "walk.itf.json"), "anonmm.spec"]) == first


def test_simulate_prints_the_last_walk_unless_asked_for_all(
        capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", "anon_vma.spec", "--steps", "5", "--seed", "3", "--runs", "4", "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if "random walk" in line] == [
        "anon_vma: random walk 4 of 4, seed 3, 5 steps",
        ("  4 random walks of at most 5 steps, seed 3: no property violated; 18 distinct "
         "states seen (--all-walks prints every walk)")]
    assert main([*args, "--all-walks"]) == 0
    titles = [line for line in capsys.readouterr().out.splitlines()
              if line.startswith("anon_vma: random walk")]
    assert len(titles) == 4


def test_checked_in_picture_shows_todays_counterexample() -> None:
    """docs/anonmm.dot draws the counterexample the tool finds today: the same
    pte, missing reverse edge and walk (other lines, such as the fields a page
    or VMA record, may lag behind the library; regenerate with the command in
    docs/README.md)."""
    m, trace = anonmm()
    checked_in = (Path(__file__).resolve().parent.parent / "docs" / "anonmm.dot").read_text()
    current = dot_module.trace_to_dot(m, trace, "rmap_complete")
    edges = [line for line in current.splitlines() if " -> " in line and "invis" not in line]
    assert len(edges) == 4
    for line in edges:
        assert line in checked_in, f"docs/anonmm.dot is stale (regenerate it): {line}"
