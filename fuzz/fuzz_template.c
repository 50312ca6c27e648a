/* fuzz_template.c: a prompt template (agent/llm_template.c) loaded from a
 * file, then rendered against a small model: every error FILE:LINE, no
 * crash, no runaway output. */
#include "llm_template.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char s_path[64];
static json_t *s_model;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_path[0]) {
        snprintf(s_path, sizeof s_path, "/tmp/parley-fuzz-template-%d.tmpl", (int)getpid());
        s_model = json_pack("{s:s, s:i, s:[{s:s, s:i}, {s:s, s:i}], s:{s:b, s:s}}", "agent",
                            "agent_1", "round", 3, "pieces", "name", "Q4 sales data", "value", 40,
                            "name", "Region 5", "value", 7, "rules", "board", 1, "goal", "win");
    }
    FILE *f = fopen(s_path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    char err[512];
    llm_tmpl_t *t = llm_tmpl_load(s_path, err, sizeof err);
    if (t) {
        char *sys = NULL, *user = NULL;
        llm_tmpl_render(t, s_model, &sys, &user, err, sizeof err);
        free(sys);
        free(user);
        llm_tmpl_destroy(&t);
    }
    return 0;
}
