/* test_llm_conversation.c: the cache prompt's conversation over whole games
 * (agent/llm_prompt.c's prompter, agent/llm_delta.c, prompts/cache/), in
 * process, every seat through its own prompter:
 * - with perfect play, each seat's history is its previous one plus this
 *   turn's messages, all game, and most of each prompt is a reusable prefix;
 * - under a small window the history restarts from the whole state;
 * - a turn appends what changed since the seat's previous one and nothing
 *   more (an idle seat's turn is two lines; one piece moved reaches each seat
 *   once). */
#include "env.h"
#include "llm_prompt.h"
#include "pl_config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ------------------------------------------ the cache conversation -- */

/* Plays the paper preset with perfect agents; every seat's turn goes through
 * its own `cache` prompter, whose window is `window` bytes (0: the default).
 * Checks at every turn that the kept history is the previous one plus this
 * turn's message, or, when the window bites, that it restarts with the whole
 * state and no more than the window. Returns the resets of all seats. */
static int s_conversation_game(size_t window, double *share_after_2, double *min_after_2)
{
    env_config_t c;
    env_config_paper(&c);
    int err;
    env_game_t *g = env_game_new(&c, NULL, NULL, &err);
    assert_non_null(g);
    env_names_t names;
    env_game_names(g, &names);
    pl_seat_t seat = {.policy = "llm", .model = "m", .prompt = "cache"};
    llm_prompter_t *pr[ENV_MAX_AGENTS] = {0};
    char *prev[ENV_MAX_AGENTS] = {0};
    env_decision_t *d = env_decision_new();
    uint64_t rng = 1;
    int resets = 0, n_share = 0;
    double share = 0, lo = 1;
    char perr[300];
    while (env_round_begin(g) == ENV_OK) {
        int cnt;
        const int *order = env_round_order(g, &cnt);
        for (int k = 0; k < cnt; k++) {
            int a = order[k];
            agt_context_t ctx = {
                .agent = a, .rules = env_game_config(g), .names = &names, .seat = &seat};
            if (!pr[a]) {
                pr[a] = llm_prompter_new(&ctx, perr, sizeof perr);
                if (!pr[a]) fail_msg("%s", perr);
                assert_true(llm_prompter_is_conversation(pr[a]));
                if (window) llm_prompter_set_window(pr[a], window);
            }
            env_obs_t o;
            env_observe(g, a, ENV_TURN_NORMAL, &o);
            json_t *before = json_deep_copy(llm_prompter_history(pr[a]));
            llm_prompt_t p;
            bool reset = false;
            if (llm_prompter_next(pr[a], &ctx, &o, NULL, &p, &reset, perr, sizeof perr) != 0)
                fail_msg("%s", perr);
            const json_t *h = llm_prompter_history(pr[a]);
            size_t nb = json_array_size(before), nh = json_array_size(h);
            const char *turn =
                json_string_value(json_object_get(json_array_get(h, nh - 1), "content"));
            assert_string_equal(turn, p.user);
            if (reset) {
                resets++;
                assert_int_equal(nh, 1);
                assert_non_null(strstr(turn, "## Information directory (who holds what"));
            } else {
                assert_int_equal(nh, nb + 1);
                for (size_t i = 0; i < nb; i++)
                    assert_true(json_equal(json_array_get(before, i), json_array_get(h, i)));
                if (nb) assert_null(strstr(turn, "## Information directory (who holds what"));
            }
            char *flat = llm_conversation_flat(p.system, h);
            assert_non_null(flat);
            if (window && nh > 1) assert_true(strlen(flat) <= window);
            if (prev[a] && o.round > 2) {
                double sh = llm_prefix_share(prev[a], flat);
                share += sh;
                if (sh < lo) lo = sh;
                n_share++;
            }
            free(prev[a]);
            prev[a] = flat;
            json_decref(before);
            llm_prompt_clear(&p);
            env_policy_decide(ENV_POLICY_PERFECT, &names, &o, &rng, d);
            assert_int_equal(llm_prompter_keep_decision(pr[a], d), 0);
            env_result_t res[512];
            env_apply(g, a, ENV_TURN_NORMAL, env_decision_actions(d), env_decision_count(d), NULL,
                      res);
        }
        env_round_end(g);
    }
    for (int a = 0; a < ENV_MAX_AGENTS; a++) {
        if (pr[a] && window) assert_true(llm_prompter_resets(pr[a]) > 0); /* every seat */
        llm_prompter_destroy(&pr[a]);
        free(prev[a]);
    }
    env_decision_destroy(&d);
    env_game_destroy(&g);
    if (share_after_2) *share_after_2 = n_share ? share / n_share : 0;
    if (min_after_2) *min_after_2 = n_share ? lo : 0;
    return resets;
}

static void test_cache_conversation_appends(void **state)
{
    (void)state;
    double share = 0, lo = 0;
    /* a paper-sized game (10 seats, 20 rounds) stays inside the default window */
    assert_int_equal(s_conversation_game(0, &share, &lo), 0);
    print_message("cache conversation, perfect play: prefix share after round 2 mean %.3f, "
                  "lowest %.3f\n",
                  share, lo);
    assert_true(share > 0.85);
}

static void test_cache_conversation_window_resets(void **state)
{
    (void)state;
    /* a small window bites: each seat starts over from the whole state */
    assert_true(s_conversation_game(24 * 1024, NULL, NULL) >= 10);
}

