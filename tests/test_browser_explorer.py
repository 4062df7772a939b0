"""The HTML explorer as a kernel developer reads it, checked in headless
chromium on the counterexamples of two broken designs.

Through the DOM: the header (spec, property, step i of n, the action) stays
in view when the page is scrolled to the bottom; #step-2 in the URL opens
step 2 and stepping rewrites the fragment without adding history entries; the
slots a step changed, as the page marks them, are exactly those that differ
between the trace's states (computed here from the decoded states, not by the
renderer's code); every text outside the pictures is at least 14px; no text of
a picture overlaps another or leaves the picture, at 1400x900 and 1024x768; at
the violation the walk is listed with the missed pte marked.

Screenshots of each page at both sizes are saved under a temp dir and their
paths printed. Without chromium the tests skip (with CI=true they fail: see
``_browser`` in test_browser_html.py).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_browser_html import DevTools, _eval, _press, _problems, running_browser

from rmapcheck.explicit import bfs
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.render.explain import explain, format_value
from rmapcheck.render.html import trace_to_html
from rmapcheck.render.vmview import vm_layout
from rmapcheck.trace import Trace, Violated

# fork without linking the child's VMA (anon_vma), and the same with
# anon_vma_chain: its anon_vmas have parents, drawn as links between them
MODELS = ("anon_vma_fork_unlinked", "anon_vma_chain_fork_unlinked", "anon_vma_merge_any_anon")
SIZES = ((1400, 900), (1024, 768))


class Page:
    def __init__(self, name: str, machine: Machine, trace: Trace, path: Path) -> None:
        self.name, self.machine, self.trace, self.path = name, machine, trace, path

    def uri(self, fragment: str = "") -> str:
        return self.path.resolve().as_uri() + fragment


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Page]:
    out = {}
    folder = tmp_path_factory.mktemp("explorer")
    for name in MODELS:
        machine = Machine(Instance(load_model(name), {}))
        result = bfs.search(machine, SearchLimits(properties=["rmap_complete"]))
        verdict = result.verdict("rmap_complete")
        assert isinstance(verdict, Violated)
        path = folder / f"{name}.html"
        path.write_text(trace_to_html(machine, verdict.trace, "rmap_complete"))
        out[name] = Page(name, machine, verdict.trace, path)
    return out


@pytest.fixture(scope="module")
def chromium() -> Iterator[DevTools]:
    with running_browser() as tools:
        yield tools


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


_TABS: list[str] = []


def _open(tools: DevTools, url: str, width: int = 1400, height: int = 900) -> str:
    """A new tab at ``url`` (the browser is shared by the module's tests; the
    previous tab is closed)."""
    while _TABS:
        tools.send("Target.closeTarget", {"targetId": _TABS.pop()})
    tools.events.clear()
    target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    _TABS.append(target)
    session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        tools.send(f"{domain}.enable", session=session)
    tools.send("Emulation.setDeviceMetricsOverride",
               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
               session=session)
    tools.send("Page.navigate", {"url": url}, session=session)
    tools.wait_event("Page.loadEventFired")
    return session


def _screenshot(tools: DevTools, session: str, path: Path) -> None:
    data = tools.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
    path.write_bytes(base64.b64decode(data))


def _shown(tools: DevTools, session: str) -> int:
    return int(_eval(tools, session, "document.querySelector('.picture.shown').dataset.index"))


def _go(tools: DevTools, session: str, step: int) -> None:
    _eval(tools, session, f"location.hash = '#step-{step}'")
    assert _shown(tools, session) == step


# ------------------------------------------------------------ independent of the renderer


def changed_slots(machine: Machine, trace: Trace, step: int) -> set[str]:
    """The names of the slots that differ between the states before and after
    ``step``: an entry of a state variable, or a field of a record entry (a
    record that appears or goes is one slot), as the spec writes them."""
    instance = machine.instance
    states = trace.states()
    before, after = instance.decode(states[step - 1]), instance.decode(states[step])
    names: set[str] = set()
    for var, rng in instance.layout.items():
        keys = rng.var.keys
        pairs = ([(k, before[var][k], after[var][k]) for k in after[var]] if keys
                 else [((), before[var], after[var])])
        for key, old, new in pairs:
            name = var
            if keys:
                name += "[" + ", ".join(format_value(instance, sort, k)
                                        for sort, k in zip(keys, key, strict=True)) + "]"
            todo = [(name, old, new)]
            while todo:
                where, a, b = todo.pop()
                if a == b:
                    continue
                if isinstance(a, dict) and isinstance(b, dict):
                    todo.extend((f"{where}.{f}", a[f], b[f]) for f in a)
                else:
                    names.add(where)
    return names


# ------------------------------------------------------------ the tests


def test_screenshots(chromium: DevTools, pages: dict[str, Page], shots: Path,
                     capsys: pytest.CaptureFixture[str]) -> None:
    saved = []
    for page in pages.values():
        for width, height in SIZES:
            session = _open(chromium, page.uri(), width, height)
            path = shots / f"{page.name}-{width}x{height}.png"
            _screenshot(chromium, session, path)
            saved.append(path)
            _eval(chromium, session, "window.scrollTo(0, document.body.scrollHeight)")
            path = shots / f"{page.name}-{width}x{height}-bottom.png"
            _screenshot(chromium, session, path)
            saved.append(path)
            assert _problems(chromium) == []
    assert all(p.stat().st_size > 10_000 for p in saved)
    with capsys.disabled():
        print("\nexplorer screenshots:\n  " + "\n  ".join(str(p) for p in saved))


@pytest.mark.parametrize("name", MODELS)
def test_header_stays_in_view(chromium: DevTools, pages: dict[str, Page], name: str) -> None:
    page = pages[name]
    session = _open(chromium, page.uri(), 1024, 768)
    n = len(page.trace)
    last = page.trace.steps[-1].action
    _eval(chromium, session, "window.scrollTo(0, document.body.scrollHeight)")
    # the page is long enough to scroll, and did
    assert _eval(chromium, session, "window.scrollY") > 200
    top, bottom = _eval(chromium, session,
                        "(function(){var r=document.querySelector('header')"
                        ".getBoundingClientRect(); return [r.top, r.bottom];})()")
    assert top == 0 and bottom > 60
    # nothing is drawn over it: the point in its middle belongs to it
    assert _eval(chromium, session,
                 "document.querySelector('header').contains(document.elementFromPoint("
                 "300, document.querySelector('header').getBoundingClientRect().bottom / 2))")
    text = _eval(chromium, session, "document.querySelector('header').innerText")
    assert name in text and "rmap_complete" in text
    assert f"step {n} of {n}:" in text and f"{last}(" in text and "violation" in text
    # stepping back while scrolled: the header follows the step
    _press(chromium, session, "ArrowLeft")
    text = _eval(chromium, session, "document.querySelector('header').innerText")
    assert f"step {n - 1} of {n}:" in text
    assert f"{page.trace.steps[-2].action}(" in text


def test_url_fragment_names_the_step(chromium: DevTools, pages: dict[str, Page]) -> None:
    page = pages["anon_vma_fork_unlinked"]
    session = _open(chromium, page.uri("#step-2"))
    assert _shown(chromium, session) == 2
    assert _eval(chromium, session, "document.body.dataset.step") == "2"
    assert _eval(chromium, session, "document.querySelector('#steps > li.selected')"
                 ".dataset.index") == "2"
    assert _eval(chromium, session, "document.getElementById('status').textContent") == \
        "step 2 of 3:"
    assert _eval(chromium, session, "document.getElementById('current-call').textContent") == \
        "fault(p=p0, v=0)"
    history = _eval(chromium, session, "history.length")
    _press(chromium, session, "ArrowRight")
    assert _shown(chromium, session) == 3
    assert _eval(chromium, session, "location.hash") == "#step-3"
    _press(chromium, session, "ArrowLeft")
    _press(chromium, session, "ArrowLeft")
    assert _eval(chromium, session, "location.hash") == "#step-1"
    # replaceState: stepping adds no history entries
    assert _eval(chromium, session, "history.length") == history
    # the explanation's "set at step 2" is a link to step 2
    _eval(chromium, session, "document.querySelector('#explanation a[href=\"#step-2\"]').click()")
    assert _shown(chromium, session) == 2
    assert _eval(chromium, session, "location.hash") == "#step-2"
    # every step has its anchor, and no fragment opens the last step
    assert _eval(chromium, session,
                 "[0,1,2,3].every(function(i){return document.getElementById('step-'+i)"
                 " !== null;})")
    session = _open(chromium, page.uri())
    assert _shown(chromium, session) == 3
    assert _problems(chromium) == []


def test_table_only_page_steps(chromium: DevTools, tmp_path: Path) -> None:
    """A model without the VM library: no picture, the same stepping."""
    machine, trace = _violation(Path(__file__).resolve().parent / "specs" / "fuzz_assert.spec",
                                "small")
    path = tmp_path / "fuzz_assert.html"
    path.write_text(trace_to_html(machine, trace, "small"))
    session = _open(chromium, path.resolve().as_uri() + "#step-2")
    assert _shown(chromium, session) == 2
    assert _eval(chromium, session, "document.querySelector('.picture.shown .state-table')"
                 ".textContent") == "x = 2"
    _press(chromium, session, "ArrowLeft")
    assert _shown(chromium, session) == 1
    assert _eval(chromium, session, "location.hash") == "#step-1"
    assert _problems(chromium) == []


@pytest.mark.parametrize("name", MODELS)
def test_changed_slots_are_marked(chromium: DevTools, pages: dict[str, Page], name: str) -> None:
    page = pages[name]
    session = _open(chromium, page.uri())
    for step in range(len(page.trace) + 1):
        _go(chromium, session, step)
        marked = _eval(chromium, session, "Array.prototype.map.call(document.querySelectorAll("
                       "'.picture.shown .state-table .changed'), function(e){"
                       "return e.dataset.slot;})")
        listed = _eval(chromium, session, "Array.prototype.map.call(document.querySelectorAll("
                       "'.picture.shown .changed-list code'), function(e){"
                       "return e.dataset.slot;})")
        in_svg = _eval(chromium, session, "Array.prototype.map.call(document.querySelectorAll("
                       "'.picture.shown svg .changed'), function(e){"
                       "return e.getAttribute('data-slots');})")
        expected = changed_slots(page.machine, page.trace, step) if step else set()
        assert len(marked) == len(expected), (step, marked, expected)
        assert set(marked) == expected
        assert sorted(listed) == sorted(expected)
        svg_slots = {s for group in in_svg for s in group.split("; ")}
        assert svg_slots <= expected, (step, svg_slots - expected)
        # the picture marks every pte the step set (its slot and its edge)
        new_ptes = {s for s in expected if s.startswith("pte[")
                    and not _eval(chromium, session, "document.querySelector("
                                  f"'.picture.shown .changed-list code[data-slot=\"{s}\"]')"
                                  ".textContent.endsWith('none')")}
        assert new_ptes <= svg_slots, (step, new_ptes - svg_slots)
        if step:
            assert svg_slots, f"step {step} changed nothing the picture draws"


def test_body_text_is_at_least_14px(chromium: DevTools, pages: dict[str, Page]) -> None:
    session = _open(chromium, pages["anon_vma_chain_fork_unlinked"].uri(), 1024, 768)
    assert float(_eval(chromium, session,
                       "getComputedStyle(document.body).fontSize").removesuffix("px")) >= 14
    for step in (0, 1, 3):
        _go(chromium, session, step)
        small = _eval(chromium, session, """(function () {
          var out = [];
          document.querySelectorAll('body *').forEach(function (e) {
            if (e.closest('svg') || e.getClientRects().length === 0) { return; }
            var own = Array.prototype.some.call(e.childNodes, function (c) {
              return c.nodeType === 3 && c.textContent.trim() !== '';
            });
            var size = parseFloat(getComputedStyle(e).fontSize);
            if (own && size < 14) { out.push(e.tagName + '.' + e.className + ': ' + size); }
          });
          return out;
        })()""")
        assert small == []
    for selector in (".picture.shown .state-table", ".picture.shown .changed-list code",
                     "#explanation", "#steps .changes", "#current-call"):
        family = _eval(chromium, session,
                       f"getComputedStyle(document.querySelector('{selector}')).fontFamily")
        assert "monospace" in family, (selector, family)


@pytest.mark.parametrize("width,height", SIZES)
@pytest.mark.parametrize("name", MODELS)
def test_picture_text_fits(chromium: DevTools, pages: dict[str, Page], name: str,
                           width: int, height: int) -> None:
    page = pages[name]
    session = _open(chromium, page.uri(), width, height)
    for step in range(len(page.trace) + 1):
        _go(chromium, session, step)
        report = json.loads(_eval(chromium, session, """JSON.stringify((function () {
          var svg = document.querySelector('.picture.shown svg');
          var frame = svg.getBoundingClientRect();
          function box(e) { var r = e.getBoundingClientRect();
            return {l: r.left, t: r.top, r: r.right, b: r.bottom, s: e.textContent}; }
          var texts = Array.prototype.map.call(svg.querySelectorAll('text'), box);
          var labels = Array.prototype.map.call(svg.querySelectorAll('text.edge-label'), box);
          var boxes = Array.prototype.map.call(svg.querySelectorAll('rect.box, rect.slot'), box);
          return {frame: {l: frame.left, t: frame.top, r: frame.right, b: frame.bottom},
                  texts: texts, labels: labels, boxes: boxes,
                  room: svg.parentElement.clientWidth, scroll: svg.parentElement.scrollWidth,
                  page: document.documentElement.scrollWidth, inner: window.innerWidth};
        })())"""))
        where = f"{name} step {step} at {width}x{height}"

        def cross(a: dict[str, Any], b: dict[str, Any]) -> bool:
            return (min(a["r"], b["r"]) - max(a["l"], b["l"]) > 0.5
                    and min(a["b"], b["b"]) - max(a["t"], b["t"]) > 0.5)

        texts = report["texts"]
        for i, a in enumerate(texts):
            f = report["frame"]
            assert f["l"] <= a["l"] and a["r"] <= f["r"] and f["t"] <= a["t"] and \
                a["b"] <= f["b"], f"{where}: {a['s']!r} leaves the picture"
            for b in texts[i + 1:]:
                assert not cross(a, b), f"{where}: {a['s']!r} overlaps {b['s']!r}"
        for label in report["labels"]:
            for b in report["boxes"]:
                assert not cross(label, b), f"{where}: edge label {label['s']!r} covers a box"
        # the picture fits its column and the page does not scroll sideways
        assert report["scroll"] <= report["room"], where
        assert report["page"] <= report["inner"], where


@pytest.mark.parametrize("name", MODELS)
def test_walk_listed_at_violation(chromium: DevTools, pages: dict[str, Page], name: str) -> None:
    page = pages[name]
    instance = page.machine.instance
    ex = explain(page.machine, "rmap_complete", page.trace)
    assert ex.missed is not None and ex.walk is not None
    p, v, _f = ex.missed
    layout = vm_layout(instance)
    assert layout is not None
    missed = f"pte[{format_value(instance, layout.proc, p)}, {v}]"
    session = _open(chromium, page.uri())
    n = len(page.trace)
    assert _shown(chromium, session) == n
    assert _eval(chromium, session,
                 "document.querySelector('.picture.shown .walk .walk-missed').dataset.slot") \
        == missed
    visits = _eval(chromium, session, "Array.prototype.map.call(document.querySelectorAll("
                   "'.picture.shown .walk .walk-visit'), function(e){return e.textContent;})")
    assert len(visits) == len(ex.walk)
    for text, visit in zip(visits, ex.walk, strict=True):
        assert f"computes address {visit.address}" in text
        assert text.endswith(": found") == visit.found
    # drawn too: the walk's path and the missing edge to the missed pte's slot
    assert _eval(chromium, session,
                 "document.querySelectorAll('.picture.shown svg .edge-walk').length") == \
        len(ex.walk)
    assert _eval(chromium, session,
                 "document.querySelectorAll('.picture.shown svg .edge-missing').length") == 1
    # earlier steps have no violation to explain
    _go(chromium, session, n - 1)
    assert _eval(chromium, session, "document.querySelector('.picture.shown .walk')") is None


# ------------------------------------------------------------ without a browser

# anon_vma whose walk does not check the pte: it finds every page of a VMA on
# the page's anon_vma list, so rmap_sound fails (the walk finds an extra pte)
SOUND_BROKEN = '''\
model sound_broken
use anon_vma

override def finds(f: Frame, p: Proc, v: VPage): Bool "the walk without the pte check" =
  page[f].mapping != none and
  (exists a: VPage. vma[p, a] != none and vma[p, a].anon == page[f].mapping
     and a <= v and v < vma[p, a].end)
'''


def _violation(spec: str | Path, prop: str) -> tuple[Machine, Trace]:
    machine = Machine(Instance(load_model(str(spec)), {}))
    verdict = bfs.search(machine, SearchLimits(properties=[prop])).verdict(prop)
    assert isinstance(verdict, Violated)
    return machine, verdict.trace


def test_changes_are_listed_in_the_spec_syntax(pages: dict[str, Page]) -> None:
    page = pages["anon_vma_fork_unlinked"].path.read_text()
    # step 3 (fork) of the fork counterexample: the child's pte and the mapcount
    assert '<code data-slot="pte[p1, 0]">pte[p1, 0]: none \u2192 f0</code>' in page
    assert '<code data-slot="page[f0].mapcount">page[f0].mapcount: 1 \u2192 2</code>' in page
    # the state table marks a changed field inside its record, with its old value
    assert ('mapcount: <span class="changed" data-slot="page[f0].mapcount" title="was 1">2'
            "</span>") in page


def test_walk_marks_the_extra_pte(tmp_path: Path) -> None:
    spec = tmp_path / "sound_broken.spec"
    spec.write_text(SOUND_BROKEN)
    machine, trace = _violation(spec, "rmap_sound")
    ex = explain(machine, "rmap_sound", trace)
    assert ex.spurious is not None
    _p, v, _f = ex.spurious
    page = trace_to_html(machine, trace, "rmap_sound")
    assert f'<li class="walk-extra" data-slot="pte[p0, {v}]">' in page
    assert "extra: pte[p0, 1] = none, found by the walk from f0" in page
    assert 'class="edge edge-spurious"' in page


def test_a_model_without_the_vm_library_is_a_table() -> None:
    spec = Path(__file__).resolve().parent / "specs" / "fuzz_assert.spec"
    machine, trace = _violation(spec, "small")
    assert [s.action for s in trace.steps] == ["inc", "inc", "check"]
    page = trace_to_html(machine, trace, "small")
    assert "<svg" not in page  # no picture to draw: the table is the state
    assert page.count('<div class="picture"') == 4
    assert '<code data-slot="x">x: 1 \u2192 2</code>' in page
    assert 'x = <span class="changed" data-slot="x" title="was 1">2</span>' in page
    assert '<p class="changed-list"><b>changed:</b> nothing</p>' in page  # check()


# ------------------------------------------------------------ the expression box

# Expressions of the spec language, typed into the page's box: a def's call,
# state reads, quantifiers, set operators, floor division and modulo on
# negatives, a conditional, a record, rmap_complete's body as vm.spec
# writes it, and properties by name.
EXPRESSIONS = (
    "mapped_by(0)", "vma[1, 0]", "pte[0, 0]", "pte[1, 0]", "page[0]", "page[0].mapping",
    "vma_at(0, 0)", "exists p: Proc. alive[p]", "choose p: Proc. alive[p] and p != 0",
    "count p: Proc, v: VPage. pte[p, v] != none",
    "count p: Proc, q: Proc. q in {p} + {q} - {p} and alive[q]",
    "count a: VPage, b: VPage. a in {b, 0} - {b} | {a, b} & {b, 2}",
    "(-7) / 2 + (-7) % 2 * 10 + 7 / (-2) * 100 + 7 % (-2) * 1000 - VPAGES",
    "if alive[1] then vma[0, 0].end else -1",
    "Page(used: true) with (index: 2) == page[0]",
    "forall p: Proc, v: VPage. pte[p, v] != none -> finds(pte[p, v], p, v)",
    "rmap_complete", "mapcount",
)


def _type(tools: DevTools, session: str, text: str) -> tuple[str, bool]:
    """``text`` in the expression box: what the page shows, and whether as an error."""
    shown = _eval(tools, session, f"""(function () {{
        var box = document.getElementById('expr');
        box.value = {json.dumps(text)};
        box.dispatchEvent(new Event('input'));
        var out = document.getElementById('expr-value');
        return [out.textContent, out.classList.contains('error')];
    }})()""")
    return shown[0], shown[1]


def test_expression_box_agrees_with_rmapcheck_eval(
        chromium: DevTools, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import BROKEN_FORK, ROOT

    from rmapcheck.cli import main

    monkeypatch.chdir(ROOT)
    itf, html = tmp_path / "fork.itf.json", tmp_path / "fork.html"
    assert main(["verify", BROKEN_FORK, "--itf", str(itf), "--html", str(html)]) == 12
    expected: dict[str, list[str]] = {}
    for expr in EXPRESSIONS:
        capsys.readouterr()
        assert main(["eval", BROKEN_FORK, str(itf), expr, "--all", "--json"]) == 0, expr
        values = json.loads(capsys.readouterr().out)["values"]
        expected[expr] = [v["value"] for v in values]
    steps = len(next(iter(expected.values())))
    assert steps == 4  # mmap, fault, fork
    session = _open(chromium, html.resolve().as_uri())
    for step in range(steps):
        _go(chromium, session, step)
        for expr in EXPRESSIONS:
            assert _type(chromium, session, expr) == (expected[expr][step], False), \
                f"{expr} at step {step}"
    # the value follows the step shown
    _type(chromium, session, "mapped_by(0)")
    _go(chromium, session, 1)
    assert _type(chromium, session, "mapped_by(0)")[0] == expected["mapped_by(0)"][1]
    _eval(chromium, session, "document.getElementById('next').click()")
    assert _eval(chromium, session, "document.getElementById('expr-value').textContent") \
        == expected["mapped_by(0)"][2]
    # a mistake is one line in the page, not an exception
    for wrong, says in (("nope + 1", "unknown name 'nope'"), ("pte[0, ", "column 8"),
                        ("vma[0, 0].end", "field 'end' of none"), ("1 / 0", "division by zero")):
        _go(chromium, session, 0)
        text, error = _type(chromium, session, wrong)
        assert error and says in text and "\n" not in text, (wrong, text)
    assert _problems(chromium) == []
    # keys typed into the box are text, not steps
    _eval(chromium, session, "document.getElementById('expr').value = '';"
          "document.getElementById('expr').focus()")
    _press(chromium, session, "j")
    assert _shown(chromium, session) == 0
    assert _eval(chromium, session, "document.getElementById('expr').value") == "j"
