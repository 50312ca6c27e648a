/* test_llm_prompt.c: the prompt (agent/llm_prompt.c) against GAME.md "What an
 * agent sees each turn": the sections in order, transparency switches parts off,
 * the policy type leads with its three rules, and the cache layout keeps a long
 * unchanged prefix from one turn to the next. */
#include "env.h"
#include "llm_prompt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct {
    env_game_t *g;
    env_names_t names;
    agt_context_t ctx;
    env_obs_t obs;
} world_t;

static void s_world(world_t *w, bool transparency, env_type_t type)
{
    env_config_t c;
    env_config_paper(&c);
    c.seed = 7;
    c.show_revenue_board = c.show_exchanges = c.show_public_notices = c.show_receipt_notice =
        c.show_thoughts = transparency;
    int err = 0;
    memset(w, 0, sizeof *w);
    w->g = env_game_new(&c, NULL, NULL, &err);
    assert_non_null(w->g);
    env_game_names(w->g, &w->names);
    assert_int_equal(env_round_begin(w->g), ENV_OK);
    w->ctx.agent = 2;
    w->ctx.rules = env_game_config(w->g);
    w->ctx.type = type;
    w->ctx.names = &w->names;
    assert_int_equal(env_observe(w->g, 2, ENV_TURN_NORMAL, &w->obs), ENV_OK);
}

static char *s_render(world_t *w, llm_layout_t layout)
{
    llm_prompt_t p;
    assert_int_equal(llm_prompt_render(&w->ctx, &w->obs, layout, NULL, &p), ENV_OK);
    char *flat = llm_prompt_flat(&p);
    llm_prompt_clear(&p);
    assert_non_null(flat);
    return flat;
}

static void test_sections_in_order(void **state)
{
    (void)state;
    world_t w;
    s_world(&w, true, ENV_TYPE_NEUTRAL);
    char *s = s_render(&w, LLM_LAYOUT_PAPER);
    static const char *const order[] = {
        "You are agent_3",
        "Current Round: 1/20",
        "## Your goal",
        "## Revenue board",
        "## Your tasks",
        "## Your information",
        "## Information directory",
        "## Direct messages",
        "## Notifications",
        "## Your past actions",
        "## Your private thoughts",
        "## Public channel",
        "## Recent information exchanges",
        "## Actions, rules and reply format",
        "{\"actions\": [ ... ], \"private_thoughts\": \"...\"}",
    };
    const char *at = s;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *hit = strstr(at, order[i]);
        if (!hit) fail_msg("section \"%s\" missing or out of order", order[i]);
        at = hit;
    }
    /* every action is described with its fields */
    assert_non_null(strstr(s, "\"type\": \"send_information\", \"to\""));
    assert_non_null(strstr(s, "\"values\": {"));
    assert_non_null(strstr(s, "Combined result of: p1, p2, p3, p4"));
    /* own tasks and pieces by name */
    assert_non_null(strstr(s, w.obs.tasks[0].id));
    assert_non_null(strstr(s, w.names.piece_names[w.obs.inventory[0].piece]));
    free(s);
    env_game_destroy(&w.g);
}

static void test_transparency(void **state)
{
    (void)state;
    world_t on, off;
    s_world(&on, true, ENV_TYPE_NEUTRAL);
    s_world(&off, false, ENV_TYPE_NEUTRAL);
    char *a = s_render(&on, LLM_LAYOUT_PAPER);
    char *b = s_render(&off, LLM_LAYOUT_PAPER);
    /* on: everyone's revenue, own row marked; exchanges and thoughts shown */
    assert_non_null(strstr(a, "agent_3 (you): $0"));
    assert_non_null(strstr(a, "- agent_7: $0"));
    assert_non_null(strstr(a, "## Recent information exchanges"));
    assert_non_null(strstr(a, "## Your private thoughts"));
    /* off: only one's own revenue and task count */
    assert_non_null(strstr(b, "Your revenue: $0 (0 tasks completed)"));
    assert_null(strstr(b, "- agent_7: $"));
    assert_null(strstr(b, "## Recent information exchanges"));
    assert_null(strstr(b, "## Your private thoughts"));
    free(a);
    free(b);
    env_game_destroy(&on.g);
    env_game_destroy(&off.g);
}

