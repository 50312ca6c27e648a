/* wire_view.c: the agent's env_obs_t kept across turns (wire_view.h).
 *
 * One growable array per repeated field of Observation, in env_obs_t's own
 * element type, walked by one table (s_fields): its field's name in
 * parley.proto, the element's size and a converter that checks the element's
 * indices and fills one env element from one protobuf element. A delta's
 * edit of a field (wire_delta_dec_edit) is replayed on its array: the kept run
 * moves to the front, replaced elements and new ones are converted, nothing
 * else is touched. The directory is dense on the agent's side (a row per
 * agent, and the same by piece) and small: it is rebuilt whenever its field
 * changed, which is once a round. Strings and piece lists are borrowed from
 * the decoder's observation, where every element the view holds lives on.
 */
#include "wire_view.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Task and directory pieces are borrowed from protobuf's int32 arrays. */
_Static_assert(sizeof(int) == sizeof(int32_t), "int is not 32 bits");

/* wire_view_trim lets the by-piece holders go from this size on (about 2,700
 * pieces): a thousand seats of a 10,000-piece world would each keep 160 KiB
 * between turns for an index the next directory change rebuilds anyway. */
#define S_TRIM_BYTES (32u * 1024u)

/* ---------------------------------------------------------- converters -- */

typedef struct {
    char *arr; /* n elements of the field's env type */
    size_t n, cap;
} s_list_t;

struct wire_view {
    int n_agents, n_pieces;
    bool have;
    uint64_t version; /* the decoder's observation the view is of */
    env_obs_t obs;
    s_list_t *lists; /* per entry of s_fields */
    const ProtobufCFieldDescriptor **fd;
    const env_msg_t **mptrs; /* env_obs_t.msgs: pointers into the messages list */
    size_t mptrs_cap;
    uint32_t *dcount, *hcount; /* [n_agents], [n_pieces] */
    const int **dpieces, **holders;
    int *hflat; /* every holders[p] in one block */
    size_t hflat_cap;
    int patched, rebuilt;
};

static bool s_agent_ok(const wire_view_t *v, int a, bool allow_none)
{
    return (a >= 0 && a < v->n_agents) || (allow_none && a == -1);
}

static bool s_piece_ok(const wire_view_t *v, int p)
{
    return p >= 0 && p < v->n_pieces;
}

static bool s_pieces_ok(const wire_view_t *v, const int32_t *p, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!s_piece_ok(v, p[k])) return false;
    return true;
}

static const char *s_borrow(const char *s)
{
    return s ? s : "";
}

typedef int (*s_conv_fn)(const wire_view_t *v, const void *pb, void *out);

static int s_conv_board(const wire_view_t *v, const void *pb, void *out)
{
    const Parley__BoardRow *r = pb;
    if (!s_agent_ok(v, r->agent, false)) return WIRE_EBOUNDS;
    *(env_board_row_t *)out = (env_board_row_t){r->agent, r->revenue, r->tasks_done};
    return WIRE_OK;
}

static int s_conv_task(const wire_view_t *v, const void *pb, void *out)
{
    const Parley__TaskView *t = pb;
    if (!s_pieces_ok(v, t->pieces, t->n_pieces)) return WIRE_EBOUNDS;
    *(env_task_view_t *)out = (env_task_view_t){s_borrow(t->id), s_borrow(t->description),
                                                (int)t->n_pieces, (const int *)t->pieces};
    return WIRE_OK;
}

static int s_conv_holding(const wire_view_t *v, const void *pb, void *out)
{
    const Parley__Holding *h = pb;
    if (!s_piece_ok(v, h->piece)) return WIRE_EBOUNDS;
    *(env_holding_t *)out = (env_holding_t){h->piece, h->value};
    return WIRE_OK;
}

/* Directory rows are checked here and laid out by s_directory. */
static int s_conv_dir(const wire_view_t *v, const void *pb, void *out)
{
    const Parley__DirEntry *e = pb;
    if (!s_agent_ok(v, e->agent, false) || !s_pieces_ok(v, e->pieces, e->n_pieces))
        return WIRE_EBOUNDS;
    *(const Parley__DirEntry **)out = e;
    return WIRE_OK;
}

