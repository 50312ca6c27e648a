/* agt_names.h: a game's names known before its Welcome.
 *
 * The seat launcher loads the run's configuration once for all its seats;
 * from it, it builds the world's agent ids and piece names once (the broker
 * builds the same world from the same file), with their patterns
 * (wire_names.h). A seat forked from the launcher shares those pages: when its
 * Welcome's patterns are the same, it takes these tables instead of
 * rebuilding 10,000 names (330 KiB) of its own. Anything else (another seed, a
 * fork's rules, whole lists) and the seat rebuilds them from the Welcome as
 * usual: the Welcome is always the truth.
 */
#ifndef PARLEY_AGT_NAMES_H
#define PARLEY_AGT_NAMES_H

#include "env.h"
#include "parley.pb-c.h"

#include <stddef.h>

typedef struct agt_names agt_names_t;

/* The names of the world the configuration `game` makes, or NULL (out of
 * memory, a configuration the environment refuses, names that do not fit
 * patterns): the seats then rebuild their own. */
agt_names_t *agt_names_new(const env_config_t *game);
void agt_names_destroy(agt_names_t **n);

/* The agent ids (pieces false) or piece names (pieces true) if m describes
 * exactly them, with their count in *count; else NULL. Borrowed from n. */
char *const *agt_names_match(const agt_names_t *n, const Parley__Names *m, bool pieces,
                             size_t *count);

#endif
