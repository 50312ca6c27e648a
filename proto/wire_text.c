/* wire_text.c: UTF-8 checks and the repair of incoming frames (wire_text.h).
 *
 * The frame is walked once with the descriptors of parley.proto to find out
 * whether any string field needs repair (the common case: none, and the frame
 * is unpacked as it came). Otherwise it is re-encoded with each bad string
 * repaired; lengths of the enclosing messages are rewritten to match. Fields
 * the descriptors do not know are copied as they are. A frame that is not
 * valid protobuf is left to protobuf-c, which refuses it.
 */
#include "wire_text.h"

#include "wire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_DEPTH 32 /* parley.proto nests 5 deep; deeper is refused as malformed */

size_t wire_utf8_seq(const unsigned char *s, size_t len)
{
    if (len == 0) return 0;
    unsigned c = s[0];
    if (c == 0) return 0;
    if (c < 0x80) return 1;
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0; /* no overlong forms */
        if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
    } else
        return 0;
    if (len < n) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return n;
}

bool wire_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = wire_utf8_seq(p + i, len - i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

int wire_utf8_cut(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strnlen(s, max + 4), i = 0;
    while (i < len && i < max) {
        size_t n = wire_utf8_seq(p + i, len - i);
        if (n == 0) n = 1; /* not ours to repair here: keep the byte */
        if (i + n > max) break;
        i += n;
    }
    return (int)i;
}

void wire_utf8_trim(char *buf)
{
    size_t len = strlen(buf);
    /* Only a truncated tail can be cut: step back over continuation bytes to
     * the lead byte and drop the sequence if it is incomplete. */
    size_t i = len, back = 0;
    while (i > 0 && back < 4 && ((unsigned char)buf[i - 1] & 0xC0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0) return;
    unsigned char lead = (unsigned char)buf[i - 1];
    if (lead >= 0xC0 && wire_utf8_seq((const unsigned char *)buf + i - 1, len - (i - 1)) == 0)
        buf[i - 1] = '\0';
}

void wire_utf8_scrub(char *buf)
{
    unsigned char *p = (unsigned char *)buf;
    size_t len = strlen(buf), i = 0, o = 0;
    while (i < len) {
        size_t n = wire_utf8_seq(p + i, len - i);
        if (n == 0) {
            i++;
            continue;
        }
        memmove(p + o, p + i, n);
        o += n;
        i += n;
    }
    p[o] = '\0';
}

/* ------------------------------------------------------------- re-encode -- */

typedef struct {
    uint8_t *d;
    size_t len, cap;
    bool nomem;
} s_buf_t;

static void s_put(s_buf_t *b, const void *p, size_t n)
{
    if (!b || b->nomem) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        uint8_t *d = realloc(b->d, cap);
        if (!d) {
            b->nomem = true;
            return;
        }
        b->d = d;
        b->cap = cap;
    }
    memcpy(b->d + b->len, p, n);
    b->len += n;
}

static void s_put_varint(s_buf_t *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7F);
        v >>= 7;
        if (v) tmp[n] |= 0x80;
        n++;
    } while (v);
    s_put(b, tmp, n);
}

static int s_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return -1;
        uint8_t c = *(*p)++;
        r |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/* The string s[0..len) repaired into b. */
static void s_put_repaired(s_buf_t *b, const uint8_t *s, size_t len)
{
    static const uint8_t fffd[3] = {0xEF, 0xBF, 0xBD};
    size_t i = 0;
    while (i < len) {
        size_t n = wire_utf8_seq(s + i, len - i);
        if (n == 0) {
            s_put(b, fffd, 3);
            i++;
        } else {
            s_put(b, s + i, n);
            i += n;
        }
    }
}

static size_t s_repaired_len(const uint8_t *s, size_t len)
{
    size_t i = 0, out = 0;
    while (i < len) {
        size_t n = wire_utf8_seq(s + i, len - i);
        out += n ? n : 3;
        i += n ? n : 1;
    }
    return out;
}

/* Walks one message of descriptor d in in[0..len). With out NULL, only counts
 * the strings that need repair; otherwise writes the repaired encoding to out
 * and appends the paths to fixed. Returns the count, or -1 when the bytes are
 * not a valid encoding. */
