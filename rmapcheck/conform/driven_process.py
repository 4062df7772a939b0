"""The processes ``rmapcheck conform`` drives: one small C program
(``driven.c``) per modelled mm, compiled on first use, spoken to one command
at a time over a socket pair.

A run starts from the *zygote*: a driven process that set itself up once
(transparent huge pages off, one CPU, the reserved window with its guards)
and is never itself a modelled mm. Every initial process of a run is a fork of
it, so each run starts from the same clean address space, and every orphan a
modelled ``exit`` leaves is reparented to it (it is a child subreaper that
ignores SIGCHLD) and reaped at once. A modelled fork is a fork of the driven
process; a modelled exit is its exit.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import signal
import socket
import struct
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import attrs
from attrs import frozen

# The command numbers and layouts of driven.c.
OP_SETUP, OP_MMAP, OP_MUNMAP, OP_MPROTECT, OP_MREMAP = 1, 2, 3, 4, 5
OP_WRITE, OP_READ, OP_EXPAND, OP_PAGEOUT, OP_FORK, OP_EXIT, OP_PING = 6, 7, 8, 9, 10, 11, 12
F_WRITABLE, F_GROWSDOWN, F_MOVE = 1, 2, 4
SETUP_STEPS = {1: "prctl(PR_SET_THP_DISABLE)", 2: "sched_setaffinity",
               3: "the PROT_NONE reservation of the window", 4: "munmap of the window",
               5: "prctl(PR_SET_CHILD_SUBREAPER)"}
_COMMAND = struct.Struct("<II4Q")
_REPLY = struct.Struct("<qii")

# A driven process answers within microseconds; one that has not answered in
# this long is stuck, and waiting longer would only hide it.
TIMEOUT_SECONDS = 20.0


class DrivenProcessError(Exception):
    """A driven process died or stopped answering: not a verdict on the model."""


class HelperBuildError(Exception):
    """driven.c could not be compiled here (no C compiler, or it failed)."""


@frozen
class Answer:
    """A system call's result: its return value, and errno when it failed."""

    value: int
    error: int = 0

    @property
    def failed(self) -> bool:
        return self.error != 0

    def describe(self) -> str:
        return f"{errno.errorcode.get(self.error, str(self.error))} ({os.strerror(self.error)})"


def helper_path() -> Path:
    """The compiled driven.c, from the cache of compiled code (built on first use)."""
    from rmapcheck.explicit.native.loader import cache_dir, compiler

    source = resources.files("rmapcheck.conform").joinpath("driven.c").read_text()
    cc = compiler()
    if cc is None:
        raise HelperBuildError("no C compiler found to build the driven process (set CC)")
    flags = ["-O1", "-std=gnu11", "-w"]
    key = hashlib.sha256("\0".join([" ".join(cc), " ".join(flags), source]).encode()
                         ).hexdigest()[:24]
    directory = cache_dir()
    target = directory / f"driven_{key}"
    if target.exists():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rmapcheck-") as tmp:
        c_file = Path(tmp) / "driven.c"
        c_file.write_text(source)
        out = Path(tmp) / "driven"
        built = subprocess.run([*cc, *flags, "-o", str(out), str(c_file)], capture_output=True,
                               text=True, check=False)
        if built.returncode != 0:
            raise HelperBuildError(f"the C compiler failed on driven.c: {built.stderr[-2000:]}")
        # Atomic: a concurrent run sees no file or the whole one.
        fd, partial = tempfile.mkstemp(dir=directory, suffix=".part")
        os.close(fd)
        Path(partial).write_bytes(out.read_bytes())
        os.chmod(partial, 0o755)
        os.replace(partial, target)
    return target


