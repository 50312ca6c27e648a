/* ana_tables.c: the tidy CSV tables of a study (ana_tables.h; columns in
 * docs/ANALYSIS.md). */
#include "ana_tables.h"
#include "ana_timing.h"
#include "ana_csv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* dir/name into out; false when it does not fit. */
static bool s_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < cap;
}

static ana_csv_t *s_open(const char *dir, const char *name, char *err, size_t errlen)
{
    char path[4096];
    ana_csv_t *c = s_join(path, sizeof path, dir, name) ? ana_csv_open(path) : NULL;
    if (!c) snprintf(err, errlen, "%s/%s: %s", dir, name, strerror(errno));
    return c;
}

static int s_close(ana_csv_t **c, const char *name, char *err, size_t errlen)
{
    if (ana_csv_close(c) == 0) return 0;
    snprintf(err, errlen, "%s: write failed", name);
    return -1;
}

static bool s_factor_is_column(const char *key)
{
    return strcmp(key, "seed") != 0 && strcmp(key, "automation") != 0;
}

/* The cells that tie a row to its run: status, in_means, condition,
 * automation, seed (every per-run table carries them, so a row filtered out of
 * one table is still identifiable). */
static void s_run_cells(ana_csv_t *c, const ana_study_t *s, size_t i)
{
    const ana_run_t *r = ana_study_run(s, i);
    const ana_cond_t *cond = ana_study_run_cond(s, i);
    ana_csv_str(c, r ? ana_status_name(ana_run_metrics(r)->status) : "failed");
    ana_csv_bool(c, ana_study_run_in_means(s, i));
    ana_csv_str(c, cond ? cond->label : NULL);
    ana_csv_str(c, r ? ana_run_automation(r) : NULL);
    if (r)
        ana_csv_int(c, (int64_t)ana_run_config(r)->game.seed);
    else
        ana_csv_str(c, NULL);
}

/* The model-use columns of runs.csv (the run's sum) and agents.csv (a seat's):
 * their names, and their cells in that order. */
#define S_USE_COLUMNS                                                                              \
    "calls", "failed_calls", "retries", "tokens_in", "tokens_out", "tokens_cached",                \
        "tokens_reasoning", "cost_usd"

static void s_use_cells(ana_csv_t *c, const ana_model_use_t *u)
{
    ana_csv_int(c, u->calls);
    ana_csv_int(c, u->failed_calls);
    ana_csv_int(c, u->retries);
    ana_csv_int(c, u->tokens_in);
    ana_csv_int(c, u->tokens_out);
    ana_csv_int(c, u->tokens_cached);
    ana_csv_int(c, u->tokens_reasoning);
    ana_csv_num(c, u->cost_usd);
}

