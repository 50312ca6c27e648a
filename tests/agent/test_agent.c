/* test_agent.c: agent/. The policy registry and outcome helpers; a scripted
 * policy decides through the ops exactly as env_policy_decide does; agents
 * started before their broker wait for it; agents survive a broker restart
 * (SIGKILL, then a new broker on the same port and run directory) and play the
 * new game to its end. */
#include "agt_policy.h"
#include "e2e.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

static void test_policy_registry(void **state)
{
    (void)state;
    const char *names[] = {"perfect", "passive", "selfish", "helper", "random", "human"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const agt_policy_ops_t *ops = agt_policy_find(names[i]);
        assert_non_null(ops);
        assert_string_equal(ops->name, names[i]);
    }
    assert_null(agt_policy_find("nobody"));
    assert_null(agt_policy_find(NULL));
}

static void test_outcome_helpers(void **state)
{
    (void)state;
    agt_outcome_t *o = agt_outcome_new();
    assert_non_null(o);
    assert_non_null(o->decision);
    assert_int_equal(agt_outcome_drop(o, "{\"type\": \"dance\"}", "unknown action"), 0);
    assert_int_equal(o->n_dropped, 1);
    assert_string_equal(o->dropped[0].reason, "unknown action");
    agt_call_t call = {.http_status = 200, .attempts = 1};
    call.request_body = strdup("{}");
    call.response_body = strdup("{\"ok\": true}");
    assert_int_equal(agt_outcome_add_call(o, &call), 0);
    assert_null(call.request_body); /* the outcome owns the bodies now */
    assert_int_equal(o->n_calls, 1);
    assert_string_equal(o->calls[0].response_body, "{\"ok\": true}");
    agt_outcome_destroy(&o);
    assert_null(o);
}

typedef struct {
    int calls;
    uint64_t turn;
    agt_outcome_t *out;
} s_sink_t;

static void s_on_done(void *arg, uint64_t turn_id, agt_outcome_t *o)
{
    s_sink_t *s = arg;
    s->calls++;
    s->turn = turn_id;
    s->out = o;
}

static void test_scripted_policy_decides_like_env(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    c.seed = 8;
    int err;
    env_game_t *g = env_game_new(&c, NULL, NULL, &err);
    assert_non_null(g);
    env_names_t names;
    env_game_names(g, &names);
    assert_int_equal(env_round_begin(g), ENV_OK);
    env_obs_t o;
    assert_int_equal(env_observe(g, 4, ENV_TURN_NORMAL, &o), ENV_OK);

    const agt_policy_ops_t *ops = agt_policy_find("perfect");
    agt_context_t ctx = {.agent = 4, .rules = &c, .names = &names, .timing = "sequential"};
    void *self = NULL;
    char msg[128];
    assert_int_equal(ops->create(&self, &ctx, msg, sizeof msg), 0);
    s_sink_t sink = {0};
    assert_int_equal(ops->decide(self, 77, &o, 10.0, s_on_done, &sink), 0);
    assert_int_equal(sink.calls, 1); /* scripted: at once */
    assert_int_equal(sink.turn, 77);

    env_decision_t *d = env_decision_new();
    uint64_t rng = 0;
    assert_int_equal(env_policy_decide(ENV_POLICY_PERFECT, &names, &o, &rng, d), ENV_OK);
    assert_true(env_decision_count(d) > 0);
    assert_int_equal(env_decision_count(sink.out->decision), env_decision_count(d));
    const env_action_t *x = env_decision_actions(d), *y = env_decision_actions(sink.out->decision);
    for (size_t i = 0; i < env_decision_count(d); i++) {
        assert_int_equal(x[i].kind, y[i].kind);
        assert_string_equal(x[i].to ? x[i].to : "", y[i].to ? y[i].to : "");
        assert_string_equal(x[i].content ? x[i].content : "", y[i].content ? y[i].content : "");
    }
    env_decision_destroy(&d);
    agt_outcome_destroy(&sink.out);
    ops->destroy(self);
    env_game_destroy(&g);
}

