/* fuzz_names.c: a Welcome's compact names as parley-agent reads them
 * (agt_agent.c, PROTOCOL.md "Compact names"): each input is one frame,
 * unpacked as an Envelope from the broker; a Welcome's agent_names and
 * piece_names are rebuilt with wire_names_decode (at most 100,000 names, the
 * largest game). A message that does not describe a list must be refused with
 * a code; a list it rebuilds has at most that many names, each a string; and
 * names the encoder takes back as patterns (wire_names_encode) must decode to
 * the same names. Nothing may crash or leak. The seeds (tests/fuzz/corpus/
 * names) are the Welcomes of a 10-seat and a 3-seat game, and one of whole
 * lists. */
#include "wire.h"
#include "wire_names.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_one(const Parley__Names *m)
{
    if (!m) return;
    size_t n = 0;
    int err = WIRE_OK;
    char **names = wire_names_decode(m, 100000, &n, &err);
    if (!names) {
        if (err == WIRE_OK) abort(); /* refused without saying why */
        return;
    }
    if (err != WIRE_OK || n > 100000) abort();
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += strlen(names[i]);
    (void)total;
    /* What decodes, encoded again as patterns, decodes to the same names. */
    wire_arena_t *a = wire_arena_new();
    Parley__Names again = PARLEY__NAMES__INIT;
    if (a && wire_names_encode(a, (const char *const *)names, n, &again) == WIRE_OK) {
        size_t n2 = 0;
        int err2 = WIRE_OK;
        char **back = wire_names_decode(&again, 100000, &n2, &err2);
        if (!back && err2 != WIRE_ENOMEM) abort();
        if (back) {
            if (n2 != n) abort();
            for (size_t i = 0; i < n; i++)
                if (strcmp(back[i], names[i]) != 0) abort();
            free(back);
        }
    }
    wire_arena_destroy(&a);
    free(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int err = 0;
    Parley__Envelope *e = wire_unpack(data, size, WIRE_MAX_BROKER_MSG, &err);
    if (!e) return 0;
    if (e->body_case == PARLEY__ENVELOPE__BODY_WELCOME) {
        s_one(e->welcome->agent_names);
        s_one(e->welcome->piece_names);
    }
    wire_free(&e);
    return 0;
}
