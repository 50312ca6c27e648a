/* env_turns.c: see env_turns.h. Replies are only ever owed after a normal
 * turn and are all played before the next normal one, so the queue is two
 * lists read front to back: the round's order and the pending replies. */
#include "env_turns.h"

#include <stdlib.h>
#include <string.h>

struct env_turns {
    int n;           /* seats: the most of either list */
    int *order;      /* the round's normal turns */
    int n_order, at; /* how many, and the next one */
    int *replies;    /* reply turns owed by the last normal turn */
    int n_replies, reply_at;
};

env_turns_t *env_turns_new(int n_agents)
{
    if (n_agents <= 0) return NULL;
    env_turns_t *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    q->n = n_agents;
    q->order = malloc((size_t)n_agents * sizeof *q->order);
    q->replies = malloc((size_t)n_agents * sizeof *q->replies);
    if (!q->order || !q->replies) env_turns_destroy(&q);
    return q;
}

void env_turns_destroy(env_turns_t **p)
{
    if (!p || !*p) return;
    free((*p)->order);
    free((*p)->replies);
    free(*p);
    *p = NULL;
}

void env_turns_round(env_turns_t *q, const env_game_t *g)
{
    int n = 0;
    const int *order = env_round_order(g, &n);
    if (n > q->n) n = q->n; /* a round's order lists each seat once */
    if (n > 0) memcpy(q->order, order, (size_t)n * sizeof *order);
    q->n_order = n;
    q->at = 0;
    q->n_replies = q->reply_at = 0;
}

bool env_turns_next(env_turns_t *q, int *agent, env_turn_kind_t *kind)
{
    if (q->reply_at < q->n_replies) {
        *agent = q->replies[q->reply_at++];
        *kind = ENV_TURN_REPLY;
        return true;
    }
    if (q->at < q->n_order) {
        *agent = q->order[q->at++];
        *kind = ENV_TURN_NORMAL;
        return true;
    }
    return false;
}

void env_turns_ended(env_turns_t *q, env_game_t *g, env_turn_kind_t kind)
{
    if (kind != ENV_TURN_NORMAL) return; /* replies are owed after normal turns only */
    q->n_replies = env_take_replies(g, q->replies, q->n);
    q->reply_at = 0;
}
