/* The reference VM model, models/vm.spec, in Promela.
 *
 * A design file (anon_vma.pml, anonmm.pml) includes vm_bounds.pml, declares
 * its own state and the hooks listed below, then includes this file, which
 * declares the generic state, the helpers and operations of vm.spec, the
 * invariants, and the one process that runs the operations.
 *
 * Correspondence with the spec (see ../README.md for the full table):
 *   var alive: Proc -> Bool          alive[p]
 *   var vma: Proc, VPage -> Vma?     vend[IX(p,a)] (0 = none), vpgoff, vgd, vwr
 *                                    (+ the design's fields); every field of an
 *                                    absent VMA is 0, as rmapcheck keeps defaults
 *   var pte: Proc, VPage -> Frame?   pte[IX(p,v)] (0 = none, else frame + 1)
 *   var wp: Proc, VPage -> Bool      wp[IX(p,v)]
 *   var page: Frame -> Page          pused[f], pmapc[f] (+ the design's fields)
 *
 * Every operation is one transition: the parameters are chosen by `select`
 * inside an `atomic` (SPIN stores no state inside an atomic sequence), then a
 * `d_step` runs the body deterministically, statement by statement in the
 * spec's order. A `requires` that fails part-way through a body undoes the
 * whole step (save_state/restore_state), as in rmapcheck, where a false
 * `requires` means there is no step. Parameters are reset to 0 after every
 * step so that they never distinguish states. Scratch variables are
 * `hidden` (not part of the state vector).
 *
 * A value stored outside its sort is a run-time error in rmapcheck; here it
 * is an assertion (pgoff_in_sort, count_in_sort, key_in_sort).
 *
 * Hooks a design must define (inline): vma_design_none(i), vma_design_copy(d, s),
 * page_design_reset(f), design_init(), design_invariants(), design_save(),
 * design_restore(), design_scratch_reset() (under BFS), canonicalise(), finds(f, p, v, r), can_merge(p, a, b, r),
 * on_new_vma(p, a), on_merge(p, a, b), on_split(p, a, b), on_move(p, a, b),
 * on_move_pte(p, v, w, f), on_grow(p, a), on_vmas_removed(p), on_fault(p, v, f),
 * on_cow(p, v, f), on_reuse(p, v, f), on_fork(parent, child),
 * on_fork_pte(parent, child, v), on_unmap(p, v, f). A hook may set ok = false
 * (a failed `requires`): the step is then undone.
 */

/* Hooks that vm.spec defines with a default for libraries on top of it
 * (vm_file); a design file may #define them first. */
#ifndef FILE_BACKED
#define FILE_BACKED(p, a) 0      /* the VMA maps a file: no anonymous fault */
#endif
#ifndef IN_PAGE_CACHE
#define IN_PAGE_CACHE(f) 0       /* a page-cache page: a private write always copies */
#endif
#ifndef SAME_BACKING
#define SAME_BACKING(p, a, b) 1  /* the VMAs map the same object contiguously */
#endif
#ifndef STACK_MAY_GROW
#define STACK_MAY_GROW(p, a) 1   /* the design's kernel lets the stack grow one page down */
#endif
#ifndef COW_MAPPING
#define COW_MAPPING(p, a) 1      /* a private VMA: fork write-protects its ptes */
#endif

/* ------------------------------------------------------------ state */

bool alive[PROCS];
byte vend[NPV];      /* vma[p, a].end, 0 = no VMA starts at a */
short vpgoff[NPV];   /* vma[p, a].pgoff */
bool vgd[NPV];       /* vma[p, a].growsdown */
bool vwr[NPV];       /* vma[p, a].writable */
byte pte[NPV];       /* 0 = none, else frame + 1 */
bool wp[NPV];
bool pused[FRAMES];  /* page[f].used */
byte pmapc[FRAMES];  /* page[f].mapcount */

/* ------------------------------------------------------------ scratch (not state) */

