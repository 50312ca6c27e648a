/* test_broker_rules.c: rules the broker and engine enforce against a client that
 * does not play fair (issue 10). A raw client written from PROTOCOL.md holds one
 * seat, says `reactive: true`, and plays like the perfect agent but also submits
 * in every reply turn; nine real parley-agent processes play the other seats.
 * - reply turns may only answer: the submissions are refused
 *   (reply_turn_answers_only), recorded, and the result stays at or under the
 *   ceiling;
 * - reply turns only for a seat whose *configured* policy is reactive;
 * - an envelope for another game is refused (wrong_game);
 * - a seat that goes silent is declared lost (seat_lost) and its turns missed;
 * - realtime: every message and transfer to a seat arrives as a Notice;
 * - simultaneous: empty and departed seats are missed at once, with the reason.
 * The study's own config format is tested in test_broker_orig.c. */
#include "e2e.h"
#include "rules_util.h"
#include "wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include <cmocka.h>

typedef struct {
    void *ctx, *sock;
    char game_id[40];
    int n_agents, n_pieces;
    char **agents, **pieces;
} s_client_t;

static void s_send_env(s_client_t *c, Parley__Envelope *e)
{
    assert_int_equal(wire_send(c->sock, NULL, 0, e, WIRE_MAX_BROKER_MSG), WIRE_OK);
}

/* The next envelope from the broker, or NULL after timeout_ms. */
static Parley__Envelope *s_next(s_client_t *c, int timeout_ms)
{
    zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, timeout_ms) <= 0) return NULL;
    zmq_msg_t m;
    zmq_msg_init(&m);
    Parley__Envelope *e = NULL;
    if (zmq_msg_recv(&m, c->sock, ZMQ_DONTWAIT) >= 0)
        e = wire_unpack(zmq_msg_data(&m), zmq_msg_size(&m), WIRE_MAX_BROKER_MSG, NULL);
    zmq_msg_close(&m);
    return e;
}

static void s_heartbeat(s_client_t *c)
{
    Parley__Heartbeat hb = PARLEY__HEARTBEAT__INIT;
    hb.status = "idle";
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_HEARTBEAT;
    e.heartbeat = &hb;
    s_send_env(c, &e);
}

/* Connects and takes `seat`, claiming reactive; waits for Welcome. */
static void s_join(s_client_t *c, const char *router, const char *dir, const char *seat)
{
    memset(c, 0, sizeof *c);
    c->ctx = zmq_ctx_new();
    c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(c->sock, router), 0);
    Parley__Hello h = PARLEY__HELLO__INIT;
    h.seat = (char *)seat;
    h.token = (char *)e2e_token(dir, seat);
    h.policy = "fair-looking";
    h.reactive = true;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_HELLO;
    e.hello = &h;
    s_send_env(c, &e);
    for (int waited = 0; waited < 20000; waited += 100) {
        Parley__Envelope *w = s_next(c, 100);
        if (!w) continue;
        if (w->body_case == PARLEY__ENVELOPE__BODY_WELCOME) {
            snprintf(c->game_id, sizeof c->game_id, "%s", w->game_id);
            c->n_agents = (int)w->welcome->n_agents;
            c->n_pieces = (int)w->welcome->n_pieces;
            c->agents = calloc((size_t)c->n_agents, sizeof *c->agents);
            c->pieces = calloc((size_t)c->n_pieces, sizeof *c->pieces);
            assert_non_null(c->agents);
            assert_non_null(c->pieces);
            for (int i = 0; i < c->n_agents; i++) c->agents[i] = strdup(w->welcome->agents[i]);
            for (int i = 0; i < c->n_pieces; i++) c->pieces[i] = strdup(w->welcome->pieces[i]);
            wire_free(&w);
            return;
        }
        wire_free(&w);
    }
    fail_msg("no Welcome for %s", seat);
}

static void s_leave(s_client_t *c)
{
    for (int i = 0; i < c->n_agents; i++) free(c->agents[i]);
    for (int i = 0; i < c->n_pieces; i++) free(c->pieces[i]);
    free(c->agents);
    free(c->pieces);
    zmq_close(c->sock);
    zmq_ctx_term(c->ctx);
}