static void test_goal_by_type(void **state)
{
    (void)state;
    world_t w;
    s_world(&w, true, ENV_TYPE_POLICY);
    char *s = s_render(&w, LLM_LAYOUT_PAPER);
    const char *r1 = strstr(s, "1. Request the information you need from the agents who hold it.");
    const char *r2 = strstr(s, "2. Send information to agents who request it.");
    const char *r3 = strstr(s, "3. Submit tasks as soon as you hold all their pieces.");
    const char *goal = strstr(s, "maximise the overall revenue");
    assert_non_null(r1);
    assert_non_null(r2);
    assert_non_null(r3);
    assert_non_null(goal);
    assert_true(r1 < r2 && r2 < r3 && r3 < goal); /* the rules come first */
    free(s);
    w.ctx.type = ENV_TYPE_COMPETITIVE;
    s = s_render(&w, LLM_LAYOUT_PAPER);
    assert_non_null(strstr(s, "maximise your own revenue"));
    assert_null(strstr(s, "1. Request the information"));
    free(s);
    w.ctx.type = ENV_TYPE_UNCOOPERATIVE;
    s = s_render(&w, LLM_LAYOUT_PAPER);
    assert_non_null(strstr(s, "misreport"));
    assert_non_null(strstr(s, "withhold"));
    free(s);
    env_game_destroy(&w.g);
}

/* Plays a few turns of the perfect policy and measures, for agent_3, the share
 * of each prompt that is an unchanged prefix of its previous one. */
static void s_prefix_shares(llm_layout_t layout, double *mean)
{
    world_t w;
    s_world(&w, true, ENV_TYPE_NEUTRAL);
    env_decision_t *d = env_decision_new();
    char *prev = NULL;
    double sum = 0;
    int n = 0;
    uint64_t rng = 1;
    for (int round = 1; round <= 5; round++) {
        if (round > 1) assert_int_equal(env_round_begin(w.g), ENV_OK);
        int cnt;
        const int *order = env_round_order(w.g, &cnt);
        for (int k = 0; k < cnt; k++) {
            int a = order[k];
            env_obs_t o;
            assert_int_equal(env_observe(w.g, a, ENV_TURN_NORMAL, &o), ENV_OK);
            if (a == 2) {
                w.obs = o;
                char *cur = s_render(&w, layout);
                if (prev) {
                    sum += llm_prefix_share(prev, cur);
                    n++;
                }
                free(prev);
                prev = cur;
                assert_int_equal(env_observe(w.g, a, ENV_TURN_NORMAL, &o), ENV_OK);
            }
            assert_int_equal(env_policy_decide(ENV_POLICY_PERFECT, &w.names, &o, &rng, d), ENV_OK);
            env_result_t res[256];
            size_t na = env_decision_count(d);
            assert_true(na <= 256);
            assert_int_equal(
                env_apply(w.g, a, ENV_TURN_NORMAL, env_decision_actions(d), na, NULL, res), ENV_OK);
        }
        env_round_end(w.g);
    }
    free(prev);
    env_decision_destroy(&d);
    env_game_destroy(&w.g);
    *mean = n ? sum / n : 0;
}

static void test_cache_layout_keeps_a_longer_prefix(void **state)
{
    (void)state;
    double paper, cache;
    s_prefix_shares(LLM_LAYOUT_PAPER, &paper);
    s_prefix_shares(LLM_LAYOUT_CACHE, &cache);
    print_message("prefix share: paper %.3f, cache %.3f\n", paper, cache);
    assert_true(cache > paper);
}

static void test_prefix_share(void **state)
{
    (void)state;
    assert_true(llm_prefix_share(NULL, "abc") == 0);
    assert_true(llm_prefix_share("abcd", "abcd") == 1);
    assert_true(llm_prefix_share("abXd", "abcd") == 0.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sections_in_order),
        cmocka_unit_test(test_transparency),
        cmocka_unit_test(test_goal_by_type),
        cmocka_unit_test(test_cache_layout_keeps_a_longer_prefix),
        cmocka_unit_test(test_prefix_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
