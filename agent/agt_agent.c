/* agt_agent.c: parley-agent's connection and conversation (agt_agent.h).
 *
 * The DEALER socket's descriptor is watched edge-triggered: the callback drains
 * while ZMQ_EVENTS says POLLIN, and every send re-arms it with event_active,
 * because a send may consume the edge. One timer ticks for heartbeats, Hello
 * retries and broker-silence detection. States: connecting (Hello sent),
 * welcomed (idle), deciding (a policy works on a turn), over.
 */
#include "agt_agent.h"

#include "agt_decision.h"
#include "agt_policy.h"
#include "pl_policy.h"
#include "pl_log.h"
#include "wire.h"
#include "wire_delta.h"
#include "wire_names.h"
#include "wire_view.h"

#include <errno.h>
#include <event2/event.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define S_VERSION    "parley-agent 0.1.0"
#define S_TICK_S     0.25
#define S_TRIM_BYTES (64 * 1024)

typedef enum { S_CONNECTING = 0, S_WELCOMED, S_DECIDING, S_OVER } s_state_t;

struct agt_agent {
    char *broker, *seat_id, *token, *policy_name;
    pl_config_t *config; /* copy, or borrowed (config_borrowed); may be NULL */
    bool config_borrowed;
    pl_seat_t seat; /* borrowed from config, or a bare default */

    struct event_base *base;
    void *zctx, *dealer;
    struct event *dealer_ev, *tick_ev, *sigint_ev, *sigterm_ev;
    bool draining;

    s_state_t state;
    char game_id[64];
    uint64_t seq;
    int64_t last_heard_ms, last_sent_ms, hello_ms;
    double heartbeat_s;

    /* the game, as Welcome described it */
    bool have_game;
    env_config_t rules;
    env_type_t type;
    char timing[32];
    int agent;
    env_names_t names;
    char **agent_ids, **piece_names;
    const agt_names_t *names_hint;     /* borrowed (agt_options_t) */
    bool agents_shared, pieces_shared; /* the tables are names_hint's: not freed */

    const agt_policy_ops_t *ops;
    void *policy;
    agt_context_t ctx;
    bool obs_full;         /* asks for whole observations every turn (FULL) */
    wire_delta_dec_t *dec; /* the observation rebuilt from whole ones and deltas */
    wire_view_t *view;     /* dec's observation as an env_obs_t, patched turn by turn */
    bool check_view;       /* PARLEY_CHECK_VIEW: compare the view with a rebuild */
    int view_checked, view_differs;
    int obs_whole, obs_deltas, resyncs;
    size_t turn_bytes, decision_bytes; /* TurnRequest frames received, Decisions sent */
    int64_t turn_handling_us; /* wall time from a TurnRequest's frame to its handler's end */
    uint64_t turn_id;         /* the turn being decided, 0 if none */
    int64_t turn_start_ms;
    int turns, result;
};

static int64_t s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ send -- */

static void s_kick(agt_agent_t *a)
{
    if (!a->draining && a->dealer_ev) event_active(a->dealer_ev, EV_READ, 0);
}

static int s_send(agt_agent_t *a, Parley__Envelope *e)
{
    e->seq = ++a->seq;
    e->game_id = a->game_id;
    int rc = wire_send(a->dealer, NULL, 0, e, WIRE_MAX_AGENT_MSG);
    if (rc != WIRE_OK)
        PL_WARN("AGT-SEND-FAILED", "%s not sent: %s", wire_body_name(e->body_case),
                rc == WIRE_EIO ? zmq_strerror(errno) : wire_strerror(rc));
    else
        a->last_sent_ms = s_mono_ms();
    s_kick(a);
    return rc;
}

