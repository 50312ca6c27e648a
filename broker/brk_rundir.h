/* brk_rundir.h: a run directory, the record of one game (DESIGN.md "Runs").
 *
 * Holds config.json (the resolved configuration), events.jsonl (one event a
 * line, appended and flushed before the broker announces the effect), seats.json
 * (the seat tokens, mode 0600) and summary.json at the end. JSON files other
 * than the event log are replaced atomically (write to a temporary, rename), so
 * a reader never sees half a file, even after a crash.
 */
#ifndef PARLEY_BRK_RUNDIR_H
#define PARLEY_BRK_RUNDIR_H

#include <jansson.h>
#include <stddef.h>

typedef struct brk_rundir brk_rundir_t;

/* Opens (creating it and its parents if needed) the run directory at path and
 * its event log for appending. Returns an owned object, or NULL with a sentence
 * in err. */
brk_rundir_t *brk_rundir_new(const char *path, char *err, size_t errlen);
void brk_rundir_destroy(brk_rundir_t **r);
const char *brk_rundir_path(const brk_rundir_t *r);

/* Appends one event, already serialised as one line of JSON without its
 * newline, to the event log's buffer. Returns 0 or -1 (errno set). */
int brk_rundir_event(brk_rundir_t *r, const char *line, size_t len);
/* Hands every buffered event line to the kernel. The broker calls it before it
 * tells anyone about an effect. Returns 0 or -1 (errno set). */
int brk_rundir_flush(brk_rundir_t *r);
/* Replaces file `name` in the directory with j (pretty JSON), atomically, with
 * the given mode (0644 or 0600). Returns 0 or -1 (errno set). */
int brk_rundir_write_json(brk_rundir_t *r, const char *name, const json_t *j, int mode);
/* Reads file `name` of the directory as JSON; NULL if absent or invalid. */
json_t *brk_rundir_read_json(const brk_rundir_t *r, const char *name);

/* Fills out (2*bytes + 1 chars) with a random hex string from the kernel's
 * generator. Returns 0 or -1. */
int brk_random_hex(char *out, size_t bytes);

#endif
