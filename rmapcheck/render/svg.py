"""A ``Scene`` as inline SVG, laid out in Python (no Graphviz needed).

Three columns: the processes (each a box of VMAs, each VMA its page slots,
one under the other), the physical pages, and the other rmap objects
(anon_vmas). Ptes run from a slot to its page, rmap metadata back from the
page (green), the walk's path is dotted grey, and the missing reverse edge of
a violation is red and dashed. Edges from a VMA to an rmap object pass above
the pages. The layout is deterministic, so the same state gives the same SVG.

All text is monospace: widths are then known without a font (0.6 em a
character in every monospace face), so boxes fit their text and edge labels
can be placed where they cover no box and no other label. Given the changes
of the step that led to the state, the boxes and edges that draw a changed
slot get an orange outline (class ``changed``, the slots in ``data-slots``).
"""

from __future__ import annotations

from html import escape

from rmapcheck.render.scene import Change, Edge, Scene, Slot, entry_changes, place_changes

FONT = 13  # box text
SMALL = 12  # a slot's page number, the column heading
LINE_H = FONT + 5
PAD = 10
SLOT_H = 24  # one row a page: the VMA's slots are stacked, so that every
# pte edge leaves its slot on the right without crossing another slot
GAP = 130  # between the processes and the pages: ptes, the walk and their labels
GAP2 = 90  # between the pages and the other rmap objects
CHANGED = "#e67700"
FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, monospace"

COLOURS = {
    "pte": "#1f4e79",
    "rmap": "#2e7d32",
    "link": "#6a1b9a",
    "walk": "#777777",
    "missing": "#d00000",
    "spurious": "#d00000",
}
DASH = {"walk": "2,4", "missing": "7,4", "spurious": "7,4"}
WIDTH = {"pte": 1.5, "rmap": 1.3, "link": 1.3, "walk": 1.4, "missing": 2.4, "spurious": 2.4}
# below the straight line for the walk and the missing edge, which then
# neither run along the pte edge of the same slot nor arrive at its top
BEND = {"missing": 60, "spurious": 60, "walk": 70, "rmap": -40, "link": -40}
BUS_STEP = 9  # between the lines of edges routed above the pages

Rect = tuple[float, float, float, float]  # x, y, width, height
Point = tuple[float, float]
Segment = tuple[Point, Point, Point, Point]  # a cubic Bezier


