/* ana_slurm.c: job arrays through sbatch, their state through squeue, scancel
 * (ana_slurm.h). The Slurm commands are run with fork/exec, never through a
 * shell: paths and sbatch_args reach them as they were written. */
#include "ana_slurm.h"
#include "pl_fs.h"
#include "pl_meta.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs argv with stdout into buf (cut at cap-1), stderr into the same buffer
 * after it when `with_err`. Returns the exit status, or -1 when it did not run. */
static int s_capture(char *const *argv, char *buf, size_t cap, bool with_err)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        if (with_err) dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    for (;;) {
        char tmp[4096];
        ssize_t n = read(fds[0], tmp, sizeof tmp);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        size_t take = (size_t)n;
        if (len + take > cap - 1) take = cap - 1 - len;
        memcpy(buf + len, tmp, take);
        len += take;
    }
    buf[len] = '\0';
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int s_join(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s/%s", a, b);
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

static json_t *s_load_jobs(const char *out)
{
    char path[PATH_MAX];
    if (s_join(path, sizeof path, out, "slurm/jobs.json")) return NULL;
    json_t *j = json_load_file(path, 0, NULL);
    if (!j) j = json_pack("{s:[]}", "jobs");
    return j;
}

/* The text of s as one single-quoted sh word. */
static void s_sh_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    fputc('\'', f);
}

static const char *s_opt(const ana_sweepfile_t *spec, const char *key)
{
    return json_string_value(json_object_get(spec->slurm, key));
}

