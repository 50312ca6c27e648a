/* ana_exec.c: one game played in-process into a run directory (ana_exec.h).
 * summary.json is written to a temporary name and renamed into place last, so
 * a run killed at any moment never looks done; metrics.json (ana_run.h), the
 * totals a report would otherwise read the log for, just before it. */
#include "ana_exec.h"
#include "ana_evline.h"
#include "ana_run.h"
#include "env_jsonw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    FILE *f;
    env_jsonw_t *batch; /* lines not yet written: one write per S_BATCH bytes */
    bool failed;
    json_t *rounds;  /* round_end events, for summary.json */
    json_t *end;     /* the run_end event */
    ana_run_t *live; /* the totals of metrics.json, fed event by event */
    char live_err[256];
} s_sink_t;

#define S_BATCH 65536

static void s_drain(s_sink_t *s)
{
    size_t n = env_jsonw_len(s->batch);
    if (!s->failed && n && fwrite(env_jsonw_data(s->batch), 1, n, s->f) != n) s->failed = true;
    env_jsonw_truncate(s->batch, 0);
}

/* Each event arrives as its line of events.jsonl (no tree is built for the
 * log). The run's totals get the members they read; the few events kept for
 * summary.json (and world, which the totals read whole) are parsed whole. */
static void s_on_game_text(void *ctx, const char *type, const char *text, size_t len)
{
    s_sink_t *s = ctx;
    if (env_jsonw_raw(s->batch, text, len) != 0 || env_jsonw_raw(s->batch, "\n", 1) != 0)
        s->failed = true;
    if (env_jsonw_len(s->batch) >= S_BATCH) s_drain(s);
    bool keep = strcmp(type, "round_end") == 0 || strcmp(type, "run_end") == 0;
    if (!keep && !s->live) return;
    json_t *ev =
        keep || strcmp(type, "world") == 0 ? NULL : ana_evline_parse(text, len, ana_run_feed_reads);
    if (!ev) ev = json_loadb(text, len, 0, NULL);
    if (!ev) {
        s->failed = true;
        return;
    }
    /* Without its totals the run is still whole: the report reads the log. */
    if (s->live && ana_run_feed(s->live, ev, s->live_err, sizeof s->live_err) != 0)
        ana_run_destroy(&s->live);
    if (!keep) {
        json_decref(ev);
        return;
    }
    if (strcmp(type, "round_end") == 0) {
        json_t *r = json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?,s:O?}", "round",
                              json_object_get(ev, "round"), "tasks", json_object_get(ev, "tasks"),
                              "messages", json_object_get(ev, "messages"), "tasks_total",
                              json_object_get(ev, "tasks_total"), "task_revenue",
                              json_object_get(ev, "task_revenue"), "group_revenue",
                              json_object_get(ev, "group_revenue"));
        if (!r || json_array_append_new(s->rounds, r)) s->failed = true;
    } else {
        json_decref(s->end);
        s->end = json_incref(ev);
    }
    json_decref(ev);
}

bool ana_exec_inprocess_ok(const pl_config_t *c, char *err, size_t errlen)
{
    for (int i = 0; i < c->n_seats; i++)
        if (!c->seats[i].policy || env_policy_from_name(c->seats[i].policy) < 0) {
            snprintf(err, errlen,
                     "seat agent_%d plays '%s': the in-process executor plays built-in policies "
                     "only (perfect, passive, selfish, helper, random); use executor: process",
                     i + 1, c->seats[i].policy ? c->seats[i].policy : "?");
            return false;
        }
    return true;
}

static int s_path(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

int ana_exec_inprocess(const pl_config_t *c, const char *dir, pl_seed_source_t seed_source,
                       char *err, size_t errlen)
{
    s_sink_t sink = {0};
    env_game_t *g = NULL;
    env_policy_t *pol = NULL;
    json_t *cj = NULL, *summary = NULL;
    char path[4096], tmp[4096];
    if (!ana_exec_inprocess_ok(c, err, errlen)) return -1;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (s_path(path, sizeof path, dir, "config.json") ||
        s_path(tmp, sizeof tmp, dir, "summary.tmp")) {
        snprintf(err, errlen, "%s: path too long", dir);
        return -1;
    }
    cj = pl_config_to_json(c);
    if (!cj || json_dump_file(cj, path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
        snprintf(err, errlen, "%s: cannot write", path);
        goto fail;
    }
    if (pl_meta_write(dir, c, seed_source, "parley sweep (inprocess)", 0, NULL, false, err,
                      errlen) != 0)
        goto fail;
    sink.live = ana_run_begin(dir, sink.live_err, sizeof sink.live_err);
    if (s_path(path, sizeof path, dir, "metrics.json")) goto fail;
    if (unlink(path) != 0 && errno != ENOENT) { /* a previous attempt's totals */
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (s_path(path, sizeof path, dir, "events.jsonl")) goto fail;
    sink.f = fopen(path, "w");
    sink.rounds = json_array();
    sink.batch = env_jsonw_new();
    if (sink.f) setvbuf(sink.f, NULL, _IONBF, 0); /* the batch is the buffer */
    if (!sink.f || !sink.rounds || !sink.batch) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    int code;
    g = env_game_new_text(&c->game, s_on_game_text, &sink, &code);
    if (!g) {
        snprintf(err, errlen, "game refused: %s", env_strerror(code));
        goto fail;
    }
    pol = malloc(sizeof *pol * (size_t)c->n_seats);
    if (!pol) goto oom;
    for (int i = 0; i < c->n_seats; i++)
        pol[i] = (env_policy_t)env_policy_from_name(c->seats[i].policy);
    code = env_play(g, pol);
    if (code != ENV_OK) {
        snprintf(err, errlen, "game stopped: %s", env_strerror(code));
        goto fail;
    }
    s_drain(&sink);
    if (sink.failed || fclose(sink.f) != 0) {
        sink.f = NULL;
        snprintf(err, errlen, "%s: write failed", path);
        goto fail;
    }
    sink.f = NULL;
    /* A run without metrics.json is read from its log: a failure here costs
     * the report time, not the run. */
    if (sink.live) (void)ana_run_save(sink.live, sink.live_err, sizeof sink.live_err);
    summary = json_pack(
        "{s:s,s:s,s:I,s:O,s:O?,s:I,s:I,s:I}", "status", "ok", "executor", "inprocess", "seed",
        (json_int_t)c->game.seed, "rounds", sink.rounds, "board",
        json_object_get(sink.end, "board"), "tasks", (json_int_t)env_tasks_done(g), "task_revenue",
        (json_int_t)env_task_revenue(g), "group_revenue", (json_int_t)env_group_revenue(g));
    if (!summary) goto oom;
    if (s_path(path, sizeof path, dir, "summary.json")) goto fail;
    if (json_dump_file(summary, tmp, JSON_INDENT(2)) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot write", path);
        goto fail;
    }
    json_decref(summary);
    json_decref(cj);
    json_decref(sink.rounds);
    json_decref(sink.end);
    env_jsonw_destroy(&sink.batch);
    ana_run_destroy(&sink.live);
    free(pol);
    env_game_destroy(&g);
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    if (sink.f) fclose(sink.f);
    json_decref(summary);
    json_decref(cj);
    json_decref(sink.rounds);
    json_decref(sink.end);
    env_jsonw_destroy(&sink.batch);
    ana_run_destroy(&sink.live);
    free(pol);
    env_game_destroy(&g);
    return -1;
}
