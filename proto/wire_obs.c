/* wire_obs.c: the observation between env_obs_t and protobuf (wire.h). The
 * broker turns each turn's env_obs_t into an Observation; agents rebuild an
 * env_obs_t from it, checking every index against the game's tables. Both
 * directions live side by side because they must agree field by field; the
 * deltas sent between two observations are wire_delta.c's. */
#include "wire.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------ observation: out -- */

#define S_ARRAY(a, n, T, init, ptrs_out)                                                           \
    do {                                                                                           \
        (ptrs_out) = (T **)wire_arena_msgs((a), (n), sizeof(T));                                   \
        if ((n) && !(ptrs_out)) return NULL;                                                       \
        for (size_t k_ = 0; k_ < (n); k_++) init((ptrs_out)[k_]);                                  \
    } while (0)

static Parley__Msg **s_msgs_to_pb(wire_arena_t *a, size_t n, const env_msg_t *flat,
                                  const env_msg_t *const *ptrs, int *fail)
{
    Parley__Msg **out;
    *fail = 0;
    if (n == 0) return NULL;
    out = (Parley__Msg **)wire_arena_msgs(a, n, sizeof(Parley__Msg));
    if (!out) {
        *fail = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const env_msg_t *m = flat ? &flat[i] : ptrs[i];
        parley__msg__init(out[i]);
        out[i]->from = m->from;
        out[i]->to = m->to;
        out[i]->round = m->round;
        out[i]->content = (char *)(m->content ? m->content : "");
    }
    return out;
}

static Parley__Note **s_notes_to_pb(wire_arena_t *a, size_t n, const env_note_t *notes, int *fail)
{
    *fail = 0;
    if (n == 0) return NULL;
    Parley__Note **out = (Parley__Note **)wire_arena_msgs(a, n, sizeof(Parley__Note));
    if (!out) {
        *fail = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        parley__note__init(out[i]);
        out[i]->round = notes[i].round;
        out[i]->text = (char *)(notes[i].text ? notes[i].text : "");
    }
    return out;
}

