/* ses_game.c: one game of a session (ses_internal.h). A game is the same
 * processes `parley run` starts: parley-broker with its web seats (the people's
 * seats, whose configured policy is `human`) and one parley-agent per built-in
 * seat. The session talks to the broker only as any client does: it reads the
 * READY line and seats.json, polls /api/status, forwards each person's page to
 * /seat/ID/state and /seat/ID/decision with the seat's token (the person never
 * sees a token), and, when a person leaves, releases the web seat and starts a
 * parley-agent with the seat's fallback policy on the seat's token, which the
 * broker takes as the seat reconnecting. */
#include "ses_internal.h"

#include "env.h"
#include "pl_config.h"
#include "pl_config_orig.h"
#include "pl_fs.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct ses_proxy {
    ses_game_t *g;
    int person;                 /* -1: the session's own request */
    struct evhttp_request *req; /* the person's request, answered when the broker has */
    char what[16];              /* state | decision | status | release */
    int seat;
    char *body; /* decision: what the person sent */
    struct ses_proxy *next;
} ses_proxy_t;

static void s_proxy_free(ses_proxy_t *x)
{
    ses_proxy_t **pp = &x->g->pending;
    while (*pp && *pp != x) pp = &(*pp)->next;
    if (*pp) *pp = x->next;
    free(x->body);
    free(x);
}

static void s_reply(struct evhttp_request *req, int code, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        free(text);
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add_printf(b, "%s", text ? text : "{\"error\": \"out of memory\"}");
    free(text);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, code, code < 300 ? "OK" : "Refused", b);
    evbuffer_free(b);
}

/* What a person's page gets when no broker is there to ask: the game's end. */
static json_t *s_over_state(ses_game_t *g, int p)
{
    ses_server_t *s = g->srv;
    char next[80];
    snprintf(next, sizeof next, "/p/%s", s->people[p].secret);
    return json_pack("{s:s, s:b, s:b, s:i, s:s, s:b, s:{s:i, s:I, s:s}}", "seat", "", "welcomed", 1,
                     "over", 1, "turn_id", 0, "session_next", next, "session_over",
                     g->state == SES_G_OVER, "game_over", "tasks_done", g->tasks, "group_revenue",
                     (json_int_t)g->group_revenue, "reason", g->reason[0] ? g->reason : "finished");
}

static void s_start_fallback(ses_game_t *g, int seat)
{
    ses_server_t *s = g->srv;
    char id[32], log[1200], token_env[128];
    snprintf(id, sizeof id, "agent_%d", seat + 1);
    snprintf(log, sizeof log, "%s/agents/%s.fallback.log", g->dir, id);
    snprintf(token_env, sizeof token_env, "PARLEY_TOKEN=%s", g->tokens[seat]);
    char *argv[] = {"parley-agent", "--broker",         g->router,  "--seat",       id,
                    "--policy",     g->fallbacks[seat], "--config", g->config_json, NULL};
    g->agents[seat] =
        s->opts.proc.spawn(s->opts.bin_dir, "parley-agent", argv, NULL, log, token_env, false);
    if (g->agents[seat] < 0) {
        g->agents[seat] = 0;
        fprintf(stderr, "parley session: g%d: cannot start the fallback for %s\n", g->index + 1,
                id);
    }
}

