/* ses_server.c: the session's HTTP side and each participant's way through it
 * (ses_server.h). A person's link is /p/SECRET; the page served there follows
 * the person's state (consent, instructions, comprehension check, lobby, game,
 * end), so a reload or a closed tab always brings them back where they were.
 * Answers are POSTed forms (no script needed but on the game page); the game
 * page is the broker's seat page, whose /state and /decision calls come here
 * and are forwarded to the broker with the seat's token (ses_game.c). The
 * experimenter's page /x?key=KEY shows the lobby, the games and every person
 * and can start a game, stop one and export the table. */
#include "ses_internal.h"
#include "ses_pages.h"

#include "env.h"
#include "pl_config.h"
#include "pl_config_orig.h"
#include "pl_fs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define S_MAX_BODY (64 * 1024)

static const char *s_csp = "default-src 'none'; script-src 'unsafe-inline'; style-src "
                           "'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
                           "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

static void s_send(struct evhttp_request *req, int code, const char *ctype, const char *body,
                   size_t len)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add(b, body, len);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "Content-Security-Policy", s_csp);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_send_reply(req, code, code < 300 ? "OK" : code < 400 ? "See Other" : "Refused", b);
    evbuffer_free(b);
}

static void s_json(struct evhttp_request *req, int code, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    s_send(req, code, "application/json", text, strlen(text));
    free(text);
}

static void s_refuse(struct evhttp_request *req, int code, const char *why)
{
    s_json(req, code, json_pack("{s:s, s:i}", "error", why, "status", code));
}

static void s_see_other(struct evhttp_request *req, const char *where)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Location", where);
    s_send(req, 303, "text/plain", "", 0);
}

/* The request's body, NUL-terminated (owned by the caller), or NULL when too
 * big (len set to SIZE_MAX) or out of memory. */
static char *s_body(struct evhttp_request *req, size_t *len)
{
    struct evbuffer *b = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(b);
    *len = n;
    if (n > S_MAX_BODY) {
        *len = SIZE_MAX;
        return NULL;
    }
    char *t = malloc(n + 1);
    if (!t) return NULL;
    evbuffer_remove(b, t, n);
    t[n] = '\0';
    return t;
}

static int s_person(ses_server_t *s, const char *secret, size_t len)
{
    for (int i = 0; i < s->n_people; i++) {
        const char *m = s->people[i].secret;
        if (strlen(m) != len) continue;
        unsigned diff = 0; /* constant time: how much of a guess matched never shows */
        for (size_t k = 0; k < len; k++) diff |= (unsigned)(m[k] ^ secret[k]);
        if (diff == 0) return i;
    }
    return -1;
}

static void s_page_seen(ses_server_t *s, ses_person_t *p, const char *page)
{
    if (strcmp(p->page, page) == 0) return;
    snprintf(p->page, sizeof p->page, "%s", page);
    if (p->state == SES_P_DECLINED) return; /* a decline ends what is recorded */
    ses_record(s, "page_view", json_pack("{s:s, s:s}", "participant", p->id, "page", page));
}

/* When the longest-waiting person entered the lobby (0: nobody waits); how
 * many wait, into *waiting when given. The lobby timeout counts from it. */
static int64_t s_oldest_waiting(const ses_server_t *s, int *waiting)
{
    int64_t oldest = 0;
    int n = 0;
    for (int i = 0; i < s->n_people; i++) {
        const ses_person_t *p = &s->people[i];
        if (p->state != SES_P_WAITING) continue;
        n++;
        if (!oldest || p->since_ms < oldest) oldest = p->since_ms;
    }
    if (waiting) *waiting = n;
    return oldest;
}

