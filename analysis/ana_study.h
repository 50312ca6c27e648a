/* ana_study.h: a set of runs (a sweep, or any run directories) and what is
 * computed across them: conditions with their aggregates, the causal
 * decomposition per model, and the tidy CSV tables of docs/ANALYSIS.md.
 *
 * A condition is every run with the same model, intervention, automation arm and
 * extra sweep factors (all but the seed): its seeds are the sample. The
 * decomposition pairs the three automation arms of one model and intervention. */
#ifndef PARLEY_ANA_STUDY_H
#define PARLEY_ANA_STUDY_H

#include "ana_run.h"
#include "ana_stats.h"

#include <jansson.h>

typedef struct ana_study ana_study_t;

/* The metrics aggregated per condition, in the order of aggregates.csv. */
typedef enum {
    ANA_M_PCT_OPTIMAL = 0,
    ANA_M_TASKS,
    ANA_M_TASK_REVENUE,
    ANA_M_GROUP_REVENUE,
    ANA_M_GINI,
    ANA_M_ZERO_REVENUE,
    ANA_M_MESSAGES_PER_TASK,
    ANA_M_TRANSFER_RATE,
    ANA_M_MISREPORT_RATE,
    ANA_M_REQUESTS_MADE,
    ANA_M_FULFIL_RATE,
    ANA_M_TTF_MEAN,
    ANA_M_REQUESTED_SHARE,
    ANA_M_NEEDED_NEVER_SHARED,
    ANA_M_CALLS,
    ANA_M_TOKENS_IN,
    ANA_M_TOKENS_OUT,
    ANA_M_COST_USD,
    ANA_M_COUNT
} ana_metric_t;

const char *ana_metric_name(ana_metric_t m);

typedef struct {
    char label[512]; /* "model | intervention | automation[ | extra]" */
    char model[256], intervention[256], automation[32], extra[256];
    size_t n_runs;      /* runs counted in its statistics */
    const size_t *runs; /* their indices */
    size_t n_excluded;  /* its stopped or partial runs, left out of the statistics */
    ana_summary_t stat[ANA_M_COUNT];
} ana_cond_t;

typedef enum {
    ANA_ARM_BASELINE = 0,
    ANA_ARM_COMPETENCE,
    ANA_ARM_COOPERATION,
    ANA_ARM_COUNT
} ana_arm_t;

typedef struct {
    char model[256], intervention[256], extra[256];
    ana_summary_t arm[ANA_ARM_COUNT]; /* % of optimal; n = 0 when the arm is missing */
    size_t n_excluded[ANA_ARM_COUNT]; /* each arm's stopped and partial runs, left out */
    const char *verdict;              /* "cooperation-limited", "competence-limited", "balanced",
                                       * "at ceiling", "incomplete" */
} ana_decomp_t;

/* The verdict rule, in words, as every report states it (margin in points). */
const char *ana_verdict_rule(void);

ana_study_t *ana_study_new(void);
void ana_study_destroy(ana_study_t **s);
/* Whether stopped and partial runs count in the means (default: no; they are
 * listed and counted as excluded). Call before ana_study_compute. */
void ana_study_set_include_incomplete(ana_study_t *s, bool include);
bool ana_study_includes_incomplete(const ana_study_t *s);
/* Loaded runs left out of the statistics (after compute). */
size_t ana_study_n_excluded(const ana_study_t *s);
bool ana_study_run_in_means(const ana_study_t *s, size_t i);
/* Verdict margin in percentage points of optimal (default 5). */
void ana_study_set_margin(ana_study_t *s, double points);
double ana_study_margin(const ana_study_t *s);

/* Adds one run. `factors` (may be NULL; borrowed) maps sweep keys to the values
 * they were given. If `error` is not NULL the run failed and is recorded as such;
 * otherwise the directory is read (a directory that cannot be read is recorded
 * as failed with the reason). Returns 0, or -1 when out of memory. */
int ana_study_add(ana_study_t *s, const char *id, const char *dir, const json_t *factors,
                  const char *error, ana_diag_fn diag, void *ctx);
/* Adds what a path holds: a run directory (events.jsonl), a sweep directory
 * (sweep.json: its runs with their factors), or a directory of run directories.
 * Returns 0, or -1 with err when the path holds none of these. */
int ana_study_add_path(ana_study_t *s, const char *path, ana_diag_fn diag, void *ctx, char *err,
                       size_t errlen);

/* Computes conditions and the decomposition (call after the last add). */
int ana_study_compute(ana_study_t *s);

size_t ana_study_n_runs(const ana_study_t *s);
const ana_run_t *ana_study_run(const ana_study_t *s, size_t i); /* NULL: failed */
const char *ana_study_run_id(const ana_study_t *s, size_t i);
const char *ana_study_run_error(const ana_study_t *s, size_t i); /* NULL when loaded */
size_t ana_study_n_failed(const ana_study_t *s);
size_t ana_study_n_conds(const ana_study_t *s);
const ana_cond_t *ana_study_cond(const ana_study_t *s, size_t i);
size_t ana_study_n_decomps(const ana_study_t *s);
const ana_decomp_t *ana_study_decomp(const ana_study_t *s, size_t i);

const char *ana_study_run_dir(const ana_study_t *s, size_t i);
const json_t *ana_study_run_factors(const ana_study_t *s, size_t i);  /* borrowed */
const ana_cond_t *ana_study_run_cond(const ana_study_t *s, size_t i); /* NULL: failed */
/* The union of the runs' sweep factor keys, in first-seen order. */
size_t ana_study_n_factor_keys(const ana_study_t *s);
const char *ana_study_factor_key(const ana_study_t *s, size_t k);

#endif
