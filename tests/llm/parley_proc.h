/* parley_proc.h: run `parley run` from an end-to-end test of llm seats. */
#ifndef PARLEY_TEST_PARLEY_PROC_H
#define PARLEY_TEST_PARLEY_PROC_H

#include <stddef.h>

/* Runs $PARLEY_BIN/parley run with args (NULL-terminated), stdout and stderr
 * into dir/parley.out and dir/parley.err (and into out and err, cut to fit);
 * waits up to timeout_ms, then kills it. Returns its exit status (-1: hung,
 * killed). */
int parley_run(const char *dir, const char *const *args, int timeout_ms, char *out, size_t outlen,
               char *err, size_t errlen);

#endif
