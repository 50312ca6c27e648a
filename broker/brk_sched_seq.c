/* brk_sched_seq.c: the sequential timing mode (the paper preset; brk_sched.h).
 * Rounds; one turn at a time in the round's shuffled order; reply turns owed
 * after a normal turn go right after it, in the order the environment gives
 * (as env_play does in process). */
#include "brk_internal.h"
#include "pl_log.h"

#include <stdlib.h>

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

static void s_advance(brk_server_t *s)
{
    while (s->phase == BRK_PLAYING) {
        if (s->q_len == 0) {
            brk_round_end(s);
            if (!brk_round_begin(s)) {
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
        brk_open_turn(s, seat, kind);
        return;
    }
}

/* Reply turns owed after a turn go first, in the order the environment gives. */
static void s_queue_replies(brk_server_t *s)
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

static void s_after_turn(brk_server_t *s, int agent, env_turn_kind_t kind)
{
    (void)agent;
    /* As env_play does: reply turns are owed after normal turns only. */
    if (kind == ENV_TURN_NORMAL) s_queue_replies(s);
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
