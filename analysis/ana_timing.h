/* ana_timing.h: the timing side of a study (docs/TIMING.md): the timing part
 * of a run's condition, and timing.csv, per seat, counted from each run's
 * events.jsonl (turn_offered, decision, missed_turn, decision_late,
 * call_abandoned, turn_superseded, turn_open_at_end). */
#ifndef PARLEY_ANA_TIMING_H
#define PARLEY_ANA_TIMING_H

#include "ana_study.h"
#include "pl_config.h"

#include <stddef.h>
#include <stdio.h>

/* The timing keys of c that differ from the defaults, as "k=v;k=v" (the mode
 * aside: conditions carry it already), seat keys as "agent_1-3.deadline=0.5".
 * Empty for the paper preset. Returns the length written. */
size_t ana_timing_key(const pl_config_t *c, char *out, size_t cap);

/* Writes dir/timing.csv: one row per run and seat: turns offered, decisions,
 * missed, late, abandoned, superseded, open at the end (offered = decided +
 * missed + superseded + open at the end), within-deadline share, mean and
 * maximum decision time (decided_s + held_s), injected latency, bank used,
 * mean staleness (versions behind) and arrivals while deciding, and the
 * seat's mean arrival rank in simultaneous rounds. Returns 0 or -1 with err. */
int ana_timing_write_csv(const ana_study_t *s, const char *dir, char *err, size_t errlen);

/* Writes dir/timing_share.csv: one row per run and seat, the seat as the
 * holder asked: its group (label, else policy), injected latency and deadline, the (asker, piece)
 * requests it received in direct messages, how many it filled, and the time
 * from the first request to the piece arriving, in seconds of the broker's
 * clock (empty for in-process runs) and in rounds. Returns 0 or -1 with err. */
int ana_timing_write_share_csv(const ana_study_t *s, const char *dir, char *err, size_t errlen);

/* The report's timing section: tasks against the slowest seat group's
 * injected latency, one point per run, coloured by mode (nothing when no
 * seat had a latency), and the time to share pooled by mode, the holder's
 * group and its latency. */
void ana_timing_report_html(FILE *f, const ana_study_t *s);

#endif
