/* env_transfer.c: how information and direct messages move (GAME.md
 * "Actions"): the one transfer routine, request tracking, the auto-fulfil arm,
 * message delivery and the send_information action. */
#include "env_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------------------- helpers -- */

int env_notes_flush(env_game_t *g, int agent)
{
    env_agent_t *a = &g->agents[agent];
    size_t n = g->public.n - a->public_seen;
    if (n == 0) return ENV_OK;
    if (env_vec_reserve((void **)&a->notes.v, &a->notes.cap, a->notes.n + n, sizeof *a->notes.v))
        return ENV_ENOMEM;
    for (size_t i = a->public_seen; i < g->public.n; i++) {
        const env_public_note_t *p = &g->public.v[i];
        if (p->about != agent) a->notes.v[a->notes.n++] = (env_note_t){p->round, p->text};
    }
    a->public_seen = g->public.n;
    return ENV_OK;
}

int env_note(env_game_t *g, int agent, char *text)
{
    if (!text || env_notes_flush(g, agent)) return ENV_ENOMEM;
    env_note_t n = {g->round, text};
    return VEC_PUSH(g->agents[agent].notes, n);
}

int env_note_public(env_game_t *g, int about, char *text)
{
    if (!text) return ENV_ENOMEM;
    env_public_note_t n = {g->round, about, text};
    return VEC_PUSH(g->public, n);
}

bool env_was_sent(const env_game_t *g, int from, int to, int piece)
{
    return env_set_has(&g->agents[from].sent_to, env_pair_key(g, to, piece));
}

/* The slot of the request `requester` made of `holder` for `piece`, or NULL. */
static const env_map_slot_t *s_req_slot(const env_game_t *g, int requester, int holder, int piece)
{
    return env_map_get(&g->agents[requester].req_map, env_pair_key(g, holder, piece));
}

/* The request `requester` made of `holder` for `piece`, or NULL. */
env_request_t *env_find_request(env_game_t *g, int requester, int holder, int piece)
{
    const env_map_slot_t *s = s_req_slot(g, requester, holder, piece);
    return s ? &g->agents[requester].requests.v[s->a] : NULL;
}

void env_set_result(env_result_t *r, int code, const char *fmt, ...)
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
int env_transfer(env_game_t *g, int from, int to, const int *pieces, const int64_t *values,
                 size_t n, bool automated)
{
    env_agent_t *src = &g->agents[from], *dst = &g->agents[to];
    /* The event lists what was copied: kept here until the copy is done. */
    g->ev_copies.n = 0;
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
            env_set_add(&src->sent_to, env_pair_key(g, to, p)))
            return -ENV_ENOMEM;
        env_request_t *rq = env_find_request(g, to, from, p);
        if (rq) rq->fulfilled = true;
        bool mis = stated != truth;
        misreports += mis;
        copied++;
        if (g->sink || g->text_sink) {
            env_copy_t cp = {p, stated, mis, rq != NULL};
            if (VEC_PUSH(g->ev_copies, cp)) return -ENV_ENOMEM;
        }
    }
    /* The original pays the bonus for automated transfers too (they go through
     * the same transfer routine); rules.automated_transfers_as_agents off does not. */
    int64_t bonus =
        automated && !g->cfg.automated_as_agents ? 0 : g->cfg.sharing_bonus * (int64_t)copied;
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
            size_t at = env_append(text, len, 0, src->id);
            at = env_append(text, len, at, " sent you ");
            at = env_append_int(text, len, at, copied);
            at = env_append(text, len, at, automated ? " piece(s) (automated):" : " piece(s):");
            const env_holding_t *tail = dst->inv.v + dst->inv.n - copied;
            for (int i = 0; i < copied; i++) {
                at = env_append(text, len, at, i ? ", " : " ");
                at = env_append(text, len, at, g->piece_names[tail[i].piece]);
                at = env_append(text, len, at, " (value ");
                at = env_append_int(text, len, at, tail[i].value);
                at = env_append(text, len, at, ")");
            }
            if (env_note(g, to, text)) return -ENV_ENOMEM;
        }
    }
    bool w = copied && env_ev_begin(g, "transfer");
    if (!w) return copied;
    env_ev_kagent(g, "from", from);
    env_ev_kagent(g, "to", to);
    env_ev_key(g, "pieces");
    env_ev_arr(g);
    for (size_t i = 0; i < g->ev_copies.n; i++) {
        const env_copy_t *cp = &g->ev_copies.v[i];
        env_ev_obj(g);
        env_ev_kpiece(g, "piece", cp->piece);
        env_ev_kint(g, "value", (long long)cp->stated);
        env_ev_kint(g, "true_value", g->piece_values[cp->piece]);
        env_ev_kbool(g, "misreport", cp->misreport);
        env_ev_kbool(g, "requested", cp->requested);
        env_ev_close(g);
    }
    env_ev_close(g);
    env_ev_kbool(g, "automated", automated);
    env_ev_kint(g, "misreports", misreports);
    env_ev_kint(g, "bonus", (long long)bonus);
    env_ev_end(g);
    return copied;
}