static void s_on_broker_reply(struct evhttp_request *resp, void *arg)
{
    ses_proxy_t *x = arg;
    ses_game_t *g = x->g;
    ses_server_t *s = g->srv;
    int code = resp ? evhttp_request_get_response_code(resp) : 0;
    json_t *j = NULL;
    if (resp && code > 0) {
        struct evbuffer *b = evhttp_request_get_input_buffer(resp);
        size_t n = evbuffer_get_length(b);
        char *text = malloc(n + 1);
        if (text) {
            evbuffer_remove(b, text, n);
            text[n] = '\0';
            j = json_loads(text, 0, NULL);
            free(text);
        }
    }
    if (strcmp(x->what, "status") == 0) {
        g->status_pending = false;
        if (json_is_integer(json_object_get(j, "round")))
            g->round = (int)json_integer_value(json_object_get(j, "round"));
        if (json_is_number(json_object_get(j, "elapsed_s")))
            g->elapsed_s = json_number_value(json_object_get(j, "elapsed_s"));
        json_t *seats = json_object_get(j, "seats");
        for (size_t i = 0; i < json_array_size(seats) && (int)i < g->n_seats; i++)
            g->missed[i] =
                (int)json_integer_value(json_object_get(json_array_get(seats, i), "missed"));
        json_decref(j);
    } else if (strcmp(x->what, "release") == 0) {
        /* Released or not (the broker may be ending), the fallback's Hello
         * with the token takes the seat: a valid token wins. */
        json_decref(j);
        s_start_fallback(g, x->seat);
    } else if (!j) {
        if (x->person >= 0 && g->state != SES_G_PLAYING)
            s_reply(x->req, 200, s_over_state(g, x->person));
        else
            s_reply(x->req, 502,
                    json_pack("{s:s, s:i}", "error", "the game cannot be reached", "status", 502));
    } else if (strcmp(x->what, "state") == 0) {
        ses_person_t *p = &s->people[x->person];
        uint64_t turn = (uint64_t)json_integer_value(json_object_get(j, "turn_id"));
        if (turn && turn != p->turn_id) {
            p->turn_id = turn;
            p->turn_seen_ms = ses_mono_ms();
        }
        char next[80];
        snprintf(next, sizeof next, "/p/%s", p->secret);
        json_object_set_new(j, "session_next", json_string(next));
        json_object_set_new(j, "participant", json_string(p->id));
        s_reply(x->req, code, j);
    } else { /* decision */
        ses_person_t *p = &s->people[x->person];
        json_t *typed = x->body ? json_loads(x->body, 0, NULL) : NULL;
        double decide_s = p->turn_seen_ms ? (double)(ses_mono_ms() - p->turn_seen_ms) / 1000.0 : 0;
        if (code / 100 == 2) p->decisions++;
        char seat[24];
        snprintf(seat, sizeof seat, "agent_%d", p->seat + 1);
        ses_record(s, "decision",
                   json_pack("{s:s, s:i, s:s, s:I, s:f, s:i, s:o}", "participant", p->id, "game",
                             g->index + 1, "seat", seat, "turn_id", (json_int_t)p->turn_id,
                             "decide_s", decide_s, "status", code, "typed",
                             typed ? typed : json_string(x->body ? x->body : "")));
        s_reply(x->req, code, j);
        ses_write_tables(s);
    }
    s_proxy_free(x);
}

