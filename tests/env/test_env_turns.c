/* test_env_turns.c: the sequential turn order (environment/env_turns.h), the
 * one queue env_play and the broker's sequential mode both take turns from:
 *   - normal turns come in the round's shuffled order, each seat once;
 *   - a normal turn that sends direct messages to reactive seats is followed
 *     by their reply turns, in the order the messages went, before the next
 *     normal turn;
 *   - each round starts from its own order. */
#include "env_fixtures.h"
#include "env_turns.h"

static void test_order_and_replies(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    c.instant_perfect_only = false; /* reactive seats get reply turns */
    env_game_t *g = fx_game(&c, NULL);
    int n = c.n_agents;
    for (int i = 0; i < n; i++) env_set_reactive(g, i, true);
    env_turns_t *q = env_turns_new(n);
    assert_non_null(q);
    assert_int_equal(env_round_begin(g), ENV_OK);
    env_turns_round(q, g);
    int len;
    const int *order = env_round_order(g, &len);
    assert_int_equal(len, n);
    int a;
    env_turn_kind_t k;

    /* The first normal turn messages two seats, the later one first. */
    assert_true(env_turns_next(q, &a, &k));
    assert_int_equal(a, order[0]);
    assert_int_equal(k, ENV_TURN_NORMAL);
    int x = order[n - 1], y = order[n - 2];
    env_action_t two[2] = {
        {.kind = ENV_ACT_SEND_MESSAGE, .to = env_agent_id(g, x), .content = "hello"},
        {.kind = ENV_ACT_SEND_MESSAGE, .to = env_agent_id(g, y), .content = "hello"}};
    env_result_t res[2];
    assert_int_equal(env_apply(g, a, k, two, 2, NULL, res), ENV_OK);
    env_turns_ended(q, g, k);
    /* Their replies, in the order the messages went ... */
    assert_true(env_turns_next(q, &a, &k));
    assert_int_equal(a, x);
    assert_int_equal(k, ENV_TURN_REPLY);
    assert_int_equal(env_apply(g, a, k, NULL, 0, NULL, NULL), ENV_OK);
    env_turns_ended(q, g, k); /* a reply turn's end adds nothing */
    assert_true(env_turns_next(q, &a, &k));
    assert_int_equal(a, y);
    assert_int_equal(k, ENV_TURN_REPLY);
    env_turns_ended(q, g, k);
    /* Then the round's order goes on, each seat once (quiet turns owe no
     * replies). */
    for (int i = 1; i < n; i++) {
        assert_true(env_turns_next(q, &a, &k));
        assert_int_equal(k, ENV_TURN_NORMAL);
        assert_int_equal(a, order[i]);
        env_turns_ended(q, g, k);
    }
    assert_false(env_turns_next(q, &a, &k));

    /* The next round: its own order, from the start. */
    assert_int_equal(env_round_end(g), ENV_OK);
    assert_int_equal(env_round_begin(g), ENV_OK);
    env_turns_round(q, g);
    order = env_round_order(g, &len);
    for (int i = 0; i < n; i++) {
        assert_true(env_turns_next(q, &a, &k));
        assert_int_equal(k, ENV_TURN_NORMAL);
        assert_int_equal(a, order[i]);
        env_turns_ended(q, g, k);
    }
    assert_false(env_turns_next(q, &a, &k));
    env_turns_destroy(&q);
    assert_null(q);
    env_turns_destroy(&q); /* NULL-safe */
    env_game_destroy(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_order_and_replies)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
