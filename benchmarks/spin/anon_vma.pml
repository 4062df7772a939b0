/* anon_vma (models/anon_vma.spec) in Promela, on the reference VM model of
 * vm.pml (models/vm.spec). Andrea Arcangeli's design: page->mapping is the
 * anon_vma of the VMA family, page->index = vm_pgoff + (address - vm_start).
 *
 *   spin -a -DPROCS=2 -DVPAGES=4 -DFRAMES=3 anon_vma.pml
 *   gcc -O2 -DSAFETY -DNOREDUCE -DPROCS=2 -DVPAGES=4 -DFRAMES=3 -o pan pan.c
 *   ./pan -m10000000
 *
 * -DSYMMETRY=n chooses the hand-written symmetry reduction: a sum of
 * 1 (processes), 2 (frames), 4 (anon_vmas); 7 (all, the default) or 0 (none).
 * The canonical form is exact: over every permutation of the processes (all
 * PROCS! of them when bit 1 is set, else the identity), frames are renumbered
 * in order of first occurrence in the ptes and anon_vmas in order of first
 * occurrence in the VMAs (then in the pages' mappings), and the least
 * resulting state vector is stored. Two states get the same representative
 * exactly when a permutation of the symmetric sorts maps one to the other, so
 * the number of states stored is the number of orbits, which is what
 * rmapcheck's own symmetry reduction counts when it reduces the same sorts.
 */

#include "vm_bounds.pml"

#ifndef ANON_VMAS
#define ANON_VMAS 2     /* anon_vma objects */
#endif
#ifndef SYMMETRY
#define SYMMETRY 7
#endif

/* ------------------------------------------------------------ design state */

byte vanon[NPV];        /* vma[p, a].anon: 0 = none, else anon_vma + 1 */
byte pmapping[FRAMES];  /* page[f].mapping: 0 = none, else anon_vma + 1 */
short pindex[FRAMES];   /* page[f].index */
bool av_used[ANON_VMAS];

SCRATCH byte k_fd, ar_a, av_x, ovr_x, ovr_i;
SCRATCH short ar_pg;
SCRATCH byte ovr_found, anon_vma_allocated;
SCRATCH byte sv_vanon[NPV], sv_pmapping[FRAMES];
SCRATCH short sv_pindex[FRAMES];
SCRATCH byte sv_av_used[ANON_VMAS];

#ifdef BFS
inline design_scratch_reset() {
  k_fd = 0; ar_a = 0; av_x = 0; ovr_x = 0; ovr_i = 0; ar_pg = 0; ovr_found = 0;
  anon_vma_allocated = 0;
  ZERO(sv_vanon, NPV); ZERO(sv_pmapping, FRAMES); ZERO(sv_pindex, FRAMES);
  ZERO(sv_av_used, ANON_VMAS);
  cn_scratch_reset()
}
#endif

inline vma_design_none(I_) { vanon[I_] = 0 }
inline vma_design_copy(D_, S_) { vanon[D_] = vanon[S_] }
inline page_design_reset(F_) { pmapping[F_] = 0; pindex[F_] = 0 }
inline design_init() { skip }

inline design_save() {
  k_sv = 0;
  do :: k_sv < NPV -> sv_vanon[k_sv] = vanon[k_sv]; k_sv++ :: else -> break od;
  k_sv = 0;
  do :: k_sv < FRAMES -> sv_pmapping[k_sv] = pmapping[k_sv]; sv_pindex[k_sv] = pindex[k_sv]; k_sv++
     :: else -> break od;
  k_sv = 0;
  do :: k_sv < ANON_VMAS -> sv_av_used[k_sv] = av_used[k_sv]; k_sv++ :: else -> break od
}

inline design_restore() {
  k_sv = 0;
  do :: k_sv < NPV -> vanon[k_sv] = sv_vanon[k_sv]; k_sv++ :: else -> break od;
  k_sv = 0;
  do :: k_sv < FRAMES -> pmapping[k_sv] = sv_pmapping[k_sv]; pindex[k_sv] = sv_pindex[k_sv]; k_sv++
     :: else -> break od;
  k_sv = 0;
  do :: k_sv < ANON_VMAS -> av_used[k_sv] = sv_av_used[k_sv]; k_sv++ :: else -> break od
}

