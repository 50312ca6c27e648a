/* brk_sched.c: what every timing mode shares (brk_sched.h): opening, arming
 * and closing turns, per-seat deadlines, missed turns, rounds, the start of
 * the game. Which turn opens when is the mode's (brk_sched_<mode>.c). */
#include "brk_internal.h"
#include "pl_log.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

/* ----------------------------------------------------------------- turns -- */

const brk_sched_t *brk_sched_for(pl_timing_t timing)
{
    switch (timing) {
    case PL_TIMING_SIMULTANEOUS:
        return &brk_sched_sim;
    case PL_TIMING_REALTIME:
        return &brk_sched_rt;
    case PL_TIMING_SEQUENTIAL:
    default:
        return &brk_sched_seq;
    }
}

double brk_seat_timeout(const brk_server_t *s, const brk_seat_t *seat)
{
    return pl_seat_deadline(s->cfg, seat->index, seat->human);
}

/* ------------------------------------------------------ per-seat timing -- */

static void s_on_hold(evutil_socket_t fd, short what, void *arg);

int brk_sched_seats_init(brk_server_t *s)
{
    for (int i = 0; i < s->n_seats; i++) {
        brk_seat_t *seat = &s->seats[i];
        const pl_seat_t *c = &s->cfg->seats[i];
        seat->bank_left_s = c->bank;
        seat->min_think_s = pl_seat_min_think(s->cfg, i);
        seat->latency_s = c->latency;
        seat->latency_dist = !c->latency_dist                              ? 0
                             : strcmp(c->latency_dist, "uniform") == 0     ? 1
                             : strcmp(c->latency_dist, "exponential") == 0 ? 2
                                                                           : 0;
        seat->hold_ev = evtimer_new(s->base, s_on_hold, seat);
        if (!seat->hold_ev) return -1;
    }
    return 0;
}

static void s_drop_held(brk_seat_t *seat)
{
    free(seat->held);
    seat->held = NULL;
    seat->held_len = 0;
    json_decref(seat->held_fixed);
    seat->held_fixed = NULL;
    if (seat->hold_ev) evtimer_del(seat->hold_ev);
}

void brk_sched_seat_free(brk_seat_t *seat)
{
    s_drop_held(seat);
    if (seat->hold_ev) event_free(seat->hold_ev);
    seat->hold_ev = NULL;
}

/* The draw of the seat's injected latency for its open turn, in seconds.
 * Derived from (seed, seat, the seat's turn index), not from a running
 * stream: the same draws in every run of a condition, whatever the other
 * seats do, and a resumed game (whose replay opens the same turns) draws
 * for each turn what the uninterrupted game drew. */
static double s_draw_latency(const brk_server_t *s, const brk_seat_t *seat)
{
    double m = seat->latency_s;
    if (m <= 0 || seat->latency_dist == 0) return m > 0 ? m : 0;
    env_rng_t r;
    uint64_t stream = env_rng_mix(0x7173ull + (uint64_t)seat->index) ^ seat->offers;
    env_rng_seed(&r, s->cfg->game.seed, stream);
    double u = env_rng_double(&r);
    if (seat->latency_dist == 1) return 2.0 * m * u;
    return -m * log(1.0 - u); /* u < 1: finite */
}

