/* env.c: the rules of the zero-cost information-sharing game (GAME.md): the
 * configuration, rounds with the snapshot rule, the four actions, scoring,
 * automation arms, and the event record. Pure: no sockets, clocks or files. */
#include "env_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- names -- */

static const char *const s_err_names[ENV_ERR_COUNT] = {
    "ok",
    "no_memory",
    "invalid_argument",
    "unknown_recipient",
    "self_recipient",
    "empty",
    "unknown_piece",
    "values_mismatch",
    "already_sent",
    "not_held",
    "no_matching_task",
    "missing_pieces",
    "name_not_in_answer",
    "bad_action",
    "suppressed",
    "game_over",
    "not_your_turn",
    "timeout",
    "bad_config",
};

static const char *const s_err_text[ENV_ERR_COUNT] = {
    "success",
    "out of memory",
    "invalid argument",
    "the recipient is not an agent of this game",
    "an agent cannot send to itself",
    "a required text is missing or empty",
    "a piece name matches no piece of this game",
    "values must give a number for every listed piece and nothing else",
    "every listed piece was already sent to that recipient",
    "the sender does not hold every listed piece",
    "the answer matches none of the agent's active tasks",
    "the submitter does not hold every piece of the task",
    "a piece of the task is not named in the answer",
    "malformed action",
    "direct messages are not delivered in this condition",
    "the game is over",
    "it is not this seat's turn",
    "the turn's deadline passed",
    "configuration refused",
};

const char *env_err_name(int err)
{
    return err >= 0 && err < ENV_ERR_COUNT ? s_err_names[err] : "unknown";
}

const char *env_strerror(int err)
{
    return err >= 0 && err < ENV_ERR_COUNT ? s_err_text[err] : "unknown error";
}

static const char *const s_type_names[ENV_TYPE_COUNT] = {"neutral", "policy", "competitive",
                                                         "uncooperative"};
static const char *const s_auto_names[ENV_AUTO_COUNT] = {"none", "auto_fulfill", "auto_request"};
static const char *const s_act_names[ENV_ACT_COUNT] = {"send_message", "broadcast",
                                                       "send_information", "submit_task"};

static int s_lookup(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (strcasecmp(names[i], name) == 0) return i;
    return -1;
}

const char *env_type_name(env_type_t t)
{
    return t < ENV_TYPE_COUNT ? s_type_names[t] : "unknown";
}
int env_type_from_name(const char *name)
{
    return s_lookup(s_type_names, ENV_TYPE_COUNT, name);
}
const char *env_automation_name(env_automation_t a)
{
    return a < ENV_AUTO_COUNT ? s_auto_names[a] : "unknown";
}
int env_automation_from_name(const char *name)
{
    int i = s_lookup(s_auto_names, ENV_AUTO_COUNT, name);
    if (i < 0 && name && strcasecmp(name, "auto_fulfil") == 0) i = ENV_AUTO_FULFILL;
    return i;
}
const char *env_act_name(env_act_kind_t k)
{
    return k < ENV_ACT_COUNT ? s_act_names[k] : "unknown";
}
int env_act_from_name(const char *name)
{
    return s_lookup(s_act_names, ENV_ACT_COUNT, name);
}

/* --------------------------------------------------------------- config -- */

void env_config_paper(env_config_t *c)
{
    memset(c, 0, sizeof *c);
    c->seed = 1;
    c->rounds = 20;
    c->n_agents = 10;
    c->total_pieces = 100;
    c->pieces_per_agent = 10;
    c->pieces_per_task = 4;
    c->active_per_agent = 2;
    c->task_reward = 10000;
    c->sharing_bonus = 0;
    c->misreport_factor = 0.5;
    c->show_revenue_board = c->show_exchanges = c->show_public_notices = true;
    c->show_receipt_notice = c->show_thoughts = true;
    c->submit_fallback_first = true;
    c->tell_failed_submission = false;
    c->report_invalid_actions = false;
    c->truncate_history = false;
    c->automation = ENV_AUTO_NONE;
}

int env_config_check(const env_config_t *c, char *err, size_t errlen)
{
#define S_REFUSE(...)                                                                              \
    do {                                                                                           \
        if (err && errlen) snprintf(err, errlen, __VA_ARGS__);                                     \
        return ENV_ECONFIG;                                                                        \
    } while (0)
    if (c->rounds < 1 || c->rounds > 1000000)
        S_REFUSE("simulation.rounds must be between 1 and 1000000 (got %d)", c->rounds);
    if (c->n_agents < 2 || c->n_agents > ENV_MAX_AGENTS)
        S_REFUSE("simulation.agents must be between 2 and %d (got %d)", ENV_MAX_AGENTS,
                 c->n_agents);
    if (c->total_pieces < 1 || c->total_pieces > ENV_MAX_PIECES)
        S_REFUSE("information.total_pieces must be between 1 and %d (got %d)", ENV_MAX_PIECES,
                 c->total_pieces);
    if (c->pieces_per_agent < 0 || c->pieces_per_agent > c->total_pieces)
        S_REFUSE("information.pieces_per_agent must be between 0 and information.total_pieces "
                 "(%d), got %d",
                 c->total_pieces, c->pieces_per_agent);
    if ((int64_t)c->n_agents * c->pieces_per_agent > 2 * (int64_t)c->total_pieces + c->total_pieces)
        S_REFUSE("information.pieces_per_agent (%d) x simulation.agents (%d) exceeds what the "
                 "pieces can cover (each piece once, plus two extra copies)",
                 c->pieces_per_agent, c->n_agents);
    if (c->pieces_per_task < 1 || c->pieces_per_task > c->total_pieces)
        S_REFUSE("tasks.pieces_per_task must be between 1 and information.total_pieces (%d), "
                 "got %d",
                 c->total_pieces, c->pieces_per_task);
    if (c->pieces_per_task > 64)
        S_REFUSE("tasks.pieces_per_task must be at most 64 (got %d)", c->pieces_per_task);
    if (c->active_per_agent < 1 || c->active_per_agent > 100)
        S_REFUSE("tasks.active_per_agent must be between 1 and 100 (got %d)", c->active_per_agent);
    if (c->task_reward < 0)
        S_REFUSE("revenue.task_completion must not be negative (got %lld)",
                 (long long)c->task_reward);
    if (c->sharing_bonus < 0)
        S_REFUSE("revenue.information_sharing must not be negative (got %lld)",
                 (long long)c->sharing_bonus);
    if (!(c->misreport_factor >= 0.0 && c->misreport_factor <= 1.0))
        S_REFUSE("revenue.incorrect_value_penalty must be between 0 and 1 (the payout "
                 "multiplier per misreported piece), got %g",
                 c->misreport_factor);
    if ((unsigned)c->automation >= ENV_AUTO_COUNT) S_REFUSE("automation is not a known arm");
    int typed = 0;
    for (int t = 0; t < ENV_TYPE_COUNT; t++) {
        if (c->type_counts[t] < 0)
            S_REFUSE("agent_types.%s must not be negative", env_type_name((env_type_t)t));
        if (t != ENV_TYPE_NEUTRAL) typed += c->type_counts[t];
    }
    if (typed > c->n_agents)
        S_REFUSE("agent_types count %d typed agents but simulation.agents is %d", typed,
                 c->n_agents);
    if (c->type_counts[ENV_TYPE_NEUTRAL] > 0 &&
        typed + c->type_counts[ENV_TYPE_NEUTRAL] > c->n_agents)
        S_REFUSE("agent_types add up to %d but simulation.agents is %d",
                 typed + c->type_counts[ENV_TYPE_NEUTRAL], c->n_agents);
    return ENV_OK;
#undef S_REFUSE
}

