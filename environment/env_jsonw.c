/* env_jsonw.c: the event log's JSON writer (env_jsonw.h).
 *
 * Byte for byte jansson 2.14's compact dump: keys in insertion order, "," and
 * ":" without spaces, strings escaped as its dump_string does without
 * JSON_ENSURE_ASCII or JSON_ESCAPE_SLASH (\" \\ \b \f \n \r \t, other control
 * characters as \u00XX in upper case, everything else as it is: jansson only
 * holds valid UTF-8), integers as JSON_INTEGER_FORMAT, reals as its
 * jsonp_dtostr with the default precision of 17.
 */
#include "env_jsonw.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_DEPTH 64

/* Eight bytes at a time: most of the log is plain ASCII text, which needs
 * neither escaping nor a UTF-8 check byte by byte. Each test tells whether a
 * word holds any such byte (exactly: no word that has one passes); the bytes
 * of a word that fails are then handled one by one. */
#define S_ONES  0x0101010101010101ULL
#define S_HIGHS 0x8080808080808080ULL
static inline uint64_t s_word(const char *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return x;
}
/* Some byte of x is 0. */
static inline uint64_t s_has_zero(uint64_t x)
{
    return (x - S_ONES) & ~x & S_HIGHS;
}
/* Some byte of x needs escaping: below 0x20, '"' or '\\'. */
static inline uint64_t s_needs_escape(uint64_t x)
{
    return ((x - 0x20 * S_ONES) & ~x & S_HIGHS) | s_has_zero(x ^ ('"' * S_ONES)) |
           s_has_zero(x ^ ('\\' * S_ONES));
}

/* n bytes from s to o. The short ones (keys, ids, digits, nearly all of an
 * event's pieces) in two overlapping moves, not a call to memcpy. */
static inline void s_copy(char *o, const char *s, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(o, &a, 8);
        memcpy(o + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(o, &a, 4);
        memcpy(o + n - 4, &b, 4);
    } else if (n > 16) {
        memcpy(o, s, n);
    } else {
        for (size_t i = 0; i < n; i++) o[i] = s[i];
    }
}

struct env_jsonw {
    char *buf;
    size_t len, cap;
    /* streaming: the open containers, and whether what comes next needs a
     * ',' first (something was written in the open container since it opened
     * or since its last key). One flag is enough: opening a container and
     * writing a key clear it, a value or a closed container sets it. */
    int depth;
    char close[S_MAX_DEPTH];
    int comma;
    int failed;
};

env_jsonw_t *env_jsonw_new(void)
{
    env_jsonw_t *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->cap = 4096;
    w->buf = malloc(w->cap);
    if (!w->buf) {
        free(w);
        return NULL;
    }
    w->buf[0] = '\0';
    return w;
}

void env_jsonw_destroy(env_jsonw_t **p)
{
    if (!p || !*p) return;
    free((*p)->buf);
    free(*p);
    *p = NULL;
}

/* Room for n more bytes and the terminating NUL. */
static int s_reserve(env_jsonw_t *w, size_t n)
{
    if (w->len + n + 1 <= w->cap) return 0;
    size_t cap = w->cap;
    while (cap < w->len + n + 1) cap *= 2;
    char *b = realloc(w->buf, cap);
    if (!b) return -1;
    w->buf = b;
    w->cap = cap;
    return 0;
}

int env_jsonw_raw(env_jsonw_t *w, const char *s, size_t n)
{
    if (s_reserve(w, n) != 0) return -1;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
    return 0;
}

static int s_char(env_jsonw_t *w, char c)
{
    if (w->len + 2 > w->cap && s_reserve(w, 1) != 0) return -1;
    w->buf[w->len++] = c;
    w->buf[w->len] = '\0';
    return 0;
}

static int s_string(env_jsonw_t *w, const char *s, size_t n)
{
    /* Worst case: every byte a 6-byte \u00XX, plus the quotes. */
    if (s_reserve(w, 6 * n + 2) != 0) return -1;
    char *o = w->buf + w->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        while (i + 8 <= n && !s_needs_escape(s_word(s + i))) {
            memcpy(o, s + i, 8);
            o += 8;
            i += 8;
        }
        if (i >= n) break;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default: {
            static const char hex[] = "0123456789ABCDEF";
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
        }
    }
    *o++ = '"';
    w->len = (size_t)(o - w->buf);
    w->buf[w->len] = '\0';
    return 0;
}