Parley__Observation *wire_obs_to_pb(wire_arena_t *a, const env_obs_t *o, int n_agents)
{
    Parley__Observation *m = wire_arena_alloc(a, sizeof *m);
    if (!m) return NULL;
    parley__observation__init(m);
    m->agent = o->agent;
    m->agent_type = (char *)env_type_name(o->type);
    m->round = o->round;
    m->rounds = o->rounds;
    m->reply = o->kind == ENV_TURN_REPLY;
    m->has_board = o->has_board;

    m->n_board = o->n_board;
    S_ARRAY(a, o->n_board, Parley__BoardRow, parley__board_row__init, m->board);
    for (size_t i = 0; i < o->n_board; i++) {
        m->board[i]->agent = o->board[i].agent;
        m->board[i]->revenue = o->board[i].revenue;
        m->board[i]->tasks_done = o->board[i].tasks_done;
    }

    m->n_tasks = o->n_tasks;
    S_ARRAY(a, o->n_tasks, Parley__TaskView, parley__task_view__init, m->tasks);
    for (size_t i = 0; i < o->n_tasks; i++) {
        const env_task_view_t *t = &o->tasks[i];
        m->tasks[i]->id = (char *)(t->id ? t->id : "");
        m->tasks[i]->description = (char *)(t->description ? t->description : "");
        m->tasks[i]->n_pieces = (size_t)t->n_pieces;
        m->tasks[i]->pieces = (int32_t *)t->pieces; /* same layout: int == int32_t */
    }

    m->n_inventory = o->n_inventory;
    S_ARRAY(a, o->n_inventory, Parley__Holding, parley__holding__init, m->inventory);
    for (size_t i = 0; i < o->n_inventory; i++) {
        m->inventory[i]->piece = o->inventory[i].piece;
        m->inventory[i]->value = o->inventory[i].value;
    }

    size_t nd = o->dir_count ? (size_t)n_agents : 0;
    m->n_directory = nd;
    S_ARRAY(a, nd, Parley__DirEntry, parley__dir_entry__init, m->directory);
    for (size_t i = 0; i < nd; i++) {
        m->directory[i]->agent = (int32_t)i;
        m->directory[i]->n_pieces = o->dir_count[i];
        m->directory[i]->pieces = (int32_t *)o->dir_pieces[i];
    }

    int fail = 0;
    m->n_messages = o->n_msgs;
    m->messages = s_msgs_to_pb(a, o->n_msgs, NULL, o->msgs, &fail);
    if (fail) return NULL;
    m->n_notes = o->n_notes;
    m->notes = s_notes_to_pb(a, o->n_notes, o->notes, &fail);
    if (fail) return NULL;

    m->n_sent = o->n_sent;
    S_ARRAY(a, o->n_sent, Parley__Sent, parley__sent__init, m->sent);
    for (size_t i = 0; i < o->n_sent; i++) {
        m->sent[i]->to = o->sent[i].to;
        m->sent[i]->piece = o->sent[i].piece;
        m->sent[i]->value = o->sent[i].value;
        m->sent[i]->round = o->sent[i].round;
    }
    m->n_received = o->n_received;
    S_ARRAY(a, o->n_received, Parley__Received, parley__received__init, m->received);
    for (size_t i = 0; i < o->n_received; i++) {
        m->received[i]->from = o->received[i].from;
        m->received[i]->piece = o->received[i].piece;
        m->received[i]->value = o->received[i].value;
        m->received[i]->round = o->received[i].round;
    }
    m->n_requests = o->n_requests;
    S_ARRAY(a, o->n_requests, Parley__Request, parley__request__init, m->requests);
    for (size_t i = 0; i < o->n_requests; i++) {
        m->requests[i]->holder = o->requests[i].holder;
        m->requests[i]->piece = o->requests[i].piece;
        m->requests[i]->count = o->requests[i].count;
        m->requests[i]->fulfilled = o->requests[i].fulfilled;
    }

    m->has_thoughts = o->has_thoughts;
    m->n_thoughts = o->n_thoughts;
    m->thoughts = s_notes_to_pb(a, o->n_thoughts, o->thoughts, &fail);
    if (fail) return NULL;
    m->n_broadcasts = o->n_broadcasts;
    m->broadcasts = s_msgs_to_pb(a, o->n_broadcasts, o->broadcasts, NULL, &fail);
    if (fail) return NULL;

    m->has_exchanges = o->has_exchanges;
    m->n_exchanges = o->n_exchanges;
    S_ARRAY(a, o->n_exchanges, Parley__Exchange, parley__exchange__init, m->exchanges);
    for (size_t i = 0; i < o->n_exchanges; i++) {
        m->exchanges[i]->from = o->exchanges[i].from;
        m->exchanges[i]->to = o->exchanges[i].to;
        m->exchanges[i]->n = o->exchanges[i].n;
        m->exchanges[i]->round = o->exchanges[i].round;
    }

    m->has_asks = o->has_asks;
    m->requests_exact = o->requests_exact;
    m->n_asks = o->n_asks;
    S_ARRAY(a, o->n_asks, Parley__Ask, parley__ask__init, m->asks);
    for (size_t i = 0; i < o->n_asks; i++) {
        m->asks[i]->from = o->asks[i].from;
        m->asks[i]->piece = o->asks[i].piece;
        m->asks[i]->count = o->asks[i].count;
        m->asks[i]->answered = o->asks[i].answered;
        m->asks[i]->exact = o->asks[i].exact;
    }

    m->n_invalid = o->n_invalid;
    S_ARRAY(a, o->n_invalid, Parley__Invalid, parley__invalid__init, m->invalid);
    for (size_t i = 0; i < o->n_invalid; i++) {
        m->invalid[i]->action = o->invalid[i].action;
        m->invalid[i]->code = (char *)env_err_name(o->invalid[i].code);
        m->invalid[i]->reason = (char *)(o->invalid[i].reason ? o->invalid[i].reason : "");
    }
    return m;
}

/* A field's number in Observation by its name in parley.proto (protobuf-c
 * names no field numbers in C). */
static uint32_t s_field_id(const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(&parley__observation__descriptor, name);
    return f ? f->id : 0;
}

