/* test_wire_names.c: proto/wire_names.c, a Welcome's names as patterns
 * (PROTOCOL.md "Compact names"). A world's names come back byte for byte
 * after packing, for the default templates and for custom ones; the compact
 * Welcome of 1,000 seats and 10,000 pieces is a small fraction of the whole
 * one; names that do not carry their own numbers, or too many patterns, are
 * refused (the broker then sends them whole); and a seat refuses a Names
 * message that does not describe a list, instead of reading out of bounds or
 * allocating without limit. */
#include "wire.h"
#include "wire_names.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Packs names as patterns in a Welcome, unpacks it as a seat would and
 * rebuilds them; returns the packed size of the Welcome. */
static size_t s_round_trip(const char *const *names, size_t n, size_t *whole_size)
{
    wire_arena_t *a = wire_arena_new();
    assert_non_null(a);
    Parley__Names pn;
    assert_int_equal(wire_names_encode(a, names, n, &pn), WIRE_OK);
    Parley__Welcome w = PARLEY__WELCOME__INIT;
    w.seat = "agent_1";
    w.piece_names = &pn;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_WELCOME;
    e.welcome = &w;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_pack(&e, WIRE_MAX_BROKER_MSG, &buf, &len), WIRE_OK);
    if (whole_size) { /* the same Welcome with the list whole, as older clients get it */
        w.piece_names = NULL;
        w.n_pieces = n;
        w.pieces = (char **)names;
        *whole_size = parley__envelope__get_packed_size(&e);
    }
    wire_arena_destroy(&a);
    int err = 0;
    Parley__Envelope *back = wire_unpack(buf, len, WIRE_MAX_BROKER_MSG, &err);
    free(buf);
    assert_non_null(back);
    assert_non_null(back->welcome->piece_names);
    assert_int_equal(back->welcome->n_pieces, 0);
    size_t got = 0;
    char **names_back = wire_names_decode(back->welcome->piece_names, 1000000, &got, &err);
    assert_non_null(names_back);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++) assert_string_equal(names_back[i], names[i]);
    free(names_back);
    wire_free(&back);
    return len;
}

static void test_world_names_round_trip(void **state)
{
    (void)state;
    /* 1,000 seats, 10,000 pieces: the world bench/bench_join.sh joins. */
    env_config_t c;
    env_config_paper(&c);
    c.n_agents = 1000;
    c.total_pieces = 10000;
    int err = 0;
    env_game_t *g = env_game_new(&c, NULL, NULL, &err);
    assert_non_null(g);
    env_names_t nm;
    env_game_names(g, &nm);
    size_t whole = 0;
    size_t compact = s_round_trip(nm.piece_names, (size_t)nm.n_pieces, &whole);
    /* One byte a name and the five templates, against ~23 bytes a name. */
    assert_true(compact < (size_t)nm.n_pieces + 512);
    assert_true(compact * 10 < whole);
    print_message("Welcome with 10,000 piece names: %zu bytes whole, %zu as patterns\n", whole,
                  compact);

    /* Agent ids are one pattern: `which` is left out. */
    wire_arena_t *a = wire_arena_new();
    Parley__Names an;
    assert_int_equal(wire_names_encode(a, nm.agent_ids, (size_t)nm.n_agents, &an), WIRE_OK);
    assert_int_equal(an.count, 1000);
    assert_int_equal(an.n_patterns, 1);
    assert_string_equal(an.patterns[0]->prefix, "agent_");
    assert_string_equal(an.patterns[0]->suffix, "");
    assert_int_equal(an.which.len, 0);
    size_t n = 0;
    char **ids = wire_names_decode(&an, 1000, &n, &err);
    assert_non_null(ids);
    assert_int_equal(n, 1000);
    assert_string_equal(ids[0], "agent_1");
    assert_string_equal(ids[999], "agent_1000");
    free(ids);
    /* One more than the seat allows. */
    assert_null(wire_names_decode(&an, 999, &n, &err));
    assert_int_equal(err, WIRE_EMALFORMED);
    wire_arena_destroy(&a);
    env_game_destroy(&g);
}

