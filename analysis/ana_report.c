/* ana_report.c: the HTML report and the markdown summary (ana_report.h).
 * Hand-written SVG keeps the file self-contained: it opens offline, in any
 * browser, years later, and nothing is fetched. */
#include "ana_report.h"
#include "ana_timing.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const s_palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                        "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define S_NPAL (sizeof s_palette / sizeof s_palette[0])

static void s_esc(FILE *f, const char *s)
{
    for (; s && *s; s++) switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
}

/* Markdown table cells: a pipe would end the cell. */
static void s_md(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|') fputc('\\', f);
        fputc(*s, f);
    }
}

static void s_num(FILE *f, double v, const char *fmt)
{
    if (isnan(v))
        fputs("–", f);
    else
        fprintf(f, fmt, v);
}

/* ------------------------------------------------------------ the charts -- */

static void s_chart_pct(FILE *f, const ana_study_t *s)
{
    size_t n = ana_study_n_conds(s);
    double max = 120;
    for (size_t i = 0; i < n; i++) {
        const ana_summary_t *x = &ana_study_cond(s, i)->stat[ANA_M_PCT_OPTIMAL];
        if (!isnan(x->ci_hi) && x->ci_hi > max) max = x->ci_hi;
        if (!isnan(x->mean) && x->mean > max) max = x->mean;
    }
    max = ceil(max / 20) * 20;
    int left = 330, w = 420, row = 26, top = 30, h = top + (int)n * row + 30;
    fprintf(f,
            "<figure data-chart=\"pct\"><figcaption>%% of optimal per condition (mean over "
            "seeds, 95%% CI)</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
            "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n",
            left + w + 40, h, left + w + 40, h);
    for (int t = 0; t <= (int)max; t += 20) {
        double x = left + t / max * w;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"grid\"/><text "
                "x=\"%.1f\" y=\"%d\" class=\"tick\">%d</text>\n",
                x, top - 5, x, h - 25, x, h - 10, t);
    }
    double x100 = left + 100 / max * w;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"ref\"/>\n", x100,
            top - 10, x100, h - 25);
    for (size_t i = 0; i < n; i++) {
        const ana_cond_t *c = ana_study_cond(s, i);
        const ana_summary_t *x = &c->stat[ANA_M_PCT_OPTIMAL];
        int y = top + (int)i * row;
        double v = isnan(x->mean) ? 0 : x->mean;
        double bw = v / max * w;
        fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"label\">", left - 8, y + 15);
        s_esc(f, c->label);
        fprintf(f,
                "</text>\n<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                "fill=\"%s\"><title>",
                left, y + 3, bw > 1 ? bw : 1, row - 8,
                s_palette[env_automation_from_name(c->automation) % (int)S_NPAL]);
        s_esc(f, c->label);
        fprintf(f, ": %.1f%% (n=%zu)</title></rect>\n", v, x->n);
        /* No whisker for an interval of zero width (every seed gave the same value). */
        if (!isnan(x->ci_lo) && x->n > 1 && x->ci_hi > x->ci_lo) {
            double a = left + (x->ci_lo < 0 ? 0 : x->ci_lo) / max * w,
                   b = left + x->ci_hi / max * w;
            int ym = y + row / 2 - 1;
            fprintf(f,
                    "<line class=\"ci\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                    "<line class=\"ci\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                    "<line class=\"ci\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n",
                    a, ym, b, ym, a, ym - 5, a, ym + 5, b, ym - 5, b, ym + 5);
        }
        /* The value goes right of the bar or of its interval, whichever ends later. */
        double vx = left + bw + 6;
        if (!isnan(x->ci_hi) && x->n > 1 && left + x->ci_hi / max * w + 6 > vx)
            vx = left + x->ci_hi / max * w + 6;
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"val\">%.1f</text>\n", vx, y + 15, v);
    }
    fputs("</svg></figure>\n", f);
}

