/* test_config.c: the experiment configuration loader (common/pl_config).
 *
 * What a user notices: the default and examples/paper.yaml are the paper preset,
 * every key of the file reaches the struct, overrides behave like keys, a bad file
 * is refused with "FILE:LINE: message" naming the problem, and a resolved
 * configuration written as JSON loads back unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pl_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char s_err[512];

static pl_config_t *s_parse(const char *text)
{
    s_err[0] = '\0';
    return pl_config_parse(text, strlen(text), "t.yaml", s_err, sizeof s_err);
}

static void s_assert_game_equal(const env_config_t *a, const env_config_t *b)
{
    assert_true(a->seed == b->seed);
    assert_int_equal(a->rounds, b->rounds);
    assert_int_equal(a->n_agents, b->n_agents);
    assert_int_equal(a->total_pieces, b->total_pieces);
    assert_int_equal(a->pieces_per_agent, b->pieces_per_agent);
    assert_int_equal(a->pieces_per_task, b->pieces_per_task);
    assert_int_equal(a->active_per_agent, b->active_per_agent);
    assert_true(a->task_reward == b->task_reward);
    assert_true(a->sharing_bonus == b->sharing_bonus);
    assert_true(a->misreport_rate == b->misreport_rate);
    assert_int_equal(a->show_revenue_board, b->show_revenue_board);
    assert_int_equal(a->show_exchanges, b->show_exchanges);
    assert_int_equal(a->show_public_notices, b->show_public_notices);
    assert_int_equal(a->show_receipt_notice, b->show_receipt_notice);
    assert_int_equal(a->show_thoughts, b->show_thoughts);
    assert_int_equal(a->submit_fallback_first, b->submit_fallback_first);
    assert_int_equal(a->tell_failed_submission, b->tell_failed_submission);
    assert_int_equal(a->report_invalid_actions, b->report_invalid_actions);
    assert_int_equal(a->truncate_history, b->truncate_history);
    assert_int_equal(a->automation, b->automation);
    for (int t = 0; t < ENV_TYPE_COUNT; t++) assert_int_equal(a->type_counts[t], b->type_counts[t]);
}

static void s_assert_str_equal(const char *a, const char *b)
{
    if (!a || !b)
        assert_true(a == b);
    else
        assert_string_equal(a, b);
}

static void s_assert_seat_equal(const pl_seat_t *a, const pl_seat_t *b)
{
    s_assert_str_equal(a->policy, b->policy);
    s_assert_str_equal(a->provider, b->provider);
    s_assert_str_equal(a->model, b->model);
    s_assert_str_equal(a->base_url, b->base_url);
    s_assert_str_equal(a->api_key_env, b->api_key_env);
    s_assert_str_equal(a->fallback, b->fallback);
    assert_true(a->temperature == b->temperature);
    assert_int_equal(a->max_tokens, b->max_tokens);
    s_assert_str_equal(a->reasoning_effort, b->reasoning_effort);
    assert_true(a->timeout == b->timeout);
    assert_int_equal(a->n_headers, b->n_headers);
    for (size_t i = 0; i < a->n_headers; i++) {
        s_assert_str_equal(a->headers[i].name, b->headers[i].name);
        s_assert_str_equal(a->headers[i].value, b->headers[i].value);
    }
    s_assert_str_equal(a->prompt_layout, b->prompt_layout);
    assert_int_equal(a->json_mode, b->json_mode);
    s_assert_str_equal(a->label, b->label);
}

/* Everything but `path` (where the configuration came from). */
static void s_assert_config_equal(const pl_config_t *a, const pl_config_t *b)
{
    s_assert_str_equal(a->scenario, b->scenario);
    s_assert_game_equal(&a->game, &b->game);
    assert_int_equal(a->timing, b->timing);
    assert_true(a->turn_timeout == b->turn_timeout);
    assert_true(a->human_turn_timeout == b->human_turn_timeout);
    assert_true(a->duration == b->duration);
    assert_true(pl_seat_min_think(a, 0) == pl_seat_min_think(b, 0));
    assert_true(a->heartbeat == b->heartbeat);
    assert_int_equal(a->max_unjoined, b->max_unjoined);
    assert_true(a->join_timeout == b->join_timeout);
    assert_int_equal(a->session_max_missed, b->session_max_missed);
    assert_true(a->session_dropout_after == b->session_dropout_after);
    assert_true(a->session_lobby_timeout == b->session_lobby_timeout);
    assert_int_equal(a->blind, b->blind);
    assert_int_equal(a->n_seats, b->n_seats);
    for (int i = 0; i < a->n_seats; i++) s_assert_seat_equal(&a->seats[i], &b->seats[i]);
    assert_int_equal(a->n_prices, b->n_prices);
    for (size_t i = 0; i < a->n_prices; i++) {
        s_assert_str_equal(a->prices[i].model, b->prices[i].model);
        assert_true(a->prices[i].input == b->prices[i].input);
        assert_true(a->prices[i].output == b->prices[i].output);
        assert_true(a->prices[i].cached_input == b->prices[i].cached_input);
    }
}

