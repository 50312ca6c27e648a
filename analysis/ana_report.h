/* ana_report.h: `parley report DIRS...`: one self-contained HTML file (inline
 * CSS and SVG, no external resource, no script) and a markdown summary.
 *
 * Charts, each an <svg> inside <figure data-chart="NAME">, with marks a test (or a
 * reader's tool) can find by class:
 *   pct       % of optimal per condition: rect.bar, line.ci (95% CI)
 *   decomp    competence vs cooperation per model: circle.pt
 *   rounds    group revenue by round, mean per condition: polyline.line, circle.pt
 *   matrix    who shared with whom (pieces, all runs): rect.cell */
#ifndef PARLEY_ANA_REPORT_H
#define PARLEY_ANA_REPORT_H

#include "ana_study.h"

#include <stddef.h>
#include <stdio.h>

/* Writes the HTML report to html_path and the markdown summary to md_path (either
 * may be NULL). The study must be computed. Returns 0, or -1 with err. */
int ana_report_write(const ana_study_t *s, const char *html_path, const char *md_path, char *err,
                     size_t errlen);

/* Prints the decomposition as a plain-text table (model, intervention, the three
 * arms' % of optimal with n, the verdict) and the verdict rule's margin to f:
 * what `parley sweep` shows on the terminal when it is done. */
void ana_report_print_verdicts(FILE *f, const ana_study_t *s);

/* The `parley report` command: argv[0] is "report". Returns the exit status
 * (0 written, 1 error). Never exits. */
int ana_report_main(int argc, char **argv);

#endif