static void s_chart_decomp(FILE *f, const ana_study_t *s)
{
    size_t n = ana_study_n_decomps(s);
    double max = 120;
    for (size_t i = 0; i < n; i++) {
        const ana_decomp_t *d = ana_study_decomp(s, i);
        for (int a = 0; a < ANA_ARM_COUNT; a++) {
            if (d->arm[a].n && d->arm[a].mean > max) max = d->arm[a].mean;
            if (d->arm[a].n > 1 && d->arm[a].ci_hi > max) max = d->arm[a].ci_hi;
        }
    }
    max = ceil(max / 20) * 20;
    int L = 60, T = 20, W = 360, H = 360;
    fprintf(f,
            "<figure data-chart=\"decomp\"><figcaption>Competence (auto_fulfill) vs cooperation "
            "(auto_request), %% of optimal, per model and intervention</figcaption>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 "
            "%d %d\" role=\"img\">\n",
            L + W + 300, T + H + 50, L + W + 300, T + H + 50);
    for (int t = 0; t <= (int)max; t += 20) {
        double x = L + t / max * W, y = T + H - t / max * H;
        fprintf(f,
                "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                "<text class=\"tick\" x=\"%.1f\" y=\"%d\">%d</text>"
                "<text class=\"label\" x=\"%d\" y=\"%.1f\">%d</text>\n",
                x, T, x, T + H, L, y, L + W, y, x, T + H + 16, t, L - 6, y + 4, t);
    }
    fprintf(f,
            "<line class=\"ref\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
            "<text class=\"tick\" x=\"%d\" y=\"%d\">competence (auto_fulfill)</text>"
            "<text class=\"tick\" transform=\"translate(14 %d) rotate(-90)\">cooperation "
            "(auto_request)</text>\n",
            L, T + H, L + W, T, L + W / 2, T + H + 38, T + H / 2);
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        const ana_decomp_t *d = ana_study_decomp(s, i);
        const ana_summary_t *cx = &d->arm[ANA_ARM_COMPETENCE], *cy = &d->arm[ANA_ARM_COOPERATION];
        if (!cx->n || !cy->n) continue;
        double x = L + cx->mean / max * W, y = T + H - cy->mean / max * H;
        const char *col = s_palette[k % (int)S_NPAL];
        if (cx->n > 1 && cx->ci_hi > cx->ci_lo)
            fprintf(f, "<line class=\"ci\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                    L + cx->ci_lo / max * W, y, L + cx->ci_hi / max * W, y);
        if (cy->n > 1 && cy->ci_hi > cy->ci_lo)
            fprintf(f, "<line class=\"ci\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x,
                    T + H - cy->ci_lo / max * H, x, T + H - cy->ci_hi / max * H);
        fprintf(f, "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"%s\"><title>", x, y,
                col);
        s_esc(f, d->model);
        fprintf(f, " (%s): competence %.1f, cooperation %.1f: %s</title></circle>\n",
                d->intervention, cx->mean, cy->mean, d->verdict);
        fprintf(f,
                "<circle cx=\"%d\" cy=\"%d\" r=\"6\" fill=\"%s\"/><text class=\"legend\" x=\"%d\" "
                "y=\"%d\">",
                L + W + 30, T + 10 + k * 22, col, L + W + 42, T + 14 + k * 22);
        s_esc(f, d->model);
        fputs(" · ", f);
        s_esc(f, d->intervention);
        fputs(": ", f);
        s_esc(f, d->verdict);
        fputs("</text>\n", f);
        k++;
    }
    if (!k)
        fprintf(f, "<text class=\"tick\" x=\"%d\" y=\"%d\">no model has both arms yet</text>\n",
                L + W / 2, T + H / 2);
    fputs("</svg></figure>\n", f);
}

