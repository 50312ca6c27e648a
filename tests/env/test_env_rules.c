/* test_env_rules.c: one test per rule of GAME.md, each named after its rule,
 * driving the environment library through its public API only: the world,
 * time and the snapshot rule, and the actions. Scoring, observations, perfect
 * play, the automation arms and the configuration checks are in
 * test_env_play.c; the study's own mechanics in test_env_study.c. */
#include "env_fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A direct message from `from` to the agent named `to`. */
static env_result_t s_msg(env_game_t *g, int from, const char *to, const char *text)
{
    return fx_do(g, from, (env_action_t){.kind = ENV_ACT_SEND_MESSAGE, .to = to, .content = text});
}

/* ---------------------------------------------------------------- world -- */

static void test_world_agent_ids(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    assert_int_equal(env_game_n_agents(g), 10);
    assert_string_equal(env_agent_id(g, 0), "agent_1");
    assert_string_equal(env_agent_id(g, 9), "agent_10");
    assert_int_equal(env_agent_index(g, "agent_10"), 9);
    assert_int_equal(env_agent_index(g, "agent_11"), -1);
    assert_int_equal(env_agent_index(g, "agent_0"), -1);
    assert_int_equal(env_agent_index(g, "bob"), -1);
    env_game_destroy(&g);
    assert_null(g);
}

static void test_world_piece_names_from_five_templates(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    const char *tpl[] = {"Q%d sales data", "Customer segment %d analysis",
                         "Product %d performance metrics", "Region %d market data",
                         "Department %d budget"};
    int used[5] = {0};
    for (int p = 0; p < 100; p++) {
        int match = -1;
        for (int t = 0; t < 5; t++) {
            char want[64];
            snprintf(want, sizeof want, tpl[t], p + 1);
            if (strcmp(env_piece_name(g, p), want) == 0) match = t;
        }
        assert_true(match >= 0); /* one of the templates, filled with its number */
        used[match]++;
        assert_int_equal(env_piece_index(g, env_piece_name(g, p)), p); /* unique */
    }
    for (int t = 0; t < 5; t++) assert_true(used[t] > 0); /* picked at random per piece */
    env_game_destroy(&g);
}

static void test_world_piece_values_distribution(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    c.total_pieces = 40000;
    c.pieces_per_agent = 0;
    env_game_t *g = fx_game(&c, NULL);
    int bucket[4] = {0};
    for (int p = 0; p < c.total_pieces; p++) {
        int v = env_piece_value(g, p);
        assert_in_range(v, 0, 100);
        bucket[v < 20 ? 0 : v < 60 ? 1 : v < 80 ? 2 : 3]++;
    }
    /* 5% / 15% / 60% / 20%, within 1.5 points on 40,000 draws. */
    assert_in_range(bucket[0], 1400, 2600);
    assert_in_range(bucket[1], 5400, 6600);
    assert_in_range(bucket[2], 23400, 24600);
    assert_in_range(bucket[3], 7400, 8600);
    env_game_destroy(&g);
}

static void test_world_distribution_round_robin(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    for (int p = 0; p < 100; p++) {
        int holders = 0;
        for (int a = 0; a < 10; a++) holders += env_agent_holds(g, a, p);
        assert_int_equal(holders, 1);               /* exactly one holder each */
        assert_true(env_agent_holds(g, p % 10, p)); /* piece i -> agent ((i-1) mod N)+1 */
    }
    env_game_destroy(&g);
}

static void test_world_top_up_from_pool(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    c.total_pieces = 25;
    c.pieces_per_agent = 6; /* round robin gives 2 or 3: the rest are top-ups */
    env_game_t *g = fx_game(&c, NULL);
    int copies[25] = {0};
    for (int a = 0; a < 10; a++) {
        int n = 0;
        for (int p = 0; p < 25; p++) {
            n += env_agent_holds(g, a, p);
            copies[p] += env_agent_holds(g, a, p);
        }
        assert_int_equal(n, 6);
    }
    for (int p = 0; p < 25; p++) assert_in_range(copies[p], 1, 3); /* the pool holds each twice */
    env_game_destroy(&g);
}