SCRATCH byte ok, r_b, r_inv, tm_ok, k_z;
SCRATCH byte k_va, k_ov, k_nr, k_mb, k_ff, k_sv;
SCRATCH byte dp_f, sa_a, tm_b, mp_q, mp_k;
SCRATCH byte x_a, x_b, x_c, x_e, x_f, x_i, x_old, x_p, x_v, x_w;
SCRATCH short sa_pg, x_pg;
SCRATCH byte ci_p, ci_v, ci_i, ci_f, ci_a, ci_b, ci_c;

/* named assertions: pan reports "assertion violated <name>" */
SCRATCH byte rmap_complete, rmap_sound, mapcount, wf_ptes_in_vmas, wf_vmas, wf_page_in_use;
SCRATCH byte swap_out_sound, swap_out_complete;
SCRATCH byte pgoff_in_sort, count_in_sort, key_in_sort;

/* a copy of the state, to undo a step whose later `requires` fails */
SCRATCH byte sv_alive[PROCS];
SCRATCH byte sv_vend[NPV];
SCRATCH short sv_vpgoff[NPV];
SCRATCH byte sv_vgd[NPV];
SCRATCH byte sv_vwr[NPV];
SCRATCH byte sv_pte[NPV];
SCRATCH byte sv_wp[NPV];
SCRATCH byte sv_pused[FRAMES];
SCRATCH byte sv_pmapc[FRAMES];

#ifdef BFS
inline scratch_reset() {
  ok = 0; r_b = 0; r_inv = 0; tm_ok = 0; stepped = 0;
  k_va = 0; k_ov = 0; k_nr = 0; k_mb = 0; k_ff = 0; k_sv = 0;
  dp_f = 0; sa_a = 0; tm_b = 0; mp_q = 0; mp_k = 0;
  x_a = 0; x_b = 0; x_c = 0; x_e = 0; x_f = 0; x_i = 0; x_old = 0; x_p = 0; x_v = 0; x_w = 0;
  sa_pg = 0; x_pg = 0;
  ci_p = 0; ci_v = 0; ci_i = 0; ci_f = 0; ci_a = 0; ci_b = 0; ci_c = 0;
  rmap_complete = 0; rmap_sound = 0; mapcount = 0; wf_ptes_in_vmas = 0; wf_vmas = 0;
  wf_page_in_use = 0; swap_out_sound = 0; swap_out_complete = 0;
  pgoff_in_sort = 0; count_in_sort = 0; key_in_sort = 0;
  ZERO(sv_alive, PROCS);
  ZERO(sv_vend, NPV); ZERO(sv_vpgoff, NPV); ZERO(sv_vgd, NPV); ZERO(sv_vwr, NPV);
  ZERO(sv_pte, NPV); ZERO(sv_wp, NPV);
  ZERO(sv_pused, FRAMES); ZERO(sv_pmapc, FRAMES);
  design_scratch_reset();
  k_z = 0
}
#endif

inline save_state() {
  k_sv = 0;
  do
  :: k_sv < NPV ->
     sv_vend[k_sv] = vend[k_sv]; sv_vpgoff[k_sv] = vpgoff[k_sv]; sv_vgd[k_sv] = vgd[k_sv];
     sv_vwr[k_sv] = vwr[k_sv]; sv_pte[k_sv] = pte[k_sv]; sv_wp[k_sv] = wp[k_sv];
     k_sv++
  :: else -> break
  od;
  k_sv = 0;
  do :: k_sv < PROCS -> sv_alive[k_sv] = alive[k_sv]; k_sv++ :: else -> break od;
  k_sv = 0;
  do :: k_sv < FRAMES -> sv_pused[k_sv] = pused[k_sv]; sv_pmapc[k_sv] = pmapc[k_sv]; k_sv++
     :: else -> break od;
  design_save()
}

inline restore_state() {
  k_sv = 0;
  do
  :: k_sv < NPV ->
     vend[k_sv] = sv_vend[k_sv]; vpgoff[k_sv] = sv_vpgoff[k_sv]; vgd[k_sv] = sv_vgd[k_sv];
     vwr[k_sv] = sv_vwr[k_sv]; pte[k_sv] = sv_pte[k_sv]; wp[k_sv] = sv_wp[k_sv];
     k_sv++
  :: else -> break
  od;
  k_sv = 0;
  do :: k_sv < PROCS -> alive[k_sv] = sv_alive[k_sv]; k_sv++ :: else -> break od;
  k_sv = 0;
  do :: k_sv < FRAMES -> pused[k_sv] = sv_pused[k_sv]; pmapc[k_sv] = sv_pmapc[k_sv]; k_sv++
     :: else -> break od;
  design_restore()
}