static void s_send_hello(agt_agent_t *a)
{
    const pl_policy_t *p = pl_policy_find(a->policy_name);
    Parley__Hello h = PARLEY__HELLO__INIT;
    h.seat = a->seat_id;
    h.token = a->token;
    h.policy = a->policy_name;
    h.model = a->seat.model ? a->seat.model : (char *)"";
    h.client_version = S_VERSION;
    h.reactive = p && p->reactive;
    h.human = strcmp(a->policy_name, "human") == 0;
    h.observation_mode = a->obs_full ? PARLEY__OBSERVATION_MODE__OBSERVATION_FULL
                                     : PARLEY__OBSERVATION_MODE__OBSERVATION_DELTA;
    h.compact_names = true; /* the names are rebuilt from patterns (wire_names.h) */
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_HELLO;
    e.hello = &h;
    a->game_id[0] = '\0';         /* Hello carries no game id */
    wire_delta_dec_reset(a->dec); /* a new connection starts with a whole observation */
    a->state = a->state == S_OVER ? S_OVER : S_CONNECTING;
    a->hello_ms = s_mono_ms();
    s_send(a, &e);
}

/* ---------------------------------------------------------------- policy -- */

static void s_cancel_turn(agt_agent_t *a)
{
    if (a->turn_id != 0 && a->policy && a->ops->cancel) a->ops->cancel(a->policy);
    a->turn_id = 0;
    if (a->state == S_DECIDING) a->state = S_WELCOMED;
}

static void s_on_policy_decided(void *arg, uint64_t turn_id, agt_outcome_t *o)
{
    agt_agent_t *a = arg;
    if (turn_id != a->turn_id || a->state != S_DECIDING) {
        PL_DEBUG("AGT-LATE-DECISION", "decision for turn %llu dropped (not open)",
                 (unsigned long long)turn_id);
        agt_outcome_destroy(&o);
        return;
    }
    wire_arena_t *ar = wire_arena_new();
    Parley__Decision d;
    if (!ar || agt_decision_from_outcome(ar, turn_id, o, &d) != WIRE_OK) goto nomem;
    d.think_s = (double)(s_mono_ms() - a->turn_start_ms) / 1000.0;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_DECISION;
    e.decision = &d;
    a->turn_id = 0;
    a->state = S_WELCOMED;
    a->turns++;
    int rc = s_send(a, &e);
    if (rc == WIRE_ETOO_LARGE)
        PL_WARN("AGT-TOO-LARGE", "turn %llu: the decision exceeds %u bytes",
                (unsigned long long)turn_id, WIRE_MAX_AGENT_MSG);
    else if (rc == WIRE_OK)
        a->decision_bytes += parley__envelope__get_packed_size(&e);
    wire_arena_destroy(&ar);
    agt_outcome_destroy(&o);
    return;
nomem:
    PL_ERROR("AGT-NOMEM", "turn %llu: decision lost, out of memory", (unsigned long long)turn_id);
    wire_arena_destroy(&ar);
    agt_outcome_destroy(&o);
}

/* -------------------------------------------------------------- handlers -- */

static void s_free_names(agt_agent_t *a)
{
    if (!a->agents_shared) free(a->agent_ids); /* one block each (s_welcome_names) */
    if (!a->pieces_shared) free(a->piece_names);
    a->agent_ids = a->piece_names = NULL;
    a->agents_shared = a->pieces_shared = false;
    memset(&a->names, 0, sizeof a->names);
    wire_view_destroy(&a->view); /* sized for these tables */
}

/* One of the Welcome's lists (agent ids or piece names) as one block
 * (wire_names.h): rebuilt from its patterns when the broker sent them, else
 * copied from the whole list. A world of 10,000 pieces is 10,000 names; one
 * allocation each would add malloc's overhead to every one of them, in every
 * seat. NULL with *err. */
static char **s_welcome_names(agt_agent_t *a, bool pieces, const Parley__Names *pat, char **list,
                              size_t n_list, size_t max, size_t *n, int *err)
{
    /* The launcher's tables, shared by every seat it forked, when they are
     * the ones the Welcome describes. */
    char *const *shared = agt_names_match(a->names_hint, pat, pieces, n);
    if (shared) {
        if (pieces)
            a->pieces_shared = true;
        else
            a->agents_shared = true;
        return (char **)shared;
    }
    if (pat) return wire_names_decode(pat, max, n, err);
    *n = n_list;
    char **out = wire_names_copy(list, n_list);
    if (!out) *err = WIRE_ENOMEM;
    return out;
}

