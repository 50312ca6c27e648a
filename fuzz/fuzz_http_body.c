/* fuzz_http_body.c: the body a seat page posts to /seat/ID/decision, parsed
 * and checked as broker/brk_http_seat.c does: JSON, then each action against
 * the game's agent and piece names. */
#include "brk_http_internal.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *s_agents, *s_pieces;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_agents) {
        s_agents = json_pack("[s, s, s]", "agent_1", "agent_2", "agent_3");
        s_pieces = json_pack("[s, s, s]", "Q4 sales data", "Region 5 market data", "Budget");
    }
    if (size > 64 * 1024) return 0; /* the page's body limit (S_MAX_BODY) */
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    json_t *acts = json_object_get(j, "actions");
    wire_arena_t *a = wire_arena_new();
    for (size_t k = 0; a && k < json_array_size(acts) && k < 50; k++) {
        Parley__Action out;
        char why[256];
        brk_http_action_from_json(s_agents, s_pieces, "agent_1", a, json_array_get(acts, k), k,
                                  &out, why, sizeof why);
    }
    wire_arena_destroy(&a);
    json_decref(j);
    return 0;
}