/* Sends one request to the broker; the reply goes to s_on_broker_reply. */
static int s_ask(ses_game_t *g, int person, struct evhttp_request *req, const char *what, int seat,
                 enum evhttp_cmd_type method, const char *path, const char *body, size_t len)
{
    if (!g->conn) return -1;
    ses_proxy_t *x = calloc(1, sizeof *x);
    if (!x) return -1;
    x->g = g;
    x->person = person;
    x->req = req;
    x->seat = seat;
    snprintf(x->what, sizeof x->what, "%s", what);
    if (body && !(x->body = strndup(body, len))) {
        free(x);
        return -1;
    }
    struct evhttp_request *out = evhttp_request_new(s_on_broker_reply, x);
    if (!out) {
        free(x->body);
        free(x);
        return -1;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(out);
    evhttp_add_header(h, "Host", "127.0.0.1");
    if (seat >= 0) evhttp_add_header(h, "X-Parley-Token", g->tokens[seat]);
    if (body) {
        evhttp_add_header(h, "Content-Type", "application/json");
        evbuffer_add(evhttp_request_get_output_buffer(out), body, len);
    }
    x->next = g->pending;
    g->pending = x;
    if (evhttp_make_request(g->conn, out, method, path) != 0) {
        s_proxy_free(x); /* libevent has freed `out` */
        return -1;
    }
    return 0;
}

void ses_game_proxy(ses_game_t *g, int p, struct evhttp_request *req, const char *what,
                    const char *body, size_t len)
{
    int seat = g->srv->people[p].seat;
    char path[64];
    if (strcmp(what, "over") == 0) { /* the person left or is done: the end */
        s_reply(req, 200, s_over_state(g, p));
        return;
    }
    snprintf(path, sizeof path, "/seat/agent_%d/%s", seat + 1, what);
    if (g->state != SES_G_PLAYING || !g->conn) {
        s_reply(req, 200, s_over_state(g, p));
        return;
    }
    bool post = strcmp(what, "decision") == 0;
    if (s_ask(g, p, req, what, seat, post ? EVHTTP_REQ_POST : EVHTTP_REQ_GET, path,
              post ? body : NULL, post ? len : 0) != 0)
        s_reply(req, 502,
                json_pack("{s:s, s:i}", "error", "the game cannot be reached", "status", 502));
}

/* seat_substituted in session.jsonl: which policy took whose seat, from which round. */
static void s_record_substitution(ses_game_t *g, int seat, const char *reason, int round)
{
    ses_server_t *s = g->srv;
    int p = g->person[seat];
    char id[32];
    snprintf(id, sizeof id, "agent_%d", seat + 1);
    ses_record(s, "seat_substituted",
               json_pack("{s:i, s:s, s:s?, s:s, s:s, s:i, s:i}", "game", g->index + 1, "seat", id,
                         "participant", p >= 0 ? s->people[p].id : NULL, "reason", reason, "policy",
                         g->fallbacks[seat], "from_round", round, "missed", g->missed[seat]));
    fprintf(stderr, "parley session: g%d: %s (%s) is played by %s from round %d on (%s)\n",
            g->index + 1, id, p >= 0 ? s->people[p].id : "unfilled", g->fallbacks[seat], round,
            reason);
}

void ses_game_substitute(ses_game_t *g, int seat, const char *reason)
{
    ses_server_t *s = g->srv;
    if (g->state != SES_G_PLAYING || g->substituted[seat]) return;
    g->substituted[seat] = true;
    /* The fallback plays from the round in progress on (an open turn is sent
     * to it again); before the first round, from round 1. */
    int round = g->round > 0 ? g->round : 1;
    int p = g->person[seat];
    if (p >= 0) {
        ses_person_t *pp = &s->people[p];
        pp->state = SES_P_LEFT;
        pp->since_ms = ses_mono_ms();
        snprintf(pp->left_reason, sizeof pp->left_reason, "%s", reason);
        snprintf(pp->fallback, sizeof pp->fallback, "%s", g->fallbacks[seat]);
        pp->sub_round = round;
    }
    char path[64];
    snprintf(path, sizeof path, "/seat/agent_%d/release", seat + 1);
    s_record_substitution(g, seat, reason, round);
    if (s_ask(g, -1, NULL, "release", seat, EVHTTP_REQ_POST, path, "{}", 2) != 0)
        s_start_fallback(g, seat);
    ses_write_tables(s);
}

/* How long the game ran by the broker's clock: from game_start's t_ms to the
 * last stamped line (run_end when it finished). 0 before a game started. */
static int64_t s_game_clock_ms(const ses_game_t *g)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/events.jsonl", g->dir);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char *line = NULL;
    size_t cap = 0;
    long long start = 0, last = 0;
    while (getline(&line, &cap, f) > 0) {
        const char *t = strstr(line, "\"t_ms\":");
        if (!t) continue;
        long long ms = strtoll(t + 7, NULL, 10);
        if (!start && strstr(line, "\"type\":\"game_start\"")) start = ms;
        if (ms > last) last = ms;
    }
    free(line);
    fclose(f);
    return start && last > start ? (int64_t)(last - start) : 0;
}

