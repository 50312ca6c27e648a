/* fake_proc.h: start and stop parley-fake-llm from a test. */
#ifndef PARLEY_TEST_FAKE_PROC_H
#define PARLEY_TEST_FAKE_PROC_H

#include <sys/types.h>

/* Starts $PARLEY_BIN/parley-fake-llm with args (NULL-terminated); returns its
 * pid and writes the port it listens on, or returns -1. */
pid_t fake_start(const char *const *args, int *port);
/* One number of its GET /stats ("requests", "keyed"), or -1. */
long fake_stat(int port, const char *field);
/* Stops it (SIGTERM, then waits). */
void fake_stop(pid_t pid);

#endif
