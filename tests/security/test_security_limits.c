/* test_security_limits.c: every limit of docs/SECURITY.md, each with the
 * clear error a user sees, against real parley-broker processes on 127.0.0.1. */
#define _GNU_SOURCE 1 /* prlimit */
#include "e2e.h"
#include "sec_util.h"
#include "web_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
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

    /* Other numeric ranges, each named with FILE:LINE and its bound. */
    const char *ranges[][2] = {
        {"seed: 1\ntiming: {turn_timeout: -5}\n",
         ":2: timing.turn_timeout: -5 is too small (must be greater than 0)"},
        {"seed: 1\nsimulation: {rounds: 100000000}\n",
         ":2: simulation.rounds: 100000000 is too large (at most 1e+06)"},
        {"seed: 1\ntiming:\n  heartbeat: 1e9\n",
         ":3: timing.heartbeat: 1e9 is too large (at most 3600)"},
        {"seed: 1\nsecurity:\n  max_unjoined: 0\n",
         ":3: security.max_unjoined: 0 is too small (must be at least 1)"},
        {"seed: 1\nsecurity: {join_timeout: 7200}\n",
         ":2: security.join_timeout: 7200 is too large (at most 3600)"}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        path = e2e_write(dir, "range.yaml", ranges[i][0]);
        assert_int_equal(s_broker_config(dir, path, &log), 2);
        snprintf(want, sizeof want, "%s%s", path, ranges[i][1]);
        if (!strstr(log, want)) fail_msg("no '%s' in: %s", want, log);
        free(log);
    }

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

/* The largest "N dropped in all" the broker's BRK-PEERS lines have said. */
static unsigned long long s_dropped_in_all(const char *log)
{
    char *text = sec_slurp(log);
    unsigned long long most = 0;
    for (const char *p = text; p && (p = strstr(p, "waiting now, ")); p++) {
        unsigned long long n = 0;
        if (sscanf(p, "waiting now, %llu dropped in all", &n) == 1 && n > most) most = n;
    }
    free(text);
    return most;
}

/* True when fd's peer has closed (its pending bytes read first). */
static bool s_closed(int fd, int timeout_ms)
{
    char buf[256];
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (;;) {
        ssize_t got = recv(fd, buf, sizeof buf, 0);
        if (got == 0) return true;
        if (got < 0) return errno == ECONNRESET;
    }
}

/* Connections that never join: past --max-unjoined the oldest are shut,
 * past --join-timeout the rest; a seat's connection stays; bad values of
 * either option are refused with a sentence. */
