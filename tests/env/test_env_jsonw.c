/* test_env_jsonw.c: the event log's writer (environment/env_jsonw.h) writes the
 * same bytes as jansson's compact dump, which is what events.jsonl held before
 * it: for values at the edges of the format (escapes, UTF-8, NUL inside a
 * string, extreme integers, reals) and for every event of whole games under
 * every scripted policy, one line at a time and as one batch; and the events
 * of three fixed games, written by the environment as text (no tree) and as
 * trees, are byte for byte tests/env/data/events-golden.jsonl, which the
 * environment wrote through jansson before env_jsonw (commit 90de249). */
#include "env_fixtures.h"
#include "env_jsonw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* w's text after writing v is exactly json_dumps(v, JSON_COMPACT). */
static void s_same(env_jsonw_t *w, json_t *v)
{
    assert_non_null(v);
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(want);
    env_jsonw_truncate(w, 0);
    assert_int_equal(env_jsonw_value(w, v), 0);
    assert_string_equal(env_jsonw_data(w), want);
    assert_int_equal(env_jsonw_len(w), strlen(want));
    free(want);
    json_decref(v);
}

static void test_jsonw_edge_values(void **state)
{
    (void)state;
    env_jsonw_t *w = env_jsonw_new();
    assert_non_null(w);
    char ctl[40];
    for (int i = 0; i < 32; i++) ctl[i] = (char)(i + 1 < 32 ? i + 1 : 0x7f);
    ctl[32] = '"';
    ctl[33] = '\\';
    ctl[34] = '/';
    ctl[35] = '\0';
    s_same(w, json_string(ctl));
    s_same(w, json_stringn("a\0b", 3)); /* NUL inside a string: \u0000 */
    s_same(w, json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    s_same(w, json_string(""));
    s_same(w, json_object());
    s_same(w, json_array());
    s_same(w, json_null());
    s_same(w, json_true());
    s_same(w, json_false());
    json_int_t ints[] = {0, 1, -1, 10000, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) s_same(w, json_integer(ints[i]));
    double reals[] = {0.0,
                      -0.0,
                      0.5,
                      0.1,
                      1.0,
                      100.0,
                      1e21,
                      1e22,
                      1e300,
                      -2.5e-7,
                      1e-300,
                      123456789012345678.0,
                      0.30000000000000004,
                      3.14159};
    for (size_t i = 0; i < sizeof reals / sizeof *reals; i++) s_same(w, json_real(reals[i]));
    s_same(w, json_pack("{s:[i,{s:s,s:n},[]],s:{},s:f,s:b,s:s}", "a", 1, "k\"ey", "v\\", "nil",
                        "empty", "r", 0.25, "t", 1, "esc\"\n\t", "x"));
    /* A writer reused after large text keeps writing correctly. */
    json_t *big = json_array();
    for (int i = 0; i < 5000; i++) json_array_append_new(big, json_sprintf("piece %d\n", i));
    s_same(w, big);
    s_same(w, json_integer(7));
    env_jsonw_destroy(&w);
    assert_null(w);
    env_jsonw_destroy(&w); /* NULL-safe */
}

/* The writer skips plain ASCII eight bytes at a time: a byte to escape, a
 * multi-byte character or a byte that is not UTF-8, at every position of a
 * string around and across those words, is still written (or refused) as
 * jansson does it. */
static void test_jsonw_special_bytes_at_every_position(void **state)
{
    (void)state;
    env_jsonw_t *w = env_jsonw_new();
    assert_non_null(w);
    static const char *const odd[] = {"\x01",
                                      "\x1f",
                                      "\n",
                                      "\"",
                                      "\\",
                                      "/",
                                      "\x7f",
                                      " ",
                                      "\xc3\xa9",
                                      "\xe2\x82\xac",
                                      "\xf0\x9f\x98\x80"};
    static const char *const bad[] = {"\x80", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xff"};
    char text[64];
    for (size_t len = 1; len <= 26; len++)
        for (size_t at = 0; at < len; at++) {
            for (size_t k = 0; k < sizeof odd / sizeof *odd; k++) {
                memset(text, 'a' + (int)(at % 26), sizeof text);
                size_t n = strlen(odd[k]);
                memcpy(text + at, odd[k], n);
                text[len + n - 1] = '\0';
                s_same(w, json_string(text));
            }
            for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
                memset(text, 'b', sizeof text);
                size_t n = strlen(bad[k]);
                memcpy(text + at, bad[k], n);
                text[len + n - 1] = '\0';
                assert_null(json_string(text)); /* jansson refuses it ... */
                env_jsonw_reset(w);
                env_jsonw_obj(w);
                env_jsonw_kstr(w, "k", text); /* ... and the writer leaves it out */
                env_jsonw_close(w);
                assert_string_equal(env_jsonw_data(w), "{}");
                assert_int_equal(env_jsonw_str(w, text), -1);
            }
        }
    env_jsonw_destroy(&w);
}

/* The streaming calls copy short plain ASCII in one pass and hand everything
 * else to the general path: keys and strings with a byte to escape or a
 * multi-byte character at every position, and plain ones just under, at and
 * past the fast path's room (512 bytes), written after a comma, after a key
 * and into a buffer that must grow, give the same bytes as jansson's dump of
 * the same object. */
static void test_jsonw_streaming_every_string(void **state)
{
    (void)state;
    env_jsonw_t *w = env_jsonw_new();
    assert_non_null(w);
    static const char *const odd[] = {
        "a", "\x01", "\x1f", "\n", "\"", "\\", "/", "\x7f", " ", "\xc3\xa9", "\xf0\x9f\x98\x80"};
    static const size_t lens[] = {1,   2,   7,   8,   9,   17,  250, 497, 498, 499,
                                  500, 501, 502, 503, 504, 505, 511, 512, 513, 1200};
    char *text = malloc(1300);
    assert_non_null(text);
    for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
        size_t len = lens[l];
        for (size_t at = 0; at<len; at += len> 40 ? len / 7 + 1 : 1) {
            for (size_t k = 0; k < sizeof odd / sizeof *odd; k++) {
                memset(text, 'a' + (int)(at % 26), 1300);
                size_t n = strlen(odd[k]);
                memcpy(text + at, odd[k], n);
                text[len + n - 1] = '\0';
                for (int filler = 0; filler < 2; filler++) {
                    /* filler: text already in the buffer, so the fast path's
                     * room is short of the capacity and the buffer grows */
                    char ki[1400], kb[1400]; /* keys like text for an integer, a boolean */
                    snprintf(ki, sizeof ki, "#%s", text);
                    snprintf(kb, sizeof kb, "%%%s", text);
                    json_t *want_v =
                        json_pack("{s:s, s:i, s:[s, s], s:s, s:I, s:b}", text, text, "n", 1, "l",
                                  text, "x", "k", text, ki, (json_int_t)-42, kb, 1);
                    assert_non_null(want_v);
                    char *want = json_dumps(want_v, JSON_COMPACT);
                    assert_non_null(want);
                    env_jsonw_reset(w);
                    if (filler)
                        for (size_t f = 0; f < len * 3 + 4000; f++) env_jsonw_raw(w, "z", 1);
                    size_t mark = env_jsonw_len(w);
                    env_jsonw_obj(w);
                    env_jsonw_kstr(w, text, text);
                    env_jsonw_kint(w, "n", 1);
                    env_jsonw_key(w, "l");
                    env_jsonw_arr(w);
                    assert_int_equal(env_jsonw_str(w, text), 0);
                    env_jsonw_str(w, "x");
                    env_jsonw_close(w);
                    env_jsonw_key(w, "k");
                    env_jsonw_str(w, text);
                    env_jsonw_kint(w, ki, -42);
                    env_jsonw_kbool(w, kb, 1);
                    env_jsonw_close(w);
                    assert_true(env_jsonw_ok(w));
                    assert_string_equal(env_jsonw_data(w) + mark, want);
                    assert_int_equal(env_jsonw_len(w) - mark, strlen(want));
                    free(want);
                    json_decref(want_v);
                }
            }
        }
    }
    free(text);
    env_jsonw_destroy(&w);
}