/* --------------------------------------------------------------- events -- */

json_t *env_event_new(env_game_t *g, const char *type)
{
    g->seq++; /* counted even when nobody listens, so benchmarks can count */
    if (!g->sink) return NULL;
    json_t *ev = json_object();
    if (!ev) return NULL;
    json_object_set_new(ev, "seq", json_integer((json_int_t)g->seq));
    json_object_set_new(ev, "type", json_string(type));
    json_object_set_new(ev, "round", json_integer(g->round));
    return ev;
}

void env_event_emit(env_game_t *g, json_t *ev)
{
    g->sink(g->sink_ctx, ev);
}

/* ------------------------------------------------------------ lifecycle -- */

env_game_t *env_game_new(const env_config_t *c, env_event_fn sink, void *sink_ctx, int *err)
{
    int rc = ENV_ENOMEM;
    if (!c) {
        rc = ENV_EINVAL;
        goto fail_early;
    }
    if (env_config_check(c, NULL, 0)) {
        rc = ENV_ECONFIG;
        goto fail_early;
    }
    env_game_t *g = calloc(1, sizeof *g);
    if (!g) goto fail_early;
    g->cfg = *c;
    g->sink = sink;
    g->sink_ctx = sink_ctx;
    g->n = c->n_agents;
    g->p = c->total_pieces;
    g->words = ((size_t)g->p + 63) / 64;
    size_t n = (size_t)g->n;
    g->piece_names = calloc((size_t)g->p, sizeof *g->piece_names);
    g->piece_values = calloc((size_t)g->p, sizeof *g->piece_values);
    g->agents = calloc(n, sizeof *g->agents);
    g->agent_ids = calloc(n, sizeof *g->agent_ids);
    g->order = calloc(n, sizeof *g->order);
    g->dir_count = calloc(n, sizeof *g->dir_count);
    g->dir_pieces = calloc(n, sizeof *g->dir_pieces);
    g->board_snap = calloc(n, sizeof *g->board_snap);
    g->obs_board = calloc(n, sizeof *g->obs_board);
    g->reply_pending = calloc(n, sizeof *g->reply_pending);
    g->holder_count = calloc((size_t)g->p, sizeof *g->holder_count);
    g->holders = calloc((size_t)g->p, sizeof *g->holders);
    if (!g->holder_count || !g->holders || !g->piece_names || !g->piece_values || !g->agents ||
        !g->agent_ids || !g->order || !g->dir_count || !g->dir_pieces || !g->board_snap ||
        !g->obs_board || !g->reply_pending)
        goto fail;
    for (int i = 0; i < g->n; i++) {
        env_agent_t *a = &g->agents[i];
        snprintf(a->id, sizeof a->id, "agent_%d", i + 1);
        g->agent_ids[i] = a->id;
        a->held = calloc(g->words, sizeof *a->held);
        if (!a->held) goto fail;
        g->order[i] = i;
    }
    if (env_world_generate(g)) goto fail;
    if (err) *err = ENV_OK;
    return g;
fail:
    env_game_destroy(&g);
fail_early:
    if (err) *err = rc;
    return NULL;
}

void env_game_destroy(env_game_t **gp)
{
    if (!gp || !*gp) return;
    env_game_t *g = *gp;
    for (int i = 0; g->agents && i < g->n; i++) {
        env_agent_t *a = &g->agents[i];
        free(a->held);
        VEC_FREE(a->active);
        VEC_FREE(a->inv);
        VEC_FREE(a->msgs);
        VEC_FREE(a->notes);
        VEC_FREE(a->sent);
        VEC_FREE(a->received);
        VEC_FREE(a->requests);
        VEC_FREE(a->asks);
        VEC_FREE(a->thoughts);
        VEC_FREE(a->invalid);
    }
    free(g->agents);
    free(g->agent_ids);
    free(g->piece_names);
    free(g->piece_values);
    free(g->order);
    free(g->dir_count);
    free(g->dir_pieces);
    free(g->dir_buf);
    free(g->holder_count);
    free(g->holders);
    free(g->holder_buf);
    free(g->board_snap);
    free(g->obs_board);
    free(g->obs_tasks);
    free(g->reply_pending);
    VEC_FREE(g->tasks);
    VEC_FREE(g->broadcasts);
    VEC_FREE(g->exchanges);
    VEC_FREE(g->replies);
    env_set_free(&g->sent_set);
    env_map_free(&g->req_map);
    env_map_free(&g->ask_map);
    env_arena_free(&g->arena);
    free(g);
    *gp = NULL;
}

/* -------------------------------------------------------------- getters -- */

const env_config_t *env_game_config(const env_game_t *g)
{
    return &g->cfg;
}
int env_game_n_agents(const env_game_t *g)
{
    return g->n;
}
int env_game_n_pieces(const env_game_t *g)
{
    return g->p;
}
const char *env_agent_id(const env_game_t *g, int agent)
{
    return agent >= 0 && agent < g->n ? g->agents[agent].id : NULL;
}

