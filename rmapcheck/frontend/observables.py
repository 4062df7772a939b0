"""What a spec may say about how its state shows on a live kernel: the names
an ``observe def`` may take and the kernel operations an ``observe action``
may name. ``rmapcheck conform`` knows how to read each observation from
/proc and how to run each operation; the checker holds the declarations to
the shapes below. spec/LANGUAGE.md shows both tables
(tests/test_frontend_language_doc.py keeps them equal to these).

The kinds of a parameter or argument: ``process`` (the modelled mm, a
symmetric sort; one driven process each), ``page`` (a page of the window, a
range sort; page v is at base + v * PAGE_SIZE), ``pages`` (a number of pages),
``frame`` (a physical frame, the symmetric sort ``frame`` returns), ``flag``
(a Bool). Results: ``Bool``, a ``frame`` option, a number, a number option.
"""

from __future__ import annotations

from attrs import frozen


@frozen
class Observable:
    """An observation: ``name(params)`` of result kind ``result``, read from
    the kernel as ``source`` says."""

    name: str
    params: tuple[tuple[str, str], ...]  # (parameter name, kind)
    result: str  # "Bool", "frame?", "number", "number?"
    source: str
    meaning: str


@frozen
class KernelOp:
    """A kernel operation an action may stand for: what the driven process
    of its first argument does."""

    name: str
    params: tuple[tuple[str, str], ...]
    does: str


OBSERVABLES: tuple[Observable, ...] = (
    Observable("process", (("p", "process"),), "Bool",
               "the driven process of p is running",
               "which processes exist (required by every other observation)"),
    Observable("frame", (("p", "process"), ("v", "page")), "frame?",
               "/proc/PID/pagemap: the PFN when the page is present (bit 63)",
               "which pages share a frame: the partition, never the frame numbers, and "
               "across each step (the same page before and after, or a new one)"),
    Observable("page_mapcount", (("f", "frame"),), "number",
               "/proc/kpagecount of the frame's PFN",
               "how many ptes map the frame"),
    Observable("vma_end", (("p", "process"), ("a", "page")), "number?",
               "/proc/PID/maps: the end of the VMA that starts at page a",
               "which VMAs exist, with their start and end"),
    Observable("vma_writable", (("p", "process"), ("a", "page")), "Bool",
               "/proc/PID/maps: 'w' in the permissions of the VMA that starts at a",
               "whether the VMA that starts at a is writable (false where none starts)"),
    Observable("vma_growsdown", (("p", "process"), ("a", "page")), "Bool",
               "/proc/PID/smaps: 'gd' in the VmFlags of the VMA that starts at a",
               "whether the VMA that starts at a is a stack (false where none starts)"),
    Observable("vma_accounted", (("p", "process"), ("a", "page")), "Bool",
               "/proc/PID/smaps: 'ac' (VM_ACCOUNT) in the VmFlags of the VMA that starts at a",
               "whether the VMA that starts at a has its memory reserved (false where none "
               "starts)"),
    Observable("zero_page", (("p", "process"), ("v", "page")), "Bool",
               "/proc/kpageflags: KPF_ZERO_PAGE (bit 24) of the page's PFN",
               "the page maps the shared zero page"),
    Observable("exclusive", (("p", "process"), ("v", "page")), "Bool",
               "/proc/PID/pagemap: bit 56 (PageAnonExclusive itself is in no file user "
               "space can read)",
               "the page is mapped by this process alone"),
)

KERNEL_OPS: tuple[KernelOp, ...] = (
    KernelOp("mmap", (("p", "process"), ("start", "page"), ("pages", "pages"),
                      ("writable", "flag"), ("growsdown", "flag")),
             "mmap(start, pages, PROT_READ [| PROT_WRITE], MAP_PRIVATE | MAP_ANONYMOUS | "
             "MAP_FIXED_NOREPLACE [| MAP_GROWSDOWN])"),
    KernelOp("munmap", (("p", "process"), ("start", "page"), ("pages", "pages")),
             "munmap(start, pages)"),
    KernelOp("mprotect", (("p", "process"), ("start", "page"), ("pages", "pages"),
                          ("writable", "flag")),
             "mprotect(start, pages, PROT_READ [| PROT_WRITE])"),
    KernelOp("mremap", (("p", "process"), ("old", "page"), ("old_pages", "pages"),
                        ("new_pages", "pages"), ("new", "page")),
             "mremap(old, old_pages, new_pages, MREMAP_MAYMOVE | MREMAP_FIXED, new); in "
             "place (flags 0) when new == old"),
    KernelOp("fork", (("parent", "process"), ("child", "process")),
             "fork() of the parent's driven process; the child is the new process"),
    KernelOp("exit", (("p", "process"),), "_exit(0)"),
    KernelOp("write", (("p", "process"), ("v", "page")), "a one-byte store to the page"),
    KernelOp("read", (("p", "process"), ("v", "page")), "a one-byte load from the page"),
    KernelOp("expand_stack", (("p", "process"), ("v", "page")),
             "a load from page v, just below a growsdown VMA, then madvise(v, 1 page, "
             "MADV_DONTNEED): the stack grows and keeps no pte"),
    KernelOp("pageout", (("f", "frame"),),
             "madvise(MADV_PAGEOUT) of every page that frame says maps f, in the state "
             "before the step (needs swap; without it the action is left out)"),
)


def observable(name: str) -> Observable | None:
    return next((o for o in OBSERVABLES if o.name == name), None)


def kernel_op(name: str) -> KernelOp | None:
    return next((o for o in KERNEL_OPS if o.name == name), None)
