/* brk_server.c: the broker (brk_server.h). One game, one libevent loop.
 *
 * Shape: a ROUTER socket whose file descriptor is watched edge-triggered (the
 * descriptor only signals "something changed": we drain while ZMQ_EVENTS says
 * POLLIN, and because a send can consume that edge, every send re-arms the
 * drain with event_active); a dispatch table from Envelope body to handler,
 * with the identity checks done before the call, as redis does before a
 * command; per-seat timers for turn deadlines and for realtime think time; one
 * heartbeat timer. Every event of the game goes to events.jsonl (flushed) and
 * then to the PUB socket, before any agent hears about its effect.
 *
 * Seats are referred to by index; callbacks get the seat's slot, which lives as
 * long as the server.
 */
#include "brk_server.h"

#include "brk_http.h"
#include "brk_rundir.h"
#include "env.h"
#include "pl_log.h"
#include "wire.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define S_TOKEN_BYTES 16
#define S_RID_MAX     256
#define S_HARD_MAX    (64u << 20) /* libzmq drops peers that send more than this */

typedef enum {
    S_SEAT_EMPTY = 0, /* never connected */
    S_SEAT_ON,        /* connected and alive */
    S_SEAT_LOST,      /* heartbeats stopped; may come back */
    S_SEAT_GONE       /* said Bye */
} s_seat_state_t;

static const char *const s_seat_state_names[] = {"empty", "on", "lost", "gone"};

typedef enum { S_WAITING = 0, S_PLAYING, S_OVER } s_phase_t;

typedef struct brk_server brk_server_t;

typedef struct {
    brk_server_t *server;
    int index;
    char token[2 * S_TOKEN_BYTES + 1];
    uint8_t rid[S_RID_MAX];
    size_t rid_len;
    s_seat_state_t state;
    bool ever_joined;
    int64_t last_seen_ms; /* monotonic */
    char policy[32];
    char model[128];
    bool reactive, human;

    uint64_t turn_id; /* the open turn, 0 if none */
    env_turn_kind_t turn_kind;
    int64_t turn_deadline_ms; /* monotonic */
    int64_t turn_sent_us;     /* monotonic: when the TurnRequest last left */
    struct event *deadline_ev;
    struct event *think_ev; /* realtime: next offer after min_think */
    int turns, missed;
} s_seat_t;

struct brk_server {
    pl_config_t *cfg;
    brk_options_t opts;
    env_game_t *game;
    brk_rundir_t *rundir;
    struct event_base *base;
    void *zctx, *router, *pub;
    struct event *router_ev, *hb_ev, *start_ev, *slice_ev, *sigint_ev, *sigterm_ev;
    char endpoint[256], pub_endpoint[256];
    char game_id[17];

    int n_seats;
    s_seat_t *seats;

    s_phase_t phase;
    bool draining;
    uint64_t seq, next_turn_id;
    double turn_timeout, human_timeout, heartbeat, min_think;
    bool round_open;

    /* sequential: turns still to play in this round, with their kind */
    int *queue;
    env_turn_kind_t *queue_kind;
    int q_head, q_len, q_cap;
    /* simultaneous: turns of the round still open; arrival counter */
    int open_turns, arrival;
    /* realtime: slices done */
    int slice;

    /* per-round statistics for summary.json */
    json_t *per_round;
    json_t *pub_queue; /* [type, text] pairs waiting for s_flush */
    int round_tasks_base, round_msgs, total_msgs, total_missed;

    brk_http_t *http;                     /* the web side, or NULL */
    const char **seat_ids, **seat_tokens; /* for the web side */
    bool *browser;

    int result; /* brk_server_run's return */
    char reason[32];
};

/* ------------------------------------------------------------------ time -- */

static int64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct timeval s_tv(double seconds)
{
    if (seconds < 0) seconds = 0;
    struct timeval tv;
    tv.tv_sec = (time_t)seconds;
    tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
    return tv;
}

/* ---------------------------------------------------------------- events -- */

/* Records one event: broker timestamp, then the event log's buffer; the PUB
 * copy waits in s->pub_queue. Nothing leaves the process before s_flush. Takes
 * ownership of ev. */
static void s_record(brk_server_t *s, json_t *ev)
{
    if (!ev) return;
    json_object_set_new(ev, "t_ms", json_integer(s_wall_ms()));
    char *text = json_dumps(ev, JSON_COMPACT);
    if (!text || brk_rundir_event(s->rundir, text, strlen(text)) != 0)
        PL_ERROR("BRK-LOG-WRITE", "events.jsonl: %s", text ? strerror(errno) : "out of memory");
    brk_http_event(s->http, ev, text);
    if (text && s->pub) {
        const char *type = json_string_value(json_object_get(ev, "type"));
        json_t *item = json_pack("[s, s]", type ? type : "event", text);
        if (!item || json_array_append_new(s->pub_queue, item) != 0)
            PL_DEBUG("BRK-PUB-DROP", "event not queued for PUB");
    }
    free(text);
    json_decref(ev);
}

/* The write-ahead point: every event recorded so far reaches the kernel, then
 * the watchers. Called before any message to an agent and at the end of every
 * loop callback. */