/* "agent_3" (any case, surrounding spaces allowed) -> 2; -1 otherwise. */
static int s_parse_agent(int n, const char *id)
{
    if (!id) return -1;
    while (isspace((unsigned char)*id)) id++;
    if (strncasecmp(id, "agent_", 6) != 0) return -1;
    const char *p = id + 6;
    if (!isdigit((unsigned char)*p) || *p == '0') return -1;
    long v = 0;
    while (isdigit((unsigned char)*p) && v <= n) v = v * 10 + (*p++ - '0');
    while (isspace((unsigned char)*p)) p++;
    if (*p || v < 1 || v > n) return -1;
    return (int)v - 1;
}

int env_agent_index(const env_game_t *g, const char *id)
{
    return s_parse_agent(g->n, id);
}
env_type_t env_agent_type(const env_game_t *g, int agent)
{
    return g->agents[agent].type;
}
const char *env_piece_name(const env_game_t *g, int piece)
{
    return piece >= 0 && piece < g->p ? g->piece_names[piece] : NULL;
}
int env_piece_value(const env_game_t *g, int piece)
{
    return g->piece_values[piece];
}

/* Exact name, case-insensitive, surrounding spaces ignored. Names carry their
 * number, so the candidate is found from the digits, not by a scan of all. */
static int s_piece_exact(char *const *names, int p, const char *name)
{
    if (!name) return -1;
    while (isspace((unsigned char)*name)) name++;
    size_t len = strlen(name);
    while (len && isspace((unsigned char)name[len - 1])) len--;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)name[i]) || (i && isdigit((unsigned char)name[i - 1])))
            continue;
        long v = 0;
        size_t j = i;
        while (j < len && isdigit((unsigned char)name[j]) && v <= p) v = v * 10 + (name[j++] - '0');
        if (v >= 1 && v <= p && strlen(names[v - 1]) == len &&
            strncasecmp(names[v - 1], name, len) == 0)
            return (int)v - 1;
    }
    return -1;
}

int env_piece_index(const env_game_t *g, const char *name)
{
    return s_piece_exact(g->piece_names, g->p, name);
}

void env_set_reactive(env_game_t *g, int agent, bool reactive)
{
    if (agent >= 0 && agent < g->n) g->agents[agent].reactive = reactive;
}
bool env_is_reactive(const env_game_t *g, int agent)
{
    return agent >= 0 && agent < g->n && g->agents[agent].reactive;
}

int64_t env_agent_revenue(const env_game_t *g, int agent)
{
    return g->agents[agent].task_revenue + g->agents[agent].bonus_revenue;
}
int64_t env_agent_task_revenue(const env_game_t *g, int agent)
{
    return g->agents[agent].task_revenue;
}
int env_agent_tasks_done(const env_game_t *g, int agent)
{
    return g->agents[agent].tasks_done;
}
int env_tasks_done(const env_game_t *g)
{
    int t = 0;
    for (int i = 0; i < g->n; i++) t += g->agents[i].tasks_done;
    return t;
}
int64_t env_task_revenue(const env_game_t *g)
{
    int64_t t = 0;
    for (int i = 0; i < g->n; i++) t += g->agents[i].task_revenue;
    return t;
}
int64_t env_group_revenue(const env_game_t *g)
{
    int64_t t = 0;
    for (int i = 0; i < g->n; i++) t += env_agent_revenue(g, i);
    return t;
}
bool env_agent_holds(const env_game_t *g, int agent, int piece)
{
    return env_bit_get(g->agents[agent].held, piece);
}
int env_agent_n_tasks(const env_game_t *g, int agent)
{
    return (int)g->agents[agent].active.n;
}
const int *env_agent_task_pieces(const env_game_t *g, int agent, int k, int *n)
{
    *n = g->cfg.pieces_per_task;
    return g->tasks.v[g->agents[agent].active.v[k]].pieces;
}
const char *env_agent_task_id(const env_game_t *g, int agent, int k)
{
    return g->tasks.v[g->agents[agent].active.v[k]].id;
}
uint64_t env_events_emitted(const env_game_t *g)
{
    return g->seq;
}
bool env_game_over(const env_game_t *g)
{
    return g->over;
}
int env_round(const env_game_t *g)
{
    return g->round;
}

void env_game_names(const env_game_t *g, env_names_t *names)
{
    names->n_agents = g->n;
    names->n_pieces = g->p;
    names->agent_ids = (const char *const *)g->agent_ids;
    names->piece_names = (const char *const *)g->piece_names;
}

bool env_contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0) return true;
    int first = tolower((unsigned char)needle[0]);
    for (; *hay; hay++)
        if (tolower((unsigned char)*hay) == first && strncasecmp(hay, needle, n) == 0) return true;
    return false;
}

size_t env_find_pieces(const env_names_t *names, const char *text, int *out, size_t cap)
{
    size_t found = 0;
    if (!text) return 0;
    for (const char *s = text; *s; s++) {
        if (!isdigit((unsigned char)*s) || (s > text && isdigit((unsigned char)s[-1]))) continue;
        long v = 0;
        const char *e = s;
        while (isdigit((unsigned char)*e) && v <= names->n_pieces) v = v * 10 + (*e++ - '0');
        if (v < 1 || v > names->n_pieces) continue;
        int piece = (int)v - 1;
        bool dup = false;
        for (size_t i = 0; i < found && i < cap; i++) dup |= out[i] == piece;
        if (dup || !env_contains_ci(text, names->piece_names[piece])) continue;
        if (found < cap) out[found] = piece;
        found++;
    }
    return found < cap ? found : cap;
}

/* --------------------------------------------------------------- rounds -- */

