/* llm_preview.c: a perfect-play history, then one seat's prompt (llm_preview.h).
 *
 * The loop is env_play()'s (turns in the round's order, reply turns for the
 * reactive perfect seats right after the turn that asked them), stopped at
 * the seat's normal turn in the round asked for. A conversation template (the
 * `cache` prompt) is rendered at every one of the seat's turns on the way, and
 * each of its perfect decisions kept as the seat's assistant message, as a
 * live llm seat keeps its own: the prompt shown is then the whole
 * conversation its model would read. */
#include "llm_preview.h"
#include "llm_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The previewed seat's conversation on the way to its turn: NULL for the
 * other seats and for templates that are not conversations. */
typedef struct {
    llm_prompter_t *pr;
    const agt_context_t *ctx;
    char *err;
    size_t errlen;
} s_conv_t;

/* One turn of the perfect policy, then the reply turns it caused. For the
 * seat whose conversation is kept (conv), the turn is rendered first and its
 * decision kept, as an llm seat does. */
static int s_turn(env_game_t *g, int a, env_turn_kind_t kind, const env_names_t *names,
                  env_decision_t *d, env_result_t **res, size_t *cap, const s_conv_t *conv)
{
    env_obs_t o;
    uint64_t rng = 0;
    int rc = env_observe(g, a, kind, &o);
    if (!rc && conv) {
        llm_prompt_t turn;
        if (llm_prompter_next(conv->pr, conv->ctx, &o, NULL, &turn, NULL, conv->err,
                              conv->errlen) != 0)
            return ENV_EINVAL;
        llm_prompt_clear(&turn);
    }
    if (!rc) rc = env_policy_decide(ENV_POLICY_PERFECT, names, &o, &rng, d);
    if (!rc && conv && llm_prompter_keep_decision(conv->pr, d) != 0) rc = ENV_ENOMEM;
    if (rc) return rc;
    size_t n = env_decision_count(d);
    if (n > *cap) {
        env_result_t *r = realloc(*res, n * sizeof *r);
        if (!r) return ENV_ENOMEM;
        *res = r;
        *cap = n;
    }
    rc = env_apply(g, a, kind, env_decision_actions(d), n, env_decision_get_thoughts(d), *res);
    return rc == ENV_EGAME_OVER ? ENV_OK : rc;
}

int llm_preview(const pl_config_t *cfg, int seat, int round, llm_prompt_t *out, const char **spec,
                json_t **data, json_t **history, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (data) *data = NULL;
    if (history) *history = NULL;
    if (errlen) err[0] = '\0';
    if (!cfg) {
        snprintf(err, errlen, "no configuration");
        return -1;
    }
    if (seat < 0 || seat >= cfg->game.n_agents) {
        snprintf(err, errlen, "no seat agent_%d: this configuration has agent_1 .. agent_%d",
                 seat + 1, cfg->game.n_agents);
        return -1;
    }
    if (round < 1 || round > cfg->game.rounds) {
        snprintf(err, errlen, "no round %d: this configuration plays rounds 1 .. %d", round,
                 cfg->game.rounds);
        return -1;
    }
    int e = 0, rc = -1, n_rep = 0;
    env_game_t *g = env_game_new(&cfg->game, NULL, NULL, &e);
    env_decision_t *d = env_decision_new();
    int *replies = malloc(sizeof(int) * (size_t)cfg->game.n_agents);
    env_result_t *res = NULL;
    size_t cap = 0;
    llm_prompter_t *pr = NULL;
    if (!g || !d || !replies) {
        snprintf(err, errlen, "cannot start the game: %s", g ? "out of memory" : env_strerror(e));
        goto done;
    }
    env_names_t names;
    env_game_names(g, &names);
    agt_context_t ctx = {
        .agent = seat,
        .rules = env_game_config(g),
        .type = env_agent_type(g, seat),
        .names = &names,
        .seat = &cfg->seats[seat],
        .config = cfg,
        .timing = pl_timing_name(cfg->timing),
    };
    if (spec) *spec = llm_prompt_spec(&ctx);
    if (!(pr = llm_prompter_new(&ctx, err, errlen))) goto done;
    s_conv_t conv = {pr, &ctx, err, errlen};
    const s_conv_t *mine = llm_prompter_is_conversation(pr) ? &conv : NULL;
    for (int i = 0; i < cfg->game.n_agents; i++) env_set_reactive(g, i, true);
    while (env_round_begin(g) == ENV_OK) {
        int n;
        const int *order = env_round_order(g, &n);
        for (int i = 0; i < n; i++) {
            int a = order[i];
            if (env_round(g) == round && a == seat) {
                env_obs_t o;
                if (env_observe(g, seat, ENV_TURN_NORMAL, &o) != ENV_OK) {
                    snprintf(err, errlen, "cannot observe agent_%d", seat + 1);
                    goto done;
                }
                if (mine) {
                    /* the whole conversation: this turn appended to what was kept */
                    rc = llm_prompter_next(pr, &ctx, &o, NULL, out, NULL, err, errlen);
                    const json_t *h = llm_prompter_history(pr), *m = llm_prompter_last_data(pr);
                    if (rc == 0 && ((history && !(*history = json_deep_copy(h))) ||
                                    (data && !(*data = json_deep_copy(m))))) {
                        snprintf(err, errlen, "out of memory");
                        rc = -1;
                    }
                } else {
                    rc = llm_prompter_render(pr, &ctx, &o, NULL, out, err, errlen);
                    if (rc == 0 && data && !(*data = llm_model_new(&ctx, &o, NULL))) {
                        snprintf(err, errlen, "out of memory");
                        rc = -1;
                    }
                }
                if (rc != 0) {
                    llm_prompt_clear(out);
                    if (data) {
                        json_decref(*data);
                        *data = NULL;
                    }
                    if (history) {
                        json_decref(*history);
                        *history = NULL;
                    }
                }
                goto done;
            }
            if (s_turn(g, a, ENV_TURN_NORMAL, &names, d, &res, &cap, a == seat ? mine : NULL))
                goto fail;
            n_rep = env_take_replies(g, replies, cfg->game.n_agents);
            for (int k = 0; k < n_rep; k++)
                if (s_turn(g, replies[k], ENV_TURN_REPLY, &names, d, &res, &cap,
                           replies[k] == seat ? mine : NULL))
                    goto fail;
        }
        if (env_round_end(g) != ENV_OK) goto oom;
    }
    snprintf(err, errlen, "the game ended before agent_%d's turn in round %d", seat + 1, round);
    goto done;
fail:
    if (err[0]) goto done; /* the template's own message (FILE:LINE: ...) */
oom:
    snprintf(err, errlen, "out of memory while playing the history");
done:
    llm_prompter_destroy(&pr);
    free(res);
    free(replies);
    env_decision_destroy(&d);
    env_game_destroy(&g);
    return rc;
}
