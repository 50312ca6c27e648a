/* test_ana_evline.c: the members of an events.jsonl line (analysis/ana_evline.h)
 * are what jansson's parse of the whole line holds: for lines at the edges of
 * the format (escapes in read and in skipped members, brackets inside strings,
 * reals, the largest integers, nesting, empty containers), for every event of
 * whole in-process games, with every member and with only those the run's
 * totals read; text that is not the compact form gives NULL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ana_evline.h"
#include "ana_run.h"
#include "env.h"

#include <stdlib.h>
#include <string.h>

static bool s_want_ab(const char *k, size_t n)
{
    return (n == 1 && (*k == 'a' || *k == 'b')) || (n == 4 && !memcmp(k, "type", 4));
}

/* parse(text, want) equals json_loadb(text) without the members want refuses. */
static void s_same(const char *text, size_t len, ana_evline_want_fn want)
{
    json_error_t e;
    json_t *full = json_loadb(text, len, 0, &e);
    assert_non_null(full);
    if (want) {
        const char *k;
        json_t *v, *tmp;
        json_object_foreach_safe(full, tmp, k, v)
        {
            if (!want(k, strlen(k))) json_object_del(full, k);
        }
    }
    json_t *got = ana_evline_parse(text, len, want);
    if (!got || !json_equal(got, full)) {
        char *a = json_dumps(full, JSON_COMPACT), *b = got ? json_dumps(got, JSON_COMPACT) : NULL;
        fail_msg("line %.*s\nwant %s\ngot  %s", (int)len, text, a, b ? b : "NULL");
    }
    json_decref(got);
    json_decref(full);
}

static void test_evline_edge_lines(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "{}",
        "{\"a\":1}",
        "{\"a\":\"x\\\"y\\\\z\\n\\u00e9\\u0001\",\"b\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}",
        "{\"c\":\"}]{[,\\\"\",\"a\":[],\"b\":{}}",
        "{\"content\":\"a\\\"},\\\\\",\"a\":\"after\",\"z\":[\"]\",{\"q\":\"}\"}],\"b\":2}",
        "{\"a\":-1,\"b\":9223372036854775807,\"c\":-9223372036854775808}",
        "{\"a\":1.5,\"b\":-2e3,\"c\":0.30000000000000004,\"d\":1E5}",
        "{\"a\":true,\"b\":false,\"c\":null,\"type\":\"message\"}",
        "{\"a\":[1,\"two\",[3,[4,{}]],{\"x\":{\"y\":[true,null]}}],\"b\":[[],[[]]]}",
        "{\"a\":[{\"piece\":\"P 1\",\"value\":-5,\"misreport\":true},{\"piece\":\"P\\t2\"}]}",
        "{\"seq\":1,\"type\":\"x\",\"round\":0,\"a\":\"\",\"b\":[\"\"]}",
        "{\"a\":123456789012345678,\"b\":1234567890123456789,\"c\":-123456789012345678}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        s_same(lines[i], strlen(lines[i]), NULL);
        s_same(lines[i], strlen(lines[i]), s_want_ab);
    }
}

static void test_evline_not_compact_is_null(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        " {}",
        "{} ",
        "{\"a\" :1}",
        "{\"a\": 1}",
        "{\"a\":1,}",
        "{\"a\":1 }",
        "{\"a\":1",
        "{\"a\":\"x}",
        "{\"a\":[1,2}",
        "[1]",
        "{\"a\":}",
        "{\"a\\\"b\":1}",
        "{\"a\":1\"b\":2}",
        "{\"a\":tru}",
        "{\"a\":\"\xff\"}",
        "{\"z\":1,}",
        "{,\"a\":1}",
        "{\"a\":1}x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *got = ana_evline_parse(bad[i], strlen(bad[i]), NULL);
        if (got) fail_msg("'%s' was accepted", bad[i]);
    }
    assert_null(ana_evline_parse(NULL, 0, NULL));
}

typedef struct {
    int lines;
} s_count_t;

static void s_on_line(void *ctx, const char *type, const char *text, size_t len)
{
    (void)type;
    s_count_t *c = ctx;
    c->lines++;
    s_same(text, len, NULL);
    s_same(text, len, ana_run_feed_reads);
}

/* Every event of whole games, under every scripted policy (messages, actions,
 * thoughts, transfers, tasks). */
static void test_evline_whole_games(void **state)
{
    (void)state;
    for (int pol = 0; pol < ENV_POLICY_COUNT; pol++) {
        env_config_t c;
        env_config_paper(&c);
        c.seed = 7 + (uint64_t)pol;
        c.rounds = 4;
        env_policy_t pols[10];
        for (int i = 0; i < 10; i++) pols[i] = (env_policy_t)((pol + i % 2) % ENV_POLICY_COUNT);
        s_count_t count = {0};
        env_game_t *g = env_game_new_text(&c, s_on_line, &count, NULL);
        assert_non_null(g);
        assert_int_equal(env_play(g, pols), ENV_OK);
        assert_true(count.lines > 20);
        env_game_destroy(&g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evline_edge_lines),
        cmocka_unit_test(test_evline_not_compact_is_null),
        cmocka_unit_test(test_evline_whole_games),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
