/* brk_http.h: the broker's web side (docs/WEB.md), on the broker's own loop.
 *
 * An evhttp server, 127.0.0.1 by default, serving:
 *   /                 the live dashboard (static page, fed by /events and /api/status)
 *   /events           the public view of every event the broker records, as
 *                     server-sent events; every event whole with the
 *                     experimenter's token
 *   /metrics          Prometheus text format
 *   /api/status       the game and each seat's status, as JSON
 *   /seat/ID?token=T  a person plays seat ID in the browser
 * A browser seat is played by this module as an ordinary protocol client: a
 * DEALER socket to the broker's own ROUTER, saying Hello with the seat's token
 * and human = true, so the broker judges it exactly like any agent. Bad input
 * from a browser is a 4xx with a sentence; nothing here blocks the game (a
 * slow event-stream reader is dropped, a flood is refused with 429).
 */
#ifndef PARLEY_BRK_HTTP_H
#define PARLEY_BRK_HTTP_H

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct brk_http brk_http_t;

typedef struct {
    struct event_base *base;     /* the broker's loop (borrowed) */
    void *zctx;                  /* the broker's ZeroMQ context (borrowed) */
    const char *listen;          /* "127.0.0.1:8080"; port 0 = ephemeral */
    const char *router_endpoint; /* the broker's ROUTER, as bound */
    int n_seats;
    const char *const *seat_ids; /* [n_seats] "agent_1".. (borrowed, outlive the server) */
    const char *const *tokens;   /* [n_seats] the seats' tokens (borrowed) */
    const bool *browser;         /* [n_seats] seats played from the browser */
    bool blind;                  /* pages show neutral labels only, never who is human */
    /* /events with this token (query, X-Parley-Token header, or the cookie
     * /?token= sets) is the full stream; without a token, the public view
     * (brk_view.h). */
    const char *experimenter_token;
    /* CURVE: the broker's public key and each browser seat's client keypair
     * ([n_seats], Z85), or NULL without CURVE. */
    const char *curve_server;
    const char *const *curve_public, *const *curve_secret;
    /* The game's status as JSON (owned by the caller of the callback). */
    json_t *(*status)(void *arg);
    void *arg;
} brk_http_options_t;

/* Binds and starts serving. Returns an owned server, or NULL with a sentence in err. */
brk_http_t *brk_http_new(const brk_http_options_t *opts, char *err, size_t errlen);
/* Closes every connection and socket. NULL-safe; sets *h = NULL. */
void brk_http_destroy(brk_http_t **h);

/* "http://127.0.0.1:PORT" as bound. */
const char *brk_http_url(const brk_http_t *h);

/* One event the broker recorded (ev: the object; text: its JSON line;
 * pub_text: its public view's (brk_view.h), or NULL to have it made here).
 * Copied into the stream's history, counted for /metrics, and sent to readers. */
void brk_http_event(brk_http_t *h, const json_t *ev, const char *text, const char *pub_text);
/* One peer error the broker refused (kind: a stable name, "bad_token"...). */
void brk_http_error(brk_http_t *h, const char *kind);
/* The game is over: no more decisions from browser seats. */
void brk_http_game_over(brk_http_t *h);
/* After the loop ended: runs it up to `seconds` more so that every event
 * stream receives the rest of the game, then ends the streams cleanly. */
void brk_http_linger(brk_http_t *h, double seconds);

#endif
