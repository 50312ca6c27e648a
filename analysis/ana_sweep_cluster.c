/* ana_sweep_cluster.c: a sweep beyond one machine (docs/CLUSTER.md): the
 * per-run prologue, `--run-one` (one run played into a .part directory that
 * counts only once whole), and submission of what is missing or failed to the
 * scheduler (executor slurm: one job array; executor kube: an Indexed Job). */
#include "ana_sweep.h"
#include "ana_sweep_internal.h"
#include "ana_budget.h"
#include "ana_exec.h"
#include "ana_kube.h"
#include "ana_slurm.h"
#include "pl_fs.h"
#include "ana_lock.h"
#include "ana_report.h"
#include "ana_tables.h"
#include "pl_meta.h"
#include "ana_study.h"
#include "ana_sweepfile.h"
#include "pl_config_orig.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The sweep file's prologue for run r: `sh PROLOGUE` in its own process group
 * with PARLEY_RUN_ID, PARLEY_RUN_INDEX, PARLEY_RUN_SET (the factor values as
 * JSON), PARLEY_SWEEP_DIR and PARLEY_PROLOGUE_OUT set; each KEY=VALUE line it
 * writes into PARLEY_PROLOGUE_OUT becomes a --set of the run (e.g.
 * seats.0.base_url=http://127.0.0.1:8000/v1). Its output goes to the run's
 * log. Returns the group to stop after the run (>0), or -1 with err. */
static pid_t s_prologue(const ana_sw_t *sw, const ana_sw_run_t *r, size_t index, json_t *extra,
                        char *err, size_t errlen)
{
    char outf[PATH_MAX], log[PATH_MAX], idx[32];
    int a = snprintf(outf, sizeof outf, "%s/.%s.prologue", sw->spec.out, r->id);
    int b = snprintf(log, sizeof log, "%s/logs/%s.prologue.log", sw->spec.out, r->id);
    if (a < 0 || (size_t)a >= sizeof outf || b < 0 || (size_t)b >= sizeof log) {
        snprintf(err, errlen, "path too long");
        return -1;
    }
    snprintf(idx, sizeof idx, "%zu", index);
    char *set = json_dumps(r->set, JSON_COMPACT);
    unlink(outf);
    pid_t pid = set ? fork() : -1;
    if (pid == 0) {
        setpgid(0, 0);
        setenv("PARLEY_RUN_ID", r->id, 1);
        setenv("PARLEY_RUN_INDEX", idx, 1);
        setenv("PARLEY_RUN_SET", set, 1);
        setenv("PARLEY_SWEEP_DIR", sw->spec.out, 1);
        setenv("PARLEY_PROLOGUE_OUT", outf, 1);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (fd >= 0) dup2(fd, 1), dup2(fd, 2), close(fd);
        execlp("sh", "sh", sw->spec.prologue, (char *)NULL);
        _exit(127);
    }
    free(set);
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    setpgid(pid, pid);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) break;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        kill(-pid, SIGTERM);
        snprintf(err, errlen, "prologue %.512s failed (exit status %d): see %.1024s",
                 sw->spec.prologue, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), log);
        return -1;
    }
    FILE *f = fopen(outf, "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *eq = strchr(line, '=');
        if (!line[0] || line[0] == '#') continue;
        if (!eq || eq == line) {
            snprintf(err, errlen, "prologue %.512s wrote '%.200s': lines are KEY=VALUE",
                     sw->spec.prologue, line);
            fclose(f);
            kill(-pid, SIGTERM);
            return -1;
        }
        *eq = '\0';
        if (json_object_set_new(extra, line, json_string(eq + 1))) {
            snprintf(err, errlen, "out of memory");
            fclose(f);
            kill(-pid, SIGTERM);
            return -1;
        }
    }
    if (f) fclose(f);
    unlink(outf);
    return pid;
}

/* --run-one N (what an array task or an indexed pod runs): run N with the
 * process executor, into out/.run-NNNN.part, renamed to out/run-NNNN once it
 * holds summary.json; so a task killed at any moment leaves no half run that
 * counts as done. A run already finished is not played again, and a per-run
 * lock keeps two tasks off one run. Exit 0 when the run is finished. */
