/* ana_run.c: reads one run directory and derives its metrics (ana_run.h).
 *
 * One pass over events.jsonl rebuilds what the metrics need: who holds which
 * piece (to tell a request, a message naming a piece its sender lacks, from
 * chatter), the requests still open, each transfer with its delay, revenue per
 * agent and per round. Definitions are in docs/ANALYSIS.md. */
#include "ana_run.h"
#include "ana_stats.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A request: requester `from` asked holder `to` for `piece` while lacking it. */
typedef struct {
    uint64_t key, seq;
    int64_t t_ms;
    bool fulfilled;
} s_req_t;

struct ana_run {
    char *dir;
    char *events_path;
    pl_config_t *cfg;
    char model[256];
    char intervention[256];
    ana_metrics_t m;

    int n_agents, n_pieces;
    ana_agent_t *agents;
    char **piece_names;
    int *piece_values;
    /* piece name (lower case) -> index, open addressing */
    int *piece_slots;
    size_t piece_cap;

    unsigned char *holds; /* [n_agents * n_pieces] */
    bool *needed, *shared;

    s_req_t *reqs; /* open addressing on key; key 0 means empty (keys are +1) */
    size_t req_cap, n_reqs;
    double *delays; /* fulfilled requests' delays, for mean and median */
    size_t n_delays, delays_cap;
    bool all_timed; /* every request and transfer line carried t_ms */

    ana_transfer_t *transfers;
    size_t n_transfers, transfers_cap;
    ana_round_t *rounds;
    int n_rounds;
};

/* -------------------------------------------------------------- helpers -- */

static void s_diag(ana_diag_fn diag, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_diag(ana_diag_fn diag, void *ctx, const char *fmt, ...)
{
    if (!diag) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    diag(ctx, buf);
}

static char *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) goto fail;
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) goto fail;
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

static uint64_t s_hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)(*s | 0x20)) * 1099511628211ULL;
    return h;
}

static uint64_t s_hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static int s_piece_index(const ana_run_t *r, const char *name)
{
    if (!name || !r->piece_cap) return -1;
    size_t mask = r->piece_cap - 1;
    for (size_t i = s_hash_str(name) & mask;; i = (i + 1) & mask) {
        int p = r->piece_slots[i];
        if (p < 0) return -1;
        if (strcasecmp(r->piece_names[p], name) == 0) return p;
    }
}

static int s_agent_index(const ana_run_t *r, const char *id)
{
    if (!id || strncmp(id, "agent_", 6) != 0) return -1;
    char *end;
    long k = strtol(id + 6, &end, 10);
    if (*end || k < 1 || k > r->n_agents) return -1;
    return (int)k - 1;
}

static bool s_holds(const ana_run_t *r, int a, int p)
{
    return r->holds[(size_t)a * (size_t)r->n_pieces + (size_t)p];
}

static uint64_t s_req_key(const ana_run_t *r, int from, int to, int piece)
{
    return ((uint64_t)from * (uint64_t)r->n_agents + (uint64_t)to) * (uint64_t)r->n_pieces +
           (uint64_t)piece + 1;
}

/* The slot of key, or the empty slot where it would go. */
static s_req_t *s_req_slot(ana_run_t *r, uint64_t key)
{
    size_t mask = r->req_cap - 1;
    for (size_t i = s_hash_u64(key) & mask;; i = (i + 1) & mask)
        if (r->reqs[i].key == key || r->reqs[i].key == 0) return &r->reqs[i];
}

static int s_req_grow(ana_run_t *r)
{
    if (r->req_cap && (r->n_reqs + 1) * 2 < r->req_cap) return 0;
    size_t ncap = r->req_cap ? r->req_cap * 2 : 1024;
    s_req_t *old = r->reqs;
    size_t ocap = r->req_cap;
    r->reqs = calloc(ncap, sizeof *r->reqs);
    if (!r->reqs) {
        r->reqs = old;
        return -1;
    }
    r->req_cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].key) *s_req_slot(r, old[i].key) = old[i];
    free(old);
    return 0;
}