int ana_slurm_states(const char *out, size_t n_runs, ana_slurm_state_t *state, bool *submitted,
                     char *err, size_t errlen)
{
    for (size_t i = 0; i < n_runs; i++) {
        state[i] = ANA_SLURM_NONE;
        if (submitted) submitted[i] = false;
    }
    json_t *jobs = s_load_jobs(out);
    if (!jobs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    json_t *list = json_object_get(jobs, "jobs");
    if (json_array_size(list) == 0) {
        json_decref(jobs);
        return 0;
    }
    size_t i;
    json_t *job;
    json_array_foreach(list, i, job)
    {
        size_t k;
        json_t *run;
        json_array_foreach(json_object_get(job, "runs"), k, run)
        {
            json_int_t r = json_integer_value(run);
            if (submitted && r >= 1 && (size_t)r <= n_runs) submitted[r - 1] = true;
        }
    }
    /* Every job on the machine, array tasks one a line (-r): a job this sweep
     * submitted long ago may be gone from squeue, which is no error. */
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    if (!buf) {
        json_decref(jobs);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char *argv[] = {"squeue", "-h", "-r", "-o", "%F %K %T", NULL};
    int rc = s_capture(argv, buf, cap, false);
    if (rc != 0) {
        snprintf(err, errlen, "squeue %s: is Slurm running here?",
                 rc < 0 ? "did not run" : "failed");
        free(buf);
        json_decref(jobs);
        return -1;
    }
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char jid[64], task[64], st[64];
        if (sscanf(line, "%63s %63s %63s", jid, task, st) != 3) continue;
        char *end;
        long t = strtol(task, &end, 10);
        if (*end || t < 0) continue;
        json_array_foreach(list, i, job)
        {
            if (strcmp(json_string_value(json_object_get(job, "job")) ?: "", jid)) continue;
            json_int_t per = json_integer_value(json_object_get(job, "runs_per_task"));
            json_t *runs = json_object_get(job, "runs");
            if (per < 1) per = 1;
            ana_slurm_state_t s = !strcmp(st, "PENDING") || !strcmp(st, "REQUEUED") ||
                                          !strcmp(st, "CONFIGURING") || !strcmp(st, "SUSPENDED")
                                      ? ANA_SLURM_QUEUED
                                      : ANA_SLURM_RUNNING; /* RUNNING, COMPLETING, ... */
            for (json_int_t k = t * per; k < (t + 1) * per && (size_t)k < json_array_size(runs);
                 k++) {
                json_int_t r = json_integer_value(json_array_get(runs, (size_t)k));
                if (r >= 1 && (size_t)r <= n_runs && state[r - 1] < s) state[r - 1] = s;
            }
        }
    }
    free(buf);
    json_decref(jobs);
    return 0;
}

int ana_slurm_submit(const char *file, const char *out, const ana_sweepfile_t *spec,
                     const char *parley_bin, const size_t *todo, size_t n_todo, char *jobid,
                     size_t jobid_cap, char *err, size_t errlen)
{
    json_t *jobs = s_load_jobs(out), *runs = json_array();
    char dir[PATH_MAX], script[PATH_MAX], cwd[PATH_MAX], logpat[PATH_MAX];
    char **argv = NULL;
    FILE *f = NULL;
    if (!jobs || !runs) goto oom;
    long per = spec->runs_per_task > 0 ? spec->runs_per_task : 1;
    size_t n_tasks = (n_todo + (size_t)per - 1) / (size_t)per;
    size_t n_job = json_array_size(json_object_get(jobs, "jobs")) + 1;
    int sn = snprintf(script, sizeof script, "%s/slurm/job-%zu.sh", out, n_job);
    int ln = snprintf(logpat, sizeof logpat, "%s/logs/slurm-%%A_%%a.out", out);
    if (s_join(dir, sizeof dir, out, "slurm") || sn < 0 || (size_t)sn >= sizeof script || ln < 0 ||
        (size_t)ln >= sizeof logpat || !getcwd(cwd, sizeof cwd)) {
        snprintf(err, errlen, "%s: path too long", out);
        goto fail;
    }
    if (pl_mkdirs(dir) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    if (!(f = fopen(script, "w"))) {
        snprintf(err, errlen, "%s: %s", script, strerror(errno));
        goto fail;
    }
    /* The options as #SBATCH lines: the script says how it was submitted. */
    fprintf(f, "#!/bin/sh\n# parley sweep %s: submission %zu, %zu run(s), %ld per task\n", file,
            n_job, n_todo, per);
    fprintf(f, "#SBATCH --job-name=parley-sweep\n#SBATCH --array=0-%zu\n", n_tasks - 1);
    fprintf(f, "#SBATCH --output=%s\n", logpat);
    if (s_opt(spec, "partition")) fprintf(f, "#SBATCH --partition=%s\n", s_opt(spec, "partition"));
    if (s_opt(spec, "time")) fprintf(f, "#SBATCH --time=%s\n", s_opt(spec, "time"));
    if (s_opt(spec, "mem")) fprintf(f, "#SBATCH --mem=%s\n", s_opt(spec, "mem"));
    if (s_opt(spec, "gpus")) fprintf(f, "#SBATCH --gpus=%s\n", s_opt(spec, "gpus"));
    fputs("cd ", f);
    s_sh_quote(f, cwd);
    fputs(" || exit 1\nset --", f);
    for (size_t i = 0; i < n_todo; i++) {
        fprintf(f, " %zu", todo[i]);
        if (json_array_append_new(runs, json_integer((json_int_t)todo[i]))) goto oom;
    }
    fprintf(f,
            "\nfirst=$((SLURM_ARRAY_TASK_ID * %ld))\n"
            "[ \"$first\" -lt $# ] || exit 0\nshift \"$first\"\nrc=0\nn=0\n"
            "for run in \"$@\"; do\n    [ $n -lt %ld ] || break\n    n=$((n + 1))\n    ",
            per, per);
    s_sh_quote(f, parley_bin);
    fputs(" sweep ", f);
    s_sh_quote(f, file);
    fputs(" --out ", f);
    s_sh_quote(f, out);
    fputs(" --run-one \"$run\" || rc=1\ndone\nexit $rc\n", f);
    if (fclose(f) != 0) {
        f = NULL;
        snprintf(err, errlen, "%s: write failed", script);
        goto fail;
    }
    f = NULL;
    size_t n_extra = json_array_size(json_object_get(spec->slurm, "sbatch_args"));
    if (!(argv = calloc(n_extra + 4, sizeof *argv))) goto oom;
    size_t a = 0;
    argv[a++] = "sbatch";
    argv[a++] = "--parsable";
    for (size_t i = 0; i < n_extra; i++)
        argv[a++] = (char *)json_string_value(
            json_array_get(json_object_get(spec->slurm, "sbatch_args"), i));
    argv[a++] = script;
    argv[a] = NULL;
    char outbuf[4096];
    int rc = s_capture(argv, outbuf, sizeof outbuf, true);
    char *semi = strpbrk(outbuf, ";\n");
    if (semi) *semi = '\0';
    if (rc != 0 || !outbuf[0] || strspn(outbuf, "0123456789") != strlen(outbuf)) {
        snprintf(err, errlen, "sbatch %s: %s", rc < 0 ? "did not run" : "refused the job",
                 outbuf[0] ? outbuf : "(no output)");
        goto fail;
    }
    snprintf(jobid, jobid_cap, "%s", outbuf);
    json_t *rec = json_pack("{s:s,s:I,s:O,s:s}", "job", outbuf, "runs_per_task", (json_int_t)per,
                            "runs", runs, "script", script);
    char path[PATH_MAX], tmp[PATH_MAX];
    if (!rec || json_array_append_new(json_object_get(jobs, "jobs"), rec) ||
        s_join(path, sizeof path, dir, "jobs.json") ||
        s_join(tmp, sizeof tmp, dir, ".jobs.json.tmp"))
        goto oom;
    /* Renamed into place: the record of a submitted job is never half written. */
    if (json_dump_file(jobs, tmp, JSON_INDENT(2)) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot write (job %s was submitted: scancel %s)", path, jobid,
                 jobid);
        goto fail;
    }
    free(argv);
    json_decref(runs);
    json_decref(jobs);
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    if (f) fclose(f);
    free(argv);
    json_decref(runs);
    json_decref(jobs);
    return -1;
}

int ana_slurm_cancel(const char *out, char *err, size_t errlen)
{
    json_t *jobs = s_load_jobs(out);
    if (!jobs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    json_t *list = json_object_get(jobs, "jobs");
    size_t n = json_array_size(list);
    if (n == 0) {
        json_decref(jobs);
        snprintf(err, errlen, "%s/slurm/jobs.json: no job submitted from this sweep", out);
        return -1;
    }
    char **argv = calloc(n + 2, sizeof *argv);
    if (!argv) {
        json_decref(jobs);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    argv[0] = "scancel";
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)json_string_value(json_object_get(json_array_get(list, i), "job"));
    char buf[4096];
    int rc = s_capture(argv, buf, sizeof buf, true);
    if (rc != 0)
        snprintf(err, errlen, "scancel failed: %s", buf[0] ? buf : "(no output)");
    else
        for (size_t i = 1; i <= n; i++) printf("cancelled job %s\n", argv[i]);
    free(argv);
    json_decref(jobs);
    return rc == 0 ? 0 : -1;
}

int ana_slurm_status_main(const char *dir)
{
    char path[PATH_MAX], err[1024] = "";
    if (s_join(path, sizeof path, dir, "sweep.json")) return PL_EXIT_USAGE;
    json_error_t jerr;
    json_t *sw = json_load_file(path, 0, &jerr);
    if (!sw) {
        fprintf(stderr, "parley sweep --status: %s: %s (is %s a sweep directory?)\n", path,
                jerr.text, dir);
        return PL_EXIT_CONFIG;
    }
    const char *executor = json_string_value(json_object_get(sw, "executor")) ?: "process";
    json_t *runs = json_object_get(sw, "runs");
    size_t n = json_array_size(runs);
    ana_slurm_state_t *state = calloc(n + 1, sizeof *state);
    bool *submitted = calloc(n + 1, sizeof *submitted);
    int rc = PL_EXIT_SYSTEM;
    if (!state || !submitted) goto done;
    bool slurm = !strcmp(executor, "slurm");
    if (slurm && ana_slurm_states(dir, n, state, submitted, err, sizeof err) != 0) {
        fprintf(stderr, "parley sweep --status: %s\n", err);
        goto done;
    }
    size_t c_done = 0, c_run = 0, c_queued = 0, c_failed = 0, c_missing = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(runs, i);
        const char *id = json_string_value(json_object_get(r, "id")) ?: "?";
        char p[PATH_MAX], logp[PATH_MAX];
        struct stat st;
        int a = snprintf(p, sizeof p, "%s/%s/summary.json", dir, id);
        int b = snprintf(logp, sizeof logp, "%s/logs/%s.log", dir, id);
        if (a < 0 || (size_t)a >= sizeof p || b < 0 || (size_t)b >= sizeof logp) goto done;
        const char *what;
        if (stat(p, &st) == 0)
            what = "finished", c_done++;
        else if (state[i] == ANA_SLURM_RUNNING)
            what = "running", c_run++;
        else if (state[i] == ANA_SLURM_QUEUED)
            what = "queued", c_queued++;
        else if (stat(logp, &st) == 0 || submitted[i] ||
                 !strcmp(json_string_value(json_object_get(r, "status")) ?: "", "failed"))
            /* Submitted or started, out of the queue, no summary: it failed or was
             * cancelled (the log says which). Under kube a run not yet started
             * by the cluster has no log: it shows as not started. */
            what = "failed", c_failed++;
        else
            what = slurm ? "not submitted" : "not started", c_missing++;
        char *set = json_dumps(json_object_get(r, "set"), JSON_COMPACT);
        printf("%s  %-13s %s\n", id, what, set ? set : "");
        free(set);
    }
    printf("%s: %zu runs: %zu finished, %zu running, %zu queued, %zu failed, %zu %s "
           "(executor %s)\n",
           dir, n, c_done, c_run, c_queued, c_failed, c_missing,
           slurm ? "not submitted" : "not started", executor);
    rc = c_done == n ? PL_EXIT_OK : PL_EXIT_FAILED;
done:
    free(state);
    free(submitted);
    json_decref(sw);
    return rc;
}
