/* bench_proc.c: what the broker benchmarks share (bench_proc.h). */
#define _XOPEN_SOURCE 700 /* nftw, to remove the scratch directories */
#include "bench_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

extern char **environ;
char bench_bin[2048];

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This thread's CPU time: what the protocol costs, not the time the loaded
 * machine took the CPU away. */
double bench_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_pct(double *v, size_t n, double p)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, s_cmp);
    size_t k = (size_t)(p * (double)(n - 1) + 0.5);
    return v[k];
}

/* posix_spawn (vfork-like): the child never holds a copy of this process's
 * memory, so its ru_maxrss is its own. */
pid_t bench_spawn_log(char *const argv[], int *out_fd, const char *env_extra,
                      const char *env_extra2, const char *err_path)
{
    int p[2] = {-1, -1};
    if (out_fd && pipe(p) != 0) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, err_path ? err_path : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out_fd) {
        posix_spawn_file_actions_adddup2(&fa, p[1], 1);
        posix_spawn_file_actions_addclose(&fa, p[0]);
        posix_spawn_file_actions_addclose(&fa, p[1]);
    } else {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    }
    size_t n = 0;
    while (environ[n]) n++;
    char **envp = calloc(n + 3, sizeof *envp);
    memcpy(envp, environ, n * sizeof *envp);
    /* NULL ends the list when there is none */
    envp[n] = (char *)(env_extra ? env_extra : env_extra2);
    envp[n + 1] = (char *)(env_extra ? env_extra2 : NULL);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, envp) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    if (out_fd) {
        close(p[1]);
        *out_fd = p[0];
    }
    return pid;
}

pid_t bench_spawn(char *const argv[], int *out_fd, const char *env_extra)
{
    return bench_spawn_log(argv, out_fd, env_extra, NULL, NULL);
}

int bench_read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    struct pollfd p = {fd, POLLIN, 0};
    while (n + 1 < cap && poll(&p, 1, 60000) > 0) {
        char c;
        if (read(fd, &c, 1) != 1 || c == '\n') break;
        buf[n++] = c;
    }
    buf[n] = '\0';
    return n ? 0 : -1;
}

const char *bench_write(const char *dir, const char *name, const char *text)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

/* ------------------------------------------------------- raw ping-pong -- */

/* CURVE keys of the raw ping-pongs that use it (as parley run always does). */
static char s_srv_pub[41], s_srv_sec[41], s_cli_pub[41], s_cli_sec[41];

static void s_echo_child(int fd, size_t reply, bool curve)
{
    void *ctx = zmq_ctx_new();
    void *r = zmq_socket(ctx, ZMQ_ROUTER);
    char ep[256];
    size_t len = sizeof ep;
    int one = 1;
    if (curve && (zmq_setsockopt(r, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
                  zmq_setsockopt(r, ZMQ_CURVE_SECRETKEY, s_srv_sec, 40) != 0))
        _exit(1);
    if (zmq_bind(r, "tcp://127.0.0.1:*") != 0 ||
        zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, ep, &len) != 0)
        _exit(1);
    dprintf(fd, "%s\n", ep);
    close(fd);
    for (;;) {
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&id, r, 0) < 0 || zmq_msg_recv(&body, r, 0) < 0) _exit(1);
        if (zmq_msg_size(&body) == 4 && memcmp(zmq_msg_data(&body), "quit", 4) == 0) _exit(0);
        zmq_msg_send(&id, r, ZMQ_SNDMORE);
        if (reply == 0) {
            zmq_msg_send(&body, r, 0); /* an echo */
        } else {
            zmq_msg_t out; /* a reply of its own size, built per message as a sender would */
            zmq_msg_init_size(&out, reply);
            memset(zmq_msg_data(&out), 0x5a, reply);
            zmq_msg_send(&out, r, 0);
            zmq_msg_close(&body);
        }
    }
}

/* iters round trips (after 200 for warm-up) of payload bytes out and, reply 0,
 * the same back, else reply bytes back; their times in v (us). peers echo
 * processes (ROUTER, bound) are asked in turn by one DEALER each in this
 * process, as a broker offers turns seat after seat (then each peer waits
 * while the others answer, as a seat does); curve: CURVE on every socket. */