/* Answers one turn as the perfect agent would in a normal turn, whatever the
 * turn's kind: in a reply turn that means asking and submitting as well. */
static void s_answer_turn(s_client_t *c, const Parley__TurnRequest *tr)
{
    int err = 0;
    wire_obs_t *w = wire_obs_from_pb(tr->observation, c->n_agents, c->n_pieces, &err);
    assert_non_null(w);
    env_obs_t o = *wire_obs_view(w);
    o.kind = ENV_TURN_NORMAL; /* the cheat */
    env_names_t names = {c->n_agents, c->n_pieces, (const char *const *)c->agents,
                         (const char *const *)c->pieces};
    env_decision_t *d = env_decision_new();
    assert_non_null(d);
    assert_int_equal(env_policy_decide(ENV_POLICY_PERFECT, &names, &o, NULL, d), ENV_OK);
    wire_arena_t *a = wire_arena_new();
    Parley__Decision pd = PARLEY__DECISION__INIT;
    assert_int_equal(wire_decision_to_pb(a, d, &pd), WIRE_OK);
    pd.turn_id = tr->turn_id;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.game_id = c->game_id;
    e.body_case = PARLEY__ENVELOPE__BODY_DECISION;
    e.decision = &pd;
    s_send_env(c, &e);
    wire_arena_destroy(&a);
    env_decision_destroy(&d);
    wire_obs_destroy(&w);
}

/* Notices received, by kind. */
typedef struct {
    int message, transfer, other;
} s_notices_t;

static s_notices_t s_last_notices;

/* Plays the seat until GameOver. Before its first decision it sends one for
 * another game, which must be refused as wrong_game. Returns the turns played
 * ([0] normal, [1] reply); notices are counted in s_last_notices. */
static void s_play(s_client_t *c, int turns[2])
{
    turns[0] = turns[1] = 0;
    memset(&s_last_notices, 0, sizeof s_last_notices);
    bool wrong_game_seen = false, sent_wrong = false;
    for (int idle = 0; idle < 600;) {
        Parley__Envelope *e = s_next(c, 100);
        if (!e) {
            idle++;
            s_heartbeat(c);
            continue;
        }
        idle = 0;
        if (e->body_case == PARLEY__ENVELOPE__BODY_GAME_OVER) {
            wire_free(&e);
            break;
        }
        if (e->body_case == PARLEY__ENVELOPE__BODY_ERROR &&
            e->error->code == PARLEY__ERROR__CODE__WRONG_GAME)
            wrong_game_seen = true;
        if (e->body_case == PARLEY__ENVELOPE__BODY_NOTICE) {
            const char *what = e->notice->what;
            if (strcmp(what, "message") == 0) {
                assert_non_null(strstr(e->notice->text, "sent you a message"));
                s_last_notices.message++;
            } else if (strcmp(what, "transfer") == 0) {
                s_last_notices.transfer++;
            } else {
                s_last_notices.other++;
            }
        }
        if (e->body_case == PARLEY__ENVELOPE__BODY_TURN_REQUEST) {
            if (!sent_wrong) {
                Parley__Decision pd = PARLEY__DECISION__INIT;
                pd.turn_id = e->turn_request->turn_id;
                Parley__Envelope x = PARLEY__ENVELOPE__INIT;
                x.game_id = "00000000deadbeef";
                x.body_case = PARLEY__ENVELOPE__BODY_DECISION;
                x.decision = &pd;
                s_send_env(c, &x);
                sent_wrong = true;
            }
            turns[e->turn_request->observation->reply ? 1 : 0]++;
            s_answer_turn(c, e->turn_request);
        }
        s_heartbeat(c);
        wire_free(&e);
    }
    assert_true(sent_wrong);
    assert_true(wrong_game_seen);
}

