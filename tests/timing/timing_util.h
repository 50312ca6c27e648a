/* timing_util.h: the timing tests' raw client (it speaks the wire protocol
 * itself, as a foreign agent would) and readers of a run's timing record. */
#ifndef PARLEY_TEST_TIMING_UTIL_H
#define PARLEY_TEST_TIMING_UTIL_H

#include <jansson.h>
#include <stdbool.h>

/* Plays `seat` of the broker at router: each TurnRequest is answered with an
 * empty Decision after delays[k % n] seconds (k counts the turns), until
 * GameOver. Returns the number of decisions sent. */
int tu_raw_play(const char *router, const char *dir, const char *seat, const double *delays, int n);

/* The events of dir's record of `type` for `agent` (caller decrefs). */
json_t *tu_events(const char *dir, const char *type, const char *agent);

/* The record's promise for one seat: every turn offered ends once, as a
 * decision, a missed turn, superseded (redecide), or open when the game
 * ended (turn_open_at_end, the seat's last turn only); a decision recorded
 * late never also counts as a decision. Fails the test (naming the seat)
 * otherwise. */
void tu_check_outcomes(const char *dir, const char *agent);

/* A realtime, sequential or simultaneous game: agent_1 is played by the raw
 * client (delays as above) with seat keys knobs1, agent_2 by parley-agent
 * (perfect) with knobs2, agent_3 and agent_4 by parley-agent. Run directory
 * out (cap bytes). */
void tu_game(const char *tag, const char *mode, const char *knobs1, const char *knobs2,
             const double *delays, int n, char *out, size_t cap);

#endif
