/* ana_timing.c: see ana_timing.h. The per-seat counts come with the run
 * (ana_run_timing: from its events.jsonl or its metrics.json). */
#include "ana_timing.h"

#include "ana_chart.h"
#include "ana_csv.h"
#include "ana_run.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t s_add(char *out, size_t cap, size_t k, const char *fmt, const char *key, double v)
{
    if (k >= cap) return k;
    int n = snprintf(out + k, cap - k, fmt, k ? ";" : "", key, v);
    return n < 0 ? k : k + (size_t)n;
}

/* One seat's timing keys as "deadline=0.5,bank=1" (empty if none). */
static void s_seat_key(const pl_seat_t *s, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = '\0';
#define S_NUMKEY(f)                                                                                \
    if (s->f > 0 && k < cap)                                                                       \
    k += (size_t)snprintf(out + k, cap - k, "%s" #f "=%g", k ? "," : "", s->f)
    S_NUMKEY(deadline);
    S_NUMKEY(bank);
    S_NUMKEY(latency);
#undef S_NUMKEY
    if (s->latency_dist && k < cap)
        k += (size_t)snprintf(out + k, cap - k, "%slatency_dist=%s", k ? "," : "", s->latency_dist);
    if (s->min_think >= 0 && k < cap)
        k += (size_t)snprintf(out + k, cap - k, "%smin_think=%g", k ? "," : "", s->min_think);
    if (s->realtime_policy && k < cap)
        snprintf(out + k, cap - k, "%srealtime_policy=%s", k ? "," : "", s->realtime_policy);
}

size_t ana_timing_key(const pl_config_t *c, char *out, size_t cap)
{
    size_t k = 0;
    if (!cap) return 0;
    out[0] = '\0';
    if (c->turn_timeout != 60.0)
        k = s_add(out, cap, k, "%s%s=%g", "timing.turn_timeout", c->turn_timeout);
    if (c->timing == PL_TIMING_REALTIME)
        k = s_add(out, cap, k, "%s%s=%g", "timing.duration", c->duration);
    double think = pl_seat_min_think(c, -1), mode = c->timing == PL_TIMING_REALTIME ? 0.25 : 0.0;
    if (think != mode) k = s_add(out, cap, k, "%s%s=%g", "timing.min_think", think);
    /* Seats: runs of equal timing keys as one group, as a person writes them. */
    for (int i = 0; i < c->n_seats;) {
        char a[256], b[256];
        s_seat_key(&c->seats[i], a, sizeof a);
        int j = i + 1;
        for (; j < c->n_seats; j++) {
            s_seat_key(&c->seats[j], b, sizeof b);
            if (strcmp(a, b) != 0) break;
        }
        if (a[0] && k < cap) {
            int n = j - i > 1
                        ? snprintf(out + k, cap - k, "%sagent_%d-%d:%s", k ? ";" : "", i + 1, j, a)
                        : snprintf(out + k, cap - k, "%sagent_%d:%s", k ? ";" : "", i + 1, a);
            if (n > 0) k += (size_t)n;
        }
        i = j;
    }
    return k < cap ? k : cap - 1;
}

/* -------------------------------------------------------------- table -- */

int ana_timing_write_csv(const ana_study_t *s, const char *dir, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/timing.csv", dir);
    ana_csv_t *c = ana_csv_open(path);
    if (!c) {
        snprintf(err, errlen, "%s: cannot write", path);
        return -1;
    }
    static const char *const head[] = {"run_id",
                                       "agent",
                                       "timing",
                                       "deadline_s",
                                       "bank_s",
                                       "latency_s",
                                       "min_think_s",
                                       "offered",
                                       "decided",
                                       "missed",
                                       "late",
                                       "abandoned",
                                       "superseded",
                                       "open_at_end",
                                       "absent",
                                       "within_deadline",
                                       "mean_took_s",
                                       "max_took_s",
                                       "mean_latency_s",
                                       "bank_used_s",
                                       "mean_stale",
                                       "mean_arrived",
                                       "mean_arrival_rank"};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) ana_csv_str(c, head[i]);
    ana_csv_end(c);
    for (size_t i = 0; i < ana_study_n_runs(s); i++) {
        const ana_run_t *run = ana_study_run(s, i);
        if (!run) continue;
        const pl_config_t *cfg = ana_run_config(run);
        int n = cfg ? cfg->n_seats : 0;
        /* The seats' timing records were counted with the run's other totals
         * (ana_run_read.c, or metrics.json). */
        const ana_seat_timing_t *rows = ana_run_timing(run), none = {0};
        int have = ana_run_n_agents(run);
        for (int a = 0; a < n; a++) {
            const ana_seat_timing_t *r = a < have ? &rows[a] : &none;
            char id[32];
            snprintf(id, sizeof id, "agent_%d", a + 1);
            ana_csv_str(c, ana_study_run_id(s, i));
            ana_csv_str(c, id);
            ana_csv_str(c, pl_timing_name(cfg->timing));
            ana_csv_num(c, pl_seat_deadline(cfg, a, false));
            ana_csv_num(c, cfg->seats[a].bank);
            ana_csv_num(c, cfg->seats[a].latency);
            ana_csv_num(c, pl_seat_min_think(cfg, a));
            ana_csv_int(c, r->offered);
            ana_csv_int(c, r->decided);
            ana_csv_int(c, r->missed);
            ana_csv_int(c, r->late);
            ana_csv_int(c, r->abandoned);
            ana_csv_int(c, r->superseded);
            ana_csv_int(c, r->open_at_end);
            ana_csv_int(c, r->absent);
            int ended = r->decided + r->missed;
            ana_csv_num(c, ended ? (double)r->within / ended : NAN);
            ana_csv_num(c, r->decided ? r->took_sum / r->decided : NAN);
            ana_csv_num(c, r->decided ? r->took_max : NAN);
            ana_csv_num(c, r->decided ? r->latency_sum / r->decided : NAN);
            ana_csv_num(c, r->bank_used);
            ana_csv_num(c, r->decided ? r->stale_sum / r->decided : NAN);
            ana_csv_num(c, r->decided ? r->arrived_sum / r->decided : NAN);
            ana_csv_num(c, r->ranked ? r->rank_sum / r->ranked : NAN);
            ana_csv_end(c);
        }
    }
    if (ana_csv_close(&c) != 0) {
        snprintf(err, errlen, "%s: write failed", path);
        return -1;
    }
    return 0;
}