static void s_on_welcome(agt_agent_t *a, Parley__Envelope *e)
{
    const Parley__Welcome *w = e->welcome;
    snprintf(a->game_id, sizeof a->game_id, "%s", e->game_id);
    a->heartbeat_s = w->heartbeat_s > 0 ? w->heartbeat_s : 1.0;
    if (a->state == S_CONNECTING) a->state = S_WELCOMED;
    size_t n_agents = w->agent_names ? w->agent_names->count : w->n_agents;
    size_t n_pieces = w->piece_names ? w->piece_names->count : w->n_pieces;
    if (a->have_game) {
        if ((int)n_agents == a->names.n_agents && (int)n_pieces == a->names.n_pieces) {
            PL_INFO("AGT-WELCOMED", "%s in game %s%s (%zu agents, %zu pieces)", w->seat, a->game_id,
                    w->resumed ? ", resumed" : "", n_agents, n_pieces);
            return;
        }
        PL_WARN("AGT-NEW-GAME", "the broker serves a different game now: starting over");
        if (a->policy) a->ops->destroy(a->policy);
        a->policy = NULL;
        s_free_names(a);
        a->have_game = false;
    }
    if (!w->rules || n_agents == 0) {
        PL_ERROR("AGT-BAD-WELCOME", "Welcome without rules or agents");
        return;
    }
    int werr = WIRE_OK;
    a->agent_ids = s_welcome_names(a, false, w->agent_names, w->agents, w->n_agents, ENV_MAX_AGENTS,
                                   &n_agents, &werr);
    if (a->agent_ids)
        a->piece_names = s_welcome_names(a, true, w->piece_names, w->pieces, w->n_pieces,
                                         ENV_MAX_PIECES, &n_pieces, &werr);
    if (!a->agent_ids || !a->piece_names) {
        s_free_names(a);
        PL_ERROR(werr == WIRE_ENOMEM ? "AGT-NOMEM" : "AGT-BAD-WELCOME", "the Welcome's names: %s",
                 wire_strerror(werr));
        return;
    }
    /* Where the names came from: what bench/bench_join.sh and the tests read. */
    PL_INFO("AGT-WELCOMED", "%s in game %s%s (%zu agents, %zu pieces; names %s)", w->seat,
            a->game_id, w->resumed ? ", resumed" : "", n_agents, n_pieces,
            a->pieces_shared && a->agents_shared ? "shared with the seat launcher"
            : w->piece_names                     ? "from patterns"
                                                 : "whole");
    a->names.n_agents = (int)n_agents;
    a->names.n_pieces = (int)n_pieces;
    a->names.agent_ids = (const char *const *)a->agent_ids;
    a->names.piece_names = (const char *const *)a->piece_names;
    a->agent = -1;
    for (size_t i = 0; i < n_agents; i++)
        if (strcmp(a->agent_ids[i], w->seat) == 0) a->agent = (int)i;
    wire_rules_to_config(w->rules, &a->rules);
    int t = env_type_from_name(w->agent_type);
    a->type = t < 0 ? ENV_TYPE_NEUTRAL : (env_type_t)t;
    snprintf(a->timing, sizeof a->timing, "%s", w->rules->timing);
    a->ctx = (agt_context_t){.base = a->base,
                             .agent = a->agent,
                             .rules = &a->rules,
                             .type = a->type,
                             .names = &a->names,
                             .seat = &a->seat,
                             .config = a->config,
                             .timing = a->timing};
    char err[256] = "";
    int rc = a->ops->create(&a->policy, &a->ctx, err, sizeof err);
    if (rc != ENV_OK) {
        PL_ERROR("AGT-POLICY", "policy %s: %s", a->ops->name, err[0] ? err : env_strerror(rc));
        a->policy = NULL;
        a->result = 2;
        event_base_loopexit(a->base, NULL);
        return;
    }
    a->have_game = true;
}

