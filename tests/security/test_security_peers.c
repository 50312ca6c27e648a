/* test_security_peers.c: a thousand fake peers never crowd out the seats
 * (docs/SECURITY.md "Limits": --max-unjoined, --join-timeout).
 *
 * A real parley-broker and ten real parley-agent processes play a game while
 * this process holds 1,000 fake peers on the broker's agent socket, as real
 * sockets: raw TCP connections that never speak, raw TCP connections that
 * send garbage instead of a ZMTP greeting, ZeroMQ sockets that sit idle after
 * their handshake or send junk frames and Hellos with wrong tokens, and (with
 * CURVE) ZeroMQ sockets that complete the CURVE handshake with keys the game
 * never issued. Fakes that are dropped connect again, as an attacker would.
 * The game must finish with the result it has without them (same seed), the
 * broker's descriptors and memory must stay bounded (read from /proc), and its
 * log must stay short. Once without CURVE, once with.
 *
 * The figures (join time, peak RSS and descriptors) are printed, not
 * asserted; bench/RESULTS.md keeps them. PARLEY_FAKE_PEERS overrides the
 * count (1,000); a hard descriptor limit too low for it lowers it, said so. */
#include "e2e.h"
#include "sec_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

#define S_SEATS        10
#define S_CAP          256 /* the broker's default --max-unjoined */
#define S_JOIN_TIMEOUT "2" /* short, so that idle fakes are dropped during the game */
#if defined(__SANITIZE_ADDRESS__)
#define S_QUARANTINE_MB 256
#else
#define S_QUARANTINE_MB 0
#endif

static int64_t s_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *s_cfg(const char *dir)
{
    return e2e_write(dir, "game.yaml",
                     "seed: 17\nsimulation: {rounds: 12}\n"
                     "timing: {mode: sequential, turn_timeout: 60, heartbeat: 1}\n"
                     "seats:\n  - {policy: perfect, count: 5}\n  - {policy: selfish, count: 5}\n");
}

/* The broker's descriptors and resident memory (kB), from /proc. */
static int s_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static long s_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    fclose(f);
    return kb;
}

/* The fakes. */
typedef enum { S_TCP_SILENT, S_TCP_GARBAGE, S_ZMQ_IDLE, S_ZMQ_JUNK, S_ZMQ_WRONG_KEY } s_kind_t;

typedef struct {
    s_kind_t kind;
    int fd;     /* raw TCP */
    void *sock; /* ZeroMQ */
} s_fake_t;

typedef struct {
    struct sockaddr_in addr;
    void *ctx;
    s_fake_t *fakes;
    int n;
    uint64_t tcp_reconnects, junk_sent;
} s_swarm_t;

static void s_tcp_connect(s_swarm_t *w, s_fake_t *f)
{
    f->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->fd < 0) return;
    if (connect(f->fd, (struct sockaddr *)&w->addr, sizeof w->addr) != 0 && errno != EINPROGRESS) {
        close(f->fd);
        f->fd = -1;
    }
}

/* Raw TCP fakes: a dropped one connects again; a garbage one writes a
 * greeting no ZMTP peer would. */
static void s_tcp_tick(s_swarm_t *w, s_fake_t *f)
{
    if (f->fd < 0) {
        s_tcp_connect(w, f);
        return;
    }
    char buf[256];
    ssize_t got = recv(f->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        close(f->fd);
        f->fd = -1;
        w->tcp_reconnects++;
        return;
    }
    if (f->kind == S_TCP_GARBAGE) {
        static const char junk[] = "GET / HTTP/1.1\r\n\xff\xff\xff\xff\x00\x00\x01";
        if (send(f->fd, junk, sizeof junk - 1, MSG_DONTWAIT | MSG_NOSIGNAL) > 0) w->junk_sent++;
    }
}

static void s_zmq_junk(s_swarm_t *w, s_fake_t *f, int i)
{
    if (i % 2) {
        if (zmq_send(f->sock, "\xff\x01\x02junk", 7, ZMQ_DONTWAIT) == 7) w->junk_sent++;
        return;
    }
    /* A Hello for a real seat with a token that is not its own. */
    Parley__Hello h = PARLEY__HELLO__INIT;
    char seat[16];
    snprintf(seat, sizeof seat, "agent_%d", 1 + i % S_SEATS);
    h.seat = seat;
    h.token = "00000000000000000000000000000000";
    h.policy = "raw";
    h.model = "";
    h.client_version = "fake";
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_HELLO;
    e.hello = &h;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (wire_pack(&e, WIRE_MAX_AGENT_MSG, &buf, &len) != WIRE_OK) return;
    if (zmq_send(f->sock, buf, len, ZMQ_DONTWAIT) == (int)len) w->junk_sent++;
    free(buf);
}

