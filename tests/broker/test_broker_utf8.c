/* test_broker_utf8.c: every string a peer sends is valid UTF-8 by the time the
 * broker applies, relays or records it (PROTOCOL.md "Text": repair-and-flag).
 *
 * Two seats are held on raw DEALER sockets; a SUB socket watches the PUB side.
 * agent_1 says Hello with bad bytes in every free-text field, then answers its
 * first turn with a Decision that has bad bytes in every string field (each
 * action kind, an unknown kind, thoughts, model calls, dropped actions), and
 * sends a Heartbeat and a Bye with bad bytes. A token with a trailing NUL and a
 * seat id with a bad byte are refused. Then: every frame either seat receives
 * and every PUB frame is valid UTF-8, every byte of events.jsonl is, the
 * repaired fields are named in the record and to the sender, the broadcast
 * reached agent_2 with U+FFFD where the bad bytes were, and every action sent
 * has its `action` line, the unknown kind included. */
#include "e2e.h"
#include "wire.h"
#include "wire_text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include <cmocka.h>

#define BAD  "caf\xc3 \xff\xfe end" /* a cut 2-byte sequence, two bytes never valid */
#define FFFD "\xef\xbf\xbd"

/* A frame from the broker: it must need no repair. Returns it unpacked. */
static Parley__Envelope *s_recv_clean(void *sock, int timeout_ms)
{
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, timeout_ms) <= 0) return NULL;
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sock, 0) < 0) {
        zmq_msg_close(&m);
        return NULL;
    }
    json_t *fixed = NULL;
    Parley__Envelope *e =
        wire_unpack_text(zmq_msg_data(&m), zmq_msg_size(&m), WIRE_MAX_BROKER_MSG, &fixed, NULL);
    if (fixed) {
        char *paths = json_dumps(fixed, 0);
        fail_msg("the broker sent invalid UTF-8 in %s", paths ? paths : "?");
    }
    zmq_msg_close(&m);
    assert_non_null(e);
    return e;
}

static Parley__Envelope *s_expect(void *sock, int body, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        Parley__Envelope *e = s_recv_clean(sock, 50);
        if (e && (int)e->body_case == body) return e;
        wire_free(&e);
    }
    return NULL;
}

/* Packs e, replaces every "\x01\x02\x03" marker's first byte with NUL, sends. */
static void s_send_raw(void *sock, Parley__Envelope *e)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_pack(e, WIRE_MAX_AGENT_MSG, &buf, &len), WIRE_OK);
    for (size_t i = 0; i + 3 <= len; i++)
        if (memcmp(buf + i, "\x01\x02\x03", 3) == 0) buf[i] = 0;
    assert_int_equal(zmq_send(sock, buf, len, 0), (int)len);
    free(buf);
}

