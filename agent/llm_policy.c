/* llm_policy.c: the `llm` policy of parley-agent: one seat played by a language
 * model behind an HTTP API (OpenAI chat-completions or Anthropic Messages).
 *
 * Placeholder while the modules behind it (llm_http, llm_provider, llm_prompt,
 * llm_parse) are written: decide() refuses with a clear error. */
#include "agt_policy.h"
#include "env.h"

#include <stdio.h>

static int s_create(void **self, const agt_context_t *ctx, char *err, size_t errlen)
{
    (void)ctx;
    *self = NULL;
    if (err && errlen) snprintf(err, errlen, "the llm policy is not built yet");
    return ENV_EINVAL;
}

static int s_decide(void *self, uint64_t turn_id, const env_obs_t *obs, double deadline_s,
                    agt_decided_fn done, void *arg)
{
    (void)self, (void)turn_id, (void)obs, (void)deadline_s, (void)done, (void)arg;
    return ENV_EINVAL;
}

static void s_cancel(void *self)
{
    (void)self;
}

static void s_notice(void *self, const char *what, const char *text)
{
    (void)self, (void)what, (void)text;
}

static void s_destroy(void *self)
{
    (void)self;
}

const agt_policy_ops_t agt_llm_ops = {
    .name = "llm",
    .create = s_create,
    .decide = s_decide,
    .cancel = s_cancel,
    .notice = s_notice,
    .destroy = s_destroy,
};
