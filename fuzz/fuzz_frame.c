/* fuzz_frame.c: a frame from an agent, as the broker reads it: decoded with
 * the text checks (wire_unpack_text: size limit, UTF-8 repair), and a
 * Decision's actions validated and applied to a live game (env_apply), as
 * brk_dispatch.c does. A game over starts a new game. */
#include "env.h"
#include "wire.h"
#include "wire_text.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static env_game_t *s_game;

static void s_sink(void *ctx, json_t *ev)
{
    (void)ctx;
    json_decref(ev); /* the sink owns the event */
}

static env_game_t *s_new_game(void)
{
    env_config_t c;
    env_config_paper(&c);
    c.rounds = 2;
    int err = 0;
    return env_game_new(&c, s_sink, NULL, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_game) s_game = s_new_game();
    if (!s_game) return 0;
    json_t *fixed = NULL;
    int err = 0;
    Parley__Envelope *e = wire_unpack_text(data, size, WIRE_MAX_AGENT_MSG, &fixed, &err);
    json_decref(fixed);
    if (!e) return 0;
    if (e->body_case == PARLEY__ENVELOPE__BODY_DECISION) {
        wire_arena_t *a = wire_arena_new();
        env_action_t *acts = NULL;
        size_t n = 0;
        if (a && wire_actions_from_pb(a, e->decision, &acts, &n) == 0) {
            env_result_t *res = calloc(n ? n : 1, sizeof *res);
            int agent = (int)(e->seq % (uint64_t)env_game_n_agents(s_game));
            if (res && env_apply(s_game, agent, ENV_TURN_NORMAL, acts, n,
                                 e->decision->private_thoughts, res) == ENV_EGAME_OVER) {
                env_game_destroy(&s_game);
            }
            free(res);
        }
        wire_arena_destroy(&a);
    }
    wire_free(&e);
    return 0;
}
