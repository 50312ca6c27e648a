/* brk_http.c: the broker's web side (brk_http.h, docs/WEB.md).
 *
 * Shape: one evhttp on the broker's event_base; a table of routes with one
 * handler signature, checks (method, rate, token) before the call, as the
 * broker's dispatch does for agents. The event stream keeps every line the
 * broker recorded in one shared history; each reader has a cursor into it and
 * is pumped a bounded chunk at a time (the next chunk when the last one left),
 * so a reader never costs more than one chunk of memory; a reader that falls
 * too far behind is dropped. A browser seat is a DEALER socket speaking
 * PROTOCOL.md to the broker's ROUTER, drained edge-triggered like the agent's.
 */
#include "brk_http.h"

#include "pl_log.h"
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <zmq.h>

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

typedef struct brk_http brk_http_t;

/* One reader of /events. */
typedef struct s_reader {
    brk_http_t *h;
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    size_t cursor; /* next history line to send */
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
} s_seat_t;

struct brk_http {
    brk_http_options_t opts;
    struct evhttp *http;
    char url[300];
    char connect[280]; /* the ROUTER as a client reaches it (0.0.0.0 -> 127.0.0.1) */
    /* the event stream */
    char **lines;
    size_t n_lines, cap_lines;
    s_reader_t *readers;
    int n_readers;
    bool over;
    int64_t start_wall_ms; /* the broker's clock at game_start (0: not started) */
    /* browser seats, [n_seats], NULL where the seat is not a browser seat */
    s_seat_t **seats;
    /* flood control: token buckets */
    double rate_tokens, auth_tokens;
    int64_t rate_ms, auth_ms;
    /* metrics */
    json_t *turns, *actions, *errors, *http_refused; /* name -> count */
    uint64_t lat_count, lat_bucket[S_LATENCY_BUCKETS];
    double lat_sum;
    uint64_t tasks, messages, transfers, missed, events;
};

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_count(json_t *map, const char *key)
{
    json_t *v = json_object_get(map, key);
    json_object_set_new(map, key, json_integer(v ? json_integer_value(v) + 1 : 1));
}

/* --------------------------------------------------------------- replies -- */

static void s_reply(brk_http_t *h, struct evhttp_request *req, int code, const char *ctype,
                    const char *body, size_t len)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", ctype);
    evhttp_add_header(out, "Cache-Control", "no-store");
    evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
    if (strncmp(ctype, "text/html", 9) == 0) {
        /* Pages load nothing from elsewhere; the seat's token never leaves in a Referer. */
        evhttp_add_header(out, "Content-Security-Policy",
                          "default-src 'none'; script-src 'unsafe-inline'; style-src "
                          "'unsafe-inline'; connect-src 'self'; img-src 'self'");
        evhttp_add_header(out, "Referrer-Policy", "no-referrer");
    }
    struct evbuffer *buf = evbuffer_new();
    if (!buf) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    evbuffer_add(buf, body, len);
    const char *reason = code == 200   ? "OK"
                         : code == 202 ? "Accepted"
                         : code == 400 ? "Bad Request"
                         : code == 403 ? "Forbidden"
                         : code == 404 ? "Not Found"
                         : code == 405 ? "Method Not Allowed"
                         : code == 409 ? "Conflict"
                         : code == 413 ? "Payload Too Large"
                         : code == 429 ? "Too Many Requests"
                         : code == 503 ? "Service Unavailable"
                                       : "Error";
    if (code >= 400) {
        char k[8];
        snprintf(k, sizeof k, "%d", code);
        s_count(h->http_refused, k);
    }
    evhttp_send_reply(req, code, reason, buf);
    evbuffer_free(buf);
}

static void s_reply_json(brk_http_t *h, struct evhttp_request *req, int code, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    s_reply(h, req, code, "application/json", text, strlen(text));
    free(text);
}

