/* llm_prompt.h: an observation -> the text a model reads.
 *
 * The words live in templates (the .tmpl files of prompts/, llm_template.h), never here:
 * llm_model turns the structured observation into the data tree a template
 * reads (every variable is listed in docs/LLM.md); this module picks the seat's
 * template, checks it and renders it. Built-in templates:
 *   paper  the study's prompt: its information, section by section and in its
 *          order, with its quirks; it picks the study's own variant for the
 *          automated arms and for mixed games (agents.mode: mixed)
 *   clear  parley's clearer prompt for new studies, one user message
 *   cache  the clear prompt as a conversation ({{$turn}}): what never changes
 *          in a game in the system message, the whole state in the first
 *          turn, then per turn the seat's previous decision (compact JSON,
 *          llm_prompter_keep_decision) and a user message with only what
 *          changed, so that each request is the previous one plus new
 *          messages and providers' caches hit it all
 * Any other name is a template FILE (`llm.prompt: FILE`, or a seat's `prompt`).
 * Truncated histories (rules->truncate_history) arrive already cut. */
#ifndef PARLEY_LLM_PROMPT_H
#define PARLEY_LLM_PROMPT_H

#include "agt_policy.h"
#include "env.h"
#include "llm_template.h"

#include <jansson.h>

typedef enum {
    LLM_LAYOUT_PAPER = 0,
    LLM_LAYOUT_CACHE,
    LLM_LAYOUT_CLEAR,
    LLM_LAYOUT_COUNT
} llm_layout_t;

/* "paper" | "cache" | "clear" -> layout; NULL or "" -> paper; -1 otherwise. */
int llm_layout_from_name(const char *name);
const char *llm_layout_name(llm_layout_t l);

/* A rendered prompt; both strings owned, valid UTF-8. */
typedef struct {
    char *system; /* NULL when the template has no system part */
    char *user;
} llm_prompt_t;

/* The template a seat reads: its own `prompt`, else the configuration's
 * `llm.prompt`, else its `prompt_layout`, else "paper". Never NULL. */
const char *llm_prompt_spec(const agt_context_t *ctx);

/* One seat's loaded template. */
typedef struct llm_prompter llm_prompter_t;

/* Loads the seat's template (llm_prompt_spec) and renders it once against an
 * empty turn, so a wrong name fails now rather than on the first turn.
 * Returns an owned prompter, or NULL with "FILE:LINE: message" in err. */
llm_prompter_t *llm_prompter_new(const agt_context_t *ctx, char *err, size_t errlen);
void llm_prompter_destroy(llm_prompter_t **p);
/* What was loaded: "paper", "clear", "cache" or the file's path. */
const char *llm_prompter_name(const llm_prompter_t *p);
/* Whether the system part is stable for a game and worth cache hints
 * (`cache`, and a template FILE with a system part). */
bool llm_prompter_cacheable(const llm_prompter_t *p);
/* Renders one turn. Returns 0, or -1 with the message in err. */
int llm_prompter_render(const llm_prompter_t *p, const agt_context_t *ctx, const env_obs_t *obs,
                        const char *feedback, llm_prompt_t *out, char *err, size_t errlen);

/* A conversation template ({{$turn}}, the built-in `cache`): each request is
 * the previous one plus this turn's user message (what is new since the
 * seat's last turn) and the model's reply before it, so providers' prompt
 * caches hit all but the newest messages. */
bool llm_prompter_is_conversation(const llm_prompter_t *p);
/* Renders the next turn. For a conversation: against what is new since the
 * last turn kept, and appends it to the history (llm_prompter_history); when
 * system + history + this turn would pass the window, the history is dropped
 * first and this turn is rendered as a first turn (*reset = true, if given).
 * Otherwise the same as llm_prompter_render. Returns 0, or -1 with err. */
int llm_prompter_next(llm_prompter_t *p, const agt_context_t *ctx, const env_obs_t *obs,
                      const char *feedback, llm_prompt_t *out, bool *reset, char *err,
                      size_t errlen);
/* A conversation's messages after the system part, [{role, content}], the
 * last being this turn's; borrowed. NULL when the template is not one. */
const json_t *llm_prompter_history(const llm_prompter_t *p);
/* The data tree the last llm_prompter_next rendered a conversation's turn
 * from (with what was new: llm_delta.h); borrowed. NULL when the template is
 * not a conversation or nothing was rendered yet. */
const json_t *llm_prompter_last_data(const llm_prompter_t *p);
/* Keeps the model's reply as an assistant message (no-op if not a
 * conversation). Returns 0, or -1 when out of memory. */
int llm_prompter_keep_reply(llm_prompter_t *p, const char *text);
/* Keeps the seat's decision as its assistant message: compact JSON,
 * {"actions":[{"type":...},...],"private_thoughts":"..."} (no thoughts: no
 * key), each action's keys in a fixed order, what the parser read rather
 * than the reply's text (no fences, reasoning, spacing or dropped items),
 * sends to one recipient as one action, so that the kept history is short
 * and written the same way every turn. A
 * NULL d keeps {"actions":[]}. No-op if not a conversation. Returns 0, or -1
 * when out of memory. */
int llm_prompter_keep_decision(llm_prompter_t *p, const env_decision_t *d);
/* The window in bytes of system + history (default 256 KiB); tests shrink it. */
void llm_prompter_set_window(llm_prompter_t *p, size_t bytes);
/* How many times the window has reset the history. */
int llm_prompter_resets(const llm_prompter_t *p);
/* A conversation as one string: system, then each message, blank-line
 * separated (what the model reads, for the prefix share); caller frees. */
char *llm_conversation_flat(const char *system, const json_t *history);

/* Loads and dry-renders seat index `seat`'s template before a game starts
 * (`parley run`). Returns 0, or -1 with "FILE:LINE: message" in err. */
int llm_prompt_check(const pl_config_t *cfg, int seat, char *err, size_t errlen);

/* One turn with a built-in layout (tests, benchmarks). Returns 0, or
 * ENV_ENOMEM / ENV_EINVAL. */
int llm_prompt_render(const agt_context_t *ctx, const env_obs_t *obs, llm_layout_t layout,
                      const char *feedback, llm_prompt_t *out);
void llm_prompt_clear(llm_prompt_t *p);

/* The whole prompt as one string (system, blank line, user); caller frees. */
char *llm_prompt_flat(const llm_prompt_t *p);

/* Share (0..1) of `cur` that is a byte-identical prefix of `prev` (NULL prev -> 0). */
double llm_prefix_share(const char *prev, const char *cur);

#endif
