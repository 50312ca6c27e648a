/* brk_http_seat.c: browser seats of the web side (brk_http_internal.h,
 * docs/WEB.md). A browser seat is an ordinary protocol client: a DEALER socket
 * to the broker's own ROUTER saying Hello with the seat's token, drained
 * edge-triggered like the agent's; its page polls /seat/ID/state and posts
 * /seat/ID/decision, each checked against the seat's token.
 */
#include "brk_http_internal.h"

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

/* ---------------------------------------------------------- browser seat -- */

static void s_seat_log(brk_http_seat_t *st, const char *kind, const char *text)
{
    json_array_append_new(st->log, json_pack("{s:s, s:s}", "kind", kind, "text", text));
    while (json_array_size(st->log) > 50) json_array_remove(st->log, 0);
}

static void s_seat_kick(brk_http_seat_t *st)
{
    if (!st->draining && st->sock_ev) event_active(st->sock_ev, EV_READ, 0);
}

static int s_seat_send(brk_http_seat_t *st, Parley__Envelope *e)
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

static void s_seat_hello(brk_http_seat_t *st)
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

static json_t *s_msgs_json(const brk_http_seat_t *st, Parley__Msg **m, size_t n)
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
static json_t *s_obs_json(const brk_http_seat_t *st, const Parley__Observation *o)
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

static void s_seat_on_envelope(brk_http_seat_t *st, const Parley__Envelope *e)
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
            w->rules ? json_pack("{s:s, s:i, s:I, s:s, s:f}", "timing", w->rules->timing, "rounds",
                                 w->rules->rounds, "task_reward", (json_int_t)w->rules->task_reward,
                                 "scenario", w->rules->scenario, "duration_s", w->rules->duration_s)
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
        st->deadline_ms = brk_http_mono_ms() + (int64_t)(tr->deadline_s * 1000.0);
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
    brk_http_seat_t *st = arg;
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
    brk_http_seat_t *st = arg;
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