/* A refusal: the code and one sentence, as JSON ({"error": "..."}). */
static void s_refuse(brk_http_t *h, struct evhttp_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void s_refuse(brk_http_t *h, struct evhttp_request *req, int code, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    PL_DEBUG("BRK-HTTP-REFUSED", "%d %s: %s", code, evhttp_request_get_uri(req), text);
    s_reply_json(h, req, code, json_pack("{s:s, s:i}", "error", text, "status", code));
}

/* ---------------------------------------------------------- event stream -- */

static void s_reader_free(s_reader_t *r)
{
    brk_http_t *h = r->h;
    for (s_reader_t **p = &h->readers; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    h->n_readers--;
    free(r);
}

static void s_on_reader_closed(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    s_reader_t *r = arg;
    struct evhttp_request *req = r->req;
    s_reader_free(r);
    /* A reader that went away: libevent detaches the unfinished request and
     * leaves it to us; ending it frees it. (When the server itself closes the
     * connection, the request is still attached and freed with it.) */
    if (!evhttp_request_get_connection(req)) evhttp_send_reply_end(req);
}

static void s_pump(s_reader_t *r);

static void s_on_chunk_written(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    s_reader_t *r = arg;
    r->writing = false;
    s_pump(r);
}

/* Sends the reader the next lines it has not seen, one bounded chunk at a
 * time: the next chunk goes when this one has left (s_on_chunk_written). */
static void s_pump(s_reader_t *r)
{
    brk_http_t *h = r->h;
    if (r->writing || r->cursor >= h->n_lines) return;
    struct evbuffer *buf = evbuffer_new();
    if (!buf) return;
    while (r->cursor < h->n_lines && evbuffer_get_length(buf) < S_CHUNK_BYTES) {
        /* The id lets a reconnecting EventSource resume where it stopped. */
        evbuffer_add_printf(buf, "id: %zu\ndata: %s\n\n", r->cursor + 1, h->lines[r->cursor]);
        r->cursor++;
    }
    r->writing = true;
    evhttp_send_reply_chunk_with_cb(r->req, buf, s_on_chunk_written, r);
    evbuffer_free(buf);
}

static void s_route_events(brk_http_t *h, struct evhttp_request *req, int seat)
{
    (void)seat;
    if (h->n_readers >= S_MAX_READERS) {
        s_refuse(h, req, 503, "too many event-stream readers (%d); close one", S_MAX_READERS);
        return;
    }
    s_reader_t *r = calloc(1, sizeof *r);
    if (!r) {
        s_refuse(h, req, 503, "out of memory");
        return;
    }
    r->h = h;
    r->req = req;
    r->conn = evhttp_request_get_connection(req);
    const char *last = evhttp_find_header(evhttp_request_get_input_headers(req), "Last-Event-ID");
    if (last) {
        char *end = NULL;
        unsigned long long id = strtoull(last, &end, 10);
        if (end && !*end && id <= h->n_lines) r->cursor = (size_t)id;
    }
    r->next = h->readers;
    h->readers = r;
    h->n_readers++;
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", "text/event-stream");
    evhttp_add_header(out, "Cache-Control", "no-store");
    evhttp_send_reply_start(req, 200, "OK");
    evhttp_connection_set_closecb(r->conn, s_on_reader_closed, r);
    s_pump(r);
}

static void s_drop_reader(s_reader_t *r)
{
    PL_WARN("BRK-HTTP-SLOW-READER", "an event-stream reader is %zu events behind: dropped",
            r->h->n_lines - r->cursor);
    evhttp_connection_set_closecb(r->conn, NULL, NULL);
    struct evhttp_connection *conn = r->conn;
    s_reader_free(r);
    evhttp_connection_free(conn);
}

/* ----------------------------------------------------------- metrics ---- */

/* Blind games: the stream must not tell people from models, so what names a
 * seat's program (policy, model, client, the human flag, model calls, why a
 * turn was empty, the configured seats) is left out. events.jsonl keeps it. */
static char *s_blinded(const json_t *ev)
{
    static const char *const hide[] = {"policy",       "model",   "client",  "human",   "calls",
                                       "empty_reason", "dropped", "think_s", "reactive"};
    json_t *copy = json_deep_copy(ev);
    if (!copy) return NULL;
    for (size_t i = 0; i < sizeof hide / sizeof hide[0]; i++) json_object_del(copy, hide[i]);
    json_t *cfg = json_object_get(copy, "config");
    if (cfg) {
        json_object_del(cfg, "seats");
        json_object_del(cfg, "prices");
    }
    char *text = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    return text;
}

void brk_http_event(brk_http_t *h, const json_t *ev, const char *text)
{
    if (!h || !text) return;
    if (h->n_lines == h->cap_lines) {
        size_t cap = h->cap_lines ? 2 * h->cap_lines : 1024;
        char **l = realloc(h->lines, cap * sizeof *l);
        if (!l) return;
        h->lines = l;
        h->cap_lines = cap;
    }
    char *copy = h->opts.blind ? s_blinded(ev) : strdup(text);
    if (!copy) return;
    h->lines[h->n_lines++] = copy;
    h->events++;

    const char *type = json_string_value(json_object_get(ev, "type"));
    if (!type) type = "";
    if (strcmp(type, "game_start") == 0) {
        h->start_wall_ms = (int64_t)json_integer_value(json_object_get(ev, "t_ms"));
    } else if (strcmp(type, "turn") == 0) {
        const char *kind = json_string_value(json_object_get(ev, "turn"));
        s_count(h->turns, kind ? kind : "normal");
    } else if (strcmp(type, "action") == 0) {
        const char *code = json_string_value(json_object_get(ev, "code"));
        s_count(h->actions, code ? code : "unknown");
    } else if (strcmp(type, "decision") == 0) {
        double s = (double)json_integer_value(json_object_get(ev, "rtt_us")) / 1e6;
        h->lat_count++;
        h->lat_sum += s;
        for (int i = 0; i < S_LATENCY_BUCKETS; i++)
            if (s <= s_latency_le[i]) h->lat_bucket[i]++;
    } else if (strcmp(type, "task_completed") == 0) {
        h->tasks++;
    } else if (strcmp(type, "message") == 0) {
        h->messages++;
    } else if (strcmp(type, "transfer") == 0) {
        h->transfers++;
    } else if (strcmp(type, "missed_turn") == 0) {
        h->missed++;
    }
    for (s_reader_t *r = h->readers, *next; r; r = next) {
        next = r->next;
        if (h->n_lines - r->cursor > S_MAX_LAG)
            s_drop_reader(r);
        else
            s_pump(r);
    }
}

void brk_http_error(brk_http_t *h, const char *kind)
{
    if (h) s_count(h->errors, kind);
}

static void s_metric_map(struct evbuffer *b, const char *name, const char *help, const char *label,
                         json_t *map)
{
    evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    const char *k;
    json_t *v;
    json_object_foreach(map, k, v)
    {
        evbuffer_add_printf(b, "%s{%s=\"%s\"} %" JSON_INTEGER_FORMAT "\n", name, label, k,
                            json_integer_value(v));
    }
}

static void s_route_metrics(brk_http_t *h, struct evhttp_request *req, int seat)
{
    (void)seat;
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        s_refuse(h, req, 503, "out of memory");
        return;
    }
    json_t *st = h->opts.status ? h->opts.status(h->opts.arg) : NULL;
    int connected = 0, thinking = 0;
    size_t i;
    json_t *seat_j;
    json_array_foreach(json_object_get(st, "seats"), i, seat_j)
    {
        const char *state = json_string_value(json_object_get(seat_j, "state"));
        connected += state && strcmp(state, "on") == 0;
        thinking += json_is_true(json_object_get(seat_j, "thinking"));
    }
    s_metric_map(b, "parley_turns_total", "Turns decided, by kind.", "kind", h->turns);
    s_metric_map(b, "parley_actions_total", "Actions applied, by result (ok or the error name).",
                 "result", h->actions);
    s_metric_map(b, "parley_errors_total", "Messages from agents refused, by kind.", "kind",
                 h->errors);
    s_metric_map(b, "parley_http_refused_total", "HTTP requests refused, by status.", "status",
                 h->http_refused);
    evbuffer_add_printf(b, "# HELP parley_decision_seconds TurnRequest sent to Decision received.\n"
                           "# TYPE parley_decision_seconds histogram\n");
    for (int k = 0; k < S_LATENCY_BUCKETS; k++)
        evbuffer_add_printf(b, "parley_decision_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                            s_latency_le[k], h->lat_bucket[k]);
    evbuffer_add_printf(b,
                        "parley_decision_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
                        "parley_decision_seconds_sum %.6f\n"
                        "parley_decision_seconds_count %" PRIu64 "\n",
                        h->lat_count, h->lat_sum, h->lat_count);
    struct {
        const char *name, *type, *help;
        uint64_t v;
    } simple[] = {
        {"parley_tasks_completed_total", "counter", "Tasks completed.", h->tasks},
        {"parley_messages_total", "counter", "Messages (direct and broadcast).", h->messages},
        {"parley_transfers_total", "counter", "Information transfers.", h->transfers},
        {"parley_missed_turns_total", "counter", "Turns missed.", h->missed},
        {"parley_events_total", "counter", "Events recorded.", h->events},
        {"parley_seats_connected", "gauge", "Seats connected now.", (uint64_t)connected},
        {"parley_seats_thinking", "gauge", "Seats with an open turn.", (uint64_t)thinking},
        {"parley_event_readers", "gauge", "Open /events streams.", (uint64_t)h->n_readers},
        {"parley_round", "gauge", "The round in progress.",
         (uint64_t)json_integer_value(json_object_get(st, "round"))},
    };
    for (size_t k = 0; k < sizeof simple / sizeof simple[0]; k++)
        evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", simple[k].name,
                            simple[k].help, simple[k].name, simple[k].type, simple[k].name,
                            simple[k].v);
    json_decref(st);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

/* The game's clock as the broker keeps it (seconds since game_start by its
 * event time), so every page shows the same time, however late it opened. */
static void s_set_clock(const brk_http_t *h, json_t *j)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (!j) return;
    json_object_set_new(j, "clock_s",
                        h->start_wall_ms ? json_real((double)(now - h->start_wall_ms) / 1000.0)
                                         : json_null());
}

static void s_route_status(brk_http_t *h, struct evhttp_request *req, int seat)
{
    (void)seat;
    json_t *st = h->opts.status ? h->opts.status(h->opts.arg) : json_object();
    s_set_clock(h, st);
    s_reply_json(h, req, 200, st);
}

static void s_route_dashboard(brk_http_t *h, struct evhttp_request *req, int seat)
{
    (void)seat;
    s_reply(h, req, 200, "text/html; charset=utf-8", brk_web_dashboard_html,
            strlen(brk_web_dashboard_html));
}

/* ---------------------------------------------------------- browser seat -- */

static void s_seat_log(s_seat_t *st, const char *kind, const char *text)
{
    json_array_append_new(st->log, json_pack("{s:s, s:s}", "kind", kind, "text", text));
    while (json_array_size(st->log) > 50) json_array_remove(st->log, 0);
}

static void s_seat_kick(s_seat_t *st)
{
    if (!st->draining && st->sock_ev) event_active(st->sock_ev, EV_READ, 0);
}

static int s_seat_send(s_seat_t *st, Parley__Envelope *e)
{
    e->seq = ++st->seq;
    e->game_id = st->game_id;
    int rc = wire_send(st->sock, NULL, 0, e, WIRE_MAX_AGENT_MSG);
    if (rc != WIRE_OK)
        PL_WARN("BRK-HTTP-SEAT-SEND", "%s: %s not sent: %s", st->h->opts.seat_ids[st->index],
                wire_body_name(e->body_case), wire_strerror(rc));
    s_seat_kick(st);
    return rc;
}

static void s_seat_hello(s_seat_t *st)
{
    Parley__Hello hello = PARLEY__HELLO__INIT;
    hello.seat = (char *)st->h->opts.seat_ids[st->index];
    hello.token = (char *)st->h->opts.tokens[st->index];
    hello.policy = "human";
    hello.model = "";
    hello.client_version = "parley-broker web seat 0.1.0";
    hello.human = true;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_HELLO;
    e.hello = &hello;
    st->game_id[0] = '\0';
    s_seat_send(st, &e);
}

static json_t *s_name(json_t *table, int i)
{
    json_t *n = i >= 0 ? json_array_get(table, (size_t)i) : NULL;
    return n ? json_copy(n) : json_string(i < 0 ? "everyone" : "?");
}

static json_t *s_piece_list(json_t *pieces, const int32_t *p, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, s_name(pieces, p[i]));
    return a;
}

