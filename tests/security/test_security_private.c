/* test_security_private.c: private stays private (docs/SECURITY.md).
 *
 * A game with direct messages, thoughts and a model transcript runs on a real
 * broker with CURVE: agent_1 is played here on a raw socket (every decision
 * carries a secret DM, secret thoughts and a secret transcript), agent_2 and
 * agent_3 are real `selfish` agents, who ask each other for pieces in direct
 * messages. Watchers: the public PUB with the watcher's key, the private PUB
 * with the experimenter's key, and /events with and without tokens. Nothing
 * private reaches a public channel; all of it reaches the experimenter's.
 */
#include "e2e.h"
#include "sec_util.h"
#include "web_util.h"

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

typedef struct {
    char *text;
    size_t len, cap;
} s_buf_t;

static void s_add(s_buf_t *b, const void *data, size_t n)
{
    if (b->len + n + 2 > b->cap) {
        b->cap = (b->len + n + 2) * 2;
        b->text = realloc(b->text, b->cap);
        assert_non_null(b->text);
    }
    memcpy(b->text + b->len, data, n);
    b->len += n;
    b->text[b->len++] = '\n';
    b->text[b->len] = '\0';
}

/* Every frame waiting on sub, appended to b. */
static void s_drain(void *sub, s_buf_t *b)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, sub, ZMQ_DONTWAIT) >= 0) s_add(b, zmq_msg_data(&m), zmq_msg_size(&m));
    zmq_msg_close(&m);
}

static void s_secret_decision(void *sock, uint64_t turn)
{
    Parley__Action a = PARLEY__ACTION__INIT;
    a.kind = PARLEY__ACTION__KIND__SEND_MESSAGE;
    a.to = "agent_2";
    a.content = "SECRET-DM-from-agent-1";
    Parley__Action *acts[] = {&a};
    Parley__ModelCall call = PARLEY__MODEL_CALL__INIT;
    call.provider = "test";
    call.model_requested = "m";
    call.request_body = "{\"prompt\": \"SECRET-TRANSCRIPT-request\"}";
    call.response_body = "{\"reply\": \"SECRET-TRANSCRIPT-reply\"}";
    Parley__ModelCall *calls[] = {&call};
    Parley__Decision d = PARLEY__DECISION__INIT;
    d.turn_id = turn;
    d.n_actions = 1;
    d.actions = acts;
    d.private_thoughts = "SECRET-THOUGHT-of-agent-1";
    d.n_calls = 1;
    d.calls = calls;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_DECISION;
    e.decision = &d;
    sec_send(sock, &e);
}

static pid_t s_curve_agent(const char *run, const char *router, const char *seat)
{
    setenv("PARLEY_CURVE_SERVER", sec_key(run, "broker", "public"), 1);
    setenv("PARLEY_CURVE_PUBLIC", sec_key(run, seat, "public"), 1);
    setenv("PARLEY_CURVE_SECRET", sec_key(run, seat, "secret"), 1);
    pid_t pid = e2e_agent(router, run, seat, "selfish");
    unsetenv("PARLEY_CURVE_SERVER");
    unsetenv("PARLEY_CURVE_PUBLIC");
    unsetenv("PARLEY_CURVE_SECRET");
    return pid;
}

