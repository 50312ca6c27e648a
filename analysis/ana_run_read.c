/* ana_run_read.c: one event of events.jsonl applied to a run being loaded.
 *
 * The world line sets up agents, pieces and holdings; then messages (a request is
 * a message naming a piece its sender lacks), transfers and their delays,
 * decisions (model use) and task completions update the totals (ana_run.c
 * drives the pass, docs/ANALYSIS.md defines the terms). */
#include "ana_run.h"
#include "ana_run_internal.h"
#include "ana_stats.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

uint64_t ana_run_hash_str(const char *s)
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
    for (size_t i = ana_run_hash_str(name) & mask;; i = (i + 1) & mask) {
        int p = r->piece_slots[i];
        if (p < 0) return -1;
        if (strcasecmp(r->piece_names[p], name) == 0) return p;
    }
}

static int s_agent_index(const ana_run_t *r, const char *id);

/* A seat first joined by a person and later by a program was substituted
 * (parley session's dropout rule, docs/HUMANS.md): the round it happened. */
static void s_on_seat_joined(ana_run_t *r, const json_t *ev, int round)
{
    int a = s_agent_index(r, ana_run_str(ev, "agent"));
    if (a < 0) return;
    ana_agent_t *ag = &r->agents[a];
    if (json_is_true(json_object_get(ev, "human")))
        ag->human = true;
    else if (ag->human && !ag->substituted_round)
        ag->substituted_round = round > 0 ? round : 1;
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
static ana_req_t *s_req_slot(ana_run_t *r, uint64_t key)
{
    size_t mask = r->req_cap - 1;
    for (size_t i = s_hash_u64(key) & mask;; i = (i + 1) & mask)
        if (r->reqs[i].key == key || r->reqs[i].key == 0) return &r->reqs[i];
}

static int s_req_grow(ana_run_t *r)
{
    if (r->req_cap && (r->n_reqs + 1) * 2 < r->req_cap) return 0;
    size_t ncap = r->req_cap ? r->req_cap * 2 : 1024;
    ana_req_t *old = r->reqs;
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

const char *ana_run_str(const json_t *o, const char *key)
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
    r->timing = calloc((size_t)r->n_agents, sizeof *r->timing);
    if (!r->agents || !r->piece_names || !r->piece_values || !r->piece_slots || !r->holds ||
        !r->needed || !r->shared || !r->timing || s_req_grow(r)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < r->piece_cap; i++) r->piece_slots[i] = -1;
    for (int p = 0; p < r->n_pieces; p++) {
        const json_t *pc = json_array_get(pieces, (size_t)p);
        const char *name = ana_run_str(pc, "name");
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
        size_t mask = r->piece_cap - 1, i = ana_run_hash_str(name) & mask;
        while (r->piece_slots[i] >= 0) i = (i + 1) & mask;
        r->piece_slots[i] = p;
    }
    for (int a = 0; a < r->n_agents; a++) {
        const json_t *ag = json_array_get(agents, (size_t)a);
        ana_agent_t *x = &r->agents[a];
        snprintf(x->id, sizeof x->id, "%s", ana_run_str(ag, "id") ? ana_run_str(ag, "id") : "");
        snprintf(x->type, sizeof x->type, "%s",
                 ana_run_str(ag, "type") ? ana_run_str(ag, "type") : "neutral");
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
    int a = s_agent_index(r, ana_run_str(ev, "agent"));
    if (a < 0) return;
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(ev, "pieces"), i, p)
    {
        int k = s_piece_index(r, json_string_value(p));
        if (k >= 0 && !s_holds(r, a, k)) r->needed[k] = true;
    }
}

/* Time to share (timing_share.csv, docs/TIMING.md), per seat as the one
 * asked: each (asker, holder, piece) named in a delivered message, from its
 * first naming to the first transfer of that piece from the holder to the
 * asker, in seconds of the broker's clock (none in process) and in rounds.
 * A piece asked again after it came is a new ask. Returns -1 only when out
 * of memory. */
static int s_on_share(ana_run_t *r, const json_t *ev, bool msg, int64_t t_ms, int round)
{
    const char *from = ana_run_str(ev, "from"), *to = ana_run_str(ev, "to");
    if (!from || !to || (msg && !json_is_true(json_object_get(ev, "delivered")))) return 0;
    const char *holder = msg ? to : from, *asker = msg ? from : to;
    int h = s_agent_index(r, holder);
    if (h < 0) return 0;
    if (!r->share_open && !(r->share_open = json_object())) return -1;
    ana_seat_timing_t *t = &r->timing[h];
    char key[1200];
    size_t i;
    const json_t *it;
    json_array_foreach(json_object_get(ev, msg ? "names_pieces" : "pieces"), i, it)
    {
        const char *piece = msg ? json_string_value(it) : ana_run_str(it, "piece");
        if (!piece) continue;
        snprintf(key, sizeof key, "%s|%s|%s", asker, holder, piece);
        json_t *asked = json_object_get(r->share_open, key);
        if (msg && !asked) {
            t->share_requests++;
            if (json_object_set_new(r->share_open, key,
                                    json_pack("[I,I]", (json_int_t)t_ms, (json_int_t)round)))
                return -1;
        } else if (!msg && asked) {
            t->share_filled++;
            t->share_sum_rounds += (double)(round - json_integer_value(json_array_get(asked, 1)));
            json_int_t t0 = json_integer_value(json_array_get(asked, 0));
            if (t_ms >= 0 && t0 >= 0) {
                double s = (double)(t_ms - t0) / 1e3;
                t->share_sum_s += s;
                if (s > t->share_max_s) t->share_max_s = s;
                t->share_timed++;
            }
            json_object_del(r->share_open, key);
        }
    }
    return 0;
}

static int s_on_message(ana_run_t *r, const json_t *ev, uint64_t seq, int64_t t_ms, int round)
{
    if (s_on_share(r, ev, true, t_ms, round)) return -1;
    const json_t *automated = json_object_get(ev, "automated");
    int from = s_agent_index(r, ana_run_str(ev, "from"));
    bool system = json_is_true(automated);
    if (!system) {
        r->m.messages++;
        if (from >= 0) r->agents[from].messages_sent++;
        ana_round_t *rd = s_round(r, round);
        if (rd) rd->messages++;
    }
    const char *kind = ana_run_str(ev, "kind");
    if (!kind || strcmp(kind, "direct") != 0 || json_is_false(json_object_get(ev, "delivered")))
        return 0;
    int to = s_agent_index(r, ana_run_str(ev, "to"));
    if (from < 0 || to < 0) return 0;
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(ev, "names_pieces"), i, p)
    {
        int k = s_piece_index(r, json_string_value(p));
        if (k < 0 || s_holds(r, from, k)) continue; /* naming a piece one has is no request */
        if (s_req_grow(r)) return -1;
        uint64_t key = s_req_key(r, from, to, k);
        ana_req_t *q = s_req_slot(r, key);
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
    if (s_on_share(r, ev, false, t_ms, round)) return -1;
    int from = s_agent_index(r, ana_run_str(ev, "from"));
    int to = s_agent_index(r, ana_run_str(ev, "to"));
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
        int k = s_piece_index(r, ana_run_str(pc, "piece"));
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
        ana_req_t *q = s_req_slot(r, s_req_key(r, to, from, k));
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

/* A decision's model calls: tokens, retries and cost, per seat and in total. */
static void s_on_decision(ana_run_t *r, const json_t *ev)
{
    int a = s_agent_index(r, ana_run_str(ev, "agent"));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(ev, "calls"), i, c)
    {
        int64_t in = s_int(c, "tokens_in", 0), out = s_int(c, "tokens_out", 0),
                cached = s_int(c, "tokens_cached", 0), reasoning = s_int(c, "tokens_reasoning", 0),
                attempts = s_int(c, "attempts", 1);
        const char *error = ana_run_str(c, "error");
        /* "recovered after N attempts: ..." is a call that succeeded. */
        bool failed = error && *error && strncmp(error, "recovered", 9) != 0;
        double cost = json_number_value(json_object_get(c, "cost_usd"));
        int retries = attempts > 1 ? (int)(attempts - 1) : 0;
        ana_agent_t *totals[2] = {&r->m_use, a >= 0 ? &r->agents[a] : NULL};
        for (int k = 0; k < 2; k++) {
            if (!totals[k]) continue;
            ana_model_use_t *g = &totals[k]->use;
            g->calls++, g->failed_calls += failed, g->retries += retries;
            g->tokens_in += in, g->tokens_out += out, g->tokens_cached += cached;
            g->tokens_reasoning += reasoning, g->cost_usd += cost;
        }
    }
}

static void s_on_task_completed(ana_run_t *r, const json_t *ev, int round)
{
    int a = s_agent_index(r, ana_run_str(ev, "agent"));
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

static double s_num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

/* The timing record of a seat (timing.csv, analysis/ana_timing.c). */
static void s_on_timing(ana_run_t *r, const json_t *ev, const char *type)
{
    int a = s_agent_index(r, ana_run_str(ev, "agent"));
    if (a < 0) return;
    ana_seat_timing_t *t = &r->timing[a];
    bool ends = true; /* the seat's open turn ends here */
    if (!strcmp(type, "turn_offered")) {
        int64_t id = s_int(ev, "turn_id", 0);
        if (!t->open || id != t->offer) t->offered++;
        t->offer = id;
        t->open = true;
        ends = false;
    } else if (!strcmp(type, "decision") && json_object_get(ev, "decided_s")) {
        t->decided++;
        double took = s_num(ev, "decided_s") + s_num(ev, "held_s");
        t->took_sum += took;
        if (took > t->took_max) t->took_max = took;
        if (!json_object_get(ev, "bank_used_s")) t->within++;
        t->latency_sum += s_num(ev, "latency_s");
        t->bank_used += s_num(ev, "bank_used_s");
        t->stale_sum += s_num(ev, "stale");
        t->arrived_sum += s_num(ev, "arrived");
        if (json_object_get(ev, "arrival")) {
            t->rank_sum += s_num(ev, "arrival");
            t->ranked++;
        }
    } else if (!strcmp(type, "missed_turn")) {
        /* A seat that never connected, or left, misses turns that were never
         * offered to it: counted apart. */
        if (t->open)
            t->missed++;
        else
            t->absent++;
    } else if (!strcmp(type, "turn_superseded")) {
        t->superseded++;
    } else if (!strcmp(type, "turn_open_at_end")) {
        t->open_at_end++;
    } else {
        ends = false;
        if (!strcmp(type, "decision_late")) t->late++;
        if (!strcmp(type, "call_abandoned")) t->abandoned++;
    }
    if (ends) t->open = false;
}

/* Dispatches one parsed line. Returns -1 only when out of memory. */
/* Every top-level member that ana_run_on_event and its handlers read, but
 * world's (s_on_world reads that whole event). A handler that reads another
 * one must add it here: test_ana_metrics_file compares metrics.json fed this
 * way with one from the whole log. */
static const char *const s_read_keys[] = {
    "type",        "seq",       "t_ms",  "round",   "fork",    "forked_from", "agent",
    "pieces",      "automated", "from",  "to",      "kind",    "delivered",   "names_pieces",
    "bonus",       "payout",    "calls", "human",   "turn_id", "decided_s",   "held_s",
    "bank_used_s", "latency_s", "stale", "arrived", "arrival"};

bool ana_run_feed_reads(const char *key, size_t n)
{
    for (size_t i = 0; i < sizeof s_read_keys / sizeof *s_read_keys; i++)
        if (s_read_keys[i][0] == key[0] && strlen(s_read_keys[i]) == n &&
            memcmp(s_read_keys[i], key, n) == 0)
            return true;
    return false;
}

int ana_run_on_event(ana_run_t *r, const json_t *ev, char *err, size_t errlen)
{
    const char *type = ana_run_str(ev, "type");
    uint64_t seq = (uint64_t)s_int(ev, "seq", 0);
    int64_t t_ms = s_int(ev, "t_ms", -1);
    int round = (int)s_int(ev, "round", 0);
    if (strcmp(type, "world") == 0) return s_on_world(r, ev, err, errlen);
    if (strcmp(type, "run_start") == 0 &&
        (json_object_get(ev, "fork") || json_object_get(ev, "forked_from")))
        r->m.forked = true;
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
    else if (strcmp(type, "decision") == 0)
        s_on_decision(r, ev);
    else if (strcmp(type, "seat_joined") == 0)
        s_on_seat_joined(r, ev, round);
    else if (strcmp(type, "run_end") == 0)
        r->m.complete = true;
    else if (strcmp(type, "run_resumed") == 0)
        r->m.resumed = true;
    s_on_timing(r, ev, type);
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