/* ------------------------------------------------------------ what the design decides */

/* finds(f, p, v): for each VMA on page->mapping's list, the address
 * vm_start + page->index - vm_pgoff (and the pte there maps f) */
inline finds(F_, P_, V_, R_) {
  R_ = 0;
  if
  :: pmapping[F_] != 0 && pte[IX(P_, V_)] == (F_) + 1 ->
     k_fd = 0;
     do
     :: k_fd <= (V_) && !R_ ->
        if
        :: (vend[IX(P_, k_fd)] != 0 && vanon[IX(P_, k_fd)] == pmapping[F_]
            && (V_) == k_fd + (pindex[F_] - vpgoff[IX(P_, k_fd)]) && (V_) < vend[IX(P_, k_fd)]) ->
           R_ = 1
        :: else -> skip
        fi;
        k_fd++
     :: else -> break
     od
  :: else -> skip
  fi
}

/* can_merge(p, a, b): is_mergeable_anon_vma, and the pgoffs are contiguous */
inline can_merge(P_, A_, B_, R_) {
  R_ = ((vanon[IX(P_, A_)] == 0 || vanon[IX(P_, B_)] == 0 || vanon[IX(P_, A_)] == vanon[IX(P_, B_)])
        && vpgoff[IX(P_, A_)] + ((B_) - (A_)) == vpgoff[IX(P_, B_)])
}

inline on_merge(P_, A_, B_) {
  if :: vanon[IX(P_, A_)] == 0 -> vanon[IX(P_, A_)] = vanon[IX(P_, B_)] :: else -> skip fi
}

/* anon_vma_prepare(p, a): the VMA's anon_vma, allocated at its first fault */
inline anon_vma_prepare(P_, A_) {
  if
  :: vanon[IX(P_, A_)] == 0 ->
     av_x = 0;
     do :: av_x < ANON_VMAS && av_used[av_x] -> av_x++ :: else -> break od;
     if
     :: av_x < ANON_VMAS -> av_used[av_x] = 1; vanon[IX(P_, A_)] = av_x + 1
     :: else -> ok = 0   /* requires x != none: every anon_vma is in use */
     fi
  :: else -> skip
  fi
}

/* add_anon_rmap(p, v, f): page_add_anon_rmap */
inline add_anon_rmap(P_, V_, F_) {
  vma_at(P_, V_, ar_a);
  key_in_sort = (ar_a != NONE); assert(key_in_sort);
  anon_vma_prepare(P_, ar_a);
  if
  :: ok ->
     pmapping[F_] = vanon[IX(P_, ar_a)];
     ar_pg = vpgoff[IX(P_, ar_a)] + ((V_) - ar_a);
     CHECK_PGOFF(ar_pg);   /* page[f].index := ...: outside Pgoff is a run-time error */
     pindex[F_] = ar_pg
  :: else -> skip
  fi
}

inline on_fault(P_, V_, F_) { add_anon_rmap(P_, V_, F_) }
inline on_cow(P_, V_, F_) { add_anon_rmap(P_, V_, F_) }

/* on_vmas_removed(p): free the anon_vmas whose list became empty */
inline on_vmas_removed(P_) {
  ovr_x = 0;
  do
  :: ovr_x < ANON_VMAS ->
     if
     :: av_used[ovr_x] ->
        ovr_found = 0; ovr_i = 0;
        do
        :: ovr_i < NPV && !ovr_found ->
           if :: vend[ovr_i] != 0 && vanon[ovr_i] == ovr_x + 1 -> ovr_found = 1 :: else -> skip fi;
           ovr_i++
        :: else -> break
        od;
        if :: !ovr_found -> av_used[ovr_x] = 0 :: else -> skip fi
     :: else -> skip
     fi;
     ovr_x++
  :: else -> break
  od
}

inline on_new_vma(P_, A_) { skip }
inline on_split(P_, A_, B_) { skip }
inline on_move(P_, A_, B_) { skip }
inline on_move_pte(P_, V_, W_, F_) { skip }
inline on_grow(P_, A_) { skip }
inline on_reuse(P_, V_, F_) { skip }
inline on_fork(P_, C_) { skip }
inline on_fork_pte(P_, C_, V_) { skip }
inline on_unmap(P_, V_, F_) { skip }

