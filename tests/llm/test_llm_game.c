/* test_llm_game.c: `llm` seats end to end, as a user runs them.
 *
 * parley-fake-llm (tests/llm) stands in for the model APIs on 127.0.0.1 with an
 * ephemeral port; `parley run` ($PARLEY_BIN) starts the broker and ten
 * parley-agent processes with `policy: llm`, half speaking OpenAI's wire format,
 * half Anthropic's, all pointed at the fake through base_url. What is checked is
 * what a user reads afterwards: the result line, and a run directory that holds
 * every model call (model reported, tokens, latency, attempts, status), the
 * request and reply of every call per seat, and never the API key. A second game
 * meets injected faults (429 with Retry-After, 500, a reply slower than the HTTP
 * timeout, malformed and truncated bodies, a closed connection, a refused
 * request, an endpoint that hangs until the turn's budget is spent): the game
 * finishes, each fault is either retried and survived or ends its turn as an
 * empty one whose reason is in events.jsonl, and nothing recorded is lost (the
 * HTTP requests the fake served are exactly the attempts recorded). */
#include "e2e.h"
#include "fake_proc.h"
#include "parley_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#define KEY_VAR "PARLEY_TEST_LLM_KEY"
#define ROUNDS  6
#define N_SEATS 10
#define GAME_MS 120000 /* a game that takes longer than this is a hang */

static char s_key[64]; /* this run's API key: unique, so that finding it means a leak */

/* ------------------------------------------------------------ helpers -- */

static int s_parley(const char *dir, const char *const *args, char *out, size_t outlen, char *err,
                    size_t errlen)
{
    return parley_run(dir, args, GAME_MS, out, outlen, err, errlen);
}

/* The configuration of a game of 5 openai and 5 anthropic seats against the
 * fake on `port`; `extra` is appended (YAML). Returns its path. */
static const char *s_config_rounds(const char *dir, int port, int rounds, const char *seat_extra,
                                   const char *extra);

static const char *s_config(const char *dir, int port, const char *seat_extra, const char *extra)
{
    return s_config_rounds(dir, port, ROUNDS, seat_extra, extra);
}

/* The same, `rounds` long. */
static const char *s_config_rounds(const char *dir, int port, int rounds, const char *seat_extra,
                                   const char *extra)
{
    char text[4096];
    snprintf(text, sizeof text,
             "seed: 5\n"
             "simulation: {rounds: %d}\n"
             "seats:\n"
             "  - {policy: llm, count: 5, provider: openai, model: gpt-fake,\n"
             "     base_url: \"http://127.0.0.1:%d/v1\", api_key_env: %s%s}\n"
             "  - {policy: llm, count: 5, provider: anthropic, model: claude-fake,\n"
             "     base_url: \"http://127.0.0.1:%d/v1\", api_key_env: %s%s}\n"
             "prices:\n"
             "  gpt-fake: {input: 1.0, output: 4.0}\n"
             "  claude-fake: {input: 3.0, output: 15.0}\n"
             "%s",
             rounds, port, KEY_VAR, seat_extra, port, KEY_VAR, seat_extra, extra);
    return e2e_write(dir, "game.yaml", text);
}

static const char *s_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* How many requests the fake served (GET /stats), or -1. */
static long s_fake_requests(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char buf[4096];
    size_t len = 0;
    const char *req = "GET /stats HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req)) {
        ssize_t n;
        while (len + 1 < sizeof buf && (n = recv(fd, buf + len, sizeof buf - 1 - len, 0)) > 0)
            len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    const char *body = strstr(buf, "\r\n\r\n");
    json_t *j = body ? json_loads(body + 4, 0, NULL) : NULL;
    long n = j ? (long)json_integer_value(json_object_get(j, "requests")) : -1;
    json_decref(j);
    return n;
}

/* Whether the file at path contains text. */
static bool s_file_has(const char *path, const char *text)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    size_t n = strlen(text), len = 0, cap = 1 << 16;
    char *data = malloc(cap);
    size_t got;
    while (data && (got = fread(data + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) data = realloc(data, cap *= 2);
    }
    fclose(f);
    bool hit = false;
    for (size_t i = 0; data && !hit && i + n <= len; i++) hit = memcmp(data + i, text, n) == 0;
    free(data);
    return hit;
}

