/* llm_delta.c: what is new since a seat's previous turn, for conversation
 * templates (llm_delta.h).
 *
 * The cache prompt (prompts/cache.tmpl) appends one user message a turn; what
 * it says is read from the `new.*` and `changed.*` trees built here, by
 * comparing this turn's data (llm_model_new) with the last turn kept. Kept
 * apart from llm_model.c, which knows the observation: this module knows only
 * the data tree. */
#define _GNU_SOURCE /* stpcpy */
#include "llm_delta.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Histories only grow at the end, and a truncated one (history.truncate,
 * paper.last_*) also loses items at the front: what is new is what follows
 * the longest run at cur's head that ends prev. */
static json_t *s_new_items(const json_t *prev, const json_t *cur)
{
    size_t np = json_array_size(prev), nc = json_array_size(cur), k = np < nc ? np : nc;
    for (; k > 0; k--) {
        size_t i = 0;
        while (i < k && json_equal(json_array_get(prev, np - k + i), json_array_get(cur, i))) i++;
        if (i == k) break;
    }
    json_t *out = json_array();
    for (size_t i = k; out && i < nc; i++)
        if (json_array_append(out, json_array_get(cur, i)) != 0) {
            json_decref(out);
            return NULL;
        }
    return out;
}

/* Equal as sets of items: the board is shuffled every turn, and a reshuffle
 * alone is no news. */
static bool s_same_items(const json_t *a, const json_t *b)
{
    if (!json_is_array(a) || !json_is_array(b)) return json_equal(a, b);
    size_t n = json_array_size(a);
    if (n != json_array_size(b)) return false;
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < n && !found; j++)
            found = json_equal(json_array_get(a, i), json_array_get(b, j));
        if (!found) return false;
    }
    return true;
}

/* Items of cur that are not in prev (as sets): the board's rows that moved. */
static json_t *s_changed_items(const json_t *prev, const json_t *cur)
{
    json_t *out = json_array();
    size_t i, j, np = json_array_size(prev);
    json_t *c;
    json_array_foreach(cur, i, c)
    {
        bool found = false;
        for (j = 0; j < np && !found; j++) found = json_equal(c, json_array_get(prev, j));
        if (!found && out && json_array_append(out, c) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* The directory's news: per agent, the pieces it holds now and did not hold
 * at prev (holders keep what they send, so pieces only arrive). Rows:
 * {agent, self, pieces[], pieces_joined}, agents with nothing new left out. */
static json_t *s_new_holdings(const json_t *prev, const json_t *cur)
{
    json_t *out = json_array();
    size_t i, k;
    json_t *row;
    json_array_foreach(cur, i, row)
    {
        const json_t *old = NULL, *r;
        size_t j;
        json_array_foreach(prev, j, r)
        {
            if (json_equal(json_object_get(r, "agent"), json_object_get(row, "agent")))
                old = json_object_get(r, "pieces");
        }
        json_t *ps = json_array(), *p;
        size_t len = 1;
        json_array_foreach(json_object_get(row, "pieces"), k, p)
        {
            bool had = false;
            size_t q;
            json_t *o;
            json_array_foreach(old, q, o) had = had || json_equal(o, p);
            if (!had && ps) {
                if (json_array_append(ps, p) != 0) {
                    json_decref(ps);
                    goto oom;
                }
                len += json_string_length(p) + 2;
            }
        }
        if (!ps) goto oom;
        if (json_array_size(ps) == 0) {
            json_decref(ps);
            continue;
        }
        char *joined = malloc(len), *w = joined;
        if (!joined) {
            json_decref(ps);
            goto oom;
        }
        *w = 0;
        json_array_foreach(ps, k, p) w = stpcpy(stpcpy(w, k ? ", " : ""), json_string_value(p));
        json_t *nr =
            json_pack("{s:O, s:O, s:o, s:s}", "agent", json_object_get(row, "agent"), "self",
                      json_object_get(row, "self"), "pieces", ps, "pieces_joined", joined);
        free(joined);
        if (!nr || json_array_append_new(out, nr) != 0) goto oom;
    }
    return out;
oom:
    json_decref(out);
    return NULL;
}

int llm_delta_add(json_t *model, const json_t *prev)
{
    static const char *const hist[] = {"messages", "broadcasts", "notifications", "sent",
                                       "received", "thoughts",   "exchanges"};
    static const char *const snap[] = {"tasks", "information", "directory",
                                       "board", "me",          "requests"};
    json_t *nw = json_object(), *ch = json_object();
    if (!nw || !ch) goto oom;
    for (size_t i = 0; i < sizeof hist / sizeof hist[0]; i++) {
        const json_t *cur = json_object_get(model, hist[i]);
        json_t *items = prev ? s_new_items(json_object_get(prev, hist[i]), cur)
                             : (cur ? json_deep_copy(cur) : json_array());
        if (!items || json_object_set_new(nw, hist[i], items) != 0) goto oom;
    }
    /* the seat's own messages are in its kept replies already */
    static const char *const talk[] = {"messages", "broadcasts"};
    for (size_t i = 0; i < 2; i++) {
        json_t *items = json_object_get(nw, talk[i]), *in = json_array(), *m;
        size_t k;
        json_array_foreach(items, k, m)
        {
            if (in && !json_is_true(json_object_get(m, "from_self")) &&
                json_array_append(in, m) != 0) {
                json_decref(in);
                in = NULL;
            }
        }
        char key[32];
        snprintf(key, sizeof key, "%s_in", talk[i]);
        if (!in || json_object_set_new(nw, key, in) != 0) goto oom;
    }
    const json_t *dir = json_object_get(model, "directory");
    json_t *holdings = prev ? s_new_holdings(json_object_get(prev, "directory"), dir)
                            : (dir ? json_deep_copy(dir) : json_array());
    if (!holdings || json_object_set_new(nw, "directory", holdings) != 0) goto oom;
    static const char *const moved[] = {"board", "information", "requests"};
    for (size_t i = 0; i < sizeof moved / sizeof moved[0]; i++) {
        const json_t *cur = json_object_get(model, moved[i]);
        json_t *rows = prev ? s_changed_items(json_object_get(prev, moved[i]), cur)
                            : (cur ? json_deep_copy(cur) : json_array());
        if (!rows || json_object_set_new(nw, moved[i], rows) != 0) goto oom;
    }
    for (size_t i = 0; i < sizeof snap / sizeof snap[0]; i++) {
        bool changed =
            !prev || !s_same_items(json_object_get(prev, snap[i]), json_object_get(model, snap[i]));
        if (json_object_set_new(ch, snap[i], json_boolean(changed)) != 0) goto oom;
    }
    if (json_object_set_new(model, "first_turn", json_boolean(prev == NULL)) != 0) goto oom;
    if (json_object_set_new(model, "new", nw) != 0) {
        nw = NULL;
        goto oom;
    }
    nw = NULL;
    if (json_object_set_new(model, "changed", ch) != 0) return -1;
    return 0;
oom:
    json_decref(nw);
    json_decref(ch);
    return -1;
}