/* ------------------------------------------------------------ helpers (vm.spec) */

/* vma_at(p, v): the start of p's VMA that covers v, or NONE (choose = least) */
inline vma_at(P_, V_, R_) {
  R_ = NONE; k_va = 0;
  do
  :: k_va <= (V_) && R_ == NONE ->
     if
     :: vend[IX(P_, k_va)] != 0 && (V_) < vend[IX(P_, k_va)] -> R_ = k_va
     :: else -> skip
     fi;
     k_va++
  :: else -> break
  od
}

/* overlaps(p, s, e): some VMA of p meets [s, e) */
inline overlaps(P_, S_, E_, R_) {
  R_ = 0; k_ov = 0;
  do
  :: k_ov < VPAGES && !R_ ->
     if
     :: vend[IX(P_, k_ov)] != 0 && k_ov < (E_) && (S_) < vend[IX(P_, k_ov)] -> R_ = 1
     :: else -> skip
     fi;
     k_ov++
  :: else -> break
  od
}

inline nr_vmas(P_, R_) {
  R_ = 0; k_nr = 0;
  do
  :: k_nr < VPAGES -> if :: vend[IX(P_, k_nr)] != 0 -> R_++ :: else -> skip fi; k_nr++
  :: else -> break
  od
}

/* mapped_by(f): the number of ptes that map f */
inline mapped_by(F_, R_) {
  R_ = 0; k_mb = 0;
  do
  :: k_mb < NPV -> if :: pte[k_mb] == (F_) + 1 -> R_++ :: else -> skip fi; k_mb++
  :: else -> break
  od
}

/* choose f: Frame. not page[f].used (the least free frame), or NONE */
inline least_free(R_) {
  R_ = NONE; k_ff = 0;
  do
  :: k_ff < FRAMES && R_ == NONE -> if :: !pused[k_ff] -> R_ = k_ff :: else -> skip fi; k_ff++
  :: else -> break
  od
}

inline vma_none(I_) {
  vend[I_] = 0; vpgoff[I_] = 0; vgd[I_] = 0; vwr[I_] = 0;
  vma_design_none(I_)
}

inline vma_copy(D_, S_) {
  vend[D_] = vend[S_]; vpgoff[D_] = vpgoff[S_]; vgd[D_] = vgd[S_]; vwr[D_] = vwr[S_];
  vma_design_copy(D_, S_)
}

/* page[f] := Page(): every field at its default */
inline page_reset(F_) {
  pused[F_] = 0; pmapc[F_] = 0;
  page_design_reset(F_)
}

/* drop_pte(p, v): zap one pte; the frame is freed with its last mapping */
inline drop_pte(P_, V_) {
  dp_f = pte[IX(P_, V_)];
  if
  :: dp_f != 0 ->
     dp_f = dp_f - 1;
     on_unmap(P_, V_, dp_f);
     pte[IX(P_, V_)] = 0;
     wp[IX(P_, V_)] = 0;
     count_in_sort = (pmapc[dp_f] >= 1); assert(count_in_sort);
     pmapc[dp_f] = pmapc[dp_f] - 1;
     if :: pmapc[dp_f] == 0 -> page_reset(dp_f) :: else -> skip fi
  :: else -> skip
  fi
}

/* split_at(p, b): split the VMA of p that straddles address b (b may be 0 or VPAGES) */
inline split_at(P_, B_) {
  if
  :: (B_) < VPAGES ->
     vma_at(P_, B_, sa_a);
     if
     :: sa_a != NONE && sa_a < (B_) ->
        sa_pg = vpgoff[IX(P_, sa_a)] + ((B_) - sa_a);
        GUARD_PGOFF(sa_pg);
        if
        :: ok ->
           vma_copy(IX(P_, B_), IX(P_, sa_a));
           vpgoff[IX(P_, B_)] = sa_pg;
           vend[IX(P_, sa_a)] = B_;
           on_split(P_, sa_a, B_)
        :: else -> skip
        fi
     :: else -> skip
     fi
  :: else -> skip
  fi
}

