/* brk_sched_sim.c: the simultaneous timing mode (brk_sched.h). Every seat of
 * a round gets its turn at once, all observations taken before any decision
 * applies; decisions apply in arrival order, numbered; the next round opens
 * when the last turn of this one has ended, so a round costs the slowest
 * seat's time. */
#include "brk_internal.h"

static void s_advance(brk_server_t *s)
{
    while (s->phase == BRK_PLAYING && s->open_turns == 0) {
        brk_round_end(s);
        if (!brk_round_begin(s)) {
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
            brk_open_turn(s, seat, ENV_TURN_NORMAL);
            s->open_turns++;
        }
    }
}

static void s_after_turn(brk_server_t *s, int agent, env_turn_kind_t kind)
{
    (void)agent;
    (void)kind;
    int discard[1]; /* no reply turns in this mode */
    while (env_take_replies(s->game, discard, 1) > 0) continue;
    s->open_turns--;
    s_advance(s);
}

static void s_joined(brk_server_t *s, int agent)
{
    (void)s;
    (void)agent; /* the seat's next turn comes with the next round */
}

const brk_sched_t brk_sched_sim = {
    .name = "simultaneous",
    .start = s_advance,
    .after_turn = s_after_turn,
    .joined = s_joined,
    .applied = NULL,
    .arrival_order = true,
    .reply_turns = false,
};
