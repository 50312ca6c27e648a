/* test_timing_tables.c: the record accounts for every turn offered, and the
 * timing tables `parley report` writes say what happened, read back as a
 * user reads them (timing.csv, timing_share.csv, report.html):
 *   - a realtime game that ends with one seat still deciding (the raw client
 *     answers after the game is over) and another's decision still held for
 *     its injected latency records each as turn_open_at_end (held or not,
 *     how long it ran), and timing.csv counts them: offered = decided +
 *     missed + superseded + open at the end;
 *   - time to share by seat speed: in a sequential game a perfect seat
 *     whose decisions are held 0.3 s fills every request, the ones it
 *     answers on its own turn no sooner than 0.3 s after they were made; a
 *     seat that never acts fills nothing;
 *   - a seat that never connected misses turns it was never offered:
 *     timing.csv counts them as absent. */
#include "e2e.h"
#include "timing_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

/* Runs `parley report RUN --out DIR/report.html`; fails the test if it fails. */
static void s_report(const char *run, const char *dir)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s/parley' report '%s' --out '%s/report.html' --quiet 2>&1",
             getenv("PARLEY_BIN"), run, dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[4096];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("parley report: %s", out);
}

/* The cell of column `col` in the row of dir/name whose agent is `agent`,
 * copied to out ("" when empty). Fails the test if there is none. */
static void s_cell(const char *dir, const char *name, const char *agent, const char *col, char *out,
                   size_t cap)
{
    char path[1200], line[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s: not written", path);
    int want = -1, agent_col = -1, k = 0;
    assert_non_null(fgets(line, sizeof line, f));
    line[strcspn(line, "\r\n")] = '\0';
    for (char *save = NULL, *t = strtok_r(line, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, col)) want = k;
        if (!strcmp(t, "agent")) agent_col = k;
        k++;
    }
    if (want < 0 || agent_col < 0) fail_msg("%s: no column %s", name, col);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *cells[64];
        int n = 0;
        /* Cells are plain (no quoted commas in these tables); empty ones kept. */
        for (char *c = line; n < 64;) {
            cells[n++] = c;
            char *comma = strchr(c, ',');
            if (!comma) break;
            *comma = '\0';
            c = comma + 1;
        }
        if (n > want && n > agent_col && !strcmp(cells[agent_col], agent)) {
            snprintf(out, cap, "%s", cells[want]);
            fclose(f);
            return;
        }
    }
    fclose(f);
    fail_msg("%s: no row for %s", name, agent);
}

static double s_num_cell(const char *dir, const char *name, const char *agent, const char *col)
{
    char v[128];
    s_cell(dir, name, agent, col, v, sizeof v);
    if (!v[0]) fail_msg("%s: %s of %s is empty", name, col, agent);
    return strtod(v, NULL);
}

static void test_open_at_end(void **state)
{
    (void)state;
    char run[1100];
    /* agent_1 (raw) answers 6 s after its turn, past the 3 s game; agent_2's
     * decisions are held 5 s, past the game too, within its 8 s deadline. */
    const double delays[] = {6.0};
    tu_game("open-at-end", "realtime", "", "latency: 5, deadline: 8", delays, 1, run, sizeof run);
    json_t *o1 = tu_events(run, "turn_open_at_end", "agent_1");
    json_t *o2 = tu_events(run, "turn_open_at_end", "agent_2");
    assert_int_equal(json_array_size(o1), 1);
    assert_int_equal(json_array_size(o2), 1);
    json_t *a = json_array_get(o1, 0), *b = json_array_get(o2, 0);
    /* agent_1 was still deciding: nothing held; its only turn ran the game. */
    assert_false(json_is_true(json_object_get(a, "held")));
    assert_true(json_number_value(json_object_get(a, "open_s")) >= 2.9);
    /* agent_2's decision had arrived and was waiting out its latency. */
    assert_true(json_is_true(json_object_get(b, "held")));
    assert_true(json_number_value(json_object_get(b, "latency_s")) == 5.0);
    assert_true(json_number_value(json_object_get(b, "held_s")) <=
                json_number_value(json_object_get(b, "open_s")));
    json_decref(o1);
    json_decref(o2);
    tu_check_outcomes(run, "agent_1");
    tu_check_outcomes(run, "agent_2");
    /* run_end comes after them: the record of the turns is complete first. */
    json_t *all = e2e_events(run, NULL);
    size_t n = json_array_size(all), last_open = 0, end = 0;
    for (size_t i = 0; i < n; i++) {
        const char *t = json_string_value(json_object_get(json_array_get(all, i), "type"));
        if (!strcmp(t, "turn_open_at_end")) last_open = i;
        if (!strcmp(t, "run_end")) end = i;
    }
    assert_true(end > last_open);
    json_decref(all);

    const char *dir = e2e_tmpdir("open-at-end-report");
    s_report(run, dir);
    const char *seats[] = {"agent_1", "agent_2", "agent_3", "agent_4"};
    for (int i = 0; i < 4; i++) {
        double off = s_num_cell(dir, "timing.csv", seats[i], "offered");
        double sum = s_num_cell(dir, "timing.csv", seats[i], "decided") +
                     s_num_cell(dir, "timing.csv", seats[i], "missed") +
                     s_num_cell(dir, "timing.csv", seats[i], "superseded") +
                     s_num_cell(dir, "timing.csv", seats[i], "open_at_end");
        if (off != sum) fail_msg("%s: %g offered, %g accounted for", seats[i], off, sum);
    }
    assert_true(s_num_cell(dir, "timing.csv", "agent_1", "open_at_end") == 1);
    assert_true(s_num_cell(dir, "timing.csv", "agent_2", "open_at_end") == 1);
    assert_true(s_num_cell(dir, "timing.csv", "agent_2", "decided") == 0);
}