static void s_serve_page(ses_server_t *s, struct evhttp_request *req, int pi, const char *name,
                         const char *hint)
{
    ses_person_t *p = &s->people[pi];
    char err[256], rev[32], tasks[16], group[32], rounds[16] = "", reward[32] = "";
    char waited[24] = "0", left[24] = "", clock[24] = "0";
    const ses_game_t *g = p->game >= 0 ? s->games[p->game] : NULL;
    /* The clocks are the server's, filled in at every load: a page opened (or
     * reloaded) late shows the time that has passed, never a count from 0. */
    int64_t now = ses_mono_ms();
    if (p->state == SES_P_WAITING && p->since_ms)
        snprintf(waited, sizeof waited, "%lld", (long long)(now - p->since_ms) / 1000);
    int64_t oldest = s_oldest_waiting(s, NULL);
    if (p->state == SES_P_WAITING && s->lobby_timeout_s > 0 && oldest) {
        double l = s->lobby_timeout_s - (double)(now - oldest) / 1000.0;
        snprintf(left, sizeof left, "%.0f", l > 0 ? l : 0);
    }
    if (g) snprintf(clock, sizeof clock, "%lld", (long long)g->clock_ms / 1000);
    snprintf(rev, sizeof rev, "%lld", p->revenue);
    snprintf(tasks, sizeof tasks, "%d", p->tasks);
    snprintf(group, sizeof group, "%lld", g ? g->group_revenue : 0);
    snprintf(rounds, sizeof rounds, "%d", s->rounds);
    snprintf(reward, sizeof reward, "%lld", s->task_reward);
    char *text = ses_page_load(s->opts.pages, name, err, sizeof err);
    if (!text) {
        fprintf(stderr, "parley session: page %s: %s\n", name, err);
        s_refuse(req, 500, "this page cannot be shown; tell the experimenter");
        return;
    }
    const char *keys[] = {"PARTICIPANT",  "CODE",         "REVENUE",     "TASKS", "GROUP_REVENUE",
                          "ROUNDS",       "TASK_REWARD",  "HINT",        "LINK",  "WAITING_S",
                          "LOBBY_LEFT_S", "LOBBY_CLOSES", "GAME_SECONDS"};
    char link[80];
    snprintf(link, sizeof link, "/p/%s", p->secret);
    const char *vals[] = {p->id, p->code, rev,    tasks,
                          group, rounds,  reward, hint ? hint : "",
                          link,  waited,  left,   s->opts.lobby_close ? "1" : "0",
                          clock};
    char *out = ses_page_fill(text, keys, vals, (int)(sizeof keys / sizeof keys[0]));
    free(text);
    if (!out) {
        s_refuse(req, 500, "out of memory");
        return;
    }
    s_page_seen(s, p, name);
    s_send(req, 200, "text/html; charset=utf-8", out, strlen(out));
    free(out);
}

static const char *s_page_for(const ses_server_t *s, const ses_person_t *p)
{
    switch (p->state) {
    case SES_P_NEW:
        return "consent";
    case SES_P_CONSENTED:
        return "instructions";
    case SES_P_CHECK:
        return "comprehension";
    case SES_P_WAITING:
        return "lobby";
    case SES_P_PLAYING:
        return s->games[p->game]->state == SES_G_PLAYING ? "game" : "lobby";
    case SES_P_DONE:
        return "end";
    case SES_P_DECLINED:
        return "declined";
    case SES_P_LEFT:
        return "left";
    case SES_P_CLOSED:
        return "closed";
    }
    return "closed";
}

static void s_set_state(ses_server_t *s, ses_person_t *p, ses_pstate_t st)
{
    p->state = st;
    p->since_ms = ses_mono_ms();
    ses_write_tables(s);
}