/* -------------------------------------------------------- time to share -- */

typedef struct {
    int requests, filled, timed;
    double sum_s, max_s, sum_rounds;
} s_share_t;

/* A seat's group as reports name it: its label, else its policy. */
static const char *s_group(const pl_seat_t *seat)
{
    return seat->label && seat->label[0] ? seat->label : seat->policy ? seat->policy : "";
}

/* The share rows of run i of s (n seats, caller frees), or NULL: counted with
 * the run's other totals (ana_run_read.c s_on_share, or metrics.json). */
static s_share_t *s_run_share(const ana_study_t *s, size_t i, int *n)
{
    const ana_run_t *run = ana_study_run(s, i);
    const pl_config_t *cfg = run ? ana_run_config(run) : NULL;
    *n = cfg ? cfg->n_seats : 0;
    s_share_t *rows = *n ? calloc((size_t)*n, sizeof *rows) : NULL;
    const ana_seat_timing_t *t = rows ? ana_run_timing(run) : NULL;
    int have = run ? ana_run_n_agents(run) : 0;
    for (int a = 0; t && a < *n && a < have; a++)
        rows[a] = (s_share_t){.requests = t[a].share_requests,
                              .filled = t[a].share_filled,
                              .timed = t[a].share_timed,
                              .sum_s = t[a].share_sum_s,
                              .max_s = t[a].share_max_s,
                              .sum_rounds = t[a].share_sum_rounds};
    return rows;
}

