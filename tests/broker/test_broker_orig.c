/* test_broker_orig.c: the study's own config format (examples/original/) read
 * by `parley run` and `parley sweep`: translated key by key, or refused naming
 * FILE:LINE and the key; and the study's options that reach the broker
 * (fail_fast_on_agent_error) or the sweep's ceilings. */
#include "e2e.h"
#include "fake_proc.h"
#include "pl_config_orig.h"
#include "rules_util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ----------------------------------------------- the original's format -- */

static const char *s_example(const char *name)
{
    static char path[1200];
    const char *src = getenv("PARLEY_SRC");
    snprintf(path, sizeof path, "%s/examples/original/%s", src ? src : ".", name);
    return path;
}

/* Each example, read as the original would run it. */
static void test_original_format_examples_translate(void **state)
{
    (void)state;
    char err[512];
    pl_config_t *c = pl_config_load_any(s_example("config.yaml"), err, sizeof err);
    if (!c) fail_msg("%s", err);
    assert_int_equal(c->game.total_pieces, 200);
    assert_int_equal(c->game.pieces_per_task, 4);
    assert_int_equal(c->game.min_pieces_per_task, 0); /* 4..4: fixed */
    assert_false(c->game.truncate_history);
    assert_true(c->game.misreport_rate == 0.5);
    assert_int_equal(c->game.n_info_templates, 0); /* the built-in names */
    assert_int_equal(c->game.n_task_templates, 5);
    for (int i = 0; i < 10; i++) {
        assert_string_equal(c->seats[i].policy, "llm");
        assert_string_equal(c->seats[i].model, "google/gemini-2.5-pro");
        assert_string_equal(c->seats[i].api_key_env, "OPENROUTER_API_KEY");
    }
    pl_config_destroy(&c);

    c = pl_config_load_any(s_example("config_mixed.yaml"), err, sizeof err);
    if (!c) fail_msg("%s", err);
    assert_string_equal(c->seats[0].policy, "llm");
    assert_string_equal(c->seats[0].model, "o3-mini-2025-01-31");
    for (int i = 1; i < 10; i++) assert_string_equal(c->seats[i].policy, "perfect");
    assert_int_equal(c->game.total_pieces, 80);
    assert_int_equal(c->game.first_bonus, 2000);
    assert_true(c->game.truncate_history); /* not written: the original truncates */
    assert_true(pl_config_mixed(c));       /* its LLM seat reads the REQUEST prompt */
    pl_config_destroy(&c);

    c = pl_config_load_any(s_example("config_automated_fulfill.yaml"), err, sizeof err);
    if (!c) fail_msg("%s", err);
    assert_int_equal(c->game.automation, ENV_AUTO_FULFILL);
    assert_true(c->game.automated_as_agents);
    pl_config_destroy(&c);
}

/* What cannot be honoured is refused with the file, the line and the key. */
static void test_original_format_refusals_name_file_line_key(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"simulation:\n  rounds: 5\n  report_frequency: 3\ntasks:\n  min_info_pieces: 4\n",
         "t.yaml:3: simulation.report_frequency: parley does not support"},
        {"simulation:\n  rounds: 5\ntasks:\n  min_info_pieces: 4\n",
         "t.yaml: simulation.report_frequency: absent"},
        {"simulation:\n  report_frequency: 0\n  show_full_revenue: true\n  colour: red\n",
         "t.yaml:4: simulation.colour: a key of the original's format"},
        {"simulation:\n  report_frequency: 0\nagents:\n  model: gpt-4o\n  perfect_strategy:\n"
         "    response_delay: 5\n",
         "t.yaml:6: agents.perfect_strategy.response_delay"},
        {"simulation:\n  report_frequency: 0\n  automation_mode: magic\n",
         "t.yaml:3: simulation.automation_mode: expected"},
        {"simulation:\n  report_frequency: 0\n  fail_fast_on_agent_error: perhaps\n"
         "agents:\n  model: gpt-4o\n",
         "t.yaml:3: simulation.fail_fast_on_agent_error: expected true or false"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char err[512] = "";
        assert_true(pl_config_orig_detect(cases[i].text, strlen(cases[i].text)));
        pl_config_t *c =
            pl_config_orig_parse(cases[i].text, strlen(cases[i].text), "t.yaml", err, sizeof err);
        if (c || !strstr(err, cases[i].want))
            fail_msg("case %zu: want '%s', got '%s'", i, cases[i].want, err);
    }
    /* parley's own format is not mistaken for the original's. */
    const char *own = "simulation: {rounds: 3}\nrules: {submit_exact_names: false}\n";
    assert_false(pl_config_orig_detect(own, strlen(own)));
}

