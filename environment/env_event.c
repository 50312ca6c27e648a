/* env_event.c: the event record (docs/EVENTS.md) as the rules write it
 * (env_internal.h, "Events"): one code path, two builders. A text sink's event
 * goes straight into one reused buffer (env_jsonw.h), its keys and names
 * copied as text made beforehand; a tree sink's (the broker's) is built as a
 * jansson tree. Both give the same event. */
#include "env_internal.h"

#include <stdlib.h>
#include <string.h>

/* Tree builder: v goes into the open container (under the pending key for
 * an object); NULL (a string jansson refused, out of memory) adds nothing,
 * as json_object_set_new did. */
static void s_tree_add(env_game_t *g, json_t *v)
{
    const char *key = g->ev_key;
    g->ev_key = NULL;
    if (!v) return;
    json_t *top = g->ev_depth ? g->ev_stack[g->ev_depth - 1] : NULL;
    if (top && json_is_object(top) && key)
        json_object_set_new(top, key, v);
    else if (top && json_is_array(top))
        json_array_append_new(top, v);
    else
        json_decref(v);
}

#define S_EV_MAX ((int)(sizeof((env_game_t *)0)->ev_stack / sizeof(json_t *)))

/* A container inside the event: added to its parent, then the open one. One
 * that could not be made (or too deep) takes its members nowhere. */
static void s_tree_open(env_game_t *g, json_t *c)
{
    if (c && g->ev_depth < S_EV_MAX) {
        s_tree_add(g, json_incref(c));
    } else {
        json_decref(c);
        g->ev_key = NULL;
        c = NULL;
    }
    if (g->ev_depth < S_EV_MAX) g->ev_stack[g->ev_depth] = c;
    g->ev_depth++;
}

bool env_ev_beginq(env_game_t *g, const char *type, const char *q, size_t qn)
{
    g->seq++; /* counted even when nobody listens, so benchmarks can count */
    g->ev_type = type;
    if (g->text_sink) {
        /* {"seq":N,"type":"T","round":R: q holds the type between the two. */
        env_jsonw_reset(g->ew);
        env_jsonw_obj(g->ew);
        env_jsonw_kqint(g->ew, ENV_JSONW_KEY("seq"), (long long)g->seq);
        env_jsonw_kqint(g->ew, q, qn, g->round);
        return true;
    }
    if (!g->sink) return false;
    g->ev_depth = 0;
    g->ev_key = NULL;
    json_t *ev = json_object();
    if (!ev) return false;
    g->ev_stack[g->ev_depth++] = ev;
    json_object_set_new(ev, "seq", json_integer((json_int_t)g->seq));
    json_object_set_new(ev, "type", json_string(type));
    json_object_set_new(ev, "round", json_integer(g->round));
    return true;
}

void env_ev_end(env_game_t *g)
{
    if (g->text_sink) {
        env_jsonw_t *w = g->ew;
        env_jsonw_close(w);
        /* Out of memory while writing: the event is lost, as a tree that could
         * not be built is; the broker counts what its checks find missing. */
        if (env_jsonw_ok(w))
            g->text_sink(g->sink_ctx, g->ev_type, env_jsonw_data(w), env_jsonw_len(w));
        return;
    }
    json_t *ev = g->ev_depth ? g->ev_stack[0] : NULL;
    for (int i = 1; i < g->ev_depth && i < S_EV_MAX; i++)
        json_decref(g->ev_stack[i]); /* a container left open by mistake */
    g->ev_depth = 0;
    if (ev) g->sink(g->sink_ctx, ev);
}

void env_ev_obj(env_game_t *g)
{
    if (g->text_sink)
        env_jsonw_obj(g->ew);
    else
        s_tree_open(g, json_object());
}

void env_ev_arr(env_game_t *g)
{
    if (g->text_sink)
        env_jsonw_arr(g->ew);
    else
        s_tree_open(g, json_array());
}

void env_ev_close(env_game_t *g)
{
    if (g->text_sink) {
        env_jsonw_close(g->ew);
        return;
    }
    if (g->ev_depth <= 1) return; /* the event itself closes in env_ev_end */
    g->ev_depth--;
    if (g->ev_depth < S_EV_MAX) json_decref(g->ev_stack[g->ev_depth]); /* its parent holds it */
}

void env_ev_keyq(env_game_t *g, const char *k, const char *q, size_t qn)
{
    if (g->text_sink)
        env_jsonw_kq(g->ew, q, qn);
    else
        g->ev_key = k;
}

void env_ev_str(env_game_t *g, const char *s)
{
    if (g->text_sink)
        env_jsonw_str(g->ew, s);
    else
        s_tree_add(g, s ? json_string(s) : NULL);
}

void env_ev_int(env_game_t *g, long long v)
{
    if (g->text_sink)
        env_jsonw_int(g->ew, v);
    else
        s_tree_add(g, json_integer((json_int_t)v));
}

void env_ev_bool(env_game_t *g, bool v)
{
    if (g->text_sink)
        env_jsonw_bool(g->ew, v);
    else
        s_tree_add(g, json_boolean(v));
}

