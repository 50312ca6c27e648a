/* llm_prompt.c: a seat's template, loaded, checked and rendered (llm_prompt.h).
 *
 * The data comes from llm_model (observation -> tree), the words from the
 * templates of prompts/ or a researcher's file (llm_template). Line formats of
 * the `clear` and `paper` templates are stable: tests/llm's fake endpoint
 * reads them to play. */
#include "llm_prompt.h"
#include "llm_delta.h"
#include "llm_model.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------- prompter -- */

/* What a conversation keeps past its system part: about 64k tokens at four
 * bytes a token, inside every current model's context (docs/LLM.md). */
#define S_WINDOW_DEFAULT (256u * 1024u)

struct llm_prompter {
    llm_tmpl_t *tmpl;
    char *name;
    bool cacheable;
    /* a conversation ({{$turn}}): what was sent so far and what it was made from */
    json_t *history;    /* [{role, content}], the messages after the system part */
    json_t *prev_model; /* the tree of the last turn kept, for llm_delta_add */
    size_t history_bytes, window;
    int resets;
};

int llm_layout_from_name(const char *name)
{
    if (!name || !*name || strcmp(name, "paper") == 0) return LLM_LAYOUT_PAPER;
    if (strcmp(name, "cache") == 0) return LLM_LAYOUT_CACHE;
    if (strcmp(name, "clear") == 0) return LLM_LAYOUT_CLEAR;
    return -1;
}

const char *llm_layout_name(llm_layout_t l)
{
    return l == LLM_LAYOUT_CACHE ? "cache" : l == LLM_LAYOUT_CLEAR ? "clear" : "paper";
}

const char *llm_prompt_spec(const agt_context_t *ctx)
{
    const pl_seat_t *s = ctx ? ctx->seat : NULL;
    if (s && s->prompt && *s->prompt) return s->prompt;
    if (ctx && ctx->config && ctx->config->llm_prompt && *ctx->config->llm_prompt)
        return ctx->config->llm_prompt;
    if (s && s->prompt_layout && *s->prompt_layout) return s->prompt_layout;
    return "paper";
}

/* One turn: the data (with what is new since `prev` for a conversation),
 * rendered. *model_out, if not NULL, receives the tree (caller decrefs). */