/* POST /p/SECRET/answer: the consent, instructions and check pages' forms. */
static void s_on_answer(ses_server_t *s, struct evhttp_request *req, int pi)
{
    ses_person_t *p = &s->people[pi];
    size_t len;
    char *body = s_body(req, &len);
    if (!body) {
        s_refuse(req, len == SIZE_MAX ? 413 : 500,
                 len == SIZE_MAX ? "the form is too big" : "out of memory");
        return;
    }
    struct evkeyvalq args;
    TAILQ_INIT(&args);
    if (evhttp_parse_query_str(body, &args) != 0) {
        free(body);
        s_refuse(req, 400, "the form is malformed");
        return;
    }
    const char *choice = evhttp_find_header(&args, "choice");
    const char *hint = NULL;
    if (!choice) choice = "";
    if (p->state == SES_P_NEW && strcmp(choice, "accept") == 0) {
        ses_record(s, "consent",
                   json_pack("{s:s, s:s}", "participant", p->id, "answer", "accepted"));
        s_set_state(s, p, SES_P_CONSENTED);
    } else if (p->state == SES_P_NEW && strcmp(choice, "decline") == 0) {
        ses_record(s, "consent",
                   json_pack("{s:s, s:s}", "participant", p->id, "answer", "declined"));
        s_set_state(s, p, SES_P_DECLINED);
    } else if (p->state == SES_P_CONSENTED && strcmp(choice, "continue") == 0) {
        if (s->opts.comprehension) {
            s_set_state(s, p, SES_P_CHECK);
        } else {
            ses_record(s, "lobby_join", json_pack("{s:s}", "participant", p->id));
            s_set_state(s, p, SES_P_WAITING);
        }
    } else if (p->state == SES_P_CHECK) {
        /* The check: what does giving a piece away cost you? Nothing. */
        const char *a = evhttp_find_header(&args, "cost");
        bool right = a && strcmp(a, "nothing") == 0;
        ses_record(s, "comprehension",
                   json_pack("{s:s, s:s, s:b}", "participant", p->id, "answer", a ? a : "",
                             "correct", right));
        if (right) {
            ses_record(s, "lobby_join", json_pack("{s:s}", "participant", p->id));
            s_set_state(s, p, SES_P_WAITING);
        } else {
            hint =
                "Not quite: read the rules once more. Sending a piece copies it; you keep yours.";
        }
    }
    evhttp_clear_headers(&args);
    free(body);
    if (hint) {
        s_serve_page(s, req, pi, "comprehension", hint);
        return;
    }
    char where[80];
    snprintf(where, sizeof where, "/p/%s", p->secret);
    s_see_other(req, where);
}

/* GET /p/SECRET/where: the page the person should see and the lobby's clocks
 * by the server, which the lobby page asks every second (it moves on when
 * the page changes). */
static void s_on_where(ses_server_t *s, struct evhttp_request *req, int pi)
{
    const ses_person_t *p = &s->people[pi];
    int64_t now = ses_mono_ms(), oldest = s_oldest_waiting(s, NULL);
    bool waiting = p->state == SES_P_WAITING;
    json_t *left = json_null();
    if (waiting && s->lobby_timeout_s > 0 && oldest) {
        double l = s->lobby_timeout_s - (double)(now - oldest) / 1000.0;
        left = json_integer(l > 0 ? (json_int_t)(l + 0.5) : 0);
    }
    s_json(req, 200,
           json_pack("{s:s, s:I, s:o}", "page", s_page_for(s, p), "waiting_s",
                     (json_int_t)(waiting && p->since_ms ? (now - p->since_ms) / 1000 : 0),
                     "lobby_left_s", left));
}

static void s_on_participant(ses_server_t *s, struct evhttp_request *req, const char *rest)
{
    const char *slash = strchr(rest, '/');
    size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
    int pi = s_person(s, rest, len);
    if (pi < 0) {
        s_refuse(req, 404, "this link is not one of the session's");
        return;
    }
    ses_person_t *p = &s->people[pi];
    const char *sub = slash ? slash + 1 : "";
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (p->state != SES_P_DECLINED) p->last_seen_ms = ses_mono_ms();
    if (strcmp(sub, "") == 0 && m == EVHTTP_REQ_GET) {
        s_serve_page(s, req, pi, s_page_for(s, p), NULL);
    } else if (strcmp(sub, "answer") == 0 && m == EVHTTP_REQ_POST) {
        s_on_answer(s, req, pi);
    } else if (strcmp(sub, "where") == 0 && m == EVHTTP_REQ_GET) {
        s_on_where(s, req, pi);
    } else if (strcmp(sub, "state") == 0 && m == EVHTTP_REQ_GET) {
        if (p->game < 0) {
            s_refuse(req, 409, "you have no seat yet");
            return;
        }
        /* left or done: the page is told the game is over for them */
        ses_game_proxy(s->games[p->game], pi, req, p->state == SES_P_PLAYING ? "state" : "over",
                       NULL, 0);
    } else if (strcmp(sub, "decision") == 0 && m == EVHTTP_REQ_POST) {
        if (p->state != SES_P_PLAYING) {
            s_refuse(req, 409, "you have no open seat");
            return;
        }
        size_t n;
        char *body = s_body(req, &n);
        if (!body) {
            s_refuse(req, n == SIZE_MAX ? 413 : 500,
                     n == SIZE_MAX ? "the decision is too big" : "out of memory");
            return;
        }
        ses_game_proxy(s->games[p->game], pi, req, "decision", body, n);
        free(body);
    } else if (strcmp(sub, "") == 0 || strcmp(sub, "answer") == 0 || strcmp(sub, "state") == 0 ||
               strcmp(sub, "decision") == 0 || strcmp(sub, "where") == 0) {
        s_refuse(req, 405, "wrong method");
    } else {
        s_refuse(req, 404, "no such page");
    }
}

