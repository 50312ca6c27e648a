/* ana_sweep.c: `parley sweep` (ana_sweep.h). The plan (every run and its
 * assignments) is expanded from the sweep file, then runs are started as child
 * processes under the concurrency limit: `parley run` (executor: process) or a
 * fork that plays the game itself (executor: inprocess). Children die with the
 * sweep (PR_SET_PDEATHSIG), so a killed sweep leaves no orphan writing into a
 * run directory that the next sweep will redo. */
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

/* -------------------------------------------------------------- the plan -- */

/* Applies every "key": "value" of obj to *c as key=value; on a refusal frees
 * *c (NULL) and leaves the reason in err. */
static void s_apply_sets(pl_config_t **c, json_t *obj, char *err, size_t errlen)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        char a[8192];
        snprintf(a, sizeof a, "%s=%s", k, json_string_value(v));
        if (pl_config_set(*c, a, err, errlen)) {
            pl_config_destroy(c);
            return;
        }
    }
}

static pl_config_t *s_base_config(const ana_sw_t *sw, char *err, size_t errlen)
{
    pl_config_t *c =
        sw->spec.base ? pl_config_load_any(sw->spec.base, err, errlen) : pl_config_default();
    if (!c && !sw->spec.base) snprintf(err, errlen, "out of memory");
    if (c) s_apply_sets(&c, sw->spec.fixed, err, errlen);
    return c;
}

/* The configuration of run i (base + set + its factor values), or NULL with err. */
pl_config_t *ana_sw_run_config(const ana_sw_t *sw, const ana_sw_run_t *r, char *err, size_t errlen)
{
    pl_config_t *c = s_base_config(sw, err, errlen);
    if (c) s_apply_sets(&c, r->set, err, errlen);
    return c;
}

static int s_expand(ana_sw_t *sw)
{
    size_t nf = json_object_size(sw->spec.factors), total = 1;
    const char **keys = calloc(nf + 1, sizeof *keys);
    json_t **vals = calloc(nf + 1, sizeof *vals);
    size_t *idx = calloc(nf + 1, sizeof *idx);
    if (!keys || !vals || !idx) goto fail;
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(sw->spec.factors, k, v)
    {
        keys[i] = k;
        vals[i++] = v;
        total *= json_array_size(v);
    }
    sw->runs = calloc(total, sizeof *sw->runs);
    if (!sw->runs) goto fail;
    for (size_t r = 0; r < total; r++) {
        ana_sw_run_t *run = &sw->runs[r];
        snprintf(run->id, sizeof run->id, "run-%04zu", r + 1);
        if (!(run->set = json_object())) goto fail;
        sw->n_runs++;
        for (size_t f = 0; f < nf; f++)
            if (json_object_set(run->set, keys[f], json_array_get(vals[f], idx[f]))) goto fail;
        /* The last factor varies fastest, like nested loops written in file order. */
        for (size_t f = nf; f-- > 0;) {
            if (++idx[f] < json_array_size(vals[f])) break;
            idx[f] = 0;
        }
    }
    free(keys);
    free(vals);
    free(idx);
    return 0;
fail:
    free(keys);
    free(vals);
    free(idx);
    return -1;
}

