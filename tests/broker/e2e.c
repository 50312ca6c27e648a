/* e2e.c: see e2e.h. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "e2e.h"

#include "env.h"
#include "pl_config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *s_bin(void)
{
    const char *b = getenv("PARLEY_BIN");
    return b ? b : "./bin";
}

/* The directories e2e_tmpdir made, removed when the test process exits. */
static char **s_tmp;
static size_t s_n_tmp;
static pid_t s_tmp_pid;

static int s_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    (void)(flag == FTW_DP ? rmdir(path) : unlink(path)); /* what cannot go stays */
    return 0;
}

static void s_remove_tmp(void)
{
    /* A forked child that exits is not the test: the directories stay in use. */
    bool keep = getenv("PARLEY_KEEP_TMP") && *getenv("PARLEY_KEEP_TMP");
    if (getpid() != s_tmp_pid) return;
    for (size_t i = 0; i < s_n_tmp; i++) {
        if (keep)
            fprintf(stderr, "e2e: kept %s (PARLEY_KEEP_TMP)\n", s_tmp[i]);
        else
            nftw(s_tmp[i], s_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(s_tmp[i]);
    }
    free(s_tmp);
    s_tmp = NULL;
    s_n_tmp = 0;
}

const char *e2e_tmpdir(const char *tag)
{
    static char path[512];
    const char *t = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/parley-%s-XXXXXX", t ? t : "/tmp", tag);
    if (!mkdtemp(path)) return NULL;
    if (!s_tmp_pid) {
        s_tmp_pid = getpid();
        atexit(s_remove_tmp);
    }
    char **more = realloc(s_tmp, (s_n_tmp + 1) * sizeof *more);
    char *copy = strdup(path);
    if (more) s_tmp = more;
    if (more && copy)
        s_tmp[s_n_tmp++] = copy;
    else
        free(copy); /* out of memory: the directory stays, as it always did */
    return path;
}

const char *e2e_write(const char *dir, const char *name, const char *text)
{
    static char paths[32][1200]; /* a ring: the last 32 paths stay valid */
    static unsigned next;
    char *path = paths[next++ % 32];
    snprintf(path, sizeof paths[0], "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

/* Forks and execs argv[0], killed if this process dies: stdout into a pipe
 * (*out_fd) or /dev/null, stderr appended to log (if given); with `all`,
 * stdout and stderr both to log, truncated first. */
static pid_t s_spawn(char *const argv[], int *out_fd, const char *log, const char *env_extra,
                     bool all)
{
    int p[2] = {-1, -1};
    if (out_fd && pipe(p) != 0) return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        if (out_fd) {
            dup2(p[1], 1);
            close(p[0]);
            close(p[1]);
        } else {
            int n = open("/dev/null", O_WRONLY);
            if (n >= 0) dup2(n, 1);
        }
        if (log && all) {
            int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(127);
        } else if (log) {
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) dup2(fd, 2);
        }
        if (env_extra) putenv((char *)env_extra);
        execv(argv[0], argv);
        _exit(127);
    }
    if (out_fd) {
        close(p[1]);
        *out_fd = p[0];
    }
    return pid;
}

int e2e_broker_start(e2e_broker_t *b, const char *config, const char *dir, const char *bind,
                     const char *const *extra)
{
    char prog[1024], log[1200];
    snprintf(prog, sizeof prog, "%s/parley-broker", s_bin());
    snprintf(log, sizeof log, "%s/broker.log", dir);
    mkdir(dir, 0755); /* so that the log can live in it */
    const char *argv[40] = {prog,
                            "--out",
                            dir,
                            "--bind",
                            bind ? bind : "tcp://127.0.0.1:*",
                            "--pub",
                            "tcp://127.0.0.1:*"};
    int n = 7;
    if (config) {
        argv[n++] = "--config";
        argv[n++] = config;
    }
    for (int i = 0; extra && extra[i] && n < 38; i++) argv[n++] = extra[i];
    argv[n] = NULL;
    int fd = -1;
    memset(b, 0, sizeof *b);
    b->pid = s_spawn((char *const *)argv, &fd, log, NULL, false);
    if (b->pid < 0) return -1;
    char line[2048];
    size_t len = 0;
    struct pollfd p = {fd, POLLIN, 0};
    while (len + 1 < sizeof line) {
        if (poll(&p, 1, 10000) <= 0) break;
        char c;
        if (read(fd, &c, 1) != 1 || c == '\n') break;
        line[len++] = c;
    }
    line[len] = '\0';
    close(fd);
    if (sscanf(line, "READY %255s %255s %1023s", b->router, b->pub, b->dir) != 3) return -1;
    return 0;
}

const char *e2e_token(const char *dir, const char *seat)
{
    static char tok[128];
    json_t *j = e2e_json(dir, "seats.json");
    const char *t = json_string_value(json_object_get(j, seat));
    snprintf(tok, sizeof tok, "%s", t ? t : "");
    json_decref(j);
    return tok;
}

pid_t e2e_agent(const char *router, const char *dir, const char *seat, const char *policy)
{
    static int counter;
    char prog[1024], log[1200], env[200];
    snprintf(prog, sizeof prog, "%s/parley-agent", s_bin());
    snprintf(log, sizeof log, "%s/%s.%d.log", dir, seat, ++counter);
    snprintf(env, sizeof env, "PARLEY_TOKEN=%s", e2e_token(dir, seat));
    char *env_copy = strdup(env); /* putenv keeps the pointer (in the child) */
    const char *argv[] = {prog, "--broker", router, "--seat", seat, "--policy", policy, NULL};
    pid_t pid = s_spawn((char *const *)argv, NULL, log, env_copy, false);
    free(env_copy);
    return pid;
}

int e2e_agents(const e2e_broker_t *b, int n, const char *const *policies, int n_policies,
               pid_t *pids)
{
    for (int i = 0; i < n; i++) {
        char seat[32];
        snprintf(seat, sizeof seat, "agent_%d", i + 1);
        pids[i] = e2e_agent(b->router, b->dir, seat, policies[i % n_policies]);
        if (pids[i] < 0) return -1;
    }
    return 0;
}

int e2e_wait(pid_t pid, int timeout_ms)
{
    for (int waited = 0;; waited += 10) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0) return 255;
        if (waited >= timeout_ms) return -1;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
}

