/* ana_csv.c: the CSV writer of ana_csv.h. */
#include "ana_csv.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ana_csv {
    FILE *f;
    int col; /* cells written in the current row */
};

ana_csv_t *ana_csv_open(const char *path)
{
    ana_csv_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->f = fopen(path, "w");
    if (!c->f) {
        free(c);
        return NULL;
    }
    return c;
}

int ana_csv_close(ana_csv_t **pc)
{
    if (!pc || !*pc) return 0;
    ana_csv_t *c = *pc;
    int rc = ferror(c->f) ? -1 : 0;
    if (fclose(c->f) != 0) rc = -1;
    free(c);
    *pc = NULL;
    return rc;
}

static void s_sep(ana_csv_t *c)
{
    if (c->col++) fputc(',', c->f);
}

void ana_csv_str(ana_csv_t *c, const char *s)
{
    s_sep(c);
    if (!s || !*s) return;
    size_t n = strlen(s);
    int quote = strpbrk(s, ",\"\r\n") != NULL || s[0] == ' ' || s[n - 1] == ' ';
    if (!quote) {
        fputs(s, c->f);
        return;
    }
    fputc('"', c->f);
    for (const char *p = s; *p; p++) {
        if (*p == '"') fputc('"', c->f);
        fputc(*p, c->f);
    }
    fputc('"', c->f);
}

void ana_csv_int(ana_csv_t *c, int64_t v)
{
    s_sep(c);
    fprintf(c->f, "%" PRId64, v);
}

void ana_csv_num(ana_csv_t *c, double v)
{
    s_sep(c);
    if (isnan(v)) return;
    /* The shortest text that reads back as the same double: 0.1 stays 0.1,
     * 2006666.6666666667 keeps every digit (never 2.00667e+06). */
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    fputs(buf, c->f);
}

void ana_csv_bool(ana_csv_t *c, int v)
{
    s_sep(c);
    fputs(v ? "true" : "false", c->f);
}

void ana_csv_end(ana_csv_t *c)
{
    fputc('\n', c->f);
    c->col = 0;
}
