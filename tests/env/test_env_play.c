/* test_env_play.c: GAME.md's rules about scoring, what an agent sees, and play
 * as a whole: requests as messages, the perfect agent and the optimal ceiling,
 * the automation arms of the causal decomposition, agent types and the
 * configuration checks. */
#include "env_fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A direct message from `from` to the agent named `to`. */
static env_result_t s_msg(env_game_t *g, int from, const char *to, const char *text)
{
    return fx_do(g, from, (env_action_t){.kind = ENV_ACT_SEND_MESSAGE, .to = to, .content = text});
}

/* -------------------------------------------------------------- scoring -- */

static void test_scoring_misreport_halves_payout_compounding(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    env_round_begin(g);
    int n;
    const int *tp = env_agent_task_pieces(g, 0, 0, &n);
    int pieces[4];
    memcpy(pieces, tp, sizeof pieces);
    int wrong = 0;
    for (int i = 0; i < 4; i++) {
        if (env_agent_holds(g, 0, pieces[i])) continue;
        int holder = -1;
        for (int a = 1; a < 10 && holder < 0; a++)
            if (env_agent_holds(g, a, pieces[i])) holder = a;
        int64_t v = fx_value(g, pieces[i]);
        if (wrong < 2) { /* misreport two of them */
            v = v == 0 ? 1 : v - 1;
            wrong++;
        }
        assert_int_equal(fx_send(g, holder, 0, pieces[i], v).code, ENV_OK);
    }
    char answer[512];
    fx_answer(g, 0, 0, answer, sizeof answer);
    env_result_t r = fx_submit(g, 0, answer);
    assert_int_equal(r.code, ENV_OK);
    int64_t want = wrong == 2 ? 2500 : wrong == 1 ? 5000 : 10000;
    assert_int_equal(r.payout, want);
    assert_true(wrong >= 1);
    env_obs_t o;
    env_observe(g, 0, ENV_TURN_NORMAL, &o); /* the submitter is told the details */
    bool told = false;
    for (size_t i = 0; i < o.n_notes; i++)
        told |= strstr(o.notes[i].text, "incorrect values") != NULL;
    assert_true(told);
    env_game_destroy(&g);
}

static void test_scoring_sharing_bonus_per_piece_transferred(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    c.sharing_bonus = 1000;
    env_game_t *g = fx_game(&c, NULL);
    env_round_begin(g);
    int p = fx_held(g, 0);
    fx_send(g, 0, 1, p, fx_value(g, p));
    assert_int_equal(env_agent_revenue(g, 0), 1000);
    fx_send(g, 1, 2, p, fx_value(g, p));
    fx_send(g, 0, 2, p, fx_value(g, p)); /* skipped: receiver holds it, no bonus */
    assert_int_equal(env_agent_revenue(g, 0), 1000);
    assert_int_equal(env_agent_revenue(g, 1), 1000);
    assert_int_equal(env_group_revenue(g), 2000);
    assert_int_equal(env_task_revenue(g), 0); /* bonuses are not task revenue */
    env_game_destroy(&g);
}

/* -------------------------------------------------------- observations -- */

static void test_observation_revenue_board_transparency(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    env_game_t *g = fx_game(&c, NULL);
    env_round_begin(g);
    env_obs_t o;
    env_observe(g, 4, ENV_TURN_NORMAL, &o);
    assert_true(o.has_board);
    assert_int_equal(o.n_board, 10);
    int in_order = 0;
    for (size_t i = 0; i < 10; i++) in_order += o.board[i].agent == (int)i;
    assert_true(in_order < 10); /* shuffled */
    env_game_destroy(&g);

    c.show_revenue_board = false;
    g = fx_game(&c, NULL);
    env_round_begin(g);
    env_observe(g, 4, ENV_TURN_NORMAL, &o);
    assert_false(o.has_board);
    assert_int_equal(o.n_board, 1); /* only one's own */
    assert_int_equal(o.board[0].agent, 4);
    env_game_destroy(&g);
}