static int s_snapshot(env_game_t *g)
{
    size_t total = 0;
    for (int a = 0; a < g->n; a++) total += g->agents[a].inv.n;
    if (env_vec_reserve((void **)&g->dir_buf, &g->dir_cap, total ? total : 1, sizeof(int)))
        return ENV_ENOMEM;
    size_t at = 0;
    for (int a = 0; a < g->n; a++) {
        env_agent_t *ag = &g->agents[a];
        g->dir_pieces[a] = g->dir_buf + at;
        /* Sorted by piece number: the bitset gives that order for free. */
        for (size_t w = 0; w < g->words; w++)
            for (uint64_t bits = ag->held[w]; bits; bits &= bits - 1)
                g->dir_buf[at++] = (int)(w * 64 + (size_t)__builtin_ctzll(bits));
        g->dir_count[a] = (uint32_t)(g->dir_buf + at - g->dir_pieces[a]);
        g->board_snap[a] = (env_board_row_t){a, env_agent_revenue(g, a), ag->tasks_done};
    }
    /* The board as shown: shuffled once per round, from the seed. */
    memcpy(g->obs_board, g->board_snap, sizeof *g->obs_board * (size_t)g->n);
    env_rng_t r;
    env_rng_seed(&r, g->cfg.seed, 0x80000000ULL + (uint64_t)g->round);
    for (int i = g->n - 1; i > 0; i--) {
        int j = (int)env_rng_below(&r, (uint64_t)i + 1);
        env_board_row_t t = g->obs_board[i];
        g->obs_board[i] = g->obs_board[j];
        g->obs_board[j] = t;
    }
    g->bc_snapshot = g->broadcasts.n;
    /* Inverted: holders of each piece, in agent id order. */
    if (env_vec_reserve((void **)&g->holder_buf, &g->holder_cap, total ? total : 1, sizeof(int)))
        return ENV_ENOMEM;
    memset(g->holder_count, 0, sizeof *g->holder_count * (size_t)g->p);
    for (size_t i = 0; i < total; i++) g->holder_count[g->dir_buf[i]]++;
    size_t off = 0;
    for (int p = 0; p < g->p; p++) {
        g->holders[p] = g->holder_buf + off;
        off += g->holder_count[p];
        g->holder_count[p] = 0;
    }
    for (int a = 0; a < g->n; a++)
        for (uint32_t k = 0; k < g->dir_count[a]; k++) {
            int p = g->dir_pieces[a][k];
            g->holders[p][g->holder_count[p]++] = a;
        }
    return ENV_OK;
}

int env_round_begin(env_game_t *g)
{
    if (g->over || g->round >= g->cfg.rounds) {
        g->over = true;
        return ENV_EGAME_OVER;
    }
    g->round++;
    g->in_round = true;
    g->round_tasks = g->round_messages = 0;
    for (int i = 0; i < g->n; i++) g->order[i] = i;
    env_rng_shuffle(&g->order_rng, g->order, g->n);
    if (s_snapshot(g)) return ENV_ENOMEM;
    json_t *ev = env_event_new(g, "round_start");
    if (ev) {
        json_t *order = json_array();
        for (int i = 0; i < g->n; i++)
            json_array_append_new(order, json_string(g->agents[g->order[i]].id));
        json_object_set_new(ev, "order", order);
        env_event_emit(g, ev);
    }
    return ENV_OK;
}

const int *env_round_order(const env_game_t *g, int *n)
{
    *n = g->n;
    return g->order;
}

/* --------------------------------------------------------------- helpers -- */

static int s_note(env_game_t *g, int agent, char *text)
{
    if (!text) return ENV_ENOMEM;
    env_note_t n = {g->round, text};
    return VEC_PUSH(g->agents[agent].notes, n);
}

static uint64_t s_sent_key(const env_game_t *g, int from, int to, int piece)
{
    return ((uint64_t)from * (uint64_t)g->n + (uint64_t)to) * (uint64_t)g->p + (uint64_t)piece;
}

/* The request `requester` made of `holder` for `piece`, or NULL. */
static env_request_t *s_find_request(env_game_t *g, int requester, int holder, int piece)
{
    int64_t i = env_map_get(&g->req_map, s_sent_key(g, requester, holder, piece));
    return i < 0 ? NULL : &g->agents[requester].requests.v[i];
}

static void s_set_result(env_result_t *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_set_result(env_result_t *r, int code, const char *fmt, ...)
{
    r->code = code;
    r->reason[0] = 0;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->reason, sizeof r->reason, fmt, ap);
        va_end(ap);
    }
}

/* Copies `pieces` (values[i] each) from `from` to `to`: the one place where
 * information moves, for agents' sends and automated ones alike. Pieces the
 * receiver holds are skipped. Returns how many were copied (or -ENV_ENOMEM). */
static int s_transfer(env_game_t *g, int from, int to, const int *pieces, const int64_t *values,
                      size_t n, bool automated)
{
    env_agent_t *src = &g->agents[from], *dst = &g->agents[to];
    json_t *list = g->sink ? json_array() : NULL;
    int copied = 0, misreports = 0;
    for (size_t i = 0; i < n; i++) {
        int p = pieces[i];
        if (env_bit_get(dst->held, p)) continue;
        int truth = g->piece_values[p];
        int64_t stated = values[i];
        int recorded = stated > INT32_MAX   ? INT32_MAX
                       : stated < INT32_MIN ? INT32_MIN
                                            : (int)stated;
        env_bit_set(dst->held, p);
        env_holding_t h = {p, recorded};
        env_sent_t s = {to, p, recorded, g->round};
        env_received_t rcv = {from, p, recorded, g->round};
        if (VEC_PUSH(dst->inv, h) || VEC_PUSH(src->sent, s) || VEC_PUSH(dst->received, rcv) ||
            env_set_add(&g->sent_set, s_sent_key(g, from, to, p)))
            return -ENV_ENOMEM;
        env_request_t *rq = s_find_request(g, to, from, p);
        if (rq) rq->fulfilled = true;
        bool mis = stated != truth;
        misreports += mis;
        copied++;
        if (list)
            json_array_append_new(list,
                                  json_pack("{s:s, s:I, s:i, s:b, s:b}", "piece", g->piece_names[p],
                                            "value", (json_int_t)stated, "true_value", truth,
                                            "misreport", mis, "requested", rq != NULL));
    }
    int64_t bonus = automated ? 0 : g->cfg.sharing_bonus * copied;
    src->bonus_revenue += bonus;
    if (copied) {
        env_exchange_t x = {from, to, copied, g->round};
        if (VEC_PUSH(g->exchanges, x)) return -ENV_ENOMEM;
        if (g->cfg.show_receipt_notice) {
            /* "agent_1 sent you 2 piece(s): Q1 sales data (value 70), ..." */
            size_t len = 64;
            for (size_t i = 0; i < n; i++) len += strlen(g->piece_names[pieces[i]]) + 32;
            char *text = env_arena_alloc(&g->arena, len);
            if (!text) return -ENV_ENOMEM;
            int at = snprintf(text, len, "%s sent you %d piece(s)%s:", src->id, copied,
                              automated ? " (automated)" : "");
            const env_holding_t *tail = dst->inv.v + dst->inv.n - copied;
            for (int i = 0; i < copied && at > 0 && (size_t)at < len; i++)
                at += snprintf(text + at, len - (size_t)at, "%s %s (value %d)", i ? "," : "",
                               g->piece_names[tail[i].piece], tail[i].value);
            if (s_note(g, to, text)) return -ENV_ENOMEM;
        }
    }
    json_t *ev = copied ? env_event_new(g, "transfer") : NULL;
    if (!ev) {
        json_decref(list);
        return copied;
    }
    json_object_set_new(ev, "from", json_string(src->id));
    json_object_set_new(ev, "to", json_string(dst->id));
    json_object_set_new(ev, "pieces", list);
    json_object_set_new(ev, "automated", json_boolean(automated));
    json_object_set_new(ev, "misreports", json_integer(misreports));
    json_object_set_new(ev, "bonus", json_integer(bonus));
    env_event_emit(g, ev);
    return copied;
}