static void test_unjoined_connections_are_dropped(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("secunjoined");
    char run[1100], log[1200];
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(log, sizeof log, "%s/broker.log", run);
    const char *game = s_cfg(dir, "  - {policy: passive, count: 2}\n");

    const char *bad[][2] = {{"--max-unjoined", "0"},
                            {"--max-unjoined", "2.5"},
                            {"--join-timeout", "soon"},
                            {"--join-timeout", "0"}};
    const char *want[] = {"--max-unjoined takes a whole count from 1 to 100000, not '0'",
                          "--max-unjoined takes a whole count from 1 to 100000, not '2.5'",
                          "--join-timeout takes seconds from 0.1 to 3600, not 'soon'",
                          "--join-timeout takes seconds from 0.1 to 3600, not '0'"};
    for (size_t i = 0; i < 4; i++) {
        char blog[1200];
        snprintf(blog, sizeof blog, "%s/bad%zu.log", dir, i);
        const char *argv[] = {"parley-broker", "--config", game,      "--out",   run,
                              "--no-http",     "--no-pub", bad[i][0], bad[i][1], NULL};
        int fd = -1;
        pid_t pid = sec_spawn("parley-broker", argv, &fd, blog);
        close(fd);
        assert_int_equal(e2e_wait(pid, 10000), 2);
        char *text = sec_slurp(blog);
        assert_non_null(text);
        assert_non_null(strstr(text, want[i]));
        free(text);
    }

    /* The limits from the configuration (security.*), as `parley run`, compose
     * and kube hand them to the broker; the flags above would win over them. */
    game = s_cfg(dir, "  - {policy: passive, count: 2}\n"
                      "security: {max_unjoined: 4, join_timeout: 1}\n");
    e2e_broker_t b;
    const char *extra[] = {"--no-http", "--start-timeout", "60", NULL};
    assert_int_equal(e2e_broker_start(&b, game, run, NULL, extra), 0);
    int port = 0;
    assert_int_equal(sscanf(b.router, "tcp://127.0.0.1:%d", &port), 1);
    void *ctx = zmq_ctx_new();
    /* A seat's agent, joined: never dropped by these limits. */
    void *seat = sec_socket(ctx, ZMQ_DEALER, b.router, NULL, run, NULL, NULL);
    assert_int_equal(sec_handshake(seat, 10000, NULL), 1);
    sec_hello(seat, "agent_1", e2e_token(run, "agent_1"));
    Parley__Envelope *e = sec_expect(seat, PARLEY__ENVELOPE__BODY_WELCOME, 10000);
    assert_non_null(e);
    wire_free(&e);

    /* Ten TCP connections that say nothing, over a cap of four: six are
     * shut, the oldest first, as soon as the broker sees them. */
    int socks[10];
    for (int i = 0; i < 10; i++) {
        socks[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        assert_true(socks[i] >= 0);
        assert_int_equal(connect(socks[i], (struct sockaddr *)&a, sizeof a), 0);
    }
    for (int i = 0; i < 200 && s_dropped_in_all(log) < 6; i++) usleep(50000);
    assert_true(s_dropped_in_all(log) >= 6);
    for (int i = 0; i < 6; i++) assert_true(s_closed(socks[i], 5000));
    char *text = sec_slurp(log);
    assert_non_null(strstr(text, "over the cap of 4"));
    free(text);

    /* A ZeroMQ peer that completes its handshake and never says Hello is
     * dropped after the join timeout (the broker's own sweep: libzmq's
     * handshake timer has nothing to say about it). */
    void *idle = sec_socket(ctx, ZMQ_DEALER, b.router, NULL, run, NULL, NULL);
    assert_int_equal(sec_handshake(idle, 10000, NULL), 1);
    assert_int_equal(sec_handshake(idle, 10000, NULL), 0); /* disconnected */
    for (int i = 0; i < 200; i++) {
        text = sec_slurp(log);
        if (text && strstr(text, "not joined within 1 s), ") &&
            !strstr(text, "(0 over the cap of 4, 0 not joined"))
            break;
        free(text);
        text = NULL;
        usleep(50000);
    }
    assert_non_null(text);
    free(text);
    /* The seat's connection was never touched: no event on its monitor, and
     * the broker still talks to it. */
    int detail = 0;
    assert_int_equal(sec_handshake(seat, 500, &detail), -1);
    e = sec_expect(seat, PARLEY__ENVELOPE__BODY_HEARTBEAT, 10000);
    assert_non_null(e);
    wire_free(&e);

    for (int i = 0; i < 10; i++) close(socks[i]);
    sec_close(idle);
    sec_close(seat);
    zmq_ctx_term(ctx);
    kill(b.pid, SIGTERM);
    assert_true(e2e_wait(b.pid, 10000) >= 0);
    /* One BRK-PEERS line a second at most. */
    text = sec_slurp(log);
    assert_true(web_count(text, "BRK-PEERS") <= 20);
    free(text);
}

/* A Hello whose token field is the seat's token with one byte more (a NUL,
 * or a character), or in capitals: not the seat's token. */
static void s_hello_raw(void *sock, const char *seat, const char *token, size_t token_len)
{
    /* protobuf-c packs strings up to their NUL: pack a placeholder of the
     * same length, then write the bytes over it. */
    char *ph = malloc(token_len + 1);
    assert_non_null(ph);
    memset(ph, 'Q', token_len);
    ph[token_len] = '\0';
    Parley__Hello h = PARLEY__HELLO__INIT;
    h.seat = (char *)seat;
    h.token = ph;
    h.policy = "raw";
    h.model = "";
    h.client_version = "tests/security";
    Parley__Envelope env = PARLEY__ENVELOPE__INIT;
    env.body_case = PARLEY__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_pack(&env, WIRE_MAX_AGENT_MSG, &buf, &len), WIRE_OK);
    uint8_t *at = memmem(buf, len, ph, token_len);
    assert_non_null(at);
    memcpy(at, token, token_len);
    assert_int_equal(zmq_send(sock, buf, len, 0), (int)len);
    free(buf);
    free(ph);
}