/* The streaming calls give what jansson gives for the same tree: integers at
 * the edges, strings it refuses (not UTF-8: left out with their key), nesting. */
static void test_jsonw_streaming(void **state)
{
    (void)state;
    env_jsonw_t *w = env_jsonw_new();
    assert_non_null(w);
    env_jsonw_obj(w);
    env_jsonw_kint(w, "min", INT64_MIN);
    env_jsonw_kint(w, "max", INT64_MAX);
    env_jsonw_kint(w, "zero", 0);
    env_jsonw_kint(w, "neg", -5);
    env_jsonw_kstr(w, "bad", "caf\xe9");            /* Latin-1, not UTF-8 */
    env_jsonw_kstr(w, "surrogate", "\xed\xa0\x80"); /* U+D800 */
    env_jsonw_kstr(w, "overlong", "\xe0\x80\xaf");
    env_jsonw_kstr(w, "ok", "\xf0\x9f\x98\x80 \"q\"\n");
    env_jsonw_key(w, "list");
    env_jsonw_arr(w);
    env_jsonw_str(w, "a");
    assert_int_equal(env_jsonw_str(w, "\xff"), -1);
    env_jsonw_obj(w);
    env_jsonw_kbool(w, "t", 1);
    env_jsonw_key(w, "n");
    env_jsonw_null(w);
    env_jsonw_close(w);
    env_jsonw_int(w, 7);
    env_jsonw_close(w);
    env_jsonw_close(w);
    assert_true(env_jsonw_ok(w));

    json_t *want = json_object();
    json_object_set_new(want, "min", json_integer(INT64_MIN));
    json_object_set_new(want, "max", json_integer(INT64_MAX));
    json_object_set_new(want, "zero", json_integer(0));
    json_object_set_new(want, "neg", json_integer(-5));
    json_object_set_new(want, "bad", json_string("caf\xe9"));
    json_object_set_new(want, "surrogate", json_string("\xed\xa0\x80"));
    json_object_set_new(want, "overlong", json_string("\xe0\x80\xaf"));
    json_object_set_new(want, "ok", json_string("\xf0\x9f\x98\x80 \"q\"\n"));
    json_t *list = json_array();
    json_array_append_new(list, json_string("a"));
    json_array_append_new(list, json_string("\xff"));
    json_array_append_new(list, json_pack("{s:b,s:n}", "t", 1, "n"));
    json_array_append_new(list, json_integer(7));
    json_object_set_new(want, "list", list);
    char *text = json_dumps(want, JSON_COMPACT);
    assert_non_null(text);
    assert_string_equal(env_jsonw_data(w), text);
    free(text);
    json_decref(want);
    env_jsonw_destroy(&w);
}