static void test_world_tasks_distinct_pieces(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    int own = 0;
    for (int a = 0; a < 10; a++) {
        assert_int_equal(env_agent_n_tasks(g, a), 2); /* two active tasks each */
        for (int k = 0; k < 2; k++) {
            int n;
            const int *p = env_agent_task_pieces(g, a, k, &n);
            assert_int_equal(n, 4);
            for (int i = 0; i < n; i++) {
                assert_in_range(p[i], 0, 99);
                own += env_agent_holds(g, a, p[i]);
                for (int j = 0; j < i; j++) assert_int_not_equal(p[i], p[j]);
            }
        }
    }
    (void)own; /* may include owned pieces: allowed, not required */
    char id[16];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "task_%d", i + 1); /* ids from one global counter */
        assert_string_equal(env_agent_task_id(g, i / 2, i % 2), id);
    }
    env_game_destroy(&g);
}

static void test_tasks_descriptions_from_business_templates(void **state)
{
    (void)state;
    fx_log_t log = {0};
    env_config_t c;
    env_config_paper(&c);
    c.n_agents = 200;
    c.total_pieces = 2000;
    env_game_t *g = fx_game(&c, &log);
    char seen[16][128];
    int n = 0;
    for (size_t i = 0; i < log.n; i++) {
        json_t *ev = json_loads(log.lines[i], 0, NULL);
        const char *d = json_string_value(json_object_get(ev, "description"));
        if (d) {
            assert_true(strlen(d) > 20 && strchr(d, '\n') == NULL); /* one line */
            int k = 0;
            while (k < n && strcmp(seen[k], d) != 0) k++;
            if (k == n) {
                assert_true(n < 16); /* a small set */
                snprintf(seen[n++], sizeof seen[0], "%s", d);
            }
        }
        json_decref(ev);
    }
    assert_true(n >= 3); /* more than one template is used */
    env_game_destroy(&g);
    fx_log_free(&log);
}

static void test_tasks_never_expire(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    char first[10][2][32];
    for (int a = 0; a < 10; a++)
        for (int k = 0; k < 2; k++)
            snprintf(first[a][k], sizeof first[a][k], "%s", env_agent_task_id(g, a, k));
    env_policy_t pol[10];
    for (int i = 0; i < 10; i++) pol[i] = ENV_POLICY_PASSIVE;
    assert_int_equal(env_play(g, pol), ENV_OK); /* 20 rounds, nobody acts */
    for (int a = 0; a < 10; a++)
        for (int k = 0; k < 2; k++) assert_string_equal(env_agent_task_id(g, a, k), first[a][k]);
    env_game_destroy(&g);
}

static void test_randomness_same_seed_same_events(void **state)
{
    (void)state;
    fx_log_t a = {0}, b = {0};
    env_config_t c;
    env_config_paper(&c);
    c.seed = 42;
    env_policy_t pol[10];
    for (int i = 0; i < 10; i++) pol[i] = i % 2 ? ENV_POLICY_RANDOM : ENV_POLICY_PERFECT;
    env_game_t *g1 = fx_game(&c, &a), *g2 = fx_game(&c, &b);
    assert_int_equal(env_play(g1, pol), ENV_OK);
    assert_int_equal(env_play(g2, pol), ENV_OK);
    assert_int_equal(a.n, b.n);
    assert_true(a.n > 500);
    for (size_t i = 0; i < a.n; i++) assert_string_equal(a.lines[i], b.lines[i]);
    env_game_destroy(&g1);
    env_game_destroy(&g2);
    fx_log_free(&a);
    fx_log_free(&b);
}

static void test_randomness_different_seeds_different_worlds(void **state)
{
    (void)state;
    fx_log_t a = {0}, b = {0};
    env_config_t c;
    env_config_paper(&c);
    c.seed = 1;
    env_game_t *g1 = fx_game(&c, &a);
    c.seed = 2;
    env_game_t *g2 = fx_game(&c, &b);
    assert_string_not_equal(a.lines[0], b.lines[0]); /* the world event */
    int same_names = 0;
    for (int p = 0; p < 100; p++)
        same_names += strcmp(env_piece_name(g1, p), env_piece_name(g2, p)) == 0;
    assert_true(same_names < 60);
    env_game_destroy(&g1);
    env_game_destroy(&g2);
    fx_log_free(&a);
    fx_log_free(&b);
}

