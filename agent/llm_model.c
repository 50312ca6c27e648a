/* llm_model.c: an observation -> the data a prompt template reads (llm_model.h).
 *
 * The one place that knows the observation's layout; templates only see the
 * tree built here. Arrangements the study used (its sort orders, its grouping
 * and counting of past actions, its board of earners) are computed here once,
 * under `paper.*`, so that a template stays a page of text with no logic
 * beyond "loop" and "if". */
#define _GNU_SOURCE /* strcasestr */
#include "llm_model.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Histories of the study's automated variant, which always truncates. */
#define S_LAST_MESSAGES  10
#define S_LAST_BROADCAST 5
#define S_LAST_NOTES     10
#define S_LAST_THOUGHTS  5

/* ------------------------------------------------------------ naming -- */

typedef struct {
    const agt_context_t *ctx;
    const env_obs_t *obs;
    bool oom;
} s_view_t;

static const char *s_agent(const s_view_t *v, int a)
{
    const env_names_t *nm = v->ctx->names;
    if (nm && a >= 0 && a < nm->n_agents && nm->agent_ids[a]) return nm->agent_ids[a];
    return "agent_?";
}

static const char *s_piece(const s_view_t *v, int p)
{
    const env_names_t *nm = v->ctx->names;
    if (nm && p >= 0 && p < nm->n_pieces && nm->piece_names[p]) return nm->piece_names[p];
    return "(unknown piece)";
}

static void s_money(char *out, size_t len, int64_t v)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
    size_t n = strlen(digits), j = 0;
    if (v < 0 && j + 1 < len) out[j++] = '-';
    if (j + 1 < len) out[j++] = '$';
    for (size_t i = 0; i < n && j + 1 < len; i++) {
        out[j++] = digits[i];
        if ((n - i - 1) % 3 == 0 && i + 1 < n && j + 1 < len) out[j++] = ',';
    }
    out[j] = '\0';
}

void llm_model_utf8_fix(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        int n = 0;
        if (*p < 0x80)
            n = 1;
        else if ((*p & 0xE0) == 0xC0 && *p >= 0xC2)
            n = 2;
        else if ((*p & 0xF0) == 0xE0)
            n = 3;
        else if ((*p & 0xF8) == 0xF0 && *p <= 0xF4)
            n = 4;
        bool ok = n > 0;
        for (int i = 1; ok && i < n; i++) ok = (p[i] & 0xC0) == 0x80;
        if (ok && n == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0)))
            ok = false;
        if (ok && n == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90)))
            ok = false;
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

/* ----------------------------------------------------- building json -- */

/* Setters that remember a failure instead of checking at every call. */
static void s_set(s_view_t *v, json_t *o, const char *k, json_t *val)
{
    if (!val || !o || json_object_set_new(o, k, val) != 0) v->oom = true;
}

static void s_push(s_view_t *v, json_t *a, json_t *val)
{
    if (!val || !a || json_array_append_new(a, val) != 0) v->oom = true;
}

/* Text from the game or another model, as valid UTF-8. */
static json_t *s_text(const char *s)
{
    if (!s) return json_string("");
    char *c = strdup(s);
    if (!c) return NULL;
    llm_model_utf8_fix(c);
    json_t *j = json_string(c);
    free(c);
    return j;
}

static json_t *s_money_json(int64_t v)
{
    char m[40];
    s_money(m, sizeof m, v);
    return json_string(m);
}

/* Growing "a, b, c" strings. */
typedef struct {
    char *p;
    size_t n, cap;
} s_str_t;