static int s_walk(const uint8_t *in, size_t len, const ProtobufCMessageDescriptor *d,
                  const char *path, int depth, s_buf_t *out, json_t *fixed)
{
    if (depth > S_MAX_DEPTH) return -1;
    const uint8_t *p = in, *end = in + len;
    unsigned counts[64] = {0}; /* occurrences per field, for [i] in paths */
    int total = 0;
    while (p < end) {
        const uint8_t *start = p;
        uint64_t key;
        if (s_get_varint(&p, end, &key) != 0) return -1;
        unsigned number = (unsigned)(key >> 3), wt = (unsigned)(key & 7);
        const ProtobufCFieldDescriptor *f =
            number ? protobuf_c_message_descriptor_get_field(d, number) : NULL;
        uint64_t n = 0;
        switch (wt) {
        case 0:
            if (s_get_varint(&p, end, &n) != 0) return -1;
            break;
        case 1:
            if ((size_t)(end - p) < 8) return -1;
            p += 8;
            break;
        case 5:
            if ((size_t)(end - p) < 4) return -1;
            p += 4;
            break;
        case 2:
            if (s_get_varint(&p, end, &n) != 0 || n > (uint64_t)(end - p)) return -1;
            break;
        default:
            return -1; /* groups: not in parley.proto */
        }
        bool is_str = f && wt == 2 && f->type == PROTOBUF_C_TYPE_STRING;
        bool is_msg = f && wt == 2 && f->type == PROTOBUF_C_TYPE_MESSAGE;
        if (!is_str && !is_msg) {
            if (wt == 2) p += n;
            s_put(out, start, (size_t)(p - start));
            continue;
        }
        size_t fi = (size_t)(f - d->fields);
        unsigned idx = fi < 64 ? counts[fi]++ : 0;
        char sub[256];
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            snprintf(sub, sizeof sub, "%s%s%s[%u]", path, path[0] ? "." : "", f->name, idx);
        else
            snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", f->name);
        const uint8_t *body = p;
        p += n;
        if (is_str) {
            if (wire_utf8_valid((const char *)body, (size_t)n)) {
                s_put(out, start, (size_t)(p - start));
                continue;
            }
            total++;
            if (!out) continue;
            s_put_varint(out, key);
            s_put_varint(out, s_repaired_len(body, (size_t)n));
            s_put_repaired(out, body, (size_t)n);
            if (fixed) json_array_append_new(fixed, json_string(sub));
            continue;
        }
        int inner = s_walk(body, (size_t)n, f->descriptor, sub, depth + 1, NULL, NULL);
        if (inner < 0) return -1;
        if (inner == 0 || !out) {
            s_put(out, start, (size_t)(p - start));
            total += inner;
            continue;
        }
        s_buf_t tmp = {0};
        if (s_walk(body, (size_t)n, f->descriptor, sub, depth + 1, &tmp, fixed) < 0) {
            free(tmp.d);
            return -1;
        }
        if (tmp.nomem) out->nomem = true;
        s_put_varint(out, key);
        s_put_varint(out, tmp.len);
        s_put(out, tmp.d, tmp.len);
        free(tmp.d);
        total += inner;
    }
    return total;
}

Parley__Envelope *wire_unpack_text(const void *buf, size_t len, size_t max, json_t **fixed,
                                   int *err)
{
    if (fixed) *fixed = NULL;
    if (len > max) return wire_unpack(buf, len, max, err);
    const ProtobufCMessageDescriptor *d = &parley__envelope__descriptor;
    int bad = s_walk(buf, len, d, "", 0, NULL, NULL);
    if (bad < 0) {
        if (err) *err = WIRE_EMALFORMED;
        return NULL;
    }
    if (bad == 0) return wire_unpack(buf, len, max, err);
    s_buf_t out = {0};
    json_t *paths = json_array();
    if (!paths || s_walk(buf, len, d, "", 0, &out, paths) < 0 || out.nomem) {
        free(out.d);
        json_decref(paths);
        if (err) *err = WIRE_ENOMEM;
        return NULL;
    }
    /* Repair only grows strings (1 byte -> 3): the repaired frame may exceed
     * max, which must not turn a valid frame into TOO_LARGE. */
    Parley__Envelope *e = wire_unpack(out.d, out.len, (size_t)-1, err);
    free(out.d);
    if (e && fixed)
        *fixed = paths;
    else
        json_decref(paths);
    return e;
}
