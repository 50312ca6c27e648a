/* wire_delta.c: observation deltas, both sides (wire_delta.h).
 *
 * The broker's encoder does not keep the observations it sent (they would
 * grow with the game's history, per seat): it keeps one 64-bit hash per
 * element of every repeated field, and finds for each field the longest run
 * of the old list that the new one starts with, either from the old list's
 * start (appended messages, notes, thoughts) or from inside it (a window that
 * slid: the last ten exchanges). What is not in the run is sent; a field whose
 * list is only appended to costs nothing but its new elements. Told where
 * each window of an append-only history starts (wire_obs_hints), it also
 * hashes only those new elements: the rest keep the base's hashes.
 *
 * The agent's decoder holds the whole observation as a protobuf-c message it
 * owns, built by moving elements out of each unpacked TurnRequest instead of
 * copying them, and freed with protobuf_c_message_free_unpacked. Every block
 * of it, and of every frame it is given, comes from the decoder's own pool
 * (wire_pool.h), which the frames are unpacked with (wire_delta_unpack): a
 * kept element is freed when a later delta drops it, through the same
 * allocator. Its lists are its own arrays with room to grow, rewritten in
 * place: a turn costs what changed.
 */
#include "wire_delta.h"

#include "wire_pool.h"

#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------- descriptors -- */

static const ProtobufCMessageDescriptor *s_obs_desc(void)
{
    return &parley__observation__descriptor;
}

static size_t *s_count(void *m, const ProtobufCFieldDescriptor *f)
{
    return (size_t *)((char *)m + f->quantifier_offset);
}

static void **s_array(void *m, const ProtobufCFieldDescriptor *f)
{
    return (void **)((char *)m + f->offset);
}

/* Bytes one element of a repeated field takes in its array. */
static size_t s_elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

/* ------------------------------------------------------------------ hash -- */

/* A hash over one element's values, fed field by field. The words are mixed
 * with a multiply-xorshift step and the result finished with splitmix64's
 * finaliser: not cryptographic (the broker hashes what it built itself), but
 * with 64 bits an accidental collision, which would make a changed element
 * look kept, is out of reach. No Debian library ships a hash in the packages
 * the build already uses. */
typedef struct {
    uint64_t h;
} s_hash_t;

static void s_mix(s_hash_t *s, uint64_t w)
{
    s->h = (s->h ^ w) * 0x9e3779b97f4a7c15ull;
    s->h ^= s->h >> 31;
}

static void s_feed(s_hash_t *s, const void *p, size_t n)
{
    const unsigned char *b = p;
    s_mix(s, n);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        s_mix(s, w);
        b += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, b, n);
        s_mix(s, w);
    }
}

static uint64_t s_final(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void s_feed_msg(s_hash_t *s, const ProtobufCMessage *m);

static void s_feed_value(s_hash_t *s, ProtobufCType t, const void *p)
{
    switch (t) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *str = *(const char *const *)p;
        if (str)
            s_feed(s, str, strlen(str));
        else
            s_mix(s, UINT64_MAX);
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        s_feed(s, b->data, b->len);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(const ProtobufCMessage *const *)p;
        if (m)
            s_feed_msg(s, m);
        else
            s_mix(s, UINT64_MAX - 1);
        break;
    }
    default: {
        uint64_t w = 0;
        memcpy(&w, p, s_elem_size(t));
        s_mix(s, w);
        break;
    }
    }
}

static void s_feed_msg(s_hash_t *s, const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *at = (const char *)m + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
            const char *arr = *(const char *const *)at;
            size_t sz = s_elem_size(f->type);
            s_mix(s, n);
            if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES ||
                f->type == PROTOBUF_C_TYPE_MESSAGE)
                for (size_t k = 0; k < n; k++) s_feed_value(s, f->type, arr + k * sz);
            else /* numbers (a directory row's pieces) in words, not one call each */
                s_feed(s, arr, n * sz);
        } else {
            s_feed_value(s, f->type, at);
        }
    }
}