static void s_chart_rounds(FILE *f, const ana_study_t *s)
{
    size_t nc = ana_study_n_conds(s);
    int R = 0;
    double max = 1;
    for (size_t i = 0; i < ana_study_n_runs(s); i++) {
        const ana_run_t *r = ana_study_run(s, i);
        if (!r) continue;
        if (ana_run_n_rounds(r) > R) R = ana_run_n_rounds(r);
        const ana_round_t *rd = ana_run_rounds(r);
        for (int k = 0; k < ana_run_n_rounds(r); k++)
            if ((double)rd[k].group_revenue > max) max = (double)rd[k].group_revenue;
    }
    int L = 80, T = 20, W = 520, H = 300;
    fprintf(f,
            "<figure data-chart=\"rounds\"><figcaption>Group revenue by round (cumulative, mean "
            "over seeds, USD)</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
            "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n",
            L + W + 340, T + H + 50 + (int)(nc > 14 ? (nc - 14) * 20 : 0), L + W + 340,
            T + H + 50 + (int)(nc > 14 ? (nc - 14) * 20 : 0));
    for (int t = 0; t <= 4; t++) {
        double y = T + H - t / 4.0 * H;
        fprintf(f,
                "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/><text "
                "class=\"label\" x=\"%d\" y=\"%.1f\">%.0fk</text>\n",
                L, y, L + W, y, L - 6, y + 4, max * t / 4 / 1000);
    }
    for (int k = 1; k <= R; k++)
        if (R <= 10 || k % 5 == 0 || k == 1)
            fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%d\">%d</text>",
                    L + (R > 1 ? (k - 1) / (double)(R - 1) * W : W / 2.0), T + H + 16, k);
    fprintf(f, "<text class=\"tick\" x=\"%d\" y=\"%d\">round</text>\n", L + W / 2, T + H + 38);
    double *sum = calloc((size_t)R + 1, sizeof *sum);
    int *cnt = calloc((size_t)R + 1, sizeof *cnt);
    for (size_t c = 0; c < nc && sum && cnt; c++) {
        const ana_cond_t *x = ana_study_cond(s, c);
        memset(sum, 0, sizeof *sum * (size_t)R);
        memset(cnt, 0, sizeof *cnt * (size_t)R);
        for (size_t j = 0; j < x->n_runs; j++) {
            const ana_run_t *r = ana_study_run(s, x->runs[j]);
            const ana_round_t *rd = ana_run_rounds(r);
            for (int k = 0; k < ana_run_n_rounds(r); k++)
                sum[k] += (double)rd[k].group_revenue, cnt[k]++;
        }
        const char *col = s_palette[c % S_NPAL];
        fprintf(f, "<polyline class=\"line\" fill=\"none\" stroke=\"%s\" points=\"", col);
        for (int k = 0; k < R; k++)
            if (cnt[k])
                fprintf(f, "%.1f,%.1f ", L + (R > 1 ? k / (double)(R - 1) * W : W / 2.0),
                        T + H - sum[k] / cnt[k] / max * H);
        fputs("\"/>\n", f);
        for (int k = 0; k < R; k++)
            if (cnt[k])
                fprintf(f,
                        "<circle class=\"pt\" r=\"3\" fill=\"%s\" cx=\"%.1f\" cy=\"%.1f\"><title>"
                        "round %d: %.0f</title></circle>",
                        col, L + (R > 1 ? k / (double)(R - 1) * W : W / 2.0),
                        T + H - sum[k] / cnt[k] / max * H, k + 1, sum[k] / cnt[k]);
        fprintf(f,
                "\n<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"4\" fill=\"%s\"/><text "
                "class=\"legend\" x=\"%d\" y=\"%d\">",
                L + W + 20, T + 6 + (int)c * 20, col, L + W + 38, T + 12 + (int)c * 20);
        s_esc(f, x->label);
        fputs("</text>\n", f);
    }
    free(sum);
    free(cnt);
    fputs("</svg></figure>\n", f);
}

