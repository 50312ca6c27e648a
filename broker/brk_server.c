/* brk_server.c: the broker (brk_server.h): construction, seat tokens, the web
 * side, the loop. One game, one libevent loop; the rest of the broker is split
 * by concern, see brk_internal.h.
 *
 * Seats are referred to by index; callbacks get the seat's slot, which lives as
 * long as the server.
 */
#include "brk_internal.h"
#include "pl_log.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

/* ------------------------------------------------------------- lifecycle -- */

/* Tokens: reused from seats.json when the run directory has one (a restarted
 * broker keeps its agents), otherwise fresh from the kernel. */
static int s_load_tokens(brk_server_t *s)
{
    json_t *old = brk_rundir_read_json(s->rundir, "seats.json");
    json_t *seats = json_object();
    if (!seats) {
        json_decref(old);
        return -1;
    }
    for (int i = 0; i < s->n_seats; i++) {
        const char *id = env_agent_id(s->game, i);
        const char *tok = json_string_value(json_object_get(old, id));
        if (tok && strlen(tok) == 2 * BRK_TOKEN_BYTES)
            memcpy(s->seats[i].token, tok, 2 * BRK_TOKEN_BYTES + 1);
        else if (brk_random_hex(s->seats[i].token, BRK_TOKEN_BYTES) != 0) {
            json_decref(old);
            json_decref(seats);
            return -1;
        }
        brk_set(s, seats, id, json_string(s->seats[i].token));
    }
    json_decref(old);
    int rc = brk_rundir_write_json(s->rundir, "seats.json", seats, 0600);
    json_decref(seats);
    return rc;
}

/* The game and its seats as the web side shows them. Blind: no policy, model
 * or human flag, so a page never tells people from models. */
static json_t *s_status(void *arg)
{
    brk_server_t *s = arg;
    static const char *const phases[] = {"waiting", "playing", "over"};
    json_t *seats = json_array();
    int64_t now = brk_mono_ms();
    for (int i = 0; seats && i < s->n_seats; i++) {
        const brk_seat_t *seat = &s->seats[i];
        double left = seat->turn_id ? (double)(seat->turn_deadline_ms - now) / 1000.0 : 0.0;
        json_t *row = json_pack(
            "{s:s, s:s, s:s, s:b, s:f, s:i, s:i, s:i, s:I}", "id", env_agent_id(s->game, i),
            "label", env_agent_id(s->game, i), "state", brk_seat_state_names[seat->state],
            "thinking", seat->turn_id != 0, "deadline_s", left > 0 ? left : 0.0, "turns",
            seat->turns, "missed", seat->missed, "tasks_done", env_agent_tasks_done(s->game, i),
            "revenue", (json_int_t)env_agent_revenue(s->game, i));
        if (row && !s->cfg->blind) {
            brk_set(s, row, "human", json_boolean(seat->human || s->browser[i]));
            brk_set(s, row, "policy",
                    json_string(seat->policy[0]           ? seat->policy
                                : s->cfg->seats[i].policy ? s->cfg->seats[i].policy
                                                          : ""));
        }
        brk_append(s, seats, row);
    }
    return json_pack(
        "{s:s, s:s, s:s, s:b, s:i, s:i, s:f, s:i, s:I, s:I, s:o}", "game_id", s->game_id, "phase",
        phases[s->phase], "timing", pl_timing_name(s->cfg->timing), "blind", s->cfg->blind, "round",
        env_round(s->game), "rounds", s->cfg->game.rounds, "duration_s", s->cfg->duration, "tasks",
        env_tasks_done(s->game), "group_revenue", (json_int_t)env_group_revenue(s->game),
        "task_revenue", (json_int_t)env_task_revenue(s->game), "seats", seats);
}

/* The web side. With web_seats, seats whose configured policy is `human` are
 * played from the browser (parley run then starts no process for them). */