/* ----------------------------------------------------------------- time -- */

static void test_time_rounds_and_reshuffled_order(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    c.rounds = 5;
    env_game_t *g = fx_game(&c, NULL);
    int prev[10], differ = 0;
    for (int r = 1; r <= 5; r++) {
        assert_int_equal(env_round_begin(g), ENV_OK);
        assert_int_equal(env_round(g), r);
        int n;
        const int *order = env_round_order(g, &n);
        assert_int_equal(n, 10);
        int seen[10] = {0};
        for (int i = 0; i < n; i++) seen[order[i]]++;
        for (int i = 0; i < n; i++) assert_int_equal(seen[i], 1); /* every agent once */
        if (r > 1) differ += memcmp(prev, order, sizeof prev) != 0;
        memcpy(prev, order, sizeof prev);
        assert_int_equal(env_round_end(g), ENV_OK);
    }
    assert_true(differ >= 3); /* reshuffled every round */
    assert_int_equal(env_round_begin(g), ENV_EGAME_OVER);
    assert_true(env_game_over(g));
    env_game_destroy(&g);
}

static void test_time_actions_apply_in_order(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    env_round_begin(g);
    int p = fx_held(g, 0);
    const char *name = env_piece_name(g, p);
    int64_t v = fx_value(g, p);
    env_action_t two[2];
    for (int i = 0; i < 2; i++)
        two[i] = (env_action_t){.kind = ENV_ACT_SEND_INFORMATION,
                                .to = "agent_2",
                                .n_info = 1,
                                .info = &name,
                                .n_values = 1,
                                .value_names = &name,
                                .values = &v};
    env_result_t r[2];
    assert_int_equal(env_apply(g, 0, ENV_TURN_NORMAL, two, 2, NULL, r), ENV_OK);
    assert_int_equal(r[0].code, ENV_OK);            /* the first applies at once ... */
    assert_int_equal(r[1].code, ENV_EALREADY_SENT); /* ... so the second sees it */
    env_game_destroy(&g);
}

static void test_time_empty_decision_is_a_turn_without_actions(void **state)
{
    (void)state;
    fx_log_t log = {0};
    env_game_t *g = fx_paper(&log);
    env_round_begin(g);
    assert_int_equal(env_apply(g, 3, ENV_TURN_NORMAL, NULL, 0, NULL, NULL), ENV_OK);
    assert_int_equal(fx_count(&log, "turn", "\"actions\":0"), 1);
    assert_int_equal(fx_count(&log, "action", NULL), 0);
    env_game_destroy(&g);
    fx_log_free(&log);
}

static void test_snapshot_rule_directory_board_broadcasts_frozen(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    c.rounds = 3;
    env_game_t *g = fx_game(&c, NULL);
    env_round_begin(g);
    int p = fx_held(g, 0);
    assert_int_equal(fx_send(g, 0, 1, p, fx_value(g, p)).code, ENV_OK);
    env_action_t bc = {.kind = ENV_ACT_BROADCAST, .content = "hello all"};
    env_result_t r;
    env_apply(g, 0, ENV_TURN_NORMAL, &bc, 1, NULL, &r);
    fx_supply_task(g, 2, 0);
    char answer[512];
    fx_answer(g, 2, 0, answer, sizeof answer);
    assert_int_equal(fx_submit(g, 2, answer).code, ENV_OK);

    env_obs_t o;
    assert_int_equal(env_observe(g, 1, ENV_TURN_NORMAL, &o), ENV_OK);
    bool dir_has = false, inv_has = false;
    for (uint32_t k = 0; k < o.dir_count[1]; k++) dir_has |= o.dir_pieces[1][k] == p;
    for (size_t k = 0; k < o.n_inventory; k++) inv_has |= o.inventory[k].piece == p;
    assert_false(dir_has);               /* directory: frozen at round start */
    assert_true(inv_has);                /* own inventory: live */
    assert_int_equal(o.n_broadcasts, 0); /* public channel: frozen */
    for (size_t k = 0; k < o.n_board; k++)
        assert_int_equal(o.board[k].revenue, 0); /* board: frozen */

    env_round_end(g);
    env_round_begin(g);
    assert_int_equal(env_observe(g, 1, ENV_TURN_NORMAL, &o), ENV_OK);
    dir_has = false;
    for (uint32_t k = 0; k < o.dir_count[1]; k++) dir_has |= o.dir_pieces[1][k] == p;
    assert_true(dir_has);
    assert_int_equal(o.n_broadcasts, 1);
    int64_t seen = 0;
    for (size_t k = 0; k < o.n_board; k++) seen += o.board[k].revenue;
    assert_int_equal(seen, 10000);
    env_game_destroy(&g);
}

