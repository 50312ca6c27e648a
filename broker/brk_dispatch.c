/* brk_dispatch.c: the agents' side of the broker (brk_internal.h).
 *
 * The ROUTER socket's descriptor is watched edge-triggered (it only signals
 * "something changed": we drain while ZMQ_EVENTS says POLLIN). A dispatch
 * table maps an Envelope body to its handler, with the identity checks done
 * before the call, as redis does before a command. The heartbeat timer and the
 * signals live here too.
 */
#define _GNU_SOURCE /* struct ucred (SO_PEERCRED) */
#include "brk_internal.h"
#include "pl_log.h"
#include "wire_text.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <zmq.h>

/* -------------------------------------------------------------- handlers -- */

typedef struct {
    const uint8_t *rid;
    size_t rid_len;
    const Parley__Envelope *env;
    brk_seat_t *seat; /* NULL for Hello */
    json_t *fixed;    /* paths of the string fields repaired (wire_text.h), or NULL */
    const char *user; /* CURVE: the seat the peer's key belongs to (ZAP User-Id), else NULL */
    int fd;           /* the connection's descriptor (ZMQ_SRCFD), or -1 */
} s_req_t;

/* Marks an event with the fields whose text was repaired on arrival. */
static void s_flag_repaired(json_t *ev, const s_req_t *r)
{
    if (ev && r->fixed) json_object_set(ev, "repaired", r->fixed);
}