static int64_t s_int(const json_t *o, const char *key, int64_t dflt)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_integer(v)) return (int64_t)json_integer_value(v);
    if (json_is_real(v)) return (int64_t)json_real_value(v);
    return dflt;
}

static const char *s_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static ana_round_t *s_round(ana_run_t *r, int round)
{
    if (round < 1) return NULL;
    if (round > r->n_rounds) {
        ana_round_t *nr = realloc(r->rounds, sizeof *nr * (size_t)round);
        if (!nr) return NULL;
        for (int i = r->n_rounds; i < round; i++) {
            memset(&nr[i], 0, sizeof nr[i]);
            nr[i].round = i + 1;
        }
        r->rounds = nr;
        r->n_rounds = round;
    }
    return &r->rounds[round - 1];
}

/* ---------------------------------------------------------------- world -- */

static int s_on_world(ana_run_t *r, const json_t *ev, char *err, size_t errlen)
{
    const json_t *agents = json_object_get(ev, "agents");
    const json_t *pieces = json_object_get(ev, "pieces");
    if (r->agents) {
        snprintf(err, errlen, "a second world event");
        return -1;
    }
    if (!json_is_array(agents) || !json_is_array(pieces) || json_array_size(agents) == 0) {
        snprintf(err, errlen, "world event without agents or pieces");
        return -1;
    }
    r->n_agents = (int)json_array_size(agents);
    r->n_pieces = (int)json_array_size(pieces);
    r->agents = calloc((size_t)r->n_agents, sizeof *r->agents);
    r->piece_names = calloc((size_t)r->n_pieces + 1, sizeof *r->piece_names);
    r->piece_values = calloc((size_t)r->n_pieces + 1, sizeof *r->piece_values);
    r->piece_cap = 16;
    while (r->piece_cap < (size_t)r->n_pieces * 2) r->piece_cap *= 2;
    r->piece_slots = malloc(sizeof *r->piece_slots * r->piece_cap);
    r->holds = calloc((size_t)r->n_agents * (size_t)r->n_pieces + 1, 1);
    r->needed = calloc((size_t)r->n_pieces + 1, sizeof *r->needed);
    r->shared = calloc((size_t)r->n_pieces + 1, sizeof *r->shared);
    if (!r->agents || !r->piece_names || !r->piece_values || !r->piece_slots || !r->holds ||
        !r->needed || !r->shared || s_req_grow(r)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < r->piece_cap; i++) r->piece_slots[i] = -1;
    for (int p = 0; p < r->n_pieces; p++) {
        const json_t *pc = json_array_get(pieces, (size_t)p);
        const char *name = s_str(pc, "name");
        if (!name) {
            snprintf(err, errlen, "world piece %d has no name", p);
            return -1;
        }
        r->piece_names[p] = strdup(name);
        if (!r->piece_names[p]) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        r->piece_values[p] = (int)s_int(pc, "value", 0);
        size_t mask = r->piece_cap - 1, i = s_hash_str(name) & mask;
        while (r->piece_slots[i] >= 0) i = (i + 1) & mask;
        r->piece_slots[i] = p;
    }
    for (int a = 0; a < r->n_agents; a++) {
        const json_t *ag = json_array_get(agents, (size_t)a);
        ana_agent_t *x = &r->agents[a];
        snprintf(x->id, sizeof x->id, "%s", s_str(ag, "id") ? s_str(ag, "id") : "");
        snprintf(x->type, sizeof x->type, "%s", s_str(ag, "type") ? s_str(ag, "type") : "neutral");
        if (r->cfg && r->cfg->blind)
            snprintf(x->seat, sizeof x->seat, "seat_%d", a + 1);
        else if (r->cfg && a < r->cfg->n_seats) {
            const pl_seat_t *s = &r->cfg->seats[a];
            snprintf(x->seat, sizeof x->seat, "%s",
                     s->label    ? s->label
                     : s->model  ? s->model
                     : s->policy ? s->policy
                                 : "");
        }
        const json_t *holds = json_object_get(ag, "holds");
        size_t i;
        const json_t *h;
        json_array_foreach(holds, i, h)
        {
            int p = s_piece_index(r, json_string_value(h));
            if (p >= 0) r->holds[(size_t)a * (size_t)r->n_pieces + (size_t)p] = 1;
        }
    }
    return 0;
}

