/* test_llm_config.c: llm seat settings checked at load time (common/pl_config_seat.c).
 *
 * What a provider would refuse, or what parley would otherwise have to change
 * before sending, is refused when the file is read, with the file, the line of
 * the key at fault and what to write instead: temperature out of the
 * provider's range, reasoning_effort names the provider does not take,
 * max_tokens not above Anthropic's thinking budget, temperature or a forced
 * tool with thinking, json_object on Anthropic, an unknown reply_format,
 * json_mode contradicting reply_format. Settings that are fine load as written,
 * and the key variable follows the base_url (issue 14). */
#include "pl_config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A file with two llm seats of `provider` whose group has the lines of `keys`
 * (each "key: value"), one a line, starting on line 5. */
static pl_config_t *s_load(const char *provider, const char *keys, char *err, size_t errlen)
{
    char text[2048];
    snprintf(text, sizeof text,
             "simulation: {agents: 2}\n" /* 1 */
             "seats:\n"                  /* 2 */
             "  - policy: llm\n"         /* 3 */
             "    count: 2\n"            /* 4 */
             "    provider: %s\n"        /* 5 */
             "    model: m\n"            /* 6 */
             "%s",                       /* 7.. */
             provider, keys);
    return pl_config_parse(text, strlen(text), "seats.yaml", err, errlen);
}

/* The file is refused at `line` with every one of the words. */
static void s_refused(const char *provider, const char *keys, int line, const char *const *words)
{
    char err[512] = "";
    pl_config_t *c = s_load(provider, keys, err, sizeof err);
    if (c) {
        pl_config_destroy(&c);
        fail_msg("%s seat accepted:\n%s", provider, keys);
    }
    char at[32];
    snprintf(at, sizeof at, "seats.yaml:%d: ", line);
    if (strncmp(err, at, strlen(at)) != 0) fail_msg("not at line %d: %s", line, err);
    for (int i = 0; words[i]; i++)
        if (!strstr(err, words[i])) fail_msg("the message lacks \"%s\": %s", words[i], err);
    print_message("%s\n", err);
}

static pl_config_t *s_ok(const char *provider, const char *keys)
{
    char err[512] = "";
    pl_config_t *c = s_load(provider, keys, err, sizeof err);
    if (!c) fail_msg("refused: %s", err);
    return c;
}

static void test_temperature_ranges(void **state)
{
    (void)state;
    s_refused("openai", "    max_tokens: 100\n    temperature: 2.5\n", 8,
              (const char *[]){"temperature 2.5", "openai", "0 to 2", NULL});
    s_refused("anthropic", "    temperature: 1.5\n", 7,
              (const char *[]){"temperature 1.5", "anthropic", "0 to 1", NULL});
    pl_config_t *c = s_ok("openai", "    temperature: 2\n");
    assert_true(c->seats[0].temperature == 2);
    pl_config_destroy(&c);
    c = s_ok("anthropic", "    temperature: 1\n");
    pl_config_destroy(&c);
}

static void test_reasoning_effort_names(void **state)
{
    (void)state;
    s_refused("openai", "    reasoning_effort: \"2048\"\n", 7,
              (const char *[]){"reasoning_effort \"2048\"",
                               "none, minimal, low, medium, high, xhigh", NULL});
    static const char *const bad[] = {"xhigh", "max", "minimal", "1000", "lots"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char keys[128];
        snprintf(keys, sizeof keys, "    max_tokens: 40000\n    reasoning_effort: %s\n", bad[i]);
        s_refused("anthropic", keys, 8, (const char *[]){bad[i], "low, medium, high", NULL});
    }
    pl_config_t *c = s_ok("openai", "    reasoning_effort: xhigh\n");
    pl_config_destroy(&c);
    c = s_ok("anthropic", "    max_tokens: 3000\n    reasoning_effort: \"2048\"\n");
    assert_int_equal(pl_seat_thinking_budget(&c->seats[0]), 2048);
    pl_config_destroy(&c);
}

/* The case: max_tokens 2000 with reasoning_effort was sent as 8192. */
static void test_thinking_budget_vs_max_tokens(void **state)
{
    (void)state;
    s_refused(
        "anthropic", "    max_tokens: 2000\n    reasoning_effort: medium\n", 7,
        (const char *[]){"max_tokens 2000", "thinking budget 4096", "max_tokens: 5120", NULL});
    /* the default (1000) is below every budget: the line of reasoning_effort */
    s_refused("anthropic", "    reasoning_effort: low\n", 7,
              (const char *[]){"max_tokens 1000 (the default)", "1024", NULL});
    /* temperature was dropped without a word */
    s_refused("anthropic",
              "    max_tokens: 8000\n    reasoning_effort: low\n    temperature: 0.5\n", 9,
              (const char *[]){"no temperature with thinking", NULL});
    /* a forced tool cannot go with thinking */
    s_refused("anthropic",
              "    max_tokens: 8000\n    reasoning_effort: low\n    reply_format: json_schema\n", 9,
              (const char *[]){"json_schema", "use tools or text", NULL});
    pl_config_t *c = s_ok(
        "anthropic", "    max_tokens: 8000\n    reasoning_effort: low\n    reply_format: tools\n");
    assert_int_equal(c->seats[0].max_tokens, 8000); /* as written */
    pl_config_destroy(&c);
}

