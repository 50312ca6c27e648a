/* bench_llm.c: what the llm policy costs, against parley-fake-llm.
 *
 * 1. Whole games through `parley run`: 10 llm seats (parley-agent processes)
 *    against the endpoint answering every call after 1 s, in simultaneous mode
 *    and then in sequential mode; the wall time of each round from events.jsonl
 *    (round_start to round_end t_ms), and the ratio of the two, measured in the
 *    same run. Meanwhile the peak RSS (VmHWM) of every parley-agent process,
 *    polled from /proc.
 * 2. Ten llm decisions on one agent event loop, the endpoint answering after
 *    1 s: all at once versus one after the other (the loop alone, no broker).
 * 3. Peak memory of a process running one llm seat for 20 turns (policy only).
 * 4. Prompt prefix share (the part of each prompt that is a byte-identical
 *    prefix of the same seat's previous prompt) for the paper and clear
 *    prompts, over a whole paper-preset game played by perfect agents (the
 *    cache prompt, a conversation, is measured by --cache).
 * Usage: PARLEY_BIN=build/bin build/bin/bench_llm [ROUNDS_SIMULTANEOUS [ROUNDS_SEQUENTIAL]]
 * (default 5 and 2: the sequential game costs about 10 s a round).
 *
 * bench_llm --cache [ROUNDS [PRICES]]: what a study pays for its prompts. Four
 * games through `parley run` against parley-fake-llm (which models the
 * providers' prompt caches, tests/llm/fake_llm.c), each of 10 llm seats and
 * ROUNDS rounds (default 20) of the paper preset: the paper and the cache
 * prompt, on OpenAI's and on Anthropic's wire format. From the call records:
 * the share of each prompt that is an unchanged prefix of the seat's previous
 * one (bytes, and tokens as the endpoint's usage reports them cached), tokens
 * per game, and the cost per game of each model of PRICES (default
 * bench/prices.csv) with and without caching; for the cache prompt also the
 * lowest share in each round and its requests' bytes by part (system part,
 * first turn, kept decisions, later turns). The run directories stay in
 * $TMPDIR (parley-bench-cache-*) for a closer look at every call.
 *
 * bench_llm --formats URL [CALLS]: the share of replies that parse, per reply
 * format and wire format, against a real server at URL (e.g. llama-server
 * started with LLAMA_GRAMMAR= so that nothing but the format's own mechanism
 * holds the reply); CALLS decisions each (default 10), one at a time, max_tokens
 * 200. With random weights the figures are a floor, not any model's. */
#include "env.h"
#include "fake_proc.h"
#include "llm_policy.h"
#include "llm_prompt.h"
#include "pl_log.h"

#include <event2/event.h>
#include <jansson.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

/* ------------------------------------------------- games via parley run -- */

#define S_MAX_AGENTS 64

typedef struct {
    int n_rounds;
    double round_s[256]; /* wall seconds of each round, from events.jsonl */
    double mean_s, min_s, max_s;
    int tasks;
    int n_agents;
    long peak_kib[S_MAX_AGENTS]; /* VmHWM of each parley-agent seen */
    long max_kib;
} s_game_t;

/* VmHWM (KiB) of pid if it is a parley-agent child of parent, else -1. */
static long s_agent_hwm(int pid, pid_t parent)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long hwm = -1;
    int ppid = -1;
    bool agent = false;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "Name:", 5)) agent = strstr(line, "parley-agent") != NULL;
        if (!strncmp(line, "PPid:", 5)) ppid = atoi(line + 5);
        if (!strncmp(line, "VmHWM:", 6)) hwm = atol(line + 6);
    }
    fclose(f);
    return agent && ppid == (int)parent ? hwm : -1;
}

/* Samples every parley-agent child of parent into g (by pid). */
static void s_poll_agents(pid_t parent, s_game_t *g, int *pids)
{
    DIR *d = opendir("/proc");
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        int pid = atoi(e->d_name);
        if (pid <= 0) continue;
        long kib = s_agent_hwm(pid, parent);
        if (kib < 0) continue;
        int k = 0;
        while (k < g->n_agents && pids[k] != pid) k++;
        if (k == g->n_agents) {
            if (g->n_agents == S_MAX_AGENTS) continue;
            pids[g->n_agents++] = pid;
        }
        if (kib > g->peak_kib[k]) g->peak_kib[k] = kib;
    }
    closedir(d);
}