/* -------------------------------------------------------- experimenter -- */

static json_t *s_overview(ses_server_t *s)
{
    int64_t now = ses_mono_ms();
    json_t *people = json_array(), *lobby = json_array(), *games = json_array();
    for (int i = 0; i < s->n_people; i++) {
        const ses_person_t *p = &s->people[i];
        char game[16] = "", seat[24] = "";
        if (p->game >= 0) snprintf(game, sizeof game, "g%d", p->game + 1);
        if (p->seat >= 0) snprintf(seat, sizeof seat, "agent_%d", p->seat + 1);
        bool seen = p->last_seen_ms > 0;
        json_array_append_new(
            people,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:f, s:i, s:s, s:I, s:s, s:s, s:i}", "id",
                      p->id, "state", ses_pstate_name(p->state), "page", p->page, "game", game,
                      "seat", seat, "idle_s",
                      seen ? json_real((double)(now - p->last_seen_ms) / 1000.0) : json_null(),
                      "in_state_s", p->since_ms ? (double)(now - p->since_ms) / 1000.0 : 0.0,
                      "decisions", p->decisions, "completion_code", p->code, "revenue",
                      (json_int_t)p->revenue, "left_reason", p->left_reason, "fallback",
                      p->fallback, "substituted_round", p->sub_round));
        if (p->state == SES_P_WAITING)
            json_array_append_new(lobby, json_pack("{s:s, s:f}", "id", p->id, "waiting_s",
                                                   (double)(now - p->since_ms) / 1000.0));
    }
    for (int i = 0; i < s->n_games; i++) {
        const ses_game_t *g = s->games[i];
        json_t *seats = json_array();
        for (int k = 0; k < g->n_seats; k++)
            json_array_append_new(
                seats,
                json_pack("{s:s, s:s?, s:s?, s:b, s:i}", "policy", g->policies[k], "fallback",
                          strcmp(g->policies[k], "human") == 0 || g->substituted[k]
                              ? g->fallbacks[k]
                              : NULL,
                          "participant", g->person[k] >= 0 ? s->people[g->person[k]].id : NULL,
                          "substituted", g->substituted[k], "missed", g->missed[k]));
        const char *st = g->state == SES_G_STARTING  ? "starting"
                         : g->state == SES_G_PLAYING ? "playing"
                                                     : "over";
        /* The game's clock is its broker's: the last status while it runs,
         * its record's length once it is over. */
        double clock = g->state == SES_G_OVER ? (double)g->clock_ms / 1000.0 : g->elapsed_s;
        json_array_append_new(
            games, json_pack("{s:i, s:i, s:I, s:s, s:s, s:s, s:i, s:I, s:i, s:f, s:o}", "game",
                             g->index + 1, "condition", g->condition + 1, "seed",
                             (json_int_t)g->seed, "state", st, "web", g->web, "run_dir", g->dir,
                             "tasks", g->tasks, "group_revenue", (json_int_t)g->group_revenue,
                             "round", g->round, "clock_s", clock, "seats", seats));
    }
    char t[32];
    ses_now_iso(t, sizeof t); /* the server's time: the page shows it, not the browser's */
    return json_pack("{s:s, s:i, s:i, s:f, s:o, s:o, s:o}", "now", t, "participants", s->n_people,
                     "humans_per_game", s->humans_per_game, "lobby_timeout_s", s->lobby_timeout_s,
                     "lobby", lobby, "games", games, "people", people);
}

static bool s_key_ok(ses_server_t *s, struct evhttp_request *req, struct evkeyvalq *args)
{
    const char *k = evhttp_find_header(args, "key");
    if (!k) k = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Parley-Key");
    size_t n = strlen(s->key);
    unsigned diff = !k || strlen(k) != n;
    for (size_t i = 0; k && !diff && i < n; i++) diff |= (unsigned)(k[i] ^ s->key[i]);
    return diff == 0;
}

