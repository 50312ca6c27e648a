/* wire_pool.c: size-class blocks for protobuf-c (wire_pool.h). */
#include "wire_pool.h"

#include <stdint.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define S_PASSTHROUGH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S_PASSTHROUGH 1
#endif
#endif

#define S_HDR  16 /* a block's class, before what it holds (keeps 16-byte alignment) */
#define S_STEP 16
#define S_CLASSES                                                                                  \
    32 /* blocks of 32 .. 512 bytes, header included (16 is unused: a free                         \
        * block holds its free list's link after the header) */
#define S_CHUNK (32 * 1024)
#define S_BIG   SIZE_MAX /* the class of a block from malloc */

struct wire_pool {
    ProtobufCAllocator alloc;
    unsigned char *free[S_CLASSES]; /* per class, linked through each block's body */
    unsigned char *at, *end;        /* the unused part of the newest chunk */
    unsigned char *chunks;          /* linked through each chunk's first word */
    bool direct;                    /* every block from malloc (wire_pool_direct) */
};

#ifdef S_PASSTHROUGH
static void *s_alloc(void *data, size_t size)
{
    (void)data;
    return malloc(size);
}

static void s_free(void *data, void *ptr)
{
    (void)data;
    free(ptr);
}
#else
static void *s_alloc(void *data, size_t size)
{
    wire_pool_t *p = data;
    if (size > SIZE_MAX - S_HDR) return NULL;
    size_t total = size + S_HDR;
    if (p->direct || total > (size_t)S_STEP * S_CLASSES) {
        unsigned char *b = malloc(total);
        if (!b) return NULL;
        *(size_t *)(void *)b = S_BIG;
        return b + S_HDR;
    }
    if (total < S_HDR + sizeof(void *)) total = S_HDR + sizeof(void *); /* room for the link */
    size_t c = (total + S_STEP - 1) / S_STEP - 1, bytes = (c + 1) * S_STEP;
    unsigned char *b = p->free[c];
    if (b) {
        p->free[c] = *(unsigned char **)(void *)(b + S_HDR);
        return b + S_HDR;
    }
    if ((size_t)(p->end - p->at) < bytes) {
        unsigned char *chunk = malloc(S_CHUNK);
        if (!chunk) return NULL;
        *(unsigned char **)(void *)chunk = p->chunks;
        p->chunks = chunk;
        p->at = chunk + S_HDR;
        p->end = chunk + S_CHUNK;
    }
    b = p->at;
    p->at += bytes;
    *(size_t *)(void *)b = c;
    return b + S_HDR;
}

static void s_free(void *data, void *ptr)
{
    wire_pool_t *p = data;
    if (!ptr) return;
    unsigned char *b = (unsigned char *)ptr - S_HDR;
    size_t c = *(size_t *)(void *)b;
    if (c == S_BIG) {
        free(b);
        return;
    }
    *(unsigned char **)(void *)(b + S_HDR) = p->free[c];
    p->free[c] = b;
}
#endif

wire_pool_t *wire_pool_new(void)
{
    wire_pool_t *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->alloc.alloc = s_alloc;
    p->alloc.free = s_free;
    p->alloc.allocator_data = p;
    return p;
}

void wire_pool_destroy(wire_pool_t **pp)
{
    if (!pp || !*pp) return;
    wire_pool_t *p = *pp;
    while (p->chunks) {
        unsigned char *next = *(unsigned char **)(void *)p->chunks;
        free(p->chunks);
        p->chunks = next;
    }
    free(p);
    *pp = NULL;
}

ProtobufCAllocator *wire_pool_allocator(wire_pool_t *p)
{
    return &p->alloc;
}

void wire_pool_direct(wire_pool_t *p, bool on)
{
    p->direct = on;
}