static int s_http_start(brk_server_t *s, char *err, size_t errlen)
{
    size_t n = (size_t)s->n_seats;
    s->seat_ids = calloc(n, sizeof *s->seat_ids);
    s->seat_tokens = calloc(n, sizeof *s->seat_tokens);
    s->browser = calloc(n, sizeof *s->browser);
    if (!s->seat_ids || !s->seat_tokens || !s->browser) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < s->n_seats; i++) {
        s->seat_ids[i] = env_agent_id(s->game, i);
        s->seat_tokens[i] = s->seats[i].token;
        s->browser[i] = s->opts.web_seats && s->cfg->seats && i < s->cfg->n_seats &&
                        s->cfg->seats[i].policy && strcmp(s->cfg->seats[i].policy, "human") == 0;
    }
    brk_http_options_t ho = {.base = s->base,
                             .zctx = s->zctx,
                             .listen = s->opts.http_listen,
                             .router_endpoint = s->endpoint,
                             .n_seats = s->n_seats,
                             .seat_ids = s->seat_ids,
                             .tokens = s->seat_tokens,
                             .browser = s->browser,
                             .blind = s->cfg->blind,
                             .status = s_status,
                             .arg = s};
    s->http = brk_http_new(&ho, err, errlen);
    if (!s->http) return -1;
    /* The events recorded before the web side existed (run_start, world, the
     * first tasks) start its stream, so a reader sees the whole game. */
    char path[4096];
    snprintf(path, sizeof path, "%s/events.jsonl", brk_rundir_path(s->rundir));
    FILE *f = brk_rundir_flush(s->rundir) == 0 ? fopen(path, "r") : NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (f && (len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n') line[len - 1] = '\0';
        json_t *ev = json_loads(line, 0, NULL);
        if (ev) brk_http_event(s->http, ev, line);
        json_decref(ev);
    }
    free(line);
    if (f) fclose(f);
    return 0;
}

static int s_bind(void *sock, const char *endpoint, char *out, size_t outlen)
{
    if (zmq_bind(sock, endpoint) != 0) return -1;
    size_t len = outlen;
    if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, out, &len) != 0) return -1;
    return 0;
}

