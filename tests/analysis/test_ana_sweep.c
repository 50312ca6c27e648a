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

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_SEEDS 10
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
static pid_t s_spawn_sweep(const char *file)
{
    pid_t pid = fork();
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
    return st;
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

static void test_killed_sweep_resumes_every_run_once(void **state)
{
    (void)state;
    char file[300], out[300];
    snprintf(file, sizeof file, "%s/kill.yaml", s_dir);
    snprintf(out, sizeof out, "%s/out", s_dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "executor: inprocess\nconcurrency: 3\nout: out\nfactors:\n"
               "  seats:\n    - [{policy: perfect, count: 10}]\n"
               "    - [{policy: selfish, count: 10}]\n    - [{policy: helper, count: 10}]\n"
               "  automation: [none, auto_fulfill, auto_request]\n  seed: [");
    for (int i = 1; i <= N_SEEDS; i++) fprintf(f, "%s%d", i > 1 ? ", " : "", i);
    fprintf(f, "]\n");
    assert_int_equal(fclose(f), 0);

    /* Let some runs finish, then kill the sweep in the middle of the others. */
    pid_t pid = s_spawn_sweep(file);
    assert_true(pid > 0);
    struct timespec nap = {0, 2 * 1000 * 1000};
    while (s_count_done(out) < 10) nanosleep(&nap, NULL);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int st = s_wait(pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    int before = s_count_done(out);
    assert_true(before >= 10);
    assert_true(before < N_RUNS); /* killed mid-way, not after the end */

    /* Remember the runs that were done: the restart must not redo them. */
    struct stat done_st[N_RUNS + 1];
    bool was_done[N_RUNS + 1] = {false};
    for (int i = 1; i <= N_RUNS; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/run-%04d/summary.json", out, i);
        was_done[i] = stat(p, &done_st[i]) == 0;
    }

    pid = s_spawn_sweep(file);
    st = s_wait(pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
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
        if (!strncmp(de->d_name, "run-", 4)) dirs++;
    closedir(d);
    assert_int_equal(dirs, N_RUNS);

    char p[512];
    snprintf(p, sizeof p, "%s/runs.csv", out);
    assert_int_equal(s_count_lines(p), 1 + N_RUNS);
    snprintf(p, sizeof p, "%s/report.html", out);
    assert_true(s_count_lines(p) > 0);
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
    assert_int_equal(WEXITSTATUS(st), 2); /* some runs failed, tables written */

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
    assert_int_equal(WEXITSTATUS(st), 1);
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
    const char *old = getenv("PARLEY_BIN");
    char *saved = old ? strdup(old) : NULL;
    assert_int_equal(setenv("PARLEY_BIN", ANA_TOOL, 1), 0);
    pid_t pid = s_spawn_sweep(file);
    int st = s_wait(pid);
    assert_int_equal(saved ? setenv("PARLEY_BIN", saved, 1) : unsetenv("PARLEY_BIN"), 0);
    free(saved);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_sweep_resumes_every_run_once),
        cmocka_unit_test(test_failed_run_is_recorded_and_others_go_on),
        cmocka_unit_test(test_process_executor),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