static void s_cat(s_view_t *v, s_str_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_cat(s_view_t *v, s_str_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) {
        v->oom = true;
        return;
    }
    if (s->n + (size_t)need + 1 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        while (cap < s->n + (size_t)need + 1) cap *= 2;
        char *p = realloc(s->p, cap);
        if (!p) {
            v->oom = true;
            return;
        }
        s->p = p;
        s->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(s->p + s->n, s->cap - s->n, fmt, ap);
    va_end(ap);
    s->n += (size_t)need;
}

static json_t *s_str_take(s_str_t *s)
{
    json_t *j = s_text(s->p ? s->p : "");
    free(s->p);
    memset(s, 0, sizeof *s);
    return j;
}

/* ------------------------------------------------------------ sorting -- */

static const char *const *s_sort_names; /* qsort has no context argument */

static int s_cmp_by_name(const void *a, const void *b)
{
    return strcmp(s_sort_names[*(const int *)a], s_sort_names[*(const int *)b]);
}

/* Indices 0..n-1 ordered by names[i] (byte order, as Python's sorted()). */
static int *s_order_by_name(const char *const *names, size_t n)
{
    int *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) return NULL;
    for (size_t i = 0; i < n; i++) idx[i] = (int)i;
    s_sort_names = names;
    qsort(idx, n, sizeof *idx, s_cmp_by_name);
    return idx;
}

/* ------------------------------------------------------------ sections -- */

static json_t *s_board_row(s_view_t *v, const env_board_row_t *r)
{
    json_t *o = json_object();
    s_set(v, o, "agent", json_string(s_agent(v, r->agent)));
    s_set(v, o, "self", json_boolean(r->agent == v->obs->agent));
    s_set(v, o, "revenue", json_integer(r->revenue));
    s_set(v, o, "revenue_money", s_money_json(r->revenue));
    s_set(v, o, "tasks", json_integer(r->tasks_done));
    s_set(v, o, "tasks_plural", json_boolean(r->tasks_done != 1));
    return o;
}

static void s_board(s_view_t *v, json_t *m, json_t *paper)
{
    const env_obs_t *o = v->obs;
    json_t *board = json_array(), *earned = json_array(), *ranked = json_array();
    json_t *me = json_object();
    for (size_t i = 0; i < o->n_board; i++) {
        const env_board_row_t *r = &o->board[i];
        s_push(v, board, s_board_row(v, r));
        /* The study's board lists only agents that have earned something:
         * empty in round 1. */
        if (r->revenue > 0) s_push(v, earned, s_board_row(v, r));
        if (r->agent == o->agent) {
            s_set(v, me, "revenue", json_integer(r->revenue));
            s_set(v, me, "revenue_money", s_money_json(r->revenue));
            s_set(v, me, "tasks", json_integer(r->tasks_done));
            s_set(v, me, "tasks_plural", json_boolean(r->tasks_done != 1));
            /* The study's hidden board lists the last three completions. */
            json_t *recent = json_array();
            int from = r->tasks_done > 3 ? r->tasks_done - 3 : 0;
            for (int k = from; k < r->tasks_done; k++)
                s_push(v, recent, json_pack("{s:i}", "n", k - from + 1));
            s_set(v, me, "recent", recent);
        }
    }
    if (!json_object_get(me, "revenue")) {
        s_set(v, me, "revenue", json_integer(0));
        s_set(v, me, "revenue_money", s_money_json(0));
        s_set(v, me, "tasks", json_integer(0));
        s_set(v, me, "tasks_plural", json_true());
        s_set(v, me, "recent", json_array());
    }
    /* The automated variant ranks its board, highest revenue first (ties
     * keep the board's own order). */
    size_t n = json_array_size(earned);
    int *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) v->oom = true;
    for (size_t i = 0; idx && i < n; i++) idx[i] = (int)i;
    for (size_t i = 1; idx && i < n; i++) { /* insertion sort: stable, n <= agents */
        int x = idx[i];
        json_int_t rx =
            json_integer_value(json_object_get(json_array_get(earned, (size_t)x), "revenue"));
        size_t j = i;
        while (j > 0 && json_integer_value(json_object_get(
                            json_array_get(earned, (size_t)idx[j - 1]), "revenue")) < rx) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = x;
    }
    for (size_t i = 0; idx && i < n; i++) {
        json_t *row = json_deep_copy(json_array_get(earned, (size_t)idx[i]));
        s_set(v, row, "rank", json_integer((json_int_t)i + 1));
        s_push(v, ranked, row);
    }
    free(idx);
    s_set(v, m, "board", board);
    s_set(v, m, "me", me);
    s_set(v, paper, "board", earned);
    s_set(v, paper, "board_ranked", ranked);
}