/* The built-in default as the header promises it. */
static void s_assert_is_default(const pl_config_t *c)
{
    env_config_t paper;
    env_config_paper(&paper);
    s_assert_game_equal(&c->game, &paper);
    assert_string_equal(c->scenario, "infoshare");
    assert_int_equal(c->timing, PL_TIMING_SEQUENTIAL);
    assert_true(c->turn_timeout == 60.0);
    assert_true(c->human_turn_timeout == 300.0);
    assert_true(c->duration == 120.0);
    assert_true(pl_seat_min_think(c, 0) == 0.0);
    assert_true(c->heartbeat == 2.0);
    assert_int_equal(c->max_unjoined, 256);
    assert_true(c->join_timeout == 10.0);
    assert_int_equal(c->session_max_missed, 2);
    assert_true(c->session_dropout_after == 20.0);
    assert_true(c->session_lobby_timeout == 0.0);
    assert_false(c->blind);
    assert_int_equal(c->n_seats, 10);
    for (int i = 0; i < c->n_seats; i++) {
        assert_string_equal(c->seats[i].policy, i < 5 ? "perfect" : "selfish");
        assert_null(c->seats[i].model);
        assert_true(c->seats[i].temperature < 0);
        assert_int_equal(c->seats[i].max_tokens, 0);
        assert_true(c->seats[i].timeout == 120.0);
        assert_false(c->seats[i].json_mode);
    }
    assert_int_equal(c->n_prices, 0);
}

static char *s_example(const char *name)
{
    const char *src = getenv("PARLEY_SRC");
    static char path[4096];
    snprintf(path, sizeof path, "%s/examples/%s", src ? src : ".", name);
    return path;
}

/* ------------------------------------------------------------- presets -- */

static void test_default_is_paper(void **state)
{
    (void)state;
    pl_config_t *c = pl_config_default();
    assert_non_null(c);
    assert_null(c->path);
    s_assert_is_default(c);
    /* The paper numbers, spelled out once, so that env's preset is checked too. */
    assert_int_equal(c->game.rounds, 20);
    assert_int_equal(c->game.n_agents, 10);
    assert_int_equal(c->game.total_pieces, 100);
    assert_int_equal(c->game.pieces_per_agent, 10);
    assert_int_equal(c->game.pieces_per_task, 4);
    assert_int_equal(c->game.active_per_agent, 2);
    assert_true(c->game.task_reward == 10000);
    assert_true(c->game.sharing_bonus == 0);
    assert_true(c->game.misreport_rate == 0.5);
    assert_true(c->game.seed == 1);
    pl_config_destroy(&c);
    assert_null(c);
    pl_config_destroy(&c); /* NULL-safe */
}

static void test_paper_yaml_is_paper(void **state)
{
    (void)state;
    pl_config_t *c = pl_config_load(s_example("paper.yaml"), s_err, sizeof s_err);
    if (!c) fail_msg("%s", s_err);
    assert_string_equal(c->path, s_example("paper.yaml"));
    s_assert_is_default(c);
    pl_config_t *d = pl_config_default();
    s_assert_config_equal(c, d);
    pl_config_destroy(&d);
    pl_config_destroy(&c);
}

static void test_empty_is_default(void **state)
{
    (void)state;
    const char *texts[] = {"", "# nothing but a comment\n", "---\n", "~\n",
                           "simulation:\ntransparency:\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        pl_config_t *c = s_parse(texts[i]);
        if (!c) fail_msg("\"%s\": %s", texts[i], s_err);
        s_assert_is_default(c);
        pl_config_destroy(&c);
    }
}

