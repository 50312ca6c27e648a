/* test_cli_launcher.c: `parley run`'s seat launcher (docs/CLI.md "Seat
 * launcher"), as a user sees it. Seats forked by the launcher are separate
 * processes like exec'd ones: each a child of `parley run` in its own process
 * group, with its own pid and its own log; one killed mid-game leaves the game
 * going; Ctrl-C stops them all. With and without the launcher (--no-launcher)
 * the same game has the same result; seats forked by the launcher take the
 * game's names from it (agent/agt_names.h), exec'd ones from the Welcome's
 * patterns. */
#include "e2e.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static void test_launched_seats_are_separate_processes(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("clilaunch");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 3\nsimulation: {rounds: 100000, agents: 4}\n"
                                "timing: {mode: sequential, turn_timeout: 1, heartbeat: 0.2}\n"
                                "seats:\n  - {policy: passive, count: 4}\n");
    char out[1100], stdout_path[1200];
    snprintf(out, sizeof out, "%s/run", dir);
    snprintf(stdout_path, sizeof stdout_path, "%s/stdout", dir);
    const char *args[] = {cfg, "--out", out, "--quiet", NULL};
    pid_t run = e2e_parley_run(args, stdout_path);
    assert_true(run > 0);
    assert_true(e2e_wait_rounds(out, 3) >= 3);

    /* One broker and four seats, every one parley run's own child. */
    pid_t seats[8], broker[2];
    char seat_of[8][32]; /* the seat each process plays: the log its stderr writes */
    assert_int_equal(e2e_children(run, "parley-broker", broker, 2), 1);
    int n = e2e_children(run, "parley-agent", seats, 8);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++) {
        e2e_proc_t p;
        assert_int_equal(e2e_proc_stat(seats[i], &p), 0);
        assert_int_equal(p.pgid, seats[i]); /* its own process group, as exec'd */
        char fd2[64], target[1300];
        snprintf(fd2, sizeof fd2, "/proc/%d/fd/2", (int)seats[i]);
        ssize_t len = readlink(fd2, target, sizeof target - 1);
        assert_true(len > 0);
        target[len] = '\0';
        const char *base = strstr(target, "/run/agents/");
        assert_non_null(base);
        snprintf(seat_of[i], sizeof seat_of[i], "%s", base + strlen("/run/agents/"));
        *strstr(seat_of[i], ".log") = '\0';
        for (int k = 0; k < i; k++) assert_string_not_equal(seat_of[i], seat_of[k]);
    }
    /* Each seat wrote its own log, under its own seat id, and the launcher
     * refused nothing. */
    for (int i = 1; i <= 4; i++) {
        char name[64], want[64];
        snprintf(name, sizeof name, "run/agents/agent_%d.log", i);
        snprintf(want, sizeof want, "agent_%d AGT-WELCOMED agent_%d in game", i, i);
        char path[1300];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        assert_int_equal(access(path, R_OK), 0);
        if (e2e_count_lines(path, want) == 0) fail_msg("%s lacks '%s'", name, want);
    }
    struct stat st;
    char lpath[1200];
    snprintf(lpath, sizeof lpath, "%s/launcher.log", out);
    assert_int_equal(stat(lpath, &st), 0);
    assert_int_equal(st.st_size, 0);

    /* A seat that crashes is only that seat: its turns are missed, the game
     * goes on. */
    assert_int_equal(kill(seats[0], SIGKILL), 0);
    size_t before = e2e_wait_rounds(out, 0); /* the rounds so far */
    assert_true(e2e_wait_rounds(out, before + 3) >= before + 3);
    json_t *missed = e2e_events(out, "missed_turn");
    size_t i;
    json_t *ev;
    int by_killed = 0, by_others = 0;
    json_array_foreach(missed, i, ev)
    {
        bool killed = strcmp(json_string_value(json_object_get(ev, "agent")), seat_of[0]) == 0;
        by_killed += killed;
        by_others += !killed;
    }
    json_decref(missed);
    assert_true(by_killed >= 1);
    assert_int_equal(by_others, 0);

    /* Ctrl-C stops the game and every seat, reaped by parley run. */
    kill(run, SIGINT);
    assert_int_equal(e2e_wait(run, 30000), 1);
    for (int k = 0; k < n; k++) {
        errno = 0;
        assert_int_equal(kill(seats[k], 0), -1);
        assert_int_equal(errno, ESRCH);
    }
    json_t *partial = e2e_json(out, "summary.partial.json");
    assert_non_null(partial);
    assert_string_equal(json_string_value(json_object_get(partial, "status")), "stopped");
    json_decref(partial);
}

/* Whether out/agents/<seat>.log has a line holding want. */
static bool s_log_has(const char *out, int seat, const char *want)
{
    char path[1300];
    snprintf(path, sizeof path, "%s/agents/agent_%d.log", out, seat);
    return e2e_count_lines(path, want) > 0;
}

static void test_same_game_with_and_without_the_launcher(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("clinolaunch");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 5\nsimulation: {rounds: 4, agents: 6}\n"
                                "seats:\n  - {policy: perfect, count: 3}\n"
                                "  - {policy: selfish, count: 3}\n");
    long long tasks[2], revenue[2];
    for (int k = 0; k < 2; k++) {
        char out[1100], so[1200];
        snprintf(out, sizeof out, "%s/run-%d", dir, k);
        snprintf(so, sizeof so, "%s/stdout-%d", dir, k);
        const char *args[] = {cfg, "--out", out, "--quiet", k ? "--no-launcher" : NULL, NULL};
        pid_t run = e2e_parley_run(args, so);
        assert_int_equal(e2e_wait(run, 60000), 0);
        json_t *sum = e2e_json(out, "summary.json");
        assert_non_null(sum);
        tasks[k] = (long long)json_integer_value(json_object_get(sum, "tasks"));
        revenue[k] = (long long)json_integer_value(json_object_get(sum, "group_revenue"));
        json_decref(sum);
        char lpath[1200];
        snprintf(lpath, sizeof lpath, "%s/launcher.log", out);
        assert_int_equal(access(lpath, F_OK) == 0, k == 0); /* the launcher ran only first */
        /* The names: the launcher's tables, or rebuilt from the Welcome. */
        const char *want = k ? "names from patterns" : "names shared with the seat launcher";
        for (int i = 1; i <= 6; i++)
            if (!s_log_has(out, i, want)) fail_msg("%s: agent_%d's log lacks '%s'", out, i, want);
    }
    assert_true(tasks[0] > 0);
    assert_int_equal(tasks[0], tasks[1]);
    assert_int_equal(revenue[0], revenue[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_launched_seats_are_separate_processes),
        cmocka_unit_test(test_same_game_with_and_without_the_launcher),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