/* Pieces named in a direct message, recorded as requests of `from` to `to`
 * when `from` lacks them (GAME.md: a request is a DM that names a piece). */
static int s_track_requests(env_game_t *g, int from, int to, const int *named, size_t n_named)
{
    env_agent_t *req = &g->agents[from], *holder = &g->agents[to];
    for (size_t i = 0; i < n_named; i++) {
        int p = named[i];
        if (env_bit_get(req->held, p)) continue;
        uint64_t key = s_sent_key(g, from, to, p);
        env_request_t *rq = s_find_request(g, from, to, p);
        if (rq) {
            rq->count++;
            holder->asks.v[env_map_get(&g->ask_map, key)].count++;
            continue;
        }
        env_request_t r = {to, p, 1, false};
        env_ask_t a = {from, p, 1, false};
        if (env_map_put(&g->req_map, key, (uint32_t)req->requests.n) ||
            env_map_put(&g->ask_map, key, (uint32_t)holder->asks.n) || VEC_PUSH(req->requests, r) ||
            VEC_PUSH(holder->asks, a))
            return ENV_ENOMEM;
    }
    return ENV_OK;
}

/* Auto-fulfil arm: every named piece the recipient holds moves at once. */
static int s_auto_fulfill(env_game_t *g, int requester, int holder, const int *named, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int p = named[i];
        if (!env_bit_get(g->agents[holder].held, p) || env_bit_get(g->agents[requester].held, p))
            continue;
        int64_t v = g->piece_values[p];
        if (s_transfer(g, holder, requester, &p, &v, 1, true) < 0) return ENV_ENOMEM;
    }
    return ENV_OK;
}

/* Delivers a direct message (agents' own, or automated ones). */
static int s_deliver(env_game_t *g, int from, int to, const char *content, bool automated,
                     bool delivered, env_turn_kind_t kind)
{
    env_msg_t *m = env_arena_alloc(&g->arena, sizeof *m);
    if (!m) return ENV_ENOMEM;
    m->from = from;
    m->to = to;
    m->round = g->round;
    m->content = env_arena_strdup(&g->arena, content);
    if (!m->content) return ENV_ENOMEM;
    if (VEC_PUSH(g->agents[from].msgs, (const env_msg_t *)m)) return ENV_ENOMEM;
    g->round_messages++;

    env_names_t names;
    env_game_names(g, &names);
    int named[64];
    size_t n_named = delivered ? env_find_pieces(&names, content, named, 64) : 0;

    json_t *ev = env_event_new(g, "message");
    if (ev) {
        json_t *np = json_array();
        for (size_t i = 0; i < n_named; i++)
            json_array_append_new(np, json_string(g->piece_names[named[i]]));
        json_object_set_new(ev, "kind", json_string("direct"));
        json_object_set_new(ev, "from", json_string(g->agents[from].id));
        json_object_set_new(ev, "to", json_string(g->agents[to].id));
        json_object_set_new(ev, "content", json_string(content));
        json_object_set_new(ev, "delivered", json_boolean(delivered));
        json_object_set_new(ev, "automated", json_boolean(automated));
        json_object_set_new(ev, "names_pieces", np);
        env_event_emit(g, ev);
    }
    if (!delivered) return ENV_OK;
    if (VEC_PUSH(g->agents[to].msgs, (const env_msg_t *)m)) return ENV_ENOMEM;
    if (s_track_requests(g, from, to, named, n_named)) return ENV_ENOMEM;
    if (g->cfg.automation == ENV_AUTO_FULFILL && s_auto_fulfill(g, from, to, named, n_named))
        return ENV_ENOMEM;
    if (kind == ENV_TURN_NORMAL && g->agents[to].reactive && !g->reply_pending[to]) {
        g->reply_pending[to] = true;
        if (VEC_PUSH(g->replies, to)) return ENV_ENOMEM;
    }
    return ENV_OK;
}

/* ------------------------------------------------------------- actions -- */

static int s_act_message(env_game_t *g, int agent, env_turn_kind_t kind, const env_action_t *a,
                         env_result_t *r)
{
    int to = s_parse_agent(g->n, a->to);
    if (to < 0) {
        s_set_result(r, ENV_EUNKNOWN_RECIPIENT, "unknown recipient '%.60s'", a->to ? a->to : "");
        return ENV_OK;
    }
    if (to == agent) {
        s_set_result(r, ENV_ESELF_RECIPIENT, "you cannot send a message to yourself");
        return ENV_OK;
    }
    if (!a->content || !*a->content) {
        s_set_result(r, ENV_EEMPTY, "the message has no content");
        return ENV_OK;
    }
    bool delivered = g->cfg.automation != ENV_AUTO_REQUEST;
    s_set_result(r, ENV_OK, NULL);
    return s_deliver(g, agent, to, a->content, false, delivered, kind);
}

static int s_act_broadcast(env_game_t *g, int agent, const env_action_t *a, env_result_t *r)
{
    if (!a->content || !*a->content) {
        s_set_result(r, ENV_EEMPTY, "the broadcast has no content");
        return ENV_OK;
    }
    env_msg_t m = {agent, -1, g->round, env_arena_strdup(&g->arena, a->content)};
    if (!m.content || VEC_PUSH(g->broadcasts, m)) return ENV_ENOMEM;
    g->round_messages++;
    json_t *ev = env_event_new(g, "message");
    if (ev) {
        json_object_set_new(ev, "kind", json_string("broadcast"));
        json_object_set_new(ev, "from", json_string(g->agents[agent].id));
        json_object_set_new(ev, "content", json_string(a->content));
        env_event_emit(g, ev);
    }
    s_set_result(r, ENV_OK, NULL);
    return ENV_OK;
}