/* Asks the broker for the whole observation (PROTOCOL.md "Observation
 * deltas"): the decoder holds nothing until a whole one comes. */
static void s_send_resync(agt_agent_t *a, uint64_t turn_id, const char *why)
{
    Parley__Resync r = PARLEY__RESYNC__INIT;
    r.turn_id = turn_id;
    r.reason = (char *)why;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_RESYNC;
    e.resync = &r;
    s_send(a, &e);
}

static void s_on_turn_request(agt_agent_t *a, Parley__Envelope *e)
{
    Parley__TurnRequest *tr = e->turn_request;
    if (!a->have_game || !tr->observation) {
        PL_WARN("AGT-EARLY-TURN", "turn %llu before a usable Welcome",
                (unsigned long long)tr->turn_id);
        wire_delta_dec_reset(a->dec);
        return;
    }
    /* Every observation goes through the decoder, a turn already being
     * decided too: the broker's next delta builds on it. */
    int err = 0;
    const Parley__Observation *whole = wire_delta_apply(a->dec, tr, &err);
    if (!whole) {
        a->resyncs++;
        PL_WARN("AGT-BAD-DELTA", "turn %llu: %s: asking for the whole observation",
                (unsigned long long)tr->turn_id, wire_strerror(err));
        s_send_resync(a, tr->turn_id, wire_strerror(err));
        return;
    }
    if (tr->base_version)
        a->obs_deltas++;
    else
        a->obs_whole++;
    /* The view follows the decoder at every observation, so that the next
     * delta patches it (only what the delta brought is converted). */
    if (!a->view) a->view = wire_view_new(a->names.n_agents, a->names.n_pieces);
    const env_obs_t *obs = a->view ? wire_view_update(a->view, a->dec, &err) : NULL;
    if (!a->view) err = WIRE_ENOMEM;
    if (!obs) {
        PL_ERROR("AGT-BAD-OBS", "turn %llu: %s", (unsigned long long)tr->turn_id,
                 wire_strerror(err));
        /* Built from a delta, the fault may be ours to repair: start over. */
        bool from_delta = tr->base_version != 0;
        wire_delta_dec_reset(a->dec);
        if (from_delta) s_send_resync(a, tr->turn_id, wire_strerror(err));
        return;
    }
    if (a->state == S_DECIDING) {
        if (tr->turn_id == a->turn_id) return; /* resent while we are still on it */
        s_cancel_turn(a);
    }
    if (a->check_view) { /* PARLEY_CHECK_VIEW (the tests): the view against a rebuild */
        char what[128];
        a->view_checked++;
        if (wire_view_check(a->view, a->dec, what, sizeof what) != 0) {
            a->view_differs++;
            PL_ERROR("AGT-VIEW-DIFFERS", "turn %llu: %s", (unsigned long long)tr->turn_id, what);
        }
    }
    a->state = S_DECIDING;
    a->turn_id = tr->turn_id;
    a->turn_start_ms = s_mono_ms();
    int rc = a->ops->decide(a->policy, tr->turn_id, obs, tr->deadline_s, s_on_policy_decided, a);
    wire_view_trim(a->view); /* a policy copies what it keeps of obs */
    if (rc != ENV_OK) {
        PL_ERROR("AGT-DECIDE", "turn %llu: %s", (unsigned long long)tr->turn_id, env_strerror(rc));
        a->turn_id = 0;
        a->state = S_WELCOMED;
    }
}

static void s_on_action_results(agt_agent_t *a, Parley__Envelope *e)
{
    const Parley__ActionResults *r = e->action_results;
    for (size_t i = 0; i < r->n_results; i++) {
        const Parley__ActionResult *x = r->results[i];
        if (a->policy && a->ops->result)
            a->ops->result(a->policy, i, x->ok, x->code, x->reason, x->transferred, x->payout);
        if (!x->ok)
            PL_DEBUG("AGT-ACTION-REFUSED", "turn %llu action %zu: %s: %s",
                     (unsigned long long)r->turn_id, i, r->results[i]->code, r->results[i]->reason);
    }
}

