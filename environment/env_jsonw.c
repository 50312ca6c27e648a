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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct env_jsonw {
    char *buf;
    size_t len, cap;
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
        char b[32];
        int n = snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return n < 0 ? -1 : env_jsonw_raw(w, b, (size_t)n);
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

int env_jsonw_value(env_jsonw_t *w, const json_t *v)
{
    size_t mark = w->len;
    if (s_value(w, v, 0) == 0) return 0;
    env_jsonw_truncate(w, mark);
    return -1;
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