/* The first file under dir (any depth) that contains text, into out; false if none. */
static bool s_grep_dir(const char *dir, const char *text, char *out, size_t outlen)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    bool hit = false;
    while (!hit && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode))
            hit = s_grep_dir(path, text, out, outlen);
        else if (S_ISREG(st.st_mode) && s_file_has(path, text)) {
            snprintf(out, outlen, "%s", path);
            hit = true;
        }
    }
    closedir(d);
    return hit;
}

typedef struct {
    const char *dir;
    char run[1100];
    pid_t fake;
    int port;
} fx_t;

static int s_setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (!f) return -1;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    snprintf(s_key, sizeof s_key, "sk-parley-test-%ld-%ld", (long)getpid(), (long)tv.tv_usec);
    setenv(KEY_VAR, s_key, 1); /* parley run passes its environment to the agents */
    f->dir = strdup(e2e_tmpdir("llmgame"));
    snprintf(f->run, sizeof f->run, "%s/run", f->dir);
    *state = f;
    return f->dir ? 0 : -1;
}

static int s_teardown(void **state)
{
    fx_t *f = *state;
    fake_stop(f->fake);
    free((void *)f->dir);
    free(f);
    unsetenv(KEY_VAR);
    return 0;
}

/* ------------------------------------------------------------- tests -- */

/* Ten llm seats, two wire formats, one endpoint: tasks get done, and the run
 * directory holds every call and every transcript, never the key. */
static void test_ten_llm_seats_play_and_record(void **state)
{
    fx_t *f = *state;
    const char *fargs[] = {"--key", s_key, NULL}; /* 401 unless the key is sent */
    f->fake = fake_start(fargs, &f->port);
    assert_true(f->fake > 0);
    const char *cfg = s_config(f->dir, f->port, "", "");
    const char *args[] = {cfg, "--out", f->run, "--quiet", NULL};
    char out[4096], err[8192];
    int rc = s_parley(f->dir, args, out, sizeof out, err, sizeof err);
    char log[1200];
    snprintf(log, sizeof log, "%s/agents/agent_1.log", f->run);
    if (s_file_has(log, "unknown policy 'llm'"))
        fail_msg("parley-agent was linked without the llm policy (agent/CMakeLists.txt)");
    if (rc != 0) fail_msg("parley run exited %d\nstdout: %s\nstderr: %s", rc, out, err);
    assert_non_null(strstr(out, "% of optimal"));

    json_t *sum = e2e_json(f->run, "summary.json");
    assert_non_null(sum);
    long long tasks = (long long)json_integer_value(json_object_get(sum, "tasks"));
    print_message("10 llm seats, %d rounds: %s", ROUNDS, out);
    assert_true(tasks > 0);
    json_decref(sum);

    /* Every seat played every turn through its model, and completed a task. */
    json_t *missed = e2e_events(f->run, "missed_turn");
    assert_non_null(missed);
    assert_int_equal(json_array_size(missed), 0);
    json_decref(missed);
    json_t *done = e2e_events(f->run, "task_completed");
    for (int a = 1; a <= N_SEATS; a++) {
        char id[16];
        snprintf(id, sizeof id, "agent_%d", a);
        bool any = false;
        size_t i;
        json_t *e;
        json_array_foreach(done, i, e) any = any || strcmp(s_str(e, "agent"), id) == 0;
        if (!any) fail_msg("%s completed no task", id);
    }
    json_decref(done);

    json_t *dec = e2e_events(f->run, "decision");
    assert_non_null(dec);
    assert_int_equal(json_array_size(dec), N_SEATS * ROUNDS);
    int per_seat[N_SEATS + 1] = {0};
    size_t i;
    json_t *d;
    json_array_foreach(dec, i, d)
    {
        const char *agent = s_str(d, "agent");
        int a = atoi(agent + 6);
        assert_true(a >= 1 && a <= N_SEATS);
        json_t *calls = json_object_get(d, "calls");
        assert_int_equal(json_array_size(calls), 1);
        json_t *c = json_array_get(calls, 0);
        bool oa = a <= 5;
        /* provenance: who was asked, who answered, what it cost */
        assert_string_equal(s_str(c, "provider"), oa ? "openai" : "anthropic");
        assert_string_equal(s_str(c, "model_requested"), oa ? "gpt-fake" : "claude-fake");
        assert_string_equal(s_str(c, "model_reported"),
                            oa ? "gpt-fake-fake-0001" : "claude-fake-fake-0001");
        assert_int_equal(json_integer_value(json_object_get(c, "http_status")), 200);
        assert_int_equal(json_integer_value(json_object_get(c, "attempts")), 1);
        assert_true(json_is_real(json_object_get(c, "latency_s")));
        assert_true(json_integer_value(json_object_get(c, "tokens_in")) > 0);
        assert_true(json_integer_value(json_object_get(c, "tokens_out")) > 0);
        assert_true(json_real_value(json_object_get(c, "cost_usd")) > 0);
        assert_string_equal(s_str(c, "error"), "");
        /* the transcript: this seat's prompt for this round, and the model's reply */
        char you[32], round[32];
        snprintf(you, sizeof you, "You are Agent %s,", agent); /* the paper template */
        snprintf(round, sizeof round, "Current Round: %lld/%d",
                 (long long)json_integer_value(json_object_get(d, "round")), ROUNDS);
        const char *rq = s_str(c, "request_body"), *rs = s_str(c, "response_body");
        if (!strstr(rq, you) || !strstr(rq, round))
            fail_msg("%s: the recorded request is not its prompt of this round", agent);
        /* the paper template's system message is recorded with it */
        assert_non_null(strstr(rq, "You are one of the agents of a corporation."));
        /* the study sent no cache hints, so the paper prompt sends none */
        assert_null(strstr(rq, "cache_control"));
        assert_null(strstr(rq, "prompt_cache_key"));
        assert_non_null(strstr(rs, oa ? "chat.completion" : "\"type\":\"message\""));
        assert_non_null(strstr(rs, "actions"));
        per_seat[a]++;
    }
    for (int a = 1; a <= N_SEATS; a++) assert_int_equal(per_seat[a], ROUNDS);
    json_decref(dec);

    /* The key reached the endpoint (it answers 401 without it) and nothing else. */
    char leak[2048];
    if (s_grep_dir(f->run, s_key, leak, sizeof leak)) fail_msg("the API key is in %s", leak);
}