static void s_chart_matrix(FILE *f, const ana_study_t *s)
{
    int N = 0;
    for (size_t i = 0; i < ana_study_n_runs(s); i++)
        if (ana_study_run(s, i) && ana_run_n_agents(ana_study_run(s, i)) > N)
            N = ana_run_n_agents(ana_study_run(s, i));
    if (N > 60) N = 60; /* beyond that a cell is a pixel: the CSV has the rest */
    double *m = calloc((size_t)N * (size_t)N + 1, sizeof *m);
    double max = 0;
    for (size_t i = 0; i < ana_study_n_runs(s) && m; i++) {
        const ana_run_t *r = ana_study_run(s, i);
        if (!r) continue;
        const ana_transfer_t *t = ana_run_transfers(r);
        for (size_t k = 0; k < ana_run_n_transfers(r); k++)
            if (t[k].from < N && t[k].to < N) m[t[k].from * N + t[k].to] += 1;
    }
    for (int k = 0; m && k < N * N; k++)
        if (m[k] > max) max = m[k];
    int cell = N <= 12 ? 30 : N <= 30 ? 16 : 8, L = 80, T = 60;
    fprintf(f,
            "<figure data-chart=\"matrix\"><figcaption>Who shared with whom: pieces sent, row "
            "= sender, column = receiver, summed over all runs</figcaption>\n<svg "
            "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d "
            "%d\" role=\"img\">\n",
            L + N * cell + 20, T + N * cell + 20, L + N * cell + 20, T + N * cell + 20);
    for (int a = 0; a < N; a++) {
        fprintf(f, "<text class=\"label\" x=\"%d\" y=\"%d\">agent_%d</text>", L - 6,
                T + a * cell + cell / 2 + 4, a + 1);
        fprintf(f,
                "<text class=\"tick\" transform=\"translate(%d %d) rotate(-60)\" "
                "style=\"text-anchor:start\">agent_%d</text>\n",
                L + a * cell + cell / 2, T - 6, a + 1);
    }
    for (int a = 0; a < N && m; a++)
        for (int b = 0; b < N; b++) {
            double v = m[a * N + b], t = max > 0 ? v / max : 0;
            /* white -> blue, with the diagonal (impossible) in grey */
            int rr = (int)(255 - t * (255 - 33)), gg = (int)(255 - t * (255 - 102)),
                bb = (int)(255 - t * (255 - 172));
            fprintf(f,
                    "<rect class=\"cell\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                    "fill=\"%s\" style=\"fill:rgb(%d,%d,%d)\"><title>agent_%d -> agent_%d: %.0f "
                    "pieces</title></rect>\n",
                    L + b * cell, T + a * cell, cell - 1, cell - 1, a == b ? "#eee" : "none",
                    a == b ? 238 : rr, a == b ? 238 : gg, a == b ? 238 : bb, a + 1, b + 1, v);
        }
    free(m);
    fputs("</svg></figure>\n", f);
}

/* ------------------------------------------------------------- documents -- */

static const char *s_css =
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}"
    "figure{margin:2em 0}figcaption{font-weight:600;margin-bottom:.5em}"
    ".grid{stroke:#e5e5e5}.ref{stroke:#999;stroke-dasharray:4 3}.ci{stroke:#222;stroke-width:1.5}"
    ".tick{font-size:11px;fill:#555;text-anchor:middle}.label{font-size:11px;fill:#333;"
    "text-anchor:end}.val{font-size:11px;fill:#333}.legend{font-size:12px;fill:#333}"
    ".line{stroke-width:2}.verdict{font-weight:600}.rule{color:#555;font-size:.9em}";