/* --------------------------------------------------------------- events -- */

static void s_on_task_new(ana_run_t *r, const json_t *ev)
{
    int a = s_agent_index(r, s_str(ev, "agent"));
    if (a < 0) return;
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(ev, "pieces"), i, p)
    {
        int k = s_piece_index(r, json_string_value(p));
        if (k >= 0 && !s_holds(r, a, k)) r->needed[k] = true;
    }
}

/* A seat first joined by a person and later by a program was substituted
 * (parley session's dropout rule, docs/HUMANS.md): the round it happened. */
static void s_on_seat_joined(ana_run_t *r, const json_t *ev, int round)
{
    int a = s_agent_index(r, s_str(ev, "agent"));
    if (a < 0) return;
    ana_agent_t *ag = &r->agents[a];
    if (json_is_true(json_object_get(ev, "human")))
        ag->human = true;
    else if (ag->human && !ag->substituted_round)
        ag->substituted_round = round > 0 ? round : 1;
}

static int s_on_message(ana_run_t *r, const json_t *ev, uint64_t seq, int64_t t_ms, int round)
{
    const json_t *automated = json_object_get(ev, "automated");
    int from = s_agent_index(r, s_str(ev, "from"));
    bool system = json_is_true(automated);
    if (!system) {
        r->m.messages++;
        if (from >= 0) r->agents[from].messages_sent++;
        ana_round_t *rd = s_round(r, round);
        if (rd) rd->messages++;
    }
    const char *kind = s_str(ev, "kind");
    if (!kind || strcmp(kind, "direct") != 0 || json_is_false(json_object_get(ev, "delivered")))
        return 0;
    int to = s_agent_index(r, s_str(ev, "to"));
    if (from < 0 || to < 0) return 0;
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(ev, "names_pieces"), i, p)
    {
        int k = s_piece_index(r, json_string_value(p));
        if (k < 0 || s_holds(r, from, k)) continue; /* naming a piece one has is no request */
        if (s_req_grow(r)) return -1;
        uint64_t key = s_req_key(r, from, to, k);
        s_req_t *q = s_req_slot(r, key);
        if (q->key) continue; /* asked before: the first ask starts the clock */
        q->key = key;
        q->seq = seq;
        q->t_ms = t_ms;
        q->fulfilled = false;
        r->n_reqs++;
        r->m.requests_made++;
        r->agents[from].requests_made++;
        r->agents[to].requests_received++;
        if (t_ms < 0) r->all_timed = false;
    }
    return 0;
}

/* Delays of fulfilled requests, stored in pairs (ms or NaN, seq). */
static int s_push_delay(ana_run_t *r, int64_t ms, int64_t seq)
{
    if (r->n_delays + 2 > r->delays_cap) {
        size_t ncap = r->delays_cap ? r->delays_cap * 2 : 256;
        double *nd = realloc(r->delays, sizeof *nd * ncap);
        if (!nd) return -1;
        r->delays = nd;
        r->delays_cap = ncap;
    }
    r->delays[r->n_delays++] = ms >= 0 ? (double)ms : NAN;
    r->delays[r->n_delays++] = (double)seq;
    return 0;
}