int brk_sched_hold(brk_server_t *s, brk_seat_t *seat, const Parley__Envelope *e, json_t *fixed)
{
    int64_t now = brk_mono_us();
    double lat = s_draw_latency(s, seat);
    seat->held_arrived_us = now;
    seat->held_latency_s = lat;
    /* Outside realtime min_think is the least time a turn takes: an earlier
     * decision waits (in realtime it spaces the offers: brk_sched_rt.c). */
    double think_left = 0;
    if (!s->sched->think_between_turns)
        think_left = seat->min_think_s - (double)(now - seat->turn_offered_us) / 1e6;
    double hold = lat > think_left ? lat : think_left;
    if (hold < 0.0005 || s->replaying) return 0;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (wire_pack(e, BRK_HARD_MAX, &buf, &len) != WIRE_OK) {
        /* Cannot keep it: it takes effect now, and the record says it was not held. */
        PL_ERROR("BRK-NOMEM", "agent_%d: decision not held (out of memory)", seat->index + 1);
        seat->held_latency_s = 0;
        return 0;
    }
    s_drop_held(seat);
    seat->held = buf;
    seat->held_len = len;
    seat->held_fixed = fixed ? json_incref(fixed) : NULL;
    /* Timers count from the loop's cached time, which may be older than
     * now: refreshed, so that a hold is never shorter than asked. */
    event_base_update_cache_time(s->base);
    struct timeval tv = brk_tv(hold);
    if (evtimer_add(seat->hold_ev, &tv) != 0) {
        PL_ERROR("BRK-TIMER", "cannot arm the hold timer of agent_%d", seat->index + 1);
        s_drop_held(seat);
        return 0;
    }
    return 1;
}

static void s_hold_body(brk_seat_t *seat)
{
    brk_server_t *s = seat->server;
    if (!seat->held) return;
    int err = 0;
    Parley__Envelope *e = wire_unpack(seat->held, seat->held_len, BRK_HARD_MAX, &err);
    json_t *fixed = seat->held_fixed ? json_incref(seat->held_fixed) : NULL;
    s_drop_held(seat);
    if (!e) {
        /* We packed it ourselves: only memory can fail here. The turn stays
         * open and its deadline still runs. */
        PL_ERROR("BRK-HELD", "agent_%d: the held decision is lost (%s)", seat->index + 1,
                 wire_strerror(err));
        brk_record_failed(s, "held decision");
    } else if (s->phase == BRK_PLAYING && e->decision && seat->turn_id == e->decision->turn_id) {
        brk_take_held(s, seat, e, fixed, seat->held_arrived_us, seat->held_latency_s);
    }
    json_decref(fixed);
    wire_free(&e);
}

static void s_on_hold(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    brk_seat_t *seat = arg;
    s_hold_body(seat);
    brk_flush(seat->server);
}

void brk_sched_decision_fields(brk_server_t *s, brk_seat_t *seat, json_t *ev, int64_t arrived_us,
                               double latency_s)
{
    int64_t now = brk_mono_us();
    if (seat->turn_soft_us > 0 && now > seat->turn_soft_us) {
        /* Past the turn's own deadline, before the bank ran out: drawn on it. */
        double used = (double)(now - seat->turn_soft_us) / 1e6;
        if (used > seat->bank_left_s) used = seat->bank_left_s;
        seat->bank_left_s -= used;
        seat->bank_used_s += used;
        brk_set(s, ev, "bank_used_s", json_real(used));
    }
    if (s->cfg->seats[seat->index].bank > 0)
        brk_set(s, ev, "bank_left_s", json_real(seat->bank_left_s));
    if (seat->turn_offered_us > 0)
        brk_set(s, ev, "decided_s", json_real((double)(arrived_us - seat->turn_offered_us) / 1e6));
    if (now - arrived_us > 500)
        brk_set(s, ev, "held_s", json_real((double)(now - arrived_us) / 1e6));
    if (latency_s > 0) brk_set(s, ev, "latency_s", json_real(latency_s));
    brk_set(s, ev, "version", json_integer((json_int_t)seat->turn_version));
    brk_set(s, ev, "stale", json_integer((json_int_t)(s->version - seat->turn_version)));
    brk_set(s, ev, "arrived", json_integer((json_int_t)(seat->inbox - seat->turn_inbox)));
}