static void test_tokens_are_exact_bytes(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("sectoken");
    char run[1100], listen[64];
    snprintf(run, sizeof run, "%s/run", dir);
    int port = e2e_free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    e2e_broker_t b;
    const char *extra[] = {"--http", listen, "--web-seats", "--start-timeout", "60", NULL};
    assert_int_equal(e2e_broker_start(&b,
                                      s_cfg(dir, "  - {policy: passive, count: 1}\n"
                                                 "  - {policy: human, count: 1}\n"),
                                      run, NULL, extra),
                     0);
    web_child(b.pid);
    char tok[64], upper[64];
    snprintf(tok, sizeof tok, "%s", e2e_token(run, "agent_1"));
    size_t n = strlen(tok);
    for (size_t i = 0; i <= n; i++) upper[i] = (char)toupper((unsigned char)tok[i]);
    assert_string_not_equal(tok, upper); /* hex with letters (32 digits: all but surely) */
    char with_nul[64], with_more[64];
    memcpy(with_nul, tok, n);
    with_nul[n] = '\0';
    memcpy(with_more, tok, n);
    with_more[n] = '0';

    void *ctx = zmq_ctx_new();
    void *d = sec_socket(ctx, ZMQ_DEALER, b.router, NULL, run, NULL, NULL);
    const char *forms[] = {with_nul, with_more, upper};
    size_t lens[] = {n + 1, n + 1, n};
    for (size_t i = 0; i < 3; i++) {
        s_hello_raw(d, "agent_1", forms[i], lens[i]);
        Parley__Envelope *e = sec_expect(d, PARLEY__ENVELOPE__BODY_ERROR, 10000);
        assert_non_null(e);
        assert_int_equal(e->error->code, PARLEY__ERROR__CODE__BAD_TOKEN);
        assert_non_null(strstr(e->error->message, "wrong token for agent_1"));
        wire_free(&e);
    }
    s_hello_raw(d, "agent_1", tok, n);
    Parley__Envelope *e = sec_expect(d, PARLEY__ENVELOPE__BODY_WELCOME, 10000);
    assert_non_null(e);
    wire_free(&e);
    sec_close(d);
    zmq_ctx_term(ctx);

    /* The web side: the human seat's token with a NUL, a byte more, capitals. */
    const char *tok2 = e2e_token(run, "agent_2");
    char path[256];
    const char *suffix[] = {"%00", "0", ""};
    for (size_t i = 0; i < 3; i++) {
        char t[64];
        snprintf(t, sizeof t, "%s", tok2);
        if (i == 2)
            for (char *c = t; *c; c++) *c = (char)toupper((unsigned char)*c);
        snprintf(path, sizeof path, "/seat/agent_2/state?token=%s%s", t, suffix[i]);
        web_reply_t r = web_request(port, "GET", path, NULL, 0);
        if (r.status != 403) print_message("  %s: %d\n", path, r.status);
        assert_int_equal(r.status, 403);
        assert_non_null(strstr(r.body, "wrong token for agent_2"));
        web_reply_free(&r);
    }
    snprintf(path, sizeof path, "/seat/agent_2/state?token=%s", tok2);
    web_reply_t r = web_request(port, "GET", path, NULL, 0);
    assert_int_equal(r.status, 200);
    web_reply_free(&r);
    kill(b.pid, SIGTERM);
    assert_true(e2e_wait(b.pid, 10000) >= 0);
}

/* Without CURVE too, a ZMTP 1.0 greeting (a stranger's first bytes taken as
 * its routing id) is refused at once, long before the join timeout (10 s):
 * the path where libzmq 4.3.4 could abort on a stranger's message. A ZMTP 3
 * peer is still served. */