static brk_seat_t *s_seat_by_rid(brk_server_t *s, const uint8_t *rid, size_t len)
{
    for (int i = 0; i < s->n_seats; i++) {
        brk_seat_t *seat = &s->seats[i];
        if (seat->rid_len == len && memcmp(seat->rid, rid, len) == 0 &&
            (seat->state == BRK_SEAT_ON || seat->state == BRK_SEAT_LOST))
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

/* How the connection on fd came: "ipc" (the Unix socket of brk_options_t's
 * router_ipc_path), "tcp", or "?" when the descriptor is not known. */
static const char *s_transport(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return "?";
    return ss.ss_family == AF_UNIX ? "ipc" : "tcp";
}

/* --ipc-no-curve: a connection on the Unix socket (the only one the ROUTER
 * binds) has no key; its seat is held by the token its Hello showed, and
 * then by the process that showed it (the kernel's SO_PEERCRED): a routing
 * id is the client's to choose, so another process presenting a seat's id
 * gets nothing. Returns that process's pid, or 0 for a connection with a key
 * (or one whose peer is not known: then it holds nothing keyless). */
static long s_keyless_pid(const brk_server_t *s, int fd)
{
    if (!s->zap || !s->opts.ipc_no_curve || strcmp(s_transport(fd), "ipc") != 0) return 0;
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid <= 0) return -1;
    return (long)cred.pid;
}

static void s_on_hello(brk_server_t *s, const s_req_t *r)
{
    const Parley__Hello *h = r->env->hello;
    int idx = env_agent_index(s->game, h->seat);
    if (idx < 0) {
        brk_send_error(s, r->rid, r->rid_len, PARLEY__ERROR__CODE__UNKNOWN_SEAT, 0, r->env->seq,
                       "no seat named '%.*s'", wire_utf8_cut(h->seat, 64), h->seat);
        return;
    }
    brk_seat_t *seat = &s->seats[idx];
    long keyless = s_keyless_pid(s, r->fd);
    if (s->zap && keyless <= 0 && (!r->user || strcmp(r->user, h->seat) != 0)) {
        /* CURVE: a connection holds the seat its key belongs to, token or not. */
        brk_send_error(s, r->rid, r->rid_len, PARLEY__ERROR__CODE__BAD_TOKEN, 0, r->env->seq,
                       "this connection's key belongs to %s, not %s",
                       r->user && r->user[0] ? r->user : "no seat", h->seat);
        return;
    }
    if (!s_token_equal(seat->token, h->token)) {
        brk_send_error(s, r->rid, r->rid_len, PARLEY__ERROR__CODE__BAD_TOKEN, 0, r->env->seq,
                       "wrong token for %s", h->seat);
        return;
    }
    /* A connection with a seat is no longer bounded as a stranger (brk_peers.h). */
    brk_peers_joined(s->peers, r->fd);
    /* The connection may have held another seat: it lets go of it. */
    brk_seat_t *other = s_seat_by_rid(s, r->rid, r->rid_len);
    if (other && other != seat) {
        other->state = BRK_SEAT_LOST;
        other->rid_len = 0;
    }
    /* A valid token wins over an older connection: the agent restarted. */
    bool resumed = seat->ever_joined;
    memcpy(seat->rid, r->rid, r->rid_len);
    seat->rid_len = r->rid_len;
    seat->state = BRK_SEAT_ON;
    seat->ever_joined = true;
    seat->keyless_pid = keyless > 0 ? keyless : 0;
    seat->last_seen_ms = brk_mono_ms();
    snprintf(seat->policy, sizeof seat->policy, "%s", h->policy);
    snprintf(seat->model, sizeof seat->model, "%s", h->model);
    seat->reactive = h->reactive;
    seat->human = h->human;
    /* A new connection holds no observation yet: the next one is whole. */
    seat->obs_delta = h->observation_mode == PARLEY__OBSERVATION_MODE__OBSERVATION_DELTA;
    seat->compact_names = h->compact_names;
    wire_delta_enc_reset(seat->obs_enc);
    if (s->sched->reply_turns)
        env_set_reactive(s->game, idx, brk_seat_reactive(s, idx, h->reactive));

    if (s->phase == BRK_OVER) {
        brk_send_error(s, r->rid, r->rid_len, PARLEY__ERROR__CODE__GAME_OVER, 0, r->env->seq,
                       "the game is over");
        seat->state = BRK_SEAT_GONE; /* told: nobody left to wait for */
        if (s->lingering && brk_seats_away(s) == 0) event_base_loopexit(s->base, NULL);
        return;
    }
    json_t *ev = brk_event(s, "seat_joined");
    if (ev) {
        brk_set(s, ev, "agent", json_string(h->seat));
        brk_set(s, ev, "policy", json_string(h->policy));
        brk_set(s, ev, "model", json_string(h->model));
        brk_set(s, ev, "client", json_string(h->client_version));
        brk_set(s, ev, "reactive", json_boolean(h->reactive));
        brk_set(s, ev, "human", json_boolean(h->human));
        brk_set(s, ev, "resumed", json_boolean(resumed));
        s_flag_repaired(ev, r);
    }
    brk_record(s, ev);
    PL_INFO("BRK-SEAT-JOINED", "%s joined (%s%s) over %s", h->seat, h->policy,
            resumed ? ", resumed" : "", s_transport(r->fd));

    brk_send_welcome(s, seat, resumed);
    if (seat->turn_id != 0) {
        brk_send_turn(s, seat, true);
    } else if (s->phase == BRK_PLAYING) {
        s->sched->joined(s, seat->index);
    }
    if (s->phase == BRK_WAITING) {
        int on = 0;
        for (int i = 0; i < s->n_seats; i++) on += s->seats[i].state == BRK_SEAT_ON;
        if (on == s->n_seats) brk_start(s);
    }
}

/* Reply turns (and the paper's instant fulfilment) only for a seat whose
 * configured policy is reactive: a client's own claim is not enough. */
bool brk_seat_reactive(const brk_server_t *s, int idx, bool claimed)
{
    const char *conf = s->cfg->seats && s->cfg->seats[idx].policy ? s->cfg->seats[idx].policy : "";
    int p = env_policy_from_name(conf);
    return claimed && p >= 0 && env_policy_reactive((env_policy_t)p);
}

static json_t *s_calls_json(brk_server_t *s, const Parley__Decision *d)
{
    json_t *calls = json_array();
    for (size_t i = 0; calls && i < d->n_calls; i++) {
        const Parley__ModelCall *c = d->calls[i];
        brk_append(s, calls,
                   json_pack("{s:s, s:s, s:s, s:i, s:i, s:f, s:I, s:I, s:I, s:I, s:f, s:s, s:s, "
                             "s:s, s:f}",
                             "provider", c->provider, "model_requested", c->model_requested,
                             "model_reported", c->model_reported, "http_status", c->http_status,
                             "attempts", c->attempts, "latency_s", c->latency_s, "tokens_in",
                             (json_int_t)c->tokens_in, "tokens_out", (json_int_t)c->tokens_out,
                             "tokens_reasoning", (json_int_t)c->tokens_reasoning, "tokens_cached",
                             (json_int_t)c->tokens_cached, "cost_usd", c->cost_usd, "error",
                             c->error, "request_body", c->request_body, "response_body",
                             c->response_body, "prefix_share", c->prefix_share));
        /* what the reply said about itself (docs/LLM.md) */
        json_t *last = json_array_get(calls, json_array_size(calls) - 1);
        if (last)
            brk_update(s, last,
                       json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "stop_reason",
                                 c->stop_reason, "finish_reason", c->finish_reason,
                                 "system_fingerprint", c->system_fingerprint, "refusal", c->refusal,
                                 "reply_format", c->reply_format, "tool_calls", c->tool_calls,
                                 "thinking_blocks", c->thinking_blocks));
    }
    return calls;
}

