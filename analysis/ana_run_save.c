/* ana_run_save.c: metrics.json, a run's totals written once and read back.
 *
 * A report reads every run of a sweep; parsing each events.jsonl again is most
 * of its time. The process that wrote the log (the broker, the in-process
 * executor) feeds each event to an ana_run as it goes (ana_run_feed) and, at
 * the end, saves what the pass over the log would have built: totals, seats,
 * rounds, transfers with their delays, pieces needed and shared, timing per
 * seat. Everything derived from the configuration (labels, the optimal
 * ceiling, rates) is computed again on load by ana_run_finalise, so both paths
 * give the same numbers. The file names the size and SHA-256 of the log it
 * summarises: a log that grew, was cut or edited since is read again. */
#include "ana_run.h"
#include "ana_run_internal.h"

#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The columns of one transfer row, in order. */
static const char *const s_transfer_cols[] = {
    "seq",        "t_ms",      "round",     "from",      "to",       "piece",    "value",
    "true_value", "misreport", "requested", "automated", "delay_ms", "delay_seq"};
#define S_NCOLS (sizeof s_transfer_cols / sizeof s_transfer_cols[0])

/* ---------------------------------------------------------------- hash -- */

/* Size and SHA-256 (hex) of the file at path. Returns 0 or -1 (errno). */
static int s_file_sha256(const char *path, long long *size, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char buf[1 << 16], out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    long long total = 0;
    int rc = -1;
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) goto done;
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        if (EVP_DigestUpdate(md, buf, got) != 1) goto done;
        total += (long long)got;
    }
    if (ferror(f) || EVP_DigestFinal_ex(md, out, &n) != 1) goto done;
    for (unsigned int i = 0; i < n && i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", out[i]);
    hex[64] = '\0';
    *size = total;
    rc = 0;
done:
    EVP_MD_CTX_free(md);
    fclose(f);
    return rc;
}

/* ---------------------------------------------------------------- save -- */

static json_t *s_agent_json(const ana_agent_t *a)
{
    return json_pack(
        "{s:s,s:s,s:s,s:I,s:I,s:I,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:I,"
        "s:I,s:I,s:I,s:f,s:b,s:i}",
        "id", a->id, "type", a->type, "seat", a->seat, "revenue", (json_int_t)a->revenue,
        "task_revenue", (json_int_t)a->task_revenue, "bonus_revenue", (json_int_t)a->bonus_revenue,
        "tasks", a->tasks, "messages_sent", a->messages_sent, "pieces_sent", a->pieces_sent,
        "pieces_received", a->pieces_received, "misreports_sent", a->misreports_sent,
        "requests_made", a->requests_made, "requests_received", a->requests_received,
        "requests_fulfilled", a->requests_fulfilled, "calls", a->use.calls, "failed_calls",
        a->use.failed_calls, "retries", a->use.retries, "tokens_in", (json_int_t)a->use.tokens_in,
        "tokens_out", (json_int_t)a->use.tokens_out, "tokens_cached",
        (json_int_t)a->use.tokens_cached, "tokens_reasoning", (json_int_t)a->use.tokens_reasoning,
        "cost_usd", a->use.cost_usd, "human", a->human, "substituted_round", a->substituted_round);
}

static json_t *s_timing_json(const ana_seat_timing_t *t)
{
    return json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:f,s:f,s:f,s:f,s:f,s:f,s:f,"
                     "s:i,s:i,s:i,s:f,s:f,s:f}",
                     "offered", t->offered, "decided", t->decided, "missed", t->missed, "late",
                     t->late, "abandoned", t->abandoned, "superseded", t->superseded, "within",
                     t->within, "ranked", t->ranked, "open_at_end", t->open_at_end, "absent",
                     t->absent, "took_sum", t->took_sum, "took_max", t->took_max, "latency_sum",
                     t->latency_sum, "bank_used", t->bank_used, "stale_sum", t->stale_sum,
                     "arrived_sum", t->arrived_sum, "rank_sum", t->rank_sum, "share_requests",
                     t->share_requests, "share_filled", t->share_filled, "share_timed",
                     t->share_timed, "share_sum_s", t->share_sum_s, "share_max_s", t->share_max_s,
                     "share_sum_rounds", t->share_sum_rounds);
}

