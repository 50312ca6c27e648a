/* cli_proc.c: child processes of the front door (cli_proc.h). */
#include "cli_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int cli_bin_dir(char *out, size_t outlen)
{
    const char *env = getenv("PARLEY_BIN");
    if (env && env[0]) return snprintf(out, outlen, "%s", env) < (int)outlen ? 0 : -1;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash) return -1;
    *slash = '\0';
    return snprintf(out, outlen, "%s", self) < (int)outlen ? 0 : -1;
}

pid_t cli_spawn(const char *bin_dir, const char *prog, char *const argv[], int *out_fd,
                const char *log_path, const char *env_extra, bool interactive)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", bin_dir, prog) >= (int)sizeof path) return -1;
    int pipefd[2] = {-1, -1};
    if (out_fd && pipe(pipefd) != 0) return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        if (out_fd) {
            close(pipefd[0]);
            close(pipefd[1]);
        }
        return -1;
    }
    if (pid == 0) {
        /* Child: own process group (the front door forwards Ctrl-C itself, in
         * order), and never outlive the front door. */
        if (!interactive) setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(127);
        int devnull = open("/dev/null", O_RDWR);
        if (out_fd) {
            dup2(pipefd[1], STDOUT_FILENO);
            close(pipefd[0]);
            close(pipefd[1]);
        } else if (devnull >= 0 && !interactive) {
            dup2(devnull, STDOUT_FILENO);
        }
        if (devnull >= 0 && !interactive) dup2(devnull, STDIN_FILENO);
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, STDERR_FILENO);
                close(fd);
            }
        }
        if (devnull > STDERR_FILENO) close(devnull);
        /* env_extra: NAME=VALUE lines (one variable a line). */
        char *envs = env_extra ? strdup(env_extra) : NULL, *save = NULL;
        for (char *kv = envs ? strtok_r(envs, "\n", &save) : NULL; kv;
             kv = strtok_r(NULL, "\n", &save))
            putenv(kv); /* the strings belong to the environment until exec */
        execv(path, argv);
        fprintf(stderr, "parley: cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    if (!interactive) setpgid(pid, pid); /* also from the parent: no race with a signal */
    if (out_fd) {
        close(pipefd[1]);
        *out_fd = pipefd[0];
    }
    return pid;
}

int cli_read_line(int fd, char *buf, size_t buflen, int timeout_ms)
{
    size_t len = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (len + 1 < buflen) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long spent = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (spent >= timeout_ms) return -1;
        struct pollfd p = {fd, POLLIN, 0};
        int rc = poll(&p, 1, (int)(timeout_ms - spent));
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) return -1;
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        if (c == '\n') break;
        buf[len++] = c;
    }
    buf[len] = '\0';
    return 0;
}

/* The status of a reaped child as cli_wait reports it, or -1 while it runs. */
static int s_reap(pid_t pid)
{
    int status;
    pid_t r;
    do r = waitpid(pid, &status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == pid) {
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
        return 255;
    }
    if (r < 0) return 255; /* not our child (anymore) */
    return -1;
}

int cli_pidfd(pid_t pid)
{
    return pidfd_open(pid, 0);
}

int cli_wait(pid_t pid, int timeout_ms)
{
    int st = s_reap(pid);
    if (st >= 0 || timeout_ms <= 0) return st;
    /* Woken by the child's exit itself (a pidfd turns readable), not by a
     * polling interval: a run ends when its last process does. */
    int fd = cli_pidfd(pid);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long spent = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (spent >= timeout_ms) break;
        int left = (int)(timeout_ms - spent);
        if (fd >= 0) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, left) < 0 && errno != EINTR) {
                close(fd);
                fd = -1;
            }
        } else { /* no pidfd (kernel before 5.3): a short sleep */
            struct timespec ts = {0, (left < 10 ? left : 10) * 1000000L};
            nanosleep(&ts, NULL);
        }
        if ((st = s_reap(pid)) >= 0) break;
    }
    if (fd >= 0) close(fd);
    return st >= 0 ? st : s_reap(pid);
}

/* ---------------------------------------------------------- the launcher -- */

struct cli_launcher {
    pid_t pid;
    int req_fd, rep_fd; /* its stdin, its stdout */
};

