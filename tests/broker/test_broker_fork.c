/* test_broker_fork.c: `parley fork RUN_DIR --round K --set ...` plays a
 * counterfactual. A 10-seat source game is played by parley run; the fork
 * changes the task reward from round 3 on. Then: every game event of rounds
 * 1-2 in the fork is the source's, event for event (timing fields and
 * connection events aside); the fork's run_start names source, round and
 * changes (a seat played by another policy too); from round 3 completed tasks pay the new reward;
 * the fork finishes (summary ok) and `parley replay` passes on it. A change to what shapes the
 * world, and a round the source never reached, are refused. */
#include "e2e.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

static int s_sh(const char *cmd, char *out, size_t outlen)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Game events of rounds below `below` (all if 0), timing and connection aside. */
static json_t *s_rounds(const char *dir, int below)
{
    json_t *all = e2e_events(dir, NULL), *out = json_array();
    assert_non_null(all);
    size_t i;
    json_t *ev;
    json_array_foreach(all, i, ev)
    {
        const char *t = json_string_value(json_object_get(ev, "type"));
        if (!strcmp(t, "seat_joined") || !strcmp(t, "seat_lost") || !strcmp(t, "seat_left") ||
            !strcmp(t, "run_resumed") || !strcmp(t, "run_start"))
            continue;
        if (below && json_integer_value(json_object_get(ev, "round")) >= below) break;
        json_t *c = json_deep_copy(ev);
        const char *drop[] = {"t_ms", "rtt_us", "think_s", "calls"};
        for (size_t k = 0; k < 4; k++) json_object_del(c, drop[k]);
        json_array_append_new(out, c);
    }
    json_decref(all);
    return out;
}

static void test_fork_changes_one_setting_from_round_k(void **state)
{
    (void)state;
    const char *top = e2e_tmpdir("fork");
    const char *cfg = e2e_write(top, "game.yaml",
                                "seed: 5\nsimulation: {rounds: 5}\n"
                                "timing: {mode: sequential, turn_timeout: 60, heartbeat: 0.2}\n"
                                "seats:\n  - {policy: perfect, count: 5}\n"
                                "  - {policy: selfish, count: 5}\n");
    const char *bin = getenv("PARLEY_BIN");
    char cmd[4096], out[16384], src[1200], fork[1200];
    snprintf(src, sizeof src, "%s/src", top);
    snprintf(fork, sizeof fork, "%s/fork", top);
    snprintf(cmd, sizeof cmd, "'%s/parley' run '%s' --out '%s' --quiet 2>&1", bin, cfg, src);
    assert_int_equal(s_sh(cmd, out, sizeof out), 0);

    /* Refused: what shapes the world, a round never reached. */
    snprintf(cmd, sizeof cmd, "'%s/parley' fork '%s' --round 3 --set simulation.agents=5 2>&1", bin,
             src);
    assert_int_equal(s_sh(cmd, out, sizeof out), 2);
    if (!strstr(out, "simulation.agents cannot change")) fail_msg("said: %s", out);
    snprintf(cmd, sizeof cmd, "'%s/parley' fork '%s' --round 9 2>&1", bin, src);
    assert_int_equal(s_sh(cmd, out, sizeof out), 2);

    snprintf(cmd, sizeof cmd,
             "'%s/parley' fork '%s' --round 3 --set revenue.task_completion=5000 "
             "--seat agent_6=perfect --out '%s' --quiet 2>&1",
             bin, src, fork);
    if (s_sh(cmd, out, sizeof out) != 0) fail_msg("parley fork: %s", out);

    json_t *a = s_rounds(src, 3), *b = s_rounds(fork, 3);
    assert_true(json_array_size(a) > 100);
    if (!json_equal(a, b)) {
        size_t k = 0;
        while (k < json_array_size(a) && json_equal(json_array_get(a, k), json_array_get(b, k)))
            k++;
        char *x = json_dumps(json_array_get(a, k), JSON_COMPACT);
        char *y = json_dumps(json_array_get(b, k), JSON_COMPACT);
        fail_msg("rounds 1-2 differ at event %zu:\n source %.300s\n fork   %.300s", k, x, y);
    }
    json_decref(a);
    json_decref(b);

    json_t *start = e2e_events(fork, "run_start");
    assert_int_equal(json_array_size(start), 1);
    json_t *f = json_object_get(json_array_get(start, 0), "fork");
    assert_non_null(f);
    assert_string_equal(json_string_value(json_object_get(f, "source")), src);
    assert_int_equal(json_integer_value(json_object_get(f, "round")), 3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(f, "changes"), 0)),
                        "revenue.task_completion=5000");
    assert_string_equal(json_string_value(json_array_get(json_object_get(f, "changes"), 1)),
                        "seat agent_6=perfect");
    json_decref(start);

    json_t *done = e2e_events(fork, "task_completed");
    int late = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(done, i, ev)
    {
        json_int_t round = json_integer_value(json_object_get(ev, "round"));
        json_int_t pay = json_integer_value(json_object_get(ev, "payout"));
        if (round < 3) assert_true(pay == 10000 || pay == 5000 || pay == 2500);
        if (round >= 3) {
            assert_true(pay == 5000 || pay == 2500 || pay == 1250);
            late++;
        }
    }
    json_decref(done);
    assert_true(late > 0);
    json_t *sum = e2e_json(fork, "summary.json");
    assert_non_null(sum);
    assert_string_equal(json_string_value(json_object_get(sum, "status")), "ok");
    /* agent_6, selfish in the source, is played by a perfect agent from round 3. */
    json_t *row6 = json_array_get(json_object_get(sum, "board"), 5);
    assert_string_equal(json_string_value(json_object_get(row6, "policy")), "perfect");
    json_decref(sum);
    snprintf(cmd, sizeof cmd, "'%s/parley' replay '%s' 2>&1", bin, fork);
    if (s_sh(cmd, out, sizeof out) != 0) fail_msg("replay of the fork: %s", out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fork_changes_one_setting_from_round_k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
