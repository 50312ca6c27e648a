/* test_broker_names.c: the Welcome's names as patterns (PROTOCOL.md
 * "Compact names"), from the real parley-broker. Two raw DEALER seats say
 * Hello, one asking for compact names, one as an older client does: the first
 * gets patterns and empty lists, the second the whole lists, and the names
 * rebuilt from the patterns are exactly the whole ones. (A configuration's
 * piece templates hold {n} once and no other digit, so its names always fit;
 * test_wire_names checks the encoder's refusals, after which the broker sends
 * the lists whole.) Games with real parley-agent seats, which always ask, are
 * played by the other end-to-end tests. */
#include "e2e.h"
#include "wire.h"
#include "wire_names.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include <cmocka.h>

/* Says Hello for seat and returns the Welcome (10 s at most). */
static Parley__Envelope *s_welcome(void *ctx, const e2e_broker_t *b, const char *seat, bool compact)
{
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(sock, b->router), 0);
    Parley__Hello h = PARLEY__HELLO__INIT;
    h.seat = (char *)seat;
    h.token = (char *)e2e_token(b->dir, seat);
    h.policy = "test";
    h.compact_names = compact;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_HELLO;
    e.hello = &h;
    assert_int_equal(wire_send(sock, NULL, 0, &e, WIRE_MAX_AGENT_MSG), WIRE_OK);
    Parley__Envelope *got = NULL;
    for (int waited = 0; !got && waited < 10000; waited += 50) {
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 50) <= 0) continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) >= 0) {
            Parley__Envelope *x =
                wire_unpack(zmq_msg_data(&m), zmq_msg_size(&m), WIRE_MAX_BROKER_MSG, NULL);
            if (x && x->body_case == PARLEY__ENVELOPE__BODY_WELCOME)
                got = x;
            else
                wire_free(&x);
        }
        zmq_msg_close(&m);
    }
    zmq_close(sock);
    assert_non_null(got);
    return got;
}

static void s_start(e2e_broker_t *b, const char *tag, const char *yaml)
{
    const char *dir = e2e_tmpdir(tag);
    const char *cfg = e2e_write(dir, "game.yaml", yaml);
    char rundir[1100];
    snprintf(rundir, sizeof rundir, "%s/run", dir);
    const char *extra[] = {"--start-timeout", "60", NULL};
    assert_int_equal(e2e_broker_start(b, cfg, rundir, NULL, extra), 0);
}

static void test_compact_names_match_whole(void **state)
{
    (void)state;
    e2e_broker_t b;
    s_start(&b, "names",
            "seed: 5\nsimulation: {agents: 30, rounds: 1}\ninformation: {total_pieces: 300}\n"
            "seats:\n  - {policy: perfect, count: 30}\n");
    void *ctx = zmq_ctx_new();
    Parley__Envelope *compact = s_welcome(ctx, &b, "agent_1", true);
    Parley__Envelope *whole = s_welcome(ctx, &b, "agent_2", false);
    const Parley__Welcome *c = compact->welcome, *w = whole->welcome;
    /* The older client's Welcome is as before: whole lists, no patterns. */
    assert_null(w->agent_names);
    assert_null(w->piece_names);
    assert_int_equal(w->n_agents, 30);
    assert_int_equal(w->n_pieces, 300);
    /* The compact one: patterns only. */
    assert_non_null(c->agent_names);
    assert_non_null(c->piece_names);
    assert_int_equal(c->n_agents, 0);
    assert_int_equal(c->n_pieces, 0);
    size_t na = 0, np = 0;
    int err = 0;
    char **ids = wire_names_decode(c->agent_names, 1000, &na, &err);
    char **pieces = wire_names_decode(c->piece_names, 1000, &np, &err);
    assert_non_null(ids);
    assert_non_null(pieces);
    assert_int_equal(na, w->n_agents);
    assert_int_equal(np, w->n_pieces);
    for (size_t i = 0; i < na; i++) assert_string_equal(ids[i], w->agents[i]);
    for (size_t i = 0; i < np; i++) assert_string_equal(pieces[i], w->pieces[i]);
    assert_true(parley__welcome__get_packed_size(c) < parley__welcome__get_packed_size(w));
    free(ids);
    free(pieces);
    wire_free(&compact);
    wire_free(&whole);
    zmq_ctx_term(ctx);
    e2e_reap(b.pid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_names_match_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
