/* env_submit.c: the submit_task action and scoring (GAME.md "Actions" and
 * "Scoring"): matching an answer to a task, the checks, the payout with the
 * misreport penalty, notices and the replacement task. */
#include "env_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_emit_task_failed(env_game_t *g, int agent, const env_task_t *t, const char *answer,
                               const env_result_t *r, bool told)
{
    bool w = env_ev_begin(g, "task_failed");
    if (!w) return;
    env_ev_kagent(g, "agent", agent);
    if (t) {
        env_ev_kstr(g, "task", t->id);
    } else {
        env_ev_key(g, "task");
        env_ev_null(g);
    }
    env_ev_kstr(g, "answer", answer ? answer : "");
    env_ev_kstr(g, "code", env_err_name(r->code));
    env_ev_kstr(g, "reason", r->reason);
    env_ev_kbool(g, "told", told);
    env_ev_end(g);
}

/* The original's matcher (tasks.py / simulation.py _process_task_submission):
 * every "Combined result of:" removed, the rest split on commas, each part
 * trimmed; true when that set equals the task's names exactly (case-sensitive).
 * `parts` is the answer already cut into NUL-terminated parts. */
static bool s_exact_set(const env_game_t *g, const env_task_t *t, char *const *parts, size_t n)
{
    uint64_t covered = 0; /* n_pieces <= 64 (env_config_check) */
    for (size_t j = 0; j < n; j++) {
        bool in = false;
        for (int i = 0; i < t->n_pieces && !in; i++)
            if (strcmp(parts[j], g->piece_names[t->pieces[i]]) == 0) {
                covered |= (uint64_t)1 << i;
                in = true;
            }
        if (!in) return false;
    }
    return n > 0 &&
           covered == (t->n_pieces == 64 ? ~(uint64_t)0 : ((uint64_t)1 << t->n_pieces) - 1);
}

/* Cuts a copy of the answer as the original does; NULL parts when the marker is
 * absent (the submitted set is then empty). Returns ENV_OK or ENV_ENOMEM. */
static int s_split_answer(const char *answer, char **buf, char ***parts, size_t *n)
{
    static const char marker[] = "Combined result of:";
    *buf = NULL;
    *parts = NULL;
    *n = 0;
    if (!strstr(answer, marker)) return ENV_OK;
    size_t len = strlen(answer);
    char *s = malloc(len + 1);
    char **v = malloc(sizeof *v * (len + 1));
    if (!s || !v) {
        free(s);
        free(v);
        return ENV_ENOMEM;
    }
    /* Every marker left out, from the left (a strstr for each, not a compare
     * at every byte: the same cut, as the marker cannot overlap itself). */
    size_t at = 0;
    for (const char *p = answer;;) {
        const char *m = strstr(p, marker);
        size_t k = m ? (size_t)(m - p) : strlen(p);
        memcpy(s + at, p, k);
        at += k;
        if (!m) break;
        p = m + sizeof marker - 1;
    }
    s[at] = 0;
    size_t k = 0;
    for (char *part = s;;) {
        char *comma = strchr(part, ',');
        if (comma) *comma = 0;
        while (*part == ' ' || (*part >= '\t' && *part <= '\r')) part++;
        size_t pl = strlen(part);
        while (pl && (part[pl - 1] == ' ' || (part[pl - 1] >= '\t' && part[pl - 1] <= '\r')))
            part[--pl] = 0;
        v[k++] = part;
        if (!comma) break;
        part = comma + 1;
    }
    *buf = s;
    *parts = v;
    *n = k;
    return ENV_OK;
}

/* The lenient matcher: the pieces named anywhere in the answer, any case, as a
 * set equal to the task's. */
static bool s_lenient_set(const env_task_t *t, const int *named, size_t n_named)
{
    if ((int)n_named != t->n_pieces) return false;
    for (int i = 0; i < t->n_pieces; i++) {
        bool in = false;
        for (size_t j = 0; j < n_named; j++) in |= named[j] == t->pieces[i];
        if (!in) return false;
    }
    return true;
}

/* a b c, then v in decimal unless it is negative (payouts never are), then e,
 * in the arena: the
 * notices of every completion, built by hand (snprintf's format parsing was a
 * twentieth of a 200-agent game). NULL when out of memory. */
static char *s_text3(env_game_t *g, const char *a, const char *b, const char *c, long long v,
                     const char *e)
{
    size_t cap = strlen(a) + strlen(b) + strlen(c) + strlen(e) + 24;
    char *t = env_arena_alloc(&g->arena, cap);
    if (!t) return NULL;
    size_t at = env_append(t, cap, env_append(t, cap, env_append(t, cap, 0, a), b), c);
    if (v >= 0) at = env_append_int(t, cap, at, v);
    env_append(t, cap, at, e);
    return t;
}

/* Payout of a completion: the reward (plus the round's first-completion bonus),
 * cut by the rate once per misreported piece and truncated to whole dollars,
 * as the original computes it. */
static int64_t s_payout(const env_game_t *g, int mis)
{
    double v = (double)g->cfg.task_reward + (g->round_tasks == 0 ? (double)g->cfg.first_bonus : 0);
    for (int i = 0; i < mis; i++) v *= 1.0 - g->cfg.misreport_rate;
    return (int64_t)v;
}

