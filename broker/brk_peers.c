/* brk_peers.c: the ROUTER's connections that have not joined (brk_peers.h).
 *
 * The monitor's PAIR socket is edge-triggered like the ROUTER's: drain while
 * ZMQ_EVENTS says POLLIN. Its events may be dropped when its queue is full
 * (libzmq sends them without blocking), so the table is kept honest another
 * way too: before a descriptor is shut down, its two addresses must still be
 * those seen when it was accepted; otherwise the connection is gone (the
 * descriptor closed, perhaps reused for something else) and it is forgotten.
 */
#include "brk_peers.h"

#include "pl_log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <zmq.h>

typedef struct {
    int fd;
    bool joined;
    int64_t since_ms; /* monotonic: accepted */
    struct sockaddr_storage peer, local;
    socklen_t peer_len, local_len;
} s_conn_t;

struct brk_peers {
    void *router, *mon;
    struct event *mon_ev, *sweep_ev;
    int max_unjoined;
    double join_timeout_s;
    s_conn_t *conns;
    size_t n, cap;
    brk_peers_stats_t st;
    /* The log: one line a second at most, with what happened since. */
    int64_t log_ms;
    uint64_t logged_cap, logged_idle, logged_failed;
};

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static s_conn_t *s_find(brk_peers_t *p, int fd)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->conns[i].fd == fd) return &p->conns[i];
    return NULL;
}

static void s_forget(brk_peers_t *p, s_conn_t *c)
{
    *c = p->conns[--p->n];
}

/* Adds fd (replacing a stale entry of the same number). NULL: out of memory
 * (the connection is then not bounded, but nothing else breaks). */
static s_conn_t *s_add(brk_peers_t *p, int fd)
{
    s_conn_t *c = s_find(p, fd);
    if (!c) {
        if (p->n == p->cap) {
            size_t cap = p->cap ? 2 * p->cap : 64;
            s_conn_t *m = realloc(p->conns, cap * sizeof *m);
            if (!m) return NULL;
            p->conns = m;
            p->cap = cap;
        }
        c = &p->conns[p->n++];
    }
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->since_ms = s_now_ms();
    c->peer_len = sizeof c->peer;
    c->local_len = sizeof c->local;
    if (getpeername(fd, (struct sockaddr *)&c->peer, &c->peer_len) != 0) c->peer_len = 0;
    if (getsockname(fd, (struct sockaddr *)&c->local, &c->local_len) != 0) c->local_len = 0;
    return c;
}

/* The descriptor still carries the connection accepted as c. */
static bool s_same(const s_conn_t *c)
{
    struct sockaddr_storage peer, local;
    socklen_t pl = sizeof peer, ll = sizeof local;
    if (c->peer_len == 0 || c->local_len == 0) return false;
    if (getpeername(c->fd, (struct sockaddr *)&peer, &pl) != 0 ||
        getsockname(c->fd, (struct sockaddr *)&local, &ll) != 0)
        return false;
    return pl == c->peer_len && ll == c->local_len && memcmp(&peer, &c->peer, pl) == 0 &&
           memcmp(&local, &c->local, ll) == 0;
}

/* Shuts c's connection down: libzmq reads the end of the stream and closes
 * it (a DISCONNECTED event follows). The descriptor stays libzmq's. */
static void s_drop(brk_peers_t *p, s_conn_t *c, uint64_t *count)
{
    if (s_same(c)) {
        if (shutdown(c->fd, SHUT_RDWR) == 0) (*count)++;
    }
    s_forget(p, c);
}

static size_t s_count_unjoined(const brk_peers_t *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++) n += !p->conns[i].joined;
    return n;
}