static void s_html(FILE *f, const ana_study_t *s)
{
    size_t n = ana_study_n_runs(s), nf = ana_study_n_failed(s);
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>parley "
            "report</title><style>%s</style></head><body>\n<h1>parley report</h1>\n",
            s_css);
    fprintf(f, "<p>%zu runs, %zu failed, %zu conditions.</p>\n", n, nf, ana_study_n_conds(s));
    fputs("<h2>Causal decomposition</h2>\n<table><tr><th>model</th><th>intervention</th>"
          "<th>baseline</th><th>competence</th><th>cooperation</th><th>verdict</th></tr>\n",
          f);
    for (size_t i = 0; i < ana_study_n_decomps(s); i++) {
        const ana_decomp_t *d = ana_study_decomp(s, i);
        fputs("<tr><td>", f);
        s_esc(f, d->model);
        fputs("</td><td>", f);
        s_esc(f, d->intervention);
        if (d->extra[0]) fputs(" · ", f), s_esc(f, d->extra);
        fputs("</td>", f);
        for (int a = 0; a < ANA_ARM_COUNT; a++) {
            const ana_summary_t *x = &d->arm[a];
            fputs("<td>", f);
            if (x->n) {
                s_num(f, x->mean, "%.1f");
                fputs(" [", f);
                s_num(f, x->ci_lo, "%.1f");
                fputs(", ", f);
                s_num(f, x->ci_hi, "%.1f");
                fprintf(f, "] n=%zu", x->n);
            } else
                fputs("–", f);
            fputs("</td>", f);
        }
        fprintf(f, "<td class=\"verdict\">%s</td></tr>\n", d->verdict);
    }
    fprintf(f, "</table>\n<p class=\"rule\">Definitions: ");
    s_esc(f, ana_verdict_rule());
    fprintf(f, "; here m = %g. Intervals: 95%% CI of the mean, Student's t.</p>\n",
            ana_study_margin(s));
    s_chart_pct(f, s);
    s_chart_decomp(f, s);
    s_chart_rounds(f, s);
    s_chart_matrix(f, s);
    ana_timing_report_html(f, s);
    fputs("<h2>Conditions</h2>\n<table><tr><th>condition</th><th>n</th><th>% of optimal</th>"
          "<th>tasks</th><th>Gini</th><th>zero-revenue agents</th><th>messages/task</th>"
          "<th>misreport rate</th><th>requests fulfilled</th><th>requested share</th></tr>\n",
          f);
    for (size_t i = 0; i < ana_study_n_conds(s); i++) {
        const ana_cond_t *c = ana_study_cond(s, i);
        fputs("<tr><td>", f);
        s_esc(f, c->label);
        fprintf(f, "</td><td>%zu</td><td>", c->n_runs);
        s_num(f, c->stat[ANA_M_PCT_OPTIMAL].mean, "%.1f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_TASKS].mean, "%.1f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_GINI].mean, "%.3f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_ZERO_REVENUE].mean, "%.1f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_MESSAGES_PER_TASK].mean, "%.2f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_MISREPORT_RATE].mean, "%.3f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_FULFIL_RATE].mean, "%.3f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_REQUESTED_SHARE].mean, "%.3f");
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
    if (nf) {
        fputs("<h2>Failed runs</h2>\n<ul>\n", f);
        for (size_t i = 0; i < n; i++)
            if (!ana_study_run(s, i)) {
                fputs("<li>", f);
                s_esc(f, ana_study_run_id(s, i));
                fputs(": ", f);
                s_esc(f, ana_study_run_error(s, i));
                fputs("</li>\n", f);
            }
        fputs("</ul>\n", f);
    }
    fputs("<p class=\"rule\">Metric definitions: docs/ANALYSIS.md. Tables: runs.csv, "
          "agents.csv, transfers.csv, rounds.csv, aggregates.csv, decomposition.csv, "
          "timing.csv (docs/TIMING.md).</p>\n"
          "</body></html>\n",
          f);
}

static void s_markdown(FILE *f, const ana_study_t *s)
{
    fprintf(f, "# parley report\n\n%zu runs, %zu failed, %zu conditions.\n\n", ana_study_n_runs(s),
            ana_study_n_failed(s), ana_study_n_conds(s));
    fputs("## Causal decomposition (% of optimal, mean [95% CI] n)\n\n"
          "| model | intervention | baseline | competence | cooperation | verdict |\n"
          "|---|---|---|---|---|---|\n",
          f);
    for (size_t i = 0; i < ana_study_n_decomps(s); i++) {
        const ana_decomp_t *d = ana_study_decomp(s, i);
        fputs("| ", f);
        s_md(f, d->model);
        fputs(" | ", f);
        s_md(f, d->intervention);
        if (d->extra[0]) fputs(" · ", f), s_md(f, d->extra);
        for (int a = 0; a < ANA_ARM_COUNT; a++) {
            const ana_summary_t *x = &d->arm[a];
            fputs(" | ", f);
            if (!x->n) {
                fputs("–", f);
                continue;
            }
            s_num(f, x->mean, "%.1f");
            fputs(" [", f);
            s_num(f, x->ci_lo, "%.1f");
            fputs(", ", f);
            s_num(f, x->ci_hi, "%.1f");
            fprintf(f, "] %zu", x->n);
        }
        fprintf(f, " | **%s** |\n", d->verdict);
    }
    fprintf(f, "\nDefinitions: %s; here m = %g.\n\n", ana_verdict_rule(), ana_study_margin(s));
    fputs("## Conditions\n\n| condition | n | % of optimal | CI | tasks | Gini | zero-revenue "
          "agents | messages/task |\n|---|---|---|---|---|---|---|---|\n",
          f);
    for (size_t i = 0; i < ana_study_n_conds(s); i++) {
        const ana_cond_t *c = ana_study_cond(s, i);
        const ana_summary_t *p = &c->stat[ANA_M_PCT_OPTIMAL];
        fputs("| ", f);
        s_md(f, c->label);
        fprintf(f, " | %zu | ", c->n_runs);
        s_num(f, p->mean, "%.1f");
        fputs(" | ", f);
        s_num(f, p->ci_lo, "%.1f");
        fputs("–", f);
        s_num(f, p->ci_hi, "%.1f");
        fputs(" | ", f);
        s_num(f, c->stat[ANA_M_TASKS].mean, "%.1f");
        fputs(" | ", f);
        s_num(f, c->stat[ANA_M_GINI].mean, "%.3f");
        fputs(" | ", f);
        s_num(f, c->stat[ANA_M_ZERO_REVENUE].mean, "%.1f");
        fputs(" | ", f);
        s_num(f, c->stat[ANA_M_MESSAGES_PER_TASK].mean, "%.2f");
        fputs(" |\n", f);
    }
    if (ana_study_n_failed(s)) {
        fputs("\n## Failed runs\n\n", f);
        for (size_t i = 0; i < ana_study_n_runs(s); i++)
            if (!ana_study_run(s, i))
                fprintf(f, "- %s: %s\n", ana_study_run_id(s, i), ana_study_run_error(s, i));
    }
}