void brk_sched_late(brk_server_t *s, brk_seat_t *seat, uint64_t turn_id, const char *why)
{
    if (turn_id == 0 || turn_id != seat->missed_turn) return;
    seat->missed_turn = 0; /* a second copy of it is no news */
    seat->late++;
    json_t *ev = brk_event(s, "decision_late");
    if (ev) {
        brk_set(s, ev, "agent", json_string(env_agent_id(s->game, seat->index)));
        brk_set(s, ev, "turn_id", json_integer((json_int_t)turn_id));
        brk_set(s, ev, "why", json_string(why));
        brk_set(s, ev, "late_s",
                json_real((double)(brk_mono_ms() - seat->turn_deadline_ms) / 1000.0));
    }
    brk_record(s, ev);
}

void brk_sched_delivered(brk_server_t *s, int agent, const env_action_t *acts, size_t n,
                         const env_result_t *res)
{
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
        if (res[i].code != ENV_OK) continue;
        changed = true;
        int to = acts[i].to ? env_agent_index(s->game, acts[i].to) : -1;
        switch (acts[i].kind) {
        case ENV_ACT_SEND_MESSAGE:
        case ENV_ACT_SEND_INFORMATION:
            if (to >= 0 && to != agent) s->seats[to].inbox++;
            break;
        case ENV_ACT_BROADCAST:
            for (int k = 0; k < s->n_seats; k++)
                if (k != agent) s->seats[k].inbox++;
            break;
        default:
            break;
        }
    }
    if (changed) s->version++;
}

/* ----------------------------------------------------------------- turns -- */

void brk_arm_turn(brk_server_t *s, brk_seat_t *seat)
{
    /* The turn's own deadline, then the seat's time bank: one timer, at the
     * end of both; a decision past the first draws on the second. */
    double soft = brk_seat_timeout(s, seat);
    double hard = soft + seat->bank_left_s;
    int64_t now = brk_mono_us();
    seat->turn_soft_us = now + (int64_t)(soft * 1e6);
    if (seat->keep_hard_us > 0) {
        /* A replacement (redecide) runs to its superseded turn's deadline:
         * news does not buy a seat more time, and the bank is drawn once,
         * from the same point. */
        seat->turn_soft_us = seat->keep_soft_us;
        hard = (double)(seat->keep_hard_us - now) / 1e6;
        if (hard < 0) hard = 0;
        seat->keep_soft_us = seat->keep_hard_us = 0;
    }
    seat->turn_deadline_ms = now / 1000 + (int64_t)(hard * 1000.0);
    event_base_update_cache_time(s->base); /* from now, not the loop's cached time */
    struct timeval tv = brk_tv(hard);
    if (evtimer_add(seat->deadline_ev, &tv) != 0)
        PL_ERROR("BRK-TIMER", "cannot arm the deadline of agent_%d", seat->index + 1);
}

void brk_open_turn(brk_server_t *s, brk_seat_t *seat, env_turn_kind_t kind)
{
    seat->turn_id = ++s->next_turn_id;
    seat->turn_kind = kind;
    seat->offers++;
    if (s->replaying) {
        /* Sequential: the recorded outcome is applied now. Simultaneous: the
         * round's outcomes are applied in arrival order once all its turns
         * are open (brk_resume.c). */
        if (s->cfg->timing != PL_TIMING_SEQUENTIAL || brk_replay_turn(s, seat)) return;
    }
    if (s->phase != BRK_PLAYING) return;
    brk_sched_offered(s, seat);
    /* A lost seat may be reconnecting: the turn waits for it until the deadline. */
    if (seat->state == BRK_SEAT_ON) brk_send_turn(s, seat, false);
}