/* lemma anon_vma_allocated: a VMA's anon_vma is allocated */
inline design_invariants() {
  ovr_i = 0;
  do
  :: ovr_i < NPV ->
     anon_vma_allocated = (vend[ovr_i] == 0 || vanon[ovr_i] == 0 || av_used[vanon[ovr_i] - 1]);
     assert(anon_vma_allocated);
     ovr_i++
  :: else -> break
  od
}

/* ------------------------------------------------------------ symmetry */

#if SYMMETRY == 0
inline canonicalise() { skip }
inline cn_scratch_reset() { skip }
#else
SCRATCH byte perm[PROCS], fmap[FRAMES], finv[FRAMES], amap[ANON_VMAS];
SCRATCH byte cn_i, cn_j, cn_k, cn_x, cn_n, cn_o;
SCRATCH int cn_cmp;
SCRATCH byte cn_more, cn_have;
/* the candidate image of the state, and the least image so far */
SCRATCH byte c_alive[PROCS], b_alive[PROCS];
SCRATCH byte c_vend[NPV], b_vend[NPV];
SCRATCH short c_vpgoff[NPV], b_vpgoff[NPV];
SCRATCH byte c_vgd[NPV], b_vgd[NPV], c_vwr[NPV], b_vwr[NPV];
SCRATCH byte c_vanon[NPV], b_vanon[NPV], c_pte[NPV], b_pte[NPV];
SCRATCH byte c_wp[NPV], b_wp[NPV];
SCRATCH byte c_pused[FRAMES], b_pused[FRAMES];
SCRATCH byte c_pmapc[FRAMES], b_pmapc[FRAMES], c_pmapping[FRAMES], b_pmapping[FRAMES];
SCRATCH short c_pindex[FRAMES], b_pindex[FRAMES];
SCRATCH byte c_av[ANON_VMAS], b_av[ANON_VMAS];

#ifdef BFS
inline cn_scratch_reset() {
  ZERO(perm, PROCS); ZERO(fmap, FRAMES); ZERO(finv, FRAMES); ZERO(amap, ANON_VMAS);
  cn_i = 0; cn_j = 0; cn_k = 0; cn_x = 0; cn_n = 0; cn_o = 0; cn_cmp = 0; cn_more = 0; cn_have = 0;
  ZERO(c_alive, PROCS); ZERO(b_alive, PROCS);
  ZERO(c_vend, NPV); ZERO(b_vend, NPV); ZERO(c_vpgoff, NPV); ZERO(b_vpgoff, NPV);
  ZERO(c_vgd, NPV); ZERO(b_vgd, NPV); ZERO(c_vwr, NPV); ZERO(b_vwr, NPV);
  ZERO(c_vanon, NPV); ZERO(b_vanon, NPV); ZERO(c_pte, NPV); ZERO(b_pte, NPV);
  ZERO(c_wp, NPV); ZERO(b_wp, NPV);
  ZERO(c_pused, FRAMES); ZERO(b_pused, FRAMES); ZERO(c_pmapc, FRAMES); ZERO(b_pmapc, FRAMES);
  ZERO(c_pmapping, FRAMES); ZERO(b_pmapping, FRAMES); ZERO(c_pindex, FRAMES); ZERO(b_pindex, FRAMES);
  ZERO(c_av, ANON_VMAS); ZERO(b_av, ANON_VMAS)
}
#endif