/* The receipt notice names the sender, the count and each copied piece with
 * its stated value (a misreported one as stated), in the words of the study. */
static void test_transfers_receipt_notice_text(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    env_round_begin(g);
    int pieces[2], k = 0;
    for (int p = 0; p < env_game_n_pieces(g) && k < 2; p++)
        if (env_agent_holds(g, 0, p) && !env_agent_holds(g, 1, p)) pieces[k++] = p;
    assert_int_equal(k, 2);
    const char *names[2] = {env_piece_name(g, pieces[0]), env_piece_name(g, pieces[1])};
    int64_t values[2] = {fx_value(g, pieces[0]), 1234567};
    env_action_t a = {.kind = ENV_ACT_SEND_INFORMATION,
                      .to = env_agent_id(g, 1),
                      .n_info = 2,
                      .info = names,
                      .n_values = 2,
                      .value_names = names,
                      .values = values};
    assert_int_equal(fx_do(g, 0, a).transferred, 2);
    env_obs_t o;
    env_observe(g, 1, ENV_TURN_NORMAL, &o);
    assert_int_equal(o.n_notes, 1);
    char want[512];
    snprintf(want, sizeof want, "agent_1 sent you 2 piece(s): %s (value %d), %s (value 1234567)",
             names[0], fx_value(g, pieces[0]), names[1]);
    assert_string_equal(o.notes[0].text, want);
    env_game_destroy(&g);
}

static void test_snapshot_rule_messages_and_notifications_live(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    env_round_begin(g);
    assert_int_equal(s_msg(g, 0, "agent_2", "please send me something").code, ENV_OK);
    int p = fx_held(g, 2);
    assert_int_equal(fx_send(g, 2, 1, p, fx_value(g, p)).code, ENV_OK);
    env_obs_t o;
    env_observe(g, 1, ENV_TURN_NORMAL, &o); /* later in the same round */
    assert_int_equal(o.n_msgs, 1);
    assert_string_equal(o.msgs[0]->content, "please send me something");
    assert_int_equal(o.n_notes, 1); /* the receipt */
    assert_non_null(strstr(o.notes[0].text, "agent_3 sent you 1 piece(s)"));
    assert_int_equal(o.n_exchanges, 1); /* recent exchanges: live */
    assert_int_equal(o.exchanges[0].from, 2);
    env_game_destroy(&g);
}

/* -------------------------------------------------------------- actions -- */

static void test_send_message_seen_by_both_unknown_recipient_rejected(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    env_round_begin(g);
    assert_int_equal(s_msg(g, 0, "agent_5", "hi").code, ENV_OK);
    assert_int_equal(s_msg(g, 0, "agent_99", "hi").code, ENV_EUNKNOWN_RECIPIENT);
    assert_int_equal(s_msg(g, 0, "nobody", "hi").code, ENV_EUNKNOWN_RECIPIENT);
    assert_int_equal(s_msg(g, 0, "agent_1", "hi").code, ENV_ESELF_RECIPIENT);
    assert_int_equal(s_msg(g, 0, "agent_5", "").code, ENV_EEMPTY);
    env_obs_t o;
    env_observe(g, 0, ENV_TURN_NORMAL, &o);
    assert_int_equal(o.n_msgs, 1); /* the sender sees it */
    env_observe(g, 4, ENV_TURN_NORMAL, &o);
    assert_int_equal(o.n_msgs, 1); /* and the recipient */
    assert_int_equal(o.msgs[0]->from, 0);
    env_observe(g, 3, ENV_TURN_NORMAL, &o);
    assert_int_equal(o.n_msgs, 0); /* nobody else */
    env_game_destroy(&g);
}