static void s_game_over(ses_game_t *g, int status)
{
    ses_server_t *s = g->srv;
    g->state = SES_G_OVER;
    g->broker = 0;
    char path[1200];
    snprintf(path, sizeof path, "%s/summary.json", g->dir);
    json_t *sum = json_load_file(path, 0, NULL);
    bool partial = false;
    if (!sum) {
        snprintf(path, sizeof path, "%s/summary.partial.json", g->dir);
        sum = json_load_file(path, 0, NULL);
        partial = sum != NULL;
    }
    g->tasks = (int)json_integer_value(json_object_get(sum, "tasks"));
    g->group_revenue = (long long)json_integer_value(json_object_get(sum, "group_revenue"));
    snprintf(g->reason, sizeof g->reason, "%s",
             !sum      ? "no_summary"
             : partial ? "stopped"
                       : "finished");
    g->clock_ms = s_game_clock_ms(g);
    json_t *board = json_object_get(sum, "board");
    for (int i = 0; i < g->n_seats; i++) {
        int p = g->person[i];
        if (p < 0) continue;
        ses_person_t *pp = &s->people[p];
        json_t *row = json_array_get(board, (size_t)i);
        pp->revenue = (long long)json_integer_value(json_object_get(row, "revenue"));
        pp->tasks = (int)json_integer_value(json_object_get(row, "tasks_done"));
        if (pp->state != SES_P_PLAYING) continue;
        /* A completion code per person, distinct from every other one. */
        for (int tries = 0; tries < 100; tries++) {
            char hex[16];
            if (ses_random_hex(hex, 4) != 0) break;
            for (char *c = hex; *c; c++)
                if (*c >= 'a' && *c <= 'f') *c = (char)(*c - 'a' + 'A');
            bool dup = false;
            for (int k = 0; k < s->n_people; k++) dup |= strcmp(s->people[k].code, hex) == 0;
            if (dup) continue;
            snprintf(pp->code, sizeof pp->code, "%s", hex);
            break;
        }
        pp->state = SES_P_DONE;
        pp->since_ms = ses_mono_ms();
        ses_record(s, "participant_done",
                   json_pack("{s:s, s:i, s:I, s:i, s:s}", "participant", pp->id, "game",
                             g->index + 1, "revenue", (json_int_t)pp->revenue, "tasks", pp->tasks,
                             "completion_code", pp->code));
    }
    json_decref(sum);
    ses_record(s, "game_over",
               json_pack("{s:i, s:s, s:i, s:I, s:f, s:i}", "game", g->index + 1, "reason",
                         g->reason, "tasks", g->tasks, "group_revenue",
                         (json_int_t)g->group_revenue, "clock_s", (double)g->clock_ms / 1000.0,
                         "broker_status", status));
    fprintf(stderr, "parley session: g%d is over (%s): %d tasks, group revenue %lld\n",
            g->index + 1, g->reason, g->tasks, g->group_revenue);
    ses_write_tables(s);
}

void ses_game_tick(ses_game_t *g)
{
    ses_server_t *s = g->srv;
    for (int i = 0; i < g->n_seats; i++)
        if (g->agents[i] > 0 && s->opts.proc.wait(g->agents[i], 0) >= 0) g->agents[i] = 0;
    if (g->conn && !g->pending && g->state == SES_G_OVER) {
        evhttp_connection_free(g->conn);
        g->conn = NULL;
    }
    if (g->state != SES_G_PLAYING) return;
    int st = s->opts.proc.wait(g->broker, 0);
    if (st >= 0) {
        s_game_over(g, st);
        return;
    }
    if (!g->status_pending &&
        s_ask(g, -1, NULL, "status", -1, EVHTTP_REQ_GET, "/api/status", NULL, 0) == 0)
        g->status_pending = true;
    int64_t now = ses_mono_ms();
    for (int i = 0; i < g->n_seats; i++) {
        int p = g->person[i];
        if (p < 0 || g->substituted[i] || s->people[p].state != SES_P_PLAYING) continue;
        if ((double)(now - s->people[p].last_seen_ms) > g->dropout_s * 1000.0)
            ses_game_substitute(g, i, "page_closed");
        else if (g->max_missed > 0 && g->missed[i] >= g->max_missed)
            ses_game_substitute(g, i, "missed_turns");
    }
}