/* The `action` line of an action whose kind the environment does not know:
 * the same shape as the environment's own (docs/EVENTS.md), type "unknown". */
static void s_record_unknown_action(brk_server_t *s, const brk_seat_t *seat, env_turn_kind_t kind,
                                    const env_action_t *a, int raw_kind, size_t i,
                                    const env_result_t *res)
{
    json_t *ev = brk_event(s, "action");
    json_t *act = brk_action_json(s, a, raw_kind);
    brk_set(s, ev, "agent", json_string(env_agent_id(s->game, seat->index)));
    brk_set(s, ev, "index", json_integer((json_int_t)i));
    brk_set(s, ev, "turn", json_string(kind == ENV_TURN_REPLY ? "reply" : "normal"));
    brk_set(s, ev, "action", act);
    brk_set(s, ev, "ok", json_false());
    brk_set(s, ev, "code", json_string(env_err_name(res->code)));
    brk_set(s, ev, "reason", json_string(res->reason));
    brk_record(s, ev);
}

json_t *brk_action_json(brk_server_t *s, const env_action_t *a, int raw_kind)
{
    json_t *act = json_object();
    if (!act) {
        brk_record_failed(s, "action");
        return NULL;
    }
    bool known = a->kind != ENV_ACT_COUNT;
    brk_set(s, act, "type", json_string(known ? env_act_name(a->kind) : "unknown"));
    if (!known) brk_set(s, act, "kind", json_integer(raw_kind));
    if (a->to) brk_set(s, act, "to", json_string(a->to));
    if (a->content) brk_set(s, act, "content", json_string(a->content));
    if (a->n_info || a->n_values || a->kind == ENV_ACT_SEND_INFORMATION) {
        json_t *info = json_array(), *vals = json_array();
        for (size_t k = 0; info && k < a->n_info; k++)
            brk_append(s, info, json_string(a->info[k] ? a->info[k] : ""));
        /* Pairs, not an object: a name given twice is kept twice. */
        for (size_t k = 0; vals && k < a->n_values; k++)
            brk_append(s, vals,
                       json_pack("[s, I]", a->value_names[k] ? a->value_names[k] : "",
                                 (json_int_t)a->values[k]));
        brk_set(s, act, "information", info);
        brk_set(s, act, "values", vals);
    }
    return act;
}

