/* test_ana_sweep.c: `parley sweep` as a user runs it, as a process.
 *
 * - A sweep killed with SIGKILL while runs are going, then started again,
 *   finishes with every run done exactly once: every run directory complete and
 *   readable, runs finished before the kill left untouched (same summary.json
 *   file), one row per run in runs.csv.
 * - A run that cannot run is recorded with its error; the others go on.
 * The sweeps use the in-process executor, so no broker is involved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ana_run.h"

#include <jansson.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_SEEDS 4
#define N_RUNS  (3 * 3 * N_SEEDS)

static char s_dir[] = "/tmp/ana_sweep_XXXXXX";

static int s_setup(void **state)
{
    (void)state;
    return mkdtemp(s_dir) ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs the sweep from the test's directory: out: in a sweep file is relative to
 * the current directory. */
static pid_t s_sweep_pid; /* the sweep a test runs, killed by s_kill_sweep if left */

static pid_t s_spawn_sweep(const char *file)
{
    pid_t pid = fork();
    s_sweep_pid = pid;
    if (pid == 0) {
        if (chdir(s_dir) != 0) _exit(126);
        execl(ANA_TOOL, ANA_TOOL, "sweep", file, "--quiet", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int s_wait(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    if (pid == s_sweep_pid) s_sweep_pid = 0;
    return st;
}

/* A test that failed half-way must not leave its sweep (and the workers it
 * holds) running: they die with it. */
static int s_kill_sweep(void **state)
{
    (void)state;
    if (s_sweep_pid > 0) {
        kill(s_sweep_pid, SIGKILL);
        s_wait(s_sweep_pid);
    }
    return 0;
}

static int s_count_done(const char *out)
{
    int n = 0;
    for (int i = 1; i <= N_RUNS; i++) {
        char p[512];
        struct stat st;
        snprintf(p, sizeof p, "%s/run-%04d/summary.json", out, i);
        n += stat(p, &st) == 0;
    }
    return n;
}

static size_t s_count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

/* Waits (poll on a pidfd, bounded) for a process that is not our child to end.
 * Returns 0 when it is gone, -1 if it still runs after timeout_ms. */
static int s_wait_gone(pid_t pid, int timeout_ms)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) return errno == ESRCH ? 0 : -1;
    struct pollfd p = {fd, POLLIN, 0};
    int rc = poll(&p, 1, timeout_ms);
    close(fd);
    return rc == 1 ? 0 : -1;
}

static int s_setenv_saved(const char *name, const char *value, char **saved)
{
    const char *old = getenv(name);
    *saved = old ? strdup(old) : NULL;
    return value ? setenv(name, value, 1) : unsetenv(name);
}

static int s_restore_env(const char *name, char *saved)
{
    int rc = saved ? setenv(name, saved, 1) : unsetenv(name);
    free(saved);
    return rc;
}

/* Fails the test naming every failed run of the sweep in out and its error. */
static void s_fail_with_errors(const char *out, int status)
{
    char p[512], msg[8192] = "";
    snprintf(p, sizeof p, "%s/sweep.json", out);
    json_t *root = json_load_file(p, 0, NULL);
    size_t i, k = 0;
    json_t *r;
    json_array_foreach(json_object_get(root, "runs"), i, r)
    {
        const char *e = json_string_value(json_object_get(r, "error"));
        if (e && k < sizeof msg)
            k += (size_t)snprintf(msg + k, sizeof msg - k, "\n  %s: %s",
                                  json_string_value(json_object_get(r, "id")), e);
    }
    json_decref(root);
    fail_msg("the restarted sweep exited %d%s", status, msg[0] ? msg : " (no run failed)");
}

/* The killed sweep, made deterministic: the stand-in `parley run` holds every
 * run of seed N_SEEDS (it waits for a signal), so the sweep cannot finish
 * before it is killed, and at the kill there are workers certainly running.
 * They must die with the sweep, and the restarted sweep must neither refuse
 * ("another sweep is running") nor run beside them: it waits for the lock the
 * dying workers still hold, then finishes every run exactly once. */
static void test_killed_sweep_resumes_every_run_once(void **state)
{
    (void)state;
    char file[300], out[300];
    snprintf(file, sizeof file, "%s/kill.yaml", s_dir);
    snprintf(out, sizeof out, "%s/out", s_dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "executor: process\nconcurrency: 3\nout: out\nfactors:\n"
               "  seats:\n    - [{policy: perfect, count: 10}]\n"
               "    - [{policy: selfish, count: 10}]\n    - [{policy: helper, count: 10}]\n"
               "  automation: [none, auto_fulfill, auto_request]\n  seed: [");
    for (int i = 1; i <= N_SEEDS; i++) fprintf(f, "%s%d", i > 1 ? ", " : "", i);
    fprintf(f, "]\n");
    assert_int_equal(fclose(f), 0);

    char *saved_bin, *saved_hold, hold[16];
    snprintf(hold, sizeof hold, "%d", N_SEEDS);
    assert_int_equal(s_setenv_saved("PARLEY_BIN", ANA_TOOL, &saved_bin), 0);
    assert_int_equal(s_setenv_saved("ANA_TOOL_HOLD", hold, &saved_hold), 0);
    pid_t pid = s_spawn_sweep(file);
    assert_int_equal(s_restore_env("ANA_TOOL_HOLD", saved_hold), 0);
    assert_true(pid > 0);
    /* Wait (bounded) until runs have finished and a held worker is running. */
    char held[512];
    snprintf(held, sizeof held, "%s/run-%04d.pid", out, N_SEEDS);
    struct timespec nap = {0, 5 * 1000 * 1000};
    for (int i = 0; i < 12000 && (s_count_done(out) < N_SEEDS - 1 || access(held, F_OK) != 0); i++)
        nanosleep(&nap, NULL);
    assert_true(s_count_done(out) >= N_SEEDS - 1);
    f = fopen(held, "r");
    assert_non_null(f);
    long worker = 0;
    assert_int_equal(fscanf(f, "%ld", &worker), 1);
    fclose(f);
    assert_true(worker > 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int st = s_wait(pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    int before = s_count_done(out);
    assert_true(before < N_RUNS); /* the held runs cannot have finished */
    /* The worker dies with the sweep (PR_SET_PDEATHSIG), without being asked. */
    assert_int_equal(s_wait_gone((pid_t)worker, 10000), 0);

    /* Remember the runs that were done: the restart must not redo them. */
    struct stat done_st[N_RUNS + 1];
    bool was_done[N_RUNS + 1] = {false};
    for (int i = 1; i <= N_RUNS; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/run-%04d/summary.json", out, i);
        was_done[i] = stat(p, &done_st[i]) == 0;
    }

    /* Restarted at once, while other held workers may still be dying. */
    pid = s_spawn_sweep(file);
    st = s_wait(pid);
    assert_int_equal(s_restore_env("PARLEY_BIN", saved_bin), 0);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) != 0) s_fail_with_errors(out, WEXITSTATUS(st));
    assert_int_equal(s_count_done(out), N_RUNS);

    for (int i = 1; i <= N_RUNS; i++) {
        char p[512], err[512] = "";
        snprintf(p, sizeof p, "%s/run-%04d/summary.json", out, i);
        struct stat now;
        assert_int_equal(stat(p, &now), 0);
        if (was_done[i]) {
            assert_true(now.st_ino == done_st[i].st_ino);
            assert_true(now.st_mtim.tv_sec == done_st[i].st_mtim.tv_sec &&
                        now.st_mtim.tv_nsec == done_st[i].st_mtim.tv_nsec);
        }
        /* One whole game per directory: a second writer would have left a second
         * world event or a broken line, and the reader refuses both. */
        snprintf(p, sizeof p, "%s/run-%04d", out, i);
        ana_run_t *r = ana_run_load(p, NULL, NULL, err, sizeof err);
        assert_non_null(r);
        assert_true(ana_run_metrics(r)->complete);
        assert_int_equal(ana_run_metrics(r)->status, ANA_STATUS_OK);
        assert_false(ana_run_metrics(r)->truncated);
        assert_int_equal(ana_run_metrics(r)->malformed_lines, 0);
        ana_run_destroy(&r);
    }
    /* No stray directory beside the planned ones. */
    DIR *d = opendir(out);
    assert_non_null(d);
    int dirs = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, "run-", 4) && !strstr(de->d_name, ".pid")) dirs++;
    closedir(d);
    assert_int_equal(dirs, N_RUNS);

    char p[512];
    snprintf(p, sizeof p, "%s/runs.csv", out);
    assert_int_equal(s_count_lines(p), 1 + N_RUNS);
    snprintf(p, sizeof p, "%s/report.html", out);
    assert_true(s_count_lines(p) > 0);
}