static void test_llm_examples(void **state)
{
    (void)state;
    pl_config_t *c = pl_config_load(s_example("llm-openai.yaml"), s_err, sizeof s_err);
    if (!c) fail_msg("%s", s_err);
    assert_int_equal(c->n_seats, 10);
    for (int i = 0; i < 10; i++) {
        assert_string_equal(c->seats[i].policy, "llm");
        assert_string_equal(c->seats[i].provider, "openai");
        assert_non_null(c->seats[i].model);
        assert_string_equal(pl_seat_key_env(&c->seats[i]), "OPENAI_API_KEY");
        assert_non_null(pl_config_price(c, c->seats[i].model));
    }
    pl_config_destroy(&c);

    c = pl_config_load(s_example("llm-mixed.yaml"), s_err, sizeof s_err);
    if (!c) fail_msg("%s", s_err);
    assert_int_equal(c->n_seats, 10);
    for (int i = 0; i < 10; i++) {
        const char *prov = i < 5 ? "openai" : "anthropic";
        assert_string_equal(c->seats[i].provider, prov);
        assert_string_equal(pl_seat_key_env(&c->seats[i]),
                            i < 5 ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY");
        assert_string_equal(c->seats[i].base_url,
                            i < 5 ? "https://api.openai.com/v1" : "https://api.anthropic.com/v1");
        assert_non_null(pl_config_price(c, c->seats[i].model));
    }
    assert_string_not_equal(c->seats[0].model, c->seats[9].model);
    pl_config_destroy(&c);
}

/* ------------------------------------------------------------ every key -- */

static const char s_every_key[] =
    "scenario: infoshare\n"
    "seed: 18446744073709551615\n"
    "simulation: {rounds: 7, agents: 4}\n"
    "information:\n"
    "  total_pieces: 40\n"
    "  pieces_per_agent: 9\n"
    "tasks: {pieces_per_task: 3, active_per_agent: 1}\n"
    "revenue:\n"
    "  task_completion: 500\n"
    "  information_sharing: 50\n"
    "  incorrect_value_penalty: 0.25\n"
    "transparency:\n"
    "  revenue_board: true\n" /* a part before the umbrella still wins */
    "  show_full_revenue: false\n"
    "  exchanges: false\n"
    "  public_notices: false\n"
    "  receipt_notice: false\n"
    "  thoughts: true\n"
    "rules:\n"
    "  submit_fallback_first_task: false\n"
    "  tell_failed_submission: yes\n"
    "  report_invalid_actions: True\n"
    "history: {truncate: true}\n"
    "automation: auto_request\n"
    "agent_types: {neutral: 1, policy: 1, competitive: 1, uncooperative: 1}\n"
    "timing:\n"
    "  mode: realtime\n"
    "  turn_timeout: 30.5\n"
    "  human_turn_timeout: 90\n"
    "  duration: 600\n"
    "  min_think: 1.5\n"
    "  heartbeat: 5\n"
    "security: {max_unjoined: 7, join_timeout: 2.5}\n"
    "session: {max_missed: 3, dropout_after: 12, lobby_timeout: 60}\n"
    "blind: true\n"
    "seats:\n"
    "  - policy: llm\n"
    "    count: 2\n"
    "    provider: openai\n"
    "    model: claude-x\n"
    "    base_url: http://localhost:9000/v1\n"
    "    api_key_env: MY_KEY\n"
    "    temperature: 0.7\n"
    "    max_tokens: 2048\n"
    "    reasoning_effort: high\n"
    "    timeout: 45\n"
    "    headers: {X-One: a, X-Two: \"b c\"}\n"
    "    prompt_layout: cache\n"
    "    json_mode: true\n"
    "    label: claude\n"
    "  - {policy: human, fallback: selfish}\n"
    "  - {policy: random, label: script}\n"
    "prices:\n"
    "  claude-x: {input: 3, output: 15, cached_input: 0.3}\n"
    "  gpt-4.1: {input: 2, output: 8}\n";

static void s_assert_every_key(const pl_config_t *c)
{
    const env_config_t *g = &c->game;
    assert_string_equal(c->scenario, "infoshare");
    assert_true(g->seed == UINT64_MAX);
    assert_int_equal(g->rounds, 7);
    assert_int_equal(g->n_agents, 4);
    assert_int_equal(g->total_pieces, 40);
    assert_int_equal(g->pieces_per_agent, 9);
    assert_int_equal(g->pieces_per_task, 3);
    assert_int_equal(g->active_per_agent, 1);
    assert_true(g->task_reward == 500);
    assert_true(g->sharing_bonus == 50);
    assert_true(g->misreport_rate == 0.25);
    assert_true(g->show_revenue_board);
    assert_false(g->show_exchanges);
    assert_false(g->show_public_notices);
    assert_false(g->show_receipt_notice);
    assert_true(g->show_thoughts);
    assert_false(g->submit_fallback_first);
    assert_true(g->tell_failed_submission);
    assert_true(g->report_invalid_actions);
    assert_true(g->truncate_history);
    assert_int_equal(g->automation, ENV_AUTO_REQUEST);
    for (int t = 0; t < ENV_TYPE_COUNT; t++) assert_int_equal(g->type_counts[t], 1);
    assert_int_equal(c->timing, PL_TIMING_REALTIME);
    assert_true(c->turn_timeout == 30.5);
    assert_true(c->human_turn_timeout == 90);
    assert_true(c->duration == 600);
    assert_true(c->min_think == 1.5);
    assert_true(c->heartbeat == 5);
    assert_int_equal(c->max_unjoined, 7);
    assert_true(c->join_timeout == 2.5);
    assert_int_equal(c->session_max_missed, 3);
    assert_true(c->session_dropout_after == 12);
    assert_true(c->session_lobby_timeout == 60);
    assert_true(c->blind);
    assert_int_equal(c->n_seats, 4);
    for (int i = 0; i < 2; i++) {
        const pl_seat_t *s = &c->seats[i];
        assert_string_equal(s->policy, "llm");
        assert_string_equal(s->provider, "openai");
        assert_string_equal(s->model, "claude-x");
        assert_string_equal(s->base_url, "http://localhost:9000/v1");
        assert_string_equal(s->api_key_env, "MY_KEY");
        assert_true(s->temperature == 0.7);
        assert_int_equal(s->max_tokens, 2048);
        assert_string_equal(s->reasoning_effort, "high");
        assert_true(s->timeout == 45);
        assert_int_equal(s->n_headers, 2);
        assert_string_equal(s->headers[0].name, "X-One");
        assert_string_equal(s->headers[0].value, "a");
        assert_string_equal(s->headers[1].name, "X-Two");
        assert_string_equal(s->headers[1].value, "b c");
        assert_string_equal(s->prompt_layout, "cache");
        assert_true(s->json_mode);
        assert_string_equal(s->label, "claude");
    }
    assert_string_equal(c->seats[2].policy, "human");
    assert_string_equal(c->seats[2].fallback, "selfish");
    assert_null(c->seats[3].fallback);
    assert_null(c->seats[2].model);
    assert_string_equal(c->seats[3].policy, "random");
    assert_string_equal(c->seats[3].label, "script");
    assert_int_equal(c->n_prices, 2);
    const pl_price_t *p = pl_config_price(c, "claude-x");
    assert_non_null(p);
    assert_true(p->input == 3 && p->output == 15 && p->cached_input == 0.3);
    p = pl_config_price(c, "gpt-4.1");
    assert_non_null(p);
    assert_true(p->input == 2 && p->output == 8 && p->cached_input == 2); /* defaults to input */
    assert_null(pl_config_price(c, "nope"));
}

static void test_every_key(void **state)
{
    (void)state;
    pl_config_t *c = s_parse(s_every_key);
    if (!c) fail_msg("%s", s_err);
    s_assert_every_key(c);
    pl_config_t *d = pl_config_dup(c);
    assert_non_null(d);
    s_assert_config_equal(c, d);
    pl_config_destroy(&d);
    pl_config_destroy(&c);
}

static void test_llm_defaults(void **state)
{
    (void)state;
    pl_config_t *c = s_parse("simulation: {agents: 2}\n"
                             "seats:\n"
                             "  - {policy: llm, model: m1}\n"
                             "  - {policy: llm, model: m2, provider: anthropic}\n");
    if (!c) fail_msg("%s", s_err);
    assert_string_equal(c->seats[0].provider, "openai");
    assert_string_equal(c->seats[0].base_url, "https://api.openai.com/v1");
    /* the vendor's variable, for the vendor's host only (pl_seat_key_env) */
    assert_null(c->seats[0].api_key_env);
    assert_string_equal(pl_seat_key_env(&c->seats[0]), "OPENAI_API_KEY");
    assert_string_equal(c->seats[1].base_url, "https://api.anthropic.com/v1");
    assert_string_equal(pl_seat_key_env(&c->seats[1]), "ANTHROPIC_API_KEY");
    for (int i = 0; i < 2; i++) {
        assert_true(c->seats[i].temperature == -1);
        assert_int_equal(c->seats[i].max_tokens, 0);
        assert_true(c->seats[i].timeout == 120);
        assert_string_equal(c->seats[i].prompt_layout, "paper");
        assert_false(c->seats[i].json_mode);
        assert_null(c->seats[i].reasoning_effort);
    }
    pl_config_destroy(&c);

    /* No seats written: the default split follows simulation.agents. */
    c = s_parse("simulation: {agents: 5}\n");
    if (!c) fail_msg("%s", s_err);
    assert_int_equal(c->n_seats, 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(c->seats[i].policy, i < 3 ? "perfect" : "selfish");
    pl_config_destroy(&c);
}

/* ------------------------------------------------------------ overrides -- */

static void test_set(void **state)
{
    (void)state;
    pl_config_t *c = pl_config_default();
    assert_non_null(c);
    assert_int_equal(pl_config_set(c, "simulation.rounds=5", s_err, sizeof s_err), 0);
    assert_int_equal(c->game.rounds, 5);
    assert_int_equal(pl_config_set(c, "seed = 3", s_err, sizeof s_err), 0);
    assert_true(c->game.seed == 3);

    assert_int_equal(pl_config_set(c, "seats.1.model=x", s_err, sizeof s_err), 0);
    assert_string_equal(c->seats[1].model, "x");
    assert_null(c->seats[0].model);
    assert_null(c->seats[2].model);
    assert_int_equal(pl_config_set(c, "seats.agent_3.label=third", s_err, sizeof s_err), 0);
    assert_string_equal(c->seats[2].label, "third");

    assert_int_equal(pl_config_set(c, "transparency.show_full_revenue=false", s_err, sizeof s_err),
                     0);
    assert_false(c->game.show_revenue_board);
    assert_false(c->game.show_exchanges);
    assert_false(c->game.show_public_notices);
    assert_false(c->game.show_receipt_notice);
    assert_false(c->game.show_thoughts);
    assert_int_equal(pl_config_set(c, "transparency.exchanges=true", s_err, sizeof s_err), 0);
    assert_true(c->game.show_exchanges);
    assert_false(c->game.show_revenue_board);
    assert_false(c->game.show_thoughts);

    assert_int_equal(pl_config_set(c, "agent_types.policy=3", s_err, sizeof s_err), 0);
    assert_int_equal(c->game.type_counts[ENV_TYPE_POLICY], 3);
    assert_int_equal(pl_config_set(c, "prices.gpt-4.1.output=8", s_err, sizeof s_err), 0);
    assert_true(pl_config_price(c, "gpt-4.1")->output == 8);
    assert_int_equal(pl_config_set(c, "timing.mode=simultaneous", s_err, sizeof s_err), 0);
    assert_int_equal(c->timing, PL_TIMING_SIMULTANEOUS);
    assert_int_equal(pl_config_set(c, "automation=auto_fulfill", s_err, sizeof s_err), 0);
    assert_int_equal(c->game.automation, ENV_AUTO_FULFILL);

    /* A refused override names itself and leaves the configuration as it was. */
    assert_int_not_equal(pl_config_set(c, "simulation.rounds=abc", s_err, sizeof s_err), 0);
    assert_non_null(strstr(s_err, "simulation.rounds=abc: simulation.rounds: expected a whole"));
    assert_int_equal(c->game.rounds, 5);
    assert_int_not_equal(pl_config_set(c, "simulation.roundz=3", s_err, sizeof s_err), 0);
    assert_non_null(strstr(s_err, "did you mean 'simulation.rounds'"));
    assert_int_not_equal(pl_config_set(c, "seats.10.model=x", s_err, sizeof s_err), 0);
    assert_int_not_equal(pl_config_set(c, "seats.0.policy=llm", s_err, sizeof s_err), 0);
    assert_non_null(strstr(s_err, "needs a model"));
    assert_string_equal(c->seats[0].policy, "perfect");
    assert_int_not_equal(pl_config_set(c, "information.total_pieces=3", s_err, sizeof s_err), 0);
    assert_non_null(strstr(s_err, "information.total_pieces=3: information.pieces_per_agent"));
    assert_int_equal(c->game.total_pieces, 100);
    assert_int_not_equal(pl_config_set(c, "no equals sign", s_err, sizeof s_err), 0);

    /* An llm seat, then a provider change moves the defaults with it. */
    assert_int_equal(pl_config_set(c, "seats.0.model=m", s_err, sizeof s_err), 0);
    assert_int_equal(pl_config_set(c, "seats.0.policy=llm", s_err, sizeof s_err), 0);
    assert_string_equal(c->seats[0].base_url, "https://api.openai.com/v1");
    assert_int_equal(pl_config_set(c, "seats.0.provider=anthropic", s_err, sizeof s_err), 0);
    assert_string_equal(c->seats[0].base_url, "https://api.anthropic.com/v1");
    assert_string_equal(pl_seat_key_env(&c->seats[0]), "ANTHROPIC_API_KEY");
    assert_int_equal(pl_config_set(c, "seats.0.headers.X-Test=1", s_err, sizeof s_err), 0);
    assert_int_equal(c->seats[0].n_headers, 1);
    assert_string_equal(c->seats[0].headers[0].value, "1");
    pl_config_destroy(&c);

    /* The built-in seats follow a new agent count; a whole list can be given inline. */
    c = pl_config_default();
    assert_non_null(c);
    assert_int_equal(pl_config_set(c, "simulation.agents=4", s_err, sizeof s_err), 0);
    assert_int_equal(c->n_seats, 4);
    assert_string_equal(c->seats[1].policy, "perfect");
    assert_string_equal(c->seats[2].policy, "selfish");
    assert_int_equal(pl_config_set(c, "seats=[{policy: helper, count: 4}]", s_err, sizeof s_err),
                     0);
    assert_string_equal(c->seats[3].policy, "helper");
    assert_int_equal(pl_config_set(c, "simulation.agents=6", s_err, sizeof s_err), 0);
    assert_int_equal(c->n_seats, 6);
    assert_string_equal(c->seats[5].policy, "helper");
    assert_int_not_equal(
        pl_config_set(c, "seats=[{policy: helper, count: 2}]", s_err, sizeof s_err), 0);
    assert_non_null(strstr(s_err, "simulation.agents is 6"));
    assert_int_equal(pl_config_set(c, "seats.0.policy=perfect", s_err, sizeof s_err), 0);
    assert_int_not_equal(pl_config_set(c, "simulation.agents=8", s_err, sizeof s_err), 0);
    assert_int_equal(c->n_seats, 6);
    pl_config_destroy(&c);
}

/* ------------------------------------------------------------ refusals -- */

typedef struct {
    const char *text;
    const char *want; /* a substring of the message, with its "t.yaml:LINE:" */
} s_bad_t;

static const s_bad_t s_bad[] = {
    /* unknown keys, with a suggestion */
    {"simulation:\n  round: 5\n",
     "t.yaml:2: unknown key \"simulation.round\" (did you mean 'simulation.rounds'?)"},
    {"seed: 1\nsimulaton: {rounds: 3}\n",
     "t.yaml:2: unknown key \"simulaton\" (did you mean 'simulation'?)"},
    {"simulation:\n  total_pieces: 5\n", "t.yaml:2: unknown key \"simulation.total_pieces\" (did "
                                         "you mean 'information.total_pieces'?)"},
    {"colour: red\n", "t.yaml:1: unknown key \"colour\""},
    {"seats:\n  - policy: perfect\n    count: 10\n    modle: x\n",
     "t.yaml:4: seats[0]: unknown key \"modle\" (did you mean 'model'?)"},
    {"prices:\n  m: {inptu: 1}\n", "t.yaml:2: prices.m: unknown key \"inptu\""},
    {"agent_types: {competitve: 2}\n", "did you mean 'competitive'?"},
    /* wrong types */
    {"simulation:\n  rounds: abc\n", "t.yaml:2: simulation.rounds: expected a whole number"},
    {"simulation:\n  rounds: 2.5\n", "t.yaml:2: simulation.rounds: expected a whole number"},
    {"seed: [1, 2]\n", "t.yaml:1: seed: expected a single value, got a list"},
    {"seed: -1\n", "t.yaml:1: seed: expected a whole number"},
    {"transparency:\n  exchanges: maybe\n", "t.yaml:2: transparency.exchanges: expected true or"},
    {"timing:\n  heartbeat: fast\n", "t.yaml:2: timing.heartbeat: expected a number"},
    {"timing: {mode: async}\n", "t.yaml:1: timing.mode: unknown timing mode \"async\""},
    {"automation: auto_everything\n", "t.yaml:1: automation: unknown automation"},
    {"simulation: 5\n", "t.yaml:1: simulation: expected a mapping of keys, got a scalar"},
    {"seats: {policy: perfect}\n", "t.yaml:1: seats: expected a list of seat groups"},
    {"- a\n- b\n", "t.yaml:1: the top level: expected a mapping"},
    {"hello\n", "t.yaml:1: the top level: expected a mapping"},
    /* negative and zero numbers */
    {"simulation:\n  rounds: 0\n", "t.yaml:2: simulation.rounds: 0 is too small"},
    {"simulation:\n  agents: -3\n", "t.yaml:2: simulation.agents: -3 is too small"},
    {"revenue:\n  task_completion: -5\n", "t.yaml:2: revenue.task_completion: -5 is too small"},
    {"timing:\n  turn_timeout: 0\n", "t.yaml:2: timing.turn_timeout: 0 is too small"},
    {"revenue: {incorrect_value_penalty: 1.5}\n", "revenue.incorrect_value_penalty: 1.5 is too"},
    {"seats:\n  - {policy: perfect, count: 0}\n", "t.yaml:2: seats[0].count: expected a whole"},
    /* impossible numbers (env_config_check), at the line of the key it names */
    {"simulation: {agents: 2}\ninformation:\n  pieces_per_agent: 1\n  total_pieces: 3\n",
     "t.yaml:4: tasks.pieces_per_task must be between 1 and information.total_pieces (3)"},
    /* a key that is not in the file is placed at its section */
    {"seed: 1\ninformation:\n  total_pieces: 3\n", "t.yaml:2: information.pieces_per_agent must"},
    {"tasks:\n  pieces_per_task: 101\n", "t.yaml:2: tasks.pieces_per_task must be"},
    {"information:\n  pieces_per_agent: 101\n", "t.yaml:2: information.pieces_per_agent must be"},
    {"simulation: {agents: 4}\nseats: [{policy: perfect, count: 4}]\n"
     "agent_types:\n  policy: 3\n  competitive: 2\n",
     "t.yaml:3: agent_types count 5 typed agents but simulation.agents is 4"},
    /* seats */
    {"seats:\n  - policy: perfect\n    count: 3\n",
     "t.yaml:1: seats: the groups give 3 seats but simulation.agents is 10"},
    {"simulation: {agents: 2}\nseats:\n  - {policy: perfect}\n  - {policy: perfekt}\n",
     "t.yaml:4: seats: agent_2: unknown policy \"perfekt\" (did you mean 'perfect'?)"},
    {"simulation: {agents: 2}\nseats:\n  - {policy: llm, model: m, provider: openia, count: 2}\n",
     "t.yaml:3: seats: agent_1: unknown provider \"openia\" (did you mean 'openai'?)"},
    {"simulation: {agents: 2}\nseats:\n  - {policy: llm, count: 2}\n",
     "t.yaml:3: seats: agent_1: an llm seat needs a model"},
    {"simulation: {agents: 2}\nseats:\n  - {count: 2}\n",
     "t.yaml:3: seats[0]: a seat group needs a policy"},
    {"simulation: {agents: 2}\nseats:\n  - {policy: llm, model: m, prompt_layout: x, count: 2}\n",
     "unknown prompt_layout"},
    {"scenario: chess\n", "t.yaml:1: scenario: unknown scenario \"chess\""},
    /* malformed YAML: libyaml's own message, with its line */
    {"simulation:\n  rounds: [1, 2\n", "t.yaml:3: did not find expected ',' or ']'"},
    {"simulation:\n  rounds: 5\n bad: 1\n", "t.yaml:3:"},
    {"a: \"unterminated\n", "t.yaml:2: found unexpected end of stream"},
    /* duplicates */
    {"seed: 1\nseed: 2\n", "t.yaml:2: seed: duplicate key (first given on line 1)"},
    {"simulation:\n  rounds: 1\n  rounds: 2\n",
     "t.yaml:3: simulation.rounds: duplicate key (first given on line 2)"},
    /* aliases, small and explosive */
    {"simulation: &s {rounds: 3}\ninformation: *s\n", "not supported"},
    {"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
     "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
     "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
     "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
     "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
     "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
     "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
     "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
     "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
     "seats: *i\n",
     "anchors and aliases"},
    {"seats: &x [*x]\n", "anchors and aliases"},
    /* one document per file */
    {"seed: 1\n---\nseed: 2\n", "t.yaml:3: a second YAML document"},
};

static void test_refusals(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s_bad / sizeof s_bad[0]; i++) {
        pl_config_t *c = s_parse(s_bad[i].text);
        if (c) fail_msg("accepted:\n%s", s_bad[i].text);
        if (!strstr(s_err, s_bad[i].want))
            fail_msg("for:\n%s\nwant: %s\ngot:  %s", s_bad[i].text, s_bad[i].want, s_err);
        /* Every message starts with the file name. */
        assert_int_equal(strncmp(s_err, "t.yaml:", 7), 0);
    }
}

static void test_load_errors(void **state)
{
    (void)state;
    assert_null(pl_config_load("/nonexistent/parley.yaml", s_err, sizeof s_err));
    assert_non_null(strstr(s_err, "/nonexistent/parley.yaml: cannot open"));
    /* A tiny error buffer is never overrun, and NULL is allowed. */
    char tiny[8];
    assert_null(pl_config_parse("seed: x", 7, "t.yaml", tiny, sizeof tiny));
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
    assert_null(pl_config_parse("seed: x", 7, "t.yaml", NULL, 0));
}

/* ----------------------------------------------------------- round trip -- */

static void s_round_trip(const pl_config_t *c)
{
    json_t *j = pl_config_to_json(c);
    assert_non_null(j);
    char *text = json_dumps(j, JSON_INDENT(2));
    assert_non_null(text);
    pl_config_t *back = pl_config_parse(text, strlen(text), "resolved.json", s_err, sizeof s_err);
    if (!back) fail_msg("%s\n%s", s_err, text);
    s_assert_config_equal(c, back);
    /* Written again, the text is the same. */
    json_t *j2 = pl_config_to_json(back);
    assert_non_null(j2);
    assert_true(json_equal(j, j2));
    json_decref(j2);
    pl_config_destroy(&back);
    free(text);
    json_decref(j);
}

static void test_round_trip(void **state)
{
    (void)state;
    pl_config_t *c = pl_config_default();
    assert_non_null(c);
    s_round_trip(c);
    pl_config_destroy(&c);

    c = s_parse(s_every_key);
    if (!c) fail_msg("%s", s_err);
    s_round_trip(c);
    /* Awkward strings survive too. */
    assert_int_equal(pl_config_set(c, "seats.2.label='null'", s_err, sizeof s_err), 0);
    assert_string_equal(c->seats[2].label, "null");
    assert_int_equal(
        pl_config_set(c, "seats.3.label=\"tab\\there \\u00e9 \\\"q\\\": x\"", s_err, sizeof s_err),
        0);
    assert_int_equal(pl_config_set(c, "seed=12345", s_err, sizeof s_err), 0);
    s_round_trip(c);
    pl_config_destroy(&c);

    const char *examples[] = {"paper.yaml", "llm-openai.yaml", "llm-mixed.yaml", "session.yaml"};
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        c = pl_config_load(s_example(examples[i]), s_err, sizeof s_err);
        if (!c) fail_msg("%s", s_err);
        s_round_trip(c);
        pl_config_destroy(&c);
    }
}

static void test_timing_names(void **state)
{
    (void)state;
    for (int t = PL_TIMING_SEQUENTIAL; t <= PL_TIMING_REALTIME; t++)
        assert_int_equal(pl_timing_from_name(pl_timing_name((pl_timing_t)t)), t);
    assert_int_equal(pl_timing_from_name("later"), -1);
    assert_int_equal(pl_timing_from_name(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_is_paper),
        cmocka_unit_test(test_paper_yaml_is_paper),
        cmocka_unit_test(test_empty_is_default),
        cmocka_unit_test(test_llm_examples),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_llm_defaults),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_timing_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