/* The totals of the pass (before ana_run_finalise). */
static json_t *s_totals_json(const ana_metrics_t *m)
{
    return json_pack(
        "{s:b,s:b,s:b,s:b,s:i,s:i,s:i,s:I,s:I,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "resumed",
        m->resumed, "forked", m->forked, "complete", m->complete, "truncated", m->truncated,
        "malformed_lines", m->malformed_lines, "rounds_played", m->rounds_played, "tasks", m->tasks,
        "task_revenue", (json_int_t)m->task_revenue, "group_revenue", (json_int_t)m->group_revenue,
        "messages", m->messages, "transfers", m->transfers, "pieces_transferred",
        m->pieces_transferred, "misreports", m->misreports, "requests_made", m->requests_made,
        "requests_fulfilled", m->requests_fulfilled, "shares_requested", m->shares_requested,
        "shares_unsolicited", m->shares_unsolicited, "shares_automated", m->shares_automated);
}

/* Appends v to arr, taking it over; -1 when either is NULL or the append fails. */
static int s_push(json_t *arr, json_t *v)
{
    if (!arr || !v) {
        json_decref(v);
        return -1;
    }
    return json_array_append_new(arr, v) == 0 ? 0 : -1;
}

static json_t *s_to_json(const ana_run_t *r, long long size, const char *sha)
{
    json_t *o = json_pack("{s:s,s:i,s:{s:I,s:s},s:o,s:o,s:b}", "format", "parley-metrics",
                          "version", ANA_METRICS_VERSION, "events", "bytes", (json_int_t)size,
                          "sha256", sha, "totals", s_totals_json(&r->m), "model_use",
                          s_agent_json(&r->m_use), "all_timed", r->all_timed);
    json_t *agents = json_array(), *timing = json_array(), *pieces = json_array(),
           *rounds = json_array(), *cols = json_array(), *transfers = json_array(),
           *delays = json_array();
    int bad = !o || !agents || !timing || !pieces || !rounds || !cols || !transfers || !delays;
    for (int a = 0; !bad && a < r->n_agents; a++)
        bad = s_push(agents, s_agent_json(&r->agents[a])) ||
              s_push(timing, s_timing_json(&r->timing[a]));
    for (int p = 0; !bad && p < r->n_pieces; p++)
        bad = s_push(pieces,
                     json_pack("{s:s,s:i,s:b,s:b}", "name", r->piece_names[p], "value",
                               r->piece_values[p], "needed", r->needed[p], "shared", r->shared[p]));
    for (int i = 0; !bad && i < r->n_rounds; i++) {
        const ana_round_t *d = &r->rounds[i];
        bad = s_push(rounds, json_pack("[i,i,i,i,I,I]", d->round, d->tasks, d->messages,
                                       d->pieces_transferred, (json_int_t)d->task_revenue,
                                       (json_int_t)d->group_revenue));
    }
    for (size_t i = 0; !bad && i < S_NCOLS; i++)
        bad = s_push(cols, json_string(s_transfer_cols[i]));
    for (size_t i = 0; !bad && i < r->n_transfers; i++) {
        const ana_transfer_t *t = &r->transfers[i];
        bad = s_push(transfers,
                     json_pack("[I,I,i,i,i,i,i,i,b,b,b,I,I]", (json_int_t)t->seq,
                               (json_int_t)t->t_ms, t->round, t->from, t->to, t->piece, t->value,
                               t->true_value, t->misreport, t->requested, t->automated,
                               (json_int_t)t->delay_ms, (json_int_t)t->delay_seq));
    }
    /* Delays in pairs (ms, seq); a missing ms (NaN in memory) is written -1. */
    for (size_t i = 0; !bad && i + 1 < r->n_delays; i += 2) {
        double ms = r->delays[i];
        bad = s_push(delays, json_pack("[I,I]", (json_int_t)(isnan(ms) ? -1 : (long long)ms),
                                       (json_int_t)(long long)r->delays[i + 1]));
    }
    if (!bad)
        bad =
            json_object_set_new(o, "agents", agents) || json_object_set_new(o, "timing", timing) ||
            json_object_set_new(o, "pieces", pieces) || json_object_set_new(o, "rounds", rounds) ||
            json_object_set_new(o, "transfer_columns", cols) ||
            json_object_set_new(o, "transfers", transfers) ||
            json_object_set_new(o, "delays", delays);
    else {
        json_decref(agents), json_decref(timing), json_decref(pieces), json_decref(rounds);
        json_decref(cols), json_decref(transfers), json_decref(delays);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int ana_run_save(const ana_run_t *r, char *err, size_t errlen)
{
    char path[4200], tmp[4200], sha[65];
    long long size = 0;
    if (!r->agents) {
        snprintf(err, errlen, "%s: no world event", r->events_path);
        return -1;
    }
    if (s_file_sha256(r->events_path, &size, sha) != 0) {
        snprintf(err, errlen, "%s: %s", r->events_path, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/metrics.json", r->dir);
    snprintf(tmp, sizeof tmp, "%s/metrics.json.tmp", r->dir);
    json_t *o = s_to_json(r, size, sha);
    if (!o) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    int rc = json_dump_file(o, tmp, JSON_COMPACT);
    json_decref(o);
    if (rc != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot write (%s)", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- restore -- */

/* Reads o[key] into *out when it has the type; clears *ok otherwise. */
static int64_t s_i(const json_t *o, const char *key, bool *ok)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) *ok = false;
    return (int64_t)json_integer_value(v);
}
static double s_f(const json_t *o, const char *key, bool *ok)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v)) *ok = false;
    return json_number_value(v);
}
static bool s_b(const json_t *o, const char *key, bool *ok)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_boolean(v)) *ok = false;
    return json_is_true(v);
}
static void s_str(const json_t *o, const char *key, char *out, size_t cap, bool *ok)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s) *ok = false;
    snprintf(out, cap, "%s", s ? s : "");
}