/* A run directory with known tokens: the broker reuses seats.json. */
static void s_seats(const char *rundir, int n)
{
    mkdir(rundir, 0755);
    char text[4096] = "{", *p = text + 1;
    for (int i = 0; i < n; i++)
        p += snprintf(p, (size_t)(text + sizeof text - p), "%s\"agent_%d\": \"%032d\"",
                      i ? ", " : "", i + 1, i + 1);
    snprintf(p, (size_t)(text + sizeof text - p), "}\n");
    e2e_write(rundir, "seats.json", text);
}

static void test_agents_wait_for_their_broker(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("early");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 6\nsimulation: {rounds: 4}\n"
                                "timing: {mode: sequential, turn_timeout: 30, heartbeat: 0.2}\n"
                                "seats:\n  - {policy: perfect, count: 10}\n");
    char rundir[1100], ep[64];
    snprintf(rundir, sizeof rundir, "%s/run", dir);
    s_seats(rundir, 10);
    int port = e2e_free_port();
    assert_true(port > 0);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    pid_t pids[10];
    for (int i = 0; i < 10; i++) {
        char seat[16];
        snprintf(seat, sizeof seat, "agent_%d", i + 1);
        pids[i] = e2e_agent(ep, rundir, seat, "perfect");
    }
    struct timespec ts = {0, 300 * 1000000};
    nanosleep(&ts, NULL); /* the agents are knocking on a closed door */
    e2e_broker_t b;
    assert_int_equal(e2e_broker_start(&b, cfg, rundir, ep, NULL), 0);
    assert_int_equal(e2e_wait(b.pid, 60000), 0);
    for (int i = 0; i < 10; i++) assert_int_equal(e2e_wait(pids[i], 20000), 0);
    json_t *sum = e2e_json(rundir, "summary.json");
    assert_non_null(sum);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(sum, "totals"), "missed_turns")), 0);
    json_decref(sum);
}

static void test_agents_survive_a_broker_restart(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("restart");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 6\nsimulation: {rounds: 40}\n"
                                "timing: {mode: sequential, turn_timeout: 30, heartbeat: 0.2}\n"
                                "seats:\n  - {policy: passive, count: 10}\n");
    char rundir[1100], ep[64];
    snprintf(rundir, sizeof rundir, "%s/run", dir);
    s_seats(rundir, 10);
    int port = e2e_restart_port(); /* the broker comes back on it */
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    e2e_broker_t b;
    assert_int_equal(e2e_broker_start(&b, cfg, rundir, ep, NULL), 0);
    pid_t pids[10];
    const char *pol[] = {"passive"};
    assert_int_equal(e2e_agents(&b, 10, pol, 1, pids), 0);
    /* Let the long game get going, then kill the broker outright. */
    for (int k = 0; k < 200; k++) {
        json_t *ev = e2e_events(rundir, "round_start");
        size_t n = json_array_size(ev);
        json_decref(ev);
        if (n >= 3) break;
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    kill(b.pid, SIGKILL);
    assert_int_equal(e2e_wait(b.pid, 5000), 128 + SIGKILL);
    /* A new broker on the same port and run directory (same tokens) resumes
     * the game (broker/brk_resume.c). */
    e2e_broker_t b2;
    assert_int_equal(e2e_broker_start(&b2, cfg, rundir, ep, NULL), 0);
    assert_int_equal(e2e_wait(b2.pid, 60000), 0);
    for (int i = 0; i < 10; i++) assert_int_equal(e2e_wait(pids[i], 20000), 0);
    json_t *sum = e2e_json(rundir, "summary.json");
    assert_non_null(sum);
    assert_string_equal(json_string_value(json_object_get(sum, "status")), "ok");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(sum, "totals"), "missed_turns")), 0);
    json_decref(sum);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_registry),
        cmocka_unit_test(test_outcome_helpers),
        cmocka_unit_test(test_scripted_policy_decides_like_env),
        cmocka_unit_test(test_agents_wait_for_their_broker),
        cmocka_unit_test(test_agents_survive_a_broker_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
