/* pl_config_orig.h: the study's own configuration format (the config YAML
 * files of advtydv/ZeroCostCollaboration, the plain and the automated variant)
 * read into a parley pl_config_t, so `parley run` and `parley sweep` take those
 * files as they are.
 *
 * A file is in the original's format when it uses a key only the original has
 * (tasks.min_info_pieces, tasks.initial_tasks_per_agent, simulation.show_full_revenue,
 * simulation.automation_mode, agents.model, agents.agent_modes, logging, ...).
 * Every key of the original maps onto parley's keys (docs/FIDELITY.md lists
 * them); a key parley cannot honour is refused with "FILE:LINE: KEY: why".
 * Seats follow agents.mode: llm (every seat an llm seat of agents.model, its
 * endpoint chosen from the model name as the original chooses it), perfect, or
 * mixed (agents.agent_modes, unlisted seats perfect).
 */
#ifndef PARLEY_PL_CONFIG_ORIG_H
#define PARLEY_PL_CONFIG_ORIG_H

#include "pl_config.h"

#include <stdbool.h>
#include <stddef.h>

/* Whether the YAML text uses a key that only the original's format has. */
bool pl_config_orig_detect(const char *text, size_t len);
/* Translates a file in the original's format; NULL with "NAME:LINE: message"
 * in err when a key cannot be honoured. */
pl_config_t *pl_config_orig_parse(const char *text, size_t len, const char *name, char *err,
                                  size_t errlen);
/* Reads a configuration file in either format (the front door of `parley run`
 * and `parley sweep`). */
pl_config_t *pl_config_load_any(const char *path, char *err, size_t errlen);

#endif