/* Runs `parley CMD` with args; returns its exit status, stdout and stderr in out. */
static int s_parley(const char *dir, const char *cmd, const char *const *args, char *out,
                    size_t outlen)
{
    char prog[1024], out_path[1200];
    const char *bin = getenv("PARLEY_BIN");
    snprintf(prog, sizeof prog, "%s/parley", bin ? bin : "./bin");
    snprintf(out_path, sizeof out_path, "%s/parley.out", dir);
    const char *argv[32] = {prog, cmd};
    int n = 2;
    for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0) _exit(127);
        dup2(o, 1);
        dup2(o, 2);
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    assert_true(pid > 0);
    int rc = e2e_wait(pid, 240000);
    if (rc < 0) e2e_reap(pid);
    FILE *f = fopen(out_path, "r");
    size_t got = f ? fread(out, 1, outlen - 1, f) : 0;
    out[got] = 0;
    if (f) fclose(f);
    return rc;
}

static int s_parley_run(const char *dir, const char *const *args, char *out, size_t outlen)
{
    return s_parley(dir, "run", args, out, outlen);
}

/* The column `name` of runs.csv, row by row, as integers (up to cap rows). */
static int s_csv_ints(const char *path, const char *name, long *out, int cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[8192];
    int col = -1, n = 0;
    if (fgets(line, sizeof line, f)) {
        int k = 0;
        for (char *tok = strtok(line, ",\n"); tok; tok = strtok(NULL, ",\n"), k++)
            if (strcmp(tok, name) == 0) col = k;
    }
    assert_true(col >= 0);
    while (n < cap && fgets(line, sizeof line, f)) {
        /* Quoted fields may hold commas: skip them whole. */
        int k = 0;
        const char *p = line;
        while (*p && k < col) {
            if (*p == '"')
                for (p++; *p && *p != '"'; p++) continue;
            if (*p == ',') k++;
            if (*p) p++;
        }
        out[n++] = strtol(p, NULL, 10);
    }
    fclose(f);
    return n;
}

/* A sweep over one of the new rule keys gets a ceiling per condition, not
 * one cached from the other (analysis/ana_study.c's ceiling key). */
static void test_sweep_ceiling_follows_new_keys(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("rules-sweep-ceiling");
    char text[2048], out[8192], outdir[1200];
    snprintf(outdir, sizeof outdir, "%s/out", dir);
    snprintf(text, sizeof text,
             "executor: inprocess\nconcurrency: 2\nout: %s\n"
             "factors:\n  seats:\n    - [{policy: perfect, count: 10}]\n"
             "  simulation.rounds: [4]\n  tasks.new_task_on_completion: [true, false]\n"
             "  seed: [1]\n",
             outdir);
    const char *sweep = e2e_write(dir, "sweep.yaml", text);
    const char *args[] = {sweep, NULL};
    int rc = s_parley(dir, "sweep", args, out, sizeof out);
    if (rc != 0) fail_msg("parley sweep exit %d: %s", rc, out);
    char runs[1300];
    snprintf(runs, sizeof runs, "%s/runs.csv", outdir);
    long opt[4], tasks[4];
    assert_int_equal(s_csv_ints(runs, "optimal_tasks", opt, 4), 2);
    assert_int_equal(s_csv_ints(runs, "tasks", tasks, 4), 2);
    assert_true(opt[0] != opt[1]); /* 2 tasks an agent at most without renewal */
    assert_true(opt[0] == 20 || opt[1] == 20);
    assert_int_equal(tasks[0], opt[0]); /* perfect seats are at their own ceiling */
    assert_int_equal(tasks[1], opt[1]);
}

