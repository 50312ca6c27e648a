/* llm_preview.h: what a seat's model would read at a given turn, before any
 * model is paid for. The configuration's game is played in-process with the
 * environment's perfect policy at every seat (a history anyone can rebuild
 * from the seed), up to the seat's turn in the round asked for; that seat's
 * observation is then rendered with its own template (llm_prompt). Used by
 * `parley prompt` and by the golden prompt tests. */
#ifndef PARLEY_LLM_PREVIEW_H
#define PARLEY_LLM_PREVIEW_H

#include "llm_prompt.h"
#include "pl_config.h"

#include <stddef.h>

/* Renders agent index `seat`'s prompt at its turn of round `round` (1-based)
 * into *out (owned by the caller, llm_prompt_clear). `spec`, if not NULL,
 * receives the template's name (static or owned by cfg); `data`, if not NULL,
 * the tree the template read (caller decrefs). For a conversation template
 * (the `cache` prompt) out->user is this turn's message, and `history`, if
 * not NULL, receives every message after the system part, this turn's last,
 * as [{role, content}] (caller decrefs; NULL for other templates). Returns 0,
 * or -1 with a sentence in err (bad seat or round, template error
 * "FILE:LINE: ..."). */
int llm_preview(const pl_config_t *cfg, int seat, int round, llm_prompt_t *out, const char **spec,
                json_t **data, json_t **history, char *err, size_t errlen);

#endif