static json_t *s_msgs_json(const s_seat_t *st, Parley__Msg **m, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:o, s:o, s:i, s:s}", "from",
                                           s_name(st->agents, m[i]->from), "to",
                                           s_name(st->agents, m[i]->to), "round", m[i]->round,
                                           "content", m[i]->content));
    return a;
}

static json_t *s_notes_json(Parley__Note **m, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:i, s:s}", "round", m[i]->round, "text", m[i]->text));
    return a;
}

/* The observation with every index turned into its name. */
static json_t *s_obs_json(const s_seat_t *st, const Parley__Observation *o)
{
    json_t *j = json_object(), *a;
    json_object_set_new(j, "agent", s_name(st->agents, o->agent));
    json_object_set_new(j, "agent_type", json_string(o->agent_type));
    json_object_set_new(j, "round", json_integer(o->round));
    json_object_set_new(j, "rounds", json_integer(o->rounds));
    json_object_set_new(j, "reply", json_boolean(o->reply));
    a = json_array();
    for (size_t i = 0; i < o->n_board; i++)
        json_array_append_new(a, json_pack("{s:o, s:I, s:i}", "agent",
                                           s_name(st->agents, o->board[i]->agent), "revenue",
                                           (json_int_t)o->board[i]->revenue, "tasks_done",
                                           o->board[i]->tasks_done));
    json_object_set_new(j, "board", a);
    a = json_array();
    for (size_t i = 0; i < o->n_tasks; i++)
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:o}", "id", o->tasks[i]->id, "description",
                         o->tasks[i]->description, "pieces",
                         s_piece_list(st->pieces, o->tasks[i]->pieces, o->tasks[i]->n_pieces)));
    json_object_set_new(j, "tasks", a);
    a = json_array();
    for (size_t i = 0; i < o->n_inventory; i++)
        json_array_append_new(a, json_pack("{s:o, s:i}", "piece",
                                           s_name(st->pieces, o->inventory[i]->piece), "value",
                                           o->inventory[i]->value));
    json_object_set_new(j, "inventory", a);
    a = json_array();
    for (size_t i = 0; i < o->n_directory; i++)
        json_array_append_new(a, json_pack("{s:o, s:o}", "agent",
                                           s_name(st->agents, o->directory[i]->agent), "pieces",
                                           s_piece_list(st->pieces, o->directory[i]->pieces,
                                                        o->directory[i]->n_pieces)));
    json_object_set_new(j, "directory", a);
    json_object_set_new(j, "messages", s_msgs_json(st, o->messages, o->n_messages));
    json_object_set_new(j, "broadcasts", s_msgs_json(st, o->broadcasts, o->n_broadcasts));
    json_object_set_new(j, "notes", s_notes_json(o->notes, o->n_notes));
    a = json_array();
    for (size_t i = 0; i < o->n_received; i++)
        json_array_append_new(a, json_pack("{s:o, s:o, s:i, s:i}", "from",
                                           s_name(st->agents, o->received[i]->from), "piece",
                                           s_name(st->pieces, o->received[i]->piece), "value",
                                           o->received[i]->value, "round", o->received[i]->round));
    json_object_set_new(j, "received", a);
    a = json_array();
    for (size_t i = 0; i < o->n_sent; i++)
        json_array_append_new(a, json_pack("{s:o, s:o, s:i, s:i}", "to",
                                           s_name(st->agents, o->sent[i]->to), "piece",
                                           s_name(st->pieces, o->sent[i]->piece), "value",
                                           o->sent[i]->value, "round", o->sent[i]->round));
    json_object_set_new(j, "sent", a);
    a = json_array();
    for (size_t i = 0; i < o->n_exchanges; i++)
        json_array_append_new(a, json_pack("{s:o, s:o, s:i, s:i}", "from",
                                           s_name(st->agents, o->exchanges[i]->from), "to",
                                           s_name(st->agents, o->exchanges[i]->to), "n",
                                           o->exchanges[i]->n, "round", o->exchanges[i]->round));
    json_object_set_new(j, "exchanges", a);
    a = json_array();
    for (size_t i = 0; i < o->n_invalid; i++)
        json_array_append_new(a,
                              json_pack("{s:i, s:s, s:s}", "action", o->invalid[i]->action, "code",
                                        o->invalid[i]->code, "reason", o->invalid[i]->reason));
    json_object_set_new(j, "invalid", a);
    return j;
}

