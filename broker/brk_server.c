/* brk_server.c: the broker (brk_server.h): construction, seat tokens, the web
 * side, the loop. One game, one libevent loop; the rest of the broker is split
 * by concern, see brk_internal.h.
 *
 * Seats are referred to by index; callbacks get the seat's slot, which lives as
 * long as the server.
 */
#include "brk_internal.h"
#include "env_turns.h"
#include "pl_keys.h"
#include "pl_log.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
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

/* ------------------------------------------------------------------ keys -- */

/* One client's keypair in keys.json: reused when present (a restarted
 * broker keeps its clients), else CURVE_PUBLIC_<name> from the environment (a
 * container given only the public key), else fresh. */
static int s_client_key(json_t *clients, const char *keys_dir, const char *name, char *err,
                        size_t errlen)
{
    pl_keypair_t kp = {{0}, {0}};
    if (keys_dir) {
        /* parley keygen's files: the public key is all the broker needs. */
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.pub", keys_dir, name);
        if (access(path, R_OK) != 0) snprintf(path, sizeof path, "%s/%s.key", keys_dir, name);
        if (pl_keys_read(path, &kp, err, errlen) != 0) return -1;
        json_t *o = json_pack("{s:s, s:s}", "public", kp.pub, "secret", kp.sec);
        if (!o || json_object_set_new(clients, name, o) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        return 0;
    }
    json_t *have = json_object_get(clients, name);
    if (pl_keys_valid(json_string_value(json_object_get(have, "public")))) return 0;
    char var[96];
    snprintf(var, sizeof var, "CURVE_PUBLIC_%s", name);
    const char *given = getenv(var);
    if (given && *given) {
        if (!pl_keys_valid(given)) {
            snprintf(err, errlen, "%s: not a Z85 CURVE key (40 characters)", var);
            return -1;
        }
        snprintf(kp.pub, sizeof kp.pub, "%s", given);
    } else if (pl_keys_new(&kp, err, errlen) != 0) {
        return -1;
    }
    json_t *o = json_pack("{s:s, s:s}", "public", kp.pub, "secret", kp.sec);
    if (!o || json_object_set_new(clients, name, o) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* keys.json (0600): the experimenter's token for the web side and, with
 * CURVE, the broker's keypair and one client keypair per seat, the watcher
 * and the experimenter. Nothing of it ever goes into events. */
static int s_load_keys(brk_server_t *s, char *err, size_t errlen)
{
    json_t *k = brk_rundir_read_json(s->rundir, "keys.json");
    if (!json_is_object(k)) {
        json_decref(k);
        k = json_object();
    }
    s->keys = k;
    if (!k) goto nomem;
    const char *tok = json_string_value(json_object_get(k, "experimenter_token"));
    const char *given = getenv("PARLEY_EXPERIMENTER_TOKEN");
    if (given && strlen(given) == 2 * BRK_TOKEN_BYTES) tok = given;
    if (tok && strlen(tok) == 2 * BRK_TOKEN_BYTES)
        memcpy(s->experimenter_token, tok, 2 * BRK_TOKEN_BYTES + 1);
    else if (brk_random_hex(s->experimenter_token, BRK_TOKEN_BYTES) != 0) {
        snprintf(err, errlen, "no randomness for the experimenter's token");
        return -1;
    }
    if (json_object_set_new(k, "experimenter_token", json_string(s->experimenter_token)) != 0)
        goto nomem;
    if (s->opts.curve) {
        json_t *curve = json_object_get(k, "curve");
        if (!json_is_object(curve)) {
            curve = json_object();
            if (!curve || json_object_set_new(k, "curve", curve) != 0) goto nomem;
        }
        json_t *broker = json_object_get(curve, "broker");
        pl_keypair_t kp = {{0}, {0}};
        const char *sec = getenv("PARLEY_CURVE_BROKER_SECRET");
        if (!sec || !*sec) sec = json_string_value(json_object_get(broker, "secret"));
        pl_keypair_t from_file;
        if (s->opts.keys_dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/broker.key", s->opts.keys_dir);
            if (pl_keys_read(path, &from_file, err, errlen) != 0) return -1;
            if (!from_file.sec[0]) {
                snprintf(err, errlen, "%s:1: the broker needs its secret key here", path);
                return -1;
            }
            sec = from_file.sec;
        }
        if (sec) {
            snprintf(kp.sec, sizeof kp.sec, "%s", sec);
            if (pl_keys_derive(&kp) != 0) {
                snprintf(err, errlen,
                         "the broker's CURVE secret key (PARLEY_CURVE_BROKER_SECRET "
                         "or keys.json) is not a Z85 key");
                return -1;
            }
        } else if (pl_keys_new(&kp, err, errlen) != 0) {
            return -1;
        }
        if (json_object_set_new(curve, "broker",
                                json_pack("{s:s, s:s}", "public", kp.pub, "secret", kp.sec)) != 0)
            goto nomem;
        json_t *clients = json_object_get(curve, "clients");
        if (!json_is_object(clients)) {
            clients = json_object();
            if (!clients || json_object_set_new(curve, "clients", clients) != 0) goto nomem;
        }
        char id[32];
        for (int i = 0; i < s->cfg->game.n_agents; i++) {
            snprintf(id, sizeof id, "agent_%d", i + 1);
            if (s_client_key(clients, s->opts.keys_dir, id, err, errlen) != 0) return -1;
        }
        if (s_client_key(clients, s->opts.keys_dir, "watcher", err, errlen) != 0 ||
            s_client_key(clients, s->opts.keys_dir, "experimenter", err, errlen) != 0)
            return -1;
    }
    if (brk_rundir_write_json(s->rundir, "keys.json", k, 0600) != 0) {
        snprintf(err, errlen, "%s/keys.json: cannot write", s->opts.run_dir);
        return -1;
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static const char *s_key(const brk_server_t *s, const char *who, const char *which)
{
    json_t *curve = json_object_get(s->keys, "curve");
    json_t *o = strcmp(who, "broker") == 0
                    ? json_object_get(curve, "broker")
                    : json_object_get(json_object_get(curve, "clients"), who);
    return json_string_value(json_object_get(o, which));
}

/* The ZAP handler's table: seats on the ROUTER (each key names its seat),
 * every known key on the public PUB, the experimenter's alone on the private
 * one. */
static int s_zap_start(brk_server_t *s, char *err, size_t errlen)
{
    s->zap = brk_zap_new(s->zctx, s->base, err, errlen);
    if (!s->zap) return -1;
    json_t *clients = json_object_get(json_object_get(s->keys, "curve"), "clients");
    const char *name;
    json_t *v;
    json_object_foreach(clients, name, v)
    {
        const char *pub = json_string_value(json_object_get(v, "public"));
        bool seat = strncmp(name, "agent_", 6) == 0;
        if ((seat && brk_zap_allow(s->zap, BRK_ZAP_AGENTS, pub, name) != 0) ||
            brk_zap_allow(s->zap, BRK_ZAP_PUBLIC, pub, name) != 0 ||
            (strcmp(name, "experimenter") == 0 &&
             brk_zap_allow(s->zap, BRK_ZAP_PRIVATE, pub, name) != 0)) {
            snprintf(err, errlen, "keys.json: %s's key is malformed", name);
            return -1;
        }
    }
    return 0;
}

/* CURVE server options: the broker's secret key and the socket's ZAP domain. */
static int s_curve_server(brk_server_t *s, void *sock, const char *domain)
{
    int one = 1;
    const char *sec = s_key(s, "broker", "secret");
    if (!s->zap && s->zap_open)
        return zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, BRK_ZAP_OPEN, strlen(BRK_ZAP_OPEN));
    if (!s->zap || !sec) return 0;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, strlen(sec) + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0)
        return -1;
    return 0;
}

/* Whether a ZeroMQ endpoint is reachable from this machine only. */
static bool s_endpoint_local(const char *ep)
{
    if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0) return true;
    if (strncmp(ep, "tcp://", 6) != 0) return false;
    const char *host = ep + 6;
    return strncmp(host, "127.", 4) == 0 || strncmp(host, "localhost:", 10) == 0 ||
           strncmp(host, "[::1]:", 6) == 0;
}

/* Secure by default: a socket others can reach needs CURVE or --insecure. */
static int s_check_exposure(const brk_options_t *o, char *err, size_t errlen)
{
    const char *names[] = {"--bind", "--pub", "--pub-private"};
    const char *eps[] = {o->router_endpoint, o->pub_endpoint, o->pub_private_endpoint};
    for (int i = 0; i < 3; i++) {
        if (!eps[i] || !eps[i][0] || o->curve || o->insecure || s_endpoint_local(eps[i])) continue;
        snprintf(err, errlen,
                 "%s %s listens beyond this machine without CURVE: anyone who reaches it could "
                 "take a seat or read the game. Add --curve (keys in the run directory's "
                 "keys.json), bind 127.0.0.1, or say --insecure",
                 names[i], eps[i]);
        return -1;
    }
    if (o->pub_private_endpoint && !o->curve) {
        snprintf(err, errlen,
                 "--pub-private %s needs --curve: only the experimenter's key may "
                 "subscribe to every event",
                 o->pub_private_endpoint);
        return -1;
    }
    return 0;
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
    /* The broker's clock, so that a page opened late shows the game's time. */
    int64_t end = s->ended_ms ? s->ended_ms : brk_mono_ms();
    double elapsed = s->started_ms ? (double)(end - s->started_ms) / 1000.0 : 0.0;
    return json_pack("{s:s, s:s, s:s, s:b, s:i, s:i, s:f, s:f, s:i, s:I, s:I, s:o}", "game_id",
                     s->game_id, "phase", phases[s->phase], "timing",
                     pl_timing_name(s->cfg->timing), "blind", s->cfg->blind, "round",
                     env_round(s->game), "rounds", s->cfg->game.rounds, "duration_s",
                     s->cfg->duration, "elapsed_s", elapsed, "tasks", env_tasks_done(s->game),
                     "group_revenue", (json_int_t)env_group_revenue(s->game), "task_revenue",
                     (json_int_t)env_task_revenue(s->game), "seats", seats);
}

/* The web side. With web_seats, seats whose configured policy is `human` are
 * played from the browser (parley run then starts no process for them). */
static int s_http_start(brk_server_t *s, char *err, size_t errlen)
{
    size_t n = (size_t)s->n_seats;
    s->seat_ids = calloc(n, sizeof *s->seat_ids);
    s->seat_tokens = calloc(n, sizeof *s->seat_tokens);
    s->browser = calloc(n, sizeof *s->browser);
    s->seat_curve_pub = calloc(n, sizeof *s->seat_curve_pub);
    s->seat_curve_sec = calloc(n, sizeof *s->seat_curve_sec);
    if (!s->seat_ids || !s->seat_tokens || !s->browser || !s->seat_curve_pub ||
        !s->seat_curve_sec) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < s->n_seats; i++) {
        s->seat_ids[i] = env_agent_id(s->game, i);
        s->seat_tokens[i] = s->seats[i].token;
        s->seat_curve_pub[i] = s->zap ? s_key(s, s->seat_ids[i], "public") : NULL;
        s->seat_curve_sec[i] = s->zap ? s_key(s, s->seat_ids[i], "secret") : NULL;
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
                             .experimenter_token = s->experimenter_token,
                             .curve_server = s->zap ? s_key(s, "broker", "public") : NULL,
                             .curve_public = s->seat_curve_pub,
                             .curve_secret = s->seat_curve_sec,
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
        if (ev) brk_http_event(s->http, ev, line, NULL);
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

/* Binds the ROUTER on the Unix socket path as well (router_ipc_path). It is
 * created under umask 077, so that it is mode 0700 from the moment it exists:
 * connecting to a Unix socket needs write permission on it, so only this uid
 * (and root) can reach it; chmod'ed once more in case the umask was not
 * honoured. A socket a killed broker left at the path is replaced (libzmq
 * unlinks it first); libzmq removes it again when the ROUTER closes. */
static int s_bind_ipc(brk_server_t *s, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    if (strlen(path) >= sizeof sun.sun_path) {
        snprintf(err, errlen, "ROUTER ipc://%s: a Unix socket's path has at most %zu bytes", path,
                 sizeof sun.sun_path - 1);
        return -1;
    }
    char ep[sizeof s->ipc_endpoint];
    snprintf(ep, sizeof ep, "ipc://%s", path);
    /* --ipc-no-curve: libzmq copies a socket's options into each endpoint as
     * it is bound, so the ROUTER is a NULL-mechanism server (ZAP domain
     * BRK_ZAP_OPEN) for this bind only, and CURVE again right after it. */
    bool open = s->zap && s->opts.ipc_no_curve;
    int zero = 0;
    if (open &&
        (zmq_setsockopt(s->router, ZMQ_CURVE_SERVER, &zero, sizeof zero) != 0 ||
         zmq_setsockopt(s->router, ZMQ_ZAP_DOMAIN, BRK_ZAP_OPEN, strlen(BRK_ZAP_OPEN)) != 0)) {
        snprintf(err, errlen, "ROUTER %s: socket options: %s", ep, zmq_strerror(errno));
        return -1;
    }
    mode_t old = umask(077);
    int rc = zmq_bind(s->router, ep);
    int bind_errno = errno;
    umask(old);
    if (open && s_curve_server(s, s->router, BRK_ZAP_AGENTS) != 0) {
        snprintf(err, errlen, "ROUTER %s: socket options: %s", ep, zmq_strerror(errno));
        return -1;
    }
    if (rc != 0) {
        snprintf(err, errlen, "ROUTER %s: %s", ep, zmq_strerror(bind_errno));
        return -1;
    }
    snprintf(s->ipc_endpoint, sizeof s->ipc_endpoint, "%s", ep);
    if (chmod(path, 0700) != 0) {
        snprintf(err, errlen, "ROUTER %s: chmod 0700: %s", ep, strerror(errno));
        return -1;
    }
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
    s->jw = env_jsonw_new();
    s->jw_view = env_jsonw_new();
    if (!s->cfg || !s->per_round || !s->jw || !s->jw_view) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    snprintf(s->reason, sizeof s->reason, "running");
    s->sched = brk_sched_for(s->cfg->timing);
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

    /* Precise timers: the coarse clock libevent uses by default is a few ms
     * off, and deadlines, holds and think gaps are the study's variables. */
    struct event_config *ecfg = event_config_new();
    if (ecfg) event_config_set_flag(ecfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    s->base = ecfg ? event_base_new_with_config(ecfg) : NULL;
    if (ecfg) event_config_free(ecfg);
    s->zctx = zmq_ctx_new();
    /* Two priorities: the ROUTER's connection monitor (brk_peers.c) runs
     * before the rest, so that a flood of frames never delays the dropping
     * of connections that have not joined. */
    if (!s->base || !s->zctx || event_base_priority_init(s->base, 2) != 0) {
        json_decref(start);
        snprintf(err, errlen, "cannot create the event loop or the ZeroMQ context");
        goto fail;
    }
    if (!opts->verify_only &&
        (s_check_exposure(opts, err, errlen) != 0 || s_load_keys(s, err, errlen) != 0 ||
         (opts->curve && s_zap_start(s, err, errlen) != 0) ||
         (!opts->curve && !(s->zap_open = brk_zap_new(s->zctx, s->base, err, errlen))))) {
        json_decref(start);
        goto fail;
    }
    if (opts->pub_endpoint) {
        s->pub = zmq_socket(s->zctx, ZMQ_PUB);
        if (!s->pub || s_curve_server(s, s->pub, BRK_ZAP_PUBLIC) != 0 ||
            s_bind(s->pub, opts->pub_endpoint, s->pub_endpoint, sizeof s->pub_endpoint) != 0) {
            json_decref(start);
            snprintf(err, errlen, "PUB %s: %s", opts->pub_endpoint, zmq_strerror(errno));
            goto fail;
        }
    }
    if (opts->pub_private_endpoint && !opts->verify_only) {
        int linger = 5000;
        s->pub_private = zmq_socket(s->zctx, ZMQ_PUB);
        if (!s->pub_private || s_curve_server(s, s->pub_private, BRK_ZAP_PRIVATE) != 0 ||
            zmq_setsockopt(s->pub_private, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
            s_bind(s->pub_private, opts->pub_private_endpoint, s->pub_private_endpoint,
                   sizeof s->pub_private_endpoint) != 0) {
            json_decref(start);
            snprintf(err, errlen, "PUB %s: %s", opts->pub_private_endpoint, zmq_strerror(errno));
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
    if (brk_sched_seats_init(s) != 0) {
        snprintf(err, errlen, "cannot create timers");
        goto fail;
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
        s_curve_server(s, s->router, BRK_ZAP_AGENTS) != 0 ||
        (s->pub && zmq_setsockopt(s->pub, ZMQ_LINGER, &linger, sizeof linger) != 0)) {
        snprintf(err, errlen, "socket options: %s", zmq_strerror(errno));
        goto fail;
    }
    /* Before the bind, so that every connection is seen. */
    brk_peers_options_t po = {.base = s->base,
                              .zctx = s->zctx,
                              .router = s->router,
                              .max_unjoined = opts->max_unjoined,
                              .join_timeout_s = opts->join_timeout};
    s->peers = brk_peers_new(&po, err, errlen);
    if (!s->peers) goto fail;
    if (s_bind(s->router, opts->router_endpoint, s->endpoint, sizeof s->endpoint) != 0) {
        snprintf(err, errlen, "ROUTER %s: %s", opts->router_endpoint, zmq_strerror(errno));
        goto fail;
    }
    if (opts->router_ipc_path && opts->router_ipc_path[0] &&
        s_bind_ipc(s, opts->router_ipc_path, err, errlen) != 0)
        goto fail;
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
    PL_INFO("BRK-READY", "game %s: agents on %s%s%s%s, events on %s, run dir %s%s", s->game_id,
            s->endpoint, s->ipc_endpoint[0] ? " and " : "", s->ipc_endpoint,
            s->ipc_endpoint[0] && s->zap && opts->ipc_no_curve ? " (no CURVE there)" : "",
            s->pub_endpoint[0] ? s->pub_endpoint : "(none)", opts->run_dir,
            s->zap ? ", CURVE on (keys.json)" : "");
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
    ana_run_destroy(&s->metrics);
    free(s->seat_ids);
    free(s->seat_tokens);
    free(s->browser);
    free(s->seat_curve_pub);
    free(s->seat_curve_sec);
    for (int i = 0; s->seats && i < s->n_seats; i++) {
        if (s->seats[i].deadline_ev) event_free(s->seats[i].deadline_ev);
        if (s->seats[i].think_ev) event_free(s->seats[i].think_ev);
        brk_sched_seat_free(&s->seats[i]);
        wire_delta_enc_destroy(&s->seats[i].obs_enc);
    }
    struct event *evs[] = {s->router_ev, s->hb_ev,     s->start_ev,
                           s->slice_ev,  s->sigint_ev, s->sigterm_ev};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i]) event_free(evs[i]);
    brk_peers_destroy(&s->peers); /* its monitor watches the ROUTER */
    if (s->router) zmq_close(s->router);
    if (s->pub) zmq_close(s->pub);
    if (s->pub_private) zmq_close(s->pub_private);
    brk_zap_destroy(&s->zap);
    brk_zap_destroy(&s->zap_open);
    if (s->zctx) zmq_ctx_term(s->zctx);
    /* libzmq unlinks its socket when the ROUTER closes; this makes sure. */
    if (s->ipc_endpoint[0]) (void)unlink(s->ipc_endpoint + 6);
    if (s->base) event_base_free(s->base);
    env_game_destroy(&s->game);
    brk_rundir_destroy(&s->rundir);
    pl_config_destroy(&s->cfg);
    json_decref(s->per_round);
    json_decref(s->log);
    json_decref(s->summary_seen);
    brk_pub_clear(s);
    free(s->pub_items);
    env_jsonw_destroy(&s->jw);
    env_jsonw_destroy(&s->jw_view);
    json_decref(s->keys);
    free(s->seats);
    wire_arena_destroy(&s->names_arena);
    env_turns_destroy(&s->turns);
    free(s);
    *ps = NULL;
}

const char *brk_server_endpoint(const brk_server_t *s)
{
    return s->endpoint;
}

const char *brk_server_ipc_endpoint(const brk_server_t *s)
{
    return s->ipc_endpoint;
}

const char *brk_server_pub_endpoint(const brk_server_t *s)
{
    return s->pub_endpoint;
}

const char *brk_server_http_url(const brk_server_t *s)
{
    return s->http ? brk_http_url(s->http) : "";
}

const char *brk_server_pub_private_endpoint(const brk_server_t *s)
{
    return s->pub_private_endpoint;
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
