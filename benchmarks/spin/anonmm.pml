/* anonmm (models/anonmm.spec) in Promela, on the reference VM model of
 * vm.pml (models/vm.spec). Hugh Dickins's design: page->mapping is the
 * anonmm of the fork family, page->index the virtual address. rmap_complete
 * is violated after mmap, fault, mremap; SPIN's breadth-first search finds
 * that counterexample:
 *
 *   spin -a -DBFS anonmm.pml
 *   gcc -O2 -DSAFETY -DBFS -DNOREDUCE -o pan pan.c && ./pan
 *   spin -t -DBFS anonmm.pml        (replays the trail, one line per operation)
 *
 * No symmetry reduction: family[] holds process ids (values of a symmetric
 * sort), and a counterexample search needs none.
 */

#include "vm_bounds.pml"

byte family[PROCS];     /* family[p]: the anonmm of p, named by its fork family's first mm */
byte pmapping[FRAMES];  /* page[f].mapping: 0 = none, else process + 1 */
byte pindex[FRAMES];    /* page[f].index: a virtual page */

SCRATCH byte k_in;
SCRATCH byte sv_family[PROCS], sv_pmapping[FRAMES], sv_pindex[FRAMES];

#ifdef BFS
inline design_scratch_reset() {
  ZERO(sv_family, PROCS); ZERO(sv_pmapping, FRAMES); ZERO(sv_pindex, FRAMES);
  k_in = 0
}
#endif

inline vma_design_none(I_) { skip }
inline vma_design_copy(D_, S_) { skip }
inline page_design_reset(F_) { pmapping[F_] = 0; pindex[F_] = 0 }

/* init { for p in Proc { family[p] := p } } */
inline design_init() {
  k_in = 0;
  do :: k_in < PROCS -> family[k_in] = k_in; k_in++ :: else -> break od
}

inline design_save() {
  k_sv = 0;
  do :: k_sv < PROCS -> sv_family[k_sv] = family[k_sv]; k_sv++ :: else -> break od;
  k_sv = 0;
  do :: k_sv < FRAMES -> sv_pmapping[k_sv] = pmapping[k_sv]; sv_pindex[k_sv] = pindex[k_sv]; k_sv++
     :: else -> break od
}

inline design_restore() {
  k_sv = 0;
  do :: k_sv < PROCS -> family[k_sv] = sv_family[k_sv]; k_sv++ :: else -> break od;
  k_sv = 0;
  do :: k_sv < FRAMES -> pmapping[k_sv] = sv_pmapping[k_sv]; pindex[k_sv] = sv_pindex[k_sv]; k_sv++
     :: else -> break od
}

/* set_rmap(p, v, f): page_add_anon_rmap, the family and the address */
inline set_rmap(P_, V_, F_) { pmapping[F_] = family[P_] + 1; pindex[F_] = V_ }

inline on_fault(P_, V_, F_) { set_rmap(P_, V_, F_) }
inline on_cow(P_, V_, F_) { set_rmap(P_, V_, F_) }
inline on_fork(P_, C_) { family[C_] = family[P_] }

/* finds(f, p, v): walk the anonmm's mms and look at address page->index in each */
inline finds(F_, P_, V_, R_) {
  R_ = (alive[P_] && pmapping[F_] == family[P_] + 1 && (V_) == pindex[F_]
        && pte[IX(P_, V_)] == (F_) + 1)
}

inline can_merge(P_, A_, B_, R_) { R_ = 1 }
inline on_merge(P_, A_, B_) { skip }
inline on_new_vma(P_, A_) { skip }
inline on_split(P_, A_, B_) { skip }
inline on_move(P_, A_, B_) { skip }
inline on_move_pte(P_, V_, W_, F_) { skip }
inline on_grow(P_, A_) { skip }
inline on_vmas_removed(P_) { skip }
inline on_reuse(P_, V_, F_) { skip }
inline on_fork_pte(P_, C_, V_) { skip }
inline on_unmap(P_, V_, F_) { skip }
inline design_invariants() { skip }
inline canonicalise() { skip }

#include "vm.pml"
