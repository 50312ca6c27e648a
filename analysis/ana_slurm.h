/* ana_slurm.h: the Slurm executor of `parley sweep` (executor: slurm) and the
 * books it keeps in the sweep directory, which lives on the shared filesystem:
 *   out/slurm/job-N.sh   the batch script of the Nth submission (a job array)
 *   out/slurm/jobs.json  {"jobs": [{"job": "123", "runs_per_task": R,
 *                         "runs": [1, 2, 5]}]}: which array task plays which run
 *   out/logs/slurm-JOB_TASK.out  each task's output; out/logs/run-NNNN.log the run's
 * Each array task runs `parley sweep FILE --out OUT --run-one N` for its runs.
 * A run is in flight while squeue lists its task; done when run-NNNN/summary.json
 * exists (renamed into place last, ana_exec.h). */
#ifndef PARLEY_ANA_SLURM_H
#define PARLEY_ANA_SLURM_H

#include "ana_sweepfile.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum { ANA_SLURM_NONE = 0, ANA_SLURM_QUEUED, ANA_SLURM_RUNNING } ana_slurm_state_t;

/* The scheduler's view of runs 1..n_runs of the sweep in `out`: state[i] for
 * run i+1, from squeue over the jobs in out/slurm/jobs.json; submitted[i] (may
 * be NULL) whether any job was given the run. Returns 0, or -1 with err
 * (squeue missing or refusing). */
int ana_slurm_states(const char *out, size_t n_runs, ana_slurm_state_t *state, bool *submitted,
                     char *err, size_t errlen);

/* Submits one job array playing the runs todo[0..n_todo) (1-based indices),
 * runs_per_task of them per task, with the sweep file's slurm: options, and
 * records it in out/slurm/jobs.json. file and out are as the user wrote them
 * (relative to the current directory, where the tasks start). jobid gets the
 * job's id. Returns 0, or -1 with err. */
int ana_slurm_submit(const char *file, const char *out, const ana_sweepfile_t *spec,
                     const char *parley_bin, const size_t *todo, size_t n_todo, char *jobid,
                     size_t jobid_cap, char *err, size_t errlen);

/* scancel of every job of the sweep in `out`. Returns 0, or -1 with err. */
int ana_slurm_cancel(const char *out, char *err, size_t errlen);

/* `parley sweep --status DIR`: one line per run (finished, running, queued,
 * failed, not submitted) and the counts, from the scheduler (executor: slurm)
 * and the run directories. Exit status 0 when every run is finished, 1 when
 * some are not, 3/4 when DIR is no sweep or squeue failed. */
int ana_slurm_status_main(const char *dir);

#endif
