/* test_ana_metrics.c: the metrics of one run on a tiny hand-built event log
 * whose answers are worked out by hand (docs/ANALYSIS.md), and a reader that
 * survives what real logs contain: a malformed line (reported as FILE:LINE and
 * skipped), an unknown event type (ignored), a truncated last line (ignored). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ana_run.h"
#include "ana_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_dir[] = "/tmp/ana_metrics_XXXXXX";
static char s_diag[8][512];
static int s_n_diag;

static void s_on_diag(void *ctx, const char *msg)
{
    (void)ctx;
    if (s_n_diag < 8) snprintf(s_diag[s_n_diag], sizeof s_diag[0], "%s", msg);
    s_n_diag++;
}

/* Three agents, six pieces; agent_1 holds P1 P2, agent_2 P3 P4, agent_3 P5 P6.
 * agent_1's task needs P1 P3 (it lacks P3); agent_2's task needs P3 P5.
 * - t=1000 agent_1 asks agent_2 for P3; t=1400 agent_2 sends it (value 7, true 7).
 * - agent_1 completes its task: 10000.
 * - t=2000 agent_2 asks agent_3 for P5 (never answered).
 * - agent_3 sends P6 to agent_1 unasked, misreported (5 instead of 9).
 * - agent_2 sends P4 to agent_3 unasked, true value.
 * Revenue 10000, 0, 0: Gini = (2*3-3-1)*10000 / (3*10000) = 2/3; two agents at 0.
 * Pieces copied 3, misreported 1: rate 1/3. Requests made 2, fulfilled 1 after 400 ms.
 * Needed pieces: P3 (agent_1) and P5 (agent_2); P5 was never shared. */