/* The pids of pid's children (/proc/PID/task/PID/children), up to max. */
static int s_children(pid_t pid, pid_t *out, int max)
{
    char p[128], buf[4096];
    snprintf(p, sizeof p, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(p, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    int k = 0;
    for (char *t = strtok(buf, " \n"); t && k < max; t = strtok(NULL, " \n"))
        out[k++] = (pid_t)atoi(t);
    return k;
}

/* The in-process executor (forked workers, no exec): two long games (random
 * seats, 1500 rounds) are running when the sweep is SIGKILLed. Their workers
 * die with it, before they could finish (no summary.json: a worker that
 * outlived the sweep would have finished and written one), and the restarted
 * sweep plays both exactly once. */
static void test_killed_inprocess_sweep_takes_its_workers(void **state)
{
    (void)state;
    char file[300], out[300];
    snprintf(file, sizeof file, "%s/kill-inproc.yaml", s_dir);
    snprintf(out, sizeof out, "%s/kill-inproc", s_dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "executor: inprocess\nconcurrency: 2\nout: kill-inproc\n"
               "set: {simulation.rounds: 1500, seats: \"[{policy: random, count: 10}]\"}\n"
               "factors:\n  seed: [1, 2]\n");
    assert_int_equal(fclose(f), 0);
    pid_t pid = s_spawn_sweep(file), kids[4];
    assert_true(pid > 0);
    int n = 0;
    struct timespec nap = {0, 2 * 1000 * 1000};
    for (int i = 0; i < 10000 && (n = s_children(pid, kids, 4)) < 2; i++) nanosleep(&nap, NULL);
    assert_int_equal(n, 2);
    int fds[2];
    for (int i = 0; i < 2; i++) {
        fds[i] = (int)syscall(SYS_pidfd_open, kids[i], 0);
        assert_true(fds[i] >= 0);
    }
    assert_int_equal(kill(pid, SIGKILL), 0);
    int st = s_wait(pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    for (int i = 0; i < 2; i++) {
        struct pollfd p = {fds[i], POLLIN, 0};
        assert_int_equal(poll(&p, 1, 10000), 1); /* gone (bounded wait) */
        close(fds[i]);
    }
    assert_int_equal(s_count_done(out), 0); /* killed mid-game, not finished */

    pid = s_spawn_sweep(file);
    st = s_wait(pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) != 0) s_fail_with_errors(out, WEXITSTATUS(st));
    assert_int_equal(s_count_done(out), 2);
    for (int i = 1; i <= 2; i++) {
        char p[512], err[512] = "";
        snprintf(p, sizeof p, "%s/run-%04d", out, i);
        ana_run_t *r = ana_run_load(p, NULL, NULL, err, sizeof err);
        assert_non_null(r);
        assert_int_equal(ana_run_metrics(r)->status, ANA_STATUS_OK);
        assert_int_equal(ana_run_metrics(r)->rounds_played, 1500);
        assert_int_equal(ana_run_metrics(r)->malformed_lines, 0);
        ana_run_destroy(&r);
    }
    /* The games' logs are large: gone before the next test. */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", out);
    assert_int_equal(system(cmd), 0);
}

static void test_failed_run_is_recorded_and_others_go_on(void **state)
{
    (void)state;
    char file[300], out[300];
    snprintf(file, sizeof file, "%s/fail.yaml", s_dir);
    snprintf(out, sizeof out, "%s/fail-out", s_dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    /* llm seats cannot play in-process; rounds -1 is refused by the configuration. */
    fprintf(f, "executor: inprocess\nout: fail-out\nset: {simulation.rounds: 3}\nfactors:\n"
               "  seats:\n    - \"[{policy: helper, count: 10}]\"\n"
               "    - \"[{policy: llm, model: some-model, count: 10}]\"\n"
               "  automation: [auto_request]\n  simulation.agents: [10]\n");
    assert_int_equal(fclose(f), 0);
    pid_t pid = s_spawn_sweep(file);
    int st = s_wait(pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1); /* some runs failed, tables written */

    char p[512];
    snprintf(p, sizeof p, "%s/sweep.json", out);
    json_error_t jerr;
    json_t *root = json_load_file(p, 0, &jerr);
    assert_non_null(root);
    json_t *runs = json_object_get(root, "runs");
    assert_int_equal(json_array_size(runs), 2);
    const char *s0 = json_string_value(json_object_get(json_array_get(runs, 0), "status"));
    const char *s1 = json_string_value(json_object_get(json_array_get(runs, 1), "status"));
    const char *e1 = json_string_value(json_object_get(json_array_get(runs, 1), "error"));
    assert_string_equal(s0, "done");
    assert_string_equal(s1, "failed");
    assert_non_null(e1);
    assert_non_null(strstr(e1, "in-process"));
    json_decref(root);

    snprintf(p, sizeof p, "%s/runs.csv", out);
    assert_int_equal(s_count_lines(p), 3);
    f = fopen(p, "r");
    assert_non_null(f);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, ",failed,"));
    assert_non_null(strstr(buf, "in-process"));

    /* The same directory with another plan is refused: resuming would mix the
     * two experiments' runs under the same ids. */
    f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f,
            "executor: inprocess\nout: fail-out\nfactors:\n  automation: [none, auto_fulfill]\n");
    assert_int_equal(fclose(f), 0);
    st = s_wait(s_spawn_sweep(file));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 3); /* refused: another plan */
}

