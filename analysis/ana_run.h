/* ana_run.h: one run directory read back (config.json + events.jsonl) and the
 * metrics of docs/ANALYSIS.md computed from it.
 *
 * The event log is the record of truth (docs/EVENTS.md), so every number here
 * is derived from events.jsonl alone, plus the configuration for the optimal
 * ceiling (perfect play on the same configuration and seed, computed in-process
 * with env_perfect_task_revenue). Reading is forgiving: a truncated last line (a
 * run still going, or killed) is ignored, unknown event types are skipped, and a
 * malformed line is reported as "FILE:LINE: why" through the diagnostic callback
 * and skipped.
 *
 * metrics.json (docs/ANALYSIS.md): the totals of that pass, written at the end
 * of a game by the process that recorded it (the broker, the in-process
 * executor), with the size and SHA-256 of the events.jsonl they summarise.
 * Loading a run takes them from there when the file is present, of this
 * version and of the same log; otherwise it reads the log. Both give the same
 * numbers (tests/analysis/test_ana_metrics_file.c). */
#ifndef PARLEY_ANA_RUN_H
#define PARLEY_ANA_RUN_H

#include "pl_config.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ana_run ana_run_t;

/* Receives one diagnostic line ("events.jsonl:12: malformed JSON: ..."). */
typedef void (*ana_diag_fn)(void *ctx, const char *msg);

/* One piece copied from one agent to another (a `transfer` event, per piece). */
typedef struct {
    uint64_t seq;
    int64_t t_ms; /* -1: the log has no broker times (in-process runs) */
    int round;
    int from, to, piece; /* agent and piece indices */
    int value, true_value;
    bool misreport, requested, automated;
    /* Time from the receiver's first request to the sender for this piece:
     * -1 when there was none. Milliseconds when both lines carry t_ms. */
    int64_t delay_ms, delay_seq;
} ana_transfer_t;

/* Model use: the `calls` of `decision` lines (all 0 for built-in agents), of
 * one seat or summed over a run's seats. */
typedef struct {
    int calls;         /* HTTP calls to the model (ModelCall records) */
    int failed_calls;  /* of those, calls that ended with an error */
    int retries;       /* attempts beyond the first, summed over calls */
    int64_t tokens_in; /* prompt tokens, cached ones included */
    int64_t tokens_out, tokens_cached, tokens_reasoning;
    double cost_usd; /* from the configuration's prices; 0 when none is given */
} ana_model_use_t;

typedef struct {
    char id[32];     /* "agent_3" */
    char type[16];   /* "neutral", "policy" ... */
    char seat[64];   /* seat label, model or policy from the configuration */
    int64_t revenue; /* tasks + sharing bonuses */
    int64_t task_revenue, bonus_revenue;
    int tasks;
    int messages_sent; /* own direct messages and broadcasts (not system ones) */
    int pieces_sent, pieces_received;
    int misreports_sent;
    int requests_made; /* distinct (holder, piece) it asked for while lacking it */
    int requests_received;
    int requests_fulfilled; /* of those received, answered with the piece */
    ana_model_use_t use;
    bool human;            /* a person joined the seat (seat_joined.human) */
    int substituted_round; /* a person's seat later joined by a program (a dropout
                              handed to a fallback policy): that round; 0 never */
} ana_agent_t;

/* One seat's timing record (docs/TIMING.md): turn_offered, decision (with
 * decided_s), missed_turn, decision_late, call_abandoned, turn_superseded. */
typedef struct {
    int offered, decided, missed, late, abandoned, superseded, within, ranked;
    int open_at_end; /* turns still open when the game ended (turn_open_at_end) */
    int absent;      /* turns missed that were never offered: the seat was not there */
    double took_sum, took_max, latency_sum, bank_used, stale_sum, arrived_sum, rank_sum;
    /* As the one asked (timing_share.csv): pieces asked of this seat, those
     * it sent, those of them timed by the broker's clock, seconds and rounds
     * from the ask to the piece. */
    int share_requests, share_filled, share_timed;
    double share_sum_s, share_max_s, share_sum_rounds;
    /* The pass's state, not a total: a turn offered and not ended yet, and
     * its id (a resumed broker offers an open turn again). */
    bool open;
    int64_t offer;
} ana_seat_timing_t;

/* Counts within one round; revenues are cumulative at the round's end. */
typedef struct {
    int round, tasks, messages, pieces_transferred;
    int64_t task_revenue, group_revenue;
} ana_round_t;

/* How a run ended, from its summary file and its log (docs/ANALYSIS.md):
 *   ok       summary.json (status ok), or no summary but a run_end line
 *   stopped  summary.partial.json: stopped early (Ctrl-C, SIGTERM, a deadline)
 *   partial  no summary and no run_end: killed, or still being written
 * Only `ok` runs enter the means unless the study includes incomplete ones. */
typedef enum { ANA_STATUS_OK = 0, ANA_STATUS_STOPPED, ANA_STATUS_PARTIAL } ana_status_t;
const char *ana_status_name(ana_status_t s); /* "ok", "stopped", "partial" */