/* A sink that writes each event both ways and keeps the batch. */
typedef struct {
    env_jsonw_t *line, *batch;
    char *dumped; /* every json_dumps line, '\n'-joined */
    size_t len, cap;
    size_t events;
} s_twin_t;

static void s_twin_sink(void *ctx, json_t *ev)
{
    s_twin_t *t = ctx;
    char *want = json_dumps(ev, JSON_COMPACT);
    assert_non_null(want);
    env_jsonw_truncate(t->line, 0);
    assert_int_equal(env_jsonw_value(t->line, ev), 0);
    assert_string_equal(env_jsonw_data(t->line), want);
    assert_int_equal(env_jsonw_value(t->batch, ev), 0);
    assert_int_equal(env_jsonw_raw(t->batch, "\n", 1), 0);
    size_t n = strlen(want);
    if (t->len + n + 2 > t->cap) {
        t->cap = 2 * (t->len + n + 2);
        t->dumped = realloc(t->dumped, t->cap);
        assert_non_null(t->dumped);
    }
    memcpy(t->dumped + t->len, want, n);
    t->len += n;
    t->dumped[t->len++] = '\n';
    t->dumped[t->len] = '\0';
    t->events++;
    free(want);
    json_decref(ev);
}

static void s_game_same(env_config_t *c, env_policy_t policy)
{
    s_twin_t t = {env_jsonw_new(), env_jsonw_new(), NULL, 0, 0, 0};
    assert_non_null(t.line);
    assert_non_null(t.batch);
    env_policy_t pol[64];
    for (int i = 0; i < c->n_agents; i++) pol[i] = i % 2 ? policy : ENV_POLICY_PERFECT;
    env_game_t *g = env_game_new(c, s_twin_sink, &t, NULL);
    assert_non_null(g);
    assert_int_equal(env_play(g, pol), ENV_OK);
    assert_true(t.events > 100);
    assert_int_equal(t.events, env_events_emitted(g));
    /* The batch, all lines in one buffer, is the file jansson's lines make. */
    assert_int_equal(env_jsonw_len(t.batch), t.len);
    assert_memory_equal(env_jsonw_data(t.batch), t.dumped, t.len);
    env_game_destroy(&g);
    env_jsonw_destroy(&t.line);
    env_jsonw_destroy(&t.batch);
    free(t.dumped);
}

