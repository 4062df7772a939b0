"""A ``Scene`` as inline SVG, laid out in Python (no Graphviz needed).

Three columns: the processes (each a box of VMAs, each VMA a row of page
slots), the physical pages, and the other rmap objects (anon_vmas). Ptes run
from a slot to its page, rmap metadata back from the page (green), the walk's
path is dotted grey, and the missing reverse edge of a violation is red and
dashed. The layout is deterministic, so the same state gives the same SVG.
"""

from __future__ import annotations

from html import escape

from rmapcheck.render.scene import Scene

CELL_W = 46
CELL_H = 24
LINE_H = 14
PAD = 10
FRAME_W = 130
OBJ_W = 110
GAP = 150

COLOURS = {
    "pte": "#1f4e79",
    "rmap": "#2e7d32",
    "link": "#6a1b9a",
    "walk": "#888888",
    "missing": "#d00000",
    "spurious": "#d00000",
}
DASH = {"walk": "2,4", "missing": "7,4", "spurious": "7,4"}
WIDTH = {"pte": 1.5, "rmap": 1.3, "link": 1.3, "walk": 1.2, "missing": 2.4, "spurious": 2.4}


def _text(x: float, y: float, s: str, size: int = 11, weight: str = "normal",
          anchor: str = "start", colour: str = "#222") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" '
            f'text-anchor="{anchor}" fill="{colour}">{escape(s)}</text>')


def _width_of(s: str, size: int = 11) -> float:
    return len(s) * size * 0.6