static void s_seat_on_envelope(s_seat_t *st, const Parley__Envelope *e)
{
    const char *id = st->h->opts.seat_ids[st->index];
    char text[640];
    switch (e->body_case) {
    case PARLEY__ENVELOPE__BODY_WELCOME: {
        const Parley__Welcome *w = e->welcome;
        snprintf(st->game_id, sizeof st->game_id, "%s", e->game_id);
        json_decref(st->agents);
        json_decref(st->pieces);
        st->agents = json_array();
        st->pieces = json_array();
        for (size_t i = 0; i < w->n_agents; i++)
            json_array_append_new(st->agents, json_string(w->agents[i]));
        for (size_t i = 0; i < w->n_pieces; i++)
            json_array_append_new(st->pieces, json_string(w->pieces[i]));
        json_decref(st->rules);
        st->rules =
            w->rules ? json_pack("{s:s, s:i, s:I, s:s}", "timing", w->rules->timing, "rounds",
                                 w->rules->rounds, "task_reward", (json_int_t)w->rules->task_reward,
                                 "scenario", w->rules->scenario)
                     : NULL;
        st->welcomed = true;
        /* Heartbeats at the broker's pace, or it would think the seat lost. */
        struct timeval hb = {0, 0};
        double every = w->heartbeat_s > 0.05 ? w->heartbeat_s : 0.05;
        hb.tv_sec = (time_t)every;
        hb.tv_usec = (suseconds_t)((every - (double)hb.tv_sec) * 1e6);
        if (event_add(st->hb_ev, &hb) != 0)
            PL_WARN("BRK-HTTP-SEAT", "%s: cannot arm the heartbeat", id);
        PL_INFO("BRK-HTTP-SEAT", "%s is played from the browser", id);
        break;
    }
    case PARLEY__ENVELOPE__BODY_TURN_REQUEST: {
        const Parley__TurnRequest *tr = e->turn_request;
        json_decref(st->obs);
        st->obs = tr->observation ? s_obs_json(st, tr->observation) : json_object();
        st->turn_id = tr->turn_id;
        st->deadline_ms = s_mono_ms() + (int64_t)(tr->deadline_s * 1000.0);
        break;
    }
    case PARLEY__ENVELOPE__BODY_ACTION_RESULTS: {
        json_t *a = json_array();
        for (size_t i = 0; i < e->action_results->n_results; i++) {
            const Parley__ActionResult *r = e->action_results->results[i];
            json_array_append_new(a, json_pack("{s:b, s:s, s:s, s:i, s:I}", "ok", r->ok, "code",
                                               r->code, "reason", r->reason, "transferred",
                                               r->transferred, "payout", (json_int_t)r->payout));
        }
        json_decref(st->results);
        st->results = a;
        break;
    }
    case PARLEY__ENVELOPE__BODY_NOTICE:
        if (strcmp(e->notice->what, "turn_missed") == 0 && e->notice->turn_id == st->turn_id) {
            json_decref(st->obs);
            st->obs = NULL;
            st->turn_id = 0;
        }
        s_seat_log(st, e->notice->what, e->notice->text);
        break;
    case PARLEY__ENVELOPE__BODY_GAME_OVER:
        st->over = true;
        json_decref(st->obs);
        st->obs = NULL;
        st->turn_id = 0;
        json_decref(st->game_over);
        st->game_over =
            json_pack("{s:i, s:I, s:s}", "tasks_done", e->game_over->tasks_done, "group_revenue",
                      (json_int_t)e->game_over->group_revenue, "reason", e->game_over->reason);
        break;
    case PARLEY__ENVELOPE__BODY_ERROR:
        snprintf(text, sizeof text, "%s: %s", wire_code_name(e->error->code), e->error->message);
        s_seat_log(st, "error", text);
        PL_WARN("BRK-HTTP-SEAT-ERROR", "%s: %s", id, text);
        if (st->released) break; /* another client holds the seat now: no fight */
        if (e->error->code == PARLEY__ERROR__CODE__NOT_WELCOMED ||
            e->error->code == PARLEY__ERROR__CODE__WRONG_GAME)
            s_seat_hello(st);
        else if (e->error->code == PARLEY__ERROR__CODE__GAME_OVER)
            st->over = true;
        break;
    default:
        break;
    }
}

