/* test_broker_game.c: parley-broker with real parley-agent processes on
 * ephemeral ports. Outcomes only, never timings: a sequential game of ten
 * processes matches the same game played in-process; perfect processes reach
 * the in-process ceiling; a SIGKILLed agent's turns are missed and a restarted
 * one plays later rounds; simultaneous and realtime games complete. */
#include "e2e.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include <cmocka.h>

static const char *s_config(const char *dir, const char *body)
{
    return e2e_write(dir, "game.yaml", body);
}

/* Runs a whole game: broker + n agents; returns the broker's exit status. */
static int s_play(e2e_broker_t *b, const char *config, const char *dir, int n,
                  const char *const *policies, int n_policies)
{
    pid_t pids[16];
    assert_int_equal(e2e_broker_start(b, config, dir, NULL, NULL), 0);
    assert_int_equal(e2e_agents(b, n, policies, n_policies, pids), 0);
    int rc = e2e_wait(b->pid, 120000);
    for (int i = 0; i < n; i++) assert_int_equal(e2e_wait(pids[i], 20000), 0);
    return rc;
}

/* parley replay agrees with the record the broker wrote. */
static void s_replays(const char *rundir)
{
    char out[4096];
    if (e2e_replay(rundir, out, sizeof out) != 0) fail_msg("parley replay %s: %s", rundir, out);
}

/* Realtime games (turns follow the clock) are refused by parley replay, with a
 * reason. */
static void s_replay_refused(const char *rundir)
{
    char out[4096];
    assert_int_equal(e2e_replay(rundir, out, sizeof out), 2);
    if (!strstr(out, "realtime")) fail_msg("parley replay %s: %s", rundir, out);
}

static void test_sequential_mixed_matches_inprocess(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("seq");
    const char *cfg = s_config(dir, "seed: 11\n"
                                    "timing: {mode: sequential, turn_timeout: 30}\n"
                                    "seats:\n"
                                    "  - {policy: perfect, count: 4}\n"
                                    "  - {policy: selfish, count: 3}\n"
                                    "  - {policy: helper, count: 3}\n");
    /* The seat order of the file: 4 perfect, 3 selfish, 3 helper. */
    const char *pol[] = {"perfect", "perfect", "perfect", "perfect", "selfish",
                         "selfish", "selfish", "helper",  "helper",  "helper"};
    char rundir[1100];
    snprintf(rundir, sizeof rundir, "%s/run", dir);
    e2e_broker_t b;
    assert_int_equal(s_play(&b, cfg, rundir, 10, pol, 10), 0);
    s_replays(rundir);
    json_t *sum = e2e_json(rundir, "summary.json");
    assert_non_null(sum);
    assert_string_equal(json_string_value(json_object_get(sum, "status")), "ok");
    int tasks = 0;
    long long rev = 0;
    assert_int_equal(e2e_inprocess(cfg, pol, 10, &tasks, &rev), 0);
    assert_true(tasks > 0);
    assert_int_equal(json_integer_value(json_object_get(sum, "tasks")), tasks);
    assert_int_equal(json_integer_value(json_object_get(sum, "task_revenue")), rev);
    assert_int_equal(json_array_size(json_object_get(sum, "rounds")), 20);
    /* Every event carries the broker's clock. */
    json_t *evs = e2e_events(rundir, NULL);
    assert_non_null(evs);
    size_t i;
    json_t *ev;
    json_array_foreach(evs, i, ev) assert_true(json_is_integer(json_object_get(ev, "t_ms")));
    json_decref(evs);
    json_decref(sum);
}

static void test_perfect_processes_reach_ceiling(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("perfect");
    const char *cfg = s_config(dir, "seed: 5\n"
                                    "timing: {mode: sequential, turn_timeout: 30}\n"
                                    "seats:\n  - {policy: perfect, count: 10}\n");
    const char *pol[] = {"perfect"};
    char rundir[1100];
    snprintf(rundir, sizeof rundir, "%s/run", dir);
    e2e_broker_t b;
    assert_int_equal(s_play(&b, cfg, rundir, 10, pol, 1), 0);
    s_replays(rundir);
    json_t *sum = e2e_json(rundir, "summary.json");
    assert_non_null(sum);
    json_t *ceiling = json_object_get(sum, "ceiling");
    assert_true(json_integer_value(json_object_get(ceiling, "tasks")) > 150);
    assert_int_equal(json_integer_value(json_object_get(sum, "tasks")),
                     json_integer_value(json_object_get(ceiling, "tasks")));
    assert_int_equal(json_integer_value(json_object_get(sum, "task_revenue")),
                     json_integer_value(json_object_get(ceiling, "task_revenue")));
    json_decref(sum);
}

/* Waits on the PUB socket for an event of `type` about `agent` (any agent if
 * NULL) with round >= min_round; returns its round or -1. */
static int s_wait_event(void *sub, const char *type, const char *agent, int min_round,
                        int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) <= 0) continue;
        char topic[64], body[65536];
        while (zmq_recv(sub, topic, sizeof topic, ZMQ_DONTWAIT) >= 0) {
            int n = zmq_recv(sub, body, sizeof body - 1, ZMQ_DONTWAIT);
            if (n < 0) break;
            body[n < (int)sizeof body ? n : (int)sizeof body - 1] = '\0';
            json_t *ev = json_loads(body, 0, NULL);
            const char *t = json_string_value(json_object_get(ev, "type"));
            const char *a = json_string_value(json_object_get(ev, "agent"));
            int round = (int)json_integer_value(json_object_get(ev, "round"));
            bool hit = t && strcmp(t, type) == 0 && (!agent || (a && strcmp(a, agent) == 0)) &&
                       round >= min_round;
            json_decref(ev);
            if (hit) return round;
        }
    }
    return -1;
}

