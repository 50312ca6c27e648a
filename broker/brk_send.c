/* brk_send.c: what the broker sends to agents (brk_internal.h): errors,
 * notices, turn requests, welcomes. Every send flushes the event record first
 * and re-arms the ROUTER drain, whose edge a send may have consumed.
 */
#include "brk_internal.h"
#include "pl_log.h"
#include "wire_names.h"
#include "wire_text.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

/* ------------------------------------------------------------------ send -- */

/* After a send the ROUTER's descriptor may have lost its edge: ask the loop to
 * look at ZMQ_EVENTS again (unless we are already draining, which re-checks). */
static void s_kick(brk_server_t *s)
{
    if (!s->draining && s->router_ev) event_active(s->router_ev, EV_READ, 0);
}

static int s_send_to(brk_server_t *s, const uint8_t *rid, size_t rid_len, Parley__Envelope *e)
{
    brk_flush(s); /* write-ahead: the log has every effect before anyone hears of it */
    e->seq = ++s->seq;
    e->game_id = s->game_id;
    int rc = wire_send(s->router, rid, rid_len, e, WIRE_MAX_BROKER_MSG);
    if (rc != WIRE_OK)
        PL_DEBUG("BRK-SEND-FAILED", "%s not sent: %s (%s)", wire_body_name(e->body_case),
                 wire_strerror(rc), rc == WIRE_EIO ? zmq_strerror(errno) : "");
    s_kick(s);
    return rc;
}

int brk_send(brk_server_t *s, brk_seat_t *seat, Parley__Envelope *e)
{
    if (seat->rid_len == 0) return WIRE_EIO;
    return s_send_to(s, seat->rid, seat->rid_len, e);
}

void brk_send_refusals_flush(brk_server_t *s)
{
    if (!s->refused_unlogged || brk_mono_ms() - s->refused_log_ms < 1000) return;
    PL_WARN("BRK-PEER-ERROR", "%llu more refused since the last line",
            (unsigned long long)s->refused_unlogged);
    s->refused_unlogged = 0;
    s->refused_log_ms = brk_mono_ms();
}

