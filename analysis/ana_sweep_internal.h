/* ana_sweep_internal.h: what the sweep runner's files share (ana_sweep.c:
 * the plan, local execution, tables; ana_sweep_cluster.c: the per-run
 * prologue, --run-one, and submission to a scheduler). Not a public API. */
#ifndef PARLEY_ANA_SWEEP_INTERNAL_H
#define PARLEY_ANA_SWEEP_INTERNAL_H

#include "ana_sweepfile.h"
#include "pl_config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef enum { ANA_SW_PENDING = 0, ANA_SW_RUNNING, ANA_SW_DONE, ANA_SW_FAILED } ana_sw_status_t;

typedef struct {
    char id[32];
    json_t *set; /* key -> value text, the factor values of this run */
    ana_sw_status_t status;
    char *error;
    pid_t pid;
    bool resumed; /* done before this invocation */
} ana_sw_run_t;

typedef struct {
    char *file, *file_dir;
    ana_sweepfile_t spec; /* what the file (and the options) say */
    ana_sw_run_t *runs;
    size_t n_runs;
    bool quiet;
    int lock_fd;
} ana_sw_t;

/* ana_sweep.c */
bool ana_sw_exists(const char *path);
int ana_sw_join(char *out, size_t cap, const char *a, const char *b);
char *ana_sw_last_line(const char *path);
char *ana_sw_parley_bin(void);
pl_config_t *ana_sw_run_config(const ana_sw_t *sw, const ana_sw_run_t *r, char *err, size_t errlen);
pid_t ana_sw_start(ana_sw_t *sw, ana_sw_run_t *r, const char *parley_bin, const char *into,
                   json_t *extra, char *err, size_t errlen);
int ana_sw_tables(ana_sw_t *sw);
int ana_sw_wipe(const char *dir);
void ana_sw_write_sweep_json(const ana_sw_t *sw);
/* ana_sweep_cluster.c: plays run n of the sweep (--run-one), or submits what
 * is missing to the sweep's scheduler (executor slurm or kube). */
int ana_sw_run_one(ana_sw_t *sw, long n);
int ana_sw_submit(ana_sw_t *sw);

#endif