void bench_raw_samples_ex(int iters, size_t payload, size_t reply, int peers, bool curve, double *v)
{
    if (curve && !s_srv_pub[0] &&
        (zmq_curve_keypair(s_srv_pub, s_srv_sec) != 0 ||
         zmq_curve_keypair(s_cli_pub, s_cli_sec) != 0))
        return;
    pid_t pid[16];
    void *d[16];
    if (peers < 1 || peers > 16) return;
    void *ctx = zmq_ctx_new();
    for (int k = 0; k < peers; k++) {
        int p[2];
        if (pipe(p) != 0) return;
        pid[k] = fork();
        if (pid[k] == 0) {
            close(p[0]);
            s_echo_child(p[1], reply, curve);
        }
        close(p[1]);
        char ep[256];
        bench_read_line(p[0], ep, sizeof ep);
        close(p[0]);
        d[k] = zmq_socket(ctx, ZMQ_DEALER);
        if (curve) {
            zmq_setsockopt(d[k], ZMQ_CURVE_SERVERKEY, s_srv_pub, 40);
            zmq_setsockopt(d[k], ZMQ_CURVE_PUBLICKEY, s_cli_pub, 40);
            zmq_setsockopt(d[k], ZMQ_CURVE_SECRETKEY, s_cli_sec, 40);
        }
        zmq_connect(d[k], ep);
    }
    size_t cap = (reply > payload ? reply : payload) + 16;
    char *buf = calloc(1, payload ? payload : 1), *in = malloc(cap);
    for (int i = -200; i < iters; i++) { /* 200 warm-up rounds */
        void *to = d[(i + 200) % peers];
        double t0 = bench_now();
        zmq_send(to, buf, payload, 0);
        zmq_recv(to, in, cap, 0);
        if (i >= 0) v[i] = (bench_now() - t0) * 1e6;
    }
    int linger = 0;
    for (int k = 0; k < peers; k++) {
        zmq_send(d[k], "quit", 4, 0);
        waitpid(pid[k], NULL, 0);
        zmq_setsockopt(d[k], ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(d[k]);
    }
    free(buf);
    free(in);
    zmq_ctx_term(ctx);
}

void bench_raw_samples(int iters, size_t payload, size_t reply, double *v)
{
    bench_raw_samples_ex(iters, payload, reply, 1, false, v);
}

void bench_raw_pingpong(int iters, size_t payload, double *p50, double *p99)
{
    double *v = calloc((size_t)iters, sizeof *v);
    if (!v) return;
    bench_raw_samples(iters, payload, 0, v);
    *p50 = bench_pct(v, (size_t)iters, 0.50);
    *p99 = bench_pct(v, (size_t)iters, 0.99);
    free(v);
}

/* ------------------------------------------------------------ one game -- */

/* Broker + one agent process per seat, spawned here so that wait4 gives each
 * one's peak RSS. */
int bench_game_mode(const char *dir, const char *config, int n, const char *policy, bool keep,
                    const char *obs_env, bench_game_t *g)
{
    char broker[PATH_MAX], agent[PATH_MAX], out[PATH_MAX], line[2048];
    snprintf(broker, sizeof broker, "%s/parley-broker", bench_bin);
    snprintf(agent, sizeof agent, "%s/parley-agent", bench_bin);
    snprintf(out, sizeof out, "%s/run", dir);
    char *bargv[] = {broker,   "--config",          (char *)config, "--out",           out,
                     "--bind", "tcp://127.0.0.1:*", "--no-pub",     "--start-timeout", "300",
                     NULL};
    memset(g, 0, sizeof *g);
    double t0 = bench_now();
    int fd;
    pid_t bp = bench_spawn(bargv, &fd, NULL);
    if (bp < 0 || bench_read_line(fd, line, sizeof line) != 0) return -1;
    close(fd);
    char ep[256];
    if (sscanf(line, "READY %255s", ep) != 1) return -1;
    char seats_path[PATH_MAX + 16];
    snprintf(seats_path, sizeof seats_path, "%s/seats.json", out);
    json_t *seats = json_load_file(seats_path, 0, NULL);
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    for (int i = 0; i < n; i++) {
        char seat[32], *env = malloc(128);
        snprintf(seat, sizeof seat, "agent_%d", i + 1);
        snprintf(env, 128, "PARLEY_TOKEN=%s", json_string_value(json_object_get(seats, seat)));
        char *aargv[] = {agent, "--broker", ep, "--seat", seat, "--policy", (char *)policy, NULL};
        char log[PATH_MAX + 64];
        snprintf(log, sizeof log, "%s/%s.log", dir, seat);
        pids[i] = bench_spawn_log(aargv, NULL, env, obs_env, obs_env ? log : NULL);
        free(env);
    }
    json_decref(seats);
    struct rusage ru;
    int st;
    if (wait4(bp, &st, 0, &ru) == bp) g->broker_rss_mb = (double)ru.ru_maxrss / 1024.0;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        /* Agents leave on GameOver; one that missed it is stopped after 20 s. */
        pid_t r = 0;
        for (int w = 0; w < 2000 && (r = wait4(pids[i], &st, WNOHANG, &ru)) == 0; w++)
            usleep(10000);
        if (r == 0) {
            fprintf(stderr, "agent_%d did not leave: stopped\n", i + 1);
            kill(pids[i], SIGKILL);
            r = wait4(pids[i], &st, 0, &ru);
        }
        if (r != pids[i]) continue;
        double mb = (double)ru.ru_maxrss / 1024.0;
        sum += mb;
        if (mb > g->rss_max_mb) g->rss_max_mb = mb;
    }
    g->wall_s = bench_now() - t0;
    g->rss_mean_mb = sum / n;
    free(pids);

    /* Time per round: between consecutive progress events (the first from
     * game_start), so spawning and connecting are not counted. */
    char ev_path[PATH_MAX + 16];
    snprintf(ev_path, sizeof ev_path, "%s/events.jsonl", out);
    FILE *f = fopen(ev_path, "r");
    if (!f) return -1;
    char *l = NULL;
    size_t cap = 0;
    long long start = -1, last = -1;
    int rounds = 0;
    g->decisions = json_array();
    while (getline(&l, &cap, f) > 0) {
        json_t *ev = json_loads(l, 0, NULL);
        const char *t = json_string_value(json_object_get(ev, "type"));
        long long ms = (long long)json_integer_value(json_object_get(ev, "t_ms"));
        if (t && strcmp(t, "game_start") == 0) start = ms;
        if (t && strcmp(t, "progress") == 0) {
            last = ms;
            rounds++;
            g->tasks = (int)json_integer_value(json_object_get(ev, "tasks_total"));
        }
        if (keep && t && strcmp(t, "decision") == 0) json_array_append(g->decisions, ev);
        json_decref(ev);
    }
    free(l);
    fclose(f);
    g->round_s = rounds && start >= 0 ? (double)(last - start) / 1000.0 / rounds : 0;
    return WIFEXITED(st) ? 0 : -1;
}