/* Faults on some calls: the game finishes, each fault is retried and survived
 * or ends its turn empty with the reason recorded, and no call goes unrecorded. */
static void test_faults_survived_or_recorded(void **state)
{
    fx_t *f = *state;
    /* Sequential turns: the steps meet the turns of round 1 in order. Each
     * retryable fault is followed by a good reply (its turn survives); 404 is not
     * retried (an empty turn); the endpoint then hangs on every attempt of one
     * turn until that turn's budget is spent (an empty turn, before the broker's
     * deadline); what is left of the hang meets the next turn(s), which survive a
     * timeout or give up the same way. */
    const char *fargs[] = {"--key",   s_key,    "--close",   "--step", "429:1",     "--step",
                           "play",    "--step", "500",       "--step", "play",      "--step",
                           "slow:20", "--step", "play",      "--step", "malformed", "--step",
                           "play",    "--step", "truncated", "--step", "play",      "--step",
                           "close",   "--step", "play",      "--step", "404",       "--step",
                           "slow:20", "--step", "slow:20",   "--step", "slow:20",   "--step",
                           "slow:20", "--step", "slow:20",   "--step", "slow:20",   NULL};
    f->fake = fake_start(fargs, &f->port);
    assert_true(f->fake > 0);
    /* 1 s per HTTP attempt, 6 s per turn */
    const char *cfg = s_config(f->dir, f->port, ", timeout: 1", "timing: {turn_timeout: 6}\n");
    const char *args[] = {cfg, "--out", f->run, "--quiet", NULL};
    char out[4096], err[8192];
    int rc = s_parley(f->dir, args, out, sizeof out, err, sizeof err);
    if (rc != 0) fail_msg("parley run exited %d\nstdout: %s\nstderr: %s", rc, out, err);
    print_message("with faults: %s", out);

    /* The game finished: every line is JSON, the summary is whole. */
    json_t *all = e2e_events(f->run, NULL);
    assert_non_null(all);
    json_t *last = json_array_get(all, json_array_size(all) - 1);
    assert_string_equal(s_str(last, "type"), "run_end");
    json_decref(all);
    json_t *sum = e2e_json(f->run, "summary.json");
    assert_non_null(sum);
    long long tasks = (long long)json_integer_value(json_object_get(sum, "tasks"));
    json_decref(sum);
    json_t *done = e2e_events(f->run, "task_completed");
    assert_int_equal((long long)json_array_size(done), tasks);
    assert_true(tasks > 0);
    json_decref(done);

    /* Every turn was decided (none missed its deadline), every call recorded. */
    json_t *missed = e2e_events(f->run, "missed_turn");
    assert_int_equal(json_array_size(missed), 0);
    json_decref(missed);
    json_t *dec = e2e_events(f->run, "decision");
    assert_int_equal(json_array_size(dec), N_SEATS * ROUNDS);
    long attempts = 0;
    /* survived: what the record of a recovered call says about its first attempt */
    static const char *const survived[] = {
        "HTTP 429", "HTTP 500", "timeout", "HTTP 200: malformed", "transfer closed", "Empty reply"};
    enum { N_SURVIVED = sizeof survived / sizeof survived[0] };
    int seen[N_SURVIVED] = {0}, refused = 0, out_of_time = 0;
    size_t i;
    json_t *d;
    json_array_foreach(dec, i, d)
    {
        json_t *calls = json_object_get(d, "calls");
        assert_int_equal(json_array_size(calls), 1);
        json_t *c = json_array_get(calls, 0);
        attempts += (long)json_integer_value(json_object_get(c, "attempts"));
        const char *error = s_str(c, "error");
        long status = (long)json_integer_value(json_object_get(c, "http_status"));
        long n_actions = (long)json_integer_value(json_object_get(d, "actions"));
        const char *empty = s_str(d, "empty_reason");
        if (strncmp(error, "recovered after", 15) == 0) {
            assert_int_equal(status, 200);
            assert_true(n_actions > 0);
            for (int k = 0; k < N_SURVIVED; k++)
                if (strstr(error, survived[k])) seen[k]++;
        } else if (strstr(error, "HTTP 404")) {
            /* not retried: one attempt, an empty turn that says why */
            assert_int_equal(json_integer_value(json_object_get(c, "attempts")), 1);
            assert_int_equal(n_actions, 0);
            assert_non_null(strstr(empty, "model call failed: HTTP 404"));
            assert_non_null(strstr(empty, "model does not exist"));
            refused++;
        } else if (strstr(error, "gave up")) {
            assert_int_equal(n_actions, 0);
            assert_non_null(strstr(empty, "time budget"));
            assert_non_null(strstr(empty, "timeout"));
            out_of_time++;
        } else {
            if (error[0]) fail_msg("%s: unexpected call error: %s", s_str(d, "agent"), error);
            assert_int_equal(status, 200);
        }
    }
    json_decref(dec);
    for (int k = 0; k < N_SURVIVED; k++)
        if (!seen[k]) fail_msg("no turn survived a fault that reads '%s'", survived[k]);
    assert_int_equal(refused, 1);
    assert_true(out_of_time >= 1); /* jitter decides whether the hang reaches a second turn */

    /* Nothing lost: every request the endpoint served is an attempt on record. */
    assert_int_equal(s_fake_requests(f->port), attempts);
    char leak[2048];
    if (s_grep_dir(f->run, s_key, leak, sizeof leak)) fail_msg("the API key is in %s", leak);
}