/* "Calculate ... from the required data." -> the same sentence naming the
 * pieces, quoted and joined by "and", as the study's task descriptions do. */
static json_t *s_named_description(s_view_t *v, const env_task_view_t *t)
{
    s_str_t list = {0}, out = {0};
    for (int k = 0; k < t->n_pieces; k++)
        s_cat(v, &list, "%s\"%s\"", k ? " and " : "", s_piece(v, t->pieces[k]));
    const char *d = t->description ? t->description : "";
    const char *at = strstr(d, "the required data");
    bool names_all = t->n_pieces > 0;
    for (int k = 0; k < t->n_pieces && names_all; k++)
        names_all = strstr(d, s_piece(v, t->pieces[k])) != NULL;
    if (names_all) /* a description that already names its pieces stays as it is */
        s_cat(v, &out, "%s", d);
    else if (at)
        s_cat(v, &out, "%.*s%s%s", (int)(at - d), d, list.p ? list.p : "",
              at + strlen("the required data"));
    else
        s_cat(v, &out, "%s (%s)", d, list.p ? list.p : "");
    free(list.p);
    return s_str_take(&out);
}

static void s_tasks(s_view_t *v, json_t *m)
{
    const env_obs_t *o = v->obs;
    json_t *tasks = json_array();
    for (size_t i = 0; i < o->n_tasks; i++) {
        const env_task_view_t *t = &o->tasks[i];
        json_t *ps = json_array();
        s_str_t joined = {0};
        for (int k = 0; k < t->n_pieces; k++) {
            s_push(v, ps, json_string(s_piece(v, t->pieces[k])));
            s_cat(v, &joined, "%s%s", k ? ", " : "", s_piece(v, t->pieces[k]));
        }
        json_t *tj = json_object();
        s_set(v, tj, "n", json_integer((json_int_t)i + 1));
        s_set(v, tj, "id", json_string(t->id ? t->id : "task_?"));
        s_set(v, tj, "description", s_text(t->description));
        s_set(v, tj, "description_named", s_named_description(v, t));
        s_set(v, tj, "pieces", ps);
        s_set(v, tj, "pieces_joined", s_str_take(&joined));
        s_push(v, tasks, tj);
    }
    s_set(v, m, "tasks", tasks);
}

static void s_information(s_view_t *v, json_t *m, json_t *paper)
{
    const env_obs_t *o = v->obs;
    json_t *inv = json_array(), *sorted = json_array();
    const char **names = calloc(o->n_inventory ? o->n_inventory : 1, sizeof *names);
    if (!names) v->oom = true;
    for (size_t i = 0; i < o->n_inventory; i++) {
        s_push(v, inv,
               json_pack("{s:s, s:i}", "piece", s_piece(v, o->inventory[i].piece), "value",
                         o->inventory[i].value));
        if (names) names[i] = s_piece(v, o->inventory[i].piece);
    }
    int *idx = names ? s_order_by_name(names, o->n_inventory) : NULL;
    for (size_t i = 0; idx && i < o->n_inventory; i++)
        s_push(v, sorted, json_deep_copy(json_array_get(inv, (size_t)idx[i])));
    if (names && !idx) v->oom = true;
    free(idx);
    free(names);
    s_set(v, m, "information", inv);
    s_set(v, paper, "information", sorted);
}

