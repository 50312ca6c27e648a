/* brk_record.c: clocks and the event record of the broker (brk_internal.h).
 *
 * Every event of the game goes to events.jsonl (flushed) and then to the PUB
 * socket, before any agent hears about its effect: brk_flush is the
 * write-ahead point, called before every send and at the end of every loop
 * callback.
 */
#include "brk_internal.h"
#include "brk_view.h"
#include "pl_log.h"
#include "wire_text.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

const char *const brk_seat_state_names[4] = {"empty", "on", "lost", "gone"};

/* ------------------------------------------------------------------ time -- */

int64_t brk_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t brk_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t brk_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct timeval brk_tv(double seconds)
{
    if (seconds < 0) seconds = 0;
    struct timeval tv;
    tv.tv_sec = (time_t)seconds;
    tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
    return tv;
}

/* ---------------------------------------------------------------- events -- */

/* The text of v in w (reused from event to event: no allocation once it
 * has grown), or NULL if it could not be written. */
static const char *s_text(env_jsonw_t *w, const json_t *v, size_t *len)
{
    env_jsonw_reset(w);
    if (!v || env_jsonw_value(w, v) != 0 || !env_jsonw_ok(w)) return NULL;
    *len = env_jsonw_len(w);
    return env_jsonw_data(w);
}

/* Queues one event for the PUB sockets: the private one carries text, the
 * public one the public view. */
static void s_pub_queue(brk_server_t *s, const char *type, const char *text, const char *pub)
{
    if (s->n_pub == s->cap_pub) {
        size_t cap = s->cap_pub ? 2 * s->cap_pub : 64;
        struct brk_pub_item *p = realloc(s->pub_items, cap * sizeof *p);
        if (!p) goto drop;
        s->pub_items = p;
        s->cap_pub = cap;
    }
    struct brk_pub_item *it = &s->pub_items[s->n_pub];
    it->type = strdup(type);
    it->text = s->opts.pub_private_endpoint ? strdup(text) : NULL;
    it->pub = s->opts.pub_endpoint && pub ? strdup(pub) : NULL;
    if (!it->type || (s->opts.pub_private_endpoint && !it->text) ||
        (s->opts.pub_endpoint && pub && !it->pub)) {
        free(it->type);
        free(it->text);
        free(it->pub);
        goto drop;
    }
    s->n_pub++;
    return;
drop:
    PL_DEBUG("BRK-PUB-DROP", "event not queued for PUB");
}

/* Records one event: broker timestamp, then the event log's buffer; the PUB
 * copy waits in s->pub_items. Nothing leaves the process before brk_flush.
 * Takes ownership of ev. Each event is written as text once, and its public
 * view built and written once, for both the web side and the PUB socket. */
void brk_record(brk_server_t *s, json_t *ev)
{
    if (!ev) {
        brk_record_failed(s, "an event");
        return;
    }
    /* Rebuilding a recorded game: the event is checked against the record,
     * not written again. */
    if ((s->replaying || s->replay_failed) && brk_replay_take(s, ev)) {
        json_decref(ev);
        return;
    }
    brk_set(s, ev, "t_ms", json_integer(brk_wall_ms()));
    size_t len = 0, pub_len = 0;
    const char *text = s_text(s->jw, ev, &len);
    if (!text || brk_rundir_event(s->rundir, text, len) != 0) {
        PL_ERROR("BRK-LOG-WRITE", "events.jsonl: %s", text ? strerror(errno) : "out of memory");
        s->record_failures++;
    } else
        brk_metrics_feed(s, ev);
    const char *pub_text = NULL;
    if (text && (s->http || s->opts.pub_endpoint)) {
        /* The public view: the event's text less its private members (all
         * of it when nothing is private); or (a world, a config, a board) a
         * view built from the tree. */
        int rc = brk_view_text(ev, text, len, s->jw_view);
        if (rc == 0) {
            pub_text = env_jsonw_data(s->jw_view);
        } else {
            json_t *view = brk_view_public(ev);
            pub_text = s_text(s->jw_view, view, &pub_len);
            json_decref(view);
        }
    }
    brk_http_event(s->http, ev, text, pub_text);
    if (text && (s->opts.pub_endpoint || s->opts.pub_private_endpoint)) {
        const char *type = json_string_value(json_object_get(ev, "type"));
        if (s->opts.pub_endpoint && !pub_text)
            PL_DEBUG("BRK-PUB-DROP", "the public PUB misses an event: no public view");
        s_pub_queue(s, type ? type : "event", text, pub_text);
    }
    json_decref(ev);
}