static void test_custom_templates_round_trip(void **state)
{
    (void)state;
    /* information.info_templates with the number anywhere, twice included,
     * and digits around it. */
    const char *names[] = {"1 report", "Unit 2 of 2",  "Q3 data",  "4",
                           "Item 5b",  "Unit 6 of 2",  "Q7 data",  "x8x",
                           "99 9",     "Unit 10 of 2", "Q11 data", "12th"};
    s_round_trip(names, sizeof names / sizeof *names, NULL);
    const char *none[] = {"agent_1"};
    s_round_trip(none, 0, NULL);
}

static void test_names_that_do_not_fit(void **state)
{
    (void)state;
    wire_arena_t *a = wire_arena_new();
    Parley__Names pn;
    /* A template without {n}: the names do not carry their numbers. */
    const char *budget[] = {"Q1 sales data", "Budget", "Q3 sales data"};
    assert_int_equal(wire_names_encode(a, budget, 3, &pn), WIRE_EMALFORMED);
    /* A number that is not the name's own. */
    const char *shifted[] = {"Q2 sales data", "Q3 sales data"};
    assert_int_equal(wire_names_encode(a, shifted, 2, &pn), WIRE_EMALFORMED);
    /* More patterns than one byte can choose from. */
    enum { N = WIRE_NAMES_MAX_PATTERNS + 1 };
    static char buf[N][32];
    const char *many[N];
    for (int i = 0; i < N; i++) {
        snprintf(buf[i], sizeof buf[i], "t%d piece %d", i, i + 1);
        many[i] = buf[i];
    }
    assert_int_equal(wire_names_encode(a, many, N - 1, &pn), WIRE_OK);
    assert_int_equal(pn.n_patterns, WIRE_NAMES_MAX_PATTERNS);
    assert_int_equal(wire_names_encode(a, many, N, &pn), WIRE_EMALFORMED);
    wire_arena_destroy(&a);
}

static void test_bad_names_refused(void **state)
{
    (void)state;
    Parley__NamePattern p0 = PARLEY__NAME_PATTERN__INIT, p1 = PARLEY__NAME_PATTERN__INIT;
    p0.prefix = "Q";
    p0.suffix = " sales data";
    p1.prefix = "Region ";
    p1.suffix = " market data";
    Parley__NamePattern *pats[] = {&p0, &p1};
    uint8_t which[] = {0, 1, 1, 0};
    Parley__Names m = PARLEY__NAMES__INIT;
    m.count = 4;
    m.n_patterns = 2;
    m.patterns = pats;
    m.which.data = which;
    m.which.len = 4;
    size_t n = 0;
    int err = 0;
    char **ok = wire_names_decode(&m, 100, &n, &err);
    assert_non_null(ok);
    assert_string_equal(ok[1], "Region 2 market data");
    assert_string_equal(ok[3], "Q4 sales data");
    free(ok);

    /* `which` of another length than the list. */
    m.which.len = 3;
    assert_null(wire_names_decode(&m, 100, &n, &err));
    assert_int_equal(err, WIRE_EMALFORMED);
    m.which.len = 4;
    /* A pattern index past the patterns. */
    which[2] = 2;
    assert_null(wire_names_decode(&m, 100, &n, &err));
    assert_int_equal(err, WIRE_EMALFORMED);
    which[2] = 1;
    /* Names but no pattern. */
    m.n_patterns = 0;
    m.which.len = 0;
    assert_null(wire_names_decode(&m, 100, &n, &err));
    assert_int_equal(err, WIRE_EMALFORMED);
    /* A count far beyond what the seat takes, and one whose names would
     * exceed the frame limit: refused before anything is allocated. */
    m.n_patterns = 1;
    m.count = 2000000000u;
    assert_null(wire_names_decode(&m, 1000000, &n, &err));
    assert_int_equal(err, WIRE_EMALFORMED);
    static char longfix[4096];
    memset(longfix, 'x', sizeof longfix - 1);
    p0.prefix = longfix;
    m.count = 1000000;
    assert_null(wire_names_decode(&m, 1000000, &n, &err));
    assert_int_equal(err, WIRE_EMALFORMED);
    /* Empty is a list of no names. */
    m.count = 0;
    char **none = wire_names_decode(&m, 10, &n, &err);
    assert_non_null(none);
    assert_int_equal(n, 0);
    free(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_world_names_round_trip),
        cmocka_unit_test(test_custom_templates_round_trip),
        cmocka_unit_test(test_names_that_do_not_fit),
        cmocka_unit_test(test_bad_names_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