class _Anchor:
    """Where edges attach to a box: left, right, top and bottom midpoints."""

    def __init__(self, x: float, y: float, w: float, h: float) -> None:
        self.x, self.y, self.w, self.h = x, y, w, h

    def left(self) -> tuple[float, float]:
        return self.x, self.y + self.h / 2

    def right(self) -> tuple[float, float]:
        return self.x + self.w, self.y + self.h / 2

    def top(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y

    def bottom(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h


def scene_to_svg(scene: Scene, element_id: str = "") -> str:
    parts: list[str] = []
    anchors: dict[str, _Anchor] = {}
    kinds: dict[str, str] = {}  # anchor id -> slot, proc, vma, ghost, frame, object
    y = PAD + 22
    parts.append(_text(PAD, PAD + 12, scene.title, 13, "bold"))
    if scene.generic is not None:
        lines = scene.generic or ["(every variable has its default value)"]
        w = max(_width_of(s) for s in lines) + 2 * PAD
        h = len(lines) * LINE_H + 2 * PAD
        parts.append(f'<rect x="{PAD}" y="{y}" width="{w:.0f}" height="{h}" rx="6" '
                     'fill="#f8f8f8" stroke="#555"/>')
        for i, s in enumerate(lines):
            parts.append(_text(2 * PAD, y + PAD + (i + 1) * LINE_H - 3, s, 11))
        return _wrap(parts, w + 2 * PAD, y + h + PAD, element_id)
    # ---- column 1: processes
    left = PAD
    col1_w = 180.0
    for proc in scene.procs:
        top = y
        inner_y = y + PAD
        header = [proc.title + ("" if proc.alive else " (exited)")] + proc.lines
        head_w = max(_width_of(s, 11) for s in header) + 2 * PAD
        head_h = len(header) * LINE_H + 8
        anchors[proc.id] = _Anchor(left + PAD, inner_y, head_w, head_h)
        kinds[proc.id] = "proc"
        parts.append(f'<rect x="{left + PAD}" y="{inner_y}" width="{head_w:.0f}" '
                     f'height="{head_h}" rx="8" fill="#eeeeee" stroke="#777"/>')
        for i, s in enumerate(header):
            parts.append(_text(left + 2 * PAD, inner_y + (i + 1) * LINE_H, s, 11,
                               "bold" if i == 0 else "normal"))
        inner_y += head_h + PAD
        box_w = head_w
        for vma in proc.vmas:
            title = [vma.title] + [", ".join(vma.lines)]
            title_w = max(_width_of(s, 10) for s in title) + 2 * PAD
            w = max(title_w, CELL_W * len(vma.slots))
            th = len(title) * LINE_H + 6
            x0 = left + PAD
            parts.append(f'<rect x="{x0}" y="{inner_y}" width="{w:.0f}" height="{th}" '
                         'fill="#dde7f3" stroke="#333"/>')
            for i, s in enumerate(title):
                parts.append(_text(x0 + 6, inner_y + (i + 1) * LINE_H - 1, s, 10,
                                   "bold" if i == 0 else "normal"))
            anchors[vma.id] = _Anchor(x0, inner_y, w, th)
            kinds[vma.id] = "vma"
            cy = inner_y + th
            cell_w = w / max(len(vma.slots), 1)
            for i, slot in enumerate(vma.slots):
                cx = x0 + i * cell_w
                fill = "#ffd6d6" if slot.highlight else "#ffffff"
                parts.append(f'<rect x="{cx:.1f}" y="{cy}" width="{cell_w:.1f}" '
                             f'height="{CELL_H}" fill="{fill}" stroke="#333"/>')
                label = f"{slot.vpage}:{slot.frame or '-'}" + ("ʷ" if slot.wp else "")
                parts.append(_text(cx + cell_w / 2, cy + 16, label, 10, anchor="middle"))
                anchors[slot.id] = _Anchor(cx, cy, cell_w, CELL_H)
                kinds[slot.id] = "slot"
            inner_y = cy + CELL_H + PAD
            box_w = max(box_w, w)
        for gid, label in proc.ghosts:
            w = _width_of(label, 10) + 2 * PAD
            parts.append(f'<rect x="{left + PAD}" y="{inner_y}" width="{w:.0f}" height="22" '
                         'fill="none" stroke="#888" stroke-dasharray="4,3"/>')
            parts.append(_text(left + 2 * PAD, inner_y + 15, label, 10, colour="#555"))
            anchors[gid] = _Anchor(left + PAD, inner_y, w, 22)
            kinds[gid] = "ghost"
            inner_y += 22 + PAD
            box_w = max(box_w, w)
        h = inner_y - top
        dash = "" if proc.alive else ' stroke-dasharray="6,4"'
        parts.insert(1, f'<rect x="{left}" y="{top}" width="{box_w + 2 * PAD:.0f}" '
                     f'height="{h}" rx="10" fill="#fafafa" stroke="#555"{dash}/>')
        col1_w = max(col1_w, box_w + 2 * PAD)
        y = inner_y + PAD
    height: float = y
    # ---- column 2: pages
    fx = left + col1_w + GAP
    fy = PAD + 22 + PAD
    parts.append(_text(fx, PAD + 30, "physical pages", 11, "bold", colour="#555"))
    fy += 14
    for f in scene.frames:
        lines = [f.title] + f.lines
        h = len(lines) * LINE_H + 10
        fill = "#ffd6d6" if f.highlight else "#fff4d6"
        parts.append(f'<rect x="{fx}" y="{fy}" width="{FRAME_W}" height="{h}" rx="4" '
                     f'fill="{fill}" stroke="#333"/>')
        for i, s in enumerate(lines):
            parts.append(_text(fx + 8, fy + (i + 1) * LINE_H + 1, s, 11,
                               "bold" if i == 0 else "normal"))
        anchors[f.id] = _Anchor(fx, fy, FRAME_W, h)
        kinds[f.id] = "frame"
        fy += h + 2 * PAD
    height = max(height, fy)
    # ---- column 3: other rmap objects
    ox = fx + FRAME_W + GAP * 0.7
    oy = PAD + 22 + PAD + 14
    for o in scene.objects:
        lines = [o.title] + o.lines
        h = len(lines) * LINE_H + 12
        parts.append(f'<rect x="{ox}" y="{oy}" width="{OBJ_W}" height="{h}" rx="14" '
                     'fill="#e3f2e1" stroke="#2e7d32"/>')
        for i, s in enumerate(lines):
            parts.append(_text(ox + OBJ_W / 2, oy + (i + 1) * LINE_H + 2, s, 11,
                               "bold" if i == 0 else "normal", "middle"))
        anchors[o.id] = _Anchor(ox, oy, OBJ_W, h)
        kinds[o.id] = "object"
        oy += h + 2 * PAD
    height = max(height, oy)
    width = (ox + OBJ_W + PAD) if scene.objects else (fx + FRAME_W + 3 * PAD + 80)
    # ---- edges
    for e in scene.edges:
        a, b = anchors.get(e.src), anchors.get(e.dst)
        if a is None or b is None:
            continue
        (x1, y1), (x2, y2) = _ends(a, kinds.get(e.src, ""), b, kinds.get(e.dst, ""), e.kind)
        bend = {"missing": -45, "spurious": -45, "walk": 70, "rmap": -40, "link": -40}.get(
            e.kind, 0)
        cx1, cy1 = x1 + (x2 - x1) * 0.4, y1 + bend
        cx2, cy2 = x1 + (x2 - x1) * 0.6, y2 + bend
        colour = COLOURS[e.kind]
        dash = f' stroke-dasharray="{DASH[e.kind]}"' if e.kind in DASH else ""
        parts.append(f'<path class="edge edge-{e.kind}" d="M{x1:.1f},{y1:.1f} C{cx1:.1f},'
                     f'{cy1:.1f} {cx2:.1f},{cy2:.1f} {x2:.1f},{y2:.1f}" fill="none" '
                     f'stroke="{colour}" stroke-width="{WIDTH[e.kind]}"{dash} '
                     f'marker-end="url(#arrow-{e.kind}{element_id})"/>')
        if e.label:
            mx = (x1 + 3 * cx1 + 3 * cx2 + x2) / 8
            my = (y1 + 3 * cy1 + 3 * cy2 + y2) / 8 - 4
            parts.append(_text(mx, my, e.label, 10, "bold" if e.kind == "missing" else "normal",
                               "middle", colour))
        height = max(height, max(cy1, cy2) + 20)
    # ---- notes
    ny = height + PAD
    for note in scene.notes:
        parts.append(_text(PAD, ny + LINE_H, note, 12, "bold", colour="#d00000"))
        ny += LINE_H + 4
        width = max(width, _width_of(note, 12) + 2 * PAD)
    return _wrap(parts, width, ny + PAD, element_id)


def _ends(a: _Anchor, ka: str, b: _Anchor, kb: str,
          kind: str) -> tuple[tuple[float, float], tuple[float, float]]:
    if kind == "pte":
        return a.bottom() if ka == "slot" else a.right(), b.left()
    if ka == "frame" and kb in ("slot", "ghost", "proc", "vma"):
        target = b.top() if kb == "slot" else b.right()
        return a.left(), target
    if ka in ("vma", "proc") and kb == "object":
        return a.right(), b.left()
    if ka == "frame" and kb == "object":
        return a.right(), b.left()
    return a.right(), b.left()


def _wrap(parts: list[str], width: float, height: float, element_id: str) -> str:
    markers = "".join(
        f'<marker id="arrow-{k}{element_id}" viewBox="0 0 10 10" refX="9" refY="5" '
        f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>' for k, c in COLOURS.items())
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            'font-family="Helvetica, Arial, sans-serif">'
            f'<defs>{markers}</defs><rect width="100%" height="100%" fill="white"/>'
            + "".join(parts) + "</svg>")