/* Keys given as their log text (ENV_JSONW_KEY) and values given as JSON text
 * write what the plain calls write: the separators in every position (first
 * member, later ones, after a nested container, in an array), strings that
 * take the fast path, need escaping or are refused, and every integer from
 * -3,000 to 300,000 plus the extremes (the digits are written two at a time). */
static void test_jsonw_prebuilt_keys_match_plain_calls(void **state)
{
    (void)state;
    env_jsonw_t *a = env_jsonw_new(), *b = env_jsonw_new();
    assert_non_null(a);
    assert_non_null(b);
    static const char *const strs[] = {"plain",       "",        "tab\there", "quote\"",
                                       "caf\xc3\xa9", "caf\xe9", NULL};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        env_jsonw_reset(a);
        env_jsonw_reset(b);
        env_jsonw_obj(a);
        env_jsonw_obj(b);
        env_jsonw_kqstr(a, ENV_JSONW_KEY("s"), strs[i]); /* first member, or left out */
        env_jsonw_kstr(b, "s", strs[i]);
        env_jsonw_kqint(a, ENV_JSONW_KEY("n"), -42);
        env_jsonw_kint(b, "n", -42);
        env_jsonw_kqstr(a, ENV_JSONW_KEY("t"), strs[i]); /* a later one */
        env_jsonw_kstr(b, "t", strs[i]);
        env_jsonw_kq(a, ENV_JSONW_KEY("list"));
        env_jsonw_key(b, "list");
        env_jsonw_arr(a);
        env_jsonw_arr(b);
        env_jsonw_rawval(a, "\"x\"", 3);
        env_jsonw_str(b, "x");
        env_jsonw_obj(a);
        env_jsonw_obj(b);
        env_jsonw_kqbool(a, ENV_JSONW_KEY("b"), 1);
        env_jsonw_kbool(b, "b", 1);
        env_jsonw_close(a);
        env_jsonw_close(b);
        env_jsonw_rawval(a, "7", 1);
        env_jsonw_int(b, 7);
        env_jsonw_close(a);
        env_jsonw_close(b);
        env_jsonw_kqraw(a, ENV_JSONW_KEY("r"), "false", 5); /* after a closed container */
        env_jsonw_kbool(b, "r", 0);
        env_jsonw_close(a);
        env_jsonw_close(b);
        assert_true(env_jsonw_ok(a));
        assert_string_equal(env_jsonw_data(a), env_jsonw_data(b));
    }
    char want[64];
    for (long long v = -3000; v <= 300000; v++) {
        env_jsonw_reset(a);
        env_jsonw_obj(a);
        env_jsonw_kqint(a, ENV_JSONW_KEY("v"), v);
        env_jsonw_close(a);
        snprintf(want, sizeof want, "{\"v\":%lld}", v);
        if (strcmp(env_jsonw_data(a), want) != 0) fail_msg("%lld: %s", v, env_jsonw_data(a));
    }
    long long edges[] = {INT64_MIN, INT64_MIN + 1, INT64_MAX, 99, 100, 101, 999999999999LL};
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
        env_jsonw_reset(a);
        env_jsonw_arr(a);
        env_jsonw_int(a, edges[i]);
        env_jsonw_close(a);
        snprintf(want, sizeof want, "[%lld]", edges[i]);
        assert_string_equal(env_jsonw_data(a), want);
    }
    env_jsonw_destroy(&a);
    env_jsonw_destroy(&b);
}

