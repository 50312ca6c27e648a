/* test_security_curve.c: who may connect to the broker (docs/SECURITY.md).
 *
 * Real parley-broker processes on 127.0.0.1: the default bind is loopback, a
 * non-loopback bind without CURVE is refused unless --insecure, and with
 * --curve a client without the broker's public key, or with a key the game
 * does not know, never completes a handshake, while a client holding another
 * seat's key can neither take nor act for a seat whose token it shows.
 */
#include "e2e.h"
#include "sec_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

static const char *s_cfg(const char *dir)
{
    return e2e_write(dir, "game.yaml",
                     "seed: 3\nsimulation: {rounds: 2, agents: 2}\n"
                     "timing: {mode: sequential, turn_timeout: 5, heartbeat: 0.2}\n"
                     "seats:\n  - {policy: passive, count: 2}\n");
}

/* Starts a broker with argv after the program name; READY line into ready. */
static pid_t s_broker(const char *dir, const char *const *args, char *ready, size_t len)
{
    const char *argv[32] = {"parley-broker"};
    int n = 1;
    for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    char log[1200];
    snprintf(log, sizeof log, "%s/broker.log", dir);
    int fd = -1;
    pid_t pid = sec_spawn("parley-broker", argv, &fd, log);
    assert_true(pid > 0);
    if (sec_read_line(fd, ready, len, 15000) != 0) ready[0] = '\0';
    close(fd);
    return pid;
}

/* A non-loopback IPv4 address of this machine, or false. */
static bool s_lan_address(char *out, size_t len)
{
    struct ifaddrs *ifs = NULL, *i;
    bool found = false;
    if (getifaddrs(&ifs) != 0) return false;
    for (i = ifs; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        struct in_addr a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
        if ((ntohl(a.s_addr) >> 24) == 127) continue;
        found = inet_ntop(AF_INET, &a, out, (socklen_t)len) != NULL;
    }
    freeifaddrs(ifs);
    return found;
}

static void test_default_bind_is_loopback(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("secbind");
    char run[1100], ready[2048], log[1200];
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(log, sizeof log, "%s/broker.log", dir);
    /* No --bind, no --pub: the defaults. */
    const char *args[] = {"--out",           run,  "--config", s_cfg(dir), "--no-http",
                          "--start-timeout", "30", NULL};
    pid_t pid = s_broker(dir, args, ready, sizeof ready);
    if (ready[0]) {
        assert_non_null(strstr(ready, "READY tcp://127.0.0.1:5555 tcp://127.0.0.1:5556 "));
        char lan[64];
        if (s_lan_address(lan, sizeof lan)) {
            /* From the machine's own network address the port is closed. */
            int fd = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5555)};
            inet_pton(AF_INET, lan, &a.sin_addr);
            assert_int_not_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
            assert_int_equal(errno, ECONNREFUSED);
            close(fd);
        }
        kill(pid, SIGTERM);
        assert_true(e2e_wait(pid, 10000) >= 0);
    } else {
        /* Another program holds the default port: the refusal names it, and
         * it is the loopback address. */
        assert_int_equal(e2e_wait(pid, 10000), 2);
        char *text = sec_slurp(log);
        assert_non_null(text);
        assert_non_null(strstr(text, "tcp://127.0.0.1:555"));
        free(text);
    }
}

