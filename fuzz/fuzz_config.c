/* fuzz_config.c: an experiment configuration (common/pl_config.c), parsed
 * from memory as from a file: size, depth and ranges checked, every error a
 * FILE:LINE sentence, never a hang. */
#include "pl_config.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    pl_config_t *c = pl_config_parse((const char *)data, size, "fuzz.yaml", err, sizeof err);
    pl_config_destroy(&c);
    return 0;
}