/* reply_format tools on both wire formats: the fake answers with vendor-shaped
 * tool calls, and the game is played through them. */
static void test_tool_calls_play_a_game(void **state)
{
    fx_t *f = *state;
    const char *fargs[] = {"--key", s_key, NULL};
    f->fake = fake_start(fargs, &f->port);
    assert_true(f->fake > 0);
    const char *cfg = s_config(f->dir, f->port, ", reply_format: tools", "");
    const char *args[] = {cfg, "--out", f->run, "--quiet", NULL};
    char out[4096], err[8192];
    int rc = s_parley(f->dir, args, out, sizeof out, err, sizeof err);
    if (rc != 0) fail_msg("parley run exited %d\nstdout: %s\nstderr: %s", rc, out, err);
    print_message("10 llm seats on tool calls: %s", out);
    json_t *done = e2e_events(f->run, "task_completed");
    assert_true(json_array_size(done) > 0);
    json_decref(done);
    json_t *dec = e2e_events(f->run, "decision");
    assert_int_equal(json_array_size(dec), N_SEATS * ROUNDS);
    long calls_made[2] = {0, 0};
    size_t i;
    json_t *d;
    json_array_foreach(dec, i, d)
    {
        json_t *c = json_array_get(json_object_get(d, "calls"), 0);
        bool oa = atoi(s_str(d, "agent") + 6) <= 5;
        assert_string_equal(s_str(c, "reply_format"), "tools");
        long n = (long)json_integer_value(json_object_get(c, "tool_calls"));
        /* every action of the turn came from one tool call */
        assert_int_equal(n, (long)json_integer_value(json_object_get(d, "actions")));
        if (n) assert_string_equal(s_str(c, "stop_reason"), "tool_use");
        assert_non_null(strstr(s_str(c, "request_body"), "\"tools\""));
        calls_made[oa ? 0 : 1] += n;
    }
    json_decref(dec);
    assert_true(calls_made[0] > 0 && calls_made[1] > 0);
}