static void s_flush(brk_server_t *s)
{
    if (brk_rundir_flush(s->rundir) != 0)
        PL_ERROR("BRK-LOG-WRITE", "events.jsonl: %s", strerror(errno));
    size_t i;
    json_t *item;
    json_array_foreach(s->pub_queue, i, item)
    {
        const char *type = json_string_value(json_array_get(item, 0));
        const char *text = json_string_value(json_array_get(item, 1));
        if (zmq_send(s->pub, type, strlen(type), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(s->pub, text, strlen(text), ZMQ_DONTWAIT) < 0)
            PL_DEBUG("BRK-PUB-DROP", "event not published: %s", zmq_strerror(errno));
    }
    json_array_clear(s->pub_queue);
}

static json_t *s_event(brk_server_t *s, const char *type)
{
    json_t *ev = json_object();
    if (!ev) return NULL;
    json_object_set_new(ev, "type", json_string(type));
    json_object_set_new(ev, "source", json_string("broker"));
    json_object_set_new(ev, "round", json_integer(s->game ? env_round(s->game) : 0));
    return ev;
}

/* The environment's sink: every rule's effect passes here. */
static void s_on_game_event(void *ctx, json_t *ev)
{
    brk_server_t *s = ctx;
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (type && strcmp(type, "message") == 0) {
        s->round_msgs++;
        s->total_msgs++;
    }
    s_record(s, ev);
}

/* ------------------------------------------------------------------ send -- */

/* After a send the ROUTER's descriptor may have lost its edge: ask the loop to
 * look at ZMQ_EVENTS again (unless we are already draining, which re-checks). */
static void s_kick(brk_server_t *s)
{
    if (!s->draining && s->router_ev) event_active(s->router_ev, EV_READ, 0);
}

static int s_send_to(brk_server_t *s, const uint8_t *rid, size_t rid_len, Parley__Envelope *e)
{
    s_flush(s); /* write-ahead: the log has every effect before anyone hears of it */
    e->seq = ++s->seq;
    e->game_id = s->game_id;
    int rc = wire_send(s->router, rid, rid_len, e, WIRE_MAX_BROKER_MSG);
    if (rc != WIRE_OK)
        PL_DEBUG("BRK-SEND-FAILED", "%s not sent: %s (%s)", wire_body_name(e->body_case),
                 wire_strerror(rc), rc == WIRE_EIO ? zmq_strerror(errno) : "");
    s_kick(s);
    return rc;
}

static int s_send(brk_server_t *s, s_seat_t *seat, Parley__Envelope *e)
{
    if (seat->rid_len == 0) return WIRE_EIO;
    return s_send_to(s, seat->rid, seat->rid_len, e);
}

static void s_send_error(brk_server_t *s, const uint8_t *rid, size_t rid_len, int code,
                         uint64_t turn_id, uint64_t in_reply_to, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void s_send_error(brk_server_t *s, const uint8_t *rid, size_t rid_len, int code,
                         uint64_t turn_id, uint64_t in_reply_to, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    PL_WARN("BRK-PEER-ERROR", "%s: %s", wire_code_name(code), text);
    brk_http_error(s->http, wire_code_name(code));
    Parley__Error err = PARLEY__ERROR__INIT;
    err.code = (Parley__Error__Code)code;
    err.message = text;
    err.turn_id = turn_id;
    err.in_reply_to = in_reply_to;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_ERROR;
    e.error = &err;
    s_send_to(s, rid, rid_len, &e);
}

static void s_send_notice(brk_server_t *s, s_seat_t *seat, const char *what, const char *text,
                          uint64_t turn_id)
{
    if (seat->state != S_SEAT_ON) return;
    Parley__Notice n = PARLEY__NOTICE__INIT;
    n.what = (char *)what;
    n.text = (char *)text;
    n.broker_time_ms = s_wall_ms();
    n.turn_id = turn_id;
    n.round = env_round(s->game);
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_NOTICE;
    e.notice = &n;
    s_send(s, seat, &e);
}

/* Sends the seat's open turn (again, after a reconnect, with resent set). */
static void s_send_turn(brk_server_t *s, s_seat_t *seat, bool resent)
{
    env_obs_t o;
    if (env_observe(s->game, seat->index, seat->turn_kind, &o) != ENV_OK) {
        PL_ERROR("BRK-OBSERVE", "cannot observe agent_%d", seat->index + 1);
        return;
    }
    wire_arena_t *a = wire_arena_new();
    Parley__Observation *obs = a ? wire_obs_to_pb(a, &o, s->n_seats) : NULL;
    if (!obs) {
        PL_ERROR("BRK-NOMEM", "turn %llu of agent_%d not sent: out of memory",
                 (unsigned long long)seat->turn_id, seat->index + 1);
        wire_arena_destroy(&a);
        return;
    }
    Parley__TurnRequest tr = PARLEY__TURN_REQUEST__INIT;
    tr.turn_id = seat->turn_id;
    tr.observation = obs;
    tr.deadline_s = (double)(seat->turn_deadline_ms - s_mono_ms()) / 1000.0;
    if (tr.deadline_s < 0) tr.deadline_s = 0;
    tr.broker_time_ms = s_wall_ms();
    tr.resent = resent;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_TURN_REQUEST;
    e.turn_request = &tr;
    seat->turn_sent_us = s_mono_us();
    s_send(s, seat, &e);
    wire_arena_destroy(&a);
}

/* ----------------------------------------------------------------- turns -- */

static void s_rt_schedule(brk_server_t *s, s_seat_t *seat);

static double s_seat_timeout(const brk_server_t *s, const s_seat_t *seat)
{
    return seat->human && s->human_timeout > 0 ? s->human_timeout : s->turn_timeout;
}

static void s_open_turn(brk_server_t *s, s_seat_t *seat, env_turn_kind_t kind)
{
    double timeout = s_seat_timeout(s, seat);
    seat->turn_id = ++s->next_turn_id;
    seat->turn_kind = kind;
    seat->turn_deadline_ms = s_mono_ms() + (int64_t)(timeout * 1000.0);
    struct timeval tv = s_tv(timeout);
    if (evtimer_add(seat->deadline_ev, &tv) != 0)
        PL_ERROR("BRK-TIMER", "cannot arm the deadline of agent_%d", seat->index + 1);
    /* A lost seat may be reconnecting: the turn waits for it until the deadline. */
    if (seat->state == S_SEAT_ON) s_send_turn(s, seat, false);
}

static void s_close_turn(s_seat_t *seat)
{
    seat->turn_id = 0;
    evtimer_del(seat->deadline_ev);
}

/* The seat cannot play this turn: recorded as missed. */
static void s_miss(brk_server_t *s, s_seat_t *seat, const char *why)
{
    env_record_missed(s->game, seat->index, why);
    seat->missed++;
    s->total_missed++;
}

static void s_round_end(brk_server_t *s)
{
    if (!s->round_open) return;
    s->round_open = false;
    env_round_end(s->game);
    int tasks = env_tasks_done(s->game);
    json_t *row = json_pack("{s:i, s:i, s:i, s:i, s:I, s:I}", "round", env_round(s->game), "tasks",
                            tasks - s->round_tasks_base, "messages", s->round_msgs, "tasks_total",
                            tasks, "group_revenue", (json_int_t)env_group_revenue(s->game),
                            "task_revenue", (json_int_t)env_task_revenue(s->game));
    if (row) json_array_append(s->per_round, row);
    json_t *ev = s_event(s, "progress");
    if (ev && row) {
        json_object_update(ev, row);
        json_object_set_new(ev, "rounds", json_integer(s->cfg->game.rounds));
        json_object_set_new(ev, "type", json_string("progress"));
    }
    json_decref(row);
    s_record(s, ev);
}

/* Begins the next round; false when the game is over. */
static bool s_round_begin(brk_server_t *s)
{
    if (env_game_over(s->game)) return false;
    int rc = env_round_begin(s->game);
    if (rc != ENV_OK) return false;
    s->round_open = true;
    s->round_tasks_base = env_tasks_done(s->game);
    s->round_msgs = 0;
    return true;
}

static void s_finish(brk_server_t *s, const char *reason);

/* ----- sequential: one turn at a time, reply turns right after the turn ---- */

static int s_queue_push(brk_server_t *s, int agent, env_turn_kind_t kind, bool front)
{
    if (s->q_len == s->q_cap) {
        int cap = s->q_cap ? 2 * s->q_cap : 64;
        int *q = malloc((size_t)cap * sizeof *q);
        env_turn_kind_t *k = malloc((size_t)cap * sizeof *k);
        if (!q || !k) {
            free(q);
            free(k);
            return ENV_ENOMEM;
        }
        for (int i = 0; i < s->q_len; i++) {
            q[i] = s->queue[(s->q_head + i) % s->q_cap];
            k[i] = s->queue_kind[(s->q_head + i) % s->q_cap];
        }
        free(s->queue);
        free(s->queue_kind);
        s->queue = q;
        s->queue_kind = k;
        s->q_cap = cap;
        s->q_head = 0;
    }
    int at;
    if (front) {
        s->q_head = (s->q_head + s->q_cap - 1) % s->q_cap;
        at = s->q_head;
    } else {
        at = (s->q_head + s->q_len) % s->q_cap;
    }
    s->queue[at] = agent;
    s->queue_kind[at] = kind;
    s->q_len++;
    return ENV_OK;
}

static void s_seq_advance(brk_server_t *s)
{
    while (s->phase == S_PLAYING) {
        if (s->q_len == 0) {
            s_round_end(s);
            if (!s_round_begin(s)) {
                s_finish(s, "finished");
                return;
            }
            int n = 0;
            const int *order = env_round_order(s->game, &n);
            for (int i = 0; i < n; i++)
                if (s_queue_push(s, order[i], ENV_TURN_NORMAL, false) != ENV_OK) {
                    PL_ERROR("BRK-NOMEM", "turn queue: out of memory");
                    s->result = -1;
                    s_finish(s, "error");
                    return;
                }
            continue;
        }
        int a = s->queue[s->q_head];
        env_turn_kind_t kind = s->queue_kind[s->q_head];
        s->q_head = (s->q_head + 1) % s->q_cap;
        s->q_len--;
        s_seat_t *seat = &s->seats[a];
        if (seat->state == S_SEAT_EMPTY || seat->state == S_SEAT_GONE) {
            s_miss(s, seat, seat->state == S_SEAT_EMPTY ? "never connected" : "left the game");
            continue;
        }
        s_open_turn(s, seat, kind);
        return;
    }
}

/* Reply turns owed after a turn go first, in the order the environment gives. */
static void s_seq_queue_replies(brk_server_t *s)
{
    int cap = s->n_seats, *rep = malloc((size_t)cap * sizeof *rep);
    if (!rep) return;
    int n = env_take_replies(s->game, rep, cap);
    for (int i = n - 1; i >= 0; i--)
        if (s_queue_push(s, rep[i], ENV_TURN_REPLY, true) != ENV_OK)
            PL_ERROR("BRK-NOMEM", "reply turn of agent_%d lost", rep[i] + 1);
    free(rep);
}

/* ----- simultaneous: everyone at once, applied in arrival order ----------- */

static void s_sim_advance(brk_server_t *s)
{
    while (s->phase == S_PLAYING && s->open_turns == 0) {
        s_round_end(s);
        if (!s_round_begin(s)) {
            s_finish(s, "finished");
            return;
        }
        s->arrival = 0;
        int n = 0;
        const int *order = env_round_order(s->game, &n);
        /* Every observation is taken before any decision of the round applies. */
        for (int i = 0; i < n; i++) {
            s_seat_t *seat = &s->seats[order[i]];
            if (seat->state == S_SEAT_EMPTY || seat->state == S_SEAT_GONE) {
                s_miss(s, seat, seat->state == S_SEAT_EMPTY ? "never connected" : "left the game");
                continue;
            }
            s_open_turn(s, seat, ENV_TURN_NORMAL);
            s->open_turns++;
        }
    }
}

/* ----- realtime: wall-clock slices; a seat may act again after min_think -- */

static void s_rt_offer(brk_server_t *s, s_seat_t *seat)
{
    if (s->phase != S_PLAYING || seat->turn_id != 0) return;
    if (seat->state != S_SEAT_ON && seat->state != S_SEAT_LOST) return;
    s_open_turn(s, seat, ENV_TURN_NORMAL);
}

/* Each loop callback is a body plus a wrapper that ends with s_flush, so that
 * events recorded in a callback reach the log (and then PUB) before the loop
 * sleeps, even when no agent message followed them. */
static void s_seat_think_body(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    s_seat_t *seat = arg;
    s_rt_offer(seat->server, seat);
}

static void s_on_seat_think(evutil_socket_t fd, short what, void *arg)
{
    s_seat_think_body(fd, what, arg);
    s_flush(((s_seat_t *)arg)->server);
}

static void s_rt_schedule(brk_server_t *s, s_seat_t *seat)
{
    double wait = s->min_think > 0.005 ? s->min_think : 0.005;
    struct timeval tv = s_tv(wait);
    if (evtimer_add(seat->think_ev, &tv) != 0)
        PL_ERROR("BRK-TIMER", "cannot arm the think timer of agent_%d", seat->index + 1);
}

static void s_slice_body(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    brk_server_t *s = arg;
    if (s->phase != S_PLAYING) return;
    s->slice++;
    s_round_end(s);
    if (s->slice >= s->cfg->game.rounds || !s_round_begin(s)) {
        s_finish(s, "finished");
        return;
    }
    char text[64];
    snprintf(text, sizeof text, "round %d/%d begins", env_round(s->game), s->cfg->game.rounds);
    for (int i = 0; i < s->n_seats; i++) s_send_notice(s, &s->seats[i], "round", text, 0);
    double slice = s->cfg->duration / (double)s->cfg->game.rounds;
    struct timeval tv = s_tv(slice);
    if (evtimer_add(s->slice_ev, &tv) != 0) PL_ERROR("BRK-TIMER", "cannot arm the slice timer");
}

static void s_on_slice(evutil_socket_t fd, short what, void *arg)
{
    s_slice_body(fd, what, arg);
    s_flush((brk_server_t *)arg);
}

/* Tells the seats a decision concerns what happened (realtime). */
static void s_rt_notify(brk_server_t *s, int agent, const env_action_t *acts, size_t n,
                        const env_result_t *res)
{
    char text[256];
    const char *me = env_agent_id(s->game, agent);
    for (size_t i = 0; i < n; i++) {
        if (res[i].code != ENV_OK) continue;
        int to = acts[i].to ? env_agent_index(s->game, acts[i].to) : -1;
        switch (acts[i].kind) {
        case ENV_ACT_SEND_MESSAGE:
            if (to < 0) break;
            snprintf(text, sizeof text, "%s sent you a message", me);
            s_send_notice(s, &s->seats[to], "message", text, 0);
            break;
        case ENV_ACT_SEND_INFORMATION:
            if (to < 0 || res[i].transferred == 0) break;
            snprintf(text, sizeof text, "%s sent you %d piece(s)", me, res[i].transferred);
            s_send_notice(s, &s->seats[to], "transfer", text, 0);
            break;
        case ENV_ACT_BROADCAST:
            snprintf(text, sizeof text, "%s broadcast a message", me);
            for (int k = 0; k < s->n_seats; k++)
                if (k != agent) s_send_notice(s, &s->seats[k], "broadcast", text, 0);
            break;
        case ENV_ACT_SUBMIT_TASK:
            if (!s->cfg->game.show_public_notices) break;
            snprintf(text, sizeof text, "%s completed a task", me);
            for (int k = 0; k < s->n_seats; k++)
                if (k != agent) s_send_notice(s, &s->seats[k], "task", text, 0);
            break;
        default:
            break;
        }
    }
}

/* A turn ended (decided or missed): what comes next depends on the mode. */
static void s_after_turn(brk_server_t *s, s_seat_t *seat, env_turn_kind_t kind)
{
    switch (s->cfg->timing) {
    case PL_TIMING_SEQUENTIAL:
        /* As env_play does: reply turns are owed after normal turns only. */
        if (kind == ENV_TURN_NORMAL) s_seq_queue_replies(s);
        s_seq_advance(s);
        break;
    case PL_TIMING_SIMULTANEOUS: {
        int discard[1];
        while (env_take_replies(s->game, discard, 1) > 0) continue;
        s->open_turns--;
        s_sim_advance(s);
        break;
    }
    case PL_TIMING_REALTIME: {
        int discard[1];
        while (env_take_replies(s->game, discard, 1) > 0) continue;
        s_rt_schedule(s, seat);
        break;
    }
    }
}

static void s_seat_deadline_body(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    s_seat_t *seat = arg;
    brk_server_t *s = seat->server;
    if (seat->turn_id == 0 || s->phase != S_PLAYING) return;
    uint64_t turn = seat->turn_id;
    env_turn_kind_t kind = seat->turn_kind;
    PL_INFO("BRK-TURN-MISSED", "agent_%d missed turn %llu (%s)", seat->index + 1,
            (unsigned long long)turn, s_seat_state_names[seat->state]);
    s_close_turn(seat);
    s_miss(s, seat, seat->state == S_SEAT_ON ? "deadline passed" : "disconnected");
    char text[96];
    snprintf(text, sizeof text, "turn %llu passed its deadline", (unsigned long long)turn);
    s_send_notice(s, seat, "turn_missed", text, turn);
    s_after_turn(s, seat, kind);
}

static void s_on_seat_deadline(evutil_socket_t fd, short what, void *arg)
{
    s_seat_deadline_body(fd, what, arg);
    s_flush(((s_seat_t *)arg)->server);
}

/* ------------------------------------------------------------- game flow -- */

static void s_start(brk_server_t *s)
{
    if (s->phase != S_WAITING) return;
    s->phase = S_PLAYING;
    evtimer_del(s->start_ev);
    json_t *ev = s_event(s, "game_start");
    if (ev) {
        json_t *seats = json_object();
        for (int i = 0; i < s->n_seats; i++)
            json_object_set_new(seats, env_agent_id(s->game, i),
                                json_string(s_seat_state_names[s->seats[i].state]));
        json_object_set_new(ev, "seats", seats);
        json_object_set_new(ev, "timing", json_string(pl_timing_name(s->cfg->timing)));
    }
    s_record(s, ev);
    PL_INFO("BRK-GAME-START", "game %s starts (%s, %d seats)", s->game_id,
            pl_timing_name(s->cfg->timing), s->n_seats);
    switch (s->cfg->timing) {
    case PL_TIMING_SEQUENTIAL:
        s_seq_advance(s);
        break;
    case PL_TIMING_SIMULTANEOUS:
        s_sim_advance(s);
        break;
    case PL_TIMING_REALTIME: {
        if (!s_round_begin(s)) {
            s_finish(s, "finished");
            return;
        }
        double slice = s->cfg->duration / (double)s->cfg->game.rounds;
        struct timeval tv = s_tv(slice);
        if (evtimer_add(s->slice_ev, &tv) != 0) PL_ERROR("BRK-TIMER", "cannot arm the slice timer");
        for (int i = 0; i < s->n_seats; i++) s_rt_offer(s, &s->seats[i]);
        break;
    }
    }
}

static void s_start_timeout_body(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    brk_server_t *s = arg;
    int missing = 0;
    for (int i = 0; i < s->n_seats; i++) missing += s->seats[i].state != S_SEAT_ON;
    PL_WARN("BRK-START-TIMEOUT", "%d seat(s) missing; starting without them", missing);
    s_start(s);
}

static void s_on_start_timeout(evutil_socket_t fd, short what, void *arg)
{
    s_start_timeout_body(fd, what, arg);
    s_flush((brk_server_t *)arg);
}

static json_t *s_summary(brk_server_t *s)
{
    /* The ceiling: perfect play of the same configuration and seed, over the
     * rounds actually played when the game was stopped early. */
    int ceiling_tasks = 0;
    env_config_t c = s->cfg->game;
    if (strcmp(s->reason, "finished") != 0 && env_round(s->game) < c.rounds)
        c.rounds = env_round(s->game) > 0 ? env_round(s->game) : 1;
    int64_t ceiling = env_perfect_task_revenue(&c, &ceiling_tasks);
    json_t *board = json_array();
    for (int i = 0; i < s->n_seats; i++) {
        const s_seat_t *seat = &s->seats[i];
        const char *policy = seat->policy[0]                              ? seat->policy
                             : (s->cfg->seats && s->cfg->seats[i].policy) ? s->cfg->seats[i].policy
                                                                          : "";
        json_array_append_new(
            board, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:i, s:i, s:b}", "agent",
                             env_agent_id(s->game, i), "type",
                             env_type_name(env_agent_type(s->game, i)), "policy", policy, "model",
                             seat->model, "revenue", (json_int_t)env_agent_revenue(s->game, i),
                             "task_revenue", (json_int_t)env_agent_task_revenue(s->game, i),
                             "tasks_done", env_agent_tasks_done(s->game, i), "turns", seat->turns,
                             "missed_turns", seat->missed, "human", seat->human));
    }
    int64_t task_rev = env_task_revenue(s->game);
    /* The ceiling is perfect play in sequential rounds: a % of it is defined for
     * sequential games only (docs/FIDELITY.md); other modes report null. */
    bool seq = s->cfg->timing == PL_TIMING_SEQUENTIAL;
    double pct = ceiling > 0 ? 100.0 * (double)task_rev / (double)ceiling : 0.0;
    bool done = strcmp(s->reason, "finished") == 0;
    /* Top-level keys as the in-process executor writes them (analysis/ana_exec.c). */
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:b, s:i, s:i, s:O, s:o, s:i, s:I, "
        "s:I, s:{s:i, s:I, s:I, s:i, s:i}, s:{s:I, s:i, s:i}, s:o}",
        "status", done ? "ok" : "stopped", "executor", "broker", "game_id", s->game_id, "scenario",
        s->cfg->scenario ? s->cfg->scenario : "", "seed", (json_int_t)s->cfg->game.seed, "timing",
        pl_timing_name(s->cfg->timing), "reason", s->reason, "complete", done, "rounds_total",
        s->cfg->game.rounds, "rounds_played", env_round(s->game), "rounds", s->per_round, "board",
        board, "tasks", env_tasks_done(s->game), "task_revenue", (json_int_t)task_rev,
        "group_revenue", (json_int_t)env_group_revenue(s->game), "totals", "tasks",
        env_tasks_done(s->game), "group_revenue", (json_int_t)env_group_revenue(s->game),
        "task_revenue", (json_int_t)task_rev, "messages", s->total_msgs, "missed_turns",
        s->total_missed, "ceiling", "task_revenue", (json_int_t)ceiling, "tasks", ceiling_tasks,
        "rounds", c.rounds, "pct_optimal", seq ? json_real(pct) : json_null());
}

