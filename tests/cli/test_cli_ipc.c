/* test_cli_ipc.c: the broker's Unix socket for the seats of this host
 * (parley-broker --ipc, `parley run`'s default; docs/CLI.md, docs/SECURITY.md),
 * as a user sees it. The seats `parley run` starts join over it; the socket
 * in the run directory is mode 0700 while the game runs and gone once it is
 * over; a killed broker's successor takes it over and the seats come back
 * there. --no-ipc, or a run directory too deep for a socket's path, puts them
 * on TCP; --ipc-no-curve leaves CURVE off on the socket (TCP keeps it); either
 * way the game is the same game. A broker with both endpoints takes a seat
 * over each. A path too long for a Unix socket, or --ipc-no-curve without the
 * socket, is a clear error. Which way a seat came is the broker's own view of
 * the connection (its BRK-SEAT-JOINED line: "over ipc" or "over tcp", from
 * the socket's family). */
#include "e2e.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* Fails unless the broker's log in dir says seats agent_1..agent_n joined
 * (policy) over how. */
static void s_joined_over(const char *dir, int n, const char *policy, const char *how)
{
    char log[1200];
    snprintf(log, sizeof log, "%s/broker.log", dir);
    for (int i = 1; i <= n; i++) {
        char want[128];
        snprintf(want, sizeof want, "BRK-SEAT-JOINED agent_%d joined (%s) over %s", i, policy, how);
        if (e2e_count_lines(log, want) != 1) fail_msg("%s: no line '%s'", log, want);
    }
}

static void test_run_seats_join_over_the_run_directory_socket(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("cliipc");
    /* A game that goes on until stopped, so that the socket is seen live. */
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 3\nsimulation: {rounds: 100000, agents: 4}\n"
                                "timing: {mode: sequential, turn_timeout: 1, heartbeat: 0.2}\n"
                                "seats:\n  - {policy: passive, count: 4}\n");
    char out[1100], so[1200], sock[1200];
    snprintf(out, sizeof out, "%s/run", dir);
    snprintf(so, sizeof so, "%s/stdout", dir);
    snprintf(sock, sizeof sock, "%s/broker.ipc", out);
    const char *args[] = {cfg, "--out", out, "--quiet", NULL};
    pid_t run = e2e_parley_run(args, so);
    assert_true(run > 0);
    assert_true(e2e_wait_rounds(out, 2) >= 2);

    /* Every seat came over the socket, which only this user may use. */
    s_joined_over(out, 4, "passive", "ipc");
    struct stat st;
    assert_int_equal(lstat(sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(st.st_uid, getuid());

    /* Stopped (Ctrl-C): the socket goes with the broker. */
    kill(run, SIGINT);
    assert_int_equal(e2e_wait(run, 30000), 1);
    errno = 0;
    assert_int_equal(lstat(sock, &st), -1);
    assert_int_equal(errno, ENOENT);
}

static void test_killed_broker_resumes_on_the_socket(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("cliipcresume");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 5\nsimulation: {rounds: 100000, agents: 4}\n"
                                "timing: {mode: sequential, turn_timeout: 1, heartbeat: 0.2}\n"
                                "seats:\n  - {policy: passive, count: 4}\n");
    char out[1100], so[1200], sock[1200], log1[1200];
    snprintf(out, sizeof out, "%s/run", dir);
    snprintf(so, sizeof so, "%s/stdout", dir);
    snprintf(sock, sizeof sock, "%s/broker.ipc", out);
    snprintf(log1, sizeof log1, "%s/broker.1.log", out);
    const char *args[] = {cfg, "--out", out, "--quiet", NULL};
    pid_t run = e2e_parley_run(args, so);
    assert_true(run > 0);
    assert_true(e2e_wait_rounds(out, 2) >= 2);
    pid_t broker = -1;
    e2e_children(run, "parley-broker", &broker, 1);
    assert_true(broker > 0);
    assert_int_equal(kill(broker, SIGKILL), 0);

    /* The new broker binds the socket its predecessor left; the seats come
     * back over it. */
    int back = 0;
    for (int k = 0; k < 1500 && (back = e2e_count_lines(log1, "resumed) over ipc")) < 4; k++) {
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(back, 4);
    assert_int_equal(e2e_count_lines(log1, "over tcp"), 0);
    struct stat st;
    assert_int_equal(lstat(sock, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);

    kill(run, SIGINT);
    assert_int_equal(e2e_wait(run, 30000), 1);
    assert_int_equal(e2e_count_lines(so, "the broker died (signal 9); resuming"), 1);
    errno = 0;
    assert_int_equal(lstat(sock, &st), -1);
    assert_int_equal(errno, ENOENT);
}

static void test_same_game_over_tcp_and_without_curve_on_the_socket(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("clinoipc");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 7\nsimulation: {rounds: 4, agents: 10}\n"
                                "seats:\n  - {policy: perfect, count: 10}\n");
    /* The default, --no-ipc, --ipc-no-curve. */
    const char *flag[] = {NULL, "--no-ipc", "--ipc-no-curve"};
    json_t *events[3];
    for (int k = 0; k < 3; k++) {
        char out[1100], so[1200], sock[1200];
        snprintf(out, sizeof out, "%s/run-%d", dir, k);
        snprintf(so, sizeof so, "%s/stdout-%d", dir, k);
        snprintf(sock, sizeof sock, "%s/broker.ipc", out);
        const char *args[] = {cfg, "--out", out, "--quiet", flag[k], NULL};
        pid_t run = e2e_parley_run(args, so);
        assert_int_equal(e2e_wait(run, 60000), 0);
        s_joined_over(out, 10, "perfect", k == 1 ? "tcp" : "ipc");
        char log[1200];
        snprintf(log, sizeof log, "%s/broker.log", out);
        assert_int_equal(e2e_count_lines(log, "ipc://"), k == 1 ? 0 : 1); /* BRK-READY names it */
        assert_int_equal(e2e_count_lines(log, "(no CURVE there)"), k == 2);
        assert_int_equal(e2e_count_lines(log, "CURVE on (keys.json)"), 1); /* TCP keeps it */
        assert_int_equal(access(sock, F_OK), -1);
        /* The seats join in whatever order they come: the rest is the game. */
        const char *skip[] = {"seat_joined", NULL};
        events[k] = e2e_game_events(out, skip);
        assert_non_null(events[k]);
    }
    assert_true(json_array_size(events[0]) > 100);
    assert_true(json_equal(events[0], events[1]));
    assert_true(json_equal(events[0], events[2]));
    for (int k = 0; k < 3; k++) json_decref(events[k]);
}

static void test_run_directory_too_deep_for_a_socket_uses_tcp(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("clideep");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 2\nsimulation: {rounds: 2, agents: 3}\n"
                                "seats:\n  - {policy: perfect, count: 3}\n");
    char out[1100], so[1200];
    /* Past sun_path's 108 bytes once "/broker.ipc" is added. */
    snprintf(out, sizeof out, "%s/%0100d", dir, 0);
    snprintf(so, sizeof so, "%s/stdout", dir);
    const char *args[] = {cfg, "--out", out, NULL};
    pid_t run = e2e_parley_run(args, so);
    assert_int_equal(e2e_wait(run, 60000), 0);
    s_joined_over(out, 3, "perfect", "tcp");
    assert_int_equal(e2e_count_lines(so, "too long for a Unix socket: seats use TCP"), 1);
}

