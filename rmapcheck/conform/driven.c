/* The driven process of `rmapcheck conform`: one per modelled mm.
 *
 * It reads one fixed-size command at a time from a SOCK_SEQPACKET socket,
 * makes the system call or the memory access it names, and answers with the
 * result and errno. It is C, not Python, because whatever it does besides the
 * commands would show up in what is compared: after its start it allocates
 * nothing (no interpreter arena can land in or next to the reserved window),
 * it stores exactly one byte where it is told to, and a fork copies a process
 * of a few pages rather than an interpreter.
 *
 * rmapcheck/conform/driven_process.py is the other end of the protocol; the
 * two declare the same command numbers and layouts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef PR_SET_THP_DISABLE
#define PR_SET_THP_DISABLE 41
#endif
#ifndef PR_SET_CHILD_SUBREAPER
#define PR_SET_CHILD_SUBREAPER 36
#endif

enum {
    OP_SETUP = 1,     /* a: base, b: window bytes, c: guard bytes, d: cpu */
    OP_MMAP = 2,      /* a: address, b: bytes; flags: WRITABLE, GROWSDOWN */
    OP_MUNMAP = 3,    /* a: address, b: bytes */
    OP_MPROTECT = 4,  /* a: address, b: bytes; flags: WRITABLE */
    OP_MREMAP = 5,    /* a: old address, b: old bytes, c: new bytes, d: new address; flags: MOVE */
    OP_WRITE = 6,     /* a: address, b: the byte to store */
    OP_READ = 7,      /* a: address */
    OP_EXPAND = 8,    /* a: address below a growsdown VMA: read it, then zap its pte */
    OP_PAGEOUT = 9,   /* a: address */
    OP_FORK = 10,     /* the reply carries the child's socket */
    OP_EXIT = 11,
    OP_PING = 12,
};

enum { F_WRITABLE = 1, F_GROWSDOWN = 2, F_MOVE = 4 };

/* Which part of OP_SETUP failed, in the reply's value. */
enum { SETUP_THP = 1, SETUP_CPU = 2, SETUP_RESERVE = 3, SETUP_HOLE = 4, SETUP_REAPER = 5 };

struct command {
    uint32_t op;
    uint32_t flags;
    uint64_t a, b, c, d;
};

struct reply {
    int64_t value;
    int32_t error;
    int32_t pad;
};

static int sock;
static sigjmp_buf fault_jump;
static volatile sig_atomic_t fault_armed;

static void on_fault(int sig)
{
    if (fault_armed)
        siglongjmp(fault_jump, 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* A load or a store that may fault: EFAULT instead of dying, so that a spec
 * whose mapping of an action is wrong gets a mismatch, not a lost process. */
static int touch(uint64_t address, int store, uint8_t value)
{
    volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)address;
    if (sigsetjmp(fault_jump, 1)) {
        fault_armed = 0;
        return EFAULT;
    }
    fault_armed = 1;
    if (store)
        *p = value;
    else
        (void)*p;
    fault_armed = 0;
    return 0;
}

static void answer(int64_t value, int error, int fd)
{
    struct reply r = {value, error, 0};
    struct iovec iov = {&r, sizeof r};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fd >= 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof control.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    if (sendmsg(sock, &msg, MSG_NOSIGNAL) != (ssize_t)sizeof r)
        _exit(3);
}

static void result(long value)
{
    answer(value, value == -1 ? errno : 0, -1);
}

static void setup(const struct command *c)
{
    /* Exited children are reaped at once, and so are the orphans of any
     * driven process, which come here as to a subreaper: no zombie outlives
     * its run whatever the init of the machine does. */
    signal(SIGCHLD, SIG_IGN);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) {
        answer(SETUP_REAPER, errno, -1);
        return;
    }
    /* Large folios would make one fault map several pages; inherited by fork. */
    if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)) {
        answer(SETUP_THP, errno, -1);
        return;
    }
    /* One CPU: a write fault drains only its own CPU's LRU batches before it
     * decides whether to reuse a page, and a page left in another CPU's batch
     * holds a reference that turns a reuse into a copy. */
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET((int)c->d, &cpus);
    if (sched_setaffinity(0, sizeof cpus, &cpus)) {
        answer(SETUP_CPU, errno, -1);
        return;
    }
    /* The guards keep the window's neighbours fixed: never mergeable with a
     * model VMA (other flags), never accessible (so no stack guard gap), and
     * nothing else is ever placed next to the window. */
    uint64_t start = c->a - c->c, total = c->b + 2 * c->c;
    void *at = mmap((void *)(uintptr_t)start, total, PROT_NONE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (at == MAP_FAILED || (uint64_t)(uintptr_t)at != start) {
        answer(SETUP_RESERVE, at == MAP_FAILED ? errno : EEXIST, -1);
        return;
    }
    if (munmap((void *)(uintptr_t)c->a, c->b)) {
        answer(SETUP_HOLE, errno, -1);
        return;
    }
    answer(0, 0, -1);
}