void brk_sched_offered(brk_server_t *s, brk_seat_t *seat)
{
    seat->turn_offered_us = brk_mono_us();
    seat->turn_version = s->version;
    seat->turn_inbox = seat->inbox;
    uint64_t replaces = seat->replaces;
    seat->replaces = 0;
    brk_arm_turn(s, seat);
    /* A replacement's deadline is what was left of the superseded turn's. */
    double deadline = brk_seat_timeout(s, seat);
    if (replaces) {
        deadline = (double)(seat->turn_soft_us - seat->turn_offered_us) / 1e6;
        if (deadline < 0) deadline = 0;
    }
    json_t *ev = brk_event(s, "turn_offered");
    if (ev) {
        brk_set(s, ev, "agent", json_string(env_agent_id(s->game, seat->index)));
        brk_set(s, ev, "turn_id", json_integer((json_int_t)seat->turn_id));
        brk_set(s, ev, "kind", json_string(seat->turn_kind == ENV_TURN_REPLY ? "reply" : "normal"));
        brk_set(s, ev, "deadline_s", json_real(deadline));
        if (replaces) brk_set(s, ev, "replaces", json_integer((json_int_t)replaces));
        brk_set(s, ev, "bank_s", json_real(seat->bank_left_s));
        brk_set(s, ev, "version", json_integer((json_int_t)s->version));
    }
    brk_record(s, ev);
}

void brk_close_turn(brk_seat_t *seat)
{
    seat->turn_id = 0;
    evtimer_del(seat->deadline_ev);
    s_drop_held(seat);
}

void brk_sched_open_at_end(brk_server_t *s)
{
    if (s->replaying) return; /* the clock's events are not replayed */
    int64_t now = brk_mono_us();
    for (int i = 0; i < s->n_seats; i++) {
        const brk_seat_t *seat = &s->seats[i];
        if (seat->turn_id == 0) continue;
        /* Neither decided nor missed: the game ended first. Recorded, so
         * that every turn offered is accounted for. */
        json_t *ev = brk_event(s, "turn_open_at_end");
        if (ev) {
            brk_set(s, ev, "agent", json_string(env_agent_id(s->game, i)));
            brk_set(s, ev, "turn_id", json_integer((json_int_t)seat->turn_id));
            brk_set(s, ev, "kind",
                    json_string(seat->turn_kind == ENV_TURN_REPLY ? "reply" : "normal"));
            if (seat->turn_offered_us > 0)
                brk_set(s, ev, "open_s", json_real((double)(now - seat->turn_offered_us) / 1e6));
            /* held: its decision had arrived and was waiting out its injected
             * latency or think time; otherwise the seat (a model call, a
             * person) was still deciding. */
            brk_set(s, ev, "held", json_boolean(seat->held != NULL));
            if (seat->held) {
                brk_set(s, ev, "held_s", json_real((double)(now - seat->held_arrived_us) / 1e6));
                if (seat->held_latency_s > 0)
                    brk_set(s, ev, "latency_s", json_real(seat->held_latency_s));
            }
        }
        brk_record(s, ev);
    }
}

/* The seat cannot play this turn: recorded as missed. */
void brk_miss(brk_server_t *s, brk_seat_t *seat, const char *why)
{
    env_record_missed(s->game, seat->index, why);
    seat->missed++;
    s->total_missed++;
}

void brk_round_end(brk_server_t *s)
{
    if (!s->round_open) return;
    s->round_open = false;
    env_round_end(s->game);
    int tasks = env_tasks_done(s->game);
    json_t *row = json_pack("{s:i, s:i, s:i, s:i, s:I, s:I}", "round", env_round(s->game), "tasks",
                            tasks - s->round_tasks_base, "messages", s->round_msgs, "tasks_total",
                            tasks, "group_revenue", (json_int_t)env_group_revenue(s->game),
                            "task_revenue", (json_int_t)env_task_revenue(s->game));
    if (!row || json_array_append(s->per_round, row) != 0) brk_record_failed(s, "per-round row");
    json_t *ev = brk_event(s, "progress");
    if (ev && row) {
        if (json_object_update(ev, row) != 0) brk_record_failed(s, "progress");
        brk_set(s, ev, "rounds", json_integer(env_game_config(s->game)->rounds));
        brk_set(s, ev, "type", json_string("progress"));
    }
    json_decref(row);
    brk_record(s, ev);
}

