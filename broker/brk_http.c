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
#include "brk_http_internal.h"
#include "brk_view.h"

#include "pl_log.h"
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
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

int64_t brk_http_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void brk_http_count(json_t *map, const char *key)
{
    json_t *v = json_object_get(map, key);
    json_object_set_new(map, key, json_integer(v ? json_integer_value(v) + 1 : 1));
}

/* Constant-time comparison: how much of a guess matched never shows in timing. */
bool brk_http_token_ok(const char *want, const char *got)
{
    size_t lw = strlen(want), lg = got ? strlen(got) : 0;
    unsigned diff = (unsigned)(lw ^ lg);
    for (size_t i = 0; i < lw; i++) diff |= (unsigned)(want[i] ^ (i < lg ? got[i] : 0));
    return got && diff == 0;
}

bool brk_http_take(double *tokens, int64_t *last_ms, double rate, double burst)
{
    int64_t now = brk_http_mono_ms();
    *tokens += (double)(now - *last_ms) / 1000.0 * rate;
    if (*tokens > burst) *tokens = burst;
    *last_ms = now;
    if (*tokens < 1.0) return false;
    *tokens -= 1.0;
    return true;
}

/* --------------------------------------------------------------- replies -- */

void brk_http_reply(brk_http_t *h, struct evhttp_request *req, int code, const char *ctype,
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
        brk_http_count(h->http_refused, k);
    }
    evhttp_send_reply(req, code, reason, buf);
    evbuffer_free(buf);
}

void brk_http_reply_json(brk_http_t *h, struct evhttp_request *req, int code, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    brk_http_reply(h, req, code, "application/json", text, strlen(text));
    free(text);
}

void brk_http_refuse(brk_http_t *h, struct evhttp_request *req, int code, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    PL_DEBUG("BRK-HTTP-REFUSED", "%d %s: %s", code, evhttp_request_get_uri(req), text);
    brk_http_reply_json(h, req, code, json_pack("{s:s, s:i}", "error", text, "status", code));
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
        evbuffer_add_printf(buf, "id: %zu\ndata: %s\n\n", r->cursor + 1,
                            r->full ? h->lines[r->cursor] : h->pub_lines[r->cursor]);
        r->cursor++;
    }
    r->writing = true;
    evhttp_send_reply_chunk_with_cb(r->req, buf, s_on_chunk_written, r);
    evbuffer_free(buf);
}

/* The token a request shows: ?token=, X-Parley-Token, or the experimenter's
 * cookie (set by /?token=). Copied into out ("" when none). */
static void s_request_token(struct evhttp_request *req, char *out, size_t outlen)
{
    out[0] = '\0';
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq args;
    TAILQ_INIT(&args);
    /* A %00 would cut the decoded token short (a C string): a token is
     * compared as the exact bytes sent, so a query with one holds none. */
    if (q && strstr(q, "%00")) {
        snprintf(out, outlen, "%%00");
        return;
    }
    if (q && evhttp_parse_query_str(q, &args) == 0) {
        const char *t = evhttp_find_header(&args, "token");
        if (t) snprintf(out, outlen, "%s", t);
    }
    evhttp_clear_headers(&args);
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *hdr = evhttp_find_header(in, "X-Parley-Token");
    if (!out[0] && hdr) snprintf(out, outlen, "%s", hdr);
    const char *cookie = evhttp_find_header(in, "Cookie");
    const char *c = cookie ? strstr(cookie, "parley_experimenter=") : NULL;
    if (!out[0] && c) {
        c += strlen("parley_experimenter=");
        snprintf(out, outlen, "%.*s", (int)strcspn(c, "; "), c);
    }
}

