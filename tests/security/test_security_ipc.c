/* test_security_ipc.c: who may take a seat over the broker's Unix socket
 * (parley-broker --ipc PATH, docs/SECURITY.md "The Unix socket").
 *
 * Real parley-broker processes with --curve. By default the socket asks for
 * CURVE as TCP does: a client without keys never completes a handshake there,
 * and a seat's key holds only its seat. With --ipc-no-curve the socket takes
 * clients without keys, and then the token is what holds a seat: another
 * seat's token, or a wrong one, is refused; a seat taken there cannot be
 * used by another process that presents its routing id; TCP still needs
 * CURVE, and a seat's key still works there.
 */
#include "e2e.h"
#include "sec_util.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

typedef struct {
    pid_t pid;
    char run[1100], router[256], ipc[1200];
} s_game_t;

/* A two-seat game served by a CURVE broker on TCP and a Unix socket. */
static void s_game(s_game_t *g, const char *tag, bool no_curve_on_ipc)
{
    const char *dir = e2e_tmpdir(tag);
    snprintf(g->run, sizeof g->run, "%s/run", dir);
    char sock[1150];
    snprintf(sock, sizeof sock, "%s/broker.ipc", dir);
    snprintf(g->ipc, sizeof g->ipc, "ipc://%s", sock);
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 3\nsimulation: {rounds: 2, agents: 2}\n"
                                "timing: {mode: sequential, turn_timeout: 5, heartbeat: 0.2}\n"
                                "seats:\n  - {policy: passive, count: 2}\n");
    const char *argv[] = {"parley-broker",
                          "--out",
                          g->run,
                          "--config",
                          cfg,
                          "--bind",
                          "tcp://127.0.0.1:*",
                          "--ipc",
                          sock,
                          "--no-pub",
                          "--no-http",
                          "--curve",
                          "--start-timeout",
                          "60",
                          no_curve_on_ipc ? "--ipc-no-curve" : NULL,
                          NULL};
    char log[1200], ready[2048], pub[256];
    snprintf(log, sizeof log, "%s/broker.log", dir);
    int fd = -1;
    g->pid = sec_spawn("parley-broker", argv, &fd, log);
    assert_true(g->pid > 0);
    assert_int_equal(sec_read_line(fd, ready, sizeof ready, 15000), 0);
    close(fd);
    assert_int_equal(sscanf(ready, "READY %255s %255s", g->router, pub), 2);
}

static void s_end(s_game_t *g)
{
    kill(g->pid, SIGTERM);
    assert_true(e2e_wait(g->pid, 10000) >= 0);
}

/* On endpoint ep CURVE holds seat: no keys get no handshake; other's key
 * with seat's token is refused; seat's own key and token are welcomed. */
static void s_curve_holds(void *ctx, const char *ep, const char *run, const char *srv,
                          const char *seat, const char *other)
{
    void *plain = sec_socket(ctx, ZMQ_DEALER, ep, NULL, run, NULL, NULL);
    assert_non_null(plain);
    sec_hello(plain, seat, e2e_token(run, seat));
    assert_int_equal(sec_handshake(plain, 10000, NULL), 0);
    sec_close(plain);
    void *thief = sec_socket(ctx, ZMQ_DEALER, ep, srv, run, other, NULL);
    assert_int_equal(sec_hello_reply(thief, seat, e2e_token(run, seat), 10000),
                     PARLEY__ERROR__CODE__BAD_TOKEN);
    sec_close(thief);
    void *owner = sec_socket(ctx, ZMQ_DEALER, ep, srv, run, seat, NULL);
    assert_int_equal(sec_hello_reply(owner, seat, e2e_token(run, seat), 10000), 0);
    sec_close(owner);
}

static void test_ipc_asks_for_curve_by_default(void **state)
{
    (void)state;
    s_game_t g;
    s_game(&g, "secipc", false);
    char srv[64];
    snprintf(srv, sizeof srv, "%s", sec_key(g.run, "broker", "public"));
    void *ctx = zmq_ctx_new();

    /* No keys: no handshake on the socket, as on TCP; agent_2's key with
     * agent_1's token: refused by key; agent_1's own: welcomed. */
    s_curve_holds(ctx, g.ipc, g.run, srv, "agent_1", "agent_2");

    zmq_ctx_term(ctx);
    s_end(&g);
}

static void test_ipc_without_curve_holds_seats_by_token(void **state)
{
    (void)state;
    s_game_t g;
    s_game(&g, "secipcopen", true);
    char srv[64];
    snprintf(srv, sizeof srv, "%s", sec_key(g.run, "broker", "public"));
    void *ctx = zmq_ctx_new();

    /* No keys on the socket: the handshake completes, the token decides. */
    void *peer = sec_socket(ctx, ZMQ_DEALER, g.ipc, NULL, g.run, NULL, NULL);
    assert_non_null(peer);
    /* agent_1's token does not make a connection agent_2, nor does a guess. */
    assert_int_equal(sec_hello_reply(peer, "agent_2", e2e_token(g.run, "agent_1"), 10000),
                     PARLEY__ERROR__CODE__BAD_TOKEN);
    assert_int_equal(sec_handshake(peer, 1000, NULL), 1);
    assert_int_equal(sec_hello_reply(peer, "agent_2", "not-the-token", 10000),
                     PARLEY__ERROR__CODE__BAD_TOKEN);
    sec_close(peer);

    /* agent_1 takes its seat with its token, on a routing id of its choosing,
     * then goes silent. */
    void *owner = sec_socket(ctx, ZMQ_DEALER, g.ipc, NULL, g.run, NULL, "seat-one");
    assert_int_equal(sec_hello_reply(owner, "agent_1", e2e_token(g.run, "agent_1"), 10000), 0);
    sec_close(owner);
    assert_true(sec_wait_event(g.run, "seat_lost", "agent_1", 20000));

    /* Another process on that routing id is not agent_1: it is told to say
     * Hello (with a token it does not have). The child is that process. */
    pid_t other = fork();
    if (other == 0) {
        void *c2 = zmq_ctx_new();
        void *borrow = sec_socket(c2, ZMQ_DEALER, g.ipc, NULL, g.run, NULL, "seat-one");
        sec_heartbeat(borrow);
        Parley__Envelope *e = sec_expect(borrow, PARLEY__ENVELOPE__BODY_ERROR, 10000);
        int code = e ? (int)e->error->code : -1;
        wire_free(&e);
        sec_close(borrow);
        zmq_ctx_term(c2);
        _exit(code == PARLEY__ERROR__CODE__NOT_WELCOMED ? 0 : 1);
    }
    assert_true(other > 0);
    assert_int_equal(e2e_wait(other, 20000), 0);

    /* TCP still asks for CURVE, and a seat's key still holds only that seat. */
    s_curve_holds(ctx, g.router, g.run, srv, "agent_2", "agent_1");

    zmq_ctx_term(ctx);
    s_end(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipc_asks_for_curve_by_default),
        cmocka_unit_test(test_ipc_without_curve_holds_seats_by_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