int ana_sw_join(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s/%s", a, b);
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

bool ana_sw_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* rm -rf of one run directory (files and one level of subdirectories deeper:
 * run directories hold per-agent logs at most). */
int ana_sw_wipe(const char *dir)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execlp("rm", "rm", "-rf", "--", dir, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int s_write_sweep_json_now(const ana_sw_t *sw);

/* sweep.json is the record of each run's status: a failure to write it is said
 * (once per sweep is enough to be noticed) but does not stop the runs. */
void ana_sw_write_sweep_json(const ana_sw_t *sw)
{
    static bool warned;
    if (s_write_sweep_json_now(sw) != 0 && !warned) {
        warned = true;
        fprintf(stderr, "parley sweep: warning: cannot write %s/sweep.json\n", sw->spec.out);
    }
}

static int s_write_sweep_json_now(const ana_sw_t *sw)
{
    json_t *root = json_object(), *runs = json_array();
    if (!root || !runs) goto fail;
    static const char *const names[] = {"pending", "running", "done", "failed"};
    for (size_t i = 0; i < sw->n_runs; i++) {
        const ana_sw_run_t *r = &sw->runs[i];
        json_t *o = json_pack("{s:s,s:s,s:O,s:s}", "id", r->id, "dir", r->id, "set", r->set,
                              "status", names[r->status]);
        if (!o) goto fail;
        if (r->error) json_object_set_new(o, "error", json_string(r->error));
        if (json_array_append_new(runs, o)) goto fail;
    }
    if (json_object_set_new(root, "file", json_string(sw->file)) ||
        json_object_set_new(root, "base",
                            sw->spec.base ? json_string(sw->spec.base) : json_null()) ||
        json_object_set_new(root, "executor", json_string(sw->spec.executor)) ||
        json_object_set(root, "set", sw->spec.fixed) ||
        json_object_set(root, "factors", sw->spec.factors) ||
        json_object_set_new(root, "runs", runs))
        goto fail;
    runs = NULL;
    char path[PATH_MAX], tmp[PATH_MAX];
    if (ana_sw_join(path, sizeof path, sw->spec.out, "sweep.json") ||
        ana_sw_join(tmp, sizeof tmp, sw->spec.out, ".sweep.json.tmp"))
        goto fail;
    /* Renamed into place: a sweep killed while writing leaves the old file whole. */
    if (json_dump_file(root, tmp, JSON_INDENT(2)) != 0 || rename(tmp, path) != 0) goto fail;
    json_decref(root);
    return 0;
fail:
    json_decref(runs);
    json_decref(root);
    return -1;
}

/* A sweep directory belongs to one plan: if sweep.json there lists a run id with
 * other factor values, resuming would mix two experiments under one name. */
static int s_check_plan(const ana_sw_t *sw, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (ana_sw_join(path, sizeof path, sw->spec.out, "sweep.json")) return 0;
    json_error_t jerr;
    json_t *old = json_load_file(path, 0, &jerr);
    if (!old) return 0; /* a first start, or a file cut short: nothing to compare */
    int rc = 0;
    size_t i;
    json_t *run;
    json_array_foreach(json_object_get(old, "runs"), i, run)
    {
        const char *id = json_string_value(json_object_get(run, "id"));
        if (!id) continue;
        const ana_sw_run_t *now = NULL;
        for (size_t k = 0; k < sw->n_runs && !now; k++)
            if (!strcmp(sw->runs[k].id, id)) now = &sw->runs[k];
        if (!now || !json_equal(now->set, json_object_get(run, "set"))) {
            snprintf(err, errlen,
                     "%s/sweep.json: run %s was planned with other factor values: this "
                     "directory holds another sweep (choose a new out: directory)",
                     sw->spec.out, id);
            rc = -1;
            break;
        }
    }
    json_decref(old);
    return rc;
}

/* ------------------------------------------------------------ executing -- */

char *ana_sw_parley_bin(void)
{
    const char *env = getenv("PARLEY_BIN");
    char buf[PATH_MAX];
    if (env && *env) {
        struct stat st;
        if (stat(env, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (ana_sw_join(buf, sizeof buf, env, "parley")) return NULL;
            return strdup(buf);
        }
        return strdup(env);
    }
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return strdup("parley");
    buf[n] = '\0';
    char *d = dirname(buf);
    char out[PATH_MAX];
    if (ana_sw_join(out, sizeof out, d, "parley")) return NULL;
    return strdup(out);
}

/* In the child: its own process group (the sweep stops a worker with all it
 * started), dies with the sweep (PR_SET_PDEATHSIG, then a check that the sweep
 * did not die before that took effect), output into the run's log. The lock
 * fd stays open on purpose: the directory stays locked until the last worker
 * of this sweep is gone, so a restarted sweep can never race a dying one. */
static void s_child_setup(const ana_sw_t *sw, const ana_sw_run_t *r, pid_t parent, const char *log,
                          int deathsig)
{
    setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, deathsig) != 0 || getppid() != parent) _exit(125);
    sigset_t none; /* the sweep blocks these; a worker takes them as usual */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* For meta.json: which sweep and run this is (pl_meta_json). */
    setenv("PARLEY_SWEEP", sw->file, 1);
    setenv("PARLEY_SWEEP_RUN", r->id, 1);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd >= 0) {
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0) dup2(in, 0), close(in);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
}

