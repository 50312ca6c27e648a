/* bench_llm.c: what the llm policy costs, against parley-fake-llm.
 *
 * 1. Ten llm decisions on one agent event loop, the endpoint answering after
 *    1 s: all at once versus one after the other (the simultaneous mode's claim:
 *    a round costs the slowest model's time, not the sum).
 * 2. Peak memory of a process running one llm seat for 20 turns.
 * 3. Prompt prefix share (the part of each prompt that is a byte-identical
 *    prefix of the same seat's previous prompt) for both layouts, over a whole
 *    paper-preset game played by perfect agents.
 * Usage: PARLEY_BIN=build/bin build/bin/bench_llm */
#include "env.h"
#include "fake_proc.h"
#include "llm_policy.h"
#include "llm_prompt.h"
#include "pl_log.h"

#include <event2/event.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    struct event_base *base;
    env_game_t *g;
    env_names_t names;
    env_obs_t obs;
    pl_seat_t seat;
    agt_context_t ctx;
    char url[128];
    int done, want;
} bench_t;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_on_done(void *arg, uint64_t turn_id, agt_outcome_t *o)
{
    bench_t *b = arg;
    (void)turn_id;
    if (o && env_decision_count(o->decision) > 0) b->done++;
    agt_outcome_destroy(&o);
    if (b->done >= b->want) event_base_loopbreak(b->base);
}

static int s_setup(bench_t *b, int port)
{
    memset(b, 0, sizeof *b);
    b->base = event_base_new();
    env_config_t c;
    env_config_paper(&c);
    int err;
    b->g = env_game_new(&c, NULL, NULL, &err);
    if (!b->base || !b->g) return -1;
    env_game_names(b->g, &b->names);
    env_round_begin(b->g);
    env_observe(b->g, 0, ENV_TURN_NORMAL, &b->obs);
    snprintf(b->url, sizeof b->url, "http://127.0.0.1:%d/v1", port);
    b->seat = (pl_seat_t){.policy = "llm",
                          .provider = "openai",
                          .model = "fake",
                          .base_url = b->url,
                          .temperature = -1,
                          .timeout = 30};
    b->ctx = (agt_context_t){.base = b->base,
                             .agent = 0,
                             .rules = env_game_config(b->g),
                             .type = ENV_TYPE_NEUTRAL,
                             .names = &b->names,
                             .seat = &b->seat,
                             .timing = "simultaneous"};
    return 0;
}

static void s_teardown(bench_t *b)
{
    env_game_destroy(&b->g);
    event_base_free(b->base);
}

/* n decisions, `parallel` at a time; returns wall seconds. */
static double s_decisions(bench_t *b, int n, int parallel)
{
    void *p[64];
    char err[256];
    for (int i = 0; i < n; i++)
        if (agt_llm_ops.create(&p[i], &b->ctx, err, sizeof err) != 0) {
            fprintf(stderr, "create: %s\n", err);
            exit(1);
        }
    double t0 = s_now();
    b->done = 0;
    for (int i = 0; i < n; i += parallel) {
        b->want = b->done + (parallel < n - i ? parallel : n - i);
        for (int k = i; k < i + parallel && k < n; k++)
            agt_llm_ops.decide(p[k], 1, &b->obs, 0, s_on_done, b);
        event_base_dispatch(b->base);
    }
    double dt = s_now() - t0;
    if (b->done != n) fprintf(stderr, "only %d of %d decisions had actions\n", b->done, n);
    for (int i = 0; i < n; i++) agt_llm_ops.destroy(p[i]);
    return dt;
}

