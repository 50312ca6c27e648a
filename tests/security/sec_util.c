/* sec_util.c: helpers for the security tests (sec_util.h). */
#include "sec_util.h"

#include "e2e.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <zmq.h>

/* One monitor per socket, found by the socket's address. */
static struct {
    void *sock, *mon;
} s_mons[256];
static int s_n_mons;

const char *sec_key(const char *dir, const char *who, const char *which)
{
    static char out[8][64];
    static int next;
    json_t *k = e2e_json(dir, "keys.json");
    json_t *curve = json_object_get(k, "curve");
    json_t *o = strcmp(who, "broker") == 0
                    ? json_object_get(curve, "broker")
                    : json_object_get(json_object_get(curve, "clients"), who);
    const char *v = json_string_value(json_object_get(o, which));
    char *slot = out[next++ % 8];
    snprintf(slot, 64, "%s", v ? v : "");
    json_decref(k);
    return slot;
}

void *sec_socket_keys(void *ctx, int type, const char *ep, const char *server, const char *pub,
                      const char *sec, const char *routing_id)
{
    void *s = zmq_socket(ctx, type);
    if (!s) return NULL;
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (routing_id) zmq_setsockopt(s, ZMQ_ROUTING_ID, routing_id, strlen(routing_id));
    if (server) {
        if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, strlen(server) + 1) != 0 ||
            zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, strlen(pub) + 1) != 0 ||
            zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, strlen(sec) + 1) != 0) {
            zmq_close(s);
            return NULL;
        }
    }
    char mon_ep[64];
    snprintf(mon_ep, sizeof mon_ep, "inproc://sec-monitor-%d", s_n_mons);
    if (s_n_mons < 256 && zmq_socket_monitor(s, mon_ep, ZMQ_EVENT_ALL) == 0) {
        void *m = zmq_socket(ctx, ZMQ_PAIR);
        zmq_setsockopt(m, ZMQ_LINGER, &linger, sizeof linger);
        if (m && zmq_connect(m, mon_ep) == 0) {
            s_mons[s_n_mons].sock = s;
            s_mons[s_n_mons++].mon = m;
        }
    }
    if (zmq_connect(s, ep) != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

void *sec_socket(void *ctx, int type, const char *ep, const char *server, const char *dir,
                 const char *client, const char *routing_id)
{
    char pub[64] = "", sec[64] = "", srv[64] = "";
    if (server) {
        snprintf(srv, sizeof srv, "%s", server); /* sec_key's storage is reused below */
        server = srv;
        snprintf(pub, sizeof pub, "%s", sec_key(dir, client, "public"));
        snprintf(sec, sizeof sec, "%s", sec_key(dir, client, "secret"));
    }
    return sec_socket_keys(ctx, type, ep, server, pub, sec, routing_id);
}

int sec_handshake(void *sock, int timeout_ms, int *detail)
{
    void *mon = NULL;
    for (int i = 0; i < s_n_mons; i++)
        if (s_mons[i].sock == sock) mon = s_mons[i].mon;
    if (!mon) return -1;
    for (;;) {
        zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, timeout_ms) <= 0) return -1;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, mon, 0) < 0) return -1;
        uint16_t ev = 0;
        uint32_t val = 0;
        if (zmq_msg_size(&m) >= 6) {
            memcpy(&ev, zmq_msg_data(&m), 2);
            memcpy(&val, (char *)zmq_msg_data(&m) + 2, 4);
        }
        while (zmq_msg_more(&m)) zmq_msg_recv(&m, mon, 0);
        zmq_msg_close(&m);
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) return 1;
        if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
            ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL || ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
            ev == ZMQ_EVENT_DISCONNECTED) {
            if (detail) *detail = ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? (int)val : -(int)ev;
            return 0;
        }
    }
}