/* Pieces named in a direct message, recorded as requests of `from` to `to`
 * when `from` lacks them (GAME.md: a request is a DM that names a piece).
 * `exact` is the piece the message asks for in the study's "REQUEST:" form
 * (-1: none); its ask is marked so, for rules.answer_request_form_only. */
static int s_track_requests(env_game_t *g, int from, int to, const int *named, size_t n_named,
                            int exact)
{
    env_agent_t *req = &g->agents[from], *holder = &g->agents[to];
    for (size_t i = 0; i < n_named; i++) {
        int p = named[i];
        if (env_bit_get(req->held, p)) continue;
        uint64_t key = env_pair_key(g, to, p);
        const env_map_slot_t *s = env_map_get(&req->req_map, key);
        if (s) {
            req->requests.v[s->a].count++;
            env_ask_t *ask = &holder->asks.v[s->b];
            ask->count++;
            ask->exact |= p == exact;
            continue;
        }
        env_request_t r = {to, p, 1, false};
        env_ask_t a = {from, p, 1, false, p == exact};
        if (env_map_put(&req->req_map, key, (uint32_t)req->requests.n, (uint32_t)holder->asks.n) ||
            VEC_PUSH(req->requests, r) || VEC_PUSH(holder->asks, a))
            return ENV_ENOMEM;
    }
    return ENV_OK;
}

int env_held_value(const env_game_t *g, int agent, int piece)
{
    const env_agent_t *a = &g->agents[agent];
    for (size_t i = 0; i < a->inv.n; i++)
        if (a->inv.v[i].piece == piece) return a->inv.v[i].value;
    return g->piece_values[piece];
}

/* Auto-fulfil arm: every named piece the recipient holds moves at once. The
 * original (automated simulation.py _process_automated_fulfillment) sends them
 * in one transfer at the values the holder holds; rules.automated_transfers_
 * as_agents off sends each alone at its true value. */
static int s_auto_fulfill(env_game_t *g, int requester, int holder, const int *named, size_t n)
{
    int ps[64];
    int64_t vs[64];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 64; i++) {
        int p = named[i];
        if (!env_bit_get(g->agents[holder].held, p) || env_bit_get(g->agents[requester].held, p))
            continue;
        if (g->cfg.automated_as_agents) {
            ps[k] = p;
            vs[k++] = env_held_value(g, holder, p);
            continue;
        }
        int64_t v = g->piece_values[p];
        if (env_transfer(g, holder, requester, &p, &v, 1, true) < 0) return ENV_ENOMEM;
    }
    if (k && env_transfer(g, holder, requester, ps, vs, k, true) < 0) return ENV_ENOMEM;
    return ENV_OK;
}

/* The study's parse (simulation.py _instant_fulfill_perfect_requests and
 * agent.py _extract_requested_info read a request the same way). */