static void s_finish(brk_server_t *s, const char *reason)
{
    if (s->phase == S_OVER) return;
    bool was_playing = s->phase == S_PLAYING;
    s->phase = S_OVER;
    snprintf(s->reason, sizeof s->reason, "%s", reason);
    if (s->result == 0 && strcmp(reason, "finished") != 0) s->result = 1;
    for (int i = 0; i < s->n_seats; i++) {
        evtimer_del(s->seats[i].think_ev);
        s_close_turn(&s->seats[i]);
    }
    evtimer_del(s->slice_ev);
    evtimer_del(s->start_ev);
    if (was_playing) s_round_end(s);
    env_game_finish(s->game);
    brk_http_game_over(s->http);
    /* summary.json means "this run is done" (parley sweep resumes on it): a
     * stopped game leaves summary.partial.json beside a valid event log. */
    const char *name = strcmp(reason, "finished") == 0 ? "summary.json" : "summary.partial.json";
    json_t *summary = s_summary(s);
    json_t *humans = json_array(); /* which seats people played (their Hello said so) */
    for (int i = 0; humans && i < s->n_seats; i++)
        if (s->seats[i].human) json_array_append_new(humans, json_string(env_agent_id(s->game, i)));
    if (summary && humans)
        json_object_set_new(summary, "human_seats", humans);
    else
        json_decref(humans);
    if (!summary || brk_rundir_write_json(s->rundir, name, summary, 0644) != 0)
        PL_ERROR("BRK-SUMMARY", "%s not written", name);
    json_decref(summary);

    /* Every effect is on disk: now the agents hear the end. */
    size_t n = (size_t)s->n_seats;
    Parley__BoardRow *rows = calloc(n, sizeof *rows);
    Parley__BoardRow **ptrs = calloc(n, sizeof *ptrs);
    Parley__GameOver go = PARLEY__GAME_OVER__INIT;
    if (rows && ptrs) {
        for (size_t i = 0; i < n; i++) {
            parley__board_row__init(&rows[i]);
            rows[i].agent = (int32_t)i;
            rows[i].revenue = env_agent_revenue(s->game, (int)i);
            rows[i].tasks_done = env_agent_tasks_done(s->game, (int)i);
            ptrs[i] = &rows[i];
        }
        go.n_board = n;
        go.board = ptrs;
    }
    go.tasks_done = env_tasks_done(s->game);
    go.group_revenue = env_group_revenue(s->game);
    go.task_revenue = env_task_revenue(s->game);
    go.rounds_played = env_round(s->game);
    go.reason = s->reason;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_GAME_OVER;
    e.game_over = &go;
    for (int i = 0; i < s->n_seats; i++)
        if (s->seats[i].state == S_SEAT_ON || s->seats[i].state == S_SEAT_LOST)
            s_send(s, &s->seats[i], &e);
    free(rows);
    free(ptrs);
    PL_INFO("BRK-GAME-OVER", "game %s %s: %d tasks, group revenue %lld", s->game_id, s->reason,
            env_tasks_done(s->game), (long long)env_group_revenue(s->game));
    s_flush(s);
    event_base_loopexit(s->base, NULL);
}

