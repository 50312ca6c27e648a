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
 *      same mean request and reply sizes, all in one run. Its raw
 *      baselines run unpinned, and on a host whose idle vCPUs halt they
 *      move severalfold from minute to minute: the goal's comparison is
 *      bench_turn's (bench/RESULTS.md, "Turn round trip, third pass").
 *
 * usage: bench_broker [--quick] [--deltas] [--codec]   (programs from
 * $PARLEY_BIN or beside this one; --deltas: section 4 alone; --codec: only its
 * in-process protocol CPU, for perf and callgrind). Prints markdown on stdout. */
#include <stdbool.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zmq.h>

#include "bench_proc.h"
#include "wire_delta.h"
#include "wire_view.h"

/* The protocol's own CPU per turn, in this process, over the paper game with
 * perfect seats: the broker's side (observe, build the tree, encode, pack) and
 * the agent's (unpack, apply, patch or rebuild its env_obs_t), whole and delta; CPU us per
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
        wire_view_t *view[2][64] = {{0}};
        for (int i = 0; i < n; i++) {
            enc[i] = wire_delta_enc_new();
            dec[0][i] = wire_delta_dec_new();
            dec[1][i] = wire_delta_dec_new();
            view[0][i] = wire_view_new(n, names.n_pieces);
            view[1][i] = wire_view_new(n, names.n_pieces);
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
                    double t0 = bench_cpu_now();
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
                    double t1 = bench_cpu_now();
                    /* As parley-agent does: its decoder's unpack, and its
                     * view patched (rebuilt from a whole observation). */
                    Parley__Envelope *in =
                        wire_delta_unpack(dec[mode][ag], buf, len, WIRE_MAX_BROKER_MSG, &err);
                    const Parley__Observation *whole =
                        in ? wire_delta_apply(dec[mode][ag], in->turn_request, &err) : NULL;
                    if (whole) wire_view_update(view[mode][ag], dec[mode][ag], &err);
                    wire_delta_free(dec[mode][ag], &in);
                    double t2 = bench_cpu_now();
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
            wire_view_destroy(&view[0][i]);
            wire_view_destroy(&view[1][i]);
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
    bench_mode_t m[2];
    memset(m, 0, sizeof m);
    char *dir = bench_tmpdir("deltas"), cfg[PATH_MAX];
    snprintf(cfg, sizeof cfg, "%s",
             bench_write(dir, "paper.yaml", "seats:\n  - {policy: perfect, count: 10}\n"));
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
                bench_raw_samples(per, req[j], rep[j], raw[j] + n_raw[j]);
                n_raw[j] += (size_t)per;
                if (j == 1) {
                    bench_raw_samples_ex(per, req[1], rep[1], n, true, raw[2] + n_raw[2]);
                    n_raw[2] += (size_t)per;
                }
            }
            if (k == games) continue;
            char sub[PATH_MAX + 32], env[64];
            snprintf(sub, sizeof sub, "%s/%s-%d", dir, modes[j], k);
            snprintf(env, sizeof env, "PARLEY_OBSERVATION=%s", modes[j]);
            if (mkdir(sub, 0755) != 0) continue;
            bench_game_t g;
            if (bench_game_mode(sub, cfg, n, "perfect", true, env, &g) != 0)
                fprintf(stderr, "%s game %d failed\n", modes[j], k);
            bench_collect(sub, n, &g, &m[j]);
            json_decref(g.decisions);
            int turns = m[j].whole + m[j].deltas;
            req[j] = turns ? (size_t)(m[j].turn_bytes / turns) : 0;
            rep[j] = turns ? (size_t)(m[j].decision_bytes / turns) : 0;
        }
    double cpu[2][2];
    s_codec_cpu(quick ? 3 : 20, cpu);
    double turn50[2], turn99[2], raw50[2], raw99[2];
    for (int j = 0; j < 2; j++) {
        turn50[j] = bench_pct(m[j].rtt, m[j].n, 0.50);
        turn99[j] = bench_pct(m[j].rtt, m[j].n, 0.99);
        raw50[j] = bench_pct(raw[j], n_raw[j], 0.50);
        raw99[j] = bench_pct(raw[j], n_raw[j], 0.99);
        free(raw[j]);
    }
    double game50 = bench_pct(raw[2], n_raw[2], 0.50), game99 = bench_pct(raw[2], n_raw[2], 0.99);
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
    bench_rmtree(dir);
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
    if (bench_bin_init() != 0) return 1;
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
    bench_game_t big[2];
    for (int k = 0; k < 2; k++) {
        int n = sizes[k];
        char yaml[1024];
        snprintf(yaml, sizeof yaml,
                 "seed: 1\nsimulation: {rounds: %d, agents: %d}\n"
                 "information: {total_pieces: %d}\n"
                 "timing: {mode: sequential, turn_timeout: 600, heartbeat: 30}\n"
                 "seats:\n  - {policy: perfect, count: %d}\n",
                 n >= 1000 ? 2 : 5, n, 10 * n, n);
        dir = bench_tmpdir("scale");
        cfg = bench_write(dir, "scale.yaml", yaml);
        if (bench_game(dir, cfg, n, "perfect", false, &big[k]) != 0)
            fprintf(stderr, "%d-agent game failed\n", n);
        json_decref(big[k].decisions);
    }

    struct rusage self;
    getrusage(RUSAGE_SELF, &self);
    double self_mb = (double)self.ru_maxrss / 1024.0;

    /* 1. Round trip. */
    dir = bench_tmpdir("rtt");
    cfg = bench_write(dir, "rtt.yaml",
                      "seed: 1\nsimulation: {rounds: 2000}\n"
                      "timing: {mode: sequential, turn_timeout: 30, heartbeat: 5}\n"
                      "seats:\n  - {policy: passive, count: 10}\n");
    bench_game_t g;
    if (bench_game(dir, cfg, 10, "passive", true, &g) != 0) fprintf(stderr, "rtt game failed\n");
    size_t nd = json_array_size(g.decisions);
    double *rtt = calloc(nd ? nd : 1, sizeof *rtt);
    for (size_t i = 0; i < nd; i++)
        rtt[i] =
            (double)json_integer_value(json_object_get(json_array_get(g.decisions, i), "rtt_us"));
    double turn50 = bench_pct(rtt, nd, 0.5), turn99 = bench_pct(rtt, nd, 0.99);
    json_decref(g.decisions);
    free(rtt);
    double raw50 = 0, raw99 = 0;
    bench_raw_pingpong(20000, 2048, &raw50, &raw99);

    /* 2. parley run, paper preset, 10 perfect processes. */
    dir = bench_tmpdir("run");
    char pcfg[PATH_MAX];
    snprintf(pcfg, sizeof pcfg, "%s",
             bench_write(dir, "paper.yaml", "seats:\n  - {policy: perfect, count: 10}\n"));
    double walls[10];
    int runs = quick ? 3 : 10;
    for (int i = 0; i < runs; i++) {
        char out[PATH_MAX], parley[PATH_MAX];
        snprintf(out, sizeof out, "%s/run-%d", dir, i);
        snprintf(parley, sizeof parley, "%s/parley", bench_bin);
        char *pargv[] = {parley, "run", pcfg, "--out", out, "--quiet", NULL};
        double t0 = bench_now();
        pid_t pid = bench_spawn(pargv, NULL, NULL);
        int st;
        waitpid(pid, &st, 0);
        walls[i] = bench_now() - t0;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fprintf(stderr, "parley run failed\n");
    }
    double run_min = bench_pct(walls, (size_t)runs, 0.0),
           run_med = bench_pct(walls, (size_t)runs, 0.5);

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