static void s_agent_from(const json_t *o, ana_agent_t *a, bool *ok)
{
    if (!json_is_object(o)) *ok = false;
    s_str(o, "id", a->id, sizeof a->id, ok);
    s_str(o, "type", a->type, sizeof a->type, ok);
    s_str(o, "seat", a->seat, sizeof a->seat, ok);
    a->revenue = s_i(o, "revenue", ok);
    a->task_revenue = s_i(o, "task_revenue", ok);
    a->bonus_revenue = s_i(o, "bonus_revenue", ok);
    a->tasks = (int)s_i(o, "tasks", ok);
    a->messages_sent = (int)s_i(o, "messages_sent", ok);
    a->pieces_sent = (int)s_i(o, "pieces_sent", ok);
    a->pieces_received = (int)s_i(o, "pieces_received", ok);
    a->misreports_sent = (int)s_i(o, "misreports_sent", ok);
    a->requests_made = (int)s_i(o, "requests_made", ok);
    a->requests_received = (int)s_i(o, "requests_received", ok);
    a->requests_fulfilled = (int)s_i(o, "requests_fulfilled", ok);
    a->use.calls = (int)s_i(o, "calls", ok);
    a->use.failed_calls = (int)s_i(o, "failed_calls", ok);
    a->use.retries = (int)s_i(o, "retries", ok);
    a->use.tokens_in = s_i(o, "tokens_in", ok);
    a->use.tokens_out = s_i(o, "tokens_out", ok);
    a->use.tokens_cached = s_i(o, "tokens_cached", ok);
    a->use.tokens_reasoning = s_i(o, "tokens_reasoning", ok);
    a->use.cost_usd = s_f(o, "cost_usd", ok);
    a->human = s_b(o, "human", ok);
    a->substituted_round = (int)s_i(o, "substituted_round", ok);
}

static void s_timing_from(const json_t *o, ana_seat_timing_t *t, bool *ok)
{
    if (!json_is_object(o)) *ok = false;
    t->offered = (int)s_i(o, "offered", ok);
    t->decided = (int)s_i(o, "decided", ok);
    t->missed = (int)s_i(o, "missed", ok);
    t->late = (int)s_i(o, "late", ok);
    t->abandoned = (int)s_i(o, "abandoned", ok);
    t->superseded = (int)s_i(o, "superseded", ok);
    t->within = (int)s_i(o, "within", ok);
    t->ranked = (int)s_i(o, "ranked", ok);
    t->open_at_end = (int)s_i(o, "open_at_end", ok);
    t->absent = (int)s_i(o, "absent", ok);
    t->took_sum = s_f(o, "took_sum", ok);
    t->took_max = s_f(o, "took_max", ok);
    t->latency_sum = s_f(o, "latency_sum", ok);
    t->bank_used = s_f(o, "bank_used", ok);
    t->stale_sum = s_f(o, "stale_sum", ok);
    t->arrived_sum = s_f(o, "arrived_sum", ok);
    t->rank_sum = s_f(o, "rank_sum", ok);
    t->share_requests = (int)s_i(o, "share_requests", ok);
    t->share_filled = (int)s_i(o, "share_filled", ok);
    t->share_timed = (int)s_i(o, "share_timed", ok);
    t->share_sum_s = s_f(o, "share_sum_s", ok);
    t->share_max_s = s_f(o, "share_max_s", ok);
    t->share_sum_rounds = s_f(o, "share_sum_rounds", ok);
}

