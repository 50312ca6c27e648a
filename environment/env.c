/* env.c: the game's names, configuration and lifecycle (GAME.md): error and
 * name tables, the paper preset and its checks, creating and destroying a
 * game, getters, and piece-name matching. The event record is env_event.c;
 * the rules live beside it in env_transfer.c, env_submit.c, env_actions.c and
 * env_round.c. */
#include "env_internal.h"

#include <ctype.h>
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
    "reply_turn_answers_only",
    "too_many_actions",
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
    "a reply turn may only answer requests (send_information)",
    "more actions than communication.max_actions_per_turn allows",
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
    c->misreport_rate = 0.5;
    c->show_revenue_board = c->show_exchanges = c->show_public_notices = true;
    c->show_receipt_notice = c->show_thoughts = true;
    c->submit_fallback_first = true;
    c->tell_failed_submission = false;
    c->report_invalid_actions = false;
    c->truncate_history = false;
    c->automation = ENV_AUTO_NONE;
    c->instant_perfect_only = true;
    c->submit_exact_names = true;
    c->automated_as_agents = true;
    c->auto_request_once = true;
    c->count_failed_sends = true;
    c->request_form_only = true;
    c->first_bonus = 0;
    c->min_pieces_per_task = 0;
    c->new_task_on_completion = true;
    c->unique_distribution = false;
    c->max_actions_per_turn = -1;
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
    if (!(c->misreport_rate >= 0.0 && c->misreport_rate <= 1.0))
        S_REFUSE("revenue.incorrect_value_penalty must be between 0 and 1 (the rate by which "
                 "each misreported piece cuts the payout), got %g",
                 c->misreport_rate);
    if (c->first_bonus < 0)
        S_REFUSE("revenue.bonus_for_first must not be negative (got %lld)",
                 (long long)c->first_bonus);
    if (c->min_pieces_per_task < 0 || c->min_pieces_per_task > c->pieces_per_task)
        S_REFUSE("tasks.min_pieces_per_task must be between 1 and tasks.max_pieces_per_task "
                 "(%d), got %d",
                 c->pieces_per_task, c->min_pieces_per_task);
    if (c->unique_distribution &&
        (int64_t)c->n_agents * c->pieces_per_agent != (int64_t)c->total_pieces)
        S_REFUSE("information.unique_distribution needs information.total_pieces (%d) to equal "
                 "simulation.agents x information.pieces_per_agent (%lld)",
                 c->total_pieces, (long long)c->n_agents * c->pieces_per_agent);
    if (c->n_info_templates < 0 || c->n_info_templates > ENV_MAX_TEMPLATES ||
        c->n_task_templates < 0 || c->n_task_templates > ENV_MAX_TEMPLATES)
        S_REFUSE("at most %d templates per list", ENV_MAX_TEMPLATES);
    for (int i = 0; i < c->n_info_templates; i++) {
        /* Piece i must carry its own number: that is how names are found in text. */
        const char *t = c->info_templates[i], *at = strstr(t, "{n}");
        if (!at || strstr(at + 3, "{n}") || strchr(t, '%') || !memchr(t, 0, ENV_TEMPLATE_LEN))
            S_REFUSE("information.info_templates: '%.60s' must hold \"{n}\" exactly once and "
                     "no '%%'",
                     t);
        for (const char *d = t; *d; d++)
            if (*d >= '0' && *d <= '9')
                S_REFUSE("information.info_templates: '%.60s' must not hold digits other "
                         "than {n}",
                         t);
    }
    for (int i = 0; i < c->n_task_templates; i++)
        if (!memchr(c->task_templates[i], 0, ENV_TEMPLATE_LEN) || !c->task_templates[i][0])
            S_REFUSE("tasks.task_templates: an empty or overlong template");
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

/* ------------------------------------------------------------ lifecycle -- */

static env_game_t *s_game_new(const env_config_t *c, env_event_fn sink, env_text_fn text_sink,
                              void *sink_ctx, int *err);

env_game_t *env_game_new(const env_config_t *c, env_event_fn sink, void *sink_ctx, int *err)
{
    return s_game_new(c, sink, NULL, sink_ctx, err);
}

env_game_t *env_game_new_text(const env_config_t *c, env_text_fn sink, void *sink_ctx, int *err)
{
    return s_game_new(c, NULL, sink, sink_ctx, err);
}

