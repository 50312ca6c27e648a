/* brk_zap.c: the ZAP handler (brk_zap.h).
 *
 * A REP socket on inproc://zeromq.zap.01 in the broker's context; libzmq's
 * I/O threads send it one request per handshake and wait for the reply
 * without blocking anything, so answering from the event loop is enough. The
 * socket's descriptor is edge-triggered like the ROUTER's: drain while
 * ZMQ_EVENTS says POLLIN.
 */
#include "brk_zap.h"

#include "pl_log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

typedef struct {
    char domain[32];
    uint8_t key[32];
    char user[64];
} s_entry_t;

struct brk_zap {
    void *sock;
    struct event *ev;
    s_entry_t *entries;
    size_t n, cap;
    uint64_t refused, refused_logged;
    time_t last_log;
};

int brk_zap_allow(brk_zap_t *z, const char *domain, const char *key_z85, const char *user)
{
    if (!key_z85 || strlen(key_z85) != 40 || strlen(domain) >= 32 || strlen(user) >= 64) return -1;
    if (z->n == z->cap) {
        size_t cap = z->cap ? 2 * z->cap : 32;
        s_entry_t *e = realloc(z->entries, cap * sizeof *e);
        if (!e) return -1;
        z->entries = e;
        z->cap = cap;
    }
    s_entry_t *e = &z->entries[z->n];
    if (!zmq_z85_decode(e->key, key_z85)) return -1;
    snprintf(e->domain, sizeof e->domain, "%s", domain);
    snprintf(e->user, sizeof e->user, "%s", user);
    z->n++;
    return 0;
}

uint64_t brk_zap_refused(const brk_zap_t *z)
{
    return z->refused;
}

/* The user id of key on domain, or NULL. */
static const char *s_lookup(const brk_zap_t *z, const char *domain, size_t dlen, const uint8_t *key)
{
    for (size_t i = 0; i < z->n; i++)
        if (strlen(z->entries[i].domain) == dlen &&
            memcmp(z->entries[i].domain, domain, dlen) == 0 &&
            memcmp(z->entries[i].key, key, 32) == 0)
            return z->entries[i].user;
    return NULL;
}

static void s_note_refusal(brk_zap_t *z, const char *why)
{
    z->refused++;
    time_t now = time(NULL);
    if (now == z->last_log) return;
    PL_WARN("BRK-ZAP-REFUSED", "%llu handshake(s) refused since the last report (%s)",
            (unsigned long long)(z->refused - z->refused_logged), why);
    z->refused_logged = z->refused;
    z->last_log = now;
}

/* One request: version, request id, domain, address, identity, mechanism,
 * credentials (for CURVE: the client's 32-byte public key). */
static void s_handle(brk_zap_t *z)
{
    zmq_msg_t part[8];
    int n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < 8)
            part[n++] = m;
        else
            zmq_msg_close(&m);
    }
    if (n < 6) {
        for (int i = 0; i < n; i++) zmq_msg_close(&part[i]);
        return; /* not a ZAP request: libzmq never sends these */
    }
    const char *why = NULL, *user = NULL;
    size_t mlen = zmq_msg_size(&part[5]), dlen = zmq_msg_size(&part[2]);
    bool open =
        dlen == strlen(BRK_ZAP_OPEN) && memcmp(zmq_msg_data(&part[2]), BRK_ZAP_OPEN, dlen) == 0;
    if (open) {
        /* Without CURVE every ZMTP 3 peer is admitted; the handler is there
         * so that libzmq refuses the older greetings (see brk_zap.h). */
        if (mlen != 4 || memcmp(zmq_msg_data(&part[5]), "NULL", 4) != 0) why = "not NULL";
    } else if (mlen != 5 || memcmp(zmq_msg_data(&part[5]), "CURVE", 5) != 0)
        why = "not CURVE";
    else if (n < 7 || zmq_msg_size(&part[6]) != 32)
        why = "no client key";
    else if (!(user = s_lookup(z, zmq_msg_data(&part[2]), zmq_msg_size(&part[2]),
                               zmq_msg_data(&part[6]))))
        why = "a client key this game does not know";
    if (why) s_note_refusal(z, why);
    const char *code = why ? "400" : "200";
    const char *text = why ? why : "OK";
    if (!user) user = "";
    int rc = 0;
    rc |= zmq_send(z->sock, "1.0", 3, ZMQ_SNDMORE) < 0;
    rc |= zmq_send(z->sock, zmq_msg_data(&part[1]), zmq_msg_size(&part[1]), ZMQ_SNDMORE) < 0;
    rc |= zmq_send(z->sock, code, 3, ZMQ_SNDMORE) < 0;
    rc |= zmq_send(z->sock, text, strlen(text), ZMQ_SNDMORE) < 0;
    rc |= zmq_send(z->sock, user, strlen(user), ZMQ_SNDMORE) < 0;
    rc |= zmq_send(z->sock, "", 0, 0) < 0;
    if (rc) PL_ERROR("BRK-ZAP", "cannot answer a ZAP request: %s", zmq_strerror(errno));
    for (int i = 0; i < n; i++) zmq_msg_close(&part[i]);
}

static void s_on_zap_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    brk_zap_t *z = arg;
    for (;;) {
        int events = 0;
        size_t sz = sizeof events;
        if (zmq_getsockopt(z->sock, ZMQ_EVENTS, &events, &sz) != 0 || !(events & ZMQ_POLLIN)) break;
        s_handle(z);
    }
}

brk_zap_t *brk_zap_new(void *zctx, struct event_base *base, char *err, size_t errlen)
{
    brk_zap_t *z = calloc(1, sizeof *z);
    if (!z) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int fd = -1, linger = 0;
    size_t len = sizeof fd;
    z->sock = zmq_socket(zctx, ZMQ_REP);
    if (!z->sock || zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(z->sock, "inproc://zeromq.zap.01") != 0 ||
        zmq_getsockopt(z->sock, ZMQ_FD, &fd, &len) != 0) {
        snprintf(err, errlen, "ZAP handler: %s", zmq_strerror(errno));
        goto fail;
    }
    z->ev = event_new(base, fd, EV_READ | EV_PERSIST | EV_ET, s_on_zap_readable, z);
    if (!z->ev || event_add(z->ev, NULL) != 0) {
        snprintf(err, errlen, "ZAP handler: cannot watch its socket");
        goto fail;
    }
    return z;
fail:
    brk_zap_destroy(&z);
    return NULL;
}

void brk_zap_destroy(brk_zap_t **pz)
{
    if (!pz || !*pz) return;
    brk_zap_t *z = *pz;
    if (z->ev) event_free(z->ev);
    if (z->sock) zmq_close(z->sock);
    free(z->entries);
    free(z);
    *pz = NULL;
}
