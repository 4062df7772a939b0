/* rmapcheck native engine: breadth-first search, visited set, symmetry.
 * Appended after the generated model code (expand_*, prop_*, img_cmp, ...).
 *
 * States are numbered in discovery order; the visited set is an open-
 * addressing table of (32-bit hash tag, state number + 1); the packed states,
 * parents and action instances live in chunked arrays indexed by number, so
 * the frontier is simply the numbers from `head` to `count`.
 *
 * Expanding a state (its successors, their canonical forms and hashes) needs
 * nothing but the state, so worker threads expand the states ahead of the
 * search into a ring of RING slots; the search itself (the main thread) takes
 * the expansions in order and does what bfs.py does with each successor
 * (assertions, the visited set, properties, limits), so the result is the
 * same whatever the number of workers. A worker that finds a successor
 * already stored (it reads the table while the main thread adds to it: an
 * entry is published after its state) marks it "dup": it was stored before
 * the search reaches it, so the search would find it too. */

#include <stdio.h>
#include <pthread.h>
#include <sched.h>

#pragma GCC optimize ("O2")

#define CHUNK_BITS 18
#define CHUNK_SIZE ((uint64_t)1 << CHUNK_BITS)
#define MAX_CHUNKS ((uint64_t)1 << (32 - CHUNK_BITS))
#define MAX_WORKERS 64

enum {
  ST_COMPLETE = 0, ST_PAUSED = 1, ST_TIMEOUT = 2, ST_DONE = 3, ST_MAXSTATES = 4,
  ST_MAXDEPTH = 5, ST_FAULT = 6, ST_BROKEN = 7, ST_OVERFLOW = 8, ST_NOMEM = 9, ST_MEMLIMIT = 10
};
enum { EV_INVARIANT = 1, EV_WITNESS = 2, EV_ASSERT = 3 };

#define LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static double rc_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static void rc_fault(Ctx *c, int site, V value) {
  c->fault_site = site;
  c->fault_value = value;
  c->fault_nkeys = 0;
  c->status = ST_FAULT;
  longjmp(*c->fault_jb, 1);
}

/* A run-time error at a state location: its keys go into the message. */
static void rc_fault_at(Ctx *c, int site, V value, int nkeys, const V *keys) {
  if (nkeys > RC_MAXKEYS) nkeys = 0;
  memcpy(c->fault_keys, keys, sizeof(V) * (size_t)nkeys);
  c->fault_site = site;
  c->fault_value = value;
  c->fault_nkeys = nkeys;
  c->status = ST_FAULT;
  longjmp(*c->fault_jb, 1);
}

static void rc_overflow(Ctx *c) {
  c->status = ST_OVERFLOW;
  longjmp(*c->abort_jb, 1);
}

static void rc_broken_choose(Ctx *c, int site, int xi, int yi, int err) {
  c->bk_kind = 1;
  c->bk_site = site;
  c->bk_x = xi;
  c->bk_y = yi;
  c->bk_err = err;
  c->bk_fault = err ? c->fault_site : -1;
  c->bk_value = err ? c->fault_value : 0;
  c->status = ST_BROKEN;
  longjmp(*c->abort_jb, 1);
}

static void rc_emit(Ctx *c, uint32_t iid, const slot_t *t, const uint8_t *failed, int nf) {
  Succ *x = &c->out[c->nout++];
  x->iid = iid;
  x->nf = (uint16_t)nf;
  if (nf) memcpy(x->failed, failed, (size_t)nf);
  memcpy(x->st, t, sizeof(slot_t) * NSLOTS);
}

/* ------------------------------------------------------------ symmetry */

static Perm IDENT;

static void init_ident(void) {
  for (int a = 0; a < NSYM_ALLOC; a++)
    for (int x = 0; x < MAXN; x++) IDENT[a][x] = (uint8_t)x;
}

/* Whether swapping values xi and yi of symmetric sort a leaves st unchanged
 * (symmetry.SymmetryGuard._twins, for the state). */
static int rc_twins(Ctx *c, const slot_t *st, int a, int xi, int yi) {
  Perm p;
  slot_t scratch[NSLOTS_ALLOC];
  (void)c;
  memcpy(p, IDENT, sizeof(Perm));
  p[a][xi] = (uint8_t)yi;
  p[a][yi] = (uint8_t)xi;
  return img_cmp(st, p, p, st, scratch) == 0;
}

typedef struct Cell { int a, start, size; uint8_t vals[MAXN]; } Cell;

static int next_perm(uint8_t *v, int n) {
  int i = n - 2;
  while (i >= 0 && v[i] >= v[i + 1]) i--;
  if (i < 0) { /* the last one: back to the first (increasing) */
    for (int l = 0, r = n - 1; l < r; l++, r--) { uint8_t t = v[l]; v[l] = v[r]; v[r] = t; }
    return 0;
  }
  int j = n - 1;
  while (v[j] <= v[i]) j--;
  uint8_t t = v[i]; v[i] = v[j]; v[j] = t;
  for (int l = i + 1, r = n - 1; l < r; l++, r--) { t = v[l]; v[l] = v[r]; v[r] = t; }
  return 1;
}

