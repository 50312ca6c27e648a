/* brk_sched_seq.c: the sequential timing mode (the paper preset; brk_sched.h).
 * Rounds; one turn at a time. Which turn comes next is environment/env_turns.c,
 * the same code env_play uses in process, so that a broker's game is the
 * in-process game: the round's shuffled order, and the reply turns a normal
 * turn leaves owing right after it. */
#include "brk_internal.h"
#include "env_turns.h"
#include "pl_log.h"

static void s_advance(brk_server_t *s)
{
    if (!s->turns && !(s->turns = env_turns_new(s->n_seats))) {
        PL_ERROR("BRK-NOMEM", "turn queue: out of memory");
        s->result = -1;
        brk_finish(s, "error");
        return;
    }
    while (s->phase == BRK_PLAYING) {
        int a;
        env_turn_kind_t kind;
        if (!env_turns_next(s->turns, &a, &kind)) {
            brk_round_end(s);
            if (!brk_round_begin(s)) {
                brk_finish(s, "finished");
                return;
            }
            env_turns_round(s->turns, s->game);
            continue;
        }
        brk_seat_t *seat = &s->seats[a];
        if (s->replaying) brk_replay_sync(s); /* seat states as they were then */
        if (seat->state == BRK_SEAT_EMPTY || seat->state == BRK_SEAT_GONE) {
            brk_miss(s, seat, seat->state == BRK_SEAT_EMPTY ? "never connected" : "left the game");
            env_turns_ended(s->turns, s->game, kind);
            continue;
        }
        brk_open_turn(s, seat, kind);
        return;
    }
}

static void s_after_turn(brk_server_t *s, int agent, env_turn_kind_t kind)
{
    (void)agent;
    env_turns_ended(s->turns, s->game, kind);
    s_advance(s);
}

static void s_joined(brk_server_t *s, int agent)
{
    (void)s;
    (void)agent; /* the seat's turn comes in the round's order */
}

const brk_sched_t brk_sched_seq = {
    .name = "sequential",
    .start = s_advance,
    .after_turn = s_after_turn,
    .joined = s_joined,
    .applied = NULL,
    .arrival_order = false,
    .reply_turns = true,
};