void brk_apply_decision(brk_server_t *s, brk_seat_t *seat, env_turn_kind_t kind,
                        const env_action_t *acts, const int *raw_kinds, size_t n,
                        const char *thoughts, env_result_t *res, wire_arena_t *a)
{
    /* Kinds the environment does not know are refused here, the rest applied. */
    env_action_t *ok_acts = wire_arena_alloc(a, (n ? n : 1) * sizeof *ok_acts);
    size_t *ok_at = wire_arena_alloc(a, (n ? n : 1) * sizeof *ok_at);
    env_result_t *ok_res = wire_arena_alloc(a, (n ? n : 1) * sizeof *ok_res);
    if (!ok_acts || !ok_at || !ok_res) {
        /* Nothing can be applied: the turn is recorded as missed, so the game
         * goes on and the record says what happened. */
        brk_record_failed(s, "decision");
        brk_miss(s, seat, "out of memory");
        for (size_t i = 0; i < n; i++) {
            res[i].code = ENV_ENOMEM;
            snprintf(res[i].reason, sizeof res[i].reason, "the broker ran out of memory");
        }
        return;
    }
    size_t n_ok = 0;
    for (size_t i = 0; i < n; i++) {
        if (acts[i].kind == ENV_ACT_COUNT) {
            memset(&res[i], 0, sizeof res[i]);
            res[i].code = ENV_EBAD_ACTION;
            snprintf(res[i].reason, sizeof res[i].reason, "unknown action kind");
            continue;
        }
        ok_at[n_ok] = i;
        ok_acts[n_ok++] = acts[i];
    }
    /* The environment numbers the actions it sees; the record numbers them as
     * the agent wrote them (brk_on_game_event maps one to the other). */
    s->action_index = ok_at;
    s->action_index_n = n_ok;
    s->apply_results = ok_res;
    s->apply_seen = 0;
    int rc = env_apply(s->game, seat->index, kind, ok_acts, n_ok, thoughts, ok_res);
    s->action_index = NULL;
    s->action_index_n = 0;
    s->apply_results = NULL;
    /* The environment cuts reasons to a size, perhaps inside a character of
     * text the agent wrote: what the agent hears ends on a whole one. */
    for (size_t k = 0; k < n_ok; k++) wire_utf8_scrub(ok_res[k].reason);
    if (rc != ENV_OK) PL_ERROR("BRK-APPLY", "agent_%d: %s", seat->index + 1, env_strerror(rc));
    for (size_t k = 0; k < n_ok; k++) res[ok_at[k]] = ok_res[k];
    brk_sched_delivered(s, seat->index, ok_acts, n_ok, ok_res);
    /* Every action received is recorded, those the environment never saw too. */
    for (size_t i = 0; i < n; i++)
        if (acts[i].kind == ENV_ACT_COUNT)
            s_record_unknown_action(s, seat, kind, &acts[i], raw_kinds ? raw_kinds[i] : -1, i,
                                    &res[i]);
}

/* A model call the agent gave up at the deadline (llm_policy.c says so in
 * its empty_reason): the turn is missed, whichever side of the deadline the
 * empty answer lands, so a slow seat is never logged one way or the other
 * by chance. */
#define S_ABANDONED "abandoned at the deadline"

static void s_take_abandoned(brk_server_t *s, const s_req_t *r)
{
    const Parley__Decision *d = r->env->decision;
    brk_seat_t *seat = r->seat;
    json_t *ev = brk_event(s, "call_abandoned");
    if (ev) {
        brk_set(s, ev, "agent", json_string(env_agent_id(s->game, seat->index)));
        brk_set(s, ev, "turn_id", json_integer((json_int_t)d->turn_id));
        brk_set(s, ev, "reason", json_string(d->empty_reason));
        if (d->n_calls) brk_set(s, ev, "calls", s_calls_json(s, d));
    }
    brk_record(s, ev);
    seat->abandoned++;
    env_turn_kind_t kind = seat->turn_kind;
    brk_close_turn(seat);
    brk_miss(s, seat, "deadline passed");
    brk_after_turn(s, seat, kind);
}

static void s_take_decision(brk_server_t *s, const s_req_t *r, int64_t arrived_us,
                            double latency_s);