cli_launcher_t *cli_launcher_new(const char *bin_dir, const char *log_path)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/parley-agent", bin_dir) >= (int)sizeof path) return NULL;
    /* Orphaned seats (the launcher's go-between exits at once) come here. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return NULL;
    cli_launcher_t *l = calloc(1, sizeof *l);
    int req[2] = {-1, -1}, rep[2] = {-1, -1};
    /* Close-on-exec: the broker and exec'd seats must not hold these pipes. */
    if (!l || pipe(req) != 0 || pipe(rep) != 0) goto fail;
    for (int i = 0; i < 2; i++)
        if (fcntl(req[i], F_SETFD, FD_CLOEXEC) != 0 || fcntl(rep[i], F_SETFD, FD_CLOEXEC) != 0)
            goto fail;
    pid_t parent = getpid();
    l->pid = fork();
    if (l->pid < 0) goto fail;
    if (l->pid == 0) {
        setpgid(0, 0); /* Ctrl-C is forwarded by the front door, in order */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(127);
        if (dup2(req[0], STDIN_FILENO) < 0 || dup2(rep[1], STDOUT_FILENO) < 0) _exit(127);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        /* Every symbol bound now, once, in the launcher: lazily, each seat
         * would repeat the dynamic loader's lookups after the fork. */
        setenv("LD_BIND_NOW", "1", 1);
        char *argv[] = {"parley-agent", "--launcher", NULL};
        execv(path, argv); /* the pipes' other ends close on exec */
        fprintf(stderr, "parley: cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    setpgid(l->pid, l->pid);
    close(req[0]);
    close(rep[1]);
    l->req_fd = req[1];
    l->rep_fd = rep[0];
    return l;
fail:
    for (int i = 0; i < 2; i++) {
        if (req[i] >= 0) close(req[i]);
        if (rep[i] >= 0) close(rep[i]);
    }
    free(l);
    return NULL;
}

/* Appends s to the request, refusing what would break its framing. */
static int s_put_field(char *buf, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (strpbrk(s, "\t\n") || *len + n + 2 > cap) return -1;
    memcpy(buf + *len, s, n);
    *len += n;
    buf[(*len)++] = '\t';
    return 0;
}

int cli_launcher_send(cli_launcher_t *l, char *const argv[], const char *log_path,
                      const char *env_extra, char *err, size_t errlen)
{
    char req[16384];
    size_t len = 0;
    int bad = s_put_field(req, sizeof req, &len, log_path);
    for (int i = 0; argv[i] && !bad; i++) bad = s_put_field(req, sizeof req, &len, argv[i]);
    bad = bad || s_put_field(req, sizeof req, &len, ""); /* the end of argv */
    for (const char *kv = env_extra; kv && *kv && !bad;) {
        const char *nl = strchr(kv, '\n');
        size_t n = nl ? (size_t)(nl - kv) : strlen(kv);
        if (len + n + 2 > sizeof req || memchr(kv, '\t', n)) {
            bad = 1;
            break;
        }
        memcpy(req + len, kv, n);
        len += n;
        req[len++] = '\t';
        kv += n + (nl ? 1 : 0);
    }
    if (bad) {
        snprintf(err, errlen, "a path or value the launcher cannot carry (tab or newline)");
        return -1;
    }
    req[len - 1] = '\n'; /* the last tab ends the line */
    for (size_t off = 0; off < len;) {
        ssize_t w = write(l->req_fd, req + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            snprintf(err, errlen, "the launcher is gone: %s", strerror(errno));
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

pid_t cli_launcher_recv(cli_launcher_t *l, char *err, size_t errlen)
{
    char line[512];
    if (cli_read_line(l->rep_fd, line, sizeof line, 10000) != 0) {
        snprintf(err, errlen, "the launcher did not answer");
        return -1;
    }
    char *end = NULL;
    long pid = strtol(line, &end, 10);
    if (pid <= 0 || end == line) {
        snprintf(err, errlen, "the launcher refused: %s", end && *end ? end + 1 : line);
        return -1;
    }
    return (pid_t)pid;
}

pid_t cli_launcher_spawn(cli_launcher_t *l, char *const argv[], const char *log_path,
                         const char *env_extra, char *err, size_t errlen)
{
    if (cli_launcher_send(l, argv, log_path, env_extra, err, errlen) != 0) return -1;
    return cli_launcher_recv(l, err, errlen);
}

void cli_launcher_destroy(cli_launcher_t **pl)
{
    if (!pl || !*pl) return;
    cli_launcher_t *l = *pl;
    close(l->req_fd); /* EOF: the launcher exits */
    close(l->rep_fd);
    if (cli_wait(l->pid, 2000) < 0) {
        kill(l->pid, SIGKILL);
        cli_wait(l->pid, 1000);
    }
    free(l);
    *pl = NULL;
}