static void s_on_notice(agt_agent_t *a, Parley__Envelope *e)
{
    const Parley__Notice *n = e->notice;
    if (strcmp(n->what, "turn_missed") == 0 && n->turn_id == a->turn_id && a->turn_id != 0) {
        PL_INFO("AGT-TURN-MISSED", "turn %llu passed its deadline", (unsigned long long)n->turn_id);
        s_cancel_turn(a);
        return;
    }
    if (a->policy && a->ops->notice) a->ops->notice(a->policy, n->what, n->text);
}

/* The seat's totals, however its game ended (GameOver, or GAME_OVER after a
 * reconnect to a broker that had finished). */
static void s_log_totals(const agt_agent_t *a)
{
    PL_INFO("AGT-OBSERVATIONS",
            "%d whole, %d deltas, %d resyncs, %zu bytes of turn requests, %zu bytes of decisions, "
            "%lld us handling turn requests",
            a->obs_whole, a->obs_deltas, a->resyncs, a->turn_bytes, a->decision_bytes,
            (long long)a->turn_handling_us);
    int patched = 0, rebuilt = 0;
    wire_view_counts(a->view, &patched, &rebuilt);
    PL_INFO("AGT-VIEW", "%d patched, %d rebuilt, %d checked, %d differ", patched, rebuilt,
            a->view_checked, a->view_differs);
}

static void s_on_game_over(agt_agent_t *a, Parley__Envelope *e)
{
    const Parley__GameOver *g = e->game_over;
    PL_INFO("AGT-GAME-OVER", "game %s: %d tasks, group revenue %lld, %d turns played", g->reason,
            g->tasks_done, (long long)g->group_revenue, a->turns);
    s_log_totals(a);
    s_cancel_turn(a);
    a->state = S_OVER;
    a->result = 0;
    event_base_loopexit(a->base, NULL);
}

static void s_on_error(agt_agent_t *a, Parley__Envelope *e)
{
    const Parley__Error *x = e->error;
    PL_WARN("AGT-BROKER-ERROR", "%s: %s", wire_code_name(x->code), x->message);
    switch (x->code) {
    case PARLEY__ERROR__CODE__NOT_WELCOMED:
    case PARLEY__ERROR__CODE__WRONG_GAME:
        /* The broker does not know us (it restarted): say Hello again. */
        if (a->state != S_CONNECTING) {
            s_cancel_turn(a);
            s_send_hello(a);
        }
        break;
    case PARLEY__ERROR__CODE__UNKNOWN_SEAT:
    case PARLEY__ERROR__CODE__BAD_TOKEN:
        a->result = 2;
        event_base_loopexit(a->base, NULL);
        break;
    case PARLEY__ERROR__CODE__GAME_OVER:
        if (a->state != S_OVER) s_log_totals(a);
        a->state = S_OVER;
        a->result = 0;
        event_base_loopexit(a->base, NULL);
        break;
    default:
        break;
    }
}

typedef struct {
    int body;
    void (*handler)(agt_agent_t *a, Parley__Envelope *e);
} s_command_t;

static const s_command_t s_commands[] = {
    {PARLEY__ENVELOPE__BODY_WELCOME, s_on_welcome},
    {PARLEY__ENVELOPE__BODY_TURN_REQUEST, s_on_turn_request},
    {PARLEY__ENVELOPE__BODY_ACTION_RESULTS, s_on_action_results},
    {PARLEY__ENVELOPE__BODY_NOTICE, s_on_notice},
    {PARLEY__ENVELOPE__BODY_HEARTBEAT, NULL},
    {PARLEY__ENVELOPE__BODY_GAME_OVER, s_on_game_over},
    {PARLEY__ENVELOPE__BODY_ERROR, s_on_error},
};

