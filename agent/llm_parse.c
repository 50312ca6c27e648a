/* llm_parse.c: reply text -> env_decision_t (llm_parse.h).
 *
 * Order of attempts: the reply with reasoning blocks removed, first inside its
 * markdown fences, then as a whole; if that yields nothing, the raw reply (a
 * model may put its JSON inside an unclosed <think>). Within a text, candidates
 * are tried left to right until one reads as a decision. */
#include "llm_parse.h"

#include <jansson.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_RAW_MAX   2000 /* bytes of a dropped item kept in the record */
#define S_MAX_TRIES 256  /* candidate JSON starts tried per text */

void llm_fmt(char *dst, size_t n, const char *fmt, ...)
{
    if (!dst || !n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, n, fmt, ap);
    va_end(ap);
}

/* Case-insensitive search in a length-bounded buffer. */
static const char *s_find(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    if (n > len) return NULL;
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp(s + i, needle, n) == 0) return s + i;
    return NULL;
}

char *llm_parse_strip_reasoning(const char *s, size_t len, size_t *out_len)
{
    static const char *const tags[] = {"think", "thinking", "reasoning", "reflection"};
    char *out = malloc(len + 1);
    if (!out) return NULL;
    memcpy(out, s, len);
    out[len] = '\0';
    size_t n = len;
    for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++) {
        char open[32], close[32];
        snprintf(open, sizeof open, "<%s>", tags[t]);
        snprintf(close, sizeof close, "</%s>", tags[t]);
        for (;;) {
            const char *o = s_find(out, n, open);
            const char *c = s_find(out, n, close);
            size_t from, to;
            if (o && (!c || c > o)) {
                from = (size_t)(o - out);
                const char *c2 = s_find(o, n - from, close);
                to = c2 ? (size_t)(c2 - out) + strlen(close) : n;
            } else if (c) {
                /* a closing tag with no opening one: the server ate the opening tag */
                from = 0;
                to = (size_t)(c - out) + strlen(close);
            } else {
                break;
            }
            memmove(out + from, out + to, n - to);
            n -= to - from;
            out[n] = '\0';
        }
    }
    if (out_len) *out_len = n;
    return out;
}

/* End (exclusive) of the balanced value opening at s[i] ('{' or '['), or 0. */
static size_t s_balanced_end(const char *s, size_t len, size_t i)
{
    char stack[256];
    size_t depth = 0;
    bool in_str = false, esc = false;
    for (size_t k = i; k < len; k++) {
        char ch = s[k];
        if (in_str) {
            if (esc)
                esc = false;
            else if (ch == '\\')
                esc = true;
            else if (ch == '"')
                in_str = false;
            continue;
        }
        if (ch == '"') {
            in_str = true;
        } else if (ch == '{' || ch == '[') {
            if (depth == sizeof stack) return 0;
            stack[depth++] = ch == '{' ? '}' : ']';
        } else if (ch == '}' || ch == ']') {
            if (!depth || stack[depth - 1] != ch) return 0;
            if (--depth == 0) return k + 1;
        }
    }
    return 0;
}

/* Does a JSON value read as a decision? */
static bool s_is_decision(json_t *v)
{
    if (json_is_array(v)) {
        json_t *first = json_array_get(v, 0);
        return json_array_size(v) == 0 || json_is_object(first);
    }
    if (!json_is_object(v)) return false;
    return json_object_get(v, "actions") || json_object_get(v, "action") ||
           json_object_get(v, "type") || json_object_get(v, "private_thoughts");
}

static json_t *s_first_decision(const char *s, size_t len, bool any)
{
    int tries = 0; /* bounded: a reply of many braces must not cost O(n^2) */
    for (size_t i = 0; i < len && tries < S_MAX_TRIES; i++) {
        if (s[i] != '{' && s[i] != '[') continue;
        tries++;
        size_t end = s_balanced_end(s, len, i);
        if (!end) continue;
        json_t *v = json_loadb(s + i, end - i, JSON_DECODE_ANY, NULL);
        if (v && (any ? (json_is_object(v) || json_is_array(v)) : s_is_decision(v))) return v;
        json_decref(v);
    }
    return NULL;
}

json_t *llm_parse_first_json(const char *s, size_t len)
{
    return s ? s_first_decision(s, len, true) : NULL;
}

/* The first decision inside ``` fences, or in the whole text. */
static json_t *s_search(const char *s, size_t len)
{
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *o = s_find(p, (size_t)(end - p), "```");
        if (!o) break;
        const char *body = o + 3;
        while (body < end && *body != '\n' && !isspace((unsigned char)*body)) body++; /* ```json */
        const char *c = s_find(body, (size_t)(end - body), "```");
        if (!c) c = end;
        json_t *v = s_first_decision(body, (size_t)(c - body), false);
        if (v) return v;
        p = c < end ? c + 3 : end;
    }
    return s_first_decision(s, len, false);
}

