/* fuzz_delta.c: turn requests as parley-agent reads them (agt_agent.c): each
 * input is a run of frames, each a 2-byte little-endian length and that many
 * bytes, unpacked as an Envelope from the broker; a TurnRequest goes through
 * one observation decoder (wire_delta_apply, whole or delta, in any order)
 * and, when it applies, into the seat's kept view of it for a 10-agent,
 * 100-piece game (the paper preset; wire_view_update, patched from the
 * delta's edits or rebuilt). A delta that does not fit must be refused with a
 * code and leave the decoder empty; the view must take exactly what a rebuild
 * from the whole observation (wire_obs_from_pb) takes, and then equal it
 * element for element; nothing may crash or leak. The seeds
 * (tests/fuzz/corpus/delta) are whole-then-delta runs of a real game. */
#include "wire.h"
#include "wire_delta.h"
#include "wire_view.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wire_delta_dec_t *dec = wire_delta_dec_new();
    wire_view_t *view = wire_view_new(10, 100);
    if (!dec || !view) abort();
    size_t at = 0;
    while (at + 2 <= size) {
        size_t len = (size_t)data[at] | (size_t)data[at + 1] << 8;
        at += 2;
        if (len > size - at) len = size - at;
        int err = 0;
        Parley__Envelope *e = wire_delta_unpack(dec, data + at, len, WIRE_MAX_BROKER_MSG, &err);
        at += len;
        if (!e) continue;
        if (e->body_case == PARLEY__ENVELOPE__BODY_TURN_REQUEST) {
            const Parley__Observation *o = wire_delta_apply(dec, e->turn_request, &err);
            if (!o && (err == WIRE_OK || wire_delta_dec_version(dec) != 0)) abort();
            if (o) {
                const env_obs_t *v = wire_view_update(view, dec, &err);
                wire_obs_t *w = wire_obs_from_pb(o, 10, 100, &err);
                char what[128];
                if (!v != !w) abort(); /* the view took what a rebuild refuses, or not */
                if (v && wire_view_diff(v, wire_obs_view(w), 10, 100, what, sizeof what) != 0)
                    abort();
                wire_obs_destroy(&w);
                /* The seat starts over when its view refuses (agt_agent.c). */
                if (!v) wire_delta_dec_reset(dec);
            }
        }
        wire_delta_free(dec, &e);
    }
    wire_view_destroy(&view);
    wire_delta_dec_destroy(&dec);
    return 0;
}