/* The paper's one flag hides five things; each can also be hidden alone. */
static void test_transparency_flags_hide_each_part(void **state)
{
    (void)state;
    for (int part = 0; part < 5; part++) {
        env_config_t c;
        env_config_paper(&c);
        bool *flags[5] = {&c.show_revenue_board, &c.show_exchanges, &c.show_public_notices,
                          &c.show_receipt_notice, &c.show_thoughts};
        *flags[part] = false;
        env_game_t *g = fx_game(&c, NULL);
        env_round_begin(g);
        int p = fx_held(g, 0);
        env_action_t send;
        const char *name = env_piece_name(g, p);
        int64_t v = fx_value(g, p);
        send = (env_action_t){.kind = ENV_ACT_SEND_INFORMATION,
                              .to = "agent_2",
                              .n_info = 1,
                              .info = &name,
                              .n_values = 1,
                              .value_names = &name,
                              .values = &v};
        env_result_t r;
        env_apply(g, 0, ENV_TURN_NORMAL, &send, 1, "my plan", &r);
        fx_supply_task(g, 5, 0);
        char answer[512];
        fx_answer(g, 5, 0, answer, sizeof answer);
        fx_submit(g, 5, answer);
        env_obs_t o;
        env_observe(g, 1, ENV_TURN_NORMAL, &o);
        bool receipt = false, public_notice = false;
        for (size_t i = 0; i < o.n_notes; i++) {
            receipt |= strstr(o.notes[i].text, "sent you") != NULL;
            public_notice |= strstr(o.notes[i].text, "agent_6 completed") != NULL;
        }
        assert_int_equal(o.has_board, part != 0);
        assert_int_equal(o.has_exchanges && o.n_exchanges > 0, part != 1);
        assert_int_equal(public_notice, part != 2);
        assert_int_equal(receipt, part != 3);
        env_observe(g, 0, ENV_TURN_NORMAL, &o);
        assert_int_equal(o.has_thoughts && o.n_thoughts == 1, part != 4);
        env_game_destroy(&g);
    }
}

static void test_history_truncation_keeps_last(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    c.truncate_history = true;
    c.rounds = 8;
    env_game_t *g = fx_game(&c, NULL);
    for (int r = 1; r <= 7; r++) {
        env_round_begin(g);
        char text[64];
        for (int i = 0; i < 3; i++) {
            snprintf(text, sizeof text, "round %d message %d", r, i);
            s_msg(g, 1, "agent_1", text);
            env_action_t bc = {.kind = ENV_ACT_BROADCAST, .content = text};
            env_result_t res;
            env_apply(g, 2, ENV_TURN_NORMAL, &bc, 1, NULL, &res);
        }
        env_apply(g, 0, ENV_TURN_NORMAL, NULL, 0, "thinking", NULL);
        env_round_end(g);
    }
    env_round_begin(g);
    env_obs_t o;
    env_observe(g, 0, ENV_TURN_NORMAL, &o);
    assert_int_equal(o.n_msgs, 10);
    assert_string_equal(o.msgs[9]->content, "round 7 message 2"); /* the last ones */
    assert_int_equal(o.n_broadcasts, 5);
    assert_int_equal(o.n_thoughts, 5); /* thoughts of rounds 3..7 */
    assert_int_equal(o.thoughts[0].round, 3);
    env_game_destroy(&g);

    c.truncate_history = false; /* the paper: full histories */
    g = fx_game(&c, NULL);
    for (int r = 1; r <= 7; r++) {
        env_round_begin(g);
        for (int i = 0; i < 3; i++) s_msg(g, 1, "agent_1", "hello");
        env_round_end(g);
    }
    env_round_begin(g);
    env_observe(g, 0, ENV_TURN_NORMAL, &o);
    assert_int_equal(o.n_msgs, 21);
    env_game_destroy(&g);
}

