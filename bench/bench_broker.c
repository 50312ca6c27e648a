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
 *   4. Observation deltas (bench/RESULTS.md "Observation deltas"): the paper
 *      preset with 10 perfect agent processes, games alternating between
 *      whole observations (--observation full) and deltas: bytes of turn
 *      requests and decisions per game (the agents' AGT-OBSERVATIONS lines),
 *      turn round trip p50 / p99 (rtt_us), and raw ZeroMQ ping-pongs with the
 *      same mean request and reply sizes, all in one run.
 *
 * usage: bench_broker [--quick] [--deltas] [--codec]   (programs from
 * $PARLEY_BIN or beside this one; --deltas: section 4 alone; --codec: only its
 * in-process protocol CPU, for perf and callgrind). Prints markdown on stdout. */
#define _XOPEN_SOURCE 700 /* nftw, to remove the scratch directories */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <ftw.h>
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

#include "wire_delta.h"

extern char **environ;
static char s_bin[2048];

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This thread's CPU time: what the protocol costs, not the time the loaded
 * machine took the CPU away. */
static double s_cpu_now(void)
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

static double s_pct(double *v, size_t n, double p)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, s_cmp);
    size_t k = (size_t)(p * (double)(n - 1) + 0.5);
    return v[k];
}

/* posix_spawn (vfork-like): the child never holds a copy of this process's
 * memory, so its ru_maxrss is its own. */
