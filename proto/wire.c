/* wire.c: envelope framing, the arena, rules and decisions between protobuf and
 * the environment (wire.h). The observation lives in wire_obs.c. Used by the
 * broker (decisions in) and by agents (decisions out); both sides must agree
 * field by field, so the two directions live next to each other. */
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* ----------------------------------------------------------------- errors -- */

const char *wire_strerror(int err)
{
    switch (err) {
    case WIRE_OK:
        return "ok";
    case WIRE_EMALFORMED:
        return "not a parley Envelope";
    case WIRE_ETOO_LARGE:
        return "message larger than the limit";
    case WIRE_ENOMEM:
        return "out of memory";
    case WIRE_EIO:
        return "socket error";
    case WIRE_EBOUNDS:
        return "index outside the game's tables";
    case WIRE_EBASE:
        return "observation delta against an unknown base";
    case WIRE_EDELTA:
        return "observation delta that does not fit its base";
    default:
        return "unknown wire error";
    }
}

const char *wire_code_name(int code)
{
    static const char *const names[] = {"unknown",    "malformed",  "too_large",    "unknown_seat",
                                        "bad_token",  "seat_taken", "not_welcomed", "not_your_turn",
                                        "stale_turn", "game_over",  "unexpected",   "wrong_game"};
    if (code < 0 || (size_t)code >= sizeof names / sizeof names[0]) return "unknown";
    return names[code];
}

const char *wire_body_name(int body_case)
{
    switch (body_case) {
    case PARLEY__ENVELOPE__BODY_HELLO:
        return "hello";
    case PARLEY__ENVELOPE__BODY_WELCOME:
        return "welcome";
    case PARLEY__ENVELOPE__BODY_TURN_REQUEST:
        return "turn_request";
    case PARLEY__ENVELOPE__BODY_DECISION:
        return "decision";
    case PARLEY__ENVELOPE__BODY_ACTION_RESULTS:
        return "action_results";
    case PARLEY__ENVELOPE__BODY_NOTICE:
        return "notice";
    case PARLEY__ENVELOPE__BODY_HEARTBEAT:
        return "heartbeat";
    case PARLEY__ENVELOPE__BODY_GAME_OVER:
        return "game_over";
    case PARLEY__ENVELOPE__BODY_ERROR:
        return "error";
    case PARLEY__ENVELOPE__BODY_BYE:
        return "bye";
    case PARLEY__ENVELOPE__BODY_RESYNC:
        return "resync";
    default:
        return "none";
    }
}

/* ------------------------------------------------------------------ arena -- */

typedef struct s_chunk {
    struct s_chunk *next;
    size_t used, cap;
    max_align_t data[];
} s_chunk_t;

struct wire_arena {
    s_chunk_t *head;
};

#define S_CHUNK_MIN (32u * 1024u)

wire_arena_t *wire_arena_new(void)
{
    return calloc(1, sizeof(wire_arena_t));
}