/* executor: process runs `parley run` per game; here PARLEY_BIN names a stand-in
 * (ana_tool run) that plays built-in seats in-process and fails on llm ones, as a
 * run without its API key would. */
static void test_process_executor(void **state)
{
    (void)state;
    char file[300], out[300];
    snprintf(file, sizeof file, "%s/proc.yaml", s_dir);
    snprintf(out, sizeof out, "%s/proc-out", s_dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "executor: process\nconcurrency: 2\nout: proc-out\nset: {simulation.rounds: 4}\n"
               "factors:\n  seats:\n    - [{policy: selfish, count: 10}]\n"
               "    - [{policy: llm, model: m, count: 10}]\n"
               "  automation: [auto_fulfill]\n  seed: [1, 2]\n");
    assert_int_equal(fclose(f), 0);
    /* The key is there (the sweep checks it first); the stand-in still fails
     * the llm runs, as a run whose model cannot play would. */
    char *saved, *saved_key;
    assert_int_equal(s_setenv_saved("PARLEY_BIN", ANA_TOOL, &saved), 0);
    assert_int_equal(s_setenv_saved("OPENAI_API_KEY", "sk-test", &saved_key), 0);
    pid_t pid = s_spawn_sweep(file);
    int st = s_wait(pid);
    assert_int_equal(s_restore_env("OPENAI_API_KEY", saved_key), 0);
    assert_int_equal(s_restore_env("PARLEY_BIN", saved), 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);

    char p[512];
    snprintf(p, sizeof p, "%s/sweep.json", out);
    json_error_t jerr;
    json_t *root = json_load_file(p, 0, &jerr);
    assert_non_null(root);
    json_t *runs = json_object_get(root, "runs");
    assert_int_equal(json_array_size(runs), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *r = json_array_get(runs, i);
        const char *status = json_string_value(json_object_get(r, "status"));
        if (i < 2) {
            assert_string_equal(status, "done");
            char err[512] = "";
            snprintf(p, sizeof p, "%s/run-%04zu", out, i + 1);
            ana_run_t *run = ana_run_load(p, NULL, NULL, err, sizeof err);
            assert_non_null(run);
            /* the factors reached the game: 4 rounds, auto_fulfill, seeds 1 and 2 */
            assert_int_equal(ana_run_metrics(run)->rounds_played, 4);
            assert_string_equal(ana_run_automation(run), "auto_fulfill");
            assert_true(ana_run_config(run)->game.seed == i + 1);
            assert_true(ana_run_metrics(run)->tasks > 0);
            ana_run_destroy(&run);
        } else {
            /* the child's own last words are the recorded error */
            const char *e = json_string_value(json_object_get(r, "error"));
            assert_string_equal(status, "failed");
            assert_non_null(e);
            assert_non_null(strstr(e, "exit status 1"));
            assert_non_null(strstr(e, "built-in policies only"));
        }
    }
    json_decref(root);
}

