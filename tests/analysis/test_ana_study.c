/* test_ana_study.c: the causal decomposition recovers known ground truth, and
 * the tables parse back.
 *
 * Built-in agents whose weakness is known by construction, each played
 * in-process in the three arms over three seeds (GAME.md "Causal
 * decomposition"):
 *   selfish (requests, never shares)   -> cooperation-limited
 *   helper  (shares when asked, never requests) -> competence-limited
 *   perfect                            -> at the ceiling in every arm (it
 *                                         answers any wording here, see s_setup)
 * The CSVs are read back with an RFC 4180 parser: same column count on every
 * row, a failed run's error (comma, quote, line break) intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ana_exec.h"
#include "ana_report.h"
#include "ana_study.h"
#include "ana_tables.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_dir[] = "/tmp/ana_study_XXXXXX";
static ana_study_t *s_study;
static const char *const s_policies[] = {"perfect", "selfish", "helper"};
static const char *const s_arms[] = {"none", "auto_fulfill", "auto_request"};
static const char *s_bad_error = "exit status 1: model said \"no\", twice\nthen crashed";

static int s_setup(void **state)
{
    (void)state;
    if (!mkdtemp(s_dir)) return -1;
    s_study = ana_study_new();
    if (!s_study) return -1;
    int k = 0;
    for (int p = 0; p < 3; p++)
        for (int a = 0; a < 3; a++)
            for (int seed = 1; seed <= 3; seed++) {
                char err[512], set[128], dir[256], id[32];
                pl_config_t *c = pl_config_default();
                if (!c) return -1;
                snprintf(set, sizeof set, "seats=[{policy: %s, count: 10}]", s_policies[p]);
                if (pl_config_set(c, set, err, sizeof err)) return -1;
                snprintf(set, sizeof set, "automation=%s", s_arms[a]);
                if (pl_config_set(c, set, err, sizeof err)) return -1;
                snprintf(set, sizeof set, "seed=%d", seed);
                if (pl_config_set(c, set, err, sizeof err)) return -1;
                /* The perfect seat is the ground truth "at the ceiling" only if it
                 * answers the auto-request arm's "I need ..." asks; the study's
                 * own perfect agent ignores them (docs/FIDELITY.md, rule 1). */
                if (pl_config_set(c, "rules.answer_request_form_only=false", err, sizeof err))
                    return -1;
                snprintf(id, sizeof id, "run-%02d", ++k);
                snprintf(dir, sizeof dir, "%s/%s", s_dir, id);
                if (ana_exec_inprocess(c, dir, PL_SEED_SWEEP, err, sizeof err)) {
                    fprintf(stderr, "%s\n", err);
                    return -1;
                }
                pl_config_destroy(&c);
                json_t *f = json_pack("{s:s,s:s,s:I}", "seats", s_policies[p], "automation",
                                      s_arms[a], "seed", (json_int_t)seed);
                /* factor values are text, as the sweep records them */
                json_object_set_new(f, "seed", json_sprintf("%d", seed));
                if (ana_study_add(s_study, id, dir, f, NULL, NULL, NULL)) return -1;
                json_decref(f);
            }
    json_t *f = json_pack("{s:s,s:s}", "seats", "llm", "automation", "none");
    if (ana_study_add(s_study, "run-failed", "/nonexistent", f, s_bad_error, NULL, NULL)) return -1;
    json_decref(f);
    return ana_study_compute(s_study);
}