static json_t *s_dir_row(s_view_t *v, int a, bool by_name)
{
    const env_obs_t *o = v->obs;
    uint32_t n = o->dir_count ? o->dir_count[a] : 0;
    json_t *row = json_object(), *ps = json_array();
    const char **names = calloc(n ? n : 1, sizeof *names);
    if (!names) v->oom = true;
    for (uint32_t k = 0; names && k < n; k++) names[k] = s_piece(v, o->dir_pieces[a][k]);
    int *idx = names && by_name ? s_order_by_name(names, n) : NULL;
    s_str_t joined = {0};
    for (uint32_t k = 0; names && k < n; k++) {
        const char *nm = names[idx ? idx[k] : (int)k];
        s_push(v, ps, json_string(nm));
        s_cat(v, &joined, "%s%s", k ? ", " : "", nm);
    }
    free(idx);
    free(names);
    s_set(v, row, "agent", json_string(s_agent(v, a)));
    s_set(v, row, "self", json_boolean(a == o->agent));
    s_set(v, row, "pieces", ps);
    s_set(v, row, "pieces_joined", s_str_take(&joined));
    s_set(v, row, "count", json_integer(n));
    return row;
}

static void s_directory(s_view_t *v, json_t *m, json_t *paper)
{
    int n = v->ctx->names ? v->ctx->names->n_agents : 0;
    json_t *dir = json_array(), *sorted = json_array();
    for (int a = 0; a < n && v->obs->dir_count && v->obs->dir_pieces; a++)
        s_push(v, dir, s_dir_row(v, a, false));
    /* The study lists agents by sorted id ("agent_1", "agent_10", "agent_2",
     * ...) and each agent's pieces by sorted name. */
    const char **ids = calloc(n > 0 ? (size_t)n : 1, sizeof *ids);
    if (!ids) v->oom = true;
    for (int a = 0; ids && a < n; a++) ids[a] = s_agent(v, a);
    int *idx = ids ? s_order_by_name(ids, (size_t)n) : NULL;
    for (int i = 0; idx && i < n && v->obs->dir_count && v->obs->dir_pieces; i++)
        s_push(v, sorted, s_dir_row(v, idx[i], true));
    free(idx);
    free(ids);
    s_set(v, m, "directory", dir);
    s_set(v, paper, "directory", sorted);
}

static json_t *s_msg(s_view_t *v, const env_msg_t *msg)
{
    json_t *o = json_object();
    s_set(v, o, "round", json_integer(msg->round));
    s_set(v, o, "from", json_string(s_agent(v, msg->from)));
    s_set(v, o, "to", json_string(s_agent(v, msg->to)));
    s_set(v, o, "from_self", json_boolean(msg->from == v->obs->agent));
    s_set(v, o, "to_self", json_boolean(msg->to == v->obs->agent));
    s_set(v, o, "content", s_text(msg->content));
    return o;
}

/* The last `keep` items of a list, copied. */
static json_t *s_tail(s_view_t *v, const json_t *a, size_t keep)
{
    json_t *t = json_array();
    size_t n = json_array_size(a);
    for (size_t i = n > keep ? n - keep : 0; i < n; i++)
        s_push(v, t, json_deep_copy(json_array_get(a, i)));
    return t;
}

static void s_messages(s_view_t *v, json_t *m, json_t *paper)
{
    const env_obs_t *o = v->obs;
    json_t *msgs = json_array(), *bc = json_array();
    for (size_t i = 0; i < o->n_msgs; i++)
        if (o->msgs[i]) s_push(v, msgs, s_msg(v, o->msgs[i]));
    for (size_t i = 0; i < o->n_broadcasts; i++) s_push(v, bc, s_msg(v, &o->broadcasts[i]));
    s_set(v, paper, "last_messages", s_tail(v, msgs, S_LAST_MESSAGES));
    s_set(v, paper, "last_broadcasts", s_tail(v, bc, S_LAST_BROADCAST));
    s_set(v, m, "messages", msgs);
    s_set(v, m, "broadcasts", bc);
}

