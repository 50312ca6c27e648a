/* wire_names.c: names as patterns (wire_names.h, PROTOCOL.md "Compact
 * names"). Both directions live here so that they agree: name i is
 * prefix + decimal(i + 1) + suffix of its pattern. */
#include "wire_names.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes v in decimal to buf (at least 21 bytes, no terminator); returns the
 * number of digits. */
static size_t s_utoa(char *buf, size_t v)
{
    char tmp[21];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    return n;
}

int wire_names_encode(wire_arena_t *a, const char *const *names, size_t n, Parley__Names *out)
{
    parley__names__init(out);
    out->count = (uint32_t)n;
    if (n == 0) return WIRE_OK;
    if (n > UINT32_MAX) return WIRE_EMALFORMED;
    uint8_t *which = wire_arena_alloc(a, n);
    Parley__NamePattern **pats =
        (Parley__NamePattern **)wire_arena_msgs(a, WIRE_NAMES_MAX_PATTERNS, sizeof **pats);
    if (!which || !pats) return WIRE_ENOMEM;
    size_t n_pats = 0;
    size_t plen[WIRE_NAMES_MAX_PATTERNS];
    bool all_first = true;
    for (size_t i = 0; i < n; i++) {
        char num[24];
        num[s_utoa(num, i + 1)] = '\0';
        const char *at = names[i] ? strstr(names[i], num) : NULL;
        if (!at) return WIRE_EMALFORMED;
        size_t pre = (size_t)(at - names[i]);
        const char *suf = at + strlen(num);
        size_t k = 0;
        while (k < n_pats && (plen[k] != pre || strncmp(pats[k]->prefix, names[i], pre) != 0 ||
                              strcmp(pats[k]->suffix, suf) != 0))
            k++;
        if (k == n_pats) {
            if (n_pats == WIRE_NAMES_MAX_PATTERNS) return WIRE_EMALFORMED;
            parley__name_pattern__init(pats[k]);
            char *p = wire_arena_alloc(a, pre + 1);
            if (!p) return WIRE_ENOMEM;
            memcpy(p, names[i], pre);
            p[pre] = '\0';
            pats[k]->prefix = p;
            pats[k]->suffix = wire_arena_strdup(a, suf);
            if (!pats[k]->suffix) return WIRE_ENOMEM;
            plen[k] = pre;
            n_pats++;
        }
        which[i] = (uint8_t)k;
        all_first = all_first && k == 0;
    }
    out->n_patterns = n_pats;
    out->patterns = pats;
    if (!all_first) { /* one pattern for all: `which` stays empty */
        out->which.data = which;
        out->which.len = n;
    }
    return WIRE_OK;
}

char **wire_names_decode(const Parley__Names *m, size_t max, size_t *n, int *err)
{
    *n = 0;
    size_t count = m->count, np = m->n_patterns;
    if (count > max || (count > 0 && np == 0) || np > WIRE_NAMES_MAX_PATTERNS ||
        (m->which.len != 0 && m->which.len != count)) {
        *err = WIRE_EMALFORMED;
        return NULL;
    }
    size_t fix[WIRE_NAMES_MAX_PATTERNS], pre[WIRE_NAMES_MAX_PATTERNS];
    for (size_t k = 0; k < np; k++) {
        pre[k] = strlen(m->patterns[k]->prefix);
        fix[k] = pre[k] + strlen(m->patterns[k]->suffix);
        if (fix[k] > WIRE_MAX_BROKER_MSG) {
            *err = WIRE_EMALFORMED;
            return NULL;
        }
    }
    /* The size first, checked against a bound, so that a hostile message
     * cannot make a seat allocate without limit. */
    size_t bytes = (count ? count : 1) * sizeof(char *);
    size_t digits = 1, next_pow = 10; /* of the number i + 1 */
    for (size_t i = 0; i < count; i++) {
        if (i + 1 == next_pow) {
            digits++;
            next_pow *= 10;
        }
        size_t k = m->which.len ? m->which.data[i] : 0;
        if (k >= np) {
            *err = WIRE_EMALFORMED;
            return NULL;
        }
        bytes += fix[k] + digits + 1;
        if (bytes > WIRE_MAX_BROKER_MSG) {
            *err = WIRE_EMALFORMED;
            return NULL;
        }
    }
    char **out = malloc(bytes);
    if (!out) {
        *err = WIRE_ENOMEM;
        return NULL;
    }
    /* The number counted up in text, one carry at a time: a seat rebuilds
     * 10,000 names while a thousand others join, so no division per name. */
    char num[24] = "1";
    size_t nlen = 1;
    char *p = (char *)(out + (count ? count : 1));
    for (size_t i = 0; i < count; i++) {
        size_t k = m->which.len ? m->which.data[i] : 0;
        out[i] = p;
        memcpy(p, m->patterns[k]->prefix, pre[k]);
        p += pre[k];
        memcpy(p, num, nlen);
        p += nlen;
        size_t suf = fix[k] - pre[k];
        memcpy(p, m->patterns[k]->suffix, suf);
        p += suf;
        *p++ = '\0';
        size_t d = nlen;
        while (d > 0 && num[d - 1] == '9') num[--d] = '0';
        if (d > 0) {
            num[d - 1]++;
        } else { /* 99 -> 100 */
            memmove(num + 1, num, nlen);
            num[0] = '1';
            nlen++;
        }
    }
    *n = count;
    return out;
}

char **wire_names_copy(char *const *src, size_t n)
{
    size_t bytes = (n ? n : 1) * sizeof(char *);
    for (size_t i = 0; i < n; i++) bytes += strlen(src[i]) + 1;
    char **out = malloc(bytes);
    if (!out) return NULL;
    char *p = (char *)(out + (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(src[i]) + 1;
        memcpy(p, src[i], len);
        out[i] = p;
        p += len;
    }
    return out;
}