/* A turn appends what changed since the seat's previous one and nothing more.
 * Every seat of a paper game idles (no actions), except that in round 2
 * agent_1 sends two pieces to agent_2, one action each. Then a quiet turn is
 * the round line and the closing line only; the transfer reaches each seat
 * once: agent_2 reads it as received (with values and sender), every other
 * seat as a new holder, every seat but agent_1 as an exchange (agent_1's is
 * its kept decision, which shows the two sends as one); no turn after the
 * first re-lists the tasks, the pieces, the directory or the board. */
static void test_cache_turn_holds_only_news(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    int err;
    env_game_t *g = env_game_new(&c, NULL, NULL, &err);
    assert_non_null(g);
    env_names_t names;
    env_game_names(g, &names);
    pl_seat_t seat = {.policy = "llm", .model = "m", .prompt = "cache"};
    llm_prompter_t *pr[ENV_MAX_AGENTS] = {0};
    env_decision_t *d = env_decision_new();
    char perr[300], piece[128] = "", received[512] = "", holder[512] = "", kept[512] = "";
    int seen_received[ENV_MAX_AGENTS] = {0}, seen_holder[ENV_MAX_AGENTS] = {0},
        seen_exchange[ENV_MAX_AGENTS] = {0};
    for (int round = 1; round <= 5 && env_round_begin(g) == ENV_OK; round++) {
        int cnt;
        const int *order = env_round_order(g, &cnt);
        for (int k = 0; k < cnt; k++) {
            int a = order[k];
            agt_context_t ctx = {
                .agent = a, .rules = env_game_config(g), .names = &names, .seat = &seat};
            if (!pr[a] && !(pr[a] = llm_prompter_new(&ctx, perr, sizeof perr)))
                fail_msg("%s", perr);
            env_obs_t o;
            env_observe(g, a, ENV_TURN_NORMAL, &o);
            llm_prompt_t p;
            if (llm_prompter_next(pr[a], &ctx, &o, NULL, &p, NULL, perr, sizeof perr) != 0)
                fail_msg("%s", perr);
            const char *u = p.user;
            if (round > 1) {
                static const char *const stale[] = {
                    "## Your tasks",   "## Your information", "## Information directory",
                    "## Revenue",      "## New tasks",        "## Messages to you",
                    "## Notifications"};
                for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++)
                    if (strstr(u, stale[i]))
                        fail_msg("agent_%d round %d re-lists \"%s\":\n%s", a + 1, round, stale[i],
                                 u);
                const char *r = strstr(u, received), *h = strstr(u, holder),
                           *x = strstr(u, "## Exchanges\n- agent_1 -> agent_2 (2 pieces)\n");
                seen_received[a] += piece[0] && r != NULL;
                seen_holder[a] += piece[0] && h != NULL;
                seen_exchange[a] += piece[0] && x != NULL;
                if (!r && !h && !x) {
                    char quiet[128];
                    snprintf(quiet, sizeof quiet,
                             "Current Round: %d/%d\nYour turn: reply with the JSON object only.\n",
                             round, c.rounds);
                    assert_string_equal(u, quiet);
                } else {
                    assert_true(strlen(u) < 300); /* one piece's news, not the state */
                }
            }
            if (round == 3 && a == 0) { /* its round-2 turn, kept */
                const json_t *h = llm_prompter_history(pr[a]);
                const char *kd = json_string_value(
                    json_object_get(json_array_get(h, json_array_size(h) - 2), "content"));
                assert_string_equal(kd, kept);
            }
            llm_prompt_clear(&p);
            env_decision_clear(d);
            if (round == 2 && a == 0) { /* agent_1 gives agent_2 its first two pieces */
                const char *n0 = names.piece_names[o.inventory[0].piece],
                           *n1 = names.piece_names[o.inventory[1].piece];
                int v0 = o.inventory[0].value, v1 = o.inventory[1].value;
                snprintf(piece, sizeof piece, "%s", n0);
                snprintf(received, sizeof received,
                         "## Received\n- %s (value %d) from agent_1\n- %s (value %d) from "
                         "agent_1\n",
                         n0, v0, n1, v1);
                snprintf(holder, sizeof holder, "## New holders\n- agent_2: %s, %s\n", n0, n1);
                snprintf(kept, sizeof kept,
                         "{\"actions\":[{\"type\":\"send_information\",\"to\":\"agent_2\","
                         "\"information\":[\"%s\",\"%s\"],\"values\":[%d,%d]}]}",
                         n0, n1, v0, v1);
                assert_int_equal(env_decision_send(d, names.agent_ids[1], n0, v0), ENV_OK);
                assert_int_equal(env_decision_send(d, names.agent_ids[1], n1, v1), ENV_OK);
            }
            assert_int_equal(llm_prompter_keep_decision(pr[a], d), 0);
            env_result_t res[4];
            env_apply(g, a, ENV_TURN_NORMAL, env_decision_actions(d), env_decision_count(d), NULL,
                      res);
        }
        env_round_end(g);
    }
    for (int a = 0; a < names.n_agents; a++) {
        assert_int_equal(seen_received[a], a == 1);
        assert_int_equal(seen_holder[a], a != 1);
        assert_int_equal(seen_exchange[a], a != 0);
        llm_prompter_destroy(&pr[a]);
    }
    env_decision_destroy(&d);
    env_game_destroy(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_conversation_appends),
        cmocka_unit_test(test_cache_conversation_window_resets),
        cmocka_unit_test(test_cache_turn_holds_only_news),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