static void test_request_is_a_message_naming_a_piece(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    env_round_begin(g);
    int p = fx_held(g, 4);
    char text[128];
    snprintf(text, sizeof text, "could you share %s please?", env_piece_name(g, p));
    s_msg(g, 0, "agent_5", text);
    s_msg(g, 0, "agent_5", text);
    s_msg(g, 0, "agent_5", "just saying hello");
    env_obs_t o;
    env_observe(g, 0, ENV_TURN_NORMAL, &o);
    assert_int_equal(o.n_requests, 1);
    assert_int_equal(o.requests[0].piece, p);
    assert_int_equal(o.requests[0].count, 2); /* "asked 2 times" */
    assert_false(o.requests[0].fulfilled);
    fx_send(g, 4, 0, p, fx_value(g, p));
    env_observe(g, 0, ENV_TURN_NORMAL, &o);
    assert_true(o.requests[0].fulfilled);
    env_game_destroy(&g);
}

/* ------------------------------------------------------ perfect and arms -- */

static void test_perfect_play_ceiling_paper_preset(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        env_config_t c;
        env_config_paper(&c);
        c.seed = seed;
        int tasks = 0;
        int64_t rev = env_perfect_task_revenue(&c, &tasks);
        assert_in_range(tasks, 195, 210);
        assert_int_equal(rev, (int64_t)tasks * 10000);
    }
}

static void test_perfect_never_asks_same_holder_twice(void **state)
{
    (void)state;
    fx_log_t log = {0};
    env_game_t *g = fx_paper(&log);
    env_policy_t pol[10];
    for (int i = 0; i < 10; i++) pol[i] = ENV_POLICY_PERFECT;
    assert_int_equal(env_play(g, pol), ENV_OK);
    /* Every REQUEST line (from, to, piece) occurs once. */
    size_t n = 0;
    char **keys = calloc(log.n, sizeof *keys);
    for (size_t i = 0; i < log.n; i++) {
        json_t *ev = json_loads(log.lines[i], 0, NULL);
        const char *type = json_string_value(json_object_get(ev, "type"));
        const char *content = json_string_value(json_object_get(ev, "content"));
        if (strcmp(type, "message") == 0 && content && strncmp(content, "REQUEST: ", 9) == 0) {
            char key[256];
            snprintf(key, sizeof key, "%s>%s:%.*s", json_string_value(json_object_get(ev, "from")),
                     json_string_value(json_object_get(ev, "to")),
                     (int)(strstr(content, " for ") - content), content);
            for (size_t k = 0; k < n; k++) assert_string_not_equal(keys[k], key);
            keys[n++] = strdup(key);
        }
        json_decref(ev);
    }
    assert_true(n > 100);
    for (size_t k = 0; k < n; k++) free(keys[k]);
    free(keys);
    env_game_destroy(&g);
    fx_log_free(&log);
}

static void test_perfect_request_filled_at_once_by_reply_turn(void **state)
{
    (void)state;
    /* The reply-turn position of the switch (the paper preset fills requests in
     * the engine instead: tests/env/test_env_study.c). */
    env_config_t c;
    env_config_paper(&c);
    c.instant_perfect_only = false;
    env_game_t *g = fx_game(&c, NULL);
    for (int i = 0; i < 10; i++) env_set_reactive(g, i, true);
    env_round_begin(g);
    env_names_t names;
    env_game_names(g, &names);
    env_decision_t *d = env_decision_new();
    env_obs_t o;
    env_observe(g, 0, ENV_TURN_NORMAL, &o);
    env_policy_decide(ENV_POLICY_PERFECT, &names, &o, NULL, d);
    env_result_t r[64];
    assert_true(env_decision_count(d) <= 64);
    env_apply(g, 0, ENV_TURN_NORMAL, env_decision_actions(d), env_decision_count(d), NULL, r);
    int replies[10];
    int nr = env_take_replies(g, replies, 10);
    assert_true(nr > 0); /* every asked holder owes a reply turn */
    for (int k = 0; k < nr; k++) {
        env_observe(g, replies[k], ENV_TURN_REPLY, &o);
        env_policy_decide(ENV_POLICY_PERFECT, &names, &o, NULL, d);
        env_apply(g, replies[k], ENV_TURN_REPLY, env_decision_actions(d), env_decision_count(d),
                  NULL, r);
    }
    assert_int_equal(env_take_replies(g, replies, 10), 0); /* replies owe no replies */
    for (int k = 0; k < 2; k++) { /* agent_1 now holds both tasks' pieces */
        int n;
        const int *p = env_agent_task_pieces(g, 0, k, &n);
        for (int i = 0; i < n; i++) assert_true(env_agent_holds(g, 0, p[i]));
    }
    env_decision_destroy(&d);
    env_game_destroy(&g);
}