static void s_swarm_start(s_swarm_t *w, int n, const char *router, const char *run, bool curve)
{
    memset(w, 0, sizeof *w);
    int port = 0;
    assert_int_equal(sscanf(router, "tcp://127.0.0.1:%d", &port), 1);
    w->addr.sin_family = AF_INET;
    w->addr.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &w->addr.sin_addr);
    w->ctx = zmq_ctx_new();
    assert_non_null(w->ctx);
    assert_int_equal(zmq_ctx_set(w->ctx, ZMQ_MAX_SOCKETS, n + 64), 0);
    w->fakes = calloc((size_t)n, sizeof *w->fakes);
    assert_non_null(w->fakes);
    w->n = n;
    char srv[64] = "";
    if (curve) snprintf(srv, sizeof srv, "%s", sec_key(run, "broker", "public"));
    for (int i = 0; i < n; i++) {
        s_fake_t *f = &w->fakes[i];
        f->fd = -1;
        /* 30% silent TCP, 10% TCP garbage, 20% idle ZeroMQ, 20% junk frames,
         * 20% wrong CURVE keys (idle ZeroMQ without CURVE). */
        int k = i % 10;
        f->kind = k < 3   ? S_TCP_SILENT
                  : k < 4 ? S_TCP_GARBAGE
                  : k < 6 ? S_ZMQ_IDLE
                  : k < 8 ? S_ZMQ_JUNK
                          : S_ZMQ_WRONG_KEY;
        if (f->kind == S_TCP_SILENT || f->kind == S_TCP_GARBAGE) {
            s_tcp_connect(w, f);
            continue;
        }
        f->sock = zmq_socket(w->ctx, ZMQ_DEALER);
        assert_non_null(f->sock);
        int linger = 0, hwm = 16;
        zmq_setsockopt(f->sock, ZMQ_LINGER, &linger, sizeof linger);
        zmq_setsockopt(f->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(f->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
        if (curve && f->kind == S_ZMQ_WRONG_KEY) {
            /* The broker's real public key, a keypair the game never issued:
             * the CURVE handshake runs to the ZAP handler's refusal. */
            char pub[41], sec[41];
            assert_int_equal(zmq_curve_keypair(pub, sec), 0);
            assert_int_equal(zmq_setsockopt(f->sock, ZMQ_CURVE_SERVERKEY, srv, strlen(srv) + 1), 0);
            assert_int_equal(zmq_setsockopt(f->sock, ZMQ_CURVE_PUBLICKEY, pub, 41), 0);
            assert_int_equal(zmq_setsockopt(f->sock, ZMQ_CURVE_SECRETKEY, sec, 41), 0);
        }
        assert_int_equal(zmq_connect(f->sock, router), 0);
    }
}

/* One pass over the fakes: reconnect and write garbage, send junk frames
 * from a slice of the junk sockets, drain the broker's answers. */
static void s_swarm_tick(s_swarm_t *w, int tick)
{
    for (int i = 0; i < w->n; i++) {
        s_fake_t *f = &w->fakes[i];
        if (!f->sock) {
            s_tcp_tick(w, f);
            continue;
        }
        if (f->kind == S_ZMQ_JUNK && i % 10 == tick % 10) s_zmq_junk(w, f, i / 10 + tick);
        char buf[512];
        while (zmq_recv(f->sock, buf, sizeof buf, ZMQ_DONTWAIT) >= 0) {
        }
    }
}

static void s_swarm_stop(s_swarm_t *w)
{
    for (int i = 0; i < w->n; i++) {
        if (w->fakes[i].sock) zmq_close(w->fakes[i].sock);
        if (w->fakes[i].fd >= 0) close(w->fakes[i].fd);
    }
    free(w->fakes);
    zmq_ctx_term(w->ctx);
}

static int s_count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what)) n++;
    return n;
}

typedef struct {
    double join_s, game_s, total_s; /* total_s: from the broker's start */
    int base_fds, peak_fds;
    long base_rss_kb, peak_rss_kb;
    int peers_lines, log_lines, rejoins;
    size_t log_bytes;
    char run[1100];
} s_result_t;