/* Starts run r into its directory, or into `into` when given (--run-one plays
 * into a temporary directory), with the prologue's settings `extra` (or NULL)
 * after the run's own. */
pid_t ana_sw_start(ana_sw_t *sw, ana_sw_run_t *r, const char *parley_bin, const char *into,
                   json_t *extra, char *err, size_t errlen)
{
    char dir[PATH_MAX], log[PATH_MAX], logs[PATH_MAX];
    int dn = into ? snprintf(dir, sizeof dir, "%s", into) : 0;
    if (dn < 0 || (size_t)dn >= sizeof dir ||
        (!into && ana_sw_join(dir, sizeof dir, sw->spec.out, r->id)) ||
        ana_sw_join(logs, sizeof logs, sw->spec.out, "logs")) {
        snprintf(err, errlen, "path too long");
        return -1;
    }
    int ln = snprintf(log, sizeof log, "%s/%s.log", logs, r->id);
    if (ln < 0 || (size_t)ln >= sizeof log) {
        snprintf(err, errlen, "path too long");
        return -1;
    }
    /* A directory without summary.json is a partial run: start it afresh. */
    if (ana_sw_exists(dir) && ana_sw_wipe(dir)) {
        snprintf(err, errlen, "%s: cannot remove the partial run", r->id);
        return -1;
    }
    pl_config_t *c = ana_sw_run_config(sw, r, err, errlen);
    if (!c) return -1;
    bool inproc = strcmp(sw->spec.executor, "inprocess") == 0;
    if (inproc && !ana_exec_inprocess_ok(c, err, errlen)) {
        pl_config_destroy(&c);
        return -1;
    }
    /* argv for `parley run BASE --out DIR --set k=v ... --quiet` */
    size_t n_set =
        json_object_size(sw->spec.fixed) + json_object_size(r->set) + json_object_size(extra);
    char **argv = calloc(2 * n_set + 8, sizeof *argv);
    char **owned = calloc(n_set + 1, sizeof *owned);
    size_t a = 0, o = 0;
    if (!argv || !owned) goto oom;
    argv[a++] = (char *)"parley";
    argv[a++] = (char *)"run";
    if (sw->spec.base) argv[a++] = sw->spec.base;
    argv[a++] = (char *)"--out";
    argv[a++] = dir;
    json_t *maps[3] = {sw->spec.fixed, r->set, extra};
    for (int m = 0; m < 3; m++) {
        const char *k;
        json_t *v;
        json_object_foreach(maps[m], k, v)
        {
            size_t need = strlen(k) + strlen(json_string_value(v)) + 2;
            if (!(owned[o] = malloc(need))) goto oom;
            snprintf(owned[o], need, "%s=%s", k, json_string_value(v));
            argv[a++] = (char *)"--set";
            argv[a++] = owned[o++];
        }
    }
    argv[a++] = (char *)"--quiet";
    argv[a] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        if (inproc) {
            s_child_setup(sw, r, parent, log, SIGKILL);
            char e[1024];
            bool seeded =
                json_object_get(r->set, "seed") || json_object_get(sw->spec.fixed, "seed");
            pl_seed_source_t src = seeded                                  ? PL_SEED_SWEEP
                                   : pl_meta_file_sets_seed(sw->spec.base) ? PL_SEED_CONFIG
                                                                           : PL_SEED_DEFAULT;
            if (ana_exec_inprocess(c, dir, src, e, sizeof e) != 0) {
                fprintf(stderr, "%s\n", e);
                _exit(1);
            }
            _exit(0);
        }
        /* `parley run` gets SIGTERM so that it can stop its own broker and agents. */
        s_child_setup(sw, r, parent, log, SIGTERM);
        execv(parley_bin, argv);
        fprintf(stderr, "cannot run %s: %s\n", parley_bin, strerror(errno));
        _exit(127);
    }
    if (pid < 0) snprintf(err, errlen, "fork: %s", strerror(errno));
    if (pid > 0) setpgid(pid, pid); /* also here: no window in which a stop misses it */
    for (size_t i = 0; i < o; i++) free(owned[i]);
    free(owned);
    free(argv);
    pl_config_destroy(&c);
    return pid;