/* `parley sweep` takes a base configuration in the original's format. */
static void test_original_format_as_sweep_base(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("orig-sweep");
    char text[4096], out[8192], outdir[1200];
    snprintf(outdir, sizeof outdir, "%s/out", dir);
    snprintf(text, sizeof text,
             "base: %s\nexecutor: inprocess\nconcurrency: 2\nout: %s\n"
             "factors:\n  seats:\n    - [{policy: perfect, count: 10}]\n"
             "  simulation.rounds: [3]\n  seed: [1, 2]\n",
             s_example("config_automated_fulfill.yaml"), outdir);
    const char *sweep = e2e_write(dir, "sweep.yaml", text);
    const char *args[] = {sweep, NULL};
    int rc = s_parley(dir, "sweep", args, out, sizeof out);
    if (rc != 0) fail_msg("parley sweep exit %d: %s", rc, out);
    char runs[1300];
    snprintf(runs, sizeof runs, "%s/runs.csv", outdir);
    FILE *f = fopen(runs, "r");
    assert_non_null(f);
    char line[4096];
    int ok_rows = 0;
    while (fgets(line, sizeof line, f))
        ok_rows += strstr(line, ",ok,") && strstr(line, "auto_fulfill") != NULL;
    fclose(f);
    assert_int_equal(ok_rows, 2);
}

/* simulation.fail_fast_on_agent_error: the LLM seat's model call fails (the
 * endpoint refuses its key); with the switch on the game stops at that turn
 * with reason agent_error, with it off the seat's turns are empty and the game
 * plays out. */
static void test_fail_fast_on_agent_error(void **state)
{
    (void)state;
    int port = 0;
    const char *fargs[] = {"--key", "the-right-key", NULL};
    pid_t fake = fake_start(fargs, &port);
    assert_true(fake > 0);
    setenv("PARLEY_TEST_FF_KEY", "a-wrong-key", 1);
    for (int ff = 0; ff < 2; ff++) {
        const char *dir = e2e_tmpdir("rules-ff");
        char text[800], outdir[1200], out[8192];
        snprintf(text, sizeof text,
                 "seed: 3\nsimulation: {rounds: 3, fail_fast_on_agent_error: %s}\n"
                 "seats:\n"
                 "  - {policy: llm, model: m, base_url: \"http://127.0.0.1:%d/v1\", "
                 "api_key_env: PARLEY_TEST_FF_KEY}\n"
                 "  - {policy: perfect, count: 9}\n",
                 ff ? "true" : "false", port);
        const char *cfg = e2e_write(dir, "game.yaml", text);
        snprintf(outdir, sizeof outdir, "%s/run", dir);
        const char *args[] = {cfg, "--out", outdir, NULL};
        int rc = s_parley_run(dir, args, out, sizeof out);
        if (ff) {
            assert_int_not_equal(rc, 0); /* a stopped game */
            json_t *sum = e2e_json(outdir, "summary.partial.json");
            assert_non_null(sum);
            assert_string_equal(json_string_value(json_object_get(sum, "reason")), "agent_error");
            assert_true(json_integer_value(json_object_get(sum, "rounds_played")) == 1);
            json_decref(sum);
        } else {
            if (rc != 0) fail_msg("exit %d: %s", rc, out);
            json_t *sum = e2e_json(outdir, "summary.json");
            assert_non_null(sum);
            assert_int_equal(json_integer_value(json_object_get(sum, "rounds_played")), 3);
            json_decref(sum);
        }
        assert_true(ru_count(outdir, "decision", "agent_1", "model call failed") >= 1);
    }
    unsetenv("PARLEY_TEST_FF_KEY");
    fake_stop(fake);
}