static int s_conv_msg(const wire_view_t *v, const void *pb, void *out)
{
    const Parley__Msg *m = pb;
    if (!s_agent_ok(v, m->from, true) || !s_agent_ok(v, m->to, true)) return WIRE_EBOUNDS;
    *(env_msg_t *)out = (env_msg_t){m->from, m->to, m->round, s_borrow(m->content)};
    return WIRE_OK;
}

static int s_conv_note(const wire_view_t *v, const void *pb, void *out)
{
    (void)v;
    const Parley__Note *n = pb;
    *(env_note_t *)out = (env_note_t){n->round, s_borrow(n->text)};
    return WIRE_OK;
}

static int s_conv_sent(const wire_view_t *v, const void *pb, void *out)
{
    const Parley__Sent *s = pb;
    if (!s_agent_ok(v, s->to, false) || !s_piece_ok(v, s->piece)) return WIRE_EBOUNDS;
    *(env_sent_t *)out = (env_sent_t){s->to, s->piece, s->value, s->round};
    return WIRE_OK;
}

static int s_conv_received(const wire_view_t *v, const void *pb, void *out)
{
    const Parley__Received *r = pb;
    if (!s_agent_ok(v, r->from, true) || !s_piece_ok(v, r->piece)) return WIRE_EBOUNDS;
    *(env_received_t *)out = (env_received_t){r->from, r->piece, r->value, r->round};
    return WIRE_OK;
}

static int s_conv_request(const wire_view_t *v, const void *pb, void *out)
{
    const Parley__Request *r = pb;
    if (!s_agent_ok(v, r->holder, false) || !s_piece_ok(v, r->piece)) return WIRE_EBOUNDS;
    *(env_request_t *)out = (env_request_t){r->holder, r->piece, r->count, r->fulfilled};
    return WIRE_OK;
}

static int s_conv_exchange(const wire_view_t *v, const void *pb, void *out)
{
    const Parley__Exchange *x = pb;
    if (!s_agent_ok(v, x->from, true) || !s_agent_ok(v, x->to, true)) return WIRE_EBOUNDS;
    *(env_exchange_t *)out = (env_exchange_t){x->from, x->to, x->n, x->round};
    return WIRE_OK;
}

static int s_conv_ask(const wire_view_t *v, const void *pb, void *out)
{
    const Parley__Ask *a = pb;
    if (!s_agent_ok(v, a->from, false) || !s_piece_ok(v, a->piece)) return WIRE_EBOUNDS;
    *(env_ask_t *)out = (env_ask_t){a->from, a->piece, a->count, a->answered, a->exact};
    return WIRE_OK;
}

static int s_conv_invalid(const wire_view_t *v, const void *pb, void *out)
{
    (void)v;
    const Parley__Invalid *x = pb;
    int code = ENV_EBAD_ACTION; /* a name this client does not know */
    for (int i = 0; i < ENV_ERR_COUNT; i++)
        if (strcmp(env_err_name(i), s_borrow(x->code)) == 0) {
            code = i;
            break;
        }
    *(env_invalid_t *)out = (env_invalid_t){x->action, code, s_borrow(x->reason)};
    return WIRE_OK;
}

enum {
    S_BOARD,
    S_TASKS,
    S_INVENTORY,
    S_DIRECTORY,
    S_MESSAGES,
    S_NOTES,
    S_SENT,
    S_RECEIVED,
    S_REQUESTS,
    S_THOUGHTS,
    S_BROADCASTS,
    S_EXCHANGES,
    S_ASKS,
    S_INVALID,
    S_N_FIELDS
};