static void s_totals_from(const json_t *o, ana_metrics_t *m, bool *ok)
{
    if (!json_is_object(o)) *ok = false;
    m->resumed = s_b(o, "resumed", ok);
    m->forked = s_b(o, "forked", ok);
    m->complete = s_b(o, "complete", ok);
    m->truncated = s_b(o, "truncated", ok);
    m->malformed_lines = (int)s_i(o, "malformed_lines", ok);
    m->rounds_played = (int)s_i(o, "rounds_played", ok);
    m->tasks = (int)s_i(o, "tasks", ok);
    m->task_revenue = s_i(o, "task_revenue", ok);
    m->group_revenue = s_i(o, "group_revenue", ok);
    m->messages = (int)s_i(o, "messages", ok);
    m->transfers = (int)s_i(o, "transfers", ok);
    m->pieces_transferred = (int)s_i(o, "pieces_transferred", ok);
    m->misreports = (int)s_i(o, "misreports", ok);
    m->requests_made = (int)s_i(o, "requests_made", ok);
    m->requests_fulfilled = (int)s_i(o, "requests_fulfilled", ok);
    m->shares_requested = (int)s_i(o, "shares_requested", ok);
    m->shares_unsolicited = (int)s_i(o, "shares_unsolicited", ok);
    m->shares_automated = (int)s_i(o, "shares_automated", ok);
}

/* Row i of a JSON array of integer arrays, column k; clears *ok when absent. */
static int64_t s_cell(const json_t *row, size_t k, bool *ok)
{
    const json_t *v = json_array_get(row, k);
    if (!json_is_integer(v) && !json_is_boolean(v)) *ok = false;
    return json_is_boolean(v) ? json_is_true(v) : (int64_t)json_integer_value(v);
}

/* Undoes a restore that failed half way: r as s_open left it. */
static void s_clear(ana_run_t *r)
{
    if (r->piece_names)
        for (int p = 0; p < r->n_pieces; p++) free(r->piece_names[p]);
    free(r->piece_names), free(r->piece_values), free(r->needed), free(r->shared);
    free(r->agents), free(r->timing), free(r->rounds), free(r->transfers), free(r->delays);
    r->piece_names = NULL, r->piece_values = NULL, r->needed = r->shared = NULL;
    r->agents = NULL, r->timing = NULL, r->rounds = NULL, r->transfers = NULL, r->delays = NULL;
    r->n_agents = r->n_pieces = r->n_rounds = 0;
    r->n_transfers = r->transfers_cap = r->n_delays = r->delays_cap = 0;
    memset(&r->m, 0, sizeof r->m);
    memset(&r->m_use, 0, sizeof r->m_use);
    r->all_timed = true;
    r->from_metrics = false;
}