static int s_act_send_info(env_game_t *g, int agent, const env_action_t *a, env_result_t *r)
{
    int to = s_parse_agent(g->n, a->to);
    if (to < 0) {
        s_set_result(r, ENV_EUNKNOWN_RECIPIENT, "unknown recipient '%.60s'", a->to ? a->to : "");
        return ENV_OK;
    }
    if (to == agent) {
        s_set_result(r, ENV_ESELF_RECIPIENT, "you cannot send information to yourself");
        return ENV_OK;
    }
    if (a->n_info == 0) {
        s_set_result(r, ENV_EEMPTY, "no information listed");
        return ENV_OK;
    }
    int *pieces = malloc(sizeof(int) * a->n_info);
    int64_t *values = malloc(sizeof(int64_t) * a->n_info);
    if (!pieces || !values) {
        free(pieces);
        free(values);
        return ENV_ENOMEM;
    }
    size_t n = 0;
    int rc = ENV_OK;
    /* Every listed name must be a piece; duplicates collapse. */
    for (size_t i = 0; i < a->n_info; i++) {
        int p = s_piece_exact(g->piece_names, g->p, a->info[i]);
        if (p < 0) {
            s_set_result(r, ENV_EUNKNOWN_PIECE, "unknown piece '%.80s'",
                         a->info[i] ? a->info[i] : "");
            goto done;
        }
        bool dup = false;
        for (size_t j = 0; j < n; j++) dup |= pieces[j] == p;
        if (!dup) pieces[n++] = p;
    }
    /* `values` gives a number for every listed piece and nothing else. */
    for (size_t j = 0; j < n; j++) {
        bool found = false;
        for (size_t k = 0; k < a->n_values; k++) {
            if (s_piece_exact(g->piece_names, g->p, a->value_names[k]) == pieces[j]) {
                values[j] = a->values[k];
                found = true;
                break;
            }
        }
        if (!found) {
            s_set_result(r, ENV_EVALUES_MISMATCH, "no value given for '%s'",
                         g->piece_names[pieces[j]]);
            goto done;
        }
    }
    for (size_t k = 0; k < a->n_values; k++) {
        int p = s_piece_exact(g->piece_names, g->p, a->value_names[k]);
        bool listed = false;
        for (size_t j = 0; j < n; j++) listed |= pieces[j] == p;
        if (!listed) {
            s_set_result(r, ENV_EVALUES_MISMATCH,
                         "a value is given for '%.80s', which is not listed",
                         a->value_names[k] ? a->value_names[k] : "");
            goto done;
        }
    }
    /* Pieces already sent to that recipient are dropped. */
    size_t keep = 0;
    for (size_t j = 0; j < n; j++) {
        if (env_set_has(&g->sent_set, s_sent_key(g, agent, to, pieces[j]))) continue;
        pieces[keep] = pieces[j];
        values[keep++] = values[j];
    }
    if (keep == 0) {
        s_set_result(r, ENV_EALREADY_SENT, "every listed piece was already sent to %s",
                     g->agents[to].id);
        goto done;
    }
    /* The sender must hold every listed piece, or the whole action fails. */
    for (size_t j = 0; j < keep; j++) {
        if (!env_bit_get(g->agents[agent].held, pieces[j])) {
            s_set_result(r, ENV_ENOT_HELD, "you do not hold '%s'", g->piece_names[pieces[j]]);
            goto done;
        }
    }
    /* Each request for these pieces is answered now, even where the receiver
     * already holds the piece (GAME.md: later holders' sends change nothing). */
    for (size_t j = 0; j < keep; j++) {
        int64_t ask = env_map_get(&g->ask_map, s_sent_key(g, to, agent, pieces[j]));
        if (ask >= 0) g->agents[agent].asks.v[ask].answered = true;
    }
    int copied = s_transfer(g, agent, to, pieces, values, keep, false);
    if (copied < 0) {
        rc = ENV_ENOMEM;
        goto done;
    }
    s_set_result(r, ENV_OK, NULL);
    r->transferred = copied;
done:
    free(pieces);
    free(values);
    return rc;
}

static void s_emit_task_failed(env_game_t *g, int agent, const env_task_t *t, const char *answer,
                               const env_result_t *r, bool told)
{
    json_t *ev = env_event_new(g, "task_failed");
    if (!ev) return;
    json_object_set_new(ev, "agent", json_string(g->agents[agent].id));
    json_object_set_new(ev, "task", t ? json_string(t->id) : json_null());
    json_object_set_new(ev, "answer", json_string(answer ? answer : ""));
    json_object_set_new(ev, "code", json_string(env_err_name(r->code)));
    json_object_set_new(ev, "reason", json_string(r->reason));
    json_object_set_new(ev, "told", json_boolean(told));
    env_event_emit(g, ev);
}