int bench_game(const char *dir, const char *config, int n, const char *policy, bool keep,
               bench_game_t *g)
{
    return bench_game_mode(dir, config, n, policy, keep, NULL, g);
}

char *bench_tmpdir(const char *tag)
{
    static char path[256];
    snprintf(path, sizeof path, "/tmp/bench-broker-%s-XXXXXX", tag);
    return mkdtemp(path);
}

static int s_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

/* Removes a scratch directory and all in it (each deltas run writes 12 games'
 * run directories, about 17 MB). */
void bench_rmtree(const char *dir)
{
    if (dir && nftw(dir, s_rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "cannot remove %s: %s\n", dir, strerror(errno));
}

/* ----------------------------------------------------- observation deltas -- */

int bench_obs_line(const char *line, bench_obs_line_t *o)
{
    const char *p = strstr(line, "AGT-OBSERVATIONS ");
    o->handling_us = 0;
    int got = p ? sscanf(p,
                         "AGT-OBSERVATIONS %d whole, %d deltas, %d resyncs, %lld bytes of turn "
                         "requests, %lld bytes of decisions, %lld us handling",
                         &o->whole, &o->deltas, &o->resyncs, &o->turn_bytes, &o->decision_bytes,
                         &o->handling_us)
                : 0;
    return got >= 5 ? got : 0;
}

/* Adds one game's agent logs (their AGT-OBSERVATIONS line) and its decisions'
 * round trips to m. */
void bench_collect(const char *dir, int n, const bench_game_t *g, bench_mode_t *m)
{
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX + 64], line[1024];
        snprintf(path, sizeof path, "%s/agent_%d.log", dir, i + 1);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        bench_obs_line_t o;
        while (fgets(line, sizeof line, f)) {
            if (!bench_obs_line(line, &o)) continue;
            m->handling_us += o.handling_us;
            m->whole += o.whole;
            m->deltas += o.deltas;
            m->resyncs += o.resyncs;
            m->turn_bytes += o.turn_bytes;
            m->decision_bytes += o.decision_bytes;
            m->logs++;
        }
        fclose(f);
    }
    size_t nd = json_array_size(g->decisions);
    double *v = realloc(m->rtt, (m->n + nd + 1) * sizeof *v);
    if (!v) return;
    m->rtt = v;
    for (size_t i = 0; i < nd; i++)
        m->rtt[m->n++] =
            (double)json_integer_value(json_object_get(json_array_get(g->decisions, i), "rtt_us"));
    m->games++;
}

int bench_bin_init(void)
{
    const char *env = getenv("PARLEY_BIN");
    if (env) {
        snprintf(bench_bin, sizeof bench_bin, "%s", env);
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", bench_bin, sizeof bench_bin - 1);
    if (n <= 0) return -1;
    bench_bin[n] = '\0';
    char *slash = strrchr(bench_bin, '/');
    if (slash) *slash = '\0';
    return 0;
}