static void s_dispatch(agt_agent_t *a, const void *data, size_t len)
{
    int err = 0;
    /* How much of the broker's round trip is this process's (for a policy
     * that decides at once, unpack to Decision sent; bench/bench_broker). */
    int64_t t0 = s_mono_us();
    Parley__Envelope *e = wire_delta_unpack(a->dec, data, len, WIRE_MAX_BROKER_MSG, &err);
    if (!e) {
        PL_WARN("AGT-BAD-FRAME", "%zu bytes from the broker: %s", len, wire_strerror(err));
        return;
    }
    a->last_heard_ms = s_mono_ms();
    if (e->body_case == PARLEY__ENVELOPE__BODY_TURN_REQUEST) a->turn_bytes += len;
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++) {
        if (s_commands[i].body != (int)e->body_case) continue;
        if (s_commands[i].handler) s_commands[i].handler(a, e);
        bool turn = e->body_case == PARLEY__ENVELOPE__BODY_TURN_REQUEST;
        wire_delta_free(a->dec, &e);
        if (turn) a->turn_handling_us += s_mono_us() - t0;
        /* A big frame (a Welcome or a whole observation of a large world) is
         * thousands of small blocks, freed now: give their pages back, or
         * each of a thousand seats keeps its peak for the whole game. */
        if (len >= S_TRIM_BYTES) malloc_trim(0);
        return;
    }
    PL_WARN("AGT-UNEXPECTED", "the broker sent %s", wire_body_name(e->body_case));
    wire_delta_free(a->dec, &e);
}

/* -------------------------------------------------------------- sockets -- */

static void s_on_dealer_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    agt_agent_t *a = arg;
    a->draining = true;
    while (a->dealer) {
        int events = 0;
        size_t sz = sizeof events;
        if (zmq_getsockopt(a->dealer, ZMQ_EVENTS, &events, &sz) != 0) {
            PL_ERROR("AGT-ZMQ", "ZMQ_EVENTS: %s", zmq_strerror(errno));
            break;
        }
        if (!(events & ZMQ_POLLIN)) break;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, a->dealer, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            if (errno == EAGAIN || errno == EINTR) continue;
            PL_ERROR("AGT-ZMQ", "recv: %s", zmq_strerror(errno));
            break;
        }
        bool more = zmq_msg_more(&msg);
        s_dispatch(a, zmq_msg_data(&msg), zmq_msg_size(&msg));
        zmq_msg_close(&msg);
        while (more && a->dealer) { /* the broker sends one frame; skip strays */
            zmq_msg_init(&msg);
            more = zmq_msg_recv(&msg, a->dealer, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&msg);
            zmq_msg_close(&msg);
        }
        if (a->state == S_OVER || a->result == 2) break;
    }
    a->draining = false;
}

static void s_close_socket(agt_agent_t *a)
{
    if (a->dealer_ev) event_free(a->dealer_ev);
    a->dealer_ev = NULL;
    if (a->dealer) zmq_close(a->dealer);
    a->dealer = NULL;
}

