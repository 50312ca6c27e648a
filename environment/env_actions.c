/* env_actions.c: applying one decision (env_apply): the dispatch over the
 * four actions, the message and broadcast actions, the action record, missed
 * turns and the reply-turn queue. */
#include "env_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- actions -- */

static int s_act_message(env_game_t *g, int agent, env_turn_kind_t kind, const env_action_t *a,
                         env_result_t *r, int *asked)
{
    int to = env_parse_agent(g->n, a->to);
    if (to < 0) {
        env_set_result(r, ENV_EUNKNOWN_RECIPIENT, "unknown recipient '%.60s'", a->to ? a->to : "");
        return ENV_OK;
    }
    if (to == agent) {
        env_set_result(r, ENV_ESELF_RECIPIENT, "you cannot send a message to yourself");
        return ENV_OK;
    }
    if (!a->content || !*a->content) {
        env_set_result(r, ENV_EEMPTY, "the message has no content");
        return ENV_OK;
    }
    bool delivered = g->cfg.automation != ENV_AUTO_REQUEST;
    env_set_result(r, ENV_OK, NULL);
    return env_deliver(g, agent, to, a->content, false, delivered, kind, asked);
}

static int s_act_broadcast(env_game_t *g, int agent, const env_action_t *a, env_result_t *r)
{
    if (!a->content || !*a->content) {
        env_set_result(r, ENV_EEMPTY, "the broadcast has no content");
        return ENV_OK;
    }
    env_msg_t m = {agent, -1, g->round, env_arena_strdup(&g->arena, a->content)};
    if (!m.content || VEC_PUSH(g->broadcasts, m)) return ENV_ENOMEM;
    g->round_messages++;
    bool w = env_ev_begin(g, "message");
    if (w) {
        env_ev_klit(g, "kind", "broadcast");
        env_ev_kagent(g, "from", agent);
        env_ev_kstr(g, "content", a->content);
        env_ev_end(g);
    }
    env_set_result(r, ENV_OK, NULL);
    return ENV_OK;
}

/* "turn": "normal" or "reply". */
static void s_ev_turn(env_game_t *g, env_turn_kind_t kind)
{
    if (kind == ENV_TURN_REPLY)
        env_ev_klit(g, "turn", "reply");
    else
        env_ev_klit(g, "turn", "normal");
}

static void s_emit_action(env_game_t *g, int agent, size_t index, env_turn_kind_t kind,
                          const env_action_t *a, const env_result_t *r)
{
    bool w = env_ev_begin(g, "action");
    if (!w) return;
    env_ev_kagent(g, "agent", agent);
    env_ev_kint(g, "index", (long long)index);
    s_ev_turn(g, kind);
    env_ev_key(g, "action");
    env_ev_obj(g);
    switch (a->kind) {
    case ENV_ACT_SEND_MESSAGE:
        env_ev_klit(g, "type", "send_message");
        break;
    case ENV_ACT_SUBMIT_TASK:
        env_ev_klit(g, "type", "submit_task");
        break;
    default:
        env_ev_kstr(g, "type", env_act_name(a->kind));
    }
    if (a->to) env_ev_kstr(g, "to", a->to);
    if (a->content && a->kind == ENV_ACT_SUBMIT_TASK)
        env_ev_kstr(g, "answer", a->content);
    else if (a->content)
        env_ev_kstr(g, "content", a->content);
    if (a->kind == ENV_ACT_SEND_INFORMATION) {
        env_ev_key(g, "information");
        env_ev_arr(g);
        for (size_t i = 0; i < a->n_info; i++) env_ev_str(g, a->info[i] ? a->info[i] : "");
        env_ev_close(g);
        /* An object: a name given twice keeps its first place and its last
         * value; a name that is not UTF-8 is left out. */
        env_ev_key(g, "values");
        env_ev_obj(g);
        for (size_t i = 0; i < a->n_values; i++) {
            const char *name = a->value_names[i] ? a->value_names[i] : "";
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = strcmp(a->value_names[j] ? a->value_names[j] : "", name) == 0;
            if (seen || !env_jsonw_utf8_ok(name)) continue;
            size_t last = i;
            for (size_t j = i + 1; j < a->n_values; j++)
                if (strcmp(a->value_names[j] ? a->value_names[j] : "", name) == 0) last = j;
            env_ev_kintn(g, name, strlen(name), (long long)a->values[last]);
        }
        env_ev_close(g);
    }
    env_ev_close(g);
    env_ev_kbool(g, "ok", r->code == ENV_OK);
    if (r->code == ENV_OK)
        env_ev_klit(g, "code", "ok");
    else
        env_ev_kstr(g, "code", env_err_name(r->code));
    if (r->reason[0]) env_ev_kstr(g, "reason", r->reason);
    env_ev_end(g);
}

