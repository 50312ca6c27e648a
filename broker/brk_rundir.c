/* brk_rundir.c: the run directory (brk_rundir.h). The event log is the record
 * of truth: every line is flushed before the broker tells an agent about the
 * effect, so a reader (or a resumed broker) never sees an effect the log lacks. */
#include "brk_rundir.h"

#include "pl_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

struct brk_rundir {
    char *path;
    FILE *events;
    char *events_buf; /* its stdio buffer (glibc ignores a size given without one) */
};

#define S_EVENTS_BUF (256 * 1024)

brk_rundir_t *brk_rundir_new(const char *path, char *err, size_t errlen)
{
    char file[4096];
    brk_rundir_t *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->path = strdup(path);
    if (!r->path) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (pl_mkdirs(path) != 0) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        goto fail;
    }
    snprintf(file, sizeof file, "%s/events.jsonl", path);
    r->events = fopen(file, "a");
    if (!r->events) {
        snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
        goto fail;
    }
    /* Lines gather in a large buffer between flushes (one write per flush,
     * not one per 4 KiB: setvbuf without a buffer of its own keeps glibc's
     * default size). */
    r->events_buf = malloc(S_EVENTS_BUF);
    if (r->events_buf) setvbuf(r->events, r->events_buf, _IOFBF, S_EVENTS_BUF);
    return r;
fail:
    brk_rundir_destroy(&r);
    return NULL;
}

void brk_rundir_destroy(brk_rundir_t **pr)
{
    if (!pr || !*pr) return;
    brk_rundir_t *r = *pr;
    if (r->events) fclose(r->events);
    free(r->events_buf); /* after fclose, which flushes from it */
    free(r->path);
    free(r);
    *pr = NULL;
}

const char *brk_rundir_path(const brk_rundir_t *r)
{
    return r->path;
}

int brk_rundir_event(brk_rundir_t *r, const char *line, size_t len)
{
    if (fwrite(line, 1, len, r->events) != len) return -1;
    return fputc('\n', r->events) == EOF ? -1 : 0;
}

int brk_rundir_flush(brk_rundir_t *r)
{
    return fflush(r->events) == 0 ? 0 : -1;
}

int brk_rundir_write_json(brk_rundir_t *r, const char *name, const json_t *j, int mode)
{
    char tmp[4096], file[4096];
    snprintf(file, sizeof file, "%s/%s", r->path, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", r->path, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -1;
    }
    int rc = json_dumpf(j, f, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (rc == 0 && fputc('\n', f) == EOF) rc = -1;
    if (fclose(f) != 0) rc = -1;
    if (rc == 0 && rename(tmp, file) != 0) rc = -1;
    if (rc != 0) unlink(tmp);
    return rc;
}

json_t *brk_rundir_read_json(const brk_rundir_t *r, const char *name)
{
    char file[4096];
    snprintf(file, sizeof file, "%s/%s", r->path, name);
    return json_load_file(file, 0, NULL);
}

int brk_random_hex(char *out, size_t bytes)
{
    unsigned char raw[64];
    if (bytes > sizeof raw) return -1;
    size_t got = 0;
    while (got < bytes) {
        ssize_t n = getrandom(raw + got, bytes - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < bytes; i++) snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}
