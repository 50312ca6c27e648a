/* brk_view.c: the public view of an event (brk_view.h). A table per type of
 * the keys that are private; unknown types keep only their envelope. */
#include "brk_view.h"

#include "ana_evline.h"
#include "env_jsonw.h"

#include <stdbool.h>
#include <string.h>

static const struct {
    const char *type;
    const char *hide[8]; /* top-level keys that are private */
} s_rules[] = {
    {"run_start", {NULL}}, /* config: the seed is removed below */
    {"world", {"seed", "agents", "pieces"}},
    {"task_new", {"description", "pieces"}},
    {"round_start", {NULL}},
    {"turn", {NULL}},
    {"thoughts", {"text"}},
    {"message", {NULL}}, /* direct ones: below */
    {"action", {"action", "reason"}},
    {"transfer", {"pieces", "misreports"}},
    {"task_completed", {"pieces", "misreported", "misreports"}},
    {"task_failed", {"answer", "reason"}},
    {"missed_turn", {NULL}},
    {"round_end", {NULL}},
    {"run_end", {NULL}}, /* board: the seats' hidden types are removed below */
    {"seat_joined", {NULL}},
    {"seat_lost", {NULL}},
    {"seat_left", {NULL}},
    {"game_start", {NULL}},
    {"decision", {"input", "thoughts", "calls", "dropped", "empty_reason"}},
    {"progress", {NULL}},
    {"run_resumed", {NULL}},
};

static const char *const s_envelope[] = {"type", "source", "round", "seq", "t_ms", "agent"};

static void s_withhold(json_t *copy, json_t *withheld, const char *key)
{
    if (json_object_get(copy, key)) {
        json_object_del(copy, key);
        json_array_append_new(withheld, json_string(key));
    }
}

/* The s_rules row of the event's type, or -1 (a type the rules do not know). */
static int s_rule(const char *type)
{
    for (size_t i = 0; type && i < sizeof s_rules / sizeof s_rules[0]; i++)
        if (strcmp(s_rules[i].type, type) == 0) return (int)i;
    return -1;
}

bool brk_view_is_whole(const json_t *ev)
{
    const char *type = json_string_value(json_object_get(ev, "type"));
    int rule = s_rule(type);
    if (rule < 0 || s_rules[rule].hide[0] || strcmp(type, "world") == 0) return false;
    if (strcmp(type, "message") == 0) {
        const char *kind = json_string_value(json_object_get(ev, "kind"));
        if (!kind || strcmp(kind, "broadcast") != 0) return false;
    }
    json_t *cfg = json_object_get(ev, "config");
    if (cfg && json_object_get(cfg, "seed")) return false;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(ev, "board"), i,
                       row) if (json_object_get(row, "type")) return false;
    return true;
}

/* What brk_view_text withholds of one event: the keys in the order
 * brk_view_public lists them, and which of them the event has; the kept
 * members are copied from the event's text a run at a time. */
typedef struct {
    const char *hide[10];
    size_t hide_n[10];
    bool found[10];
    size_t n_hide;
    env_jsonw_t *out;
    const char *run, *run_end; /* kept members not yet copied: [run, run_end) */
    bool first, refused, failed;
} s_filter_t;

static void s_filter_flush(s_filter_t *f)
{
    if (!f->run) return;
    if ((!f->first && env_jsonw_raw(f->out, ",", 1) != 0) ||
        env_jsonw_raw(f->out, f->run, (size_t)(f->run_end - f->run)) != 0)
        f->failed = true;
    f->first = false;
    f->run = NULL;
}

static bool s_filter_member(void *ctx, const char *k, size_t kn, const char *v, size_t vn)
{
    s_filter_t *f = ctx;
    for (size_t i = 0; i < f->n_hide; i++)
        if (f->hide_n[i] == kn && memcmp(f->hide[i], k, kn) == 0) {
            f->found[i] = true;
            s_filter_flush(f);
            return !f->failed;
        }
    /* What brk_view_public changes inside a member, or a `withheld` of the
     * event's own: the tree's way. */
    if ((kn == 6 && memcmp(k, "config", 6) == 0) || (kn == 5 && memcmp(k, "board", 5) == 0) ||
        (kn == 8 && memcmp(k, "withheld", 8) == 0)) {
        f->refused = true;
        return false;
    }
    const char *start = k - 1; /* the key's opening quote */
    if (f->run && f->run_end + 1 == start)
        f->run_end = v + vn; /* the member right after the run (past its comma) */
    else {
        s_filter_flush(f);
        f->run = start;
        f->run_end = v + vn;
    }
    return !f->failed;
}