/* ------------------------------------------------------------ actions -- */

/* A field of an action, at top level or under parameters/arguments/args. */
static json_t *s_field(json_t *item, const char *k)
{
    json_t *v = json_object_get(item, k);
    if (v) return v;
    static const char *const nests[] = {"parameters", "params", "arguments", "args", "input"};
    for (size_t i = 0; i < sizeof nests / sizeof nests[0]; i++) {
        json_t *n = json_object_get(item, nests[i]);
        if (json_is_object(n) && (v = json_object_get(n, k))) return v;
    }
    return NULL;
}

static const char *s_str(json_t *item, const char *k1, const char *k2)
{
    json_t *v = s_field(item, k1);
    if (!v && k2) v = s_field(item, k2);
    return json_string_value(v);
}

static bool s_number(json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != d || d > 9e18 || d < -9e18) return false;
        *out = (int64_t)(d < 0 ? d - 0.5 : d + 0.5);
        return true;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        long long n = strtoll(s, &end, 10);
        while (*end == ' ') end++;
        if (end != s && *end == '\0') {
            *out = n;
            return true;
        }
    }
    return false;
}

typedef struct {
    env_decision_t *d;
    llm_drop_fn drop;
    void *arg;
    int kept, dropped;
    bool oom;
} s_ctx_t;

