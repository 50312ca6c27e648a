/* test_wire_delta_agent.c: a real parley-agent process against a broker
 * played by this test on a ROUTER socket, to see what the agent does with
 * deltas that do not fit. The agent says Hello with observation_mode DELTA.
 * A delta before any whole observation, a delta on an observation that was
 * lost on the way, and a delta on the right base whose edit runs past the
 * base's list, and a delta on the right base whose new message names an agent
 * outside the game (the seat's kept view refuses it) each get Resync{turn_id}
 * and no decision (the agent does not decide on a guess, and does not
 * crash); the whole observation sent in
 * answer gets a decision, and a good delta after it gets one with no resync.
 * GameOver ends the agent with 0. */
#include "e2e.h"
#include "wire_delta.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include <cmocka.h>

typedef struct {
    void *ctx, *router;
    uint8_t rid[256];
    size_t rid_len;
    env_game_t *game;
    env_names_t names;
    wire_delta_enc_t *enc;
} s_broker_t;

/* The next message from the agent other than a heartbeat (10 s at most). */
static Parley__Envelope *s_recv(s_broker_t *b)
{
    for (;;) {
        zmq_pollitem_t it = {b->router, 0, ZMQ_POLLIN, 0};
        assert_int_equal(zmq_poll(&it, 1, 10000), 1);
        uint8_t buf[1 << 16];
        int n = zmq_recv(b->router, b->rid, sizeof b->rid, 0);
        assert_true(n > 0);
        b->rid_len = (size_t)n;
        n = zmq_recv(b->router, buf, sizeof buf, 0);
        assert_true(n >= 0);
        int err = 0;
        Parley__Envelope *e = wire_unpack(buf, (size_t)n, WIRE_MAX_AGENT_MSG, &err);
        assert_non_null(e);
        if (e->body_case != PARLEY__ENVELOPE__BODY_HEARTBEAT) return e;
        wire_free(&e);
    }
}

static void s_send(s_broker_t *b, Parley__Envelope *e)
{
    e->game_id = "00000000000000aa";
    assert_int_equal(wire_send(b->router, b->rid, b->rid_len, e, WIRE_MAX_BROKER_MSG), WIRE_OK);
}

/* What is wrong with a turn: nothing, an edit of `messages` that runs past
 * the base's list, or a new message from an agent the game does not have. */
enum { S_GOOD = 0, S_BAD_EDIT, S_BAD_ELEMENT };

/* Turn turn_id for agent_1: whole (the encoder reset first) or a delta. */
static void s_turn(s_broker_t *b, uint64_t turn_id, bool whole, int fault)
{
    env_obs_t o;
    assert_int_equal(env_observe(b->game, 0, ENV_TURN_NORMAL, &o), ENV_OK);
    wire_arena_t *a = wire_arena_new();
    Parley__Observation *full = wire_obs_to_pb(a, &o, b->names.n_agents);
    assert_non_null(full);
    if (whole) wire_delta_enc_reset(b->enc);
    Parley__TurnRequest tr = PARLEY__TURN_REQUEST__INIT;
    assert_int_equal(wire_delta_encode(b->enc, a, full, true, &tr), WIRE_OK);
    assert_int_equal(tr.base_version == 0, whole);
    Parley__ListEdit bad = PARLEY__LIST_EDIT__INIT, *edits[1] = {&bad};
    if (fault == S_BAD_ELEMENT) {
        assert_true(tr.observation->n_messages > 0); /* the delta carries the new one */
        tr.observation->messages[tr.observation->n_messages - 1]->from = 99;
    }
    if (fault == S_BAD_EDIT) {
        bad.field = 11; /* messages */
        bad.skip = 0;
        bad.keep = (uint32_t)full->n_messages + 5;
        tr.n_edits = 1;
        tr.edits = edits;
    }
    tr.turn_id = turn_id;
    tr.deadline_s = 30;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_TURN_REQUEST;
    e.turn_request = &tr;
    s_send(b, &e);
    wire_arena_destroy(&a);
}

/* An observation encoded for agent_1 and never sent: a lost frame. */
static void s_lost(s_broker_t *b)
{
    env_obs_t o;
    assert_int_equal(env_observe(b->game, 0, ENV_TURN_NORMAL, &o), ENV_OK);
    wire_arena_t *a = wire_arena_new();
    Parley__Observation *full = wire_obs_to_pb(a, &o, b->names.n_agents);
    assert_non_null(full);
    Parley__TurnRequest tr = PARLEY__TURN_REQUEST__INIT;
    assert_int_equal(wire_delta_encode(b->enc, a, full, true, &tr), WIRE_OK);
    wire_arena_destroy(&a);
}

static void s_expect(s_broker_t *b, int body, uint64_t turn_id)
{
    Parley__Envelope *e = s_recv(b);
    if ((int)e->body_case != body)
        fail_msg("expected %s, the agent sent %s", wire_body_name(body),
                 wire_body_name(e->body_case));
    uint64_t got =
        body == PARLEY__ENVELOPE__BODY_RESYNC ? e->resync->turn_id : e->decision->turn_id;
    assert_int_equal(got, turn_id);
    wire_free(&e);
}

