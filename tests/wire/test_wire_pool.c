/* test_wire_pool.c: proto/wire_pool.c. Thousands of blocks of every size
 * class and beyond (malloc's), each filled with its own bytes, freed in a
 * shuffled order and taken again, never overlap and keep what was written,
 * and are aligned for any type; blocks taken while the pool is direct (from
 * malloc) are freed through it like the others; a TurnRequest unpacked with
 * the pool's allocator packs to the same bytes and frees through it. (Built
 * with AddressSanitizer the pool is plain malloc and this checks little.) */
#include "wire_pool.h"

#include "parley.pb-c.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

enum { S_N = 6000 };

typedef struct {
    unsigned char *p;
    size_t size;
} s_block_t;

static uint64_t s_rng = 88172645463325252ull;

static uint64_t s_next(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static void s_fill(s_block_t *b, size_t k)
{
    for (size_t i = 0; i < b->size; i++) b->p[i] = (unsigned char)(k * 131 + i);
}

static void s_check(const s_block_t *b, size_t k)
{
    for (size_t i = 0; i < b->size; i++)
        if (b->p[i] != (unsigned char)(k * 131 + i))
            fail_msg("block %zu (%zu bytes) changed at byte %zu", k, b->size, i);
}

static void s_take(ProtobufCAllocator *al, s_block_t *b, size_t k)
{
    /* Mostly the pool's sizes, some of malloc's, some empty. */
    b->size = s_next() % 10 == 0 ? 500 + s_next() % 3000 : s_next() % 497;
    b->p = al->alloc(al->allocator_data, b->size);
    assert_non_null(b->p);
    assert_int_equal((uintptr_t)b->p % 16, 0);
    s_fill(b, k);
}

static void test_blocks_keep_what_they_hold(void **state)
{
    (void)state;
    wire_pool_t *p = wire_pool_new();
    assert_non_null(p);
    ProtobufCAllocator *al = wire_pool_allocator(p);
    s_block_t *b = calloc(S_N, sizeof *b);
    size_t *order = calloc(S_N, sizeof *order);
    assert_non_null(b);
    assert_non_null(order);
    for (size_t k = 0; k < S_N; k++) {
        wire_pool_direct(p, k % 7 == 0); /* some from malloc, freed through the pool */
        s_take(al, &b[k], k);
        order[k] = k;
    }
    wire_pool_direct(p, false);
    for (int round = 0; round < 3; round++) {
        for (size_t k = S_N - 1; k > 0; k--) { /* shuffled */
            size_t j = s_next() % (k + 1), t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        for (size_t k = 0; k < S_N / 2; k++) { /* half go, in that order */
            s_check(&b[order[k]], order[k]);
            al->free(al->allocator_data, b[order[k]].p);
        }
        for (size_t k = 0; k < S_N / 2; k++) s_take(al, &b[order[k]], order[k]);
        for (size_t k = 0; k < S_N; k++) s_check(&b[k], k);
    }
    for (size_t k = 0; k < S_N; k++) al->free(al->allocator_data, b[k].p);
    al->free(al->allocator_data, NULL);
    free(b);
    free(order);
    wire_pool_destroy(&p);
    assert_null(p);
    wire_pool_destroy(&p); /* NULL-safe */
}

static void test_protobuf_through_the_pool(void **state)
{
    (void)state;
    Parley__Msg m[40];
    Parley__Msg *mp[40];
    char text[40][64];
    for (int i = 0; i < 40; i++) {
        parley__msg__init(&m[i]);
        m[i].from = i % 10;
        m[i].to = (i + 3) % 10;
        m[i].round = i / 10 + 1;
        memset(text[i], 'a' + i % 26, (size_t)i + 1);
        text[i][i + 1] = '\0';
        m[i].content = text[i];
        mp[i] = &m[i];
    }
    int32_t pieces[300];
    for (int i = 0; i < 300; i++) pieces[i] = i % 100;
    Parley__DirEntry row = PARLEY__DIR_ENTRY__INIT, *rows[1] = {&row};
    row.agent = 2;
    row.n_pieces = 300; /* a list bigger than the pool's blocks */
    row.pieces = pieces;
    Parley__Observation o = PARLEY__OBSERVATION__INIT;
    o.agent_type = "neutral";
    o.n_messages = 40;
    o.messages = mp;
    o.n_directory = 1;
    o.directory = rows;
    Parley__TurnRequest tr = PARLEY__TURN_REQUEST__INIT;
    tr.turn_id = 7;
    tr.observation = &o;
    size_t len = parley__turn_request__get_packed_size(&tr);
    uint8_t *buf = malloc(len), *again = malloc(len);
    assert_non_null(buf);
    assert_non_null(again);
    assert_int_equal(parley__turn_request__pack(&tr, buf), len);

    wire_pool_t *p = wire_pool_new();
    assert_non_null(p);
    ProtobufCAllocator *al = wire_pool_allocator(p);
    for (int k = 0; k < 50; k++) {
        Parley__TurnRequest *in = parley__turn_request__unpack(al, len, buf);
        assert_non_null(in);
        assert_int_equal(parley__turn_request__get_packed_size(in), len);
        assert_int_equal(parley__turn_request__pack(in, again), len);
        assert_memory_equal(again, buf, len);
        parley__turn_request__free_unpacked(in, al);
    }
    wire_pool_destroy(&p);
    free(buf);
    free(again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_keep_what_they_hold),
        cmocka_unit_test(test_protobuf_through_the_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