/* Plays one game of 10 llm seats against the fake on port with `parley run`,
 * timing mode `mode`; fills g. Returns 0 or -1. */
static int s_game(const char *mode, int rounds, int port, s_game_t *g)
{
    memset(g, 0, sizeof *g);
    char dir[256], cfg[300], run[300], prog[1024], text[2048];
    const char *bin = getenv("PARLEY_BIN");
    snprintf(dir, sizeof dir, "%s/parley-bench-llm-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return -1;
    snprintf(cfg, sizeof cfg, "%s/game.yaml", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(prog, sizeof prog, "%s/parley", bin ? bin : ".");
    snprintf(text, sizeof text,
             "seed: 1\nsimulation: {rounds: %d}\ntiming: {mode: %s, turn_timeout: 60}\n"
             "seats:\n"
             "  - {policy: llm, count: 5, provider: openai, model: fake-a,\n"
             "     base_url: \"http://127.0.0.1:%d/v1\", api_key_env: BENCH_LLM_KEY}\n"
             "  - {policy: llm, count: 5, provider: anthropic, model: fake-b,\n"
             "     base_url: \"http://127.0.0.1:%d/v1\", api_key_env: BENCH_LLM_KEY}\n",
             rounds, mode, port, port);
    FILE *f = fopen(cfg, "w");
    if (!f) return -1;
    fputs(text, f);
    fclose(f);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (!freopen("/dev/null", "w", stdout)) _exit(127); /* its result line: ours is below */
        execl(prog, "parley", "run", cfg, "--out", run, "--quiet", (char *)NULL);
        _exit(127);
    }
    if (pid < 0) return -1;
    int pids[S_MAX_AGENTS], st = 0;
    double limit = s_now() + 30.0 + 15.0 * rounds;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        s_poll_agents(pid, g, pids);
        if (s_now() > limit) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            fprintf(stderr, "bench_llm: the %s game did not end in time\n", mode);
            return -1;
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_llm: parley run failed (see %s)\n", run);
        return -1;
    }
    char path[400];
    snprintf(path, sizeof path, "%s/events.jsonl", run);
    FILE *ev = fopen(path, "r");
    if (!ev) return -1;
    char *line = NULL;
    size_t cap = 0;
    long long start = -1;
    while (getline(&line, &cap, ev) > 0) {
        json_t *e = json_loads(line, 0, NULL);
        const char *type = json_string_value(json_object_get(e, "type"));
        long long t = (long long)json_integer_value(json_object_get(e, "t_ms"));
        if (type && !strcmp(type, "round_start")) start = t;
        if (type && !strcmp(type, "round_end") && start >= 0 && g->n_rounds < 256)
            g->round_s[g->n_rounds++] = (double)(t - start) / 1000.0;
        if (type && !strcmp(type, "run_end"))
            g->tasks = (int)json_integer_value(json_object_get(e, "tasks"));
        json_decref(e);
    }
    free(line);
    fclose(ev);
    if (g->n_rounds == 0) return -1;
    g->min_s = g->max_s = g->round_s[0];
    for (int i = 0; i < g->n_rounds; i++) {
        g->mean_s += g->round_s[i] / g->n_rounds;
        if (g->round_s[i] < g->min_s) g->min_s = g->round_s[i];
        if (g->round_s[i] > g->max_s) g->max_s = g->round_s[i];
    }
    for (int i = 0; i < g->n_agents; i++)
        if (g->peak_kib[i] > g->max_kib) g->max_kib = g->peak_kib[i];
    return 0;
}