static int s_write_runs(const ana_study_t *s, const char *dir, char *err, size_t errlen)
{
    ana_csv_t *c = s_open(dir, "runs.csv", err, errlen);
    if (!c) return -1;
    static const char *const head[] = {"run_id",  "dir",          "status",     "in_means",
                                       "resumed", "forked",       "error",      "condition",
                                       "model",   "intervention", "automation", "seed"};
    static const char *const tail[] = {"tasks",
                                       "task_revenue",
                                       "group_revenue",
                                       "optimal",
                                       "optimal_tasks",
                                       "pct_optimal",
                                       "gini",
                                       "zero_revenue_agents",
                                       "messages",
                                       "messages_per_task",
                                       "transfers",
                                       "pieces_transferred",
                                       "transfer_rate",
                                       "misreports",
                                       "misreport_rate",
                                       "requests_made",
                                       "requests_fulfilled",
                                       "fulfil_rate",
                                       "ttf_mean",
                                       "ttf_median",
                                       "ttf_unit",
                                       "shares_requested",
                                       "shares_unsolicited",
                                       "shares_automated",
                                       "requested_share",
                                       "pieces_needed",
                                       "needed_never_shared",
                                       S_USE_COLUMNS,
                                       "rounds_played",
                                       "tasks_by_round",
                                       "complete",
                                       "truncated",
                                       "malformed_lines"};
    for (size_t i = 0; i < sizeof head / sizeof *head; i++) ana_csv_str(c, head[i]);
    for (size_t i = 0; i < ana_study_n_factor_keys(s); i++)
        if (s_factor_is_column(ana_study_factor_key(s, i)))
            ana_csv_str(c, ana_study_factor_key(s, i));
    for (size_t i = 0; i < sizeof tail / sizeof *tail; i++) ana_csv_str(c, tail[i]);
    ana_csv_end(c);
    for (size_t i = 0; i < ana_study_n_runs(s); i++) {
        const ana_run_t *r = ana_study_run(s, i);
        const ana_cond_t *cond = ana_study_run_cond(s, i);
        const json_t *factors = ana_study_run_factors(s, i);
        const ana_metrics_t *m = r ? ana_run_metrics(r) : NULL;
        ana_csv_str(c, ana_study_run_id(s, i));
        ana_csv_str(c, ana_study_run_dir(s, i));
        ana_csv_str(c, !r ? "failed" : ana_status_name(m->status));
        ana_csv_bool(c, ana_study_run_in_means(s, i));
        if (m) {
            ana_csv_bool(c, m->resumed);
            ana_csv_bool(c, m->forked);
        } else {
            ana_csv_str(c, NULL);
            ana_csv_str(c, NULL);
        }
        ana_csv_str(c, ana_study_run_error(s, i));
        ana_csv_str(c, cond ? cond->label : NULL);
        ana_csv_str(c, r ? ana_run_model(r) : NULL);
        ana_csv_str(c, r ? ana_run_intervention(r) : NULL);
        if (r) {
            ana_csv_str(c, ana_run_automation(r));
            ana_csv_int(c, (int64_t)ana_run_config(r)->game.seed);
        } else {
            json_t *au = json_object_get(factors, "automation");
            json_t *sd = json_object_get(factors, "seed");
            ana_csv_str(c, json_string_value(au));
            ana_csv_str(c, json_string_value(sd));
        }
        for (size_t k = 0; k < ana_study_n_factor_keys(s); k++)
            if (s_factor_is_column(ana_study_factor_key(s, k)))
                ana_csv_str(
                    c, json_string_value(json_object_get(factors, ana_study_factor_key(s, k))));
        if (!m) {
            for (size_t k = 0; k < sizeof tail / sizeof *tail; k++) ana_csv_str(c, NULL);
            ana_csv_end(c);
            continue;
        }
        ana_csv_int(c, m->tasks);
        ana_csv_int(c, m->task_revenue);
        ana_csv_int(c, m->group_revenue);
        ana_csv_int(c, m->optimal);
        ana_csv_int(c, m->optimal_tasks);
        ana_csv_num(c, m->pct_optimal);
        ana_csv_num(c, m->gini);
        ana_csv_int(c, m->zero_revenue_agents);
        ana_csv_int(c, m->messages);
        ana_csv_num(c, m->messages_per_task);
        ana_csv_int(c, m->transfers);
        ana_csv_int(c, m->pieces_transferred);
        ana_csv_num(c, m->transfer_rate);
        ana_csv_int(c, m->misreports);
        ana_csv_num(c, m->misreport_rate);
        ana_csv_int(c, m->requests_made);
        ana_csv_int(c, m->requests_fulfilled);
        ana_csv_num(c, m->fulfil_rate);
        ana_csv_num(c, m->ttf_mean);
        ana_csv_num(c, m->ttf_median);
        ana_csv_str(c, m->ttf_unit);
        ana_csv_int(c, m->shares_requested);
        ana_csv_int(c, m->shares_unsolicited);
        ana_csv_int(c, m->shares_automated);
        ana_csv_num(c, m->requested_share);
        ana_csv_int(c, m->pieces_needed);
        ana_csv_int(c, m->needed_never_shared);
        s_use_cells(c, &m->use);
        ana_csv_int(c, m->rounds_played);
        char buf[4096];
        size_t k = 0;
        buf[0] = '\0';
        const ana_round_t *rd = ana_run_rounds(r);
        for (int j = 0; j < ana_run_n_rounds(r) && k < sizeof buf; j++)
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%d", j ? ";" : "", rd[j].tasks);
        ana_csv_str(c, buf);
        ana_csv_bool(c, m->complete);
        ana_csv_bool(c, m->truncated);
        ana_csv_int(c, m->malformed_lines);
        ana_csv_end(c);
    }
    return s_close(&c, "runs.csv", err, errlen);
}

