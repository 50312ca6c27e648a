/* wire_view.h: the agent's env_obs_t, kept across turns and patched.
 *
 * wire_obs_from_pb (wire.h) rebuilds an env_obs_t from a whole observation:
 * every element of every history converted, every turn, linear in the game so
 * far. A view keeps the env_obs_t it built last and, after a delta, converts
 * only what the delta brought (wire_delta_dec_edit says which elements those
 * are): the kept arrays shift where a window slid, replaced elements are
 * converted in place, new ones appended. A whole observation (join, Resync,
 * reconnect), or a delta on a base the view does not hold, rebuilds it from
 * scratch. Either way the result equals wire_obs_from_pb of the decoder's
 * whole observation, element for element (wire_view_diff checks it; the
 * tests and PARLEY_CHECK_VIEW in parley-agent use that). Strings and piece
 * lists are borrowed from the decoder's observation, which keeps every element
 * the view holds alive until a later apply drops it.
 */
#ifndef PARLEY_WIRE_VIEW_H
#define PARLEY_WIRE_VIEW_H

#include "wire.h"
#include "wire_delta.h"

#include <stddef.h>
#include <stdint.h>

typedef struct wire_view wire_view_t;
/* A view for a game of n_agents and n_pieces (Welcome's tables), holding
 * nothing yet; NULL when out of memory or there are no agents. */
wire_view_t *wire_view_new(int n_agents, int n_pieces);
void wire_view_destroy(wire_view_t **v);
/* Forgets the view: the next update rebuilds it from scratch. */
void wire_view_reset(wire_view_t *v);
/* Brings v to the observation d holds after a successful wire_delta_apply:
 * patched when the apply was a delta on the observation v holds, else
 * rebuilt. Indices are checked as wire_obs_from_pb checks them (only the new
 * elements need it: the others were checked when they came). Returns the
 * view, valid until the next call on v or d, or NULL with *err WIRE_EBOUNDS
 * (an element names an agent or piece outside the tables), WIRE_EMALFORMED
 * (d holds nothing) or WIRE_ENOMEM; v then holds nothing. */
const env_obs_t *wire_view_update(wire_view_t *v, const wire_delta_dec_t *d, int *err);
/* Between turns: lets go of the directory's by-piece half (holder_count,
 * holders) when the world is large, as a rebuild from scratch would have done;
 * the next update makes it again. The view returned before is then no longer
 * valid. */
void wire_view_trim(wire_view_t *v);
/* How many updates were patches and how many rebuilds (for logs and tests). */
void wire_view_counts(const wire_view_t *v, int *patched, int *rebuilt);

/* Compares two observations of a game of n_agents and n_pieces element for
 * element (strings by their text). Returns 0 when equal, else 1 with the first
 * difference named in what ("messages[3].content"). */
int wire_view_diff(const env_obs_t *a, const env_obs_t *b, int n_agents, int n_pieces, char *what,
                   size_t what_len);

/* The debug check: d's observation rebuilt by wire_obs_from_pb and compared
 * with v's. Returns 0 when they agree, else 1 with the first difference (or
 * the rebuild's refusal) in what. */
int wire_view_check(const wire_view_t *v, const wire_delta_dec_t *d, char *what, size_t what_len);

#endif