static int s_start_waiting(ses_server_t *s, int at_most)
{
    int *who = calloc((size_t)s->n_people + 1, sizeof *who), n = 0;
    if (!who) return -1;
    for (int i = 0; i < s->n_people && n < at_most; i++)
        if (s->people[i].state == SES_P_WAITING) who[n++] = i;
    int rc = n > 0 ? ses_game_start(s, who, n) : -1;
    free(who);
    return rc;
}

static void s_on_experimenter(ses_server_t *s, struct evhttp_request *req, const char *sub)
{
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq args;
    TAILQ_INIT(&args);
    if (q && evhttp_parse_query_str(q, &args) != 0) {
        s_refuse(req, 400, "the query string is malformed");
        return;
    }
    if (!s_key_ok(s, req, &args)) {
        evhttp_clear_headers(&args);
        s_refuse(req, 403, "the experimenter's page needs the session's key");
        return;
    }
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (strcmp(sub, "") == 0 && m == EVHTTP_REQ_GET) {
        char err[256];
        char *text = ses_page_load(s->opts.pages, "experimenter", err, sizeof err);
        if (text)
            s_send(req, 200, "text/html; charset=utf-8", text, strlen(text));
        else
            s_refuse(req, 500, err);
        free(text);
    } else if (strcmp(sub, "/api") == 0 && m == EVHTTP_REQ_GET) {
        s_json(req, 200, s_overview(s));
    } else if (strcmp(sub, "/export") == 0 && m == EVHTTP_REQ_GET) {
        char *csv = ses_tables_text(s);
        if (csv) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Disposition",
                              "attachment; filename=\"participants.csv\"");
            s_send(req, 200, "text/csv; charset=utf-8", csv, strlen(csv));
        } else {
            s_refuse(req, 500, "out of memory");
        }
        free(csv);
    } else if (strcmp(sub, "/start") == 0 && m == EVHTTP_REQ_POST) {
        /* Start now with whoever waits; the seats left over get the fallback. */
        if (s_start_waiting(s, s->humans_per_game) == 0) {
            ses_record(s, "experimenter", json_pack("{s:s}", "action", "start"));
            s_json(req, 200, json_pack("{s:i}", "game", s->n_games));
        } else {
            s_refuse(req, 409, "nobody is waiting in the lobby");
        }
    } else if (strcmp(sub, "/stop") == 0 && m == EVHTTP_REQ_POST) {
        const char *gs = evhttp_find_header(&args, "game");
        int gi = gs ? atoi(gs) - 1 : -1;
        if (gi < 0 || gi >= s->n_games) {
            s_refuse(req, 404, "no such game (game=N, from 1)");
        } else {
            ses_record(s, "experimenter",
                       json_pack("{s:s, s:i}", "action", "stop", "game", gi + 1));
            ses_game_stop(s->games[gi]);
            s_json(req, 200, json_pack("{s:i, s:s}", "game", gi + 1, "state", "stopping"));
        }
    } else {
        s_refuse(req, 404, "no such page");
    }
    evhttp_clear_headers(&args);
}

static void s_on_request(struct evhttp_request *req, void *arg)
{
    ses_server_t *s = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (!path) path = "/";
    if (strncmp(path, "/p/", 3) == 0) {
        s_on_participant(s, req, path + 3);
    } else if (strcmp(path, "/x") == 0 || strncmp(path, "/x/", 3) == 0) {
        s_on_experimenter(s, req, path + 2);
    } else if (strcmp(path, "/favicon.ico") == 0) {
        evhttp_send_reply(req, 204, "No Content", NULL);
    } else {
        s_refuse(req, 404, "open the link you were given");
    }
}

/* ------------------------------------------------------------ the lobby -- */

