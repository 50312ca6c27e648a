/* brk_zap.h: the broker's ZAP handler (RFC 27), on the broker's own loop.
 *
 * With CURVE on, libzmq asks this handler about every peer that completes a
 * CURVE handshake with one of the broker's sockets. A socket's ZAP domain
 * says which keys it admits: a key is allowed per domain and carries a user
 * id (the seat it belongs to, "watcher", "experimenter"), which libzmq
 * attaches to every message of that peer as its "User-Id" property. The
 * dispatcher then holds a connection to the seat its key names: a key of
 * agent_2 can never say Hello for agent_1, whatever token it shows.
 *
 * Refusals are counted and logged at most once a second (BRK-ZAP-REFUSED),
 * so a flood of fake peers costs no log space.
 */
#ifndef PARLEY_BRK_ZAP_H
#define PARLEY_BRK_ZAP_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

typedef struct brk_zap brk_zap_t;

#define BRK_ZAP_AGENTS  "parley.agents"  /* the ROUTER: seats */
#define BRK_ZAP_PUBLIC  "parley.public"  /* the PUB of public events: any known key */
#define BRK_ZAP_PRIVATE "parley.private" /* the PUB of every event: the experimenter */
/* Without CURVE: every peer, with the NULL mechanism. A socket with a ZAP
 * domain refuses ZMTP 1.0 and 2.0 greetings (libzmq's rule), and with them a
 * path in which a stranger's first message can abort libzmq 4.3.4 (an
 * assertion in zmtp_engine.cpp, seen under 1,000 fake peers). */
#define BRK_ZAP_OPEN "parley.open"

/* Binds the handler (inproc://zeromq.zap.01) on zctx, served from base.
 * Must exist before any CURVE server socket is bound. Returns an owned
 * handler or NULL with a sentence in err. */
brk_zap_t *brk_zap_new(void *zctx, struct event_base *base, char *err, size_t errlen);
void brk_zap_destroy(brk_zap_t **z);

/* Admits the client key (Z85 text) on domain as user. 0, or -1 (a malformed
 * key, out of memory). */
int brk_zap_allow(brk_zap_t *z, const char *domain, const char *key_z85, const char *user);

/* Handshakes refused so far (wrong key, unknown domain, not CURVE). */
uint64_t brk_zap_refused(const brk_zap_t *z);

#endif
