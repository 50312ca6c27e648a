/* test_security_limits.c: every limit of docs/SECURITY.md, each with the
 * clear error a user sees, against real parley-broker processes on 127.0.0.1. */
#define _GNU_SOURCE 1 /* prlimit */
#include "e2e.h"
#include "sec_util.h"
#include "web_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

/* Runs parley-broker --config path; its exit status, its stderr in log. */
static int s_broker_config(const char *dir, const char *path, char **log_text)
{
    char log[1200], run[1100];
    snprintf(log, sizeof log, "%s/config.log", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    const char *argv[] = {
        "parley-broker", "--config",          path, "--out", run, "--no-http", "--no-pub",
        "--bind",        "tcp://127.0.0.1:*", NULL};
    int fd = -1;
    pid_t pid = sec_spawn("parley-broker", argv, &fd, log);
    close(fd);
    int rc = e2e_wait(pid, 20000);
    *log_text = sec_slurp(log);
    return rc;
}

static void test_config_depth_size_and_ranges(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("seccfg");
    /* 100,000 levels of nesting: refused at once, not after minutes. */
    size_t n = 100000;
    char *deep = malloc(2 * n + 8);
    assert_non_null(deep);
    memcpy(deep, "a: ", 3);
    memset(deep + 3, '[', n);
    memset(deep + 3 + n, ']', n);
    deep[3 + 2 * n] = '\0';
    const char *path = e2e_write(dir, "deep.yaml", deep);
    free(deep);
    char *log = NULL;
    assert_int_equal(s_broker_config(dir, path, &log), 2);
    char want[1400];
    snprintf(want, sizeof want, "%s:1: nested deeper than 64 levels", path);
    assert_non_null(strstr(log, want));
    free(log);

    path = e2e_write(dir, "hb.yaml", "seed: 1\ntiming:\n  heartbeat: 1e-9\n");
    assert_int_equal(s_broker_config(dir, path, &log), 2);
    snprintf(want, sizeof want, "%s:3: timing.heartbeat: 1e-9 is too small (must be at least 0.05)",
             path);
    assert_non_null(strstr(log, want));
    free(log);

    char *big = malloc((2u << 20) + 1);
    assert_non_null(big);
    memset(big, '#', 2u << 20);
    big[2u << 20] = '\0';
    path = e2e_write(dir, "big.yaml", big);
    free(big);
    assert_int_equal(s_broker_config(dir, path, &log), 2);
    assert_non_null(strstr(log, "larger than 1048576 bytes: not a configuration file"));
    free(log);
}

static const char *s_cfg(const char *dir, const char *seats)
{
    static char text[512];
    snprintf(text, sizeof text,
             "seed: 3\nsimulation: {rounds: 2, agents: 2}\n"
             "timing: {mode: sequential, turn_timeout: 30, heartbeat: 1}\n"
             "seats:\n%s",
             seats);
    return e2e_write(dir, "game.yaml", text);
}

static void test_frames_too_large_and_refusals_logged_with_counts(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("secframe");
    char run[1100];
    snprintf(run, sizeof run, "%s/run", dir);
    e2e_broker_t b;
    const char *extra[] = {"--no-http", "--start-timeout", "60", NULL};
    assert_int_equal(
        e2e_broker_start(&b, s_cfg(dir, "  - {policy: passive, count: 2}\n"), run, NULL, extra), 0);
    void *ctx = zmq_ctx_new();
    void *d = sec_socket(ctx, ZMQ_DEALER, b.router, NULL, run, NULL, NULL);
    /* 2 MiB, over the protocol's 1 MiB: answered TOO_LARGE, not dropped. */
    size_t big = 2u << 20;
    char *frame = calloc(1, big);
    assert_non_null(frame);
    assert_int_equal(zmq_send(d, frame, big, 0), (int)big);
    free(frame);
    Parley__Envelope *e = sec_expect(d, PARLEY__ENVELOPE__BODY_ERROR, 10000);
    assert_non_null(e);
    assert_int_equal(e->error->code, PARLEY__ERROR__CODE__TOO_LARGE);
    assert_non_null(strstr(e->error->message, "2097152 bytes"));
    wire_free(&e);

    /* 3,000 garbage frames (in batches under the sockets' queue limits):
     * every one answered, few log lines, with counts. */
    int n = 0, answered = 0;
    for (int batch = 0; batch < 6; batch++) {
        for (int i = 0; i < 500; i++, n++) assert_int_equal(zmq_send(d, "\xff\xff\xff", 3, 0), 3);
        while (answered < n) {
            e = sec_expect(d, PARLEY__ENVELOPE__BODY_ERROR, 10000);
            if (!e) break;
            assert_int_equal(e->error->code, PARLEY__ERROR__CODE__MALFORMED);
            wire_free(&e);
            answered++;
        }
    }
    assert_int_equal(answered, 3000);
    /* The ones not logged are counted within a second or two (heartbeat). */
    char log[1200];
    snprintf(log, sizeof log, "%s/broker.log", run);
    char *text = NULL;
    for (int i = 0; i < 200; i++) {
        free(text);
        text = sec_slurp(log);
        if (text && strstr(text, "more refused since the last line")) break;
        usleep(50000);
    }
    assert_non_null(strstr(text, "more refused since the last line"));
    free(text);
    sec_close(d);
    zmq_ctx_term(ctx);
    kill(b.pid, SIGTERM);
    assert_true(e2e_wait(b.pid, 10000) >= 0);
    text = sec_slurp(log);
    assert_non_null(text);
    int lines = web_count(text, "BRK-PEER-ERROR");
    assert_true(lines >= 1);
    assert_true(lines < 100); /* one a second at most, not one per frame */
    free(text);
}

static void test_a_flood_never_locks_a_person_out(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("secflood");
    char run[1100], listen[64];
    snprintf(run, sizeof run, "%s/run", dir);
    int port = e2e_free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    e2e_broker_t b;
    const char *extra[] = {"--http", listen, "--web-seats", "--start-timeout", "60", NULL};
    assert_int_equal(e2e_broker_start(&b,
                                      s_cfg(dir, "  - {policy: human, count: 1}\n"
                                                 "  - {policy: passive, count: 1}\n"),
                                      run, NULL, extra),
                     0);
    web_child(b.pid);
    /* The flood: anonymous requests until the shared budget says 429. */
    int refused = 0;
    for (int i = 0; i < 400 && refused == 0; i++) {
        web_reply_t r = web_request(port, "GET", "/api/status", NULL, 0);
        refused += r.status == 429;
        web_reply_free(&r);
    }
    assert_int_equal(refused, 1);
    /* The flood goes on; right after each of its refusals, the person's own
     * page (with the seat's token) answers. */
    char path[256];
    snprintf(path, sizeof path, "/seat/agent_1/state?token=%s", e2e_token(run, "agent_1"));
    for (int i = 0; i < 20; i++) {
        /* Flood until the shared budget is spent again ... */
        int refused_now = 0;
        for (int k = 0; k < 400 && !refused_now; k++) {
            web_reply_t f = web_request(port, "GET", "/api/status", NULL, 0);
            if (f.status == 429) {
                assert_non_null(strstr(f.body, "too many requests"));
                refused_now = 1;
            }
            web_reply_free(&f);
        }
        assert_int_equal(refused_now, 1);
        /* ... and the person's request right after is served. */
        web_reply_t r = web_request(port, "GET", path, NULL, 0);
        assert_int_equal(r.status, 200);
        web_reply_free(&r);
    }
    kill(b.pid, SIGTERM);
    assert_true(e2e_wait(b.pid, 10000) >= 0);
}

/* At the descriptor limit the web side pauses accepting and logs once a
 * second, instead of spinning; when connections go, it serves again. */
static void test_accept_errors_back_off(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("secemfile");
    char run[1100], listen[64], log[1200], ready[2048];
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(log, sizeof log, "%s/broker.log", dir);
    int port = e2e_free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    const char *argv[] = {"parley-broker",
                          "--out",
                          run,
                          "--config",
                          s_cfg(dir, "  - {policy: passive, count: 2}\n"),
                          "--bind",
                          "tcp://127.0.0.1:*",
                          "--no-pub",
                          "--http",
                          listen,
                          "--start-timeout",
                          "60",
                          NULL};
    int fd = -1;
    pid_t pid = web_child(sec_spawn("parley-broker", argv, &fd, log));
    assert_int_equal(sec_read_line(fd, ready, sizeof ready, 15000), 0);
    /* The broker raises its soft limit to the hard one at start: the limit
     * is lowered, both, once it is up. */
    struct rlimit low = {128, 128};
    assert_int_equal(prlimit(pid, RLIMIT_NOFILE, &low, NULL), 0);
    close(fd);
    int socks[300], n = 0;
    for (; n < 300; n++) {
        socks[n] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        if (socks[n] < 0 || connect(socks[n], (struct sockaddr *)&a, sizeof a) != 0) break;
    }
    assert_true(n > 150);
    /* The broker has had time to hit the limit: wait until it says so. */
    char *text = NULL;
    for (int i = 0; i < 100; i++) {
        free(text);
        text = sec_slurp(log);
        if (text && strstr(text, "BRK-HTTP-ACCEPT")) break;
        usleep(50000);
    }
    assert_non_null(strstr(text, "BRK-HTTP-ACCEPT"));
    assert_non_null(strstr(text, "Too many open files"));
    free(text);
    for (int i = 0; i < n; i++) close(socks[i]);
    /* Served again once the descriptors are free. */
    int status = 0;
    for (int i = 0; i < 100 && status != 200; i++) {
        web_reply_t r = web_request(port, "GET", "/api/status", NULL, 0);
        status = r.status;
        web_reply_free(&r);
        if (status != 200) usleep(50000);
    }
    assert_int_equal(status, 200);
    /* One line a second, not one per failed accept: the last line counts
     * more errors than there are lines. */
    text = sec_slurp(log);
    int lines = web_count(text, "BRK-HTTP-ACCEPT");
    const char *lastl = text;
    for (const char *p = text; (p = strstr(p, "BRK-HTTP-ACCEPT")); p++) lastl = p;
    unsigned long long errors = 0;
    const char *c = strstr(lastl, "(");
    assert_non_null(c);
    assert_int_equal(sscanf(c, "(%llu accept errors", &errors), 1);
    assert_true(errors > (unsigned long long)lines);
    free(text);
    kill(pid, SIGTERM);
    assert_true(e2e_wait(pid, 10000) >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_depth_size_and_ranges),
        cmocka_unit_test(test_frames_too_large_and_refusals_logged_with_counts),
        cmocka_unit_test_teardown(test_a_flood_never_locks_a_person_out, web_teardown),
        cmocka_unit_test_teardown(test_accept_errors_back_off, web_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