static int s_on_transfer(ana_run_t *r, const json_t *ev, uint64_t seq, int64_t t_ms, int round)
{
    int from = s_agent_index(r, s_str(ev, "from"));
    int to = s_agent_index(r, s_str(ev, "to"));
    if (from < 0 || to < 0) return 0;
    bool automated = json_is_true(json_object_get(ev, "automated"));
    r->m.transfers++;
    if (t_ms < 0) r->all_timed = false;
    int64_t bonus = s_int(ev, "bonus", 0);
    r->agents[from].bonus_revenue += bonus;
    r->agents[from].revenue += bonus;
    r->m.group_revenue += bonus;
    ana_round_t *rd = s_round(r, round);
    size_t i;
    const json_t *pc;
    json_array_foreach(json_object_get(ev, "pieces"), i, pc)
    {
        int k = s_piece_index(r, s_str(pc, "piece"));
        if (k < 0) continue;
        if (r->n_transfers == r->transfers_cap) {
            size_t ncap = r->transfers_cap ? r->transfers_cap * 2 : 256;
            ana_transfer_t *nt = realloc(r->transfers, sizeof *nt * ncap);
            if (!nt) return -1;
            r->transfers = nt;
            r->transfers_cap = ncap;
        }
        ana_transfer_t *t = &r->transfers[r->n_transfers++];
        memset(t, 0, sizeof *t);
        t->seq = seq;
        t->t_ms = t_ms;
        t->round = round;
        t->from = from;
        t->to = to;
        t->piece = k;
        t->value = (int)s_int(pc, "value", 0);
        t->true_value = (int)s_int(pc, "true_value", r->piece_values[k]);
        t->misreport = json_is_true(json_object_get(pc, "misreport"));
        t->requested = json_is_true(json_object_get(pc, "requested"));
        t->automated = automated;
        t->delay_ms = t->delay_seq = -1;
        s_req_t *q = s_req_slot(r, s_req_key(r, to, from, k));
        if (q->key) {
            t->delay_seq = (int64_t)(seq - q->seq);
            if (t_ms >= 0 && q->t_ms >= 0) t->delay_ms = t_ms - q->t_ms;
            if (!q->fulfilled) {
                q->fulfilled = true;
                r->m.requests_fulfilled++;
                r->agents[from].requests_fulfilled++;
                if (s_push_delay(r, t->delay_ms, t->delay_seq)) return -1;
            }
        }
        r->holds[(size_t)to * (size_t)r->n_pieces + (size_t)k] = 1;
        r->shared[k] = true;
        r->m.pieces_transferred++;
        r->agents[from].pieces_sent++;
        r->agents[to].pieces_received++;
        if (t->misreport) r->m.misreports++, r->agents[from].misreports_sent++;
        if (automated)
            r->m.shares_automated++;
        else if (t->requested)
            r->m.shares_requested++;
        else
            r->m.shares_unsolicited++;
        if (rd) rd->pieces_transferred++;
    }
    return 0;
}

static void s_on_task_completed(ana_run_t *r, const json_t *ev, int round)
{
    int a = s_agent_index(r, s_str(ev, "agent"));
    int64_t pay = s_int(ev, "payout", 0);
    r->m.tasks++;
    r->m.task_revenue += pay;
    r->m.group_revenue += pay;
    if (a >= 0) {
        r->agents[a].tasks++;
        r->agents[a].task_revenue += pay;
        r->agents[a].revenue += pay;
    }
    ana_round_t *rd = s_round(r, round);
    if (rd) rd->tasks++;
}

