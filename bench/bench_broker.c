/* bench_broker.c: the broker and its processes, measured (bench/RESULTS.md,
 * "Broker and processes").
 *
 *   1. Turn round trip broker -> agent -> broker (the broker's rtt_us of each
 *      decision event; passive agents, so deciding costs nothing) against a raw
 *      ZeroMQ DEALER/ROUTER ping-pong between two processes, same run, same
 *      payload size as a turn request.
 *   2. `parley run` of the paper preset with 10 perfect agent processes, wall
 *      time including every spawn.
 *   3. 100 and 1,000 agent processes in one game: peak RSS per agent process
 *      (wait4's ru_maxrss) and time per round (from the progress events).
 *
 * usage: bench_broker [--quick]   (programs from $PARLEY_BIN or beside this one)
 * Prints a markdown section on stdout. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <jansson.h>
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
static char s_bin[2048];

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_pct(double *v, size_t n, double p)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, s_cmp);
    size_t k = (size_t)(p * (double)(n - 1) + 0.5);
    return v[k];
}

/* posix_spawn (vfork-like): the child never holds a copy of this process's
 * memory, so its ru_maxrss is its own. */
static pid_t s_spawn(char *const argv[], int *out_fd, const char *env_extra)
{
    int p[2] = {-1, -1};
    if (out_fd && pipe(p) != 0) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (out_fd) {
        posix_spawn_file_actions_adddup2(&fa, p[1], 1);
        posix_spawn_file_actions_addclose(&fa, p[0]);
        posix_spawn_file_actions_addclose(&fa, p[1]);
    } else {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    }
    size_t n = 0;
    while (environ[n]) n++;
    char **envp = calloc(n + 2, sizeof *envp);
    memcpy(envp, environ, n * sizeof *envp);
    envp[n] = (char *)env_extra; /* NULL ends the list when there is none */
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

static int s_read_line(int fd, char *buf, size_t cap)
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

static const char *s_write(const char *dir, const char *name, const char *text)
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

static void s_echo_child(int fd)
{
    void *ctx = zmq_ctx_new();
    void *r = zmq_socket(ctx, ZMQ_ROUTER);
    char ep[256];
    size_t len = sizeof ep;
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
        zmq_msg_send(&body, r, 0);
    }
}

static void s_raw_pingpong(int iters, size_t payload, double *p50, double *p99)
{
    int p[2];
    if (pipe(p) != 0) return;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        s_echo_child(p[1]);
    }
    close(p[1]);
    char ep[256];
    s_read_line(p[0], ep, sizeof ep);
    close(p[0]);
    void *ctx = zmq_ctx_new();
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    zmq_connect(d, ep);
    char *buf = calloc(1, payload), *in = malloc(payload + 16);
    double *v = calloc((size_t)iters, sizeof *v);
    for (int i = -200; i < iters; i++) { /* 200 warm-up rounds */
        double t0 = s_now();
        zmq_send(d, buf, payload, 0);
        zmq_recv(d, in, payload + 16, 0);
        if (i >= 0) v[i] = (s_now() - t0) * 1e6;
    }
    zmq_send(d, "quit", 4, 0);
    waitpid(pid, NULL, 0);
    *p50 = s_pct(v, (size_t)iters, 0.50);
    *p99 = s_pct(v, (size_t)iters, 0.99);
    free(v);
    free(buf);
    free(in);
    int linger = 0;
    zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(d);
    zmq_ctx_term(ctx);
}

/* ------------------------------------------------------------ one game -- */

typedef struct {
    double wall_s;
    double round_s;     /* mean wall time per round (progress events) */
    double rss_mean_mb; /* agents' peak RSS */
    double rss_max_mb;
    double broker_rss_mb;
    int tasks;
    json_t *decisions; /* decision events */
} s_game_t;

/* Broker + one agent process per seat, spawned here so that wait4 gives each
 * one's peak RSS. */