/* Something for the observation to show: agent_2 writes to agent_1. */
static void s_message(s_broker_t *b, const char *text)
{
    env_decision_t *d = env_decision_new();
    assert_non_null(d);
    env_decision_message(d, b->names.agent_ids[0], text);
    env_result_t res[4];
    env_apply(b->game, 1, ENV_TURN_NORMAL, env_decision_actions(d), env_decision_count(d), "", res);
    env_decision_destroy(&d);
}

static void test_agent_asks_again_for_what_does_not_fit(void **state)
{
    (void)state;
    s_broker_t b = {0};
    env_config_t c;
    env_config_paper(&c);
    int err = 0;
    b.game = env_game_new(&c, NULL, NULL, &err);
    assert_non_null(b.game);
    env_game_names(b.game, &b.names);
    assert_int_equal(env_round_begin(b.game), ENV_OK);
    b.enc = wire_delta_enc_new();
    assert_non_null(b.enc);
    b.ctx = zmq_ctx_new();
    b.router = zmq_socket(b.ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(b.router, "tcp://127.0.0.1:*"), 0);
    char ep[256];
    size_t eplen = sizeof ep;
    assert_int_equal(zmq_getsockopt(b.router, ZMQ_LAST_ENDPOINT, ep, &eplen), 0);
    const char *dir = e2e_tmpdir("deltaagent");
    e2e_write(dir, "seats.json", "{\"agent_1\": \"0123456789abcdef0123456789abcdef\"}");
    pid_t pid = e2e_agent(ep, dir, "agent_1", "passive");
    assert_true(pid > 0);

    Parley__Envelope *hello = s_recv(&b);
    assert_int_equal(hello->body_case, PARLEY__ENVELOPE__BODY_HELLO);
    assert_int_equal(hello->hello->observation_mode, PARLEY__OBSERVATION_MODE__OBSERVATION_DELTA);
    wire_free(&hello);
    Parley__GameRules rules;
    wire_rules_from_config(&c, "information", "sequential", 0, 30, 0, &rules);
    Parley__Welcome w = PARLEY__WELCOME__INIT;
    w.seat = "agent_1";
    w.agent_type = "neutral";
    w.rules = &rules;
    w.n_agents = (size_t)b.names.n_agents;
    w.agents = (char **)b.names.agent_ids;
    w.n_pieces = (size_t)b.names.n_pieces;
    w.pieces = (char **)b.names.piece_names;
    w.heartbeat_s = 5;
    Parley__Envelope we = PARLEY__ENVELOPE__INIT;
    we.body_case = PARLEY__ENVELOPE__BODY_WELCOME;
    we.welcome = &w;
    s_send(&b, &we);

    /* A delta before any whole observation (the whole one was lost). */
    s_lost(&b);
    s_turn(&b, 1, false, S_GOOD);
    s_expect(&b, PARLEY__ENVELOPE__BODY_RESYNC, 1);
    s_turn(&b, 1, true, S_GOOD); /* the answer: whole */
    s_expect(&b, PARLEY__ENVELOPE__BODY_DECISION, 1);

    /* Observation 3 lost; observation 4 builds on it. */
    s_message(&b, "first");
    s_lost(&b);
    s_message(&b, "second");
    s_turn(&b, 2, false, S_GOOD);
    s_expect(&b, PARLEY__ENVELOPE__BODY_RESYNC, 2);
    s_turn(&b, 2, true, S_GOOD);
    s_expect(&b, PARLEY__ENVELOPE__BODY_DECISION, 2);

    /* A delta on the right base whose edit runs past the list. */
    s_message(&b, "third");
    s_turn(&b, 3, false, S_BAD_EDIT);
    s_expect(&b, PARLEY__ENVELOPE__BODY_RESYNC, 3);
    s_turn(&b, 3, true, S_GOOD);
    s_expect(&b, PARLEY__ENVELOPE__BODY_DECISION, 3);

    /* A delta that fits, but brings a message from agent 99 of 10. */
    s_message(&b, "bad");
    s_turn(&b, 4, false, S_BAD_ELEMENT);
    s_expect(&b, PARLEY__ENVELOPE__BODY_RESYNC, 4);
    s_turn(&b, 4, true, S_GOOD);
    s_expect(&b, PARLEY__ENVELOPE__BODY_DECISION, 4);

    /* And a good delta after it is simply decided. */
    s_message(&b, "fourth");
    s_turn(&b, 5, false, S_GOOD);
    s_expect(&b, PARLEY__ENVELOPE__BODY_DECISION, 5);

    Parley__GameOver go = PARLEY__GAME_OVER__INIT;
    go.reason = "finished";
    Parley__Envelope ge = PARLEY__ENVELOPE__INIT;
    ge.body_case = PARLEY__ENVELOPE__BODY_GAME_OVER;
    ge.game_over = &go;
    s_send(&b, &ge);
    assert_int_equal(e2e_wait(pid, 10000), 0);

    int linger = 0;
    zmq_setsockopt(b.router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(b.router);
    zmq_ctx_term(b.ctx);
    wire_delta_enc_destroy(&b.enc);
    env_game_destroy(&b.game);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agent_asks_again_for_what_does_not_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