void brk_server_stop(brk_server_t *s, const char *reason)
{
    s_finish(s, reason ? reason : "stopped");
}

/* -------------------------------------------------------------- handlers -- */

typedef struct {
    const uint8_t *rid;
    size_t rid_len;
    const Parley__Envelope *env;
    s_seat_t *seat; /* NULL for Hello */
} s_req_t;

static s_seat_t *s_seat_by_rid(brk_server_t *s, const uint8_t *rid, size_t len)
{
    for (int i = 0; i < s->n_seats; i++) {
        s_seat_t *seat = &s->seats[i];
        if (seat->rid_len == len && memcmp(seat->rid, rid, len) == 0 &&
            (seat->state == S_SEAT_ON || seat->state == S_SEAT_LOST))
            return seat;
    }
    return NULL;
}

static bool s_token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned diff = (unsigned)(la ^ lb);
    for (size_t i = 0; i < la && i < lb; i++) diff |= (unsigned)(a[i] ^ b[i]);
    return diff == 0;
}

static void s_send_welcome(brk_server_t *s, s_seat_t *seat, bool resumed)
{
    Parley__GameRules rules;
    double turn_timeout = s_seat_timeout(s, seat);
    wire_rules_from_config(&s->cfg->game, s->cfg->scenario, pl_timing_name(s->cfg->timing),
                           s->cfg->duration, turn_timeout, s->min_think, &rules);
    env_names_t names;
    env_game_names(s->game, &names);
    Parley__Welcome w = PARLEY__WELCOME__INIT;
    w.seat = (char *)env_agent_id(s->game, seat->index);
    w.agent_type = (char *)env_type_name(env_agent_type(s->game, seat->index));
    w.rules = &rules;
    w.n_agents = (size_t)names.n_agents;
    w.agents = (char **)names.agent_ids;
    w.n_pieces = (size_t)names.n_pieces;
    w.pieces = (char **)names.piece_names;
    w.heartbeat_s = s->heartbeat;
    w.resumed = resumed;
    w.label = w.seat;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_WELCOME;
    e.welcome = &w;
    s_send(s, seat, &e);
}