static void s_on_decision(brk_server_t *s, const s_req_t *r)
{
    const Parley__Decision *d = r->env->decision;
    brk_seat_t *seat = r->seat;
    if (s->phase == BRK_OVER) {
        brk_send_error(s, r->rid, r->rid_len, PARLEY__ERROR__CODE__GAME_OVER, d->turn_id,
                       r->env->seq, "the game is over");
        return;
    }
    if (seat->turn_id == 0 || d->turn_id != seat->turn_id) {
        /* The turn it answers passed its deadline: late, recorded once. */
        brk_sched_late(s, seat, d->turn_id, "arrived after the deadline");
    }
    if (seat->turn_id == 0) {
        brk_send_error(s, r->rid, r->rid_len, PARLEY__ERROR__CODE__NOT_YOUR_TURN, d->turn_id,
                       r->env->seq, "agent_%d has no open turn", seat->index + 1);
        return;
    }
    if (d->turn_id != seat->turn_id) {
        brk_send_error(s, r->rid, r->rid_len, PARLEY__ERROR__CODE__STALE_TURN, d->turn_id,
                       r->env->seq, "turn %llu is not the open turn (%llu)",
                       (unsigned long long)d->turn_id, (unsigned long long)seat->turn_id);
        return;
    }
    if (seat->held) {
        brk_send_error(s, r->rid, r->rid_len, PARLEY__ERROR__CODE__STALE_TURN, d->turn_id,
                       r->env->seq, "turn %llu is decided already (held for its latency)",
                       (unsigned long long)d->turn_id);
        return;
    }
    if (d->n_actions == 0 && strncmp(d->empty_reason, S_ABANDONED, strlen(S_ABANDONED)) == 0) {
        s_take_abandoned(s, r);
        return;
    }
    /* Injected latency and think time: the broker may hold it for a while. */
    if (brk_sched_hold(s, seat, r->env, r->fixed)) return;
    s_take_decision(s, r, seat->held_arrived_us, seat->held_latency_s);
}

void brk_take_held(brk_server_t *s, brk_seat_t *seat, const Parley__Envelope *e, json_t *fixed,
                   int64_t arrived_us, double latency_s)
{
    /* The key's seat was checked when the decision arrived, before the hold. */
    s_req_t r = {.rid = seat->rid,
                 .rid_len = seat->rid_len,
                 .env = e,
                 .seat = seat,
                 .fixed = fixed,
                 .user = NULL,
                 .fd = -1};
    s_take_decision(s, &r, arrived_us, latency_s);
}

