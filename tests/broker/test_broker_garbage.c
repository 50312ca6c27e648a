/* test_broker_garbage.c: the broker survives any bytes a peer sends. The test
 * holds agent_1's seat on a raw DEALER and sends random bytes, a truncated
 * Envelope, two frames, an oversized frame, a Decision before Hello, unknown
 * seats, a wrong token, a message only brokers send, a stale turn id and a
 * decision out of turn: each is answered with the right Error, and the game,
 * played by nine real agents around it, still finishes. */
#include "e2e.h"
#include "wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include <cmocka.h>

/* The next envelope of `body` (others skipped: heartbeats, notices...). */
static Parley__Envelope *s_expect(void *sock, int body, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 50) <= 0) continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        while (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) >= 0) {
            Parley__Envelope *e =
                wire_unpack(zmq_msg_data(&m), zmq_msg_size(&m), WIRE_MAX_BROKER_MSG, NULL);
            if (e && (int)e->body_case == body) {
                zmq_msg_close(&m);
                return e;
            }
            wire_free(&e);
        }
        zmq_msg_close(&m);
    }
    return NULL;
}

static void s_expect_error(void *sock, int code)
{
    Parley__Envelope *e = s_expect(sock, PARLEY__ENVELOPE__BODY_ERROR, 10000);
    assert_non_null(e);
    if ((int)e->error->code != code)
        fail_msg("expected %s, got %s (%s)", wire_code_name(code), wire_code_name(e->error->code),
                 e->error->message);
    wire_free(&e);
}

static void s_send_env(void *sock, Parley__Envelope *e)
{
    assert_int_equal(wire_send(sock, NULL, 0, e, WIRE_MAX_BROKER_MSG), WIRE_OK);
}

static void s_hello(void *sock, const char *seat, const char *token)
{
    Parley__Hello h = PARLEY__HELLO__INIT;
    h.seat = (char *)seat;
    h.token = (char *)token;
    h.policy = "test";
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_HELLO;
    e.hello = &h;
    s_send_env(sock, &e);
}

static void s_decision(void *sock, uint64_t turn_id)
{
    Parley__Action act = PARLEY__ACTION__INIT;
    act.kind = PARLEY__ACTION__KIND__BROADCAST;
    act.content = "hello from a test";
    Parley__Action *acts[] = {&act};
    Parley__Decision d = PARLEY__DECISION__INIT;
    d.turn_id = turn_id;
    d.n_actions = 1;
    d.actions = acts;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_DECISION;
    e.decision = &d;
    s_send_env(sock, &e);
}