void sec_close(void *sock)
{
    for (int i = 0; i < s_n_mons; i++)
        if (s_mons[i].sock == sock) {
            zmq_socket_monitor(sock, NULL, 0);
            zmq_close(s_mons[i].mon);
            s_mons[i].sock = s_mons[i].mon = NULL;
        }
    zmq_close(sock);
}

void sec_send(void *sock, Parley__Envelope *e)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (wire_pack(e, WIRE_MAX_AGENT_MSG, &buf, &len) != WIRE_OK) return;
    zmq_send(sock, buf, len, 0);
    free(buf);
}

void sec_hello(void *sock, const char *seat, const char *token)
{
    Parley__Hello h = PARLEY__HELLO__INIT;
    h.seat = (char *)seat;
    h.token = (char *)token;
    h.policy = "raw";
    h.model = "";
    h.client_version = "tests/security";
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_HELLO;
    e.hello = &h;
    sec_send(sock, &e);
}

void sec_heartbeat(void *sock)
{
    Parley__Heartbeat hb = PARLEY__HEARTBEAT__INIT;
    hb.status = "idle";
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_HEARTBEAT;
    e.heartbeat = &hb;
    sec_send(sock, &e);
}

/* The next envelope on sock within what is left of timeout_ms (*waited
 * counts up), or NULL when the time is up; frames that do not unpack are
 * skipped. */
static Parley__Envelope *s_next(void *sock, int *waited, int timeout_ms)
{
    for (; *waited < timeout_ms; *waited += 50) {
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 50) <= 0) continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            zmq_msg_close(&m);
            continue;
        }
        Parley__Envelope *e =
            wire_unpack(zmq_msg_data(&m), zmq_msg_size(&m), WIRE_MAX_BROKER_MSG, NULL);
        zmq_msg_close(&m);
        if (e) return e;
    }
    return NULL;
}

Parley__Envelope *sec_expect(void *sock, int body, int timeout_ms)
{
    int waited = 0;
    Parley__Envelope *e;
    while ((e = s_next(sock, &waited, timeout_ms)) != NULL) {
        if ((int)e->body_case == body) return e;
        wire_free(&e);
    }
    return NULL;
}

int sec_hello_reply(void *sock, const char *seat, const char *token, int timeout_ms)
{
    sec_hello(sock, seat, token);
    int waited = 0;
    Parley__Envelope *e;
    while ((e = s_next(sock, &waited, timeout_ms)) != NULL) {
        int code = e->body_case == PARLEY__ENVELOPE__BODY_WELCOME ? 0
                   : e->body_case == PARLEY__ENVELOPE__BODY_ERROR ? (int)e->error->code
                                                                  : -2;
        wire_free(&e);
        if (code != -2) return code;
    }
    return -1;
}

pid_t sec_spawn(const char *prog, const char *const *argv, int *out_fd, const char *log_path)
{
    const char *bin = getenv("PARLEY_BIN");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", bin ? bin : ".", prog);
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) dup2(fd, STDERR_FILENO);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    *out_fd = p[0];
    return pid;
}

int sec_read_line(int fd, char *buf, size_t len, int timeout_ms)
{
    size_t n = 0;
    struct pollfd p = {fd, POLLIN, 0};
    while (n + 1 < len) {
        if (poll(&p, 1, timeout_ms) <= 0) return -1;
        char c;
        if (read(fd, &c, 1) != 1) return -1;
        if (c == '\n') break;
        buf[n++] = c;
    }
    buf[n] = '\0';
    return 0;
}

char *sec_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (n + 1 == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                buf = NULL;
            }
            buf = b;
        }
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

bool sec_wait_event(const char *dir, const char *type, const char *agent, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        json_t *evs = e2e_events(dir, type);
        size_t i;
        json_t *ev;
        bool found = false;
        json_array_foreach(evs, i, ev)
        {
            const char *a = json_string_value(json_object_get(ev, "agent"));
            if (!agent || (a && strcmp(a, agent) == 0)) found = true;
        }
        json_decref(evs);
        if (found) return true;
        usleep(50000);
    }
    return false;
}
