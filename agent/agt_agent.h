/* agt_agent.h: parley-agent, one seat of one game (DESIGN.md "agent/").
 *
 * The agent owns the connection (a DEALER socket on one libevent loop) and the
 * conversation of proto/PROTOCOL.md: Hello, Welcome, then TurnRequests answered
 * by Decisions that a policy (agt_policy.h) produces, now or later. It holds no
 * game state of its own but the last observation it rebuilt from deltas
 * (wire_delta.h), which a Hello forgets: after a reconnect (broker restarted,
 * network dropped, broker silent) it says Hello again and the broker resends
 * the open turn, whole.
 */
#ifndef PARLEY_AGT_AGENT_H
#define PARLEY_AGT_AGENT_H

#include "agt_names.h"
#include "pl_config.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct agt_agent agt_agent_t;

typedef struct {
    const char *broker;        /* endpoint, e.g. "tcp://127.0.0.1:5555" */
    const char *seat;          /* "agent_3" */
    const char *token;         /* the seat's token */
    const char *policy;        /* "perfect", "llm", ... */
    const pl_config_t *config; /* seat settings (model...) if known; may be NULL */
    bool config_borrowed;      /* config outlives the agent: kept, not copied */
    bool observation_full;     /* whole observations every turn, not deltas (FULL) */
    /* The game's names as the seat launcher built them (agt_names.h), taken
     * when the Welcome's patterns match; borrowed, outlives the agent; may be
     * NULL. */
    const agt_names_t *names_hint;
} agt_options_t;

/* Finds the policy, opens the socket and connects (nothing is sent before
 * agt_agent_run). Returns an owned agent, or NULL with a sentence in err. */
agt_agent_t *agt_agent_new(const agt_options_t *opts, char *err, size_t errlen);
void agt_agent_destroy(agt_agent_t **a);

/* Plays until the game is over (0), a signal stops it (1), or the broker
 * refuses the seat for good (2: unknown seat, bad token). */
int agt_agent_run(agt_agent_t *a);

#endif