static int s_act_submit(env_game_t *g, int agent, const env_action_t *a, env_result_t *r)
{
    env_agent_t *ag = &g->agents[agent];
    const char *answer = a->content;
    int k = g->cfg.pieces_per_task;
    env_task_t *t = NULL;
    size_t slot = 0;
    if (!answer || !*answer) {
        s_set_result(r, ENV_EEMPTY, "the submission has no answer");
        goto failed;
    }
    env_names_t names;
    env_game_names(g, &names);
    int named[128];
    size_t n_named = env_find_pieces(&names, answer, named, 128);
    /* The active task whose piece set equals the named set. */
    for (size_t s = 0; (int)n_named == k && s < ag->active.n && !t; s++) {
        env_task_t *c = &g->tasks.v[ag->active.v[s]];
        bool all = true;
        for (int i = 0; i < k && all; i++) {
            bool in = false;
            for (size_t j = 0; j < n_named; j++) in |= named[j] == c->pieces[i];
            all = in;
        }
        if (all) {
            t = c;
            slot = s;
        }
    }
    if (!t) {
        if (!g->cfg.submit_fallback_first || ag->active.n == 0) {
            s_set_result(r, ENV_ENO_MATCHING_TASK,
                         "the pieces named in the answer match none of your active tasks");
            goto failed;
        }
        t = &g->tasks.v[ag->active.v[0]]; /* the original's fallback: the first task */
        slot = 0;
    }
    for (int i = 0; i < k; i++) {
        if (!env_bit_get(ag->held, t->pieces[i])) {
            s_set_result(r, ENV_EMISSING_PIECES, "%s needs '%s', which you do not hold", t->id,
                         g->piece_names[t->pieces[i]]);
            goto failed;
        }
    }
    for (int i = 0; i < k; i++) {
        if (!env_contains_ci(answer, g->piece_names[t->pieces[i]])) {
            s_set_result(r, ENV_ENAME_NOT_IN_ANSWER, "the answer does not name '%s' of %s",
                         g->piece_names[t->pieces[i]], t->id);
            goto failed;
        }
    }

    /* Success: each misreported value halves (compounding) the payout. */
    int mis = 0;
    size_t detail_len = 64;
    for (int i = 0; i < k; i++) detail_len += strlen(g->piece_names[t->pieces[i]]) + 48;
    char *detail = env_arena_alloc(&g->arena, detail_len);
    if (!detail) return ENV_ENOMEM;
    detail[0] = 0;
    int at = 0;
    json_t *bad = json_array();
    for (size_t j = 0; j < ag->inv.n; j++) {
        const env_holding_t *h = &ag->inv.v[j];
        bool in = false;
        for (int i = 0; i < k; i++) in |= h->piece == t->pieces[i];
        if (!in || h->value == g->piece_values[h->piece]) continue;
        mis++;
        if (at >= 0 && (size_t)at < detail_len)
            at += snprintf(detail + at, detail_len - (size_t)at, "%s%s: recorded %d, true %d",
                           mis > 1 ? "; " : "", g->piece_names[h->piece], h->value,
                           g->piece_values[h->piece]);
        json_array_append_new(bad, json_string(g->piece_names[h->piece]));
    }
    int64_t payout = llround((double)g->cfg.task_reward * pow(g->cfg.misreport_factor, mis));
    ag->task_revenue += payout;
    ag->tasks_done++;
    g->round_tasks++;
    t->done = true;
    r->payout = payout;
    s_set_result(r, ENV_OK, NULL);

    json_t *ev = env_event_new(g, "task_completed");
    if (ev) {
        json_t *ps = json_array();
        for (int i = 0; i < k; i++)
            json_array_append_new(ps, json_string(g->piece_names[t->pieces[i]]));
        json_object_set_new(ev, "agent", json_string(ag->id));
        json_object_set_new(ev, "task", json_string(t->id));
        json_object_set_new(ev, "pieces", ps);
        json_object_set_new(ev, "payout", json_integer(payout));
        json_object_set_new(ev, "misreports", json_integer(mis));
        json_object_set_new(ev, "misreported", bad);
        env_event_emit(g, ev);
    } else {
        json_decref(bad);
    }
    char *own = mis ? env_arena_printf(&g->arena,
                                       "You completed %s, but %d piece(s) had incorrect values "
                                       "(%s): payout reduced to $%lld.",
                                       t->id, mis, detail, (long long)payout)
                    : env_arena_printf(&g->arena, "You completed %s and earned $%lld.", t->id,
                                       (long long)payout);
    if (s_note(g, agent, own)) return ENV_ENOMEM;
    if (g->cfg.show_public_notices) {
        char *pub = env_arena_printf(&g->arena, "%s completed %s.", ag->id, t->id);
        char *pen =
            mis ? env_arena_printf(&g->arena, "%s was penalized for %d incorrect value(s) on %s.",
                                   ag->id, mis, t->id)
                : NULL;
        for (int o = 0; o < g->n; o++) {
            if (o == agent) continue;
            if (s_note(g, o, pub)) return ENV_ENOMEM;
            if (mis && s_note(g, o, pen)) return ENV_ENOMEM;
        }
    }
    /* The task is replaced at once by a new one, at the end of the list. */
    memmove(ag->active.v + slot, ag->active.v + slot + 1,
            (ag->active.n - slot - 1) * sizeof *ag->active.v);
    ag->active.n--;
    return env_task_new(g, agent);

failed:;
    bool told = g->cfg.tell_failed_submission;
    s_emit_task_failed(g, agent, t, answer, r, told);
    if (told) {
        char *txt = env_arena_printf(&g->arena, "Your task submission failed: %s.", r->reason);
        if (s_note(g, agent, txt)) return ENV_ENOMEM;
    }
    return ENV_OK;
}

static void s_emit_action(env_game_t *g, int agent, size_t index, env_turn_kind_t kind,
                          const env_action_t *a, const env_result_t *r)
{
    json_t *ev = env_event_new(g, "action");
    if (!ev) return;
    json_t *act = json_object();
    json_object_set_new(act, "type", json_string(env_act_name(a->kind)));
    if (a->to) json_object_set_new(act, "to", json_string(a->to));
    if (a->content)
        json_object_set_new(act, a->kind == ENV_ACT_SUBMIT_TASK ? "answer" : "content",
                            json_string(a->content));
    if (a->kind == ENV_ACT_SEND_INFORMATION) {
        json_t *info = json_array(), *vals = json_object();
        for (size_t i = 0; i < a->n_info; i++)
            json_array_append_new(info, json_string(a->info[i] ? a->info[i] : ""));
        for (size_t i = 0; i < a->n_values; i++)
            json_object_set_new(vals, a->value_names[i] ? a->value_names[i] : "",
                                json_integer((json_int_t)a->values[i]));
        json_object_set_new(act, "information", info);
        json_object_set_new(act, "values", vals);
    }
    json_object_set_new(ev, "agent", json_string(g->agents[agent].id));
    json_object_set_new(ev, "index", json_integer((json_int_t)index));
    json_object_set_new(ev, "turn", json_string(kind == ENV_TURN_REPLY ? "reply" : "normal"));
    json_object_set_new(ev, "action", act);
    json_object_set_new(ev, "ok", json_boolean(r->code == ENV_OK));
    json_object_set_new(ev, "code", json_string(env_err_name(r->code)));
    if (r->reason[0]) json_object_set_new(ev, "reason", json_string(r->reason));
    env_event_emit(g, ev);
}