/* The number of distinct colours among the values of sort a. */
static inline int distinct(const uint64_t *col, int n) {
  int d = 0;
  for (int x = 0; x < n; x++) {
    int seen = 0;
    for (int y = 0; y < x; y++) seen |= col[y] == col[x];
    d += !seen;
  }
  return d;
}

#define SIG_ROUNDS 3

/* The canonical representative of s: the least image (slot codes compared in
 * order) over the permutations that map each value into its colour block,
 * blocks ordered by colour; a block whose values are all twins contributes
 * one arrangement. Colours depend only on how values sit in the state, never
 * on their names, so the images considered are the same for every state of an
 * orbit: equal representatives exactly for symmetric states. */
static void canon(Ctx *c, const slot_t *s, slot_t *out) {
  c->canon_calls++;
  if (!c->active || NSYM == 0) {
    memcpy(out, s, sizeof(slot_t) * NSLOTS);
    return;
  }
  uint64_t col[NSYM_ALLOC][MAXN], sig[NSYM_ALLOC][MAXN];
  memset(col, 0, sizeof col);
  /* colour refinement, until no class splits (or no two values share one) */
  int classes = -1, ties = 0;
  for (int round = 0; round < SIG_ROUNDS; round++) {
    memset(sig, 0, sizeof sig);
    colour_round(c, s, col, sig);
    memcpy(col, sig, sizeof col);
    int all;
    int k = distinct_colours(c, col, &all);
    ties = k < all;
    if (!ties || k == classes) break;
    classes = k;
  }
  Perm pi, pinv;
  memcpy(pi, IDENT, sizeof(Perm));
  memcpy(pinv, IDENT, sizeof(Perm));
  /* a value's place: after every value of a smaller colour, and after the
   * values of its own colour with smaller names */
  places(c, col, pi, pinv);
  Cell cells[NSYM_ALLOC * MAXN];
  int ncells = 0;
  for (int a = 0; a < NSYM && ties; a++) {
    if (!((c->active >> a) & 1)) continue;
    int n = SYM_N[a];
    const uint64_t *ca = col[a];
    /* blocks of values sharing a colour: one arrangement if all are twins */
    for (int start = 0; start < n;) {
      int first = pinv[a][start], end = start + 1;
      while (end < n && ca[pinv[a][end]] == ca[first]) end++;
      int size = end - start;
      if (size > 1) {
        int twins = 1;
        for (int k = 1; k < size && twins; k++)
          twins = rc_twins(c, s, a, first, pinv[a][start + k]);
        if (!twins) {
          Cell *cl = &cells[ncells++];
          cl->a = a;
          cl->start = start;
          cl->size = size;
          for (int k = 0; k < size; k++) cl->vals[k] = pinv[a][start + k];
        }
      }
      start = end;
    }
  }
  c->canon_images++;
  img_write(s, pinv, pi, out);
  if (!ncells) return;
  slot_t bufa[NSLOTS_ALLOC];
  slot_t *best = out, *cur = bufa;
  for (;;) {
    /* next combination: the last cell varies fastest */
    int k = ncells - 1;
    for (; k >= 0; k--)
      if (next_perm(cells[k].vals, cells[k].size)) break;
    if (k < 0) break;
    for (int j = k; j < ncells; j++) {
      Cell *cl = &cells[j];
      for (int q = 0; q < cl->size; q++) {
        pi[cl->a][cl->vals[q]] = (uint8_t)(cl->start + q);
        pinv[cl->a][cl->start + q] = cl->vals[q];
      }
    }
    c->canon_images++;
    if (img_cmp(s, pinv, pi, best, cur) < 0) {
      slot_t *t = best; best = cur; cur = t;
    }
  }
  if (best != out) memcpy(out, best, sizeof(slot_t) * NSLOTS);
}

/* ------------------------------------------------------------ storage */