static void test_private_events_reach_only_the_experimenter(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("secpriv");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 11\nsimulation: {rounds: 3, agents: 3}\n"
                                "timing: {mode: sequential, turn_timeout: 10, heartbeat: 0.5}\n"
                                "seats:\n  - {policy: selfish, count: 3}\n");
    char run[1100], ready[2048], log[1200], priv_ep[64], http[64];
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(log, sizeof log, "%s/broker.log", dir);
    int http_port = e2e_free_port();
    snprintf(priv_ep, sizeof priv_ep, "tcp://127.0.0.1:%d", e2e_free_port());
    snprintf(http, sizeof http, "127.0.0.1:%d", http_port);
    const char *argv[] = {"parley-broker",
                          "--out",
                          run,
                          "--config",
                          cfg,
                          "--bind",
                          "tcp://127.0.0.1:*",
                          "--pub",
                          "tcp://127.0.0.1:*",
                          "--pub-private",
                          priv_ep,
                          "--http",
                          http,
                          "--curve",
                          "--start-timeout",
                          "60",
                          NULL};
    int fd = -1;
    pid_t broker = web_child(sec_spawn("parley-broker", argv, &fd, log));
    assert_true(broker > 0);
    assert_int_equal(sec_read_line(fd, ready, sizeof ready, 15000), 0);
    close(fd);
    char router[256], pub[256];
    assert_int_equal(sscanf(ready, "READY %255s %255s", router, pub), 2);
    char srv[64];
    snprintf(srv, sizeof srv, "%s", sec_key(run, "broker", "public"));

    void *ctx = zmq_ctx_new();
    void *watcher = sec_socket(ctx, ZMQ_SUB, pub, srv, run, "watcher", NULL);
    void *exp = sec_socket(ctx, ZMQ_SUB, priv_ep, srv, run, "experimenter", NULL);
    void *nosy = sec_socket(ctx, ZMQ_SUB, priv_ep, srv, run, "watcher", NULL);
    void *plain = sec_socket(ctx, ZMQ_SUB, pub, NULL, run, NULL, NULL);
    assert_non_null(watcher);
    assert_non_null(exp);
    assert_non_null(nosy);
    assert_non_null(plain);
    void *subs[] = {watcher, exp, nosy, plain};
    for (int i = 0; i < 4; i++) assert_int_equal(zmq_setsockopt(subs[i], ZMQ_SUBSCRIBE, "", 0), 0);
    assert_int_equal(sec_handshake(watcher, 10000, NULL), 1);
    assert_int_equal(sec_handshake(exp, 10000, NULL), 1);
    int detail = 0;
    /* The watcher's key does not open the private socket; no key opens none. */
    assert_int_equal(sec_handshake(nosy, 10000, &detail), 0);
    assert_int_equal(detail, 400);
    assert_int_equal(sec_handshake(plain, 10000, NULL), 0);

    /* The web side: a seat's token does not open every event. */
    char path[256];
    snprintf(path, sizeof path, "/events?token=%s", e2e_token(run, "agent_2"));
    web_reply_t r = web_request(http_port, "GET", path, NULL, 0);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "not the experimenter's"));
    web_reply_free(&r);
    json_t *keys = e2e_json(run, "keys.json");
    snprintf(path, sizeof path, "/events?token=%s",
             json_string_value(json_object_get(keys, "experimenter_token")));
    json_decref(keys);
    int full_stream = web_open_stream(http_port, path);
    int pub_stream = web_open_stream(http_port, "/events");
    assert_true(full_stream >= 0 && pub_stream >= 0);

    void *me = sec_socket(ctx, ZMQ_DEALER, router, srv, run, "agent_1", NULL);
    sec_hello(me, "agent_1", e2e_token(run, "agent_1"));
    pid_t a2 = web_child(s_curve_agent(run, router, "agent_2"));
    pid_t a3 = web_child(s_curve_agent(run, router, "agent_3"));

    s_buf_t seen_pub = {0}, seen_priv = {0}, seen_nosy = {0};
    bool over = false;
    int secret_turns = 0;
    struct timespec last = {0};
    for (int spins = 0; spins < 3000 && !over; spins++) {
        zmq_pollitem_t its[5] = {{me, 0, ZMQ_POLLIN, 0},
                                 {watcher, 0, ZMQ_POLLIN, 0},
                                 {exp, 0, ZMQ_POLLIN, 0},
                                 {nosy, 0, ZMQ_POLLIN, 0},
                                 {plain, 0, ZMQ_POLLIN, 0}};
        zmq_poll(its, 5, 100);
        s_drain(watcher, &seen_pub);
        s_drain(plain, &seen_pub);
        s_drain(exp, &seen_priv);
        s_drain(nosy, &seen_nosy);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec != last.tv_sec) {
            sec_heartbeat(me);
            last = now;
        }
        if (!(its[0].revents & ZMQ_POLLIN)) continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, me, 0) < 0) {
            zmq_msg_close(&m);
            continue;
        }
        Parley__Envelope *e =
            wire_unpack(zmq_msg_data(&m), zmq_msg_size(&m), WIRE_MAX_BROKER_MSG, NULL);
        zmq_msg_close(&m);
        if (e && e->body_case == PARLEY__ENVELOPE__BODY_TURN_REQUEST) {
            s_secret_decision(me, e->turn_request->turn_id);
            secret_turns++;
        } else if (e && e->body_case == PARLEY__ENVELOPE__BODY_GAME_OVER) {
            over = true;
        }
        wire_free(&e);
    }
    assert_true(over);
    assert_true(secret_turns >= 3);
    assert_int_equal(e2e_wait(a2, 20000), 0);
    assert_int_equal(e2e_wait(a3, 20000), 0);
    assert_true(e2e_wait(broker, 20000) >= 0);
    s_drain(watcher, &seen_pub);
    s_drain(exp, &seen_priv);
    s_drain(nosy, &seen_nosy);
    char *full = web_read_all(full_stream, 3000);
    char *public_web = web_read_all(pub_stream, 3000);
    close(full_stream);
    close(pub_stream);
    assert_non_null(full);
    assert_non_null(public_web);

    /* The experimenter saw it all, on PUB and on the web. */
    assert_non_null(seen_priv.text);
    const char *secrets[] = {"SECRET-DM-from-agent-1", "SECRET-THOUGHT-of-agent-1",
                             "SECRET-TRANSCRIPT-request", "SECRET-TRANSCRIPT-reply"};
    for (int i = 0; i < 4; i++) {
        assert_non_null(strstr(seen_priv.text, secrets[i]));
        assert_non_null(strstr(full, secrets[i]));
    }
    /* ... and the world with every piece's true value and holder (on the web:
     * the stream starts with the whole history; PUB only has what came after
     * the subscriber did). */
    assert_non_null(strstr(full, "\"type\":\"world\",\"round\":0,\"seed\":11,\"agents\":[{"));
    assert_non_null(strstr(full, "\"holds\":"));
    /* The public channels saw the game, and none of it. */
    assert_non_null(seen_pub.text);
    assert_non_null(strstr(seen_pub.text, "\"type\":\"round_end\""));
    assert_non_null(strstr(seen_pub.text, "\"kind\":\"direct\""));
    assert_null(strstr(seen_pub.text, "SECRET-"));
    assert_null(strstr(public_web, "SECRET-"));
    assert_null(seen_nosy.text);
    /* Nor the selfish agents' own direct messages, the world's true values, or the seed. */
    json_t *msgs = e2e_events(run, "message");
    size_t i;
    json_t *ev;
    int direct = 0;
    json_array_foreach(msgs, i, ev)
    {
        const char *kind = json_string_value(json_object_get(ev, "kind"));
        const char *content = json_string_value(json_object_get(ev, "content"));
        if (!kind || strcmp(kind, "direct") != 0 || !content || strlen(content) < 8) continue;
        direct++;
        assert_null(strstr(seen_pub.text, content));
        assert_null(strstr(public_web, content));
    }
    json_decref(msgs);
    assert_true(direct > secret_turns); /* the real agents sent some too */
    assert_null(strstr(seen_pub.text, "\"holds\":"));
    assert_null(strstr(public_web, "\"holds\":"));
    assert_null(strstr(seen_pub.text, "\"true_value\""));
    assert_null(strstr(public_web, "\"true_value\""));
    assert_null(strstr(seen_pub.text, "\"seed\":"));
    assert_null(strstr(public_web, "\"seed\":"));
    assert_non_null(strstr(full, "\"seed\":"));

    free(full);
    free(public_web);
    free(seen_pub.text);
    free(seen_priv.text);
    free(seen_nosy.text);
    sec_close(me);
    for (int k = 0; k < 4; k++) sec_close(subs[k]);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_private_events_reach_only_the_experimenter, web_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