/* The environment tells a submitter "You completed task_N and earned $X.";
 * the study sent no such note (a penalised completion is still reported). */
static bool s_own_success(const char *text)
{
    return text && strncmp(text, "You completed ", 14) == 0 && !strstr(text, "incorrect value");
}

static void s_notes(s_view_t *v, json_t *m, json_t *paper, const char *feedback)
{
    const env_obs_t *o = v->obs;
    json_t *notes = json_array(), *pnotes = json_array(), *inv = json_array();
    for (size_t i = 0; i < o->n_notes; i++) {
        json_t *n = json_object();
        s_set(v, n, "round", json_integer(o->notes[i].round));
        s_set(v, n, "text", s_text(o->notes[i].text));
        if (!s_own_success(o->notes[i].text)) s_push(v, pnotes, json_deep_copy(n));
        s_push(v, notes, n);
    }
    for (size_t i = 0; i < o->n_invalid; i++)
        s_push(v, inv,
               json_pack("{s:i, s:o}", "n", o->invalid[i].action + 1, "reason",
                         s_text(o->invalid[i].reason ? o->invalid[i].reason : "invalid")));
    s_set(v, m, "notifications", notes);
    s_set(v, paper, "notifications", pnotes);
    s_set(v, paper, "last_notifications", s_tail(v, pnotes, S_LAST_NOTES));
    s_set(v, m, "invalid", inv);
    s_set(v, m, "feedback", feedback ? s_text(feedback) : json_null());
    s_set(v, m, "has_notifications",
          json_boolean(o->n_notes || o->n_invalid || (feedback && *feedback)));
}

/* Index of `key` in keys[0..n), appending it when new. */
static size_t s_group(int *keys, size_t *n, int key)
{
    for (size_t i = 0; i < *n; i++)
        if (keys[i] == key) return i;
    keys[*n] = key;
    return (*n)++;
}

/* The study counted a request when one of its own direct messages held one
 * of a few asking words and named a piece (any piece, held or not), per
 * recipient and piece in order of the first ask; a message in other words
 * (its own "REQUEST: ..." form included) was not counted. */
static void s_paper_requests(s_view_t *v, json_t *out)
{
    static const char *const words[] = {"need",    "share",       "please",
                                        "can you", "do you have", "looking for"};
    const env_obs_t *o = v->obs;
    const env_names_t *nm = v->ctx->names;
    if (!nm) return;
    typedef struct {
        int to, piece, count;
    } s_ask_t;
    s_ask_t *asks = NULL;
    size_t n = 0, cap = 0;
    int found[64];
    for (size_t i = 0; i < o->n_msgs; i++) {
        const env_msg_t *msg = o->msgs[i];
        if (!msg || msg->from != o->agent || !msg->content) continue;
        bool asking = false;
        for (size_t w = 0; w < sizeof words / sizeof words[0] && !asking; w++)
            asking = strcasestr(msg->content, words[w]) != NULL;
        if (!asking) continue;
        size_t nf = env_find_pieces(nm, msg->content, found, 64);
        for (size_t k = 0; k < nf; k++) {
            size_t j = 0;
            while (j < n && !(asks[j].to == msg->to && asks[j].piece == found[k])) j++;
            if (j == n) {
                if (n == cap) {
                    s_ask_t *a = realloc(asks, (cap = cap ? cap * 2 : 16) * sizeof *a);
                    if (!a) {
                        v->oom = true;
                        free(asks);
                        return;
                    }
                    asks = a;
                }
                asks[n++] = (s_ask_t){msg->to, found[k], 0};
            }
            asks[j].count++;
        }
    }
    /* grouped by recipient, in order of the first ask of each */
    for (size_t g = 0; g < n; g++) {
        bool first = true;
        for (size_t j = 0; j < g && first; j++) first = asks[j].to != asks[g].to;
        for (size_t j = g; first && j < n; j++) {
            if (asks[j].to != asks[g].to) continue;
            s_push(v, out,
                   json_pack("{s:s, s:s, s:i, s:b, s:b}", "piece", s_piece(v, asks[j].piece),
                             "holder", s_agent(v, asks[j].to), "count", asks[j].count, "plural",
                             asks[j].count != 1, "unanswered_rule", asks[j].count > 2));
        }
    }
    free(asks);
}

