/* pl_policy.h: the one registry of seat policies, shared by the configuration
 * loader (common/pl_config_seat.c: a seat whose policy is not here is refused with
 * FILE:LINE before anything starts) and by parley-agent (agent/agt_policy.c:
 * every name here has an implementation, and a name not here is refused).
 *
 * Adding a policy: a row here and its ops table in agent/; tests check that
 * the two agree.
 */
#ifndef PARLEY_PL_POLICY_H
#define PARLEY_PL_POLICY_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    PL_POLICY_SCRIPTED = 0, /* a rule-based baseline of environment/ */
    PL_POLICY_MODEL,        /* a model behind an HTTP API */
    PL_POLICY_PERSON        /* a person (terminal or browser) */
} pl_policy_kind_t;

typedef struct {
    const char *name; /* "perfect", as written in a configuration */
    pl_policy_kind_t kind;
    bool reactive;       /* wants reply turns in sequential mode */
    const char *summary; /* one line for --help and error messages */
} pl_policy_t;

/* The registered policy named exactly `name`, or NULL. */
const pl_policy_t *pl_policy_find(const char *name);
/* Number of policies, and the i-th (0-based; NULL out of range). */
size_t pl_policy_count(void);
const pl_policy_t *pl_policy_at(size_t i);
/* "perfect, passive, ..., human": every name, for messages. Static storage. */
const char *pl_policy_names(void);

#endif