static void s_take_decision(brk_server_t *s, const s_req_t *r, int64_t arrived_us, double latency_s)
{
    const Parley__Decision *d = r->env->decision;
    brk_seat_t *seat = r->seat;
    wire_arena_t *a = wire_arena_new();
    env_action_t *acts = NULL;
    size_t n = 0;
    env_result_t *res = NULL;
    int *raw = NULL;
    if (!a || wire_actions_from_pb(a, d, &acts, &n) != WIRE_OK) goto nomem;
    res = wire_arena_alloc(a, (n ? n : 1) * sizeof *res);
    raw = wire_arena_alloc(a, (n ? n : 1) * sizeof *raw);
    if (!res || !raw) goto nomem;
    for (size_t i = 0; i < n; i++) raw[i] = (int)d->actions[i]->kind;

    json_t *ev = brk_event(s, "decision");
    if (ev) {
        brk_set(s, ev, "agent", json_string(env_agent_id(s->game, seat->index)));
        brk_set(s, ev, "turn_id", json_integer((json_int_t)d->turn_id));
        brk_set(s, ev, "kind", json_string(seat->turn_kind == ENV_TURN_REPLY ? "reply" : "normal"));
        brk_set(s, ev, "actions", json_integer((json_int_t)n));
        /* The decision as written: what a resumed broker or parley replay
         * applies again (docs/EVENTS.md). */
        json_t *input = json_array();
        for (size_t i = 0; input && i < n; i++)
            brk_append(s, input, brk_action_json(s, &acts[i], raw[i]));
        brk_set(s, ev, "input", input);
        brk_set(s, ev, "thoughts", json_string(d->private_thoughts));
        brk_set(s, ev, "think_s", json_real(d->think_s));
        /* Broker-side round trip: TurnRequest out -> Decision in (pack, send,
         * agent's unpack + decide + pack, receive). */
        brk_set(s, ev, "rtt_us", json_integer(arrived_us - seat->turn_sent_us));
        brk_sched_decision_fields(s, seat, ev, arrived_us, latency_s);
        if (s->sched->arrival_order) brk_set(s, ev, "arrival", json_integer(++s->arrival));
        if (d->empty_reason[0]) brk_set(s, ev, "empty_reason", json_string(d->empty_reason));
        if (d->n_dropped) {
            json_t *dropped = json_array();
            for (size_t i = 0; i < d->n_dropped; i++)
                brk_append(s, dropped,
                           json_pack("{s:s, s:s}", "raw", d->dropped[i]->raw, "reason",
                                     d->dropped[i]->reason));
            brk_set(s, ev, "dropped", dropped);
        }
        if (d->n_calls) brk_set(s, ev, "calls", s_calls_json(s, d));
        s_flag_repaired(ev, r);
    }
    brk_record(s, ev);

    uint64_t turn = seat->turn_id;
    env_turn_kind_t kind = seat->turn_kind;
    brk_close_turn(seat);
    seat->turns++;
    brk_apply_decision(s, seat, kind, acts, raw, n, d->private_thoughts, res, a);

    /* The effects are in events.jsonl: now the agent hears the results. */
    Parley__ActionResult *rows = wire_arena_alloc(a, (n ? n : 1) * sizeof *rows);
    Parley__ActionResult **ptrs = wire_arena_alloc(a, (n ? n : 1) * sizeof *ptrs);
    if (rows && ptrs) {
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
        brk_send(s, seat, &e);
    } else {
        /* The decision is applied and recorded: the game must go on even if
         * the agent cannot hear the results (it reads them in its next turn). */
        PL_ERROR("BRK-NOMEM", "results of agent_%d's turn %llu not sent: out of memory",
                 seat->index + 1, (unsigned long long)turn);
    }

    if (s->sched->applied) s->sched->applied(s, seat->index, acts, n, res);
    /* The study's fail_fast_on_agent_error: a seat's failed model call ends the game. */
    bool fail_fast = s->cfg->fail_fast && strncmp(d->empty_reason, "model call failed", 17) == 0;
    wire_arena_destroy(&a);
    if (fail_fast)
        brk_finish(s, "agent_error");
    else
        brk_after_turn(s, seat, kind);
    return;
nomem:
    /* Nothing was applied: the turn stays open and its deadline still runs,
     * so the game cannot stall on it. */
    wire_arena_destroy(&a);
    brk_record_failed(s, "decision");
    PL_ERROR("BRK-NOMEM", "decision of agent_%d dropped: out of memory", seat->index + 1);
}

static void s_on_heartbeat(brk_server_t *s, const s_req_t *r)
{
    (void)s;
    (void)r; /* last_seen is updated for every message before dispatch */
}

static void s_on_bye(brk_server_t *s, const s_req_t *r)
{
    brk_seat_t *seat = r->seat;
    json_t *ev = brk_event(s, "seat_left");
    if (ev) {
        brk_set(s, ev, "agent", json_string(env_agent_id(s->game, seat->index)));
        brk_set(s, ev, "reason", json_string(r->env->bye->reason));
        s_flag_repaired(ev, r);
    }
    brk_record(s, ev);
    PL_INFO("BRK-SEAT-LEFT", "agent_%d left: %s", seat->index + 1, r->env->bye->reason);
    seat->state = BRK_SEAT_GONE;
    seat->rid_len = 0;
    evtimer_del(seat->think_ev);
    if (seat->turn_id != 0 && s->phase == BRK_PLAYING) {
        env_turn_kind_t kind = seat->turn_kind;
        brk_close_turn(seat);
        brk_miss(s, seat, "left the game");
        brk_after_turn(s, seat, kind);
    }
}

/* The dispatch table: what an agent may send, and what must hold before. */
typedef struct {
    int body;
    bool needs_seat; /* the connection must have been welcomed */
    void (*handler)(brk_server_t *s, const s_req_t *r);
} s_command_t;

/* A DELTA seat could not rebuild an observation: the next one goes whole,
 * and the open turn, when it is the one named, is sent again at once. */