@attrs.define(eq=False)
class DrivenProcess:
    """One driven process: its pid and the harness's end of its socket."""

    pid: int
    sock: socket.socket
    popen: subprocess.Popen[bytes] | None = None  # only the zygote is the harness's child
    alive: bool = True

    @classmethod
    def start_zygote(cls, base: int, window: int, guard: int, cpu: int) -> DrivenProcess:
        """The zygote, set up: raises DrivenProcessError naming the part of the
        setup the kernel refused."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            popen = subprocess.Popen([str(helper_path()), str(theirs.fileno())],
                                     pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        except OSError as err:
            ours.close()
            raise DrivenProcessError(f"the driven process cannot be started ({err})") from None
        finally:
            theirs.close()
        ours.settimeout(TIMEOUT_SECONDS)
        zygote = cls(popen.pid, ours, popen)
        answer = zygote.call(OP_SETUP, a=base, b=window, c=guard, d=cpu)
        if answer.failed:
            zygote.kill()
            raise DrivenProcessError(f"{SETUP_STEPS.get(answer.value, 'the setup')} failed: "
                                     f"{answer.describe()}")
        return zygote

    def call(self, op: int, flags: int = 0, a: int = 0, b: int = 0, c: int = 0,
             d: int = 0) -> Answer:
        """One command and its answer."""
        self._send(op, flags, a, b, c, d)
        data = self._receive()[0]
        value, error, _ = _REPLY.unpack(data)
        return Answer(value, error)

    def _send(self, op: int, flags: int, a: int, b: int, c: int, d: int) -> None:
        if not self.alive:
            raise DrivenProcessError(f"driven process {self.pid} has exited")
        try:
            self.sock.send(_COMMAND.pack(op, flags, a & 2**64 - 1, b, c, d))
        except OSError as err:
            raise DrivenProcessError(f"driven process {self.pid} is gone ({err})") from None

    def _receive(self) -> tuple[bytes, list[int]]:
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, _REPLY.size, 1)
        except TimeoutError:
            raise DrivenProcessError(f"driven process {self.pid} did not answer in "
                                     f"{TIMEOUT_SECONDS:.0f} s") from None
        except OSError as err:
            raise DrivenProcessError(f"driven process {self.pid} is gone ({err})") from None
        if len(data) != _REPLY.size:
            for fd in fds:
                os.close(fd)
            raise DrivenProcessError(f"driven process {self.pid} died (a short answer of "
                                     f"{len(data)} bytes)")
        return data, fds

    def fork(self) -> DrivenProcess | Answer:
        """A fork: the child, ready (it answered a ping), or the failed answer."""
        self._send(OP_FORK, 0, 0, 0, 0, 0)
        data, fds = self._receive()
        value, error, _ = _REPLY.unpack(data)
        if error:
            for fd in fds:
                os.close(fd)
            return Answer(value, error)
        if len(fds) != 1:
            raise DrivenProcessError(f"driven process {self.pid} forked {value} but sent no "
                                     "socket for it")
        sock = socket.socket(fileno=fds[0])
        sock.settimeout(TIMEOUT_SECONDS)
        child = DrivenProcess(value, sock)
        # Once it answers it has closed its copy of the parent's socket, so
        # the parent's exit is seen (end of file) when it happens.
        if child.call(OP_PING).value != value:
            raise DrivenProcessError(f"the fork of driven process {self.pid} answers as "
                                     "another process")
        return child

    def exit(self) -> None:
        """A real exit; returns when the process has released its address
        space: the kernel tears the mm down (exit_mm) before it closes the
        files (exit_files), so the end of file on the socket comes after."""
        self._send(OP_EXIT, 0, 0, 0, 0, 0)
        self._wait_gone()

    def _wait_gone(self) -> None:
        try:
            while self.sock.recv(_REPLY.size):
                pass
        except TimeoutError:
            raise DrivenProcessError(f"driven process {self.pid} did not exit in "
                                     f"{TIMEOUT_SECONDS:.0f} s") from None
        except OSError:
            pass
        self._closed()

    def _closed(self) -> None:
        self.alive = False
        self.sock.close()
        if self.popen is not None:
            self.popen.wait(TIMEOUT_SECONDS)

    def kill(self) -> None:
        """SIGKILL for this process (by its pid, which the harness started),
        after which its address space is gone as after an exit."""
        if not self.alive:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self._wait_gone()