static void test_broker_takes_seats_over_ipc_and_tcp(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("brkipc");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 4\nsimulation: {rounds: 3, agents: 2}\n"
                                "seats:\n  - {policy: perfect, count: 2}\n");
    char run[1100], sock[1200], ep[1300];
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(sock, sizeof sock, "%s/seats.sock", dir);
    snprintf(ep, sizeof ep, "ipc://%s", sock);
    const char *extra[] = {"--ipc", sock, NULL};
    e2e_broker_t b;
    assert_int_equal(e2e_broker_start(&b, cfg, run, NULL, extra), 0);
    struct stat st;
    assert_int_equal(lstat(sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
    /* One seat on this host over the socket, one as from elsewhere over TCP. */
    pid_t a1 = e2e_agent(ep, run, "agent_1", "perfect");
    pid_t a2 = e2e_agent(b.router, run, "agent_2", "perfect");
    assert_int_equal(e2e_wait(b.pid, 60000), 0);
    assert_int_equal(e2e_wait(a1, 10000), 0);
    assert_int_equal(e2e_wait(a2, 10000), 0);
    char log[1200];
    snprintf(log, sizeof log, "%s/broker.log", run);
    assert_int_equal(e2e_count_lines(log, "agent_1 joined (perfect) over ipc"), 1);
    assert_int_equal(e2e_count_lines(log, "agent_2 joined (perfect) over tcp"), 1);
    json_t *sum = e2e_json(run, "summary.json");
    assert_non_null(sum);
    assert_true(json_integer_value(json_object_get(sum, "tasks")) > 0);
    json_decref(sum);
    errno = 0;
    assert_int_equal(lstat(sock, &st), -1);
    assert_int_equal(errno, ENOENT);
}

static void test_broker_refuses_a_socket_path_too_long(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("brkipclong");
    char run[1100], sock[1300];
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(sock, sizeof sock, "%s/%0120d.sock", dir, 0);
    const char *extra[] = {"--ipc", sock, NULL};
    e2e_broker_t b;
    assert_int_equal(e2e_broker_start(&b, NULL, run, NULL, extra), -1);
    assert_int_equal(e2e_wait(b.pid, 10000), 2);
    char log[1200];
    snprintf(log, sizeof log, "%s/broker.log", run);
    assert_int_equal(e2e_count_lines(log, "a Unix socket's path has at most 107 bytes"), 1);
}

static void test_ipc_no_curve_without_the_socket_is_a_usage_error(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("cliipcusage");
    char so[1200], run[1100], log[1200];
    snprintf(so, sizeof so, "%s/stdout", dir);
    const char *args[] = {"--no-ipc", "--ipc-no-curve", NULL};
    assert_int_equal(e2e_wait(e2e_parley_run(args, so), 10000), 2);
    assert_int_equal(e2e_count_lines(so, "--ipc-no-curve is about the Unix socket, which --no-ipc"),
                     1);
    snprintf(run, sizeof run, "%s/run", dir);
    const char *extra[] = {"--ipc-no-curve", NULL};
    e2e_broker_t b;
    assert_int_equal(e2e_broker_start(&b, NULL, run, NULL, extra), -1);
    assert_int_equal(e2e_wait(b.pid, 10000), 2);
    snprintf(log, sizeof log, "%s/broker.log", run);
    assert_int_equal(
        e2e_count_lines(log, "--ipc-no-curve is about the Unix socket: it needs --ipc"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_seats_join_over_the_run_directory_socket),
        cmocka_unit_test(test_same_game_over_tcp_and_without_curve_on_the_socket),
        cmocka_unit_test(test_run_directory_too_deep_for_a_socket_uses_tcp),
        cmocka_unit_test(test_killed_broker_resumes_on_the_socket),
        cmocka_unit_test(test_broker_takes_seats_over_ipc_and_tcp),
        cmocka_unit_test(test_broker_refuses_a_socket_path_too_long),
        cmocka_unit_test(test_ipc_no_curve_without_the_socket_is_a_usage_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
