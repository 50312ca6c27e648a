/* ana_run.c: reads one run directory and derives its metrics (ana_run.h).
 *
 * One pass over events.jsonl rebuilds what the metrics need: who holds which
 * piece (to tell a request, a message naming a piece its sender lacks, from
 * chatter), the requests still open, each transfer with its delay, revenue per
 * agent and per round. Definitions are in docs/ANALYSIS.md. This file loads the
 * directory (meta.json, config, metrics.json or events.jsonl), tells the run's
 * status and holds the accessors; ana_run_read.c applies each event, ana_run_metrics.c turns the
 * totals into metrics and labels. */
#include "ana_run.h"
#include "ana_run_internal.h"
#include "ana_stats.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* -------------------------------------------------------------- helpers -- */

static void s_diag(ana_diag_fn diag, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_diag(ana_diag_fn diag, void *ctx, const char *fmt, ...)
{
    if (!diag) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    diag(ctx, buf);
}

static char *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) goto fail;
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) goto fail;
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

/* ------------------------------------------------------------- finalise -- */

const char *ana_status_name(ana_status_t s)
{
    static const char *const names[] = {"ok", "stopped", "partial"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

/* How the run ended: the summary the broker (or the in-process executor) left,
 * else what the log says. A stopped game's log has its run_end line too, so the
 * log alone cannot tell a stopped run from a finished one. */
static void s_status(ana_run_t *r, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_t *sum = json_load_file(path, 0, NULL);
    bool partial_file = false;
    if (!sum) {
        snprintf(path, sizeof path, "%s/summary.partial.json", dir);
        sum = json_load_file(path, 0, NULL);
        partial_file = sum != NULL;
    }
    const char *st = sum ? ana_run_str(sum, "status") : NULL;
    if (partial_file || (st && strcmp(st, "ok") != 0))
        r->m.status = ANA_STATUS_STOPPED;
    else if (!r->m.complete)
        r->m.status = ANA_STATUS_PARTIAL;
    else
        r->m.status = ANA_STATUS_OK;
    if (sum && json_is_true(json_object_get(sum, "resumed"))) r->m.resumed = true;
    if (sum && (json_object_get(sum, "fork") || json_object_get(sum, "forked_from")))
        r->m.forked = true;
    json_decref(sum);
}

/* ----------------------------------------------------------------- load -- */

ana_run_t *ana_run_load(const char *dir, ana_diag_fn diag, void *ctx, char *err, size_t errlen)
{
    return ana_run_load_with(dir, diag, ctx, NULL, NULL, err, errlen);
}

/* A run with its configuration (config.json) and labels, nothing read yet. */
static ana_run_t *s_open(const char *dir, char *err, size_t errlen)
{
    ana_run_t *r = calloc(1, sizeof *r);
    char *text = NULL;
    size_t len = 0;
    if (!r) goto oom;
    r->all_timed = true;
    r->dir = strdup(dir);
    if (!r->dir) goto oom;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    text = s_slurp(path, &len);
    if (!text) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    char cerr[512];
    r->cfg = pl_config_parse(text, len, path, cerr, sizeof cerr);
    if (!r->cfg) {
        snprintf(err, errlen, "%s", cerr);
        goto fail;
    }
    free(text);
    text = NULL;
    ana_run_labels(r);
    snprintf(path, sizeof path, "%s/events.jsonl", dir);
    r->events_path = strdup(path);
    if (!r->events_path) goto oom;
    return r;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    free(text);
    ana_run_destroy(&r);
    return NULL;
}

/* The pass over events.jsonl. Returns 0, or -1 with err. */
static int s_read_log(ana_run_t *r, ana_diag_fn diag, void *ctx, char *err, size_t errlen)
{
    const char *path = r->events_path;
    char *line = NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    ssize_t got;
    int lineno = 0;
    while ((got = getline(&line, &cap, f)) > 0) {
        lineno++;
        bool last_cut = line[got - 1] != '\n';
        json_error_t jerr;
        json_t *ev = json_loadb(line, (size_t)got, 0, &jerr);
        if (!ev && last_cut) {
            /* A run still being written, or killed mid-line: the line never finished. */
            r->m.truncated = true;
            break;
        }
        if (!ev || !json_is_object(ev) || !ana_run_str(ev, "type")) {
            r->m.malformed_lines++;
            s_diag(diag, ctx, "%s:%d: %s", path, lineno,
                   ev ? "not an event (an object with a type)" : jerr.text);
            json_decref(ev);
            continue;
        }
        char eerr[256] = "";
        int rc = ana_run_on_event(r, ev, eerr, sizeof eerr);
        json_decref(ev);
        if (rc) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, eerr);
            goto fail;
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        goto fail;
    }
    fclose(f);
    free(line);
    if (!r->agents) {
        snprintf(err, errlen, "%s: no world event", path);
        return -1;
    }
    return 0;
fail:
    free(line);
    fclose(f);
    return -1;
}

ana_run_t *ana_run_load_with(const char *dir, ana_diag_fn diag, void *ctx, ana_ceiling_fn ceiling,
                             void *ceiling_ctx, char *err, size_t errlen)
{
    ana_run_t *r = s_open(dir, err, errlen);
    if (!r) return NULL;
    /* metrics.json when it summarises this very log; the log otherwise. */
    char why[512];
    int rc = ana_run_restore(r, why, sizeof why);
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (rc > 0 && s_read_log(r, diag, ctx, err, errlen) != 0) goto fail;
    s_status(r, dir);
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    r->meta = json_load_file(path, 0, NULL);
    ana_run_finalise(r, ceiling, ceiling_ctx);
    return r;
fail:
    ana_run_destroy(&r);
    return NULL;
}

ana_run_t *ana_run_begin(const char *dir, char *err, size_t errlen)
{
    return s_open(dir, err, errlen);
}

int ana_run_feed(ana_run_t *r, const json_t *ev, char *err, size_t errlen)
{
    if (!json_is_object(ev) || !ana_run_str(ev, "type")) {
        r->m.malformed_lines++;
        return 0;
    }
    return ana_run_on_event(r, ev, err, errlen);
}

int ana_run_write_metrics(const char *dir, char *err, size_t errlen)
{
    ana_run_t *r = s_open(dir, err, errlen);
    if (!r) return -1;
    int rc = s_read_log(r, NULL, NULL, err, errlen) == 0 ? ana_run_save(r, err, errlen) : -1;
    ana_run_destroy(&r);
    return rc;
}

bool ana_run_from_metrics(const ana_run_t *r)
{
    return r->from_metrics;
}

void ana_run_destroy(ana_run_t **pr)
{
    if (!pr || !*pr) return;
    ana_run_t *r = *pr;
    json_decref(r->meta);
    if (r->piece_names)
        for (int p = 0; p < r->n_pieces; p++) free(r->piece_names[p]);
    free(r->piece_names);
    free(r->piece_values);
    free(r->piece_slots);
    free(r->holds);
    free(r->needed);
    free(r->shared);
    free(r->reqs);
    free(r->delays);
    free(r->transfers);
    free(r->rounds);
    free(r->timing);
    json_decref(r->share_open);
    free(r->agents);
    pl_config_destroy(&r->cfg);
    free(r->events_path);
    free(r->dir);
    free(r);
    *pr = NULL;
}

const json_t *ana_run_meta(const ana_run_t *r)
{
    return r->meta;
}

const char *ana_run_dir(const ana_run_t *r)
{
    return r->dir;
}
const pl_config_t *ana_run_config(const ana_run_t *r)
{
    return r->cfg;
}
const ana_metrics_t *ana_run_metrics(const ana_run_t *r)
{
    return &r->m;
}
const char *ana_run_model(const ana_run_t *r)
{
    return r->model;
}
const char *ana_run_intervention(const ana_run_t *r)
{
    return r->intervention;
}
const char *ana_run_automation(const ana_run_t *r)
{
    return env_automation_name(r->cfg->game.automation);
}
int ana_run_n_agents(const ana_run_t *r)
{
    return r->n_agents;
}
const ana_agent_t *ana_run_agents(const ana_run_t *r)
{
    return r->agents;
}
int ana_run_n_pieces(const ana_run_t *r)
{
    return r->n_pieces;
}
const char *ana_run_piece_name(const ana_run_t *r, int piece)
{
    return piece >= 0 && piece < r->n_pieces ? r->piece_names[piece] : "";
}
size_t ana_run_n_transfers(const ana_run_t *r)
{
    return r->n_transfers;
}
const ana_transfer_t *ana_run_transfers(const ana_run_t *r)
{
    return r->transfers;
}
int ana_run_n_rounds(const ana_run_t *r)
{
    return r->n_rounds;
}
const ana_round_t *ana_run_rounds(const ana_run_t *r)
{
    return r->rounds;
}
const ana_seat_timing_t *ana_run_timing(const ana_run_t *r)
{
    return r->timing;
}