int brk_view_text(const json_t *ev, const char *text, size_t len, env_jsonw_t *out)
{
    const char *type = json_string_value(json_object_get(ev, "type"));
    int rule = s_rule(type);
    if (rule < 0 || strcmp(type, "world") == 0) return 1;
    s_filter_t f = {.out = out, .first = true};
    for (size_t k = 0; k < 8 && s_rules[rule].hide[k]; k++)
        f.hide[f.n_hide++] = s_rules[rule].hide[k];
    if (strcmp(type, "message") == 0) {
        const char *kind = json_string_value(json_object_get(ev, "kind"));
        if (!kind || strcmp(kind, "broadcast") != 0) {
            f.hide[f.n_hide++] = "content";
            f.hide[f.n_hide++] = "names_pieces";
        }
    }
    for (size_t i = 0; i < f.n_hide; i++) f.hide_n[i] = strlen(f.hide[i]);
    env_jsonw_reset(out);
    if (env_jsonw_raw(out, "{", 1) != 0) return -1;
    int rc = ana_evline_members(text, len, s_filter_member, &f);
    if (rc == 0) s_filter_flush(&f);
    if (rc != 0 || f.refused || f.failed) {
        env_jsonw_reset(out);
        return f.refused || rc < 0 ? 1 : -1;
    }
    bool any = false;
    for (size_t i = 0; i < f.n_hide; i++) {
        if (!f.found[i]) continue;
        const char *sep = any ? ",\"" : (f.first ? "\"withheld\":[\"" : ",\"withheld\":[\"");
        if (env_jsonw_raw(out, sep, strlen(sep)) != 0 ||
            env_jsonw_raw(out, f.hide[i], f.hide_n[i]) != 0 || env_jsonw_raw(out, "\"", 1) != 0)
            goto nomem;
        any = true;
    }
    if ((any && env_jsonw_raw(out, "]", 1) != 0) || env_jsonw_raw(out, "}", 1) != 0 ||
        !env_jsonw_ok(out))
        goto nomem;
    return 0;
nomem:
    env_jsonw_reset(out);
    return -1;
}

/* copy[key], replaced by a shallow copy of itself that the view may change
 * without touching the event (which the record still holds); NULL if absent. */
static json_t *s_own(json_t *copy, const char *key)
{
    json_t *v = json_object_get(copy, key);
    if (!v) return NULL;
    json_t *mine = json_copy(v);
    if (!mine || json_object_set_new(copy, key, mine) != 0) return NULL;
    return mine;
}

/* The view is a shallow copy: values it keeps as they are are shared with ev
 * (reference counts), and only what it changes, the top level, the config and
 * the board's rows, is copied. A deep copy of every event was a fifth of the
 * broker's work in a game (bench/RESULTS.md, "The broker's record"). */
json_t *brk_view_public(const json_t *ev)
{
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *copy = json_copy((json_t *)ev), *withheld = json_array();
    if (!copy || !withheld) goto fail;
    int rule = s_rule(type);
    if (rule < 0) {
        json_t *keep = json_object();
        if (!keep) goto fail;
        for (size_t i = 0; i < sizeof s_envelope / sizeof s_envelope[0]; i++) {
            json_t *v = json_object_get(copy, s_envelope[i]);
            if (v) json_object_set(keep, s_envelope[i], v);
        }
        const char *k;
        json_t *v;
        json_object_foreach(copy, k, v) if (!json_object_get(keep, k))
            json_array_append_new(withheld, json_string(k));
        json_decref(copy);
        copy = keep;
    } else {
        for (size_t k = 0; k < 8 && s_rules[rule].hide[k]; k++)
            s_withhold(copy, withheld, s_rules[rule].hide[k]);
    }
    if (type && strcmp(type, "message") == 0) {
        const char *kind = json_string_value(json_object_get(copy, "kind"));
        if (!kind || strcmp(kind, "broadcast") != 0) {
            s_withhold(copy, withheld, "content");
            s_withhold(copy, withheld, "names_pieces");
        }
    }
    if (type && strcmp(type, "world") == 0) {
        /* Piece names every seat hears in Welcome; values and holders no seat does. */
        json_t *names = json_array(), *agents = json_array();
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(ev, "pieces"), i, p) json_array_append_new(
            names, json_string(json_string_value(json_object_get(p, "name"))));
        json_array_foreach(json_object_get(ev, "agents"), i, p)
            json_array_append_new(agents, json_string(json_string_value(json_object_get(p, "id"))));
        json_object_set_new(copy, "piece_names", names);
        json_object_set_new(copy, "agent_ids", agents);
    }
    json_t *cfg = json_object_get(copy, "config");
    if (cfg && json_object_get(cfg, "seed")) {
        /* With the seed and the engine anyone could rebuild the whole world. */
        if (!(cfg = s_own(copy, "config"))) goto fail;
        json_object_del(cfg, "seed");
        json_array_append_new(withheld, json_string("config.seed"));
    }
    size_t i;
    json_t *row;
    bool typed = false;
    json_array_foreach(json_object_get(copy, "board"), i, row) typed |=
        json_object_get(row, "type") != NULL;
    if (typed) {
        json_t *board = s_own(copy, "board");
        if (!board) goto fail;
        json_array_foreach(board, i, row)
        {
            json_t *mine = json_copy(row);
            if (!mine || json_array_set_new(board, i, mine) != 0) goto fail;
            json_object_del(mine, "type");
        }
        json_array_append_new(withheld, json_string("board.type"));
    }
    if (json_array_size(withheld) > 0)
        json_object_set_new(copy, "withheld", withheld);
    else
        json_decref(withheld);
    return copy;
fail:
    json_decref(copy);
    json_decref(withheld);
    return NULL;
}