static void s_game(const char *tag, const char *seat10, int turns[2], char *rundir, size_t cap)
{
    const char *dir = e2e_tmpdir(tag);
    char cfg_text[600];
    snprintf(cfg_text, sizeof cfg_text,
             "seed: 4\nsimulation: {rounds: 4}\n"
             "rules: {instant_fulfilment_exact_request: false}\n" /* the reply-turn rules */
             "timing: {mode: sequential, turn_timeout: 10, heartbeat: 0.5}\n"
             "seats:\n  - {policy: perfect, count: 9}\n  - {policy: %s}\n",
             seat10);
    const char *cfg = e2e_write(dir, "game.yaml", cfg_text);
    snprintf(rundir, cap, "%s/run", dir);
    e2e_broker_t b;
    const char *extra[] = {"--start-timeout", "60", NULL};
    assert_int_equal(e2e_broker_start(&b, cfg, rundir, NULL, extra), 0);
    s_client_t c;
    s_join(&c, b.router, rundir, "agent_10");
    pid_t pids[9];
    for (int i = 0; i < 9; i++) {
        char seat[16];
        snprintf(seat, sizeof seat, "agent_%d", i + 1);
        pids[i] = e2e_agent(b.router, rundir, seat, "perfect");
        assert_true(pids[i] > 0);
    }
    s_play(&c, turns);
    assert_int_equal(e2e_wait(b.pid, 60000), 0);
    for (int i = 0; i < 9; i++) assert_int_equal(e2e_wait(pids[i], 20000), 0);
    s_leave(&c);
}

/* The seat is configured perfect (reactive): it gets reply turns, and every
 * submission it makes in one is refused and recorded. The game's tasks stay
 * at or under perfect play's. */
static void test_reply_turn_submit_refused_result_under_ceiling(void **state)
{
    (void)state;
    char dir[1100];
    int turns[2];
    s_game("rules-reply", "perfect", turns, dir, sizeof dir);
    assert_int_equal(turns[0], 4); /* one normal turn a round */
    assert_true(turns[1] > 0);     /* and reply turns: others asked it */
    /* Refused: the submissions (and requests) it made in reply turns. */
    int refused = ru_count(dir, "action", "agent_10", "\"code\":\"reply_turn_answers_only\"");
    assert_true(refused > 0);
    int reply_submits = 0;
    json_t *evs = e2e_events(dir, "action");
    size_t i;
    json_t *ev;
    json_array_foreach(evs, i, ev)
    {
        const char *who = json_string_value(json_object_get(ev, "agent"));
        const char *turn = json_string_value(json_object_get(ev, "turn"));
        const char *type =
            json_string_value(json_object_get(json_object_get(ev, "action"), "type"));
        if (!who || strcmp(who, "agent_10") || strcmp(turn, "reply")) continue;
        if (strcmp(type, "submit_task") == 0) {
            reply_submits++;
            assert_false(json_is_true(json_object_get(ev, "ok")));
        }
        if (strcmp(type, "send_information") != 0)
            assert_string_equal(json_string_value(json_object_get(ev, "code")),
                                "reply_turn_answers_only");
    }
    json_decref(evs);
    assert_true(reply_submits > 0); /* it did try */
    json_t *sum = e2e_json(dir, "summary.json");
    assert_non_null(sum);
    json_t *ceiling = json_object_get(sum, "ceiling");
    assert_true(json_integer_value(json_object_get(sum, "tasks")) <=
                json_integer_value(json_object_get(ceiling, "tasks")));
    double pct = json_real_value(json_object_get(sum, "pct_optimal"));
    assert_true(pct > 0 && pct <= 100.0);
    json_decref(sum);
}

/* The same client on a seat configured `selfish`: its claim of reactive is not
 * honoured, so it never gets a reply turn. */
static void test_reactive_claim_ignored_for_non_reactive_seat(void **state)
{
    (void)state;
    char dir[1100];
    int turns[2];
    s_game("rules-claim", "selfish", turns, dir, sizeof dir);
    assert_int_equal(turns[0], 4);
    assert_int_equal(turns[1], 0);
    assert_int_equal(ru_count(dir, "turn", "agent_10", "\"turn\":\"reply\""), 0);
    assert_true(ru_count(dir, "message", NULL, "\"to\":\"agent_10\"") > 0); /* it was asked */
}

/* A seat that stops sending heartbeats is declared lost and its turns are
 * missed; the game finishes. */