void brk_send_error(brk_server_t *s, const uint8_t *rid, size_t rid_len, int code, uint64_t turn_id,
                    uint64_t in_reply_to, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    wire_utf8_trim(text); /* a cut must not split a character */
    int64_t now = brk_mono_ms();
    if (s->refused_log_ms == 0 || now - s->refused_log_ms >= 1000) {
        if (s->refused_unlogged)
            PL_WARN("BRK-PEER-ERROR", "%s: %s (and %llu more refused since the last line)",
                    wire_code_name(code), text, (unsigned long long)s->refused_unlogged);
        else
            PL_WARN("BRK-PEER-ERROR", "%s: %s", wire_code_name(code), text);
        s->refused_log_ms = now;
        s->refused_unlogged = 0;
    } else {
        s->refused_unlogged++;
    }
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

void brk_send_notice(brk_server_t *s, brk_seat_t *seat, const char *what, const char *text,
                     uint64_t turn_id)
{
    if (seat->state != BRK_SEAT_ON) return;
    Parley__Notice n = PARLEY__NOTICE__INIT;
    n.what = (char *)what;
    n.text = (char *)text;
    n.broker_time_ms = brk_wall_ms();
    n.turn_id = turn_id;
    n.round = env_round(s->game);
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_NOTICE;
    e.notice = &n;
    brk_send(s, seat, &e);
    /* The record says what each seat was told, and when (docs/TIMING.md). */
    json_t *ev = brk_event(s, "notice");
    if (ev) {
        brk_set(s, ev, "agent", json_string(env_agent_id(s->game, seat->index)));
        brk_set(s, ev, "what", json_string(what));
        brk_set(s, ev, "text", json_string(text));
        if (turn_id) brk_set(s, ev, "turn_id", json_integer((json_int_t)turn_id));
        if (seat->turn_id) brk_set(s, ev, "open_turn", json_integer((json_int_t)seat->turn_id));
    }
    brk_record(s, ev);
}

/* Sends the seat's open turn (again, after a reconnect, with resent set).
 * A DELTA seat gets only what changed since its last observation, except on a
 * resent turn, which is whole (PROTOCOL.md "Observation deltas"). */
void brk_send_turn(brk_server_t *s, brk_seat_t *seat, bool resent)
{
    env_obs_t o;
    if (env_observe(s->game, seat->index, seat->turn_kind, &o) != ENV_OK) {
        PL_ERROR("BRK-OBSERVE", "cannot observe agent_%d", seat->index + 1);
        return;
    }
    /* FULL seats skip the encoder (and its hashing): whole, numbered 0. */
    if (seat->obs_delta && !seat->obs_enc) seat->obs_enc = wire_delta_enc_new();
    if (resent) wire_delta_enc_reset(seat->obs_enc);
    wire_arena_t *a = wire_arena_new();
    Parley__Observation *obs = a ? wire_obs_to_pb(a, &o, s->n_seats) : NULL;
    if (!obs) {
        PL_ERROR("BRK-NOMEM", "turn %llu of agent_%d not sent: out of memory",
                 (unsigned long long)seat->turn_id, seat->index + 1);
        wire_arena_destroy(&a);
        return;
    }
    Parley__TurnRequest tr = PARLEY__TURN_REQUEST__INIT;
    tr.observation = obs;
    wire_obs_hint_t hints[WIRE_OBS_HINTS];
    wire_obs_hints(&o, hints);
    if (seat->obs_delta && seat->obs_enc &&
        wire_delta_encode_hinted(seat->obs_enc, a, obs, true, hints, WIRE_OBS_HINTS, &tr) !=
            WIRE_OK)
        PL_WARN("BRK-NOMEM", "agent_%d: observation sent whole (out of memory for the delta)",
                seat->index + 1);
    tr.turn_id = seat->turn_id;
    tr.deadline_s = (double)(seat->turn_deadline_ms - brk_mono_ms()) / 1000.0;
    if (tr.deadline_s < 0) tr.deadline_s = 0;
    tr.broker_time_ms = brk_wall_ms();
    tr.resent = resent;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_TURN_REQUEST;
    e.turn_request = &tr;
    /* rtt_us (docs/EVENTS.md) starts after the write-ahead flush of the event
     * log, which brk_send would otherwise do first: it is the round trip of
     * the turn itself, comparable with a bare ZeroMQ ping-pong; what the log
     * costs is the event writer's to answer for (bench/RESULTS.md measures
     * the turn both ways). The flush in brk_send then has nothing to write. */
    brk_flush(s);
    seat->turn_sent_us = brk_mono_us();
    /* Unsent, the observation is no base: the next one goes whole. */
    if (brk_send(s, seat, &e) != WIRE_OK) wire_delta_enc_reset(seat->obs_enc);
    wire_arena_destroy(&a);
}

/* The game's names as patterns, encoded once: NULL when they do not fit
 * (names without their own numbers) or memory is short; those seats then get
 * the whole lists, as every other client does. */
static bool s_compact_names(brk_server_t *s, const env_names_t *names)
{
    if (s->names_tried) return s->agent_names != NULL;
    s->names_tried = true;
    wire_arena_t *a = wire_arena_new();
    Parley__Names *an = a ? wire_arena_alloc(a, sizeof *an) : NULL;
    Parley__Names *pn = a ? wire_arena_alloc(a, sizeof *pn) : NULL;
    int ra = an ? wire_names_encode(a, names->agent_ids, (size_t)names->n_agents, an) : WIRE_ENOMEM;
    int rp = pn && ra == WIRE_OK
                 ? wire_names_encode(a, names->piece_names, (size_t)names->n_pieces, pn)
                 : ra;
    if (rp != WIRE_OK) {
        PL_INFO("BRK-NAMES-WHOLE", "Welcome carries the names whole: %s",
                rp == WIRE_ENOMEM ? "out of memory" : "they do not carry their own numbers");
        wire_arena_destroy(&a);
        return false;
    }
    s->names_arena = a;
    s->agent_names = an;
    s->piece_names = pn;
    return true;
}

void brk_send_welcome(brk_server_t *s, brk_seat_t *seat, bool resumed)
{
    Parley__GameRules rules;
    double turn_timeout = brk_seat_timeout(s, seat);
    wire_rules_from_config(&s->cfg->game, s->cfg->scenario, pl_timing_name(s->cfg->timing),
                           s->cfg->duration, turn_timeout, s->min_think, &rules);
    env_names_t names;
    env_game_names(s->game, &names);
    Parley__Welcome w = PARLEY__WELCOME__INIT;
    w.seat = (char *)env_agent_id(s->game, seat->index);
    w.agent_type = (char *)env_type_name(env_agent_type(s->game, seat->index));
    w.rules = &rules;
    if (seat->compact_names && s_compact_names(s, &names)) {
        w.agent_names = s->agent_names;
        w.piece_names = s->piece_names;
    } else {
        w.n_agents = (size_t)names.n_agents;
        w.agents = (char **)names.agent_ids;
        w.n_pieces = (size_t)names.n_pieces;
        w.pieces = (char **)names.piece_names;
    }
    w.heartbeat_s = s->heartbeat;
    w.resumed = resumed;
    w.label = w.seat;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_WELCOME;
    e.welcome = &w;
    brk_send(s, seat, &e);
}
