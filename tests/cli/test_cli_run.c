/* test_cli_run.c: `parley run` as a user runs it. A short game prints its
 * result (tasks, revenue, % of optimal) and leaves a complete run directory;
 * Ctrl-C in the middle of a long game stops everything and leaves a valid
 * partial run directory (every event line is JSON, a partial summary, no
 * summary.json, which means "done" to parley sweep). */
#include "e2e.h"

#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* Starts `parley run` with args; its stdout is returned through out_fd. */
static pid_t s_parley(const char *const *args, int *out_fd)
{
    char prog[1024];
    const char *bin = getenv("PARLEY_BIN");
    snprintf(prog, sizeof prog, "%s/parley", bin ? bin : "./bin");
    const char *argv[32] = {prog, "run"};
    int n = 2;
    for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    *out_fd = p[0];
    return pid;
}

static void s_read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0) len += (size_t)n;
    buf[len] = '\0';
    close(fd);
}

static void test_run_prints_result_and_run_directory(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("clirun");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 12\nsimulation: {rounds: 5}\n"
                                "seats:\n  - {policy: perfect, count: 10}\n");
    char out[1100];
    snprintf(out, sizeof out, "%s/run", dir);
    const char *args[] = {cfg, "--out", out, "--set", "simulation.rounds=4", "--quiet", NULL};
    int fd;
    pid_t pid = s_parley(args, &fd);
    char text[4096];
    s_read_all(fd, text, sizeof text);
    assert_int_equal(e2e_wait(pid, 60000), 0);
    assert_non_null(strstr(text, "100.0% of optimal"));
    assert_non_null(strstr(text, "run directory: "));
    assert_non_null(strstr(text, out));
    const char *files[] = {"config.json", "events.jsonl", "summary.json",
                           "seats.json",  "broker.log",   "agents/agent_10.log"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", out, files[i]);
        assert_int_equal(access(path, F_OK), 0);
    }
    json_t *sum = e2e_json(out, "summary.json");
    assert_int_equal(json_integer_value(json_object_get(sum, "rounds_played")), 4); /* --set */
    json_decref(sum);
    json_t *conf = e2e_json(out, "config.json");
    assert_non_null(conf);
    json_decref(conf);

    /* meta.json: what produced the run, and where its seed came from (the file). */
    json_t *meta = e2e_json(out, "meta.json");
    assert_non_null(meta);
    assert_string_equal(json_string_value(json_object_get(meta, "seed_source")), "config");
    assert_int_equal(json_integer_value(json_object_get(meta, "seed")), 12);
    assert_int_equal(strlen(json_string_value(json_object_get(meta, "config_sha256"))), 64);
    const char *commit = json_string_value(json_object_get(meta, "git_commit"));
    assert_non_null(commit);
    /* Every program says the same version and commit with --version. */
    const char *progs[] = {"parley", "parley-broker", "parley-agent", "parley-fake-llm"};
    for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
        char cmd[1400], line[512] = "";
        const char *bin = getenv("PARLEY_BIN");
        snprintf(cmd, sizeof cmd, "%s/%s --version", bin ? bin : "./bin", progs[i]);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        assert_non_null(fgets(line, sizeof line, p));
        assert_int_equal(pclose(p), 0);
        char want[256];
        snprintf(want, sizeof want, "%s %s (commit %.12s", progs[i],
                 json_string_value(json_object_get(meta, "parley_version")), commit);
        if (strncmp(line, want, strlen(want)) != 0) fail_msg("%s: got '%s'", want, line);
    }
    json_decref(meta);

    /* Without a seed anywhere: the preset's fixed seed, said to be the default;
     * --seed is recorded as such. */
    const char *nocfg = e2e_write(dir, "noseed.yaml", "simulation: {rounds: 2}\n");
    const char *seeds[][2] = {{NULL, "default"}, {"9", "--seed"}};
    for (int k = 0; k < 2; k++) {
        char o2[1100];
        snprintf(o2, sizeof o2, "%s/run-%d", dir, k);
        const char *a2[] = {nocfg,       "--out", o2, "--quiet", seeds[k][0] ? "--seed" : NULL,
                            seeds[k][0], NULL};
        pid = s_parley(a2, &fd);
        s_read_all(fd, text, sizeof text);
        assert_int_equal(e2e_wait(pid, 60000), 0);
        meta = e2e_json(o2, "meta.json");
        assert_non_null(meta);
        assert_string_equal(json_string_value(json_object_get(meta, "seed_source")), seeds[k][1]);
        assert_int_equal(json_integer_value(json_object_get(meta, "seed")), k ? 9 : 1);
        json_decref(meta);
    }

    /* --quiet is quiet: nothing on stderr (no progress, no live-view address). */
    char cmd[4096], errfile[1200];
    const char *bin = getenv("PARLEY_BIN");
    snprintf(errfile, sizeof errfile, "%s/quiet.err", dir);
    snprintf(cmd, sizeof cmd, "%s/parley run %s --out %s/quiet --quiet >/dev/null 2>%s",
             bin ? bin : "./bin", nocfg, dir, errfile);
    assert_int_equal(system(cmd), 0);
    struct stat st;
    assert_int_equal(stat(errfile, &st), 0);
    assert_int_equal(st.st_size, 0);
}

static void test_ctrl_c_leaves_a_valid_partial_run(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("cliint");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 1\nsimulation: {rounds: 100000}\n"
                                "seats:\n  - {policy: passive, count: 10}\n");
    char out[1100];
    snprintf(out, sizeof out, "%s/run", dir);
    const char *args[] = {cfg, "--out", out, "--quiet", NULL};
    int fd;
    pid_t pid = s_parley(args, &fd);
    /* Wait until the game is well under way. */
    for (int k = 0; k < 500; k++) {
        json_t *ev = e2e_events(out, "round_start");
        size_t n = json_array_size(ev);
        json_decref(ev);
        if (n >= 5) break;
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGINT);
    char text[4096];
    s_read_all(fd, text, sizeof text);
    assert_int_equal(e2e_wait(pid, 30000), 1);
    assert_non_null(strstr(text, "stopped"));
    json_t *evs = e2e_events(out, NULL); /* NULL if any line is not JSON */
    assert_non_null(evs);
    assert_true(json_array_size(evs) > 10);
    json_t *last = json_array_get(evs, json_array_size(evs) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "type")), "run_end");
    json_decref(evs);
    json_t *partial = e2e_json(out, "summary.partial.json");
    assert_non_null(partial);
    assert_string_equal(json_string_value(json_object_get(partial, "status")), "stopped");
    json_decref(partial);
    char path[1200];
    snprintf(path, sizeof path, "%s/summary.json", out);
    assert_int_not_equal(access(path, F_OK), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_prints_result_and_run_directory),
        cmocka_unit_test(test_ctrl_c_leaves_a_valid_partial_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