int env_request_piece(const env_names_t *names, const char *content)
{
    if (!content) return -1;
    /* Where the study's perfect agents put it, before a search for it. */
    const char *s = strncmp(content, "REQUEST:", 8) == 0 ? content : strstr(content, "REQUEST:");
    if (!s) return -1;
    s += 8;
    const char *e = strstr(s, " for ");
    if (!e) e = s + strlen(s);
    while (s < e && (*s == ' ' || (*s >= '\t' && *s <= '\r'))) s++;
    while (e > s && (e[-1] == ' ' || (e[-1] >= '\t' && e[-1] <= '\r'))) e--;
    size_t len = (size_t)(e - s);
    char name[256];
    if (len == 0 || len >= sizeof name) return -1;
    /* The usual case first: the name exactly as written, found from its
     * first number (what env_piece_exact tries first, and an exact match
     * there is its answer and ours). Anything else takes the general path. */
    const char *d = s;
    while (d < e && (*d < '0' || *d > '9')) d++;
    long v = 0;
    while (d < e && *d >= '0' && *d <= '9' && v <= names->n_pieces) v = v * 10 + (*d++ - '0');
    if (v >= 1 && v <= names->n_pieces) {
        const char *cand = names->piece_names[v - 1];
        if (strncmp(cand, s, len) == 0 && cand[len] == '\0') return (int)v - 1;
    }
    memcpy(name, s, len);
    name[len] = 0;
    int p = env_piece_exact((char *const *)names->piece_names, names->n_pieces, name);
    return p >= 0 && strcmp(names->piece_names[p], name) == 0 ? p : -1;
}

int env_instant_fulfil(env_game_t *g, int agent, const env_action_t *actions, size_t n)
{
    if (!g->agents[agent].reactive || g->cfg.automation == ENV_AUTO_REQUEST) return ENV_OK;
    for (size_t i = 0; i < n; i++) {
        const env_action_t *a = &actions[i];
        if (a->kind != ENV_ACT_SEND_MESSAGE) continue;
        int to = env_parse_agent(g->n, a->to);
        if (to < 0 || to == agent || !g->agents[to].reactive) continue;
        int p = i < g->turn_asks.n ? g->turn_asks.v[i] : -1;
        if (p < 0 || !env_bit_get(g->agents[to].held, p)) continue;
        /* Once per (asker, piece) for each holder: the holder's own turn then
         * sees the request answered. */
        const env_map_slot_t *s = s_req_slot(g, agent, to, p);
        if (s && g->agents[to].asks.v[s->b].answered) continue;
        if (s) g->agents[to].asks.v[s->b].answered = true;
        int64_t v = env_held_value(g, to, p);
        if (env_transfer(g, to, agent, &p, &v, 1, false) < 0) return ENV_ENOMEM;
    }
    return ENV_OK;
}

/* Delivers a direct message (agents' own, or automated ones). */
int env_deliver(env_game_t *g, int from, int to, const char *content, bool automated,
                bool delivered, env_turn_kind_t kind, int *asked)
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

    bool w = env_ev_begin(g, "message");
    if (w) {
        env_ev_klit(g, "kind", "direct");
        env_ev_kagent(g, "from", from);
        env_ev_kagent(g, "to", to);
        env_ev_kstr(g, "content", content);
        env_ev_kbool(g, "delivered", delivered);
        env_ev_kbool(g, "automated", automated);
        env_ev_key(g, "names_pieces");
        env_ev_arr(g);
        for (size_t i = 0; i < n_named; i++) env_ev_piece(g, named[i]);
        env_ev_close(g);
        env_ev_end(g);
    }
    if (!delivered) return ENV_OK;
    if (VEC_PUSH(g->agents[to].msgs, (const env_msg_t *)m)) return ENV_ENOMEM;
    int exact = env_request_piece(&names, content);
    if (asked) *asked = exact;
    if (s_track_requests(g, from, to, named, n_named, exact)) return ENV_ENOMEM;
    if (g->cfg.automation == ENV_AUTO_FULFILL && s_auto_fulfill(g, from, to, named, n_named))
        return ENV_ENOMEM;
    /* Reply turns belong to the lenient position of the instant-fulfilment switch;
     * the original's rule is applied by env_instant_fulfil instead. */
    if (!g->cfg.instant_perfect_only && kind == ENV_TURN_NORMAL && g->agents[to].reactive &&
        !g->reply_pending[to]) {
        g->reply_pending[to] = true;
        if (VEC_PUSH(g->replies, to)) return ENV_ENOMEM;
    }
    return ENV_OK;
}