static uint64_t s_hash_elem(ProtobufCType t, const void *p)
{
    s_hash_t s = {0x243f6a8885a308d3ull};
    s_feed_value(&s, t, p);
    return s_final(s.h);
}

/* ------------------------------------------------------------- encoder -- */

typedef struct {
    uint64_t *h;
    size_t n, cap;
    bool hinted; /* h[k] is the hash of element from + k of its history */
    uint64_t from;
} s_hashes_t;

struct wire_delta_enc {
    uint64_t version; /* the last number given */
    bool have_base;
    s_hashes_t *fields; /* per field of Observation (descriptor order) */
    s_hashes_t scratch;
};

wire_delta_enc_t *wire_delta_enc_new(void)
{
    wire_delta_enc_t *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->fields = calloc(s_obs_desc()->n_fields, sizeof *e->fields);
    if (!e->fields) {
        free(e);
        return NULL;
    }
    return e;
}

void wire_delta_enc_destroy(wire_delta_enc_t **pe)
{
    if (!pe || !*pe) return;
    wire_delta_enc_t *e = *pe;
    for (unsigned i = 0; i < s_obs_desc()->n_fields; i++) free(e->fields[i].h);
    free(e->fields);
    free(e->scratch.h);
    free(e);
    *pe = NULL;
}

void wire_delta_enc_reset(wire_delta_enc_t *e)
{
    if (!e) return;
    e->have_base = false;
    for (unsigned i = 0; i < s_obs_desc()->n_fields; i++) {
        e->fields[i].n = 0;
        e->fields[i].hinted = false;
    }
}

static int s_reserve(s_hashes_t *v, size_t n)
{
    if (n <= v->cap) return 0;
    size_t cap = v->cap ? v->cap : 16;
    while (cap < n) cap *= 2;
    uint64_t *h = realloc(v->h, cap * sizeof *h);
    if (!h) return -1;
    v->h = h;
    v->cap = cap;
    return 0;
}

/* How a field's new list is told against the old one: the run old[skip,
 * skip + keep) stays, the kept elements that differ are replaced in place (at
 * indices repl), and new[keep, n) follows. Two ways are weighed: position by
 * position from the start (appended messages, rows that changed), and a
 * window that slid (the old list's tail is the new one's head: the last ten
 * exchanges); the one that sends fewer elements wins. */
typedef struct {
    size_t skip, keep, n_repl;
    uint32_t *repl;
} s_plan_t;

static int s_plan(wire_arena_t *a, const s_hashes_t *old, const s_hashes_t *new, s_plan_t *p)
{
    size_t keep = old->n < new->n ? old->n : new->n, diff = 0;
    /* Trailing differences are as cheap appended, and need no index. */
    while (keep > 0 && old->h[keep - 1] != new->h[keep - 1]) keep--;
    for (size_t k = 0; k < keep; k++) diff += old->h[k] != new->h[k];
    *p = (s_plan_t){0, keep, diff, NULL};
    if (diff > 0 || keep < old->n) {
        size_t sent = diff + new->n - keep;
        for (size_t s = 1; s < old->n; s++) {
            size_t len = old->n - s;
            if (len > new->n || new->n - len >= sent) continue;
            if (memcmp(&old->h[s], new->h, len * sizeof *new->h) == 0) {
                *p = (s_plan_t){s, len, 0, NULL};
                break;
            }
        }
    }
    if (p->n_repl) {
        p->repl = wire_arena_alloc(a, p->n_repl * sizeof *p->repl);
        if (!p->repl) return -1;
        size_t j = 0;
        for (size_t k = 0; k < p->keep; k++)
            if (old->h[p->skip + k] != new->h[k]) p->repl[j++] = (uint32_t)k;
    }
    return 0;
}

/* Fills e->scratch with the hashes of field f's n elements at arr. With a
 * hint, the elements the base hashed already (the overlap of the two windows
 * of the same history) take the base's hashes, and only the rest are hashed. */