/* jansson's jsonp_dtostr: "%.17g", then ".0" when it reads as an integer, and
 * the exponent without '+' or leading zeros. */
static int s_real(env_jsonw_t *w, double v)
{
    char b[100];
    int n = snprintf(b, sizeof b, "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof b - 3) return -1;
    size_t len = (size_t)n;
    /* The C locale's '.' is what the log holds, whatever the process's locale. */
    for (size_t i = 0; i < len; i++)
        if (b[i] == ',') b[i] = '.';
    if (!strchr(b, '.') && !strchr(b, 'e')) {
        b[len++] = '.';
        b[len++] = '0';
        b[len] = '\0';
    }
    char *e = strchr(b, 'e');
    if (e) {
        char *start = e + 1, *end = start + 1;
        if (*start == '-') start++;
        while (*end == '0') end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - b) + 1);
            len -= (size_t)(end - start);
        }
    }
    return env_jsonw_raw(w, b, len);
}

static char *s_decimal(char *e, long long v);

static int s_value(env_jsonw_t *w, const json_t *v, int depth)
{
    if (!v || depth > 2048) return -1; /* jansson's JSON_PARSER_MAX_DEPTH-like bound */
    switch (json_typeof(v)) {
    case JSON_NULL:
        return env_jsonw_raw(w, "null", 4);
    case JSON_TRUE:
        return env_jsonw_raw(w, "true", 4);
    case JSON_FALSE:
        return env_jsonw_raw(w, "false", 5);
    case JSON_INTEGER: {
        char b[24], *e = b + sizeof b, *p = s_decimal(e, (long long)json_integer_value(v));
        return env_jsonw_raw(w, p, (size_t)(e - p));
    }
    case JSON_REAL:
        return s_real(w, json_real_value(v));
    case JSON_STRING:
        return s_string(w, json_string_value(v), json_string_length(v));
    case JSON_ARRAY: {
        if (s_char(w, '[') != 0) return -1;
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            if (i && s_char(w, ',') != 0) return -1;
            if (s_value(w, json_array_get(v, i), depth + 1) != 0) return -1;
        }
        return s_char(w, ']');
    }
    case JSON_OBJECT: {
        if (s_char(w, '{') != 0) return -1;
        const char *key;
        size_t key_len;
        json_t *val;
        int first = 1;
        json_object_keylen_foreach((json_t *)v, key, key_len, val)
        {
            if (!first && s_char(w, ',') != 0) return -1;
            first = 0;
            if (s_string(w, key, key_len) != 0 || s_char(w, ':') != 0 ||
                s_value(w, val, depth + 1) != 0)
                return -1;
        }
        return s_char(w, '}');
    }
    }
    return -1;
}

/* Whether the next member of the open container needs a ',' first: it is not
 * the first, and no key has just been written. */
static inline int s_comma(const env_jsonw_t *w)
{
    return w->comma;
}

/* The state after a value (or a container) is written: the next member of the
 * open container, if any, needs a ','. */
static inline void s_sep_done(env_jsonw_t *w)
{
    w->comma = w->depth > 0;
}

/* The ',' before a member of the open container, unless a key has just
 * been written. */
static void s_sep(env_jsonw_t *w)
{
    if (s_comma(w) && s_char(w, ',') != 0) w->failed = 1;
    s_sep_done(w);
}

/* The fast path of the streaming calls. Nearly every key and string of the
 * log (keys, agent ids, piece names, task ids, generated messages) is short
 * plain ASCII: no byte below 0x20, no '"', no '\\', no high bit. Such a
 * string needs neither the UTF-8 check nor escaping, so it is copied in one
 * pass up to its NUL, without strlen, into room reserved once per call; any
 * other byte, or a string longer than that room, sends the call to the
 * general path, which writes it from the start (same bytes either way). */
