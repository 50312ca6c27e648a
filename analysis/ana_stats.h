/* ana_stats.h: the few statistics the analysis needs (means, confidence
 * intervals with Student's t, the Gini coefficient). Plain functions over arrays;
 * NaN stands for "not defined" (an empty sample, a division by zero) and is
 * written as an empty CSV cell. */
#ifndef PARLEY_ANA_STATS_H
#define PARLEY_ANA_STATS_H

#include <stddef.h>

typedef struct {
    size_t n;            /* values that were not NaN */
    double mean, sd;     /* sd: sample standard deviation (n - 1); NaN when n < 2 */
    double ci_lo, ci_hi; /* 95% CI of the mean, mean -+ t(0.975, n-1) * sd / sqrt(n) */
} ana_summary_t;

/* Summarises x[0..n), skipping NaN values. */
void ana_summarise(const double *x, size_t n, ana_summary_t *out);
/* The 0.975 quantile of Student's t with df degrees of freedom (df >= 1). */
double ana_t975(int df);
/* Gini coefficient of non-negative values: 0 equal, (n-1)/n one holds all. NaN
 * when n is 0 or the sum is 0 (nobody earned anything: no inequality to speak of). */
double ana_gini(const double *x, size_t n);

#endif