static void test_jsonw_whole_games_match_jansson(void **state)
{
    (void)state;
    for (int p = 0; p < ENV_POLICY_COUNT; p++) {
        env_config_t c;
        env_config_paper(&c);
        c.seed = 11 + (uint64_t)p;
        c.rounds = 5;
        s_game_same(&c, (env_policy_t)p);
    }
    /* The intervention and the automation arms put other fields in events. */
    env_config_t c;
    env_config_paper(&c);
    c.seed = 3;
    c.rounds = 4;
    c.sharing_bonus = 1000;
    c.misreport_rate = 0.25;
    s_game_same(&c, ENV_POLICY_RANDOM);
    c.automation = ENV_AUTO_FULFILL;
    s_game_same(&c, ENV_POLICY_SELFISH);
    c.automation = ENV_AUTO_REQUEST;
    s_game_same(&c, ENV_POLICY_HELPER);
}

/* The three games of the golden file: seeds 42..44, 3 rounds, seats cycling
 * through every scripted policy; the second with the sharing bonus, a
 * misreport rate of 0.25 and auto-fulfil, the third with auto-request and the
 * clean submission rules. */
static void s_golden_config(int k, env_config_t *c, env_policy_t *pol)
{
    env_config_paper(c);
    c->seed = 42 + (uint64_t)k;
    c->rounds = 3;
    if (k == 1) {
        c->sharing_bonus = 1000;
        c->misreport_rate = 0.25;
        c->automation = ENV_AUTO_FULFILL;
    }
    if (k == 2) {
        c->automation = ENV_AUTO_REQUEST;
        c->submit_fallback_first = false;
        c->tell_failed_submission = true;
    }
    for (int i = 0; i < c->n_agents; i++) pol[i] = (env_policy_t)(i % ENV_POLICY_COUNT);
}

typedef struct {
    char *buf;
    size_t len, cap;
} s_text_t;

static void s_append(s_text_t *t, const char *s, size_t n)
{
    if (t->len + n + 2 > t->cap) {
        t->cap = 2 * (t->len + n + 2);
        t->buf = realloc(t->buf, t->cap);
        assert_non_null(t->buf);
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len++] = '\n';
}

static void s_text_sink(void *ctx, const char *type, const char *text, size_t len)
{
    assert_non_null(type);
    /* The type handed over is the line's own. */
    char want[64];
    snprintf(want, sizeof want, "\"type\":\"%s\"", type);
    assert_non_null(strstr(text, want));
    assert_int_equal(strlen(text), len);
    s_append(ctx, text, len);
}

static void s_tree_sink(void *ctx, json_t *ev)
{
    char *s = json_dumps(ev, JSON_COMPACT);
    assert_non_null(s);
    s_append(ctx, s, strlen(s));
    free(s);
    json_decref(ev);
}