/* try_merge(p, a): merge the VMA after the one at a into it, if the rule allows */
inline try_merge(P_, A_) {
  tm_b = vend[IX(P_, A_)];
  if
  :: tm_b < VPAGES ->
     if
     :: (vend[IX(P_, tm_b)] != 0 && vgd[IX(P_, tm_b)] == vgd[IX(P_, A_)]
         && vwr[IX(P_, tm_b)] == vwr[IX(P_, A_)] && SAME_BACKING(P_, A_, tm_b)) ->
        can_merge(P_, A_, tm_b, tm_ok);
        if
        :: tm_ok ->
           on_merge(P_, A_, tm_b);
           vend[IX(P_, A_)] = vend[IX(P_, tm_b)];
           vma_none(IX(P_, tm_b))
        :: else -> skip
        fi
     :: else -> skip
     fi
  :: else -> skip
  fi
}

/* merge_with_prev(p, b): the VMA at b with the one that ends at b */
inline merge_with_prev(P_, B_) {
  if
  :: vend[IX(P_, B_)] != 0 ->
     mp_q = NONE; mp_k = 0;
     do
     :: mp_k < VPAGES && mp_q == NONE ->
        if :: vend[IX(P_, mp_k)] != 0 && vend[IX(P_, mp_k)] == (B_) -> mp_q = mp_k
        :: else -> skip fi;
        mp_k++
     :: else -> break
     od;
     if :: mp_q != NONE -> try_merge(P_, mp_q) :: else -> skip fi
  :: else -> skip
  fi
}

/* ------------------------------------------------------------ properties */

inline check_invariants() {
  ci_p = 0;
  do
  :: ci_p < PROCS ->
     ci_v = 0;
     do
     :: ci_v < VPAGES ->
        ci_i = IX(ci_p, ci_v);
        /* rmap_complete, wf_ptes_in_vmas */
        if
        :: pte[ci_i] != 0 ->
           ci_f = pte[ci_i] - 1;
           finds(ci_f, ci_p, ci_v, r_inv);
           rmap_complete = r_inv; assert(rmap_complete);
           vma_at(ci_p, ci_v, ci_a);
           wf_ptes_in_vmas = (alive[ci_p] && ci_a != NONE); assert(wf_ptes_in_vmas)
        :: else -> skip
        fi;
        /* rmap_sound: page[f].used and finds(f, p, v) -> pte[p, v] == f */
        ci_f = 0;
        do
        :: ci_f < FRAMES ->
           if
           :: pused[ci_f] ->
              finds(ci_f, ci_p, ci_v, r_inv);
              rmap_sound = (!r_inv || pte[ci_i] == ci_f + 1); assert(rmap_sound)
           :: else -> skip
           fi;
           ci_f++
        :: else -> break
        od;
        /* wf_vmas */
        if
        :: vend[ci_i] != 0 ->
           wf_vmas = (ci_v < vend[ci_i]);
           ci_b = ci_v + 1;
           do
           :: ci_b < vend[ci_i] && ci_b < VPAGES ->
              wf_vmas = (wf_vmas && vend[IX(ci_p, ci_b)] == 0); ci_b++
           :: else -> break
           od;
           assert(wf_vmas)
        :: else -> skip
        fi;
        ci_v++
     :: else -> break
     od;
     ci_p++
  :: else -> break
  od;
  /* mapcount, wf_page_in_use */
  ci_f = 0;
  do
  :: ci_f < FRAMES ->
     mapped_by(ci_f, ci_c);
     mapcount = (pmapc[ci_f] == ci_c); assert(mapcount);
     wf_page_in_use = (pused[ci_f] == (ci_c > 0)); assert(wf_page_in_use);
     ci_f++
  :: else -> break
  od;
  design_invariants()
}


/* ------------------------------------------------------------ operations */