static void s_on_ready(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    ses_game_t *g = arg;
    ses_server_t *s = g->srv;
    ssize_t n = read(fd, g->ready_buf + g->ready_len, sizeof g->ready_buf - 1 - g->ready_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n > 0) g->ready_len += (size_t)n;
    g->ready_buf[g->ready_len] = '\0';
    char *nl = strchr(g->ready_buf, '\n');
    if (!nl && n > 0 && g->ready_len + 1 < sizeof g->ready_buf) return;
    event_del(g->ready_ev);
    char pub[256], dir[1024];
    int port = 0;
    if (!nl ||
        sscanf(g->ready_buf, "READY %255s %255s %1023s %255s", g->router, pub, dir, g->web) != 4 ||
        sscanf(g->web, "http://127.0.0.1:%d", &port) != 1) {
        fprintf(stderr, "parley session: g%d: the broker did not start (see %s/broker.log)\n",
                g->index + 1, g->dir);
        ses_game_stop(g);
        return;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/seats.json", g->dir);
    json_t *seats = json_load_file(path, 0, NULL);
    g->conn = evhttp_connection_base_new(s->opts.base, NULL, "127.0.0.1", (unsigned short)port);
    if (g->conn) evhttp_connection_set_timeout(g->conn, 20);
    for (int i = 0; i < g->n_seats; i++) {
        char id[32];
        snprintf(id, sizeof id, "agent_%d", i + 1);
        const char *tok = json_string_value(json_object_get(seats, id));
        g->tokens[i] = strdup(tok ? tok : "");
    }
    json_decref(seats);
    g->state = SES_G_PLAYING;
    for (int i = 0; i < g->n_seats; i++) {
        if (strcmp(g->policies[i], "human") == 0) continue; /* a person's: the web side's */
        char id[32], log[1200], token_env[128];
        snprintf(id, sizeof id, "agent_%d", i + 1);
        snprintf(log, sizeof log, "%s/agents/%s.log", g->dir, id);
        snprintf(token_env, sizeof token_env, "PARLEY_TOKEN=%s", g->tokens[i]);
        char *argv[] = {"parley-agent", "--broker",     g->router,  "--seat",       id,
                        "--policy",     g->policies[i], "--config", g->config_json, NULL};
        g->agents[i] =
            s->opts.proc.spawn(s->opts.bin_dir, "parley-agent", argv, NULL, log, token_env, false);
        if (g->agents[i] < 0) {
            g->agents[i] = 0;
            fprintf(stderr, "parley session: g%d: cannot start the agent of %s\n", g->index + 1,
                    id);
        }
    }
    fprintf(stderr, "parley session: g%d started (condition %d, seed %llu): %s\n", g->index + 1,
            g->condition + 1, g->seed, g->web);
}

int ses_game_start(ses_server_t *s, const int *people, int n)
{
    char err[1400] = "";
    ses_game_t *g = calloc(1, sizeof *g);
    ses_game_t **games = realloc(s->games, (size_t)(s->n_games + 1) * sizeof *games);
    pl_config_t *cfg = NULL;
    char path[1200];
    int *order = calloc((size_t)(n > 0 ? n : 1), sizeof *order);
    if (!g || !games || !order) goto fail;
    s->games = games;
    g->srv = s;
    g->index = s->n_games;
    g->ready_fd = -1;
    g->condition = (int)(ses_rand(s) % (uint64_t)s->opts.n_configs);
    g->seed = ses_rand(s) % 1000000000ULL;
    cfg = pl_config_load_any(s->opts.configs[g->condition], err, sizeof err);
    if (!cfg) goto fail;
    for (int i = 0; i < s->opts.n_sets; i++)
        if (pl_config_set(cfg, s->opts.sets[i], err, sizeof err) != 0) goto fail;
    char a[64];
    snprintf(a, sizeof a, "seed=%llu", g->seed);
    if (pl_config_set(cfg, a, err, sizeof err) != 0) goto fail;
    g->n_seats = cfg->n_seats;
    g->policies = calloc((size_t)g->n_seats, sizeof *g->policies);
    g->tokens = calloc((size_t)g->n_seats, sizeof *g->tokens);
    g->person = calloc((size_t)g->n_seats, sizeof *g->person);
    g->agents = calloc((size_t)g->n_seats, sizeof *g->agents);
    g->missed = calloc((size_t)g->n_seats, sizeof *g->missed);
    g->substituted = calloc((size_t)g->n_seats, sizeof *g->substituted);
    g->fallbacks = calloc((size_t)g->n_seats, sizeof *g->fallbacks);
    if (!g->policies || !g->tokens || !g->person || !g->agents || !g->missed || !g->substituted ||
        !g->fallbacks)
        goto fail;
    /* A flag wins over the configuration; a seat's own fallback over both. */
    g->max_missed = s->opts.max_missed >= 0 ? s->opts.max_missed : cfg->session_max_missed;
    g->dropout_s = s->opts.dropout_s > 0 ? s->opts.dropout_s : cfg->session_dropout_after;
    for (int i = 0; i < g->n_seats; i++) {
        const pl_seat_t *st = &cfg->seats[i];
        g->policies[i] = strdup(st->policy ? st->policy : "passive");
        g->fallbacks[i] = strdup(st->fallback       ? st->fallback
                                 : s->opts.fallback ? s->opts.fallback
                                                    : "perfect");
        if (!g->policies[i] || !g->fallbacks[i]) goto fail;
        g->person[i] = -1;
    }
    /* People to seats: a seeded shuffle of who waited, in seat order. */
    for (int i = 0; i < n; i++) order[i] = people[i];
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(ses_rand(s) % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    json_t *fallbacks = json_object();
    for (int i = 0, k = 0; fallbacks && i < g->n_seats; i++) {
        if (strcmp(g->policies[i], "human") != 0) continue;
        char id[32];
        snprintf(id, sizeof id, "agent_%d", i + 1);
        json_object_set_new(fallbacks, id, json_string(g->fallbacks[i]));
        if (k < n) {
            g->person[i] = order[k++];
            continue;
        }
        /* Nobody for this seat: its fallback plays it from the start, as a
         * built-in seat, so the run never shows a person who was not there. */
        pl_seat_t *st = &cfg->seats[i];
        char *policy = strdup(g->fallbacks[i]), *mine = strdup(g->fallbacks[i]);
        if (!policy || !mine) {
            free(policy);
            free(mine);
            json_decref(fallbacks);
            goto fail;
        }
        free(st->policy);
        st->policy = policy;
        free(st->fallback);
        st->fallback = NULL;
        free(g->policies[i]);
        g->policies[i] = mine;
        g->substituted[i] = true;
    }
    if (!fallbacks) goto fail;
    if (snprintf(g->dir, sizeof g->dir, "%s/games/g%d", s->out, g->index + 1) >=
        (int)sizeof g->dir) {
        snprintf(err, sizeof err, "%s: the session folder's path is too long", s->out);
        goto fail;
    }
    snprintf(path, sizeof path, "%s/agents", g->dir);
    if (pl_mkdirs(path) != 0) {
        snprintf(err, sizeof err, "%s: %s", path, strerror(errno));
        goto fail;
    }
    snprintf(g->config_json, sizeof g->config_json, "%s/config.json", g->dir);
    json_t *cj = pl_config_to_json(cfg);
    if (!cj || json_dump_file(cj, g->config_json, JSON_INDENT(2)) != 0) {
        json_decref(cj);
        json_decref(fallbacks);
        snprintf(err, sizeof err, "%s: cannot write", g->config_json);
        goto fail;
    }
    json_decref(cj);
    json_t *assign = json_object();
    for (int i = 0; i < g->n_seats; i++) {
        if (g->person[i] < 0) continue;
        ses_person_t *p = &s->people[g->person[i]];
        p->state = SES_P_PLAYING;
        p->game = g->index;
        p->seat = i;
        p->since_ms = p->last_seen_ms = ses_mono_ms();
        char id[32];
        snprintf(id, sizeof id, "agent_%d", i + 1);
        json_object_set_new(assign, p->id, json_string(id));
    }
    ses_record(s, "game_started",
               json_pack("{s:i, s:i, s:s, s:I, s:s, s:o, s:o, s:i, s:f}", "game", g->index + 1,
                         "condition", g->condition + 1, "config", s->opts.configs[g->condition],
                         "seed", (json_int_t)g->seed, "run_dir", g->dir, "assignment", assign,
                         "fallbacks", fallbacks, "max_missed", g->max_missed, "dropout_s",
                         g->dropout_s));
    for (int i = 0; i < g->n_seats; i++)
        if (g->substituted[i]) s_record_substitution(g, i, "unfilled", 1);
    s->games[s->n_games++] = g;
    pl_config_destroy(&cfg);
    free(order);

    snprintf(path, sizeof path, "%s/broker.log", g->dir);
    char *argv[] = {"parley-broker",
                    "--config",
                    g->config_json,
                    "--out",
                    g->dir,
                    "--bind",
                    "tcp://127.0.0.1:*",
                    "--pub",
                    "tcp://127.0.0.1:*",
                    "--http",
                    "127.0.0.1:0",
                    "--start-timeout",
                    "60",
                    "--web-seats",
                    NULL};
    g->broker =
        s->opts.proc.spawn(s->opts.bin_dir, "parley-broker", argv, &g->ready_fd, path, NULL, false);
    if (g->broker < 0 || fcntl(g->ready_fd, F_SETFL, O_NONBLOCK) != 0 ||
        !(g->ready_ev =
              event_new(s->opts.base, g->ready_fd, EV_READ | EV_PERSIST, s_on_ready, g)) ||
        event_add(g->ready_ev, NULL) != 0) {
        fprintf(stderr, "parley session: g%d: cannot start the broker (see %s)\n", g->index + 1,
                path);
        if (g->broker < 0) g->broker = 0;
        ses_game_stop(g);
        return -1;
    }
    ses_write_tables(s);
    return 0;
fail:
    fprintf(stderr, "parley session: cannot start a game: %s\n", err[0] ? err : "out of memory");
    pl_config_destroy(&cfg);
    free(order);
    ses_game_destroy(&g);
    return -1;
}

void ses_game_stop(ses_game_t *g)
{
    if (g->state == SES_G_OVER) return;
    if (g->broker > 0 && g->srv->opts.proc.wait(g->broker, 0) < 0) {
        kill(g->broker, SIGTERM); /* it records a partial run; the tick sees it end */
        if (g->state == SES_G_STARTING) g->state = SES_G_PLAYING;
        return;
    }
    s_game_over(g, -1);
}

void ses_game_finish(ses_game_t *g)
{
    ses_proc_t *pr = &g->srv->opts.proc;
    int st = -1;
    if (g->broker > 0 && (st = pr->wait(g->broker, 0)) < 0) {
        kill(g->broker, SIGTERM);
        if ((st = pr->wait(g->broker, 5000)) < 0) {
            kill(g->broker, SIGKILL);
            st = pr->wait(g->broker, 1000);
        }
    }
    if (g->state != SES_G_OVER) s_game_over(g, st);
    g->broker = 0;
    for (int i = 0; g->agents && i < g->n_seats; i++) {
        if (g->agents[i] <= 0) continue;
        if (pr->wait(g->agents[i], 2000) < 0) {
            kill(g->agents[i], SIGTERM);
            if (pr->wait(g->agents[i], 2000) < 0) {
                kill(g->agents[i], SIGKILL);
                pr->wait(g->agents[i], 1000);
            }
        }
        g->agents[i] = 0;
    }
}

void ses_game_destroy(ses_game_t **pg)
{
    ses_game_t *g = *pg;
    if (!g) return;
    /* Requests still on their way: the person gets an answer, nothing leaks. */
    while (g->pending) {
        ses_proxy_t *x = g->pending;
        if (x->req)
            s_reply(x->req, 503,
                    json_pack("{s:s, s:i}", "error", "the session is ending", "status", 503));
        s_proxy_free(x);
    }
    if (g->conn) evhttp_connection_free(g->conn);
    if (g->ready_ev) event_free(g->ready_ev);
    if (g->ready_fd >= 0) close(g->ready_fd);
    for (int i = 0; i < g->n_seats; i++) {
        if (g->policies) free(g->policies[i]);
        if (g->tokens) free(g->tokens[i]);
    }
    free(g->policies);
    free(g->tokens);
    free(g->person);
    free(g->agents);
    free(g->missed);
    free(g->substituted);
    for (int i = 0; g->fallbacks && i < g->n_seats; i++) free(g->fallbacks[i]);
    free(g->fallbacks);
    free(g);
    *pg = NULL;
}