/* A message with its cache mark taken off (Anthropic's mark moves to the newest
 * message each turn; what is cached is the content). Caller decrefs. */
static json_t *s_unmarked(json_t *m)
{
    json_t *c = json_deep_copy(m);
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(c, "content"), i, b) json_object_del(b, "cache_control");
    return c;
}

/* A message's text: a string, or (Anthropic with marks) one text block. */
static const char *s_msg_text(json_t *m)
{
    json_t *c = json_object_get(m, "content");
    return json_is_string(c) ? json_string_value(c) : s_str(json_array_get(c, 0), "text");
}

static int s_count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle)) n++;
    return n;
}

/* The text of a recorded reply, as either wire format gives it. */
static char *s_reply_text(const char *body, bool oa)
{
    json_t *r = json_loads(body, 0, NULL);
    char *text = NULL;
    if (oa) {
        json_t *msg = json_object_get(json_array_get(json_object_get(r, "choices"), 0), "message");
        text = strdup(s_str(msg, "content"));
    } else {
        size_t i, len = 0;
        json_t *b;
        text = calloc(1, 1);
        json_array_foreach(json_object_get(r, "content"), i, b)
        {
            if (strcmp(s_str(b, "type"), "text") != 0) continue;
            const char *t = s_str(b, "text");
            text = realloc(text, len + strlen(t) + 1);
            memcpy(text + len, t, strlen(t) + 1);
            len += strlen(t);
        }
    }
    json_decref(r);
    return text;
}

/* Whether arrays a and b have an item in common. */
static bool s_shares_item(const json_t *a, const json_t *b)
{
    size_t i, j;
    json_t *x, *y;
    json_array_foreach(a, i, x)
    {
        json_array_foreach(b, j, y)
        {
            if (json_equal(x, y)) return true;
        }
    }
    return false;
}

/* What the cache prompt keeps of a reply (docs/LLM.md "The cache prompt"):
 * the decision the seat read from it as compact JSON, each action's keys in
 * the order type, to, answer or content, information, values (a list, one a
 * piece in order, as the fake sends one value per listed piece), then
 * private_thoughts; a send joins the first earlier send to the same
 * recipient unless that one lists one of its pieces already. Written here from the reply text
 * independently of the agent's code. Caller frees. */
