/* env_fixtures.h: helpers shared by the environment's tests (tests/env):
 * an event log that keeps every event as compact JSON, and one-line ways to
 * create a game and apply single actions through the public API. */
#ifndef PARLEY_TEST_ENV_FIXTURES_H
#define PARLEY_TEST_ENV_FIXTURES_H

#include "env.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Every event as compact JSON text (keys sorted), for inspection. */
typedef struct {
    char **lines;
    size_t n, cap;
} fx_log_t;

/* The event sink for a fx_log_t (ctx). */
void fx_sink(void *ctx, json_t *ev);
void fx_log_free(fx_log_t *log);
/* Number of logged events of `type` whose text also contains `needle`. */
int fx_count(const fx_log_t *log, const char *type, const char *needle);
/* A new game of c, logging into log (may be NULL); fails the test otherwise. */
env_game_t *fx_game(env_config_t *c, fx_log_t *log);
/* A new game of the paper preset. */
env_game_t *fx_paper(fx_log_t *log);
/* The first piece `agent` holds. */
int fx_held(env_game_t *g, int agent);
int fx_value(env_game_t *g, int piece);
/* The first holder of piece other than `except` (fails the test if none). */
int fx_holder(env_game_t *g, int piece, int except);
/* One action applied as a turn of `kind` (fx_do: normal); returns its result. */
env_result_t fx_do_kind(env_game_t *g, int agent, env_turn_kind_t kind, env_action_t a);
env_result_t fx_do(env_game_t *g, int agent, env_action_t a);
/* A send_information of one piece (name and value borrowed). */
env_action_t fx_send_action(env_game_t *g, int to, const char **name, int64_t *value);
env_result_t fx_send(env_game_t *g, int from, int to, int piece, int64_t value);
env_result_t fx_submit(env_game_t *g, int agent, const char *answer);
/* "Combined result of: a, b, c, d" for the agent's k-th active task. */
void fx_answer(env_game_t *g, int agent, int k, char *buf, size_t len);
/* Gives `agent` every piece of its k-th task, at true values, from holders. */
void fx_supply_task(env_game_t *g, int agent, int k);

#endif
