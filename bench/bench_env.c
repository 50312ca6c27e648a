/* bench_env.c: how fast the game engine plays perfect games in-process.
 *
 * For 10, 50 and 200 agents (20 rounds, 10 pieces per agent, so 10*N pieces)
 * it plays perfect games for a while and prints games per second, time per
 * game (CPU time), events per game, time per event and the peak memory of a child
 * process that played only that size. Variants: the engine alone (no event
 * sink); `tree`: every event handed over as a jansson tree (written as text,
 * parsed back) and freed; `json`: that tree serialized again by env_jsonw, as
 * the broker does (it edits events before recording them); `text`: every event
 * as text (env_game_new_text) into one buffer that goes to a file in one write
 * per 64 KiB batch, as the in-process executor writes events.jsonl (to
 * /dev/null here: the disk is not the engine's cost). Built against the
 * jansson-tree environment of before (commit 90de249), `json` was json_dumps
 * of the tree the environment built.
 *
 * Usage: bench_env [seconds-per-size [agents variant]]   (default 2 s, every
 * size and variant; with agents and variant, that one only, in this process,
 * for a profiler) */
#include "env.h"
#include "env_jsonw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double s_now(void)
{
    struct timespec ts;
    /* CPU time of this process: the machine is shared, and the reference
     * figures are CPU seconds per game. */
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum { S_OFF, S_TREE, S_JSON, S_TEXT, S_VARIANTS };
static const char *const s_variant_names[S_VARIANTS] = {"off", "tree", "json", "text"};

static size_t s_bytes;
static void s_sink_tree(void *ctx, json_t *ev)
{
    (void)ctx;
    json_decref(ev);
}

static env_jsonw_t *s_w;
static FILE *s_null;
static void s_drain(void)
{
    s_bytes += env_jsonw_len(s_w);
    if (fwrite(env_jsonw_data(s_w), 1, env_jsonw_len(s_w), s_null) != env_jsonw_len(s_w)) exit(1);
    env_jsonw_truncate(s_w, 0);
}

static void s_sink_json(void *ctx, json_t *ev)
{
    (void)ctx;
    if (env_jsonw_value(s_w, ev) != 0 || env_jsonw_raw(s_w, "\n", 1) != 0) exit(1);
    if (env_jsonw_len(s_w) >= 65536) s_drain();
    json_decref(ev);
}

static void s_sink_text(void *ctx, const char *type, const char *text, size_t len)
{
    (void)ctx;
    (void)type;
    if (env_jsonw_raw(s_w, text, len) != 0 || env_jsonw_raw(s_w, "\n", 1) != 0) exit(1);
    if (env_jsonw_len(s_w) >= 65536) s_drain();
}

static const env_event_fn s_sinks[S_VARIANTS] = {NULL, s_sink_tree, s_sink_json, NULL};

typedef struct {
    double games, seconds, events, tasks;
} s_result_t;

static s_result_t s_play(int agents, double budget, int with_events)
{
    s_result_t r = {0};
    env_policy_t *pol = malloc(sizeof *pol * (size_t)agents);
    for (int i = 0; i < agents; i++) pol[i] = ENV_POLICY_PERFECT;
    double t0 = s_now();
    uint64_t seed = 1;
    do {
        env_config_t c;
        env_config_paper(&c);
        c.seed = seed++;
        c.n_agents = agents;
        c.total_pieces = 10 * agents;
        env_game_t *g = with_events == S_TEXT ? env_game_new_text(&c, s_sink_text, NULL, NULL)
                                              : env_game_new(&c, s_sinks[with_events], NULL, NULL);
        if (!g || env_play(g, pol) != ENV_OK) {
            fprintf(stderr, "bench_env: game failed\n");
            exit(1);
        }
        if (s_w) s_drain();
        r.events += (double)env_events_emitted(g);
        r.tasks += env_tasks_done(g);
        env_game_destroy(&g);
        r.games++;
        r.seconds = s_now() - t0;
    } while (r.seconds < budget || r.games < 3);
    free(pol);
    return r;
}

int main(int argc, char **argv)
{
    double budget = argc > 1 ? atof(argv[1]) : 2.0;
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: bench_env [SECONDS-PER-SIZE [AGENTS VARIANT]]\n"
               "Plays perfect games in-process for SECONDS (default 2) per size (10, 50, 200\n"
               "agents) and variant (off, tree, json, text) and prints CPU time per game.\n"
               "With AGENTS and VARIANT: that one only, in this process (for a profiler).\n");
        return 0;
    }
    if (argc != 1 && argc != 2 && argc != 4) {
        fprintf(stderr, "bench_env: usage: bench_env [SECONDS-PER-SIZE [AGENTS VARIANT]]\n");
        return 2;
    }
    s_w = env_jsonw_new();
    s_null = fopen("/dev/null", "w");
    if (!s_w || !s_null) return 1;
    setvbuf(s_null, NULL, _IONBF, 0); /* one write per batch, as the event log */
    if (argc == 4) {
        int agents = atoi(argv[2]), with = 0;
        while (with < S_VARIANTS && strcmp(argv[3], s_variant_names[with])) with++;
        if (agents < 2 || with == S_VARIANTS) {
            fprintf(stderr, "bench_env: AGENTS must be >= 2 and VARIANT off, tree, json or text\n");
            return 2;
        }
        s_result_t r = s_play(agents, budget, with);
        printf("%d %s: %.3f ms/game over %.0f games\n", agents, s_variant_names[with],
               1e3 * r.seconds / r.games, r.games);
        return 0;
    }
    int sizes[] = {10, 50, 200};
    printf("%-7s %-7s %10s %12s %10s %10s %12s %10s\n", "agents", "events", "games/s", "ms/game",
           "tasks", "ev/game", "ns/event", "peak MiB");
    for (int with = 0; with < S_VARIANTS; with++) {
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            int fd[2];
            if (pipe(fd)) return 1;
            pid_t pid = fork();
            if (pid == 0) { /* a child per size: its peak memory is that size's alone */
                close(fd[0]);
                s_result_t r = s_play(sizes[i], budget, with);
                if (write(fd[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(1);
                _exit(0);
            }
            close(fd[1]);
            s_result_t r;
            ssize_t got = read(fd[0], &r, sizeof r);
            close(fd[0]);
            int status;
            struct rusage ru;
            if (wait4(pid, &status, 0, &ru) < 0 || got != (ssize_t)sizeof r) return 1;
            printf("%-7d %-7s %10.1f %12.3f %10.1f %10.0f %12.1f %10.1f\n", sizes[i],
                   s_variant_names[with], r.games / r.seconds, 1e3 * r.seconds / r.games,
                   r.tasks / r.games, r.events / r.games, 1e9 * r.seconds / r.events,
                   (double)ru.ru_maxrss / 1024.0);
            fflush(stdout);
        }
    }
    return 0;
}