static void do_fork(void)
{
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair)) {
        result(-1);
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pair[0]);
        close(pair[1]);
        answer(-1, e, -1);
        return;
    }
    if (pid == 0) {
        /* The child answers on its own socket from now on; the harness pings
         * it first, and by then it holds no end of its parent's. */
        close(sock);
        close(pair[0]);
        sock = pair[1];
        return;
    }
    close(pair[1]);
    answer(pid, 0, pair[0]);
    close(pair[0]);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    sock = atoi(argv[1]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    /* A Ctrl-C reaches the whole process group; the harness, which gets it
     * too, ends the driven processes itself and says what was run. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    for (;;) {
        struct command c;
        ssize_t n = recv(sock, &c, sizeof c, 0);
        if (n == 0)
            _exit(0); /* the harness is gone */
        if (n != (ssize_t)sizeof c)
            _exit(2);
        void *a = (void *)(uintptr_t)c.a;
        switch (c.op) {
        case OP_SETUP:
            setup(&c);
            break;
        case OP_MMAP: {
            int prot = PROT_READ | (c.flags & F_WRITABLE ? PROT_WRITE : 0);
            int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE
                        | (c.flags & F_GROWSDOWN ? MAP_GROWSDOWN : 0);
            void *at = mmap(a, c.b, prot, flags, -1, 0);
            if (at != MAP_FAILED && at != a) {
                /* A kernel without MAP_FIXED_NOREPLACE took the address as a hint. */
                munmap(at, c.b);
                answer(-1, EEXIST, -1);
            } else {
                result(at == MAP_FAILED ? -1 : (long)(uintptr_t)at);
            }
            break;
        }
        case OP_MUNMAP:
            result(munmap(a, c.b));
            break;
        case OP_MPROTECT:
            result(mprotect(a, c.b, PROT_READ | (c.flags & F_WRITABLE ? PROT_WRITE : 0)));
            break;
        case OP_MREMAP: {
            int flags = c.flags & F_MOVE ? MREMAP_MAYMOVE | MREMAP_FIXED : 0;
            void *at = mremap(a, c.b, c.c, flags, (void *)(uintptr_t)c.d);
            result(at == MAP_FAILED ? -1 : (long)(uintptr_t)at);
            break;
        }
        case OP_WRITE: {
            int e = touch(c.a, 1, (uint8_t)c.b);
            answer(e ? -1 : 0, e, -1);
            break;
        }
        case OP_READ: {
            int e = touch(c.a, 0, 0);
            answer(e ? -1 : 0, e, -1);
            break;
        }
        case OP_EXPAND: {
            /* The read grows the stack and maps the zero page there; the zap
             * leaves the grown VMA with no pte, as a stack that only grew. */
            int e = touch(c.a, 0, 0);
            if (e)
                answer(-1, e, -1);
            else
                result(madvise(a, (size_t)sysconf(_SC_PAGESIZE), MADV_DONTNEED));
            break;
        }
        case OP_PAGEOUT:
            result(madvise(a, (size_t)sysconf(_SC_PAGESIZE), MADV_PAGEOUT));
            break;
        case OP_FORK:
            do_fork();
            break;
        case OP_EXIT:
            _exit(0);
        case OP_PING:
            answer(getpid(), 0, -1);
            break;
        default:
            answer(-1, EINVAL, -1);
        }
    }
}