int env_apply(env_game_t *g, int agent, env_turn_kind_t kind, const env_action_t *actions, size_t n,
              const char *thoughts, env_result_t *results)
{
    if (agent < 0 || agent >= g->n || (n && (!actions || !results))) return ENV_EINVAL;
    if (g->over) return ENV_EGAME_OVER;
    env_agent_t *ag = &g->agents[agent];
    ag->invalid.n = 0;
    if (kind == ENV_TURN_NORMAL) {
        /* A reply turn never owes further replies: no ping-pong. */
        for (size_t i = 0; i < g->replies.n; i++) g->reply_pending[g->replies.v[i]] = false;
        g->replies.n = 0;
    }
    json_t *ev = env_event_new(g, "turn");
    if (ev) {
        json_object_set_new(ev, "agent", json_string(ag->id));
        json_object_set_new(ev, "turn", json_string(kind == ENV_TURN_REPLY ? "reply" : "normal"));
        json_object_set_new(ev, "actions", json_integer((json_int_t)n));
        env_event_emit(g, ev);
    }
    if (thoughts && *thoughts) {
        env_note_t th = {g->round, env_arena_strdup(&g->arena, thoughts)};
        if (!th.text || VEC_PUSH(ag->thoughts, th)) return ENV_ENOMEM;
        json_t *tev = env_event_new(g, "thoughts");
        if (tev) {
            json_object_set_new(tev, "agent", json_string(ag->id));
            json_object_set_new(tev, "text", json_string(thoughts));
            env_event_emit(g, tev);
        }
    }
    for (size_t i = 0; i < n; i++) {
        const env_action_t *a = &actions[i];
        env_result_t *r = &results[i];
        memset(r, 0, sizeof *r);
        int rc;
        switch (a->kind) {
        case ENV_ACT_SEND_MESSAGE:
            rc = s_act_message(g, agent, kind, a, r);
            break;
        case ENV_ACT_BROADCAST:
            rc = s_act_broadcast(g, agent, a, r);
            break;
        case ENV_ACT_SEND_INFORMATION:
            rc = s_act_send_info(g, agent, a, r);
            break;
        case ENV_ACT_SUBMIT_TASK:
            rc = s_act_submit(g, agent, a, r);
            break;
        default:
            s_set_result(r, ENV_EBAD_ACTION, "unknown action type");
            rc = ENV_OK;
        }
        if (rc) return rc;
        s_emit_action(g, agent, i, kind, a, r);
        if (r->code != ENV_OK && g->cfg.report_invalid_actions) {
            env_invalid_t inv = {(int)i, r->code, env_arena_strdup(&g->arena, r->reason)};
            if (!inv.reason || VEC_PUSH(ag->invalid, inv)) return ENV_ENOMEM;
        }
    }
    return ENV_OK;
}

void env_record_missed(env_game_t *g, int agent, const char *why)
{
    if (agent < 0 || agent >= g->n) return;
    g->agents[agent].missed++;
    json_t *ev = env_event_new(g, "missed_turn");
    if (ev) {
        json_object_set_new(ev, "agent", json_string(g->agents[agent].id));
        json_object_set_new(ev, "why", json_string(why ? why : "no decision"));
        env_event_emit(g, ev);
    }
}

int env_take_replies(env_game_t *g, int *out, int cap)
{
    int n = 0;
    for (size_t i = 0; i < g->replies.n; i++) {
        if (n < cap) out[n++] = g->replies.v[i];
        g->reply_pending[g->replies.v[i]] = false;
    }
    g->replies.n = 0;
    return n;
}

/* Auto-request arm: after all turns of a round, every missing piece of every
 * active task is asked for, from the agent, of the first other holder. */
static int s_auto_request(env_game_t *g)
{
    char text[256];
    for (int a = 0; a < g->n; a++) {
        env_agent_t *ag = &g->agents[a];
        for (size_t s = 0; s < ag->active.n; s++) {
            const env_task_t *t = &g->tasks.v[ag->active.v[s]];
            for (int i = 0; i < g->cfg.pieces_per_task; i++) {
                int p = t->pieces[i];
                if (env_bit_get(ag->held, p)) continue;
                int holder = -1;
                for (int h = 0; h < g->n && holder < 0; h++)
                    if (h != a && env_bit_get(g->agents[h].held, p)) holder = h;
                if (holder < 0) continue;
                snprintf(text, sizeof text,
                         "I need %s to complete my task. Could you please share it?",
                         g->piece_names[p]);
                /* Passed as a reply-turn message: system requests owe no reply turn. */
                if (s_deliver(g, a, holder, text, true, true, ENV_TURN_REPLY)) return ENV_ENOMEM;
            }
        }
    }
    return ENV_OK;
}

int env_round_end(env_game_t *g)
{
    if (!g->in_round) return ENV_EINVAL;
    if (g->cfg.automation == ENV_AUTO_REQUEST && s_auto_request(g)) return ENV_ENOMEM;
    g->in_round = false;
    json_t *ev = env_event_new(g, "round_end");
    if (ev) {
        json_object_set_new(ev, "tasks", json_integer(g->round_tasks));
        json_object_set_new(ev, "messages", json_integer(g->round_messages));
        json_object_set_new(ev, "tasks_total", json_integer(env_tasks_done(g)));
        json_object_set_new(ev, "task_revenue", json_integer(env_task_revenue(g)));
        json_object_set_new(ev, "group_revenue", json_integer(env_group_revenue(g)));
        env_event_emit(g, ev);
    }
    if (g->round >= g->cfg.rounds) g->over = true;
    return ENV_OK;
}

void env_game_finish(env_game_t *g)
{
    if (g->finished) return;
    g->finished = g->over = true;
    json_t *ev = env_event_new(g, "run_end");
    if (!ev) return;
    json_t *board = json_array();
    for (int a = 0; a < g->n; a++) {
        const env_agent_t *ag = &g->agents[a];
        json_array_append_new(board, json_pack("{s:s, s:s, s:I, s:I, s:I, s:i, s:i}", "agent",
                                               ag->id, "type", env_type_name(ag->type), "revenue",
                                               (json_int_t)env_agent_revenue(g, a), "task_revenue",
                                               (json_int_t)ag->task_revenue, "bonus_revenue",
                                               (json_int_t)ag->bonus_revenue, "tasks",
                                               ag->tasks_done, "missed_turns", ag->missed));
    }
    json_object_set_new(ev, "board", board);
    json_object_set_new(ev, "tasks", json_integer(env_tasks_done(g)));
    json_object_set_new(ev, "task_revenue", json_integer(env_task_revenue(g)));
    json_object_set_new(ev, "group_revenue", json_integer(env_group_revenue(g)));
    env_event_emit(g, ev);
}