int env_act_submit(env_game_t *g, int agent, const env_action_t *a, env_result_t *r)
{
    env_agent_t *ag = &g->agents[agent];
    const char *answer = a->content;
    int k = 0;
    env_task_t *t = NULL;
    size_t slot = 0;
    if (!answer || !*answer) {
        env_set_result(r, ENV_EEMPTY, "the submission has no answer");
        goto failed;
    }
    /* The active task whose piece set equals the submitted set. */
    if (g->cfg.submit_exact_names) {
        char *buf, **parts;
        size_t n_parts;
        if (s_split_answer(answer, &buf, &parts, &n_parts)) return ENV_ENOMEM;
        for (size_t s = 0; s < ag->active.n && !t; s++) {
            env_task_t *c = &g->tasks.v[ag->active.v[s]];
            if (s_exact_set(g, c, parts, n_parts)) {
                t = c;
                slot = s;
            }
        }
        free(parts);
        free(buf);
    } else {
        env_names_t names;
        env_game_names(g, &names);
        int named[128];
        size_t n_named = env_find_pieces(&names, answer, named, 128);
        for (size_t s = 0; s < ag->active.n && !t; s++) {
            env_task_t *c = &g->tasks.v[ag->active.v[s]];
            if (s_lenient_set(c, named, n_named)) {
                t = c;
                slot = s;
            }
        }
    }
    if (!t) {
        if (!g->cfg.submit_fallback_first || ag->active.n == 0) {
            env_set_result(r, ENV_ENO_MATCHING_TASK,
                           "the pieces named in the answer match none of your active tasks");
            goto failed;
        }
        t = &g->tasks.v[ag->active.v[0]]; /* the original's fallback: the first task */
        slot = 0;
    }
    k = t->n_pieces;
    for (int i = 0; i < k; i++) {
        if (!env_bit_get(ag->held, t->pieces[i])) {
            env_set_result(r, ENV_EMISSING_PIECES, "%s needs '%s', which you do not hold", t->id,
                           g->piece_names[t->pieces[i]]);
            goto failed;
        }
    }
    for (int i = 0; i < k; i++) {
        if (!env_contains_ci(answer, g->piece_names[t->pieces[i]])) {
            env_set_result(r, ENV_ENAME_NOT_IN_ANSWER, "the answer does not name '%s' of %s",
                           g->piece_names[t->pieces[i]], t->id);
            goto failed;
        }
    }

    /* Success: each misreported value cuts the payout by the rate (compounding). */
    int mis = 0;
    size_t detail_len = 64;
    for (int i = 0; i < k; i++) detail_len += strlen(g->piece_names[t->pieces[i]]) + 48;
    char *detail = env_arena_alloc(&g->arena, detail_len);
    if (!detail) return ENV_ENOMEM;
    detail[0] = 0;
    int at = 0;
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
    }
    int64_t payout = s_payout(g, mis);
    ag->task_revenue += payout;
    ag->tasks_done++;
    g->round_tasks++;
    t->done = true;
    r->payout = payout;
    env_set_result(r, ENV_OK, NULL);

    bool w = env_ev_begin(g, "task_completed");
    if (w) {
        env_ev_kagent(g, "agent", agent);
        env_ev_kstr(g, "task", t->id);
        env_ev_key(g, "pieces");
        env_ev_arr(g);
        for (int i = 0; i < k; i++) env_ev_piece(g, t->pieces[i]);
        env_ev_close(g);
        env_ev_kint(g, "payout", (long long)payout);
        env_ev_kint(g, "misreports", mis);
        /* The misreported pieces, in the order the submitter holds them. */
        env_ev_key(g, "misreported");
        env_ev_arr(g);
        for (size_t j = 0; j < ag->inv.n; j++) {
            const env_holding_t *h = &ag->inv.v[j];
            bool in = false;
            for (int i = 0; i < k; i++) in |= h->piece == t->pieces[i];
            if (in && h->value != g->piece_values[h->piece]) env_ev_piece(g, h->piece);
        }
        env_ev_close(g);
        env_ev_end(g);
    }
    char *own = mis ? env_arena_printf(&g->arena,
                                       "You completed %s, but %d piece(s) had incorrect values "
                                       "(%s): payout reduced to $%lld.",
                                       t->id, mis, detail, (long long)payout)
                    : s_text3(g, "You completed ", t->id, " and earned $", payout, ".");
    if (env_note(g, agent, own)) return ENV_ENOMEM;
    if (g->cfg.show_public_notices) {
        char *pub = s_text3(g, ag->id, " completed ", t->id, -1, ".");
        char *pen =
            mis ? env_arena_printf(&g->arena, "%s was penalized for %d incorrect value(s) on %s.",
                                   ag->id, mis, t->id)
                : NULL;
        if (env_note_public(g, agent, pub) || (mis && env_note_public(g, agent, pen)))
            return ENV_ENOMEM;
    }
    /* The task is replaced at once by a new one, at the end of the list (unless
     * tasks.new_task_on_completion is off: the agent then runs out of tasks). */
    memmove(ag->active.v + slot, ag->active.v + slot + 1,
            (ag->active.n - slot - 1) * sizeof *ag->active.v);
    ag->active.n--;
    return g->cfg.new_task_on_completion ? env_task_new(g, agent) : ENV_OK;

failed:;
    bool told = g->cfg.tell_failed_submission;
    s_emit_task_failed(g, agent, t, answer, r, told);
    if (told) {
        char *txt = env_arena_printf(&g->arena, "Your task submission failed: %s.", r->reason);
        if (env_note(g, agent, txt)) return ENV_ENOMEM;
    }
    return ENV_OK;
}