void brk_http_seat_destroy(brk_http_seat_t **pst)
{
    brk_http_seat_t *st = *pst;
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

brk_http_seat_t *brk_http_seat_new(brk_http_t *h, int index, char *err, size_t errlen)
{
    brk_http_seat_t *st = calloc(1, sizeof *st);
    if (!st) goto nomem;
    st->h = h;
    st->index = index;
    st->log = json_array();
    if (!st->log) goto nomem;
    st->sock = zmq_socket(h->opts.zctx, ZMQ_DEALER);
    int linger = 0, fd = -1;
    size_t fdlen = sizeof fd;
    const char *srv = h->opts.curve_server;
    const char *cpub = srv && h->opts.curve_public ? h->opts.curve_public[index] : NULL;
    const char *csec = srv && h->opts.curve_secret ? h->opts.curve_secret[index] : NULL;
    if (srv && (!cpub || !csec || !csec[0])) {
        snprintf(err, errlen, "browser seat %s: no CURVE secret key in keys.json",
                 h->opts.seat_ids[index]);
        brk_http_seat_destroy(&st);
        return NULL;
    }
    if (!st->sock || zmq_setsockopt(st->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        (srv && (zmq_setsockopt(st->sock, ZMQ_CURVE_SERVERKEY, srv, strlen(srv) + 1) != 0 ||
                 zmq_setsockopt(st->sock, ZMQ_CURVE_PUBLICKEY, cpub, strlen(cpub) + 1) != 0 ||
                 zmq_setsockopt(st->sock, ZMQ_CURVE_SECRETKEY, csec, strlen(csec) + 1) != 0)) ||
        zmq_connect(st->sock, h->connect) != 0 ||
        zmq_getsockopt(st->sock, ZMQ_FD, &fd, &fdlen) != 0) {
        snprintf(err, errlen, "browser seat %s: %s", h->opts.seat_ids[index], zmq_strerror(errno));
        brk_http_seat_destroy(&st);
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
    brk_http_seat_destroy(&st);
    return NULL;
}

/* The seat named in the path, with its token checked; NULL after a refusal. */
static brk_http_seat_t *s_seat_auth(brk_http_t *h, struct evhttp_request *req, int seat)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *q = evhttp_uri_get_query(uri);
    struct evkeyvalq args = {0};
    TAILQ_INIT(&args);
    if (q && evhttp_parse_query_str(q, &args) != 0) {
        brk_http_refuse(h, req, 400, "the query string is malformed");
        return NULL;
    }
    const char *token = evhttp_find_header(&args, "token");
    if (!token) token = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Parley-Token");
    /* A %00 would cut the decoded token short: the bytes sent are not the token. */
    bool ok = token && !(q && strstr(q, "%00")) && brk_http_token_ok(h->opts.tokens[seat], token);
    evhttp_clear_headers(&args);
    if (!ok) {
        brk_http_error(h, "http_bad_token");
        if (!brk_http_take(&h->auth_tokens, &h->auth_ms, S_AUTH_PER_S, S_AUTH_BURST)) {
            brk_http_refuse(h, req, 429, "too many refused tokens; wait a moment");
            return NULL;
        }
        PL_WARN("BRK-HTTP-BAD-TOKEN", "refused a %s token for %s", token ? "wrong" : "missing",
                h->opts.seat_ids[seat]);
        brk_http_refuse(h, req, 403, "%s token for %s: this page needs the seat's own token",
                        token ? "wrong" : "missing", h->opts.seat_ids[seat]);
        return NULL;
    }
    if (!h->seats[seat]) {
        brk_http_refuse(h, req, 409, "%s is not a browser seat (its policy is not human)",
                        h->opts.seat_ids[seat]);
        return NULL;
    }
    return h->seats[seat];
}

void brk_http_route_seat_page(brk_http_t *h, struct evhttp_request *req, int seat)
{
    if (!s_seat_auth(h, req, seat)) return;
    brk_http_reply(h, req, 200, "text/html; charset=utf-8", brk_web_seat_html,
                   strlen(brk_web_seat_html));
}

void brk_http_route_seat_state(brk_http_t *h, struct evhttp_request *req, int seat)
{
    brk_http_seat_t *st = s_seat_auth(h, req, seat);
    if (!st) return;
    double left = st->turn_id ? (double)(st->deadline_ms - brk_http_mono_ms()) / 1000.0 : 0.0;
    json_t *j = json_pack("{s:s, s:b, s:b, s:I, s:f, s:O?, s:O?, s:O?, s:O?, s:O?, s:O, s:O?, "
                          "s:O?}",
                          "seat", h->opts.seat_ids[seat], "welcomed", st->welcomed, "over",
                          st->over || h->over, "turn_id", (json_int_t)st->turn_id, "deadline_s",
                          left > 0 ? left : 0.0, "observation", st->obs, "sent", st->sent,
                          "results", st->results, "agents", st->agents, "pieces", st->pieces, "log",
                          st->log, "game_over", st->game_over, "rules", st->rules);
    brk_http_set_clock(h, j);
    brk_http_reply_json(h, req, 200, j);
}

/* The person has gone (a session's dropout rule): the web side stops playing
 * the seat, so a fallback agent's Hello with the token takes it over. */
void brk_http_route_seat_release(brk_http_t *h, struct evhttp_request *req, int seat)
{
    brk_http_seat_t *st = s_seat_auth(h, req, seat);
    if (!st) return;
    st->released = true;
    event_del(st->hb_ev);
    PL_INFO("BRK-HTTP-SEAT-RELEASED", "%s is no longer played from the browser",
            h->opts.seat_ids[seat]);
    brk_http_reply_json(h, req, 200,
                        json_pack("{s:s, s:b}", "seat", h->opts.seat_ids[seat], "released", 1));
}

static bool s_in(json_t *table, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(table, i, v)
    {
        const char *s = json_string_value(v);
        if (s && strcmp(s, name) == 0) return true;
    }
    return false;
}

/* Checks one action from the page and builds it in a; a sentence on failure. */
int brk_http_action_from_json(json_t *agents, json_t *pieces, const char *self, wire_arena_t *a,
                              json_t *j, size_t k, Parley__Action *out, char *why, size_t whylen)
{
    parley__action__init(out);
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!json_is_object(j) || !type) {
        snprintf(why, whylen, "action %zu: an object with a \"type\" is expected", k + 1);
        return -1;
    }
    const char *to = json_string_value(json_object_get(j, "to"));
    const char *content = json_string_value(json_object_get(j, "content"));
    if (strcmp(type, "send_message") == 0 || strcmp(type, "send_information") == 0) {
        if (!to || !s_in(agents, to)) {
            snprintf(why, whylen, "action %zu: \"to\" must name an agent (agent_1..agent_%zu)",
                     k + 1, json_array_size(agents));
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
            if (!p || !s_in(pieces, p)) {
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

void brk_http_route_seat_decision(brk_http_t *h, struct evhttp_request *req, int seat)
{
    brk_http_seat_t *st = s_seat_auth(h, req, seat);
    if (!st) return;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len > S_MAX_BODY) {
        brk_http_refuse(h, req, 413, "the body is larger than %d bytes", S_MAX_BODY);
        return;
    }
    char *body = malloc(len + 1);
    if (!body) {
        brk_http_refuse(h, req, 503, "out of memory");
        return;
    }
    evbuffer_copyout(in, body, len);
    body[len] = '\0';
    json_error_t jerr;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    free(body);
    if (!json_is_object(j)) {
        json_decref(j);
        brk_http_refuse(h, req, 400,
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
        brk_http_refuse(h, req, 400,
                        "\"turn_id\" must be an integer and \"actions\" a list of at most %d",
                        S_MAX_ACTIONS);
        goto done;
    }
    if (st->over || h->over) {
        brk_http_refuse(h, req, 409, "the game is over");
        goto done;
    }
    if (st->turn_id == 0) {
        brk_http_refuse(h, req, 409, "it is not your turn; wait for the next one");
        goto done;
    }
    if ((uint64_t)json_integer_value(tid) != st->turn_id) {
        brk_http_refuse(h, req, 409,
                        "turn %" JSON_INTEGER_FORMAT " is over; the open turn is %" PRIu64,
                        json_integer_value(tid), st->turn_id);
        goto done;
    }
    a = wire_arena_new();
    Parley__Action *rows = a ? wire_arena_alloc(a, (n ? n : 1) * sizeof *rows) : NULL;
    Parley__Action **ptrs = a ? wire_arena_alloc(a, (n ? n : 1) * sizeof *ptrs) : NULL;
    if (!rows || !ptrs) {
        brk_http_refuse(h, req, 503, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < n; k++) {
        if (brk_http_action_from_json(st->agents, st->pieces, h->opts.seat_ids[seat], a,
                                      json_array_get(acts, k), k, &rows[k], why, sizeof why) != 0) {
            brk_http_refuse(h, req, 400, "%s", why);
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
        brk_http_refuse(h, req, 503, "the decision could not be sent to the broker; try again");
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
    brk_http_reply_json(h, req, 202,
                        json_pack("{s:b, s:I, s:i}", "accepted", 1, "turn_id",
                                  (json_int_t)sent_turn, "actions", (int)n));
done:
    wire_arena_destroy(&a);
    json_decref(j);
}