static void s_drop(s_ctx_t *x, json_t *item, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_drop(s_ctx_t *x, json_t *item, const char *fmt, ...)
{
    char reason[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    char *raw = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
    if (raw && strlen(raw) > S_RAW_MAX) strcpy(raw + S_RAW_MAX - 4, "...");
    x->dropped++;
    if (x->drop) x->drop(x->arg, raw ? raw : "", reason);
    free(raw);
}

static void s_kept(s_ctx_t *x, json_t *item, int rc)
{
    if (rc == ENV_OK)
        x->kept++;
    else if (rc == ENV_ENOMEM)
        x->oom = true;
    else
        s_drop(x, item, "%s", env_strerror(rc));
}

static void s_send_information(s_ctx_t *x, json_t *item, const char *to)
{
    json_t *info = s_field(item, "information");
    if (!info) info = s_field(item, "pieces");
    json_t *values = s_field(item, "values");
    json_t *list = NULL;
    json_t *as_map = NULL; /* `values` given as a list: [{piece, value}] (strict schemas),
                              or integers in the order of `information` */
    if (json_is_string(info))
        list = json_pack("[O]", info);
    else if (json_is_array(info))
        list = json_incref(info);
    if (!list || json_array_size(list) == 0) {
        s_drop(x, item, "send_information needs `information`: a list of piece names");
        json_decref(list);
        return;
    }
    size_t n = json_array_size(list);
    const char **names = calloc(n, sizeof *names);
    int64_t *vals = calloc(n, sizeof *vals);
    if (!names || !vals) {
        x->oom = true;
        goto done;
    }
    if (json_is_array(values)) {
        as_map = json_object();
        size_t k;
        json_t *e;
        json_array_foreach(values, k, e)
        {
            const char *piece = json_string_value(json_object_get(e, "piece"));
            if (!piece) piece = json_string_value(json_object_get(e, "name"));
            json_t *v = json_object_get(e, "value");
            if (!piece && !json_is_object(e) && k < n) { /* a bare number */
                piece = json_string_value(json_array_get(list, k));
                v = e;
            }
            if (as_map && piece && v) json_object_set(as_map, piece, v);
        }
        values = as_map;
    }
    if (!json_is_object(values)) {
        s_drop(x, item,
               "send_information needs `values`: an object giving each piece's value (or a "
               "list of {piece, value})");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        names[i] = json_string_value(json_array_get(list, i));
        if (!names[i] || !*names[i]) {
            s_drop(x, item, "send_information: item %zu of `information` is not a piece name", i);
            goto done;
        }
        json_t *v = json_object_get(values, names[i]);
        if (!v) { /* the environment matches names case-insensitively; so do we */
            const char *k;
            json_t *vv;
            json_object_foreach(values, k, vv)
            {
                if (strcasecmp(k, names[i]) == 0) {
                    v = vv;
                    break;
                }
            }
        }
        if (!s_number(v, &vals[i])) {
            s_drop(x, item, "send_information: `values` gives no integer for \"%s\"", names[i]);
            goto done;
        }
    }
    if (json_object_size(values) > n) {
        s_drop(x, item, "send_information: `values` names pieces that are not in `information`");
        goto done;
    }
    s_kept(x, item, env_decision_send_many(x->d, to, n, names, vals));
done:
    json_decref(as_map);
    free(names);
    free(vals);
    json_decref(list);
}

static void s_action(s_ctx_t *x, json_t *item)
{
    if (!json_is_object(item)) {
        s_drop(x, item, "an action must be a JSON object");
        return;
    }
    const char *type = s_str(item, "type", "action");
    if (!type) type = s_str(item, "name", "tool");
    if (!type) {
        s_drop(x, item, "the action has no `type`");
        return;
    }
    int kind = env_act_from_name(type);
    if (kind < 0) {
        s_drop(x, item,
               "unknown action type \"%.60s\" (use send_message, broadcast, send_information, "
               "submit_task)",
               type);
        return;
    }
    const char *to = s_str(item, "to", "recipient");
    switch ((env_act_kind_t)kind) {
    case ENV_ACT_SEND_MESSAGE: {
        const char *content = s_str(item, "content", "message");
        if (!to || !content) {
            s_drop(x, item, "send_message needs `to` and `content` strings");
            return;
        }
        s_kept(x, item, env_decision_message(x->d, to, content));
        return;
    }
    case ENV_ACT_BROADCAST: {
        const char *content = s_str(item, "content", "message");
        if (!content) {
            s_drop(x, item, "broadcast needs a `content` string");
            return;
        }
        s_kept(x, item, env_decision_broadcast(x->d, content));
        return;
    }
    case ENV_ACT_SEND_INFORMATION:
        if (!to) {
            s_drop(x, item, "send_information needs a `to` string");
            return;
        }
        s_send_information(x, item, to);
        return;
    case ENV_ACT_SUBMIT_TASK: {
        const char *answer = s_str(item, "answer", "content");
        json_t *pieces = s_field(item, "pieces");
        if (!answer && json_is_array(pieces) && json_array_size(pieces) > 0) {
            /* {"type":"submit_task","pieces":[...]} -> the answer's own form */
            char buf[4096] = "Combined result of: ";
            size_t i;
            json_t *p;
            json_array_foreach(pieces, i, p)
            {
                const char *s = json_string_value(p);
                if (!s) continue;
                if (i) strncat(buf, ", ", sizeof buf - strlen(buf) - 1);
                strncat(buf, s, sizeof buf - strlen(buf) - 1);
            }
            s_kept(x, item, env_decision_submit(x->d, buf));
            return;
        }
        if (!answer) {
            s_drop(x, item,
                   "submit_task needs an `answer` string: \"Combined result of: p1, "
                   "p2, p3, p4\"");
            return;
        }
        s_kept(x, item, env_decision_submit(x->d, answer));
        return;
    }
    default:
        s_drop(x, item, "unknown action type");
        return;
    }
}

int llm_parse_reply(const char *text, size_t len, env_decision_t *d, llm_drop_fn drop, void *arg,
                    char *empty_reason, size_t reason_len)
{
    s_ctx_t x = {.d = d, .drop = drop, .arg = arg};
    if (empty_reason && reason_len) empty_reason[0] = '\0';
    env_decision_clear(d);
    if (!text) text = "";
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)text[i])) n++;
    if (n == 0) {
        llm_fmt(empty_reason, reason_len, "empty reply");
        return 0;
    }
    size_t slen = 0;
    char *stripped = llm_parse_strip_reasoning(text, len, &slen);
    if (!stripped) return -1;
    json_t *root = s_search(stripped, slen);
    free(stripped);
    if (!root) root = s_search(text, len);
    if (!root) {
        llm_fmt(empty_reason, reason_len, "no JSON object in the reply");
        return 0;
    }

    json_t *actions = NULL;
    if (json_is_array(root)) {
        actions = json_incref(root);
    } else {
        json_t *th = json_object_get(root, "private_thoughts");
        if (!th) th = json_object_get(root, "thoughts");
        if (json_is_string(th)) {
            if (env_decision_thoughts(d, json_string_value(th)) == ENV_ENOMEM) x.oom = true;
        } else if (th && !json_is_null(th)) {
            char *s = json_dumps(th, JSON_COMPACT | JSON_ENCODE_ANY);
            if (s && env_decision_thoughts(d, s) == ENV_ENOMEM) x.oom = true;
            free(s);
        }
        json_t *a = json_object_get(root, "actions");
        if (json_is_array(a))
            actions = json_incref(a);
        else if (json_is_object(a))
            actions = json_pack("[O]", a);
        else if (a && !json_is_null(a)) {
            s_drop(&x, a, "`actions` must be a list of action objects");
        } else if (!a && (json_object_get(root, "type") || json_object_get(root, "action"))) {
            actions = json_pack("[O]", root); /* one action object, a list of one */
        }
    }
    size_t i;
    json_t *item;
    json_array_foreach(actions, i, item) s_action(&x, item);
    json_decref(actions);
    json_decref(root);
    if (x.oom) return -1;
    if (x.kept == 0) {
        if (x.dropped)
            llm_fmt(empty_reason, reason_len, "every action was invalid (%d dropped)", x.dropped);
        else
            llm_fmt(empty_reason, reason_len, "the model chose no actions");
    }
    return x.kept;
}