oom:
    for (size_t i = 0; i < o; i++) free(owned[i]);
    free(owned);
    free(argv);
    pl_config_destroy(&c);
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* The last non-empty line of a log, as the error of a failed run. */
char *ana_sw_last_line(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char line[1024], last[1024] = "";
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (n) memcpy(last, line, n + 1);
    }
    fclose(f);
    return last[0] ? strdup(last) : NULL;
}

static void s_finish(ana_sw_t *sw, ana_sw_run_t *r, int status)
{
    char path[PATH_MAX], dir[PATH_MAX], log[PATH_MAX];
    r->pid = 0;
    if (ana_sw_join(dir, sizeof dir, sw->spec.out, r->id) ||
        ana_sw_join(path, sizeof path, dir, "summary.json"))
        return;
    int n = snprintf(log, sizeof log, "%s/logs/%s.log", sw->spec.out, r->id);
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && ana_sw_exists(path);
    if (ok) {
        r->status = ANA_SW_DONE;
        return;
    }
    r->status = ANA_SW_FAILED;
    char *last = n > 0 && (size_t)n < sizeof log ? ana_sw_last_line(log) : NULL;
    char msg[1400];
    if (WIFSIGNALED(status))
        snprintf(msg, sizeof msg, "killed by signal %d%s%s", WTERMSIG(status), last ? ": " : "",
                 last ? last : "");
    else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        snprintf(msg, sizeof msg, "exit status %d%s%s", WEXITSTATUS(status), last ? ": " : "",
                 last ? last : "");
    else
        snprintf(msg, sizeof msg, "finished without summary.json");
    free(last);
    free(r->error);
    r->error = strdup(msg);
}

static void s_progress(const ana_sw_t *sw, size_t done_now, size_t resumed, size_t failed,
                       size_t running, time_t t0, bool final)
{
    bool tty = isatty(2);
    /* Without a terminal every completion already printed its line. */
    if (sw->quiet || (final && !tty)) return;
    size_t total = sw->n_runs, finished = done_now + resumed + failed;
    int width = 30, fill = total ? (int)((double)finished / (double)total * width) : width;
    char eta[32] = "--:--";
    size_t left = total - finished;
    double el = difftime(time(NULL), t0);
    if (done_now + failed > 0 && left) {
        long s = (long)(el / (double)(done_now + failed) * (double)left + 0.5);
        snprintf(eta, sizeof eta, "%ld:%02ld", s / 60, s % 60);
    } else if (!left)
        snprintf(eta, sizeof eta, "0:00");
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "%ssweep [%s] %zu/%zu done (%zu resumed), %zu failed, %zu running, ETA %s%s",
            tty ? "\r" : "", bar, finished - failed, total, resumed, failed, running, eta,
            tty && !final ? "  " : "\n");
    fflush(stderr);
}

/* Ctrl-C or SIGTERM: no new run starts, each running worker's group gets
 * SIGTERM (parley run stops its broker, which records a partial run), and the
 * sweep waits for them all before it writes its record. */
static void s_stop_workers(ana_sw_t *sw)
{
    for (size_t i = 0; i < sw->n_runs; i++)
        if (sw->runs[i].status == ANA_SW_RUNNING && sw->runs[i].pid > 0)
            kill(-sw->runs[i].pid, SIGTERM);
}

/* Children ending and stop signals arrive through sigwaitinfo with all three
 * blocked: a signal between "is anyone done?" and "wait" cannot be missed. */
