/* ana_exec.h: the in-process executor of `parley sweep` (executor: inprocess).
 * Plays one game with the environment's scripted policies, no broker and no
 * processes, and writes the same run directory `parley run` writes:
 * config.json, events.jsonl (without t_ms: there is no broker clock) and, last,
 * summary.json, whose presence means "this run is done". */
#ifndef PARLEY_ANA_EXEC_H
#define PARLEY_ANA_EXEC_H

#include "pl_config.h"
#include "pl_meta.h"

#include <stddef.h>

/* Whether every seat of c is a built-in policy (perfect, passive, selfish,
 * helper, random); if not, err names the first seat that is not. */
bool ana_exec_inprocess_ok(const pl_config_t *c, char *err, size_t errlen);
/* Plays c into the directory `dir` (created if missing; files in it are
 * replaced), with meta.json recording seed_source. Returns 0, or -1 with err. */
int ana_exec_inprocess(const pl_config_t *c, const char *dir, pl_seed_source_t seed_source,
                       char *err, size_t errlen);

#endif