/* mmap(p, s, n, growsdown) */
inline op_mmap(P_, S_, N_, G_) {
  ok = (alive[P_] && (S_) + (N_) <= VPAGES);
  if :: ok -> x_e = (S_) + (N_); overlaps(P_, S_, x_e, r_b); ok = !r_b :: else -> skip fi;
  if :: ok -> nr_vmas(P_, x_c); ok = (x_c < VMAS) :: else -> skip fi;
  if
  :: ok ->
     x_i = IX(P_, S_);
     vend[x_i] = x_e; vpgoff[x_i] = S_; vgd[x_i] = G_; vwr[x_i] = 1;
     vma_design_none(x_i);
     on_new_vma(P_, S_);
     merge_with_prev(P_, S_);
     if :: x_e < VPAGES -> merge_with_prev(P_, x_e) :: else -> skip fi;
     step_done()
  :: else -> skip
  fi
}

/* munmap(p, s, n) */
inline op_munmap(P_, S_, N_) {
  ok = (alive[P_] && (S_) + (N_) <= VPAGES);
  if :: ok -> x_e = (S_) + (N_); overlaps(P_, S_, x_e, r_b); ok = r_b :: else -> skip fi;
  if
  :: ok ->
     save_state();
     split_at(P_, S_);
     split_at(P_, x_e);
     if
     :: ok ->
        x_v = S_;
        do :: x_v < x_e -> drop_pte(P_, x_v); x_v++ :: else -> break od;
        x_a = S_;
        do :: x_a < x_e -> vma_none(IX(P_, x_a)); x_a++ :: else -> break od;
        /* the limit is checked on the count munmap leaves, as in the spec */
        nr_vmas(P_, x_c);
        if
        :: x_c <= VMAS -> on_vmas_removed(P_); step_done()
        :: else -> restore_state()
        fi
     :: else -> restore_state()
     fi
  :: else -> skip
  fi
}

/* mprotect(p, s, n, writable) */
inline op_mprotect(P_, S_, N_, W_) {
  ok = (alive[P_] && (S_) + (N_) <= VPAGES);
  if
  :: ok ->
     x_e = (S_) + (N_); x_v = S_;
     do
     :: ok && x_v < x_e -> vma_at(P_, x_v, x_a); ok = (x_a != NONE); x_v++
     :: else -> break
     od
  :: else -> skip
  fi;
  if
  :: ok ->
     r_b = 0; x_a = 0;
     do
     :: x_a < VPAGES && !r_b ->
        if
        :: (vend[IX(P_, x_a)] != 0 && x_a < x_e && (S_) < vend[IX(P_, x_a)]
            && vwr[IX(P_, x_a)] != (W_)) -> r_b = 1
        :: else -> skip
        fi;
        x_a++
     :: else -> break
     od;
     ok = r_b
  :: else -> skip
  fi;
  if
  :: ok ->
     save_state();
     split_at(P_, S_);
     split_at(P_, x_e);
     nr_vmas(P_, x_c);
     if
     :: ok && x_c <= VMAS ->
        x_a = S_;
        do
        :: x_a < x_e ->
           if :: vend[IX(P_, x_a)] != 0 -> vwr[IX(P_, x_a)] = W_ :: else -> skip fi;
           x_a++
        :: else -> break
        od;
        x_b = S_;
        do
        :: x_b <= x_e && x_b < VPAGES -> merge_with_prev(P_, x_b); x_b++
        :: else -> break
        od;
        step_done()
     :: else -> restore_state()
     fi
  :: else -> skip
  fi
}