void e2e_reap(pid_t pid)
{
    if (pid <= 0) return;
    if (e2e_wait(pid, 0) >= 0) return;
    kill(pid, SIGKILL);
    e2e_wait(pid, 5000);
}

json_t *e2e_json(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return json_load_file(path, 0, NULL);
}

json_t *e2e_events(const char *dir, const char *type)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/events.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    json_t *out = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *ev = json_loads(line, 0, NULL);
        if (!ev) {
            json_decref(out);
            out = NULL;
            break;
        }
        const char *t = json_string_value(json_object_get(ev, "type"));
        if (!type || (t && strcmp(t, type) == 0))
            json_array_append_new(out, ev);
        else
            json_decref(ev);
    }
    free(line);
    fclose(f);
    return out;
}

int e2e_inprocess(const char *config, const char *const *policies, int n_policies, int *tasks,
                  long long *task_revenue)
{
    char err[512];
    pl_config_t *c = pl_config_load(config, err, sizeof err);
    if (!c) return -1;
    int e = 0;
    env_game_t *g = env_game_new(&c->game, NULL, NULL, &e);
    env_policy_t *pol = calloc((size_t)c->game.n_agents, sizeof *pol);
    int rc = -1;
    if (g && pol) {
        for (int i = 0; i < c->game.n_agents; i++)
            pol[i] = (env_policy_t)env_policy_from_name(policies[i % n_policies]);
        if (env_play(g, pol) == ENV_OK) {
            *tasks = env_tasks_done(g);
            *task_revenue = (long long)env_task_revenue(g);
            rc = 0;
        }
    }
    free(pol);
    env_game_destroy(&g);
    pl_config_destroy(&c);
    return rc;
}

int e2e_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

int e2e_restart_port(void)
{
    /* Below the kernel's ephemeral range (32768-60999 by default): no outgoing
     * connection takes it while the broker is down, and an agent retrying its
     * connection cannot connect to itself (TCP self-connect, possible when a
     * port in that range has no listener). */
    static unsigned seed;
    if (!seed) seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    for (int tries = 0; tries < 200; tries++) {
        int port = 20000 + (int)(rand_r(&seed) % 12000);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
        if (fd >= 0) close(fd);
        if (ok) return port;
    }
    return -1;
}

