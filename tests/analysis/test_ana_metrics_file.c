/* test_ana_metrics_file.c: metrics.json (analysis/ana_run_save.c).
 *
 * Runs written both ways a study is played, in-process (ana_exec) and through
 * real processes (`parley run`: a broker and its agents, sequential and
 * simultaneous, and a `parley fork` of one, which the broker resumes): each
 * leaves a metrics.json that a load takes its totals from; the tables and the
 * report written from those totals are byte for byte the ones written from
 * the event logs alone; a metrics.json that does not match its log (the log
 * changed, another version, a damaged field) is passed over for the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ana_exec.h"
#include "ana_report.h"
#include "ana_run.h"
#include "ana_study.h"
#include "ana_tables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char s_dir[] = "/tmp/ana_metrics_file_XXXXXX";
static char s_runs[16][320];
static int s_n_runs;

static int s_system(const char *cmd)
{
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int s_inprocess(const char *policy, const char *arm, int seed)
{
    char err[512], set[128];
    pl_config_t *c = pl_config_default();
    if (!c) return -1;
    snprintf(set, sizeof set, "seats=[{policy: %s, count: 10}]", policy);
    int rc = pl_config_set(c, set, err, sizeof err);
    snprintf(set, sizeof set, "automation=%s", arm);
    rc = rc ? rc : pl_config_set(c, set, err, sizeof err);
    snprintf(set, sizeof set, "seed=%d", seed);
    rc = rc ? rc : pl_config_set(c, set, err, sizeof err);
    char *dir = s_runs[s_n_runs];
    snprintf(dir, sizeof s_runs[0], "%s/in-%s-%s-%d", s_dir, policy, arm, seed);
    rc = rc ? rc : ana_exec_inprocess(c, dir, PL_SEED_SWEEP, err, sizeof err);
    pl_config_destroy(&c);
    if (rc)
        fprintf(stderr, "%s\n", err);
    else
        s_n_runs++;
    return rc ? -1 : 0;
}

/* `parley run` of 4 perfect seats for 4 rounds in the given timing mode. */
static int s_process(const char *name, const char *mode)
{
    const char *bin = getenv("PARLEY_BIN");
    char yaml[400], cmd[1600];
    if (!bin) return -1;
    snprintf(yaml, sizeof yaml, "%s/%s.yaml", s_dir, name);
    FILE *f = fopen(yaml, "w");
    if (!f) return -1;
    fprintf(f,
            "seats: [{policy: perfect, count: 4}]\nsimulation: {rounds: 4, agents: 4}\n"
            "timing: {mode: %s}\n",
            mode);
    if (fclose(f) != 0) return -1;
    char *dir = s_runs[s_n_runs];
    snprintf(dir, sizeof s_runs[0], "%s/%s", s_dir, name);
    snprintf(cmd, sizeof cmd, "%s/parley run %s --out %s >%s.out 2>&1", bin, yaml, dir, dir);
    if (s_system(cmd) != 0) return -1;
    s_n_runs++;
    return 0;
}

static int s_setup(void **state)
{
    (void)state;
    if (!mkdtemp(s_dir)) return -1;
    static const char *const pol[] = {"perfect", "selfish", "helper"};
    static const char *const arm[] = {"none", "auto_request"};
    for (int p = 0; p < 3; p++)
        for (int a = 0; a < 2; a++)
            if (s_inprocess(pol[p], arm[a], 1 + p)) return -1;
    if (s_process("seq", "sequential") || s_process("sim", "simultaneous")) return -1;
    /* A fork is a record the broker did not see from its start (it resumes it). */
    const char *bin = getenv("PARLEY_BIN");
    char cmd[1600];
    char *dir = s_runs[s_n_runs];
    snprintf(dir, sizeof s_runs[0], "%s/fork", s_dir);
    snprintf(cmd, sizeof cmd, "%s/parley fork %s/seq --round 2 --out %s >%s.out 2>&1", bin, s_dir,
             dir, dir);
    if (s_system(cmd) != 0) return -1;
    s_n_runs++;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    return s_system(cmd) == 0 ? 0 : -1;
}

static ana_run_t *s_load(const char *dir)
{
    char err[600] = "";
    ana_run_t *r = ana_run_load(dir, NULL, NULL, err, sizeof err);
    if (!r) fail_msg("%s: %s", dir, err);
    return r;
}

static void s_rename_all(const char *from, const char *to)
{
    char a[6000], b[6000];
    for (int i = 0; i < s_n_runs; i++) {
        snprintf(a, sizeof a, "%s/%s", s_runs[i], from);
        snprintf(b, sizeof b, "%s/%s", s_runs[i], to);
        assert_int_equal(rename(a, b), 0);
    }
}

/* The tables and the report of every run, into out/. */
static void s_write_study(const char *out, bool want_metrics)
{
    char err[600] = "", html[400], md[400];
    ana_study_t *s = ana_study_new();
    assert_non_null(s);
    for (int i = 0; i < s_n_runs; i++) {
        char id[32];
        snprintf(id, sizeof id, "run-%02d", i + 1);
        json_t *f = json_pack("{s:s}", "run", id);
        assert_int_equal(ana_study_add(s, id, s_runs[i], f, NULL, NULL, NULL), 0);
        json_decref(f);
    }
    assert_int_equal(ana_study_compute(s), 0);
    for (size_t i = 0; i < ana_study_n_runs(s); i++) {
        const ana_run_t *r = ana_study_run(s, i);
        assert_non_null(r);
        assert_int_equal(ana_run_from_metrics(r), want_metrics);
    }
    char cmd[500];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", out);
    assert_int_equal(s_system(cmd), 0);
    assert_int_equal(ana_tables_write(s, out, err, sizeof err), 0);
    snprintf(html, sizeof html, "%s/report.html", out);
    snprintf(md, sizeof md, "%s/report.md", out);
    assert_int_equal(ana_report_write(s, html, md, err, sizeof err), 0);
    ana_study_destroy(&s);
}

