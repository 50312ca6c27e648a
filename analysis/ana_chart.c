/* ana_chart.c: the report's SVG charts (ana_chart.h). Hand-written SVG keeps
 * the report self-contained: it opens offline, in any browser, years later. */
#include "ana_chart.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One colour and one dash per automation arm (none, auto_fulfill, auto_request):
 * the same in every chart, explained by every chart's legend. */
static const char *const s_arm_colour[] = {"#4e79a7", "#f28e2b", "#59a14f"};
static const char *const s_arm_dash[] = {"", "7 4", "2 3"};
static const char *const s_arm_name[] = {"baseline (none)", "competence (auto_fulfill)",
                                         "cooperation (auto_request)"};
static const char *const s_palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                        "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define S_NPAL (sizeof s_palette / sizeof s_palette[0])

static int s_arm(const char *automation)
{
    int a = env_automation_from_name(automation);
    return a == ENV_AUTO_FULFILL ? 1 : a == ENV_AUTO_REQUEST ? 2 : 0;
}

void ana_html_esc(FILE *f, const char *s)
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

double ana_nice_step(double max, int ticks)
{
    if (!(max > 0) || ticks < 1) return 1;
    double raw = max / ticks, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

void ana_tick_label(char *out, size_t cap, double v)
{
    double a = fabs(v);
    if (a >= 1e6)
        snprintf(out, cap, "%.3gM", v / 1e6);
    else if (a >= 1e3)
        snprintf(out, cap, "%.3gk", v / 1e3);
    else
        snprintf(out, cap, "%.3g", v);
}

/* The arms' legend: a swatch (line with the arm's dash) and a name per arm. */
static void s_arm_legend(FILE *f, int x, int y, bool lines)
{
    fputs("<g class=\"legend\">", f);
    for (int a = 0; a < 3; a++) {
        int lx = x + a * 210;
        if (lines)
            fprintf(f,
                    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
                    "stroke-width=\"2.5\" stroke-dasharray=\"%s\"/>",
                    lx, y - 4, lx + 26, y - 4, s_arm_colour[a], s_arm_dash[a]);
        else
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"10\" fill=\"%s\"/>", lx,
                    y - 9, s_arm_colour[a]);
        fprintf(f, "<text class=\"legend\" x=\"%d\" y=\"%d\">%s</text>", lx + (lines ? 32 : 20), y,
                s_arm_name[a]);
    }
    fputs("</g>\n", f);
}

/* ------------------------------------------------------------------ pct -- */

void ana_chart_pct(FILE *f, const ana_study_t *s)
{
    size_t n = ana_study_n_conds(s);
    double max = 120;
    for (size_t i = 0; i < n; i++) {
        const ana_summary_t *x = &ana_study_cond(s, i)->stat[ANA_M_PCT_OPTIMAL];
        if (!isnan(x->ci_hi) && x->ci_hi > max) max = x->ci_hi;
        if (!isnan(x->mean) && x->mean > max) max = x->mean;
    }
    max = ceil(max / 20) * 20;
    int left = 330, w = 420, row = 26, top = 44, h = top + (int)n * row + 30;
    fprintf(f,
            "<figure data-chart=\"pct\"><figcaption>%% of optimal per condition (mean over "
            "seeds, 95%% CI; the dashed line is 100)</figcaption>\n<svg "
            "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d "
            "%d\" role=\"img\">\n",
            left + w + 40, h, left + w + 40, h);
    s_arm_legend(f, 10, 14, false);
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
        ana_html_esc(f, c->label);
        fprintf(f,
                "</text>\n<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                "fill=\"%s\"><title>",
                left, y + 3, bw > 1 ? bw : 1, row - 8, s_arm_colour[s_arm(c->automation)]);
        ana_html_esc(f, c->label);
        fprintf(f, ": %.1f%% (n=%zu%s)</title></rect>\n", v, x->n,
                c->n_excluded ? ", incomplete runs left out" : "");
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
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"val\">%.1f%s</text>\n", vx, y + 15, v,
                x->n ? "" : " (no complete run)");
    }
    fputs("</svg></figure>\n", f);
}

/* --------------------------------------------------------------- decomp -- */