static inline uint64_t hash_words(const uint64_t *w) {
  uint64_t h = 0x243F6A8885A308D3ULL;
  for (int i = 0; i < NWORDS; i++) {
    h ^= mix64(w[i] + (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ULL);
    h *= 0xbf58476d1ce4e5b9ULL;
  }
  return mix64(h);
}

static inline uint8_t *state_ptr(const Ctx *g, uint64_t id) {
  return g->st_chunks[id >> CHUNK_BITS] + (id & (CHUNK_SIZE - 1)) * PACKED_BYTES;
}

static Table *table_new(uint64_t cap) {
  Table *t = malloc(sizeof(Table));
  if (!t) return 0;
  t->e = calloc(cap, sizeof(uint64_t));
  if (!t->e) { free(t); return 0; }
  t->mask = cap - 1;
  t->retired = 0;
  return t;
}

static void table_free_retired(Table *t) {
  Table *r = t->retired;
  while (r) {
    Table *next = r->retired;
    free(r->e);
    free(r);
    r = next;
  }
  t->retired = 0;
}

static int table_grow(Ctx *g) {
  Table *old = g->tab;
  Table *t = table_new((old->mask + 1) * 2);
  if (!t) return 0;
  uint64_t w[NWORDS];
  for (uint64_t id = 0; id < g->count; id++) {
    memset(w, 0, sizeof w);
    memcpy(w, state_ptr(g, id), PACKED_BYTES);
    uint64_t h = hash_words(w);
    uint64_t idx = h & t->mask;
    while (t->e[idx]) idx = (idx + 1) & t->mask;
    t->e[idx] = ((h >> 32) << 32) | (id + 1);
  }
  /* workers may still read the old table: it goes when they are stopped */
  t->retired = old;
  STORE_REL(&g->tab, t);
  if (g->workers <= 1) table_free_retired(t);
  return 1;
}

/* The number of the packed state w (hash h) in table t, or -1 with *slot
 * where it would go. Safe while the main thread adds states. */
static inline int64_t find(const Ctx *g, const Table *t, const uint64_t *w, uint64_t h,
                           uint64_t *slot) {
  uint32_t tag = (uint32_t)(h >> 32);
  uint64_t idx = h & t->mask;
  for (;;) {
    uint64_t e = LOAD_ACQ(&t->e[idx]);
    if (!e) break;
    if ((uint32_t)(e >> 32) == tag) {
      uint64_t id = (uint32_t)e - 1;
      if (!memcmp(state_ptr(g, id), w, PACKED_BYTES)) return (int64_t)id;
    }
    idx = (idx + 1) & t->mask;
  }
  *slot = idx;
  return -1;
}

/* Whether taking `more` bytes for states or the table would pass the memory
 * budget: checked before each allocation, so that the search stops at the
 * limit instead of passing it by a whole table (which doubles). */
static int over_budget(const Ctx *g, uint64_t more) {
  if (g->mem_budget < 0) return 0;
  uint64_t held = (uint64_t)g->nchunks * CHUNK_SIZE * (PACKED_BYTES + 2 * sizeof(uint32_t))
                  + (g->tab->mask + 1) * sizeof(uint64_t);
  return held + more > (uint64_t)g->mem_budget;
}

/* Adds the packed state w (hash h) at table slot `slot` (from find): its
 * number, or -1 when out of memory, -2 when the memory budget would pass. */
static int64_t insert(Ctx *g, const uint64_t *w, uint64_t h, uint64_t slot, uint32_t parent,
                      uint32_t iid) {
  uint64_t id = g->count;
  if (id + 2 >= ((uint64_t)1 << 32)) return -1;
  uint64_t ch = id >> CHUNK_BITS;
  if (ch >= g->nchunks) {
    if (ch >= MAX_CHUNKS) return -1;
    if (over_budget(g, CHUNK_SIZE * (PACKED_BYTES + 2 * sizeof(uint32_t)))) return -2;
    uint8_t *st = malloc(CHUNK_SIZE * PACKED_BYTES);
    uint32_t *par = malloc(CHUNK_SIZE * sizeof(uint32_t));
    uint32_t *iids = malloc(CHUNK_SIZE * sizeof(uint32_t));
    if (!st || !par || !iids) { free(st); free(par); free(iids); return -1; }
    g->par_chunks[ch] = par;
    g->iid_chunks[ch] = iids;
    STORE_REL(&g->st_chunks[ch], st);
    g->nchunks = ch + 1;
  }
  /* the table doubles past three quarters full, old and new together */
  if ((id + 1) * 4 > (g->tab->mask + 1) * 3 &&
      over_budget(g, 2 * (g->tab->mask + 1) * sizeof(uint64_t)))
    return -2;
  memcpy(state_ptr(g, id), w, PACKED_BYTES);
  g->par_chunks[ch][id & (CHUNK_SIZE - 1)] = parent;
  g->iid_chunks[ch][id & (CHUNK_SIZE - 1)] = iid;
  STORE_REL(&g->tab->e[slot], ((h >> 32) << 32) | (id + 1));
  STORE_REL(&g->count, id + 1);
  if (g->count * 4 > (g->tab->mask + 1) * 3 && !table_grow(g)) return -1;
  return (int64_t)id;
}

static void load_state(const Ctx *g, uint64_t id, slot_t *s) {
  uint64_t w[NWORDS];
  memset(w, 0, sizeof w);
  memcpy(w, state_ptr(g, id), PACKED_BYTES);
  rc_unpack(w, s);
}

/* ------------------------------------------------------------ expanding */

static void add_event(Ctx *g, int kind, int name, int64_t sid, int64_t iid, int64_t aidx) {
  if (g->nevents == g->cap_events) {
    int cap = g->cap_events ? g->cap_events * 2 : 16;
    int64_t *e = realloc(g->events, sizeof(int64_t) * 5 * (size_t)cap);
    if (!e) return;
    g->events = e;
    g->cap_events = cap;
  }
  int64_t *e = g->events + 5 * g->nevents++;
  e[0] = kind; e[1] = name; e[2] = sid; e[3] = iid; e[4] = aidx;
}

static int done(const Ctx *g) {
  if (g->stop_at_first && g->nviol) return 1;
  return g->norder && g->pending == 0;
}

static void failed_mask(const Succ *x, uint64_t *m) {
  memset(m, 0, sizeof(uint64_t) * ((NASSERTS + 63) / 64));
  for (int j = 0; j < x->nf; j++) m[x->failed[j] >> 6] |= 1ULL << (x->failed[j] & 63);
}

/* Re-runs action a with its loops over reduced sorts in every other order
 * (Machine._check_orders); any difference breaks the symmetry. */
static void order_check(Ctx *c, const slot_t *s, int a, int start) {
  int nchk = 0, sorts[NSYM_ALLOC];
  for (int k = 0; k < ORDER_CHECKS[a][0]; k++) {
    int srt = ORDER_CHECKS[a][1 + k];
    if ((c->active >> srt) & 1) sorts[nchk++] = srt;
  }
  if (!nchk) return;
  uint8_t perm[NSYM_ALLOC][MAXN];
  for (int k = 0; k < nchk; k++)
    for (int x = 0; x < SYM_N[sorts[k]]; x++) perm[k][x] = (uint8_t)x;
  Succ *saved_out = c->out;
  int saved_n = c->nout;
  int expected = saved_n - start;
  c->cov = c->cov_spare;
  for (;;) {
    int k = nchk - 1;
    for (; k >= 0; k--)
      if (next_perm(perm[k], SYM_N[sorts[k]])) break;
    if (k < 0) break;
    for (int q = 0; q < nchk; q++)
      for (int x = 0; x < SYM_N[sorts[q]]; x++)
        c->order[sorts[q]][x] = (V)perm[q][x] + SYM_LO[sorts[q]];
    int moved = -1;
    for (int q = 0; q < nchk && moved < 0; q++)
      for (int x = 0; x < SYM_N[sorts[q]]; x++)
        if (perm[q][x] != x) { moved = sorts[q]; break; }
    c->out = c->alt;
    c->nout = 0;
    int same;
    jmp_buf jb;
    jmp_buf *saved_jb = c->fault_jb;
    if (setjmp(jb)) {
      same = 0;
    } else {
      c->fault_jb = &jb;
      EXPAND[a](c, s);
      same = c->nout == expected;
      for (int j = 0; same && j < expected; j++) {
        const Succ *x = &saved_out[start + j], *y = &c->alt[j];
        uint64_t mx[(NASSERTS + 63) / 64], my[(NASSERTS + 63) / 64];
        failed_mask(x, mx);
        failed_mask(y, my);
        same = x->iid == y->iid && !memcmp(x->st, y->st, sizeof(slot_t) * NSLOTS) &&
               !memcmp(mx, my, sizeof mx);
      }
    }
    c->fault_jb = saved_jb;
    c->out = saved_out;
    c->nout = saved_n;
    if (!same) {
      c->cov = c->cov_main;
      for (int q = 0; q < nchk; q++)
        for (int x = 0; x < SYM_N[sorts[q]]; x++) c->order[sorts[q]][x] = x + SYM_LO[sorts[q]];
      c->bk_kind = 2;
      c->bk_action = a;
      c->bk_sort = moved;
      c->status = ST_BROKEN;
      longjmp(*c->abort_jb, 1);
    }
  }
  for (int q = 0; q < nchk; q++)
    for (int x = 0; x < SYM_N[sorts[q]]; x++) c->order[sorts[q]][x] = x + SYM_LO[sorts[q]];
  c->cov = c->cov_main;
}

static void expand_state(Ctx *c, const slot_t *s) {
  c->out = c->buf;
  c->nout = 0;
  for (int a = 0; a < NACTIONS; a++) {
    c->cur_action = a;
    int start = c->nout;
    EXPAND[a](c, s);
    if (c->guard_on && ORDER_CHECKS[a][0]) order_check(c, s, a, start);
  }
}

/* Expands state sid into ring slot r (any thread): its successors, and for
 * each either "already stored" or its canonical form; a fault, overflow or
 * broken symmetry is recorded for the search to report when it gets there. */
static void expand_into(Ctx *c, uint64_t sid, RSlot *r) {
  Ctx *g = c->g;
  slot_t s[NSLOTS_ALLOC], cs[NSLOTS_ALLOC];
  jmp_buf jb;
  load_state(g, sid, s);
  c->fault_jb = &jb;
  c->abort_jb = &jb;
  if (setjmp(jb)) {
    r->status = c->status;
    r->fault_site = c->fault_site;
    r->fault_value = c->fault_value;
    r->fault_nkeys = c->fault_nkeys;
    memcpy(r->fault_keys, c->fault_keys, sizeof r->fault_keys);
    r->action = c->cur_action;
    r->bk_kind = c->bk_kind; r->bk_site = c->bk_site; r->bk_err = c->bk_err;
    r->bk_fault = c->bk_fault; r->bk_action = c->bk_action; r->bk_sort = c->bk_sort;
    r->bk_x = c->bk_x; r->bk_y = c->bk_y; r->bk_value = c->bk_value;
    r->n = 0;
    return;
  }
  expand_state(c, s);
  const Table *t = LOAD_ACQ(&g->tab);
  int n = c->nout;
  if (n > r->cap) {
    Res *res = realloc(r->res, sizeof(Res) * (size_t)n);
    if (!res) {
      r->status = ST_NOMEM;
      r->n = 0;
      return;
    }
    r->res = res;
    r->cap = n;
  }
  if (c->active) {
    /* a successor that is a stored state is its own representative: look
     * the concrete ones up first (their table entries fetched ahead) */
    for (int k = 0; k < n; k++) {
      Res *y = &r->res[k];
      rc_pack(c->buf[k].st, y->w);
      y->h = hash_words(y->w);
      __builtin_prefetch(&t->e[y->h & t->mask]);
    }
  }
  for (int k = 0; k < n; k++) {
    Succ *x = &c->buf[k];
    Res *y = &r->res[k];
    y->iid = x->iid;
    y->nf = x->nf;
    if (x->nf) memcpy(y->failed, x->failed, x->nf);
    uint64_t slot;
    if (c->active && find(g, t, y->w, y->h, &slot) >= 0) {
      y->dup = 1;
      c->concrete_hits++;
      continue;
    }
    y->dup = 0;
    canon(c, x->st, cs);
    rc_pack(cs, y->w);
    y->h = hash_words(y->w);
  }
  r->n = c->nout;
  r->status = 0;
}

static uint64_t claim_limit(Ctx *g) {
  uint64_t count = LOAD_ACQ(&g->count), head = LOAD_ACQ(&g->head);
  return count < head + RING ? count : head + RING;
}

/* Claims the next state to expand, if there is one in the window. */
static int claim(Ctx *g, uint64_t *sid) {
  uint64_t nc = LOAD_ACQ(&g->next_claim);
  if (nc >= claim_limit(g)) return 0;
  if (!__atomic_compare_exchange_n(&g->next_claim, &nc, nc + 1, 0, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE))
    return 0;
  *sid = nc;
  return 1;
}

static void *worker_main(void *arg) {
  Ctx *c = arg;
  Ctx *g = c->g;
  int idle = 0;
  while (!LOAD_ACQ(&g->stop)) {
    uint64_t sid;
    if (claim(g, &sid)) {
      RSlot *r = &g->ring[sid % RING];
      expand_into(c, sid, r);
      STORE_REL(&r->ready, 1);
      idle = 0;
    } else if (++idle < 2048) {
      cpu_relax();
    } else {
      sched_yield();
    }
  }
  return 0;
}

/* The expansion of state sid, waiting for (or doing) it. */
static RSlot *take(Ctx *g, uint64_t sid) {
  RSlot *r = &g->ring[sid % RING];
  int idle = 0;
  while (!LOAD_ACQ(&r->ready)) {
    uint64_t other;
    if (claim(g, &other)) {
      RSlot *o = &g->ring[other % RING];
      expand_into(g, other, o);
      STORE_REL(&o->ready, 1);
      idle = 0;
    } else if (++idle < 2048) {
      cpu_relax();
    } else {
      sched_yield();
    }
  }
  return r;
}

/* What bfs.py does with the successors of state sid, in order. */
static int process(Ctx *g, uint64_t sid, RSlot *r) {
  slot_t cs[NSLOTS_ALLOC];
  int n = r->n;
  for (int k = 0; k < n; k++)
    if (!r->res[k].dup) __builtin_prefetch(&g->tab->e[r->res[k].h & g->tab->mask]);
  for (int k = 0; k < n; k++) {
    Res *x = &r->res[k];
    g->enabled[x->iid]++;
    if (x->nf) {
      for (int j = 0; j < x->nf; j++) {
        int name = g->assert_name[x->failed[j]];
        if (name < 0 || g->decided[name]) continue;
        g->decided[name] = 1;
        g->pending--;
        g->nviol++;
        add_event(g, EV_ASSERT, name, (int64_t)sid, x->iid, x->failed[j]);
      }
      if (done(g)) return ST_DONE;
    }
    if (x->dup) continue;
    uint64_t slot;
    if (find(g, g->tab, x->w, x->h, &slot) >= 0) continue;
    int64_t nid = insert(g, x->w, x->h, slot, (uint32_t)sid, x->iid);
    if (nid == -2) return ST_MEMLIMIT;
    if (nid < 0) return ST_NOMEM;
    g->fresh[x->iid]++;
    /* the properties, on the new state's representative */
    rc_unpack(x->w, cs);
    g->phase = 2;
    g->phase_sid = nid;
    for (int j = 0; j < g->ninv; j++) {
      int name = g->inv_name[j];
      if (g->decided[name]) continue;
      if (!PROPS[g->inv_prop[j]](g, cs)) {
        g->decided[name] = 1;
        g->pending--;
        g->nviol++;
        add_event(g, EV_INVARIANT, name, nid, -1, -1);
      }
    }
    for (int j = 0; j < g->nwit; j++) {
      int name = g->wit_name[j];
      if (g->decided[name]) continue;
      if (PROPS[g->wit_prop[j]](g, cs)) {
        g->decided[name] = 1;
        g->pending--;
        add_event(g, EV_WITNESS, name, nid, -1, -1);
      }
    }
    g->phase = 0;
    if (g->cov_states)
      for (int j = 0; j < NANTE; j++) {
        uint64_t now = g->cov[ANTE_SITES[j]];
        if (now != g->ante_seen[j]) {
          g->ante_states[j]++;
          g->ante_seen[j] = now;
        }
      }
    if (done(g)) return ST_DONE;
    if (g->max_states >= 0 && nid + 1 >= g->max_states) return ST_MAXSTATES;
  }
  return 0;
}

/* ------------------------------------------------------------ API */

static int ctx_init_thread(Ctx *c, Ctx *g) {
  c->g = g;
  c->active = g->active;
  c->guard_on = g->guard_on;
  for (int a = 0; a < NSYM; a++)
    for (int x = 0; x < SYM_N[a]; x++) c->order[a][x] = x + SYM_LO[a];
  c->buf = malloc(sizeof(Succ) * (NIIDS + 1));
  c->alt = malloc(sizeof(Succ) * (NIIDS + 1));
  c->cov = c->cov_main = calloc(NCOV_ALLOC, sizeof(uint64_t));
  c->cov_spare = calloc(NCOV_ALLOC, sizeof(uint64_t));
  c->fault_jb = &c->top;
  c->abort_jb = &c->top;
  return c->buf && c->alt && c->cov && c->cov_spare;
}

static void ctx_free_thread(Ctx *c) {
  free(c->buf); free(c->alt);
  free(c->cov_main); free(c->cov_spare);
}

RC_EXPORT int64_t rc_info(int which) {
  switch (which) {
    case 0: return NSLOTS;
    case 1: return PACKED_BYTES;
    case 2: return NIIDS;
    case 3: return NPROPS;
    case 4: return NASSERTS;
    case 5: return NSYM;
    case 6: return (int64_t)sizeof(slot_t);
    case 7: return NACTIONS;
    case 8: return NFAULTS;
    case 9: return NWORDS;
    case 10: return RING;
    case 11: return NCOV;
    case 12: return NANTE;
  }
  return -1;
}

RC_EXPORT Ctx *rc_new(void) {
  init_ident();
  Ctx *c = calloc(1, sizeof(Ctx));
  if (!c) return 0;
  int ok = ctx_init_thread(c, c);
  c->st_chunks = calloc(MAX_CHUNKS, sizeof(uint8_t *));
  c->par_chunks = calloc(MAX_CHUNKS, sizeof(uint32_t *));
  c->iid_chunks = calloc(MAX_CHUNKS, sizeof(uint32_t *));
  c->tab = table_new(1024);
  c->ring = calloc(RING, sizeof(RSlot));
  c->enabled = calloc(NIIDS + 1, sizeof(uint64_t));
  c->fresh = calloc(NIIDS + 1, sizeof(uint64_t));
  c->ante_states = calloc(NANTE + 1, sizeof(uint64_t));
  c->ante_seen = calloc(NANTE + 1, sizeof(uint64_t));
  c->workers = 1;
  c->max_states = -1;
  c->mem_budget = -1;
  c->max_depth = -1;
  c->pause_every = 0.1;
  for (int i = 0; i < NASSERTS; i++) c->assert_name[i] = -1;
  if (!ok || !c->st_chunks || !c->par_chunks || !c->iid_chunks || !c->tab || !c->ring ||
      !c->enabled || !c->fresh || !c->ante_states || !c->ante_seen)
    return 0;
  return c;
}

RC_EXPORT void rc_free(Ctx *c) {
  if (!c) return;
  for (size_t k = 0; k < c->nchunks; k++) {
    free(c->st_chunks[k]);
    free(c->par_chunks[k]);
    free(c->iid_chunks[k]);
  }
  free(c->st_chunks); free(c->par_chunks); free(c->iid_chunks);
  if (c->tab) { table_free_retired(c->tab); free(c->tab->e); free(c->tab); }
  if (c->ring)
    for (int k = 0; k < RING; k++) free(c->ring[k].res);
  free(c->ring);
  ctx_free_thread(c);
  free(c->enabled); free(c->fresh); free(c->ante_states); free(c->ante_seen);
  free(c->inv_prop); free(c->inv_name); free(c->wit_prop); free(c->wit_name);
  free(c->decided); free(c->events);
  free(c);
}

RC_EXPORT void rc_set_symmetry(Ctx *c, uint32_t active, int guard_on) {
  c->active = active;
  c->guard_on = guard_on;
}

RC_EXPORT void rc_set_workers(Ctx *c, int workers) {
  c->workers = workers < 1 ? 1 : workers > MAX_WORKERS ? MAX_WORKERS : workers;
}

RC_EXPORT void rc_set_memory(Ctx *c, int64_t bytes) { c->mem_budget = bytes; }

/* Count, per antecedent, the states whose property checks reach it. */
RC_EXPORT void rc_set_coverage(Ctx *c, int states) { c->cov_states = states; }

/* What the search counted so far: marks per site (NCOV), successors and new
 * states per action instance (NIIDS), states per antecedent (NANTE). */
RC_EXPORT void rc_coverage(Ctx *c, uint64_t *marks, uint64_t *enabled, uint64_t *fresh,
                           uint64_t *states) {
  memcpy(marks, c->cov, sizeof(uint64_t) * NCOV);
  memcpy(enabled, c->enabled, sizeof(uint64_t) * NIIDS);
  memcpy(fresh, c->fresh, sizeof(uint64_t) * NIIDS);
  memcpy(states, c->ante_states, sizeof(uint64_t) * NANTE);
}

RC_EXPORT void rc_set_limits(Ctx *c, int64_t max_states, int64_t max_depth, double deadline,
                             double pause_every) {
  c->max_states = max_states;
  c->max_depth = max_depth;
  c->deadline = deadline;
  c->pause_every = pause_every;
  c->next_pause = 0; /* the first check pauses, as bfs.py ticks at state 0 */
}

RC_EXPORT int rc_set_props(Ctx *c, int ninv, const int *inv_prop, const int *inv_name,
                           int nwit, const int *wit_prop, const int *wit_name,
                           const int *assert_name, int nnames, const uint8_t *decided,
                           int pending, int nviol, int stop_at_first, int norder) {
  c->ninv = ninv;
  c->nwit = nwit;
  c->nnames = nnames;
  c->inv_prop = malloc(sizeof(int) * (size_t)(ninv + 1));
  c->inv_name = malloc(sizeof(int) * (size_t)(ninv + 1));
  c->wit_prop = malloc(sizeof(int) * (size_t)(nwit + 1));
  c->wit_name = malloc(sizeof(int) * (size_t)(nwit + 1));
  c->decided = malloc((size_t)nnames + 1);
  if (!c->inv_prop || !c->inv_name || !c->wit_prop || !c->wit_name || !c->decided) return 0;
  memcpy(c->inv_prop, inv_prop, sizeof(int) * (size_t)ninv);
  memcpy(c->inv_name, inv_name, sizeof(int) * (size_t)ninv);
  memcpy(c->wit_prop, wit_prop, sizeof(int) * (size_t)nwit);
  memcpy(c->wit_name, wit_name, sizeof(int) * (size_t)nwit);
  memcpy(c->assert_name, assert_name, sizeof(int) * NASSERTS);
  memcpy(c->decided, decided, (size_t)nnames);
  c->pending = pending;
  c->nviol = nviol;
  c->stop_at_first = stop_at_first;
  c->norder = norder;
  return 1;
}

/* The initial state (slot codes): state 0. */
RC_EXPORT int rc_start(Ctx *c, const slot_t *init) {
  slot_t cs[NSLOTS_ALLOC];
  uint64_t w[NWORDS], slot;
  canon(c, init, cs);
  rc_pack(cs, w);
  uint64_t h = hash_words(w);
  if (find(c, c->tab, w, h, &slot) >= 0) return 0;
  if (insert(c, w, h, slot, UINT32_MAX, UINT32_MAX) < 0) return ST_NOMEM;
  c->head = 0;
  c->next_claim = 0;
  c->next_level = 1;
  c->depth = 0;
  c->resumed = 0;
  return 0;
}

static int search_loop(Ctx *c) {
  while (c->head < c->count) {
    uint64_t sid = c->head;
    if (!c->resumed) {
      if (sid == c->next_level) {
        c->depth++;
        c->next_level = c->count;
        if (c->max_depth >= 0 && c->depth >= c->max_depth) { c->resumed = 1; return ST_MAXDEPTH; }
      }
      if (!(sid % 64)) {
        double now = rc_now();
        if (c->deadline > 0 && now >= c->deadline) { c->resumed = 1; return ST_TIMEOUT; }
        if (now >= c->next_pause) {
          c->next_pause = now + c->pause_every;
          c->resumed = 1;
          return ST_PAUSED;
        }
      }
    }
    c->resumed = 0;
    RSlot *r = take(c, sid);
    if (r->status) {
      c->status = r->status;
      c->phase = 1;
      c->phase_sid = (int64_t)sid;
      c->cur_action = r->action;
      c->fault_site = r->fault_site;
      c->fault_value = r->fault_value;
      c->fault_nkeys = r->fault_nkeys;
      memcpy(c->fault_keys, r->fault_keys, sizeof c->fault_keys);
      c->bk_kind = r->bk_kind; c->bk_site = r->bk_site; c->bk_err = r->bk_err;
      c->bk_fault = r->bk_fault; c->bk_action = r->bk_action; c->bk_sort = r->bk_sort;
      c->bk_x = r->bk_x; c->bk_y = r->bk_y; c->bk_value = r->bk_value;
      return r->status;
    }
    c->transitions += (uint64_t)r->n;
    int st = process(c, sid, r);
    STORE_REL(&r->ready, 0);
    STORE_REL(&c->head, sid + 1);
    if (st) return st;
  }
  return ST_COMPLETE;
}

/* Runs the search until it ends or pauses (every pause_every seconds, so the
 * caller can report progress, check memory and take Ctrl-C). */
RC_EXPORT int rc_run(Ctx *c) {
  pthread_t threads[MAX_WORKERS];
  Ctx *wctx[MAX_WORKERS];
  int nthreads = 0;
  c->phase = 0;
  c->stop = 0;
  for (int k = 1; k < c->workers; k++) {
    Ctx *w = calloc(1, sizeof(Ctx));
    if (!w) break;
    if (!ctx_init_thread(w, c)) { ctx_free_thread(w); free(w); break; }
    if (pthread_create(&threads[nthreads], 0, worker_main, w)) {
      ctx_free_thread(w); free(w);
      break;
    }
    wctx[nthreads++] = w;
  }
  volatile int status;
  c->fault_jb = &c->top;
  c->abort_jb = &c->top;
  if (setjmp(c->top)) {
    status = c->status;  /* a fault or overflow in a property */
  } else {
    status = search_loop(c);
  }
  STORE_REL(&c->stop, 1);
  for (int k = 0; k < nthreads; k++) {
    pthread_join(threads[k], 0);
    c->canon_images += wctx[k]->canon_images;
    c->canon_calls += wctx[k]->canon_calls;
    c->concrete_hits += wctx[k]->concrete_hits;
    for (int s = 0; s < NCOV; s++) c->cov[s] += wctx[k]->cov_main[s];
    ctx_free_thread(wctx[k]); free(wctx[k]);
  }
  table_free_retired(c->tab);
  return status;
}

RC_EXPORT int64_t rc_stat(Ctx *c, int which) {
  switch (which) {
    case 0: return (int64_t)c->count;
    case 1: return (int64_t)c->head;
    case 2: return c->depth;
    case 3: return (int64_t)c->next_level;
    case 4: return (int64_t)c->transitions;
    case 5: return c->nevents;
    case 6: return (int64_t)((c->tab->mask + 1) * sizeof(uint64_t));
    case 7: return (int64_t)(c->nchunks * CHUNK_SIZE * (PACKED_BYTES + 8));
    case 8: return c->phase;
    case 9: return c->phase_sid;
    case 10: return c->cur_action;
    case 11: return c->fault_site;
    case 12: return c->fault_value;
    case 13: return c->bk_kind;
    case 14: return c->bk_site;
    case 15: return c->bk_x;
    case 16: return c->bk_y;
    case 17: return c->bk_err;
    case 18: return c->bk_fault;
    case 19: return c->bk_value;
    case 20: return c->bk_action;
    case 21: return c->bk_sort;
    case 22: return (int64_t)c->canon_images;
    case 23: return (int64_t)c->canon_calls;
    case 24: return c->pending;
    case 25: return (int64_t)c->concrete_hits;
    case 26: return c->workers;
    case 27: return c->fault_nkeys;
  }
  if (which >= 32 && which < 32 + RC_MAXKEYS) return c->fault_keys[which - 32];
  return -1;
}

RC_EXPORT void rc_event(Ctx *c, int k, int64_t *out) {
  memcpy(out, c->events + 5 * k, sizeof(int64_t) * 5);
}

/* The action instances from the initial state to state sid (returns the
 * length; writes at most cap of them). */
RC_EXPORT int64_t rc_path(Ctx *c, uint64_t sid, uint32_t *out, int64_t cap) {
  int64_t n = 0;
  uint64_t id = sid;
  while (c->par_chunks[id >> CHUNK_BITS][id & (CHUNK_SIZE - 1)] != UINT32_MAX) {
    n++;
    id = c->par_chunks[id >> CHUNK_BITS][id & (CHUNK_SIZE - 1)];
  }
  if (n > cap) return n;
  id = sid;
  for (int64_t k = n - 1; k >= 0; k--) {
    out[k] = c->iid_chunks[id >> CHUNK_BITS][id & (CHUNK_SIZE - 1)];
    id = c->par_chunks[id >> CHUNK_BITS][id & (CHUNK_SIZE - 1)];
  }
  return n;
}

RC_EXPORT void rc_get_state(Ctx *c, uint64_t sid, slot_t *out) { load_state(c, sid, out); }

RC_EXPORT void rc_canonical(Ctx *c, const slot_t *in, slot_t *out) { canon(c, in, out); }

/* Successors of one state (for tests): count, or -status on a fault,
 * overflow or broken symmetry. iids, states and failed assertion lists
 * (nf then indices, NASSERTS + 1 per successor) go to the arrays. */
RC_EXPORT int rc_expand(Ctx *c, const slot_t *s, uint32_t *iids, slot_t *states,
                        int32_t *failed) {
  c->fault_jb = &c->top;
  c->abort_jb = &c->top;
  if (setjmp(c->top)) return -c->status;
  expand_state(c, s);
  for (int k = 0; k < c->nout; k++) {
    iids[k] = c->buf[k].iid;
    memcpy(states + (size_t)k * NSLOTS, c->buf[k].st, sizeof(slot_t) * NSLOTS);
    failed[k * (NASSERTS + 1)] = c->buf[k].nf;
    for (int j = 0; j < c->buf[k].nf; j++) failed[k * (NASSERTS + 1) + 1 + j] = c->buf[k].failed[j];
  }
  return c->nout;
}

/* Property k on state s: 0/1, or -status. */
RC_EXPORT int rc_prop(Ctx *c, int k, const slot_t *s) {
  c->fault_jb = &c->top;
  c->abort_jb = &c->top;
  if (setjmp(c->top)) return -c->status;
  return PROPS[k](c, s);
}
