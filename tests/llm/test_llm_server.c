/* test_llm_server.c: llm seats against a real model server, llama.cpp's
 * llama-server (../shared/llm-server: a third-party implementation of OpenAI's
 * chat completions and of Anthropic's Messages API, with a 9 MB random-weight
 * model). Nothing here is a stand-in: the test starts the server itself on a
 * free port of 127.0.0.1 (a new port if it loses the race for one), then plays
 * short games through `parley run` with two seats on each endpoint, once per
 * reply format, and reads what a user reads afterwards in events.jsonl: one call
 * per turn, HTTP 200, tokens in and out, the model and fingerprint the server
 * reported, the stop reason as such, the reply format asked for and its trace in
 * the request body, and a reply that parses.
 *
 * The server enforces json_schema on /v1/chat/completions (by its own grammar)
 * and, by the default grammar start.sh gives it, holds every other reply to a
 * well-formed decision. It cannot make this model call tools, nor does its
 * /v1/messages enforce a forced tool: there the test checks that a reply without
 * a tool call is recorded as one (tool_calls 0) and that the game goes on; the
 * tool-call success path is tested in test_llm_policy against vendor-shaped
 * replies from parley-fake-llm.
 *
 * Without the server (no $PARLEY_LLM_SERVER, no ../shared/llm-server beside the
 * source tree) the test says so loudly and exits 77, which ctest reports as
 * skipped; with PARLEY_REQUIRE_LLM_SERVER set (.ci/run sets it) it fails
 * instead, so that CI cannot pass without having played against the server. */
#include "e2e.h"
#include "parley_proc.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define ROUNDS  2
#define GAME_MS 240000
#define SKIPPED 77

static char s_dir[PATH_MAX]; /* the server: start.sh, llama-server, model.gguf */
static char s_work[1024];    /* this run's temporary directory */
static int s_port;
static pid_t s_server = -1, s_watch = -1;

/* ------------------------------------------------------------- server -- */

static bool s_server_dir(void)
{
    const char *env = getenv("PARLEY_LLM_SERVER");
    const char *src = getenv("PARLEY_SRC");
    if (env && *env)
        snprintf(s_dir, sizeof s_dir, "%s", env);
    else
        snprintf(s_dir, sizeof s_dir, "%s/../shared/llm-server", src ? src : "..");
    char path[PATH_MAX + 32], real[PATH_MAX];
    if (!realpath(s_dir, real)) return false; /* absolute: start.sh runs from elsewhere */
    snprintf(s_dir, sizeof s_dir, "%s", real);
    snprintf(path, sizeof path, "%s/start.sh", s_dir);
    if (access(path, X_OK) != 0) return false;
    snprintf(path, sizeof path, "%s/llama-server", s_dir);
    return access(path, X_OK) == 0;
}

/* A child that outlives nothing: when this test dies, however it dies, the
 * kernel tells the watcher (PR_SET_PDEATHSIG) and the watcher stops the server,
 * which start.sh left running in the background. */
static pid_t s_watcher(pid_t server)
{
    pid_t w = fork();
    if (w != 0) return w;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) kill(server, SIGTERM); /* the parent is already gone */
    int sig;
    sigwait(&set, &sig);
    kill(server, SIGTERM);
    _exit(0);
}

/* start.sh PORT on a free port; a port taken between the probe and the bind
 * makes llama-server exit and start.sh fail: try another. */
static int s_start_server(void)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        s_port = e2e_free_port();
        if (s_port <= 0) continue;
        char cmd[3 * PATH_MAX];
        snprintf(cmd, sizeof cmd, "cd '%s' && LLAMA_LOG='%s/llama-server.log' '%s/start.sh' %d",
                 s_work, s_work, s_dir, s_port);
        FILE *p = popen(cmd, "r");
        if (!p) return -1;
        char line[64] = "";
        char *got = fgets(line, sizeof line, p);
        int rc = pclose(p);
        long pid = got ? strtol(line, NULL, 10) : 0;
        if (rc == 0 && pid > 1) {
            s_server = (pid_t)pid;
            s_watch = s_watcher(s_server);
            return 0;
        }
        fprintf(stderr, "llama-server did not start on port %d (attempt %d); retrying\n", s_port,
                attempt + 1);
    }
    return -1;
}

static void s_stop_server(void)
{
    if (s_server > 0) {
        kill(s_server, SIGTERM);
        for (int i = 0; i < 100 && kill(s_server, 0) == 0; i++) usleep(50000);
        if (kill(s_server, 0) == 0) kill(s_server, SIGKILL);
        s_server = -1;
    }
    if (s_watch > 0) {
        kill(s_watch, SIGKILL);
        waitpid(s_watch, NULL, 0);
        s_watch = -1;
    }
}

static int s_group_setup(void **state)
{
    (void)state;
    snprintf(s_work, sizeof s_work, "%s", e2e_tmpdir("llmserver"));
    if (s_start_server() != 0) {
        fprintf(stderr, "llama-server would not start: see %s/llama-server.log\n", s_work);
        return -1;
    }
    print_message("llama-server from %s on 127.0.0.1:%d (pid %d)\n", s_dir, s_port, (int)s_server);
    return 0;
}

