/* llm_model.h: an observation -> the data tree a prompt template reads.
 *
 * Every variable is listed in docs/LLM.md ("Template variables"); `parley
 * prompt --data` prints one turn's tree. The tree is plain data (jansson):
 * the template language (llm_template.h) only loops over it and tests it. */
#ifndef PARLEY_LLM_MODEL_H
#define PARLEY_LLM_MODEL_H

#include "agt_policy.h"
#include "env.h"

#include <jansson.h>

/* The data of one turn. `feedback` (may be NULL) lists what was wrong with
 * the previous reply. Uses ctx->names, ctx->rules, ctx->type, ctx->config.
 * Caller decrefs; NULL when out of memory. */
json_t *llm_model_new(const agt_context_t *ctx, const env_obs_t *obs, const char *feedback);

/* Replaces bytes that are not valid UTF-8 with '?' in place (JSON requests
 * need UTF-8; message contents come from other models, templates from files). */
void llm_model_utf8_fix(char *s);

#endif
