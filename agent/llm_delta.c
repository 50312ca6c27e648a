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

/* A notification that says what the rest of a compact turn says already:
 * a receipt ("agent_2 sent you 1 piece(s): ...", new.received has the piece,
 * its sender and value), the seat's own plain completion ("You completed
 * task_3 and earned $10000.": its tasks and its board row), and, when the
 * board is shown, another's plain completion ("agent_2 completed task_7.":
 * that agent's board row). The texts are the environment's
 * (environment/env_transfer.c, env_submit.c); a penalty, a failed submission
 * and anything else are kept. */
static bool s_note_repeats(const char *t, bool board)
{
    if (!t) return false;
    if (strstr(t, " sent you ") && strstr(t, " piece(s)")) return true;
    if (!strncmp(t, "You completed ", 14)) return !strstr(t, "incorrect value");
    const char *c = strstr(t, " completed task_");
    if (!board || !c || strchr(t, ' ') != c) return false; /* "<id> completed <task>." */
    return strchr(c + 11, ' ') == NULL && t[strlen(t) - 1] == '.';
}

static int s_append_if(json_t *a, json_t *item, bool keep)
{
    return keep ? json_array_append(a, item) : 0;
}

/* The compact turn's lists (prompts/cache/news.tmpl): new.notes, the
 * notifications that s_note_repeats keeps; new.directory_others, new.directory
 * without the seat's own row (its new pieces are new.received); it keeps the
 * pieces the seat gave, although its kept decisions say so: a holder's row is
 * where a model looks for what an agent has (the fake model, reading only
 * the rows, sent given pieces again); new.exchanges_by_from, the new
 * exchanges per sender in order of its first, each recipient once with its
 * pieces summed ({from, to: [{agent, n, plural}]}), after a first turn
 * without the seat's own (its kept decisions are its sends; a first turn, at
 * the game's start or after the window reset, has none); new.tasks, the
 * tasks that were not active at prev, and new.tasks_done ([{id}]), those
 * active at prev and no longer. */
static int s_compact(json_t *model, json_t *nw, const json_t *prev)
{
    bool board = json_is_true(json_object_get(model, "show_board"));
    const json_t *self = json_object_get(model, "agent");
    json_t *notes = json_array(), *others = json_array(), *by = json_array(), *added = json_array(),
           *done = json_array(), *x;
    size_t i, j;
    int rc = -1;
    if (!notes || !others || !by || !added || !done) goto out;
    json_array_foreach(json_object_get(nw, "notifications"), i, x)
    {
        bool keep = !s_note_repeats(json_string_value(json_object_get(x, "text")), board);
        if (s_append_if(notes, x, keep) != 0) goto out;
    }
    json_array_foreach(json_object_get(nw, "directory"), i, x)
    {
        if (s_append_if(others, x, !json_is_true(json_object_get(x, "self"))) != 0) goto out;
    }
    json_array_foreach(json_object_get(nw, "exchanges"), i, x)
    {
        if (prev && json_equal(json_object_get(x, "from"), self)) continue;
        const char *from = json_string_value(json_object_get(x, "from"));
        const char *to = json_string_value(json_object_get(x, "to"));
        json_int_t n = json_integer_value(json_object_get(x, "n"));
        json_t *row = NULL, *r, *tos;
        json_array_foreach(by, j, r)
        {
            if (!row && from && !strcmp(json_string_value(json_object_get(r, "from")), from))
                row = r;
        }
        if (!row) {
            row = json_pack("{s:s, s:[]}", "from", from ? from : "?", "to");
            if (!row || json_array_append_new(by, row) != 0) goto out;
        }
        tos = json_object_get(row, "to");
        json_t *hit = NULL;
        size_t at = 0;
        json_array_foreach(tos, j, r)
        {
            if (!hit && to && !strcmp(json_string_value(json_object_get(r, "agent")), to)) {
                hit = r;
                at = j;
            }
        }
        if (hit) n += json_integer_value(json_object_get(hit, "n"));
        json_t *cell = json_pack("{s:s, s:I, s:b, s:b}", "agent", to ? to : "?", "n", n, "plural",
                                 n != 1, "many", n > 1);
        if (!cell) goto out;
        if (hit ? json_array_set_new(tos, at, cell) : json_array_append_new(tos, cell)) goto out;
    }
    const json_t *ptasks = prev ? json_object_get(prev, "tasks") : NULL;
    const json_t *tasks = json_object_get(model, "tasks");
    json_array_foreach(tasks, i, x)
    {
        bool was = !prev;
        json_t *t;
        json_array_foreach(ptasks, j, t) was =
            was || json_equal(json_object_get(t, "id"), json_object_get(x, "id"));
        if (s_append_if(added, x, !was) != 0) goto out;
    }
    json_array_foreach(ptasks, i, x)
    {
        bool still = false;
        json_t *t;
        json_array_foreach(tasks, j, t) still =
            still || json_equal(json_object_get(t, "id"), json_object_get(x, "id"));
        if (!still &&
            json_array_append_new(done, json_pack("{s:O}", "id", json_object_get(x, "id"))) != 0)
            goto out;
    }
    rc = json_object_set(nw, "notes", notes) || json_object_set(nw, "directory_others", others) ||
                 json_object_set(nw, "exchanges_by_from", by) ||
                 json_object_set(nw, "tasks", added) || json_object_set(nw, "tasks_done", done)
             ? -1
             : 0;
out:
    json_decref(notes);
    json_decref(others);
    json_decref(by);
    json_decref(added);
    json_decref(done);
    return rc;
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
    if (s_compact(model, nw, prev) != 0) goto oom;
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