static pid_t s_spawn_log(char *const argv[], int *out_fd, const char *env_extra,
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

static pid_t s_spawn(char *const argv[], int *out_fd, const char *env_extra)
{
    return s_spawn_log(argv, out_fd, env_extra, NULL, NULL);
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
static void s_raw_samples_ex(int iters, size_t payload, size_t reply, int peers, bool curve,
                             double *v)
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
        s_read_line(p[0], ep, sizeof ep);
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
        double t0 = s_now();
        zmq_send(to, buf, payload, 0);
        zmq_recv(to, in, cap, 0);
        if (i >= 0) v[i] = (s_now() - t0) * 1e6;
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

static void s_raw_samples(int iters, size_t payload, size_t reply, double *v)
{
    s_raw_samples_ex(iters, payload, reply, 1, false, v);
}

static void s_raw_pingpong(int iters, size_t payload, double *p50, double *p99)
{
    double *v = calloc((size_t)iters, sizeof *v);
    if (!v) return;
    s_raw_samples(iters, payload, 0, v);
    *p50 = s_pct(v, (size_t)iters, 0.50);
    *p99 = s_pct(v, (size_t)iters, 0.99);
    free(v);
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
static int s_game_mode(const char *dir, const char *config, int n, const char *policy, bool keep,
                       const char *obs_env, s_game_t *g)
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
        char log[PATH_MAX + 64];
        snprintf(log, sizeof log, "%s/%s.log", dir, seat);
        pids[i] = s_spawn_log(aargv, NULL, env, obs_env, obs_env ? log : NULL);
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

static int s_game(const char *dir, const char *config, int n, const char *policy, bool keep,
                  s_game_t *g)
{
    return s_game_mode(dir, config, n, policy, keep, NULL, g);
}

static char *s_tmpdir(const char *tag)
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
static void s_rmtree(const char *dir)
{
    if (dir && nftw(dir, s_rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "cannot remove %s: %s\n", dir, strerror(errno));
}

/* ----------------------------------------------------- observation deltas -- */

typedef struct {
    double *rtt;
    size_t n;
    long long turn_bytes, decision_bytes, handling_us;
    int whole, deltas, resyncs, games, logs;
} s_mode_t;

/* Adds one game's agent logs (their AGT-OBSERVATIONS line) and its decisions'
 * round trips to m. */
static void s_collect(const char *dir, int n, const s_game_t *g, s_mode_t *m)
{
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX + 64], line[1024];
        snprintf(path, sizeof path, "%s/agent_%d.log", dir, i + 1);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        while (fgets(line, sizeof line, f)) {
            const char *p = strstr(line, "AGT-OBSERVATIONS ");
            int w, d, r;
            long long tb, db, hu = 0;
            int got = p ? sscanf(p,
                                 "AGT-OBSERVATIONS %d whole, %d deltas, %d resyncs, %lld bytes of "
                                 "turn requests, %lld bytes of decisions, %lld us handling",
                                 &w, &d, &r, &tb, &db, &hu)
                        : 0;
            if (got >= 5) { /* an agent from before the handling time says 5 */
                m->handling_us += hu;
                m->whole += w;
                m->deltas += d;
                m->resyncs += r;
                m->turn_bytes += tb;
                m->decision_bytes += db;
                m->logs++;
            }
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

/* The protocol's own CPU per turn, in this process, over the paper game with
 * perfect seats: the broker's side (observe, build the tree, encode, pack) and
 * the agent's (unpack, apply, rebuild env_obs_t), whole and delta; CPU us per
 * turn in cpu[mode][side]. */
static void s_codec_cpu(int reps, double cpu[2][2])
{
    memset(cpu, 0, 4 * sizeof(double));
    int turns = 0;
    for (int rep = 0; rep < reps; rep++) {
        env_config_t c;
        env_config_paper(&c);
        int err = 0;
        env_game_t *g = env_game_new(&c, NULL, NULL, &err);
        if (!g) return;
        env_names_t names;
        env_game_names(g, &names);
        int n = env_game_n_agents(g);
        if (n > 64) n = 64;
        wire_delta_enc_t *enc[64] = {0};
        wire_delta_dec_t *dec[2][64] = {{0}};
        for (int i = 0; i < n; i++) {
            enc[i] = wire_delta_enc_new();
            dec[0][i] = wire_delta_dec_new();
            dec[1][i] = wire_delta_dec_new();
        }
        env_decision_t *d = env_decision_new();
        uint64_t rng = 1;
        env_result_t res[256];
        for (int r = 0; r < c.rounds; r++) {
            env_round_begin(g);
            int no = 0;
            const int *order = env_round_order(g, &no);
            for (int i = 0; i < no; i++) {
                int ag = order[i];
                env_obs_t o;
                for (int mode = 0; mode < 2; mode++) {
                    double t0 = s_cpu_now();
                    env_observe(g, ag, ENV_TURN_NORMAL, &o);
                    wire_arena_t *a = wire_arena_new();
                    Parley__TurnRequest tr = PARLEY__TURN_REQUEST__INIT;
                    tr.observation = wire_obs_to_pb(a, &o, n);
                    wire_obs_hint_t hints[WIRE_OBS_HINTS];
                    wire_obs_hints(&o, hints);
                    if (mode == 1)
                        wire_delta_encode_hinted(enc[ag], a, tr.observation, true, hints,
                                                 WIRE_OBS_HINTS, &tr);
                    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
                    e.body_case = PARLEY__ENVELOPE__BODY_TURN_REQUEST;
                    e.turn_request = &tr;
                    uint8_t *buf = NULL;
                    size_t len = 0;
                    wire_pack(&e, WIRE_MAX_BROKER_MSG, &buf, &len);
                    wire_arena_destroy(&a);
                    double t1 = s_cpu_now();
                    Parley__Envelope *in = wire_unpack(buf, len, WIRE_MAX_BROKER_MSG, &err);
                    const Parley__Observation *whole =
                        in ? wire_delta_apply(dec[mode][ag], in->turn_request, &err) : NULL;
                    wire_obs_t *w = whole ? wire_obs_from_pb(whole, n, names.n_pieces, &err) : NULL;
                    wire_obs_destroy(&w);
                    wire_free(&in);
                    double t2 = s_cpu_now();
                    free(buf);
                    cpu[mode][0] += (t1 - t0) * 1e6;
                    cpu[mode][1] += (t2 - t1) * 1e6;
                }
                turns++;
                env_policy_decide(ENV_POLICY_PERFECT, &names, &o, &rng, d);
                env_apply(g, ag, ENV_TURN_NORMAL, env_decision_actions(d), env_decision_count(d),
                          "", res);
            }
            env_round_end(g);
        }
        env_decision_destroy(&d);
        for (int i = 0; i < n; i++) {
            wire_delta_enc_destroy(&enc[i]);
            wire_delta_dec_destroy(&dec[0][i]);
            wire_delta_dec_destroy(&dec[1][i]);
        }
        env_game_destroy(&g);
    }
    for (int m = 0; m < 2; m++)
        for (int s = 0; s < 2; s++) cpu[m][s] /= turns ? turns : 1;
}

static void s_deltas(bool quick)
{
    const int n = 10, games = quick ? 2 : 6;
    const char *modes[2] = {"full", "delta"};
    s_mode_t m[2];
    memset(m, 0, sizeof m);
    char *dir = s_tmpdir("deltas"), cfg[PATH_MAX];
    snprintf(cfg, sizeof cfg, "%s",
             s_write(dir, "paper.yaml", "seats:\n  - {policy: perfect, count: 10}\n"));
    /* Alternating, so that the machine's drift hits both alike: a game with
     * whole observations, raw ping-pongs of its sizes, a game with deltas, raw
     * ping-pongs of its sizes. The game is the same every time (the preset's
     * seed), so the first pair sets the sizes. */
    const int per = quick ? 1000 : 3000;
    /* raw[2]: the game's own traffic pattern at the delta's sizes: 10 peer
     * processes asked in turn, CURVE on, as parley run's seats are. */
    double *raw[3] = {calloc((size_t)(per * games), sizeof(double)),
                      calloc((size_t)(per * games), sizeof(double)),
                      calloc((size_t)(per * games), sizeof(double))};
    size_t n_raw[3] = {0, 0, 0}, req[2] = {0, 0}, rep[2] = {0, 0};
    if (!raw[0] || !raw[1] || !raw[2]) return;
    for (int k = 0; k <= games; k++)
        for (int j = 0; j < 2; j++) {
            if (k > 0) {
                s_raw_samples(per, req[j], rep[j], raw[j] + n_raw[j]);
                n_raw[j] += (size_t)per;
                if (j == 1) {
                    s_raw_samples_ex(per, req[1], rep[1], n, true, raw[2] + n_raw[2]);
                    n_raw[2] += (size_t)per;
                }
            }
            if (k == games) continue;
            char sub[PATH_MAX + 32], env[64];
            snprintf(sub, sizeof sub, "%s/%s-%d", dir, modes[j], k);
            snprintf(env, sizeof env, "PARLEY_OBSERVATION=%s", modes[j]);
            if (mkdir(sub, 0755) != 0) continue;
            s_game_t g;
            if (s_game_mode(sub, cfg, n, "perfect", true, env, &g) != 0)
                fprintf(stderr, "%s game %d failed\n", modes[j], k);
            s_collect(sub, n, &g, &m[j]);
            json_decref(g.decisions);
            int turns = m[j].whole + m[j].deltas;
            req[j] = turns ? (size_t)(m[j].turn_bytes / turns) : 0;
            rep[j] = turns ? (size_t)(m[j].decision_bytes / turns) : 0;
        }
    double cpu[2][2];
    s_codec_cpu(quick ? 3 : 20, cpu);
    double turn50[2], turn99[2], raw50[2], raw99[2];
    for (int j = 0; j < 2; j++) {
        turn50[j] = s_pct(m[j].rtt, m[j].n, 0.50);
        turn99[j] = s_pct(m[j].rtt, m[j].n, 0.99);
        raw50[j] = s_pct(raw[j], n_raw[j], 0.50);
        raw99[j] = s_pct(raw[j], n_raw[j], 0.99);
        free(raw[j]);
    }
    double game50 = s_pct(raw[2], n_raw[2], 0.50), game99 = s_pct(raw[2], n_raw[2], 0.99);
    free(raw[2]);

    printf("## Observation deltas\n\n");
    printf("Measured by `bench/bench_broker --deltas`: the paper preset with 10 perfect agent "
           "processes, %d games with whole observations and %d with deltas, alternating; "
           "round trips are the broker's rtt_us of every decision; after each game, %d raw "
           "ping-pongs with that game's mean request and reply sizes.\n\n",
           m[0].games, m[1].games, per);
    printf("| measure | full | delta | delta / full |\n|---|---|---|---|\n");
    printf("| turn requests the broker sent per game: bytes | %.0f | %.0f | %.3f |\n",
           (double)m[0].turn_bytes / (m[0].games ? m[0].games : 1),
           (double)m[1].turn_bytes / (m[1].games ? m[1].games : 1),
           m[0].turn_bytes ? (double)m[1].turn_bytes / (double)m[0].turn_bytes : 0);
    printf("| turn requests per game: whole / deltas / resyncs | %.1f / %.1f / %.1f | %.1f / "
           "%.1f / %.1f | - |\n",
           (double)m[0].whole / m[0].games, (double)m[0].deltas / m[0].games,
           (double)m[0].resyncs / m[0].games, (double)m[1].whole / m[1].games,
           (double)m[1].deltas / m[1].games, (double)m[1].resyncs / m[1].games);
    printf("| mean turn request / decision, bytes | %zu / %zu | %zu / %zu | %.3f |\n", req[0],
           rep[0], req[1], rep[1], req[0] ? (double)req[1] / (double)req[0] : 0);
    printf("| turn round trip p50 / p99 (%zu and %zu turns) | %.0f / %.0f us | %.0f / %.0f us | "
           "%.2f / %.2f |\n",
           m[0].n, m[1].n, turn50[0], turn99[0], turn50[1], turn99[1], turn50[1] / turn50[0],
           turn99[1] / turn99[0]);
    printf("| raw ZeroMQ DEALER/ROUTER ping-pong, two processes, the mode's mean request and "
           "reply sizes, p50 / p99 | %.0f / %.0f us | %.0f / %.0f us | - |\n",
           raw50[0], raw99[0], raw50[1], raw99[1]);
    printf("| turn / raw at the same sizes, p50 / p99 | %.2fx / %.2fx | %.2fx / %.2fx | - |\n",
           turn50[0] / raw50[0], turn99[0] / raw99[0], turn50[1] / raw50[1], turn99[1] / raw99[1]);
    printf("| turn / raw at the whole observation's sizes, p50 / p99 | %.2fx / %.2fx | %.2fx / "
           "%.2fx | - |\n",
           turn50[0] / raw50[0], turn99[0] / raw99[0], turn50[1] / raw50[0], turn99[1] / raw99[0]);
    printf("| raw ZeroMQ as a game's seats: %d peer processes asked in turn, CURVE on, the "
           "delta's sizes, p50 / p99 | - | %.0f / %.0f us | - |\n",
           n, game50, game99);
    printf("| turn with deltas / that raw, p50 / p99 | - | %.2fx / %.2fx | - |\n",
           turn50[1] / game50, turn99[1] / game99);
    printf("| the agent's share of a round trip: TurnRequest frame in to Decision sent, wall, "
           "mean per turn | %.1f us | %.1f us | - |\n",
           (double)m[0].handling_us / (m[0].whole + m[0].deltas ? m[0].whole + m[0].deltas : 1),
           (double)m[1].handling_us / (m[1].whole + m[1].deltas ? m[1].whole + m[1].deltas : 1));
    printf("| protocol CPU per turn in one process (same game): broker side (observe, build, "
           "encode, pack) / agent side (unpack, apply, rebuild) | %.1f / %.1f us | %.1f / %.1f us "
           "| %.2f / %.2f |\n\n",
           cpu[0][0], cpu[0][1], cpu[1][0], cpu[1][1], cpu[1][0] / cpu[0][0],
           cpu[1][1] / cpu[0][1]);
    s_rmtree(dir);
    for (int j = 0; j < 2; j++) {
        if (m[j].logs != n * m[j].games)
            printf("(%s: %d agent logs of %d had no AGT-OBSERVATIONS line.)\n", modes[j],
                   n * m[j].games - m[j].logs, n * m[j].games);
        free(m[j].rtt);
    }
}

int main(int argc, char **argv)
{
    bool quick = false, deltas_only = false, codec_only = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--deltas") == 0) {
            deltas_only = true;
        } else if (strcmp(argv[i], "--codec") == 0) {
            codec_only = true;
        } else {
            fprintf(stderr, "usage: bench_broker [--quick] [--deltas] [--codec]\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
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

    if (codec_only) { /* one process, no sockets: for perf and callgrind */
        double cpu[2][2];
        s_codec_cpu(quick ? 3 : 20, cpu);
        printf("protocol CPU per turn, broker / agent side: full %.1f / %.1f us, delta %.1f / "
               "%.1f us\n",
               cpu[0][0], cpu[0][1], cpu[1][0], cpu[1][1]);
        return 0;
    }
    if (deltas_only) {
        s_deltas(quick);
        return 0;
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
    printf("\n");
    s_deltas(quick);
    return 0;
}