static void s_on_hello(brk_server_t *s, const s_req_t *r)
{
    const Parley__Hello *h = r->env->hello;
    int idx = env_agent_index(s->game, h->seat);
    if (idx < 0) {
        s_send_error(s, r->rid, r->rid_len, PARLEY__ERROR__CODE__UNKNOWN_SEAT, 0, r->env->seq,
                     "no seat named '%.64s'", h->seat);
        return;
    }
    s_seat_t *seat = &s->seats[idx];
    if (!s_token_equal(seat->token, h->token)) {
        s_send_error(s, r->rid, r->rid_len, PARLEY__ERROR__CODE__BAD_TOKEN, 0, r->env->seq,
                     "wrong token for %s", h->seat);
        return;
    }
    /* The connection may have held another seat: it lets go of it. */
    s_seat_t *other = s_seat_by_rid(s, r->rid, r->rid_len);
    if (other && other != seat) {
        other->state = S_SEAT_LOST;
        other->rid_len = 0;
    }
    /* A valid token wins over an older connection: the agent restarted. */
    bool resumed = seat->ever_joined;
    memcpy(seat->rid, r->rid, r->rid_len);
    seat->rid_len = r->rid_len;
    seat->state = S_SEAT_ON;
    seat->ever_joined = true;
    seat->last_seen_ms = s_mono_ms();
    snprintf(seat->policy, sizeof seat->policy, "%s", h->policy);
    snprintf(seat->model, sizeof seat->model, "%s", h->model);
    seat->reactive = h->reactive;
    seat->human = h->human;
    /* Reply turns (and the paper's instant fulfilment) only for a seat whose
     * configured policy is reactive: a client's own claim is not enough. */
    const char *conf = s->cfg->seats && s->cfg->seats[idx].policy ? s->cfg->seats[idx].policy : "";
    int conf_p = env_policy_from_name(conf);
    bool reactive = h->reactive && conf_p >= 0 && env_policy_reactive((env_policy_t)conf_p);
    if (s->cfg->timing == PL_TIMING_SEQUENTIAL) env_set_reactive(s->game, idx, reactive);

    if (s->phase == S_OVER) {
        s_send_error(s, r->rid, r->rid_len, PARLEY__ERROR__CODE__GAME_OVER, 0, r->env->seq,
                     "the game is over");
        return;
    }
    json_t *ev = s_event(s, "seat_joined");
    if (ev) {
        json_object_set_new(ev, "agent", json_string(h->seat));
        json_object_set_new(ev, "policy", json_string(h->policy));
        json_object_set_new(ev, "model", json_string(h->model));
        json_object_set_new(ev, "client", json_string(h->client_version));
        json_object_set_new(ev, "reactive", json_boolean(h->reactive));
        json_object_set_new(ev, "human", json_boolean(h->human));
        json_object_set_new(ev, "resumed", json_boolean(resumed));
    }
    s_record(s, ev);
    PL_INFO("BRK-SEAT-JOINED", "%s joined (%s%s)", h->seat, h->policy, resumed ? ", resumed" : "");

    s_send_welcome(s, seat, resumed);
    if (seat->turn_id != 0) {
        s_send_turn(s, seat, true);
    } else if (s->phase == S_PLAYING && s->cfg->timing == PL_TIMING_REALTIME &&
               !evtimer_pending(seat->think_ev, NULL)) {
        s_rt_offer(s, seat);
    }
    if (s->phase == S_WAITING) {
        int on = 0;
        for (int i = 0; i < s->n_seats; i++) on += s->seats[i].state == S_SEAT_ON;
        if (on == s->n_seats) s_start(s);
    }
}

static json_t *s_calls_json(const Parley__Decision *d)
{
    json_t *calls = json_array();
    for (size_t i = 0; calls && i < d->n_calls; i++) {
        const Parley__ModelCall *c = d->calls[i];
        json_array_append_new(
            calls, json_pack("{s:s, s:s, s:s, s:i, s:i, s:f, s:I, s:I, s:I, s:I, s:f, s:s, s:s, "
                             "s:s, s:f}",
                             "provider", c->provider, "model_requested", c->model_requested,
                             "model_reported", c->model_reported, "http_status", c->http_status,
                             "attempts", c->attempts, "latency_s", c->latency_s, "tokens_in",
                             (json_int_t)c->tokens_in, "tokens_out", (json_int_t)c->tokens_out,
                             "tokens_reasoning", (json_int_t)c->tokens_reasoning, "tokens_cached",
                             (json_int_t)c->tokens_cached, "cost_usd", c->cost_usd, "error",
                             c->error, "request_body", c->request_body, "response_body",
                             c->response_body, "prefix_share", c->prefix_share));
        /* what the reply said about itself (issue 13) */
        json_t *last = json_array_get(calls, json_array_size(calls) - 1);
        if (last && json_object_update_new(
                        last, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "stop_reason",
                                        c->stop_reason, "finish_reason", c->finish_reason,
                                        "system_fingerprint", c->system_fingerprint, "refusal",
                                        c->refusal, "reply_format", c->reply_format, "tool_calls",
                                        c->tool_calls, "thinking_blocks", c->thinking_blocks)) != 0)
            PL_WARN("BRK-NOMEM", "a call record lacks its stop reason");
    }
    return calls;
}

static void s_on_decision(brk_server_t *s, const s_req_t *r)
{
    const Parley__Decision *d = r->env->decision;
    s_seat_t *seat = r->seat;
    if (s->phase == S_OVER) {
        s_send_error(s, r->rid, r->rid_len, PARLEY__ERROR__CODE__GAME_OVER, d->turn_id, r->env->seq,
                     "the game is over");
        return;
    }
    if (seat->turn_id == 0) {
        s_send_error(s, r->rid, r->rid_len, PARLEY__ERROR__CODE__NOT_YOUR_TURN, d->turn_id,
                     r->env->seq, "agent_%d has no open turn", seat->index + 1);
        return;
    }
    if (d->turn_id != seat->turn_id) {
        s_send_error(s, r->rid, r->rid_len, PARLEY__ERROR__CODE__STALE_TURN, d->turn_id,
                     r->env->seq, "turn %llu is not the open turn (%llu)",
                     (unsigned long long)d->turn_id, (unsigned long long)seat->turn_id);
        return;
    }
    wire_arena_t *a = wire_arena_new();
    env_action_t *acts = NULL;
    size_t n = 0;
    env_result_t *res = NULL;
    env_action_t *ok_acts = NULL;
    size_t *ok_at = NULL;
    if (!a || wire_actions_from_pb(a, d, &acts, &n) != WIRE_OK) goto nomem;
    res = wire_arena_alloc(a, (n ? n : 1) * sizeof *res);
    ok_acts = wire_arena_alloc(a, (n ? n : 1) * sizeof *ok_acts);
    ok_at = wire_arena_alloc(a, (n ? n : 1) * sizeof *ok_at);
    if (!res || !ok_acts || !ok_at) goto nomem;

    /* Kinds the environment does not know are refused here, the rest applied. */
    size_t n_ok = 0;
    for (size_t i = 0; i < n; i++) {
        if (acts[i].kind == ENV_ACT_COUNT) {
            res[i].code = ENV_EBAD_ACTION;
            snprintf(res[i].reason, sizeof res[i].reason, "unknown action kind");
            continue;
        }
        ok_at[n_ok] = i;
        ok_acts[n_ok++] = acts[i];
    }
    env_result_t *ok_res = wire_arena_alloc(a, (n_ok ? n_ok : 1) * sizeof *ok_res);
    if (!ok_res) goto nomem;

    json_t *ev = s_event(s, "decision");
    if (ev) {
        json_object_set_new(ev, "agent", json_string(env_agent_id(s->game, seat->index)));
        json_object_set_new(ev, "turn_id", json_integer((json_int_t)d->turn_id));
        json_object_set_new(ev, "kind",
                            json_string(seat->turn_kind == ENV_TURN_REPLY ? "reply" : "normal"));
        json_object_set_new(ev, "actions", json_integer((json_int_t)n));
        json_object_set_new(ev, "think_s", json_real(d->think_s));
        /* Broker-side round trip: TurnRequest out -> Decision in (pack, send,
         * agent's unpack + decide + pack, receive). */
        json_object_set_new(ev, "rtt_us", json_integer(s_mono_us() - seat->turn_sent_us));
        if (s->cfg->timing == PL_TIMING_SIMULTANEOUS)
            json_object_set_new(ev, "arrival", json_integer(++s->arrival));
        if (d->empty_reason[0])
            json_object_set_new(ev, "empty_reason", json_string(d->empty_reason));
        if (d->n_dropped) {
            json_t *dropped = json_array();
            for (size_t i = 0; i < d->n_dropped; i++)
                json_array_append_new(dropped, json_pack("{s:s, s:s}", "raw", d->dropped[i]->raw,
                                                         "reason", d->dropped[i]->reason));
            json_object_set_new(ev, "dropped", dropped);
        }
        if (d->n_calls) json_object_set_new(ev, "calls", s_calls_json(d));
    }
    s_record(s, ev);

    uint64_t turn = seat->turn_id;
    env_turn_kind_t kind = seat->turn_kind;
    s_close_turn(seat);
    seat->turns++;
    int rc = env_apply(s->game, seat->index, kind, ok_acts, n_ok, d->private_thoughts, ok_res);
    if (rc != ENV_OK)
        PL_ERROR("BRK-APPLY", "agent_%d turn %llu: %s", seat->index + 1, (unsigned long long)turn,
                 env_strerror(rc));
    for (size_t k = 0; k < n_ok; k++) res[ok_at[k]] = ok_res[k];

    /* The effects are in events.jsonl: now the agent hears the results. */
    Parley__ActionResult *rows = wire_arena_alloc(a, (n ? n : 1) * sizeof *rows);
    Parley__ActionResult **ptrs = wire_arena_alloc(a, (n ? n : 1) * sizeof *ptrs);
    if (!rows || !ptrs) goto nomem;
    for (size_t i = 0; i < n; i++) {
        wire_result_to_pb(&res[i], &rows[i]);
        ptrs[i] = &rows[i];
    }
    Parley__ActionResults ar = PARLEY__ACTION_RESULTS__INIT;
    ar.turn_id = turn;
    ar.n_results = n;
    ar.results = ptrs;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_ACTION_RESULTS;
    e.action_results = &ar;
    s_send(s, seat, &e);

    if (s->cfg->timing == PL_TIMING_REALTIME) s_rt_notify(s, seat->index, acts, n, res);
    wire_arena_destroy(&a);
    /* The study's fail_fast_on_agent_error: a seat's failed model call ends the game. */
    if (s->cfg->fail_fast && strncmp(d->empty_reason, "model call failed", 17) == 0)
        s_finish(s, "agent_error");
    else
        s_after_turn(s, seat, kind);
    return;
nomem:
    wire_arena_destroy(&a);
    PL_ERROR("BRK-NOMEM", "decision of agent_%d dropped: out of memory", seat->index + 1);
}