/* A fresh DEALER (a new routing id, so nothing of the old connection lingers). */
static int s_open_socket(agt_agent_t *a, char *err, size_t errlen)
{
    s_close_socket(a);
    a->dealer = zmq_socket(a->zctx, ZMQ_DEALER);
    if (!a->dealer) {
        snprintf(err, errlen, "DEALER: %s", zmq_strerror(errno));
        return -1;
    }
    /* Messages sent before the connection is up (the first Hello) wait in the
     * socket's queue; a reconnect after silence takes a fresh socket, so
     * nothing stale survives it. */
    int linger = 500, ivl = 100, ivl_max = 1000;
    int64_t max = WIRE_MAX_BROKER_MSG;
    if (zmq_setsockopt(a->dealer, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(a->dealer, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) != 0 ||
        zmq_setsockopt(a->dealer, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max) != 0 ||
        zmq_setsockopt(a->dealer, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0) {
        snprintf(err, errlen, "socket options: %s", zmq_strerror(errno));
        return -1;
    }
    /* CURVE (docs/SECURITY.md): the broker's public key and this seat's
     * keypair come from the environment, never argv, where others could read
     * them. */
    const char *srv = getenv("PARLEY_CURVE_SERVER"), *cpub = getenv("PARLEY_CURVE_PUBLIC"),
               *csec = getenv("PARLEY_CURVE_SECRET");
    if (srv && *srv &&
        (!cpub || !csec || strlen(srv) != 40 || strlen(cpub) != 40 || strlen(csec) != 40 ||
         zmq_setsockopt(a->dealer, ZMQ_CURVE_SERVERKEY, srv, 41) != 0 ||
         zmq_setsockopt(a->dealer, ZMQ_CURVE_PUBLICKEY, cpub, 41) != 0 ||
         zmq_setsockopt(a->dealer, ZMQ_CURVE_SECRETKEY, csec, 41) != 0)) {
        snprintf(err, errlen,
                 "CURVE: PARLEY_CURVE_SERVER needs PARLEY_CURVE_PUBLIC and PARLEY_CURVE_SECRET, "
                 "each a 40-character Z85 key (%s)",
                 zmq_strerror(errno));
        return -1;
    }
    if (zmq_connect(a->dealer, a->broker) != 0) {
        snprintf(err, errlen, "connect %s: %s", a->broker, zmq_strerror(errno));
        return -1;
    }
    int fd;
    size_t len = sizeof fd;
    if (zmq_getsockopt(a->dealer, ZMQ_FD, &fd, &len) != 0) {
        snprintf(err, errlen, "ZMQ_FD: %s", zmq_strerror(errno));
        return -1;
    }
    a->dealer_ev = event_new(a->base, fd, EV_READ | EV_PERSIST | EV_ET, s_on_dealer_readable, a);
    if (!a->dealer_ev || event_add(a->dealer_ev, NULL) != 0) {
        snprintf(err, errlen, "cannot watch the socket");
        return -1;
    }
    return 0;
}

static void s_reconnect(agt_agent_t *a, const char *why)
{
    char err[256];
    PL_WARN("AGT-RECONNECT", "%s: reconnecting to %s", why, a->broker);
    s_cancel_turn(a);
    if (s_open_socket(a, err, sizeof err) != 0) {
        PL_ERROR("AGT-SOCKET", "%s", err);
        return; /* the next tick tries again */
    }
    s_send_hello(a);
}

static void s_on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    agt_agent_t *a = arg;
    int64_t now = s_mono_ms();
    int64_t hb_ms = (int64_t)(a->heartbeat_s * 1000.0);
    if (a->state == S_OVER) return;
    if (!a->dealer) {
        s_reconnect(a, "no socket");
        return;
    }
    if (a->state == S_CONNECTING) {
        /* No Welcome yet: the broker may not be up. Hello again, same socket
         * (libzmq keeps reconnecting underneath). */
        if (now - a->hello_ms >= 2 * hb_ms) s_send_hello(a);
        return;
    }
    if (now - a->last_heard_ms > 4 * hb_ms) {
        s_reconnect(a, "the broker went silent");
        return;
    }
    if (now - a->last_sent_ms >= hb_ms) {
        Parley__Heartbeat hb = PARLEY__HEARTBEAT__INIT;
        hb.turn_id = a->turn_id;
        hb.status = (char *)(a->state == S_DECIDING ? "thinking" : "idle");
        Parley__Envelope e = PARLEY__ENVELOPE__INIT;
        e.body_case = PARLEY__ENVELOPE__BODY_HEARTBEAT;
        e.heartbeat = &hb;
        s_send(a, &e);
    }
}

static void s_on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    agt_agent_t *a = arg;
    PL_INFO("AGT-SIGNAL", "signal %d: leaving", (int)sig);
    s_cancel_turn(a);
    if (a->dealer && a->state != S_CONNECTING && a->state != S_OVER) {
        Parley__Bye bye = PARLEY__BYE__INIT;
        bye.reason = "signal";
        Parley__Envelope e = PARLEY__ENVELOPE__INIT;
        e.body_case = PARLEY__ENVELOPE__BODY_BYE;
        e.bye = &bye;
        s_send(a, &e);
    }
    a->state = S_OVER;
    a->result = 1;
    event_base_loopexit(a->base, NULL);
}