/* mremap(p, a, n, t): move the VMA at a to t with length n, or resize in place (t == a) */
inline op_mremap(P_, A_, N_, T_) {
  ok = (alive[P_] && vend[IX(P_, A_)] != 0 && (T_) + (N_) <= VPAGES);
  if :: ok -> x_e = vend[IX(P_, A_)]; ok = ((N_) != x_e - (A_) || (T_) != (A_)) :: else -> skip fi;
  if
  :: ok && (T_) == (A_) ->
     x_b = (A_) + (N_);
     if
     :: (N_) < x_e - (A_) -> skip
     :: else -> overlaps(P_, x_e, x_b, r_b); ok = !r_b
     fi;
     if
     :: ok ->
        x_v = x_b;
        do :: x_v < x_e -> drop_pte(P_, x_v); x_v++ :: else -> break od;
        vend[IX(P_, A_)] = x_b;
        if
        :: (N_) < x_e - (A_) -> on_vmas_removed(P_)
        :: else -> if :: x_b < VPAGES -> merge_with_prev(P_, x_b) :: else -> skip fi
        fi;
        step_done()
     :: else -> skip
     fi
  :: ok && (T_) != (A_) ->
     ok = ((T_) + (N_) <= (A_) || x_e <= (T_));
     if :: ok -> x_b = (T_) + (N_); overlaps(P_, T_, x_b, r_b); ok = !r_b :: else -> skip fi;
     if
     :: ok ->
        x_i = 0;
        do
        :: x_i < (N_) && x_i < x_e - (A_) ->
           x_v = (A_) + x_i; x_w = (T_) + x_i;
           if
           :: pte[IX(P_, x_v)] != 0 ->
              pte[IX(P_, x_w)] = pte[IX(P_, x_v)];
              wp[IX(P_, x_w)] = wp[IX(P_, x_v)];
              pte[IX(P_, x_v)] = 0;
              wp[IX(P_, x_v)] = 0;
              x_f = pte[IX(P_, x_w)] - 1;
              on_move_pte(P_, x_v, x_w, x_f)
           :: else -> skip
           fi;
           x_i++
        :: else -> break
        od;
        x_v = (A_) + (N_);
        do :: x_v < x_e -> drop_pte(P_, x_v); x_v++ :: else -> break od;
        vma_copy(IX(P_, T_), IX(P_, A_));
        vend[IX(P_, T_)] = (T_) + (N_);
        vma_none(IX(P_, A_));
        on_move(P_, A_, T_);
        on_vmas_removed(P_);
        merge_with_prev(P_, T_);
        x_b = (T_) + (N_);
        if :: x_b < VPAGES -> merge_with_prev(P_, x_b) :: else -> skip fi;
        step_done()
     :: else -> skip
     fi
  :: else -> skip
  fi
}

/* fork(parent, child) */
inline op_fork(P_, C_) {
  if
  :: alive[P_] && !alive[C_] ->
     alive[C_] = 1;
     x_a = 0;
     do :: x_a < VPAGES -> vma_copy(IX(C_, x_a), IX(P_, x_a)); x_a++ :: else -> break od;
     on_fork(P_, C_);
     x_v = 0;
     do
     :: x_v < VPAGES ->
        if
        :: pte[IX(P_, x_v)] != 0 ->
           pte[IX(C_, x_v)] = pte[IX(P_, x_v)];
           vma_at(P_, x_v, x_a);
           if
           :: COW_MAPPING(P_, x_a) -> wp[IX(C_, x_v)] = 1; wp[IX(P_, x_v)] = 1
           :: else -> wp[IX(C_, x_v)] = wp[IX(P_, x_v)]
           fi;
           x_f = pte[IX(P_, x_v)] - 1;
           count_in_sort = (pmapc[x_f] + 1 <= COUNT_HI); assert(count_in_sort);
           pmapc[x_f] = pmapc[x_f] + 1;
           on_fork_pte(P_, C_, x_v)
        :: else -> skip
        fi;
        x_v++
     :: else -> break
     od;
     step_done()
  :: else -> skip
  fi
}

/* exit(p) */
inline op_exit(P_) {
  if
  :: alive[P_] ->
     x_v = 0;
     do :: x_v < VPAGES -> drop_pte(P_, x_v); x_v++ :: else -> break od;
     x_a = 0;
     do :: x_a < VPAGES -> vma_none(IX(P_, x_a)); x_a++ :: else -> break od;
     alive[P_] = 0;
     on_vmas_removed(P_);
     step_done()
  :: else -> skip
  fi
}