brk_server_t *brk_server_new(const pl_config_t *config, const brk_options_t *opts, char *err,
                             size_t errlen)
{
    brk_server_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->opts = *opts;
    s->cfg = pl_config_dup(config);
    s->per_round = json_array();
    s->pub_queue = env_jsonw_new();
    if (!s->cfg || !s->per_round || !s->pub_queue) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    snprintf(s->reason, sizeof s->reason, "running");
    s->turn_timeout = s->cfg->turn_timeout > 0 ? s->cfg->turn_timeout : 60.0;
    s->human_timeout = s->cfg->human_turn_timeout;
    s->heartbeat = s->cfg->heartbeat > 0 ? s->cfg->heartbeat : 1.0;
    s->min_think = s->cfg->min_think;
    if (s->cfg->timing == PL_TIMING_REALTIME &&
        (s->cfg->duration <= 0 || s->cfg->game.rounds <= 0)) {
        snprintf(err, errlen,
                 "realtime timing needs timing.duration > 0 and simulation.rounds > 0");
        goto fail;
    }
    if (brk_random_hex(s->game_id, 8) != 0) {
        snprintf(err, errlen, "no randomness for the game id");
        goto fail;
    }

    s->rundir = brk_rundir_new(opts->run_dir, err, errlen);
    if (!s->rundir) goto fail;
    /* A run directory with a record: resume its game (or check it, for
     * parley replay); a finished one is refused (brk_resume.c). */
    if (brk_resume_load(s, err, errlen) != 0) goto fail;
    json_t *cj = s->log ? NULL : pl_config_to_json(s->cfg);
    if (!s->log && (!cj || brk_rundir_write_json(s->rundir, "config.json", cj, 0644) != 0)) {
        json_decref(cj);
        snprintf(err, errlen, "%s/config.json: cannot write", opts->run_dir);
        goto fail;
    }
    json_t *start = s->log ? NULL : brk_event(s, "run_start");
    if (start) {
        brk_set(s, start, "game_id", json_string(s->game_id));
        brk_set(s, start, "config", cj);
        cj = NULL;
    }
    json_decref(cj);

    s->base = event_base_new();
    s->zctx = zmq_ctx_new();
    if (!s->base || !s->zctx) {
        json_decref(start);
        snprintf(err, errlen, "cannot create the event loop or the ZeroMQ context");
        goto fail;
    }
    if (opts->pub_endpoint) {
        s->pub = zmq_socket(s->zctx, ZMQ_PUB);
        if (!s->pub ||
            s_bind(s->pub, opts->pub_endpoint, s->pub_endpoint, sizeof s->pub_endpoint) != 0) {
            json_decref(start);
            snprintf(err, errlen, "PUB %s: %s", opts->pub_endpoint, zmq_strerror(errno));
            goto fail;
        }
    }
    if (start) brk_record(s, start);

    int ierr = 0;
    s->game =
        env_game_new(s->fork_round ? &s->fork_source : &s->cfg->game, brk_on_game_event, s, &ierr);
    if (!s->game) {
        snprintf(err, errlen, "cannot create the game: %s", env_strerror(ierr));
        goto fail;
    }
    s->n_seats = env_game_n_agents(s->game);
    s->seats = calloc((size_t)s->n_seats, sizeof *s->seats);
    if (!s->seats) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (int i = 0; i < s->n_seats; i++) {
        brk_seat_t *seat = &s->seats[i];
        seat->server = s;
        seat->index = i;
        seat->deadline_ev = evtimer_new(s->base, brk_on_seat_deadline, seat);
        seat->think_ev = evtimer_new(s->base, brk_on_seat_think, seat);
        if (!seat->deadline_ev || !seat->think_ev) {
            snprintf(err, errlen, "cannot create timers");
            goto fail;
        }
    }
    if (opts->verify_only) {
        /* parley replay: no sockets, nothing written; the whole record is
         * replayed here. */
        if (brk_resume_run(s, err, errlen) != 0) goto fail;
        return s;
    }
    if (s_load_tokens(s) != 0) {
        snprintf(err, errlen, "%s/seats.json: cannot write the seat tokens", opts->run_dir);
        goto fail;
    }

    s->router = zmq_socket(s->zctx, ZMQ_ROUTER);
    if (!s->router) {
        snprintf(err, errlen, "ROUTER: %s", zmq_strerror(errno));
        goto fail;
    }
    int one = 1, linger = 5000; /* GameOver to many peers needs time to leave */
    int64_t hard_max = BRK_HARD_MAX;
    if (zmq_setsockopt(s->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(s->router, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(s->router, ZMQ_MAXMSGSIZE, &hard_max, sizeof hard_max) != 0 ||
        (s->pub && zmq_setsockopt(s->pub, ZMQ_LINGER, &linger, sizeof linger) != 0)) {
        snprintf(err, errlen, "socket options: %s", zmq_strerror(errno));
        goto fail;
    }
    if (s_bind(s->router, opts->router_endpoint, s->endpoint, sizeof s->endpoint) != 0) {
        snprintf(err, errlen, "ROUTER %s: %s", opts->router_endpoint, zmq_strerror(errno));
        goto fail;
    }
    int zfd;
    size_t zlen = sizeof zfd;
    if (zmq_getsockopt(s->router, ZMQ_FD, &zfd, &zlen) != 0) {
        snprintf(err, errlen, "ZMQ_FD: %s", zmq_strerror(errno));
        goto fail;
    }
    s->router_ev = event_new(s->base, zfd, EV_READ | EV_PERSIST | EV_ET, brk_on_router_readable, s);
    s->hb_ev = event_new(s->base, -1, EV_PERSIST, brk_on_heartbeat_timer, s);
    s->start_ev = evtimer_new(s->base, brk_on_start_timeout, s);
    s->slice_ev = evtimer_new(s->base, brk_on_slice, s);
    s->sigint_ev = evsignal_new(s->base, SIGINT, brk_on_signal, s);
    s->sigterm_ev = evsignal_new(s->base, SIGTERM, brk_on_signal, s);
    if (!s->router_ev || !s->hb_ev || !s->start_ev || !s->slice_ev || !s->sigint_ev ||
        !s->sigterm_ev) {
        snprintf(err, errlen, "cannot create events");
        goto fail;
    }
    struct timeval hb = brk_tv(s->heartbeat);
    struct timeval st = brk_tv(opts->start_timeout > 0 ? opts->start_timeout : 30.0);
    if (event_add(s->router_ev, NULL) != 0 || event_add(s->hb_ev, &hb) != 0 ||
        evtimer_add(s->start_ev, &st) != 0 || event_add(s->sigint_ev, NULL) != 0 ||
        event_add(s->sigterm_ev, NULL) != 0) {
        snprintf(err, errlen, "cannot arm events");
        goto fail;
    }
    if (brk_resume_run(s, err, errlen) != 0) goto fail;
    if (opts->http_listen && s_http_start(s, err, errlen) != 0) goto fail;
    brk_flush(s);
    pl_log_set_component("broker");
    PL_INFO("BRK-READY", "game %s: agents on %s, events on %s, run dir %s", s->game_id, s->endpoint,
            s->pub_endpoint[0] ? s->pub_endpoint : "(none)", opts->run_dir);
    return s;
fail:
    brk_server_destroy(&s);
    return NULL;
}

void brk_server_destroy(brk_server_t **ps)
{
    if (!ps || !*ps) return;
    brk_server_t *s = *ps;
    brk_http_destroy(&s->http); /* its sockets and connections go before the context */
    free(s->seat_ids);
    free(s->seat_tokens);
    free(s->browser);
    for (int i = 0; s->seats && i < s->n_seats; i++) {
        if (s->seats[i].deadline_ev) event_free(s->seats[i].deadline_ev);
        if (s->seats[i].think_ev) event_free(s->seats[i].think_ev);
    }
    struct event *evs[] = {s->router_ev, s->hb_ev,     s->start_ev,
                           s->slice_ev,  s->sigint_ev, s->sigterm_ev};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i]) event_free(evs[i]);
    if (s->router) zmq_close(s->router);
    if (s->pub) zmq_close(s->pub);
    if (s->zctx) zmq_ctx_term(s->zctx);
    if (s->base) event_base_free(s->base);
    env_game_destroy(&s->game);
    brk_rundir_destroy(&s->rundir);
    pl_config_destroy(&s->cfg);
    json_decref(s->per_round);
    json_decref(s->log);
    json_decref(s->summary_seen);
    env_jsonw_destroy(&s->pub_queue);
    free(s->seats);
    free(s->queue);
    free(s->queue_kind);
    free(s);
    *ps = NULL;
}