static void s_past(s_view_t *v, json_t *m, json_t *paper)
{
    const env_obs_t *o = v->obs;
    json_t *sent = json_array(), *reqs = json_array(), *recv = json_array();
    for (size_t i = 0; i < o->n_sent; i++)
        s_push(v, sent,
               json_pack("{s:s, s:s, s:i, s:i}", "piece", s_piece(v, o->sent[i].piece), "to",
                         s_agent(v, o->sent[i].to), "value", o->sent[i].value, "round",
                         o->sent[i].round));
    for (size_t i = 0; i < o->n_received; i++)
        s_push(v, recv,
               json_pack("{s:s, s:s, s:i, s:i}", "piece", s_piece(v, o->received[i].piece), "from",
                         s_agent(v, o->received[i].from), "value", o->received[i].value, "round",
                         o->received[i].round));
    for (size_t i = 0; i < o->n_requests; i++) {
        const env_request_t *r = &o->requests[i];
        s_push(v, reqs,
               json_pack("{s:s, s:s, s:i, s:b, s:b, s:b}", "piece", s_piece(v, r->piece), "holder",
                         s_agent(v, r->holder), "count", r->count, "plural", r->count != 1,
                         "fulfilled", r->fulfilled, "unanswered_rule", r->count > 2));
    }
    s_set(v, m, "sent", sent);
    s_set(v, m, "requests", reqs);
    s_set(v, m, "received", recv);

    /* The study's arrangement: per recipient (in order of first send) the
     * sorted names sent and the values sent; per holder its requests, where
     * more than two asks read as "has not responded", answered or not; per
     * sender the values received. */
    size_t cap = o->n_sent + o->n_received + o->n_requests + 1;
    int *keys = malloc(cap * sizeof *keys);
    json_t *by_to = json_array(), *vals_to = json_array(), *by_holder = json_array(),
           *vals_from = json_array();
    if (!keys) v->oom = true;
    size_t nk = 0;
    for (size_t i = 0; keys && i < o->n_sent; i++) s_group(keys, &nk, o->sent[i].to);
    for (size_t g = 0; keys && g < nk; g++) {
        const char **names = calloc(o->n_sent + 1, sizeof *names);
        size_t nn = 0;
        s_str_t vals = {0}, joined = {0};
        for (size_t i = 0; names && i < o->n_sent; i++) {
            if (o->sent[i].to != keys[g]) continue;
            const char *pn = s_piece(v, o->sent[i].piece);
            bool dup = false;
            for (size_t k = 0; k < nn; k++) dup |= strcmp(names[k], pn) == 0;
            if (!dup) names[nn++] = pn;
            s_cat(v, &vals, "%s%s=%d", vals.n ? ", " : "", pn, o->sent[i].value);
        }
        int *idx = names ? s_order_by_name(names, nn) : NULL;
        for (size_t k = 0; idx && k < nn; k++)
            s_cat(v, &joined, "%s%s", k ? ", " : "", names[idx[k]]);
        if (!names || !idx) v->oom = true;
        free(idx);
        free(names);
        const char *to = s_agent(v, keys[g]);
        s_push(v, by_to, json_pack("{s:s, s:o}", "to", to, "pieces_joined", s_str_take(&joined)));
        s_push(v, vals_to, json_pack("{s:s, s:o}", "to", to, "values_joined", s_str_take(&vals)));
    }
    s_paper_requests(v, by_holder);
    nk = 0;
    for (size_t i = 0; keys && i < o->n_received; i++) s_group(keys, &nk, o->received[i].from);
    for (size_t g = 0; keys && g < nk; g++) {
        s_str_t vals = {0};
        for (size_t i = 0; i < o->n_received; i++)
            if (o->received[i].from == keys[g])
                s_cat(v, &vals, "%s%s=%d", vals.n ? ", " : "", s_piece(v, o->received[i].piece),
                      o->received[i].value);
        s_push(v, vals_from,
               json_pack("{s:s, s:o}", "from", s_agent(v, keys[g]), "values_joined",
                         s_str_take(&vals)));
    }
    free(keys);
    bool any_values = o->n_sent || o->n_received;
    s_set(v, paper, "sent", by_to);
    s_set(v, paper, "requests", by_holder);
    s_set(v, paper, "values_sent", vals_to);
    s_set(v, paper, "values_received", vals_from);
    s_set(v, paper, "has_values", json_boolean(any_values));
    s_set(v, paper, "has_past", json_boolean(any_values || json_array_size(by_holder)));
}