static void test_broadcast_seen_by_everyone(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    env_round_begin(g);
    env_action_t bc = {.kind = ENV_ACT_BROADCAST, .content = "who has Q1?"};
    env_result_t r;
    env_apply(g, 6, ENV_TURN_NORMAL, &bc, 1, NULL, &r);
    assert_int_equal(r.code, ENV_OK);
    env_round_end(g);
    env_round_begin(g);
    for (int a = 0; a < 10; a++) {
        env_obs_t o;
        env_observe(g, a, ENV_TURN_NORMAL, &o);
        assert_int_equal(o.n_broadcasts, 1);
        assert_int_equal(o.broadcasts[0].from, 6);
    }
    env_game_destroy(&g);
}

static void test_send_information_values_must_match_listed_pieces(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    env_round_begin(g);
    int p = fx_held(g, 0);
    const char *name = env_piece_name(g, p);
    const char *other = env_piece_name(g, (p + 1) % 100);
    int64_t v = 50;
    env_action_t missing = {
        .kind = ENV_ACT_SEND_INFORMATION, .to = "agent_2", .n_info = 1, .info = &name};
    assert_int_equal(fx_do(g, 0, missing).code, ENV_EVALUES_MISMATCH);
    const char *vn[2] = {name, other};
    int64_t vals[2] = {v, v};
    env_action_t extra = {.kind = ENV_ACT_SEND_INFORMATION,
                          .to = "agent_2",
                          .n_info = 1,
                          .info = &name,
                          .n_values = 2,
                          .value_names = vn,
                          .values = vals};
    assert_int_equal(fx_do(g, 0, extra).code, ENV_EVALUES_MISMATCH);
    const char *bogus = "Moon 7 landing data";
    env_action_t unknown = {.kind = ENV_ACT_SEND_INFORMATION,
                            .to = "agent_2",
                            .n_info = 1,
                            .info = &bogus,
                            .n_values = 1,
                            .value_names = &bogus,
                            .values = &v};
    assert_int_equal(fx_do(g, 0, unknown).code, ENV_EUNKNOWN_PIECE);
    assert_false(env_agent_holds(g, 1, p)); /* nothing moved */
    env_game_destroy(&g);
}

static void test_send_information_already_sent_filtered(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    env_round_begin(g);
    int a = -1, b = -1;
    for (int p = 0; p < 100; p++)
        if (env_agent_holds(g, 0, p)) {
            if (a < 0)
                a = p;
            else if (b < 0)
                b = p;
        }
    assert_int_equal(fx_send(g, 0, 1, a, fx_value(g, a)).code, ENV_OK);
    const char *names[2] = {env_piece_name(g, a), env_piece_name(g, b)};
    int64_t vals[2] = {fx_value(g, a), fx_value(g, b)};
    env_action_t both = {.kind = ENV_ACT_SEND_INFORMATION,
                         .to = "agent_2",
                         .n_info = 2,
                         .info = names,
                         .n_values = 2,
                         .value_names = names,
                         .values = vals};
    env_result_t r = fx_do(g, 0, both);
    assert_int_equal(r.code, ENV_OK); /* `a` dropped, `b` goes */
    assert_int_equal(r.transferred, 1);
    assert_true(env_agent_holds(g, 1, b));
    r = fx_do(g, 0, both); /* none remain: rejected */
    assert_int_equal(r.code, ENV_EALREADY_SENT);
    env_game_destroy(&g);
}

static void test_send_information_sender_must_hold_every_piece(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    env_round_begin(g);
    int mine = fx_held(g, 0), theirs = fx_held(g, 4);
    const char *names[2] = {env_piece_name(g, mine), env_piece_name(g, theirs)};
    int64_t vals[2] = {fx_value(g, mine), fx_value(g, theirs)};
    env_action_t a = {.kind = ENV_ACT_SEND_INFORMATION,
                      .to = "agent_2",
                      .n_info = 2,
                      .info = names,
                      .n_values = 2,
                      .value_names = names,
                      .values = vals};
    assert_int_equal(fx_do(g, 0, a).code, ENV_ENOT_HELD);
    assert_false(env_agent_holds(g, 1, mine)); /* the whole action failed */
    env_game_destroy(&g);
}

