/* ana_evline.c: members of one events.jsonl line without a parse of the whole
 * line (ana_evline.h).
 *
 * The environment writes each event as jansson's compact form (env_jsonw.h):
 * no spaces, keys without escapes. A member nobody reads is stepped over (a
 * string to its closing quote, a container to its matching bracket); a member
 * that is read is built from its text, plain strings, integers, booleans,
 * null and containers of them directly, anything else (a string with an
 * escape, a real) by jansson, so the values are jansson's own. Text the
 * scanner does not expect gives NULL, and the caller parses the line whole.
 */
#include "ana_evline.h"

#include <stdlib.h>
#include <string.h>

/* The end of the JSON value at p (text the environment wrote: valid, compact),
 * or NULL when it runs past end. */
static const char *s_skip(const char *p, const char *end)
{
    if (p >= end) return NULL;
    if (*p == '"') {
        /* The next quote not escaped: one an even number of backslashes
         * precedes (found by memchr, not byte by byte). */
        for (const char *q = p + 1; q < end;) {
            const char *e = memchr(q, '"', (size_t)(end - q));
            if (!e) return NULL;
            const char *b = e;
            while (b > q && b[-1] == '\\') b--;
            if (((e - b) & 1) == 0) return e + 1;
            q = e + 1;
        }
        return NULL;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < end) {
            if (*p == '"') {
                if (!(p = s_skip(p, end))) return NULL;
                continue;
            }
            if (*p == '{' || *p == '[') depth++;
            if ((*p == '}' || *p == ']') && --depth == 0) return p + 1;
            p++;
        }
        return NULL;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']') p++;
    return p;
}

static json_t *s_members(const char *p, const char *end, ana_evline_want_fn want);

/* The value at v..e: plain strings, integers, booleans, null and containers of
 * them made directly (jansson's parser costs more per value than the whole
 * feed otherwise), anything else (an escape, a real) parsed by jansson. NULL
 * when refused. */
static json_t *s_value(const char *v, const char *e)
{
    size_t n = (size_t)(e - v);
    /* compact form: no space around a value (jansson's parser would allow it) */
    if (!n || strchr(" \t\r\n", *v) || strchr(" \t\r\n", e[-1])) return NULL;
    if (n >= 2 && *v == '"' && !memchr(v, '\\', n)) return json_stringn(v + 1, n - 2);
    if (n == 4 && !memcmp(v, "true", 4)) return json_true();
    if (n == 5 && !memcmp(v, "false", 5)) return json_false();
    if (n == 4 && !memcmp(v, "null", 4)) return json_null();
    if (n && n < 19 && (*v == '-' || (*v >= '0' && *v <= '9')) && !memchr(v, '.', n) &&
        !memchr(v, 'e', n) && !memchr(v, 'E', n)) {
        char b[24];
        memcpy(b, v, n);
        b[n] = '\0';
        char *stop;
        long long x = strtoll(b, &stop, 10);
        if (*stop == '\0') return json_integer(x);
    }
    if (n && *v == '{') {
        json_t *o = s_members(v, e, NULL);
        if (o) return o;
    }
    if (n >= 2 && *v == '[') {
        json_t *a = json_array();
        const char *p = v + 1;
        while (a && p < e - 1) {
            const char *pe = s_skip(p, e - 1);
            json_t *x = pe ? s_value(p, pe) : NULL;
            if (!x || json_array_append_new(a, x) != 0) {
                json_decref(a);
                a = NULL;
                break;
            }
            p = pe;
            if (p < e - 1 && *p == ',') p++;
        }
        if (a && p == e - 1 && e[-1] == ']') return a;
        json_decref(a);
    }
    return json_loadb(v, n, JSON_DECODE_ANY, NULL);
}

/* Calls fn for each member of the object at p..end, in order: 0 when every
 * member was seen, 1 when fn stopped, -1 when it is not the compact text the
 * environment writes (an escaped key, spaces, bytes after it). */
static int s_each(const char *p, const char *end, ana_evline_member_fn fn, void *ctx)
{
    if (p >= end || *p++ != '{') return -1;
    while (p < end && *p != '}') {
        if (*p != '"') return -1;
        const char *k = p + 1, *ke = s_skip(p, end);
        if (!ke || ke >= end || *ke != ':' || memchr(k, '\\', (size_t)(ke - 1 - k))) return -1;
        const char *v = ke + 1, *ve = s_skip(v, end);
        if (!ve || ve == v) return -1;
        if (!fn(ctx, k, (size_t)(ke - 1 - k), v, (size_t)(ve - v))) return 1;
        p = ve;
        if (p < end && *p == ',' && p + 1 < end && p[1] == '"')
            p++;
        else if (p >= end || *p != '}')
            return -1;
    }
    return p < end && *p == '}' && p + 1 == end ? 0 : -1;
}

typedef struct {
    json_t *obj;
    ana_evline_want_fn want;
} s_build_t;

/* One member into the object when wanted; false stops (refused, out of memory). */
static bool s_build_member(void *ctx, const char *k, size_t kn, const char *v, size_t vn)
{
    s_build_t *b = ctx;
    if (b->want && !b->want(k, kn)) return true;
    char key[64];
    json_t *val = kn < sizeof key ? s_value(v, v + vn) : NULL;
    if (!val) return false;
    memcpy(key, k, kn);
    key[kn] = '\0';
    return json_object_set_new(b->obj, key, val) == 0;
}

/* The object at p..end with its members (those `want` accepts; all when it is
 * NULL), or NULL when it is not the compact text the environment writes. */
static json_t *s_members(const char *p, const char *end, ana_evline_want_fn want)
{
    s_build_t b = {json_object(), want};
    if (b.obj && s_each(p, end, s_build_member, &b) == 0) return b.obj;
    json_decref(b.obj);
    return NULL;
}

int ana_evline_members(const char *text, size_t len, ana_evline_member_fn fn, void *ctx)
{
    return text ? s_each(text, text + len, fn, ctx) : -1;
}

json_t *ana_evline_parse(const char *text, size_t len, ana_evline_want_fn want)
{
    return text ? s_members(text, text + len, want) : NULL;
}