static void s_on_heartbeat(brk_server_t *s, const s_req_t *r)
{
    (void)s;
    (void)r; /* last_seen is updated for every message before dispatch */
}

static void s_on_bye(brk_server_t *s, const s_req_t *r)
{
    s_seat_t *seat = r->seat;
    json_t *ev = s_event(s, "seat_left");
    if (ev) {
        json_object_set_new(ev, "agent", json_string(env_agent_id(s->game, seat->index)));
        json_object_set_new(ev, "reason", json_string(r->env->bye->reason));
    }
    s_record(s, ev);
    PL_INFO("BRK-SEAT-LEFT", "agent_%d left: %s", seat->index + 1, r->env->bye->reason);
    seat->state = S_SEAT_GONE;
    seat->rid_len = 0;
    evtimer_del(seat->think_ev);
    if (seat->turn_id != 0 && s->phase == S_PLAYING) {
        env_turn_kind_t kind = seat->turn_kind;
        s_close_turn(seat);
        s_miss(s, seat, "left the game");
        s_after_turn(s, seat, kind);
    }
}

/* The dispatch table: what an agent may send, and what must hold before. */
typedef struct {
    int body;
    bool needs_seat; /* the connection must have been welcomed */
    void (*handler)(brk_server_t *s, const s_req_t *r);
} s_command_t;

static const s_command_t s_commands[] = {
    {PARLEY__ENVELOPE__BODY_HELLO, false, s_on_hello},
    {PARLEY__ENVELOPE__BODY_DECISION, true, s_on_decision},
    {PARLEY__ENVELOPE__BODY_HEARTBEAT, true, s_on_heartbeat},
    {PARLEY__ENVELOPE__BODY_BYE, true, s_on_bye},
};

static void s_dispatch(brk_server_t *s, const uint8_t *rid, size_t rid_len, const void *data,
                       size_t len)
{
    int err = 0;
    Parley__Envelope *e = wire_unpack(data, len, WIRE_MAX_AGENT_MSG, &err);
    if (!e) {
        s_send_error(s, rid, rid_len,
                     err == WIRE_ETOO_LARGE ? PARLEY__ERROR__CODE__TOO_LARGE
                                            : PARLEY__ERROR__CODE__MALFORMED,
                     0, 0, "%s (%zu bytes)", wire_strerror(err), len);
        return;
    }
    const s_command_t *cmd = NULL;
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (s_commands[i].body == (int)e->body_case) cmd = &s_commands[i];
    s_req_t r = {rid, rid_len, e, NULL};
    if (!cmd) {
        s_send_error(s, rid, rid_len, PARLEY__ERROR__CODE__UNEXPECTED, 0, e->seq,
                     "agents do not send %s", wire_body_name(e->body_case));
        goto done;
    }
    if (cmd->needs_seat) {
        r.seat = s_seat_by_rid(s, rid, rid_len);
        if (!r.seat) {
            s_send_error(s, rid, rid_len, PARLEY__ERROR__CODE__NOT_WELCOMED, 0, e->seq,
                         "say Hello first");
            goto done;
        }
        if (e->game_id[0] && strcmp(e->game_id, s->game_id) != 0) {
            s_send_error(s, rid, rid_len, PARLEY__ERROR__CODE__WRONG_GAME, 0, e->seq,
                         "this is game %s, not %.32s", s->game_id, e->game_id);
            goto done;
        }
        r.seat->last_seen_ms = s_mono_ms();
        if (r.seat->state == S_SEAT_LOST) {
            r.seat->state = S_SEAT_ON;
            PL_INFO("BRK-AGENT-BACK", "agent_%d is back", r.seat->index + 1);
        }
    }
    cmd->handler(s, &r);
done:
    wire_free(&e);
}

/* -------------------------------------------------------------- sockets -- */

static void s_router_readable_body(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    brk_server_t *s = arg;
    s->draining = true;
    for (;;) {
        int events = 0;
        size_t sz = sizeof events;
        if (zmq_getsockopt(s->router, ZMQ_EVENTS, &events, &sz) != 0) {
            PL_ERROR("BRK-ZMQ", "ZMQ_EVENTS: %s", zmq_strerror(errno));
            break;
        }
        if (!(events & ZMQ_POLLIN)) break;
        zmq_msg_t rid, body;
        zmq_msg_init(&rid);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&rid, s->router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&rid);
            zmq_msg_close(&body);
            if (errno == EAGAIN || errno == EINTR) continue;
            PL_ERROR("BRK-ZMQ", "recv: %s", zmq_strerror(errno));
            break;
        }
        bool have_body = zmq_msg_more(&rid) && zmq_msg_recv(&body, s->router, ZMQ_DONTWAIT) >= 0;
        /* One Envelope per message: extra frames make it malformed. */
        int extra = 0;
        while (have_body && zmq_msg_more(&body)) {
            zmq_msg_t junk;
            zmq_msg_init(&junk);
            int got = zmq_msg_recv(&junk, s->router, ZMQ_DONTWAIT);
            bool more = got >= 0 && zmq_msg_more(&junk);
            zmq_msg_close(&junk);
            extra++;
            if (!more) break;
        }
        size_t rid_len = zmq_msg_size(&rid);
        if (rid_len > S_RID_MAX) rid_len = S_RID_MAX;
        if (!have_body || extra) {
            s_send_error(s, zmq_msg_data(&rid), rid_len, PARLEY__ERROR__CODE__MALFORMED, 0, 0,
                         "one frame with one Envelope expected (%d extra)", extra);
        } else {
            s_dispatch(s, zmq_msg_data(&rid), rid_len, zmq_msg_data(&body), zmq_msg_size(&body));
        }
        zmq_msg_close(&rid);
        zmq_msg_close(&body);
    }
    s->draining = false;
}

