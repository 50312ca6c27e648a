/* outcome_standin.c: agt_outcome_* for the llm tests while parley_agent (which
 * owns the real implementation) is not built. Same contract as agt_policy.h. */
#include "agt_policy.h"

#include <stdlib.h>
#include <string.h>

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

void agt_outcome_destroy(agt_outcome_t **op)
{
    if (!op || !*op) return;
    agt_outcome_t *o = *op;
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
    *op = NULL;
}

int agt_outcome_drop(agt_outcome_t *o, const char *raw, const char *reason)
{
    agt_dropped_t *d = realloc(o->dropped, (o->n_dropped + 1) * sizeof *d);
    if (!d) return ENV_ENOMEM;
    o->dropped = d;
    d[o->n_dropped].raw = strdup(raw ? raw : "");
    d[o->n_dropped].reason = strdup(reason ? reason : "");
    o->n_dropped++;
    return ENV_OK;
}

int agt_outcome_add_call(agt_outcome_t *o, agt_call_t *call)
{
    agt_call_t *c = realloc(o->calls, (o->n_calls + 1) * sizeof *c);
    if (!c) return ENV_ENOMEM;
    o->calls = c;
    c[o->n_calls++] = *call;
    call->request_body = call->response_body = NULL;
    return ENV_OK;
}