static int s_write(const char *path, void (*fn)(FILE *, const ana_study_t *), const ana_study_t *s,
                   char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    fn(f, s);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(err, errlen, "%s: write failed", path);
        return -1;
    }
    return 0;
}

int ana_report_write(const ana_study_t *s, const char *html_path, const char *md_path, char *err,
                     size_t errlen)
{
    if (html_path && s_write(html_path, s_html, s, err, errlen)) return -1;
    if (md_path && s_write(md_path, s_markdown, s, err, errlen)) return -1;
    return 0;
}

/* -------------------------------------------------------------- command -- */

static void s_on_diag(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "warning: %s\n", msg);
}

static void s_usage(void)
{
    fprintf(stderr, "usage: parley report DIR... [--out FILE.html] [--csv DIR] [--margin POINTS]\n"
                    "  DIR: a run directory, a sweep directory (sweep.json) or a directory of "
                    "runs\n");
}

int ana_report_main(int argc, char **argv)
{
    const char *out = NULL, *csv = NULL;
    double margin = -1;
    ana_study_t *s = ana_study_new();
    char err[2048] = "", md[4096];
    int rc = 1, ndirs = 0;
    if (!s) goto oom;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--csv") && i + 1 < argc)
            csv = argv[++i];
        else if (!strcmp(argv[i], "--margin") && i + 1 < argc)
            margin = atof(argv[++i]);
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            s_usage();
            rc = 0;
            goto done;
        } else if (argv[i][0] == '-') {
            s_usage();
            goto done;
        } else
            ndirs++;
    }
    if (!ndirs) {
        s_usage();
        goto done;
    }
    if (margin >= 0) ana_study_set_margin(s, margin);
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            i++; /* an option and its value */
            continue;
        }
        if (ana_study_add_path(s, argv[i], s_on_diag, NULL, err, sizeof err)) goto fail;
    }
    if (ana_study_compute(s)) goto oom;
    if (!out) out = "report.html";
    size_t ol = strlen(out);
    int n = ol > 5 && !strcmp(out + ol - 5, ".html")
                ? snprintf(md, sizeof md, "%.*s.md", (int)(ol - 5), out)
                : snprintf(md, sizeof md, "%s.md", out);
    if (n < 0 || (size_t)n >= sizeof md) {
        snprintf(err, sizeof err, "%s: name too long", out);
        goto fail;
    }
    if (ana_report_write(s, out, md, err, sizeof err)) goto fail;
    if (csv && ana_study_write_csv(s, csv, err, sizeof err)) goto fail;
    for (size_t i = 0; i < ana_study_n_runs(s); i++)
        if (!ana_study_run(s, i))
            fprintf(stderr, "warning: %s: %s\n", ana_study_run_id(s, i), ana_study_run_error(s, i));
    fprintf(stderr, "report: %s and %s (%zu runs)\n", out, md, ana_study_n_runs(s));
    rc = 0;
    goto done;
oom:
    snprintf(err, sizeof err, "out of memory");
fail:
    fprintf(stderr, "parley report: %s\n", err);
done:
    ana_study_destroy(&s);
    return rc;
}
