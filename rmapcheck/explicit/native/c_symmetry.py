"""The C of the symmetry reduction and of state packing for one instance.

The native engine stores one state per orbit of the permutations of the
reduced symmetric sorts, like the Python engine (``rmapcheck.explicit.symmetry``),
and with the same canonical form's idea: colour refinement of the values of
each sort from the state, then the least image over the permutations the
colouring allows. What this module writes is straight-line C specialised to
the instance's layout (which slot holds a value of which sort, which entry is
keyed by which sort, which presence flag guards which field): per-slot tables,
one round of colouring, the image of a state compared with a reference, and
the packing of slot codes into 64-bit words. ``runtime.c`` drives them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from rmapcheck import ir
from rmapcheck.explicit.native.c_layout import Layout, Unsupported
from rmapcheck.instance import Instance


class SymmetryCode:
    """The symmetry and packing C of one instance. ``symmetric``: the sorts
    whose tables are generated (those the Python machine reduces)."""

    def __init__(self, instance: Instance, layout: Layout,
                 symmetric: list[ir.RangeSort]) -> None:
        self.instance = instance
        self.model = instance.model
        self.layout = layout
        self.symmetric = symmetric
        self.sym_index = layout.sym_index

    def lo(self, sort: ir.Sort) -> int:
        return self.layout.lo(sort)

    def values(self, sort: ir.Sort) -> tuple[Any, ...]:
        return self.instance.values(sort)

    # ------------------------------------------------------------ tables

    def tables(self) -> str:
        L = self.layout
        inst = self.instance
        # per slot: (kind, sort, guard offset, [(key sort, key index, stride)], tag)
        self.slot_info: list[tuple[int, int, int, list[tuple[int, int, int]], int]] = []
        self.entries: list[tuple[int, int]] = []  # (first slot, width) of every map entry
        maxk = 1
        kinds, sorts_, goffs, nks = [], [], [], []
        kss: list[list[int]] = []
        kis: list[list[int]] = []
        ksts: list[list[int]] = []
        tags = []
        for var in self.model.state:
            rng = inst.layout[var.name]
            sym_pos = [(j, self.sym_index[k]) for j, k in enumerate(var.keys)
                       if k in self.sym_index]  # type: ignore[comparison-overlap]
            maxk = max(maxk, len(sym_pos))
        for var in self.model.state:
            rng = inst.layout[var.name]
            sym_pos = [(j, self.sym_index[k]) for j, k in enumerate(var.keys)
                       if k in self.sym_index]  # type: ignore[comparison-overlap]
            for e, key in enumerate(rng.keys):
                first = rng.offset + e * rng.width
                self.entries.append((first, rng.width))
                for o in range(rng.width):
                    i = first + o
                    s = L.sorts[i]
                    inner = s.inner if isinstance(s, ir.OptionSort) else s
                    if inner in self.sym_index:
                        kinds.append(2 if isinstance(s, ir.OptionSort) else 1)
                        sorts_.append(self.sym_index[inner])  # type: ignore[index]
                    elif isinstance(s, ir.SetSort) and s.elem in self.sym_index:
                        kinds.append(3)
                        sorts_.append(self.sym_index[s.elem])  # type: ignore[index]
                    else:
                        kinds.append(0)
                        sorts_.append(-1)
                    g = L.guards[i]
                    goffs.append(0 if g < 0 else i - g)
                    ks, ki, kst = [], [], []
                    for j, a in sym_pos:
                        ks.append(a)
                        ki.append(inst.index_of(var.keys[j], key[j]))
                        kst.append(rng.strides[j] * rng.width)
                    nks.append(len(ks))
                    pad = maxk - len(ks)
                    kss.append(ks + [0] * pad)
                    kis.append(ki + [0] * pad)
                    ksts.append(kst + [0] * pad)
                    plain_key = tuple(inst.index_of(var.keys[j], key[j])
                                      for j in range(len(key)) if j not in dict(sym_pos))
                    digest = hashlib.sha256(repr((var.name, o, plain_key)).encode()).digest()
                    tags.append(int.from_bytes(digest[:8], "little"))
                    self.slot_info.append((kinds[-1], sorts_[-1], goffs[-1],
                                           list(zip(ks, ki, kst, strict=True)), tags[-1]))
        assert len(kinds) == L.n
        sizes = [len(inst.values(s)) for s in self.symmetric]
        maxn = max(sizes, default=1)
        if maxn > 255:
            raise Unsupported("a symmetric sort has more than 255 values")

        def arr(ctype: str, name: str, values: list[Any]) -> str:
            body = ",".join(str(v) for v in values) if values else "0"
            return f"static const {ctype} {name}[] = {{{body}}};"

        def arr2(ctype: str, name: str, rows: list[list[int]], width: int) -> str:
            if not rows:
                return f"static const {ctype} {name}[1][{width}];"
            body = ",".join("{" + ",".join(str(v) for v in row) + "}" for row in rows)
            return f"static const {ctype} {name}[][{width}] = {{{body}}};"

        lines = [
            arr("int", "SYM_N", sizes or [0]),
            arr("int", "SYM_LO", [self.lo(s) for s in self.symmetric] or [0]),
        ]
        return "\n".join(lines)

    def canon_code(self) -> str:
        """Straight-line C for the symmetry reduction: one round of value
        colours (``colour_round``) and the image of a state under a
        permutation compared with a reference (``img_cmp``); runtime.c
        drives them (``canon``). A sort that is not reduced gets identity
        permutations, so the same code serves every set of reduced sorts."""
        lines: list[str] = []
        mask64 = (1 << 64) - 1

        def u64(v: int) -> str:
            return f"{v & mask64}ULL"

        def tag_k(tag: int, k: int) -> int:
            return (tag * (2 * k + 3) + 0x9E3779B97F4A7C15 * (k + 1)) & mask64

        # colour_round(c, s, col, sig)
        lines.append("static void colour_round(const Ctx *c, const slot_t *s, "
                     "uint64_t col[NSYM_ALLOC][MAXN], uint64_t sig[NSYM_ALLOC][MAXN]) {")
        lines.append("  const uint32_t act = c->active; (void)act; (void)col;")
        # The plain slots of an entry keyed by a symmetric sort: packed into
        # words, one hash per word and key (their codes are never renamed).
        widths = self.layout.widths
        for first, width in self.entries:
            _kind0, _b0, _g0, keys, tag0 = self.slot_info[first]
            if not keys:
                continue
            words: list[list[str]] = [[]]
            bit = 0
            for i in range(first, first + width):
                if self.slot_info[i][0] != 0 or widths[i] == 0:
                    continue
                if bit + widths[i] > 64:
                    words.append([])
                    bit = 0
                words[-1].append(f"((uint64_t)s[{i}] << {bit})" if bit else f"(uint64_t)s[{i}]")
                bit += widths[i]
            for wi, parts in enumerate(words):
                if not parts:
                    continue
                body = [f"uint64_t v = {' | '.join(parts)};"]
                kcs = [f"(((act >> {a}) & 1) ? col[{a}][{x}] : {u64(0x77 + x)}) + "
                       f"{u64((k + 1) * 0x1234)}" for k, (a, x, _st) in enumerate(keys)]
                for k, (a, x, _st) in enumerate(keys):
                    ctx = []
                    for k2, (a2, x2, _s2) in enumerate(keys):
                        if k2 != k:
                            diag = u64(0x8888) if (a2 == a and x2 == x) else "0"
                            ctx.append(f"H64({kcs[k2]} + {diag})")
                    ctx_src = (" + " + " + ".join(ctx)) if ctx else ""
                    wtag = tag_k(tag0 ^ (0x5157 * (wi + 1)), k)
                    body.append(f"if ((act >> {a}) & 1) sig[{a}][{x}] += "
                                f"H64({u64(wtag)} + v{ctx_src});")
                lines.append("  { " + " ".join(body) + " }")
        for i, (kind, b, goff, keys, tag) in enumerate(self.slot_info):
            if kind == 0:
                continue  # packed with its entry above
            body = [f"unsigned code = s[{i}];", "uint64_t v; int vi = -1;"]
            if kind == 0:
                body.append("v = code;")
            elif kind in (1, 2):
                cond_absent = f"!s[{i - goff}]" if goff else "0"
                none = "code == 0" if kind == 2 else "0"
                idx = "(int)code - 1" if kind == 2 else "(int)code"
                body.append(f"if (!((act >> {b}) & 1)) v = code; "
                            f"else if ({cond_absent}) v = 0xA5A5A5ULL ^ code; "
                            f"else if ({none}) v = 0x2222ULL; "
                            f"else {{ vi = {idx}; v = col[{b}][vi] + 0x1111ULL; }}")
            else:
                cond_absent = f"!s[{i - goff}]" if goff else "0"
                body.append(f"if (!((act >> {b}) & 1)) v = code; "
                            f"else if ({cond_absent}) v = 0xA5A5A5ULL ^ code; "
                            f"else {{ v = 0x3333ULL + (uint64_t)__builtin_popcountll(code); "
                            f"for (int x = 0; x < {len(self.values(self.symmetric[b]))}; x++) "
                            f"if ((code >> x) & 1) v += H64(col[{b}][x] + 0x55ULL); }}")
            kcs = []
            for k, (a, x, _st) in enumerate(keys):
                kcs.append(f"(((act >> {a}) & 1) ? col[{a}][{x}] : {u64(0x77 + x)}) + "
                           f"{u64((k + 1) * 0x1234)}")
            if len(keys) > 1:
                for k, kc in enumerate(kcs):
                    body.append(f"uint64_t kc{k} = {kc};")
            for k, (a, x, _st) in enumerate(keys):
                u = "v"
                if kind in (1, 2) and b == a:
                    u = f"(vi == {x} ? 0x5E1FULL : v)"
                elif kind == 3 and b == a:
                    u = (f"(v ^ ((((act >> {b}) & 1) && !({f'!s[{i - goff}]' if goff else '0'})) "
                         f"? ((code >> {x}) & 1) * 0x4444ULL : 0))")
                ctx = []
                for k2, (a2, x2, _s2) in enumerate(keys):
                    if k2 == k:
                        continue
                    diag = u64(0x8888) if (a2 == a and x2 == x) else "0"
                    ctx.append(f"H64(kc{k2} + {diag})")
                ctx_src = (" + " + " + ".join(ctx)) if ctx else ""
                body.append(f"if ((act >> {a}) & 1) sig[{a}][{x}] += "
                            f"H64({u64(tag_k(tag, k))} + {u}{ctx_src});")
            if kind in (1, 2, 3):
                kctx = " + ".join(f"H64(kc{k})" if len(keys) > 1 else f"H64({kcs[0]})"
                                  for k in range(len(keys))) or "0"
                if kind in (1, 2):
                    body.append(f"if (vi >= 0) sig[{b}][vi] += H64({u64(tag ^ 0xABCDEF12345)} + "
                                f"{kctx});")
                else:
                    n = len(self.values(self.symmetric[b]))
                    absent = f"!s[{i - goff}]" if goff else "0"
                    body.append(f"if (((act >> {b}) & 1) && !({absent})) {{ uint64_t t = "
                                f"H64({u64(tag ^ 0xABCDEF12345)} + {kctx}) + "
                                f"(uint64_t)__builtin_popcountll(code); "
                                f"for (int x = 0; x < {n}; x++) if ((code >> x) & 1) "
                                f"sig[{b}][x] += H64(t); }}")
            lines.append("  { " + " ".join(body) + " }")
        lines.append("}")

        # distinct_colours / places: per sort, unrolled for its size
        lines.append("static inline int distinct_colours(const Ctx *c, "
                     "uint64_t col[NSYM_ALLOC][MAXN], int *all) {")
        lines.append("  int k = 0, n = 0; (void)col;")
        for a, sort in enumerate(self.symmetric):
            n = len(self.values(sort))
            if n > 16:
                lines.append(f"  if ((c->active >> {a}) & 1) {{ n += {n}; "
                             f"for (int x = 0; x < {n}; x++) "
                             f"{{ int seen = 0; for (int y = 0; y < x; y++) seen |= col[{a}][y] == "
                             f"col[{a}][x]; k += !seen; }} }}")
                continue
            terms = ["1"]
            for x in range(1, n):
                terms.append("(" + " & ".join(f"(col[{a}][{y}] != col[{a}][{x}])"
                                                for y in range(x)) + ")")
            lines.append(f"  if ((c->active >> {a}) & 1) {{ n += {n}; k += {' + '.join(terms)}; }}")
        lines.append("  *all = n;")
        lines.append("  return k;")
        lines.append("}")
        lines.append("static inline void places(const Ctx *c, uint64_t col[NSYM_ALLOC][MAXN], "
                     "uint8_t pi[NSYM_ALLOC][MAXN], uint8_t pinv[NSYM_ALLOC][MAXN]) {")
        lines.append("  (void)col; (void)pi; (void)pinv;")
        for a, sort in enumerate(self.symmetric):
            n = len(self.values(sort))
            if n > 16:
                lines.append(f"  if ((c->active >> {a}) & 1) "
                             f"for (int x = 0; x < {n}; x++) {{ int p = 0; "
                             f"for (int y = 0; y < {n}; y++) p += (col[{a}][y] < col[{a}][x]) | "
                             f"((col[{a}][y] == col[{a}][x]) & (y < x)); pi[{a}][x] = (uint8_t)p; "
                             f"pinv[{a}][p] = (uint8_t)x; }}")
                continue
            body = []
            for x in range(n):
                terms = []
                for y in range(n):
                    if y == x:
                        continue
                    t = f"(col[{a}][{y}] < col[{a}][{x}])"
                    if y < x:
                        t = f"(col[{a}][{y}] <= col[{a}][{x}])"
                    terms.append(t)
                p_src = " + ".join(terms) if terms else "0"
                body.append(f"{{ int p = {p_src}; pi[{a}][{x}] = (uint8_t)p; "
                            f"pinv[{a}][p] = {x}; }}")
            lines.append(f"  if ((c->active >> {a}) & 1) {{ {' '.join(body)} }}")
        lines.append("}")

        # img_cmp(c, s, pinv, pi, ref, cur): the image of s, slot by slot,
        # against ref: 1 when greater (stops), 0 when equal, -1 when less
        # (then cur holds the whole image).
        n = self.layout.n
        src_exprs = []
        for i, (kind, b, goff, keys, _tag) in enumerate(self.slot_info):
            base = i - sum(x * st for _, x, st in keys)
            terms = [str(base)] + [f"(int)pinv[{a}][{x}]*{st}" for a, x, st in keys]
            src = " + ".join(terms) if keys else str(i)
            if kind == 0:
                expr = f"s[{src}]"
                src_exprs.append((f"slot_t v = {expr};", "v"))
                continue
            if kind == 1:
                ren = f"v = pi[{b}][v];"
            elif kind == 2:
                ren = f"if (v) v = (slot_t)(pi[{b}][v - 1] + 1);"
            else:
                nvals = len(self.values(self.symmetric[b]))
                ren = f"v = (slot_t)permute_mask(v, pi[{b}], {nvals});"
            if goff:
                code = (f"int _src = {src}; slot_t v = s[_src]; "
                        f"if (s[_src - {goff}]) {{ {ren} }}")
            else:
                code = f"slot_t v = s[{src}]; {ren}"
            src_exprs.append((code, "v"))
        lines.append("static int img_cmp(const slot_t *s, const Perm pinv, const Perm pi, "
                     "const slot_t *ref, slot_t *cur) {")
        lines.append("  (void)pinv; (void)pi;")
        for i, (code, v) in enumerate(src_exprs):
            lines.append(f"  {{ {code} if ({v} != ref[{i}]) {{ if ({v} > ref[{i}]) return 1; "
                         f"cur[{i}] = {v}; goto w{i + 1}; }} cur[{i}] = {v}; }}")
        lines.append("  return 0;")
        for i, (code, v) in enumerate(src_exprs):
            lines.append(f"  w{i}: ;")
            lines.append(f"  {{ {code} cur[{i}] = {v}; }}")
        lines.append(f"  w{n}: return -1;")
        lines.append("}")
        lines.append("static void img_write(const slot_t *s, const Perm pinv, const Perm pi, "
                     "slot_t *cur) {")
        lines.append("  (void)pinv; (void)pi;")
        for i, (code, v) in enumerate(src_exprs):
            lines.append(f"  {{ {code} cur[{i}] = {v}; }}")
        lines.append("}")
        return "\n".join(lines)

    def pack_code(self) -> str:
        L = self.layout
        lines = ["static inline void rc_pack(const slot_t *s, uint64_t *w) {"]
        for wd in range(L.words):
            lines.append(f"  w[{wd}] = 0;")
        for i, (wd, bit) in enumerate(L.pack_pos):
            if L.widths[i] == 0:
                continue
            lines.append(f"  w[{wd}] |= (uint64_t)s[{i}] << {bit};")
        lines.append("}")
        lines.append("static inline void rc_unpack(const uint64_t *w, slot_t *s) {")
        for i, (wd, bit) in enumerate(L.pack_pos):
            width = L.widths[i]
            if width == 0:
                lines.append(f"  s[{i}] = 0;")
                continue
            mask = (1 << width) - 1
            lines.append(f"  s[{i}] = (slot_t)((w[{wd}] >> {bit}) & {mask}ULL);")
        lines.append("}")
        return "\n".join(lines)