static void s_on_seat_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    s_seat_t *st = arg;
    st->draining = true;
    for (;;) {
        int events = 0;
        size_t sz = sizeof events;
        if (zmq_getsockopt(st->sock, ZMQ_EVENTS, &events, &sz) != 0 || !(events & ZMQ_POLLIN))
            break;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, st->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            if (errno == EINTR) continue;
            break;
        }
        int err = 0;
        Parley__Envelope *e =
            wire_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg), WIRE_MAX_BROKER_MSG, &err);
        zmq_msg_close(&msg);
        if (!e) continue;
        s_seat_on_envelope(st, e);
        wire_free(&e);
    }
    st->draining = false;
}

static void s_on_seat_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    s_seat_t *st = arg;
    if (st->over || st->released) return;
    if (!st->welcomed) {
        s_seat_hello(st);
        return;
    }
    Parley__Heartbeat hb = PARLEY__HEARTBEAT__INIT;
    hb.turn_id = st->turn_id;
    hb.status = (char *)(st->turn_id ? "thinking" : "idle");
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_HEARTBEAT;
    e.heartbeat = &hb;
    s_seat_send(st, &e);
}

static void s_seat_destroy(s_seat_t **pst)
{
    s_seat_t *st = *pst;
    if (!st) return;
    if (st->sock_ev) event_free(st->sock_ev);
    if (st->hb_ev) event_free(st->hb_ev);
    if (st->sock) zmq_close(st->sock);
    json_decref(st->agents);
    json_decref(st->pieces);
    json_decref(st->rules);
    json_decref(st->obs);
    json_decref(st->sent);
    json_decref(st->results);
    json_decref(st->log);
    json_decref(st->game_over);
    free(st);
    *pst = NULL;
}

static s_seat_t *s_seat_new(brk_http_t *h, int index, char *err, size_t errlen)
{
    s_seat_t *st = calloc(1, sizeof *st);
    if (!st) goto nomem;
    st->h = h;
    st->index = index;
    st->log = json_array();
    if (!st->log) goto nomem;
    st->sock = zmq_socket(h->opts.zctx, ZMQ_DEALER);
    int linger = 0, fd = -1;
    size_t fdlen = sizeof fd;
    if (!st->sock || zmq_setsockopt(st->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(st->sock, h->connect) != 0 ||
        zmq_getsockopt(st->sock, ZMQ_FD, &fd, &fdlen) != 0) {
        snprintf(err, errlen, "browser seat %s: %s", h->opts.seat_ids[index], zmq_strerror(errno));
        s_seat_destroy(&st);
        return NULL;
    }
    st->sock_ev = event_new(h->opts.base, fd, EV_READ | EV_PERSIST | EV_ET, s_on_seat_readable, st);
    st->hb_ev = event_new(h->opts.base, -1, EV_PERSIST, s_on_seat_heartbeat, st);
    struct timeval one = {1, 0};
    if (!st->sock_ev || !st->hb_ev || event_add(st->sock_ev, NULL) != 0 ||
        event_add(st->hb_ev, &one) != 0)
        goto nomem;
    s_seat_hello(st);
    return st;
nomem:
    snprintf(err, errlen, "out of memory");
    s_seat_destroy(&st);
    return NULL;
}

/* Constant-time comparison: how much of a guess matched never shows in timing. */
static bool s_token_ok(const char *want, const char *got)
{
    size_t lw = strlen(want), lg = got ? strlen(got) : 0;
    unsigned diff = (unsigned)(lw ^ lg);
    for (size_t i = 0; i < lw; i++) diff |= (unsigned)(want[i] ^ (i < lg ? got[i] : 0));
    return got && diff == 0;
}

static bool s_take(double *tokens, int64_t *last_ms, double rate, double burst)
{
    int64_t now = s_mono_ms();
    *tokens += (double)(now - *last_ms) / 1000.0 * rate;
    if (*tokens > burst) *tokens = burst;
    *last_ms = now;
    if (*tokens < 1.0) return false;
    *tokens -= 1.0;
    return true;
}

/* The seat named in the path, with its token checked; NULL after a refusal. */
static s_seat_t *s_seat_auth(brk_http_t *h, struct evhttp_request *req, int seat)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *q = evhttp_uri_get_query(uri);
    struct evkeyvalq args = {0};
    TAILQ_INIT(&args);
    if (q && evhttp_parse_query_str(q, &args) != 0) {
        s_refuse(h, req, 400, "the query string is malformed");
        return NULL;
    }
    const char *token = evhttp_find_header(&args, "token");
    if (!token) token = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Parley-Token");
    bool ok = token && s_token_ok(h->opts.tokens[seat], token);
    evhttp_clear_headers(&args);
    if (!ok) {
        brk_http_error(h, "http_bad_token");
        if (!s_take(&h->auth_tokens, &h->auth_ms, S_AUTH_PER_S, S_AUTH_BURST)) {
            s_refuse(h, req, 429, "too many refused tokens; wait a moment");
            return NULL;
        }
        PL_WARN("BRK-HTTP-BAD-TOKEN", "refused a %s token for %s", token ? "wrong" : "missing",
                h->opts.seat_ids[seat]);
        s_refuse(h, req, 403, "%s token for %s: this page needs the seat's own token",
                 token ? "wrong" : "missing", h->opts.seat_ids[seat]);
        return NULL;
    }
    if (!h->seats[seat]) {
        s_refuse(h, req, 409, "%s is not a browser seat (its policy is not human)",
                 h->opts.seat_ids[seat]);
        return NULL;
    }
    return h->seats[seat];
}