static void test_auto_fulfill_named_piece_moves_at_once(void **state)
{
    (void)state;
    fx_log_t log = {0};
    env_config_t c;
    env_config_paper(&c);
    c.automation = ENV_AUTO_FULFILL;
    env_game_t *g = fx_game(&c, &log);
    env_round_begin(g);
    int p = fx_held(g, 6);
    char text[128];
    snprintf(text, sizeof text, "I want %s", env_piece_name(g, p));
    env_action_t bc = {.kind = ENV_ACT_BROADCAST, .content = text};
    env_result_t r;
    env_apply(g, 0, ENV_TURN_NORMAL, &bc, 1, NULL, &r);
    assert_false(env_agent_holds(g, 0, p)); /* broadcasts do not trigger it */
    for (char *s = text; *s; s++) *s = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
    s_msg(g, 0, "agent_7", text); /* case-insensitive */
    assert_true(env_agent_holds(g, 0, p));
    assert_int_equal(fx_count(&log, "transfer", "\"automated\":true"), 1);
    assert_int_equal(fx_count(&log, "transfer", "\"true_value\""), 1); /* at its true value */
    env_game_destroy(&g);
    fx_log_free(&log);
}

static void test_auto_request_system_asks_first_holder_each_round(void **state)
{
    (void)state;
    fx_log_t log = {0};
    env_config_t c;
    env_config_paper(&c);
    c.automation = ENV_AUTO_REQUEST;
    c.rounds = 3;
    env_game_t *g = fx_game(&c, &log);
    env_round_begin(g);
    s_msg(g, 0, "agent_2", "hello there");
    env_obs_t o;
    env_observe(g, 1, ENV_TURN_NORMAL, &o);
    assert_int_equal(o.n_msgs, 0); /* agents' own DMs are not delivered */
    assert_int_equal(fx_count(&log, "message", "\"delivered\":false"), 1);
    env_round_end(g);
    int first = fx_count(&log, "message", "to complete my task. Could you please share it?");
    assert_true(first > 0);
    /* The first other holder in id order is asked. */
    int n;
    const int *tp = env_agent_task_pieces(g, 0, 0, &n);
    for (int i = 0; i < n; i++) {
        if (env_agent_holds(g, 0, tp[i])) continue;
        int holder = -1;
        for (int a = 1; a < 10 && holder < 0; a++)
            if (env_agent_holds(g, a, tp[i])) holder = a;
        char needle[160];
        snprintf(needle, sizeof needle, "\"content\":\"I need %s to complete",
                 env_piece_name(g, tp[i]));
        bool asked = false;
        for (size_t k = 0; k < log.n; k++)
            asked |= strstr(log.lines[k], needle) && strstr(log.lines[k], "\"from\":\"agent_1\"") &&
                     strstr(log.lines[k], env_agent_id(g, holder));
        assert_true(asked);
    }
    env_round_begin(g);
    env_round_end(g);
    assert_int_equal(fx_count(&log, "message", "to complete my task."), 2 * first); /* again */
    env_game_destroy(&g);
    fx_log_free(&log);
}

