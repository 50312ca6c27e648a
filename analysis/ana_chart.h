/* ana_chart.h: the report's charts as inline SVG (no script, nothing fetched),
 * each an <svg> inside <figure data-chart="NAME">, marks found by class:
 *   pct       % of optimal per condition: rect.bar, line.ci (95% CI), a legend of
 *             the bar colours (automation arm)
 *   decomp    competence vs cooperation per model: circle.pt, a legend
 *   rounds    group revenue by round, mean per condition: small multiples, one
 *             panel per model and intervention, one line per arm (colour and
 *             dash differ, so coinciding lines stay visible): polyline.line,
 *             circle.pt, a legend
 *   matrix    who shared with whom (pieces, all runs): rect.cell, and a colour
 *             scale (rect.scale) with its end values
 * Every chart carries a <g class="legend"> (colours) or a scale. */
#ifndef PARLEY_ANA_CHART_H
#define PARLEY_ANA_CHART_H

#include "ana_study.h"

#include <stdio.h>

void ana_chart_pct(FILE *f, const ana_study_t *s);
void ana_chart_decomp(FILE *f, const ana_study_t *s);
void ana_chart_rounds(FILE *f, const ana_study_t *s);
void ana_chart_matrix(FILE *f, const ana_study_t *s);

/* Writes s with HTML's five special characters escaped. */
void ana_html_esc(FILE *f, const char *s);
/* A "nice" tick step (1, 2 or 5 x 10^k) for about `ticks` ticks up to max. */
double ana_nice_step(double max, int ticks);
/* A tick label: 0, 500, 1.5k, 250k, 1M, 2.5M (at most 3 significant digits). */
void ana_tick_label(char *out, size_t cap, double v);

#endif