int ana_timing_write_share_csv(const ana_study_t *s, const char *dir, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/timing_share.csv", dir);
    ana_csv_t *c = ana_csv_open(path);
    if (!c) {
        snprintf(err, errlen, "%s: cannot write", path);
        return -1;
    }
    static const char *const head[] = {
        "run_id",           "agent",    "group",  "timing",     "latency_s",    "latency_dist",
        "deadline_s",       "requests", "filled", "fill_share", "mean_share_s", "max_share_s",
        "mean_share_rounds"};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) ana_csv_str(c, head[i]);
    ana_csv_end(c);
    for (size_t i = 0; i < ana_study_n_runs(s); i++) {
        int n;
        s_share_t *rows = s_run_share(s, i, &n);
        if (!rows) continue; /* runs.csv says why a run could not be read */
        const pl_config_t *cfg = ana_run_config(ana_study_run(s, i));
        for (int a = 0; a < n; a++) {
            const s_share_t *r = &rows[a];
            char id[32];
            snprintf(id, sizeof id, "agent_%d", a + 1);
            ana_csv_str(c, ana_study_run_id(s, i));
            ana_csv_str(c, id);
            ana_csv_str(c, s_group(&cfg->seats[a]));
            ana_csv_str(c, pl_timing_name(cfg->timing));
            ana_csv_num(c, cfg->seats[a].latency);
            ana_csv_str(c, cfg->seats[a].latency_dist ? cfg->seats[a].latency_dist : "fixed");
            ana_csv_num(c, pl_seat_deadline(cfg, a, false));
            ana_csv_int(c, r->requests);
            ana_csv_int(c, r->filled);
            ana_csv_num(c, r->requests ? (double)r->filled / r->requests : NAN);
            ana_csv_num(c, r->timed ? r->sum_s / r->timed : NAN);
            ana_csv_num(c, r->timed ? r->max_s : NAN);
            ana_csv_num(c, r->filled ? r->sum_rounds / r->filled : NAN);
            ana_csv_end(c);
        }
        free(rows);
    }
    if (ana_csv_close(&c) != 0) {
        snprintf(err, errlen, "%s: write failed", path);
        return -1;
    }
    return 0;
}

typedef struct {
    int mode;
    const char *group;
    double latency;
    s_share_t sum;
    int seats;
} s_pool_t;

static int s_pool_cmp(const void *a, const void *b)
{
    const s_pool_t *x = a, *y = b;
    if (x->mode != y->mode) return x->mode - y->mode;
    int c = strcmp(x->group, y->group);
    if (c) return c;
    return (x->latency > y->latency) - (x->latency < y->latency);
}

/* The report's table: time to share pooled by mode, the holder's seat
 * group and its injected latency (the seat's speed), over every run. */
