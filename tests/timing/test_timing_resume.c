/* test_timing_resume.c: a seeded latency distribution survives a resume. A
 * sequential game whose seats all draw an exponential injected latency is
 * played once uninterrupted; then the same game is played again, its broker
 * SIGKILLed halfway through the record and started again on the same run
 * directory. Every decision of the resumed game (before and after the kill)
 * must carry the latency the uninterrupted game drew for the same turn: the
 * draw depends on the seed, the seat and the seat's turn index, not on how
 * long the broker process has been running. */
#include "e2e.h"
#include "timing_util.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static const char *const s_policies[] = {"perfect", "perfect", "perfect", "selfish"};

/* Plays the game in dir; kill_at > 0: SIGKILL the broker once the record
 * has that many lines, then start it again. Returns the restarts. */
static int s_play(const char *dir, const char *cfg, size_t kill_at)
{
    char bind[64];
    snprintf(bind, sizeof bind, "tcp://127.0.0.1:%d", e2e_restart_port());
    const char *extra[] = {"--no-http", "--no-pub", "--start-timeout", "60", NULL};
    e2e_broker_t b;
    assert_int_equal(e2e_broker_start(&b, cfg, dir, bind, extra), 0);
    pid_t pids[4];
    assert_int_equal(e2e_agents(&b, 4, s_policies, 4, pids), 0);
    int restarts = 0;
    if (kill_at > 0) {
        /* Polls the record's length; the kill lands wherever the broker is. */
        for (int spins = 0; spins < 200000 && e2e_event_lines(dir) < kill_at; spins++) {
            if (waitpid(b.pid, NULL, WNOHANG) == b.pid) fail_msg("the broker ended early");
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
        kill(b.pid, SIGKILL);
        assert_int_equal(e2e_wait(b.pid, 10000), 128 + SIGKILL);
        e2e_broker_t b2;
        assert_int_equal(e2e_broker_start(&b2, cfg, dir, bind, extra), 0);
        b = b2;
        restarts++;
    }
    assert_int_equal(e2e_wait(b.pid, 120000), 0);
    for (int i = 0; i < 4; i++) assert_int_equal(e2e_wait(pids[i], 30000), 0);
    return restarts;
}

/* The latency_s of agent's decision of turn in decisions, or -1. */
static double s_latency_of(const json_t *decisions, json_int_t turn)
{
    size_t i;
    json_t *ev;
    json_array_foreach(decisions, i,
                       ev) if (json_integer_value(json_object_get(ev, "turn_id")) ==
                               turn) return json_number_value(json_object_get(ev, "latency_s"));
    return -1;
}

static void test_latency_draws_resume(void **state)
{
    (void)state;
    const char *top = e2e_tmpdir("lat-resume");
    const char *cfg = e2e_write(top, "game.yaml",
                                "seed: 21\nsimulation: {agents: 4, rounds: 4}\n"
                                "information: {total_pieces: 12, pieces_per_agent: 3}\n"
                                "tasks: {pieces_per_task: 2}\n"
                                "timing: {mode: sequential, turn_timeout: 60, heartbeat: 0.2}\n"
                                "seats:\n"
                                "  - {policy: perfect, count: 3, latency: 0.04, "
                                "latency_dist: exponential}\n"
                                "  - {policy: selfish, count: 1, latency: 0.04, "
                                "latency_dist: uniform}\n");
    char ref[1200], dir[1200];
    snprintf(ref, sizeof ref, "%s/ref", top);
    snprintf(dir, sizeof dir, "%s/resumed", top);
    assert_int_equal(s_play(ref, cfg, 0), 0);
    size_t total = e2e_event_lines(ref);
    assert_true(total > 40);
    assert_int_equal(s_play(dir, cfg, total / 2), 1);

    json_t *want = tu_events(ref, "decision", NULL);
    json_t *got = tu_events(dir, "decision", NULL);
    assert_int_equal(json_array_size(got), json_array_size(want));
    /* Where the resumed broker went live: decisions after run_resumed were
     * drawn by the new process. */
    json_t *resumed = tu_events(dir, "run_resumed", NULL);
    assert_int_equal(json_array_size(resumed), 1);
    json_int_t at = json_integer_value(json_object_get(json_array_get(resumed, 0), "t_ms"));
    size_t i, after = 0;
    json_t *ev;
    json_array_foreach(got, i, ev)
    {
        json_int_t turn = json_integer_value(json_object_get(ev, "turn_id"));
        double lat = json_number_value(json_object_get(ev, "latency_s"));
        double ref_lat = s_latency_of(want, turn);
        assert_true(lat > 0);
        if (lat != ref_lat)
            fail_msg("turn %lld of %s: latency %.6f s, the uninterrupted game drew %.6f s",
                     (long long)turn, json_string_value(json_object_get(ev, "agent")), lat,
                     ref_lat);
        after += json_integer_value(json_object_get(ev, "t_ms")) > at;
    }
    /* The test means something only if the new process drew some of them. */
    assert_true(after >= 3);
    json_decref(resumed);
    json_decref(want);
    json_decref(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_latency_draws_resume)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
