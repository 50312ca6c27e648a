/* agt_launcher.c: the seat launcher (agt_launcher.h).
 *
 * One seat, three processes for a moment: the launcher starts a go-between,
 * which forks the seat and exits at once. The seat, orphaned, goes to the
 * nearest child subreaper up the tree, `parley run` (which set
 * PR_SET_CHILD_SUBREAPER before starting the launcher). The kernel reparents
 * the seat before the go-between can be reaped, so once waitpid() on the
 * go-between returns, the seat is `parley run`'s child: only then is its pid
 * replied, and only then is the seat let go (a gate pipe whose one write end
 * the launcher closes), to set its parent-death signal against its final
 * parent.
 *
 * The go-between shares the launcher's memory (clone with CLONE_VM |
 * CLONE_VFORK, on a stack of its own, as posix_spawn starts a child): a fork
 * copies the page tables and the mappings of two dozen libraries, and with a
 * forked go-between that happened twice per seat, and once more torn down
 * when it exited. Now only the seat's fork copies them. The launcher waits
 * while the go-between runs (CLONE_VFORK), so nothing else touches the
 * shared memory meanwhile; the seat, forked from it by glibc's fork(), is an
 * ordinary forked process and goes on on that stack, which is why the stack
 * is a whole main thread's (S_SEAT_STACK, with a guard page). */
#define _GNU_SOURCE /* clone */
#include "agt_launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_FIELDS 64
/* The go-between's stack, on which the seat's main thread then runs its whole
 * life: the size of a default main stack. Untouched pages cost nothing. */
#define S_SEAT_STACK (8u << 20)

typedef struct {
    char *log;
    char *argv[S_MAX_FIELDS + 1];
    int argc;
    char *env[S_MAX_FIELDS + 1];
    int n_env;
} s_request_t;

/* Splits one request line in place; returns 0, or -1 with a reason. */
static int s_parse(char *line, s_request_t *r, const char **why)
{
    memset(r, 0, sizeof *r);
    char *rest = line, *f = strsep(&rest, "\t");
    if (!f || !*f || !rest) {
        *why = "no log file or no arguments";
        return -1;
    }
    r->log = f;
    bool in_env = false;
    while ((f = strsep(&rest, "\t")) != NULL) {
        if (!in_env && !*f) {
            in_env = true;
            continue;
        }
        if (in_env) {
            if (r->n_env >= S_MAX_FIELDS || !strchr(f, '=')) {
                *why = r->n_env >= S_MAX_FIELDS ? "too many variables" : "a variable without =";
                return -1;
            }
            r->env[r->n_env++] = f;
        } else {
            if (r->argc >= S_MAX_FIELDS) {
                *why = "too many arguments";
                return -1;
            }
            r->argv[r->argc++] = f;
        }
    }
    if (r->argc == 0) {
        *why = "no arguments";
        return -1;
    }
    return 0;
}

/* The parent of pid from /proc/PID/stat ("pid (comm) state ppid ..."), or -1. */
static pid_t s_parent_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    char *end = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
    int ppid;
    if (!end || sscanf(end + 1, " %*c %d", &ppid) != 1) return -1;
    return (pid_t)ppid;
}

/* In the seat: waits for the gate, becomes a plain seat process, runs it. */
static _Noreturn void s_become_seat(const s_request_t *r, int gate, pid_t runner,
                                    agt_seat_main_fn seat_main)
{
    char c;
    while (read(gate, &c, 1) < 0 && errno == EINTR) continue;
    close(gate);
    /* Dies with `parley run`, like an exec'd seat (cli_spawn). */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != runner) _exit(127);
    setpgid(0, 0);
    prctl(PR_SET_NAME, "parley-agent", 0, 0, 0);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 || dup2(devnull, STDOUT_FILENO) < 0)
        _exit(127);
    if (devnull > STDERR_FILENO) close(devnull);
    int fd = open(r->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
        fprintf(stderr, "parley-agent --launcher: %s: %s\n", r->log, strerror(errno));
        _exit(127);
    }
    close(fd);
    for (int i = 0; i < r->n_env; i++) putenv(r->env[i]); /* the strings live on */
    char **argv = calloc((size_t)r->argc + 1, sizeof *argv);
    if (!argv) _exit(127);
    memcpy(argv, r->argv, (size_t)r->argc * sizeof *argv);
    optind = 1;
    int rc = seat_main(r->argc, argv);
    free(argv);
    /* exit, not _exit: the seat ends as an exec'd one would (stdio flushed,
     * and a sanitizer build checks it for leaks). */
    exit(rc);
}

/* AddressSanitizer cannot follow a thread onto a stack it did not make: it
 * warns (in launcher.log) and may report false errors. A sanitizer build
 * forks the go-between, on a copy of the launcher's own stack, as before:
 * the same steps, one more copy of the page tables. */
#if defined(__SANITIZE_ADDRESS__)
#define S_SHARED_MEMORY 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S_SHARED_MEMORY 0
#endif
#endif
#ifndef S_SHARED_MEMORY
#define S_SHARED_MEMORY 1
#endif