static int s_teardown(void **state)
{
    (void)state;
    ana_study_destroy(&s_study);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const ana_decomp_t *s_decomp(const char *model)
{
    for (size_t i = 0; i < ana_study_n_decomps(s_study); i++)
        if (!strcmp(ana_study_decomp(s_study, i)->model, model))
            return ana_study_decomp(s_study, i);
    fail_msg("no decomposition row for %s", model);
    return NULL;
}

static void test_decomposition_recovers_ground_truth(void **state)
{
    (void)state;
    assert_int_equal(ana_study_n_conds(s_study), 9);
    assert_int_equal(ana_study_n_decomps(s_study), 3);
    const ana_decomp_t *selfish = s_decomp("selfish"), *helper = s_decomp("helper"),
                       *perfect = s_decomp("perfect");
    for (int a = 0; a < ANA_ARM_COUNT; a++) {
        assert_int_equal(selfish->arm[a].n, 3);
        assert_int_equal(helper->arm[a].n, 3);
        assert_int_equal(perfect->arm[a].n, 3);
    }
    assert_string_equal(selfish->verdict, "cooperation-limited");
    assert_true(selfish->arm[ANA_ARM_COOPERATION].mean <
                selfish->arm[ANA_ARM_COMPETENCE].mean - ana_study_margin(s_study));
    assert_string_equal(helper->verdict, "competence-limited");
    assert_true(helper->arm[ANA_ARM_COMPETENCE].mean <
                helper->arm[ANA_ARM_COOPERATION].mean - ana_study_margin(s_study));
    assert_string_equal(perfect->verdict, "at ceiling");

    /* Perfect agents reach the ceiling in every arm and every seed: exactly 100% in
     * normal play (it is the ceiling's own game) and with auto-fulfil, above it
     * with auto-request (the system's requests come on top of the agents' own). */
    for (size_t i = 0; i < ana_study_n_runs(s_study); i++) {
        const ana_run_t *r = ana_study_run(s_study, i);
        if (!r || strcmp(ana_run_model(r), "perfect")) continue;
        double pct = ana_run_metrics(r)->pct_optimal;
        if (!strcmp(ana_run_automation(r), "auto_request"))
            assert_true(pct > 100.0);
        else
            assert_true(fabs(pct - 100.0) < 1e-9);
    }
    assert_true(fabs(perfect->arm[ANA_ARM_BASELINE].mean - 100.0) < 1e-9);
}

static void test_failed_run_is_recorded(void **state)
{
    (void)state;
    assert_int_equal(ana_study_n_runs(s_study), 28);
    assert_int_equal(ana_study_n_failed(s_study), 1);
    assert_null(ana_study_run(s_study, 27));
    assert_string_equal(ana_study_run_error(s_study, 27), s_bad_error);
}

/* ---------------------------------------------------------- csv reader -- */

typedef struct {
    size_t n_rows, n_cols_max;
    char ***rows; /* rows[i][j], NULL-terminated per row */
    size_t *n_cols;
} s_table_t;

/* RFC 4180: fields separated by commas, rows by line breaks, a quoted field may
 * hold commas, line breaks and doubled quotes. */
static void s_read_csv(const char *path, s_table_t *t)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    memset(t, 0, sizeof *t);
    char field[8192];
    size_t fl = 0;
    char **row = NULL;
    size_t nf = 0;
    int ch, quoted = 0, at_start = 1;
    for (;;) {
        ch = fgetc(f);
        if (quoted) {
            assert_true(ch != EOF); /* an unterminated quote is a broken file */
            if (ch == '"') {
                int nx = fgetc(f);
                if (nx == '"')
                    field[fl++] = '"';
                else {
                    quoted = 0;
                    ungetc(nx, f);
                }
            } else
                field[fl++] = (char)ch;
            assert_true(fl < sizeof field);
            continue;
        }
        if (ch == '"' && at_start) {
            quoted = 1;
            at_start = 0;
            continue;
        }
        if (ch == ',' || ch == '\n' || ch == EOF) {
            if (ch == EOF && nf == 0 && fl == 0 && at_start) break;
            field[fl] = '\0';
            row = realloc(row, sizeof *row * (nf + 2));
            row[nf++] = strdup(field);
            row[nf] = NULL;
            fl = 0;
            at_start = 1;
            if (ch != ',') {
                t->rows = realloc(t->rows, sizeof *t->rows * (t->n_rows + 1));
                t->n_cols = realloc(t->n_cols, sizeof *t->n_cols * (t->n_rows + 1));
                t->rows[t->n_rows] = row;
                t->n_cols[t->n_rows++] = nf;
                row = NULL;
                nf = 0;
            }
            if (ch == EOF) break;
            continue;
        }
        assert_true(ch != '"'); /* a bare quote inside an unquoted field */
        field[fl++] = (char)ch;
        at_start = 0;
        assert_true(fl < sizeof field);
    }
    fclose(f);
}

static void s_free_table(s_table_t *t)
{
    for (size_t i = 0; i < t->n_rows; i++) {
        for (size_t j = 0; j < t->n_cols[i]; j++) free(t->rows[i][j]);
        free(t->rows[i]);
    }
    free(t->rows);
    free(t->n_cols);
}

static int s_col(const s_table_t *t, const char *name)
{
    for (size_t j = 0; j < t->n_cols[0]; j++)
        if (!strcmp(t->rows[0][j], name)) return (int)j;
    fail_msg("no column %s", name);
    return -1;
}

static void s_check_rectangular(const s_table_t *t)
{
    assert_true(t->n_rows >= 1);
    for (size_t i = 1; i < t->n_rows; i++) assert_int_equal(t->n_cols[i], t->n_cols[0]);
}