static void s_route_seat_page(brk_http_t *h, struct evhttp_request *req, int seat)
{
    if (!s_seat_auth(h, req, seat)) return;
    s_reply(h, req, 200, "text/html; charset=utf-8", brk_web_seat_html, strlen(brk_web_seat_html));
}

static void s_route_seat_state(brk_http_t *h, struct evhttp_request *req, int seat)
{
    s_seat_t *st = s_seat_auth(h, req, seat);
    if (!st) return;
    double left = st->turn_id ? (double)(st->deadline_ms - s_mono_ms()) / 1000.0 : 0.0;
    json_t *j = json_pack("{s:s, s:b, s:b, s:I, s:f, s:O?, s:O?, s:O?, s:O?, s:O?, s:O, s:O?, "
                          "s:O?}",
                          "seat", h->opts.seat_ids[seat], "welcomed", st->welcomed, "over",
                          st->over || h->over, "turn_id", (json_int_t)st->turn_id, "deadline_s",
                          left > 0 ? left : 0.0, "observation", st->obs, "sent", st->sent,
                          "results", st->results, "agents", st->agents, "pieces", st->pieces, "log",
                          st->log, "game_over", st->game_over, "rules", st->rules);
    s_set_clock(h, j);
    s_reply_json(h, req, 200, j);
}

/* The person has gone (a session's dropout rule): the web side stops playing
 * the seat, so a fallback agent's Hello with the token takes it over. */
static void s_route_seat_release(brk_http_t *h, struct evhttp_request *req, int seat)
{
    s_seat_t *st = s_seat_auth(h, req, seat);
    if (!st) return;
    st->released = true;
    event_del(st->hb_ev);
    PL_INFO("BRK-HTTP-SEAT-RELEASED", "%s is no longer played from the browser",
            h->opts.seat_ids[seat]);
    s_reply_json(h, req, 200,
                 json_pack("{s:s, s:b}", "seat", h->opts.seat_ids[seat], "released", 1));
}

static bool s_in(json_t *table, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(table, i, v) if (strcmp(json_string_value(v), name) == 0) return true;
    return false;
}

/* Checks one action from the page and builds it in a; a sentence on failure. */
static int s_action_from_json(const s_seat_t *st, wire_arena_t *a, json_t *j, size_t k,
                              Parley__Action *out, char *why, size_t whylen)
{
    parley__action__init(out);
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!json_is_object(j) || !type) {
        snprintf(why, whylen, "action %zu: an object with a \"type\" is expected", k + 1);
        return -1;
    }
    const char *to = json_string_value(json_object_get(j, "to"));
    const char *content = json_string_value(json_object_get(j, "content"));
    const char *self = st->h->opts.seat_ids[st->index];
    if (strcmp(type, "send_message") == 0 || strcmp(type, "send_information") == 0) {
        if (!to || !s_in(st->agents, to)) {
            snprintf(why, whylen, "action %zu: \"to\" must name an agent (agent_1..agent_%zu)",
                     k + 1, json_array_size(st->agents));
            return -1;
        }
        if (strcmp(to, self) == 0) {
            snprintf(why, whylen, "action %zu: you cannot send to yourself", k + 1);
            return -1;
        }
        out->to = wire_arena_strdup(a, to);
    }
    if (strcmp(type, "send_message") == 0 || strcmp(type, "broadcast") == 0) {
        if (!content || !content[0] || strlen(content) > S_MAX_TEXT) {
            snprintf(why, whylen, "action %zu: \"content\" must be text of 1 to %d characters",
                     k + 1, S_MAX_TEXT);
            return -1;
        }
        out->kind =
            type[0] == 'b' ? PARLEY__ACTION__KIND__BROADCAST : PARLEY__ACTION__KIND__SEND_MESSAGE;
        out->content = wire_arena_strdup(a, content);
        return 0;
    }
    if (strcmp(type, "send_information") == 0) {
        json_t *info = json_object_get(j, "information"), *values = json_object_get(j, "values");
        size_t n = json_array_size(info);
        if (!json_is_array(info) || n == 0 || n > 100 || !json_is_object(values) ||
            json_object_size(values) != n) {
            snprintf(why, whylen,
                     "action %zu: \"information\" must list 1 to 100 pieces and \"values\" give "
                     "one integer for each",
                     k + 1);
            return -1;
        }
        out->kind = PARLEY__ACTION__KIND__SEND_INFORMATION;
        out->information = wire_arena_alloc(a, n * sizeof *out->information);
        out->values = wire_arena_alloc(a, n * sizeof *out->values);
        Parley__PieceValue *pv = wire_arena_alloc(a, n * sizeof *pv);
        if (!out->information || !out->values || !pv) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            const char *p = json_string_value(json_array_get(info, i));
            json_t *v = p ? json_object_get(values, p) : NULL;
            if (!p || !s_in(st->pieces, p)) {
                snprintf(why, whylen, "action %zu: piece %zu is not a piece of this game", k + 1,
                         i + 1);
                return -1;
            }
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100) {
                snprintf(why, whylen, "action %zu: the value of '%.80s' must be an integer 0-100",
                         k + 1, p);
                return -1;
            }
            parley__piece_value__init(&pv[i]);
            pv[i].piece = wire_arena_strdup(a, p);
            pv[i].value = json_integer_value(v);
            out->information[i] = pv[i].piece;
            out->values[i] = &pv[i];
        }
        out->n_information = out->n_values = n;
        return 0;
    }
    if (strcmp(type, "submit_task") == 0) {
        const char *answer = json_string_value(json_object_get(j, "answer"));
        if (!answer || !answer[0] || strlen(answer) > S_MAX_TEXT) {
            snprintf(why, whylen, "action %zu: \"answer\" must be text of 1 to %d characters",
                     k + 1, S_MAX_TEXT);
            return -1;
        }
        out->kind = PARLEY__ACTION__KIND__SUBMIT_TASK;
        out->content = wire_arena_strdup(a, answer);
        return 0;
    }
    snprintf(why, whylen,
             "action %zu: unknown type '%.40s' (send_message, broadcast, send_information, "
             "submit_task)",
             k + 1, type);
    return -1;
}