static void test_time_to_share(void **state)
{
    (void)state;
    char run[1100];
    const double delays[] = {0.0}; /* agent_1 answers every turn at once, empty */
    tu_game("share", "sequential", "", "latency: 0.3", delays, 1, run, sizeof run);
    const char *dir = e2e_tmpdir("share-report");
    s_report(run, dir);
    const char *t = "timing_share.csv";
    /* agent_2 (perfect) fills every request it gets. A perfect asker's
     * REQUEST is filled by the engine at once (the paper preset's rule); the
     * rest wait for agent_2's next turn, whose decision is held 0.3 s: so
     * its slowest fill took at least that, and some a round. */
    assert_true(s_num_cell(dir, t, "agent_2", "latency_s") == 0.3);
    char grp[64];
    s_cell(dir, t, "agent_2", "group", grp, sizeof grp);
    assert_string_equal(grp, "perfect");
    assert_true(s_num_cell(dir, t, "agent_2", "requests") >= 1);
    assert_true(s_num_cell(dir, t, "agent_2", "fill_share") == 1);
    assert_true(s_num_cell(dir, t, "agent_2", "max_share_s") >= 0.3 - 0.002);
    assert_true(s_num_cell(dir, t, "agent_2", "max_share_s") >=
                s_num_cell(dir, t, "agent_2", "mean_share_s"));
    assert_true(s_num_cell(dir, t, "agent_2", "mean_share_rounds") > 0);
    /* agent_1 is asked and sends nothing. */
    assert_true(s_num_cell(dir, t, "agent_1", "requests") >= 1);
    assert_true(s_num_cell(dir, t, "agent_1", "filled") == 0);
    char v[64];
    s_cell(dir, t, "agent_1", "mean_share_s", v, sizeof v);
    assert_string_equal(v, "");
    /* The report shows the table beside the timing chart. */
    char path[1200];
    snprintf(path, sizeof path, "%s/report.html", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char html[1 << 20];
    size_t n = fread(html, 1, sizeof html - 1, f);
    html[n] = '\0';
    fclose(f);
    assert_non_null(strstr(html, "<h2>Timing</h2>"));
    assert_non_null(strstr(html, "Time to share by seat speed"));
}

/* A seat that never connects misses its turns without being offered them:
 * timing.csv counts them as absent, not as missed offers. */
static void test_absent_seat(void **state)
{
    (void)state;
    const char *top = e2e_tmpdir("absent");
    const char *cfg = e2e_write(top, "game.yaml",
                                "seed: 5\nsimulation: {agents: 4, rounds: 3}\n"
                                "information: {total_pieces: 8, pieces_per_agent: 2}\n"
                                "tasks: {pieces_per_task: 2}\n"
                                "timing: {mode: sequential, turn_timeout: 5, heartbeat: 0.3}\n"
                                "seats:\n  - {policy: perfect, count: 4}\n");
    char run[1100];
    snprintf(run, sizeof run, "%s/run", top);
    e2e_broker_t b;
    const char *extra[] = {"--start-timeout", "1", NULL};
    assert_int_equal(e2e_broker_start(&b, cfg, run, NULL, extra), 0);
    pid_t pids[3];
    for (int i = 0; i < 3; i++) {
        char seat[16];
        snprintf(seat, sizeof seat, "agent_%d", i + 1);
        pids[i] = e2e_agent(b.router, run, seat, "perfect");
    }
    assert_int_equal(e2e_wait(b.pid, 60000), 0);
    for (int i = 0; i < 3; i++) assert_int_equal(e2e_wait(pids[i], 20000), 0);
    const char *dir = e2e_tmpdir("absent-report");
    s_report(run, dir);
    assert_true(s_num_cell(dir, "timing.csv", "agent_4", "offered") == 0);
    assert_true(s_num_cell(dir, "timing.csv", "agent_4", "missed") == 0);
    assert_true(s_num_cell(dir, "timing.csv", "agent_4", "absent") == 3);
    assert_true(s_num_cell(dir, "timing.csv", "agent_1", "absent") == 0);
    assert_true(s_num_cell(dir, "timing.csv", "agent_1", "offered") ==
                s_num_cell(dir, "timing.csv", "agent_1", "decided"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_at_end),
        cmocka_unit_test(test_time_to_share),
        cmocka_unit_test(test_absent_seat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
