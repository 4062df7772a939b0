/* Bounds of the reference VM model (models/vm.spec), overridable with
 * spin -DPROCS=3 ... (and the same -D flags to gcc when compiling pan.c). */

#ifndef PROCS
#define PROCS 2         /* processes (mm_structs) */
#endif
#ifndef VPAGES
#define VPAGES 4        /* virtual pages in each address space */
#endif
#ifndef FRAMES
#define FRAMES 3        /* physical frames */
#endif
#ifndef VMAS
#define VMAS 2          /* VMAs per mm at most */
#endif

#define NPV (PROCS * VPAGES)
#define IX(p, v) ((p) * VPAGES + (v))   /* the entry of (process, page) in a flat array */
#define NONE 255                        /* "none" for a scratch index (vma_at, choose) */
#define PGOFF_LO (-VPAGES)              /* sort Pgoff = -VPAGES .. 2 * VPAGES */
#define PGOFF_HI (2 * VPAGES)
#define COUNT_HI (PROCS * VPAGES)       /* sort Count = 0 .. PROCS * VPAGES */

/* pgoff_fits(x): x may be a VMA's vm_pgoff, -VPAGES .. VPAGES. vm.spec makes
 * a split or a stack growth that would take vm_pgoff outside it not enabled
 * (GUARD_PGOFF: a `requires`, ok = 0), so every page offset vm_pgoff + (v -
 * vm_start) is in Pgoff. Any store of a value outside its sort would be a
 * run-time error in rmapcheck: an assertion here (CHECK_PGOFF). */
#define PGOFF_FITS(x) ((x) >= -VPAGES && (x) <= VPAGES)
#define GUARD_PGOFF(x) ok = (ok && PGOFF_FITS(x))
#define CHECK_PGOFF(x) pgoff_in_sort = ((x) >= PGOFF_LO && (x) <= PGOFF_HI); assert(pgoff_in_sort)

/* Scratch variables (helpers' results, loop counters, copies) are written
 * before they are read within one d_step, so they are not state: `hidden`.
 * pan refuses hidden variables under BFS; then they are ordinary variables,
 * zeroed by a d_step of its own at the end of every step (STEP_END, inside
 * the step's atomic sequence) so that they never tell states
 * apart. */
#ifdef BFS
#define SCRATCH
#define STEP_END ; d_step { scratch_reset() }
#else
#define SCRATCH hidden
#define STEP_END
#endif
#define ZERO(A, N) k_z = 0; do :: k_z < (N) -> A[k_z] = 0; k_z++ :: else -> break od