def _text(x: float, y: float, s: str, size: int = FONT, weight: str = "normal",
          anchor: str = "start", colour: str = "#222", cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return (f'<text{klass} x="{x:.1f}" y="{y:.1f}" font-size="{size}" '
            f'font-weight="{weight}" text-anchor="{anchor}" fill="{colour}">{escape(s)}</text>')


def _width_of(s: str, size: int = FONT) -> float:
    return len(s) * size * 0.6


def _overlap(a: Rect, b: Rect) -> float:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


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


def _outline(x: float, y: float, w: float, h: float, changes: list[Change],
             rx: float = 0) -> str:
    """The mark of a box whose slots the step changed."""
    slots = escape("; ".join(c.name for c in changes))
    return (f'<rect class="changed" data-slots="{slots}" x="{x:.1f}" y="{y:.1f}" '
            f'width="{w:.1f}" height="{h:.1f}" rx="{rx}" fill="none" stroke="{CHANGED}" '
            'stroke-width="3"/>')


class _Labels:
    """Edge labels placed where they overlap no box and no other label."""

    def __init__(self, obstacles: list[Rect]) -> None:
        self.taken = list(obstacles)

    def place(self, text: str, size: int, points: list[Point], prefer: float) -> Rect:
        """The label's box: at the point along the edge nearest ``prefer`` (0
        its start, 1 its end) where it covers nothing, else where it covers
        least."""
        w, h = _width_of(text, size) + 4, size + 4
        best: tuple[float, Rect] | None = None
        last = len(points) - 1
        inner = [i for i in range(len(points)) if 0.12 <= i / last <= 0.88]
        for i in sorted(inner, key=lambda i: abs(i / last - prefer)):
            x, y = points[i]
            for dy in (-h - 2, 2, -h / 2):
                box = (x - w / 2, y + dy, w, h)
                if box[0] < 2 or box[1] < 2:
                    continue
                cost = sum(_overlap(box, other) for other in self.taken)
                if best is None or cost < best[0]:
                    best = (cost, box)
                if cost == 0:
                    break
            if best is not None and best[0] == 0:
                break
        if best is None:  # every point off the picture's top or left: below its middle
            x, y = points[last // 2]
            best = (0.0, (max(x - w / 2, 2), max(y + 2, 2), w, h))
        self.taken.append(best[1])
        return best[1]


def _bezier(seg: Segment, t: float) -> Point:
    (x1, y1), (cx1, cy1), (cx2, cy2), (x2, y2) = seg
    u = 1 - t
    return (u ** 3 * x1 + 3 * u * u * t * cx1 + 3 * u * t * t * cx2 + t ** 3 * x2,
            u ** 3 * y1 + 3 * u * u * t * cy1 + 3 * u * t * t * cy2 + t ** 3 * y2)


def _samples(route: list[Segment]) -> list[Point]:
    points = [route[0][0]]
    for seg in route:
        points.extend(_bezier(seg, k / 12) for k in range(1, 13))
    return points


def _path(route: list[Segment]) -> str:
    d = f"M{route[0][0][0]:.1f},{route[0][0][1]:.1f}"
    for _, c1, c2, end in route:
        d += f" C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {end[0]:.1f},{end[1]:.1f}"
    return d


def scene_to_svg(scene: Scene, element_id: str = "",
                 changes: list[Change] | None = None) -> str:
    changes = changes or []
    parts: list[str] = []
    marks: list[str] = []  # drawn over the boxes
    anchors: dict[str, _Anchor] = {}
    kinds: dict[str, str] = {}  # anchor id -> slot, proc, vma, ghost, frame, object
    obstacles: list[Rect] = []
    y: float = PAD
    if scene.title:
        parts.append(_text(PAD, PAD + FONT, scene.title, FONT + 1, "bold"))
        obstacles.append((PAD, PAD, _width_of(scene.title, FONT + 1), FONT + 4))
        y += LINE_H + 4
    if scene.generic is not None:
        lines = scene.generic or ["(every variable has its default value)"]
        w = max(_width_of(s) for s in lines) + 2 * PAD
        h = len(lines) * LINE_H + 2 * PAD
        parts.append(f'<rect class="box" x="{PAD}" y="{y}" width="{w:.0f}" height="{h}" rx="6" '
                     'fill="#f8f8f8" stroke="#555"/>')
        for i, s in enumerate(lines):
            parts.append(_text(2 * PAD, y + PAD + (i + 1) * LINE_H - 4, s))
        width = max(w + 2 * PAD, _width_of(scene.title, FONT + 1) + 2 * PAD)
        return _wrap(parts, width, y + h + PAD, element_id)
    # edges from a process or a VMA to an rmap object pass over the pages on
    # lines of their own ("buses"), so they cross no page's text
    left_ids = {p.id for p in scene.procs} | {v.id for p in scene.procs for v in p.vmas}
    object_ids = {o.id for o in scene.objects}
    buses = sum(1 for e in scene.edges if e.src in left_ids and e.dst in object_ids)
    # room above the boxes for the buses, the rmap edges (which bend up) and
    # the column heading
    top = y + 36 + BUS_STEP * buses
    # ---- column 1: processes
    left = PAD
    col1_w = 160.0
    y = top
    for proc in scene.procs:
        box_top = y
        inner_y = y + PAD
        header = [proc.title + ("" if proc.alive else " (exited)")] + proc.lines
        head_w = max(_width_of(s) for s in header) + 2 * PAD
        head_h = len(header) * LINE_H + 8
        anchors[proc.id] = _Anchor(left + PAD, inner_y, head_w, head_h)
        kinds[proc.id] = "proc"
        parts.append(f'<rect class="box" x="{left + PAD}" y="{inner_y}" width="{head_w:.0f}" '
                     f'height="{head_h}" rx="8" fill="#eeeeee" stroke="#777"/>')
        for i, s in enumerate(header):
            parts.append(_text(left + 2 * PAD, inner_y + (i + 1) * LINE_H - 1, s,
                               weight="bold" if i == 0 else "normal"))
        changed = entry_changes(proc.covers, changes)
        if changed:
            marks.append(_outline(left + PAD - 2, inner_y - 2, head_w + 4, head_h + 4,
                                  changed, 8))
        inner_y += head_h + PAD
        box_w = head_w
        for vma in proc.vmas:
            title = [vma.title] + vma.lines
            title_w = max(_width_of(s) for s in title) + 2 * PAD
            w = max([title_w] + [_width_of(_slot_label(s)) + 2 * PAD for s in vma.slots])
            th = len(title) * LINE_H + 6
            x0 = left + PAD
            parts.append(f'<rect class="box" x="{x0}" y="{inner_y}" width="{w:.0f}" height="{th}" '
                         'fill="#dde7f3" stroke="#333"/>')
            for i, s in enumerate(title):
                parts.append(_text(x0 + 6, inner_y + (i + 1) * LINE_H - 1, s,
                                   weight="bold" if i == 0 else "normal"))
            anchors[vma.id] = _Anchor(x0, inner_y, w, th)
            kinds[vma.id] = "vma"
            changed = entry_changes(vma.covers, changes)
            if changed:
                marks.append(_outline(x0 + 1.5, inner_y + 1.5, w - 3, th - 3, changed))
            cy = inner_y + th
            for slot in vma.slots:
                fill = "#ffd6d6" if slot.highlight else "#ffffff"
                parts.append(f'<rect class="slot" x="{x0}" y="{cy}" width="{w:.0f}" '
                             f'height="{SLOT_H}" fill="{fill}" stroke="#333"/>')
                page, frame = _slot_label(slot).split(" ", 1)
                parts.append(f'<text x="{x0 + 8}" y="{cy + 17}" font-size="{FONT}" '
                             f'fill="#222"><tspan fill="#666">{escape(page)}</tspan> '
                             f'<tspan font-weight="bold">{escape(frame)}</tspan></text>')
                anchors[slot.id] = _Anchor(x0, cy, w, SLOT_H)
                kinds[slot.id] = "slot"
                changed = entry_changes(slot.covers, changes)
                if changed:
                    marks.append(_outline(x0 + 2, cy + 2, w - 4, SLOT_H - 4, changed))
                cy += SLOT_H
            inner_y = cy + PAD
            box_w = max(box_w, w)
        for gid, label in proc.ghosts:
            w = _width_of(label) + 2 * PAD
            parts.append(f'<rect class="box" x="{left + PAD}" y="{inner_y}" width="{w:.0f}" '
                         'height="24" fill="none" stroke="#888" stroke-dasharray="4,3"/>')
            parts.append(_text(left + 2 * PAD, inner_y + 17, label, colour="#555"))
            anchors[gid] = _Anchor(left + PAD, inner_y, w, 24)
            kinds[gid] = "ghost"
            inner_y += 24 + PAD
            box_w = max(box_w, w)
        box_h = inner_y - box_top
        dash = "" if proc.alive else ' stroke-dasharray="6,4"'
        # the process box goes under its contents, drawn before them
        parts.insert(1 if scene.title else 0,
                     f'<rect class="box" x="{left}" y="{box_top}" width="{box_w + 2 * PAD:.0f}" '
                     f'height="{box_h}" rx="10" fill="#fafafa" stroke="#555"{dash}/>')
        obstacles.append((left, box_top, box_w + 2 * PAD, box_h))
        col1_w = max(col1_w, box_w + 2 * PAD)
        y = inner_y + PAD
    height: float = y
    # ---- column 2: pages
    fx = left + col1_w + GAP
    frame_w = max([_width_of(s) + 2 * 8 for f in scene.frames for s in [f.title] + f.lines]
                  + [110.0])
    heading = "physical pages" if scene.frames else "physical pages: none in use"
    parts.append(_text(fx, top - 8, heading, SMALL, "bold", colour="#555"))
    obstacles.append((fx, top - 8 - SMALL, _width_of(heading, SMALL), SMALL + 4))
    fy = top
    for f in scene.frames:
        lines = [f.title] + f.lines
        h = len(lines) * LINE_H + 10
        fill = "#ffd6d6" if f.highlight else "#fff4d6"
        parts.append(f'<rect class="box" x="{fx}" y="{fy}" width="{frame_w:.0f}" '
                     f'height="{h}" rx="4" fill="{fill}" stroke="#333"/>')
        for i, s in enumerate(lines):
            parts.append(_text(fx + 8, fy + (i + 1) * LINE_H + 1, s,
                               weight="bold" if i == 0 else "normal"))
        anchors[f.id] = _Anchor(fx, fy, frame_w, h)
        kinds[f.id] = "frame"
        obstacles.append((fx, fy, frame_w, h))
        changed = entry_changes(f.covers, changes)
        if changed:
            marks.append(_outline(fx - 3, fy - 3, frame_w + 6, h + 6, changed, 5))
        fy += h + 2 * PAD
    height = max(height, fy)
    # ---- column 3: other rmap objects
    ox = fx + frame_w + GAP2
    obj_w = max([_width_of(s) + 2 * 12 for o in scene.objects for s in [o.title] + o.lines]
                + [100.0])
    oy = top
    for o in scene.objects:
        lines = [o.title] + o.lines
        h = len(lines) * LINE_H + 12
        parts.append(f'<rect class="box" x="{ox:.1f}" y="{oy}" width="{obj_w:.0f}" '
                     f'height="{h}" rx="14" fill="#e3f2e1" stroke="#2e7d32"/>')
        for i, s in enumerate(lines):
            parts.append(_text(ox + obj_w / 2, oy + (i + 1) * LINE_H + 2, s,
                               weight="bold" if i == 0 else "normal", anchor="middle"))
        anchors[o.id] = _Anchor(ox, oy, obj_w, h)
        kinds[o.id] = "object"
        obstacles.append((ox, oy, obj_w, h))
        changed = entry_changes(o.covers, changes)
        if changed:
            marks.append(_outline(ox - 3, oy - 3, obj_w + 6, h + 6, changed, 16))
        oy += h + 2 * PAD
    height = max(height, oy)
    width = max((ox + obj_w + PAD) if scene.objects else (fx + frame_w + PAD),
                fx + _width_of(heading, SMALL) + PAD)
    # ---- edges, then their labels (over every edge, so no edge hides one)
    labels = _Labels(obstacles)
    label_parts: list[str] = []
    # the highest line for the topmost source, so that the buses nest, not cross
    on_bus = sorted((e for e in scene.edges if kinds.get(e.src) in ("proc", "vma")
                     and kinds.get(e.dst) == "object" and e.dst in anchors),
                    key=lambda e: (anchors[e.src].y, anchors[e.dst].y))
    bus_line = {id(e): top - 28 - BUS_STEP * (len(on_bus) - 1 - rank)
                for rank, e in enumerate(on_bus)}
    for e in scene.edges:
        a, b = anchors.get(e.src), anchors.get(e.dst)
        if a is None or b is None:
            continue
        ka, kb = kinds.get(e.src, ""), kinds.get(e.dst, "")
        if id(e) in bus_line:
            route = _bus(a, b, fx - 16, fx + frame_w + 16, bus_line[id(e)])
        else:
            route = [_curve(a, ka, b, kb, e)]
        points = _samples(route)
        d = _path(route)
        changed = place_changes(e.place, changes)
        if changed:
            slots = escape("; ".join(c.name for c in changed))
            parts.append(f'<path class="changed" data-slots="{slots}" d="{d}" fill="none" '
                         f'stroke="{CHANGED}" stroke-opacity="0.55" stroke-width="7"/>')
        colour = COLOURS[e.kind]
        dash = f' stroke-dasharray="{DASH[e.kind]}"' if e.kind in DASH else ""
        parts.append(f'<path class="edge edge-{e.kind}" d="{d}" fill="none" '
                     f'stroke="{colour}" stroke-width="{WIDTH[e.kind]}"{dash} '
                     f'marker-end="url(#arrow-{e.kind}{element_id})"/>')
        for bx, by in points:
            width, height = max(width, bx + PAD), max(height, by + PAD)
        label = e.label if e.short is None else e.short
        if label:
            size = SMALL
            # the missing edge's label beside the slot it points at
            prefer = 0.75 if e.kind in ("missing", "spurious") else 0.5
            lx, ly, lw, lh = labels.place(label, size, points, prefer)
            weight = "bold" if e.kind in ("missing", "spurious") else "normal"
            # a white halo keeps the label legible where an edge runs under it
            label_parts.append(
                f'<text class="edge-label" x="{lx + lw / 2:.1f}" y="{ly + lh - 4:.1f}" '
                f'font-size="{size}" font-weight="{weight}" text-anchor="middle" '
                f'fill="{colour}" stroke="white" stroke-width="4" paint-order="stroke">'
                f"{escape(label)}</text>")
            width = max(width, lx + lw + PAD)
            height = max(height, ly + lh + PAD)
    parts.extend(label_parts)
    parts.extend(marks)
    # ---- notes
    ny = height + PAD
    for note in scene.notes:
        parts.append(_text(PAD, ny + LINE_H, note, FONT, "bold", colour="#d00000"))
        ny += LINE_H + 4
        width = max(width, _width_of(note) + 2 * PAD)
    return _wrap(parts, width, ny + PAD, element_id)


def _slot_label(slot: Slot) -> str:
    """``1: f0 wp``, as docs/README.md reads a slot: page 1's pte maps f0, write-protected."""
    return f"{slot.vpage}: " + (slot.frame or "-") + (" wp" if slot.wp else "")


def _bus(a: _Anchor, b: _Anchor, x_in: float, x_out: float, y: float) -> list[Segment]:
    """Up to the line ``y`` before the pages' column, along it past the
    column, and down into the object."""
    (x1, y1), (x2, y2) = a.right(), b.left()
    return [((x1, y1), (x1 + (x_in - x1) * 0.5, y1), (x_in - 30, y), (x_in, y)),
            ((x_in, y), (x_in + 10, y), (x_out - 10, y), (x_out, y)),
            ((x_out, y), (x_out + 30, y), (x2 - (x2 - x_out) * 0.5, y2), (x2, y2))]


def _curve(a: _Anchor, ka: str, b: _Anchor, kb: str, e: Edge) -> Segment:
    if a is b:
        # an object that refers to itself (the root anon_vma is its own
        # parent): a loop on its right side
        x, y0, y1 = a.x + a.w, a.y + a.h * 0.3, a.y + a.h * 0.7
        return ((x, y0), (x + 40, y0 - 14), (x + 40, y1 + 14), (x, y1))
    (x1, y1), (x2, y2) = _ends(a, ka, b, kb, e.kind)
    if ka == kb == "object":
        # two boxes of one column: the edge bulges out to the right of them
        return ((x1, y1), (x1 + 45, y1), (x2 + 45, y2), (x2, y2))
    bend = BEND.get(e.kind, 0)
    return ((x1, y1), (x1 + (x2 - x1) * 0.4, y1 + bend), (x1 + (x2 - x1) * 0.6, y2 + bend),
            (x2, y2))


def _ends(a: _Anchor, ka: str, b: _Anchor, kb: str,
          kind: str) -> tuple[tuple[float, float], tuple[float, float]]:
    if kind == "pte" and ka == "slot":
        # out of the slot's right side below its middle; the walk and the
        # missing edge arrive above it
        return (a.x + a.w, a.y + a.h / 2 + 4), b.left()
    if ka == "frame" and kb == "slot":
        return a.left(), (b.x + b.w, b.y + b.h / 2 - 4)
    if ka == "frame" and kb in ("ghost", "proc", "vma"):
        return a.left(), b.right()
    if ka == "object" and kb == "object":
        # between two boxes of one column: out of the right side and back in
        return a.right(), b.right()
    return a.right(), b.left()


def _wrap(parts: list[str], width: float, height: float, element_id: str) -> str:
    markers = "".join(
        f'<marker id="arrow-{k}{element_id}" viewBox="0 0 10 10" refX="9" refY="5" '
        f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>' for k, c in COLOURS.items())
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'font-family="{FONT_FAMILY}">'
            f'<defs>{markers}</defs><rect width="100%" height="100%" fill="white"/>'
            + "".join(parts) + "</svg>")