static pid_t s_agent(const char *run, const char *router, const char *seat, const char *policy,
                     bool curve)
{
    if (curve) {
        setenv("PARLEY_CURVE_SERVER", sec_key(run, "broker", "public"), 1);
        setenv("PARLEY_CURVE_PUBLIC", sec_key(run, seat, "public"), 1);
        setenv("PARLEY_CURVE_SECRET", sec_key(run, seat, "secret"), 1);
    }
    pid_t pid = e2e_agent(router, run, seat, policy);
    unsetenv("PARLEY_CURVE_SERVER");
    unsetenv("PARLEY_CURVE_PUBLIC");
    unsetenv("PARLEY_CURVE_SECRET");
    return pid;
}

/* Plays the game with n fakes (0: none); the figures in *r. */
static void s_play(bool curve, int n, int cap, s_result_t *r)
{
    memset(r, 0, sizeof *r);
    const char *top = e2e_tmpdir(curve ? "peers-curve" : "peers-plain");
    snprintf(r->run, sizeof r->run, "%s/run", top);
    char caps[16];
    snprintf(caps, sizeof caps, "%d", cap);
    const char *extra[] = {"--no-http",
                           "--no-pub",
                           "--start-timeout",
                           "120",
                           "--join-timeout",
                           S_JOIN_TIMEOUT,
                           "--max-unjoined",
                           caps,
                           curve ? "--curve" : NULL,
                           NULL};
    e2e_broker_t b;
    int64_t t_start = s_ms();
    assert_int_equal(e2e_broker_start(&b, s_cfg(top), r->run, NULL, extra), 0);
    r->base_fds = r->peak_fds = s_fds(b.pid);
    r->base_rss_kb = r->peak_rss_kb = s_rss_kb(b.pid);
    s_swarm_t w;
    int tick = 0;
    if (n > 0) {
        s_swarm_start(&w, n, b.router, r->run, curve);
        /* The fakes are in before the agents: wait until the broker has
         * dropped some of them over its cap (its log says so). */
        char log[1200];
        snprintf(log, sizeof log, "%s/broker.log", r->run);
        bool bit = false;
        for (int64_t until = s_ms() + 30000; !bit && s_ms() < until; tick++) {
            s_swarm_tick(&w, tick);
            int fds = s_fds(b.pid);
            if (fds > r->peak_fds) r->peak_fds = fds;
            char *text = sec_slurp(log);
            bit = text && strstr(text, "BRK-PEERS");
            free(text);
            usleep(20000);
        }
        if (!bit) {
            /* Say why, so that a failure on a CI machine explains itself. */
            char *text = sec_slurp(log);
            int alive = kill(b.pid, 0) == 0 && waitpid(b.pid, NULL, WNOHANG) == 0;
            fail_msg("no BRK-PEERS line in 30 s: broker %s, %d descriptors (base %d), %llu "
                     "fake TCP reconnects; broker.log:\n%s",
                     alive ? "running" : "gone", s_fds(b.pid), r->base_fds,
                     (unsigned long long)w.tcp_reconnects, text ? text : "(none)");
        }
    }
    static const char *const pol[] = {"perfect", "selfish"};
    pid_t pids[S_SEATS];
    int64_t t0 = s_ms();
    for (int i = 0; i < S_SEATS; i++) {
        char seat[32];
        snprintf(seat, sizeof seat, "agent_%d", i + 1);
        pids[i] = s_agent(r->run, b.router, seat, pol[i / 5], curve);
        assert_true(pids[i] > 0);
    }
    /* Until the broker exits: the fakes keep at it; the broker is measured. */
    int status = -1, joined = 0;
    for (int64_t until = s_ms() + 180000; s_ms() < until; tick++) {
        if (n > 0) s_swarm_tick(&w, tick);
        int fds = s_fds(b.pid);
        long rss = s_rss_kb(b.pid);
        if (fds > r->peak_fds) r->peak_fds = fds;
        if (rss > r->peak_rss_kb) r->peak_rss_kb = rss;
        if (joined < S_SEATS) {
            json_t *j = e2e_events(r->run, "seat_joined");
            joined = j ? (int)json_array_size(j) : 0;
            json_decref(j);
            if (joined >= S_SEATS) r->join_s = (double)(s_ms() - t0) / 1000.0;
        }
        int st = 0;
        if (waitpid(b.pid, &st, WNOHANG) == b.pid) {
            status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
            break;
        }
        usleep(20000);
    }
    r->game_s = (double)(s_ms() - t0) / 1000.0;
    r->total_s = (double)(s_ms() - t_start) / 1000.0;
    if (status < 0) e2e_reap(b.pid);
    assert_int_equal(status, 0);
    for (int i = 0; i < S_SEATS; i++) assert_int_equal(e2e_wait(pids[i], 30000), 0);
    if (n > 0) s_swarm_stop(&w);

    /* Every seat joined, by its own agent (never a fake: their policy is
     * "raw"). A connection pushed out over the cap just as its Hello arrived
     * makes its agent say Hello again on the next: a second join. */
    json_t *j = e2e_events(r->run, "seat_joined");
    assert_non_null(j);
    for (int i = 0; i < S_SEATS; i++) {
        char seat[32];
        snprintf(seat, sizeof seat, "agent_%d", i + 1);
        int seen = 0;
        size_t k;
        json_t *ev;
        json_array_foreach(j, k, ev)
        {
            if (strcmp(json_string_value(json_object_get(ev, "agent")), seat) == 0) {
                seen++;
                assert_string_not_equal(json_string_value(json_object_get(ev, "policy")), "raw");
            }
        }
        assert_true(seen >= 1);
        r->rejoins += seen - 1;
    }
    json_decref(j);

    char log[1200];
    snprintf(log, sizeof log, "%s/broker.log", r->run);
    char *text = sec_slurp(log);
    assert_non_null(text);
    r->log_bytes = strlen(text);
    r->log_lines = s_count(text, "\n");
    r->peers_lines = s_count(text, "BRK-PEERS");
    free(text);
}

