/* ana_timing.c: see ana_timing.h. The per-seat counts come with the run
 * (ana_run_timing: from its events.jsonl or its metrics.json). */
#include "ana_timing.h"

#include "ana_csv.h"
#include "ana_run.h"

#include <jansson.h>
#include <math.h>
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
    static const char *const head[] = {
        "run_id",           "agent",           "timing",      "deadline_s",
        "bank_s",           "latency_s",       "min_think_s", "offered",
        "decided",          "missed",          "late",        "abandoned",
        "superseded",       "within_deadline", "mean_took_s", "max_took_s",
        "mean_latency_s",   "bank_used_s",     "mean_stale",  "mean_arrived",
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
}