int ana_sw_run_one(ana_sw_t *sw, long n)
{
    if (n < 1 || (size_t)n > sw->n_runs) {
        fprintf(stderr, "parley sweep: --run-one %ld: the sweep has runs 1 to %zu\n", n,
                sw->n_runs);
        return PL_EXIT_USAGE;
    }
    ana_sw_run_t *r = &sw->runs[n - 1];
    char dir[PATH_MAX], part[PATH_MAX], sum[PATH_MAX], psum[PATH_MAX], lock[PATH_MAX];
    char err[2048] = "", logs[PATH_MAX];
    int a = snprintf(part, sizeof part, "%s/.%s.part", sw->spec.out, r->id);
    int b = snprintf(lock, sizeof lock, "%s/.%s.lock", sw->spec.out, r->id);
    if (a < 0 || (size_t)a >= sizeof part || b < 0 || (size_t)b >= sizeof lock ||
        ana_sw_join(dir, sizeof dir, sw->spec.out, r->id) ||
        ana_sw_join(sum, sizeof sum, dir, "summary.json") ||
        ana_sw_join(psum, sizeof psum, part, "summary.json") ||
        ana_sw_join(logs, sizeof logs, sw->spec.out, "logs") || pl_mkdirs(logs) != 0) {
        fprintf(stderr, "parley sweep: %s: cannot prepare the run\n", sw->spec.out);
        return PL_EXIT_SYSTEM;
    }
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        fprintf(stderr, "parley sweep: %s: %s\n", lock, strerror(errno));
        return PL_EXIT_SYSTEM;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        printf("%s: another task is playing it; not played twice\n", r->id);
        close(fd);
        return PL_EXIT_OK;
    }
    if (ana_sw_exists(sum)) {
        printf("%s: already finished; not played again\n", r->id);
        close(fd);
        return PL_EXIT_OK;
    }
    json_t *extra = json_object();
    char *bin = ana_sw_parley_bin();
    pid_t pro = 0, pid = -1;
    int rc = PL_EXIT_FAILED, st = 0;
    if (!extra || !bin) {
        snprintf(err, sizeof err, "out of memory");
        goto done;
    }
    if (sw->spec.prologue && (pro = s_prologue(sw, r, (size_t)n, extra, err, sizeof err)) < 0)
        goto done;
    if ((pid = ana_sw_start(sw, r, bin, part, extra, err, sizeof err)) < 0) goto done;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) break;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !ana_sw_exists(psum)) {
        char *last = NULL, log[PATH_MAX];
        if (snprintf(log, sizeof log, "%s/%s.log", logs, r->id) < (int)sizeof log)
            last = ana_sw_last_line(log);
        snprintf(err, sizeof err, "the game did not finish%s%s", last ? ": " : "",
                 last ? last : "");
        free(last);
        goto done;
    }
    /* A directory left by an earlier, killed attempt never holds summary.json. */
    if ((ana_sw_exists(dir) && ana_sw_wipe(dir)) || rename(part, dir) != 0) {
        snprintf(err, sizeof err, "%.1024s: cannot move the run into place: %s", dir,
                 strerror(errno));
        goto done;
    }
    printf("%s: finished\n", r->id);
    rc = PL_EXIT_OK;
done:
    if (pro > 0) kill(-pro, SIGTERM); /* what the prologue started, e.g. a model server */
    if (rc) fprintf(stderr, "parley sweep: %s: %s\n", r->id, err);
    json_decref(extra);
    free(bin);
    close(fd);
    return rc;
}

/* executor: slurm or kube, under the sweep's lock: finds what is finished (run
 * directories) and, for Slurm, what is queued or running (squeue; asked first,
 * so that a task ending in between is seen finished, never missing), then
 * hands only the rest to the scheduler. With nothing left, writes the tables. */
int ana_sw_submit(ana_sw_t *sw)
{
    bool slurm = !strcmp(sw->spec.executor, "slurm");
    ana_slurm_state_t *state = calloc(sw->n_runs + 1, sizeof *state);
    size_t *todo = calloc(sw->n_runs + 1, sizeof *todo);
    size_t n_todo = 0, n_done = 0, n_flight = 0;
    char err[2048] = "", job[64] = "";
    int rc = PL_EXIT_SYSTEM;
    char *bin = ana_sw_parley_bin();
    if (!state || !todo || !bin) goto done;
    if (slurm && ana_slurm_states(sw->spec.out, sw->n_runs, state, NULL, err, sizeof err))
        goto fail;
    for (size_t i = 0; i < sw->n_runs; i++) {
        ana_sw_run_t *r = &sw->runs[i];
        char path[PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/%s/summary.json", sw->spec.out, r->id);
        if (n > 0 && (size_t)n < sizeof path && ana_sw_exists(path)) {
            r->status = ANA_SW_DONE;
            n_done++;
        } else if (state[i] != ANA_SLURM_NONE) {
            r->status = ANA_SW_RUNNING;
            n_flight++;
        } else {
            char e[1024] = "";
            pl_config_t *c = ana_sw_run_config(sw, r, e, sizeof e);
            if (!c) {
                r->status = ANA_SW_FAILED;
                free(r->error);
                r->error = strdup(e);
                fprintf(stderr, "parley sweep: %s not submitted: %s\n", r->id, e);
                continue;
            }
            pl_config_destroy(&c);
            todo[n_todo++] = i + 1;
        }
    }
    ana_sw_write_sweep_json(sw);
    if (n_todo && slurm &&
        ana_slurm_submit(sw->file, sw->spec.out, &sw->spec, bin, todo, n_todo, job, sizeof job, err,
                         sizeof err))
        goto fail;
    if (n_todo && !slurm &&
        ana_kube_write(sw->file, sw->spec.out, &sw->spec, todo, n_todo, job, sizeof job, err,
                       sizeof err))
        goto fail;
    if (n_todo && slurm)
        printf("submitted job %s: %zu run(s); %zu finished, %zu already queued or running\n", job,
               n_todo, n_done, n_flight);
    else if (n_todo)
        printf("wrote %s: an Indexed Job of %zu run(s) (%zu finished); kubectl apply -f %s\n", job,
               n_todo, n_done, job);
    else if (n_flight)
        printf("nothing to submit: %zu finished, %zu queued or running\n", n_done, n_flight);
    if (n_todo || n_flight) {
        printf("follow it with: parley sweep --status %s\n", sw->spec.out);
        rc = PL_EXIT_OK;
        goto done;
    }
    if (!sw->quiet) printf("all %zu runs finished: writing the tables\n", n_done);
    rc = ana_sw_tables(sw) ? PL_EXIT_SYSTEM : n_done == sw->n_runs ? PL_EXIT_OK : PL_EXIT_FAILED;
    goto done;
fail:
    fprintf(stderr, "parley sweep: %s\n", err);
done:
    free(state);
    free(todo);
    free(bin);
    return rc;
}