static void test_garbage_gets_errors_and_game_goes_on(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("garbage");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 9\nsimulation: {rounds: 3}\n"
                                "timing: {mode: sequential, turn_timeout: 5, heartbeat: 0.5}\n"
                                "seats:\n  - {policy: perfect, count: 10}\n");
    char rundir[1100];
    snprintf(rundir, sizeof rundir, "%s/run", dir);
    e2e_broker_t b;
    const char *extra[] = {"--start-timeout", "60", NULL};
    assert_int_equal(e2e_broker_start(&b, cfg, rundir, NULL, extra), 0);

    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(sock, b.router), 0);

    /* Random bytes: wire type 7 does not exist, so this is never an Envelope. */
    unsigned char junk[64];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)(0xff - (i % 7));
    assert_int_equal(zmq_send(sock, junk, sizeof junk, 0), (int)sizeof junk);
    s_expect_error(sock, PARLEY__ERROR__CODE__MALFORMED);

    /* A truncated Envelope. */
    Parley__Hello h = PARLEY__HELLO__INIT;
    h.seat = "agent_1";
    h.token = "0123456789abcdef0123456789abcdef";
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_HELLO;
    e.hello = &h;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_pack(&e, WIRE_MAX_AGENT_MSG, &buf, &len), WIRE_OK);
    assert_int_equal(zmq_send(sock, buf, len - 5, 0), (int)(len - 5));
    free(buf);
    s_expect_error(sock, PARLEY__ERROR__CODE__MALFORMED);

    /* An empty frame (an Envelope without a body). */
    assert_int_equal(zmq_send(sock, "", 0, 0), 0);
    s_expect_error(sock, PARLEY__ERROR__CODE__MALFORMED);

    /* Two frames. */
    assert_int_equal(zmq_send(sock, "a", 1, ZMQ_SNDMORE), 1);
    assert_int_equal(zmq_send(sock, "b", 1, 0), 1);
    s_expect_error(sock, PARLEY__ERROR__CODE__MALFORMED);

    /* Oversized. */
    size_t big = WIRE_MAX_AGENT_MSG + 4096;
    char *huge = calloc(1, big);
    assert_non_null(huge);
    assert_int_equal(zmq_send(sock, huge, big, 0), (int)big);
    free(huge);
    s_expect_error(sock, PARLEY__ERROR__CODE__TOO_LARGE);

    /* A decision before Hello. */
    s_decision(sock, 1);
    s_expect_error(sock, PARLEY__ERROR__CODE__NOT_WELCOMED);

    /* Unknown seat, wrong token. */
    s_hello(sock, "agent_99", "x");
    s_expect_error(sock, PARLEY__ERROR__CODE__UNKNOWN_SEAT);
    s_hello(sock, "../../etc/passwd", "x");
    s_expect_error(sock, PARLEY__ERROR__CODE__UNKNOWN_SEAT);
    s_hello(sock, "agent_1", "not-the-token");
    s_expect_error(sock, PARLEY__ERROR__CODE__BAD_TOKEN);

    /* A message only brokers send. */
    Parley__GameOver go = PARLEY__GAME_OVER__INIT;
    Parley__Envelope e2 = PARLEY__ENVELOPE__INIT;
    e2.body_case = PARLEY__ENVELOPE__BODY_GAME_OVER;
    e2.game_over = &go;
    s_send_env(sock, &e2);
    s_expect_error(sock, PARLEY__ERROR__CODE__UNEXPECTED);

    /* Now the real seat, and the nine others. */
    s_hello(sock, "agent_1", e2e_token(rundir, "agent_1"));
    Parley__Envelope *w = s_expect(sock, PARLEY__ENVELOPE__BODY_WELCOME, 10000);
    assert_non_null(w);
    assert_string_equal(w->welcome->seat, "agent_1");
    assert_int_equal(w->welcome->n_agents, 10);
    wire_free(&w);
    pid_t pids[10] = {0};
    for (int i = 1; i < 10; i++) {
        char seat[16];
        snprintf(seat, sizeof seat, "agent_%d", i + 1);
        pids[i] = e2e_agent(b.router, rundir, seat, "perfect");
    }

    Parley__Envelope *tr = s_expect(sock, PARLEY__ENVELOPE__BODY_TURN_REQUEST, 30000);
    assert_non_null(tr);
    uint64_t turn = tr->turn_request->turn_id;
    assert_int_equal(tr->turn_request->observation->agent, 0);
    assert_true(tr->turn_request->observation->n_tasks > 0);
    wire_free(&tr);

    /* A stale turn id, then the right one, then the same again: out of turn. */
    s_decision(sock, turn + 1000);
    s_expect_error(sock, PARLEY__ERROR__CODE__STALE_TURN);
    s_decision(sock, turn);
    Parley__Envelope *res = s_expect(sock, PARLEY__ENVELOPE__BODY_ACTION_RESULTS, 10000);
    assert_non_null(res);
    assert_int_equal(res->action_results->n_results, 1);
    assert_true(res->action_results->results[0]->ok);
    wire_free(&res);
    s_decision(sock, turn);
    Parley__Envelope *err = s_expect(sock, PARLEY__ENVELOPE__BODY_ERROR, 10000);
    assert_non_null(err);
    assert_true(err->error->code == PARLEY__ERROR__CODE__NOT_YOUR_TURN ||
                err->error->code == PARLEY__ERROR__CODE__STALE_TURN);
    wire_free(&err);

    /* Leave: the seat's remaining turns are missed at once; the game ends. */
    Parley__Bye bye = PARLEY__BYE__INIT;
    bye.reason = "test done";
    Parley__Envelope e3 = PARLEY__ENVELOPE__INIT;
    e3.body_case = PARLEY__ENVELOPE__BODY_BYE;
    e3.bye = &bye;
    s_send_env(sock, &e3);

    assert_int_equal(e2e_wait(b.pid, 120000), 0);
    for (int i = 1; i < 10; i++) assert_int_equal(e2e_wait(pids[i], 20000), 0);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    char out[4096];
    if (e2e_replay(rundir, out, sizeof out) != 0) fail_msg("parley replay: %s", out);
    json_t *sum = e2e_json(rundir, "summary.json");
    assert_non_null(sum);
    assert_string_equal(json_string_value(json_object_get(sum, "status")), "ok");
    json_t *row = json_array_get(json_object_get(sum, "board"), 0);
    assert_int_equal(json_integer_value(json_object_get(row, "turns")), 1);
    assert_true(json_integer_value(json_object_get(row, "missed_turns")) >= 2);
    json_decref(sum);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_garbage_gets_errors_and_game_goes_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
