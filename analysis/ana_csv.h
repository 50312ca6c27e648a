/* ana_csv.h: an RFC 4180 CSV writer (header row, CRLF-free "\n" lines, fields
 * quoted when they hold a comma, a quote, a line break or edge spaces), so that
 * pandas.read_csv and R's read.csv take the tables as they are. */
#ifndef PARLEY_ANA_CSV_H
#define PARLEY_ANA_CSV_H

#include <stdint.h>
#include <stdio.h>

typedef struct ana_csv ana_csv_t;

/* Opens path for writing. NULL on error (errno set). The caller owns it. */
ana_csv_t *ana_csv_open(const char *path);
/* Flushes and closes; returns 0, or -1 when a write failed at any point. */
int ana_csv_close(ana_csv_t **c);

void ana_csv_str(ana_csv_t *c, const char *s); /* NULL: empty cell */
void ana_csv_int(ana_csv_t *c, int64_t v);
void ana_csv_num(ana_csv_t *c, double v); /* NaN: empty cell; else the shortest round trip */
void ana_csv_bool(ana_csv_t *c, int v);   /* true / false */
void ana_csv_end(ana_csv_t *c);           /* ends the row */

#endif
