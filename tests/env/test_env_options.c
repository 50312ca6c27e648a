/* test_env_options.c: the options of the study's config files as parley keys
 * (docs/FIDELITY.md, "Rules" 6), each in both positions, and the keys'
 * parsing and refusals. */
#include "env_fixtures.h"
#include "pl_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------- (6) options of the configs -- */

static void test_max_actions_per_turn_refuses_the_rest(void **state)
{
    (void)state;
    for (int cap = -1; cap <= 2; cap += 3) {
        fx_log_t log = {0};
        env_config_t c;
        env_config_paper(&c);
        c.max_actions_per_turn = cap;
        env_game_t *g = fx_game(&c, &log);
        env_round_begin(g);
        env_action_t acts[3] = {{.kind = ENV_ACT_BROADCAST, .content = "one"},
                                {.kind = ENV_ACT_BROADCAST, .content = "two"},
                                {.kind = ENV_ACT_BROADCAST, .content = "three"}};
        env_result_t res[3];
        assert_int_equal(env_apply(g, 0, ENV_TURN_NORMAL, acts, 3, NULL, res), ENV_OK);
        assert_int_equal(res[0].code, ENV_OK);
        assert_int_equal(res[1].code, ENV_OK);
        assert_int_equal(res[2].code, cap == 2 ? ENV_ETOO_MANY_ACTIONS : ENV_OK);
        assert_int_equal(fx_count(&log, "message", "\"kind\":\"broadcast\""), cap == 2 ? 2 : 3);
        env_game_destroy(&g);
        fx_log_free(&log);
    }
}

static void test_bonus_for_first_completion_of_each_round(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    c.first_bonus = 2000;
    env_game_t *g = fx_game(&c, NULL);
    env_round_begin(g);
    char answer[600];
    fx_supply_task(g, 0, 0);
    fx_supply_task(g, 1, 0);
    fx_answer(g, 0, 0, answer, sizeof answer);
    assert_int_equal(fx_submit(g, 0, answer).payout, 12000);
    fx_answer(g, 1, 0, answer, sizeof answer);
    assert_int_equal(fx_submit(g, 1, answer).payout, 10000);
    env_round_end(g);
    env_round_begin(g);
    fx_supply_task(g, 2, 0);
    fx_answer(g, 2, 0, answer, sizeof answer);
    assert_int_equal(fx_submit(g, 2, answer).payout, 12000);
    env_game_destroy(&g);
    env_config_paper(&c);
    assert_int_equal(c.first_bonus, 0);
}

static void test_pieces_per_task_range(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    c.min_pieces_per_task = 2;
    c.pieces_per_task = 5;
    env_game_t *g = fx_game(&c, NULL);
    bool seen[6] = {0};
    for (int a = 0; a < 10; a++)
        for (int k = 0; k < 2; k++) {
            int n;
            env_agent_task_pieces(g, a, k, &n);
            assert_true(n >= 2 && n <= 5);
            seen[n] = true;
        }
    int sizes = 0;
    for (int i = 2; i <= 5; i++) sizes += seen[i];
    assert_true(sizes >= 2);
    env_game_destroy(&g);
    /* Perfect play copes with any size; a fixed size is the paper's 4. */
    int tasks = 0;
    assert_true(env_perfect_task_revenue(&c, &tasks) > 0 && tasks > 150);
    env_config_paper(&c);
    g = fx_game(&c, NULL);
    for (int a = 0; a < 10; a++) {
        int n;
        env_agent_task_pieces(g, a, 0, &n);
        assert_int_equal(n, 4);
    }
    env_game_destroy(&g);
    c.min_pieces_per_task = 5; /* above the max */
    char err[256];
    assert_int_equal(env_config_check(&c, err, sizeof err), ENV_ECONFIG);
    assert_non_null(strstr(err, "tasks.min_pieces_per_task"));
}

static void test_new_task_on_completion_off(void **state)
{
    (void)state;
    for (int renew = 0; renew < 2; renew++) {
        env_config_t c;
        env_config_paper(&c);
        c.new_task_on_completion = renew;
        env_game_t *g = fx_game(&c, NULL);
        env_round_begin(g);
        fx_supply_task(g, 0, 0);
        char answer[600];
        fx_answer(g, 0, 0, answer, sizeof answer);
        assert_int_equal(fx_submit(g, 0, answer).code, ENV_OK);
        assert_int_equal(env_agent_n_tasks(g, 0), renew ? 2 : 1);
        env_game_destroy(&g);
    }
}

static void test_info_and_task_templates(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    c.n_info_templates = 1;
    snprintf(c.info_templates[0], ENV_TEMPLATE_LEN, "Ledger {n} extract");
    c.n_task_templates = 1;
    snprintf(c.task_templates[0], ENV_TEMPLATE_LEN, "Reconcile {info_pieces} today");
    fx_log_t log = {0};
    env_game_t *g = fx_game(&c, &log);
    assert_string_equal(env_piece_name(g, 41), "Ledger 42 extract");
    int n;
    const int *p = env_agent_task_pieces(g, 0, 0, &n);
    char want[400];
    snprintf(want, sizeof want, "\"description\":\"Reconcile \\\"%s\\\" and \\\"%s\\\"",
             env_piece_name(g, p[0]), env_piece_name(g, p[1]));
    assert_true(fx_count(&log, "task_new", want) >= 1);
    /* Names found in messages as usual: the perfect ceiling is unchanged. */
    int tasks = 0;
    env_perfect_task_revenue(&c, &tasks);
    assert_true(tasks >= 195 && tasks <= 210);
    env_game_destroy(&g);
    fx_log_free(&log);
    char err[256];
    snprintf(c.info_templates[0], ENV_TEMPLATE_LEN, "Ledger extract");
    assert_int_equal(env_config_check(&c, err, sizeof err), ENV_ECONFIG);
    assert_non_null(strstr(err, "{n}"));
}