/* fault(p, v): a write fault on an unmapped page of a writable VMA */
inline op_fault(P_, V_) {
  ok = (alive[P_] && pte[IX(P_, V_)] == 0);
  if :: ok -> vma_at(P_, V_, x_a); ok = (x_a != NONE && vwr[IX(P_, x_a)] && !FILE_BACKED(P_, x_a))
     :: else -> skip fi;
  if :: ok -> least_free(x_f); ok = (x_f != NONE) :: else -> skip fi;
  if
  :: ok ->
     save_state();
     page_reset(x_f); pused[x_f] = 1; pmapc[x_f] = 1;
     pte[IX(P_, V_)] = x_f + 1;
     wp[IX(P_, V_)] = 0;
     on_fault(P_, V_, x_f);
     if :: ok -> step_done() :: else -> restore_state() fi
  :: else -> skip
  fi
}

/* cow(p, v): a write to a write-protected pte */
inline op_cow(P_, V_) {
  ok = (alive[P_] && pte[IX(P_, V_)] != 0 && wp[IX(P_, V_)]);
  if
  :: ok ->
     vma_at(P_, V_, x_a);
     key_in_sort = (x_a != NONE); assert(key_in_sort);
     ok = vwr[IX(P_, x_a)]
  :: else -> skip
  fi;
  if
  :: ok ->
     x_old = pte[IX(P_, V_)] - 1;
     if
     :: pmapc[x_old] == 1 && !IN_PAGE_CACHE(x_old) ->
        wp[IX(P_, V_)] = 0;
        on_reuse(P_, V_, x_old);
        step_done()
     :: else ->
        least_free(x_f);
        if
        :: x_f != NONE ->
           save_state();
           on_unmap(P_, V_, x_old);
           count_in_sort = (pmapc[x_old] >= 1); assert(count_in_sort);
           pmapc[x_old] = pmapc[x_old] - 1;
           if :: pmapc[x_old] == 0 -> page_reset(x_old) :: else -> skip fi;
           page_reset(x_f); pused[x_f] = 1; pmapc[x_f] = 1;
           pte[IX(P_, V_)] = x_f + 1;
           wp[IX(P_, V_)] = 0;
           on_cow(P_, V_, x_f);
           if :: ok -> step_done() :: else -> restore_state() fi
        :: else -> skip
        fi
     fi
  :: else -> skip
  fi
}

/* grow_stack(p, a): the growsdown VMA at a extends one page down */
inline op_grow_stack(P_, A_) {
  ok = (alive[P_] && vend[IX(P_, A_)] != 0 && vgd[IX(P_, A_)] && (A_) > 0);
  if :: ok -> x_a = (A_) - 1; vma_at(P_, x_a, x_b); ok = (x_b == NONE) :: else -> skip fi;
  if :: ok -> x_pg = vpgoff[IX(P_, A_)] - 1; GUARD_PGOFF(x_pg); ok = (ok && STACK_MAY_GROW(P_, A_))
     :: else -> skip fi;
  if
  :: ok ->
     vma_copy(IX(P_, x_a), IX(P_, A_));
     vpgoff[IX(P_, x_a)] = x_pg;
     vma_none(IX(P_, A_));
     on_grow(P_, x_a);
     step_done()
  :: else -> skip
  fi
}

/* swap_out(f): unmap every pte the reverse map finds, then the frame must be free */
inline op_swap_out(F_) {
  if
  :: pused[F_] ->
     x_p = 0;
     do
     :: x_p < PROCS ->
        x_v = 0;
        do
        :: x_v < VPAGES ->
           finds(F_, x_p, x_v, r_b);
           if
           :: r_b ->
              swap_out_sound = (pte[IX(x_p, x_v)] == (F_) + 1); assert(swap_out_sound);
              drop_pte(x_p, x_v)
           :: else -> skip
           fi;
           x_v++
        :: else -> break
        od;
        x_p++
     :: else -> break
     od;
     swap_out_complete = !pused[F_]; assert(swap_out_complete);
     step_done()
  :: else -> skip
  fi
}

/* ------------------------------------------------------------ the system */

