/* ana_evline.h: the members of one events.jsonl line that a reader needs,
 * without building the rest.
 *
 * The in-process executor feeds every event it writes to the run's totals
 * (ana_run_feed), which read a few short members; parsing each whole line
 * with jansson (a message's content, an action, thoughts) cost several times
 * the game itself. Part of the analysis library; used by ana_exec.c.
 */
#ifndef PARLEY_ANA_EVLINE_H
#define PARLEY_ANA_EVLINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Whether the top-level member `key` (n bytes, not NUL-terminated) is wanted. */
typedef bool (*ana_evline_want_fn)(const char *key, size_t n);

/* The line text[0..len) (one JSON object in compact form, without its
 * newline) as an object of the top-level members `want` accepts (every one
 * when want is NULL), each equal to what json_loadb would give for it. NULL
 * when the text is not an object in the compact form (spaces, an escaped key,
 * bytes after it) or out of memory: parse it whole then. The caller owns the
 * result. */
json_t *ana_evline_parse(const char *text, size_t len, ana_evline_want_fn want);

/* One top-level member: its key (kn bytes) and its value's text (vn bytes).
 * Return false to stop. */
typedef bool (*ana_evline_member_fn)(void *ctx, const char *key, size_t kn, const char *value,
                                     size_t vn);

/* Calls fn for each top-level member of the line text[0..len), in order,
 * without building anything. Returns 0 when every member was seen, 1 when fn
 * stopped, -1 when the text is not an object in the compact form (as
 * ana_evline_parse refuses it). */
int ana_evline_members(const char *text, size_t len, ana_evline_member_fn fn, void *ctx);

#endif