/* How many fakes the descriptor limits allow: each ZeroMQ fake costs this
 * process two descriptors (its socket's mailbox and its connection). */
static int s_fakes_allowed(void)
{
    const char *env = getenv("PARLEY_FAKE_PEERS");
    int want = env ? atoi(env) : 1000;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    long room = (long)rl.rlim_cur - 200;
    int fit = room > 0 ? (int)(room * 10 / 16) : 0; /* 40% TCP (1 each), 60% ZeroMQ (2 each) */
    if (fit < want) {
        print_message("  (descriptor limit %ld: %d fakes instead of %d)\n", (long)rl.rlim_cur, fit,
                      want);
        want = fit;
    }
    assert_true(want >= 400); /* well past the cap, or the test shows nothing */
    return want;
}

static void s_case(bool curve)
{
    int n = s_fakes_allowed();
    /* The default cap for 1,000 fakes; fewer (a low descriptor limit) get a
     * cap of a quarter of them, so that the bound below still means less
     * than one descriptor a fake. */
    int cap = n >= 1000 ? S_CAP : n / 4;
    s_result_t ref, with;
    s_play(curve, 0, cap, &ref);
    s_play(curve, n, cap, &with);
    char why[256];
    if (e2e_same_summary(with.run, ref.run, why, sizeof why) != 0)
        fail_msg("%s, against the game without fakes", why);
    print_message(
        "  %s, %d fakes: ten seats joined in %.2f s (%.2f s without), game %.1f s "
        "(%.1f s); broker fds %d -> peak %d (%d without), RSS %ld -> peak %ld kB "
        "(%ld without); log %zu bytes, %d lines, %d BRK-PEERS; %d seats joined twice; cap %d\n",
        curve ? "CURVE" : "no CURVE", n, with.join_s, ref.join_s, with.game_s, ref.game_s,
        with.base_fds, with.peak_fds, ref.peak_fds, with.base_rss_kb, with.peak_rss_kb,
        ref.peak_rss_kb, with.log_bytes, with.log_lines, with.peers_lines, with.rejoins, cap);
    /* Descriptors, over what the broker had before the fakes: the seats, the
     * unjoined cap, as many again shut down whose close libzmq has not done
     * yet, and libzmq's accept backlog (100) the broker has not seen yet. */
    assert_true(with.peak_fds <= with.base_fds + S_SEATS + 2 * cap + 100);
    assert_true(S_SEATS + 2 * cap + 100 < n); /* a bound the fakes alone would break */
    /* Memory: a bounded number of connections costs a bounded amount (under
     * AddressSanitizer, plus its quarantine of freed memory, 256 MB). */
    assert_true(with.peak_rss_kb <= ref.peak_rss_kb + (64 + S_QUARANTINE_MB) * 1024);
    /* The log: one BRK-PEERS line a second at most, and a short log. */
    assert_true(with.peers_lines >= 1);
    assert_true(with.peers_lines <= (int)with.total_s + 2);
    assert_true(with.log_bytes < 256 * 1024);
}

static void test_fake_peers_without_curve(void **state)
{
    (void)state;
    s_case(false);
}

static void test_fake_peers_with_curve(void **state)
{
    (void)state;
    s_case(true);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake_peers_without_curve),
        cmocka_unit_test(test_fake_peers_with_curve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
