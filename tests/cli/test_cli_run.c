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