static void s_on_router_readable(evutil_socket_t fd, short what, void *arg)
{
    s_router_readable_body(fd, what, arg);
    s_flush((brk_server_t *)arg);
}

static void s_heartbeat_timer_body(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    brk_server_t *s = arg;
    int64_t now = s_mono_ms();
    int64_t expiry = (int64_t)(4.0 * s->heartbeat * 1000.0);
    Parley__Heartbeat hb = PARLEY__HEARTBEAT__INIT;
    hb.status = (char *)(s->phase == S_PLAYING ? "playing" : "waiting");
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_HEARTBEAT;
    e.heartbeat = &hb;
    for (int i = 0; i < s->n_seats; i++) {
        s_seat_t *seat = &s->seats[i];
        if (seat->state != S_SEAT_ON) continue;
        if (now - seat->last_seen_ms > expiry) {
            seat->state = S_SEAT_LOST;
            PL_WARN("BRK-AGENT-EXPIRED", "agent_%d silent for %.1f s", i + 1,
                    (double)(now - seat->last_seen_ms) / 1000.0);
            json_t *ev = s_event(s, "seat_lost");
            if (ev) json_object_set_new(ev, "agent", json_string(env_agent_id(s->game, i)));
            s_record(s, ev);
            continue;
        }
        hb.turn_id = seat->turn_id;
        s_send(s, seat, &e);
    }
}

static void s_on_heartbeat_timer(evutil_socket_t fd, short what, void *arg)
{
    s_heartbeat_timer_body(fd, what, arg);
    s_flush((brk_server_t *)arg);
}

static void s_signal_body(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    brk_server_t *s = arg;
    PL_INFO("BRK-SIGNAL", "signal %d: stopping the game", (int)sig);
    s_finish(s, "stopped");
}

static void s_on_signal(evutil_socket_t fd, short what, void *arg)
{
    s_signal_body(fd, what, arg);
    s_flush((brk_server_t *)arg);
}

/* ------------------------------------------------------------- lifecycle -- */

/* Tokens: reused from seats.json when the run directory has one (a restarted
 * broker keeps its agents), otherwise fresh from the kernel. */
static int s_load_tokens(brk_server_t *s)
{
    json_t *old = brk_rundir_read_json(s->rundir, "seats.json");
    json_t *seats = json_object();
    if (!seats) {
        json_decref(old);
        return -1;
    }
    for (int i = 0; i < s->n_seats; i++) {
        const char *id = env_agent_id(s->game, i);
        const char *tok = json_string_value(json_object_get(old, id));
        if (tok && strlen(tok) == 2 * S_TOKEN_BYTES)
            memcpy(s->seats[i].token, tok, 2 * S_TOKEN_BYTES + 1);
        else if (brk_random_hex(s->seats[i].token, S_TOKEN_BYTES) != 0) {
            json_decref(old);
            json_decref(seats);
            return -1;
        }
        json_object_set_new(seats, id, json_string(s->seats[i].token));
    }
    json_decref(old);
    int rc = brk_rundir_write_json(s->rundir, "seats.json", seats, 0600);
    json_decref(seats);
    return rc;
}

/* The game and its seats as the web side shows them. Blind: no policy, model
 * or human flag, so a page never tells people from models. */
static json_t *s_status(void *arg)
{
    brk_server_t *s = arg;
    static const char *const phases[] = {"waiting", "playing", "over"};
    json_t *seats = json_array();
    int64_t now = s_mono_ms();
    for (int i = 0; seats && i < s->n_seats; i++) {
        const s_seat_t *seat = &s->seats[i];
        double left = seat->turn_id ? (double)(seat->turn_deadline_ms - now) / 1000.0 : 0.0;
        json_t *row = json_pack(
            "{s:s, s:s, s:s, s:b, s:f, s:i, s:i, s:i, s:I}", "id", env_agent_id(s->game, i),
            "label", env_agent_id(s->game, i), "state", s_seat_state_names[seat->state], "thinking",
            seat->turn_id != 0, "deadline_s", left > 0 ? left : 0.0, "turns", seat->turns, "missed",
            seat->missed, "tasks_done", env_agent_tasks_done(s->game, i), "revenue",
            (json_int_t)env_agent_revenue(s->game, i));
        if (row && !s->cfg->blind) {
            json_object_set_new(row, "human", json_boolean(seat->human || s->browser[i]));
            json_object_set_new(row, "policy",
                                json_string(seat->policy[0]           ? seat->policy
                                            : s->cfg->seats[i].policy ? s->cfg->seats[i].policy
                                                                      : ""));
        }
        json_array_append_new(seats, row);
    }
    return json_pack(
        "{s:s, s:s, s:s, s:b, s:i, s:i, s:f, s:i, s:I, s:I, s:o}", "game_id", s->game_id, "phase",
        phases[s->phase], "timing", pl_timing_name(s->cfg->timing), "blind", s->cfg->blind, "round",
        env_round(s->game), "rounds", s->cfg->game.rounds, "duration_s", s->cfg->duration, "tasks",
        env_tasks_done(s->game), "group_revenue", (json_int_t)env_group_revenue(s->game),
        "task_revenue", (json_int_t)env_task_revenue(s->game), "seats", seats);
}

/* The web side. With web_seats, seats whose configured policy is `human` are
 * played from the browser (parley run then starts no process for them). */
static int s_http_start(brk_server_t *s, char *err, size_t errlen)
{
    size_t n = (size_t)s->n_seats;
    s->seat_ids = calloc(n, sizeof *s->seat_ids);
    s->seat_tokens = calloc(n, sizeof *s->seat_tokens);
    s->browser = calloc(n, sizeof *s->browser);
    if (!s->seat_ids || !s->seat_tokens || !s->browser) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < s->n_seats; i++) {
        s->seat_ids[i] = env_agent_id(s->game, i);
        s->seat_tokens[i] = s->seats[i].token;
        s->browser[i] = s->opts.web_seats && s->cfg->seats && i < s->cfg->n_seats &&
                        s->cfg->seats[i].policy && strcmp(s->cfg->seats[i].policy, "human") == 0;
    }
    brk_http_options_t ho = {.base = s->base,
                             .zctx = s->zctx,
                             .listen = s->opts.http_listen,
                             .router_endpoint = s->endpoint,
                             .n_seats = s->n_seats,
                             .seat_ids = s->seat_ids,
                             .tokens = s->seat_tokens,
                             .browser = s->browser,
                             .blind = s->cfg->blind,
                             .status = s_status,
                             .arg = s};
    s->http = brk_http_new(&ho, err, errlen);
    if (!s->http) return -1;
    /* The events recorded before the web side existed (run_start, world, the
     * first tasks) start its stream, so a reader sees the whole game. */
    char path[4096];
    snprintf(path, sizeof path, "%s/events.jsonl", brk_rundir_path(s->rundir));
    FILE *f = brk_rundir_flush(s->rundir) == 0 ? fopen(path, "r") : NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (f && (len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n') line[len - 1] = '\0';
        json_t *ev = json_loads(line, 0, NULL);
        if (ev) brk_http_event(s->http, ev, line);
        json_decref(ev);
    }
    free(line);
    if (f) fclose(f);
    return 0;
}

static int s_bind(void *sock, const char *endpoint, char *out, size_t outlen)
{
    if (zmq_bind(sock, endpoint) != 0) return -1;
    size_t len = outlen;
    if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, out, &len) != 0) return -1;
    return 0;
}