static const struct {
    const char *name; /* in parley.proto's Observation */
    size_t size;      /* of one element in the view */
    s_conv_fn conv;
} s_fields[S_N_FIELDS] = {
    [S_BOARD] = {"board", sizeof(env_board_row_t), s_conv_board},
    [S_TASKS] = {"tasks", sizeof(env_task_view_t), s_conv_task},
    [S_INVENTORY] = {"inventory", sizeof(env_holding_t), s_conv_holding},
    [S_DIRECTORY] = {"directory", sizeof(const Parley__DirEntry *), s_conv_dir},
    [S_MESSAGES] = {"messages", sizeof(env_msg_t), s_conv_msg},
    [S_NOTES] = {"notes", sizeof(env_note_t), s_conv_note},
    [S_SENT] = {"sent", sizeof(env_sent_t), s_conv_sent},
    [S_RECEIVED] = {"received", sizeof(env_received_t), s_conv_received},
    [S_REQUESTS] = {"requests", sizeof(env_request_t), s_conv_request},
    [S_THOUGHTS] = {"thoughts", sizeof(env_note_t), s_conv_note},
    [S_BROADCASTS] = {"broadcasts", sizeof(env_msg_t), s_conv_msg},
    [S_EXCHANGES] = {"exchanges", sizeof(env_exchange_t), s_conv_exchange},
    [S_ASKS] = {"asks", sizeof(env_ask_t), s_conv_ask},
    [S_INVALID] = {"invalid", sizeof(env_invalid_t), s_conv_invalid},
};

/* ------------------------------------------------------------ lifecycle -- */

wire_view_t *wire_view_new(int n_agents, int n_pieces)
{
    if (n_agents <= 0 || n_pieces < 0) return NULL;
    wire_view_t *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->n_agents = n_agents;
    v->n_pieces = n_pieces;
    v->lists = calloc(S_N_FIELDS, sizeof *v->lists);
    v->fd = calloc(S_N_FIELDS, sizeof *v->fd);
    v->dcount = calloc((size_t)n_agents, sizeof *v->dcount);
    v->dpieces = calloc((size_t)n_agents, sizeof *v->dpieces);
    if (!v->lists || !v->fd || !v->dcount || !v->dpieces) goto fail;
    for (int i = 0; i < S_N_FIELDS; i++) {
        v->fd[i] = protobuf_c_message_descriptor_get_field_by_name(&parley__observation__descriptor,
                                                                   s_fields[i].name);
        /* A bug, not input: the table names the schema's fields. */
        if (!v->fd[i] || v->fd[i]->label != PROTOBUF_C_LABEL_REPEATED ||
            v->fd[i]->type != PROTOBUF_C_TYPE_MESSAGE)
            goto fail;
    }
    return v;
fail:
    wire_view_destroy(&v);
    return NULL;
}

void wire_view_destroy(wire_view_t **pv)
{
    if (!pv || !*pv) return;
    wire_view_t *v = *pv;
    for (int i = 0; v->lists && i < S_N_FIELDS; i++) free(v->lists[i].arr);
    free(v->lists);
    free(v->fd);
    free(v->mptrs);
    free(v->dcount);
    free(v->dpieces);
    free(v->hcount);
    free(v->holders);
    free(v->hflat);
    free(v);
    *pv = NULL;
}

void wire_view_reset(wire_view_t *v)
{
    if (!v) return;
    v->have = false;
    v->version = 0;
    for (int i = 0; i < S_N_FIELDS; i++) v->lists[i].n = 0;
}

void wire_view_counts(const wire_view_t *v, int *patched, int *rebuilt)
{
    if (patched) *patched = v ? v->patched : 0;
    if (rebuilt) *rebuilt = v ? v->rebuilt : 0;
}

/* --------------------------------------------------------------- update -- */

/* Room for n elements of size bytes in *arr (a growable array of *cap). */
static int s_reserve(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap) return WIRE_OK;
    size_t c = *cap ? *cap * 2 : 16;
    while (c < n) c *= 2;
    void *p = realloc(*arr, c * size);
    if (!p) return WIRE_ENOMEM;
    *arr = p;
    *cap = c;
    return WIRE_OK;
}