static int s_execute(ana_sw_t *sw)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, &old) != 0) return -1;
    bool stopping = false;
    char *bin = ana_sw_parley_bin();
    if (!bin) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        return -1;
    }
    size_t resumed = 0, done_now = 0, failed = 0, running = 0, next = 0;
    for (size_t i = 0; i < sw->n_runs; i++) {
        char path[PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/%s/summary.json", sw->spec.out, sw->runs[i].id);
        if (n > 0 && (size_t)n < sizeof path && ana_sw_exists(path)) {
            sw->runs[i].status = ANA_SW_DONE;
            sw->runs[i].resumed = true;
            resumed++;
        }
    }
    time_t t0 = time(NULL);
    ana_sw_write_sweep_json(sw);
    s_progress(sw, done_now, resumed, failed, running, t0, false);
    for (;;) {
        while (!stopping && running < (size_t)sw->spec.concurrency && next < sw->n_runs) {
            ana_sw_run_t *r = &sw->runs[next++];
            if (r->status == ANA_SW_DONE) continue;
            char err[1024] = "";
            pid_t pid = ana_sw_start(sw, r, bin, NULL, NULL, err, sizeof err);
            if (pid < 0) {
                r->status = ANA_SW_FAILED;
                free(r->error);
                r->error = strdup(err);
                failed++;
                ana_sw_write_sweep_json(sw);
                continue;
            }
            free(r->error);
            r->error = NULL;
            r->status = ANA_SW_RUNNING;
            r->pid = pid;
            running++;
        }
        if (!running) break;
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid < 0 && errno != EINTR) break;
        if (pid <= 0) {
            int sig = sigwaitinfo(&set, NULL);
            if ((sig == SIGINT || sig == SIGTERM) && !stopping) {
                stopping = true;
                if (!sw->quiet) fprintf(stderr, "\nsweep: stopping (signal %d)...\n", sig);
                s_stop_workers(sw);
            }
            continue;
        }
        for (size_t i = 0; i < sw->n_runs; i++) {
            ana_sw_run_t *r = &sw->runs[i];
            if (r->status != ANA_SW_RUNNING || r->pid != pid) continue;
            running--;
            s_finish(sw, r, st);
            if (r->status == ANA_SW_DONE)
                done_now++;
            else
                failed++;
            ana_sw_write_sweep_json(sw);
            s_progress(sw, done_now, resumed, failed, running, t0, false);
            break;
        }
    }
    s_progress(sw, done_now, resumed, failed, running, t0, true);
    free(bin);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return failed || stopping ? PL_EXIT_FAILED : PL_EXIT_OK;
}

/* ------------------------------------------------------------- command -- */

static void s_on_diag(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "warning: %s\n", msg);
}

int ana_sw_tables(ana_sw_t *sw)
{
    ana_study_t *st = ana_study_new();
    char err[1024] = "";
    int rc = 1;
    if (!st) goto done;
    if (sw->spec.have_margin) ana_study_set_margin(st, sw->spec.margin);
    for (size_t i = 0; i < sw->n_runs; i++) {
        ana_sw_run_t *r = &sw->runs[i];
        char dir[PATH_MAX];
        if (ana_sw_join(dir, sizeof dir, sw->spec.out, r->id)) goto done;
        const char *error = r->status == ANA_SW_DONE ? NULL : r->error ? r->error : "not run";
        if (ana_study_add(st, r->id, dir, r->set, error, s_on_diag, NULL)) goto done;
    }
    if (ana_study_compute(st) || ana_tables_write(st, sw->spec.out, err, sizeof err)) goto done;
    char html[PATH_MAX], md[PATH_MAX];
    if (ana_sw_join(html, sizeof html, sw->spec.out, "report.html") ||
        ana_sw_join(md, sizeof md, sw->spec.out, "report.md"))
        goto done;
    if (ana_report_write(st, html, md, err, sizeof err)) goto done;
    /* The answer on the terminal, and where the rest is: the results go to
     * stdout (they are what was asked for), progress and warnings to stderr. */
    if (!sw->quiet) {
        ana_report_print_verdicts(stdout, st);
        printf("report: %s\ntables: %s/*.csv\n", html, sw->spec.out);
        fflush(stdout);
    }
    rc = 0;
done:
    if (rc) fprintf(stderr, "sweep: cannot write the tables: %s\n", err[0] ? err : "out of memory");
    ana_study_destroy(&st);
    return rc;
}