static char *s_kept_expected(const char *text)
{
    const char *a = strchr(text, '{'), *b = strrchr(text, '}');
    assert_non_null(a);
    assert_non_null(b);
    json_t *r = json_loadb(a, (size_t)(b - a + 1), 0, NULL);
    assert_non_null(r);
    json_t *out = json_object(), *acts = json_array(), *x;
    size_t i;
    json_array_foreach(json_object_get(r, "actions"), i, x)
    {
        json_t *info = json_object_get(x, "information"), *p, *o, *into = NULL;
        size_t k, j;
        json_array_foreach(info ? acts : NULL, j, o)
        {
            if (json_equal(json_object_get(o, "to"), json_object_get(x, "to")) &&
                json_object_get(o, "information")) {
                into = o;
                break;
            }
        }
        if (into && s_shares_item(json_object_get(into, "information"), info)) into = NULL;
        if (into) {
            json_array_foreach(info, k, p)
            {
                json_array_append(json_object_get(into, "information"), p);
                json_array_append(
                    json_object_get(into, "values"),
                    json_object_get(json_object_get(x, "values"), json_string_value(p)));
            }
            continue;
        }
        o = json_object();
        json_object_set(o, "type", json_object_get(x, "type"));
        if (json_object_get(x, "to")) json_object_set(o, "to", json_object_get(x, "to"));
        if (json_object_get(x, "answer"))
            json_object_set(o, "answer", json_object_get(x, "answer"));
        if (json_object_get(x, "content"))
            json_object_set(o, "content", json_object_get(x, "content"));
        if (info) {
            json_object_set_new(o, "information", json_copy(info));
            json_t *vals = json_array();
            json_array_foreach(info, k, p) json_array_append(
                vals, json_object_get(json_object_get(x, "values"), json_string_value(p)));
            json_object_set_new(o, "values", vals);
        }
        json_array_append_new(acts, o);
    }
    json_object_set_new(out, "actions", acts);
    json_t *th = json_object_get(r, "private_thoughts");
    if (json_string_length(th)) json_object_set(out, "private_thoughts", th);
    char *js = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(out);
    json_decref(r);
    return js;
}

/* The cache prompt over a whole game, as the providers receive it: every
 * request of a seat is its previous request, byte for byte, then the model's
 * reply to it and one new user message; the first turn shows the whole state
 * and later ones only the news; with hints on, OpenAI requests carry one
 * prompt_cache_key per seat and Anthropic requests two cache_control marks (the
 * system block and the newest message); with llm.cache_hints: off, none. */
