/* agt_policy.c: the policy registry and the outcome helpers (agt_policy.h).
 * Scripted policies live in agt_scripted.c, human in agt_human.c; the llm
 * policy (llm_policy.c) is registered by parley-agent-llm's main. */
#include "agt_policy.h"

#include "agt_scripted.h"
#include "pl_policy.h"

#include <stdlib.h>
#include <string.h>

static const agt_policy_ops_t *s_extra;

void agt_policy_register(const agt_policy_ops_t *ops)
{
    s_extra = ops;
}

const agt_policy_ops_t *agt_policy_find(const char *name)
{
    /* The registry shared with the configuration loader decides what a seat
     * may play; this table only says how. */
    if (!pl_policy_find(name)) return NULL;
    if (s_extra && strcmp(s_extra->name, name) == 0) return s_extra;
    const agt_policy_ops_t *const table[] = {&agt_perfect_ops, &agt_passive_ops, &agt_selfish_ops,
                                             &agt_helper_ops,  &agt_random_ops,  &agt_human_ops};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i]->name, name) == 0) return table[i];
    return NULL;
}

agt_outcome_t *agt_outcome_new(void)
{
    agt_outcome_t *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->decision = env_decision_new();
    if (!o->decision) {
        free(o);
        return NULL;
    }
    return o;
}

void agt_outcome_destroy(agt_outcome_t **po)
{
    if (!po || !*po) return;
    agt_outcome_t *o = *po;
    env_decision_destroy(&o->decision);
    for (size_t i = 0; i < o->n_calls; i++) {
        free(o->calls[i].request_body);
        free(o->calls[i].response_body);
    }
    free(o->calls);
    for (size_t i = 0; i < o->n_dropped; i++) {
        free(o->dropped[i].raw);
        free(o->dropped[i].reason);
    }
    free(o->dropped);
    free(o);
    *po = NULL;
}

int agt_outcome_drop(agt_outcome_t *o, const char *raw, const char *reason)
{
    agt_dropped_t *d = realloc(o->dropped, (o->n_dropped + 1) * sizeof *d);
    if (!d) return ENV_ENOMEM;
    o->dropped = d;
    char *r = strdup(raw ? raw : ""), *why = strdup(reason ? reason : "");
    if (!r || !why) {
        free(r);
        free(why);
        return ENV_ENOMEM;
    }
    d[o->n_dropped].raw = r;
    d[o->n_dropped].reason = why;
    o->n_dropped++;
    return ENV_OK;
}

int agt_outcome_add_call(agt_outcome_t *o, agt_call_t *call)
{
    agt_call_t *c = realloc(o->calls, (o->n_calls + 1) * sizeof *c);
    if (!c) return ENV_ENOMEM;
    o->calls = c;
    c[o->n_calls++] = *call;
    /* The bodies now belong to the outcome. */
    call->request_body = NULL;
    call->response_body = NULL;
    return ENV_OK;
}