static void s_route_events(brk_http_t *h, struct evhttp_request *req, int seat)
{
    (void)seat;
    char token[128];
    s_request_token(req, token, sizeof token);
    bool full = token[0] && h->opts.experimenter_token &&
                brk_http_token_ok(h->opts.experimenter_token, token);
    if (token[0] && !full) {
        brk_http_error(h, "http_bad_token");
        brk_http_refuse(h, req, 403,
                        "this token is not the experimenter's: every event needs the "
                        "experimenter's token (keys.json); /events without a token is the "
                        "public stream");
        return;
    }
    if (h->n_readers >= S_MAX_READERS) {
        brk_http_refuse(h, req, 503, "too many event-stream readers (%d); close one",
                        S_MAX_READERS);
        return;
    }
    s_reader_t *r = calloc(1, sizeof *r);
    if (!r) {
        brk_http_refuse(h, req, 503, "out of memory");
        return;
    }
    r->h = h;
    r->req = req;
    r->conn = evhttp_request_get_connection(req);
    r->full = full;
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
static char *s_blinded(const json_t *ev, bool public_view)
{
    static const char *const hide[] = {"policy",       "model",   "client",  "human",   "calls",
                                       "empty_reason", "dropped", "think_s", "reactive"};
    json_t *copy = public_view ? brk_view_public(ev) : json_deep_copy(ev);
    if (!copy) return NULL;
    for (size_t i = 0; i < sizeof hide / sizeof hide[0]; i++) json_object_del(copy, hide[i]);
    json_t *cfg = json_object_get(copy, "config");
    if (cfg) {
        /* The view shares its config with the event (brk_view.c): a copy of
         * its own, to change. */
        json_t *mine = json_copy(cfg);
        if (!mine || json_object_set_new(copy, "config", mine) != 0) {
            json_decref(copy);
            return NULL;
        }
        json_object_del(mine, "seats");
        json_object_del(mine, "prices");
    }
    char *text = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    return text;
}

/* The public view's text: the one the broker already wrote, or one made here. */
static char *s_public_text(const json_t *ev, const char *pub_text)
{
    if (pub_text) return strdup(pub_text);
    json_t *view = brk_view_public(ev);
    char *text = view ? json_dumps(view, JSON_COMPACT) : NULL;
    json_decref(view);
    return text;
}

void brk_http_event(brk_http_t *h, const json_t *ev, const char *text, const char *pub_text)
{
    if (!h || !text) return;
    if (h->n_lines == h->cap_lines) {
        size_t cap = h->cap_lines ? 2 * h->cap_lines : 1024;
        char **l = realloc(h->lines, cap * sizeof *l);
        if (!l) return;
        h->lines = l;
        char **p = realloc(h->pub_lines, cap * sizeof *p);
        if (!p) return;
        h->pub_lines = p;
        h->cap_lines = cap;
    }
    /* Not blind: the public view keeps who plays with what. */
    char *copy = h->opts.blind ? s_blinded(ev, false) : strdup(text);
    char *pub = h->opts.blind ? s_blinded(ev, true) : s_public_text(ev, pub_text);
    if (!copy || !pub) {
        free(copy);
        free(pub);
        return;
    }
    h->lines[h->n_lines] = copy;
    h->pub_lines[h->n_lines++] = pub;
    h->events++;

    const char *type = json_string_value(json_object_get(ev, "type"));
    if (!type) type = "";
    if (strcmp(type, "game_start") == 0) {
        h->start_wall_ms = (int64_t)json_integer_value(json_object_get(ev, "t_ms"));
    } else if (strcmp(type, "turn") == 0) {
        const char *kind = json_string_value(json_object_get(ev, "turn"));
        brk_http_count(h->turns, kind ? kind : "normal");
    } else if (strcmp(type, "action") == 0) {
        const char *code = json_string_value(json_object_get(ev, "code"));
        brk_http_count(h->actions, code ? code : "unknown");
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
    if (h) brk_http_count(h->errors, kind);
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
        brk_http_refuse(h, req, 503, "out of memory");
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

void brk_http_set_clock(const brk_http_t *h, json_t *j)
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
    brk_http_set_clock(h, st);
    brk_http_reply_json(h, req, 200, st);
}

static void s_route_dashboard(brk_http_t *h, struct evhttp_request *req, int seat)
{
    (void)seat;
    char token[128];
    s_request_token(req, token, sizeof token);
    if (token[0] && h->opts.experimenter_token &&
        brk_http_token_ok(h->opts.experimenter_token, token)) {
        /* The experimenter's dashboard: its EventSource('/events') carries the
         * cookie, so the page sees every event without the token in its code. */
        char cookie[256];
        snprintf(cookie, sizeof cookie, "parley_experimenter=%s; HttpOnly; SameSite=Strict; Path=/",
                 token);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie", cookie);
    }
    brk_http_reply(h, req, 200, "text/html; charset=utf-8", brk_web_dashboard_html,
                   strlen(brk_web_dashboard_html));
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
    {"", true, EVHTTP_REQ_GET, true, brk_http_route_seat_page},
    {"/state", true, EVHTTP_REQ_GET, true, brk_http_route_seat_state},
    {"/decision", true, EVHTTP_REQ_POST, true, brk_http_route_seat_decision},
    {"/release", true, EVHTTP_REQ_POST, true, brk_http_route_seat_release},
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
            brk_http_refuse(h, req, 404, "no seat named '%.*s'", (int)(idlen > 40 ? 40 : idlen),
                            id);
            return;
        }
        rest = id + idlen;
    }
    const s_route_t *route = NULL;
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++)
        if (s_routes[i].seat == (seat >= 0) && strcmp(s_routes[i].path, rest) == 0)
            route = &s_routes[i];
    if (!route) {
        brk_http_refuse(h, req, 404, "nothing here; try / (the dashboard), /events, /metrics");
        return;
    }
    if (!((int)evhttp_request_get_command(req) & route->methods)) {
        brk_http_refuse(h, req, 405, "%s takes %s only", path,
                        route->methods == EVHTTP_REQ_POST ? "POST" : "GET");
        return;
    }
    /* The budget: the seat's own for a request with its token, the
     * experimenter's for theirs, else the one shared by everyone else. */
    double *tokens = &h->rate_tokens;
    int64_t *last = &h->rate_ms;
    if (route->limited) {
        char token[128];
        s_request_token(req, token, sizeof token);
        if (token[0] && seat >= 0 && brk_http_token_ok(h->opts.tokens[seat], token)) {
            tokens = &h->seat_rate[seat];
            last = &h->seat_rate_ms[seat];
        } else if (token[0] && h->opts.experimenter_token &&
                   brk_http_token_ok(h->opts.experimenter_token, token)) {
            tokens = &h->exp_rate;
            last = &h->exp_rate_ms;
        }
    }
    if (route->limited && !brk_http_take(tokens, last, S_RATE_PER_S, S_RATE_BURST)) {
        brk_http_refuse(h, req, 429, "too many requests; slow down");
        return;
    }
    route->handler(h, req, seat);
}