static void test_transfers_copy_and_skip_held(void **state)
{
    (void)state;
    fx_log_t log = {0};
    env_game_t *g = fx_paper(&log);
    env_round_begin(g);
    int p = fx_held(g, 0);
    assert_int_equal(fx_send(g, 0, 1, p, fx_value(g, p)).transferred, 1);
    assert_true(env_agent_holds(g, 0, p)); /* the sender keeps it */
    assert_true(env_agent_holds(g, 1, p)); /* the receiver has a copy */
    env_result_t r = fx_send(g, 1, 2, p, fx_value(g, p));
    assert_int_equal(r.transferred, 1);
    r = fx_send(g, 0, 2, p, fx_value(g, p)); /* agent_3 already holds it: skipped */
    assert_int_equal(r.code, ENV_OK);
    assert_int_equal(r.transferred, 0);
    assert_int_equal(fx_count(&log, "transfer", NULL), 2);
    env_round_end(g);
    env_round_begin(g);
    env_obs_t o;
    env_observe(g, 5, ENV_TURN_NORMAL, &o);
    int holders = 0;
    for (int a = 0; a < 10; a++)
        for (uint32_t k = 0; k < o.dir_count[a]; k++) holders += o.dir_pieces[a][k] == p;
    assert_int_equal(holders, 3); /* the directory lists every holder */
    env_game_destroy(&g);
    fx_log_free(&log);
}

static void test_submit_task_pays_owner_and_replaces_task(void **state)
{
    (void)state;
    fx_log_t log = {0};
    env_game_t *g = fx_paper(&log);
    env_round_begin(g);
    fx_supply_task(g, 3, 1);
    char id[32], answer[512];
    snprintf(id, sizeof id, "%s", env_agent_task_id(g, 3, 1));
    fx_answer(g, 3, 1, answer, sizeof answer);
    env_result_t r = fx_submit(g, 3, answer);
    assert_int_equal(r.code, ENV_OK);
    assert_int_equal(r.payout, 10000);
    assert_int_equal(env_agent_revenue(g, 3), 10000);
    assert_int_equal(env_agent_tasks_done(g, 3), 1);
    assert_int_equal(env_agent_n_tasks(g, 3), 2); /* replaced at once */
    assert_string_equal(env_agent_task_id(g, 3, 1), "task_21");
    assert_string_not_equal(env_agent_task_id(g, 3, 0), id);
    env_obs_t o;
    env_observe(g, 7, ENV_TURN_NORMAL, &o); /* others are notified */
    bool told = false;
    for (size_t i = 0; i < o.n_notes; i++) told |= strstr(o.notes[i].text, id) != NULL;
    assert_true(told);
    assert_int_equal(env_group_revenue(g), 10000);
    env_game_destroy(&g);
    fx_log_free(&log);
}

static void test_submit_task_names_case_insensitive_and_required(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    env_round_begin(g);
    fx_supply_task(g, 0, 0);
    char answer[512];
    fx_answer(g, 0, 0, answer, sizeof answer);
    for (char *c = answer; *c; c++)
        if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    assert_int_equal(fx_submit(g, 0, answer).code, ENV_OK); /* lower case is fine */
    env_game_destroy(&g);
}

static void test_submit_task_must_hold_all_pieces(void **state)
{
    (void)state;
    fx_log_t log = {0};
    env_game_t *g = fx_paper(&log);
    env_round_begin(g);
    char answer[512];
    fx_answer(g, 0, 0, answer, sizeof answer);
    env_result_t r = fx_submit(g, 0, answer);
    assert_int_equal(r.code, ENV_EMISSING_PIECES);
    assert_int_equal(env_agent_tasks_done(g, 0), 0);
    assert_int_equal(fx_count(&log, "task_failed", "missing_pieces"), 1); /* logged */
    env_game_destroy(&g);
    fx_log_free(&log);
}