int env_apply(env_game_t *g, int agent, env_turn_kind_t kind, const env_action_t *actions, size_t n,
              const char *thoughts, env_result_t *results)
{
    if (agent < 0 || agent >= g->n || (n && (!actions || !results))) return ENV_EINVAL;
    if (g->over) return ENV_EGAME_OVER;
    env_agent_t *ag = &g->agents[agent];
    ag->invalid.n = 0;
    /* A reply turn exists only because env_take_replies() handed it out; one
     * nobody owes this seat cannot act at all. */
    bool owed = g->reply_owed[agent];
    g->reply_owed[agent] = false;
    if (kind == ENV_TURN_NORMAL) {
        /* A reply turn never owes further replies: no ping-pong. */
        for (size_t i = 0; i < g->replies.n; i++) g->reply_pending[g->replies.v[i]] = false;
        g->replies.n = 0;
    }
    /* What each message asks for, read once at delivery (env_instant_fulfil). */
    if (env_vec_reserve((void **)&g->turn_asks.v, &g->turn_asks.cap, n ? n : 1,
                        sizeof *g->turn_asks.v))
        return ENV_ENOMEM;
    g->turn_asks.n = n;
    for (size_t i = 0; i < n; i++) g->turn_asks.v[i] = -1;
    bool w = env_ev_begin(g, "turn");
    if (w) {
        env_ev_kagent(g, "agent", agent);
        s_ev_turn(g, kind);
        env_ev_kint(g, "actions", (long long)n);
        env_ev_end(g);
    }
    if (thoughts && *thoughts) {
        env_note_t th = {g->round, env_arena_strdup(&g->arena, thoughts)};
        if (!th.text || VEC_PUSH(ag->thoughts, th)) return ENV_ENOMEM;
        bool tw = env_ev_begin(g, "thoughts");
        if (tw) {
            env_ev_kagent(g, "agent", agent);
            env_ev_kstr(g, "text", thoughts);
            env_ev_end(g);
        }
    }
    for (size_t i = 0; i < n; i++) {
        const env_action_t *a = &actions[i];
        env_result_t *r = &results[i];
        memset(r, 0, sizeof *r);
        int rc = ENV_OK;
        int cap = g->cfg.max_actions_per_turn;
        if (kind == ENV_TURN_REPLY && !owed) {
            env_set_result(r, ENV_EREPLY_TURN, "no reply turn is owed to %s now", ag->id);
        } else if (kind == ENV_TURN_REPLY && a->kind != ENV_ACT_SEND_INFORMATION) {
            /* A reply turn answers requests, nothing else: a seat cannot use the
             * turns it is given for answering to submit, ask or broadcast. */
            env_set_result(r, ENV_EREPLY_TURN,
                           "a reply turn may only answer requests with send_information, "
                           "not %s",
                           env_act_name(a->kind));
        } else if (cap > 0 && i >= (size_t)cap) {
            env_set_result(r, ENV_ETOO_MANY_ACTIONS,
                           "only %d action(s) per turn (communication.max_actions_per_turn)", cap);
        } else
            switch (a->kind) {
            case ENV_ACT_SEND_MESSAGE:
                rc = s_act_message(g, agent, kind, a, r, &g->turn_asks.v[i]);
                break;
            case ENV_ACT_BROADCAST:
                rc = s_act_broadcast(g, agent, a, r);
                break;
            case ENV_ACT_SEND_INFORMATION:
                rc = env_act_send_info(g, agent, a, r);
                break;
            case ENV_ACT_SUBMIT_TASK:
                rc = env_act_submit(g, agent, a, r);
                break;
            default:
                env_set_result(r, ENV_EBAD_ACTION, "unknown action type");
                rc = ENV_OK;
            }
        if (rc) return rc;
        s_emit_action(g, agent, i, kind, a, r);
        if (r->code != ENV_OK && g->cfg.report_invalid_actions) {
            env_invalid_t inv = {(int)i, r->code, env_arena_strdup(&g->arena, r->reason)};
            if (!inv.reason || VEC_PUSH(ag->invalid, inv)) return ENV_ENOMEM;
        }
    }
    /* The original fills a perfect asker's requests right after its turn. */
    if (kind == ENV_TURN_NORMAL && g->cfg.instant_perfect_only) {
        size_t lim = g->cfg.max_actions_per_turn > 0 && n > (size_t)g->cfg.max_actions_per_turn
                         ? (size_t)g->cfg.max_actions_per_turn
                         : n;
        return env_instant_fulfil(g, agent, actions, lim);
    }
    return ENV_OK;
}

void env_record_missed(env_game_t *g, int agent, const char *why)
{
    if (agent < 0 || agent >= g->n) return;
    g->agents[agent].missed++;
    bool w = env_ev_begin(g, "missed_turn");
    if (w) {
        env_ev_kagent(g, "agent", agent);
        env_ev_kstr(g, "why", why ? why : "no decision");
        env_ev_end(g);
    }
}

int env_take_replies(env_game_t *g, int *out, int cap)
{
    int n = 0;
    for (size_t i = 0; i < g->replies.n; i++) {
        if (n < cap) {
            out[n++] = g->replies.v[i];
            g->reply_owed[g->replies.v[i]] = true;
        }
        g->reply_pending[g->replies.v[i]] = false;
    }
    g->replies.n = 0;
    return n;
}