static void test_silent_seat_lost_and_turns_missed(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("rules-lost");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 5\nsimulation: {rounds: 2}\n"
                                "timing: {mode: sequential, turn_timeout: 3, heartbeat: 0.25}\n"
                                "seats:\n  - {policy: perfect, count: 10}\n");
    char rundir[1100];
    snprintf(rundir, sizeof rundir, "%s/run", dir);
    e2e_broker_t b;
    const char *extra[] = {"--start-timeout", "60", NULL};
    assert_int_equal(e2e_broker_start(&b, cfg, rundir, NULL, extra), 0);
    s_client_t c;
    s_join(&c, b.router, rundir, "agent_10"); /* then silence */
    pid_t pids[9];
    for (int i = 0; i < 9; i++) {
        char seat[16];
        snprintf(seat, sizeof seat, "agent_%d", i + 1);
        pids[i] = e2e_agent(b.router, rundir, seat, "perfect");
    }
    assert_int_equal(e2e_wait(b.pid, 90000), 0);
    for (int i = 0; i < 9; i++) assert_int_equal(e2e_wait(pids[i], 20000), 0);
    s_leave(&c);
    assert_int_equal(ru_count(rundir, "seat_lost", "agent_10", NULL), 1);
    assert_int_equal(ru_count(rundir, "missed_turn", "agent_10", NULL), 2);
    json_t *sum = e2e_json(rundir, "summary.json");
    assert_non_null(sum);
    assert_string_equal(json_string_value(json_object_get(sum, "status")), "ok");
    json_decref(sum);
}

/* Events of `type` whose `field` is `value` (and, if kind, whose "kind" is it). */
static int s_count_field(const char *dir, const char *type, const char *field, const char *value,
                         const char *kind)
{
    json_t *evs = e2e_events(dir, type);
    assert_non_null(evs);
    int n = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(evs, i, ev)
    {
        const char *v = json_string_value(json_object_get(ev, field));
        const char *k = json_string_value(json_object_get(ev, "kind"));
        n += v && strcmp(v, value) == 0 && (!kind || (k && strcmp(k, kind) == 0));
    }
    json_decref(evs);
    return n;
}

/* Realtime: every message and every transfer to a seat reaches it as a Notice
 * while the game runs, one each; % of optimal is not given (no ceiling for
 * realtime). */
static void test_realtime_change_notices(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("rules-rt");
    const char *cfg =
        e2e_write(dir, "game.yaml",
                  "seed: 6\nsimulation: {rounds: 4}\n"
                  "timing: {mode: realtime, duration: 2, min_think: 0.05, turn_timeout: 5}\n"
                  "seats:\n  - {policy: perfect, count: 10}\n");
    char rundir[1100];
    snprintf(rundir, sizeof rundir, "%s/run", dir);
    e2e_broker_t b;
    const char *extra[] = {"--start-timeout", "60", NULL};
    assert_int_equal(e2e_broker_start(&b, cfg, rundir, NULL, extra), 0);
    s_client_t c;
    s_join(&c, b.router, rundir, "agent_10");
    pid_t pids[9];
    for (int i = 0; i < 9; i++) {
        char seat[16];
        snprintf(seat, sizeof seat, "agent_%d", i + 1);
        pids[i] = e2e_agent(b.router, rundir, seat, "perfect");
    }
    int turns[2];
    s_play(&c, turns);
    s_notices_t got = s_last_notices;
    assert_int_equal(e2e_wait(b.pid, 60000), 0);
    for (int i = 0; i < 9; i++) assert_int_equal(e2e_wait(pids[i], 20000), 0);
    s_leave(&c);
    assert_true(turns[0] > 1); /* realtime: it acted again and again */
    assert_int_equal(turns[1], 0);
    int msgs = s_count_field(rundir, "message", "to", "agent_10", "direct");
    int xfers = s_count_field(rundir, "transfer", "to", "agent_10", NULL);
    assert_true(msgs > 0);
    assert_true(xfers > 0);
    assert_int_equal(got.message, msgs);
    assert_int_equal(got.transfer, xfers);
    json_t *sum = e2e_json(rundir, "summary.json");
    assert_non_null(sum);
    assert_string_equal(json_string_value(json_object_get(sum, "timing")), "realtime");
    assert_true(json_is_null(json_object_get(sum, "pct_optimal")));
    /* Tasks are not bounded by the sequential ceiling here (agents act many times
     * a slice), which is why no % of it is given. */
    assert_true(json_integer_value(json_object_get(sum, "tasks")) > 0);
    json_decref(sum);
}