void env_ev_null(env_game_t *g)
{
    if (g->text_sink)
        env_jsonw_null(g->ew);
    else
        s_tree_add(g, json_null());
}

void env_ev_agent(env_game_t *g, int agent)
{
    if (!g->text_sink)
        s_tree_add(g, json_string(g->agents[agent].id));
    else if (g->agent_q[agent])
        env_jsonw_rawval(g->ew, g->agent_q[agent], g->agent_qn[agent]);
}

void env_ev_piece(env_game_t *g, int piece)
{
    if (!g->text_sink)
        s_tree_add(g, json_string(g->piece_names[piece]));
    else if (g->piece_q[piece])
        env_jsonw_rawval(g->ew, g->piece_q[piece], g->piece_qn[piece]);
}

void env_ev_kstrq(env_game_t *g, const char *k, const char *q, size_t qn, const char *s)
{
    if (g->text_sink) {
        env_jsonw_kqstr(g->ew, q, qn, s);
        return;
    }
    g->ev_key = k;
    s_tree_add(g, s ? json_string(s) : NULL);
}

void env_ev_kintq(env_game_t *g, const char *k, const char *q, size_t qn, long long v)
{
    if (g->text_sink) {
        env_jsonw_kqint(g->ew, q, qn, v);
        return;
    }
    g->ev_key = k;
    s_tree_add(g, json_integer((json_int_t)v));
}

void env_ev_kboolq(env_game_t *g, const char *k, const char *q, size_t qn, bool v)
{
    if (g->text_sink) {
        env_jsonw_kqbool(g->ew, q, qn, v);
        return;
    }
    g->ev_key = k;
    s_tree_add(g, json_boolean(v));
}

void env_ev_kagentq(env_game_t *g, const char *k, const char *q, size_t qn, int agent)
{
    if (!g->text_sink) {
        g->ev_key = k;
        s_tree_add(g, json_string(g->agents[agent].id));
    } else if (g->agent_q[agent])
        env_jsonw_kqraw(g->ew, q, qn, g->agent_q[agent], g->agent_qn[agent]);
}

void env_ev_klitq(env_game_t *g, const char *k, const char *q, size_t qn, const char *lit,
                  const char *lq, size_t lqn)
{
    if (g->text_sink) {
        env_jsonw_kqraw(g->ew, q, qn, lq, lqn);
        return;
    }
    g->ev_key = k;
    s_tree_add(g, json_string(lit));
}

void env_ev_kpieceq(env_game_t *g, const char *k, const char *q, size_t qn, int piece)
{
    if (!g->text_sink) {
        g->ev_key = k;
        s_tree_add(g, json_string(g->piece_names[piece]));
    } else if (g->piece_q[piece])
        env_jsonw_kqraw(g->ew, q, qn, g->piece_q[piece], g->piece_qn[piece]);
}

void env_ev_kintn(env_game_t *g, const char *k, size_t kn, long long v)
{
    if (g->text_sink) {
        env_jsonw_kintn(g->ew, k, kn, v);
        return;
    }
    g->ev_key = k;
    s_tree_add(g, json_integer((json_int_t)v));
}

/* One name as the log writes it, into the arena; NULL *q when jansson would
 * refuse it (not UTF-8). */
static int s_quote(env_game_t *g, env_jsonw_t *w, const char *name, char **q, uint32_t *qn)
{
    env_jsonw_reset(w);
    *q = NULL;
    *qn = 0;
    if (env_jsonw_str(w, name) != 0) return ENV_OK;
    if (!env_jsonw_ok(w) || env_jsonw_len(w) > UINT32_MAX) return ENV_ENOMEM;
    *q = env_arena_alloc(&g->arena, env_jsonw_len(w) + 1);
    if (!*q) return ENV_ENOMEM;
    memcpy(*q, env_jsonw_data(w), env_jsonw_len(w) + 1);
    *qn = (uint32_t)env_jsonw_len(w);
    return ENV_OK;
}

int env_ev_quote_names(env_game_t *g)
{
    if (!g->text_sink) return ENV_OK;
    g->piece_q = calloc((size_t)g->p, sizeof *g->piece_q);
    g->piece_qn = calloc((size_t)g->p, sizeof *g->piece_qn);
    g->agent_q = calloc((size_t)g->n, sizeof *g->agent_q);
    g->agent_qn = calloc((size_t)g->n, sizeof *g->agent_qn);
    env_jsonw_t *w = env_jsonw_new();
    int rc = g->piece_q && g->piece_qn && g->agent_q && g->agent_qn && w ? ENV_OK : ENV_ENOMEM;
    for (int i = 0; i < g->p && !rc; i++)
        rc = s_quote(g, w, g->piece_names[i], &g->piece_q[i], &g->piece_qn[i]);
    for (int i = 0; i < g->n && !rc; i++)
        rc = s_quote(g, w, g->agents[i].id, &g->agent_q[i], &g->agent_qn[i]);
    env_jsonw_destroy(&w);
    return rc;
}