static void test_csv_parse_back(void **state)
{
    (void)state;
    char err[512] = "", path[300];
    assert_int_equal(ana_tables_write(s_study, s_dir, err, sizeof err), 0);

    s_table_t t;
    snprintf(path, sizeof path, "%s/runs.csv", s_dir);
    s_read_csv(path, &t);
    s_check_rectangular(&t);
    assert_int_equal(t.n_rows, 1 + 28);
    int status = s_col(&t, "status"), error = s_col(&t, "error"), pct = s_col(&t, "pct_optimal"),
        seats = s_col(&t, "seats"), model = s_col(&t, "model");
    size_t failed = 0;
    for (size_t i = 1; i < t.n_rows; i++) {
        if (!strcmp(t.rows[i][status], "failed")) {
            failed++;
            assert_string_equal(t.rows[i][error], s_bad_error);
            assert_string_equal(t.rows[i][pct], "");
        } else {
            assert_string_equal(t.rows[i][status], "ok");
            assert_string_equal(t.rows[i][seats], t.rows[i][model]);
            assert_true(strlen(t.rows[i][pct]) > 0);
        }
    }
    assert_int_equal(failed, 1);
    s_free_table(&t);

    snprintf(path, sizeof path, "%s/agents.csv", s_dir);
    s_read_csv(path, &t);
    s_check_rectangular(&t);
    assert_int_equal(t.n_rows, 1 + 27 * 10);
    s_free_table(&t);

    snprintf(path, sizeof path, "%s/transfers.csv", s_dir);
    s_read_csv(path, &t);
    s_check_rectangular(&t);
    size_t pieces = 0;
    for (size_t i = 0; i < ana_study_n_runs(s_study); i++)
        if (ana_study_run(s_study, i)) pieces += ana_run_n_transfers(ana_study_run(s_study, i));
    assert_true(pieces > 0);
    assert_int_equal(t.n_rows, 1 + pieces);
    s_free_table(&t);

    snprintf(path, sizeof path, "%s/aggregates.csv", s_dir);
    s_read_csv(path, &t);
    s_check_rectangular(&t);
    assert_int_equal(t.n_rows, 1 + 9 * ANA_M_COUNT);
    int n = s_col(&t, "n"), metric = s_col(&t, "metric");
    /* n counts the seeds where a metric is defined (no Gini when nobody earned) */
    for (size_t i = 1; i < t.n_rows; i++)
        if (!strcmp(t.rows[i][metric], "pct_optimal")) assert_string_equal(t.rows[i][n], "3");
    s_free_table(&t);

    snprintf(path, sizeof path, "%s/decomposition.csv", s_dir);
    s_read_csv(path, &t);
    s_check_rectangular(&t);
    assert_int_equal(t.n_rows, 1 + 3 * 3);
    s_free_table(&t);

    snprintf(path, sizeof path, "%s/rounds.csv", s_dir);
    s_read_csv(path, &t);
    s_check_rectangular(&t);
    assert_int_equal(t.n_rows, 1 + 27 * 20);
    s_free_table(&t);
}

static void test_report_files(void **state)
{
    (void)state;
    char err[512] = "", html[300], md[300];
    snprintf(html, sizeof html, "%s/report.html", s_dir);
    snprintf(md, sizeof md, "%s/report.md", s_dir);
    assert_int_equal(ana_report_write(s_study, html, md, err, sizeof err), 0);
    FILE *f = fopen(html, "r");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    /* self-contained: nothing fetched from anywhere */
    assert_null(strstr(buf, "src="));
    assert_null(strstr(buf, "href="));
    assert_null(strstr(buf, "url("));
    assert_null(strstr(buf, "<script"));
    assert_null(strstr(buf, "<link"));
    assert_non_null(strstr(buf, "data-chart=\"pct\""));
    assert_non_null(strstr(buf, "data-chart=\"decomp\""));
    assert_non_null(strstr(buf, "data-chart=\"rounds\""));
    assert_non_null(strstr(buf, "data-chart=\"matrix\""));
    assert_non_null(strstr(buf, "cooperation-limited"));
    f = fopen(md, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "| selfish | paper |"));
    assert_non_null(strstr(buf, "**competence-limited**"));
    assert_non_null(strstr(buf, "Definitions:"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decomposition_recovers_ground_truth),
        cmocka_unit_test(test_failed_run_is_recorded),
        cmocka_unit_test(test_csv_parse_back),
        cmocka_unit_test(test_report_files),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