/* Dispatches one parsed line. Returns -1 only when out of memory. */
static int s_on_event(ana_run_t *r, const json_t *ev, char *err, size_t errlen)
{
    const char *type = s_str(ev, "type");
    uint64_t seq = (uint64_t)s_int(ev, "seq", 0);
    int64_t t_ms = s_int(ev, "t_ms", -1);
    int round = (int)s_int(ev, "round", 0);
    if (strcmp(type, "world") == 0) return s_on_world(r, ev, err, errlen);
    if (!r->agents) return 0; /* nothing to attribute before the world exists */
    /* A round far past the configured ones is a broken line, not a reason to
     * allocate a table for it: count the event, attribute it to no round. */
    if (round < 0 || round > r->cfg->game.rounds + 1000) round = 0;
    if (round > r->m.rounds_played) r->m.rounds_played = round;
    if (round >= 1 && !s_round(r, round)) goto oom;
    if (strcmp(type, "task_new") == 0)
        s_on_task_new(r, ev);
    else if (strcmp(type, "message") == 0) {
        if (s_on_message(r, ev, seq, t_ms, round)) goto oom;
    } else if (strcmp(type, "transfer") == 0) {
        if (s_on_transfer(r, ev, seq, t_ms, round)) goto oom;
    } else if (strcmp(type, "task_completed") == 0)
        s_on_task_completed(r, ev, round);
    else if (strcmp(type, "seat_joined") == 0)
        s_on_seat_joined(r, ev, round);
    else if (strcmp(type, "run_end") == 0)
        r->m.complete = true;
    if (round >= 1) {
        ana_round_t *rd = &r->rounds[round - 1];
        rd->task_revenue = r->m.task_revenue;
        rd->group_revenue = r->m.group_revenue;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* --------------------------------------------------------------- labels -- */

static void s_labels(ana_run_t *r)
{
    const pl_config_t *c = r->cfg;
    size_t n = 0;
    r->model[0] = '\0';
    for (int i = 0; i < c->n_seats; i++) {
        const pl_seat_t *s = &c->seats[i];
        const char *name = s->label ? s->label : s->model ? s->model : s->policy;
        if (!name) continue;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++) {
            const pl_seat_t *o = &c->seats[j];
            const char *on = o->label ? o->label : o->model ? o->model : o->policy;
            seen = on && strcmp(on, name) == 0;
        }
        if (seen) continue;
        n += (size_t)snprintf(r->model + n, n < sizeof r->model ? sizeof r->model - n : 0, "%s%s",
                              n ? "+" : "", name);
        if (n >= sizeof r->model) break;
    }
    /* blind: reports must not name the models; a stable hash still tells the
     * conditions apart across runs without saying who played. */
    if (c->blind)
        snprintf(r->model, sizeof r->model, "blind-%06x",
                 (unsigned)(s_hash_str(r->model) & 0xffffff));

    env_config_t p;
    env_config_paper(&p);
    const env_config_t *g = &c->game;
    char *o = r->intervention;
    size_t cap = sizeof r->intervention, k = 0;
#define S_ADD(...)                                                                                 \
    do {                                                                                           \
        if (k < cap) k += (size_t)snprintf(o + k, cap - k, "%s", k ? ";" : "");                    \
        if (k < cap) k += (size_t)snprintf(o + k, cap - k, __VA_ARGS__);                           \
    } while (0)
    for (int t = 1; t < ENV_TYPE_COUNT; t++)
        if (g->type_counts[t]) S_ADD("%s=%d", env_type_name((env_type_t)t), g->type_counts[t]);
    if (g->sharing_bonus != p.sharing_bonus) S_ADD("bonus=%lld", (long long)g->sharing_bonus);
    bool hide[5] = {!g->show_revenue_board, !g->show_exchanges, !g->show_public_notices,
                    !g->show_receipt_notice, !g->show_thoughts};
    static const char *const parts[5] = {"board", "exchanges", "notices", "receipts", "thoughts"};
    if (hide[0] && hide[1] && hide[2] && hide[3] && hide[4])
        S_ADD("transparency=off");
    else
        for (int i = 0; i < 5; i++)
            if (hide[i]) S_ADD("hide_%s", parts[i]);
    if (g->rounds != p.rounds) S_ADD("rounds=%d", g->rounds);
    if (g->n_agents != p.n_agents) S_ADD("agents=%d", g->n_agents);
    if (g->total_pieces != p.total_pieces) S_ADD("pieces=%d", g->total_pieces);
    if (g->task_reward != p.task_reward) S_ADD("reward=%lld", (long long)g->task_reward);
    if (g->misreport_rate != p.misreport_rate) S_ADD("penalty=%g", g->misreport_rate);
    if (g->submit_fallback_first != p.submit_fallback_first ||
        g->tell_failed_submission != p.tell_failed_submission ||
        g->report_invalid_actions != p.report_invalid_actions)
        S_ADD("rules=clean");
    if (g->truncate_history) S_ADD("truncate");
    if (c->timing != PL_TIMING_SEQUENTIAL) S_ADD("timing=%s", pl_timing_name(c->timing));
#undef S_ADD
    if (!k) snprintf(o, cap, "paper");
}

/* ------------------------------------------------------------- finalise -- */

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void s_finalise(ana_run_t *r, ana_ceiling_fn ceiling, void *ceiling_ctx)
{
    ana_metrics_t *m = &r->m;
    int64_t opt = ceiling ? ceiling(ceiling_ctx, &r->cfg->game, &m->optimal_tasks)
                          : env_perfect_task_revenue(&r->cfg->game, &m->optimal_tasks);
    m->optimal = opt;
    m->pct_optimal = opt > 0 && r->cfg->timing == PL_TIMING_SEQUENTIAL /* docs/FIDELITY.md */
                         ? 100.0 * (double)m->task_revenue / (double)opt
                         : NAN;
    double *rev = malloc(sizeof *rev * (size_t)r->n_agents);
    m->gini = NAN;
    if (rev) {
        for (int a = 0; a < r->n_agents; a++) rev[a] = (double)r->agents[a].revenue;
        m->gini = ana_gini(rev, (size_t)r->n_agents);
        free(rev);
    }
    for (int a = 0; a < r->n_agents; a++) m->zero_revenue_agents += r->agents[a].revenue == 0;
    m->messages_per_task = m->tasks ? (double)m->messages / m->tasks : NAN;
    int rounds = m->rounds_played > 0 ? m->rounds_played : 1;
    m->transfer_rate = (double)m->pieces_transferred / ((double)r->n_agents * rounds);
    m->misreport_rate = m->pieces_transferred ? (double)m->misreports / m->pieces_transferred : NAN;
    m->fulfil_rate = m->requests_made ? (double)m->requests_fulfilled / m->requests_made : NAN;
    m->requested_share =
        m->pieces_transferred ? (double)m->shares_requested / m->pieces_transferred : NAN;
    /* Delays are stored in pairs (ms, seq); use ms when every line was timed. */
    size_t n = r->n_delays / 2;
    bool ms = r->all_timed && n > 0;
    m->ttf_unit = ms ? "ms" : "seq";
    m->ttf_mean = m->ttf_median = NAN;
    if (n) {
        double *v = malloc(sizeof *v * n);
        if (v) {
            double sum = 0;
            for (size_t i = 0; i < n; i++) v[i] = r->delays[2 * i + (ms ? 0 : 1)], sum += v[i];
            qsort(v, n, sizeof *v, s_cmp_double);
            m->ttf_mean = sum / (double)n;
            m->ttf_median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
            free(v);
        }
    }
    for (int p = 0; p < r->n_pieces; p++)
        if (r->needed[p]) m->pieces_needed++, m->needed_never_shared += !r->shared[p];
    /* Rounds without events of their own (none, normally) carry the totals on. */
    for (int i = 1; i < r->n_rounds; i++)
        if (r->rounds[i].task_revenue < r->rounds[i - 1].task_revenue) {
            r->rounds[i].task_revenue = r->rounds[i - 1].task_revenue;
            r->rounds[i].group_revenue = r->rounds[i - 1].group_revenue;
        }
}

/* ----------------------------------------------------------------- load -- */

ana_run_t *ana_run_load(const char *dir, ana_diag_fn diag, void *ctx, char *err, size_t errlen)
{
    return ana_run_load_with(dir, diag, ctx, NULL, NULL, err, errlen);
}

ana_run_t *ana_run_load_with(const char *dir, ana_diag_fn diag, void *ctx, ana_ceiling_fn ceiling,
                             void *ceiling_ctx, char *err, size_t errlen)
{
    ana_run_t *r = calloc(1, sizeof *r);
    char *text = NULL, *line = NULL;
    FILE *f = NULL;
    size_t len = 0;
    if (!r) goto oom;
    r->all_timed = true;
    r->dir = strdup(dir);
    if (!r->dir) goto oom;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    text = s_slurp(path, &len);
    if (!text) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    char cerr[512];
    r->cfg = pl_config_parse(text, len, path, cerr, sizeof cerr);
    if (!r->cfg) {
        snprintf(err, errlen, "%s", cerr);
        goto fail;
    }
    free(text);
    text = NULL;
    s_labels(r);

    snprintf(path, sizeof path, "%s/events.jsonl", dir);
    r->events_path = strdup(path);
    if (!r->events_path) goto oom;
    f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    size_t cap = 0;
    ssize_t got;
    int lineno = 0;
    while ((got = getline(&line, &cap, f)) > 0) {
        lineno++;
        bool last_cut = line[got - 1] != '\n';
        json_error_t jerr;
        json_t *ev = json_loadb(line, (size_t)got, 0, &jerr);
        if (!ev && last_cut) {
            /* A run still being written, or killed mid-line: the line never finished. */
            r->m.truncated = true;
            break;
        }
        if (!ev || !json_is_object(ev) || !s_str(ev, "type")) {
            r->m.malformed_lines++;
            s_diag(diag, ctx, "%s:%d: %s", path, lineno,
                   ev ? "not an event (an object with a type)" : jerr.text);
            json_decref(ev);
            continue;
        }
        char eerr[256] = "";
        int rc = s_on_event(r, ev, eerr, sizeof eerr);
        json_decref(ev);
        if (rc) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, eerr);
            goto fail;
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        goto fail;
    }
    fclose(f);
    f = NULL;
    free(line);
    line = NULL;
    if (!r->agents) {
        snprintf(err, errlen, "%s: no world event", path);
        goto fail;
    }
    s_finalise(r, ceiling, ceiling_ctx);
    return r;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    free(text);
    free(line);
    if (f) fclose(f);
    ana_run_destroy(&r);
    return NULL;
}