/* Replays one field's edit on its list: pb holds the decoder's n elements
 * after the apply. The edit was checked against the decoder's base, which is
 * this list's old contents; checked again here, so that a view out of step
 * fails rather than shows a wrong list. */
static int s_patch_list(wire_view_t *v, int i, const wire_delta_edit_t *ed, void *const *pb,
                        size_t n)
{
    s_list_t *l = &v->lists[i];
    size_t sz = s_fields[i].size;
    if (ed->skip > l->n || ed->keep > l->n - ed->skip || ed->keep > n || ed->n_repl > ed->keep)
        return WIRE_EDELTA;
    void *grown = l->arr;
    int rc = s_reserve(&grown, &l->cap, n, sz);
    if (rc != WIRE_OK) return rc;
    l->arr = grown;
    if (ed->skip && ed->keep) memmove(l->arr, l->arr + ed->skip * sz, ed->keep * sz);
    for (size_t k = 0; k < ed->n_repl; k++) {
        size_t at = ed->repl[k];
        if (at >= ed->keep) return WIRE_EDELTA;
        rc = s_fields[i].conv(v, pb[at], l->arr + at * sz);
        if (rc != WIRE_OK) return rc;
    }
    for (size_t k = ed->keep; k < n; k++) {
        rc = s_fields[i].conv(v, pb[k], l->arr + k * sz);
        if (rc != WIRE_OK) return rc;
    }
    l->n = n;
    return WIRE_OK;
}

/* The by-piece half of the directory, which the next s_directory makes
 * again. */
static void s_free_by_piece(wire_view_t *v)
{
    free(v->hcount);
    free(v->holders);
    free(v->hflat);
    v->hcount = NULL;
    v->holders = NULL;
    v->hflat = NULL;
    v->hflat_cap = 0;
}

void wire_view_trim(wire_view_t *v)
{
    if (v && (size_t)v->n_pieces * (sizeof *v->hcount + sizeof *v->holders) >= S_TRIM_BYTES)
        s_free_by_piece(v);
}

/* The directory, dense by agent (a later row for the same agent wins, as in
 * wire_obs_from_pb) and turned around by piece: holders in id order. */
static int s_directory(wire_view_t *v)
{
    if (!v->hcount) { /* new, or let go of by wire_view_trim */
        size_t np = v->n_pieces ? (size_t)v->n_pieces : 1;
        v->hcount = malloc(np * sizeof *v->hcount);
        v->holders = malloc(np * sizeof *v->holders);
        if (!v->hcount || !v->holders) {
            s_free_by_piece(v);
            return WIRE_ENOMEM;
        }
    }
    const s_list_t *l = &v->lists[S_DIRECTORY];
    const Parley__DirEntry *const *rows = (const Parley__DirEntry *const *)l->arr;
    memset(v->dcount, 0, (size_t)v->n_agents * sizeof *v->dcount);
    memset(v->dpieces, 0, (size_t)v->n_agents * sizeof *v->dpieces);
    memset(v->hcount, 0, (size_t)v->n_pieces * sizeof *v->hcount);
    for (size_t i = 0; i < l->n; i++) {
        v->dcount[rows[i]->agent] = (uint32_t)rows[i]->n_pieces;
        v->dpieces[rows[i]->agent] = (const int *)rows[i]->pieces;
    }
    size_t total = 0;
    for (int ag = 0; ag < v->n_agents; ag++) {
        for (uint32_t k = 0; k < v->dcount[ag]; k++) v->hcount[v->dpieces[ag][k]]++;
        total += v->dcount[ag];
    }
    void *grown = v->hflat;
    if (s_reserve(&grown, &v->hflat_cap, total, sizeof *v->hflat) != WIRE_OK) return WIRE_ENOMEM;
    v->hflat = grown;
    size_t at = 0;
    for (int p = 0; p < v->n_pieces; p++) {
        v->holders[p] = v->hcount[p] ? v->hflat + at : NULL;
        at += v->hcount[p];
        v->hcount[p] = 0;
    }
    for (int ag = 0; ag < v->n_agents; ag++)
        for (uint32_t k = 0; k < v->dcount[ag]; k++) {
            int p = v->dpieces[ag][k];
            v->hflat[(v->holders[p] - v->hflat) + v->hcount[p]++] = ag;
        }
    return WIRE_OK;
}