bool brk_round_begin(brk_server_t *s)
{
    if (s->fork_round && env_round(s->game) + 1 == s->fork_round) {
        /* A fork: its own rules from this round on (parley fork). */
        char err[256];
        if (env_game_reconfigure(s->game, &s->cfg->game, err, sizeof err) != ENV_OK) {
            PL_ERROR("BRK-FORK", "round %d: %s", s->fork_round, err);
            s->result = -1;
            return false;
        }
    }
    if (env_game_over(s->game)) return false;
    int rc = env_round_begin(s->game);
    if (rc != ENV_OK) return false;
    s->round_open = true;
    s->round_tasks_base = env_tasks_done(s->game);
    s->round_msgs = 0;
    return true;
}

static void s_seat_deadline_body(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    brk_seat_t *seat = arg;
    brk_server_t *s = seat->server;
    if (seat->turn_id == 0 || s->phase != BRK_PLAYING) return;
    uint64_t turn = seat->turn_id;
    env_turn_kind_t kind = seat->turn_kind;
    bool held = seat->held != NULL;
    if (held) {
        /* Its latency or think time took it past the deadline: it arrived,
         * but late; the turn is missed. Recorded once each. */
        seat->missed_turn = turn;
        brk_sched_late(s, seat, turn, "held past the deadline");
        s_drop_held(seat);
    }
    seat->missed_turn = held ? 0 : turn;
    seat->bank_used_s += seat->bank_left_s;
    seat->bank_left_s = 0; /* a missed turn spends what was left */
    PL_INFO("BRK-TURN-MISSED", "agent_%d missed turn %llu (%s)", seat->index + 1,
            (unsigned long long)turn, brk_seat_state_names[seat->state]);
    brk_close_turn(seat);
    brk_miss(s, seat, seat->state == BRK_SEAT_ON ? "deadline passed" : "disconnected");
    char text[96];
    snprintf(text, sizeof text, "turn %llu passed its deadline", (unsigned long long)turn);
    brk_send_notice(s, seat, "turn_missed", text, turn);
    brk_after_turn(s, seat, kind);
}

/* A turn ended (decided or missed): what comes next is the mode's. */
void brk_after_turn(brk_server_t *s, brk_seat_t *seat, env_turn_kind_t kind)
{
    s->sched->after_turn(s, seat->index, kind);
}

void brk_on_seat_deadline(evutil_socket_t fd, short what, void *arg)
{
    s_seat_deadline_body(fd, what, arg);
    brk_flush(((brk_seat_t *)arg)->server);
}

/* ------------------------------------------------------------- game flow -- */

void brk_start(brk_server_t *s)
{
    if (s->phase != BRK_WAITING) return;
    s->phase = BRK_PLAYING;
    s->started_ms = brk_mono_ms();
    if (s->start_ev) evtimer_del(s->start_ev);
    json_t *ev = brk_event(s, "game_start");
    if (ev) {
        json_t *seats = json_object();
        for (int i = 0; i < s->n_seats; i++)
            brk_set(s, seats, env_agent_id(s->game, i),
                    json_string(brk_seat_state_names[s->seats[i].state]));
        brk_set(s, ev, "seats", seats);
        brk_set(s, ev, "timing", json_string(pl_timing_name(s->cfg->timing)));
    }
    brk_record(s, ev);
    PL_INFO("BRK-GAME-START", "game %s starts (%s, %d seats)", s->game_id,
            pl_timing_name(s->cfg->timing), s->n_seats);
    s->sched->start(s);
}

static void s_start_timeout_body(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    brk_server_t *s = arg;
    int missing = 0;
    for (int i = 0; i < s->n_seats; i++) missing += s->seats[i].state != BRK_SEAT_ON;
    PL_WARN("BRK-START-TIMEOUT", "%d seat(s) missing; starting without them", missing);
    brk_start(s);
}

void brk_on_start_timeout(evutil_socket_t fd, short what, void *arg)
{
    s_start_timeout_body(fd, what, arg);
    brk_flush((brk_server_t *)arg);
}