static void s_thoughts_exchanges(s_view_t *v, json_t *m, json_t *paper)
{
    const env_obs_t *o = v->obs;
    json_t *th = json_array(), *ex = json_array();
    for (size_t i = 0; i < o->n_thoughts; i++)
        s_push(v, th,
               json_pack("{s:i, s:o}", "round", o->thoughts[i].round, "text",
                         s_text(o->thoughts[i].text)));
    for (size_t i = 0; i < o->n_exchanges; i++) {
        const env_exchange_t *x = &o->exchanges[i];
        s_push(v, ex,
               json_pack("{s:s, s:s, s:i, s:b, s:i}", "from", s_agent(v, x->from), "to",
                         s_agent(v, x->to), "n", x->n, "plural", x->n != 1, "round", x->round));
    }
    s_set(v, paper, "last_thoughts", s_tail(v, th, S_LAST_THOUGHTS));
    s_set(v, m, "thoughts", th);
    s_set(v, m, "exchanges", ex);
    s_set(v, m, "show_thoughts", json_boolean(o->has_thoughts));
    s_set(v, m, "show_exchanges", json_boolean(o->has_exchanges));
}

static void s_rules(s_view_t *v, json_t *m)
{
    const env_config_t *r = v->ctx->rules;
    env_config_t paper;
    if (!r) {
        env_config_paper(&paper);
        r = &paper;
    }
    json_t *j = json_object();
    s_set(v, j, "task_reward", json_integer(r->task_reward));
    s_set(v, j, "task_reward_money", s_money_json(r->task_reward));
    s_set(v, j, "sharing_bonus", json_integer(r->sharing_bonus));
    s_set(v, j, "sharing_bonus_money", s_money_json(r->sharing_bonus));
    s_set(v, j, "has_sharing_bonus", json_boolean(r->sharing_bonus > 0));
    s_set(v, j, "pieces_per_task", json_integer(r->pieces_per_task));
    /* The template keeps the multiplier (1 - rate) it has always shown. */
    double factor = 1.0 - r->misreport_rate;
    bool mis = factor > 0 && factor < 1;
    char f[32];
    snprintf(f, sizeof f, "%g", factor);
    s_set(v, j, "has_misreport_penalty", json_boolean(mis));
    s_set(v, j, "misreport_factor", json_string(f));
    s_set(v, j, "misreport_cut_percent",
          json_integer((json_int_t)(r->misreport_rate * 100.0 + 0.5)));
    s_set(v, j, "rounds", json_integer(r->rounds));
    /* The study's options: the paper templates say what the original's prompt
     * says about them, the clear ones every rule in force. */
    int lim = r->max_actions_per_turn;
    s_set(v, j, "has_action_limit", json_boolean(lim > 0));
    s_set(v, j, "max_actions_per_turn", json_integer(lim > 0 ? lim : -1));
    s_set(v, j, "action_limit_plural", json_boolean(lim != 1));
    s_set(v, j, "has_first_bonus", json_boolean(r->first_bonus > 0));
    s_set(v, j, "first_bonus", json_integer(r->first_bonus));
    s_set(v, j, "first_bonus_money", s_money_json(r->first_bonus));
    int lo = r->min_pieces_per_task > 0 ? r->min_pieces_per_task : r->pieces_per_task;
    s_set(v, j, "min_pieces_per_task", json_integer(lo));
    s_set(v, j, "max_pieces_per_task", json_integer(r->pieces_per_task));
    s_set(v, j, "pieces_vary", json_boolean(lo != r->pieces_per_task));
    s_set(v, j, "new_task_on_completion", json_boolean(r->new_task_on_completion));
    s_set(v, j, "submit_exact_names", json_boolean(r->submit_exact_names));
    s_set(v, j, "submit_fallback_first", json_boolean(r->submit_fallback_first));
    s_set(v, j, "answer_request_form_only", json_boolean(r->request_form_only));
    s_set(v, m, "rules", j);
}