/* The three examples through `parley run`: built-in seats for the all-LLM
 * arms, and the mixed arm with its LLM seat on the fake endpoint. */
static void test_original_format_runs_through_parley_run(void **state)
{
    (void)state;
    const char *names[] = {"config.yaml", "config_automated_fulfill.yaml"};
    for (int i = 0; i < 2; i++) {
        const char *dir = e2e_tmpdir("orig-run");
        char outdir[1200], out[8192];
        snprintf(outdir, sizeof outdir, "%s/run", dir);
        const char *args[] = {s_example(names[i]),
                              "--set",
                              "seats=[{policy: perfect, count: 10}]",
                              "--set",
                              "simulation.rounds=3",
                              "--out",
                              outdir,
                              NULL};
        int rc = s_parley_run(dir, args, out, sizeof out);
        if (rc != 0) fail_msg("%s: exit %d: %s", names[i], rc, out);
        json_t *cfg = e2e_json(outdir, "config.json");
        assert_non_null(cfg);
        json_t *info = json_object_get(cfg, "information");
        assert_int_equal(json_integer_value(json_object_get(info, "total_pieces")),
                         i == 0 ? 200 : 100);
        assert_string_equal(json_string_value(json_object_get(cfg, "automation")),
                            i == 0 ? "none" : "auto_fulfill");
        json_decref(cfg);
        json_t *sum = e2e_json(outdir, "summary.json");
        assert_non_null(sum);
        assert_true(json_integer_value(json_object_get(sum, "tasks")) > 0);
        json_decref(sum);
    }

    /* Mixed: agent_1 is an llm seat; the fake plays it. */
    const char *dir = e2e_tmpdir("orig-mixed");
    int port = 0;
    const char *fargs[] = {NULL};
    pid_t fake = fake_start(fargs, &port);
    assert_true(fake > 0);
    setenv("PARLEY_TEST_ORIG_KEY", "sk-orig-test", 1);
    char base[96], outdir[1200], out[8192];
    snprintf(base, sizeof base, "seats.0.base_url=http://127.0.0.1:%d/v1", port);
    snprintf(outdir, sizeof outdir, "%s/run", dir);
    const char *args[] = {s_example("config_mixed.yaml"),
                          "--set",
                          base,
                          "--set",
                          "seats.0.api_key_env=PARLEY_TEST_ORIG_KEY",
                          "--set",
                          "simulation.rounds=3",
                          "--out",
                          outdir,
                          NULL};
    int rc = s_parley_run(dir, args, out, sizeof out);
    fake_stop(fake);
    unsetenv("PARLEY_TEST_ORIG_KEY");
    if (rc != 0) fail_msg("config_mixed.yaml: exit %d: %s", rc, out);
    json_t *sum = e2e_json(outdir, "summary.json");
    assert_non_null(sum);
    json_t *row = json_array_get(json_object_get(sum, "board"), 0);
    assert_string_equal(json_string_value(json_object_get(row, "policy")), "llm");
    assert_true(json_integer_value(json_object_get(row, "turns")) == 3);
    assert_true(json_integer_value(json_object_get(sum, "tasks")) > 0);
    json_decref(sum);
    /* A file the original could not run either is refused, naming the key. */
    const char *bad = e2e_write(dir, "bad.yaml",
                                "simulation:\n  rounds: 2\n  report_frequency: 2\n"
                                "tasks:\n  min_info_pieces: 4\n");
    const char *bargs[] = {bad, NULL};
    rc = s_parley_run(dir, bargs, out, sizeof out);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "bad.yaml:3: simulation.report_frequency"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_original_format_examples_translate),
        cmocka_unit_test(test_original_format_refusals_name_file_line_key),
        cmocka_unit_test(test_original_format_runs_through_parley_run),
        cmocka_unit_test(test_fail_fast_on_agent_error),
        cmocka_unit_test(test_original_format_as_sweep_base),
        cmocka_unit_test(test_sweep_ceiling_follows_new_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
