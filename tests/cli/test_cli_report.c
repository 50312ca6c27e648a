/* test_cli_report.c: `parley report` over real runs, one of them stopped.
 *
 * Three games of one condition are played by `parley run` (broker and agent
 * processes; realtime timing, so a game lasts long enough to be stopped in the
 * middle for certain): two finish, the third gets Ctrl-C after its third round
 * has begun. The report must carry the stopped run's status into its tables,
 * leave it out of the condition's mean (n = 2, one excluded, the mean of the two
 * complete runs), say so, and count it when asked (--include-incomplete). */
#include "e2e.h"

#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define CONFIG                                                                                     \
    "timing: {mode: realtime, duration: 4}\n"                                                      \
    "seats:\n  - {policy: perfect, count: 10}\n"

/* Starts `parley COMMAND args...` with stdout and stderr to /dev/null. */
static pid_t s_parley(const char *command, const char *const *args)
{
    char prog[1024];
    const char *bin = getenv("PARLEY_BIN");
    snprintf(prog, sizeof prog, "%s/parley", bin ? bin : "./bin");
    const char *argv[32] = {prog, command};
    int n = 2;
    for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        FILE *null = freopen("/dev/null", "w", stdout);
        (void)null;
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The value of column `col` in the CSV line that starts with `key,` (our
 * tables quote only cells with commas; the cells read here have none). */
static int s_cell(const char *csv, const char *key, const char *col, char *out, size_t cap)
{
    const char *nl = strchr(csv, '\n');
    int idx = -1, k = 0;
    for (const char *p = csv; p && p < nl; k++) {
        size_t len = strcspn(p, ",\n");
        if (strlen(col) == len && strncmp(p, col, len) == 0) idx = k;
        p += len;
        if (*p == ',')
            p++;
        else
            break;
    }
    if (idx < 0) return -1;
    char pat[256];
    snprintf(pat, sizeof pat, "\n%s,", key);
    const char *row = strstr(csv, pat);
    if (!row) return -1;
    row++;
    for (k = 0; k < idx; k++) {
        if (*row == '"') { /* a quoted cell: skip to its closing quote */
            row = strchr(row + 1, '"');
            if (!row) return -1;
        }
        row = strpbrk(row, ",\n");
        if (!row || *row == '\n') return -1;
        row++;
    }
    size_t len = strcspn(row, ",\n");
    snprintf(out, cap, "%.*s", (int)len, row);
    return 0;
}

static void test_stopped_run_is_marked_and_left_out_of_the_mean(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("clireport");
    const char *cfg = e2e_write(dir, "game.yaml", CONFIG);
    char runs[1100], a[1200], b[1200], c[1200];
    snprintf(runs, sizeof runs, "%s/study", dir);
    snprintf(a, sizeof a, "%s/run-a", runs);
    snprintf(b, sizeof b, "%s/run-b", runs);
    snprintf(c, sizeof c, "%s/run-c", runs);
    const char *args_a[] = {cfg, "--out", a, "--seed", "1", "--quiet", NULL};
    const char *args_b[] = {cfg, "--out", b, "--seed", "2", "--quiet", NULL};
    const char *args_c[] = {cfg, "--out", c, "--seed", "3", "--quiet", NULL};
    pid_t pa = s_parley("run", args_a), pb = s_parley("run", args_b), pc = s_parley("run", args_c);
    /* Stop the third game once its third round has begun (of 20, 0.2 s each). */
    size_t started = 0;
    for (int k = 0; k < 1000 && started < 3; k++) {
        json_t *ev = e2e_events(c, "round_start");
        started = json_array_size(ev);
        json_decref(ev);
        struct timespec ts = {0, 10 * 1000000};
        if (started < 3) nanosleep(&ts, NULL);
    }
    assert_true(started >= 3);
    assert_int_equal(kill(pc, SIGINT), 0);
    assert_int_equal(e2e_wait(pc, 30000), 1); /* stopped: not everything completed */
    assert_int_equal(e2e_wait(pa, 60000), 0);
    assert_int_equal(e2e_wait(pb, 60000), 0);

    /* The report, by default beside the data: study/report.html and the tables. */
    const char *rargs[] = {runs, "--quiet", NULL};
    assert_int_equal(e2e_wait(s_parley("report", rargs), 60000), 0);
    char path[1300], cell[256], pa_s[64], pb_s[64];
    snprintf(path, sizeof path, "%s/report.html", runs);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/runs.csv", runs);
    char *csv = s_slurp(path);
    assert_non_null(csv);
    assert_int_equal(s_cell(csv, "run-c", "status", cell, sizeof cell), 0);
    assert_string_equal(cell, "stopped");
    assert_int_equal(s_cell(csv, "run-c", "in_means", cell, sizeof cell), 0);
    assert_string_equal(cell, "false");
    assert_int_equal(s_cell(csv, "run-c", "seed", cell, sizeof cell), 0);
    assert_string_equal(cell, "3");
    assert_int_equal(s_cell(csv, "run-a", "status", cell, sizeof cell), 0);
    assert_string_equal(cell, "ok");
    assert_int_equal(s_cell(csv, "run-a", "tasks", pa_s, sizeof pa_s), 0);
    assert_int_equal(s_cell(csv, "run-b", "tasks", pb_s, sizeof pb_s), 0);
    double mean2 = (strtod(pa_s, NULL) + strtod(pb_s, NULL)) / 2;

    /* agents.csv carries the status too: a stopped run's seats are marked. */
    snprintf(path, sizeof path, "%s/agents.csv", runs);
    csv = s_slurp(path);
    assert_non_null(csv);
    assert_non_null(strstr(csv, "\nrun-c,stopped,false,"));

    /* aggregates.csv: the condition's tasks are over the two complete runs (a
     * realtime game has no % of optimal: docs/FIDELITY.md). */
    snprintf(path, sizeof path, "%s/aggregates.csv", runs);
    csv = s_slurp(path);
    assert_non_null(csv);
    const char *row = strstr(csv, ",tasks,");
    assert_non_null(row);
    int n = 0, excluded = -1;
    double mean = NAN;
    const char *line = row;
    while (line > csv && line[-1] != '\n') line--;
    /* ...,seeds,n_excluded,metric,n,mean,... */
    char seeds[64];
    assert_int_equal(sscanf(row, ",tasks,%d,%lf", &n, &mean), 2);
    const char *ex = row - 1;
    while (ex > line && ex[-1] != ',') ex--;
    excluded = atoi(ex);
    const char *sd = ex - 1;
    while (sd > line && sd[-1] != ',') sd--;
    snprintf(seeds, sizeof seeds, "%.*s", (int)(ex - 1 - sd), sd);
    assert_int_equal(n, 2);
    assert_int_equal(excluded, 1);
    assert_string_equal(seeds, "1;2");
    assert_true(fabs(mean - mean2) < 1e-9 * (1 + fabs(mean2)));

    /* The report says what it left out. */
    snprintf(path, sizeof path, "%s/report.md", runs);
    csv = s_slurp(path);
    assert_non_null(csv);
    assert_non_null(strstr(csv, "3 runs: 2 ok, 1 stopped, 0 partial, 0 failed"));
    assert_non_null(strstr(csv, "exclude 1 incomplete run"));
    assert_non_null(strstr(csv, "| run-c | stopped | no |"));

    /* Asked to, the mean counts it: n = 3, into a new folder (created). */
    char other[1300];
    snprintf(other, sizeof other, "%s/with/stopped/report.html", dir);
    const char *iargs[] = {runs, "--include-incomplete", "--out", other, "--quiet", NULL};
    assert_int_equal(e2e_wait(s_parley("report", iargs), 60000), 0);
    snprintf(path, sizeof path, "%s/with/stopped/aggregates.csv", dir);
    csv = s_slurp(path);
    assert_non_null(csv);
    row = strstr(csv, ",tasks,");
    assert_non_null(row);
    assert_int_equal(sscanf(row, ",tasks,%d", &n), 1);
    assert_int_equal(n, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stopped_run_is_marked_and_left_out_of_the_mean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