static void s_share_html(FILE *f, const ana_study_t *s)
{
    enum { S_MAX = 64 };
    s_pool_t g[S_MAX];
    int ng = 0;
    for (size_t i = 0; i < ana_study_n_runs(s); i++) {
        int n;
        s_share_t *rows = s_run_share(s, i, &n);
        if (!rows) continue;
        const pl_config_t *cfg = ana_run_config(ana_study_run(s, i));
        for (int a = 0; a < n; a++) {
            int k = 0;
            const char *grp = s_group(&cfg->seats[a]);
            while (k < ng && !(g[k].mode == (int)cfg->timing &&
                               g[k].latency == cfg->seats[a].latency && !strcmp(g[k].group, grp)))
                k++;
            if (k == ng) {
                if (ng == S_MAX) continue; /* more settings than a table should show */
                memset(&g[k], 0, sizeof g[k]);
                g[k].mode = (int)cfg->timing;
                g[k].latency = cfg->seats[a].latency;
                g[k].group = grp; /* the study's configurations outlive this table */
                ng++;
            }
            g[k].seats++;
            g[k].sum.requests += rows[a].requests;
            g[k].sum.filled += rows[a].filled;
            g[k].sum.timed += rows[a].timed;
            g[k].sum.sum_s += rows[a].sum_s;
            g[k].sum.sum_rounds += rows[a].sum_rounds;
            if (rows[a].max_s > g[k].sum.max_s) g[k].sum.max_s = rows[a].max_s;
        }
        free(rows);
    }
    if (!ng) return;
    qsort(g, (size_t)ng, sizeof g[0], s_pool_cmp);
    fputs("<table><caption>Time to share by seat speed: from a request to the piece arriving, "
          "pooled by mode, the holder's seat group and its injected latency (per run and "
          "seat: timing_share.csv)</caption>\n<tr><th>mode</th><th>holder group</th>"
          "<th>holder latency (s)</th>"
          "<th>seats</th><th>requests</th><th>filled</th><th>mean time to share (s)</th>"
          "<th>max (s)</th><th>mean rounds</th></tr>\n",
          f);
    for (int k = 0; k < ng; k++) {
        const s_share_t *r = &g[k].sum;
        fprintf(f, "<tr><td>%s</td><td>", pl_timing_name((pl_timing_t)g[k].mode));
        ana_html_esc(f, g[k].group);
        fprintf(f, "</td><td>%g</td><td>%d</td><td>%d</td><td>%d</td>", g[k].latency, g[k].seats,
                r->requests, r->filled);
        if (r->timed)
            fprintf(f, "<td>%.3f</td><td>%.3f</td>", r->sum_s / r->timed, r->max_s);
        else
            fputs("<td>-</td><td>-</td>", f);
        if (r->filled)
            fprintf(f, "<td>%.2f</td></tr>\n", r->sum_rounds / r->filled);
        else
            fputs("<td>-</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* --------------------------------------------------------------- chart -- */

/* The largest injected latency of any seat of c: the varied group's. */
static double s_max_latency(const pl_config_t *c)
{
    double m = 0;
    for (int i = 0; i < c->n_seats; i++)
        if (c->seats[i].latency > m) m = c->seats[i].latency;
    return m;
}

void ana_timing_report_html(FILE *f, const ana_study_t *s)
{
    static const char *const colour[] = {"#1f77b4", "#d62728", "#2ca02c"};
    double xmax = 0, ymax = 0;
    bool timed = false;
    for (size_t i = 0; i < ana_study_n_runs(s); i++) {
        const ana_run_t *r = ana_study_run(s, i);
        const pl_config_t *c = r ? ana_run_config(r) : NULL;
        if (!c) continue;
        double x = s_max_latency(c), y = ana_run_metrics(r)->tasks;
        timed |= x > 0;
        if (x > xmax) xmax = x;
        if (y > ymax) ymax = y;
    }
    if (!timed) return; /* no seat had an injected latency: nothing to chart */
    if (ymax <= 0) ymax = 1;
    const double W = 480, H = 260, L = 50, B = 30;
    fputs("<h2>Timing</h2>\n<figure><figcaption>Tasks completed against the injected latency "
          "of the slowest seat group (per run; colour: timing mode). Per-seat timing: "
          "timing.csv.</figcaption>\n",
          f);
    fprintf(f, "<svg width=\"%.0f\" height=\"%.0f\" role=\"img\">\n", W, H);
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#333\"/>\n", L,
            H - B, W - 10, H - B);
    fprintf(f, "<line x1=\"%.0f\" y1=\"10\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#333\"/>\n", L, L,
            H - B);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">latency %g s</text>\n", W - 110, H - 8,
            xmax);
    fprintf(f, "<text x=\"4\" y=\"18\" font-size=\"11\">%g tasks</text>\n", ymax);
    for (size_t i = 0; i < ana_study_n_runs(s); i++) {
        const ana_run_t *r = ana_study_run(s, i);
        const pl_config_t *c = r ? ana_run_config(r) : NULL;
        if (!c) continue;
        double x = L + (xmax > 0 ? s_max_latency(c) / xmax : 0) * (W - L - 20);
        double y = (H - B) - ana_run_metrics(r)->tasks / ymax * (H - B - 20);
        int m = c->timing < 3 ? (int)c->timing : 0;
        fprintf(f,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>%s: %s, %d "
                "tasks</title></circle>\n",
                x, y, colour[m], ana_study_run_id(s, i), pl_timing_name(c->timing),
                ana_run_metrics(r)->tasks);
    }
    for (int m = 0; m < 3; m++)
        fprintf(f, "<text x=\"%.0f\" y=\"%d\" font-size=\"11\" fill=\"%s\">%s</text>\n", W - 110,
                20 + 14 * m, colour[m], pl_timing_name((pl_timing_t)m));
    fputs("</svg></figure>\n", f);
    s_share_html(f, s);
}