/* ------------------------------------------------------------- lifecycle -- */

agt_agent_t *agt_agent_new(const agt_options_t *o, char *err, size_t errlen)
{
    agt_agent_t *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->ops = agt_policy_find(o->policy);
    if (!a->ops) {
        snprintf(err, errlen, "unknown policy '%s'", o->policy ? o->policy : "");
        goto fail;
    }
    a->broker = strdup(o->broker);
    a->seat_id = strdup(o->seat);
    a->token = strdup(o->token);
    a->policy_name = strdup(o->policy);
    a->obs_full = o->observation_full;
    a->names_hint = o->names_hint;
    a->dec = wire_delta_dec_new();
    const char *check = getenv("PARLEY_CHECK_VIEW");
    a->check_view = check && *check && strcmp(check, "0") != 0;
    if (!a->broker || !a->seat_id || !a->token || !a->policy_name || !a->dec) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (o->config && o->config_borrowed) {
        /* A config of a thousand seats is a few hundred KiB: a seat forked by
         * the launcher shares the launcher's copy rather than making its own. */
        a->config = (pl_config_t *)o->config;
        a->config_borrowed = true;
    } else if (o->config) {
        a->config = pl_config_dup(o->config);
        if (!a->config) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    /* The seat's settings: from the configuration when it has this seat. */
    a->seat.temperature = -1;
    a->seat.policy = a->policy_name;
    if (a->config && strncmp(o->seat, "agent_", 6) == 0) {
        int k = atoi(o->seat + 6) - 1;
        if (k >= 0 && k < a->config->n_seats) a->seat = a->config->seats[k];
    }
    a->heartbeat_s = a->config && a->config->heartbeat > 0 ? a->config->heartbeat : 1.0;
    a->base = event_base_new();
    a->zctx = zmq_ctx_new();
    if (!a->base || !a->zctx) {
        snprintf(err, errlen, "cannot create the event loop or the ZeroMQ context");
        goto fail;
    }
    if (s_open_socket(a, err, errlen) != 0) goto fail;
    a->tick_ev = event_new(a->base, -1, EV_PERSIST, s_on_tick, a);
    a->sigint_ev = evsignal_new(a->base, SIGINT, s_on_signal, a);
    a->sigterm_ev = evsignal_new(a->base, SIGTERM, s_on_signal, a);
    struct timeval tick = {0, (suseconds_t)(S_TICK_S * 1e6)};
    if (!a->tick_ev || !a->sigint_ev || !a->sigterm_ev || event_add(a->tick_ev, &tick) != 0 ||
        event_add(a->sigint_ev, NULL) != 0 || event_add(a->sigterm_ev, NULL) != 0) {
        snprintf(err, errlen, "cannot create events");
        goto fail;
    }
    pl_log_set_component(o->seat);
    return a;
fail:
    agt_agent_destroy(&a);
    return NULL;
}

void agt_agent_destroy(agt_agent_t **pa)
{
    if (!pa || !*pa) return;
    agt_agent_t *a = *pa;
    if (a->policy) a->ops->destroy(a->policy);
    s_close_socket(a);
    if (a->tick_ev) event_free(a->tick_ev);
    if (a->sigint_ev) event_free(a->sigint_ev);
    if (a->sigterm_ev) event_free(a->sigterm_ev);
    if (a->zctx) zmq_ctx_term(a->zctx);
    if (a->base) event_base_free(a->base);
    s_free_names(a);
    wire_delta_dec_destroy(&a->dec);
    if (!a->config_borrowed) pl_config_destroy(&a->config);
    free(a->broker);
    free(a->seat_id);
    free(a->token);
    free(a->policy_name);
    free(a);
    *pa = NULL;
}

int agt_agent_run(agt_agent_t *a)
{
    a->result = 1;
    s_send_hello(a);
    if (event_base_dispatch(a->base) < 0) {
        PL_ERROR("AGT-LOOP", "event loop failed");
        return 2;
    }
    return a->result;
}