enum { S_FAST_ROOM = 512, S_FAST_SLACK = 8 };
/* 1 for a byte of plain ASCII as above (0x20 to 0x7f but '"' and '\\'). */
static const unsigned char s_plain_byte[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* s quoted at o, when plain and ending before `end`; the byte past it, or NULL.
 * Its length first (libc's strlen is vectorised), then eight bytes at a time
 * as in s_string, and the rest through the table. */
static inline char *s_plain(char *o, const char *s, const char *end)
{
    size_t n = strlen(s), i = 0;
    if (n >= (size_t)(end - o)) return NULL;
    *o++ = '"';
    for (; i + 8 <= n; i += 8) {
        uint64_t x = s_word(s + i);
        if ((x & S_HIGHS) | s_needs_escape(x)) return NULL;
        memcpy(o + i, &x, 8);
    }
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!s_plain_byte[c]) return NULL;
        o[i] = (char)c;
    }
    o += n;
    *o++ = '"';
    return o;
}

/* The same for the n bytes at s (a key whose length the caller knows). */
static inline char *s_plain_n(char *o, const char *s, size_t n, const char *end)
{
    if (n >= (size_t)(end - o)) return NULL;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!s_plain_byte[c]) return NULL;
        o[i] = (char)c;
    }
    o += n;
    *o++ = '"';
    return o;
}

/* Start of the fast path: room for S_FAST_ROOM bytes at the end of the text,
 * or NULL (out of memory: the general path reports it). */
static inline char *s_fast_begin(env_jsonw_t *w, char **end)
{
    if (w->len + S_FAST_ROOM > w->cap && s_reserve(w, S_FAST_ROOM) != 0) return NULL;
    *end = w->buf + w->len + S_FAST_ROOM - S_FAST_SLACK;
    return w->buf + w->len;
}

static inline void s_fast_end(env_jsonw_t *w, char *o)
{
    w->len = (size_t)(o - w->buf);
    w->buf[w->len] = '\0';
}

int env_jsonw_value(env_jsonw_t *w, const json_t *v)
{
    size_t mark = w->len;
    int comma = w->comma;
    s_sep(w);
    if (s_value(w, v, 0) == 0) return 0;
    env_jsonw_truncate(w, mark);
    w->comma = comma;
    return -1;
}

static void s_open(env_jsonw_t *w, char open, char close)
{
    if (w->len + 3 > w->cap && s_reserve(w, 2) != 0) {
        w->failed = 1;
        return;
    }
    if (s_comma(w)) w->buf[w->len++] = ',';
    s_sep_done(w);
    if (w->depth >= S_MAX_DEPTH) {
        w->failed = 1;
        return;
    }
    w->buf[w->len++] = open;
    w->buf[w->len] = '\0';
    w->close[w->depth] = close;
    w->depth++;
    w->comma = 0;
}

void env_jsonw_obj(env_jsonw_t *w)
{
    s_open(w, '{', '}');
}

void env_jsonw_arr(env_jsonw_t *w)
{
    s_open(w, '[', ']');
}

void env_jsonw_close(env_jsonw_t *w)
{
    if (w->depth == 0) {
        w->failed = 1;
        return;
    }
    w->depth--;
    if (w->len + 2 > w->cap && s_reserve(w, 1) != 0)
        w->failed = 1;
    else {
        w->buf[w->len++] = w->close[w->depth];
        w->buf[w->len] = '\0';
    }
    s_sep_done(w); /* the container was a member of its parent */
}

/* jansson's utf8_check: no overlong forms, no surrogates, nothing past U+10FFFF. */
static int s_utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        while (i + 8 <= n && !(s_word(s + i) & S_HIGHS)) i += 8;
        if (i >= n) break;
        unsigned c = p[i];
        size_t k;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + k > n) return 0;
        for (size_t j = 1; j < k; j++) {
            if ((p[i + j] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (p[i + j] & 0x3F);
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (k == 3 && cp < 0x800) ||
            (k == 4 && cp < 0x10000))
            return 0;
        i += k;
    }
    return 1;
}

int env_jsonw_utf8_ok(const char *s)
{
    return s && s_utf8_ok(s, strlen(s));
}

void env_jsonw_key(env_jsonw_t *w, const char *k)
{
    env_jsonw_keyn(w, k, strlen(k));
}

void env_jsonw_keyn(env_jsonw_t *w, const char *k, size_t n)
{
    char *end, *o = s_fast_begin(w, &end);
    if (o) {
        if (s_comma(w)) *o++ = ',';
        if ((o = s_plain_n(o, k, n, end)) != NULL) {
            *o++ = ':';
            s_fast_end(w, o);
            s_sep_done(w);
            w->comma = 0;
            return;
        }
    }
    s_sep(w);
    if (s_string(w, k, n) != 0 || s_char(w, ':') != 0) w->failed = 1;
    w->comma = 0;
}

