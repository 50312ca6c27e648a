/* ana_stats.c: means, Student's t intervals and the Gini coefficient for the
 * analysis tables (ana_stats.h). */
#include "ana_stats.h"

#include <math.h>
#include <stdlib.h>

/* Two-sided 95% quantiles for df 1..30: exact to 3 decimals, from the usual table. */
static const double s_t975[30] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                  2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                  2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                  2.060,  2.056, 2.052, 2.048, 2.045, 2.042};

double ana_t975(int df)
{
    if (df < 1) return NAN;
    if (df <= 30) return s_t975[df - 1];
    /* Cornish-Fisher expansion around the normal quantile: within 1e-3 past df 30. */
    double z = 1.959964, d = (double)df;
    double z3 = z * z * z, z5 = z3 * z * z;
    return z + (z3 + z) / (4 * d) + (5 * z5 + 16 * z3 + 3 * z) / (96 * d * d);
}

void ana_summarise(const double *x, size_t n, ana_summary_t *out)
{
    size_t k = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i])) sum += x[i], k++;
    out->n = k;
    out->mean = k ? sum / (double)k : NAN;
    out->sd = out->ci_lo = out->ci_hi = NAN;
    if (k < 2) {
        if (k == 1) out->ci_lo = out->ci_hi = out->mean;
        return;
    }
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i])) ss += (x[i] - out->mean) * (x[i] - out->mean);
    out->sd = sqrt(ss / (double)(k - 1));
    double half = ana_t975((int)k - 1) * out->sd / sqrt((double)k);
    out->ci_lo = out->mean - half;
    out->ci_hi = out->mean + half;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double ana_gini(const double *x, size_t n)
{
    if (n == 0) return NAN;
    double *v = malloc(sizeof *v * n);
    if (!v) return NAN;
    double sum = 0;
    for (size_t i = 0; i < n; i++) v[i] = x[i], sum += x[i];
    double g = NAN;
    if (sum > 0) {
        /* G = sum_i (2i - n - 1) x_(i) / (n sum x), x sorted ascending, i from 1. */
        qsort(v, n, sizeof *v, s_cmp_double);
        double acc = 0;
        for (size_t i = 0; i < n; i++) acc += (2.0 * (double)(i + 1) - (double)n - 1.0) * v[i];
        g = acc / ((double)n * sum);
    }
    free(v);
    return g;
}