typedef struct {
    ana_status_t status;
    bool resumed;        /* the log has a run_resumed line (a broker picked it up again) */
    bool forked;         /* run_start names a source run (`parley fork`) */
    bool complete;       /* the log has its run_end line */
    bool truncated;      /* the last line was cut short and ignored */
    int malformed_lines; /* reported and skipped */
    int rounds_played;
    int tasks;
    int64_t task_revenue, group_revenue;
    int64_t optimal; /* task revenue of perfect play, same configuration; -1 unknown */
    int optimal_tasks;
    double pct_optimal; /* 100 * task_revenue / optimal */
    double gini;        /* of each agent's total revenue */
    int zero_revenue_agents;
    int messages; /* agents' own messages (direct + broadcast), delivered or not */
    double messages_per_task;
    int transfers;          /* transfer events */
    int pieces_transferred; /* pieces copied */
    double transfer_rate;   /* pieces copied per agent per round */
    int misreports;
    double misreport_rate; /* misreported pieces / pieces copied */
    int requests_made, requests_fulfilled;
    double fulfil_rate; /* fulfilled / made */
    double ttf_mean, ttf_median;
    const char *ttf_unit; /* "ms" or "seq" */
    int shares_requested, shares_unsolicited, shares_automated;
    double requested_share;  /* requested / pieces copied */
    int pieces_needed;       /* pieces some task needed that its owner lacked */
    int needed_never_shared; /* of those, pieces nobody ever transferred */
    ana_model_use_t use;     /* summed over seats */
} ana_metrics_t;

/* Reads the run directory `dir`. Returns NULL on a fatal problem (no config.json
 * or events.jsonl, a configuration that does not load, no world event), with the
 * reason in err. `diag` (may be NULL) receives each skipped-line report. */
ana_run_t *ana_run_load(const char *dir, ana_diag_fn diag, void *ctx, char *err, size_t errlen);

/* The optimal ceiling of a game configuration: task revenue (and tasks) of
 * perfect play, -1 if it cannot be played. env_perfect_task_revenue by default. */
typedef int64_t (*ana_ceiling_fn)(void *ctx, const env_config_t *c, int *tasks);
/* As ana_run_load, with the ceiling computed by `ceiling` (a study memoises it:
 * the three arms of one seed share one ceiling). */
ana_run_t *ana_run_load_with(const char *dir, ana_diag_fn diag, void *ctx, ana_ceiling_fn ceiling,
                             void *ceiling_ctx, char *err, size_t errlen);
void ana_run_destroy(ana_run_t **r);

/* The version of metrics.json this build writes and reads. */
#define ANA_METRICS_VERSION 1

/* During play: an empty run for the directory `dir` (its config.json must be
 * there) that the writer of events.jsonl feeds with each event it writes. NULL
 * with err on a problem. Free with ana_run_destroy. */
ana_run_t *ana_run_begin(const char *dir, char *err, size_t errlen);
/* Applies one event, as written to events.jsonl (not taken over). Returns 0,
 * or -1 (out of memory) with err. An event that is not an object with a type
 * is counted as a malformed line, as reading the log would. */
int ana_run_feed(ana_run_t *r, const json_t *ev, char *err, size_t errlen);
/* Whether ana_run_feed reads the top-level member `key` (n bytes) of events
 * other than world: a writer that feeds it may leave out every other member
 * (the in-process executor does, instead of parsing whole lines). */
bool ana_run_feed_reads(const char *key, size_t n);
/* Writes DIR/metrics.json from what r was fed (or read), for the events.jsonl
 * as it now is on disk (its size and SHA-256), by a temporary file renamed
 * into place. Returns 0, or -1 with err. */
int ana_run_save(const ana_run_t *r, char *err, size_t errlen);
/* Reads DIR/events.jsonl whole (no metrics.json) and writes metrics.json from
 * it: for a record this process did not see from its start (a resumed or
 * forked run). Returns 0, or -1 with err. */
int ana_run_write_metrics(const char *dir, char *err, size_t errlen);
/* Whether r's totals came from a valid metrics.json (not from the log). */
bool ana_run_from_metrics(const ana_run_t *r);

const char *ana_run_dir(const ana_run_t *r);
/* The run's meta.json (what produced it: pl_meta.h), borrowed; NULL if absent. */
const json_t *ana_run_meta(const ana_run_t *r);
const pl_config_t *ana_run_config(const ana_run_t *r);
const ana_metrics_t *ana_run_metrics(const ana_run_t *r);
/* Who played: the seats' labels (or model, or policy), distinct ones joined by '+'. */
const char *ana_run_model(const ana_run_t *r);
/* The configuration's departures from the paper preset other than automation,
 * seed and seats ("paper" when none), e.g. "bonus=1000;types=policy:10". */
const char *ana_run_intervention(const ana_run_t *r);
const char *ana_run_automation(const ana_run_t *r); /* "none", "auto_fulfill" ... */

int ana_run_n_agents(const ana_run_t *r);
const ana_agent_t *ana_run_agents(const ana_run_t *r);
int ana_run_n_pieces(const ana_run_t *r);
const char *ana_run_piece_name(const ana_run_t *r, int piece);
size_t ana_run_n_transfers(const ana_run_t *r);
const ana_transfer_t *ana_run_transfers(const ana_run_t *r);
int ana_run_n_rounds(const ana_run_t *r);
const ana_round_t *ana_run_rounds(const ana_run_t *r); /* [0] is round 1 */
/* Per seat timing counts, [ana_run_n_agents]. */
const ana_seat_timing_t *ana_run_timing(const ana_run_t *r);

#endif