static void s_log(brk_peers_t *p, bool force)
{
    uint64_t cap = p->st.dropped_cap - p->logged_cap, idle = p->st.dropped_idle - p->logged_idle,
             failed = p->st.failed - p->logged_failed;
    if (cap + idle == 0) return;
    int64_t now = s_now_ms();
    if (!force && p->log_ms != 0 && now - p->log_ms < 1000) return;
    PL_WARN("BRK-PEERS",
            "dropped %llu connections that had not joined a seat since the last line (%llu over "
            "the cap of %d, %llu not joined within %g s), %llu handshakes failed; %zu waiting "
            "now, %llu dropped in all",
            (unsigned long long)(cap + idle), (unsigned long long)cap, p->max_unjoined,
            (unsigned long long)idle, p->join_timeout_s, (unsigned long long)failed,
            s_count_unjoined(p), (unsigned long long)(p->st.dropped_cap + p->st.dropped_idle));
    p->log_ms = now;
    p->logged_cap = p->st.dropped_cap;
    p->logged_idle = p->st.dropped_idle;
    p->logged_failed = p->st.failed;
}

/* Over the cap: the oldest connection without a seat goes. */
static void s_enforce_cap(brk_peers_t *p)
{
    size_t unjoined = s_count_unjoined(p);
    while (unjoined > (size_t)p->max_unjoined) {
        s_conn_t *oldest = NULL;
        for (size_t i = 0; i < p->n; i++)
            if (!p->conns[i].joined && (!oldest || p->conns[i].since_ms < oldest->since_ms))
                oldest = &p->conns[i];
        if (!oldest) break;
        s_drop(p, oldest, &p->st.dropped_cap);
        unjoined--;
    }
}

static void s_on_event(brk_peers_t *p, uint16_t ev, uint32_t value)
{
    int fd = (int)value;
    switch (ev) {
    case ZMQ_EVENT_ACCEPTED: {
        p->st.accepted++;
        /* Its Hello may have been read before this event: then it is known
         * already, as joined. */
        s_conn_t *c = s_find(p, fd);
        if (c && c->joined && s_same(c)) break;
        if (s_add(p, fd)) s_enforce_cap(p);
        break;
    }
    case ZMQ_EVENT_DISCONNECTED: {
        /* A joined entry whose descriptor carries the same connection as it
         * did is a newer connection on a reused descriptor (seen first
         * through its Hello): this event is about an older one. */
        s_conn_t *c = s_find(p, fd);
        if (c && (!c->joined || !s_same(c))) s_forget(p, c);
        break;
    }
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        p->st.failed++;
        break;
    default:
        break;
    }
}

static void s_on_monitor(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    brk_peers_t *p = arg;
    for (;;) {
        int events = 0;
        size_t sz = sizeof events;
        if (zmq_getsockopt(p->mon, ZMQ_EVENTS, &events, &sz) != 0 || !(events & ZMQ_POLLIN)) break;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, p->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            if (errno == EINTR) continue;
            break;
        }
        uint16_t ev = 0;
        uint32_t value = 0;
        bool ok = zmq_msg_size(&m) >= 6;
        if (ok) {
            memcpy(&ev, zmq_msg_data(&m), 2);
            memcpy(&value, (const char *)zmq_msg_data(&m) + 2, 4);
        }
        /* The second frame is the endpoint: not needed. */
        while (zmq_msg_more(&m) && zmq_msg_recv(&m, p->mon, ZMQ_DONTWAIT) >= 0) {
        }
        zmq_msg_close(&m);
        if (ok) s_on_event(p, ev, value);
    }
    s_log(p, false);
}

static void s_on_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    brk_peers_t *p = arg;
    int64_t now = s_now_ms(), limit = (int64_t)(p->join_timeout_s * 1000.0);
    for (size_t i = 0; i < p->n;) {
        s_conn_t *c = &p->conns[i];
        if (!c->joined && now - c->since_ms >= limit)
            s_drop(p, c, &p->st.dropped_idle); /* the last entry moved to i */
        else if (c->joined && !s_same(c))
            s_forget(p, c); /* gone, its event lost or read too early */
        else
            i++;
    }
    s_log(p, false);
}