static int s_group_teardown(void **state)
{
    (void)state;
    s_stop_server();
    return 0;
}

/* --------------------------------------------------------------- game -- */

static const char *s_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static long s_int(json_t *o, const char *key)
{
    return (long)json_integer_value(json_object_get(o, key));
}

static const char *s_prompt = "paper"; /* llm.prompt of the next game */
static int s_rounds = ROUNDS;          /* and its length */
static int s_valid;                    /* actions the game accepted, all games */

/* One game: agent_1, agent_2 on /v1/chat/completions with `oa_format`,
 * agent_3, agent_4 on /v1/messages with `an_format`. */
static void s_game(const char *oa_format, const char *an_format)
{
    char dir[1200], run[1300], text[2048];
    snprintf(dir, sizeof dir, "%s/%s-%s-%s", s_work, s_prompt, oa_format, an_format);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(text, sizeof text,
             "seed: 3\n"
             "simulation: {rounds: %d, agents: 4}\n"
             "information: {total_pieces: 16, pieces_per_agent: 4}\n"
             "timing: {turn_timeout: 60}\n"
             "llm: {prompt: %s}\n"
             "seats:\n"
             "  - {policy: llm, count: 2, provider: openai, model: tiny, max_tokens: 120,\n"
             "     base_url: \"http://127.0.0.1:%d/v1\", reply_format: %s, timeout: 50}\n"
             "  - {policy: llm, count: 2, provider: anthropic, model: tiny, max_tokens: 120,\n"
             "     base_url: \"http://127.0.0.1:%d/v1\", reply_format: %s, timeout: 50}\n",
             s_rounds, s_prompt, s_port, oa_format, s_port, an_format);
    const char *cfg = e2e_write(dir, "game.yaml", text);
    const char *args[] = {cfg, "--out", run, "--quiet", NULL};
    char out[4096], err[8192];
    int rc = parley_run(dir, args, GAME_MS, out, sizeof out, err, sizeof err);
    if (rc != 0) fail_msg("parley run exited %d\nstdout: %s\nstderr: %s", rc, out, err);

    /* the game went on to its end, every turn decided */
    json_t *all = e2e_events(run, NULL);
    assert_non_null(all);
    assert_string_equal(s_str(json_array_get(all, json_array_size(all) - 1), "type"), "run_end");
    json_decref(all);
    json_t *missed = e2e_events(run, "missed_turn");
    assert_int_equal(json_array_size(missed), 0);
    json_decref(missed);

    /* the actions the game accepted: what the model's decisions did */
    json_t *acts = e2e_events(run, "action");
    int valid = 0;
    size_t ai;
    json_t *ae;
    json_array_foreach(acts, ai, ae) valid += json_is_true(json_object_get(ae, "ok"));
    int n_acts = (int)json_array_size(acts);
    json_decref(acts);

    json_t *dec = e2e_events(run, "decision");
    assert_int_equal(json_array_size(dec), 4 * s_rounds);
    int parsed = 0, with_actions = 0, cut = 0, no_tool = 0, failed = 0;
    size_t i;
    json_t *d;
    json_array_foreach(dec, i, d)
    {
        int a = atoi(s_str(d, "agent") + 6);
        bool oa = a <= 2;
        const char *format = oa ? oa_format : an_format;
        json_t *calls = json_object_get(d, "calls");
        assert_int_equal(json_array_size(calls), 1);
        json_t *c = json_array_get(calls, 0);
        const char *stop = s_str(c, "stop_reason"), *empty = s_str(d, "empty_reason");
        print_message(
            "  %s %-9s %-11s HTTP %ld, %ld+%ld tokens (%ld cached), stop %s (%s), %ld tool "
            "call(s), %ld action(s)%s%s\n",
            s_str(d, "agent"), oa ? "openai" : "anthropic", format, s_int(c, "http_status"),
            s_int(c, "tokens_in"), s_int(c, "tokens_out"), s_int(c, "tokens_cached"), stop,
            s_str(c, "finish_reason"), s_int(c, "tool_calls"), s_int(d, "actions"),
            empty[0] ? ": " : "", empty);
        assert_string_equal(s_str(c, "provider"), oa ? "openai" : "anthropic");
        assert_string_equal(s_str(c, "reply_format"), format);
        const char *error = s_str(c, "error");
        if (s_int(c, "http_status") != 200) {
            /* llama-server answers 500 now and then when its own chat-template parser
             * cannot read a reply: retried, and if it persists, an empty turn that
             * says so; the game goes on */
            assert_int_equal(s_int(c, "http_status"), 500);
            assert_non_null(strstr(error, "HTTP 500"));
            assert_non_null(strstr(empty, "model call failed"));
            failed++;
            continue;
        }
        if (error[0] && strncmp(error, "recovered after", 15) != 0)
            fail_msg("%s: a call that succeeded records an error: %s", s_str(d, "agent"), error);
        assert_true(s_int(c, "tokens_in") > 0);
        assert_true(s_int(c, "tokens_out") > 0);
        /* what the server said it ran (start.sh's --alias), and its build */
        assert_string_equal(s_str(c, "model_reported"), "tiny-random");
        if (oa) assert_true(strlen(s_str(c, "system_fingerprint")) > 0);
        if (strcmp(stop, "end") != 0 && strcmp(stop, "max_tokens") != 0)
            fail_msg("stop reason \"%s\" (%s)", stop, s_str(c, "finish_reason"));
        /* the request asked in the provider's own way */
        const char *rq = s_str(c, "request_body");
        if (!strcmp(format, "json_schema"))
            assert_non_null(strstr(rq, oa ? "\"type\":\"json_schema\"" : "\"tool_choice\""));
        if (!strcmp(format, "tools")) assert_non_null(strstr(rq, "\"tools\""));
        if (!strcmp(format, "json_object")) assert_non_null(strstr(rq, "\"json_object\""));
        if (!strcmp(format, "text")) assert_null(strstr(rq, "\"tools\""));
        /* the cache prompt's hints were accepted (HTTP 200 above); after the
         * first round the seat's earlier decisions are in the request as
         * compact JSON assistant messages */
        if (!strcmp(s_prompt, "cache")) {
            assert_non_null(strstr(rq, oa ? "\"prompt_cache_key\"" : "\"cache_control\""));
            if (s_int(d, "round") > 1) {
                const char *asst = strstr(rq, "\"role\":\"assistant\"");
                assert_non_null(asst);
                assert_non_null(strstr(asst, "{\\\"actions\\\":["));
            }
            print_message("    prefix share %.3f\n",
                          json_real_value(json_object_get(c, "prefix_share")));
        }
        /* this model calls no tools: recorded as such, the text read as a decision */
        bool tools_asked = !strcmp(format, "tools") || (!oa && !strcmp(format, "json_schema"));
        if (tools_asked) {
            assert_int_equal(s_int(c, "tool_calls"), 0);
            no_tool++;
        }
        if (!strcmp(stop, "max_tokens")) {
            cut++;
            if (s_int(d, "actions") == 0) assert_non_null(strstr(empty, "cut at max_tokens (120)"));
            continue;
        }
        /* a reply that ended by itself parsed (the grammar or the schema held it) */
        if (strstr(empty, "no JSON object"))
            fail_msg("%s: unparsed reply: %s", s_str(d, "agent"), empty);
        parsed++;
        if (s_int(d, "actions") > 0) with_actions++;
    }
    json_decref(dec);
    print_message("%s / %s: %d of %d replies parsed, %d with actions, %d cut at max_tokens, "
                  "%d without the tool call asked for, %d calls failed; %d of %d actions "
                  "valid\n",
                  oa_format, an_format, parsed, 4 * s_rounds, with_actions, cut, no_tool, failed,
                  valid, n_acts);
    assert_true(parsed > 0);
    assert_true(failed <=
                4 * s_rounds / 4); /* a server that fails more is not one to test against */
    s_valid += valid;
}