/* One transition per operation: inside one atomic sequence (SPIN stores no
 * state inside it) the operation and its parameters are chosen (`select`),
 * the operation's body runs as one d_step, then a second d_step checks the
 * properties and canonicalises the state if the step happened, and resets
 * the parameters. Keeping the checks and the canonicalisation in one place
 * keeps pan.c small. The printf names the step in a replayed trail (spin -t).
 * The `skip` before each operation's d_step works around SPIN 6.5.2 rejecting
 * a d_step right after a select whose bound is an expression ("jump into
 * d_step sequence"). */

SCRATCH byte stepped;   /* the chosen operation was enabled and ran */

/* the end of every step that happened */
inline step_done() { stepped = 1 }

active proctype vm()
{
  byte p, s, n, t, c;   /* the parameters of the step being taken; 0 between steps */

  d_step { alive[0] = 1; design_init(); check_invariants(); canonicalise(); skip } STEP_END;
  do
  :: atomic {
       if
       :: select(p : 0 .. PROCS - 1);
          if
          :: alive[p] ->
             select(s : 0 .. VPAGES - 1); select(n : 1 .. VPAGES); select(c : 0 .. 1); skip;
             d_step { printf("mmap(p=%d, s=%d, n=%d, growsdown=%d)\n", p, s, n, c);
                      op_mmap(p, s, n, c) }
          :: else -> skip
          fi
       :: select(p : 0 .. PROCS - 1);
          if
          :: alive[p] ->
             select(s : 0 .. VPAGES - 1); select(n : 1 .. VPAGES); skip;
             d_step { printf("munmap(p=%d, s=%d, n=%d)\n", p, s, n); op_munmap(p, s, n) }
          :: else -> skip
          fi
       :: select(p : 0 .. PROCS - 1);
          if
          :: alive[p] ->
             select(s : 0 .. VPAGES - 1); select(n : 1 .. VPAGES); select(c : 0 .. 1); skip;
             d_step { printf("mprotect(p=%d, s=%d, n=%d, writable=%d)\n", p, s, n, c);
                      op_mprotect(p, s, n, c) }
          :: else -> skip
          fi
       :: select(p : 0 .. PROCS - 1);
          if
          :: alive[p] ->
             select(s : 0 .. VPAGES - 1);
             if
             :: vend[IX(p, s)] != 0 ->
                select(n : 1 .. VPAGES); select(t : 0 .. VPAGES - 1); skip;
                d_step { printf("mremap(p=%d, a=%d, n=%d, t=%d)\n", p, s, n, t);
                         op_mremap(p, s, n, t) }
             :: else -> skip
             fi
          :: else -> skip
          fi
       :: select(p : 0 .. PROCS - 1);
          if
          :: alive[p] ->
             select(c : 0 .. PROCS - 1); skip;
             d_step { printf("fork(parent=%d, child=%d)\n", p, c); op_fork(p, c) }
          :: else -> skip
          fi
       :: select(p : 0 .. PROCS - 1); skip;
          d_step { printf("exit(p=%d)\n", p); op_exit(p) }
       :: select(p : 0 .. PROCS - 1);
          if
          :: alive[p] ->
             select(s : 0 .. VPAGES - 1); skip;
             d_step { printf("fault(p=%d, v=%d)\n", p, s); op_fault(p, s) }
          :: else -> skip
          fi
       :: select(p : 0 .. PROCS - 1);
          if
          :: alive[p] ->
             select(s : 0 .. VPAGES - 1); skip;
             d_step { printf("cow(p=%d, v=%d)\n", p, s); op_cow(p, s) }
          :: else -> skip
          fi
       :: select(p : 0 .. PROCS - 1);
          if
          :: alive[p] ->
             select(s : 0 .. VPAGES - 1); skip;
             d_step { printf("grow_stack(p=%d, a=%d)\n", p, s); op_grow_stack(p, s) }
          :: else -> skip
          fi
       :: select(c : 0 .. FRAMES - 1); skip;
          d_step { printf("swap_out(f=%d)\n", c); op_swap_out(c) }
       fi;
       d_step {
         if :: stepped -> check_invariants(); canonicalise() :: else -> skip fi;
         stepped = 0; p = 0; s = 0; n = 0; t = 0; c = 0
       } STEP_END
     }
  od
}