static void s_print_game(const char *mode, const s_game_t *g)
{
    long sum = 0;
    for (int i = 0; i < g->n_agents; i++) sum += g->peak_kib[i];
    printf("  %-12s %d rounds: %.2f s a round (min %.2f, max %.2f), %d tasks; peak RSS of "
           "%d agent processes: max %.1f MiB, mean %.1f MiB\n",
           mode, g->n_rounds, g->mean_s, g->min_s, g->max_s, g->tasks, g->n_agents,
           g->max_kib / 1024.0, g->n_agents ? sum / 1024.0 / g->n_agents : 0.0);
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

/* ------------------------------------------------------ prompt caching -- */

typedef struct {
    int calls;
    double share_sum, share_min; /* bytes, after round 2 */
    int n_share;
    double tshare_sum; /* tokens cached / tokens in, after round 2 */
    long long in, cached, written, out;
    int resets;
    double round_min[256]; /* lowest prefix share of each round (1-based) */
    int rounds;
    /* bytes of every request's text by part: the system part, the first turn,
     * the kept assistant messages, the later user messages */
    long long b_system, b_first, b_kept, b_news;
} s_cache_t;

/* A message's text: a string, or Anthropic's blocks. */
static size_t s_text_len(json_t *content)
{
    if (json_is_string(content)) return json_string_length(content);
    size_t n = 0, i;
    json_t *b;
    json_array_foreach(content, i, b) n += json_string_length(json_object_get(b, "text"));
    return n;
}

/* Adds one request's bytes by part to g. */
static void s_parts(s_cache_t *g, const char *body)
{
    json_t *r = json_loads(body ? body : "", 0, NULL);
    json_t *msgs = json_object_get(r, "messages"), *m;
    size_t i, first = 0;
    json_t *sys = json_object_get(r, "system"); /* anthropic */
    if (sys) g->b_system += (long long)s_text_len(sys);
    json_array_foreach(msgs, i, m)
    {
        const char *role = json_string_value(json_object_get(m, "role"));
        long long n = (long long)s_text_len(json_object_get(m, "content"));
        if (role && !strcmp(role, "system")) {
            g->b_system += n;
            first = i + 1;
        } else if (i == first) {
            g->b_first += n;
        } else if (role && !strcmp(role, "assistant")) {
            g->b_kept += n;
        } else {
            g->b_news += n;
        }
    }
    json_decref(r);
}

/* Runs `parley run` on the configuration text; the run directory is dir/run.
 * Returns 0 or -1. */
static int s_run_text(const char *text, char *dir, size_t dirlen)
{
    char cfg[300], run[300], prog[1024];
    const char *bin = getenv("PARLEY_BIN");
    snprintf(dir, dirlen, "%s/parley-bench-cache-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return -1;
    snprintf(cfg, sizeof cfg, "%s/game.yaml", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(prog, sizeof prog, "%s/parley", bin ? bin : ".");
    FILE *f = fopen(cfg, "w");
    if (!f) return -1;
    fputs(text, f);
    if (fclose(f) != 0) return -1;
    fflush(stdout); /* the child's freopen would write what is still buffered */
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (!freopen("/dev/null", "w", stdout)) _exit(127);
        execl(prog, "parley", "run", cfg, "--out", run, "--quiet", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_llm: parley run failed (see %s)\n", run);
        return -1;
    }
    return 0;
}

static long long s_jint(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    if (b) v = json_object_get(v, b);
    return (long long)json_integer_value(v);
}

/* One game of 10 seats on `provider` with `prompt`, ROUNDS rounds. */
static int s_cache_game(const char *provider, const char *prompt, int rounds, int port,
                        s_cache_t *g)
{
    memset(g, 0, sizeof *g);
    g->share_min = 1;
    char text[1024], dir[256], path[400];
    snprintf(text, sizeof text,
             "seed: 1\nsimulation: {rounds: %d}\nllm: {prompt: %s}\n"
             "seats:\n"
             "  - {policy: llm, count: 10, provider: %s, model: fake,\n"
             "     base_url: \"http://127.0.0.1:%d/v1\", api_key_env: BENCH_LLM_KEY}\n",
             rounds, prompt, provider, port);
    if (s_run_text(text, dir, sizeof dir) != 0) return -1;
    snprintf(path, sizeof path, "%s/run/events.jsonl", dir);
    FILE *ev = fopen(path, "r");
    if (!ev) return -1;
    bool anthropic = strcmp(provider, "anthropic") == 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, ev) > 0) {
        if (!strstr(line, "\"type\":\"decision\"")) continue;
        json_t *e = json_loads(line, 0, NULL);
        long long round = s_jint(e, "round", NULL);
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(e, "calls"), i, c)
        {
            g->calls++;
            long long in = s_jint(c, "tokens_in", NULL), cached = s_jint(c, "tokens_cached", NULL);
            g->in += in;
            g->cached += cached;
            g->out += s_jint(c, "tokens_out", NULL);
            json_t *r = json_loads(json_string_value(json_object_get(c, "response_body")), 0, NULL);
            if (anthropic)
                g->written +=
                    s_jint(json_object_get(r, "usage"), "cache_creation_input_tokens", NULL);
            json_decref(r);
            s_parts(g, json_string_value(json_object_get(c, "request_body")));
            if (round >= 1 && round < 256) {
                double s = json_real_value(json_object_get(c, "prefix_share"));
                if (round > g->rounds) {
                    for (long long k = g->rounds + 1; k <= round; k++) g->round_min[k] = 1;
                    g->rounds = (int)round;
                }
                if (s < g->round_min[round]) g->round_min[round] = s;
            }
            if (round > 2) {
                double s = json_real_value(json_object_get(c, "prefix_share"));
                g->share_sum += s;
                if (s < g->share_min) g->share_min = s;
                g->tshare_sum += in ? (double)cached / (double)in : 0;
                g->n_share++;
            }
        }
        json_decref(e);
    }
    free(line);
    fclose(ev);
    snprintf(path, sizeof path, "%s/run/agents", dir);
    /* resets of the conversation's window, from the agents' logs */
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char lp[700], l[1024];
        snprintf(lp, sizeof lp, "%s/%s", path, de->d_name);
        FILE *lf = strstr(de->d_name, ".log") ? fopen(lp, "r") : NULL;
        while (lf && fgets(l, sizeof l, lf)) g->resets += strstr(l, "LLM-HISTORY-RESET") != NULL;
        if (lf) fclose(lf);
    }
    if (d) closedir(d);
    return g->calls ? 0 : -1;
}