const env_obs_t *wire_view_update(wire_view_t *v, const wire_delta_dec_t *d, int *err)
{
    int rc = WIRE_OK, dummy;
    if (!err) err = &dummy;
    const Parley__Observation *m = wire_delta_dec_obs(d);
    if (!m) {
        rc = WIRE_EMALFORMED;
        goto fail;
    }
    uint64_t base = wire_delta_dec_base(d);
    bool patch = v->have && base != 0 && base == v->version;
    if (!patch) wire_view_reset(v);
    v->have = false; /* until the update is whole */
    if (!s_agent_ok(v, m->agent, false)) {
        rc = WIRE_EBOUNDS;
        goto fail;
    }
    env_obs_t *o = &v->obs;
    wire_obs_head_from_pb(m, o);

    bool dir_changed = !patch || !v->hcount, msgs_moved = !patch;
    for (int i = 0; i < S_N_FIELDS; i++) {
        const ProtobufCFieldDescriptor *f = v->fd[i];
        size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
        void *const *pb = *(void *const *const *)((const char *)m + f->offset);
        wire_delta_edit_t ed = {true, 0, 0, 0, NULL}; /* rebuilt: every element new */
        if (patch) {
            if (!wire_delta_dec_edit(d, f->id, &ed)) {
                rc = WIRE_EMALFORMED;
                goto fail;
            }
            if (!ed.changed) {
                if (v->lists[i].n != n) { /* out of step with the decoder: refuse */
                    rc = WIRE_EDELTA;
                    goto fail;
                }
                continue;
            }
        }
        char *before = v->lists[i].arr;
        rc = s_patch_list(v, i, &ed, pb, n);
        if (rc != WIRE_OK) goto fail;
        if (i == S_DIRECTORY) dir_changed = true;
        /* Messages are also pointed at (env_obs_t.msgs): anew when the list
         * moved, else only the appended ones. */
        if (i == S_MESSAGES && (ed.skip || v->lists[i].arr != before)) msgs_moved = true;
        if (i == S_MESSAGES && !msgs_moved) {
            void *grown = v->mptrs;
            if (s_reserve(&grown, &v->mptrs_cap, n, sizeof *v->mptrs) != WIRE_OK) {
                rc = WIRE_ENOMEM;
                goto fail;
            }
            v->mptrs = grown;
            for (size_t k = ed.keep; k < n; k++)
                v->mptrs[k] = (const env_msg_t *)v->lists[i].arr + k;
        }
    }
    const s_list_t *ms = &v->lists[S_MESSAGES];
    if (msgs_moved) {
        void *grown = (void *)v->mptrs;
        if (s_reserve(&grown, &v->mptrs_cap, ms->n, sizeof *v->mptrs) != WIRE_OK) {
            rc = WIRE_ENOMEM;
            goto fail;
        }
        v->mptrs = grown;
        for (size_t k = 0; k < ms->n; k++) v->mptrs[k] = (const env_msg_t *)ms->arr + k;
    }
    if (dir_changed && (rc = s_directory(v)) != WIRE_OK) goto fail;

#define S_SET(idx, ptr, count, T)                                                                  \
    do {                                                                                           \
        (count) = v->lists[idx].n;                                                                 \
        (ptr) = (count) ? (T *)v->lists[idx].arr : NULL;                                           \
    } while (0)
    S_SET(S_BOARD, o->board, o->n_board, env_board_row_t);
    S_SET(S_TASKS, o->tasks, o->n_tasks, env_task_view_t);
    S_SET(S_INVENTORY, o->inventory, o->n_inventory, const env_holding_t);
    S_SET(S_NOTES, o->notes, o->n_notes, const env_note_t);
    S_SET(S_SENT, o->sent, o->n_sent, const env_sent_t);
    S_SET(S_RECEIVED, o->received, o->n_received, const env_received_t);
    S_SET(S_REQUESTS, o->requests, o->n_requests, const env_request_t);
    S_SET(S_THOUGHTS, o->thoughts, o->n_thoughts, const env_note_t);
    S_SET(S_BROADCASTS, o->broadcasts, o->n_broadcasts, const env_msg_t);
    S_SET(S_EXCHANGES, o->exchanges, o->n_exchanges, const env_exchange_t);
    S_SET(S_ASKS, o->asks, o->n_asks, const env_ask_t);
    S_SET(S_INVALID, o->invalid, o->n_invalid, const env_invalid_t);
#undef S_SET
    o->n_msgs = ms->n;
    o->msgs = ms->n ? (const env_msg_t *const *)v->mptrs : NULL;
    o->dir_count = v->dcount;
    o->dir_pieces = v->dpieces;
    o->holder_count = v->hcount;
    o->holders = v->holders;

    v->have = true;
    v->version = wire_delta_dec_version(d);
    if (patch)
        v->patched++;
    else
        v->rebuilt++;
    *err = WIRE_OK;
    return o;
fail:
    wire_view_reset(v);
    *err = rc;
    return NULL;
}