/* ------------------------------------------------- cluster executors -- */

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: parley sweep FILE [--out DIR] [--concurrency N]\n"
            "                    [--executor process|inprocess|slurm|kube] [--dry-run] [--quiet]\n"
            "       parley sweep --status DIR | --cancel DIR\n"
            "Runs every combination of the sweep file's factors (conditions x seeds), resumable,\n"
            "then writes runs.csv, agents.csv, transfers.csv, rounds.csv, aggregates.csv,\n"
            "decomposition.csv, timing.csv, timing_share.csv, report.html and report.md into\n"
            "the output directory.\n"
            "  FILE           the sweep file: base, set, factors, concurrency, executor, out,\n"
            "                 margin (docs/ANALYSIS.md); base: is relative to FILE\n"
            "  --out DIR      the output directory (wins over out:; relative to the current\n"
            "                 directory, like out:); created with its parents\n"
            "  --concurrency  games at once (default: concurrency:, else the online CPUs)\n"
            "  --executor     process: one `parley run` (broker + agent processes) per game;\n"
            "                 inprocess: built-in agents played in a forked child, no broker;\n"
            "                 slurm: one job array (sbatch) of the runs not finished, queued or\n"
            "                 running; kube: an Indexed Job manifest of them (docs/CLUSTER.md)\n"
            "  --status DIR   each run finished, running, queued or failed (squeue and the run\n"
            "                 directories); exit 0 when every run is finished, else 1\n"
            "  --cancel DIR   scancel of every Slurm job of the sweep in DIR\n"
            "  --dry-run      print the plan (each run's configuration built and checked), the\n"
            "                 API keys it needs and the estimate of tokens and cost; run nothing\n"
            "  --quiet        no progress bar, only errors\n"
            "Before the first run every API key the model seats name is checked (all missing\n"
            "variables are named) and the estimate of calls, tokens and cost is printed.\n"
            "A run whose directory holds summary.json is done and never redone; rerun to resume.\n"
            "Ctrl-C stops the runs in progress (recorded as failed) and writes the tables.\n"
            "Exit status: 0 every run done, 1 some run failed or the sweep was stopped (tables\n"
            "written all the same), 2 bad usage, 3 the sweep file, a configuration or an API key\n"
            "refused, 4 a system error (docs/CLI.md).\n");
}

static void s_sweep_free(ana_sw_t *sw)
{
    for (size_t i = 0; i < sw->n_runs; i++) {
        json_decref(sw->runs[i].set);
        free(sw->runs[i].error);
    }
    free(sw->runs);
    json_decref(sw->spec.fixed);
    json_decref(sw->spec.factors);
    free(sw->file);
    free(sw->file_dir);
    free(sw->spec.base);
    free(sw->spec.out);
    free(sw->spec.executor);
    free(sw->spec.prologue);
    json_decref(sw->spec.slurm);
    json_decref(sw->spec.kube);
    if (sw->lock_fd >= 0) close(sw->lock_fd);
}

/* Every API key the plan's model seats name, checked before the first run, and
 * the estimate of what the sweep will spend. Returns 0, or PL_EXIT_CONFIG with
 * the missing variables named in err. */