static void s_route_seat_decision(brk_http_t *h, struct evhttp_request *req, int seat)
{
    s_seat_t *st = s_seat_auth(h, req, seat);
    if (!st) return;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len > S_MAX_BODY) {
        s_refuse(h, req, 413, "the body is larger than %d bytes", S_MAX_BODY);
        return;
    }
    char *body = malloc(len + 1);
    if (!body) {
        s_refuse(h, req, 503, "out of memory");
        return;
    }
    evbuffer_copyout(in, body, len);
    body[len] = '\0';
    json_error_t jerr;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    free(body);
    if (!json_is_object(j)) {
        json_decref(j);
        s_refuse(h, req, 400,
                 "the body must be a JSON object {\"turn_id\": N, \"actions\": [...]}");
        return;
    }
    json_t *acts = json_object_get(j, "actions");
    json_t *tid = json_object_get(j, "turn_id");
    const char *thoughts = json_string_value(json_object_get(j, "private_thoughts"));
    size_t n = json_array_size(acts);
    wire_arena_t *a = NULL;
    char why[256];
    if (!json_is_integer(tid) || !json_is_array(acts) || n > S_MAX_ACTIONS) {
        s_refuse(h, req, 400, "\"turn_id\" must be an integer and \"actions\" a list of at most %d",
                 S_MAX_ACTIONS);
        goto done;
    }
    if (st->over || h->over) {
        s_refuse(h, req, 409, "the game is over");
        goto done;
    }
    if (st->turn_id == 0) {
        s_refuse(h, req, 409, "it is not your turn; wait for the next one");
        goto done;
    }
    if ((uint64_t)json_integer_value(tid) != st->turn_id) {
        s_refuse(h, req, 409, "turn %" JSON_INTEGER_FORMAT " is over; the open turn is %" PRIu64,
                 json_integer_value(tid), st->turn_id);
        goto done;
    }
    a = wire_arena_new();
    Parley__Action *rows = a ? wire_arena_alloc(a, (n ? n : 1) * sizeof *rows) : NULL;
    Parley__Action **ptrs = a ? wire_arena_alloc(a, (n ? n : 1) * sizeof *ptrs) : NULL;
    if (!rows || !ptrs) {
        s_refuse(h, req, 503, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < n; k++) {
        if (s_action_from_json(st, a, json_array_get(acts, k), k, &rows[k], why, sizeof why) != 0) {
            s_refuse(h, req, 400, "%s", why);
            goto done;
        }
        ptrs[k] = &rows[k];
    }
    Parley__Decision d = PARLEY__DECISION__INIT;
    d.turn_id = st->turn_id;
    d.n_actions = n;
    d.actions = ptrs;
    d.private_thoughts = thoughts ? (char *)thoughts : "";
    d.empty_reason = n ? "" : "the person passed";
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_DECISION;
    e.decision = &d;
    if (s_seat_send(st, &e) != WIRE_OK) {
        s_refuse(h, req, 503, "the decision could not be sent to the broker; try again");
        goto done;
    }
    uint64_t sent_turn = st->turn_id;
    json_decref(st->sent);
    st->sent = json_incref(acts);
    json_decref(st->results);
    st->results = NULL;
    json_decref(st->obs);
    st->obs = NULL;
    st->turn_id = 0;
    s_reply_json(h, req, 202,
                 json_pack("{s:b, s:I, s:i}", "accepted", 1, "turn_id", (json_int_t)sent_turn,
                           "actions", (int)n));
done:
    wire_arena_destroy(&a);
    json_decref(j);
}

/* ---------------------------------------------------------------- routes -- */

typedef struct {
    const char *path; /* exact, or after /seat/<id> */
    bool seat;        /* under /seat/<id> */
    int methods;      /* EVHTTP_REQ_* allowed */
    bool limited;     /* counts against the flood limit */
    void (*handler)(brk_http_t *h, struct evhttp_request *req, int seat);
} s_route_t;

static void s_route_favicon(brk_http_t *h, struct evhttp_request *req, int seat)
{
    (void)h;
    (void)seat;
    evhttp_send_reply(req, 204, "No Content", NULL); /* browsers ask; there is none */
}

static const s_route_t s_routes[] = {
    {"/favicon.ico", false, EVHTTP_REQ_GET, false, s_route_favicon},
    {"/", false, EVHTTP_REQ_GET, false, s_route_dashboard},
    {"/index.html", false, EVHTTP_REQ_GET, false, s_route_dashboard},
    {"/events", false, EVHTTP_REQ_GET, true, s_route_events},
    {"/metrics", false, EVHTTP_REQ_GET, false, s_route_metrics},
    {"/api/status", false, EVHTTP_REQ_GET, true, s_route_status},
    {"", true, EVHTTP_REQ_GET, true, s_route_seat_page},
    {"/state", true, EVHTTP_REQ_GET, true, s_route_seat_state},
    {"/decision", true, EVHTTP_REQ_POST, true, s_route_seat_decision},
    {"/release", true, EVHTTP_REQ_POST, true, s_route_seat_release},
};