static void s_on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ses_server_t *s = arg;
    int waiting = 0;
    int64_t oldest = s_oldest_waiting(s, &waiting);
    /* A game as soon as its people's seats can be filled. */
    while (waiting >= s->humans_per_game) {
        if (s_start_waiting(s, s->humans_per_game) != 0) break;
        waiting -= s->humans_per_game;
    }
    if (waiting > 0 && s->lobby_timeout_s > 0 &&
        (double)(ses_mono_ms() - oldest) > s->lobby_timeout_s * 1000.0) {
        if (s->opts.lobby_close) {
            for (int i = 0; i < s->n_people; i++) {
                if (s->people[i].state != SES_P_WAITING) continue;
                ses_record(s, "lobby_closed", json_pack("{s:s}", "participant", s->people[i].id));
                s_set_state(s, &s->people[i], SES_P_CLOSED);
            }
        } else {
            s_start_waiting(s, s->humans_per_game); /* the rest: fallback seats */
        }
    }
    for (int i = 0; i < s->n_games; i++) ses_game_tick(s->games[i]);
}

/* ------------------------------------------------------------ lifecycle -- */

/* Loads and checks condition i; counts its seats for people. */
static int s_check_config(ses_server_t *s, int i, char *err, size_t errlen)
{
    pl_config_t *cfg = pl_config_load_any(s->opts.configs[i], err, errlen);
    if (!cfg) return -1;
    int rc = -1;
    for (int k = 0; k < s->opts.n_sets; k++)
        if (pl_config_set(cfg, s->opts.sets[k], err, errlen) != 0) goto done;
    if (env_config_check(&cfg->game, err, errlen) != ENV_OK) goto done;
    int humans = 0;
    for (int k = 0; k < cfg->n_seats; k++)
        humans += cfg->seats[k].policy && strcmp(cfg->seats[k].policy, "human") == 0;
    if (humans == 0) {
        snprintf(err, errlen, "%s: no seat has policy human: nobody could play",
                 s->opts.configs[i]);
        goto done;
    }
    if (i > 0 && humans != s->humans_per_game) {
        snprintf(err, errlen,
                 "%s: %d seats for people, but %s has %d: every condition needs the same",
                 s->opts.configs[i], humans, s->opts.configs[0], s->humans_per_game);
        goto done;
    }
    /* The lobby comes before a condition is drawn: one timeout for all. */
    if (s->opts.lobby_timeout_s < 0 && i > 0 && cfg->session_lobby_timeout != s->lobby_timeout_s) {
        snprintf(err, errlen,
                 "%s: session.lobby_timeout %g, but %s has %g: the lobby is the same for every "
                 "condition (give --lobby-timeout or the same value)",
                 s->opts.configs[i], cfg->session_lobby_timeout, s->opts.configs[0],
                 s->lobby_timeout_s);
        goto done;
    }
    if (i == 0)
        s->lobby_timeout_s =
            s->opts.lobby_timeout_s >= 0 ? s->opts.lobby_timeout_s : cfg->session_lobby_timeout;
    s->humans_per_game = humans;
    s->rounds = cfg->game.rounds;
    s->task_reward = (long long)cfg->game.task_reward;
    rc = 0;
done:
    pl_config_destroy(&cfg);
    return rc;
}