void ana_chart_decomp(FILE *f, const ana_study_t *s)
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
            "(auto_request), %% of optimal, per model and intervention (whiskers: 95%% CI; "
            "the dashed diagonal is competence = cooperation)</figcaption>\n"
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
            "(auto_request)</text>\n<g class=\"legend\">",
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
        ana_html_esc(f, d->model);
        fprintf(f, " (%s): competence %.1f, cooperation %.1f: %s</title></circle>\n",
                d->intervention, cx->mean, cy->mean, d->verdict);
        fprintf(f,
                "<circle cx=\"%d\" cy=\"%d\" r=\"6\" fill=\"%s\"/><text class=\"legend\" x=\"%d\" "
                "y=\"%d\">",
                L + W + 30, T + 10 + k * 22, col, L + W + 42, T + 14 + k * 22);
        ana_html_esc(f, d->model);
        fputs(" · ", f);
        ana_html_esc(f, d->intervention);
        fputs(": ", f);
        ana_html_esc(f, d->verdict);
        fputs("</text>\n", f);
        k++;
    }
    fputs("</g>", f);
    if (!k)
        fprintf(f, "<text class=\"tick\" x=\"%d\" y=\"%d\">no model has both arms yet</text>\n",
                L + W / 2, T + H / 2);
    fputs("</svg></figure>\n", f);
}

/* --------------------------------------------------------------- rounds -- */

/* One panel: the conditions of decomposition group d, one line per arm. */
static void s_rounds_panel(FILE *f, const ana_study_t *s, const ana_decomp_t *d, int x0, int y0,
                           int W, int H, int R, double max, double step, double *sum, int *cnt)
{
    fprintf(f, "<text class=\"panel\" x=\"%d\" y=\"%d\">", x0, y0 - 8);
    ana_html_esc(f, d->model);
    fputs(" · ", f);
    ana_html_esc(f, d->intervention);
    if (d->extra[0]) fputs(" · ", f), ana_html_esc(f, d->extra);
    fputs("</text>\n", f);
    for (double t = 0; t <= max + step / 2; t += step) {
        double y = y0 + H - t / max * H;
        char lab[32];
        ana_tick_label(lab, sizeof lab, t);
        fprintf(f,
                "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/><text "
                "class=\"label\" x=\"%d\" y=\"%.1f\">%s</text>\n",
                x0, y, x0 + W, y, x0 - 4, y + 4, lab);
    }
    int xstep = (int)ana_nice_step(R, 5);
    for (int k = 1; k <= R; k++)
        if (k == 1 || k % (xstep > 0 ? xstep : 1) == 0)
            fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%d\">%d</text>",
                    x0 + (R > 1 ? (k - 1) / (double)(R - 1) * W : W / 2.0), y0 + H + 14, k);
    fprintf(f, "<text class=\"tick\" x=\"%d\" y=\"%d\">round</text>\n", x0 + W / 2, y0 + H + 28);
    for (size_t c = 0; c < ana_study_n_conds(s); c++) {
        const ana_cond_t *x = ana_study_cond(s, c);
        if (strcmp(x->model, d->model) || strcmp(x->intervention, d->intervention) ||
            strcmp(x->extra, d->extra) || !x->n_runs)
            continue;
        int arm = s_arm(x->automation);
        memset(sum, 0, sizeof *sum * (size_t)R);
        memset(cnt, 0, sizeof *cnt * (size_t)R);
        for (size_t j = 0; j < x->n_runs; j++) {
            const ana_run_t *r = ana_study_run(s, x->runs[j]);
            const ana_round_t *rd = ana_run_rounds(r);
            for (int k = 0; k < ana_run_n_rounds(r) && k < R; k++)
                sum[k] += (double)rd[k].group_revenue, cnt[k]++;
        }
        fprintf(f,
                "<polyline class=\"line\" fill=\"none\" stroke=\"%s\" stroke-dasharray=\"%s\" "
                "points=\"",
                s_arm_colour[arm], s_arm_dash[arm]);
        for (int k = 0; k < R; k++)
            if (cnt[k])
                fprintf(f, "%.1f,%.1f ", x0 + (R > 1 ? k / (double)(R - 1) * W : W / 2.0),
                        y0 + H - sum[k] / cnt[k] / max * H);
        fputs("\"><title>", f);
        ana_html_esc(f, x->label);
        fputs("</title></polyline>\n", f);
        for (int k = 0; k < R; k++)
            if (cnt[k])
                fprintf(f,
                        "<circle class=\"pt\" r=\"2.5\" fill=\"%s\" cx=\"%.1f\" cy=\"%.1f\"><title>"
                        "%s, round %d: %.0f USD</title></circle>",
                        s_arm_colour[arm], x0 + (R > 1 ? k / (double)(R - 1) * W : W / 2.0),
                        y0 + H - sum[k] / cnt[k] / max * H, s_arm_name[arm], k + 1,
                        sum[k] / cnt[k]);
        fputc('\n', f);
    }
}

