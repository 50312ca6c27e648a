/* brk_turns.c: turn scheduling (brk_internal.h). Sequential: one turn at a
 * time, reply turns right after the turn that owed them; simultaneous: a whole
 * round at once; realtime: wall-clock slices, a seat may act again after
 * min_think. Per-seat timers carry turn deadlines. */
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

static void s_rt_schedule(brk_server_t *s, brk_seat_t *seat);

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

static void s_open_turn(brk_server_t *s, brk_seat_t *seat, env_turn_kind_t kind)
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

/* Begins the next round; false when the game is over. */
static bool s_round_begin(brk_server_t *s)
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
    while (s->phase == BRK_PLAYING) {
        if (s->q_len == 0) {
            brk_round_end(s);
            if (!s_round_begin(s)) {
                brk_finish(s, "finished");
                return;
            }
            int n = 0;
            const int *order = env_round_order(s->game, &n);
            for (int i = 0; i < n; i++)
                if (s_queue_push(s, order[i], ENV_TURN_NORMAL, false) != ENV_OK) {
                    PL_ERROR("BRK-NOMEM", "turn queue: out of memory");
                    s->result = -1;
                    brk_finish(s, "error");
                    return;
                }
            continue;
        }
        int a = s->queue[s->q_head];
        env_turn_kind_t kind = s->queue_kind[s->q_head];
        s->q_head = (s->q_head + 1) % s->q_cap;
        s->q_len--;
        brk_seat_t *seat = &s->seats[a];
        if (s->replaying) brk_replay_sync(s); /* seat states as they were then */
        if (seat->state == BRK_SEAT_EMPTY || seat->state == BRK_SEAT_GONE) {
            brk_miss(s, seat, seat->state == BRK_SEAT_EMPTY ? "never connected" : "left the game");
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
    int n = rep ? env_take_replies(s->game, rep, cap) : 0;
    bool lost = !rep;
    for (int i = n - 1; i >= 0; i--)
        if (s_queue_push(s, rep[i], ENV_TURN_REPLY, true) != ENV_OK) lost = true;
    free(rep);
    if (lost) {
        /* A game short of a reply turn is not the game configured: it ends
         * now, with an error status, rather than going on as if it were. */
        PL_ERROR("BRK-NOMEM", "reply turns lost: out of memory; the game ends");
        s->result = -1;
        brk_finish(s, "error");
    }
}

/* ----- simultaneous: everyone at once, applied in arrival order ----------- */

static void s_sim_advance(brk_server_t *s)
{
    while (s->phase == BRK_PLAYING && s->open_turns == 0) {
        brk_round_end(s);
        if (!s_round_begin(s)) {
            brk_finish(s, "finished");
            return;
        }
        s->arrival = 0;
        int n = 0;
        const int *order = env_round_order(s->game, &n);
        /* Every observation is taken before any decision of the round applies. */
        for (int i = 0; i < n; i++) {
            brk_seat_t *seat = &s->seats[order[i]];
            if (s->replaying) brk_replay_sync(s); /* seat states as they were then */
            if (seat->state == BRK_SEAT_EMPTY || seat->state == BRK_SEAT_GONE) {
                brk_miss(s, seat,
                         seat->state == BRK_SEAT_EMPTY ? "never connected" : "left the game");
                continue;
            }
            s_open_turn(s, seat, ENV_TURN_NORMAL);
            s->open_turns++;
        }
    }
}

/* ----- realtime: wall-clock slices; a seat may act again after min_think -- */

void brk_rt_offer(brk_server_t *s, brk_seat_t *seat)
{
    if (s->phase != BRK_PLAYING || seat->turn_id != 0) return;
    if (seat->state != BRK_SEAT_ON && seat->state != BRK_SEAT_LOST) return;
    s_open_turn(s, seat, ENV_TURN_NORMAL);
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

static void s_rt_schedule(brk_server_t *s, brk_seat_t *seat)
{
    double wait = s->min_think > 0.005 ? s->min_think : 0.005;
    struct timeval tv = brk_tv(wait);
    if (evtimer_add(seat->think_ev, &tv) != 0)
        PL_ERROR("BRK-TIMER", "cannot arm the think timer of agent_%d", seat->index + 1);
}

static void s_slice_body(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    brk_server_t *s = arg;
    if (s->phase != BRK_PLAYING) return;
    s->slice++;
    brk_round_end(s);
    if (s->slice >= s->cfg->game.rounds || !s_round_begin(s)) {
        brk_finish(s, "finished");
        return;
    }
    char text[64];
    snprintf(text, sizeof text, "round %d/%d begins", env_round(s->game), s->cfg->game.rounds);
    for (int i = 0; i < s->n_seats; i++) brk_send_notice(s, &s->seats[i], "round", text, 0);
    double slice = s->cfg->duration / (double)s->cfg->game.rounds;
    struct timeval tv = brk_tv(slice);
    if (evtimer_add(s->slice_ev, &tv) != 0) PL_ERROR("BRK-TIMER", "cannot arm the slice timer");
}

void brk_on_slice(evutil_socket_t fd, short what, void *arg)
{
    s_slice_body(fd, what, arg);
    brk_flush((brk_server_t *)arg);
}

/* Tells the seats a decision concerns what happened (realtime). */
void brk_rt_notify(brk_server_t *s, int agent, const env_action_t *acts, size_t n,
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
            break;
        case ENV_ACT_SEND_INFORMATION:
            if (to < 0 || res[i].transferred == 0) break;
            snprintf(text, sizeof text, "%s sent you %d piece(s)", me, res[i].transferred);
            brk_send_notice(s, &s->seats[to], "transfer", text, 0);
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

/* A turn ended (decided or missed): what comes next depends on the mode. */
void brk_after_turn(brk_server_t *s, brk_seat_t *seat, env_turn_kind_t kind)
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
    switch (s->cfg->timing) {
    case PL_TIMING_SEQUENTIAL:
        s_seq_advance(s);
        break;
    case PL_TIMING_SIMULTANEOUS:
        s_sim_advance(s);
        break;
    case PL_TIMING_REALTIME: {
        if (!s_round_begin(s)) {
            brk_finish(s, "finished");
            return;
        }
        double slice = s->cfg->duration / (double)s->cfg->game.rounds;
        struct timeval tv = brk_tv(slice);
        if (evtimer_add(s->slice_ev, &tv) != 0) PL_ERROR("BRK-TIMER", "cannot arm the slice timer");
        for (int i = 0; i < s->n_seats; i++) brk_rt_offer(s, &s->seats[i]);
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
    for (int i = 0; i < s->n_seats; i++) missing += s->seats[i].state != BRK_SEAT_ON;
    PL_WARN("BRK-START-TIMEOUT", "%d seat(s) missing; starting without them", missing);
    brk_start(s);
}

void brk_on_start_timeout(evutil_socket_t fd, short what, void *arg)
{
    s_start_timeout_body(fd, what, arg);
    brk_flush((brk_server_t *)arg);
}