brk_server_t *brk_server_new(const pl_config_t *config, const brk_options_t *opts, char *err,
                             size_t errlen)
{
    brk_server_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->opts = *opts;
    s->cfg = pl_config_dup(config);
    s->per_round = json_array();
    s->pub_queue = json_array();
    if (!s->cfg || !s->per_round || !s->pub_queue) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    snprintf(s->reason, sizeof s->reason, "running");
    s->turn_timeout = s->cfg->turn_timeout > 0 ? s->cfg->turn_timeout : 60.0;
    s->human_timeout = s->cfg->human_turn_timeout;
    s->heartbeat = s->cfg->heartbeat > 0 ? s->cfg->heartbeat : 1.0;
    s->min_think = s->cfg->min_think;
    if (s->cfg->timing == PL_TIMING_REALTIME &&
        (s->cfg->duration <= 0 || s->cfg->game.rounds <= 0)) {
        snprintf(err, errlen,
                 "realtime timing needs timing.duration > 0 and simulation.rounds > 0");
        goto fail;
    }
    if (brk_random_hex(s->game_id, 8) != 0) {
        snprintf(err, errlen, "no randomness for the game id");
        goto fail;
    }

    s->rundir = brk_rundir_new(opts->run_dir, err, errlen);
    if (!s->rundir) goto fail;
    json_t *cj = pl_config_to_json(s->cfg);
    if (!cj || brk_rundir_write_json(s->rundir, "config.json", cj, 0644) != 0) {
        json_decref(cj);
        snprintf(err, errlen, "%s/config.json: cannot write", opts->run_dir);
        goto fail;
    }
    json_t *start = s_event(s, "run_start");
    if (start) {
        json_object_set_new(start, "game_id", json_string(s->game_id));
        json_object_set_new(start, "config", cj);
        cj = NULL;
    }
    json_decref(cj);

    s->base = event_base_new();
    s->zctx = zmq_ctx_new();
    if (!s->base || !s->zctx) {
        json_decref(start);
        snprintf(err, errlen, "cannot create the event loop or the ZeroMQ context");
        goto fail;
    }
    if (opts->pub_endpoint) {
        s->pub = zmq_socket(s->zctx, ZMQ_PUB);
        if (!s->pub ||
            s_bind(s->pub, opts->pub_endpoint, s->pub_endpoint, sizeof s->pub_endpoint) != 0) {
            json_decref(start);
            snprintf(err, errlen, "PUB %s: %s", opts->pub_endpoint, zmq_strerror(errno));
            goto fail;
        }
    }
    s_record(s, start);

    int ierr = 0;
    s->game = env_game_new(&s->cfg->game, s_on_game_event, s, &ierr);
    if (!s->game) {
        snprintf(err, errlen, "cannot create the game: %s", env_strerror(ierr));
        goto fail;
    }
    s->n_seats = env_game_n_agents(s->game);
    s->seats = calloc((size_t)s->n_seats, sizeof *s->seats);
    if (!s->seats) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (int i = 0; i < s->n_seats; i++) {
        s_seat_t *seat = &s->seats[i];
        seat->server = s;
        seat->index = i;
        seat->deadline_ev = evtimer_new(s->base, s_on_seat_deadline, seat);
        seat->think_ev = evtimer_new(s->base, s_on_seat_think, seat);
        if (!seat->deadline_ev || !seat->think_ev) {
            snprintf(err, errlen, "cannot create timers");
            goto fail;
        }
    }
    if (s_load_tokens(s) != 0) {
        snprintf(err, errlen, "%s/seats.json: cannot write the seat tokens", opts->run_dir);
        goto fail;
    }

    s->router = zmq_socket(s->zctx, ZMQ_ROUTER);
    if (!s->router) {
        snprintf(err, errlen, "ROUTER: %s", zmq_strerror(errno));
        goto fail;
    }
    int one = 1, linger = 5000; /* GameOver to many peers needs time to leave */
    int64_t hard_max = S_HARD_MAX;
    if (zmq_setsockopt(s->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(s->router, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(s->router, ZMQ_MAXMSGSIZE, &hard_max, sizeof hard_max) != 0 ||
        (s->pub && zmq_setsockopt(s->pub, ZMQ_LINGER, &linger, sizeof linger) != 0)) {
        snprintf(err, errlen, "socket options: %s", zmq_strerror(errno));
        goto fail;
    }
    if (s_bind(s->router, opts->router_endpoint, s->endpoint, sizeof s->endpoint) != 0) {
        snprintf(err, errlen, "ROUTER %s: %s", opts->router_endpoint, zmq_strerror(errno));
        goto fail;
    }
    int zfd;
    size_t zlen = sizeof zfd;
    if (zmq_getsockopt(s->router, ZMQ_FD, &zfd, &zlen) != 0) {
        snprintf(err, errlen, "ZMQ_FD: %s", zmq_strerror(errno));
        goto fail;
    }
    s->router_ev = event_new(s->base, zfd, EV_READ | EV_PERSIST | EV_ET, s_on_router_readable, s);
    s->hb_ev = event_new(s->base, -1, EV_PERSIST, s_on_heartbeat_timer, s);
    s->start_ev = evtimer_new(s->base, s_on_start_timeout, s);
    s->slice_ev = evtimer_new(s->base, s_on_slice, s);
    s->sigint_ev = evsignal_new(s->base, SIGINT, s_on_signal, s);
    s->sigterm_ev = evsignal_new(s->base, SIGTERM, s_on_signal, s);
    if (!s->router_ev || !s->hb_ev || !s->start_ev || !s->slice_ev || !s->sigint_ev ||
        !s->sigterm_ev) {
        snprintf(err, errlen, "cannot create events");
        goto fail;
    }
    struct timeval hb = s_tv(s->heartbeat);
    struct timeval st = s_tv(opts->start_timeout > 0 ? opts->start_timeout : 30.0);
    if (event_add(s->router_ev, NULL) != 0 || event_add(s->hb_ev, &hb) != 0 ||
        evtimer_add(s->start_ev, &st) != 0 || event_add(s->sigint_ev, NULL) != 0 ||
        event_add(s->sigterm_ev, NULL) != 0) {
        snprintf(err, errlen, "cannot arm events");
        goto fail;
    }
    if (opts->http_listen && s_http_start(s, err, errlen) != 0) goto fail;
    s_flush(s);
    pl_log_set_component("broker");
    PL_INFO("BRK-READY", "game %s: agents on %s, events on %s, run dir %s", s->game_id, s->endpoint,
            s->pub_endpoint[0] ? s->pub_endpoint : "(none)", opts->run_dir);
    return s;
fail:
    brk_server_destroy(&s);
    return NULL;
}

void brk_server_destroy(brk_server_t **ps)
{
    if (!ps || !*ps) return;
    brk_server_t *s = *ps;
    brk_http_destroy(&s->http); /* its sockets and connections go before the context */
    free(s->seat_ids);
    free(s->seat_tokens);
    free(s->browser);
    for (int i = 0; s->seats && i < s->n_seats; i++) {
        if (s->seats[i].deadline_ev) event_free(s->seats[i].deadline_ev);
        if (s->seats[i].think_ev) event_free(s->seats[i].think_ev);
    }
    struct event *evs[] = {s->router_ev, s->hb_ev,     s->start_ev,
                           s->slice_ev,  s->sigint_ev, s->sigterm_ev};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i]) event_free(evs[i]);
    if (s->router) zmq_close(s->router);
    if (s->pub) zmq_close(s->pub);
    if (s->zctx) zmq_ctx_term(s->zctx);
    if (s->base) event_base_free(s->base);
    env_game_destroy(&s->game);
    brk_rundir_destroy(&s->rundir);
    pl_config_destroy(&s->cfg);
    json_decref(s->per_round);
    json_decref(s->pub_queue);
    free(s->seats);
    free(s->queue);
    free(s->queue_kind);
    free(s);
    *ps = NULL;
}

const char *brk_server_endpoint(const brk_server_t *s)
{
    return s->endpoint;
}

const char *brk_server_pub_endpoint(const brk_server_t *s)
{
    return s->pub_endpoint;
}

const char *brk_server_http_url(const brk_server_t *s)
{
    return s->http ? brk_http_url(s->http) : "";
}

const char *brk_server_run_dir(const brk_server_t *s)
{
    return brk_rundir_path(s->rundir);
}

const char *brk_server_token(const brk_server_t *s, int seat)
{
    if (seat < 0 || seat >= s->n_seats) return NULL;
    return s->seats[seat].token;
}

int brk_server_run(brk_server_t *s)
{
    /* Messages may already be queued: look once before waiting for an edge. */
    event_active(s->router_ev, EV_READ, 0);
    if (event_base_dispatch(s->base) < 0) {
        PL_ERROR("BRK-LOOP", "event loop failed");
        s->result = -1;
    }
    if (s->phase != S_OVER) s_finish(s, "stopped");
    brk_http_linger(s->http, 2.0); /* event streams get the end of the game */
    return s->result;
}
