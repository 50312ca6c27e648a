/* brk_sched_rt.c: the realtime timing mode (brk_sched.h). No turns in turn:
 * the game lasts timing.duration of wall clock, cut into simulation.rounds
 * slices (a slice ends a "round" for the per-round statistics and the
 * snapshot rule); each seat is offered a turn again as soon as its last one
 * ended and its think gap passed, and hears what concerns it as Notices. */
#include "brk_internal.h"
#include "pl_log.h"

#include <stdio.h>
#include <string.h>

void brk_rt_offer(brk_server_t *s, brk_seat_t *seat)
{
    if (s->phase != BRK_PLAYING || seat->turn_id != 0) return;
    if (seat->state != BRK_SEAT_ON && seat->state != BRK_SEAT_LOST) return;
    brk_open_turn(s, seat, ENV_TURN_NORMAL);
}

/* Each loop callback is a body plus a wrapper that ends with brk_flush, so that
 * events recorded in a callback reach the log (and then PUB) before the loop
 * sleeps, even when no agent message followed them. */
static void s_seat_think_body(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    brk_seat_t *seat = arg;
    brk_rt_offer(seat->server, seat);
}

void brk_on_seat_think(evutil_socket_t fd, short what, void *arg)
{
    s_seat_think_body(fd, what, arg);
    brk_flush(((brk_seat_t *)arg)->server);
}

static void s_schedule(brk_seat_t *seat)
{
    /* The seat's think gap (0.25 s unless configured: a floor on the rate),
     * and never below 5 ms, so that a seat with 0 cannot spin the loop. */
    double wait = seat->min_think_s > 0.005 ? seat->min_think_s : 0.005;
    event_base_update_cache_time(seat->server->base); /* from now: never a shorter gap */
    struct timeval tv = brk_tv(wait);
    if (evtimer_add(seat->think_ev, &tv) != 0)
        PL_ERROR("BRK-TIMER", "cannot arm the think timer of agent_%d", seat->index + 1);
}

static void s_arm_slice(brk_server_t *s)
{
    double slice = s->cfg->duration / (double)s->cfg->game.rounds;
    struct timeval tv = brk_tv(slice);
    if (evtimer_add(s->slice_ev, &tv) != 0) PL_ERROR("BRK-TIMER", "cannot arm the slice timer");
}

static void s_slice_body(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    brk_server_t *s = arg;
    if (s->phase != BRK_PLAYING) return;
    s->slice++;
    brk_round_end(s);
    if (s->slice >= s->cfg->game.rounds || !brk_round_begin(s)) {
        brk_finish(s, "finished");
        return;
    }
    char text[64];
    snprintf(text, sizeof text, "round %d/%d begins", env_round(s->game), s->cfg->game.rounds);
    for (int i = 0; i < s->n_seats; i++) brk_send_notice(s, &s->seats[i], "round", text, 0);
    s_arm_slice(s);
}

void brk_on_slice(evutil_socket_t fd, short what, void *arg)
{
    s_slice_body(fd, what, arg);
    brk_flush((brk_server_t *)arg);
}

/* A seat heard news (a notice): its realtime_policy says what happens.
 *   wait (default): nothing; the call in flight goes on, and the news is in
 *     the next observation;
 *   decide_now: a seat waiting out its think gap is offered a turn now;
 *   redecide: an open turn is superseded by a new one on the new state (the
 *     agent drops the decision in progress and decides again), unless its
 *     decision already arrived (held for latency); the new turn ends when
 *     the superseded one would have (its deadline and bank are not renewed). */
static void s_react(brk_server_t *s, brk_seat_t *seat, const char *what)
{
    const char *pol = s->cfg->seats[seat->index].realtime_policy;
    if (!pol || s->phase != BRK_PLAYING || seat->state != BRK_SEAT_ON) return;
    if (strcmp(pol, "decide_now") == 0 && seat->turn_id == 0 &&
        evtimer_pending(seat->think_ev, NULL)) {
        evtimer_del(seat->think_ev);
        brk_rt_offer(s, seat);
    } else if (strcmp(pol, "redecide") == 0 && seat->turn_id != 0 && !seat->held) {
        json_t *ev = brk_event(s, "turn_superseded");
        if (ev) {
            brk_set(s, ev, "agent", json_string(env_agent_id(s->game, seat->index)));
            brk_set(s, ev, "turn_id", json_integer((json_int_t)seat->turn_id));
            brk_set(s, ev, "why", json_string(what));
        }
        brk_record(s, ev);
        /* The replacement keeps this turn's deadline (brk_arm_turn). */
        seat->keep_soft_us = seat->turn_soft_us;
        seat->keep_hard_us = seat->turn_deadline_ms * 1000;
        seat->replaces = seat->turn_id;
        brk_close_turn(seat);
        brk_open_turn(s, seat, ENV_TURN_NORMAL);
    }
}

/* Tells the seats a decision concerns what happened. */
static void s_applied(brk_server_t *s, int agent, const env_action_t *acts, size_t n,
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
            brk_send_notice(s, &s->seats[to], "message", text, 0);
            s_react(s, &s->seats[to], "message");
            break;
        case ENV_ACT_SEND_INFORMATION:
            if (to < 0 || res[i].transferred == 0) break;
            snprintf(text, sizeof text, "%s sent you %d piece(s)", me, res[i].transferred);
            brk_send_notice(s, &s->seats[to], "transfer", text, 0);
            s_react(s, &s->seats[to], "transfer");
            break;
        case ENV_ACT_BROADCAST:
            snprintf(text, sizeof text, "%s broadcast a message", me);
            for (int k = 0; k < s->n_seats; k++)
                if (k != agent) brk_send_notice(s, &s->seats[k], "broadcast", text, 0);
            break;
        case ENV_ACT_SUBMIT_TASK:
            if (!s->cfg->game.show_public_notices) break;
            snprintf(text, sizeof text, "%s completed a task", me);
            for (int k = 0; k < s->n_seats; k++)
                if (k != agent) brk_send_notice(s, &s->seats[k], "task", text, 0);
            break;
        default:
            break;
        }
    }
}

static void s_start(brk_server_t *s)
{
    if (!brk_round_begin(s)) {
        brk_finish(s, "finished");
        return;
    }
    s_arm_slice(s);
    for (int i = 0; i < s->n_seats; i++) brk_rt_offer(s, &s->seats[i]);
}

static void s_after_turn(brk_server_t *s, int agent, env_turn_kind_t kind)
{
    (void)kind;
    int discard[1]; /* no reply turns in this mode */
    while (env_take_replies(s->game, discard, 1) > 0) continue;
    s_schedule(&s->seats[agent]);
}

static void s_joined(brk_server_t *s, int agent)
{
    brk_seat_t *seat = &s->seats[agent];
    if (!evtimer_pending(seat->think_ev, NULL)) brk_rt_offer(s, seat);
}

const brk_sched_t brk_sched_rt = {
    .name = "realtime",
    .start = s_start,
    .after_turn = s_after_turn,
    .joined = s_joined,
    .applied = s_applied,
    .arrival_order = false,
    .reply_turns = false,
    .think_between_turns = true,
};
