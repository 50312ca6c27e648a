/* test_env_names.c: finding pieces and agents named in text (env_find_pieces,
 * env_request_piece, env_agent_index), against their definitions written out
 * plainly here. The library's versions take shortcuts (a name is looked for
 * first where its number stands, then only at the text's other runs of that
 * number; a request's name is tried exactly at its first number), and these
 * tests hold them to the same answers, in the same order, on random texts
 * built to hit the corners: names in any case, names glued to more digits or
 * letters, templates with the number first or last, texts with more number
 * runs than the shortcut's table holds. What they find decides which requests
 * a game records and what its event log lists (names_pieces). */
#include "env.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

enum { S_PIECES = 120, S_TEXTS = 4000 };

typedef struct {
    char *names[S_PIECES];
    env_names_t nm;
} s_world_t;

static void s_world(s_world_t *w, const char *const *templates, size_t n_templates)
{
    memset(w, 0, sizeof *w);
    for (int i = 0; i < S_PIECES; i++) {
        const char *t = templates[(size_t)i % n_templates], *at = strstr(t, "{n}");
        char buf[128];
        snprintf(buf, sizeof buf, "%.*s%d%s", (int)(at - t), t, i + 1, at + 3);
        w->names[i] = strdup(buf);
        assert_non_null(w->names[i]);
    }
    w->nm.n_pieces = S_PIECES;
    w->nm.piece_names = (const char *const *)w->names;
}

static void s_world_free(s_world_t *w)
{
    for (int i = 0; i < S_PIECES; i++) free(w->names[i]);
}

/* The definition: every maximal run of digits, in the order of the text, whose
 * value v is a piece number names piece v - 1 when that piece's name occurs
 * anywhere in the text, any case; each piece once. */
static bool s_contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return true;
    return n == 0;
}

static size_t s_ref_find(const env_names_t *nm, const char *text, int *out, size_t cap)
{
    size_t found = 0;
    for (const char *s = text; *s; s++) {
        if (!isdigit((unsigned char)*s) || (s > text && isdigit((unsigned char)s[-1]))) continue;
        long v = 0;
        for (const char *e = s; isdigit((unsigned char)*e) && v <= nm->n_pieces; e++)
            v = v * 10 + (*e - '0');
        if (v < 1 || v > nm->n_pieces) continue;
        bool dup = false;
        for (size_t i = 0; i < found && i < cap; i++) dup |= out[i] == (int)v - 1;
        if (dup || !s_contains_ci(text, nm->piece_names[v - 1])) continue;
        if (found < cap) out[found] = (int)v - 1;
        found++;
    }
    return found < cap ? found : cap;
}

/* The definition: the text between "REQUEST:" and the next " for " (or the
 * end), without surrounding white space, when it is a piece's name exactly. */
static int s_ref_request(const env_names_t *nm, const char *content)
{
    const char *s = strstr(content, "REQUEST:");
    if (!s) return -1;
    s += 8;
    const char *e = strstr(s, " for ");
    if (!e) e = s + strlen(s);
    while (s < e && isspace((unsigned char)*s)) s++;
    while (e > s && isspace((unsigned char)e[-1])) e--;
    size_t len = (size_t)(e - s);
    if (len == 0 || len >= 256) return -1;
    for (int i = 0; i < nm->n_pieces; i++)
        if (strlen(nm->piece_names[i]) == len && strncmp(nm->piece_names[i], s, len) == 0) return i;
    return -1;
}

static unsigned s_rand(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return (*state >> 16) & 0x7fff;
}

/* A random text of fragments that sit near the edges of the rules. */
static void s_text(const s_world_t *w, unsigned *r, char *out, size_t cap, int fragments)
{
    size_t at = 0;
    out[0] = '\0';
    for (int f = 0; f < fragments && at + 160 < cap; f++) {
        const char *name = w->names[s_rand(r) % S_PIECES];
        char frag[160];
        switch (s_rand(r) % 9) {
        case 0: /* a name as it is */
            snprintf(frag, sizeof frag, "%s", name);
            break;
        case 1: { /* a name in another case */
            snprintf(frag, sizeof frag, "%s", name);
            for (char *c = frag; *c; c++)
                if (s_rand(r) % 2)
                    *c = (char)(islower((unsigned char)*c) ? toupper(*c) : tolower(*c));
            break;
        }
        case 2: /* a name with a digit glued in front or behind */
            if (s_rand(r) % 2)
                snprintf(frag, sizeof frag, "%u%s", s_rand(r) % 10, name);
            else
                snprintf(frag, sizeof frag, "%s%u", name, s_rand(r) % 10);
            break;
        case 3: /* a name cut short */
            snprintf(frag, sizeof frag, "%.*s", (int)(strlen(name) * (s_rand(r) % 4) / 4), name);
            break;
        case 4: /* a bare number, maybe with leading zeros */
            snprintf(frag, sizeof frag, s_rand(r) % 3 ? "%u" : "00%u", s_rand(r) % (S_PIECES + 20));
            break;
        case 5:
            snprintf(frag, sizeof frag, "task_%u", s_rand(r) % 400);
            break;
        case 6:
            snprintf(frag, sizeof frag, "REQUEST: %s for task_%u", name, s_rand(r) % 50);
            break;
        case 7:
            snprintf(frag, sizeof frag, "REQUEST:  %s ", name);
            break;
        default: {
            static const char *const glue[] = {" ", ", ", "-", "x", "\n", "(", "Q", " for "};
            snprintf(frag, sizeof frag, "%s", glue[s_rand(r) % 8]);
        }
        }
        size_t n = strlen(frag);
        memcpy(out + at, frag, n + 1);
        at += n;
        if (s_rand(r) % 3) {
            out[at++] = ' ';
            out[at] = '\0';
        }
    }
}

