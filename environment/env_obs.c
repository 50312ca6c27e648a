/* env_obs.c: what one agent sees at one turn (GAME.md "What an agent sees"),
 * built as a view into the game: the round-start snapshot (directory,
 * broadcasts, revenue board) is shared by every observation of the round, and
 * the live parts (inventory, messages, notifications, exchanges) point at the
 * agent's own records. Nothing is copied but the small shuffled board. */
#include "env_internal.h"

#include <stdlib.h>
#include <string.h>

enum {
    S_KEEP_MSGS = 10,
    S_KEEP_BROADCASTS = 5,
    S_KEEP_NOTES = 10,
    S_KEEP_THOUGHT_ROUNDS = 5,
    S_KEEP_EXCHANGES = 10
};

/* The last `keep` of n items (all of them when keep is 0). */
static size_t s_tail(size_t n, size_t keep)
{
    return keep && n > keep ? n - keep : 0;
}

int env_observe(env_game_t *g, int agent, env_turn_kind_t kind, env_obs_t *o)
{
    if (!g || !o || agent < 0 || agent >= g->n || g->round < 1) return ENV_EINVAL;
    if (env_notes_flush(g, agent)) return ENV_ENOMEM;
    env_agent_t *a = &g->agents[agent];
    const env_config_t *c = &g->cfg;
    bool trunc = c->truncate_history;
    memset(o, 0, sizeof *o);
    o->agent = agent;
    o->type = a->type;
    o->kind = kind;
    o->round = g->round;
    o->rounds = c->rounds;

    /* Revenue board, frozen and shuffled once at round start (env.c), so the
     * order says nothing; without transparency, only one's own row. */
    o->has_board = c->show_revenue_board;
    if (o->has_board) {
        o->board = g->obs_board;
        o->n_board = (size_t)g->n;
    } else {
        o->board = &g->board_snap[agent];
        o->n_board = 1;
    }

    if (env_vec_reserve((void **)&g->obs_tasks, &g->obs_tasks_cap, a->active.n ? a->active.n : 1,
                        sizeof *g->obs_tasks))
        return ENV_ENOMEM;
    for (size_t i = 0; i < a->active.n; i++) {
        const env_task_t *t = &g->tasks.v[a->active.v[i]];
        g->obs_tasks[i] = (env_task_view_t){t->id, t->description, t->n_pieces, t->pieces};
    }
    o->n_tasks = a->active.n;
    o->tasks = g->obs_tasks;
    o->n_inventory = a->inv.n;
    o->inventory = a->inv.v;

    o->dir_count = g->dir_count;
    o->dir_pieces = (const int *const *)g->dir_pieces;
    o->holder_count = g->holder_count;
    o->holders = (const int *const *)g->holders;

    size_t from = s_tail(a->msgs.n, trunc ? S_KEEP_MSGS : 0);
    o->msgs = a->msgs.v + from;
    o->msgs_from = from;
    o->n_msgs = a->msgs.n - from;
    from = s_tail(a->notes.n, trunc ? S_KEEP_NOTES : 0);
    o->notes = a->notes.v + from;
    o->notes_from = from;
    o->n_notes = a->notes.n - from;
    o->sent = a->sent.v;
    o->n_sent = a->sent.n;
    o->received = a->received.v;
    o->n_received = a->received.n;
    o->requests = a->requests.v;
    o->n_requests = a->requests.n;
    o->has_asks = true;
    o->asks = a->asks.v;
    o->n_asks = a->asks.n;
    o->requests_exact = c->request_form_only;

    o->has_thoughts = c->show_thoughts;
    if (o->has_thoughts) {
        from = 0;
        if (trunc) /* the last five rounds of thoughts */
            while (from < a->thoughts.n &&
                   a->thoughts.v[from].round < g->round - S_KEEP_THOUGHT_ROUNDS)
                from++;
        o->thoughts = a->thoughts.v + from;
        o->thoughts_from = from;
        o->n_thoughts = a->thoughts.n - from;
    }
    from = s_tail(g->bc_snapshot, trunc ? S_KEEP_BROADCASTS : 0);
    o->broadcasts = g->broadcasts.v + from;
    o->broadcasts_from = from;
    o->n_broadcasts = g->bc_snapshot - from;

    o->has_exchanges = c->show_exchanges;
    if (o->has_exchanges) {
        from = s_tail(g->exchanges.n, S_KEEP_EXCHANGES);
        o->exchanges = g->exchanges.v + from;
        o->exchanges_from = from;
        o->n_exchanges = g->exchanges.n - from;
    }
    if (c->report_invalid_actions) {
        o->invalid = a->invalid.v;
        o->n_invalid = a->invalid.n;
    }
    return ENV_OK;
}

/* ------------------------------------------------------------------ json -- */