static int s_write_agents(const ana_study_t *s, const char *dir, char *err, size_t errlen)
{
    ana_csv_t *c = s_open(dir, "agents.csv", err, errlen);
    if (!c) return -1;
    static const char *const head[] = {"run_id",
                                       "status",
                                       "in_means",
                                       "condition",
                                       "automation",
                                       "seed",
                                       "agent",
                                       "type",
                                       "seat",
                                       "revenue",
                                       "task_revenue",
                                       "bonus_revenue",
                                       "tasks",
                                       "messages_sent",
                                       "pieces_sent",
                                       "pieces_received",
                                       "misreports_sent",
                                       "requests_made",
                                       "requests_received",
                                       "requests_fulfilled",
                                       S_USE_COLUMNS,
                                       "human",
                                       "substituted_round"};
    for (size_t i = 0; i < sizeof head / sizeof *head; i++) ana_csv_str(c, head[i]);
    ana_csv_end(c);
    for (size_t i = 0; i < ana_study_n_runs(s); i++) {
        const ana_run_t *r = ana_study_run(s, i);
        if (!r) continue;
        const ana_agent_t *ag = ana_run_agents(r);
        for (int a = 0; a < ana_run_n_agents(r); a++) {
            ana_csv_str(c, ana_study_run_id(s, i));
            s_run_cells(c, s, i);
            ana_csv_str(c, ag[a].id);
            ana_csv_str(c, ag[a].type);
            ana_csv_str(c, ag[a].seat);
            ana_csv_int(c, ag[a].revenue);
            ana_csv_int(c, ag[a].task_revenue);
            ana_csv_int(c, ag[a].bonus_revenue);
            ana_csv_int(c, ag[a].tasks);
            ana_csv_int(c, ag[a].messages_sent);
            ana_csv_int(c, ag[a].pieces_sent);
            ana_csv_int(c, ag[a].pieces_received);
            ana_csv_int(c, ag[a].misreports_sent);
            ana_csv_int(c, ag[a].requests_made);
            ana_csv_int(c, ag[a].requests_received);
            ana_csv_int(c, ag[a].requests_fulfilled);
            s_use_cells(c, &ag[a].use);
            ana_csv_int(c, ag[a].human);
            ana_csv_int(c, ag[a].substituted_round);
            ana_csv_end(c);
        }
    }
    return s_close(&c, "agents.csv", err, errlen);
}

static int s_write_transfers(const ana_study_t *s, const char *dir, char *err, size_t errlen)
{
    ana_csv_t *c = s_open(dir, "transfers.csv", err, errlen);
    if (!c) return -1;
    static const char *const head[] = {"run_id",
                                       "status",
                                       "in_means",
                                       "condition",
                                       "automation",
                                       "seed",
                                       "seq",
                                       "t_ms",
                                       "round",
                                       "from",
                                       "to",
                                       "piece",
                                       "value",
                                       "true_value",
                                       "misreport",
                                       "requested",
                                       "automated",
                                       "ms_from_request",
                                       "seq_from_request"};
    for (size_t i = 0; i < sizeof head / sizeof *head; i++) ana_csv_str(c, head[i]);
    ana_csv_end(c);
    for (size_t i = 0; i < ana_study_n_runs(s); i++) {
        const ana_run_t *r = ana_study_run(s, i);
        if (!r) continue;
        const ana_agent_t *ag = ana_run_agents(r);
        const ana_transfer_t *t = ana_run_transfers(r);
        for (size_t k = 0; k < ana_run_n_transfers(r); k++) {
            ana_csv_str(c, ana_study_run_id(s, i));
            s_run_cells(c, s, i);
            ana_csv_int(c, (int64_t)t[k].seq);
            if (t[k].t_ms >= 0)
                ana_csv_int(c, t[k].t_ms);
            else
                ana_csv_str(c, NULL);
            ana_csv_int(c, t[k].round);
            ana_csv_str(c, ag[t[k].from].id);
            ana_csv_str(c, ag[t[k].to].id);
            ana_csv_str(c, ana_run_piece_name(r, t[k].piece));
            ana_csv_int(c, t[k].value);
            ana_csv_int(c, t[k].true_value);
            ana_csv_bool(c, t[k].misreport);
            ana_csv_bool(c, t[k].requested);
            ana_csv_bool(c, t[k].automated);
            if (t[k].delay_ms >= 0)
                ana_csv_int(c, t[k].delay_ms);
            else
                ana_csv_str(c, NULL);
            if (t[k].delay_seq >= 0)
                ana_csv_int(c, t[k].delay_seq);
            else
                ana_csv_str(c, NULL);
            ana_csv_end(c);
        }
    }
    return s_close(&c, "transfers.csv", err, errlen);
}

static int s_write_rounds(const ana_study_t *s, const char *dir, char *err, size_t errlen)
{
    ana_csv_t *c = s_open(dir, "rounds.csv", err, errlen);
    if (!c) return -1;
    static const char *const head[] = {
        "run_id", "status", "in_means", "condition",          "automation",   "seed",
        "round",  "tasks",  "messages", "pieces_transferred", "task_revenue", "group_revenue"};
    for (size_t i = 0; i < sizeof head / sizeof *head; i++) ana_csv_str(c, head[i]);
    ana_csv_end(c);
    for (size_t i = 0; i < ana_study_n_runs(s); i++) {
        const ana_run_t *r = ana_study_run(s, i);
        if (!r) continue;
        const ana_round_t *rd = ana_run_rounds(r);
        for (int k = 0; k < ana_run_n_rounds(r); k++) {
            ana_csv_str(c, ana_study_run_id(s, i));
            s_run_cells(c, s, i);
            ana_csv_int(c, rd[k].round);
            ana_csv_int(c, rd[k].tasks);
            ana_csv_int(c, rd[k].messages);
            ana_csv_int(c, rd[k].pieces_transferred);
            ana_csv_int(c, rd[k].task_revenue);
            ana_csv_int(c, rd[k].group_revenue);
            ana_csv_end(c);
        }
    }
    return s_close(&c, "rounds.csv", err, errlen);
}