static void s_on_resync(brk_server_t *s, const s_req_t *r)
{
    brk_seat_t *seat = r->seat;
    const Parley__Resync *x = r->env->resync;
    PL_INFO("BRK-RESYNC", "agent_%d asks for the whole observation (turn %llu: %.*s)",
            seat->index + 1, (unsigned long long)x->turn_id, wire_utf8_cut(x->reason, 120),
            x->reason);
    wire_delta_enc_reset(seat->obs_enc);
    if (seat->turn_id != 0 && seat->turn_id == x->turn_id && s->phase == BRK_PLAYING)
        brk_send_turn(s, seat, true);
}

static const s_command_t s_commands[] = {
    {PARLEY__ENVELOPE__BODY_HELLO, false, s_on_hello},
    {PARLEY__ENVELOPE__BODY_DECISION, true, s_on_decision},
    {PARLEY__ENVELOPE__BODY_HEARTBEAT, true, s_on_heartbeat},
    {PARLEY__ENVELOPE__BODY_BYE, true, s_on_bye},
    {PARLEY__ENVELOPE__BODY_RESYNC, true, s_on_resync},
};

static void s_dispatch(brk_server_t *s, const uint8_t *rid, size_t rid_len, const void *data,
                       size_t len, const char *user, int fd)
{
    int err = 0;
    json_t *fixed = NULL;
    Parley__Envelope *e = wire_unpack_text(data, len, WIRE_MAX_AGENT_MSG, &fixed, &err);
    if (!e) {
        brk_send_error(s, rid, rid_len,
                       err == WIRE_ETOO_LARGE ? PARLEY__ERROR__CODE__TOO_LARGE
                                              : PARLEY__ERROR__CODE__MALFORMED,
                       0, 0, "%s (%zu bytes)", wire_strerror(err), len);
        return;
    }
    const s_command_t *cmd = NULL;
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (s_commands[i].body == (int)e->body_case) cmd = &s_commands[i];
    s_req_t r = {rid, rid_len, e, NULL, fixed, user, fd};
    if (!cmd) {
        brk_send_error(s, rid, rid_len, PARLEY__ERROR__CODE__UNEXPECTED, 0, e->seq,
                       "agents do not send %s", wire_body_name(e->body_case));
        goto done;
    }
    if (cmd->needs_seat) {
        r.seat = s_seat_by_rid(s, rid, rid_len);
        /* CURVE: a routing id borrowed from a seat's old connection does not
         * make another seat's key that seat. */
        long keyless = r.seat && r.seat->keyless_pid ? s_keyless_pid(s, fd) : 0;
        if (r.seat && s->zap &&
            (r.seat->keyless_pid
                 ? keyless != r.seat->keyless_pid
                 : (!user || strcmp(user, env_agent_id(s->game, r.seat->index)) != 0)))
            r.seat = NULL;
        if (!r.seat) {
            brk_send_error(s, rid, rid_len, PARLEY__ERROR__CODE__NOT_WELCOMED, 0, e->seq,
                           "say Hello first");
            goto done;
        }
        if (e->game_id[0] && strcmp(e->game_id, s->game_id) != 0) {
            brk_send_error(s, rid, rid_len, PARLEY__ERROR__CODE__WRONG_GAME, 0, e->seq,
                           "this is game %s, not %.*s", s->game_id, wire_utf8_cut(e->game_id, 32),
                           e->game_id);
            goto done;
        }
        r.seat->last_seen_ms = brk_mono_ms();
        /* libzmq may have reconnected a seat underneath its agent. */
        brk_peers_joined(s->peers, fd);
        if (r.seat->state == BRK_SEAT_LOST) {
            r.seat->state = BRK_SEAT_ON;
            PL_INFO("BRK-AGENT-BACK", "agent_%d is back", r.seat->index + 1);
        }
    }
    cmd->handler(s, &r);
    if (fixed) {
        /* Repair-and-flag (PROTOCOL.md "Text"): the sender hears which fields. */
        char text[512];
        size_t at = 0, i;
        json_t *path;
        text[0] = '\0';
        json_array_foreach(fixed, i, path)
        {
            int n = snprintf(text + at, sizeof text - at, "%s%s", i ? ", " : "",
                             json_string_value(path));
            if (n < 0 || (size_t)n >= sizeof text - at) break;
            at += (size_t)n;
        }
        PL_WARN("BRK-TEXT-REPAIRED", "%s from %s: invalid UTF-8 replaced in %s",
                wire_body_name(e->body_case),
                r.seat ? env_agent_id(s->game, r.seat->index) : "a new connection", text);
        brk_seat_t *who = r.seat ? r.seat : s_seat_by_rid(s, rid, rid_len);
        if (who) brk_send_notice(s, who, "text_repaired", text, 0);
    }
done:
    json_decref(fixed);
    wire_free(&e);
}