void wire_obs_hints(const env_obs_t *o, wire_obs_hint_t out[WIRE_OBS_HINTS])
{
    out[0] = (wire_obs_hint_t){s_field_id("messages"), o->msgs_from};
    out[1] = (wire_obs_hint_t){s_field_id("notes"), o->notes_from};
    out[2] = (wire_obs_hint_t){s_field_id("sent"), o->sent_from};
    out[3] = (wire_obs_hint_t){s_field_id("received"), o->received_from};
    out[4] = (wire_obs_hint_t){s_field_id("thoughts"), o->thoughts_from};
    out[5] = (wire_obs_hint_t){s_field_id("broadcasts"), o->broadcasts_from};
    out[6] = (wire_obs_hint_t){s_field_id("exchanges"), o->exchanges_from};
}

/* ------------------------------------------------------- observation: in -- */

struct wire_obs {
    wire_arena_t *arena;
    env_obs_t obs;
};

static bool s_agent_ok(int a, int n_agents, bool allow_none)
{
    return (a >= 0 && a < n_agents) || (allow_none && a == -1);
}

static bool s_piece_ok(int p, int n_pieces)
{
    return p >= 0 && p < n_pieces;
}

static int s_err_from_name(const char *name)
{
    for (int i = 0; i < ENV_ERR_COUNT; i++)
        if (strcmp(env_err_name(i), name) == 0) return i;
    return ENV_EBAD_ACTION;
}

/* Strings are borrowed from the protobuf tree, not copied: the agent decides
 * on the rebuilt observation while its decoder still holds the tree, and
 * copying every message's text each turn was a third of its decoding. */
static const char *s_borrow(const char *s)
{
    return s ? s : "";
}

static env_msg_t *s_msgs_in(wire_arena_t *a, size_t n, Parley__Msg *const *in, int n_agents,
                            int *err)
{
    if (n == 0) return NULL;
    env_msg_t *out = wire_arena_alloc(a, n * sizeof *out);
    if (!out) {
        *err = WIRE_ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!s_agent_ok(in[i]->from, n_agents, true) || !s_agent_ok(in[i]->to, n_agents, true)) {
            *err = WIRE_EBOUNDS;
            return NULL;
        }
        out[i].from = in[i]->from;
        out[i].to = in[i]->to;
        out[i].round = in[i]->round;
        out[i].content = s_borrow(in[i]->content);
    }
    return out;
}

static env_note_t *s_notes_in(wire_arena_t *a, size_t n, Parley__Note *const *in, int *err)
{
    if (n == 0) return NULL;
    env_note_t *out = wire_arena_alloc(a, n * sizeof *out);
    if (!out) {
        *err = WIRE_ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        out[i].round = in[i]->round;
        out[i].text = s_borrow(in[i]->text);
    }
    return out;
}

/* Allocates n elements of T in the arena, or fails the conversion. */
#define S_NEED(ptr, n)                                                                             \
    do {                                                                                           \
        if ((n) > 0) {                                                                             \
            (ptr) = wire_arena_alloc(w->arena, (n) * sizeof *(ptr));                               \
            if (!(ptr)) {                                                                          \
                rc = WIRE_ENOMEM;                                                                  \
                goto fail;                                                                         \
            }                                                                                      \
        }                                                                                          \
    } while (0)
#define S_CHECK(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            rc = WIRE_EBOUNDS;                                                                     \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

void wire_obs_head_from_pb(const Parley__Observation *m, env_obs_t *o)
{
    o->agent = m->agent;
    int type = env_type_from_name(m->agent_type);
    o->type = type < 0 ? ENV_TYPE_NEUTRAL : (env_type_t)type;
    o->kind = m->reply ? ENV_TURN_REPLY : ENV_TURN_NORMAL;
    o->round = m->round;
    o->rounds = m->rounds;
    o->has_board = m->has_board;
    o->has_thoughts = m->has_thoughts;
    o->has_exchanges = m->has_exchanges;
    o->has_asks = m->has_asks;
    o->requests_exact = m->requests_exact;
}