static env_game_t *s_game_new(const env_config_t *c, env_event_fn sink, env_text_fn text_sink,
                              void *sink_ctx, int *err)
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
    g->text_sink = text_sink;
    g->sink_ctx = sink_ctx;
    if (text_sink && !(g->ew = env_jsonw_new())) goto fail;
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
    g->reply_owed = calloc(n, sizeof *g->reply_owed);
    g->holder_count = calloc((size_t)g->p, sizeof *g->holder_count);
    g->holders = calloc((size_t)g->p, sizeof *g->holders);
    if (!g->holder_count || !g->holders || !g->piece_names || !g->piece_values || !g->agents ||
        !g->agent_ids || !g->order || !g->dir_count || !g->dir_pieces || !g->board_snap ||
        !g->obs_board || !g->reply_pending || !g->reply_owed)
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
    env_jsonw_destroy(&g->ew);
    VEC_FREE(g->ev_copies);
    VEC_FREE(g->turn_asks);
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
        env_set_free(&a->sent_to);
        env_map_free(&a->req_map);
    }
    free(g->agents);
    free(g->agent_ids);
    free(g->piece_names);
    free(g->piece_q);
    free(g->piece_qn);
    free(g->agent_q);
    free(g->agent_qn);
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
    free(g->reply_owed);
    VEC_FREE(g->tasks);
    VEC_FREE(g->public);
    VEC_FREE(g->broadcasts);
    VEC_FREE(g->exchanges);
    VEC_FREE(g->replies);
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
int env_parse_agent(int n, const char *id)
{
    if (!id) return -1;
    /* As written nearly always ("agent_3"): no case-folding compare then. */
    if (!(id[0] == 'a' && id[1] == 'g' && id[2] == 'e' && id[3] == 'n' && id[4] == 't' &&
          id[5] == '_')) {
        while (isspace((unsigned char)*id)) id++;
        if (strncasecmp(id, "agent_", 6) != 0) return -1;
    }
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
    return env_parse_agent(g->n, id);
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
int env_piece_exact(char *const *names, int p, const char *name)
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
    return env_piece_exact(g->piece_names, g->p, name);
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
    const env_task_t *t = &g->tasks.v[g->agents[agent].active.v[k]];
    *n = t->n_pieces;
    return t->pieces;
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

/* The maximal digit runs of a text with a value that names a piece (1 to
 * n_pieces), in order: where each starts, and its value. */
typedef struct {
    const char *at;
    long v;
} s_run_t;
enum { S_MAX_RUNS = 64 };

/* Whether `name` (piece v - 1) occurs in `text`, case-insensitive. Tried first
 * where its number would stand if it is the run `num` (where a message that
 * names a piece nearly always has it: one comparison). Then, for a name whose
 * number has text on both sides ("Q12 sales data"), at the text's other runs
 * of the same value: an occurrence of such a name anywhere puts a maximal run
 * of its number at that place, so these are the only places to look (`runs`
 * holds all of them, or is NULL). Otherwise, a scan of the whole text. */
static bool s_named_at(const char *text, const char *num, const char *name, long v,
                       const s_run_t *runs, size_t n_runs, long n_pieces)
{
    size_t at = strcspn(name, "0123456789"), len = strlen(name);
    if (name[at] && (size_t)(num - text) >= at && strncasecmp(num - at, name, len) == 0)
        return true;
    if (runs && at > 0 && name[at]) {
        long nv = 0;
        size_t k = at;
        while (isdigit((unsigned char)name[k]) && nv <= n_pieces) nv = nv * 10 + (name[k++] - '0');
        if (nv == v && name[k] && !isdigit((unsigned char)name[k])) {
            for (size_t j = 0; j < n_runs; j++)
                if (runs[j].v == v && runs[j].at != num && (size_t)(runs[j].at - text) >= at &&
                    strncasecmp(runs[j].at - at, name, len) == 0)
                    return true;
            return false;
        }
    }
    return env_contains_ci(text, name);
}

/* Adds piece v - 1 to out unless it is there or not named; the count. */
static size_t s_found(const env_names_t *names, const char *text, const char *num, long v,
                      const s_run_t *runs, size_t n_runs, int *out, size_t cap, size_t found)
{
    int piece = (int)v - 1;
    for (size_t i = 0; i < found && i < cap; i++)
        if (out[i] == piece) return found;
    if (!s_named_at(text, num, names->piece_names[piece], v, runs, n_runs, names->n_pieces))
        return found;
    if (found < cap) out[found] = piece;
    return found + 1;
}

size_t env_find_pieces(const env_names_t *names, const char *text, int *out, size_t cap)
{
    size_t found = 0;
    if (!text) return 0;
    /* The runs first, then each checked in order (a text with more runs than
     * the table holds is read as it comes, each name looked for everywhere). */
    s_run_t runs[S_MAX_RUNS];
    size_t n_runs = 0;
    bool all = true;
    /* From run to run (libc's strcspn and strspn step over the rest many
     * bytes at a time): each place found starts a maximal run. */
    static const char digits[] = "0123456789";
    for (const char *s = text + strcspn(text, digits); *s; s += strcspn(s, digits)) {
        long v = 0;
        for (const char *e = s; isdigit((unsigned char)*e) && v <= names->n_pieces; e++)
            v = v * 10 + (*e - '0');
        const char *at = s;
        s += strspn(s, digits);
        if (v < 1 || v > names->n_pieces) continue;
        if (n_runs == S_MAX_RUNS) {
            all = false;
            break;
        }
        runs[n_runs++] = (s_run_t){at, v};
    }
    if (all) {
        for (size_t r = 0; r < n_runs; r++)
            found = s_found(names, text, runs[r].at, runs[r].v, runs, n_runs, out, cap, found);
        return found < cap ? found : cap;
    }
    for (const char *s = text; *s; s++) {
        if (!isdigit((unsigned char)*s) || (s > text && isdigit((unsigned char)s[-1]))) continue;
        long v = 0;
        const char *e = s;
        while (isdigit((unsigned char)*e) && v <= names->n_pieces) v = v * 10 + (*e++ - '0');
        if (v >= 1 && v <= names->n_pieces)
            found = s_found(names, text, s, v, NULL, 0, out, cap, found);
    }
    return found < cap ? found : cap;
}
