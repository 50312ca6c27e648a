/* env_jsonw.h: a JSON text writer into one growable buffer, for the event log.
 *
 * The record of a run (docs/EVENTS.md) is written as jansson's compact form;
 * json_dumps builds a fresh string buffer for every event and grows it by
 * reallocation. This writer appends the same bytes (checked against jansson by
 * tests/env/test_env_jsonw.c) to one buffer that is reused from event to event
 * and from batch to batch, so writing an event costs no allocation once the
 * buffer has grown to a batch's size. Several lines accumulate in it and leave
 * in one write.
 */
#ifndef PARLEY_ENV_JSONW_H
#define PARLEY_ENV_JSONW_H

#include <jansson.h>
#include <stddef.h>

typedef struct env_jsonw env_jsonw_t;

/* An empty writer; NULL when out of memory. The caller owns it. */
env_jsonw_t *env_jsonw_new(void);
/* Frees the writer and its buffer; NULL-safe, sets *p = NULL. */
void env_jsonw_destroy(env_jsonw_t **p);

/* Appends v as json_dumps(v, JSON_COMPACT) would write it (same bytes). Returns
 * 0, or -1 (out of memory, or a value jansson would refuse to dump); on -1 the
 * buffer is as it was before the call. */
int env_jsonw_value(env_jsonw_t *w, const json_t *v);
/* Appends n bytes as they are. Returns 0 or -1 (out of memory). */
int env_jsonw_raw(env_jsonw_t *w, const char *s, size_t n);

/* The text so far, NUL-terminated (valid until the next call on w). */
const char *env_jsonw_data(const env_jsonw_t *w);
/* Its length in bytes. */
size_t env_jsonw_len(const env_jsonw_t *w);
/* Drops the text past len (len <= env_jsonw_len); keeps the buffer's memory. */
void env_jsonw_truncate(env_jsonw_t *w, size_t len);

#endif