int env_act_send_info(env_game_t *g, int agent, const env_action_t *a, env_result_t *r)
{
    int to = env_parse_agent(g->n, a->to);
    if (to < 0) {
        env_set_result(r, ENV_EUNKNOWN_RECIPIENT, "unknown recipient '%.60s'", a->to ? a->to : "");
        return ENV_OK;
    }
    if (to == agent) {
        env_set_result(r, ENV_ESELF_RECIPIENT, "you cannot send information to yourself");
        return ENV_OK;
    }
    if (a->n_info == 0) {
        env_set_result(r, ENV_EEMPTY, "no information listed");
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
        int p = env_piece_exact(g->piece_names, g->p, a->info[i]);
        if (p < 0) {
            env_set_result(r, ENV_EUNKNOWN_PIECE, "unknown piece '%.80s'",
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
            if (env_piece_exact(g->piece_names, g->p, a->value_names[k]) == pieces[j]) {
                values[j] = a->values[k];
                found = true;
                break;
            }
        }
        if (!found) {
            env_set_result(r, ENV_EVALUES_MISMATCH, "no value given for '%s'",
                           g->piece_names[pieces[j]]);
            goto done;
        }
    }
    for (size_t k = 0; k < a->n_values; k++) {
        int p = env_piece_exact(g->piece_names, g->p, a->value_names[k]);
        bool listed = false;
        for (size_t j = 0; j < n; j++) listed |= pieces[j] == p;
        if (!listed) {
            env_set_result(r, ENV_EVALUES_MISMATCH,
                           "a value is given for '%.80s', which is not listed",
                           a->value_names[k] ? a->value_names[k] : "");
            goto done;
        }
    }
    /* Pieces already sent to that recipient are dropped. */
    size_t keep = 0;
    for (size_t j = 0; j < n; j++) {
        if (env_was_sent(g, agent, to, pieces[j])) continue;
        pieces[keep] = pieces[j];
        values[keep++] = values[j];
    }
    if (keep == 0) {
        env_set_result(r, ENV_EALREADY_SENT, "every listed piece was already sent to %s",
                       g->agents[to].id);
        goto done;
    }
    /* The original records the pairs as sent before the send is tried (agent.py
     * _track_action), so a failed send still counts; rules.count_failed_sends. */
    for (size_t j = 0; j < keep && g->cfg.count_failed_sends; j++)
        if (env_set_add(&g->agents[agent].sent_to, env_pair_key(g, to, pieces[j]))) {
            rc = ENV_ENOMEM;
            goto done;
        }
    /* The sender must hold every listed piece, or the whole action fails. */
    for (size_t j = 0; j < keep; j++) {
        if (!env_bit_get(g->agents[agent].held, pieces[j])) {
            env_set_result(r, ENV_ENOT_HELD, "you do not hold '%s'", g->piece_names[pieces[j]]);
            goto done;
        }
    }
    /* Each request for these pieces is answered now, even where the receiver
     * already holds the piece (GAME.md: later holders' sends change nothing). */
    for (size_t j = 0; j < keep; j++) {
        const env_map_slot_t *s = s_req_slot(g, to, agent, pieces[j]);
        if (s) g->agents[agent].asks.v[s->b].answered = true;
    }
    int copied = env_transfer(g, agent, to, pieces, values, keep, false);
    if (copied < 0) {
        rc = ENV_ENOMEM;
        goto done;
    }
    env_set_result(r, ENV_OK, NULL);
    r->transferred = copied;
done:
    free(pieces);
    free(values);
    return rc;
}