/* the image of the state under perm and the first-occurrence renumberings */
inline cn_build() {
  /* frames: in order of first occurrence in the ptes, row by row in perm order */
  cn_k = 0;
  do :: cn_k < FRAMES -> fmap[cn_k] = NONE; cn_k++ :: else -> break od;
  cn_n = 0;
  if
  :: (SYMMETRY & 2) != 0 ->
     cn_i = 0;
     do
     :: cn_i < PROCS ->
        cn_j = 0;
        do
        :: cn_j < VPAGES ->
           cn_x = pte[IX(perm[cn_i], cn_j)];
           if :: cn_x != 0 && fmap[cn_x - 1] == NONE -> fmap[cn_x - 1] = cn_n; cn_n++
           :: else -> skip fi;
           cn_j++
        :: else -> break
        od;
        cn_i++
     :: else -> break
     od;
     /* frames in use that no pte maps (none in a well-formed state), then free ones */
     cn_k = 0;
     do
     :: cn_k < FRAMES ->
        if :: fmap[cn_k] == NONE && pused[cn_k] -> fmap[cn_k] = cn_n; cn_n++ :: else -> skip fi;
        cn_k++
     :: else -> break
     od
  :: else -> skip
  fi;
  cn_k = 0;
  do
  :: cn_k < FRAMES ->
     if :: fmap[cn_k] == NONE -> fmap[cn_k] = cn_n; cn_n++ :: else -> skip fi;
     finv[fmap[cn_k]] = cn_k;
     cn_k++
  :: else -> break
  od;
  /* anon_vmas: in order of first occurrence in the VMAs, then in the pages */
  cn_k = 0;
  do :: cn_k < ANON_VMAS -> amap[cn_k] = NONE; cn_k++ :: else -> break od;
  cn_n = 0;
  if
  :: (SYMMETRY & 4) != 0 ->
     cn_i = 0;
     do
     :: cn_i < PROCS ->
        cn_j = 0;
        do
        :: cn_j < VPAGES ->
           cn_x = vanon[IX(perm[cn_i], cn_j)];
           if :: cn_x != 0 && amap[cn_x - 1] == NONE -> amap[cn_x - 1] = cn_n; cn_n++
           :: else -> skip fi;
           cn_j++
        :: else -> break
        od;
        cn_i++
     :: else -> break
     od;
     cn_k = 0;
     do
     :: cn_k < FRAMES ->
        cn_x = pmapping[finv[cn_k]];
        if :: cn_x != 0 && amap[cn_x - 1] == NONE -> amap[cn_x - 1] = cn_n; cn_n++
        :: else -> skip fi;
        cn_k++
     :: else -> break
     od;
     cn_k = 0;
     do
     :: cn_k < ANON_VMAS ->
        if :: amap[cn_k] == NONE && av_used[cn_k] -> amap[cn_k] = cn_n; cn_n++ :: else -> skip fi;
        cn_k++
     :: else -> break
     od
  :: else -> skip
  fi;
  cn_k = 0;
  do
  :: cn_k < ANON_VMAS ->
     if :: amap[cn_k] == NONE -> amap[cn_k] = cn_n; cn_n++ :: else -> skip fi;
     c_av[amap[cn_k]] = av_used[cn_k];
     cn_k++
  :: else -> break
  od;
  /* the image */
  cn_i = 0;
  do
  :: cn_i < PROCS ->
     c_alive[cn_i] = alive[perm[cn_i]];
     cn_j = 0;
     do
     :: cn_j < VPAGES ->
        cn_o = IX(perm[cn_i], cn_j); cn_x = IX(cn_i, cn_j);
        c_vend[cn_x] = vend[cn_o]; c_vpgoff[cn_x] = vpgoff[cn_o];
        c_vgd[cn_x] = vgd[cn_o]; c_vwr[cn_x] = vwr[cn_o];
        c_vanon[cn_x] = (vanon[cn_o] == 0 -> 0 : amap[vanon[cn_o] - 1] + 1);
        c_pte[cn_x] = (pte[cn_o] == 0 -> 0 : fmap[pte[cn_o] - 1] + 1);
        c_wp[cn_x] = wp[cn_o];
        cn_j++
     :: else -> break
     od;
     cn_i++
  :: else -> break
  od;
  cn_k = 0;
  do
  :: cn_k < FRAMES ->
     cn_x = fmap[cn_k];
     c_pused[cn_x] = pused[cn_k]; c_pmapc[cn_x] = pmapc[cn_k];
     c_pmapping[cn_x] = (pmapping[cn_k] == 0 -> 0 : amap[pmapping[cn_k] - 1] + 1);
     c_pindex[cn_x] = pindex[cn_k];
     cn_k++
  :: else -> break
  od
}

#define CN_CMP(C, B, N) \
  cn_k = 0; \
  do :: cn_cmp == 0 && cn_k < N -> cn_cmp = C[cn_k] - B[cn_k]; cn_k++ :: else -> break od