/* What the go-between is given. */
typedef struct {
    const s_request_t *r;
    pid_t runner;
    agt_seat_main_fn seat_main;
    int gate_rd, gate_wr, result_wr;
    const sigset_t *mask; /* the launcher's own, for the seat */
} s_mid_t;

/* The go-between: forks the seat, writes its pid (and errno) to result_wr
 * and exits. Its file table is its own copy, so the seat it forks holds no
 * write end of the gate. */
static int s_mid(void *arg)
{
    const s_mid_t *m = arg;
    close(m->gate_wr);
    pid_t seat = fork();
    if (seat == 0) {
        close(m->result_wr);
        close(STDIN_FILENO); /* the request pipe: `parley run` sees EOF only from us */
        sigprocmask(SIG_SETMASK, m->mask, NULL);
        s_become_seat(m->r, m->gate_rd, m->runner, m->seat_main);
    }
    int out[2] = {(int)seat, seat < 0 ? errno : 0};
    ssize_t w = write(m->result_wr, out, sizeof out);
    _exit(seat > 0 && w == (ssize_t)sizeof out ? 0 : 1);
}

/* Starts one seat; returns its pid (now `parley run`'s child), or -1 with a
 * reason. stack: S_SEAT_STACK bytes above a guard page. */
static pid_t s_launch(const s_request_t *r, pid_t runner, agt_seat_main_fn seat_main, char *stack,
                      const char **why)
{
    int gate[2], res[2];
    if (pipe(gate) != 0) {
        *why = strerror(errno);
        return -1;
    }
    if (pipe(res) != 0) {
        *why = strerror(errno);
        close(gate[0]);
        close(gate[1]);
        return -1;
    }
    /* No handler may run in the go-between on the launcher's memory: every
     * signal waits until it is gone (posix_spawn does the same). */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    s_mid_t m = {.r = r,
                 .runner = runner,
                 .seat_main = seat_main,
                 .gate_rd = gate[0],
                 .gate_wr = gate[1],
                 .result_wr = res[1],
                 .mask = &old};
#if S_SHARED_MEMORY
    pid_t mid = clone(s_mid, stack + S_SEAT_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &m);
#else
    (void)stack;
    pid_t mid = fork();
    if (mid == 0) s_mid(&m);
#endif
    int clone_errno = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(gate[0]);
    close(res[1]);
    pid_t seat = -1;
    if (mid < 0) {
        *why = strerror(clone_errno);
    } else {
        int got[2] = {-1, 0};
        ssize_t n;
        do n = read(res[0], got, sizeof got);
        while (n < 0 && errno == EINTR);
        int st;
        while (waitpid(mid, &st, 0) < 0 && errno == EINTR) continue;
        seat = n == (ssize_t)sizeof got ? (pid_t)got[0] : -1;
        if (seat <= 0) {
            *why = n == (ssize_t)sizeof got && got[1] ? strerror(got[1]) : "fork failed";
            seat = -1;
        } else if (s_parent_of(seat) != runner) {
            /* No subreaper above us: the seat would be nobody's to supervise. */
            *why = "the seat is not a child of parley run (no child subreaper)";
            kill(seat, SIGKILL);
            seat = -1;
        }
    }
    close(res[0]);
    close(gate[1]); /* lets the seat go (or, killed, ends it) */
    return seat;
}

int agt_launcher_run(agt_seat_main_fn seat_main, agt_seat_prepare_fn prepare)
{
    pid_t runner = getppid();
    /* What every seat would do first on its own: load the name service
     * (nsswitch.conf, libnss_files, /etc/protocols), which libzmq's TCP
     * transport consults. Done here once, the seats inherit it. */
    (void)getprotobyname("tcp");
    endprotoent();
    /* And the time zone, which a seat's first log line would load
     * (/etc/localtime): loaded here, every seat inherits it. */
    tzset();
    /* Signal dispositions are left as `parley run` gave them: a seat has what
     * an exec'd seat has (SIGPIPE ignored, the rest default). */
    /* One stack for every go-between (they run one at a time); each seat
     * goes on on its own copy of it. */
    char *map = mmap(NULL, S_SEAT_STACK + 4096, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (map == MAP_FAILED || mprotect(map, 4096, PROT_NONE) != 0) {
        fprintf(stderr, "parley-agent --launcher: no stack for the seats: %s\n", strerror(errno));
        return 2;
    }
    char *stack = map + 4096;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] == '\n') line[--len] = '\0';
        s_request_t r;
        const char *why = "";
        pid_t pid = -1;
        if (s_parse(line, &r, &why) == 0) {
            if (prepare) prepare(r.argc, r.argv);
            fflush(NULL); /* nothing buffered is written twice */
            pid = s_launch(&r, runner, seat_main, stack, &why);
        }
        if (pid > 0)
            printf("%d\n", (int)pid);
        else
            printf("0 %s\n", why);
        if (fflush(stdout) != 0) break;
        if (pid <= 0) fprintf(stderr, "parley-agent --launcher: %s\n", why);
    }
    free(line);
    munmap(map, S_SEAT_STACK + 4096);
    return 0;
}