int env_jsonw_str(env_jsonw_t *w, const char *s)
{
    if (!s) return -1;
    char *end, *o = s_fast_begin(w, &end);
    if (o) {
        if (s_comma(w)) *o++ = ',';
        if ((o = s_plain(o, s, end)) != NULL) {
            s_fast_end(w, o);
            s_sep_done(w);
            return 0;
        }
    }
    size_t n = strlen(s);
    if (!s_utf8_ok(s, n)) return -1;
    s_sep(w);
    if (s_string(w, s, n) != 0) w->failed = 1;
    return 0;
}

/* v in decimal, ending at e; returns its first byte. By hand: snprintf's
 * format parsing is most of an event's integer cost. */
static char *s_decimal(char *e, long long v)
{
    /* Two digits a step: an event's seq alone is six digits. */
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";
    char *p = e;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    while (u >= 100) {
        unsigned d = (unsigned)(u % 100) * 2;
        u /= 100;
        *--p = pairs[d + 1];
        *--p = pairs[d];
    }
    if (u >= 10) {
        *--p = pairs[u * 2 + 1];
        *--p = pairs[u * 2];
    } else
        *--p = (char)('0' + u);
    if (v < 0) *--p = '-';
    return p;
}

void env_jsonw_int(env_jsonw_t *w, long long v)
{
    char b[24], *e = b + sizeof b, *p = s_decimal(e, v);
    char *end, *o = s_fast_begin(w, &end);
    if (!o) {
        w->failed = 1;
        return;
    }
    if (s_comma(w)) *o++ = ',';
    memcpy(o, p, (size_t)(e - p));
    s_fast_end(w, o + (e - p));
    s_sep_done(w);
}

/* A key and a scalar written as it is (an integer's digits, true, false), in
 * one call; false when the key is not plain (the caller writes both the
 * general way). */
static int s_kraw(env_jsonw_t *w, const char *k, size_t kn, const char *v, size_t vn)
{
    char *end, *o = s_fast_begin(w, &end);
    if (!o) return 0;
    if (s_comma(w)) *o++ = ',';
    if ((o = s_plain_n(o, k, kn, end)) == NULL || vn + 2 > (size_t)(end - o)) return 0;
    *o++ = ':';
    memcpy(o, v, vn);
    s_fast_end(w, o + vn);
    s_sep_done(w);
    return 1;
}

void env_jsonw_kintn(env_jsonw_t *w, const char *k, size_t kn, long long v)
{
    char b[24], *e = b + sizeof b, *p = s_decimal(e, v);
    if (s_kraw(w, k, kn, p, (size_t)(e - p))) return;
    env_jsonw_keyn(w, k, kn);
    env_jsonw_int(w, v);
}

void env_jsonw_kbooln(env_jsonw_t *w, const char *k, size_t kn, int v)
{
    if (s_kraw(w, k, kn, v ? "true" : "false", v ? 4 : 5)) return;
    env_jsonw_keyn(w, k, kn);
    env_jsonw_bool(w, v);
}

void env_jsonw_bool(env_jsonw_t *w, int v)
{
    s_sep(w);
    if (v ? env_jsonw_raw(w, "true", 4) : env_jsonw_raw(w, "false", 5)) w->failed = 1;
}

void env_jsonw_null(env_jsonw_t *w)
{
    s_sep(w);
    if (env_jsonw_raw(w, "null", 4) != 0) w->failed = 1;
}

void env_jsonw_kstr(env_jsonw_t *w, const char *k, const char *s)
{
    env_jsonw_kstrn(w, k, strlen(k), s);
}

void env_jsonw_kstrn(env_jsonw_t *w, const char *k, size_t kn, const char *s)
{
    if (!s) return;
    char *end, *o = s_fast_begin(w, &end);
    if (o) {
        if (s_comma(w)) *o++ = ',';
        if ((o = s_plain_n(o, k, kn, end)) != NULL) {
            *o++ = ':';
            if ((o = s_plain(o, s, end)) != NULL) {
                s_fast_end(w, o);
                s_sep_done(w); /* the key's separator; its value follows at once */
                return;
            }
        }
    }
    size_t n = strlen(s);
    if (!s_utf8_ok(s, n)) return;
    env_jsonw_keyn(w, k, kn);
    s_sep(w);
    if (s_string(w, s, n) != 0) w->failed = 1;
}

