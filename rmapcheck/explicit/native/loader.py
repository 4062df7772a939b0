"""Compiles the generated C of an instance once and loads it with ctypes.

The shared object is cached in ``$XDG_CACHE_HOME/rmapcheck/native`` (or
``~/.cache/rmapcheck/native``; ``RMAPCHECK_CACHE_DIR`` overrides) under a hash
of the complete source and the compiler command, so the second run of the
same instance does not compile at all. ``RMAPCHECK_CC`` or ``CC`` choose the
compiler (default: ``cc``, else ``gcc``, else ``clang``).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from functools import lru_cache
from importlib import resources
from pathlib import Path

CFLAGS = ["-std=gnu11", "-fPIC", "-shared", "-pthread", "-fvisibility=hidden", "-w"]
OPT = "-O1"


def cflags() -> list[str]:
    """``RMAPCHECK_NATIVE_OPT`` (e.g. ``-O1``) trades search speed for compile time."""
    return [*os.environ.get("RMAPCHECK_NATIVE_OPT", OPT).split(), *CFLAGS]
SOURCE_FORMAT = 2  # bump when the generated interface changes


class CompileError(Exception):
    """The C compiler failed on generated code: a bug in the native engine."""


@lru_cache(maxsize=1)
def compiler() -> list[str] | None:
    """The C compiler command, or None when there is none."""
    for env in ("RMAPCHECK_CC", "CC"):
        value = os.environ.get(env)
        if value:
            parts = shlex.split(value)
            if parts and shutil.which(parts[0]):
                return parts
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return [path]
    return None


def cache_dir() -> Path:
    override = os.environ.get("RMAPCHECK_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rmapcheck" / "native"


def runtime_text(name: str) -> str:
    return resources.files("rmapcheck.explicit.native").joinpath(name).read_text()


def assemble(defines: str, model_code: str) -> str:
    return (defines + runtime_text("runtime_head.h") + "\n" + model_code + "\n" +
            runtime_text("runtime.c"))


class Library:
    """A loaded instance: the ctypes handle and how long building it took."""

    def __init__(self, lib: ctypes.CDLL, path: Path, compile_seconds: float, cached: bool,
                 source: str) -> None:
        self.lib = lib
        self.path = path
        self.compile_seconds = compile_seconds
        self.cached = cached
        self.source = source
        _prototypes(lib)


def build(source: str) -> Library:
    """Compiles ``source`` (or finds it in the cache) and loads it."""
    cc = compiler()
    if cc is None:
        raise CompileError("no C compiler found (set CC)")
    flags = cflags()
    key = hashlib.sha256("\0".join([str(SOURCE_FORMAT), " ".join(cc), " ".join(flags),
                                    source]).encode()).hexdigest()[:24]
    directory = cache_dir()
    target = directory / f"rc_{key}.so"
    start = time.monotonic()
    cached = target.exists()
    if not cached:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="rmapcheck-") as tmp:
            c_file = Path(tmp) / f"rc_{key}.c"
            c_file.write_text(source)
            out = Path(tmp) / f"rc_{key}.so"
            proc = subprocess.run([*cc, *flags, "-o", str(out), str(c_file)],
                                  capture_output=True, text=True, check=False)
            if proc.returncode in (-signal.SIGINT, 128 + signal.SIGINT):
                # Ctrl-C reaches the compiler too: the user stopped the run;
                # the code is not at fault, and no fallback engine should start.
                raise KeyboardInterrupt
            if proc.returncode != 0:
                keep = directory / f"rc_{key}.failed.c"
                keep.write_text(source)
                raise CompileError(f"the C compiler failed on the generated code (kept in "
                                   f"{keep}):\n{proc.stderr[-4000:]}")
            # Atomic: a concurrent run sees the old file or the whole new one.
            fd, partial = tempfile.mkstemp(dir=directory, suffix=".so.part")
            os.close(fd)
            shutil.copyfile(out, partial)
            os.replace(partial, target)
    lib = ctypes.CDLL(str(target))
    return Library(lib, target, time.monotonic() - start, cached, source)


def _prototypes(lib: ctypes.CDLL) -> None:
    p, i, i64, u64, d, u32 = (ctypes.c_void_p, ctypes.c_int, ctypes.c_int64, ctypes.c_uint64,
                              ctypes.c_double, ctypes.c_uint32)
    ip = ctypes.POINTER(ctypes.c_int)
    specs = {
        "rc_info": (i64, [i]),
        "rc_new": (p, []),
        "rc_free": (None, [p]),
        "rc_set_symmetry": (None, [p, u32, i]),
        "rc_set_workers": (None, [p, i]),
        "rc_set_limits": (None, [p, i64, i64, d, d]),
        "rc_set_memory": (None, [p, i64]),
        "rc_set_coverage": (None, [p, i]),
        "rc_coverage": (None, [p] + [ctypes.POINTER(ctypes.c_uint64)] * 4),
        "rc_set_props": (i, [p, i, ip, ip, i, ip, ip, ip, i, ctypes.c_char_p, i, i, i, i]),
        "rc_start": (i, [p, ctypes.c_void_p]),
        "rc_run": (i, [p]),
        "rc_stat": (i64, [p, i]),
        "rc_event": (None, [p, i, ctypes.POINTER(ctypes.c_int64)]),
        "rc_path": (i64, [p, u64, ctypes.POINTER(ctypes.c_uint32), i64]),
        "rc_get_state": (None, [p, u64, ctypes.c_void_p]),
        "rc_canonical": (None, [p, ctypes.c_void_p, ctypes.c_void_p]),
        "rc_expand": (i, [p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32), ctypes.c_void_p,
                          ctypes.POINTER(ctypes.c_int32)]),
        "rc_prop": (i, [p, i, ctypes.c_void_p]),
    }
    for name, (res, args) in specs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