static const char *s_log =
    "{\"seq\":1,\"type\":\"world\",\"round\":0,\"t_ms\":0,\"seed\":1,\"agents\":["
    "{\"id\":\"agent_1\",\"type\":\"neutral\",\"holds\":[\"P1\",\"P2\"]},"
    "{\"id\":\"agent_2\",\"type\":\"neutral\",\"holds\":[\"P3\",\"P4\"]},"
    "{\"id\":\"agent_3\",\"type\":\"competitive\",\"holds\":[\"P5\",\"P6\"]}],"
    "\"pieces\":[{\"name\":\"P1\",\"value\":1},{\"name\":\"P2\",\"value\":2},"
    "{\"name\":\"P3\",\"value\":7},{\"name\":\"P4\",\"value\":4},{\"name\":\"P5\",\"value\":5},"
    "{\"name\":\"P6\",\"value\":9}]}\n"
    "{\"seq\":2,\"type\":\"task_new\",\"round\":0,\"t_ms\":0,\"agent\":\"agent_1\",\"task\":"
    "\"task_1\",\"pieces\":[\"P1\",\"P3\"]}\n"
    "{\"seq\":3,\"type\":\"task_new\",\"round\":0,\"t_ms\":0,\"agent\":\"agent_2\",\"task\":"
    "\"task_2\",\"pieces\":[\"P3\",\"P5\"]}\n"
    "{\"seq\":4,\"type\":\"round_start\",\"round\":1,\"t_ms\":900,\"order\":[]}\n"
    "{\"seq\":5,\"type\":\"message\",\"round\":1,\"t_ms\":1000,\"kind\":\"direct\",\"from\":"
    "\"agent_1\",\"to\":\"agent_2\",\"content\":\"need P3\",\"delivered\":true,\"automated\":false,"
    "\"names_pieces\":[\"P3\"]}\n"
    "this line is not JSON\n"
    "{\"seq\":6,\"type\":\"a_type_from_the_future\",\"round\":1,\"t_ms\":1100}\n"
    "{\"seq\":7,\"type\":\"transfer\",\"round\":1,\"t_ms\":1400,\"from\":\"agent_2\",\"to\":"
    "\"agent_1\",\"pieces\":[{\"piece\":\"P3\",\"value\":7,\"true_value\":7,\"misreport\":false,"
    "\"requested\":true}],\"automated\":false,\"misreports\":0,\"bonus\":0}\n"
    "{\"seq\":8,\"type\":\"task_completed\",\"round\":1,\"t_ms\":1500,\"agent\":\"agent_1\","
    "\"task\":\"task_1\",\"pieces\":[\"P1\",\"P3\"],\"payout\":10000,\"misreports\":0}\n"
    "{\"seq\":9,\"type\":\"round_end\",\"round\":1,\"t_ms\":1600,\"tasks\":1,\"messages\":1}\n"
    "{\"seq\":10,\"type\":\"round_start\",\"round\":2,\"t_ms\":1700,\"order\":[]}\n"
    "{\"seq\":11,\"type\":\"message\",\"round\":2,\"t_ms\":2000,\"kind\":\"direct\",\"from\":"
    "\"agent_2\",\"to\":\"agent_3\",\"content\":\"P5 please\",\"delivered\":true,\"automated\":"
    "false,\"names_pieces\":[\"P5\"]}\n"
    "{\"seq\":12,\"type\":\"message\",\"round\":2,\"t_ms\":2050,\"kind\":\"broadcast\",\"from\":"
    "\"agent_3\",\"content\":\"hello\"}\n"
    "{\"seq\":13,\"type\":\"transfer\",\"round\":2,\"t_ms\":2100,\"from\":\"agent_3\",\"to\":"
    "\"agent_1\",\"pieces\":[{\"piece\":\"P6\",\"value\":5,\"true_value\":9,\"misreport\":true,"
    "\"requested\":false}],\"automated\":false,\"misreports\":1,\"bonus\":0}\n"
    "{\"seq\":14,\"type\":\"transfer\",\"round\":2,\"t_ms\":2200,\"from\":\"agent_2\",\"to\":"
    "\"agent_3\",\"pieces\":[{\"piece\":\"P4\",\"value\":4,\"true_value\":4,\"misreport\":false,"
    "\"requested\":false}],\"automated\":false,\"misreports\":0,\"bonus\":0}\n"
    "{\"seq\":15,\"type\":\"round_end\",\"round\":2,\"t_ms\":2300,\"tasks\":0,\"messages\":2}\n"
    "{\"seq\":16,\"type\":\"run_end\",\"round\":2,\"t_ms\":2400,\"board\":[]}\n"
    "{\"seq\":17,\"type\":\"message\",\"round\":2,\"t_ms\":25"; /* cut mid-line */

