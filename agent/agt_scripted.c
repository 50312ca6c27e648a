/* agt_scripted.c: the scripted policies (perfect, passive, selfish, helper,
 * random) as agent policies. Each wraps env_policy_decide, so a seat played by
 * a separate process decides exactly as the same policy does in-process
 * (env_play): that is what makes "perfect agents as processes reach the
 * in-process ceiling" hold. They answer at once, inside decide(). */
#include "agt_scripted.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    env_policy_t policy;
    const env_names_t *names; /* owned by the agent, lives as long as the policy */
    uint64_t rng;
} s_scripted_t;

static int s_create(env_policy_t p, void **self, const agt_context_t *ctx, char *err, size_t errlen)
{
    s_scripted_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return ENV_ENOMEM;
    }
    s->policy = p;
    s->names = ctx->names;
    /* Seeded by seat, so a random seat is reproducible from run to run. */
    s->rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(ctx->agent + 1);
    *self = s;
    return ENV_OK;
}

static int s_decide(void *self, uint64_t turn_id, const env_obs_t *obs, double deadline_s,
                    agt_decided_fn done, void *arg)
{
    (void)deadline_s;
    s_scripted_t *s = self;
    agt_outcome_t *o = agt_outcome_new();
    if (!o) return ENV_ENOMEM;
    int rc = env_policy_decide(s->policy, s->names, obs, &s->rng, o->decision);
    if (rc != ENV_OK) {
        agt_outcome_destroy(&o);
        return rc;
    }
    if (env_decision_count(o->decision) == 0)
        snprintf(o->empty_reason, sizeof o->empty_reason, "%s: nothing to do",
                 env_policy_name(s->policy));
    done(arg, turn_id, o);
    return ENV_OK;
}

static void s_cancel(void *self)
{
    (void)self; /* decisions are immediate: nothing in flight */
}

static void s_destroy(void *self)
{
    free(self);
}

#define S_SCRIPTED(NAME, POLICY)                                                                   \
    static int s_create_##NAME(void **self, const agt_context_t *ctx, char *err, size_t errlen)    \
    {                                                                                              \
        return s_create(POLICY, self, ctx, err, errlen);                                           \
    }                                                                                              \
    const agt_policy_ops_t agt_##NAME##_ops = {.name = #NAME,                                      \
                                               .create = s_create_##NAME,                          \
                                               .decide = s_decide,                                 \
                                               .cancel = s_cancel,                                 \
                                               .destroy = s_destroy};

S_SCRIPTED(perfect, ENV_POLICY_PERFECT)
S_SCRIPTED(passive, ENV_POLICY_PASSIVE)
S_SCRIPTED(selfish, ENV_POLICY_SELFISH)
S_SCRIPTED(helper, ENV_POLICY_HELPER)
S_SCRIPTED(random, ENV_POLICY_RANDOM)
