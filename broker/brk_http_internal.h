/* brk_http_internal.h: what the two files of the web side share (not for
 * other folders): brk_http.c has the server, its routes, the event stream and
 * the metrics; brk_http_seat.c plays browser seats (a DEALER per seat) and
 * serves their pages' requests.
 */
#ifndef PARLEY_BRK_HTTP_INTERNAL_H
#define PARLEY_BRK_HTTP_INTERNAL_H

#include "brk_http.h"
#include "wire.h"

#include <event2/http.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

extern const char brk_web_dashboard_html[];
extern const char brk_web_seat_html[];

#define S_MAX_BODY        (64 * 1024) /* a decision from the page is a few hundred bytes */
#define S_MAX_ACTIONS     50
#define S_MAX_TEXT        4000
#define S_MAX_READERS     64
#define S_CHUNK_BYTES     (32 * 1024)
#define S_MAX_LAG         200000 /* events a reader may be behind before it is dropped */
#define S_RATE_PER_S      40.0   /* requests per second, all clients together */
#define S_RATE_BURST      120.0
#define S_AUTH_PER_S      2.0 /* refused tokens per second */
#define S_AUTH_BURST      20.0
#define S_LATENCY_BUCKETS 10

static const double s_latency_le[S_LATENCY_BUCKETS] = {0.001, 0.005, 0.01, 0.05, 0.1,
                                                       0.5,   1,     5,    30,   120};

/* One reader of /events. */
typedef struct s_reader {
    brk_http_t *h;
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    size_t cursor; /* next history line to send */
    bool full;     /* the experimenter's stream: every event whole */
    bool writing;  /* a chunk is on its way; the next goes when it has left */
    struct s_reader *next;
} s_reader_t;

/* One seat played from the browser. */
typedef struct {
    brk_http_t *h;
    int index;
    void *sock;
    struct event *sock_ev, *hb_ev;
    uint64_t seq;
    char game_id[17];
    bool welcomed, over, draining;
    bool released;           /* handed over (POST /seat/ID/release): another client plays it now */
    json_t *agents, *pieces; /* names from Welcome */
    json_t *rules;
    json_t *obs; /* the open turn's observation, or NULL */
    uint64_t turn_id;
    int64_t deadline_ms; /* monotonic */
    json_t *sent;        /* the actions of the last decision sent */
    json_t *results;     /* their results, when they came */
    json_t *log;         /* notices and errors, newest last (bounded) */
    json_t *game_over;
} brk_http_seat_t;

struct brk_http {
    brk_http_options_t opts;
    struct evhttp *http;
    char url[300];
    char connect[280]; /* the ROUTER as a client reaches it (0.0.0.0 -> 127.0.0.1) */
    /* the event stream */
    char **lines;     /* every event whole (the experimenter's stream) */
    char **pub_lines; /* the same events, their public view (brk_view.h) */
    size_t n_lines, cap_lines;
    s_reader_t *readers;
    int n_readers;
    bool over;
    int64_t start_wall_ms; /* the broker's clock at game_start (0: not started) */
    /* browser seats, [n_seats], NULL where the seat is not a browser seat */
    brk_http_seat_t **seats;
    /* flood control: token buckets; everyone without a token shares one,
     * each seat (its token) and the experimenter have their own, so that a
     * flood never locks a person out of their own page */
    double rate_tokens, auth_tokens;
    int64_t rate_ms, auth_ms;
    double *seat_rate, exp_rate;
    int64_t *seat_rate_ms, exp_rate_ms;
    /* accept errors (EMFILE): the listener pauses, one log line a second */
    struct evconnlistener *listener;
    struct event *accept_ev;
    int64_t accept_log_ms;
    uint64_t accept_errors;
    /* metrics */
    json_t *turns, *actions, *errors, *http_refused; /* name -> count */
    uint64_t lat_count, lat_bucket[S_LATENCY_BUCKETS];
    double lat_sum;
    uint64_t tasks, messages, transfers, missed, events;
};

/* brk_http.c: replies, counters, flood control */
int64_t brk_http_mono_ms(void);
void brk_http_count(json_t *map, const char *key);
/* Exact byte comparison in constant time: how much of a guess matched never shows. */
bool brk_http_token_ok(const char *want, const char *got);
/* A token bucket: true (and one token spent) when the request may go ahead. */
bool brk_http_take(double *tokens, int64_t *last_ms, double rate, double burst);
void brk_http_reply(brk_http_t *h, struct evhttp_request *req, int code, const char *ctype,
                    const char *body, size_t len);
void brk_http_reply_json(brk_http_t *h, struct evhttp_request *req, int code, json_t *j);
/* A refusal: the code and one sentence, as JSON ({"error": "..."}). */
void brk_http_refuse(brk_http_t *h, struct evhttp_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* brk_http_seat.c: browser seats */
brk_http_seat_t *brk_http_seat_new(brk_http_t *h, int index, char *err, size_t errlen);
void brk_http_seat_destroy(brk_http_seat_t **st);
void brk_http_route_seat_page(brk_http_t *h, struct evhttp_request *req, int seat);
void brk_http_route_seat_state(brk_http_t *h, struct evhttp_request *req, int seat);
void brk_http_route_seat_decision(brk_http_t *h, struct evhttp_request *req, int seat);
void brk_http_route_seat_release(brk_http_t *h, struct evhttp_request *req, int seat);
/* brk_http.c: sets j's clock_s: seconds since game_start by the broker's event
 * time (null before), so every page shows the same time however late it opened. */
void brk_http_set_clock(const brk_http_t *h, json_t *j);
/* One action k of a page's decision body, checked against the game's agent
 * and piece names (JSON arrays of strings) and built in a. 0, or -1 with a
 * sentence in why. fuzz/fuzz_http_body.c feeds it. */
int brk_http_action_from_json(json_t *agents, json_t *pieces, const char *self, wire_arena_t *a,
                              json_t *j, size_t k, Parley__Action *out, char *why, size_t whylen);

#endif
