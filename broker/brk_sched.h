/* brk_sched.h: the broker's timing modes behind one interface (brk_internal.h).
 * A mode decides which turns open when; everything else (deadlines, time
 * banks, injected latency, think time, the record) is common and lives in
 * brk_sched.c. A new timing mode is a new file brk_sched_<mode>.c with one
 * brk_sched_t, listed in brk_sched_for().
 *   brk_sched_seq.c: sequential (the paper preset), one turn at a time
 *   brk_sched_sim.c: simultaneous, a whole round at once, arrival order
 *   brk_sched_rt.c: realtime, wall-clock slices, change notices
 */
#ifndef PARLEY_BRK_SCHED_H
#define PARLEY_BRK_SCHED_H

#include "env.h"
#include "pl_config.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct brk_server brk_server_t;

typedef struct {
    const char *name;
    /* The game begins: the first turns open. */
    void (*start)(brk_server_t *s);
    /* A turn of seat `agent` ended (decided, missed or abandoned): what comes next. */
    void (*after_turn)(brk_server_t *s, int agent, env_turn_kind_t kind);
    /* A seat with no open turn (re)joined while the game is playing. */
    void (*joined)(brk_server_t *s, int agent);
    /* A decision of `agent` was applied: the mode may tell others (NULL: nothing). */
    void (*applied)(brk_server_t *s, int agent, const env_action_t *acts, size_t n,
                    const env_result_t *res);
    bool arrival_order; /* decisions of a round are numbered in arrival order */
    bool reply_turns;   /* reactive seats get reply turns (env_set_reactive) */
    /* min_think spaces a seat's turns (the next offer waits) instead of
     * holding an early decision until its turn is min_think old */
    bool think_between_turns;
} brk_sched_t;

extern const brk_sched_t brk_sched_seq, brk_sched_sim, brk_sched_rt;

/* The scheduler of a timing mode (never NULL). */
const brk_sched_t *brk_sched_for(pl_timing_t timing);

#endif