static void s_on_request(struct evhttp_request *req, void *arg)
{
    brk_http_t *h = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || !path[0]) path = "/";
    int seat = -1;
    const char *rest = path;
    if (strncmp(path, "/seat/", 6) == 0) {
        const char *id = path + 6;
        size_t idlen = strcspn(id, "/");
        for (int i = 0; i < h->opts.n_seats; i++)
            if (strlen(h->opts.seat_ids[i]) == idlen && memcmp(h->opts.seat_ids[i], id, idlen) == 0)
                seat = i;
        if (seat < 0) {
            s_refuse(h, req, 404, "no seat named '%.*s'", (int)(idlen > 40 ? 40 : idlen), id);
            return;
        }
        rest = id + idlen;
    }
    const s_route_t *route = NULL;
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++)
        if (s_routes[i].seat == (seat >= 0) && strcmp(s_routes[i].path, rest) == 0)
            route = &s_routes[i];
    if (!route) {
        s_refuse(h, req, 404, "nothing here; try / (the dashboard), /events, /metrics");
        return;
    }
    if (!((int)evhttp_request_get_command(req) & route->methods)) {
        s_refuse(h, req, 405, "%s takes %s only", path,
                 route->methods == EVHTTP_REQ_POST ? "POST" : "GET");
        return;
    }
    if (route->limited && !s_take(&h->rate_tokens, &h->rate_ms, S_RATE_PER_S, S_RATE_BURST)) {
        s_refuse(h, req, 429, "too many requests; slow down");
        return;
    }
    route->handler(h, req, seat);
}

/* ------------------------------------------------------------- lifecycle -- */

brk_http_t *brk_http_new(const brk_http_options_t *opts, char *err, size_t errlen)
{
    brk_http_t *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->opts = *opts;
    h->rate_tokens = S_RATE_BURST;
    h->auth_tokens = S_AUTH_BURST;
    h->rate_ms = h->auth_ms = s_mono_ms();
    h->turns = json_object();
    h->actions = json_object();
    h->errors = json_object();
    h->http_refused = json_object();
    h->seats = calloc((size_t)(opts->n_seats > 0 ? opts->n_seats : 1), sizeof *h->seats);
    h->http = evhttp_new(opts->base);
    if (!h->turns || !h->actions || !h->errors || !h->http_refused || !h->seats || !h->http) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    char host[256];
    const char *colon = strrchr(opts->listen, ':');
    if (!colon || colon == opts->listen || (size_t)(colon - opts->listen) >= sizeof host) {
        snprintf(err, errlen, "--http %s: expected ADDRESS:PORT, e.g. 127.0.0.1:8080",
                 opts->listen);
        goto fail;
    }
    memcpy(host, opts->listen, (size_t)(colon - opts->listen));
    host[colon - opts->listen] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (!end || *end || port < 0 || port > 65535) {
        snprintf(err, errlen, "--http %s: bad port", opts->listen);
        goto fail;
    }
    evhttp_set_max_body_size(h->http, S_MAX_BODY);
    evhttp_set_max_headers_size(h->http, 16 * 1024);
    evhttp_set_timeout(h->http, 30);
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(h->http, s_on_request, h);
    struct evhttp_bound_socket *bound =
        evhttp_bind_socket_with_handle(h->http, host, (ev_uint16_t)port);
    if (!bound) {
        snprintf(err, errlen, "HTTP %s: cannot bind: %s", opts->listen, strerror(errno));
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int bound_port = (int)port;
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        if (ss.ss_family == AF_INET6) bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    snprintf(h->url, sizeof h->url, "http://%s%s%s:%d", strchr(host, ':') ? "[" : "", host,
             strchr(host, ':') ? "]" : "", bound_port);
    const char *any = strstr(opts->router_endpoint, "//0.0.0.0:");
    if (any)
        snprintf(h->connect, sizeof h->connect, "%.*s//127.0.0.1:%s",
                 (int)(any - opts->router_endpoint), opts->router_endpoint, any + 10);
    else
        snprintf(h->connect, sizeof h->connect, "%s", opts->router_endpoint);
    for (int i = 0; i < opts->n_seats; i++) {
        if (!opts->browser || !opts->browser[i]) continue;
        h->seats[i] = s_seat_new(h, i, err, errlen);
        if (!h->seats[i]) goto fail;
    }
    return h;
fail:
    brk_http_destroy(&h);
    return NULL;
}

void brk_http_game_over(brk_http_t *h)
{
    if (!h || h->over) return;
    h->over = true;
    for (s_reader_t *r = h->readers; r; r = r->next) s_pump(r);
}

static bool s_streams_behind(const brk_http_t *h)
{
    for (const s_reader_t *r = h->readers; r; r = r->next) {
        struct bufferevent *bev = evhttp_connection_get_bufferevent(r->conn);
        if (r->cursor < h->n_lines || r->writing ||
            (bev && evbuffer_get_length(bufferevent_get_output(bev)) > 0))
            return true;
    }
    return false;
}

void brk_http_linger(brk_http_t *h, double seconds)
{
    if (!h) return;
    int64_t until = s_mono_ms() + (int64_t)(seconds * 1000.0);
    struct timeval tick = {0, 20000};
    for (s_reader_t *r = h->readers; r; r = r->next) s_pump(r);
    while (s_streams_behind(h) && s_mono_ms() < until) {
        event_base_loopexit(h->opts.base, &tick);
        event_base_dispatch(h->opts.base);
    }
    /* The terminating chunk: readers see the stream end, not a cut. */
    while (h->readers) {
        s_reader_t *r = h->readers;
        evhttp_connection_set_closecb(r->conn, NULL, NULL);
        struct evhttp_request *req = r->req;
        s_reader_free(r);
        evhttp_send_reply_end(req);
    }
    event_base_loopexit(h->opts.base, &tick);
    event_base_dispatch(h->opts.base);
}

void brk_http_destroy(brk_http_t **ph)
{
    if (!ph || !*ph) return;
    brk_http_t *h = *ph;
    /* evhttp_free closes every connection; readers are freed by their close callback. */
    if (h->http) evhttp_free(h->http);
    while (h->readers) s_reader_free(h->readers);
    for (int i = 0; h->seats && i < h->opts.n_seats; i++) s_seat_destroy(&h->seats[i]);
    free(h->seats);
    for (size_t i = 0; i < h->n_lines; i++) free(h->lines[i]);
    free(h->lines);
    json_decref(h->turns);
    json_decref(h->actions);
    json_decref(h->errors);
    json_decref(h->http_refused);
    free(h);
    *ph = NULL;
}

const char *brk_http_url(const brk_http_t *h)
{
    return h->url;
}