/* Peak RSS (KiB) of a child process that runs one llm seat for `turns` turns. */
static long s_child_peak(int port, int turns)
{
    pid_t pid = fork();
    if (pid == 0) {
        bench_t b;
        if (s_setup(&b, port) != 0) _exit(1);
        void *p;
        char err[256];
        if (agt_llm_ops.create(&p, &b.ctx, err, sizeof err) != 0) _exit(1);
        for (int t = 0; t < turns; t++) {
            b.want = b.done + 1;
            agt_llm_ops.decide(p, (uint64_t)t, &b.obs, 0, s_on_done, &b);
            event_base_dispatch(b.base);
        }
        agt_llm_ops.destroy(p);
        s_teardown(&b);
        _exit(b.done == turns ? 0 : 1);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
    return ru.ru_maxrss;
}

/* Mean prefix share over every seat and turn of a perfect paper game. */
static void s_prefix(llm_layout_t layout, double *mean, double *min, size_t *mean_len)
{
    env_config_t c;
    env_config_paper(&c);
    int err;
    env_game_t *g = env_game_new(&c, NULL, NULL, &err);
    env_names_t names;
    env_game_names(g, &names);
    char *prev[64] = {0};
    env_decision_t *d = env_decision_new();
    uint64_t rng = 1;
    double sum = 0, lo = 1;
    size_t len = 0;
    int n = 0, turns = 0;
    while (env_round_begin(g) == ENV_OK) {
        int cnt;
        const int *order = env_round_order(g, &cnt);
        for (int k = 0; k < cnt; k++) {
            int a = order[k];
            env_obs_t o;
            env_observe(g, a, ENV_TURN_NORMAL, &o);
            agt_context_t ctx = {
                .agent = a, .rules = env_game_config(g), .type = ENV_TYPE_NEUTRAL, .names = &names};
            llm_prompt_t pr;
            llm_prompt_render(&ctx, &o, layout, NULL, &pr);
            char *flat = llm_prompt_flat(&pr);
            llm_prompt_clear(&pr);
            len += strlen(flat);
            turns++;
            if (prev[a]) {
                double s = llm_prefix_share(prev[a], flat);
                sum += s;
                if (s < lo) lo = s;
                n++;
            }
            free(prev[a]);
            prev[a] = flat;
            env_observe(g, a, ENV_TURN_NORMAL, &o);
            env_policy_decide(ENV_POLICY_PERFECT, &names, &o, &rng, d);
            env_result_t res[512];
            env_apply(g, a, ENV_TURN_NORMAL, env_decision_actions(d), env_decision_count(d), NULL,
                      res);
        }
        env_round_end(g);
    }
    for (int i = 0; i < 64; i++) free(prev[i]);
    env_decision_destroy(&d);
    env_game_destroy(&g);
    *mean = n ? sum / n : 0;
    *min = lo;
    *mean_len = turns ? len / (size_t)turns : 0;
}

int main(void)
{
    pl_log_set_level("warn");
    const char *slow[] = {"--delay", "1", NULL};
    int port;
    pid_t fake = fake_start(slow, &port);
    if (fake < 0) {
        fprintf(stderr, "bench_llm: cannot start parley-fake-llm (set PARLEY_BIN)\n");
        return 1;
    }
    bench_t b;
    s_setup(&b, port);
    double conc = s_decisions(&b, 10, 10);
    double seq = s_decisions(&b, 10, 1);
    s_teardown(&b);
    fake_stop(fake);
    printf("10 llm decisions on one agent loop, endpoint answering after 1 s:\n");
    printf("  all at once:      %.2f s\n  one after another: %.2f s\n", conc, seq);

    const char *fast[] = {NULL};
    fake = fake_start(fast, &port);
    long kib = s_child_peak(port, 20);
    fake_stop(fake);
    printf("peak RSS of a process running one llm seat for 20 turns: %.1f MiB\n", kib / 1024.0);

    for (int l = 0; l < LLM_LAYOUT_COUNT; l++) {
        double mean, min;
        size_t len;
        s_prefix((llm_layout_t)l, &mean, &min, &len);
        printf("prefix share, %s layout: mean %.3f, min %.3f (mean prompt %zu bytes)\n",
               llm_layout_name((llm_layout_t)l), mean, min, len);
    }
    return 0;
}