static void s_summary_cells(ana_csv_t *c, const ana_summary_t *x)
{
    ana_csv_int(c, (int64_t)x->n);
    ana_csv_num(c, x->mean);
    ana_csv_num(c, x->sd);
    ana_csv_num(c, x->ci_lo);
    ana_csv_num(c, x->ci_hi);
}

/* The seeds a condition's statistics are over, "1;2;3". */
static void s_seeds(const ana_study_t *s, const ana_cond_t *x, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t j = 0; j < x->n_runs && k < cap; j++) {
        const ana_run_t *r = ana_study_run(s, x->runs[j]);
        int n = snprintf(out + k, cap - k, "%s%llu", j ? ";" : "",
                         (unsigned long long)ana_run_config(r)->game.seed);
        if (n < 0) break;
        k += (size_t)n;
    }
}

static int s_write_aggregates(const ana_study_t *s, const char *dir, char *err, size_t errlen)
{
    ana_csv_t *c = s_open(dir, "aggregates.csv", err, errlen);
    if (!c) return -1;
    static const char *const head[] = {
        "condition", "model", "intervention", "automation", "extra",   "seeds",  "n_excluded",
        "metric",    "n",     "mean",         "sd",         "ci95_lo", "ci95_hi"};
    for (size_t i = 0; i < sizeof head / sizeof *head; i++) ana_csv_str(c, head[i]);
    ana_csv_end(c);
    for (size_t k = 0; k < ana_study_n_conds(s); k++) {
        const ana_cond_t *x = ana_study_cond(s, k);
        char seeds[1024];
        s_seeds(s, x, seeds, sizeof seeds);
        for (int m = 0; m < ANA_M_COUNT; m++) {
            ana_csv_str(c, x->label);
            ana_csv_str(c, x->model);
            ana_csv_str(c, x->intervention);
            ana_csv_str(c, x->automation);
            ana_csv_str(c, x->extra);
            ana_csv_str(c, seeds);
            ana_csv_int(c, (int64_t)x->n_excluded);
            ana_csv_str(c, ana_metric_name((ana_metric_t)m));
            s_summary_cells(c, &x->stat[m]);
            ana_csv_end(c);
        }
    }
    if (s_close(&c, "aggregates.csv", err, errlen)) return -1;

    if (!(c = s_open(dir, "decomposition.csv", err, errlen))) return -1;
    static const char *const dh[] = {
        "model", "intervention", "extra",   "arm",     "automation", "n",         "mean",
        "sd",    "ci95_lo",      "ci95_hi", "verdict", "margin",     "n_excluded"};
    static const char *const arms[] = {"baseline", "competence", "cooperation"};
    static const char *const autos[] = {"none", "auto_fulfill", "auto_request"};
    for (size_t i = 0; i < sizeof dh / sizeof *dh; i++) ana_csv_str(c, dh[i]);
    ana_csv_end(c);
    for (size_t d = 0; d < ana_study_n_decomps(s); d++) {
        const ana_decomp_t *y = ana_study_decomp(s, d);
        for (int a = 0; a < ANA_ARM_COUNT; a++) {
            ana_csv_str(c, y->model);
            ana_csv_str(c, y->intervention);
            ana_csv_str(c, y->extra);
            ana_csv_str(c, arms[a]);
            ana_csv_str(c, autos[a]);
            s_summary_cells(c, &y->arm[a]);
            ana_csv_str(c, y->verdict);
            ana_csv_num(c, ana_study_margin(s));
            ana_csv_int(c, (int64_t)y->n_excluded[a]);
            ana_csv_end(c);
        }
    }
    return s_close(&c, "decomposition.csv", err, errlen);
}

int ana_tables_write(const ana_study_t *s, const char *dir, char *err, size_t errlen)
{
    if (s_write_runs(s, dir, err, errlen) || s_write_agents(s, dir, err, errlen) ||
        s_write_transfers(s, dir, err, errlen) || s_write_rounds(s, dir, err, errlen) ||
        s_write_aggregates(s, dir, err, errlen) || ana_timing_write_csv(s, dir, err, errlen) ||
        ana_timing_write_share_csv(s, dir, err, errlen))
        return -1;
    return 0;
}