static void s_hello(void *sock, const char *seat, const char *token, const char *text)
{
    Parley__Hello h = PARLEY__HELLO__INIT;
    h.seat = (char *)seat;
    h.token = (char *)token;
    h.policy = (char *)text;
    h.model = (char *)text;
    h.client_version = (char *)text;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_HELLO;
    e.hello = &h;
    s_send_raw(sock, &e);
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

/* The decision with a bad string in every field: 7 actions. */
static void s_bad_decision(void *sock, uint64_t turn, const char *piece)
{
    char info_bad[128], answer[256];
    snprintf(info_bad, sizeof info_bad, "%.100s" BAD, piece);
    snprintf(answer, sizeof answer, "Combined result of: %.100s, " BAD, piece);
    Parley__Action a[7];
    for (int i = 0; i < 7; i++) parley__action__init(&a[i]);
    a[0].kind = PARLEY__ACTION__KIND__BROADCAST;
    a[0].content = "broadcast " BAD;
    a[1].kind = PARLEY__ACTION__KIND__SEND_MESSAGE;
    a[1].to = "agent_2";
    a[1].content = "direct " BAD;
    a[2].kind = PARLEY__ACTION__KIND__SEND_MESSAGE;
    a[2].to = "agent_2" BAD;
    a[2].content = "to nobody";
    Parley__PieceValue pv = PARLEY__PIECE_VALUE__INIT;
    pv.piece = info_bad;
    pv.value = 50;
    Parley__PieceValue *pvs[] = {&pv};
    char *infos[] = {info_bad};
    a[3].kind = PARLEY__ACTION__KIND__SEND_INFORMATION;
    a[3].to = "agent_2";
    a[3].n_information = 1;
    a[3].information = infos;
    a[3].n_values = 1;
    a[3].values = pvs;
    a[4].kind = PARLEY__ACTION__KIND__SUBMIT_TASK;
    a[4].content = answer;
    a[5].kind = (Parley__Action__Kind)9; /* no such kind */
    a[5].content = "unknown " BAD;
    a[5].to = "agent_2\x01\x02\x03";
    /* Valid text the environment's reason cuts at 60 bytes, inside the
     * two-byte character: the broker must not pass the cut on. */
    a[6].kind = PARLEY__ACTION__KIND__SEND_MESSAGE;
    a[6].to = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9";
    a[6].content = "hi";
    Parley__Action *acts[] = {&a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6]};
    Parley__ModelCall call = PARLEY__MODEL_CALL__INIT;
    call.provider = "p " BAD;
    call.model_requested = "m " BAD;
    call.model_reported = "r " BAD;
    call.error = "e " BAD;
    call.request_body = "{\"q\": \"" BAD "\"}";
    call.response_body = "{\"a\": \"" BAD "\"}";
    Parley__ModelCall *calls[] = {&call};
    Parley__DroppedAction drop = PARLEY__DROPPED_ACTION__INIT;
    drop.raw = "raw " BAD;
    drop.reason = "reason " BAD;
    Parley__DroppedAction *drops[] = {&drop};
    Parley__Decision d = PARLEY__DECISION__INIT;
    d.turn_id = turn;
    d.n_actions = 7;
    d.actions = acts;
    d.private_thoughts = "thinking " BAD;
    d.n_calls = 1;
    d.calls = calls;
    d.n_dropped = 1;
    d.dropped = drops;
    d.empty_reason = "why " BAD;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_DECISION;
    e.decision = &d;
    s_send_raw(sock, &e);
}

static void s_empty_decision(void *sock, uint64_t turn)
{
    Parley__Decision d = PARLEY__DECISION__INIT;
    d.turn_id = turn;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_DECISION;
    e.decision = &d;
    s_send_raw(sock, &e);
}

static bool s_contains(const void *data, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp((const char *)data + i, needle, n) == 0) return true;
    return false;
}

static bool s_file_valid(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n < sizeof buf);
    return wire_utf8_valid(buf, n);
}

