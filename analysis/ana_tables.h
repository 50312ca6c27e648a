/* ana_tables.h: the tidy CSV tables of a computed study (runs.csv, agents.csv,
 * transfers.csv, rounds.csv, aggregates.csv, decomposition.csv), one row per
 * observation, columns as docs/ANALYSIS.md lists them. */
#ifndef PARLEY_ANA_TABLES_H
#define PARLEY_ANA_TABLES_H

#include "ana_study.h"

#include <stddef.h>

/* Writes the six tables into dir. Returns 0, or -1 with err. */
int ana_tables_write(const ana_study_t *s, const char *dir, char *err, size_t errlen);

#endif
