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

/* Streaming: containers and values written as they come, with the separators
 * of jansson's compact form. A failed allocation is sticky (env_jsonw_ok says
 * so); text that is not valid UTF-8 is left out with its key (as jansson's
 * json_string refuses it and json_object_set_new then adds nothing). */
void env_jsonw_obj(env_jsonw_t *w);                           /* '{' */
void env_jsonw_arr(env_jsonw_t *w);                           /* '[' */
void env_jsonw_close(env_jsonw_t *w);                         /* '}' or ']', whichever is open */
void env_jsonw_key(env_jsonw_t *w, const char *k);            /* the next value's key */
void env_jsonw_keyn(env_jsonw_t *w, const char *k, size_t n); /* the same, k of n bytes */
/* A string value; NULL or invalid UTF-8 writes nothing and returns -1. */
int env_jsonw_str(env_jsonw_t *w, const char *s);
void env_jsonw_int(env_jsonw_t *w, long long v);
void env_jsonw_bool(env_jsonw_t *w, int v);
void env_jsonw_null(env_jsonw_t *w);
/* key + value in one call; env_jsonw_kstr leaves out both when s is NULL or not
 * valid UTF-8. */
void env_jsonw_kstr(env_jsonw_t *w, const char *k, const char *s);
void env_jsonw_kstrn(env_jsonw_t *w, const char *k, size_t kn, const char *s);
void env_jsonw_kint(env_jsonw_t *w, const char *k, long long v);
void env_jsonw_kintn(env_jsonw_t *w, const char *k, size_t kn, long long v);
void env_jsonw_kbool(env_jsonw_t *w, const char *k, int v);
void env_jsonw_kbooln(env_jsonw_t *w, const char *k, size_t kn, int v);
/* Members whose key comes as its text in the log, with the ',' that goes
 * before every member but the first: q is ",\"key\":" (ENV_JSONW_KEY makes
 * one from a literal at compile time, so that no event escapes, checks or
 * measures its keys). The key must be plain ASCII that needs no escape. The
 * separator is written or left out as env_jsonw_key would. */
#define ENV_JSONW_KEY(k) ",\"" k "\":", sizeof(",\"" k "\":") - 1
void env_jsonw_kq(env_jsonw_t *w, const char *q, size_t qn); /* the key alone */
/* key + string; both left out when s is NULL or not valid UTF-8 */
void env_jsonw_kqstr(env_jsonw_t *w, const char *q, size_t qn, const char *s);
void env_jsonw_kqint(env_jsonw_t *w, const char *q, size_t qn, long long v);
void env_jsonw_kqbool(env_jsonw_t *w, const char *q, size_t qn, int v);
/* key + a value given as its JSON text (vn bytes, written as they are: a
 * string quoted and escaped beforehand, digits) */
void env_jsonw_kqraw(env_jsonw_t *w, const char *q, size_t qn, const char *v, size_t vn);
/* A value given as its JSON text, with the separator before it. */
void env_jsonw_rawval(env_jsonw_t *w, const char *v, size_t vn);
/* 1 when s is valid UTF-8 as jansson checks it (what it accepts as a key). */
int env_jsonw_utf8_ok(const char *s);
/* 1 while no allocation has failed since the last env_jsonw_reset. */
int env_jsonw_ok(const env_jsonw_t *w);
/* Empties the text and the streaming state; keeps the buffer's memory. */
void env_jsonw_reset(env_jsonw_t *w);

/* The text so far, NUL-terminated (valid until the next call on w). */
const char *env_jsonw_data(const env_jsonw_t *w);
/* Its length in bytes. */
size_t env_jsonw_len(const env_jsonw_t *w);
/* Drops the text past len (len <= env_jsonw_len); keeps the buffer's memory. */
void env_jsonw_truncate(env_jsonw_t *w, size_t len);

#endif