/* Simultaneous: a seat nobody takes and a seat that leaves are missed at once,
 * every round, with the reason; the others decide exactly once a round. */
static void test_simultaneous_empty_and_departed_seats(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("rules-sim");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 7\nsimulation: {rounds: 5}\n"
                                "timing: {mode: simultaneous, turn_timeout: 60}\n"
                                "seats:\n  - {policy: perfect, count: 10}\n");
    char rundir[1100];
    snprintf(rundir, sizeof rundir, "%s/run", dir);
    e2e_broker_t b;
    const char *extra[] = {"--start-timeout", "3", NULL};
    assert_int_equal(e2e_broker_start(&b, cfg, rundir, NULL, extra), 0);
    s_client_t c;
    s_join(&c, b.router, rundir, "agent_9"); /* agent_10: never taken */
    pid_t pids[8];
    for (int i = 0; i < 8; i++) {
        char seat[16];
        snprintf(seat, sizeof seat, "agent_%d", i + 1);
        pids[i] = e2e_agent(b.router, rundir, seat, "perfect");
    }
    /* agent_9 plays its first turn, then says Bye. */
    Parley__Envelope *e = NULL;
    for (int waited = 0; waited < 60000 && !e; waited += 100) {
        e = s_next(&c, 100);
        if (e && e->body_case != PARLEY__ENVELOPE__BODY_TURN_REQUEST) wire_free(&e);
        s_heartbeat(&c);
    }
    assert_non_null(e);
    s_answer_turn(&c, e->turn_request);
    wire_free(&e);
    Parley__Bye bye = PARLEY__BYE__INIT;
    bye.reason = "done";
    Parley__Envelope be = PARLEY__ENVELOPE__INIT;
    be.body_case = PARLEY__ENVELOPE__BODY_BYE;
    be.bye = &bye;
    s_send_env(&c, &be);
    /* With turn_timeout 60, the game ends within the wait only if the empty
     * and departed seats are not waited for. */
    assert_int_equal(e2e_wait(b.pid, 50000), 0);
    for (int i = 0; i < 8; i++) assert_int_equal(e2e_wait(pids[i], 20000), 0);
    s_leave(&c);
    assert_int_equal(ru_count(rundir, "missed_turn", "agent_10", "never connected"), 5);
    assert_int_equal(ru_count(rundir, "missed_turn", "agent_9", "left the game"), 4);
    assert_int_equal(ru_count(rundir, "missed_turn", "agent_9", NULL), 4);
    for (int i = 0; i < 8; i++) {
        char seat[16];
        snprintf(seat, sizeof seat, "agent_%d", i + 1);
        assert_int_equal(ru_count(rundir, "decision", seat, NULL), 5); /* once a round */
        assert_int_equal(ru_count(rundir, "missed_turn", seat, NULL), 0);
    }
    json_t *sum = e2e_json(rundir, "summary.json");
    assert_non_null(sum);
    assert_string_equal(json_string_value(json_object_get(sum, "status")), "ok");
    assert_int_equal(json_integer_value(json_object_get(sum, "rounds_played")), 5);
    assert_true(json_is_null(json_object_get(sum, "pct_optimal")));
    assert_true(json_integer_value(json_object_get(sum, "tasks")) > 0);
    json_decref(sum);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_turn_submit_refused_result_under_ceiling),
        cmocka_unit_test(test_reactive_claim_ignored_for_non_reactive_seat),
        cmocka_unit_test(test_silent_seat_lost_and_turns_missed),
        cmocka_unit_test(test_realtime_change_notices),
        cmocka_unit_test(test_simultaneous_empty_and_departed_seats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