static int s_setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(s_dir));
    char path[256], err[512];
    pl_config_t *c = pl_config_default();
    assert_non_null(c);
    assert_int_equal(pl_config_set(c, "simulation.agents=3", err, sizeof err), 0);
    assert_int_equal(pl_config_set(c, "simulation.rounds=2", err, sizeof err), 0);
    assert_int_equal(pl_config_set(c, "information.pieces_per_agent=2", err, sizeof err), 0);
    assert_int_equal(pl_config_set(c, "information.total_pieces=6", err, sizeof err), 0);
    assert_int_equal(pl_config_set(c, "tasks.pieces_per_task=2", err, sizeof err), 0);
    json_t *j = pl_config_to_json(c);
    snprintf(path, sizeof path, "%s/config.json", s_dir);
    assert_int_equal(json_dump_file(j, path, JSON_INDENT(2)), 0);
    json_decref(j);
    pl_config_destroy(&c);
    snprintf(path, sizeof path, "%s/events.jsonl", s_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(s_log, f);
    assert_int_equal(fclose(f), 0);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_hand_built_log(void **state)
{
    (void)state;
    char err[512] = "";
    s_n_diag = 0;
    ana_run_t *r = ana_run_load(s_dir, s_on_diag, NULL, err, sizeof err);
    assert_non_null(r);
    const ana_metrics_t *m = ana_run_metrics(r);

    /* The malformed line is line 6, reported with the file's name, and skipped. */
    assert_int_equal(s_n_diag, 1);
    assert_non_null(strstr(s_diag[0], "events.jsonl:6:"));
    assert_int_equal(m->malformed_lines, 1);
    assert_true(m->truncated);
    assert_true(m->complete);

    assert_int_equal(m->tasks, 1);
    assert_true(m->task_revenue == 10000);
    assert_true(fabs(m->gini - 2.0 / 3.0) < 1e-9);
    assert_int_equal(m->zero_revenue_agents, 2);
    assert_int_equal(m->messages, 3);
    assert_true(fabs(m->messages_per_task - 3.0) < 1e-9);
    assert_int_equal(m->pieces_transferred, 3);
    assert_int_equal(m->misreports, 1);
    assert_true(fabs(m->misreport_rate - 1.0 / 3.0) < 1e-9);
    assert_true(fabs(m->transfer_rate - 3.0 / (3 * 2)) < 1e-9);
    assert_int_equal(m->requests_made, 2);
    assert_int_equal(m->requests_fulfilled, 1);
    assert_string_equal(m->ttf_unit, "ms");
    assert_true(fabs(m->ttf_mean - 400) < 1e-9);
    assert_true(fabs(m->ttf_median - 400) < 1e-9);
    assert_int_equal(m->shares_requested, 1);
    assert_int_equal(m->shares_unsolicited, 2);
    assert_int_equal(m->pieces_needed, 2);
    assert_int_equal(m->needed_never_shared, 1);

    /* % of optimal is against perfect play on the very same configuration. */
    assert_true(m->optimal > 0);
    assert_true(fabs(m->pct_optimal - 100.0 * 10000 / (double)m->optimal) < 1e-9);

    const ana_agent_t *ag = ana_run_agents(r);
    assert_int_equal(ana_run_n_agents(r), 3);
    assert_string_equal(ag[2].type, "competitive");
    assert_int_equal(ag[0].requests_made, 1);
    assert_int_equal(ag[1].requests_fulfilled, 1);
    assert_int_equal(ag[2].misreports_sent, 1);

    const ana_transfer_t *t = ana_run_transfers(r);
    assert_int_equal(ana_run_n_transfers(r), 3);
    assert_true(t[0].delay_ms == 400 && t[0].delay_seq == 2 && t[0].requested);
    assert_true(t[1].delay_ms == -1 && t[1].misreport);

    assert_int_equal(ana_run_n_rounds(r), 2);
    assert_int_equal(ana_run_rounds(r)[0].tasks, 1);
    assert_int_equal(ana_run_rounds(r)[1].tasks, 0);
    assert_int_equal(ana_run_rounds(r)[1].messages, 2);
    assert_true(ana_run_rounds(r)[1].group_revenue == 10000);
    ana_run_destroy(&r);
    assert_null(r);
}

static void test_missing_directory_is_an_error(void **state)
{
    (void)state;
    char err[512] = "";
    ana_run_t *r = ana_run_load("/nonexistent/run", NULL, NULL, err, sizeof err);
    assert_null(r);
    assert_non_null(strstr(err, "config.json"));
}

static void test_stats(void **state)
{
    (void)state;
    double x[] = {1, 2, 3, NAN};
    ana_summary_t s;
    ana_summarise(x, 4, &s);
    assert_int_equal(s.n, 3);
    assert_true(fabs(s.mean - 2) < 1e-12 && fabs(s.sd - 1) < 1e-12);
    /* t(0.975, 2) = 4.303: half width 4.303 / sqrt(3) */
    assert_true(fabs(s.ci_hi - (2 + 4.303 / sqrt(3))) < 1e-9);
    double eq[] = {5, 5, 5, 5}, one[] = {0, 0, 0, 8}, none[] = {0, 0};
    assert_true(fabs(ana_gini(eq, 4)) < 1e-12);
    assert_true(fabs(ana_gini(one, 4) - 0.75) < 1e-12);
    assert_true(isnan(ana_gini(none, 2)));
    assert_true(fabs(ana_t975(200) - 1.972) < 2e-3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_built_log),
        cmocka_unit_test(test_missing_directory_is_an_error),
        cmocka_unit_test(test_stats),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