void wire_arena_destroy(wire_arena_t **pa)
{
    if (!pa || !*pa) return;
    s_chunk_t *c = (*pa)->head;
    while (c) {
        s_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    free(*pa);
    *pa = NULL;
}

void *wire_arena_alloc(wire_arena_t *a, size_t size)
{
    const size_t align = sizeof(max_align_t);
    size = (size + align - 1) / align * align;
    if (size == 0) size = align;
    s_chunk_t *c = a->head;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > S_CHUNK_MIN ? size : S_CHUNK_MIN;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *wire_arena_strdup(wire_arena_t *a, const char *s)
{
    if (!s) s = "";
    size_t n = strlen(s) + 1;
    char *p = wire_arena_alloc(a, n);
    if (p) memcpy(p, s, n);
    return p;
}

/* Arrays of protobuf messages are arrays of pointers: one block of structs and
 * one of pointers, both in the arena. */
void **wire_arena_msgs(wire_arena_t *a, size_t n, size_t size)
{
    if (n == 0) return NULL;
    void **ptrs = wire_arena_alloc(a, n * sizeof(void *));
    char *structs = wire_arena_alloc(a, n * size);
    if (!ptrs || !structs) return NULL;
    for (size_t i = 0; i < n; i++) ptrs[i] = structs + i * size;
    return ptrs;
}

/* --------------------------------------------------------------- envelope -- */

int wire_pack(const Parley__Envelope *e, size_t max, uint8_t **buf, size_t *len)
{
    size_t n = parley__envelope__get_packed_size(e);
    if (n > max) return WIRE_ETOO_LARGE;
    uint8_t *b = malloc(n ? n : 1);
    if (!b) return WIRE_ENOMEM;
    size_t done = parley__envelope__pack(e, b);
    if (done != n) {
        free(b);
        return WIRE_EMALFORMED; /* a bug: the sizes must agree */
    }
    *buf = b;
    *len = n;
    return WIRE_OK;
}

Parley__Envelope *wire_unpack_with(const void *buf, size_t len, size_t max, ProtobufCAllocator *al,
                                   int *err)
{
    int dummy;
    if (!err) err = &dummy;
    if (len > max) {
        *err = WIRE_ETOO_LARGE;
        return NULL;
    }
    Parley__Envelope *e = parley__envelope__unpack(al, len, buf);
    if (!e) {
        *err = WIRE_EMALFORMED;
        return NULL;
    }
    if (e->body_case == PARLEY__ENVELOPE__BODY__NOT_SET) {
        parley__envelope__free_unpacked(e, al);
        *err = WIRE_EMALFORMED;
        return NULL;
    }
    *err = WIRE_OK;
    return e;
}

Parley__Envelope *wire_unpack(const void *buf, size_t len, size_t max, int *err)
{
    return wire_unpack_with(buf, len, max, NULL, err);
}

void wire_free_with(Parley__Envelope **e, ProtobufCAllocator *al)
{
    if (!e || !*e) return;
    parley__envelope__free_unpacked(*e, al);
    *e = NULL;
}

void wire_free(Parley__Envelope **e)
{
    wire_free_with(e, NULL);
}

static void s_free_buf(void *data, void *hint)
{
    (void)hint;
    free(data);
}

int wire_send(void *sock, const void *rid, size_t rid_len, const Parley__Envelope *e, size_t max)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = wire_pack(e, max, &buf, &len);
    if (rc != WIRE_OK) return rc;
    if (rid && zmq_send(sock, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        free(buf);
        return WIRE_EIO;
    }
    zmq_msg_t msg;
    if (zmq_msg_init_data(&msg, buf, len, s_free_buf, NULL) != 0) {
        free(buf);
        return WIRE_EIO;
    }
    if (zmq_msg_send(&msg, sock, ZMQ_DONTWAIT) < 0) {
        int saved = errno;
        zmq_msg_close(&msg);
        errno = saved;
        return WIRE_EIO;
    }
    return WIRE_OK;
}

/* ------------------------------------------------------------------ rules -- */

void wire_rules_from_config(const env_config_t *c, const char *scenario, const char *timing,
                            double duration_s, double turn_timeout_s, double min_think_s,
                            Parley__GameRules *r)
{
    parley__game_rules__init(r);
    r->scenario = (char *)(scenario ? scenario : "infoshare");
    r->rounds = c->rounds;
    r->n_agents = c->n_agents;
    r->pieces_per_task = c->pieces_per_task;
    r->task_reward = c->task_reward;
    r->sharing_bonus = c->sharing_bonus;
    r->misreport_factor = 1.0 - c->misreport_rate; /* the wire keeps the multiplier */
    r->show_revenue_board = c->show_revenue_board;
    r->show_exchanges = c->show_exchanges;
    r->show_public_notices = c->show_public_notices;
    r->show_receipt_notice = c->show_receipt_notice;
    r->show_thoughts = c->show_thoughts;
    r->tell_failed_submission = c->tell_failed_submission;
    r->report_invalid_actions = c->report_invalid_actions;
    r->truncate_history = c->truncate_history;
    r->automation = (char *)env_automation_name(c->automation);
    r->timing = (char *)(timing ? timing : "sequential");
    r->duration_s = duration_s;
    r->total_pieces = c->total_pieces;
    r->active_per_agent = c->active_per_agent;
    r->submit_fallback_first = c->submit_fallback_first;
    r->pieces_per_agent = c->pieces_per_agent;
    r->turn_timeout_s = turn_timeout_s;
    r->min_think_s = min_think_s;
    r->max_actions_per_turn = c->max_actions_per_turn;
    r->bonus_for_first = c->first_bonus;
    r->min_pieces_per_task = c->min_pieces_per_task;
    r->new_task_on_completion = c->new_task_on_completion;
    r->submit_exact_names = c->submit_exact_names;
    r->instant_fulfilment_exact_request = c->instant_perfect_only;
    r->answer_request_form_only = c->request_form_only;
    r->automated_transfers_as_agents = c->automated_as_agents;
    r->auto_request_once = c->auto_request_once;
    r->count_failed_sends = c->count_failed_sends;
    r->unique_distribution = c->unique_distribution;
}

void wire_rules_to_config(const Parley__GameRules *r, env_config_t *c)
{
    env_config_paper(c);
    c->seed = 0;
    c->rounds = r->rounds;
    c->n_agents = r->n_agents;
    c->pieces_per_task = r->pieces_per_task;
    c->task_reward = r->task_reward;
    c->sharing_bonus = r->sharing_bonus;
    c->misreport_rate = 1.0 - r->misreport_factor;
    c->show_revenue_board = r->show_revenue_board;
    c->show_exchanges = r->show_exchanges;
    c->show_public_notices = r->show_public_notices;
    c->show_receipt_notice = r->show_receipt_notice;
    c->show_thoughts = r->show_thoughts;
    c->tell_failed_submission = r->tell_failed_submission;
    c->report_invalid_actions = r->report_invalid_actions;
    c->truncate_history = r->truncate_history;
    int a = env_automation_from_name(r->automation);
    c->automation = a < 0 ? ENV_AUTO_NONE : (env_automation_t)a;
    c->total_pieces = r->total_pieces;
    c->active_per_agent = r->active_per_agent;
    c->submit_fallback_first = r->submit_fallback_first;
    c->pieces_per_agent = r->pieces_per_agent;
    c->max_actions_per_turn = r->max_actions_per_turn;
    c->first_bonus = r->bonus_for_first;
    c->min_pieces_per_task = r->min_pieces_per_task;
    c->new_task_on_completion = r->new_task_on_completion;
    c->submit_exact_names = r->submit_exact_names;
    c->instant_perfect_only = r->instant_fulfilment_exact_request;
    c->request_form_only = r->answer_request_form_only;
    c->automated_as_agents = r->automated_transfers_as_agents;
    c->auto_request_once = r->auto_request_once;
    c->count_failed_sends = r->count_failed_sends;
    c->unique_distribution = r->unique_distribution;
}

/* --------------------------------------------------------------- decision -- */

int wire_decision_to_pb(wire_arena_t *a, const env_decision_t *d, Parley__Decision *out)
{
    size_t n = env_decision_count(d);
    const env_action_t *acts = env_decision_actions(d);
    out->n_actions = n;
    out->actions = (Parley__Action **)wire_arena_msgs(a, n, sizeof(Parley__Action));
    if (n && !out->actions) return WIRE_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const env_action_t *x = &acts[i];
        Parley__Action *m = out->actions[i];
        parley__action__init(m);
        m->kind = (Parley__Action__Kind)x->kind;
        m->to = (char *)(x->to ? x->to : "");
        m->content = (char *)(x->content ? x->content : "");
        m->n_information = x->n_info;
        if (x->n_info) {
            m->information = wire_arena_alloc(a, x->n_info * sizeof(char *));
            if (!m->information) return WIRE_ENOMEM;
            for (size_t k = 0; k < x->n_info; k++) m->information[k] = (char *)x->info[k];
        }
        m->n_values = x->n_values;
        m->values =
            (Parley__PieceValue **)wire_arena_msgs(a, x->n_values, sizeof(Parley__PieceValue));
        if (x->n_values && !m->values) return WIRE_ENOMEM;
        for (size_t k = 0; k < x->n_values; k++) {
            parley__piece_value__init(m->values[k]);
            m->values[k]->piece = (char *)x->value_names[k];
            m->values[k]->value = x->values[k];
        }
    }
    const char *t = env_decision_get_thoughts(d);
    out->private_thoughts = (char *)(t ? t : "");
    return WIRE_OK;
}

int wire_actions_from_pb(wire_arena_t *a, const Parley__Decision *m, env_action_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (m->n_actions == 0) return WIRE_OK;
    env_action_t *acts = wire_arena_alloc(a, m->n_actions * sizeof *acts);
    if (!acts) return WIRE_ENOMEM;
    for (size_t i = 0; i < m->n_actions; i++) {
        const Parley__Action *x = m->actions[i];
        env_action_t *y = &acts[i];
        y->kind = (x->kind >= 0 && x->kind < (int)ENV_ACT_COUNT) ? (env_act_kind_t)x->kind
                                                                 : ENV_ACT_COUNT;
        y->to = x->to;
        y->content = x->content;
        y->n_info = x->n_information;
        y->info = (const char *const *)x->information;
        y->n_values = x->n_values;
        if (x->n_values) {
            const char **names = wire_arena_alloc(a, x->n_values * sizeof *names);
            int64_t *vals = wire_arena_alloc(a, x->n_values * sizeof *vals);
            if (!names || !vals) return WIRE_ENOMEM;
            for (size_t k = 0; k < x->n_values; k++) {
                names[k] = x->values[k]->piece;
                vals[k] = x->values[k]->value;
            }
            y->value_names = names;
            y->values = vals;
        }
    }
    *out = acts;
    *n = m->n_actions;
    return WIRE_OK;
}

void wire_result_to_pb(const env_result_t *r, Parley__ActionResult *out)
{
    parley__action_result__init(out);
    out->ok = r->code == ENV_OK;
    out->code = (char *)(r->code == ENV_OK ? "ok" : env_err_name(r->code));
    out->reason = (char *)r->reason;
    out->transferred = r->transferred;
    out->payout = r->payout;
}
