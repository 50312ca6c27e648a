/* wire_pool.h: a block allocator for protobuf-c, one per agent's decoder.
 *
 * protobuf-c's unpacker allocates every submessage, string and list of a
 * frame on its own, and the agent's decoder keeps most of a TurnRequest's
 * blocks (it moves the delta's elements into its observation) and frees the
 * ones a later delta drops: about 150 allocations and as many frees a turn,
 * each ~100-150 instructions through malloc. A pool hands out blocks of 31
 * sizes (32 to 512 bytes, a 16-byte header included) from 32 KiB chunks and
 * keeps a free list per size, so an allocation or a free is a few
 * instructions; bigger blocks go to malloc. Blocks are freed one by one, as
 * with malloc, so whatever the decoder keeps may stay as long as it likes:
 * the pool's memory is its peak, returned when it is destroyed; a big frame
 * (a whole observation of a large world) is better given malloc's blocks,
 * which go back to the system when freed (wire_pool_direct). Built with
 * AddressSanitizer the pool is plain malloc and free, so that the sanitizer
 * sees every block.
 */
#ifndef PARLEY_WIRE_POOL_H
#define PARLEY_WIRE_POOL_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

typedef struct wire_pool wire_pool_t;
/* An empty pool, or NULL. */
wire_pool_t *wire_pool_new(void);
/* Frees the pool and every block it gave (whatever still points into them
 * must be gone). */
void wire_pool_destroy(wire_pool_t **p);
/* The pool as protobuf-c's allocator (for unpack and free_unpacked), owned by
 * p. Every block it gives must be freed through it. */
ProtobufCAllocator *wire_pool_allocator(wire_pool_t *p);
/* While on, every block comes from malloc (and goes back to it when freed):
 * for a frame whose peak the pool should not keep. */
void wire_pool_direct(wire_pool_t *p, bool on);

#endif