static void s_check_world(const char *const *templates, size_t n_templates, unsigned seed)
{
    s_world_t w;
    s_world(&w, templates, n_templates);
    unsigned r = seed;
    char text[8192];
    for (int t = 0; t < S_TEXTS; t++) {
        /* mostly short texts; some with more number runs than 64 */
        s_text(&w, &r, text, sizeof text, t % 10 == 0 ? 150 : 1 + (int)(s_rand(&r) % 8));
        int got[64], want[64];
        size_t cap = t % 7 == 0 ? 2 : 64; /* a small cap too: the count stops there */
        size_t ng = env_find_pieces(&w.nm, text, got, cap);
        size_t nw = s_ref_find(&w.nm, text, want, cap);
        if (ng != nw || memcmp(got, want, ng * sizeof *got) != 0) fail_msg("find: '%s'", text);
        if (env_request_piece(&w.nm, text) != s_ref_request(&w.nm, text))
            fail_msg("request: '%s'", text);
    }
    s_world_free(&w);
}

/* The study's five templates: the number inside, with text on both sides. */
static void test_find_pieces_paper_names(void **state)
{
    (void)state;
    static const char *const t[] = {"Q{n} sales data", "Customer segment {n} analysis",
                                    "Product {n} performance metrics", "Region {n} market data",
                                    "Department {n} budget"};
    s_check_world(t, 5, 1);
    s_check_world(t, 5, 2);
}

/* Templates whose number starts or ends the name, or stands alone: an
 * occurrence need not be at a run of the number, so the whole text is read. */
static void test_find_pieces_odd_templates(void **state)
{
    (void)state;
    static const char *const t[] = {"{n}", "Data{n}", "{n} report", "Lot {n}b", "#{n}#"};
    s_check_world(t, 5, 3);
    s_check_world(t, 5, 4);
    static const char *const u[] = {"Item {n}", "{n}"};
    s_check_world(u, 2, 5);
}

/* Texts the study's perfect agents send, and near misses. */
static void test_request_piece_forms(void **state)
{
    (void)state;
    static const char *const t[] = {"Q{n} sales data", "Region {n} market data"};
    s_world_t w;
    s_world(&w, t, 2);
    assert_int_equal(env_request_piece(&w.nm, "REQUEST: Q1 sales data for task_3"), 0);
    assert_int_equal(env_request_piece(&w.nm, "REQUEST:   Region 2 market data  for x"), 1);
    assert_int_equal(env_request_piece(&w.nm, "REQUEST: q1 sales data for task_3"), -1);
    assert_int_equal(env_request_piece(&w.nm, "REQUEST: Q1 sales data2 for task_3"), -1);
    assert_int_equal(env_request_piece(&w.nm, "REQUEST: Q01 sales data for task_3"), -1);
    assert_int_equal(env_request_piece(&w.nm, "REQUEST: Q1 sales"), -1);
    assert_int_equal(env_request_piece(&w.nm, "REQUEST: Q121 sales data"), -1);
    assert_int_equal(env_request_piece(&w.nm, "Please send Q1 sales data"), -1);
    s_world_free(&w);
}

static void test_agent_index_forms(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    env_game_t *g = env_game_new(&c, NULL, NULL, NULL);
    assert_non_null(g);
    assert_int_equal(env_agent_index(g, "agent_3"), 2);
    assert_int_equal(env_agent_index(g, "agent_10"), 9);
    assert_int_equal(env_agent_index(g, "  Agent_3 "), 2);
    assert_int_equal(env_agent_index(g, "AGENT_1"), 0);
    assert_int_equal(env_agent_index(g, "agent_11"), -1);
    assert_int_equal(env_agent_index(g, "agent_03"), -1);
    assert_int_equal(env_agent_index(g, "agent_"), -1);
    assert_int_equal(env_agent_index(g, "agen"), -1);
    assert_int_equal(env_agent_index(g, ""), -1);
    assert_int_equal(env_agent_index(g, "agent_3x"), -1);
    env_game_destroy(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_pieces_paper_names),
        cmocka_unit_test(test_find_pieces_odd_templates),
        cmocka_unit_test(test_request_piece_forms),
        cmocka_unit_test(test_agent_index_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