static void test_invalid_utf8_is_repaired_everywhere(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("utf8");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 4\nsimulation: {rounds: 2, agents: 2}\n"
                                "information: {total_pieces: 20, pieces_per_agent: 10}\n"
                                "timing: {mode: sequential, turn_timeout: 10, heartbeat: 0.5}\n"
                                "seats:\n  - {policy: perfect, count: 2}\n");
    char rundir[1100];
    snprintf(rundir, sizeof rundir, "%s/run", dir);
    e2e_broker_t b;
    const char *extra[] = {"--start-timeout", "60", NULL};
    assert_int_equal(e2e_broker_start(&b, cfg, rundir, NULL, extra), 0);

    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    void *s1 = zmq_socket(ctx, ZMQ_DEALER), *s2 = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s1, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s2, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0), 0);
    assert_int_equal(zmq_connect(sub, b.pub), 0);
    assert_int_equal(zmq_connect(s1, b.router), 0);
    assert_int_equal(zmq_connect(s2, b.router), 0);

    /* Identifiers are compared as exact bytes: a trailing NUL is not the token. */
    char tok_nul[64];
    snprintf(tok_nul, sizeof tok_nul, "%s\x01\x02\x03", e2e_token(rundir, "agent_1"));
    s_hello(s1, "agent_1", tok_nul, "x");
    s_expect_error(s1, PARLEY__ERROR__CODE__BAD_TOKEN);
    s_hello(s1, "agent_1\xc3", e2e_token(rundir, "agent_1"), "x");
    s_expect_error(s1, PARLEY__ERROR__CODE__UNKNOWN_SEAT);

    s_hello(s1, "agent_1", e2e_token(rundir, "agent_1"), "policy " BAD);
    Parley__Envelope *w = s_expect(s1, PARLEY__ENVELOPE__BODY_WELCOME, 10000);
    assert_non_null(w);
    char piece[128];
    snprintf(piece, sizeof piece, "%s", w->welcome->pieces[0]);
    wire_free(&w);
    Parley__Envelope *n = s_expect(s1, PARLEY__ENVELOPE__BODY_NOTICE, 10000);
    assert_non_null(n);
    assert_string_equal(n->notice->what, "text_repaired");
    assert_non_null(strstr(n->notice->text, "hello.client_version"));
    wire_free(&n);
    s_hello(s2, "agent_2", e2e_token(rundir, "agent_2"), "clean");

    /* Play: agent_1's first turn carries every bad string, other turns are empty. */
    bool sent_bad = false, over1 = false, over2 = false, got_repair_notice = false;
    bool seen_bcast = false, heartbeat_done = false;
    for (int spins = 0; spins < 2000 && !(over1 && over2); spins++) {
        zmq_pollitem_t its[3] = {
            {s1, 0, ZMQ_POLLIN, 0}, {s2, 0, ZMQ_POLLIN, 0}, {sub, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(its, 3, 100) <= 0) continue;
        if (its[2].revents & ZMQ_POLLIN) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            while (zmq_msg_recv(&m, sub, ZMQ_DONTWAIT) >= 0) {
                assert_true(wire_utf8_valid(zmq_msg_data(&m), zmq_msg_size(&m)));
                if (s_contains(zmq_msg_data(&m), zmq_msg_size(&m), "broadcast caf" FFFD))
                    seen_bcast = true;
            }
            zmq_msg_close(&m);
        }
        for (int k = 0; k < 2; k++) {
            if (!(its[k].revents & ZMQ_POLLIN)) continue;
            void *sock = k == 0 ? s1 : s2;
            Parley__Envelope *e = s_recv_clean(sock, 0);
            if (!e) continue;
            if (e->body_case == PARLEY__ENVELOPE__BODY_TURN_REQUEST) {
                uint64_t turn = e->turn_request->turn_id;
                if (k == 1) {
                    /* After agent_1's turn, agent_2 sees the repaired texts. */
                    const Parley__Observation *o = e->turn_request->observation;
                    for (size_t i = 0; sent_bad && i < o->n_broadcasts; i++)
                        assert_non_null(strstr(o->broadcasts[i]->content, FFFD));
                }
                if (k == 0 && !sent_bad) {
                    s_bad_decision(s1, turn, piece);
                    sent_bad = true;
                } else {
                    s_empty_decision(sock, turn);
                }
            } else if (e->body_case == PARLEY__ENVELOPE__BODY_NOTICE && k == 0 &&
                       strcmp(e->notice->what, "text_repaired") == 0 && sent_bad) {
                got_repair_notice = true;
                if (!heartbeat_done) {
                    /* A heartbeat with a bad status, then one of another game:
                     * the Error names it without cutting a character. */
                    Parley__Heartbeat hb = PARLEY__HEARTBEAT__INIT;
                    hb.status = "idle " BAD;
                    Parley__Envelope he = PARLEY__ENVELOPE__INIT;
                    he.body_case = PARLEY__ENVELOPE__BODY_HEARTBEAT;
                    he.heartbeat = &hb;
                    s_send_raw(s1, &he);
                    he.game_id = "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
                                 "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
                                 "\xe2\x82\xac\xe2\x82\xac";
                    s_send_raw(s1, &he);
                    heartbeat_done = true;
                }
            } else if (e->body_case == PARLEY__ENVELOPE__BODY_ERROR) {
                assert_int_equal(e->error->code, PARLEY__ERROR__CODE__WRONG_GAME);
                assert_true(wire_utf8_valid(e->error->message, strlen(e->error->message)));
            } else if (e->body_case == PARLEY__ENVELOPE__BODY_GAME_OVER) {
                if (k == 0) over1 = true;
                if (k == 1) over2 = true;
            }
            wire_free(&e);
        }
    }
    assert_true(sent_bad);
    assert_true(got_repair_notice);
    assert_true(over1 && over2);
    assert_true(seen_bcast);
    assert_int_equal(e2e_wait(b.pid, 30000), 0);

    char path[1200];
    snprintf(path, sizeof path, "%s/events.jsonl", rundir);
    assert_true(s_file_valid(path));
    /* The decision names every repaired field; the texts are kept, repaired. */
    json_t *decs = e2e_events(rundir, "decision");
    assert_non_null(decs);
    json_t *bad = NULL;
    size_t i;
    json_t *ev;
    json_array_foreach(decs, i, ev) if (json_object_get(ev, "repaired")) bad = ev;
    assert_non_null(bad);
    char *rep = json_dumps(json_object_get(bad, "repaired"), 0);
    const char *want[] = {"decision.actions[0].content",
                          "decision.actions[1].content",
                          "decision.actions[2].to",
                          "decision.actions[3].information[0]",
                          "decision.actions[3].values[0].piece",
                          "decision.actions[4].content",
                          "decision.actions[5].content",
                          "decision.actions[5].to",
                          "decision.private_thoughts",
                          "decision.calls[0].provider",
                          "decision.calls[0].model_requested",
                          "decision.calls[0].model_reported",
                          "decision.calls[0].error",
                          "decision.calls[0].request_body",
                          "decision.calls[0].response_body",
                          "decision.dropped[0].raw",
                          "decision.dropped[0].reason",
                          "decision.empty_reason"};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        if (!strstr(rep, want[k])) fail_msg("%s not flagged in %s", want[k], rep);
    free(rep);
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_array_get(json_object_get(bad, "dropped"), 0), "raw")),
                           FFFD));
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_array_get(json_object_get(bad, "calls"), 0), "response_body")),
                           FFFD));
    json_decref(decs);

    /* Every action has its line, the unknown kind included; none lost a key. */
    json_t *acts = e2e_events(rundir, "action");
    int of_agent1 = 0;
    bool unknown = false;
    json_array_foreach(acts, i, ev)
    {
        if (strcmp(json_string_value(json_object_get(ev, "agent")), "agent_1") != 0) continue;
        of_agent1++;
        json_t *a = json_object_get(ev, "action");
        assert_non_null(json_object_get(ev, "code"));
        if (strcmp(json_string_value(json_object_get(a, "type")), "unknown") == 0) {
            unknown = true;
            assert_int_equal(json_integer_value(json_object_get(ev, "index")), 5);
            assert_string_equal(json_string_value(json_object_get(ev, "code")), "bad_action");
            assert_string_equal(json_string_value(json_object_get(a, "content")),
                                "unknown caf" FFFD " " FFFD FFFD " end");
            assert_string_equal(json_string_value(json_object_get(a, "to")),
                                "agent_2" FFFD "\x02\x03");
        } else if (json_integer_value(json_object_get(ev, "index")) == 6) {
            const char *why = json_string_value(json_object_get(ev, "reason"));
            assert_non_null(why); /* kept, cut on a character boundary */
            assert_non_null(strstr(why, "unknown recipient"));
        } else if (json_integer_value(json_object_get(ev, "index")) == 0) {
            assert_string_equal(json_string_value(json_object_get(a, "content")),
                                "broadcast caf" FFFD " " FFFD FFFD " end");
        }
    }
    assert_int_equal(of_agent1, 7);
    assert_true(unknown);
    json_decref(acts);
    json_t *msgs = e2e_events(rundir, "message");
    int with_content = 0;
    json_array_foreach(msgs, i, ev) with_content += json_is_string(json_object_get(ev, "content"));
    assert_int_equal(with_content, 2); /* the broadcast and the direct message */
    assert_int_equal(json_array_size(msgs), 2);
    json_decref(msgs);
    json_t *joined = e2e_events(rundir, "seat_joined");
    json_t *j1 = json_array_get(joined, 0);
    assert_string_equal(json_string_value(json_object_get(j1, "agent")), "agent_1");
    assert_string_equal(json_string_value(json_object_get(j1, "model")),
                        "policy caf" FFFD " " FFFD FFFD " end");
    json_decref(joined);

    char out[4096];
    if (e2e_replay(rundir, out, sizeof out) != 0) fail_msg("parley replay: %s", out);
    zmq_close(s1);
    zmq_close(s2);
    zmq_close(sub);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_utf8_is_repaired_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
