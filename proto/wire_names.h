/* wire_names.h: a Welcome's names as patterns (PROTOCOL.md "Compact names").
 *
 * A game names agent i `agent_<i+1>` and piece i after a few templates filled
 * with i+1 ("Q12 sales data"): every name carries its own number. Sent whole,
 * a world of 10,000 pieces is ~150 KB in every seat's Welcome, packed by the
 * broker and unpacked (10,000 allocations) by each seat: O(N^2) bytes over a
 * join of N seats. As patterns it is one byte a name. The broker encodes the
 * game's lists once; a seat whose Hello asked for it rebuilds them.
 */
#ifndef PARLEY_WIRE_NAMES_H
#define PARLEY_WIRE_NAMES_H

#include "wire.h"

#include <stddef.h>

/* Most patterns in one Names message (`which` holds one byte a name). */
#define WIRE_NAMES_MAX_PATTERNS 256

/* Encodes names[0..n) into out, with everything allocated from (and the
 * strings copied into) a. Returns WIRE_OK, WIRE_ENOMEM, or WIRE_EMALFORMED
 * when the names do not fit (a name without its own number, or more than
 * WIRE_NAMES_MAX_PATTERNS patterns): then they are sent whole. */
int wire_names_encode(wire_arena_t *a, const char *const *names, size_t n, Parley__Names *out);

/* Rebuilds m's names as one block (n pointers, then the strings back to
 * back; free() it once) and their count in *n. NULL with *err: WIRE_ENOMEM,
 * or WIRE_EMALFORMED for a message that does not describe a list of at most
 * max names (no pattern, a `which` of another length, a pattern index out of
 * range, more than WIRE_MAX_BROKER_MSG bytes of names). */
char **wire_names_decode(const Parley__Names *m, size_t max, size_t *n, int *err);

/* The same block, copied from n strings (a Welcome's whole lists); NULL when
 * out of memory. */
char **wire_names_copy(char *const *src, size_t n);

#endif