static json_t *s_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *env_obs_to_json(const env_game_t *g, const env_obs_t *o)
{
    char *const *pn = g->piece_names;
    char *const *an = g->agent_ids;
#define S_AGENT(i) ((i) >= 0 && (i) < g->n ? json_string(an[i]) : json_string("everyone"))
    json_t *j = json_object();
    if (!j) return NULL;
    json_object_set_new(j, "agent", json_string(an[o->agent]));
    json_object_set_new(j, "type", json_string(env_type_name(o->type)));
    json_object_set_new(j, "turn", json_string(o->kind == ENV_TURN_REPLY ? "reply" : "normal"));
    json_object_set_new(j, "round", json_integer(o->round));
    json_object_set_new(j, "rounds", json_integer(o->rounds));

    json_t *board = json_array();
    for (size_t i = 0; i < o->n_board; i++)
        json_array_append_new(
            board, json_pack("{s:o, s:I, s:i, s:b}", "agent", S_AGENT(o->board[i].agent), "revenue",
                             (json_int_t)o->board[i].revenue, "tasks", o->board[i].tasks_done,
                             "self", o->board[i].agent == o->agent));
    json_object_set_new(j, "board", board);
    json_object_set_new(j, "board_full", json_boolean(o->has_board));

    json_t *tasks = json_array();
    for (size_t i = 0; i < o->n_tasks; i++) {
        json_t *ps = json_array();
        for (int k = 0; k < o->tasks[i].n_pieces; k++)
            json_array_append_new(ps, json_string(pn[o->tasks[i].pieces[k]]));
        json_array_append_new(tasks,
                              json_pack("{s:s, s:o, s:o}", "id", o->tasks[i].id, "description",
                                        s_str_or_null(o->tasks[i].description), "pieces", ps));
    }
    json_object_set_new(j, "tasks", tasks);

    json_t *inv = json_array();
    for (size_t i = 0; i < o->n_inventory; i++)
        json_array_append_new(inv, json_pack("{s:s, s:i}", "piece", pn[o->inventory[i].piece],
                                             "value", o->inventory[i].value));
    json_object_set_new(j, "information", inv);

    json_t *dir = json_object();
    for (int a = 0; a < g->n; a++) {
        json_t *ps = json_array();
        for (uint32_t k = 0; k < o->dir_count[a]; k++)
            json_array_append_new(ps, json_string(pn[o->dir_pieces[a][k]]));
        json_object_set_new(dir, an[a], ps);
    }
    json_object_set_new(j, "directory", dir);

    json_t *msgs = json_array();
    for (size_t i = 0; i < o->n_msgs; i++)
        json_array_append_new(msgs,
                              json_pack("{s:o, s:o, s:i, s:s}", "from", S_AGENT(o->msgs[i]->from),
                                        "to", S_AGENT(o->msgs[i]->to), "round", o->msgs[i]->round,
                                        "content", o->msgs[i]->content));
    json_object_set_new(j, "messages", msgs);

    json_t *notes = json_array();
    for (size_t i = 0; i < o->n_notes; i++)
        json_array_append_new(
            notes, json_pack("{s:i, s:s}", "round", o->notes[i].round, "text", o->notes[i].text));
    json_object_set_new(j, "notifications", notes);

    json_t *sent = json_array(), *recv = json_array(), *reqs = json_array();
    for (size_t i = 0; i < o->n_sent; i++)
        json_array_append_new(sent, json_pack("{s:o, s:s, s:i, s:i}", "to", S_AGENT(o->sent[i].to),
                                              "piece", pn[o->sent[i].piece], "value",
                                              o->sent[i].value, "round", o->sent[i].round));
    for (size_t i = 0; i < o->n_received; i++)
        json_array_append_new(recv, json_pack("{s:o, s:s, s:i, s:i}", "from",
                                              S_AGENT(o->received[i].from), "piece",
                                              pn[o->received[i].piece], "value",
                                              o->received[i].value, "round", o->received[i].round));
    for (size_t i = 0; i < o->n_requests; i++)
        json_array_append_new(
            reqs, json_pack("{s:o, s:s, s:i, s:b}", "holder", S_AGENT(o->requests[i].holder),
                            "piece", pn[o->requests[i].piece], "count", o->requests[i].count,
                            "fulfilled", o->requests[i].fulfilled));
    json_object_set_new(j, "sent", sent);
    json_object_set_new(j, "received", recv);
    json_object_set_new(j, "requests", reqs);

    if (o->has_thoughts) {
        json_t *th = json_array();
        for (size_t i = 0; i < o->n_thoughts; i++)
            json_array_append_new(th, json_pack("{s:i, s:s}", "round", o->thoughts[i].round, "text",
                                                o->thoughts[i].text));
        json_object_set_new(j, "thoughts", th);
    }
    json_t *bc = json_array();
    for (size_t i = 0; i < o->n_broadcasts; i++)
        json_array_append_new(
            bc, json_pack("{s:o, s:i, s:s}", "from", S_AGENT(o->broadcasts[i].from), "round",
                          o->broadcasts[i].round, "content", o->broadcasts[i].content));
    json_object_set_new(j, "broadcasts", bc);
    if (o->has_exchanges) {
        json_t *ex = json_array();
        for (size_t i = 0; i < o->n_exchanges; i++)
            json_array_append_new(ex, json_pack("{s:o, s:o, s:i, s:i}", "from",
                                                S_AGENT(o->exchanges[i].from), "to",
                                                S_AGENT(o->exchanges[i].to), "pieces",
                                                o->exchanges[i].n, "round", o->exchanges[i].round));
        json_object_set_new(j, "exchanges", ex);
    }
    if (o->n_invalid) {
        json_t *inv2 = json_array();
        for (size_t i = 0; i < o->n_invalid; i++)
            json_array_append_new(inv2, json_pack("{s:i, s:s, s:s}", "action", o->invalid[i].action,
                                                  "code", env_err_name(o->invalid[i].code),
                                                  "reason", o->invalid[i].reason));
        json_object_set_new(j, "invalid_actions", inv2);
    }
#undef S_AGENT
    return j;
}