const char *brk_server_endpoint(const brk_server_t *s)
{
    return s->endpoint;
}

const char *brk_server_pub_endpoint(const brk_server_t *s)
{
    return s->pub_endpoint;
}

const char *brk_server_http_url(const brk_server_t *s)
{
    return s->http ? brk_http_url(s->http) : "";
}

const char *brk_server_run_dir(const brk_server_t *s)
{
    return brk_rundir_path(s->rundir);
}

const char *brk_server_token(const brk_server_t *s, int seat)
{
    if (seat < 0 || seat >= s->n_seats) return NULL;
    return s->seats[seat].token;
}

int brk_server_run(brk_server_t *s)
{
    /* Messages may already be queued: look once before waiting for an edge. */
    event_active(s->router_ev, EV_READ, 0);
    if (event_base_dispatch(s->base) < 0) {
        PL_ERROR("BRK-LOOP", "event loop failed");
        s->result = -1;
    }
    if (s->phase != BRK_OVER) brk_finish(s, "stopped");
    brk_http_linger(s->http, 2.0); /* event streams get the end of the game */
    return s->result;
}

int brk_replay_check(const char *run_dir, char *err, size_t errlen, char *note, size_t notelen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", run_dir);
    pl_config_t *cfg = pl_config_load(path, err, errlen);
    if (!cfg) return -1;
    brk_options_t o = {.router_endpoint = "", .run_dir = run_dir, .verify_only = true};
    brk_server_t *s = brk_server_new(cfg, &o, err, errlen);
    pl_config_destroy(&cfg);
    if (!s) return strstr(err, "events.jsonl:") ? 1 : -1;
    int rc = 0;
    brk_replay_sync(s);
    size_t n = json_array_size(s->log);
    if (s->log_at < n) {
        const char *type =
            json_string_value(json_object_get(json_array_get(s->log, s->log_at), "type"));
        snprintf(err, errlen, "%s/events.jsonl:%zu: recorded %s, which the replay never produces",
                 run_dir, s->log_at + 1, type ? type : "?");
        rc = 1;
    } else if (s->summary_seen) {
        json_t *want = brk_rundir_read_json(s->rundir, "summary.json");
        const char *k;
        json_t *v;
        if (!want) {
            snprintf(err, errlen, "%s/summary.json: missing or not JSON (the record finished)",
                     run_dir);
            rc = 1;
        }
        json_object_foreach(s->summary_seen, k, v)
        {
            if (rc) break;
            if (!json_equal(v, json_object_get(want, k))) {
                char *a = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                char *b = json_dumps(json_object_get(want, k), JSON_COMPACT | JSON_ENCODE_ANY);
                snprintf(err, errlen, "%s/summary.json: %s is %.300s, the replay gives %.300s",
                         run_dir, k, b ? b : "absent", a ? a : "?");
                free(a);
                free(b);
                rc = 1;
            }
        }
        json_decref(want);
        if (!rc) snprintf(note, notelen, "%zu events and the summary agree", n);
    } else {
        snprintf(note, notelen, "%zu events agree; the game did not finish (%s)", n,
                 s->replay_open ? "stopped at an open turn" : "stopped");
    }
    brk_server_destroy(&s);
    return rc;
}