void ana_chart_rounds(FILE *f, const ana_study_t *s)
{
    int R = 0;
    double top = 1;
    for (size_t i = 0; i < ana_study_n_runs(s); i++) {
        const ana_run_t *r = ana_study_run(s, i);
        if (!r || !ana_study_run_in_means(s, i)) continue;
        if (ana_run_n_rounds(r) > R) R = ana_run_n_rounds(r);
        const ana_round_t *rd = ana_run_rounds(r);
        for (int k = 0; k < ana_run_n_rounds(r); k++)
            if ((double)rd[k].group_revenue > top) top = (double)rd[k].group_revenue;
    }
    /* One y scale for every panel, so panels compare; ticks at nice values. */
    double step = ana_nice_step(top, 4), max = ceil(top / step) * step;
    size_t np = ana_study_n_decomps(s);
    int cols = np < 3 ? (int)(np ? np : 1) : 3, rows = (int)((np + 2) / 3);
    int W = 250, H = 150, L = 50, T = 56, gapx = 70, gapy = 70;
    int width = L + cols * (W + gapx), height = T + rows * (H + gapy);
    fprintf(f,
            "<figure data-chart=\"rounds\"><figcaption>Group revenue by round (cumulative, USD, "
            "mean over the seeds of complete runs), one panel per model and intervention, one "
            "line per arm; lines that coincide stay visible by their dashes</figcaption>\n<svg "
            "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d "
            "%d\" role=\"img\">\n",
            width, height, width, height);
    s_arm_legend(f, L, 16, true);
    double *sum = calloc((size_t)R + 1, sizeof *sum);
    int *cnt = calloc((size_t)R + 1, sizeof *cnt);
    for (size_t p = 0; p < np && sum && cnt; p++)
        s_rounds_panel(f, s, ana_study_decomp(s, p), L + (int)(p % 3) * (W + gapx),
                       T + (int)(p / 3) * (H + gapy), W, H, R, max, step, sum, cnt);
    free(sum);
    free(cnt);
    fputs("</svg></figure>\n", f);
}

/* --------------------------------------------------------------- matrix -- */

static void s_blue(double t, int *r, int *g, int *b)
{
    /* white -> blue */
    *r = (int)(255 - t * (255 - 33));
    *g = (int)(255 - t * (255 - 102));
    *b = (int)(255 - t * (255 - 172));
}

void ana_chart_matrix(FILE *f, const ana_study_t *s)
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
    int cell = N <= 12 ? 30 : N <= 30 ? 16 : 8, L = 80, T = 60, sx = L + N * cell + 30;
    int width = sx + 90, height = T + N * cell + 20;
    fprintf(f,
            "<figure data-chart=\"matrix\"><figcaption>Who shared with whom: pieces sent, row "
            "= sender, column = receiver, summed over all runs (grey: oneself)</figcaption>\n<svg "
            "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d "
            "%d\" role=\"img\">\n",
            width, height, width, height);
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
            int rr, gg, bb;
            s_blue(t, &rr, &gg, &bb);
            if (a == b) rr = gg = bb = 238;
            fprintf(f,
                    "<rect class=\"cell\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                    "style=\"fill:rgb(%d,%d,%d)\"><title>agent_%d -> agent_%d: %.0f "
                    "pieces</title></rect>\n",
                    L + b * cell, T + a * cell, cell - 1, cell - 1, rr, gg, bb, a + 1, b + 1, v);
        }
    /* The scale: the colour ramp from 0 to the largest count, with ticks. */
    int sh = N * cell > 100 ? N * cell : 100, steps = 20;
    fprintf(f, "<g class=\"legend\"><text class=\"legend\" x=\"%d\" y=\"%d\">pieces</text>", sx,
            T - 10);
    for (int i = 0; i < steps; i++) {
        int rr, gg, bb;
        s_blue(1.0 - (double)i / (steps - 1), &rr, &gg, &bb);
        fprintf(f,
                "<rect class=\"scale\" x=\"%d\" y=\"%.1f\" width=\"16\" height=\"%.1f\" "
                "style=\"fill:rgb(%d,%d,%d)\"/>",
                sx, T + i * (double)sh / steps, (double)sh / steps + 0.5, rr, gg, bb);
    }
    double step = ana_nice_step(max > 0 ? max : 1, 4);
    for (double t = 0; t <= (max > 0 ? max : 1) + step / 2; t += step) {
        if (t > max && max > 0) break;
        double y = T + sh - (max > 0 ? t / max : 0) * sh;
        fprintf(f, "<text class=\"val\" x=\"%d\" y=\"%.1f\">%.0f</text>", sx + 20, y + 4, t);
    }
    if (max > 0 && fmod(max, step) != 0)
        fprintf(f, "<text class=\"val\" x=\"%d\" y=\"%d\">%.0f</text>", sx + 20, T + 4, max);
    fputs("</g>\n", f);
    free(m);
    fputs("</svg></figure>\n", f);
}