static void test_unique_distribution_each_piece_once(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    c.unique_distribution = true;
    env_game_t *g = fx_game(&c, NULL);
    bool round_robin = true;
    for (int p = 0; p < 100; p++) {
        int holders = 0;
        for (int a = 0; a < 10; a++) holders += env_agent_holds(g, a, p);
        assert_int_equal(holders, 1);
        round_robin &= env_agent_holds(g, p % 10, p);
    }
    assert_false(round_robin); /* shuffled, then dealt */
    env_game_destroy(&g);
    c.total_pieces = 120;
    char err[256];
    assert_int_equal(env_config_check(&c, err, sizeof err), ENV_ECONFIG);
    assert_non_null(strstr(err, "information.unique_distribution"));
}

/* ------------------------------------------------------- the config keys -- */

static void test_config_keys_of_the_study(void **state)
{
    (void)state;
    const char *text = "rules:\n"
                       "  instant_fulfilment_exact_request: false\n"
                       "  submit_exact_names: false\n"
                       "  automated_transfers_as_agents: false\n"
                       "  auto_request_once: false\n"
                       "  count_failed_sends: false\n"
                       "  answer_request_form_only: false\n"
                       "revenue: {bonus_for_first: 3000, incorrect_value_penalty: 0.3}\n"
                       "tasks:\n"
                       "  max_pieces_per_task: 5\n"
                       "  min_pieces_per_task: 3\n"
                       "  new_task_on_completion: false\n"
                       "  task_templates: [\"Use {info_pieces}\"]\n"
                       "information:\n"
                       "  unique_distribution: true\n"
                       "  info_templates: [\"Ledger {n}\", \"Memo {n} draft\"]\n"
                       "communication: {max_actions_per_turn: 7}\n"
                       "simulation: {report_frequency: 0, fail_fast_on_agent_error: true}\n";
    char err[512];
    pl_config_t *c = pl_config_parse(text, strlen(text), "k.yaml", err, sizeof err);
    if (!c) fail_msg("%s", err);
    for (int pass = 0; pass < 2; pass++) {
        const env_config_t *g = &c->game;
        assert_false(g->instant_perfect_only || g->submit_exact_names || g->automated_as_agents ||
                     g->auto_request_once || g->count_failed_sends || g->request_form_only);
        assert_int_equal(g->first_bonus, 3000);
        assert_true(g->misreport_rate == 0.3);
        assert_int_equal(g->pieces_per_task, 5);
        assert_int_equal(g->min_pieces_per_task, 3);
        assert_false(g->new_task_on_completion);
        assert_int_equal(g->n_task_templates, 1);
        assert_string_equal(g->task_templates[0], "Use {info_pieces}");
        assert_true(g->unique_distribution);
        assert_int_equal(g->n_info_templates, 2);
        assert_string_equal(g->info_templates[1], "Memo {n} draft");
        assert_int_equal(g->max_actions_per_turn, 7);
        assert_true(c->fail_fast);
        /* The resolved configuration (config.json) loads back the same. */
        json_t *j = pl_config_to_json(c);
        char *dump = json_dumps(j, 0);
        json_decref(j);
        pl_config_destroy(&c);
        c = pl_config_parse(dump, strlen(dump), "config.json", err, sizeof err);
        free(dump);
        if (!c) fail_msg("%s", err);
    }
    pl_config_destroy(&c);
    /* The defaults are the original's. */
    c = pl_config_default();
    assert_true(c->game.instant_perfect_only && c->game.submit_exact_names &&
                c->game.automated_as_agents && c->game.auto_request_once &&
                c->game.count_failed_sends && c->game.new_task_on_completion &&
                c->game.request_form_only);
    assert_int_equal(c->game.max_actions_per_turn, -1);
    pl_config_destroy(&c);
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"revenue:\n  misreport_factor: 0.5\n",
         "b.yaml:2: revenue.misreport_factor: not a key. The penalty is "
         "revenue.incorrect_value_penalty"},
        {"simulation:\n  report_frequency: 3\n",
         "b.yaml:2: simulation.report_frequency: parley does not support this option"},
        {"simulation:\n  fail_fast_on_agent_error: maybe\n",
         "b.yaml:2: simulation.fail_fast_on_agent_error: expected true or false"},
        {"information:\n  info_templates: [\"No number\"]\n", "information.info_templates"},
        {"tasks:\n  task_templates: oops\n", "b.yaml:2: tasks.task_templates: expected a list"},
        {"information:\n  unique_distribution: true\n  total_pieces: 90\n",
         "information.unique_distribution needs"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        c = pl_config_parse(bad[i].text, strlen(bad[i].text), "b.yaml", err, sizeof err);
        if (c || !strstr(err, bad[i].want))
            fail_msg("case %zu: want '%s', got '%s'", i, bad[i].want, err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_actions_per_turn_refuses_the_rest),
        cmocka_unit_test(test_bonus_for_first_completion_of_each_round),
        cmocka_unit_test(test_pieces_per_task_range),
        cmocka_unit_test(test_new_task_on_completion_off),
        cmocka_unit_test(test_info_and_task_templates),
        cmocka_unit_test(test_unique_distribution_each_piece_once),
        cmocka_unit_test(test_config_keys_of_the_study),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
