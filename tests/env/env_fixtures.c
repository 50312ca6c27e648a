/* env_fixtures.c: see env_fixtures.h. */
#include "env_fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fx_sink(void *ctx, json_t *ev)
{
    fx_log_t *log = ctx;
    if (log->n == log->cap) {
        log->cap = log->cap ? log->cap * 2 : 256;
        log->lines = realloc(log->lines, log->cap * sizeof *log->lines);
        assert_non_null(log->lines);
    }
    log->lines[log->n++] = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(ev);
}

void fx_log_free(fx_log_t *log)
{
    for (size_t i = 0; i < log->n; i++) free(log->lines[i]);
    free(log->lines);
    memset(log, 0, sizeof *log);
}

int fx_count(const fx_log_t *log, const char *type, const char *needle)
{
    char t[64];
    snprintf(t, sizeof t, "\"type\":\"%s\"", type);
    int n = 0;
    for (size_t i = 0; i < log->n; i++)
        if (strstr(log->lines[i], t) && (!needle || strstr(log->lines[i], needle))) n++;
    return n;
}

env_game_t *fx_game(env_config_t *c, fx_log_t *log)
{
    int err = -1;
    env_game_t *g = env_game_new(c, log ? fx_sink : NULL, log, &err);
    assert_non_null(g);
    assert_int_equal(err, ENV_OK);
    return g;
}

env_game_t *fx_paper(fx_log_t *log)
{
    env_config_t c;
    env_config_paper(&c);
    return fx_game(&c, log);
}

int fx_held(env_game_t *g, int agent)
{
    for (int p = 0; p < env_game_n_pieces(g); p++)
        if (env_agent_holds(g, agent, p)) return p;
    fail_msg("agent holds nothing");
    return -1;
}

int fx_value(env_game_t *g, int piece)
{
    return env_piece_value(g, piece);
}

int fx_holder(env_game_t *g, int piece, int except)
{
    for (int a = 0; a < env_game_n_agents(g); a++)
        if (a != except && env_agent_holds(g, a, piece)) return a;
    fail_msg("nobody holds piece %d", piece);
    return -1;
}

env_result_t fx_do_kind(env_game_t *g, int agent, env_turn_kind_t kind, env_action_t a)
{
    env_result_t r;
    assert_int_equal(env_apply(g, agent, kind, &a, 1, NULL, &r), ENV_OK);
    return r;
}

env_result_t fx_do(env_game_t *g, int agent, env_action_t a)
{
    return fx_do_kind(g, agent, ENV_TURN_NORMAL, a);
}

env_action_t fx_send_action(env_game_t *g, int to, const char **name, int64_t *value)
{
    return (env_action_t){.kind = ENV_ACT_SEND_INFORMATION,
                          .to = env_agent_id(g, to),
                          .n_info = 1,
                          .info = name,
                          .n_values = 1,
                          .value_names = name,
                          .values = value};
}

env_result_t fx_send(env_game_t *g, int from, int to, int piece, int64_t value)
{
    const char *name = env_piece_name(g, piece);
    return fx_do(g, from, fx_send_action(g, to, &name, &value));
}

env_result_t fx_submit(env_game_t *g, int agent, const char *answer)
{
    return fx_do(g, agent, (env_action_t){.kind = ENV_ACT_SUBMIT_TASK, .content = answer});
}

void fx_answer(env_game_t *g, int agent, int k, char *buf, size_t len)
{
    int n;
    const int *p = env_agent_task_pieces(g, agent, k, &n);
    int at = snprintf(buf, len, "Combined result of: ");
    for (int i = 0; i < n; i++)
        at += snprintf(buf + at, len - (size_t)at, "%s%s", i ? ", " : "", env_piece_name(g, p[i]));
}

void fx_supply_task(env_game_t *g, int agent, int k)
{
    int n;
    const int *p = env_agent_task_pieces(g, agent, k, &n);
    int pieces[64];
    memcpy(pieces, p, sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        if (env_agent_holds(g, agent, pieces[i])) continue;
        int h = fx_holder(g, pieces[i], agent);
        assert_int_equal(fx_send(g, h, agent, pieces[i], env_piece_value(g, pieces[i])).code,
                         ENV_OK);
    }
}
