/* test_web_terminal.c: a person plays `parley-agent --policy human` through a
 * pseudo-terminal beside nine perfect agents, to a completed task: bad
 * commands get a clear error, `complete` and Tab complete names, requests go
 * out as messages, the pieces arrive, `submit TASK` completes the task. */
#include "e2e.h"

#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "web_util.h"

static const char *const s_config = "seed: 4\n"
                                    "simulation: {rounds: 6}\n"
                                    "timing: {human_turn_timeout: 60}\n"
                                    /* a person asks in their own words, which
                                     * the study's perfect agent ignores */
                                    "rules: {answer_request_form_only: false}\n"
                                    "seats:\n"
                                    "  - {policy: human}\n"
                                    "  - {policy: perfect, count: 9}\n";

/* What the terminal showed so far, and where the last expectation matched. */
static char s_out[1 << 20];
static size_t s_len, s_mark;
static int s_pty = -1;

/* Reads the terminal until `needle` appears after the mark (then moves the
 * mark past it) or timeout_ms pass. */
static bool s_expect(const char *needle, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        s_out[s_len] = '\0';
        char *hit = strstr(s_out + s_mark, needle);
        if (hit) {
            s_mark = (size_t)(hit - s_out) + strlen(needle);
            return true;
        }
        struct pollfd p = {s_pty, POLLIN, 0};
        if (poll(&p, 1, 50) > 0) {
            ssize_t n = read(s_pty, s_out + s_len, sizeof s_out - s_len - 1);
            if (n > 0) s_len += (size_t)n;
            if (n <= 0 && errno != EINTR && errno != EAGAIN) return false;
        }
    }
    fprintf(stderr, "terminal did not show '%s'; it showed:\n%s\n", needle, s_out + s_mark);
    return false;
}

static void s_type(const char *text)
{
    size_t n = strlen(text);
    assert_int_equal(write(s_pty, text, n), (ssize_t)n);
}

/* The first holder (initially, from the world event) of a piece. */
static const char *s_holder(json_t *world, const char *piece)
{
    size_t i, k;
    json_t *a, *p;
    json_array_foreach(json_object_get(world, "agents"), i, a)
    {
        json_array_foreach(json_object_get(a, "holds"), k, p)
        {
            if (strcmp(json_string_value(p), piece) == 0)
                return json_string_value(json_object_get(a, "id"));
        }
    }
    return NULL;
}

