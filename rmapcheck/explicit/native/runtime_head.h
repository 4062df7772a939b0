/* rmapcheck native engine: declarations shared by the generated model code
 * and the runtime (runtime.c). Included after the generated defines
 * (NSLOTS, slot_t, NSYM, ...). */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <time.h>

typedef int64_t V;
#define NONE_V INT64_MIN
/* the keys of the state location a run-time error names, for its message */
#define RC_MAXKEYS 8
#define RC_EXPORT __attribute__((visibility("default")))

typedef struct Succ {
  uint32_t iid;
  uint16_t nf;
  uint8_t failed[NASSERTS];
  slot_t st[NSLOTS_ALLOC];
} Succ;

#ifndef RING
#define RING 1024
#endif

/* the visited set's index: (32-bit hash tag, state number + 1) per entry */
typedef struct Table {
  uint64_t mask;
  uint64_t *e;
  struct Table *retired;  /* older tables, freed when no worker can read them */
} Table;

/* one successor, as a worker hands it to the search: its action instance,
 * failed assertions, and either "a stored state" (dup) or its canonical form */
typedef struct Res {
  uint32_t iid;
  uint16_t nf;
  uint8_t dup;
  uint64_t h;
  uint64_t w[NWORDS];
  uint8_t failed[NASSERTS];
} Res;

/* the expansion of one state (a slot of the ring of states being expanded) */
typedef struct RSlot {
  int ready;
  int cap;  /* of res: grown to the largest expansion put here */
  int status;
  int fault_site, action;
  V fault_value;
  int fault_nkeys;
  V fault_keys[RC_MAXKEYS];
  int bk_kind, bk_site, bk_err, bk_fault, bk_action, bk_sort;
  V bk_x, bk_y, bk_value;
  int n;
  Res *res;
} RSlot;

typedef struct Ctx {
  /* ---- per thread: what the generated code and an expansion use */
  uint32_t active;  /* reduced symmetric sorts, a bit each */
  int guard_on;     /* run-time symmetry checks */
  V order[NSYM_ALLOC][MAXN];
  jmp_buf top;
  jmp_buf *fault_jb;  /* where a spec run-time error goes */
  jmp_buf *abort_jb;  /* where an overflow or a broken symmetry goes */
  int status;
  int fault_site;
  V fault_value;
  int fault_nkeys;
  V fault_keys[RC_MAXKEYS];
  int phase;          /* 1: expanding phase_sid, 2: properties of phase_sid */
  int cur_action;
  int64_t phase_sid;
  /* symmetry broken: kind 1 choose (site, x, y, err), 2 loop order (action, sort) */
  int bk_kind, bk_site, bk_err, bk_fault, bk_action, bk_sort;
  V bk_x, bk_y, bk_value;
  Succ *out;
  int nout;
  Succ *buf;
  Succ *alt;
  uint64_t canon_images, canon_calls, concrete_hits;
  /* coverage marks, per site: this thread's counts (cov), or while an order
   * check re-runs an action, a spare array nobody reads (no step counts it) */
  uint64_t *cov, *cov_main, *cov_spare;
  struct Ctx *g;      /* the search's context (itself for the main thread) */
  /* ---- the search (main thread) */
  uint8_t **st_chunks;
  uint32_t **par_chunks;
  uint32_t **iid_chunks;
  size_t nchunks;
  /* shared with the workers: each on its own cache line */
  uint64_t count __attribute__((aligned(64)));  /* states stored */
  Table *tab;
  uint64_t head __attribute__((aligned(64)));   /* next state to take from the ring */
  uint64_t next_claim __attribute__((aligned(64)));
  int stop __attribute__((aligned(64)));
  char pad_[64];
  int workers;
  RSlot *ring;
  uint64_t next_level;
  int64_t depth;
  int resumed;
  uint64_t transitions;
  int64_t max_states;
  int64_t mem_budget;  /* bytes the stored states and table may take; -1: no limit */
  int64_t max_depth;
  double deadline;
  double pause_every;
  double next_pause;
  int ninv, nwit, nnames;
  int *inv_prop, *inv_name, *wit_prop, *wit_name;
  int assert_name[NASSERTS];
  uint8_t *decided;
  int pending, nviol, stop_at_first, norder;
  int64_t *events;    /* (kind, name, state, iid, assertion) */
  int nevents, cap_events;
  /* per action instance: successors computed, and new states among them */
  uint64_t *enabled, *fresh;
  /* with cov_states: per antecedent (ANTE_SITES), the states whose property
   * checks reached it, and its count after the last state's checks */
  int cov_states;
  uint64_t *ante_states, *ante_seen;
} Ctx;

static void rc_fault(Ctx *c, int site, V value) __attribute__((noreturn, cold, noinline));
static void rc_fault_at(Ctx *c, int site, V value, int nkeys, const V *keys)
    __attribute__((noreturn, cold, noinline));
static void rc_overflow(Ctx *c) __attribute__((noreturn, cold, noinline));
static void rc_broken_choose(Ctx *c, int site, int xi, int yi, int err)
    __attribute__((noreturn, cold, noinline));
static void rc_emit(Ctx *c, uint32_t iid, const slot_t *t, const uint8_t *failed, int nf);
static int rc_twins(Ctx *c, const slot_t *st, int a, int xi, int yi);

static inline V rc_add(Ctx *c, V a, V b) {
  V r;
  if (__builtin_add_overflow(a, b, &r)) rc_overflow(c);
  return r;
}
static inline V rc_sub(Ctx *c, V a, V b) {
  V r;
  if (__builtin_sub_overflow(a, b, &r)) rc_overflow(c);
  return r;
}
static inline V rc_mul(Ctx *c, V a, V b) {
  V r;
  if (__builtin_mul_overflow(a, b, &r)) rc_overflow(c);
  return r;
}
/* floor division and modulo, as Python's // and % (b != 0) */
static inline V rc_fdiv(Ctx *c, V a, V b) {
  if (b == -1 && a == INT64_MIN) rc_overflow(c);
  V q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}
static inline V rc_fmod(Ctx *c, V a, V b) {
  if (b == -1) return 0;
  V m = a % b;
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  (void)c;
  return m;
}
static inline V rc_dec_opt(unsigned code, V lo) { return code ? (V)code - 1 + lo : NONE_V; }
static inline slot_t rc_enc_opt(V x, V lo) { return x == NONE_V ? 0 : (slot_t)(x - lo + 1); }

#define RC_FAILED_DECL uint8_t _fl[NASSERTS]; int _nf = 0; \
  uint64_t _fm[(NASSERTS + 63) / 64] = {0}
#define RC_FAIL(i) do { if (!((_fm[(i) >> 6] >> ((i) & 63)) & 1)) { \
  _fm[(i) >> 6] |= 1ULL << ((i) & 63); _fl[_nf++] = (uint8_t)(i); } } while (0)
#define RC_FAILED_ARGS _fl, _nf

typedef uint8_t Perm[NSYM_ALLOC][MAXN];

static inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

/* a cheap mixer for the colour sums */
static inline uint64_t H64(uint64_t x) {
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  x ^= x >> 32;
  return x;
}

static inline uint64_t permute_mask(uint64_t m, const uint8_t *pi, int n) {
  uint64_t out = 0;
  for (int b = 0; b < n; b++)
    if ((m >> b) & 1) out |= 1ULL << pi[b];
  return out;
}
