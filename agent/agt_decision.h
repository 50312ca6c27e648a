/* agt_decision.h: a policy's outcome as the Decision the seat sends.
 *
 * The actions (wire_decision_to_pb), the reason a turn has none, and the
 * provenance the broker records but never judges: each model call (tokens,
 * latency, cost, the bodies) and each action the parser dropped. */
#ifndef PARLEY_AGT_DECISION_H
#define PARLEY_AGT_DECISION_H

#include "agt_policy.h"
#include "parley.pb-c.h"
#include "wire.h"

#include <stdint.h>

/* Fills d (initialised here) from o for turn_id, everything allocated in ar;
 * d borrows o's strings, so o must outlive d's packing. think_s is the
 * caller's. WIRE_OK, or WIRE_ENOMEM. */
int agt_decision_from_outcome(wire_arena_t *ar, uint64_t turn_id, const agt_outcome_t *o,
                              Parley__Decision *d);

#endif
