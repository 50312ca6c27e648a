/* llm_prompt.h: an observation -> the text a model reads.
 *
 * GAME.md "What an agent sees each turn": 13 sections, in order. Two layouts:
 * `paper` puts them, in GAME.md's order, into one user message (as the study
 * did); `cache` puts what never changes in a game (identity, goal, actions,
 * rules, reply format) into the system prompt and the state after it, slowest
 * changing first, so that providers' prompt caches hit a long prefix.
 * Truncated histories (rules->truncate_history) arrive already cut by the
 * environment. */
#ifndef PARLEY_LLM_PROMPT_H
#define PARLEY_LLM_PROMPT_H

#include "agt_policy.h"
#include "env.h"

typedef enum { LLM_LAYOUT_PAPER = 0, LLM_LAYOUT_CACHE, LLM_LAYOUT_COUNT } llm_layout_t;

/* "paper" | "cache" -> layout; NULL or "" -> paper; -1 if unknown. */
int llm_layout_from_name(const char *name);
const char *llm_layout_name(llm_layout_t l);

/* A rendered prompt; both strings owned, valid UTF-8. */
typedef struct {
    char *system; /* NULL in the paper layout */
    char *user;
} llm_prompt_t;

/* Renders one turn. `feedback` (may be NULL) lists what was wrong with the
 * previous reply (dropped actions), shown among the notifications. Uses
 * ctx->names, ctx->rules, ctx->type, ctx->agent. Returns 0, or ENV_ENOMEM /
 * ENV_EINVAL. */
int llm_prompt_render(const agt_context_t *ctx, const env_obs_t *obs, llm_layout_t layout,
                      const char *feedback, llm_prompt_t *out);
void llm_prompt_clear(llm_prompt_t *p);

/* The whole prompt as one string (system, blank line, user); caller frees. */
char *llm_prompt_flat(const llm_prompt_t *p);

/* Share (0..1) of `cur` that is a byte-identical prefix of `prev` (NULL prev -> 0). */
double llm_prefix_share(const char *prev, const char *cur);

/* The goal paragraph of an agent type (GAME.md "Agent types"). Never NULL. */
const char *llm_goal_text(env_type_t type);

#endif