static void test_jsonw_events_match_golden(void **state)
{
    (void)state;
    char path[4096];
    const char *src = getenv("PARLEY_SRC");
    snprintf(path, sizeof path, "%s/tests/env/data/events-golden.jsonl", src ? src : ".");
    /* After an intended change to the events (a new rule key in run_start, say),
     *   PARLEY_REGEN_GOLDEN=1 PARLEY_SRC=. build/tests/test_env_jsonw
     * rewrites the file from jansson's own dump (the tree builder), which
     * test_jsonw_whole_games_match_jansson holds equal to the text path. */
    if (getenv("PARLEY_REGEN_GOLDEN")) {
        s_text_t out = {0};
        for (int k = 0; k < 3; k++) {
            env_config_t c;
            env_policy_t pol[64];
            s_golden_config(k, &c, pol);
            env_game_t *g = env_game_new(&c, s_tree_sink, &out, NULL);
            assert_non_null(g);
            assert_int_equal(env_play(g, pol), ENV_OK);
            env_game_destroy(&g);
        }
        FILE *w = fopen(path, "wb");
        assert_non_null(w);
        assert_int_equal(fwrite(out.buf, 1, out.len, w), out.len);
        assert_int_equal(fclose(w), 0);
        free(out.buf);
    }
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    s_text_t golden = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        s_append(&golden, chunk, got);
        golden.len--; /* s_append's newline */
    }
    fclose(f);
    assert_true(golden.len > 1000);
    for (int mode = 0; mode < 2; mode++) {
        s_text_t out = {0};
        for (int k = 0; k < 3; k++) {
            env_config_t c;
            env_policy_t pol[64];
            s_golden_config(k, &c, pol);
            env_game_t *g = mode ? env_game_new(&c, s_tree_sink, &out, NULL)
                                 : env_game_new_text(&c, s_text_sink, &out, NULL);
            assert_non_null(g);
            assert_int_equal(env_play(g, pol), ENV_OK);
            env_game_destroy(&g);
        }
        assert_int_equal(out.len, golden.len);
        assert_memory_equal(out.buf, golden.buf, golden.len);
        free(out.buf);
    }
    free(golden.buf);
}

/* One game both ways: its text events (env_game_new_text) are jansson's dump
 * of its tree events, line for line. */
static void s_text_same_as_tree(const env_config_t *c, env_policy_t policy)
{
    env_policy_t pol[64];
    for (int i = 0; i < c->n_agents; i++) pol[i] = i % 2 ? policy : ENV_POLICY_PERFECT;
    s_text_t text = {0}, tree = {0};
    env_game_t *g = env_game_new_text(c, s_text_sink, &text, NULL);
    assert_non_null(g);
    assert_int_equal(env_play(g, pol), ENV_OK);
    env_game_destroy(&g);
    g = env_game_new(c, s_tree_sink, &tree, NULL);
    assert_non_null(g);
    assert_int_equal(env_play(g, pol), ENV_OK);
    env_game_destroy(&g);
    assert_true(text.len > 10000);
    assert_int_equal(text.len, tree.len);
    assert_memory_equal(text.buf, tree.buf, text.len);
    free(text.buf);
    free(tree.buf);
}

/* Piece names that need escaping, are not ASCII, or are not UTF-8 (left out
 * with their key, their names_pieces entry or their message, as jansson
 * leaves them): the text writer copies names it quoted once per game, the
 * tree builds each anew, and both write the same events. */
static void test_jsonw_odd_names_text_as_tree(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    c.seed = 5;
    c.rounds = 4;
    c.n_info_templates = 4;
    snprintf(c.info_templates[0], ENV_TEMPLATE_LEN, "Q\"{n}\\ data");
    snprintf(c.info_templates[1], ENV_TEMPLATE_LEN, "Caf\xc3\xa9 {n} \t list");
    snprintf(c.info_templates[2], ENV_TEMPLATE_LEN, "bad\xff {n}");
    snprintf(c.info_templates[3], ENV_TEMPLATE_LEN, "Region {n} market data");
    s_text_same_as_tree(&c, ENV_POLICY_PERFECT);
    s_text_same_as_tree(&c, ENV_POLICY_RANDOM);
    c.automation = ENV_AUTO_FULFILL;
    s_text_same_as_tree(&c, ENV_POLICY_HELPER);
    c.automation = ENV_AUTO_REQUEST;
    s_text_same_as_tree(&c, ENV_POLICY_SELFISH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonw_edge_values),
        cmocka_unit_test(test_jsonw_special_bytes_at_every_position),
        cmocka_unit_test(test_jsonw_streaming),
        cmocka_unit_test(test_jsonw_streaming_every_string),
        cmocka_unit_test(test_jsonw_prebuilt_keys_match_plain_calls),
        cmocka_unit_test(test_jsonw_whole_games_match_jansson),
        cmocka_unit_test(test_jsonw_events_match_golden),
        cmocka_unit_test(test_jsonw_odd_names_text_as_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
