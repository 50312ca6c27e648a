/* fuzz_llm_parse.c: a model's reply, as the llm seat reads it
 * (agent/llm_parse.c): reasoning blocks stripped, the first JSON found, the
 * actions parsed and checked. */
#include "env.h"
#include "llm_parse.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_drop(void *arg, const char *raw, const char *reason)
{
    (void)arg;
    (void)raw;
    (void)reason;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t out_len = 0;
    char *stripped = llm_parse_strip_reasoning(text, size, &out_len);
    free(stripped);
    json_decref(llm_parse_first_json(text, size));
    env_decision_t *d = env_decision_new();
    if (!d) return 0;
    char why[256];
    llm_parse_reply(text, size, d, s_drop, NULL, why, sizeof why);
    env_decision_destroy(&d);
    return 0;
}
