/* test_broker_client_py.c: the example client in another language
 * (examples/clients/python/parley_client.py, written from PROTOCOL.md alone)
 * plays a whole game against the real broker beside eight parley-agents, as
 * two seats: agent_1 with whole observations (FULL, what a client that knows
 * nothing of deltas gets) and agent_2 with observation deltas it applies
 * itself. Each is welcomed, plays every turn (none missed), every action it
 * sends is legal, it completes tasks, and it leaves with exit 0 when the game
 * is over; the FULL seat got no delta, the DELTA seat got deltas and never had
 * to ask for a resync.
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
    pid_t py[2];
    for (int k = 0; k < 2; k++) {
        py[k] = fork();
        assert_true(py[k] >= 0);
        if (py[k] == 0) {
            char log[1300], seat[16];
            snprintf(seat, sizeof seat, "agent_%d", k + 1);
            snprintf(log, sizeof log, "%s/python.%s.log", rundir, seat);
            if (!freopen(log, "w", stderr)) _exit(126);
            execl(s_python(), s_python(), script, "--broker", b.router, "--seat", seat, "--run-dir",
                  rundir, "--observation", k == 0 ? "full" : "delta", (char *)NULL);
            _exit(127);
        }
    }
    pid_t pids[10] = {0};
    for (int i = 2; i < 10; i++) {
        char seat[16];
        snprintf(seat, sizeof seat, "agent_%d", i + 1);
        pids[i] = e2e_agent(b.router, rundir, seat, "perfect");
    }
    assert_int_equal(e2e_wait(b.pid, 120000), 0);
    for (int k = 0; k < 2; k++) assert_int_equal(e2e_wait(py[k], 20000), 0);
    for (int i = 2; i < 10; i++) assert_int_equal(e2e_wait(pids[i], 20000), 0);

    json_t *sum = e2e_json(rundir, "summary.json");
    assert_non_null(sum);
    assert_string_equal(json_string_value(json_object_get(sum, "status")), "ok");
    for (int k = 0; k < 2; k++) {
        json_t *row = json_array_get(json_object_get(sum, "board"), (size_t)k);
        assert_string_equal(json_string_value(json_object_get(row, "policy")), "python-example");
        assert_int_equal(json_integer_value(json_object_get(row, "missed_turns")), 0);
        assert_true(json_integer_value(json_object_get(row, "turns")) >= 5);
        assert_true(json_integer_value(json_object_get(row, "tasks_done")) >= 1);
    }
    json_decref(sum);
    json_t *acts = e2e_events(rundir, "action");
    int mine[2] = {0, 0};
    size_t i;
    json_t *ev;
    json_array_foreach(acts, i, ev)
    {
        const char *agent = json_string_value(json_object_get(ev, "agent"));
        int k = strcmp(agent, "agent_1") == 0 ? 0 : strcmp(agent, "agent_2") == 0 ? 1 : -1;
        if (k < 0) continue;
        mine[k]++;
        if (!json_is_true(json_object_get(ev, "ok")))
            fail_msg("%s's action %zu was refused: %s", agent, i,
                     json_string_value(json_object_get(ev, "reason")));
    }
    assert_true(mine[0] > 0);
    assert_true(mine[1] > 0);
    json_decref(acts);
    /* What each client says it got. */
    for (int k = 0; k < 2; k++) {
        char log[1300], line[512];
        snprintf(log, sizeof log, "%s/python.agent_%d.log", rundir, k + 1);
        FILE *f = fopen(log, "r");
        assert_non_null(f);
        int whole = -1, deltas = -1, resyncs = -1;
        while (fgets(line, sizeof line, f))
            sscanf(line, "parley_client: observations: %d whole, %d deltas, %d resyncs", &whole,
                   &deltas, &resyncs);
        fclose(f);
        print_message("  agent_%d (%s): %d whole, %d deltas\n", k + 1, k ? "delta" : "full", whole,
                      deltas);
        assert_true(whole >= 1);
        assert_int_equal(resyncs, 0);
        if (k == 0)
            assert_int_equal(deltas, 0);
        else
            assert_true(deltas > whole);
    }
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