/* Runs `ana_tool sweep FILE [extra]` from the test directory with stdout and
 * stderr into one buffer; returns the exit status. */
static int s_sweep_capture(const char *file, const char *extra, char *buf, size_t cap)
{
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        if (chdir(s_dir) != 0) _exit(126);
        execl(ANA_TOOL, ANA_TOOL, "sweep", file, extra, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t got;
    while (n + 1 < cap && (got = read(p[0], buf + n, cap - 1 - n)) > 0) n += (size_t)got;
    buf[n] = '\0';
    close(p[0]);
    int st = s_wait(pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Model seats without their keys: the sweep refuses before the first run,
 * naming every missing variable, and --dry-run says the same after the plan
 * and the estimate (2 runs x 10 model seats x 20 rounds = 400 calls). */
static void test_keys_checked_and_cost_estimated(void **state)
{
    (void)state;
    char file[300], out[300], buf[16384];
    snprintf(file, sizeof file, "%s/keys.yaml", s_dir);
    snprintf(out, sizeof out, "%s/keys-out", s_dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "executor: process\nout: keys-out\n"
               "set: {prices.ma.input: 1.0, prices.ma.output: 4.0}\n"
               "factors:\n  seats:\n"
               "    - [{policy: llm, count: 10, model: ma, api_key_env: PL_TEST_KEY_A}]\n"
               "    - [{policy: llm, count: 5, model: mb, api_key_env: PL_TEST_KEY_B},\n"
               "       {policy: perfect, count: 5}]\n");
    assert_int_equal(fclose(f), 0);
    assert_int_equal(unsetenv("PL_TEST_KEY_A"), 0);
    assert_int_equal(unsetenv("PL_TEST_KEY_B"), 0);
    int rc = s_sweep_capture(file, "--quiet", buf, sizeof buf);
    if (rc != 3) fail_msg("exit %d, output:\n%s", rc, buf);
    assert_non_null(strstr(buf, "PL_TEST_KEY_A"));
    assert_non_null(strstr(buf, "PL_TEST_KEY_B"));
    assert_int_not_equal(access(out, F_OK), 0); /* nothing started, nothing written */

    rc = s_sweep_capture(file, "--dry-run", buf, sizeof buf);
    if (rc != 3) fail_msg("exit %d, output:\n%s", rc, buf);
    assert_non_null(strstr(buf, "run-0001"));
    assert_non_null(strstr(buf, "run-0002"));
    assert_non_null(strstr(buf, "300 model calls")); /* (10 + 5) seats x 20 rounds */
    /* ma: 10 seats x (20 x 1556 + 791 x 20 x 19 / 2) tokens in at $1/M, 10 x 20 x 500
     * out at $4/M = $2.21; mb has no price and is said to be left out. */
    assert_non_null(strstr(buf, "about $2.21"));
    assert_non_null(strstr(buf, "no price"));
    assert_non_null(strstr(buf, "PL_TEST_KEY_B"));
    assert_int_not_equal(access(out, F_OK), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_killed_sweep_resumes_every_run_once, s_kill_sweep),
        cmocka_unit_test_teardown(test_killed_inprocess_sweep_takes_its_workers, s_kill_sweep),
        cmocka_unit_test(test_failed_run_is_recorded_and_others_go_on),
        cmocka_unit_test(test_process_executor),
        cmocka_unit_test(test_keys_checked_and_cost_estimated),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