static void test_submit_task_falls_back_to_first_task_paper(void **state)
{
    (void)state;
    env_game_t *g = fx_paper(NULL);
    env_round_begin(g);
    fx_supply_task(g, 0, 0);
    char answer[600];
    fx_answer(g, 0, 0, answer, sizeof answer);
    /* Five names: no task has that set, so the paper preset takes task 1 ... */
    int extra = -1;
    int n;
    const int *t0 = env_agent_task_pieces(g, 0, 0, &n);
    for (int p = 0; p < 100 && extra < 0; p++) {
        bool in = false;
        for (int i = 0; i < n; i++) in |= t0[i] == p;
        if (!in) extra = p;
    }
    strcat(answer, ", ");
    strcat(answer, env_piece_name(g, extra));
    char first[32];
    snprintf(first, sizeof first, "%s", env_agent_task_id(g, 0, 0));
    assert_int_equal(fx_submit(g, 0, answer).code, ENV_OK);
    assert_int_equal(env_agent_tasks_done(g, 0), 1);
    assert_string_not_equal(env_agent_task_id(g, 0, 0), first); /* the first task went */
    env_game_destroy(&g);

    /* ... and the clean rules refuse it. */
    env_config_t c;
    env_config_paper(&c);
    c.submit_fallback_first = false;
    g = fx_game(&c, NULL);
    env_round_begin(g);
    fx_supply_task(g, 0, 0);
    fx_answer(g, 0, 0, answer, sizeof answer);
    strcat(answer, ", ");
    strcat(answer, env_piece_name(g, extra));
    assert_int_equal(fx_submit(g, 0, answer).code, ENV_ENO_MATCHING_TASK);
    env_game_destroy(&g);
}

static void test_submit_task_failure_not_told_in_paper_preset(void **state)
{
    (void)state;
    for (int clean = 0; clean < 2; clean++) {
        fx_log_t log = {0};
        env_config_t c;
        env_config_paper(&c);
        c.tell_failed_submission = clean;
        env_game_t *g = fx_game(&c, &log);
        env_round_begin(g);
        env_obs_t o;
        env_observe(g, 0, ENV_TURN_NORMAL, &o);
        size_t before = o.n_notes;
        assert_int_not_equal(fx_submit(g, 0, "Combined result of: nothing").code, ENV_OK);
        env_observe(g, 0, ENV_TURN_NORMAL, &o);
        assert_int_equal(o.n_notes, before + (size_t)clean);
        assert_int_equal(fx_count(&log, "task_failed", clean ? "\"told\":true" : "\"told\":false"),
                         1);
        env_game_destroy(&g);
        fx_log_free(&log);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_world_agent_ids),
        cmocka_unit_test(test_world_piece_names_from_five_templates),
        cmocka_unit_test(test_world_piece_values_distribution),
        cmocka_unit_test(test_world_distribution_round_robin),
        cmocka_unit_test(test_world_top_up_from_pool),
        cmocka_unit_test(test_world_tasks_distinct_pieces),
        cmocka_unit_test(test_tasks_descriptions_from_business_templates),
        cmocka_unit_test(test_tasks_never_expire),
        cmocka_unit_test(test_randomness_same_seed_same_events),
        cmocka_unit_test(test_randomness_different_seeds_different_worlds),
        cmocka_unit_test(test_time_rounds_and_reshuffled_order),
        cmocka_unit_test(test_time_actions_apply_in_order),
        cmocka_unit_test(test_time_empty_decision_is_a_turn_without_actions),
        cmocka_unit_test(test_snapshot_rule_directory_board_broadcasts_frozen),
        cmocka_unit_test(test_snapshot_rule_messages_and_notifications_live),
        cmocka_unit_test(test_transfers_receipt_notice_text),
        cmocka_unit_test(test_send_message_seen_by_both_unknown_recipient_rejected),
        cmocka_unit_test(test_broadcast_seen_by_everyone),
        cmocka_unit_test(test_send_information_values_must_match_listed_pieces),
        cmocka_unit_test(test_send_information_already_sent_filtered),
        cmocka_unit_test(test_send_information_sender_must_hold_every_piece),
        cmocka_unit_test(test_transfers_copy_and_skip_held),
        cmocka_unit_test(test_submit_task_pays_owner_and_replaces_task),
        cmocka_unit_test(test_submit_task_names_case_insensitive_and_required),
        cmocka_unit_test(test_submit_task_must_hold_all_pieces),
        cmocka_unit_test(test_submit_task_falls_back_to_first_task_paper),
        cmocka_unit_test(test_submit_task_failure_not_told_in_paper_preset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