static int s_render(const llm_prompter_t *p, const agt_context_t *ctx, const env_obs_t *obs,
                    const char *feedback, const json_t *prev, llm_prompt_t *out, json_t **model_out,
                    char *err, size_t errlen)
{
    if (!p || !ctx || !obs || !out) return -1;
    memset(out, 0, sizeof *out);
    if (model_out) *model_out = NULL;
    json_t *model = llm_model_new(ctx, obs, feedback);
    if (!model || (llm_tmpl_is_conversation(p->tmpl) && llm_delta_add(model, prev) != 0)) {
        json_decref(model);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = llm_tmpl_render(p->tmpl, model, &out->system, &out->user, err, errlen);
    /* a researcher's file may hold bytes a JSON request cannot carry */
    if (rc == 0 && out->system) llm_model_utf8_fix(out->system);
    if (rc == 0) llm_model_utf8_fix(out->user);
    if (rc == 0 && model_out)
        *model_out = model;
    else
        json_decref(model);
    return rc;
}

/* Renders two made-up turns before the game: an empty one (every list
 * empty, every switch off) and one with one item in every list and every
 * switch on, so that a misspelt name fails when the seat starts, not at the
 * first turn that happens to reach it. */
static int s_dry_run(const llm_prompter_t *p, const agt_context_t *ctx, char *err, size_t errlen)
{
    int me = ctx->agent;
    const char *ids[1] = {"agent_1"}, *pieces[1] = {"Q1 sales data"};
    env_names_t one = {1, 1, ids, pieces};
    agt_context_t c = *ctx;
    if (!c.names || c.names->n_agents <= me || c.names->n_pieces < 1) {
        c.names = &one;
        me = c.agent = 0;
    }
    static const int task_pieces[1] = {0};
    env_task_view_t task = {"task_1",
                            "Calculate the quarterly revenue by combining the required data.", 1,
                            task_pieces};
    env_holding_t held = {0, 50};
    env_msg_t msg = {me, me, 1, "a message"};
    const env_msg_t *msgs[1] = {&msg};
    env_note_t note = {1, "a notification"};
    env_sent_t sent = {me, 0, 50, 1};
    env_received_t recv = {me, 0, 50, 1};
    env_request_t req = {me, 0, 3, true};
    env_exchange_t ex = {me, me, 1, 1};
    env_invalid_t bad = {0, ENV_EBAD_ACTION, "a reason"};
    env_board_row_t row = {me, 10000, 1};
    uint32_t count[1] = {1};
    const int *dir[1] = {task_pieces};
    env_obs_t o;
    memset(&o, 0, sizeof o);
    o.agent = me;
    o.type = c.type;
    o.round = 1;
    o.rounds = c.rules ? c.rules->rounds : 1;
    llm_prompt_t out;
    json_t *first = NULL;
    if (s_render(p, &c, &o, NULL, NULL, &out, &first, err, errlen) != 0) return -1;
    llm_prompt_clear(&out);
    o.kind = ENV_TURN_REPLY;
    o.has_board = o.has_thoughts = o.has_exchanges = true;
    o.board = &row;
    o.n_board = 1;
    o.tasks = &task;
    o.n_tasks = 1;
    o.inventory = &held;
    o.n_inventory = 1;
    if (c.names == &one) {
        o.dir_count = count;
        o.dir_pieces = dir;
    }
    o.msgs = msgs;
    o.n_msgs = 1;
    o.notes = &note;
    o.n_notes = 1;
    o.sent = &sent;
    o.n_sent = 1;
    o.received = &recv;
    o.n_received = 1;
    o.requests = &req;
    o.n_requests = 1;
    o.thoughts = &note;
    o.n_thoughts = 1;
    o.broadcasts = &msg;
    o.n_broadcasts = 1;
    o.exchanges = &ex;
    o.n_exchanges = 1;
    o.invalid = &bad;
    o.n_invalid = 1;
    /* a conversation's later turn: first_turn off, news and changes on */
    int rc = s_render(p, &c, &o, "a problem", first, &out, NULL, err, errlen);
    json_decref(first);
    if (rc != 0) return -1;
    llm_prompt_clear(&out);
    return 0;
}

static llm_prompter_t *s_prompter(const char *spec, const agt_context_t *ctx, char *err,
                                  size_t errlen)
{
    llm_prompter_t *p = calloc(1, sizeof *p);
    if (!p || !(p->name = strdup(spec))) {
        free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->tmpl = llm_tmpl_load(spec, err, errlen);
    if (!p->tmpl) goto fail;
    p->window = S_WINDOW_DEFAULT;
    if (llm_tmpl_is_conversation(p->tmpl) && !(p->history = json_array())) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    p->cacheable = strcmp(spec, "cache") == 0 ||
                   (llm_tmpl_builtin(spec, NULL) == NULL && llm_tmpl_has_system(p->tmpl));
    if (s_dry_run(p, ctx, err, errlen) != 0) goto fail;
    return p;
fail:
    llm_prompter_destroy(&p);
    return NULL;
}

llm_prompter_t *llm_prompter_new(const agt_context_t *ctx, char *err, size_t errlen)
{
    if (!ctx) {
        snprintf(err, errlen, "no seat");
        return NULL;
    }
    return s_prompter(llm_prompt_spec(ctx), ctx, err, errlen);
}

int llm_prompt_check(const pl_config_t *cfg, int seat, char *err, size_t errlen)
{
    if (!cfg || seat < 0 || seat >= cfg->n_seats) {
        snprintf(err, errlen, "no such seat");
        return -1;
    }
    agt_context_t ctx = {
        .agent = seat, .rules = &cfg->game, .seat = &cfg->seats[seat], .config = cfg};
    llm_prompter_t *p = llm_prompter_new(&ctx, err, errlen);
    if (!p) return -1;
    llm_prompter_destroy(&p);
    return 0;
}

void llm_prompter_destroy(llm_prompter_t **pp)
{
    if (!pp || !*pp) return;
    llm_tmpl_destroy(&(*pp)->tmpl);
    json_decref((*pp)->history);
    json_decref((*pp)->prev_model);
    free((*pp)->name);
    free(*pp);
    *pp = NULL;
}

const char *llm_prompter_name(const llm_prompter_t *p)
{
    return p ? p->name : "";
}

bool llm_prompter_cacheable(const llm_prompter_t *p)
{
    return p && p->cacheable;
}

int llm_prompter_render(const llm_prompter_t *p, const agt_context_t *ctx, const env_obs_t *obs,
                        const char *feedback, llm_prompt_t *out, char *err, size_t errlen)
{
    return s_render(p, ctx, obs, feedback, NULL, out, NULL, err, errlen);
}

bool llm_prompter_is_conversation(const llm_prompter_t *p)
{
    return p && p->history;
}

void llm_prompter_set_window(llm_prompter_t *p, size_t bytes)
{
    if (p) p->window = bytes;
}

int llm_prompter_resets(const llm_prompter_t *p)
{
    return p ? p->resets : 0;
}

const json_t *llm_prompter_history(const llm_prompter_t *p)
{
    return p ? p->history : NULL;
}

static int s_keep(llm_prompter_t *p, const char *role, const char *text)
{
    json_t *m = json_pack("{s:s, s:s}", "role", role, "content", text);
    if (!m || json_array_append_new(p->history, m) != 0) return -1;
    p->history_bytes += strlen(text);
    return 0;
}

int llm_prompter_next(llm_prompter_t *p, const agt_context_t *ctx, const env_obs_t *obs,
                      const char *feedback, llm_prompt_t *out, bool *reset, char *err,
                      size_t errlen)
{
    if (reset) *reset = false;
    if (!llm_prompter_is_conversation(p))
        return llm_prompter_render(p, ctx, obs, feedback, out, err, errlen);
    json_t *model = NULL;
    if (s_render(p, ctx, obs, feedback, p->prev_model, out, &model, err, errlen) != 0) return -1;
    size_t sys = out->system ? strlen(out->system) : 0;
    if (p->prev_model && sys + p->history_bytes + strlen(out->user) > p->window) {
        /* The window bites: the kept history goes, and this turn starts a new
         * conversation with the whole state (the prefix after the system part
         * is lost once). */
        llm_prompt_clear(out);
        json_decref(model);
        model = NULL;
        json_array_clear(p->history);
        p->history_bytes = 0;
        json_decref(p->prev_model);
        p->prev_model = NULL;
        p->resets++;
        if (reset) *reset = true;
        if (s_render(p, ctx, obs, feedback, NULL, out, &model, err, errlen) != 0) return -1;
    }
    if (s_keep(p, "user", out->user) != 0) {
        json_decref(model);
        llm_prompt_clear(out);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    json_decref(p->prev_model);
    p->prev_model = model;
    return 0;
}

const json_t *llm_prompter_last_data(const llm_prompter_t *p)
{
    return p && llm_prompter_is_conversation(p) ? p->prev_model : NULL;
}

/* Text as a JSON string: it must be UTF-8. */
static json_t *s_jstr(const char *s)
{
    char *c = strdup(s ? s : "");
    if (!c) return NULL;
    llm_model_utf8_fix(c);
    json_t *j = json_string(c);
    free(c);
    return j;
}

/* Whether a send's values are one per listed piece, in the list's order. */
static bool s_values_in_order(const env_action_t *x)
{
    if (x->n_values != x->n_info) return false;
    for (size_t k = 0; k < x->n_info; k++)
        if (!x->value_names[k] || !x->info[k] || strcmp(x->value_names[k], x->info[k]) != 0)
            return false;
    return true;
}

/* The kept send in list form to x's recipient that x joins, if any: not one
 * that has one of x's pieces already (a piece sent twice stays two sends). */
static json_t *s_send_to(json_t *acts, const env_action_t *x)
{
    size_t i, j;
    json_t *o, *p;
    json_array_foreach(acts, i, o)
    {
        const char *t = json_string_value(json_object_get(o, "to"));
        if (strcmp(json_string_value(json_object_get(o, "type")), "send_information") != 0 || !t ||
            strcmp(t, x->to) != 0 || !json_is_array(json_object_get(o, "values")))
            continue;
        json_array_foreach(json_object_get(o, "information"), j, p)
        {
            for (size_t k = 0; k < x->n_info; k++)
                if (x->info[k] && !strcmp(json_string_value(p), x->info[k])) return NULL;
        }
        return o;
    }
    return NULL;
}

/* Appends send x's pieces and values (list form) to the kept send o. */
static bool s_send_more(json_t *o, const env_action_t *x)
{
    json_t *info = json_object_get(o, "information"), *vals = json_object_get(o, "values");
    bool ok = true;
    for (size_t k = 0; ok && k < x->n_info; k++)
        ok = json_array_append_new(info, s_jstr(x->info[k])) == 0 &&
             json_array_append_new(vals, json_integer(x->values[k])) == 0;
    return ok;
}

/* The decision as the seat's kept turn in a conversation (docs/LLM.md "The
 * cache prompt"): what was read, not how the reply was dressed (fences,
 * reasoning, spacing, dropped items), so the kept history is short and
 * written the same way every time. A send's values are a list in the order
 * of its pieces when they are one each (the parser reads that form too),
 * which does not repeat every piece name; otherwise the name -> value map.
 * Sends of that form to one recipient are one action, at the first one's
 * place, their pieces in order (the game copies the same pieces either way;
 * a model that sends a piece an action writes a third of the bytes). */
static char *s_decision_json(const env_decision_t *d)
{
    json_t *root = json_object(), *acts = json_array();
    bool ok = root && acts && json_object_set(root, "actions", acts) == 0;
    size_t n = d ? env_decision_count(d) : 0;
    const env_action_t *a = d ? env_decision_actions(d) : NULL;
    for (size_t i = 0; ok && i < n; i++) {
        const env_action_t *x = &a[i];
        if (x->kind == ENV_ACT_SEND_INFORMATION && x->to && s_values_in_order(x)) {
            json_t *into = s_send_to(acts, x);
            if (into) {
                ok = s_send_more(into, x);
                continue;
            }
        }
        json_t *o = json_pack("{s:s}", "type", env_act_name(x->kind));
        ok = o && json_array_append_new(acts, o) == 0;
        if (ok && x->to) ok = json_object_set_new(o, "to", s_jstr(x->to)) == 0;
        if (ok && x->kind == ENV_ACT_SUBMIT_TASK)
            ok = json_object_set_new(o, "answer", s_jstr(x->content)) == 0;
        else if (ok && x->kind != ENV_ACT_SEND_INFORMATION)
            ok = json_object_set_new(o, "content", s_jstr(x->content)) == 0;
        if (ok && x->kind == ENV_ACT_SEND_INFORMATION) {
            bool list = s_values_in_order(x);
            json_t *info = json_array(), *vals = list ? json_array() : json_object();
            ok = info && vals && json_object_set(o, "information", info) == 0 &&
                 json_object_set(o, "values", vals) == 0;
            for (size_t k = 0; ok && k < x->n_info; k++)
                ok = json_array_append_new(info, s_jstr(x->info[k])) == 0;
            for (size_t k = 0; ok && list && k < x->n_values; k++)
                ok = json_array_append_new(vals, json_integer(x->values[k])) == 0;
            for (size_t k = 0; ok && !list && k < x->n_values; k++) {
                char *key = strdup(x->value_names[k] ? x->value_names[k] : "");
                if (key) llm_model_utf8_fix(key);
                ok = key && json_object_set_new(vals, key, json_integer(x->values[k])) == 0;
                free(key);
            }
            json_decref(info);
            json_decref(vals);
        }
    }
    const char *th = d ? env_decision_get_thoughts(d) : NULL;
    if (ok && th && *th) ok = json_object_set_new(root, "private_thoughts", s_jstr(th)) == 0;
    char *out = ok ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(acts);
    json_decref(root);
    return out;
}

int llm_prompter_keep_decision(llm_prompter_t *p, const env_decision_t *d)
{
    if (!p || !p->history) return 0;
    char *text = s_decision_json(d);
    if (!text) return -1;
    int rc = llm_prompter_keep_reply(p, text);
    free(text);
    return rc;
}

int llm_prompter_keep_reply(llm_prompter_t *p, const char *text)
{
    if (!llm_prompter_is_conversation(p) || !text) return 0;
    return s_keep(p, "assistant", text);
}

char *llm_conversation_flat(const char *system, const json_t *history)
{
    size_t n = (system ? strlen(system) : 0) + 1, i;
    json_t *m;
    json_array_foreach(history, i, m) n += json_string_length(json_object_get(m, "content")) + 2;
    char *s = malloc(n), *w = s;
    if (!s) return NULL;
    *w = 0;
    if (system) w = stpcpy(w, system);
    json_array_foreach(history, i, m)
    {
        if (w != s) w = stpcpy(w, "\n\n");
        w = stpcpy(w, json_string_value(json_object_get(m, "content")));
    }
    return s;
}

int llm_prompt_render(const agt_context_t *ctx, const env_obs_t *obs, llm_layout_t layout,
                      const char *feedback, llm_prompt_t *out)
{
    if (!ctx || !obs || !out) return ENV_EINVAL;
    char err[256];
    llm_prompter_t *p = s_prompter(llm_layout_name(layout), ctx, err, sizeof err);
    if (!p) return ENV_ENOMEM; /* built-ins are tested: only memory can fail */
    int rc = llm_prompter_render(p, ctx, obs, feedback, out, err, sizeof err);
    llm_prompter_destroy(&p);
    return rc ? ENV_ENOMEM : ENV_OK;
}

void llm_prompt_clear(llm_prompt_t *p)
{
    if (!p) return;
    free(p->system);
    free(p->user);
    p->system = p->user = NULL;
}

char *llm_prompt_flat(const llm_prompt_t *p)
{
    const char *sys = p->system ? p->system : "", *user = p->user ? p->user : "";
    size_t n = strlen(sys) + strlen(user) + 3;
    char *s = malloc(n);
    if (!s) return NULL;
    snprintf(s, n, "%s%s%s", sys, p->system ? "\n\n" : "", user);
    return s;
}

double llm_prefix_share(const char *prev, const char *cur)
{
    if (!prev || !cur || !*cur) return 0;
    size_t i = 0;
    while (prev[i] && prev[i] == cur[i]) i++;
    return (double)i / (double)strlen(cur);
}