/* -------------------------------------------------------------- sockets -- */

static void s_router_readable_body(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    brk_server_t *s = arg;
    s->draining = true;
    /* A batch at a time: under a flood of frames the loop still gets to its
     * timers and the connection monitor; the rest is read on the next turn. */
    for (int batch = 0;; batch++) {
        if (batch == BRK_ROUTER_BATCH) {
            event_active(s->router_ev, EV_READ, 0);
            break;
        }
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
        if (rid_len > BRK_RID_MAX) rid_len = BRK_RID_MAX;
        if (!have_body || extra) {
            brk_send_error(s, zmq_msg_data(&rid), rid_len, PARLEY__ERROR__CODE__MALFORMED, 0, 0,
                           "one frame with one Envelope expected (%d extra)", extra);
        } else {
            s_dispatch(s, zmq_msg_data(&rid), rid_len, zmq_msg_data(&body), zmq_msg_size(&body),
                       s->zap ? zmq_msg_gets(&body, "User-Id") : NULL,
                       zmq_msg_get(&body, ZMQ_SRCFD));
        }
        zmq_msg_close(&rid);
        zmq_msg_close(&body);
    }
    s->draining = false;
}

void brk_on_router_readable(evutil_socket_t fd, short what, void *arg)
{
    s_router_readable_body(fd, what, arg);
    brk_flush((brk_server_t *)arg);
}

static void s_heartbeat_timer_body(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    brk_server_t *s = arg;
    int64_t now = brk_mono_ms();
    int64_t expiry = (int64_t)(4.0 * s->heartbeat * 1000.0);
    Parley__Heartbeat hb = PARLEY__HEARTBEAT__INIT;
    hb.status = (char *)(s->phase == BRK_PLAYING ? "playing" : "waiting");
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_HEARTBEAT;
    e.heartbeat = &hb;
    for (int i = 0; i < s->n_seats; i++) {
        brk_seat_t *seat = &s->seats[i];
        if (seat->state != BRK_SEAT_ON) continue;
        if (now - seat->last_seen_ms > expiry) {
            seat->state = BRK_SEAT_LOST;
            PL_WARN("BRK-AGENT-EXPIRED", "agent_%d silent for %.1f s", i + 1,
                    (double)(now - seat->last_seen_ms) / 1000.0);
            json_t *ev = brk_event(s, "seat_lost");
            if (ev) brk_set(s, ev, "agent", json_string(env_agent_id(s->game, i)));
            brk_record(s, ev);
            continue;
        }
        hb.turn_id = seat->turn_id;
        brk_send(s, seat, &e);
    }
}

void brk_on_heartbeat_timer(evutil_socket_t fd, short what, void *arg)
{
    s_heartbeat_timer_body(fd, what, arg);
    brk_send_refusals_flush((brk_server_t *)arg);
    brk_flush((brk_server_t *)arg);
}

static void s_signal_body(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    brk_server_t *s = arg;
    PL_INFO("BRK-SIGNAL", "signal %d: stopping the game", (int)sig);
    brk_finish(s, "stopped");
}

void brk_on_signal(evutil_socket_t fd, short what, void *arg)
{
    s_signal_body(fd, what, arg);
    brk_flush((brk_server_t *)arg);
}