static int s_check_budget(ana_sw_t *sw, FILE *out, char *err, size_t errlen)
{
    /* In-process runs call no model (an llm seat there fails on its own). */
    if (strcmp(sw->spec.executor, "process") != 0) return 0;
    ana_budget_t b = {0};
    char missing[1024] = "";
    int n_missing = 0;
    for (size_t i = 0; i < sw->n_runs; i++) {
        char e[1024] = "";
        pl_config_t *c = ana_sw_run_config(sw, &sw->runs[i], e, sizeof e);
        if (!c) continue; /* said per run */
        ana_budget_add(&b, c);
        n_missing = ana_budget_missing_keys(c, missing, sizeof missing);
        pl_config_destroy(&c);
    }
    if (!sw->quiet || out == stdout) ana_budget_print(out, &b);
    if (n_missing) {
        snprintf(err, errlen,
                 "the API key variable%s %s %s not set (model seats of this sweep need %s); "
                 "export %s and start again",
                 n_missing > 1 ? "s" : "", missing, n_missing > 1 ? "are" : "is",
                 n_missing > 1 ? "them" : "it", n_missing > 1 ? "them" : "it");
        return PL_EXIT_CONFIG;
    }
    return 0;
}

int ana_sweep_main(int argc, char **argv)
{
    ana_sw_t sw = {.lock_fd = -1};
    bool dry = false;
    int rc = PL_EXIT_CONFIG;
    long run_one = 0;
    const char *file = NULL, *status_dir = NULL, *cancel_dir = NULL;
    char err[2048] = "";
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},      {"concurrency", required_argument, NULL, 'c'},
        {"executor", required_argument, NULL, 'e'}, {"dry-run", no_argument, NULL, 'n'},
        {"quiet", no_argument, NULL, 'q'},          {"help", no_argument, NULL, 'h'},
        {"status", required_argument, NULL, 'S'},   {"cancel", required_argument, NULL, 'C'},
        {"run-one", required_argument, NULL, 'R'},  {NULL, 0, NULL, 0}};
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "o:c:e:nqh", longopts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'o':
            free(sw.spec.out);
            if (!(sw.spec.out = strdup(optarg))) goto oom;
            break;
        case 'c':
            sw.spec.concurrency = (int)strtol(optarg, &end, 10);
            if (*end || sw.spec.concurrency < 1 || sw.spec.concurrency > 4096) {
                fprintf(stderr, "parley sweep: --concurrency takes 1 to 4096, not '%s'\n", optarg);
                rc = PL_EXIT_USAGE;
                goto done;
            }
            break;
        case 'e':
            if (strcmp(optarg, "process") && strcmp(optarg, "inprocess") &&
                strcmp(optarg, "slurm") && strcmp(optarg, "kube")) {
                fprintf(stderr,
                        "parley sweep: --executor takes process, inprocess, slurm or kube, not "
                        "'%s'\n",
                        optarg);
                rc = PL_EXIT_USAGE;
                goto done;
            }
            free(sw.spec.executor);
            if (!(sw.spec.executor = strdup(optarg))) goto oom;
            break;
        case 'n':
            dry = true;
            break;
        case 'S':
            status_dir = optarg;
            break;
        case 'C':
            cancel_dir = optarg;
            break;
        case 'R':
            run_one = strtol(optarg, &end, 10);
            if (*end || run_one < 1) {
                fprintf(stderr, "parley sweep: --run-one takes a run number (1, 2, ...)\n");
                rc = PL_EXIT_USAGE;
                goto done;
            }
            break;
        case 'q':
            sw.quiet = true;
            break;
        case 'h':
            s_usage(stdout);
            rc = PL_EXIT_OK;
            goto done;
        default:
            s_usage(stderr);
            rc = PL_EXIT_USAGE;
            goto done;
        }
    }
    if ((status_dir || cancel_dir) && optind == argc) {
        if (status_dir) rc = ana_slurm_status_main(status_dir);
        if (cancel_dir && ana_slurm_cancel(cancel_dir, err, sizeof err) != 0) {
            fprintf(stderr, "parley sweep --cancel: %s\n", err);
            rc = PL_EXIT_SYSTEM;
        } else if (cancel_dir && !status_dir)
            rc = PL_EXIT_OK;
        goto done;
    }
    if (optind < argc) file = argv[optind++];
    if (!file || optind < argc) {
        if (file) fprintf(stderr, "parley sweep: one FILE ('%s' is extra)\n", argv[optind]);
        s_usage(stderr);
        rc = PL_EXIT_USAGE;
        goto done;
    }
    sw.file = strdup(file);
    char *tmp = strdup(file);
    sw.file_dir = tmp ? strdup(dirname(tmp)) : NULL;
    free(tmp);
    sw.spec.fixed = json_object();
    sw.spec.factors = json_object();
    if (!sw.file || !sw.file_dir || !sw.spec.fixed || !sw.spec.factors) goto oom;
    if (ana_sweepfile_load(sw.file, sw.file_dir, &sw.spec, err, sizeof err)) goto fail;
    if (!sw.spec.executor && !(sw.spec.executor = strdup("process"))) goto oom;
    if (!sw.spec.out) {
        snprintf(err, sizeof err, "%s: no out: directory (write one, or pass --out DIR)", file);
        goto fail;
    }
    if (!sw.spec.concurrency) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        sw.spec.concurrency = n > 0 ? (int)n : 1;
    }
    /* The base and the fixed overrides must load before anything runs. */
    pl_config_t *base = s_base_config(&sw, err, sizeof err);
    if (!base) goto fail;
    pl_config_destroy(&base);
    if (s_expand(&sw)) goto oom;
    if (run_one) {
        /* A task of a cluster job: no sweep lock (its siblings run at the same
         * time), no tables; the submitting sweep checked the plan. */
        rc = ana_sw_run_one(&sw, run_one);
        goto done;
    }
    if (dry) {
        /* The plan, each run's configuration built and checked: a typo in a factor
         * shows here, before any run (or API call) starts. */
        rc = PL_EXIT_OK;
        for (size_t i = 0; i < sw.n_runs; i++) {
            char *t = json_dumps(sw.runs[i].set, JSON_COMPACT);
            char e[1024] = "";
            pl_config_t *c = ana_sw_run_config(&sw, &sw.runs[i], e, sizeof e);
            if (c && !strcmp(sw.spec.executor, "inprocess")) ana_exec_inprocess_ok(c, e, sizeof e);
            printf("%s %s%s%s\n", sw.runs[i].id, t ? t : "", e[0] ? "  ERROR: " : "", e);
            if (e[0]) rc = PL_EXIT_CONFIG;
            pl_config_destroy(&c);
            free(t);
        }
        int b = s_check_budget(&sw, stdout, err, sizeof err);
        if (b) {
            fprintf(stderr, "parley sweep: %s\n", err);
            rc = b;
        }
        goto done;
    }
    if ((rc = s_check_budget(&sw, stderr, err, sizeof err)) != 0) goto fail;
    char logs[PATH_MAX], lock[PATH_MAX];
    rc = PL_EXIT_SYSTEM;
    if (pl_mkdirs(sw.spec.out) != 0 || ana_sw_join(logs, sizeof logs, sw.spec.out, "logs") ||
        pl_mkdirs(logs) != 0 || ana_sw_join(lock, sizeof lock, sw.spec.out, ".sweep.lock")) {
        snprintf(err, sizeof err, "%s: %s", sw.spec.out, strerror(errno));
        goto fail;
    }
    if ((rc = ana_lock_sweep(lock, sw.spec.out, sw.quiet, &sw.lock_fd, err, sizeof err)) != 0)
        goto fail;
    rc = PL_EXIT_CONFIG;
    if (s_check_plan(&sw, err, sizeof err)) goto fail;
    if (!strcmp(sw.spec.executor, "slurm") || !strcmp(sw.spec.executor, "kube")) {
        rc = ana_sw_submit(&sw);
        goto done;
    }
    int ex = s_execute(&sw);
    if (ex < 0) {
        snprintf(err, sizeof err, "cannot find the parley program (set PARLEY_BIN)");
        rc = PL_EXIT_SYSTEM;
        goto fail;
    }
    rc = ana_sw_tables(&sw) ? PL_EXIT_SYSTEM : ex;
    goto done;
oom:
    snprintf(err, sizeof err, "out of memory");
    rc = PL_EXIT_SYSTEM;
fail:
    fprintf(stderr, "parley sweep: %s\n", err);
done:
    s_sweep_free(&sw);
    return rc;
}