void ana_run_destroy(ana_run_t **pr)
{
    if (!pr || !*pr) return;
    ana_run_t *r = *pr;
    if (r->piece_names)
        for (int p = 0; p < r->n_pieces; p++) free(r->piece_names[p]);
    free(r->piece_names);
    free(r->piece_values);
    free(r->piece_slots);
    free(r->holds);
    free(r->needed);
    free(r->shared);
    free(r->reqs);
    free(r->delays);
    free(r->transfers);
    free(r->rounds);
    free(r->agents);
    pl_config_destroy(&r->cfg);
    free(r->events_path);
    free(r->dir);
    free(r);
    *pr = NULL;
}

const char *ana_run_dir(const ana_run_t *r)
{
    return r->dir;
}
const pl_config_t *ana_run_config(const ana_run_t *r)
{
    return r->cfg;
}
const ana_metrics_t *ana_run_metrics(const ana_run_t *r)
{
    return &r->m;
}
const char *ana_run_model(const ana_run_t *r)
{
    return r->model;
}
const char *ana_run_intervention(const ana_run_t *r)
{
    return r->intervention;
}
const char *ana_run_automation(const ana_run_t *r)
{
    return env_automation_name(r->cfg->game.automation);
}
int ana_run_n_agents(const ana_run_t *r)
{
    return r->n_agents;
}
const ana_agent_t *ana_run_agents(const ana_run_t *r)
{
    return r->agents;
}
int ana_run_n_pieces(const ana_run_t *r)
{
    return r->n_pieces;
}
const char *ana_run_piece_name(const ana_run_t *r, int piece)
{
    return piece >= 0 && piece < r->n_pieces ? r->piece_names[piece] : "";
}
size_t ana_run_n_transfers(const ana_run_t *r)
{
    return r->n_transfers;
}
const ana_transfer_t *ana_run_transfers(const ana_run_t *r)
{
    return r->transfers;
}
int ana_run_n_rounds(const ana_run_t *r)
{
    return r->n_rounds;
}
const ana_round_t *ana_run_rounds(const ana_run_t *r)
{
    return r->rounds;
}