static void test_old_greetings_refused(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("secgreet");
    char run[1100];
    snprintf(run, sizeof run, "%s/run", dir);
    e2e_broker_t b;
    const char *extra[] = {"--no-http", "--start-timeout", "60", NULL};
    assert_int_equal(
        e2e_broker_start(&b, s_cfg(dir, "  - {policy: passive, count: 2}\n"), run, NULL, extra), 0);
    int port = 0;
    assert_int_equal(sscanf(b.router, "tcp://127.0.0.1:%d", &port), 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    static const char v1[] = "\x05\x00"
                             "abcd\x04\x00xyz";
    assert_int_equal(send(fd, v1, sizeof v1 - 1, 0), (ssize_t)(sizeof v1 - 1));
    assert_true(s_closed(fd, 5000));
    close(fd);
    void *ctx = zmq_ctx_new();
    void *d = sec_socket(ctx, ZMQ_DEALER, b.router, NULL, run, NULL, NULL);
    sec_hello(d, "agent_1", e2e_token(run, "agent_1"));
    Parley__Envelope *e = sec_expect(d, PARLEY__ENVELOPE__BODY_WELCOME, 10000);
    assert_non_null(e);
    wire_free(&e);
    sec_close(d);
    zmq_ctx_term(ctx);
    kill(b.pid, SIGTERM);
    assert_true(e2e_wait(b.pid, 10000) >= 0);
}

/* A thousand connections to the web side that never finish a request (half
 * silent, half sending a header line now and then, slowly) do not keep a
 * person's own page from answering. The hard descriptor limit decides how
 * many: each costs the broker one (it raises its soft limit to the hard). */
static void test_idle_http_connections_leave_the_person_served(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("sechttpidle");
    char run[1100], listen[64];
    snprintf(run, sizeof run, "%s/run", dir);
    int port = e2e_free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = rl.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    int n = rl.rlim_cur >= 1400 ? 1000 : (int)rl.rlim_cur - 300;
    assert_true(n >= 500);
    e2e_broker_t b;
    const char *extra[] = {"--http", listen, "--web-seats", "--start-timeout", "60", NULL};
    assert_int_equal(e2e_broker_start(&b,
                                      s_cfg(dir, "  - {policy: human, count: 1}\n"
                                                 "  - {policy: passive, count: 1}\n"),
                                      run, NULL, extra),
                     0);
    web_child(b.pid);
    int *socks = calloc((size_t)n, sizeof *socks);
    assert_non_null(socks);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    for (int i = 0; i < n; i++) {
        socks[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(socks[i] >= 0);
        assert_int_equal(connect(socks[i], (struct sockaddr *)&a, sizeof a), 0);
        if (i % 2)
            assert_true(send(socks[i], "GET /api/status HTTP/1.1\r\n", 26, MSG_NOSIGNAL) > 0);
    }
    char path[256];
    snprintf(path, sizeof path, "/seat/agent_1/state?token=%s", e2e_token(run, "agent_1"));
    for (int round = 0; round < 10; round++) {
        /* The slow ones write one more header line; the person asks. */
        for (int i = 1; i < n; i += 2) send(socks[i], "X-Slow: 1\r\n", 11, MSG_NOSIGNAL);
        web_reply_t r = web_request(port, "GET", path, NULL, 0);
        assert_int_equal(r.status, 200);
        web_reply_free(&r);
    }
    for (int i = 0; i < n; i++) close(socks[i]);
    free(socks);
    kill(b.pid, SIGTERM);
    assert_true(e2e_wait(b.pid, 10000) >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_depth_size_and_ranges),
        cmocka_unit_test(test_frames_too_large_and_refusals_logged_with_counts),
        cmocka_unit_test_teardown(test_a_flood_never_locks_a_person_out, web_teardown),
        cmocka_unit_test_teardown(test_accept_errors_back_off, web_teardown),
        cmocka_unit_test(test_unjoined_connections_are_dropped),
        cmocka_unit_test_teardown(test_tokens_are_exact_bytes, web_teardown),
        cmocka_unit_test(test_old_greetings_refused),
        cmocka_unit_test_teardown(test_idle_http_connections_leave_the_person_served, web_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