static int s_hash_field(wire_delta_enc_t *e, unsigned i, const ProtobufCFieldDescriptor *f,
                        const char *arr, size_t n, const wire_obs_hint_t *hint)
{
    size_t sz = s_elem_size(f->type), lo = 0, hi = 0; /* [lo, hi): taken from the base */
    if (s_reserve(&e->scratch, n) != 0) return -1;
    const s_hashes_t *old = &e->fields[i];
    if (hint && old->hinted && e->have_base) {
        uint64_t a = hint->from > old->from ? hint->from : old->from;
        uint64_t b = hint->from + n < old->from + old->n ? hint->from + n : old->from + old->n;
        if (a < b) {
            lo = (size_t)(a - hint->from);
            hi = (size_t)(b - hint->from);
            memcpy(e->scratch.h + lo, old->h + (a - old->from), (hi - lo) * sizeof *old->h);
        }
    }
    for (size_t k = 0; k < lo; k++) e->scratch.h[k] = s_hash_elem(f->type, arr + k * sz);
    for (size_t k = hi; k < n; k++) e->scratch.h[k] = s_hash_elem(f->type, arr + k * sz);
    e->scratch.n = n;
    e->scratch.hinted = hint != NULL;
    e->scratch.from = hint ? hint->from : 0;
    return 0;
}

int wire_delta_encode(wire_delta_enc_t *e, wire_arena_t *a, Parley__Observation *full, bool delta,
                      Parley__TurnRequest *tr)
{
    return wire_delta_encode_hinted(e, a, full, delta, NULL, 0, tr);
}

int wire_delta_encode_hinted(wire_delta_enc_t *e, wire_arena_t *a, Parley__Observation *full,
                             bool delta, const wire_obs_hint_t *hints, size_t n_hints,
                             Parley__TurnRequest *tr)
{
    const ProtobufCMessageDescriptor *d = s_obs_desc();
    bool send_delta = delta && e->have_base;
    Parley__Observation *out = full;
    Parley__ListEdit **edits = NULL;
    size_t n_edits = 0;
    if (send_delta) {
        out = wire_arena_alloc(a, sizeof *out);
        edits = wire_arena_alloc(a, d->n_fields * sizeof *edits);
        if (!out || !edits) goto nomem;
        *out = *full; /* scalars as they are; lists cut below */
    }
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->label != PROTOBUF_C_LABEL_REPEATED) continue;
        size_t n = *s_count(full, f), sz = s_elem_size(f->type);
        const char *arr = *s_array(full, f);
        const wire_obs_hint_t *hint = NULL;
        for (size_t k = 0; k < n_hints && !hint; k++)
            if (hints[k].field == f->id) hint = &hints[k];
        if (s_hash_field(e, i, f, arr, n, hint) != 0) goto nomem;
        if (send_delta) {
            s_plan_t p;
            if (s_plan(a, &e->fields[i], &e->scratch, &p) != 0) goto nomem;
            size_t n_out = p.n_repl + n - p.keep;
            char *sent = NULL;
            if (p.n_repl == 0) {
                sent = n_out ? (char *)(arr + p.keep * sz) : NULL; /* the tail, borrowed */
            } else {
                sent = wire_arena_alloc(a, n_out * sz);
                if (!sent) goto nomem;
                for (size_t k = 0; k < p.n_repl; k++)
                    memcpy(sent + k * sz, arr + p.repl[k] * sz, sz);
                memcpy(sent + p.n_repl * sz, arr + p.keep * sz, (n - p.keep) * sz);
            }
            *s_count(out, f) = n_out;
            *s_array(out, f) = sent;
            if (p.skip != 0 || p.keep != e->fields[i].n || p.n_repl) {
                Parley__ListEdit *ed = wire_arena_alloc(a, sizeof *ed);
                if (!ed) goto nomem;
                parley__list_edit__init(ed);
                ed->field = f->id;
                ed->skip = (uint32_t)p.skip;
                ed->keep = (uint32_t)p.keep;
                ed->n_replace = p.n_repl;
                ed->replace = p.repl;
                edits[n_edits++] = ed;
            }
        }
        /* The new list is the base from now on. */
        s_hashes_t tmp = e->fields[i];
        e->fields[i] = e->scratch;
        e->scratch = tmp;
    }
    e->have_base = true;
    tr->observation = out;
    tr->obs_version = ++e->version;
    tr->base_version = send_delta ? e->version - 1 : 0;
    tr->n_edits = n_edits;
    tr->edits = n_edits ? edits : NULL;
    return WIRE_OK;
