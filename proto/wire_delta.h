/* wire_delta.h: observation deltas (PROTOCOL.md "Observation deltas").
 *
 * A seat that said Hello with observation_mode DELTA gets, after its first
 * whole observation, only what changed since the last one the broker sent it:
 * per repeated field of Observation, which run of the previous list stays
 * (ListEdit skip/keep) and the elements that follow it. The broker keeps one
 * encoder per seat, which remembers a hash of every element it sent last; an
 * agent keeps one decoder, which holds the whole observation rebuilt so far.
 * Both walk Observation through protobuf-c's descriptors, so a field added to
 * the schema is carried by deltas without a line here.
 */
#ifndef PARLEY_WIRE_DELTA_H
#define PARLEY_WIRE_DELTA_H

#include "wire.h"

#include <stdbool.h>
#include <stdint.h>

/* --------------------------------------------------------- broker side -- */

typedef struct wire_delta_enc wire_delta_enc_t;
/* An encoder with no base (its first observation is whole), or NULL. */
wire_delta_enc_t *wire_delta_enc_new(void);
void wire_delta_enc_destroy(wire_delta_enc_t **e);
/* Forgets the base, so that the next observation is whole: a new connection,
 * a send that failed, a Resync. The numbering goes on (never reused). */
void wire_delta_enc_reset(wire_delta_enc_t *e);
/* Fills tr's observation, obs_version, base_version and edits for the seat's
 * next observation `full` (a whole tree, as wire_obs_to_pb built it): whole
 * when delta is false or there is no base, else only what changed since the
 * last observation encoded. Either way `full` becomes the base. Whatever is
 * allocated lives in a; tr borrows from full. Returns WIRE_OK or WIRE_ENOMEM
 * (then tr carries `full` whole and the encoder has no base). */
int wire_delta_encode(wire_delta_enc_t *e, wire_arena_t *a, Parley__Observation *full, bool delta,
                      Parley__TurnRequest *tr);
/* The same, with promises about full's append-only fields (wire_obs_hints):
 * an element the encoder has hashed before, by its place in its history, is
 * not hashed again, so a turn costs its new elements, not the whole history.
 * The promises of one encoder's calls must be kept across calls; a field
 * without a hint is hashed whole. */
int wire_delta_encode_hinted(wire_delta_enc_t *e, wire_arena_t *a, Parley__Observation *full,
                             bool delta, const wire_obs_hint_t *hints, size_t n_hints,
                             Parley__TurnRequest *tr);

/* ---------------------------------------------------------- agent side -- */

typedef struct wire_delta_dec wire_delta_dec_t;
/* A decoder with no base (it accepts only a whole observation), or NULL. */
wire_delta_dec_t *wire_delta_dec_new(void);
void wire_delta_dec_destroy(wire_delta_dec_t **d);
/* Forgets the base (after a Hello: the broker starts over with a whole one). */
void wire_delta_dec_reset(wire_delta_dec_t *d);
/* The number of the observation held (0: none). */
uint64_t wire_delta_dec_version(const wire_delta_dec_t *d);
/* Unpacks one frame from the broker as wire_unpack does (the same checks and
 * codes), with d's own allocator: the TurnRequests given to wire_delta_apply
 * on d must come from here. Free the envelope with wire_delta_free on the
 * same d, before d is destroyed. */
Parley__Envelope *wire_delta_unpack(wire_delta_dec_t *d, const void *buf, size_t len, size_t max,
                                    int *err);
void wire_delta_free(wire_delta_dec_t *d, Parley__Envelope **e);
/* Applies tr's observation, whole or delta, and returns the whole observation,
 * owned by d and valid until the next call on d. Takes the contents of
 * tr->observation over (tr must come from wire_delta_unpack on d; its
 * envelope is still freed as usual, with wire_delta_free). On failure returns NULL with *err:
 * WIRE_EBASE (a delta against an observation d does not hold: ask for the whole one with Resync),
 * WIRE_EDELTA (an edit outside the base's list, twice for a field, on a field
 * that is not repeated, replacements out of order or beyond the delta's
 * elements), WIRE_EMALFORMED (no observation) or WIRE_ENOMEM; d then holds
 * nothing. */
const Parley__Observation *wire_delta_apply(wire_delta_dec_t *d, Parley__TurnRequest *tr, int *err);

/* The whole observation d holds (as the last wire_delta_apply returned it), or
 * NULL. */
const Parley__Observation *wire_delta_dec_obs(const wire_delta_dec_t *d);
/* The number of the observation the last apply built on: 0 when it was whole
 * (or d holds nothing). */
uint64_t wire_delta_dec_base(const wire_delta_dec_t *d);

/* What the last apply did to one repeated field of the observation held, so
 * that a client keeping its own view of it (wire_view.h) converts only what
 * is new: the list is the base's elements [skip, skip + keep), of which those
 * at the n_repl indices repl (ascending, below keep) were replaced, followed
 * by new elements from index keep on. `changed` false: the base's list as it
 * was. After a whole observation every element is new (skip = keep = 0). */
typedef struct {
    bool changed;
    size_t skip, keep, n_repl;
    const uint32_t *repl; /* owned by the decoder, valid until its next call */
} wire_delta_edit_t;
/* Fills *out for the repeated field numbered `field` in Observation; false
 * when d holds nothing or there is no such repeated field. */
bool wire_delta_dec_edit(const wire_delta_dec_t *d, uint32_t field, wire_delta_edit_t *out);

#endif