static int s_game(const char *dir, const char *config, int n, const char *policy, bool keep,
                  s_game_t *g)
{
    char broker[PATH_MAX], agent[PATH_MAX], out[PATH_MAX], line[2048];
    snprintf(broker, sizeof broker, "%s/parley-broker", s_bin);
    snprintf(agent, sizeof agent, "%s/parley-agent", s_bin);
    snprintf(out, sizeof out, "%s/run", dir);
    char *bargv[] = {broker,   "--config",          (char *)config, "--out",           out,
                     "--bind", "tcp://127.0.0.1:*", "--no-pub",     "--start-timeout", "300",
                     NULL};
    memset(g, 0, sizeof *g);
    double t0 = s_now();
    int fd;
    pid_t bp = s_spawn(bargv, &fd, NULL);
    if (bp < 0 || s_read_line(fd, line, sizeof line) != 0) return -1;
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
        pids[i] = s_spawn(aargv, NULL, env);
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
    g->wall_s = s_now() - t0;
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

static char *s_tmpdir(const char *tag)
{
    static char path[256];
    snprintf(path, sizeof path, "/tmp/bench-broker-%s-XXXXXX", tag);
    return mkdtemp(path);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    const char *env = getenv("PARLEY_BIN");
    if (env) {
        snprintf(s_bin, sizeof s_bin, "%s", env);
    } else {
        ssize_t n = readlink("/proc/self/exe", s_bin, sizeof s_bin - 1);
        if (n <= 0) return 1;
        s_bin[n] = '\0';
        *strrchr(s_bin, '/') = '\0';
    }
    /* 1,000 agents need 1,000+ descriptors in the broker. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    char *dir;
    const char *cfg;
    /* 3. Many processes, first: a spawned program's ru_maxrss starts from this
     * process's peak (Linux keeps the replaced memory's high-water mark across
     * exec), so it must still be small here. */
    int sizes[] = {100, 1000};
    s_game_t big[2];
    for (int k = 0; k < 2; k++) {
        int n = sizes[k];
        char yaml[1024];
        snprintf(yaml, sizeof yaml,
                 "seed: 1\nsimulation: {rounds: %d, agents: %d}\n"
                 "information: {total_pieces: %d}\n"
                 "timing: {mode: sequential, turn_timeout: 600, heartbeat: 30}\n"
                 "seats:\n  - {policy: perfect, count: %d}\n",
                 n >= 1000 ? 2 : 5, n, 10 * n, n);
        dir = s_tmpdir("scale");
        cfg = s_write(dir, "scale.yaml", yaml);
        if (s_game(dir, cfg, n, "perfect", false, &big[k]) != 0)
            fprintf(stderr, "%d-agent game failed\n", n);
        json_decref(big[k].decisions);
    }

    struct rusage self;
    getrusage(RUSAGE_SELF, &self);
    double self_mb = (double)self.ru_maxrss / 1024.0;

    /* 1. Round trip. */
    dir = s_tmpdir("rtt");
    cfg = s_write(dir, "rtt.yaml",
                  "seed: 1\nsimulation: {rounds: 2000}\n"
                  "timing: {mode: sequential, turn_timeout: 30, heartbeat: 5}\n"
                  "seats:\n  - {policy: passive, count: 10}\n");
    s_game_t g;
    if (s_game(dir, cfg, 10, "passive", true, &g) != 0) fprintf(stderr, "rtt game failed\n");
    size_t nd = json_array_size(g.decisions);
    double *rtt = calloc(nd ? nd : 1, sizeof *rtt);
    for (size_t i = 0; i < nd; i++)
        rtt[i] =
            (double)json_integer_value(json_object_get(json_array_get(g.decisions, i), "rtt_us"));
    double turn50 = s_pct(rtt, nd, 0.5), turn99 = s_pct(rtt, nd, 0.99);
    json_decref(g.decisions);
    free(rtt);
    double raw50 = 0, raw99 = 0;
    s_raw_pingpong(20000, 2048, &raw50, &raw99);

    /* 2. parley run, paper preset, 10 perfect processes. */
    dir = s_tmpdir("run");
    char pcfg[PATH_MAX];
    snprintf(pcfg, sizeof pcfg, "%s",
             s_write(dir, "paper.yaml", "seats:\n  - {policy: perfect, count: 10}\n"));
    double walls[10];
    int runs = quick ? 3 : 10;
    for (int i = 0; i < runs; i++) {
        char out[PATH_MAX], parley[PATH_MAX];
        snprintf(out, sizeof out, "%s/run-%d", dir, i);
        snprintf(parley, sizeof parley, "%s/parley", s_bin);
        char *pargv[] = {parley, "run", pcfg, "--out", out, "--quiet", NULL};
        double t0 = s_now();
        pid_t pid = s_spawn(pargv, NULL, NULL);
        int st;
        waitpid(pid, &st, 0);
        walls[i] = s_now() - t0;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fprintf(stderr, "parley run failed\n");
    }
    double run_min = s_pct(walls, (size_t)runs, 0.0), run_med = s_pct(walls, (size_t)runs, 0.5);

    printf("## Broker and processes\n\n");
    printf("Measured by `bench/bench_broker` (build dir `bin/`). Machine: see below.\n\n");
    printf("| measure | result | goal |\n|---|---|---|\n");
    printf("| turn round trip broker -> agent -> broker, p50 / p99 (%zu turns, passive agents) "
           "| %.0f us / %.0f us | within 3x of raw |\n",
           nd, turn50, turn99);
    printf("| raw ZeroMQ DEALER/ROUTER ping-pong, 2 KiB, two processes, p50 / p99 | %.0f us / "
           "%.0f us | - |\n",
           raw50, raw99);
    printf("| ratio turn / raw, p50 / p99 | %.1fx / %.1fx | <= 3x |\n", turn50 / raw50,
           turn99 / raw99);
    printf("| `parley run` paper preset, 10 perfect processes, wall (min / median of %d) | %.3f s "
           "/ %.3f s | < 0.5 s |\n",
           runs, run_min, run_med);
    for (int k = 0; k < 2; k++)
        printf("| %d perfect agent processes (%d pieces): peak RSS per agent mean / max; "
               "broker | %.1f / %.1f MB; %.1f MB | < 8 MB |\n"
               "| %d perfect agent processes: time per round (sequential, %d tasks done) | %.3f s "
               "| - |\n",
               sizes[k], 10 * sizes[k], big[k].rss_mean_mb, big[k].rss_max_mb, big[k].broker_rss_mb,
               sizes[k], big[k].tasks, big[k].round_s);
    printf("\n(Peak RSS is wait4's ru_maxrss of each process; Linux keeps the spawner's "
           "high-water mark across exec, so it cannot read below this benchmark's own peak "
           "when it spawned them: %.1f MB.)\n",
           self_mb);
    return 0;
}