brk_peers_t *brk_peers_new(const brk_peers_options_t *o, char *err, size_t errlen)
{
    brk_peers_t *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->router = o->router;
    p->max_unjoined = o->max_unjoined > 0 ? o->max_unjoined : BRK_PEERS_MAX_UNJOINED;
    p->join_timeout_s = o->join_timeout_s > 0 ? o->join_timeout_s : BRK_PEERS_JOIN_TIMEOUT;
    /* A handshake (greeting, CURVE, ZAP) that outlasts the join timeout is
     * dropped by libzmq itself. */
    int ivl = (int)(p->join_timeout_s * 1000.0);
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://brk-peers-%p", (void *)p);
    int ev_fd = -1;
    size_t len = sizeof ev_fd;
    int linger = 0;
    if (zmq_setsockopt(o->router, ZMQ_HANDSHAKE_IVL, &ivl, sizeof ivl) != 0 ||
        zmq_socket_monitor(
            o->router, ep,
            ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0) {
        snprintf(err, errlen, "ROUTER monitor: %s", zmq_strerror(errno));
        goto fail;
    }
    /* A queue for a whole flood's events (the pipe holds both ends' HWM):
     * a broker starved of CPU while a thousand peers connect loses fewer of
     * them (each ACCEPTED lost is a connection the cap does not see). */
    int hwm = 100000;
    p->mon = zmq_socket(o->zctx, ZMQ_PAIR);
    if (!p->mon || zmq_setsockopt(p->mon, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(p->mon, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 || zmq_connect(p->mon, ep) != 0 ||
        zmq_getsockopt(p->mon, ZMQ_FD, &ev_fd, &len) != 0) {
        snprintf(err, errlen, "ROUTER monitor: %s", zmq_strerror(errno));
        goto fail;
    }
    p->mon_ev = event_new(o->base, ev_fd, EV_READ | EV_PERSIST | EV_ET, s_on_monitor, p);
    p->sweep_ev = event_new(o->base, -1, EV_PERSIST, s_on_sweep, p);
    double every = p->join_timeout_s / 4 < 1.0 ? p->join_timeout_s / 4 : 1.0;
    struct timeval tv = {(time_t)every, (suseconds_t)((every - (double)(time_t)every) * 1e6)};
    /* Priority 0 where the base has two (brk_server.c): before the frames. */
    if (p->mon_ev && event_base_get_npriorities(o->base) > 1 &&
        event_priority_set(p->mon_ev, 0) != 0) {
        snprintf(err, errlen, "cannot set the ROUTER monitor's priority");
        goto fail;
    }
    if (!p->mon_ev || !p->sweep_ev || event_add(p->mon_ev, NULL) != 0 ||
        event_add(p->sweep_ev, &tv) != 0) {
        snprintf(err, errlen, "cannot arm the ROUTER monitor");
        goto fail;
    }
    /* Until the PAIR socket has once been asked for messages, its descriptor
     * never signals (libzmq's ZMQ_FD): ask now. */
    s_on_monitor(-1, 0, p);
    return p;
fail:
    brk_peers_destroy(&p);
    return NULL;
}

void brk_peers_destroy(brk_peers_t **pp)
{
    if (!pp || !*pp) return;
    brk_peers_t *p = *pp;
    s_log(p, true);
    if (p->mon_ev) event_free(p->mon_ev);
    if (p->sweep_ev) event_free(p->sweep_ev);
    if (p->router) zmq_socket_monitor(p->router, NULL, 0);
    if (p->mon) zmq_close(p->mon);
    free(p->conns);
    free(p);
    *pp = NULL;
}

void brk_peers_joined(brk_peers_t *p, int fd)
{
    if (!p || fd < 0) return;
    s_conn_t *c = s_find(p, fd);
    /* Not seen yet (its ACCEPTED event comes later, or was lost), or the
     * entry is of an older connection on the same descriptor. */
    if (!c || !s_same(c)) c = s_add(p, fd);
    if (c) c->joined = true;
}

brk_peers_stats_t brk_peers_stats(const brk_peers_t *p)
{
    brk_peers_stats_t st = p->st;
    st.unjoined = s_count_unjoined(p);
    st.joined = p->n - st.unjoined;
    return st;
}