nomem:
    wire_delta_enc_reset(e);
    tr->observation = full;
    tr->obs_version = ++e->version;
    tr->base_version = 0;
    tr->n_edits = 0;
    tr->edits = NULL;
    return WIRE_ENOMEM;
}

/* ------------------------------------------------------------- decoder -- */

/* Frames from this size on are unpacked with malloc's blocks, not the pool's. */
#define S_POOL_FRAME_MAX (64 * 1024)

/* One field's edit, as checked (per field of Observation, descriptor order). */
typedef struct {
    bool set;
    size_t skip, keep, n_repl;
    const uint32_t *repl;
} s_edit_t;

struct wire_delta_dec {
    Parley__Observation *obs; /* the whole observation held, or NULL */
    uint64_t version, base;   /* base: what the last apply built on (0: whole) */
    s_edit_t *edits;          /* scratch for one apply's edits, kept across calls */
    wire_delta_edit_t *done;  /* what the last apply did to each field */
    uint32_t *repl;           /* the replaced indices of done, all fields in a row */
    size_t n_repl_cap;
    size_t *cap; /* room in each of obs's lists (every one allocated here) */
    wire_pool_t *pool;
    ProtobufCAllocator *al; /* the pool's: every block of obs and of the frames */
};

wire_delta_dec_t *wire_delta_dec_new(void)
{
    wire_delta_dec_t *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->edits = calloc(s_obs_desc()->n_fields, sizeof *d->edits);
    d->done = calloc(s_obs_desc()->n_fields, sizeof *d->done);
    d->cap = calloc(s_obs_desc()->n_fields, sizeof *d->cap);
    d->pool = wire_pool_new();
    if (!d->edits || !d->done || !d->cap || !d->pool) {
        wire_delta_dec_destroy(&d);
        return NULL;
    }
    d->al = wire_pool_allocator(d->pool);
    return d;
}

void wire_delta_dec_reset(wire_delta_dec_t *d)
{
    if (!d) return;
    if (d->obs) protobuf_c_message_free_unpacked(&d->obs->base, d->al);
    d->obs = NULL;
    d->version = d->base = 0;
    if (d->cap) memset(d->cap, 0, s_obs_desc()->n_fields * sizeof *d->cap);
}

void wire_delta_dec_destroy(wire_delta_dec_t **pd)
{
    if (!pd || !*pd) return;
    wire_delta_dec_t *d = *pd;
    wire_delta_dec_reset(d);
    free(d->edits);
    free(d->done);
    free(d->repl);
    free(d->cap);
    wire_pool_destroy(&d->pool);
    free(d);
    *pd = NULL;
}

uint64_t wire_delta_dec_version(const wire_delta_dec_t *d)
{
    return d && d->obs ? d->version : 0;
}

const Parley__Observation *wire_delta_dec_obs(const wire_delta_dec_t *d)
{
    return d ? d->obs : NULL;
}

uint64_t wire_delta_dec_base(const wire_delta_dec_t *d)
{
    return d && d->obs ? d->base : 0;
}

bool wire_delta_dec_edit(const wire_delta_dec_t *d, uint32_t field, wire_delta_edit_t *out)
{
    if (!d || !d->obs) return false;
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(s_obs_desc(), field);
    if (!f || f->label != PROTOBUF_C_LABEL_REPEATED) return false;
    *out = d->done[f - s_obs_desc()->fields];
    return true;
}

Parley__Envelope *wire_delta_unpack(wire_delta_dec_t *d, const void *buf, size_t len, size_t max,
                                    int *err)
{
    /* A big frame's blocks come from malloc, so that they go back when freed
     * (the agent trims its heap after one) instead of staying in the pool. */
    wire_pool_direct(d->pool, len >= S_POOL_FRAME_MAX);
    Parley__Envelope *e = wire_unpack_with(buf, len, max, d->al, err);
    wire_pool_direct(d->pool, false);
    return e;
}

