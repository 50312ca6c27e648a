/* env_policy.c: the scripted seats (GAME.md's perfect agent and the baselines
 * of DESIGN.md) and the in-process game loop that plays them. The policies see
 * only an observation and the names, exactly what an agent process receives,
 * so the same code decides in-process and behind a socket. */
#include "env_internal.h"
#include "env_turns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_policy_names[ENV_POLICY_COUNT] = {"perfect", "passive", "selfish",
                                                             "helper", "random"};

const char *env_policy_name(env_policy_t p)
{
    return p < ENV_POLICY_COUNT ? s_policy_names[p] : "unknown";
}

int env_policy_from_name(const char *name)
{
    for (int i = 0; name && i < ENV_POLICY_COUNT; i++)
        if (strcmp(name, s_policy_names[i]) == 0) return i;
    return -1;
}

bool env_policy_reactive(env_policy_t p)
{
    /* GAME.md: a request to a perfect agent is filled at once. */
    return p == ENV_POLICY_PERFECT;
}

/* Keys of the set below: (agent, piece) pairs, tagged by what they mean. */
#define S_KEY(tag, agent, piece)                                                                   \
    ((uint64_t)(tag) << 62 | (uint64_t)(agent) << 31 | (uint32_t)(piece))
enum { S_PLANNED_SEND = 0, S_ASKED = 1, S_SENT = 2, S_PLANNED_ASK = 3 };

/* What a policy knows of itself at the start of its turn. */
typedef struct {
    const env_names_t *names;
    const env_obs_t *o;
    uint64_t *held; /* own pieces, bitset */
    env_set_t seen; /* what was asked and sent before, what this decision plans */
    bool exact;     /* answer only the study's "REQUEST: <name> for ..." asks */
    bool text;      /* requests are read from the messages (no structured asks) */
} s_view_t;

