/* ana_run_internal.h: what the files of the ana_run module share.
 *
 * ana_run is one module over four files: ana_run.c (load, status, accessors),
 * ana_run_read.c (each event applied), ana_run_metrics.c (labels, metrics) and
 * ana_run_save.c (metrics.json written and read back).
 * Only they include this header; the public API is ana_run.h. */
#ifndef ANA_RUN_INTERNAL_H
#define ANA_RUN_INTERNAL_H

#include "ana_run.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A request: requester `from` asked holder `to` for `piece` while lacking it. */
typedef struct {
    uint64_t key, seq;
    int64_t t_ms;
    bool fulfilled;
} ana_req_t;

struct ana_run {
    char *dir;
    char *events_path;
    pl_config_t *cfg;
    char model[256];
    char intervention[256];
    ana_metrics_t m;
    ana_agent_t m_use; /* the run's model use, summed like a seat's, copied into m */
    json_t *meta;      /* meta.json, or NULL (runs from before it existed) */

    int n_agents, n_pieces;
    ana_agent_t *agents;
    char **piece_names;
    int *piece_values;
    /* piece name (lower case) -> index, open addressing */
    int *piece_slots;
    size_t piece_cap;

    unsigned char *holds; /* [n_agents * n_pieces] */
    bool *needed, *shared;

    ana_req_t *reqs; /* open addressing on key; key 0 means empty (keys are +1) */
    size_t req_cap, n_reqs;
    double *delays; /* fulfilled requests' delays, for mean and median */
    size_t n_delays, delays_cap;
    bool all_timed; /* every request and transfer line carried t_ms */

    ana_transfer_t *transfers;
    size_t n_transfers, transfers_cap;
    ana_round_t *rounds;
    int n_rounds;
    ana_seat_timing_t *timing; /* [n_agents] */
    json_t *share_open;        /* the pass's open asks: "asker|holder|piece" -> [t_ms, round] */
    bool from_metrics;         /* restored from metrics.json */
};

/* ------------------------------------------------ ana_run_read.c -- */

/* Applies one parsed line of events.jsonl to r. Returns -1 only when out of
 * memory. */
int ana_run_on_event(ana_run_t *r, const json_t *ev, char *err, size_t errlen);
/* o[key] as a string, or NULL. */
const char *ana_run_str(const json_t *o, const char *key);
uint64_t ana_run_hash_str(const char *s);

/* ------------------------------------------------ ana_run_save.c -- */

/* Takes r's totals from DIR/metrics.json when it is of this version and
 * summarises events.jsonl as it is. Returns 0 (restored), 1 (absent, stale or
 * not ours: read the log; `why` says which) or -1 (out of memory). r has its
 * configuration and no world yet. */
int ana_run_restore(ana_run_t *r, char *why, size_t whylen);

/* --------------------------------------------- ana_run_metrics.c -- */

/* The run's labels (model, intervention) from its configuration. */
void ana_run_labels(ana_run_t *r);
/* The metrics from the totals, once every event is read. */
void ana_run_finalise(ana_run_t *r, ana_ceiling_fn ceiling, void *ceiling_ctx);

#endif