wire_obs_t *wire_obs_from_pb(const Parley__Observation *m, int n_agents, int n_pieces, int *err)
{
    int rc = WIRE_OK, dummy;
    if (!err) err = &dummy;
    wire_obs_t *w = calloc(1, sizeof *w);
    if (!w) {
        *err = WIRE_ENOMEM;
        return NULL;
    }
    w->arena = wire_arena_new();
    if (!w->arena) {
        rc = WIRE_ENOMEM;
        goto fail;
    }
    env_obs_t *o = &w->obs;
    S_CHECK(n_agents > 0 && s_agent_ok(m->agent, n_agents, false));
    wire_obs_head_from_pb(m, o);

    o->n_board = m->n_board;
    S_NEED(o->board, m->n_board);
    for (size_t i = 0; i < m->n_board; i++) {
        S_CHECK(s_agent_ok(m->board[i]->agent, n_agents, false));
        o->board[i].agent = m->board[i]->agent;
        o->board[i].revenue = m->board[i]->revenue;
        o->board[i].tasks_done = m->board[i]->tasks_done;
    }

    o->n_tasks = m->n_tasks;
    S_NEED(o->tasks, m->n_tasks);
    for (size_t i = 0; i < m->n_tasks; i++) {
        const Parley__TaskView *t = m->tasks[i];
        int *pieces = NULL;
        S_NEED(pieces, t->n_pieces);
        for (size_t k = 0; k < t->n_pieces; k++) {
            S_CHECK(s_piece_ok(t->pieces[k], n_pieces));
            pieces[k] = t->pieces[k];
        }
        o->tasks[i].id = s_borrow(t->id);
        o->tasks[i].description = s_borrow(t->description);
        o->tasks[i].n_pieces = (int)t->n_pieces;
        o->tasks[i].pieces = pieces;
    }

    env_holding_t *inv = NULL;
    S_NEED(inv, m->n_inventory);
    for (size_t i = 0; i < m->n_inventory; i++) {
        S_CHECK(s_piece_ok(m->inventory[i]->piece, n_pieces));
        inv[i].piece = m->inventory[i]->piece;
        inv[i].value = m->inventory[i]->value;
    }
    o->n_inventory = m->n_inventory;
    o->inventory = inv;

    /* The directory is dense on the agent's side: every agent has a row. */
    uint32_t *dcount = NULL;
    int **dpieces = NULL;
    S_NEED(dcount, (size_t)n_agents);
    S_NEED(dpieces, (size_t)n_agents);
    for (size_t i = 0; i < m->n_directory; i++) {
        const Parley__DirEntry *d = m->directory[i];
        S_CHECK(s_agent_ok(d->agent, n_agents, false));
        int *pieces = NULL;
        S_NEED(pieces, d->n_pieces);
        for (size_t k = 0; k < d->n_pieces; k++) {
            S_CHECK(s_piece_ok(d->pieces[k], n_pieces));
            pieces[k] = d->pieces[k];
        }
        dcount[d->agent] = (uint32_t)d->n_pieces;
        dpieces[d->agent] = pieces;
    }
    o->dir_count = dcount;
    o->dir_pieces = (const int *const *)dpieces;

    /* The directory by piece, rebuilt: holders in id order. */
    uint32_t *hcount = NULL;
    int **holders = NULL;
    S_NEED(hcount, (size_t)n_pieces);
    S_NEED(holders, (size_t)n_pieces);
    for (int ag = 0; ag < n_agents; ag++)
        for (uint32_t k = 0; k < dcount[ag]; k++) hcount[dpieces[ag][k]]++;
    for (int p = 0; p < n_pieces; p++) {
        S_NEED(holders[p], hcount[p]);
        hcount[p] = 0;
    }
    for (int ag = 0; ag < n_agents; ag++)
        for (uint32_t k = 0; k < dcount[ag]; k++) {
            int p = dpieces[ag][k];
            holders[p][hcount[p]++] = ag;
        }
    o->holder_count = hcount;
    o->holders = (const int *const *)holders;

    *err = WIRE_OK;
    env_msg_t *msgs = s_msgs_in(w->arena, m->n_messages, m->messages, n_agents, &rc);
    if (rc != WIRE_OK) goto fail;
    const env_msg_t **mptrs = NULL;
    S_NEED(mptrs, m->n_messages);
    for (size_t i = 0; i < m->n_messages; i++) mptrs[i] = &msgs[i];
    o->n_msgs = m->n_messages;
    o->msgs = (const env_msg_t *const *)mptrs;

    o->n_notes = m->n_notes;
    o->notes = s_notes_in(w->arena, m->n_notes, m->notes, &rc);
    if (rc != WIRE_OK) goto fail;

    env_sent_t *sent = NULL;
    S_NEED(sent, m->n_sent);
    for (size_t i = 0; i < m->n_sent; i++) {
        S_CHECK(s_agent_ok(m->sent[i]->to, n_agents, false));
        S_CHECK(s_piece_ok(m->sent[i]->piece, n_pieces));
        sent[i] =
            (env_sent_t){m->sent[i]->to, m->sent[i]->piece, m->sent[i]->value, m->sent[i]->round};
    }
    o->n_sent = m->n_sent;
    o->sent = sent;

    env_received_t *recv = NULL;
    S_NEED(recv, m->n_received);
    for (size_t i = 0; i < m->n_received; i++) {
        S_CHECK(s_agent_ok(m->received[i]->from, n_agents, true));
        S_CHECK(s_piece_ok(m->received[i]->piece, n_pieces));
        recv[i] = (env_received_t){m->received[i]->from, m->received[i]->piece,
                                   m->received[i]->value, m->received[i]->round};
    }
    o->n_received = m->n_received;
    o->received = recv;

    env_request_t *req = NULL;
    S_NEED(req, m->n_requests);
    for (size_t i = 0; i < m->n_requests; i++) {
        S_CHECK(s_agent_ok(m->requests[i]->holder, n_agents, false));
        S_CHECK(s_piece_ok(m->requests[i]->piece, n_pieces));
        req[i] = (env_request_t){m->requests[i]->holder, m->requests[i]->piece,
                                 m->requests[i]->count, m->requests[i]->fulfilled};
    }
    o->n_requests = m->n_requests;
    o->requests = req;

    o->n_thoughts = m->n_thoughts;
    o->thoughts = s_notes_in(w->arena, m->n_thoughts, m->thoughts, &rc);
    if (rc != WIRE_OK) goto fail;

    o->n_broadcasts = m->n_broadcasts;
    o->broadcasts = s_msgs_in(w->arena, m->n_broadcasts, m->broadcasts, n_agents, &rc);
    if (rc != WIRE_OK) goto fail;

    env_exchange_t *ex = NULL;
    S_NEED(ex, m->n_exchanges);
    for (size_t i = 0; i < m->n_exchanges; i++) {
        S_CHECK(s_agent_ok(m->exchanges[i]->from, n_agents, true));
        S_CHECK(s_agent_ok(m->exchanges[i]->to, n_agents, true));
        ex[i] = (env_exchange_t){m->exchanges[i]->from, m->exchanges[i]->to, m->exchanges[i]->n,
                                 m->exchanges[i]->round};
    }
    o->n_exchanges = m->n_exchanges;
    o->exchanges = ex;

    env_ask_t *asks = NULL;
    S_NEED(asks, m->n_asks);
    for (size_t i = 0; i < m->n_asks; i++) {
        S_CHECK(s_agent_ok(m->asks[i]->from, n_agents, false));
        S_CHECK(s_piece_ok(m->asks[i]->piece, n_pieces));
        asks[i] = (env_ask_t){m->asks[i]->from, m->asks[i]->piece, m->asks[i]->count,
                              m->asks[i]->answered, m->asks[i]->exact};
    }
    o->n_asks = m->n_asks;
    o->asks = asks;

    env_invalid_t *inv2 = NULL;
    S_NEED(inv2, m->n_invalid);
    for (size_t i = 0; i < m->n_invalid; i++) {
        inv2[i].action = m->invalid[i]->action;
        inv2[i].code = s_err_from_name(m->invalid[i]->code);
        inv2[i].reason = s_borrow(m->invalid[i]->reason);
    }
    o->n_invalid = m->n_invalid;
    o->invalid = inv2;

    *err = WIRE_OK;
    return w;
fail:
    *err = rc;
    wire_obs_destroy(&w);
    return NULL;
}

const env_obs_t *wire_obs_view(const wire_obs_t *w)
{
    return &w->obs;
}

void wire_obs_destroy(wire_obs_t **pw)
{
    if (!pw || !*pw) return;
    wire_arena_destroy(&(*pw)->arena);
    free(*pw);
    *pw = NULL;
}