static void test_decomposition_ground_truth_with_builtin_agents(void **state)
{
    (void)state;
    /* selfish: fine at asking, never shares -> high under auto-fulfil only;
     * helper: shares, never asks -> high under auto-request only. */
    int got[2][3];
    env_policy_t kinds[2] = {ENV_POLICY_SELFISH, ENV_POLICY_HELPER};
    for (int k = 0; k < 2; k++)
        for (int arm = 0; arm < 3; arm++) {
            env_config_t c;
            env_config_paper(&c);
            c.automation = (env_automation_t)arm;
            env_game_t *g = fx_game(&c, NULL);
            env_policy_t pol[10];
            for (int i = 0; i < 10; i++) pol[i] = kinds[k];
            env_play(g, pol);
            got[k][arm] = env_tasks_done(g);
            env_game_destroy(&g);
        }
    assert_true(got[0][0] < 20 && got[0][1] > 150 && got[0][2] < 20);
    assert_true(got[1][0] < 20 && got[1][1] < 20 && got[1][2] > 150);
}

static void test_agent_types_counts_chosen_at_random(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    c.type_counts[ENV_TYPE_COMPETITIVE] = 3;
    c.type_counts[ENV_TYPE_UNCOOPERATIVE] = 2;
    int first_competitive[2] = {-1, -1};
    for (int s = 0; s < 2; s++) {
        c.seed = (uint64_t)s + 7;
        env_game_t *g = fx_game(&c, NULL);
        int count[ENV_TYPE_COUNT] = {0};
        for (int a = 0; a < 10; a++) {
            count[env_agent_type(g, a)]++;
            if (env_agent_type(g, a) == ENV_TYPE_COMPETITIVE && first_competitive[s] < 0)
                first_competitive[s] = a;
        }
        assert_int_equal(count[ENV_TYPE_COMPETITIVE], 3);
        assert_int_equal(count[ENV_TYPE_UNCOOPERATIVE], 2);
        assert_int_equal(count[ENV_TYPE_NEUTRAL], 5);
        env_game_destroy(&g);
    }
}

static void test_config_refuses_impossible_numbers(void **state)
{
    (void)state;
    env_config_t c;
    char err[256];
    env_config_paper(&c);
    assert_int_equal(env_config_check(&c, err, sizeof err), ENV_OK);
    c.pieces_per_task = 101;
    assert_int_equal(env_config_check(&c, err, sizeof err), ENV_ECONFIG);
    assert_non_null(strstr(err, "tasks.pieces_per_task"));
    env_config_paper(&c);
    c.rounds = 0;
    assert_int_equal(env_config_check(&c, err, sizeof err), ENV_ECONFIG);
    assert_non_null(strstr(err, "simulation.rounds"));
    env_config_paper(&c);
    c.type_counts[ENV_TYPE_POLICY] = 11;
    assert_int_equal(env_config_check(&c, err, sizeof err), ENV_ECONFIG);
    int e = 0;
    assert_null(env_game_new(&c, NULL, NULL, &e));
    assert_int_equal(e, ENV_ECONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scoring_misreport_halves_payout_compounding),
        cmocka_unit_test(test_scoring_sharing_bonus_per_piece_transferred),
        cmocka_unit_test(test_observation_revenue_board_transparency),
        cmocka_unit_test(test_transparency_flags_hide_each_part),
        cmocka_unit_test(test_history_truncation_keeps_last),
        cmocka_unit_test(test_request_is_a_message_naming_a_piece),
        cmocka_unit_test(test_perfect_play_ceiling_paper_preset),
        cmocka_unit_test(test_perfect_never_asks_same_holder_twice),
        cmocka_unit_test(test_perfect_request_filled_at_once_by_reply_turn),
        cmocka_unit_test(test_auto_fulfill_named_piece_moves_at_once),
        cmocka_unit_test(test_auto_request_system_asks_first_holder_each_round),
        cmocka_unit_test(test_decomposition_ground_truth_with_builtin_agents),
        cmocka_unit_test(test_agent_types_counts_chosen_at_random),
        cmocka_unit_test(test_config_refuses_impossible_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