void env_jsonw_kint(env_jsonw_t *w, const char *k, long long v)
{
    env_jsonw_kintn(w, k, strlen(k), v);
}

void env_jsonw_kbool(env_jsonw_t *w, const char *k, int v)
{
    env_jsonw_kbooln(w, k, strlen(k), v);
}

/* The member prefix q at o, its leading ',' left out when the member opens its
 * container; the byte past it. The caller has reserved qn bytes at o. */
static inline char *s_kq_at(const env_jsonw_t *w, char *o, const char *q, size_t qn)
{
    size_t skip = !s_comma(w);
    s_copy(o, q + skip, qn - skip);
    return o + qn - skip;
}

void env_jsonw_kq(env_jsonw_t *w, const char *q, size_t qn)
{
    if (w->len + qn + 1 > w->cap && s_reserve(w, qn) != 0) {
        w->failed = 1;
        return;
    }
    s_fast_end(w, s_kq_at(w, w->buf + w->len, q, qn));
    s_sep_done(w);
    w->comma = 0;
}

/* env_jsonw_kqraw's body, inline in the calls built on it (one call less for
 * every integer and boolean of the log). */
static inline void s_kqraw(env_jsonw_t *w, const char *q, size_t qn, const char *v, size_t vn)
{
    if (w->len + qn + vn + 1 > w->cap && s_reserve(w, qn + vn) != 0) {
        w->failed = 1;
        return;
    }
    char *o = s_kq_at(w, w->buf + w->len, q, qn);
    s_copy(o, v, vn);
    s_fast_end(w, o + vn);
    s_sep_done(w);
}

void env_jsonw_kqraw(env_jsonw_t *w, const char *q, size_t qn, const char *v, size_t vn)
{
    s_kqraw(w, q, qn, v, vn);
}

void env_jsonw_rawval(env_jsonw_t *w, const char *v, size_t vn)
{
    if (w->len + vn + 2 > w->cap && s_reserve(w, vn + 1) != 0) {
        w->failed = 1;
        return;
    }
    char *o = w->buf + w->len;
    if (s_comma(w)) *o++ = ',';
    s_copy(o, v, vn);
    s_fast_end(w, o + vn);
    s_sep_done(w);
}

void env_jsonw_kqint(env_jsonw_t *w, const char *q, size_t qn, long long v)
{
    char b[24], *e = b + sizeof b, *p = s_decimal(e, v);
    s_kqraw(w, q, qn, p, (size_t)(e - p));
}

void env_jsonw_kqbool(env_jsonw_t *w, const char *q, size_t qn, int v)
{
    s_kqraw(w, q, qn, v ? "true" : "false", v ? 4 : 5);
}

void env_jsonw_kqstr(env_jsonw_t *w, const char *q, size_t qn, const char *s)
{
    if (!s) return;
    if (qn < S_FAST_ROOM / 2) {
        char *end, *o = s_fast_begin(w, &end);
        if (o && (o = s_plain(s_kq_at(w, o, q, qn), s, end)) != NULL) {
            s_fast_end(w, o);
            s_sep_done(w);
            return;
        }
    }
    size_t n = strlen(s);
    if (!s_utf8_ok(s, n)) return;
    if (s_reserve(w, qn) != 0) {
        w->failed = 1;
        return;
    }
    s_fast_end(w, s_kq_at(w, w->buf + w->len, q, qn));
    s_sep_done(w);
    if (s_string(w, s, n) != 0) w->failed = 1;
}

int env_jsonw_ok(const env_jsonw_t *w)
{
    return !w->failed;
}

void env_jsonw_reset(env_jsonw_t *w)
{
    env_jsonw_truncate(w, 0);
    w->depth = 0;
    w->comma = 0;
    w->failed = 0;
}

const char *env_jsonw_data(const env_jsonw_t *w)
{
    return w->buf;
}

size_t env_jsonw_len(const env_jsonw_t *w)
{
    return w->len;
}

void env_jsonw_truncate(env_jsonw_t *w, size_t len)
{
    if (len < w->len) {
        w->len = len;
        w->buf[len] = '\0';
    }
}