static void test_open_bind_needs_curve_or_insecure(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("secopen");
    char run[1100], ready[2048], log[1200];
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(log, sizeof log, "%s/broker.log", dir);
    const char *args[] = {"--out",           run,     "--config",          s_cfg(dir),  "--bind",
                          "tcp://0.0.0.0:*", "--pub", "tcp://127.0.0.1:*", "--no-http", NULL};
    pid_t pid = s_broker(dir, args, ready, sizeof ready);
    assert_string_equal(ready, "");
    assert_int_equal(e2e_wait(pid, 10000), 2);
    char *text = sec_slurp(log);
    assert_non_null(text);
    assert_non_null(strstr(text, "--bind tcp://0.0.0.0:* listens beyond this machine without "
                                 "CURVE"));
    assert_non_null(strstr(text, "--insecure"));
    free(text);

    /* Said out loud, it is allowed. */
    char run2[1100];
    snprintf(run2, sizeof run2, "%s/run2", dir);
    const char *args2[] = {"--out",     run2,
                           "--config",  s_cfg(dir),
                           "--bind",    "tcp://0.0.0.0:*",
                           "--pub",     "tcp://127.0.0.1:*",
                           "--no-http", "--insecure",
                           NULL};
    pid = s_broker(dir, args2, ready, sizeof ready);
    assert_non_null(strstr(ready, "READY tcp://0.0.0.0:"));
    kill(pid, SIGTERM);
    assert_true(e2e_wait(pid, 10000) >= 0);

    /* So is CURVE, and its keys land in keys.json, readable by the owner only. */
    char run3[1100], keys[1200];
    snprintf(run3, sizeof run3, "%s/run3", dir);
    const char *args3[] = {"--out",     run3,
                           "--config",  s_cfg(dir),
                           "--bind",    "tcp://0.0.0.0:*",
                           "--pub",     "tcp://127.0.0.1:*",
                           "--no-http", "--curve",
                           NULL};
    pid = s_broker(dir, args3, ready, sizeof ready);
    assert_non_null(strstr(ready, "READY tcp://0.0.0.0:"));
    snprintf(keys, sizeof keys, "%s/keys.json", run3);
    struct stat st;
    assert_int_equal(stat(keys, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char bsec[64], asec[64];
    snprintf(bsec, sizeof bsec, "%s", sec_key(run3, "broker", "secret"));
    snprintf(asec, sizeof asec, "%s", sec_key(run3, "agent_2", "secret"));
    assert_int_equal(strlen(sec_key(run3, "broker", "public")), 40);
    assert_int_equal(strlen(bsec), 40);
    assert_int_equal(strlen(asec), 40);
    kill(pid, SIGTERM);
    assert_true(e2e_wait(pid, 10000) >= 0);
    /* No secret key is ever in the record. */
    char ev_path[1300];
    snprintf(ev_path, sizeof ev_path, "%s/events.jsonl", run3);
    char *events = sec_slurp(ev_path);
    assert_non_null(events);
    assert_null(strstr(events, bsec));
    assert_null(strstr(events, asec));
    free(events);
}

typedef struct {
    pid_t pid;
    char run[1100], router[256];
} s_game_t;

static void s_curve_game(s_game_t *g, const char *tag)
{
    const char *dir = e2e_tmpdir(tag);
    char ready[2048], pub[256];
    snprintf(g->run, sizeof g->run, "%s/run", dir);
    const char *args[] = {
        "--out",    g->run,      "--config", s_cfg(dir),        "--bind", "tcp://127.0.0.1:*",
        "--no-pub", "--no-http", "--curve",  "--start-timeout", "60",     NULL};
    g->pid = s_broker(dir, args, ready, sizeof ready);
    assert_int_equal(sscanf(ready, "READY %255s %255s", g->router, pub), 2);
}

static void test_curve_client_without_the_broker_key_cannot_connect(void **state)
{
    (void)state;
    s_game_t g;
    s_curve_game(&g, "seckey");
    char srv[64];
    snprintf(srv, sizeof srv, "%s", sec_key(g.run, "broker", "public"));
    void *ctx = zmq_ctx_new();

    /* No CURVE at all: the handshake fails, the Hello goes nowhere. */
    void *plain = sec_socket(ctx, ZMQ_DEALER, g.router, NULL, g.run, NULL, NULL);
    assert_non_null(plain);
    sec_hello(plain, "agent_1", e2e_token(g.run, "agent_1"));
    assert_int_equal(sec_handshake(plain, 10000, NULL), 0);

    /* The seat's own keypair, but the wrong broker key: no handshake either. */
    char fake_pub[41], fake_sec[41];
    assert_int_equal(zmq_curve_keypair(fake_pub, fake_sec), 0);
    void *wrong = sec_socket(ctx, ZMQ_DEALER, g.router, fake_pub, g.run, "agent_1", NULL);
    assert_non_null(wrong);
    sec_hello(wrong, "agent_1", e2e_token(g.run, "agent_1"));
    assert_int_equal(sec_handshake(wrong, 10000, NULL), 0);

    /* The broker's key and a client key this game never issued: the ZAP
     * handler refuses it (400). */
    void *stranger = sec_socket_keys(ctx, ZMQ_DEALER, g.router, srv, fake_pub, fake_sec, NULL);
    assert_non_null(stranger);
    sec_hello(stranger, "agent_1", e2e_token(g.run, "agent_1"));
    int detail = 0;
    assert_int_equal(sec_handshake(stranger, 10000, &detail), 0);
    assert_int_equal(detail, 400);

    /* The seat's real keys: in, and the seat is agent_1's. */
    void *real = sec_socket(ctx, ZMQ_DEALER, g.router, srv, g.run, "agent_1", NULL);
    sec_hello(real, "agent_1", e2e_token(g.run, "agent_1"));
    assert_int_equal(sec_handshake(real, 10000, NULL), 1);
    Parley__Envelope *w = sec_expect(real, PARLEY__ENVELOPE__BODY_WELCOME, 10000);
    assert_non_null(w);
    wire_free(&w);
    /* Nobody else joined: one seat_joined, agent_1's. */
    json_t *joins = e2e_events(g.run, "seat_joined");
    assert_int_equal(json_array_size(joins), 1);
    json_decref(joins);

    sec_close(plain);
    sec_close(wrong);
    sec_close(stranger);
    sec_close(real);
    zmq_ctx_term(ctx);
    kill(g.pid, SIGTERM);
    assert_true(e2e_wait(g.pid, 10000) >= 0);
    char log[1200];
    snprintf(log, sizeof log, "%s/../broker.log", g.run);
    char *text = sec_slurp(log);
    assert_non_null(text);
    assert_non_null(strstr(text, "BRK-ZAP-REFUSED"));
    free(text);
}

static void test_another_seats_key_cannot_take_or_act_for_a_seat(void **state)
{
    (void)state;
    s_game_t g;
    s_curve_game(&g, "secseat");
    char srv[64];
    snprintf(srv, sizeof srv, "%s", sec_key(g.run, "broker", "public"));
    void *ctx = zmq_ctx_new();

    /* agent_2's key shows agent_1's correct token: refused, by key. */
    void *thief = sec_socket(ctx, ZMQ_DEALER, g.router, srv, g.run, "agent_2", NULL);
    sec_hello(thief, "agent_1", e2e_token(g.run, "agent_1"));
    Parley__Envelope *e = sec_expect(thief, PARLEY__ENVELOPE__BODY_ERROR, 10000);
    assert_non_null(e);
    assert_int_equal(e->error->code, PARLEY__ERROR__CODE__BAD_TOKEN);
    assert_non_null(strstr(e->error->message, "belongs to agent_2, not agent_1"));
    wire_free(&e);
    sec_close(thief);

    /* agent_1 joins on a routing id of its choosing, then goes silent. */
    void *owner = sec_socket(ctx, ZMQ_DEALER, g.router, srv, g.run, "agent_1", "seat-one");
    sec_hello(owner, "agent_1", e2e_token(g.run, "agent_1"));
    e = sec_expect(owner, PARLEY__ENVELOPE__BODY_WELCOME, 10000);
    assert_non_null(e);
    wire_free(&e);
    sec_close(owner);
    assert_true(sec_wait_event(g.run, "seat_lost", "agent_1", 20000));

    /* agent_2's key on agent_1's old routing id: not agent_1. */
    void *borrow = sec_socket(ctx, ZMQ_DEALER, g.router, srv, g.run, "agent_2", "seat-one");
    sec_heartbeat(borrow);
    e = sec_expect(borrow, PARLEY__ENVELOPE__BODY_ERROR, 10000);
    assert_non_null(e);
    assert_int_equal(e->error->code, PARLEY__ERROR__CODE__NOT_WELCOMED);
    wire_free(&e);
    Parley__Bye bye = PARLEY__BYE__INIT;
    bye.reason = "stolen";
    Parley__Envelope be = PARLEY__ENVELOPE__INIT;
    be.body_case = PARLEY__ENVELOPE__BODY_BYE;
    be.bye = &bye;
    sec_send(borrow, &be);
    e = sec_expect(borrow, PARLEY__ENVELOPE__BODY_ERROR, 10000);
    assert_non_null(e);
    assert_int_equal(e->error->code, PARLEY__ERROR__CODE__NOT_WELCOMED);
    wire_free(&e);
    sec_close(borrow);
    /* The seat was never left in the record. */
    json_t *left = e2e_events(g.run, "seat_left");
    assert_int_equal(json_array_size(left), 0);
    json_decref(left);

    zmq_ctx_term(ctx);
    kill(g.pid, SIGTERM);
    assert_true(e2e_wait(g.pid, 10000) >= 0);
}

/* parley keygen's files, handed to the broker with --keys: the seat holding
 * agent_1.key (and broker.pub) plays agent_1; a malformed file is named. */
static void test_keygen_keys_run_a_broker(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("seckeygen");
    char keys[1100], run[1100], ready[2048], path[1300], log[1200];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(log, sizeof log, "%s/keygen.log", dir);
    const char *kargv[] = {"parley",  "keygen",  "--out",   keys,           "broker",
                           "agent_1", "agent_2", "watcher", "experimenter", NULL};
    int fd = -1;
    pid_t pid = sec_spawn("parley", kargv, &fd, log);
    char line[256];
    assert_int_equal(sec_read_line(fd, line, sizeof line, 10000), 0);
    assert_int_equal(strncmp(line, "broker ", 7), 0);
    close(fd);
    assert_int_equal(e2e_wait(pid, 10000), 0);
    struct stat st;
    snprintf(path, sizeof path, "%s/agent_1.key", keys);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path, sizeof path, "%s/agent_1.pub", keys);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    /* Run again: existing keys are kept unless --force. */
    pid = sec_spawn("parley", kargv, &fd, log);
    close(fd);
    assert_int_equal(e2e_wait(pid, 10000), 2);
    char *text = sec_slurp(log);
    assert_non_null(strstr(text, "broker.key exists (--force replaces it)"));
    free(text);

    char kpath[1300];
    snprintf(kpath, sizeof kpath, "%s/agent_1.key", keys);
    char *pair = sec_slurp(kpath);
    assert_non_null(pair);
    char cpub[64], csec[64], bpub[64];
    assert_int_equal(sscanf(pair, "%63s %63s", cpub, csec), 2);
    free(pair);
    snprintf(kpath, sizeof kpath, "%s/broker.pub", keys);
    pair = sec_slurp(kpath);
    assert_int_equal(sscanf(pair, "%63s", bpub), 1);
    free(pair);

    const char *args[] = {
        "--out",    run,         "--config", s_cfg(dir), "--bind",          "tcp://127.0.0.1:*",
        "--no-pub", "--no-http", "--keys",   keys,       "--start-timeout", "60",
        NULL};
    pid = s_broker(dir, args, ready, sizeof ready);
    char router[256];
    assert_int_equal(sscanf(ready, "READY %255s", router), 1);
    void *ctx = zmq_ctx_new();
    void *me = sec_socket_keys(ctx, ZMQ_DEALER, router, bpub, cpub, csec, NULL);
    sec_hello(me, "agent_1", e2e_token(run, "agent_1"));
    Parley__Envelope *w = sec_expect(me, PARLEY__ENVELOPE__BODY_WELCOME, 10000);
    assert_non_null(w);
    wire_free(&w);
    sec_close(me);
    zmq_ctx_term(ctx);
    kill(pid, SIGTERM);
    assert_true(e2e_wait(pid, 10000) >= 0);

    /* A damaged key file: the broker names it and stops. */
    snprintf(kpath, sizeof kpath, "%s/agent_2.pub", keys);
    FILE *f = fopen(kpath, "w");
    assert_non_null(f);
    fputs("not-a-key\n", f);
    fclose(f);
    char run2[1100];
    snprintf(run2, sizeof run2, "%s/run2", dir);
    args[1] = run2;
    pid = s_broker(dir, args, ready, sizeof ready);
    assert_string_equal(ready, "");
    assert_int_equal(e2e_wait(pid, 10000), 2);
    snprintf(log, sizeof log, "%s/broker.log", dir);
    text = sec_slurp(log);
    char want[1400];
    snprintf(want, sizeof want, "%s:1: expected a Z85 public key", kpath);
    assert_non_null(strstr(text, want));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_bind_is_loopback),
        cmocka_unit_test(test_open_bind_needs_curve_or_insecure),
        cmocka_unit_test(test_curve_client_without_the_broker_key_cannot_connect),
        cmocka_unit_test(test_another_seats_key_cannot_take_or_act_for_a_seat),
        cmocka_unit_test(test_keygen_keys_run_a_broker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