/* Fills r from o, a metrics.json already checked against the log. */
static int s_from_json(ana_run_t *r, const json_t *o, char *why, size_t whylen)
{
    bool ok = true;
    const json_t *agents = json_object_get(o, "agents"), *timing = json_object_get(o, "timing"),
                 *pieces = json_object_get(o, "pieces"), *rounds = json_object_get(o, "rounds"),
                 *transfers = json_object_get(o, "transfers"),
                 *delays = json_object_get(o, "delays");
    size_t na = json_array_size(agents), np = json_array_size(pieces);
    if (!na || json_array_size(timing) != na || !json_is_array(rounds) ||
        !json_is_array(transfers) || !json_is_array(delays) || !json_is_array(pieces)) {
        snprintf(why, whylen, "incomplete");
        return 1;
    }
    s_totals_from(json_object_get(o, "totals"), &r->m, &ok);
    s_agent_from(json_object_get(o, "model_use"), &r->m_use, &ok);
    r->all_timed = s_b(o, "all_timed", &ok);
    r->n_agents = (int)na;
    r->n_pieces = (int)np;
    r->agents = calloc(na, sizeof *r->agents);
    r->timing = calloc(na, sizeof *r->timing);
    r->piece_names = calloc(np + 1, sizeof *r->piece_names);
    r->piece_values = calloc(np + 1, sizeof *r->piece_values);
    r->needed = calloc(np + 1, sizeof *r->needed);
    r->shared = calloc(np + 1, sizeof *r->shared);
    size_t nr = json_array_size(rounds), nt = json_array_size(transfers),
           nd = json_array_size(delays);
    r->rounds = nr ? calloc(nr, sizeof *r->rounds) : NULL;
    r->transfers = nt ? calloc(nt, sizeof *r->transfers) : NULL;
    r->delays = nd ? calloc(2 * nd, sizeof *r->delays) : NULL;
    if (!r->agents || !r->timing || !r->piece_names || !r->piece_values || !r->needed ||
        !r->shared || (nr && !r->rounds) || (nt && !r->transfers) || (nd && !r->delays))
        return -1;
    for (size_t a = 0; a < na; a++) {
        s_agent_from(json_array_get(agents, a), &r->agents[a], &ok);
        s_timing_from(json_array_get(timing, a), &r->timing[a], &ok);
    }
    for (size_t p = 0; p < np; p++) {
        const json_t *pc = json_array_get(pieces, p);
        const char *name = json_string_value(json_object_get(pc, "name"));
        r->piece_names[p] = strdup(name ? name : "");
        if (!r->piece_names[p]) return -1;
        ok &= name != NULL;
        r->piece_values[p] = (int)s_i(pc, "value", &ok);
        r->needed[p] = s_b(pc, "needed", &ok);
        r->shared[p] = s_b(pc, "shared", &ok);
    }
    r->n_rounds = (int)nr;
    for (size_t i = 0; i < nr; i++) {
        const json_t *row = json_array_get(rounds, i);
        ana_round_t *d = &r->rounds[i];
        d->round = (int)s_cell(row, 0, &ok);
        d->tasks = (int)s_cell(row, 1, &ok);
        d->messages = (int)s_cell(row, 2, &ok);
        d->pieces_transferred = (int)s_cell(row, 3, &ok);
        d->task_revenue = s_cell(row, 4, &ok);
        d->group_revenue = s_cell(row, 5, &ok);
    }
    r->n_transfers = r->transfers_cap = nt;
    for (size_t i = 0; i < nt; i++) {
        const json_t *row = json_array_get(transfers, i);
        ana_transfer_t *t = &r->transfers[i];
        if (json_array_size(row) != S_NCOLS) ok = false;
        t->seq = (uint64_t)s_cell(row, 0, &ok);
        t->t_ms = s_cell(row, 1, &ok);
        t->round = (int)s_cell(row, 2, &ok);
        t->from = (int)s_cell(row, 3, &ok);
        t->to = (int)s_cell(row, 4, &ok);
        t->piece = (int)s_cell(row, 5, &ok);
        t->value = (int)s_cell(row, 6, &ok);
        t->true_value = (int)s_cell(row, 7, &ok);
        t->misreport = s_cell(row, 8, &ok);
        t->requested = s_cell(row, 9, &ok);
        t->automated = s_cell(row, 10, &ok);
        t->delay_ms = s_cell(row, 11, &ok);
        t->delay_seq = s_cell(row, 12, &ok);
        if (t->from < 0 || t->from >= r->n_agents || t->to < 0 || t->to >= r->n_agents ||
            t->piece < 0 || t->piece >= r->n_pieces)
            ok = false;
    }
    r->n_delays = r->delays_cap = 2 * nd;
    for (size_t i = 0; i < nd; i++) {
        const json_t *row = json_array_get(delays, i);
        int64_t ms = s_cell(row, 0, &ok);
        r->delays[2 * i] = ms >= 0 ? (double)ms : NAN;
        r->delays[2 * i + 1] = (double)s_cell(row, 1, &ok);
    }
    if (!ok) {
        snprintf(why, whylen, "a field is missing or of the wrong type");
        return 1;
    }
    return 0;
}

int ana_run_restore(ana_run_t *r, char *why, size_t whylen)
{
    char path[4200], sha[65];
    long long size = 0;
    snprintf(path, sizeof path, "%s/metrics.json", r->dir);
    json_t *o = json_load_file(path, 0, NULL);
    if (!o) {
        snprintf(why, whylen, "absent or not JSON");
        return 1;
    }
    int rc = 1;
    const json_t *ev = json_object_get(o, "events");
    const char *want = json_string_value(json_object_get(ev, "sha256"));
    const char *format = json_string_value(json_object_get(o, "format"));
    if (json_integer_value(json_object_get(o, "version")) != ANA_METRICS_VERSION || !format ||
        strcmp(format, "parley-metrics") != 0) {
        snprintf(why, whylen, "another version");
        goto done;
    }
    struct stat st;
    /* The size first: a log that grew or shrank is told without hashing it. */
    if (stat(r->events_path, &st) != 0 ||
        (long long)st.st_size != (long long)json_integer_value(json_object_get(ev, "bytes"))) {
        snprintf(why, whylen, "events.jsonl changed size");
        goto done;
    }
    if (!want || s_file_sha256(r->events_path, &size, sha) != 0 || strcmp(sha, want) != 0) {
        snprintf(why, whylen, "events.jsonl changed");
        goto done;
    }
    rc = s_from_json(r, o, why, whylen);
    if (rc == 0) r->from_metrics = true;
done:
    if (rc != 0) s_clear(r);
    json_decref(o);
    return rc;
}