ses_server_t *ses_server_new(const ses_options_t *opts, char *err, size_t errlen)
{
    ses_server_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->opts = *opts;
    s->rng = opts->seed;
    snprintf(s->out, sizeof s->out, "%s", opts->out);
    if (opts->n_configs < 1 || opts->participants < 1) {
        snprintf(err, errlen, "a session needs a configuration and --participants N (N >= 1)");
        goto fail;
    }
    for (int i = 0; i < opts->n_configs; i++)
        if (s_check_config(s, i, err, errlen) != 0) goto fail;
    if (pl_mkdirs(s->out) != 0) {
        snprintf(err, errlen, "%s: %s", s->out, strerror(errno));
        goto fail;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/session.jsonl", s->out);
    if (!(s->record = fopen(path, "a"))) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    s->n_people = opts->participants;
    s->people = calloc((size_t)s->n_people, sizeof *s->people);
    if (!s->people || ses_random_hex(s->key, 16) != 0) {
        snprintf(err, errlen, "out of memory or no randomness");
        goto fail;
    }
    for (int i = 0; i < s->n_people; i++) {
        ses_person_t *p = &s->people[i];
        snprintf(p->id, sizeof p->id, "P%03d", i + 1);
        p->game = p->seat = -1;
        if (ses_random_hex(p->secret, 16) != 0) {
            snprintf(err, errlen, "no randomness");
            goto fail;
        }
    }

    /* Listen: ADDR:PORT, loopback by default (the link is the credential). */
    char host[256] = "127.0.0.1";
    int port = 0;
    const char *listen = opts->listen ? opts->listen : "127.0.0.1:0";
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof host ||
        sscanf(colon + 1, "%d", &port) != 1 || port < 0 || port > 65535) {
        snprintf(err, errlen, "--http takes ADDR:PORT, not '%s'", listen);
        goto fail;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    s->http = evhttp_new(opts->base);
    struct evhttp_bound_socket *bound =
        s->http ? evhttp_bind_socket_with_handle(s->http, host, (uint16_t)port) : NULL;
    if (!bound) {
        snprintf(err, errlen, "cannot listen on %s: %s", listen, strerror(errno));
        goto fail;
    }
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sa, &sl) != 0) {
        snprintf(err, errlen, "cannot read the bound port: %s", strerror(errno));
        goto fail;
    }
    snprintf(s->url, sizeof s->url, "http://%s:%d", host, ntohs(sa.sin_port));
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_max_body_size(s->http, S_MAX_BODY);
    evhttp_set_gencb(s->http, s_on_request, s);

    /* The links, with pseudonymous ids only; the key, readable by its owner. */
    snprintf(path, sizeof path, "%s/links.csv", s->out);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    fprintf(f, "participant,link\n");
    for (int i = 0; i < s->n_people; i++)
        fprintf(f, "%s,%s/p/%s\n", s->people[i].id, s->url, s->people[i].secret);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: cannot write", path);
        goto fail;
    }
    snprintf(path, sizeof path, "%s/experimenter.key", s->out);
    f = fopen(path, "w");
    if (!f || chmod(path, 0600) != 0 || fprintf(f, "%s\n", s->key) < 0 || fclose(f) != 0) {
        if (f) fclose(f);
        snprintf(err, errlen, "%s: cannot write", path);
        goto fail;
    }
    json_t *conds = json_array();
    for (int i = 0; i < opts->n_configs; i++)
        json_array_append_new(conds, json_string(opts->configs[i]));
    /* The flags as given (null: each game's configuration decides, and
     * game_started records what it did). */
    ses_record(
        s, "session_start",
        json_pack("{s:i, s:o, s:I, s:i, s:s?, s:o, s:o, s:f, s:b, s:b}", "participants",
                  s->n_people, "conditions", conds, "seed", (json_int_t)opts->seed,
                  "humans_per_game", s->humans_per_game, "fallback", opts->fallback, "dropout_s",
                  opts->dropout_s > 0 ? json_real(opts->dropout_s) : json_null(), "max_missed",
                  opts->max_missed >= 0 ? json_integer(opts->max_missed) : json_null(),
                  "lobby_timeout_s", s->lobby_timeout_s, "lobby_close", opts->lobby_close,
                  "comprehension", opts->comprehension));
    if (ses_write_tables(s) != 0) {
        snprintf(err, errlen, "%s/participants.csv: cannot write", s->out);
        goto fail;
    }
    struct timeval every = {0, 250000};
    s->tick_ev = event_new(opts->base, -1, EV_PERSIST, s_on_tick, s);
    if (!s->tick_ev || event_add(s->tick_ev, &every) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return s;
fail:
    ses_server_destroy(&s);
    return NULL;
}

void ses_server_destroy(ses_server_t **ps)
{
    ses_server_t *s = *ps;
    if (!s) return;
    if (s->tick_ev) event_free(s->tick_ev);
    for (int i = 0; i < s->n_games; i++) ses_game_finish(s->games[i]);
    if (s->people && s->out[0] && s->record) ses_write_tables(s);
    for (int i = 0; i < s->n_games; i++) ses_game_destroy(&s->games[i]);
    free(s->games);
    s->games = NULL;
    if (s->record) {
        ses_record(s, "session_end", NULL);
        fclose(s->record);
    }
    if (s->http) evhttp_free(s->http);
    free(s->people);
    free(s);
    *ps = NULL;
}

const char *ses_server_url(const ses_server_t *s)
{
    return s->url;
}

const char *ses_server_key(const ses_server_t *s)
{
    return s->key;
}