static void test_reply_formats(void **state)
{
    (void)state;
    s_refused("openai", "    reply_format: yaml\n", 7,
              (const char *[]){"unknown reply_format \"yaml\"", "json_schema", NULL});
    s_refused("anthropic", "    reply_format: json_object\n", 7,
              (const char *[]){"no JSON-object mode", "json_schema", NULL});
    s_refused("anthropic", "    json_mode: true\n", 7,
              (const char *[]){"no JSON-object mode", NULL});
    s_refused(
        "openai", "    json_mode: true\n    reply_format: tools\n", 7,
        (const char *[]){"json_mode: true is the old spelling", "write only reply_format", NULL});
    /* defaults: text for both providers (the study sent no format); json_mode is
     * json_object */
    static const char *const formats[] = {"text", "json_object", "json_schema", "tools"};
    for (size_t i = 0; i < 4; i++) {
        char keys[64];
        snprintf(keys, sizeof keys, "    reply_format: %s\n", formats[i]);
        pl_config_t *c = s_ok("openai", keys);
        assert_string_equal(c->seats[1].reply_format, formats[i]);
        pl_config_destroy(&c);
    }
    pl_config_t *c = s_ok("anthropic", "");
    assert_string_equal(c->seats[0].reply_format, "text");
    assert_int_equal(c->seats[0].max_tokens, 0); /* 0: PL_ANTHROPIC_MAX_TOKENS, the study's */
    pl_config_destroy(&c);
    c = s_ok("openai", "    json_mode: true\n");
    assert_string_equal(c->seats[0].reply_format, "json_object");
    pl_config_destroy(&c);
}

/* Issue 14: which variable's key a seat sends. */
static void test_key_follows_base_url(void **state)
{
    (void)state;
    pl_config_t *c = s_ok("openai", "    base_url: http://127.0.0.1:8080/v1\n");
    assert_null(pl_seat_key_env(&c->seats[0]));
    pl_config_destroy(&c);
    c = s_ok("openai", "    base_url: https://API.openai.com/v1/\n");
    assert_string_equal(pl_seat_key_env(&c->seats[0]), "OPENAI_API_KEY");
    pl_config_destroy(&c);
    /* a look-alike host is not the vendor's */
    c = s_ok("openai", "    base_url: https://api.openai.com.example.org/v1\n");
    assert_null(pl_seat_key_env(&c->seats[0]));
    pl_config_destroy(&c);
    c = s_ok("anthropic", "");
    assert_string_equal(pl_seat_key_env(&c->seats[0]), "ANTHROPIC_API_KEY");
    pl_config_destroy(&c);
    c = s_ok("anthropic", "    base_url: http://127.0.0.1:9/v1\n    api_key_env: LOCAL_KEY\n");
    assert_string_equal(pl_seat_key_env(&c->seats[0]), "LOCAL_KEY");
    pl_config_destroy(&c);
    /* an override moving base_url away takes the vendor key away with it */
    c = s_ok("openai", "");
    char err[256];
    assert_int_equal(pl_config_set(c, "seats.0.base_url=http://127.0.0.1:9/v1", err, sizeof err),
                     0);
    assert_null(pl_seat_key_env(&c->seats[0]));
    assert_string_equal(pl_seat_key_env(&c->seats[1]), "OPENAI_API_KEY");
    pl_config_destroy(&c);
}

/* An override is checked the same way (no line to give: the assignment). */
static void test_override_checked(void **state)
{
    (void)state;
    pl_config_t *c = s_ok("openai", "");
    char err[256];
    assert_int_not_equal(pl_config_set(c, "seats.0.temperature=3", err, sizeof err), 0);
    assert_non_null(strstr(err, "temperature 3 is out of range for openai"));
    assert_true(c->seats[0].temperature < 0); /* left unchanged */
    pl_config_destroy(&c);
}

/* llm.cache_hints: on or off, anything else refused at its line. */
static void test_cache_hints_switch(void **state)
{
    (void)state;
    const char *base = "simulation: {agents: 2}\n"
                       "seats:\n"
                       "  - {policy: llm, count: 2, model: m, prompt: cache}\n";
    char text[512], err[512] = "";
    snprintf(text, sizeof text, "%sllm:\n  cache_hints: \"off\"\n", base);
    pl_config_t *c = pl_config_parse(text, strlen(text), "hints.yaml", err, sizeof err);
    if (!c) fail_msg("refused: %s", err);
    assert_string_equal(c->llm_cache_hints, "off");
    pl_config_destroy(&c);
    snprintf(text, sizeof text, "%sllm:\n  cache_hints: sometimes\n", base);
    c = pl_config_parse(text, strlen(text), "hints.yaml", err, sizeof err);
    assert_null(c);
    if (!strstr(err, "hints.yaml:5: llm.cache_hints: unknown value \"sometimes\" (on or off)"))
        fail_msg("unexpected message: %s", err);
    c = pl_config_parse(base, strlen(base), "hints.yaml", err, sizeof err);
    assert_non_null(c);
    assert_null(c->llm_cache_hints); /* unset: on */
    pl_config_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_temperature_ranges),
        cmocka_unit_test(test_reasoning_effort_names),
        cmocka_unit_test(test_thinking_budget_vs_max_tokens),
        cmocka_unit_test(test_reply_formats),
        cmocka_unit_test(test_key_follows_base_url),
        cmocka_unit_test(test_override_checked),
        cmocka_unit_test(test_cache_hints_switch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