/* cn_cmp < 0 when the candidate is below the best so far (lexicographically) */
inline cn_compare() {
  cn_cmp = 0;
  CN_CMP(c_alive, b_alive, PROCS);
  CN_CMP(c_vend, b_vend, NPV);
  CN_CMP(c_vpgoff, b_vpgoff, NPV);
  CN_CMP(c_vgd, b_vgd, NPV);
  CN_CMP(c_vwr, b_vwr, NPV);
  CN_CMP(c_vanon, b_vanon, NPV);
  CN_CMP(c_pte, b_pte, NPV);
  CN_CMP(c_wp, b_wp, NPV);
  CN_CMP(c_pused, b_pused, FRAMES);
  CN_CMP(c_pmapc, b_pmapc, FRAMES);
  CN_CMP(c_pmapping, b_pmapping, FRAMES);
  CN_CMP(c_pindex, b_pindex, FRAMES);
  CN_CMP(c_av, b_av, ANON_VMAS)
}

#define CN_COPY(D, S, N) \
  cn_k = 0; \
  do :: cn_k < N -> D[cn_k] = S[cn_k]; cn_k++ :: else -> break od

inline cn_keep() {
  CN_COPY(b_alive, c_alive, PROCS);
  CN_COPY(b_vend, c_vend, NPV); CN_COPY(b_vpgoff, c_vpgoff, NPV);
  CN_COPY(b_vgd, c_vgd, NPV); CN_COPY(b_vwr, c_vwr, NPV); CN_COPY(b_vanon, c_vanon, NPV);
  CN_COPY(b_pte, c_pte, NPV); CN_COPY(b_wp, c_wp, NPV);
  CN_COPY(b_pused, c_pused, FRAMES); CN_COPY(b_pmapc, c_pmapc, FRAMES);
  CN_COPY(b_pmapping, c_pmapping, FRAMES); CN_COPY(b_pindex, c_pindex, FRAMES);
  CN_COPY(b_av, c_av, ANON_VMAS)
}

inline cn_store() {
  CN_COPY(alive, b_alive, PROCS);
  CN_COPY(vend, b_vend, NPV); CN_COPY(vpgoff, b_vpgoff, NPV);
  CN_COPY(vgd, b_vgd, NPV); CN_COPY(vwr, b_vwr, NPV); CN_COPY(vanon, b_vanon, NPV);
  CN_COPY(pte, b_pte, NPV); CN_COPY(wp, b_wp, NPV);
  CN_COPY(pused, b_pused, FRAMES); CN_COPY(pmapc, b_pmapc, FRAMES);
  CN_COPY(pmapping, b_pmapping, FRAMES); CN_COPY(pindex, b_pindex, FRAMES);
  CN_COPY(av_used, b_av, ANON_VMAS)
}

/* the next permutation of perm in lexicographic order; cn_more = 0 after the last */
inline cn_next_perm() {
  cn_i = PROCS - 1;
  do :: cn_i > 0 && perm[cn_i - 1] >= perm[cn_i] -> cn_i-- :: else -> break od;
  if
  :: cn_i == 0 -> cn_more = 0
  :: else ->
     cn_j = PROCS - 1;
     do :: perm[cn_j] <= perm[cn_i - 1] -> cn_j-- :: else -> break od;
     cn_x = perm[cn_i - 1]; perm[cn_i - 1] = perm[cn_j]; perm[cn_j] = cn_x;
     cn_j = PROCS - 1;
     do
     :: cn_i < cn_j -> cn_x = perm[cn_i]; perm[cn_i] = perm[cn_j]; perm[cn_j] = cn_x; cn_i++; cn_j--
     :: else -> break
     od
  fi
}

inline canonicalise() {
  cn_k = 0;
  do :: cn_k < PROCS -> perm[cn_k] = cn_k; cn_k++ :: else -> break od;
  cn_have = 0; cn_more = 1;
  do
  :: cn_more ->
     cn_build();
     if :: cn_have -> cn_compare() :: else -> cn_cmp = -1 fi;
     if :: cn_cmp < 0 -> cn_keep(); cn_have = 1 :: else -> skip fi;
     if :: (SYMMETRY & 1) != 0 -> cn_next_perm() :: else -> cn_more = 0 fi
  :: else -> break
  od;
  cn_store()
}
#endif

#include "vm.pml"