static void test_every_writer_leaves_valid_metrics(void **state)
{
    (void)state;
    for (int i = 0; i < s_n_runs; i++) {
        char path[6000];
        snprintf(path, sizeof path, "%s/metrics.json", s_runs[i]);
        assert_int_equal(access(path, R_OK), 0);
        ana_run_t *r = s_load(s_runs[i]);
        assert_true(ana_run_from_metrics(r));
        /* what the writer saw is what summary.json says */
        snprintf(path, sizeof path, "%s/summary.json", s_runs[i]);
        json_t *sum = json_load_file(path, 0, NULL);
        assert_non_null(sum);
        assert_int_equal(ana_run_metrics(r)->tasks,
                         json_integer_value(json_object_get(sum, "tasks")));
        assert_int_equal(ana_run_metrics(r)->status, ANA_STATUS_OK);
        json_decref(sum);
        ana_run_destroy(&r);
    }
}

static void test_tables_identical_with_and_without(void **state)
{
    (void)state;
    char a[400], b[400], cmd[900];
    snprintf(a, sizeof a, "%s/out-metrics", s_dir);
    snprintf(b, sizeof b, "%s/out-events", s_dir);
    s_write_study(a, true);
    s_rename_all("metrics.json", "metrics.json.aside");
    s_write_study(b, false);
    s_rename_all("metrics.json.aside", "metrics.json");
    /* every table and both reports, byte for byte (and the same set of
     * files), but for the minute each report says it was written in: two
     * writes a moment apart may fall on either side of a minute. */
    snprintf(cmd, sizeof cmd, "diff -r -I '^\\(<p>\\)\\?Written [0-9-]* [0-9:]* UTC by ' %s %s >&2",
             a, b);
    assert_int_equal(s_system(cmd), 0);
    snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) -ge 8", a);
    assert_int_equal(s_system(cmd), 0);
}

static void s_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void test_stale_or_damaged_metrics_are_passed_over(void **state)
{
    (void)state;
    const char *dir = s_runs[0];
    char ev[400], mj[400], keep[400], cmd[2000];
    snprintf(ev, sizeof ev, "%s/events.jsonl", dir);
    snprintf(mj, sizeof mj, "%s/metrics.json", dir);
    snprintf(keep, sizeof keep, "%s/metrics.keep", dir);
    snprintf(cmd, sizeof cmd, "cp %s %s && cp %s %s.keep", mj, keep, ev, ev);
    assert_int_equal(s_system(cmd), 0);
    ana_run_t *r = s_load(dir);
    int tasks = ana_run_metrics(r)->tasks;
    ana_run_destroy(&r);

    /* the log lost its last line (run_end) since: its numbers, not the file's */
    snprintf(cmd, sizeof cmd, "sed -i '$d' %s", ev);
    assert_int_equal(s_system(cmd), 0);
    r = s_load(dir);
    assert_false(ana_run_from_metrics(r));
    assert_false(ana_run_metrics(r)->complete);
    assert_int_equal(ana_run_metrics(r)->status, ANA_STATUS_PARTIAL);
    ana_run_destroy(&r);
    snprintf(cmd, sizeof cmd, "cp %s.keep %s", ev, ev);
    assert_int_equal(s_system(cmd), 0);

    /* same size, one byte changed: the hash tells */
    snprintf(cmd, sizeof cmd, "sed -i '1s/\"seq\":/\"Seq\":/' %s", ev);
    assert_int_equal(s_system(cmd), 0);
    r = s_load(dir);
    assert_false(ana_run_from_metrics(r));
    ana_run_destroy(&r);
    snprintf(cmd, sizeof cmd, "cp %s.keep %s", ev, ev);
    assert_int_equal(s_system(cmd), 0);

    /* another version, a damaged field, not JSON: the log, and the same tasks */
    snprintf(cmd, sizeof cmd, "sed 's/\"version\":1,/\"version\":99,/' %s > %s", keep, mj);
    assert_int_equal(s_system(cmd), 0);
    snprintf(cmd, sizeof cmd, "sed 's/\"tasks\":[0-9]*/\"tasks\":\"many\"/' %s > %s.bad", keep, mj);
    assert_int_equal(s_system(cmd), 0);
    char bad[420];
    snprintf(bad, sizeof bad, "%s.bad", mj);
    for (int k = 0; k < 3; k++) {
        if (k == 1) assert_int_equal(rename(bad, mj), 0);
        if (k == 2) s_write_file(mj, "{\"format\":\"parley-metrics\",\"version\":1,");
        r = s_load(dir);
        assert_false(ana_run_from_metrics(r));
        assert_int_equal(ana_run_metrics(r)->tasks, tasks);
        ana_run_destroy(&r);
    }
    assert_int_equal(rename(keep, mj), 0);
    r = s_load(dir);
    assert_true(ana_run_from_metrics(r));
    ana_run_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_writer_leaves_valid_metrics),
        cmocka_unit_test(test_tables_identical_with_and_without),
        cmocka_unit_test(test_stale_or_damaged_metrics_are_passed_over),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