static json_t *s_model(s_view_t *v, const char *feedback)
{
    const agt_context_t *ctx = v->ctx;
    const env_obs_t *o = v->obs;
    json_t *m = json_object(), *paper = json_object(), *is = json_object();
    s_set(v, m, "agent", json_string(s_agent(v, o->agent)));
    s_set(v, m, "n_agents", json_integer(ctx->names ? ctx->names->n_agents : 0));
    s_set(v, m, "round", json_integer(o->round));
    s_set(v, m, "rounds", json_integer(o->rounds));
    s_set(v, m, "reply_turn", json_boolean(o->kind == ENV_TURN_REPLY));
    /* Time (docs/TIMING.md): the clear templates show these in realtime. */
    bool rt = ctx->timing && strcmp(ctx->timing, "realtime") == 0;
    s_set(v, m, "realtime", json_boolean(rt));
    char left[32];
    snprintf(left, sizeof left, "%.1f", ctx->time_left_s);
    s_set(v, m, "has_time_left", json_boolean(ctx->time_left_s > 0));
    s_set(v, m, "time_left_s", json_string(left));
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < ctx->n_arrived; i++)
        if (json_array_append_new(arr, json_pack("{s:s}", "text", ctx->arrived[i])) != 0)
            v->oom = true;
    s_set(v, m, "arrived", arr);
    s_set(v, m, "has_arrived", json_boolean(ctx->n_arrived > 0));
    s_set(v, m, "type", json_string(env_type_name(ctx->type)));
    for (int t = 0; t < ENV_TYPE_COUNT; t++)
        s_set(v, is, env_type_name((env_type_t)t), json_boolean(ctx->type == (env_type_t)t));
    s_set(v, m, "type_is", is);
    env_automation_t au = ctx->rules ? ctx->rules->automation : ENV_AUTO_NONE;
    s_set(v, m, "automation", json_string(env_automation_name(au)));
    s_set(v, m, "automated", json_boolean(au != ENV_AUTO_NONE));
    s_set(v, m, "mixed", json_boolean(ctx->config && pl_config_mixed(ctx->config)));
    s_set(v, m, "show_board", json_boolean(o->has_board));
    s_rules(v, m);
    s_board(v, m, paper);
    s_tasks(v, m);
    s_information(v, m, paper);
    s_directory(v, m, paper);
    s_messages(v, m, paper);
    s_notes(v, m, paper, feedback);
    s_past(v, m, paper);
    s_thoughts_exchanges(v, m, paper);
    s_set(v, m, "paper", paper);
    if (v->oom) {
        json_decref(m);
        return NULL;
    }
    return m;
}

json_t *llm_model_new(const agt_context_t *ctx, const env_obs_t *obs, const char *feedback)
{
    if (!ctx || !obs) return NULL;
    s_view_t v = {.ctx = ctx, .obs = obs};
    return s_model(&v, feedback && *feedback ? feedback : NULL);
}
