/* ana_run_metrics.c: a loaded run's totals turned into metrics and labels.
 *
 * After the pass over events.jsonl (ana_run_read.c): the labels that tell runs
 * apart in tables (model, intervention), and the metrics of docs/ANALYSIS.md
 * (rates, delays, % of optimal against the ceiling). */
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

/* --------------------------------------------------------------- labels -- */

void ana_run_labels(ana_run_t *r)
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
                 (unsigned)(ana_run_hash_str(r->model) & 0xffffff));

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

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void ana_run_finalise(ana_run_t *r, ana_ceiling_fn ceiling, void *ceiling_ctx)
{
    ana_metrics_t *m = &r->m;
    m->use = r->m_use.use;
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
