/* sec_util.h: helpers for the security tests (tests/security): CURVE client
 * sockets from a run's keys.json, socket monitors that say how a handshake
 * ended, and raw protocol messages. */
#ifndef PARLEY_TEST_SEC_UTIL_H
#define PARLEY_TEST_SEC_UTIL_H

#include "wire.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A key of keys.json: who "broker" or a client name, which "public"/"secret".
 * Static storage, reused after 8 calls: copy what you keep. */
const char *sec_key(const char *dir, const char *who, const char *which);
/* A socket of type connected to ep. server: the broker's public key (NULL: no
 * CURVE); client: the client's name in keys.json, whose keypair it holds.
 * routing_id may be NULL. A monitor is attached (sec_handshake reads it). */
void *sec_socket(void *ctx, int type, const char *ep, const char *server, const char *dir,
                 const char *client, const char *routing_id);
/* Like sec_socket, but with an explicit keypair (Z85) instead of a name. */
void *sec_socket_keys(void *ctx, int type, const char *ep, const char *server, const char *pub,
                      const char *sec, const char *routing_id);
/* How the first handshake of sock ended: 1 succeeded, 0 failed or the peer
 * dropped it (errno-like detail in *detail, may be NULL), -1 nothing within
 * timeout_ms. */
int sec_handshake(void *sock, int timeout_ms, int *detail);
void sec_close(void *sock);

void sec_send(void *sock, Parley__Envelope *e);
void sec_hello(void *sock, const char *seat, const char *token);
/* An idle Heartbeat (turn 0). */
void sec_heartbeat(void *sock);
/* The next message of kind body within timeout_ms (others skipped), or NULL. */
Parley__Envelope *sec_expect(void *sock, int body, int timeout_ms);
/* Says Hello for seat with token on sock: 0 for a Welcome, the Error's code,
 * or -1 for neither within timeout_ms. */
int sec_hello_reply(void *sock, const char *seat, const char *token, int timeout_ms);

/* Starts prog ($PARLEY_BIN/prog) with argv (argv[0] is replaced), stdout to a
 * pipe (*out_fd), stderr to log_path. Returns the pid or -1. */
pid_t sec_spawn(const char *prog, const char *const *argv, int *out_fd, const char *log_path);
/* Reads one line from fd within timeout_ms (the newline dropped). 0 or -1. */
int sec_read_line(int fd, char *buf, size_t len, int timeout_ms);
/* The whole text of a file (owned), or NULL. */
char *sec_slurp(const char *path);
/* Polls dir/events.jsonl until an event of type (and agent, may be NULL) is
 * recorded or timeout_ms passes; true if it was. */
bool sec_wait_event(const char *dir, const char *type, const char *agent, int timeout_ms);

#endif
