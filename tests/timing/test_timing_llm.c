/* test_timing_llm.c: a realtime llm seat lives in time. agent_1 is a real
 * parley-agent with policy llm, pointed at parley-fake-llm, whose every reply
 * takes 2 s; agent_2 is a raw wire client that, while agent_1's first call is
 * in flight, sends it a piece. Under realtime_policy: redecide the broker
 * supersedes agent_1's open turn, the agent drops the call in flight and
 * decides again: its first decision to take effect was made on a state that
 * holds the piece (nothing arrived since its turn was offered), and its
 * prompt (the clear template) said what arrived and how much time was left.
 * Under wait (the control) the call in flight goes on: its first decision
 * was made on the state before the piece. */
#include "e2e.h"
#include "fake_proc.h"
#include "timing_util.h"
#include "wire.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

#define KEY_VAR "PARLEY_TEST_TIMING_KEY"

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_send(void *sock, Parley__Envelope *e)
{
    assert_int_equal(wire_send(sock, NULL, 0, e, WIRE_MAX_BROKER_MSG), WIRE_OK);
}

/* agent_2: on its first turn waits 0.6 s, then sends agent_1 the first piece
 * it holds; every later turn is answered empty. Until GameOver. */
static void s_sender(const char *router, const char *dir)
{
    void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(sock, router), 0);
    Parley__Hello h = PARLEY__HELLO__INIT;
    h.seat = "agent_2";
    h.token = (char *)e2e_token(dir, "agent_2");
    h.policy = "raw-sender";
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_HELLO;
    e.hello = &h;
    s_send(sock, &e);
    int turns = 0;
    char piece[64] = "";
    char names[64][64];
    int n_names = 0;
    double start = s_now(), last_hb = s_now();
    bool over = false;
    while (!over && s_now() - start < 60) {
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 50) > 0) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            while (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) >= 0) {
                Parley__Envelope *in =
                    wire_unpack(zmq_msg_data(&m), zmq_msg_size(&m), WIRE_MAX_BROKER_MSG, NULL);
                if (in && in->body_case == PARLEY__ENVELOPE__BODY_WELCOME) {
                    for (size_t k = 0; k < in->welcome->n_pieces && k < 64; k++)
                        snprintf(names[n_names++], sizeof names[0], "%s", in->welcome->pieces[k]);
                    wire_free(&in);
                    continue;
                }
                if (in && in->body_case == PARLEY__ENVELOPE__BODY_GAME_OVER) over = true;
                if (in && in->body_case == PARLEY__ENVELOPE__BODY_TURN_REQUEST &&
                    !in->turn_request->resent) {
                    Parley__Action act = PARLEY__ACTION__INIT;
                    Parley__Action *acts[] = {&act};
                    char *info[1] = {piece};
                    Parley__PieceValue pv = PARLEY__PIECE_VALUE__INIT;
                    Parley__PieceValue *pvs[] = {&pv};
                    Parley__Decision d = PARLEY__DECISION__INIT;
                    d.turn_id = in->turn_request->turn_id;
                    if (turns++ == 0) {
                        const Parley__Observation *o = in->turn_request->observation;
                        assert_true(o && o->n_inventory > 0);
                        int at = o->inventory[0]->piece;
                        assert_true(at >= 0 && at < n_names);
                        snprintf(piece, sizeof piece, "%s", names[at]);
                        pv.piece = piece;
                        pv.value = o->inventory[0]->value; /* as held: truthful */
                        /* agent_1's first model call is in flight now (2 s). */
                        usleep(600 * 1000);
                        act.kind = PARLEY__ACTION__KIND__SEND_INFORMATION;
                        act.to = "agent_1";
                        act.n_information = 1;
                        act.information = info;
                        act.n_values = 1;
                        act.values = pvs;
                        d.n_actions = 1;
                        d.actions = acts;
                    }
                    Parley__Envelope de = PARLEY__ENVELOPE__INIT;
                    de.body_case = PARLEY__ENVELOPE__BODY_DECISION;
                    de.decision = &d;
                    s_send(sock, &de);
                }
                wire_free(&in);
            }
            zmq_msg_close(&m);
        }
        if (s_now() - last_hb > 0.3) {
            Parley__Heartbeat hb = PARLEY__HEARTBEAT__INIT;
            hb.status = "idle";
            Parley__Envelope b = PARLEY__ENVELOPE__INIT;
            b.body_case = PARLEY__ENVELOPE__BODY_HEARTBEAT;
            b.heartbeat = &hb;
            s_send(sock, &b);
            last_hb = s_now();
        }
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    assert_true(over);
}

