/* brk_sched.c: what every timing mode shares (brk_sched.h): opening, arming
 * and closing turns, per-seat deadlines, missed turns, rounds, the start of
 * the game. Which turn opens when is the mode's (brk_sched_<mode>.c). */
#include "brk_internal.h"
#include "pl_log.h"

#include <errno.h>
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
    return seat->human && s->human_timeout > 0 ? s->human_timeout : s->turn_timeout;
}

void brk_arm_turn(brk_server_t *s, brk_seat_t *seat)
{
    double timeout = brk_seat_timeout(s, seat);
    seat->turn_deadline_ms = brk_mono_ms() + (int64_t)(timeout * 1000.0);
    struct timeval tv = brk_tv(timeout);
    if (evtimer_add(seat->deadline_ev, &tv) != 0)
        PL_ERROR("BRK-TIMER", "cannot arm the deadline of agent_%d", seat->index + 1);
}

void brk_open_turn(brk_server_t *s, brk_seat_t *seat, env_turn_kind_t kind)
{
    seat->turn_id = ++s->next_turn_id;
    seat->turn_kind = kind;
    if (s->replaying) {
        /* Sequential: the recorded outcome is applied now. Simultaneous: the
         * round's outcomes are applied in arrival order once all its turns
         * are open (brk_resume.c). */
        if (s->cfg->timing != PL_TIMING_SEQUENTIAL || brk_replay_turn(s, seat)) return;
    }
    if (s->phase != BRK_PLAYING) return;
    brk_arm_turn(s, seat);
    /* A lost seat may be reconnecting: the turn waits for it until the deadline. */
    if (seat->state == BRK_SEAT_ON) brk_send_turn(s, seat, false);
}

void brk_close_turn(brk_seat_t *seat)
{
    seat->turn_id = 0;
    evtimer_del(seat->deadline_ev);
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
