/* brk_server.h: parley-broker, one game served over ZeroMQ (DESIGN.md).
 *
 * The server owns the game (environment/), one libevent loop, a ROUTER socket
 * for agents, a PUB socket that carries the public view of every event
 * (brk_view.h) and, with CURVE, a second PUB socket with every event for the
 * experimenter's key, and the run directory. docs/SECURITY.md has the rules.
 * It speaks the conversation of proto/PROTOCOL.md: seats say Hello with their
 * token, get Welcome, then TurnRequests in the order the timing mode dictates;
 * their Decisions are applied, recorded in events.jsonl and answered with
 * ActionResults. Bad input from a peer is an Error reply and a log line.
 */
#ifndef PARLEY_BRK_SERVER_H
#define PARLEY_BRK_SERVER_H

#include "pl_config.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct brk_server brk_server_t;

typedef struct {
    const char *router_endpoint;      /* bind address for agents, e.g. "tcp://127.0.0.1:*" */
    const char *pub_endpoint;         /* bind address for watchers; NULL: no PUB socket */
    const char *run_dir;              /* the run directory (created if absent) */
    double start_timeout;             /* seconds to wait for every seat; <= 0: 30 */
    const char *http_listen;          /* "127.0.0.1:0" for the web side (brk_http.h); NULL: none */
    bool web_seats;                   /* the web side plays the seats whose policy is `human` */
    bool verify_only;                 /* parley replay: check run_dir's record, bind nothing */
    bool curve;                       /* CURVE on ROUTER and PUB, keys in run_dir/keys.json */
    bool insecure;                    /* allow a non-loopback bind without CURVE */
    const char *pub_private_endpoint; /* every event, experimenter's key only; needs curve */
    const char *keys_dir; /* curve: broker.key and NAME.pub from `parley keygen`, or NULL */
    int max_unjoined;     /* ROUTER connections without a seat at once; <= 0: 256 (brk_peers.h) */
    double join_timeout;  /* seconds a connection may go without joining; <= 0: 10 */
    /* A Unix socket the ROUTER binds too, for agents on this host (parley run's
     * seats): created mode 0700, removed when the server is destroyed; NULL or
     * "": none. Its seats authenticate as over TCP (CURVE, tokens). */
    const char *router_ipc_path;
    /* With curve: the Unix socket takes seats without CURVE (the NULL
     * mechanism), each held by its token and the process that showed it
     * (brk_dispatch.c); off by default (docs/SECURITY.md,
     * "The Unix socket"). TCP keeps CURVE. */
    bool ipc_no_curve;
} brk_options_t;

/* Builds the game from config (copied), opens the run directory (writes
 * config.json and seats.json), binds the sockets. Returns an owned server, or
 * NULL with a sentence in err. A run directory whose game did not finish is
 * resumed: the game is rebuilt from events.jsonl (every recorded effect
 * checked), and the seats take their places back with their tokens; a
 * finished one is refused. */
brk_server_t *brk_server_new(const pl_config_t *config, const brk_options_t *opts, char *err,
                             size_t errlen);
void brk_server_destroy(brk_server_t **s);

/* The endpoints actually bound (a '*' port resolved), e.g. "tcp://127.0.0.1:41234". */
const char *brk_server_endpoint(const brk_server_t *s);
/* "ipc://PATH" of the Unix socket (opts.router_ipc_path), or "" without one. */
const char *brk_server_ipc_endpoint(const brk_server_t *s);
const char *brk_server_pub_endpoint(const brk_server_t *s);         /* "" without PUB */
const char *brk_server_pub_private_endpoint(const brk_server_t *s); /* "" without one */
const char *brk_server_run_dir(const brk_server_t *s);
/* "http://127.0.0.1:PORT" of the web side, or "" without one. */
const char *brk_server_http_url(const brk_server_t *s);
/* The token of seat i (0-based), or NULL. */
const char *brk_server_token(const brk_server_t *s, int seat);

/* Runs the loop until the game is over or stopped (SIGINT/SIGTERM or
 * brk_server_stop). Returns 0 when the game finished, 1 when it was stopped,
 * -1 on an environment failure. A finished game leaves summary.json, a stopped
 * one summary.partial.json (summary.json means "done" to parley sweep). */
int brk_server_run(brk_server_t *s);
/* parley replay: rebuilds the game of run_dir from its events.jsonl through
 * the engine, checking every recorded effect and, for a finished game, the
 * summary. Returns 0 when all agree (note says whether the game finished), 1
 * with the first difference in err (FILE:LINE: which event), -1 when the
 * directory cannot be read. */
int brk_replay_check(const char *run_dir, char *err, size_t errlen, char *note, size_t notelen);

/* Ends the game early (from another callback of the same loop). */
void brk_server_stop(brk_server_t *s, const char *reason);

#endif