static void s_cache_game(fx_t *f, bool hints, int rounds)
{
    const char *fargs[] = {"--key", s_key, NULL};
    f->fake = fake_start(fargs, &f->port);
    assert_true(f->fake > 0);
    const char *cfg = s_config_rounds(f->dir, f->port, rounds, "",
                                      hints ? "llm: {prompt: cache}\n"
                                            : "llm: {prompt: cache, cache_hints: \"off\"}\n");
    const char *args[] = {cfg, "--out", f->run, "--quiet", NULL};
    char out[4096], err[8192];
    int rc = s_parley(f->dir, args, out, sizeof out, err, sizeof err);
    if (rc != 0) fail_msg("parley run exited %d\nstdout: %s\nstderr: %s", rc, out, err);
    print_message("10 llm seats on the cache prompt (hints %s): %s", hints ? "on" : "off", out);
    json_t *done = e2e_events(f->run, "task_completed");
    assert_true(json_array_size(done) > 0);
    json_decref(done);
    json_t *dec = e2e_events(f->run, "decision");
    assert_int_equal(json_array_size(dec), N_SEATS * rounds);
    json_t *prev_req[N_SEATS + 1] = {0};
    char *prev_body[N_SEATS + 1] = {0}, *prev_reply[N_SEATS + 1] = {0};
    char keys[N_SEATS + 1][128];
    memset(keys, 0, sizeof keys);
    int turns[N_SEATS + 1] = {0};
    size_t i;
    json_t *d;
    json_array_foreach(dec, i, d)
    {
        int a = atoi(s_str(d, "agent") + 6);
        bool oa = a <= 5;
        json_t *c = json_array_get(json_object_get(d, "calls"), 0);
        assert_int_equal(json_integer_value(json_object_get(c, "http_status")), 200);
        const char *body = s_str(c, "request_body");
        json_t *req = json_loads(body, 0, NULL);
        assert_non_null(req);
        json_t *msgs = json_object_get(req, "messages");
        size_t n = json_array_size(msgs);
        json_t *last = json_array_get(msgs, n - 1);
        const char *last_text = s_msg_text(last);
        assert_string_equal(s_str(last, "role"), "user");
        if (turns[a] == 0) {
            /* the first turn: the whole state, after the system part */
            assert_int_equal(n, oa ? 2 : 1);
            assert_non_null(strstr(last_text, "## Information directory (who holds what"));
        } else {
            json_t *pm = json_object_get(prev_req[a], "messages");
            size_t pn = json_array_size(pm);
            if (n != pn + 2)
                fail_msg("agent_%d turn %d: %zu messages after %zu", a, turns[a] + 1, n, pn);
            for (size_t k = 0; k < pn; k++) {
                json_t *x = s_unmarked(json_array_get(pm, k)),
                       *y = s_unmarked(json_array_get(msgs, k));
                if (!json_equal(x, y))
                    fail_msg("agent_%d turn %d: message %zu differs from the previous request's", a,
                             turns[a] + 1, k);
                json_decref(x);
                json_decref(y);
            }
            /* the decision read from the reply before this turn, kept as the
             * assistant's message: compact JSON, no fences or spacing */
            json_t *asst = json_array_get(msgs, pn);
            assert_string_equal(s_str(asst, "role"), "assistant");
            char *kept = s_kept_expected(prev_reply[a]);
            assert_string_equal(s_msg_text(asst), kept);
            free(kept);
            assert_null(strstr(s_msg_text(asst), "```"));
            assert_null(strchr(s_msg_text(asst), '\n'));
            assert_null(strstr(last_text, "## Information directory (who holds what"));
            assert_non_null(strstr(last_text, "Current Round: "));
            if (oa) {
                /* byte for byte: the previous body up to the end of its last message */
                size_t pl = strlen(prev_body[a]) - 2; /* its closing "]}" */
                if (strncmp(prev_body[a], body, pl) != 0)
                    fail_msg("agent_%d turn %d: the request does not start with the previous one",
                             a, turns[a] + 1);
            }
            assert_true(json_real_value(json_object_get(c, "prefix_share")) > 0.4);
        }
        if (oa) {
            const char *key = s_str(req, "prompt_cache_key");
            if (!hints) {
                assert_string_equal(key, "");
            } else if (turns[a] == 0) {
                assert_true(strlen(key) > 0 && strlen(key) < sizeof keys[a]);
                for (int b = 1; b <= 5; b++) assert_string_not_equal(keys[b], key);
                snprintf(keys[a], sizeof keys[a], "%s", key);
            } else {
                assert_string_equal(keys[a], key);
            }
        } else {
            json_t *mark = json_object_get(
                json_object_get(json_array_get(json_object_get(req, "system"), 0), "cache_control"),
                "type");
            json_t *lmark =
                json_object_get(json_object_get(json_array_get(json_object_get(last, "content"), 0),
                                                "cache_control"),
                                "type");
            if (hints) {
                assert_string_equal(json_string_value(mark), "ephemeral");
                assert_string_equal(json_string_value(lmark), "ephemeral");
                assert_int_equal(s_count(body, "cache_control"), 2); /* Anthropic allows 4 */
            } else {
                assert_int_equal(s_count(body, "cache_control"), 0);
            }
        }
        json_decref(prev_req[a]);
        prev_req[a] = req;
        free(prev_body[a]);
        prev_body[a] = strdup(body);
        free(prev_reply[a]);
        prev_reply[a] = s_reply_text(s_str(c, "response_body"), oa);
        turns[a]++;
    }
    for (int a = 1; a <= N_SEATS; a++) {
        assert_int_equal(turns[a], rounds);
        json_decref(prev_req[a]);
        free(prev_body[a]);
        free(prev_reply[a]);
    }
    json_decref(dec);
}

static void test_cache_prompt_appends_with_hints(void **state)
{
    s_cache_game(*state, true, 20); /* the paper preset's whole game */
}

static void test_cache_prompt_hints_off(void **state)
{
    s_cache_game(*state, false, ROUNDS);
}

/* `parley run` checks every llm seat's key before it starts anything. */
static void test_missing_key_reported_before_start(void **state)
{
    fx_t *f = *state;
    unsetenv(KEY_VAR);
    const char *cfg = s_config(f->dir, 9, "", ""); /* nothing listens: nothing may be asked */
    const char *args[] = {cfg, "--out", f->run, "--quiet", NULL};
    char out[4096], err[8192];
    int rc = s_parley(f->dir, args, out, sizeof out, err, sizeof err);
    assert_int_equal(rc, 3); /* a configuration refused (docs/CLI.md) */
    assert_non_null(strstr(err, KEY_VAR));
    char path[1200];
    snprintf(path, sizeof path, "%s/events.jsonl", f->run);
    assert_int_not_equal(access(path, F_OK), 0); /* no broker, no game */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ten_llm_seats_play_and_record, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_faults_survived_or_recorded, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tool_calls_play_a_game, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cache_prompt_appends_with_hints, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cache_prompt_hints_off, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_missing_key_reported_before_start, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
