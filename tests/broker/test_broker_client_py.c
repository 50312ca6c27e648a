/* test_broker_client_py.c: the example client in another language
 * (examples/clients/python/parley_client.py, written from PROTOCOL.md alone)
 * plays a whole game against the real broker beside nine parley-agents: it is
 * welcomed, plays every turn (none missed), every action it sends is legal,
 * it completes tasks, and it leaves with exit 0 when the game is over.
 *
 * Needs Python 3 with pyzmq (Debian: python3-zmq); PARLEY_PYTHON chooses the
 * interpreter (default /usr/bin/python3). Without pyzmq the test is skipped
 * and says so. */
#include "e2e.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static const char *s_python(void)
{
    const char *p = getenv("PARLEY_PYTHON");
    return p && *p ? p : "/usr/bin/python3";
}

static void test_python_client_plays_a_game(void **state)
{
    (void)state;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' -c 'import zmq' 2>/dev/null", s_python());
    if (system(cmd) != 0) {
        print_message("skipped: %s has no pyzmq (apt-get install python3-zmq)\n", s_python());
        skip();
    }
    const char *dir = e2e_tmpdir("pyclient");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 3\nsimulation: {rounds: 5}\n"
                                "timing: {mode: sequential, turn_timeout: 20, heartbeat: 0.5}\n"
                                "seats:\n  - {policy: perfect, count: 10}\n");
    char rundir[1100], script[1200];
    snprintf(rundir, sizeof rundir, "%s/run", dir);
    snprintf(script, sizeof script, "%s/examples/clients/python/parley_client.py",
             getenv("PARLEY_SRC"));
    e2e_broker_t b;
    const char *extra[] = {"--no-http", "--start-timeout", "60", NULL};
    assert_int_equal(e2e_broker_start(&b, cfg, rundir, NULL, extra), 0);
    pid_t py = fork();
    assert_true(py >= 0);
    if (py == 0) {
        char log[1300];
        snprintf(log, sizeof log, "%s/python.log", rundir);
        if (!freopen(log, "w", stderr)) _exit(126);
        execl(s_python(), s_python(), script, "--broker", b.router, "--seat", "agent_1",
              "--run-dir", rundir, (char *)NULL);
        _exit(127);
    }
    pid_t pids[10] = {0};
    for (int i = 1; i < 10; i++) {
        char seat[16];
        snprintf(seat, sizeof seat, "agent_%d", i + 1);
        pids[i] = e2e_agent(b.router, rundir, seat, "perfect");
    }
    assert_int_equal(e2e_wait(b.pid, 120000), 0);
    assert_int_equal(e2e_wait(py, 20000), 0);
    for (int i = 1; i < 10; i++) assert_int_equal(e2e_wait(pids[i], 20000), 0);

    json_t *sum = e2e_json(rundir, "summary.json");
    assert_non_null(sum);
    assert_string_equal(json_string_value(json_object_get(sum, "status")), "ok");
    json_t *row = json_array_get(json_object_get(sum, "board"), 0);
    assert_string_equal(json_string_value(json_object_get(row, "policy")), "python-example");
    assert_int_equal(json_integer_value(json_object_get(row, "missed_turns")), 0);
    assert_true(json_integer_value(json_object_get(row, "turns")) >= 5);
    assert_true(json_integer_value(json_object_get(row, "tasks_done")) >= 1);
    json_decref(sum);
    json_t *acts = e2e_events(rundir, "action");
    int mine = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(acts, i, ev)
    {
        if (strcmp(json_string_value(json_object_get(ev, "agent")), "agent_1") != 0) continue;
        mine++;
        if (!json_is_true(json_object_get(ev, "ok")))
            fail_msg("the client's action %zu was refused: %s", i,
                     json_string_value(json_object_get(ev, "reason")));
    }
    assert_true(mine > 0);
    json_decref(acts);
    char replay[2600], out[4096];
    snprintf(replay, sizeof replay, "'%s/parley' replay '%s' 2>&1", getenv("PARLEY_BIN"), rundir);
    FILE *p = popen(replay, "r");
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    if (pclose(p) != 0) fail_msg("replay: %s", out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_python_client_plays_a_game),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
