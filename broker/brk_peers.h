/* brk_peers.h: the ROUTER's connections that have not joined a seat, bounded
 * (docs/SECURITY.md "Limits").
 *
 * libzmq keeps a pipe, a descriptor and a handshake for every TCP connection,
 * and says nothing about them to the application; a ROUTER cannot close one
 * either. So the broker watches its ROUTER with a socket monitor (accepted,
 * disconnected, handshake failed), learns which connection said a valid Hello
 * from each message's source descriptor (ZMQ_SRCFD), and shuts down, at the
 * socket level, connections that never join:
 *   - at most max_unjoined at once: a new one pushes out the oldest, so idle
 *     peers can never fill the broker's descriptors and keep an agent out;
 *   - none older than join_timeout_s (also libzmq's ZMQ_HANDSHAKE_IVL).
 * Each drop is counted; one BRK-PEERS line a second at most says how many.
 * A peer that is pushed out may connect again, and is again the newest.
 */
#ifndef PARLEY_BRK_PEERS_H
#define PARLEY_BRK_PEERS_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#define BRK_PEERS_MAX_UNJOINED 256
#define BRK_PEERS_JOIN_TIMEOUT 10.0

typedef struct brk_peers brk_peers_t;

typedef struct {
    struct event_base *base;
    void *zctx;
    void *router;          /* watched; must not be connected or bound yet */
    int max_unjoined;      /* <= 0: BRK_PEERS_MAX_UNJOINED */
    double join_timeout_s; /* <= 0: BRK_PEERS_JOIN_TIMEOUT */
} brk_peers_options_t;

typedef struct {
    uint64_t accepted;     /* connections accepted */
    uint64_t dropped_cap;  /* pushed out by a newer one over the cap */
    uint64_t dropped_idle; /* not joined within the join timeout */
    uint64_t failed;       /* handshakes that failed (wrong key, bad greeting, timeout) */
    size_t unjoined;       /* connected now without a seat */
    size_t joined;         /* connected now with one */
} brk_peers_stats_t;

brk_peers_t *brk_peers_new(const brk_peers_options_t *o, char *err, size_t errlen);
void brk_peers_destroy(brk_peers_t **p);
/* The connection whose descriptor is fd (ZMQ_SRCFD of a message) holds a
 * seat now: it is never dropped by these limits. fd < 0: nothing. */
void brk_peers_joined(brk_peers_t *p, int fd);
brk_peers_stats_t brk_peers_stats(const brk_peers_t *p);

#endif