/* ------------------------------------------------------------- lifecycle -- */

/* Accept errors. At the descriptor limit (EMFILE) libevent's listener would
 * be called again at once, forever: it pauses for S_ACCEPT_PAUSE_MS instead,
 * and the error is logged once a second with a count. libevent hands the
 * error callback the listener only, hence this small table. */
#define S_ACCEPT_PAUSE_MS 250
static brk_http_t *s_listeners[16];

static void s_on_accept_error(struct evconnlistener *l, void *ctx);

static int s_listener_register(brk_http_t *h)
{
    for (size_t i = 0; i < sizeof s_listeners / sizeof s_listeners[0]; i++)
        if (!s_listeners[i]) {
            s_listeners[i] = h;
            evconnlistener_set_error_cb(h->listener, s_on_accept_error);
            return 0;
        }
    return -1;
}

static void s_listener_unregister(brk_http_t *h)
{
    for (size_t i = 0; i < sizeof s_listeners / sizeof s_listeners[0]; i++)
        if (s_listeners[i] == h) s_listeners[i] = NULL;
}

static void s_on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    brk_http_t *h = arg;
    if (h->listener) evconnlistener_enable(h->listener);
}

static void s_on_accept_error(struct evconnlistener *l, void *ctx)
{
    (void)ctx;
    int e = EVUTIL_SOCKET_ERROR();
    brk_http_t *h = NULL;
    for (size_t i = 0; i < sizeof s_listeners / sizeof s_listeners[0]; i++)
        if (s_listeners[i] && s_listeners[i]->listener == l) h = s_listeners[i];
    if (!h) return;
    h->accept_errors++;
    int64_t now = brk_http_mono_ms();
    if (h->accept_log_ms == 0 || now - h->accept_log_ms >= 1000) {
        PL_WARN("BRK-HTTP-ACCEPT",
                "cannot accept a connection: %s (%llu accept errors so far; pausing %d ms)",
                evutil_socket_error_to_string(e), (unsigned long long)h->accept_errors,
                S_ACCEPT_PAUSE_MS);
        h->accept_log_ms = now;
    }
    struct timeval pause = {0, S_ACCEPT_PAUSE_MS * 1000};
    evconnlistener_disable(l);
    evtimer_add(h->accept_ev, &pause);
}

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
    h->rate_ms = h->auth_ms = brk_http_mono_ms();
    h->turns = json_object();
    h->actions = json_object();
    h->errors = json_object();
    h->http_refused = json_object();
    h->seats = calloc((size_t)(opts->n_seats > 0 ? opts->n_seats : 1), sizeof *h->seats);
    h->seat_rate = calloc((size_t)(opts->n_seats > 0 ? opts->n_seats : 1), sizeof *h->seat_rate);
    h->seat_rate_ms =
        calloc((size_t)(opts->n_seats > 0 ? opts->n_seats : 1), sizeof *h->seat_rate_ms);
    h->exp_rate = S_RATE_BURST;
    h->exp_rate_ms = brk_http_mono_ms();
    for (int i = 0; h->seat_rate && h->seat_rate_ms && i < opts->n_seats; i++) {
        h->seat_rate[i] = S_RATE_BURST;
        h->seat_rate_ms[i] = h->exp_rate_ms;
    }
    h->http = evhttp_new(opts->base);
    h->accept_ev = evtimer_new(opts->base, s_on_accept_resume, h);
    if (!h->turns || !h->actions || !h->errors || !h->http_refused || !h->seats || !h->http ||
        !h->seat_rate || !h->seat_rate_ms || !h->accept_ev) {
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
    h->listener = evhttp_bound_socket_get_listener(bound);
    if (s_listener_register(h) != 0) {
        snprintf(err, errlen, "HTTP %s: too many web sides in one process", opts->listen);
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
        h->seats[i] = brk_http_seat_new(h, i, err, errlen);
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
    int64_t until = brk_http_mono_ms() + (int64_t)(seconds * 1000.0);
    struct timeval tick = {0, 20000};
    for (s_reader_t *r = h->readers; r; r = r->next) s_pump(r);
    while (s_streams_behind(h) && brk_http_mono_ms() < until) {
        event_base_loopexit(h->opts.base, &tick);
        event_base_dispatch(h->opts.base);
    }
    /* The terminating chunk: readers see the stream end, not a cut. With no
     * reader there is nothing to send, and no tick to wait (it was 20 ms of
     * every game's end). */
    if (!h->readers) return;
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
    s_listener_unregister(h);
    if (h->http) evhttp_free(h->http);
    if (h->accept_ev) event_free(h->accept_ev);
    free(h->seat_rate);
    free(h->seat_rate_ms);
    while (h->readers) s_reader_free(h->readers);
    for (int i = 0; h->seats && i < h->opts.n_seats; i++) brk_http_seat_destroy(&h->seats[i]);
    free(h->seats);
    for (size_t i = 0; i < h->n_lines; i++) {
        free(h->lines[i]);
        free(h->pub_lines[i]);
    }
    free(h->lines);
    free(h->pub_lines);
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