void brk_pub_clear(brk_server_t *s)
{
    for (size_t i = 0; i < s->n_pub; i++) {
        free(s->pub_items[i].type);
        free(s->pub_items[i].text);
        free(s->pub_items[i].pub);
    }
    s->n_pub = 0;
}

/* The write-ahead point: every event recorded so far reaches the kernel, then
 * the watchers. Called before any message to an agent and at the end of every
 * loop callback. */
void brk_flush(brk_server_t *s)
{
    if (brk_rundir_flush(s->rundir) != 0)
        PL_ERROR("BRK-LOG-WRITE", "events.jsonl: %s", strerror(errno));
    for (size_t i = 0; i < s->n_pub; i++) {
        const struct brk_pub_item *it = &s->pub_items[i];
        if (s->pub && it->pub &&
            (zmq_send(s->pub, it->type, strlen(it->type), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
             zmq_send(s->pub, it->pub, strlen(it->pub), ZMQ_DONTWAIT) < 0))
            PL_DEBUG("BRK-PUB-DROP", "event not published: %s", zmq_strerror(errno));
        if (s->pub_private && it->text &&
            (zmq_send(s->pub_private, it->type, strlen(it->type), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
             zmq_send(s->pub_private, it->text, strlen(it->text), ZMQ_DONTWAIT) < 0))
            PL_DEBUG("BRK-PUB-DROP", "event not published: %s", zmq_strerror(errno));
    }
    brk_pub_clear(s);
}

/* The run's totals as the report computes them, event by event (ana_run.h);
 * begun at the first event of a game this broker plays from its start. */
void brk_metrics_feed(brk_server_t *s, const json_t *ev)
{
    char err[512];
    if (s->metrics_off || s->resumed || s->opts.verify_only) return;
    if (!s->metrics) {
        s->metrics = ana_run_begin(brk_rundir_path(s->rundir), err, sizeof err);
        if (!s->metrics) {
            PL_WARN("BRK-METRICS", "metrics.json: %s (the end reads the log instead)", err);
            s->metrics_off = true;
            return;
        }
    }
    if (ana_run_feed(s->metrics, ev, err, sizeof err) != 0) {
        PL_WARN("BRK-METRICS", "metrics.json: %s (the end reads the log instead)", err);
        ana_run_destroy(&s->metrics);
        s->metrics_off = true;
    }
}

/* metrics.json for the log as it is now on disk: from what was fed, or, for a
 * resumed game, from one pass over the log. A failure costs a report time
 * (it reads the log), never the run. */
void brk_metrics_save(brk_server_t *s)
{
    char err[600];
    if (brk_rundir_flush(s->rundir) != 0) {
        PL_ERROR("BRK-LOG-WRITE", "events.jsonl: %s", strerror(errno));
        return;
    }
    int rc = s->metrics && !s->metrics_off
                 ? ana_run_save(s->metrics, err, sizeof err)
                 : ana_run_write_metrics(brk_rundir_path(s->rundir), err, sizeof err);
    if (rc != 0) PL_WARN("BRK-METRICS", "%s", err);
    ana_run_destroy(&s->metrics);
}

void brk_record_failed(brk_server_t *s, const char *what)
{
    s->record_failures++;
    PL_ERROR("BRK-RECORD-INCOMPLETE", "%s: not recorded in full (out of memory)", what);
}

int brk_set(brk_server_t *s, json_t *obj, const char *key, json_t *val)
{
    if (!obj || !val || json_object_set_new(obj, key, val) != 0) {
        if (obj == NULL) json_decref(val);
        brk_record_failed(s, key);
        return -1;
    }
    return 0;
}

int brk_append(brk_server_t *s, json_t *arr, json_t *val)
{
    if (!arr || !val || json_array_append_new(arr, val) != 0) {
        if (arr == NULL) json_decref(val);
        brk_record_failed(s, "array item");
        return -1;
    }
    return 0;
}

int brk_update(brk_server_t *s, json_t *obj, json_t *more)
{
    if (!obj || !more || json_object_update_new(obj, more) != 0) {
        if (obj == NULL) json_decref(more);
        brk_record_failed(s, "object keys");
        return -1;
    }
    return 0;
}

json_t *brk_event(brk_server_t *s, const char *type)
{
    json_t *ev = json_object();
    if (!ev) {
        brk_record_failed(s, type);
        return NULL;
    }
    brk_set(s, ev, "type", json_string(type));
    brk_set(s, ev, "source", json_string("broker"));
    brk_set(s, ev, "round", json_integer(s->game ? env_round(s->game) : 0));
    /* The counter of the last game event (docs/EVENTS.md). */
    brk_set(s, ev, "seq", json_integer((json_int_t)(s->game ? env_events_emitted(s->game) : 0)));
    return ev;
}

/* Keys every game event of a type carries (docs/EVENTS.md): one missing means
 * the environment could not build it (out of memory, text it could not
 * encode), and the record says so instead of silently lacking it. */
static const struct {
    const char *type;
    const char *keys[6];
} s_required[] = {
    {"world", {"seed", "agents", "pieces"}},
    {"task_new", {"agent", "task", "description", "pieces"}},
    {"round_start", {"order"}},
    {"turn", {"agent", "turn", "actions"}},
    {"thoughts", {"agent", "text"}},
    {"message", {"kind", "from", "content"}},
    {"action", {"agent", "index", "turn", "action", "ok", "code"}},
    {"transfer", {"from", "to", "pieces", "misreports", "bonus"}},
    {"task_completed", {"agent", "task", "pieces", "payout", "misreports"}},
    {"task_failed", {"agent", "answer", "code", "reason", "told"}},
    {"missed_turn", {"agent", "why"}},
    {"round_end", {"tasks", "messages", "tasks_total", "task_revenue", "group_revenue"}},
    {"run_end", {"board", "tasks", "task_revenue", "group_revenue"}},
};

static void s_check_keys(brk_server_t *s, const char *type, json_t *ev)
{
    for (size_t i = 0; type && i < sizeof s_required / sizeof s_required[0]; i++) {
        if (strcmp(type, s_required[i].type) != 0) continue;
        for (size_t k = 0; k < 6 && s_required[i].keys[k]; k++)
            if (!json_object_get(ev, s_required[i].keys[k])) {
                char what[96];
                snprintf(what, sizeof what, "%s.%s", type, s_required[i].keys[k]);
                brk_record_failed(s, what);
            }
        return;
    }
}

/* The environment's sink: every rule's effect passes here. */
void brk_on_game_event(void *ctx, json_t *ev)
{
    brk_server_t *s = ctx;
    const char *type = json_string_value(json_object_get(ev, "type"));
    /* During env_apply: the result of the action being applied. */
    const env_result_t *res = s->apply_results && s->apply_seen < s->action_index_n
                                  ? &s->apply_results[s->apply_seen]
                                  : NULL;
    if (res && type && (strcmp(type, "action") == 0 || strcmp(type, "task_failed") == 0) &&
        res->reason[0] && !json_object_get(ev, "reason")) {
        /* The environment cut the reason inside a character of the agent's
         * text, and jansson refused it: the record keeps it, cut whole. */
        char reason[sizeof res->reason];
        memcpy(reason, res->reason, sizeof reason);
        wire_utf8_scrub(reason);
        brk_set(s, ev, "reason", json_string(reason));
    }
    if (type && strcmp(type, "action") == 0 && s->action_index) {
        json_int_t k = json_integer_value(json_object_get(ev, "index"));
        if (k >= 0 && (size_t)k < s->action_index_n)
            brk_set(s, ev, "index", json_integer((json_int_t)s->action_index[k]));
        s->apply_seen++;
    }
    s_check_keys(s, type, ev);
    if (type && strcmp(type, "message") == 0) {
        s->round_msgs++;
        s->total_msgs++;
    }
    brk_record(s, ev);
}
