/* timing_util.c: see timing_util.h. */
#include "timing_util.h"

#include "e2e.h"
#include "wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include <cmocka.h>

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

static void s_decide(void *sock, uint64_t turn)
{
    Parley__Decision d = PARLEY__DECISION__INIT;
    d.turn_id = turn;
    d.private_thoughts = "a raw client";
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_DECISION;
    e.decision = &d;
    s_send(sock, &e);
}

int tu_raw_play(const char *router, const char *dir, const char *seat, const double *delays, int n)
{
    void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(sock, router), 0);
    Parley__Hello h = PARLEY__HELLO__INIT;
    h.seat = (char *)seat;
    h.token = (char *)e2e_token(dir, seat);
    h.policy = "raw-timing-client";
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_HELLO;
    e.hello = &h;
    s_send(sock, &e);
    uint64_t pending = 0;
    double due = 0, last_hb = s_now(), start = s_now();
    int k = 0, sent = 0;
    bool over = false;
    while (!over && s_now() - start < 180) {
        /* Wake for the next message or the pending answer, whichever is first. */
        int wait = 20;
        if (pending) {
            double left = due - s_now();
            wait = left <= 0 ? 0 : left < 0.02 ? (int)(left * 1000) + 1 : 20;
        }
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, wait) > 0) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            while (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) >= 0) {
                Parley__Envelope *in =
                    wire_unpack(zmq_msg_data(&m), zmq_msg_size(&m), WIRE_MAX_BROKER_MSG, NULL);
                if (in && in->body_case == PARLEY__ENVELOPE__BODY_TURN_REQUEST &&
                    !in->turn_request->resent) {
                    /* A new turn while one is pending: the pending one was
                     * missed; its answer goes now, late, as a slow client's would. */
                    if (pending) {
                        s_decide(sock, pending);
                        sent++;
                    }
                    pending = in->turn_request->turn_id;
                    due = s_now() + delays[k++ % n];
                } else if (in && in->body_case == PARLEY__ENVELOPE__BODY_GAME_OVER) {
                    over = true;
                }
                wire_free(&in);
            }
            zmq_msg_close(&m);
        }
        if (pending && s_now() >= due) {
            s_decide(sock, pending);
            pending = 0;
            sent++;
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
    return sent;
}

json_t *tu_events(const char *dir, const char *type, const char *agent)
{
    json_t *all = e2e_events(dir, type), *out = json_array();
    assert_non_null(all);
    size_t i;
    json_t *ev;
    json_array_foreach(all, i, ev)
    {
        const char *a = json_string_value(json_object_get(ev, "agent"));
        if (!agent || (a && strcmp(a, agent) == 0)) json_array_append(out, ev);
    }
    json_decref(all);
    return out;
}

void tu_check_outcomes(const char *dir, const char *agent)
{
    json_t *offered = tu_events(dir, "turn_offered", agent);
    json_t *decided = tu_events(dir, "decision", agent);
    json_t *missed = tu_events(dir, "missed_turn", agent);
    json_t *late = tu_events(dir, "decision_late", agent);
    json_t *gone = tu_events(dir, "call_abandoned", agent);
    json_t *sup = tu_events(dir, "turn_superseded", agent);
    json_t *open = tu_events(dir, "turn_open_at_end", agent);
    size_t no = json_array_size(offered), nd = json_array_size(decided),
           nm = json_array_size(missed) + json_array_size(sup), nopen = json_array_size(open);
    /* Every turn offered is accounted for, the last one too: a turn still
     * open when the game ended is recorded as such (at most one a seat). */
    if (nd + nm + nopen != no || nopen > 1)
        fail_msg("%s: %zu turns offered, %zu decisions + %zu missed or superseded + %zu open "
                 "at the end",
                 agent, no, nd, nm, nopen);
    size_t k;
    json_t *o;
    json_array_foreach(open, k, o)
    {
        /* It names the seat's last turn offered, and says how long it ran. */
        json_t *last = json_array_get(offered, no - 1);
        assert_int_equal(json_integer_value(json_object_get(o, "turn_id")),
                         json_integer_value(json_object_get(last, "turn_id")));
        assert_true(json_number_value(json_object_get(o, "open_s")) >= 0);
        assert_true(json_is_boolean(json_object_get(o, "held")));
    }
    size_t i, j;
    json_t *l, *d;
    json_array_foreach(late, i, l)
    {
        json_int_t t = json_integer_value(json_object_get(l, "turn_id"));
        json_array_foreach(decided, j,
                           d) if (json_integer_value(json_object_get(d, "turn_id")) == t)
            fail_msg("%s: turn %lld recorded late and decided", agent, (long long)t);
        json_array_foreach(late, j,
                           d) if (j != i && json_integer_value(json_object_get(d, "turn_id")) == t)
            fail_msg("%s: turn %lld recorded late twice", agent, (long long)t);
    }
    /* A late decision and an abandoned call both mean a missed turn. */
    assert_true(json_array_size(late) + json_array_size(gone) <= json_array_size(missed));
    json_decref(offered);
    json_decref(decided);
    json_decref(missed);
    json_decref(late);
    json_decref(gone);
    json_decref(sup);
    json_decref(open);
}

void tu_game(const char *tag, const char *mode, const char *knobs1, const char *knobs2,
             const double *delays, int n, char *out, size_t cap)
{
    const char *dir = e2e_tmpdir(tag);
    char text[2048];
    snprintf(text, sizeof text,
             "seed: 5\nsimulation: {agents: 4, rounds: 3}\n"
             "information: {total_pieces: 8, pieces_per_agent: 2}\n"
             "tasks: {pieces_per_task: 2}\n"
             "timing: {mode: %s, duration: 3, turn_timeout: 5, heartbeat: 0.3}\n"
             "seats:\n"
             "  - {policy: perfect, count: 1%s%s}\n"
             "  - {policy: perfect, count: 1%s%s}\n"
             "  - {policy: perfect, count: 1}\n"
             "  - {policy: selfish, count: 1}\n",
             mode, knobs1[0] ? ", " : "", knobs1, knobs2[0] ? ", " : "", knobs2);
    const char *cfg = e2e_write(dir, "game.yaml", text);
    snprintf(out, cap, "%s/run", dir);
    e2e_broker_t b;
    const char *extra[] = {"--start-timeout", "60", NULL};
    assert_int_equal(e2e_broker_start(&b, cfg, out, NULL, extra), 0);
    pid_t pids[3];
    for (int i = 0; i < 3; i++) {
        char seat[16];
        snprintf(seat, sizeof seat, "agent_%d", i + 2);
        pids[i] = e2e_agent(b.router, out, seat, i == 2 ? "selfish" : "perfect");
    }
    tu_raw_play(b.router, out, "agent_1", delays, n);
    assert_int_equal(e2e_wait(b.pid, 120000), 0);
    for (int i = 0; i < 3; i++) assert_int_equal(e2e_wait(pids[i], 20000), 0);
}