static void test_text(void **state)
{
    (void)state;
    s_game("text", "text");
}

static void test_json_object(void **state)
{
    (void)state;
    s_game("json_object", "text"); /* anthropic has no JSON-object mode: refused at load */
}

static void test_json_schema(void **state)
{
    (void)state;
    s_game("json_schema", "json_schema");
}

static void test_tools(void **state)
{
    (void)state;
    s_game("tools", "tools");
}

/* The cache prompt: a conversation with its cache hints, on both endpoints. */
static void test_cache_prompt(void **state)
{
    (void)state;
    s_prompt = "cache";
    s_rounds = 3; /* two turns with the kept decisions before them */
    s_valid = 0;
    s_game("text", "text");
    s_game("json_schema", "json_schema");
    /* the seats played on: the game took some of their actions as valid (a
     * random model's choice; over 24 replies, some) */
    assert_true(s_valid > 0);
    s_prompt = "paper";
    s_rounds = ROUNDS;
}

int main(void)
{
    if (!s_server_dir()) {
        fprintf(stderr,
                "\n"
                "**********************************************************************\n"
                "* SKIPPED test_llm_server: no llama-server at %s\n"
                "* (set PARLEY_LLM_SERVER to the directory of start.sh)\n"
                "**********************************************************************\n",
                s_dir);
        printf("SKIPPED: no llama-server at %s\n", s_dir);
        const char *req = getenv("PARLEY_REQUIRE_LLM_SERVER");
        if (req && *req && strcmp(req, "0") != 0) {
            fprintf(stderr, "PARLEY_REQUIRE_LLM_SERVER is set (CI): a missing server fails\n");
            return 1;
        }
        return SKIPPED;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),         cmocka_unit_test(test_json_object),
        cmocka_unit_test(test_json_schema),  cmocka_unit_test(test_tools),
        cmocka_unit_test(test_cache_prompt),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