void wire_delta_free(wire_delta_dec_t *d, Parley__Envelope **e)
{
    wire_free_with(e, d->al);
}

/* Frees what one element of a repeated field owns (as the unpacker made it). */
static void s_free_elem(ProtobufCAllocator *al, ProtobufCType t, void *p)
{
    switch (t) {
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *m = *(ProtobufCMessage **)p;
        if (m) protobuf_c_message_free_unpacked(m, al);
        break;
    }
    case PROTOBUF_C_TYPE_STRING:
        al->free(al->allocator_data, *(char **)p);
        break;
    case PROTOBUF_C_TYPE_BYTES:
        al->free(al->allocator_data, ((ProtobufCBinaryData *)p)->data);
        break;
    default:
        break;
    }
}

/* Moves a non-repeated field's value from src to dst; what dst held is freed
 * and src keeps nothing that its own free would release. */
static void s_move_scalar(ProtobufCAllocator *al, const ProtobufCFieldDescriptor *f, void *dst,
                          void *src)
{
    char *to = (char *)dst + f->offset, *from = (char *)src + f->offset;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset) {
        size_t qs = (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ? sizeof(uint32_t)
                                                             : sizeof(protobuf_c_boolean);
        memcpy((char *)dst + f->quantifier_offset, (char *)src + f->quantifier_offset, qs);
    }
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        char **t = (char **)to, **s = (char **)from;
        if (*t && *t != (const char *)f->default_value && *t != protobuf_c_empty_string)
            al->free(al->allocator_data, *t);
        *t = *s;
        *s = NULL;
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage **t = (ProtobufCMessage **)to, **s = (ProtobufCMessage **)from;
        if (*t) protobuf_c_message_free_unpacked(*t, al);
        *t = *s;
        *s = NULL;
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *t = (ProtobufCBinaryData *)to, *s = (ProtobufCBinaryData *)from;
        const ProtobufCBinaryData *def = f->default_value;
        if (t->data && (!def || t->data != def->data)) al->free(al->allocator_data, t->data);
        *t = *s;
        s->data = NULL;
        s->len = 0;
        break;
    }
    default:
        memcpy(to, from, s_elem_size(f->type));
        break;
    }
}

