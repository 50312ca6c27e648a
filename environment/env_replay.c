/* env_replay.c: changing the rules of a game in progress, for parley fork (a
 * counterfactual: everything before round K as recorded, one setting changed
 * from round K on). Kept apart from env.c: only the broker's replay uses it. */
#include "env_internal.h"

#include <stdio.h>
#include <string.h>

int env_game_reconfigure(env_game_t *g, const env_config_t *c, char *err, size_t errlen)
{
    /* What shapes the world was fixed when the game was created: changing it
     * now would describe a different world, not the same one played on. */
#define S_FIXED(field, key)                                                                        \
    if (memcmp(&g->cfg.field, &c->field, sizeof c->field) != 0) {                                  \
        snprintf(err, errlen, "%s cannot change during a game (it shapes the world)", key);        \
        return ENV_ECONFIG;                                                                        \
    }
    S_FIXED(seed, "seed")
    S_FIXED(n_agents, "simulation.agents")
    S_FIXED(total_pieces, "information.total_pieces")
    S_FIXED(pieces_per_agent, "information.pieces_per_agent")
    S_FIXED(pieces_per_task, "tasks.pieces_per_task")
    S_FIXED(active_per_agent, "tasks.active_per_agent")
    S_FIXED(type_counts, "agent_types")
#undef S_FIXED
    if (c->rounds < g->round) {
        snprintf(err, errlen, "simulation.rounds %d: round %d is already under way", c->rounds,
                 g->round);
        return ENV_ECONFIG;
    }
    int rc = env_config_check(c, err, errlen);
    if (rc != ENV_OK) return rc;
    g->cfg = *c;
    return ENV_OK;
}