int e2e_replay(const char *dir, char *out, size_t outlen)
{
    char cmd[2600], sink[256];
    if (!out) {
        out = sink;
        outlen = sizeof sink;
    }
    snprintf(cmd, sizeof cmd, "'%s/parley' replay '%s' 2>&1", s_bin(), dir);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

size_t e2e_event_lines(const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/events.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

json_t *e2e_game_events(const char *dir, const char *const *skip)
{
    static const char *const timed[] = {
        "t_ms",      "rtt_us",      "think_s",     "calls",   "game_id", "decided_s", "held_s",
        "latency_s", "bank_used_s", "bank_left_s", "version", "stale",   "arrived"};
    json_t *all = e2e_events(dir, NULL), *out = all ? json_array() : NULL;
    if (!out) {
        json_decref(all);
        return NULL;
    }
    size_t i;
    json_t *ev;
    json_array_foreach(all, i, ev)
    {
        const char *t = json_string_value(json_object_get(ev, "type"));
        bool skipped = false;
        for (size_t k = 0; skip && skip[k] && !skipped; k++) skipped = t && !strcmp(t, skip[k]);
        if (skipped) continue;
        json_t *c = json_deep_copy(ev);
        for (size_t k = 0; c && k < sizeof timed / sizeof timed[0]; k++)
            json_object_del(c, timed[k]);
        if (!c || json_array_append_new(out, c) != 0) {
            json_decref(out);
            out = NULL;
            break;
        }
    }
    json_decref(all);
    return out;
}

int e2e_same_summary(const char *dir, const char *ref, char *why, size_t whylen)
{
    json_t *a = e2e_json(dir, "summary.json"), *b = e2e_json(ref, "summary.json");
    int rc = -1;
    if (!a || !b) {
        snprintf(why, whylen, "no summary.json in %s", !a ? dir : ref);
        goto done;
    }
    const char *status = json_string_value(json_object_get(a, "status"));
    if (!status || strcmp(status, "ok") != 0) {
        snprintf(why, whylen, "status %s, not ok", status ? status : "(none)");
        goto done;
    }
    static const char *const keys[] = {"totals", "rounds", "tasks", "group_revenue",
                                       "task_revenue"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (!json_equal(json_object_get(a, keys[k]), json_object_get(b, keys[k]))) {
            snprintf(why, whylen, "summary %s differs", keys[k]);
            goto done;
        }
    json_t *ba = json_object_get(a, "board"), *bb = json_object_get(b, "board");
    if (json_array_size(ba) != json_array_size(bb) || json_array_size(ba) == 0) {
        snprintf(why, whylen, "board of %zu rows against %zu", json_array_size(ba),
                 json_array_size(bb));
        goto done;
    }
    static const char *const row[] = {"agent", "revenue", "tasks_done", "turns", "missed_turns"};
    for (size_t i = 0; i < json_array_size(ba); i++)
        for (size_t k = 0; k < sizeof row / sizeof row[0]; k++)
            if (!json_equal(json_object_get(json_array_get(ba, i), row[k]),
                            json_object_get(json_array_get(bb, i), row[k]))) {
                snprintf(why, whylen, "board row %zu: %s differs", i, row[k]);
                goto done;
            }
    rc = 0;
done:
    json_decref(a);
    json_decref(b);
    return rc;
}

pid_t e2e_parley_run(const char *const *args, const char *out_path)
{
    char prog[1024];
    snprintf(prog, sizeof prog, "%s/parley", s_bin());
    const char *argv[32] = {prog, "run"};
    int n = 2;
    for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    return s_spawn((char *const *)argv, NULL, out_path, NULL, true);
}

size_t e2e_wait_rounds(const char *dir, size_t want)
{
    size_t n = 0;
    for (int k = 0; k < 1500; k++) {
        json_t *ev = e2e_events(dir, "round_start");
        n = json_array_size(ev);
        json_decref(ev);
        if (n >= want) break;
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    return n;
}

int e2e_count_lines(const char *path, const char *want)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f)) n += strstr(line, want) != NULL;
    fclose(f);
    return n;
}

int e2e_proc_stat(pid_t pid, e2e_proc_t *p)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    if (!open || !close) return -1;
    int ppid, pgid;
    if (sscanf(close + 1, " %*c %d %d", &ppid, &pgid) != 2) return -1;
    p->pid = pid;
    p->ppid = ppid;
    p->pgid = pgid;
    snprintf(p->comm, sizeof p->comm, "%.*s", (int)(close - open - 1), open + 1);
    return 0;
}

int e2e_children(pid_t parent, const char *comm, pid_t *out, int cap)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        pid_t pid = (pid_t)atoi(de->d_name);
        e2e_proc_t p;
        if (pid <= 0 || e2e_proc_stat(pid, &p) != 0) continue;
        if (p.ppid == parent && strcmp(p.comm, comm) == 0 && n < cap) out[n++] = pid;
    }
    if (d) closedir(d);
    return n;
}