const Parley__Observation *wire_delta_apply(wire_delta_dec_t *d, Parley__TurnRequest *tr, int *err)
{
    const ProtobufCMessageDescriptor *desc = s_obs_desc();
    int rc = WIRE_OK, dummy;
    if (!err) err = &dummy;
    s_edit_t *edits = d->edits;
    size_t n_repl_all = 0;
    Parley__Observation *src = tr->observation;
    if (!src) {
        rc = WIRE_EMALFORMED;
        goto fail;
    }
    bool delta = tr->base_version != 0;
    if (delta && (!d->obs || d->version != tr->base_version)) {
        rc = WIRE_EBASE;
        goto fail;
    }
    memset(edits, 0, desc->n_fields * sizeof *edits);
    /* Every edit is checked against the base before anything moves. */
    for (size_t i = 0; delta && i < tr->n_edits; i++) {
        const Parley__ListEdit *ed = tr->edits[i];
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field(desc, ed->field);
        if (!f) continue; /* a field newer than this client: it reads none of it */
        size_t fi = (size_t)(f - desc->fields);
        if (f->label != PROTOBUF_C_LABEL_REPEATED || edits[fi].set) {
            rc = WIRE_EDELTA;
            goto fail;
        }
        size_t n = *s_count(d->obs, f), n_add = *s_count(src, f);
        bool ok = ed->skip <= n && ed->keep <= n - ed->skip && ed->n_replace <= n_add;
        for (size_t k = 0; ok && k < ed->n_replace; k++) /* ascending, inside the run */
            ok = ed->replace[k] < ed->keep && (k == 0 || ed->replace[k] > ed->replace[k - 1]);
        if (!ok) {
            rc = WIRE_EDELTA;
            goto fail;
        }
        edits[fi] = (s_edit_t){true, ed->skip, ed->keep, ed->n_replace, ed->replace};
        n_repl_all += ed->n_replace;
    }
    /* Room to say which elements are new (wire_delta_dec_edit), taken now:
     * the decoder's own buffer, since tr's edits go with tr. */
    if (n_repl_all > d->n_repl_cap) {
        uint32_t *r = realloc(d->repl, n_repl_all * sizeof *r);
        if (!r) {
            rc = WIRE_ENOMEM;
            goto fail;
        }
        d->repl = r;
        d->n_repl_cap = n_repl_all;
    }
    uint32_t *repl_out = d->repl;
    if (!d->obs) {
        d->obs = d->al->alloc(d->al->allocator_data, sizeof *d->obs);
        if (!d->obs) {
            rc = WIRE_ENOMEM;
            goto fail;
        }
        parley__observation__init(d->obs);
    }
    Parley__Observation *o = d->obs;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (f->label != PROTOBUF_C_LABEL_REPEATED) {
            s_move_scalar(d->al, f, o, src);
            continue;
        }
        size_t sz = s_elem_size(f->type), n_old = *s_count(o, f), n_add = *s_count(src, f);
        size_t skip = 0, keep = 0, n_repl = 0;
        const uint32_t *repl = NULL;
        if (delta) {
            skip = edits[i].set ? edits[i].skip : 0;
            keep = edits[i].set ? edits[i].keep : n_old;
            n_repl = edits[i].set ? edits[i].n_repl : 0;
            repl = edits[i].repl;
        }
        char *old = *s_array(o, f), *add = *s_array(src, f);
        if (skip == 0 && keep == n_old && n_add == 0) { /* unchanged */
            d->done[i] = (wire_delta_edit_t){false, 0, n_old, 0, NULL};
            continue;
        }
        d->done[i] = (wire_delta_edit_t){true, skip, keep, n_repl, n_repl ? repl_out : NULL};
        if (n_repl) { /* (repl_out is NULL while no apply has replaced anything) */
            memcpy(repl_out, repl, n_repl * sizeof *repl);
            repl_out += n_repl;
        }
        size_t n_new = keep + n_add - n_repl;
        /* The list is rewritten in its own array while it has room (a list
         * that grows by a few elements a turn costs those, not a copy of the
         * whole history); a bigger one is taken first, so that a failure
         * leaves the old list whole for the reset to free. */
        char *arr = old;
        size_t cap = d->cap[i];
        if (n_new > cap) {
            cap = n_new < 8 ? 8 : n_new + n_new / 2;
            arr = d->al->alloc(d->al->allocator_data, cap * sz);
            if (!arr) {
                rc = WIRE_ENOMEM;
                goto fail;
            }
        }
        for (size_t k = 0; k < skip; k++) s_free_elem(d->al, f->type, old + k * sz);
        for (size_t k = skip + keep; k < n_old; k++) s_free_elem(d->al, f->type, old + k * sz);
        if (keep && (arr != old || skip)) memmove(arr, old + skip * sz, keep * sz);
        if (arr != old) {
            d->al->free(d->al->allocator_data, old);
            d->cap[i] = cap;
        }
        /* A replaced element goes; the delta's takes its place. */
        for (size_t k = 0; k < n_repl; k++) {
            s_free_elem(d->al, f->type, arr + repl[k] * sz);
            memcpy(arr + repl[k] * sz, add + k * sz, sz);
        }
        if (n_add > n_repl) memcpy(arr + keep * sz, add + n_repl * sz, (n_add - n_repl) * sz);
        *s_array(o, f) = arr;
        *s_count(o, f) = n_new;
        *s_count(src, f) = 0; /* its elements are ours now; its free drops the array */
    }
    d->version = tr->obs_version;
    d->base = delta ? tr->base_version : 0;
    *err = WIRE_OK;
    return o;
fail:
    wire_delta_dec_reset(d);
    *err = rc;
    return NULL;
}