static pid_t s_llm_agent(const char *router, const char *dir, const char *cfg)
{
    char log[1200];
    snprintf(log, sizeof log, "%s/agent_1.llm.log", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = freopen(log, "w", stderr);
        (void)f;
        char prog[1200];
        snprintf(prog, sizeof prog, "%s/parley-agent", getenv("PARLEY_BIN"));
        execl(prog, prog, "--broker", router, "--seat", "agent_1", "--token",
              e2e_token(dir, "agent_1"), "--policy", "llm", "--config", cfg, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Index in the record of the first event of type for agent (from `from`), or -1. */
static long s_find(json_t *all, const char *type, const char *agent, size_t from)
{
    for (size_t i = from; i < json_array_size(all); i++) {
        json_t *ev = json_array_get(all, i);
        const char *t = json_string_value(json_object_get(ev, "type"));
        const char *a = json_string_value(json_object_get(ev, "agent"));
        if (t && !strcmp(t, type) && (!agent || (a && !strcmp(a, agent)))) return (long)i;
    }
    return -1;
}

/* Index of agent_2's transfer to agent_1 in the record, or -1. */
static long s_find_piece(json_t *all)
{
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *ev = json_array_get(all, i);
        const char *t = json_string_value(json_object_get(ev, "type"));
        const char *from = json_string_value(json_object_get(ev, "from"));
        const char *to = json_string_value(json_object_get(ev, "to"));
        if (t && !strcmp(t, "transfer") && from && !strcmp(from, "agent_2") && to &&
            !strcmp(to, "agent_1"))
            return (long)i;
    }
    return -1;
}

static void s_game(const char *policy, char *out, size_t cap)
{
    const char *dir = e2e_tmpdir(policy);
    setenv(KEY_VAR, "timing-test-key", 1);
    const char *fargs[] = {"--delay", "2", NULL};
    int port = 0;
    pid_t fake = fake_start(fargs, &port);
    assert_true(fake > 0);
    char text[2048];
    snprintf(text, sizeof text,
             "seed: 5\nsimulation: {agents: 4, rounds: 1}\n"
             "information: {total_pieces: 8, pieces_per_agent: 2}\n"
             "tasks: {pieces_per_task: 2}\n"
             "timing: {mode: realtime, duration: 7, turn_timeout: 10, heartbeat: 0.3}\n"
             "seats:\n"
             "  - {policy: llm, count: 1, provider: openai, model: gpt-fake, prompt: clear,\n"
             "     base_url: \"http://127.0.0.1:%d/v1\", api_key_env: %s, realtime_policy: %s}\n"
             "  - {policy: perfect, count: 1}\n"
             "  - {policy: perfect, count: 1}\n"
             "  - {policy: selfish, count: 1}\n",
             port, KEY_VAR, policy);
    const char *cfg = e2e_write(dir, "game.yaml", text);
    snprintf(out, cap, "%s/run", dir);
    e2e_broker_t b;
    const char *extra[] = {"--start-timeout", "60", NULL};
    assert_int_equal(e2e_broker_start(&b, cfg, out, NULL, extra), 0);
    pid_t llm = s_llm_agent(b.router, out, cfg);
    pid_t p3 = e2e_agent(b.router, out, "agent_3", "perfect");
    pid_t p4 = e2e_agent(b.router, out, "agent_4", "selfish");
    s_sender(b.router, out);
    assert_int_equal(e2e_wait(b.pid, 60000), 0);
    assert_int_equal(e2e_wait(llm, 20000), 0);
    assert_int_equal(e2e_wait(p3, 20000), 0);
    assert_int_equal(e2e_wait(p4, 20000), 0);
    fake_stop(fake);
}

static void test_redecide_acts_on_the_new_state(void **state)
{
    (void)state;
    char dir[1100];
    s_game("redecide", dir, sizeof dir);
    json_t *all = e2e_events(dir, NULL);
    assert_non_null(all);
    long xfer = s_find_piece(all);
    assert_true(xfer >= 0);
    /* The open turn was superseded by the piece, after it arrived ... */
    long sup = s_find(all, "turn_superseded", "agent_1", 0);
    assert_true(sup > xfer);
    /* ... and agent_1's first decision to take effect came after, on the new
     * turn, made on a state nothing had arrived since. */
    long dec = s_find(all, "decision", "agent_1", 0);
    assert_true(dec > sup);
    json_t *d = json_array_get(all, dec);
    assert_int_equal(json_integer_value(json_object_get(d, "arrived")), 0);
    json_int_t superseded =
        json_integer_value(json_object_get(json_array_get(all, sup), "turn_id"));
    assert_true(json_integer_value(json_object_get(d, "turn_id")) > superseded);
    /* Its prompt said what arrived since the last decision, and the time left. */
    json_t *calls = json_object_get(d, "calls");
    assert_true(json_array_size(calls) >= 1);
    const char *req = json_string_value(
        json_object_get(json_array_get(calls, json_array_size(calls) - 1), "request_body"));
    assert_non_null(req);
    assert_non_null(strstr(req, "Since your last decision"));
    assert_non_null(strstr(req, "agent_2 sent you 1 piece(s)"));
    assert_non_null(strstr(req, "Time left for this decision"));
    json_decref(all);
    tu_check_outcomes(dir, "agent_1");
}

static void test_wait_keeps_the_call_in_flight(void **state)
{
    (void)state;
    char dir[1100];
    s_game("wait", dir, sizeof dir);
    json_t *all = e2e_events(dir, NULL);
    assert_non_null(all);
    long xfer = s_find_piece(all);
    assert_true(xfer >= 0);
    assert_true(s_find(all, "turn_superseded", "agent_1", 0) < 0);
    long dec = s_find(all, "decision", "agent_1", 0);
    assert_true(dec > xfer);
    /* Made on the state before the piece: it arrived while the call ran. */
    json_t *d = json_array_get(all, dec);
    assert_true(json_integer_value(json_object_get(d, "arrived")) >= 1);
    assert_true(json_integer_value(json_object_get(d, "stale")) >= 1);
    json_decref(all);
    tu_check_outcomes(dir, "agent_1");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redecide_acts_on_the_new_state),
        cmocka_unit_test(test_wait_keeps_the_call_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
