/* env_turns.h: the order of turns in a sequential round (GAME.md), written
 * once for both players of a sequential game: the in-process loop (env_play)
 * and the broker's sequential mode (broker/brk_sched_seq.c). A round's
 * normal turns come in its shuffled order (env_round_order); a normal turn
 * that leaves reactive seats owed a reply (env_take_replies) is followed by
 * those reply turns, in the order the environment gives, before the next
 * normal turn. Reply turns owe no further replies. */
#ifndef PARLEY_ENV_TURNS_H
#define PARLEY_ENV_TURNS_H

#include "env.h"

#include <stdbool.h>

typedef struct env_turns env_turns_t;

/* A queue for a game of n_agents seats (caller owns; NULL when out of memory). */
env_turns_t *env_turns_new(int n_agents);
void env_turns_destroy(env_turns_t **p);

/* The round g has just begun (env_round_begin): its normal turns are queued,
 * replacing whatever was left. */
void env_turns_round(env_turns_t *q, const env_game_t *g);

/* The next turn of the round: true with its seat and kind, false when the
 * round has no turn left. The turn is taken off the queue. */
bool env_turns_next(env_turns_t *q, int *agent, env_turn_kind_t *kind);

/* The turn last taken has ended (decided or missed), with kind: after a
 * normal turn, the reply turns g now owes go next. */
void env_turns_ended(env_turns_t *q, env_game_t *g, env_turn_kind_t kind);

#endif