typedef struct {
    char provider[32], model[64];
    double input, cached_input, cache_write, output; /* USD per million tokens */
} s_price_t;

/* Reads PRICES (CSV: provider,model,input,cached_input,cache_write,output,...;
 * '#' lines are comments). Returns the rows read, or -1. */
static int s_prices(const char *path, s_price_t *p, int max)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[512];
    int n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || !strncmp(line, "provider,", 9)) continue;
        if (sscanf(line, "%31[^,],%63[^,],%lf,%lf,%lf,%lf", p[n].provider, p[n].model, &p[n].input,
                   &p[n].cached_input, &p[n].cache_write, &p[n].output) == 6)
            n++;
    }
    fclose(f);
    return n;
}

/* USD of a game's input, with the provider's caching or without. Output is
 * priced apart: it is what the model writes, the same under either prompt. */
static double s_input_cost(const s_price_t *p, const s_cache_t *g, bool caching)
{
    if (!caching) return (double)g->in * p->input / 1e6;
    double plain = (double)(g->in - g->cached - g->written);
    return (plain * p->input + (double)g->cached * p->cached_input +
            (double)g->written * p->cache_write) /
           1e6;
}

static int s_cache_bench(int rounds, const char *prices)
{
    s_price_t pr[64];
    int np = s_prices(prices, pr, 64);
    if (np <= 0) {
        fprintf(stderr, "bench_llm: cannot read prices from %s\n", prices);
        return 1;
    }
    const char *none[] = {NULL};
    int port;
    pid_t fake = fake_start(none, &port);
    if (fake < 0) {
        fprintf(stderr, "bench_llm: cannot start parley-fake-llm (set PARLEY_BIN)\n");
        return 1;
    }
    setenv("BENCH_LLM_KEY", "sk-bench", 1);
    static const char *const provs[] = {"openai", "anthropic"}, *const layouts[] = {"paper",
                                                                                    "cache"};
    s_cache_t g[2][2];
    printf("10 llm seats, %d rounds, paper preset, against parley-fake-llm (4 bytes a token):\n",
           rounds);
    printf("| wire format | prompt | calls | prefix share after round 2 (bytes): mean | min | "
           "cached tokens after round 2 | tokens in | cached | cache writes | tokens out | "
           "window resets |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int pv = 0; pv < 2; pv++)
        for (int l = 0; l < 2; l++) {
            if (s_cache_game(provs[pv], layouts[l], rounds, port, &g[pv][l]) != 0) {
                fake_stop(fake);
                return 1;
            }
            const s_cache_t *x = &g[pv][l];
            printf("| %s | %s | %d | %.3f | %.3f | %.3f | %lld | %lld | %lld | %lld | %d |\n",
                   provs[pv], layouts[l], x->calls, x->n_share ? x->share_sum / x->n_share : 0,
                   x->share_min, x->n_share ? x->tshare_sum / x->n_share : 0, x->in, x->cached,
                   x->written, x->out, x->resets);
            fflush(stdout);
        }
    fake_stop(fake);
    printf("\nthe cache prompt (openai game): lowest prefix share per round:");
    for (int r = 1; r <= g[0][1].rounds; r++) printf(" %d:%.3f", r, g[0][1].round_min[r]);
    const s_cache_t *cg = &g[0][1];
    double all = (double)(cg->b_system + cg->b_first + cg->b_kept + cg->b_news);
    if (all > 0)
        printf("\nits requests' bytes by part: system %lld (%.1f%%), first turn %lld (%.1f%%), "
               "kept decisions %lld (%.1f%%), later turns' news %lld (%.1f%%)\n",
               cg->b_system, 100 * cg->b_system / all, cg->b_first, 100 * cg->b_first / all,
               cg->b_kept, 100 * cg->b_kept / all, cg->b_news, 100 * cg->b_news / all);
    printf("\ninput cost per game in USD (%s); output priced apart at the cache games' "
           "tokens out:\n",
           prices);
    printf("| model | paper, no caching | paper, cached | cache prompt, no caching | cache prompt, "
           "cached | cached cache prompt / cached paper | output |\n"
           "|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < np; i++) {
        int pv = strcmp(pr[i].provider, "anthropic") == 0;
        double a = s_input_cost(&pr[i], &g[pv][0], false),
               b = s_input_cost(&pr[i], &g[pv][0], true);
        double c = s_input_cost(&pr[i], &g[pv][1], false),
               d = s_input_cost(&pr[i], &g[pv][1], true);
        double out = (double)g[pv][1].out * pr[i].output / 1e6;
        printf("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", pr[i].model, a, b, c, d,
               b > 0 ? d / b : 0, out);
    }
    return 0;
}

/* ------------------------------------------------- reply-format floor -- */

typedef struct {
    struct event_base *base;
    agt_outcome_t *out;
} s_one_t;

static void s_on_one(void *arg, uint64_t turn_id, agt_outcome_t *o)
{
    s_one_t *x = arg;
    (void)turn_id;
    x->out = o;
    event_base_loopbreak(x->base);
}

/* CALLS decisions of each reply format on each wire format against url. */
static int s_formats(const char *url, int calls)
{
    static const char *const formats[] = {"text", "json_object", "json_schema", "tools"};
    static const char *const providers[] = {"openai", "anthropic"};
    bench_t b;
    if (s_setup(&b, 0) != 0) return 1;
    b.seat.base_url = (char *)url;
    b.seat.max_tokens = 200;
    b.seat.timeout = 120;
    printf("replies that parse, %d calls per row, max_tokens 200, %s:\n", calls, url);
    printf("| wire format | reply_format | parsed | with actions | cut at max_tokens | tool calls "
           "| failed calls | mean s |\n|---|---|---|---|---|---|---|---|\n");
    for (int pv = 0; pv < 2; pv++)
        for (int f = 0; f < 4; f++) {
            if (pv == 1 && f == 1) continue; /* anthropic has no json_object: refused */
            b.seat.provider = (char *)providers[pv];
            b.seat.reply_format = (char *)formats[f];
            void *p = NULL;
            char err[256];
            if (agt_llm_ops.create(&p, &b.ctx, err, sizeof err) != 0) {
                fprintf(stderr, "create: %s\n", err);
                return 1;
            }
            int parsed = 0, acted = 0, cut = 0, tools = 0, failed = 0;
            double t0 = s_now();
            for (int i = 0; i < calls; i++) {
                s_one_t x = {.base = b.base};
                agt_llm_ops.decide(p, (uint64_t)i + 1, &b.obs, 0, s_on_one, &x);
                event_base_dispatch(b.base);
                if (!x.out || x.out->n_calls != 1 || x.out->calls[0].http_status != 200) {
                    failed++;
                } else {
                    const agt_call_t *c = &x.out->calls[0];
                    /* a decision was found, with or without usable actions */
                    if (!strstr(x.out->empty_reason, "no JSON object")) parsed++;
                    if (env_decision_count(x.out->decision) > 0) acted++;
                    if (!strcmp(c->stop_reason, "max_tokens")) cut++;
                    if (c->tool_calls > 0) tools++;
                }
                agt_outcome_destroy(&x.out);
            }
            double mean = (s_now() - t0) / calls;
            agt_llm_ops.destroy(p);
            printf("| %s | %s | %d/%d (%.0f%%) | %d | %d | %d | %d | %.2f |\n", providers[pv],
                   formats[f], parsed, calls, 100.0 * parsed / calls, acted, cut, tools, failed,
                   mean);
            fflush(stdout);
        }
    s_teardown(&b);
    return 0;
}

static void s_usage(FILE *to)
{
    fprintf(to,
            "usage: PARLEY_BIN=build/bin bench_llm [ROUNDS_SIMULTANEOUS [ROUNDS_SEQUENTIAL]]\n"
            "       PARLEY_BIN=build/bin bench_llm --cache [ROUNDS [PRICES.csv]]\n"
            "       bench_llm --formats URL [CALLS]\n"
            "What the llm policy costs, against parley-fake-llm (bench/RESULTS.md, \"LLM agents\"\n"
            "and \"Prompt caching\"): whole games' round times (default 5 simultaneous and 2\n"
            "sequential rounds), decisions on one loop, a seat's memory, prompt prefix shares;\n"
            "--cache: the paper and cache prompts' prefix shares, tokens and cost per game\n"
            "(default 20 rounds, bench/prices.csv); --formats: the share of replies that parse\n"
            "per reply format against a real server at URL (default 10 calls each).\n");
}

/* A count argument: a positive integer, or the default when absent. */
static int s_count(int argc, char **argv, int i, int dflt)
{
    if (argc <= i) return dflt;
    char *end;
    long v = strtol(argv[i], &end, 10);
    if (*argv[i] == '\0' || *end != '\0' || v < 1 || v > 100000) {
        fprintf(stderr, "bench_llm: '%s' is not a count (1 to 100000)\n", argv[i]);
        s_usage(stderr);
        exit(2);
    }
    return (int)v;
}

int main(int argc, char **argv)
{
    pl_log_set_level("warn");
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        s_usage(stdout);
        return 0;
    }
    if (argc > 1 && argv[1][0] == '-' && strcmp(argv[1], "--cache") != 0 &&
        strcmp(argv[1], "--formats") != 0) {
        fprintf(stderr, "bench_llm: unknown option '%s'\n", argv[1]);
        s_usage(stderr);
        return 2;
    }
    if (argc > 1 && !strcmp(argv[1], "--formats") && argc < 3) {
        fprintf(stderr, "bench_llm: --formats needs the server's URL\n");
        s_usage(stderr);
        return 2;
    }
    if (strcmp(argc > 1 ? argv[1] : "", "--formats") == 0)
        return s_formats(argv[2], s_count(argc, argv, 3, 10));
    if (strcmp(argc > 1 ? argv[1] : "", "--cache") == 0)
        return s_cache_bench(s_count(argc, argv, 2, 20),
                             argc > 3 ? argv[3] : PARLEY_SOURCE_DIR "/bench/prices.csv");
    int rounds_sim = s_count(argc, argv, 1, 5), rounds_seq = s_count(argc, argv, 2, 2);
    const char *slow[] = {"--delay", "1", NULL};
    int port;
    pid_t fake = fake_start(slow, &port);
    if (fake < 0) {
        fprintf(stderr, "bench_llm: cannot start parley-fake-llm (set PARLEY_BIN)\n");
        return 1;
    }
    setenv("BENCH_LLM_KEY", "sk-bench", 1); /* the fake asks for no key; the seats want one */
    s_game_t gsim, gseq;
    printf("parley run, 10 llm seats (5 openai, 5 anthropic), endpoint answering after 1 s:\n");
    fflush(stdout);
    if (s_game("simultaneous", rounds_sim, port, &gsim) != 0) return 1;
    s_print_game("simultaneous", &gsim);
    fflush(stdout);
    if (s_game("sequential", rounds_seq, port, &gseq) != 0) return 1;
    s_print_game("sequential", &gseq);
    printf("  sequential / simultaneous round time: %.1fx\n", gseq.mean_s / gsim.mean_s);

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

    /* one prompt a turn; the cache prompt is a conversation: bench_llm --cache */
    for (int l = 0; l < LLM_LAYOUT_COUNT; l++) {
        if (l == LLM_LAYOUT_CACHE) continue;
        double mean, min;
        size_t len;
        s_prefix((llm_layout_t)l, &mean, &min, &len);
        printf("prefix share, %s layout: mean %.3f, min %.3f (mean prompt %zu bytes)\n",
               llm_layout_name((llm_layout_t)l), mean, min, len);
    }
    return 0;
}
