/* fuzz_delta.c: turn requests as parley-agent reads them (agt_agent.c): each
 * input is a run of frames, each a 2-byte little-endian length and that many
 * bytes, unpacked as an Envelope from the broker; a TurnRequest goes through
 * one observation decoder (wire_delta_apply, whole or delta, in any order) and,
 * when it applies, is rebuilt as an env_obs_t for a 10-agent, 100-piece game (the paper preset)
 * (wire_obs_from_pb). A delta that does not fit must be refused with a code
 * and leave the decoder empty; nothing may crash or leak. The seeds
 * (tests/fuzz/corpus/delta) are whole-then-delta runs of a real game. */
#include "wire.h"
#include "wire_delta.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wire_delta_dec_t *dec = wire_delta_dec_new();
    if (!dec) return 0;
    size_t at = 0;
    while (at + 2 <= size) {
        size_t len = (size_t)data[at] | (size_t)data[at + 1] << 8;
        at += 2;
        if (len > size - at) len = size - at;
        int err = 0;
        Parley__Envelope *e = wire_unpack(data + at, len, WIRE_MAX_BROKER_MSG, &err);
        at += len;
        if (!e) continue;
        if (e->body_case == PARLEY__ENVELOPE__BODY_TURN_REQUEST) {
            const Parley__Observation *o = wire_delta_apply(dec, e->turn_request, &err);
            if (!o && (err == WIRE_OK || wire_delta_dec_version(dec) != 0)) abort();
            if (o) {
                wire_obs_t *w = wire_obs_from_pb(o, 10, 100, &err);
                wire_obs_destroy(&w);
            }
        }
        wire_free(&e);
    }
    wire_delta_dec_destroy(&dec);
    return 0;
}