static void test_killed_agent_is_missed_then_rejoins(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("kill");
    const char *cfg = s_config(dir, "seed: 2\n"
                                    "simulation: {rounds: 12}\n"
                                    "timing: {mode: sequential, turn_timeout: 1, heartbeat: 0.2}\n"
                                    "seats:\n  - {policy: perfect, count: 10}\n");
    char rundir[1100];
    snprintf(rundir, sizeof rundir, "%s/run", dir);
    e2e_broker_t b;
    assert_int_equal(e2e_broker_start(&b, cfg, rundir, NULL, NULL), 0);
    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    assert_int_equal(zmq_connect(sub, b.pub), 0);
    assert_int_equal(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0), 0);
    const char *pol[] = {"perfect"};
    pid_t pids[10];
    assert_int_equal(e2e_agents(&b, 10, pol, 1, pids), 0);

    /* Mid-game: kill agent_3 once round 2 has begun. */
    assert_true(s_wait_event(sub, "round_start", NULL, 2, 60000) >= 2);
    kill(pids[2], SIGKILL);
    assert_int_equal(e2e_wait(pids[2], 5000), 128 + SIGKILL);
    int missed_round = s_wait_event(sub, "missed_turn", "agent_3", 0, 60000);
    assert_true(missed_round >= 2);
    pids[2] = e2e_agent(b.router, b.dir, "agent_3", "perfect");

    assert_int_equal(e2e_wait(b.pid, 120000), 0);
    for (int i = 0; i < 10; i++) assert_int_equal(e2e_wait(pids[i], 20000), 0);
    zmq_close(sub);
    zmq_ctx_term(ctx);

    s_replays(rundir);
    json_t *sum = e2e_json(rundir, "summary.json");
    assert_non_null(sum);
    assert_string_equal(json_string_value(json_object_get(sum, "status")), "ok");
    json_t *row = json_array_get(json_object_get(sum, "board"), 2);
    assert_string_equal(json_string_value(json_object_get(row, "agent")), "agent_3");
    assert_true(json_integer_value(json_object_get(row, "missed_turns")) >= 1);
    /* The restarted agent played a round after the one it missed. */
    json_t *decisions = e2e_events(rundir, "decision");
    size_t i;
    json_t *ev;
    int later = 0;
    json_array_foreach(decisions, i, ev)
    {
        const char *a = json_string_value(json_object_get(ev, "agent"));
        if (a && strcmp(a, "agent_3") == 0 &&
            json_integer_value(json_object_get(ev, "round")) > missed_round)
            later++;
    }
    assert_true(later > 0);
    json_t *joins = e2e_events(rundir, "seat_joined");
    int resumed = 0;
    json_array_foreach(joins, i, ev) resumed += json_is_true(json_object_get(ev, "resumed"));
    assert_true(resumed >= 1);
    json_decref(joins);
    json_decref(decisions);
    json_decref(sum);
}

static void s_mode(const char *tag, const char *yaml, const char *timing)
{
    const char *dir = e2e_tmpdir(tag);
    const char *cfg = s_config(dir, yaml);
    const char *pol[] = {"perfect"};
    char rundir[1100];
    snprintf(rundir, sizeof rundir, "%s/run", dir);
    e2e_broker_t b;
    assert_int_equal(s_play(&b, cfg, rundir, 10, pol, 1), 0);
    if (strcmp(timing, "realtime") != 0)
        s_replays(rundir);
    else
        s_replay_refused(rundir);
    json_t *sum = e2e_json(rundir, "summary.json");
    assert_non_null(sum);
    assert_string_equal(json_string_value(json_object_get(sum, "timing")), timing);
    assert_string_equal(json_string_value(json_object_get(sum, "status")), "ok");
    assert_true(json_integer_value(json_object_get(sum, "tasks")) > 0);
    json_decref(sum);
}

static void test_simultaneous_completes(void **state)
{
    (void)state;
    s_mode("sim",
           "seed: 4\nsimulation: {rounds: 6}\n"
           "timing: {mode: simultaneous, turn_timeout: 30}\n"
           "seats:\n  - {policy: perfect, count: 10}\n",
           "simultaneous");
    /* Decisions of a round are recorded with their arrival order. */
}

static void test_realtime_completes(void **state)
{
    (void)state;
    s_mode("rt",
           "seed: 4\nsimulation: {rounds: 4}\n"
           "timing: {mode: realtime, duration: 2, min_think: 0.05, turn_timeout: 5}\n"
           "seats:\n  - {policy: perfect, count: 10}\n",
           "realtime");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequential_mixed_matches_inprocess),
        cmocka_unit_test(test_perfect_processes_reach_ceiling),
        cmocka_unit_test(test_killed_agent_is_missed_then_rejoins),
        cmocka_unit_test(test_simultaneous_completes),
        cmocka_unit_test(test_realtime_completes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