/* ----------------------------------------------------------------- diff -- */

static bool s_str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static int s_differs(char *what, size_t len, const char *fmt, const char *field, size_t i)
{
    snprintf(what, len, fmt, field, i);
    return 1;
}

#define S_LIST(name, na, nb, cmp)                                                                  \
    do {                                                                                           \
        if ((na) != (nb)) return s_differs(what, len, "%s: %zu elements", name, (size_t)(na));     \
        for (size_t i = 0; i < (na); i++)                                                          \
            if (!(cmp)) return s_differs(what, len, "%s[%zu]", name, i);                           \
    } while (0)

int wire_view_diff(const env_obs_t *a, const env_obs_t *b, int n_agents, int n_pieces, char *what,
                   size_t len)
{
    char dummy[8];
    if (!what || !len) {
        what = dummy;
        len = sizeof dummy;
    }
    what[0] = '\0';
    if (a->agent != b->agent || a->type != b->type || a->kind != b->kind || a->round != b->round ||
        a->rounds != b->rounds || a->has_board != b->has_board ||
        a->has_thoughts != b->has_thoughts || a->has_exchanges != b->has_exchanges ||
        a->has_asks != b->has_asks || a->requests_exact != b->requests_exact) {
        snprintf(what, len, "scalars (agent, type, kind, round, flags)");
        return 1;
    }
    S_LIST("board", a->n_board, b->n_board,
           a->board[i].agent == b->board[i].agent && a->board[i].revenue == b->board[i].revenue &&
               a->board[i].tasks_done == b->board[i].tasks_done);
    S_LIST(
        "tasks", a->n_tasks, b->n_tasks,
        s_str_eq(a->tasks[i].id, b->tasks[i].id) &&
            s_str_eq(a->tasks[i].description, b->tasks[i].description) &&
            a->tasks[i].n_pieces == b->tasks[i].n_pieces &&
            (a->tasks[i].n_pieces == 0 || memcmp(a->tasks[i].pieces, b->tasks[i].pieces,
                                                 (size_t)a->tasks[i].n_pieces * sizeof(int)) == 0));
    S_LIST("inventory", a->n_inventory, b->n_inventory,
           a->inventory[i].piece == b->inventory[i].piece &&
               a->inventory[i].value == b->inventory[i].value);
    S_LIST("directory", (size_t)n_agents, (size_t)n_agents,
           a->dir_count[i] == b->dir_count[i] &&
               (a->dir_count[i] == 0 ||
                memcmp(a->dir_pieces[i], b->dir_pieces[i], a->dir_count[i] * sizeof(int)) == 0));
    S_LIST("holders", (size_t)n_pieces, (size_t)n_pieces,
           a->holder_count[i] == b->holder_count[i] &&
               (a->holder_count[i] == 0 ||
                memcmp(a->holders[i], b->holders[i], a->holder_count[i] * sizeof(int)) == 0));
    S_LIST("messages", a->n_msgs, b->n_msgs,
           a->msgs[i]->from == b->msgs[i]->from && a->msgs[i]->to == b->msgs[i]->to &&
               a->msgs[i]->round == b->msgs[i]->round &&
               s_str_eq(a->msgs[i]->content, b->msgs[i]->content));
    S_LIST("notes", a->n_notes, b->n_notes,
           a->notes[i].round == b->notes[i].round && s_str_eq(a->notes[i].text, b->notes[i].text));
    S_LIST("sent", a->n_sent, b->n_sent,
           a->sent[i].to == b->sent[i].to && a->sent[i].piece == b->sent[i].piece &&
               a->sent[i].value == b->sent[i].value && a->sent[i].round == b->sent[i].round);
    S_LIST("received", a->n_received, b->n_received,
           a->received[i].from == b->received[i].from &&
               a->received[i].piece == b->received[i].piece &&
               a->received[i].value == b->received[i].value &&
               a->received[i].round == b->received[i].round);
    S_LIST("requests", a->n_requests, b->n_requests,
           a->requests[i].holder == b->requests[i].holder &&
               a->requests[i].piece == b->requests[i].piece &&
               a->requests[i].count == b->requests[i].count &&
               a->requests[i].fulfilled == b->requests[i].fulfilled);
    S_LIST("thoughts", a->n_thoughts, b->n_thoughts,
           a->thoughts[i].round == b->thoughts[i].round &&
               s_str_eq(a->thoughts[i].text, b->thoughts[i].text));
    S_LIST("broadcasts", a->n_broadcasts, b->n_broadcasts,
           a->broadcasts[i].from == b->broadcasts[i].from &&
               a->broadcasts[i].to == b->broadcasts[i].to &&
               a->broadcasts[i].round == b->broadcasts[i].round &&
               s_str_eq(a->broadcasts[i].content, b->broadcasts[i].content));
    S_LIST("exchanges", a->n_exchanges, b->n_exchanges,
           a->exchanges[i].from == b->exchanges[i].from &&
               a->exchanges[i].to == b->exchanges[i].to && a->exchanges[i].n == b->exchanges[i].n &&
               a->exchanges[i].round == b->exchanges[i].round);
    S_LIST("asks", a->n_asks, b->n_asks,
           a->asks[i].from == b->asks[i].from && a->asks[i].piece == b->asks[i].piece &&
               a->asks[i].count == b->asks[i].count && a->asks[i].answered == b->asks[i].answered &&
               a->asks[i].exact == b->asks[i].exact);
    S_LIST("invalid", a->n_invalid, b->n_invalid,
           a->invalid[i].action == b->invalid[i].action &&
               a->invalid[i].code == b->invalid[i].code &&
               s_str_eq(a->invalid[i].reason, b->invalid[i].reason));
    return 0;
}

int wire_view_check(const wire_view_t *v, const wire_delta_dec_t *d, char *what, size_t len)
{
    const Parley__Observation *m = wire_delta_dec_obs(d);
    if (!v->have || !m) {
        snprintf(what, len, "the view or the decoder holds nothing");
        return 1;
    }
    int err = 0;
    wire_obs_t *w = wire_obs_from_pb(m, v->n_agents, v->n_pieces, &err);
    if (!w) {
        snprintf(what, len, "the view took what a rebuild refuses (%s)", wire_strerror(err));
        return 1;
    }
    char at[96];
    int rc = wire_view_diff(&v->obs, wire_obs_view(w), v->n_agents, v->n_pieces, at, sizeof at);
    if (rc) snprintf(what, len, "the patched view differs from a rebuild at %s", at);
    wire_obs_destroy(&w);
    return rc;
}