static void test_web_terminal_human(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("web-tty");
    const char *config = e2e_write(dir, "game.yaml", s_config);
    const char *extra[] = {"--no-http", "--start-timeout", "30", NULL};
    e2e_broker_t b;
    assert_int_equal(e2e_broker_start(&b, config, dir, NULL, extra), 0);
    web_child(b.pid);

    /* The person's terminal. */
    char prog[1024], token[128];
    const char *bin = getenv("PARLEY_BIN");
    snprintf(prog, sizeof prog, "%s/parley-agent", bin ? bin : ".");
    snprintf(token, sizeof token, "PARLEY_TOKEN=%s", e2e_token(dir, "agent_1"));
    struct winsize ws = {.ws_row = 50, .ws_col = 200};
    pid_t human = forkpty(&s_pty, NULL, NULL, &ws);
    assert_true(human >= 0);
    if (human == 0) {
        putenv(token);
        execl(prog, prog, "--broker", b.router, "--seat", "agent_1", "--policy", "human",
              "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    web_child(human);
    for (int i = 2; i <= 10; i++) {
        char seat[16];
        snprintf(seat, sizeof seat, "agent_%d", i);
        assert_true(web_child(e2e_agent(b.router, dir, seat, "perfect")) > 0);
    }

    assert_true(s_expect("=== agent_1, round 1/6", 30000));
    assert_true(s_expect("> ", 5000));

    /* Bad commands: each a clear error, and the turn goes on. */
    s_type("fly away\n");
    assert_true(s_expect("error: unknown command 'fly' (type help)", 5000));
    s_type("msg agent_99 hello\n");
    assert_true(s_expect("error: unknown agent 'agent_99'", 5000));
    s_type("send agent_2 No such piece=5\n");
    assert_true(s_expect("error: unknown piece 'No such piece'", 5000));
    s_type("submit\n");
    assert_true(s_expect("error: usage: submit TASK_ID", 5000));
    s_type("help\n");
    assert_true(s_expect("send AGENT PIECE[=V]", 5000));

    /* Completion: by command, and Tab on the terminal. */
    s_type("complete agent_1\n");
    assert_true(s_expect("agent_10", 5000));
    s_type("broadc\t");
    assert_true(s_expect("broadcast ", 5000));
    s_type("hello from a person\n");
    assert_true(s_expect("queued 1: broadcast: hello from a person", 5000));

    /* The first task and who holds its pieces, from the record. */
    json_t *worlds = e2e_events(dir, "world");
    json_t *world = json_array_get(worlds, 0);
    json_t *tasks = e2e_events(dir, "task_new");
    json_t *task = NULL;
    size_t i;
    json_t *ev;
    json_array_foreach(tasks, i, ev)
    {
        if (!task && strcmp(json_string_value(json_object_get(ev, "agent")), "agent_1") == 0)
            task = ev;
    }
    assert_non_null(task);
    const char *task_id = json_string_value(json_object_get(task, "task"));
    int asked = 0;
    json_t *piece;
    json_array_foreach(json_object_get(task, "pieces"), i, piece)
    {
        const char *name = json_string_value(piece);
        const char *holder = s_holder(world, name);
        assert_non_null(holder);
        if (strcmp(holder, "agent_1") == 0) continue;
        char cmd[512];
        snprintf(cmd, sizeof cmd, "msg %s Please send me %s\n", holder, name);
        s_type(cmd);
        assert_true(s_expect("queued", 5000));
        asked++;
    }
    s_type("list\n");
    assert_true(s_expect("1. broadcast: hello from a person", 5000));
    s_type("done\n");
    char sent[64];
    snprintf(sent, sizeof sent, "sent: %d action(s)", asked + 1);
    assert_true(s_expect(sent, 5000));
    /* Each action's result is shown: the broadcast went out. */
    assert_true(s_expect("[result] action 1: ok", 10000));

    /* Next turn: the pieces have arrived; submit the task by its id. */
    assert_true(s_expect("=== agent_1, round 2/6", 30000));
    assert_true(s_expect("> ", 5000));
    char cmd[128];
    snprintf(cmd, sizeof cmd, "submit %s\n", task_id);
    s_type(cmd);
    assert_true(s_expect("queued 1: submit: Combined result of:", 5000));
    s_type("done\n");
    assert_true(s_expect("sent: 1 action(s)", 5000));
    /* ...and the submission paid the task's reward. */
    assert_true(s_expect("[result] action 1: ok, paid $10000", 10000));

    /* The record says the person completed it. */
    bool completed = false;
    for (int k = 0; k < 300 && !completed; k++) {
        json_t *done = e2e_events(dir, "task_completed");
        json_array_foreach(done, i, ev)
        {
            completed |= strcmp(json_string_value(json_object_get(ev, "agent")), "agent_1") == 0 &&
                         strcmp(json_string_value(json_object_get(ev, "task")), task_id) == 0;
        }
        json_decref(done);
        if (!completed) usleep(50000);
    }
    assert_true(completed);
    json_t *joined = e2e_events(dir, "seat_joined");
    json_array_foreach(joined, i, ev)
    {
        if (strcmp(json_string_value(json_object_get(ev, "agent")), "agent_1") == 0)
            assert_true(json_is_true(json_object_get(ev, "human")));
    }
    json_decref(joined);
    json_decref(tasks);
    json_decref(worlds);
    /* The rest of the game is not needed: stop it (teardown reaps the rest). */
    kill(b.pid, SIGTERM);
    assert_true(e2e_wait(b.pid, 20000) >= 0);
    close(s_pty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_web_terminal_human, web_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