static bool s_dir_holds(const env_obs_t *o, int agent, int piece)
{
    const int *v = o->dir_pieces[agent];
    uint32_t lo = 0, hi = o->dir_count[agent];
    while (lo < hi) { /* sorted: binary search */
        uint32_t mid = (lo + hi) / 2;
        if (v[mid] < piece)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < o->dir_count[agent] && v[lo] == piece;
}

/* Fills the set with what the checks below will ask about: past requests for
 * pieces that are missing now (a bit test per request, hashing only the few
 * that matter), and, when the requests received are not given as data, past
 * sends. Once per turn instead of a scan of the lists per candidate. */
static int s_index_past(s_view_t *v)
{
    const env_obs_t *o = v->o;
    size_t words = ((size_t)v->names->n_pieces + 63) / 64;
    uint64_t *missing = calloc(words, sizeof *missing);
    if (!missing) return ENV_ENOMEM;
    for (size_t t = 0; t < o->n_tasks; t++)
        for (int k = 0; k < o->tasks[t].n_pieces; k++)
            if (!env_bit_get(v->held, o->tasks[t].pieces[k]))
                env_bit_set(missing, o->tasks[t].pieces[k]);
    int rc = ENV_OK;
    for (size_t i = 0; i < o->n_requests && !rc; i++)
        if (env_bit_get(missing, o->requests[i].piece))
            rc = env_set_add(&v->seen, S_KEY(S_ASKED, o->requests[i].holder, o->requests[i].piece));
    for (size_t i = 0; i < o->n_sent && !rc && v->text; i++)
        rc = env_set_add(&v->seen, S_KEY(S_SENT, o->sent[i].to, o->sent[i].piece));
    free(missing);
    return rc;
}

static bool s_seen(const s_view_t *v, int tag, int agent, int piece)
{
    return env_set_has(&v->seen, S_KEY(tag, agent, piece));
}

/* (1) Ask every holder (round snapshot) of every missing piece, once a game. */
static int s_request_missing(s_view_t *v, env_decision_t *d)
{
    const env_obs_t *o = v->o;
    const env_names_t *nm = v->names;
    char text[512];
    for (size_t t = 0; t < o->n_tasks; t++) {
        for (int k = 0; k < o->tasks[t].n_pieces; k++) {
            int p = o->tasks[t].pieces[k];
            if (env_bit_get(v->held, p)) continue;
            for (uint32_t h = 0; h < o->holder_count[p]; h++) {
                int holder = o->holders[p][h];
                if (holder == o->agent || s_seen(v, S_ASKED, holder, p) ||
                    s_seen(v, S_PLANNED_ASK, holder, p))
                    continue;
                /* "REQUEST: <piece> for <task>" */
                size_t at = env_append(text, sizeof text, 0, "REQUEST: ");
                at = env_append(text, sizeof text, at, nm->piece_names[p]);
                at = env_append(text, sizeof text, at, " for ");
                env_append(text, sizeof text, at, o->tasks[t].id);
                if (env_decision_message(d, nm->agent_ids[holder], text) ||
                    env_set_add(&v->seen, S_KEY(S_PLANNED_ASK, holder, p)))
                    return ENV_ENOMEM;
            }
        }
    }
    return ENV_OK;
}

static int s_value_of(const env_obs_t *o, int piece)
{
    for (size_t i = 0; i < o->n_inventory; i++)
        if (o->inventory[i].piece == piece) return o->inventory[i].value;
    return 0;
}

/* Sends `piece` to `to` unless it was sent, is planned, or `to` holds it. */
static int s_answer(s_view_t *v, env_decision_t *d, int to, int piece)
{
    const env_obs_t *o = v->o;
    if (to < 0 || to >= v->names->n_agents || to == o->agent || !env_bit_get(v->held, piece) ||
        s_seen(v, S_PLANNED_SEND, to, piece))
        return ENV_OK;
    /* Reading messages, every old request is seen again each turn: skip the
     * ones answered before or no longer needed (the asker holds the piece). */
    if (v->text && (s_dir_holds(o, to, piece) || s_seen(v, S_SENT, to, piece))) return ENV_OK;
    if (env_decision_send(d, v->names->agent_ids[to], v->names->piece_names[piece],
                          s_value_of(o, piece)) ||
        env_set_add(&v->seen, S_KEY(S_PLANNED_SEND, to, piece)))
        return ENV_ENOMEM;
    return ENV_OK;
}

/* (2) Answer every request received with the piece at its value. With
 * v->exact (the study's perfect agent, agent.py _take_perfect_turn) only
 * "REQUEST: <name> for ..." messages count: other wordings, the automated
 * arm's "I need <piece> ..." among them, go unanswered. */
static int s_answer_requests(s_view_t *v, env_decision_t *d)
{
    const env_obs_t *o = v->o;
    if (!v->text) { /* the structured list: no text to read */
        for (size_t i = 0; i < o->n_asks; i++)
            if (!o->asks[i].answered && (o->asks[i].exact || !v->exact) &&
                s_answer(v, d, o->asks[i].from, o->asks[i].piece))
                return ENV_ENOMEM;
        return ENV_OK;
    }
    int named[64];
    for (size_t i = 0; i < o->n_msgs; i++) {
        const env_msg_t *m = o->msgs[i];
        if (m->to != o->agent || m->from == o->agent) continue;
        size_t n = 0;
        if (v->exact) {
            named[0] = env_request_piece(v->names, m->content);
            n = named[0] >= 0;
        } else
            n = env_find_pieces(v->names, m->content, named, 64);
        for (size_t j = 0; j < n; j++)
            if (s_answer(v, d, m->from, named[j])) return ENV_ENOMEM;
    }
    return ENV_OK;
}

/* (3) Submit every task whose pieces are all held now. */
static int s_submit_ready(s_view_t *v, env_decision_t *d)
{
    const env_obs_t *o = v->o;
    for (size_t t = 0; t < o->n_tasks; t++) {
        const env_task_view_t *task = &o->tasks[t];
        bool ready = true;
        size_t len = 32;
        for (int k = 0; k < task->n_pieces && ready; k++) {
            ready = env_bit_get(v->held, task->pieces[k]);
            len += strlen(v->names->piece_names[task->pieces[k]]) + 2;
        }
        if (!ready) continue;
        char *answer = malloc(len);
        if (!answer) return ENV_ENOMEM;
        size_t at = env_append(answer, len, 0, "Combined result of: ");
        for (int k = 0; k < task->n_pieces; k++) {
            if (k) at = env_append(answer, len, at, ", ");
            at = env_append(answer, len, at, v->names->piece_names[task->pieces[k]]);
        }
        int rc = env_decision_submit(d, answer);
        free(answer);
        if (rc) return rc;
    }
    return ENV_OK;
}

static int s_random(s_view_t *v, uint64_t *state, env_decision_t *d)
{
    const env_obs_t *o = v->o;
    const env_names_t *nm = v->names;
    env_rng_t r;
    env_rng_seed(&r, *state, (uint64_t)o->agent * 7919 + (uint64_t)o->round);
    *state = env_rng_next(&r);
    int n = (int)env_rng_below(&r, 4);
    char text[512];
    for (int i = 0; i < n; i++) {
        int to = (int)env_rng_below(&r, (uint64_t)nm->n_agents);
        int p = (int)env_rng_below(&r, (uint64_t)nm->n_pieces);
        int rc = ENV_OK;
        switch (env_rng_below(&r, 4)) {
        case 0:
            snprintf(text, sizeof text, "Could you send me %s?", nm->piece_names[p]);
            rc = env_decision_message(d, nm->agent_ids[to], text);
            break;
        case 1:
            snprintf(text, sizeof text, "Who has %s?", nm->piece_names[p]);
            rc = env_decision_broadcast(d, text);
            break;
        case 2:
            if (o->n_inventory) {
                const env_holding_t *h = &o->inventory[env_rng_below(&r, o->n_inventory)];
                int64_t value = env_rng_below(&r, 5) ? h->value : (int64_t)env_rng_below(&r, 101);
                rc = env_decision_send(d, nm->agent_ids[to], nm->piece_names[h->piece], value);
            }
            break;
        default:
            rc = s_submit_ready(v, d);
        }
        if (rc) return rc;
    }
    return ENV_OK;
}

int env_policy_decide(env_policy_t p, const env_names_t *names, const env_obs_t *o,
                      uint64_t *rng_state, env_decision_t *d)
{
    env_decision_clear(d);
    if (p == ENV_POLICY_PASSIVE) return ENV_OK;
    s_view_t v = {.names = names,
                  .o = o,
                  .exact = p == ENV_POLICY_PERFECT && o->requests_exact,
                  .text = !o->has_asks};
    v.held = calloc(((size_t)names->n_pieces + 63) / 64, sizeof(uint64_t));
    if (!v.held) return ENV_ENOMEM;
    for (size_t i = 0; i < o->n_inventory; i++) env_bit_set(v.held, o->inventory[i].piece);
    int rc = s_index_past(&v);
    bool reply = o->kind == ENV_TURN_REPLY;
    switch (p) {
    case ENV_POLICY_PERFECT:
        if (!rc && !reply) rc = s_request_missing(&v, d);
        if (!rc) rc = s_answer_requests(&v, d);
        if (!rc && !reply) rc = s_submit_ready(&v, d);
        break;
    case ENV_POLICY_SELFISH:
        if (!rc && !reply) rc = s_request_missing(&v, d);
        if (!rc && !reply) rc = s_submit_ready(&v, d);
        break;
    case ENV_POLICY_HELPER:
        if (!rc) rc = s_answer_requests(&v, d);
        if (!rc && !reply) rc = s_submit_ready(&v, d);
        break;
    case ENV_POLICY_RANDOM: {
        uint64_t dummy = 0;
        if (!rc) rc = s_random(&v, rng_state ? rng_state : &dummy, d);
        break;
    }
    default:
        break;
    }
    free(v.held);
    env_set_free(&v.seen);
    return rc;
}

/* ------------------------------------------------------------ in-process -- */

static int s_turn(env_game_t *g, env_policy_t pol, int agent, env_turn_kind_t kind,
                  const env_names_t *names, uint64_t *rng, env_decision_t *d,
                  env_result_t **results, size_t *cap)
{
    env_obs_t o;
    int rc = env_observe(g, agent, kind, &o);
    if (!rc) rc = env_policy_decide(pol, names, &o, rng, d);
    if (rc) return rc;
    size_t n = env_decision_count(d);
    if (env_vec_reserve((void **)results, cap, n ? n : 1, sizeof **results)) return ENV_ENOMEM;
    return env_apply(g, agent, kind, env_decision_actions(d), n, env_decision_get_thoughts(d),
                     *results);
}

int env_play(env_game_t *g, const env_policy_t *policies)
{
    env_names_t names;
    env_game_names(g, &names);
    for (int i = 0; i < g->n; i++) env_set_reactive(g, i, env_policy_reactive(policies[i]));
    env_decision_t *d = env_decision_new();
    env_turns_t *turns = env_turns_new(g->n); /* the order the broker's sequential mode uses */
    env_result_t *results = NULL;
    size_t cap = 0;
    uint64_t rng = g->cfg.seed ^ 0x5eedULL;
    int rc = d && turns ? ENV_OK : ENV_ENOMEM;
    while (!rc && env_round_begin(g) == ENV_OK) {
        env_turns_round(turns, g);
        int a;
        env_turn_kind_t kind;
        while (!rc && env_turns_next(turns, &a, &kind)) {
            rc = s_turn(g, policies[a], a, kind, &names, &rng, d, &results, &cap);
            if (!rc) env_turns_ended(turns, g, kind);
        }
        if (!rc) rc = env_round_end(g);
    }
    if (!rc) env_game_finish(g);
    free(results);
    env_turns_destroy(&turns);
    env_decision_destroy(&d);
    return rc;
}

int64_t env_perfect_task_revenue(const env_config_t *c, int *tasks_out)
{
    env_config_t pc = *c;
    pc.automation = ENV_AUTO_NONE;
    int err;
    env_game_t *g = env_game_new(&pc, NULL, NULL, &err);
    if (!g) return -1;
    env_policy_t *pol = malloc(sizeof *pol * (size_t)pc.n_agents);
    int64_t rev = -1;
    if (pol) {
        for (int i = 0; i < pc.n_agents; i++) pol[i] = ENV_POLICY_PERFECT;
        if (env_play(g, pol) == ENV_OK) {
            rev = env_task_revenue(g);
            if (tasks_out) *tasks_out = env_tasks_done(g);
        }
        free(pol);
    }
    env_game_destroy(&g);
    return rev;
}

/* ------------------------------------------------------------- scenario -- */

static const env_scenario_t s_infoshare = {
    .name = "infoshare",
    .summary = "the zero-cost information-sharing game (GAME.md)",
    .check = env_config_check,
    .create = env_game_new,
    .destroy = env_game_destroy,
    .round_begin = env_round_begin,
    .round_end = env_round_end,
    .observe = env_observe,
    .apply = env_apply,
    .finish = env_game_finish,
    .ceiling = env_perfect_task_revenue,
};

const env_scenario_t *env_scenario_find(const char *name)
{
    if (!name || strcmp(name, s_infoshare.name) == 0) return &s_infoshare;
    return NULL;
}
