/* wire.h: the protobuf side of parley, shared by parley-broker and parley-agent.
 *
 * One ZeroMQ frame holds one Envelope (parley.proto, PROTOCOL.md). This module
 * packs and unpacks envelopes with size limits, sends them on a socket, and
 * converts between the protobuf messages and the environment's structs
 * (environment/env.h): observations, rules, decisions. Conversions that build
 * protobuf trees allocate from a wire_arena_t, so one wire_arena_destroy() frees
 * a whole message; strings in those trees are borrowed from the source, which
 * must outlive the arena's use (pack before the game changes).
 */
#ifndef PARLEY_WIRE_H
#define PARLEY_WIRE_H

#include "env.h"
#include "parley.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/* Largest frame a broker accepts from an agent; bigger ones get TOO_LARGE. */
#define WIRE_MAX_AGENT_MSG (1u << 20)
/* Largest frame an agent accepts from the broker (observations grow with history). */
#define WIRE_MAX_BROKER_MSG (256u << 20)

/* Error codes of the wire layer. Where a code has a twin in Error.Code the
 * numbers are the same, so a code can travel as is. */
typedef enum {
    WIRE_OK = 0,
    WIRE_EMALFORMED = PARLEY__ERROR__CODE__MALFORMED,
    WIRE_ETOO_LARGE = PARLEY__ERROR__CODE__TOO_LARGE,
    WIRE_ENOMEM = 100,
    WIRE_EIO,     /* zmq_send/zmq_recv failed; errno says why */
    WIRE_EBOUNDS, /* an index in a message is outside the game's tables */
    WIRE_EBASE,   /* an observation delta against a base the agent does not hold */
    WIRE_EDELTA   /* an observation delta whose edits do not fit its base */
} wire_err_t;

const char *wire_strerror(int err);
/* Stable name of an Error.Code ("bad_token"), never NULL. */
const char *wire_code_name(int code);

/* ----------------------------------------------------------------- arena -- */

typedef struct wire_arena wire_arena_t;
wire_arena_t *wire_arena_new(void);
void wire_arena_destroy(wire_arena_t **a);
/* Zeroed memory that lives as long as the arena, or NULL. */
void *wire_arena_alloc(wire_arena_t *a, size_t size);
/* A copy of s (NULL -> ""), or NULL when out of memory. */
char *wire_arena_strdup(wire_arena_t *a, const char *s);
/* n zeroed structs of size bytes as an array of n pointers (protobuf-c's
 * layout for repeated messages), all in a; NULL when n is 0 or out of memory. */
void **wire_arena_msgs(wire_arena_t *a, size_t n, size_t size);

/* -------------------------------------------------------------- envelope -- */

/* Packs e into a new buffer (caller frees with free()). Returns WIRE_OK,
 * WIRE_ETOO_LARGE when the packed size exceeds max, or WIRE_ENOMEM. */
int wire_pack(const Parley__Envelope *e, size_t max, uint8_t **buf, size_t *len);
/* Unpacks one frame. Returns an owned envelope (free with wire_free) or NULL
 * with *err = WIRE_ETOO_LARGE (len > max) or WIRE_EMALFORMED (not an Envelope,
 * or no body). */
Parley__Envelope *wire_unpack(const void *buf, size_t len, size_t max, int *err);
void wire_free(Parley__Envelope **e);
/* The same with protobuf-c's allocator al (NULL: malloc); free what it gives
 * with wire_free_with and the same al. */
Parley__Envelope *wire_unpack_with(const void *buf, size_t len, size_t max, ProtobufCAllocator *al,
                                   int *err);
void wire_free_with(Parley__Envelope **e, ProtobufCAllocator *al);

/* Packs e and sends it on a ZeroMQ socket without blocking, preceded by a
 * routing-id frame when rid is not NULL (ROUTER). Returns WIRE_OK, or
 * WIRE_ETOO_LARGE / WIRE_ENOMEM / WIRE_EIO (errno from libzmq kept). */
int wire_send(void *sock, const void *rid, size_t rid_len, const Parley__Envelope *e, size_t max);

/* Body name of an envelope ("hello", "decision", ...), never NULL. */
const char *wire_body_name(int body_case);

/* ------------------------------------------------------------------ rules -- */

/* Fills *r from a configuration; strings are borrowed. */
void wire_rules_from_config(const env_config_t *c, const char *scenario, const char *timing,
                            double duration_s, double turn_timeout_s, double min_think_s,
                            Parley__GameRules *r);
/* The game's rules as an env_config_t: the paper preset overridden by every
 * field of r (the seed stays 0: agents do not know it). */
void wire_rules_to_config(const Parley__GameRules *r, env_config_t *c);

/* ----------------------------------------------------------- observation -- */

/* The observation as a protobuf tree allocated in a (strings borrowed from o).
 * Returns NULL when out of memory. */
Parley__Observation *wire_obs_to_pb(wire_arena_t *a, const env_obs_t *o, int n_agents);

/* A promise about one repeated field of an observation (by its field number
 * in Observation): its element k is element from + k of a history that is
 * only ever appended to and whose elements never change. The delta encoder
 * (wire_delta.h) then hashes only the elements it has not seen yet. */
typedef struct {
    uint32_t field;
    uint64_t from;
} wire_obs_hint_t;
enum { WIRE_OBS_HINTS = 7 };
/* Fills out[WIRE_OBS_HINTS] with the promises that hold for wire_obs_to_pb(o):
 * messages, notes, sent, received, thoughts, broadcasts, exchanges. */
void wire_obs_hints(const env_obs_t *o, wire_obs_hint_t out[WIRE_OBS_HINTS]);

/* An observation rebuilt on the agent's side: owns every array; its strings
 * are borrowed from the tree it was rebuilt from. */
typedef struct wire_obs wire_obs_t;
/* Rebuilds an env_obs_t from m for a game of n_agents and n_pieces (the sizes of
 * Welcome.agents / Welcome.pieces). Indices are checked: a message that names
 * an agent or piece outside the tables is refused (*err = WIRE_EBOUNDS).
 * Returns an owned object, to be destroyed before m is freed or changed (the
 * next wire_delta_apply on m's decoder), or NULL. */
wire_obs_t *wire_obs_from_pb(const Parley__Observation *m, int n_agents, int n_pieces, int *err);
/* m's scalars into o: agent (unchecked), type, kind, round, rounds and the
 * has_* and requests_exact flags; the lists are the caller's to fill. */
void wire_obs_head_from_pb(const Parley__Observation *m, env_obs_t *o);
/* The rebuilt observation, valid until wire_obs_destroy. */
const env_obs_t *wire_obs_view(const wire_obs_t *w);
void wire_obs_destroy(wire_obs_t **w);

/* -------------------------------------------------------------- decision -- */

/* Fills *out (initialised by the caller) with the actions and private thoughts
 * of d, allocated in a (strings borrowed from d). Returns WIRE_OK or WIRE_ENOMEM. */
int wire_decision_to_pb(wire_arena_t *a, const env_decision_t *d, Parley__Decision *out);
/* The actions of a Decision as env_action_t, allocated in a, strings borrowed
 * from m. An action whose kind is outside env_act_kind_t gets kind
 * ENV_ACT_COUNT: the caller must reject it (env_apply would not know it).
 * Returns WIRE_OK or WIRE_ENOMEM. */
int wire_actions_from_pb(wire_arena_t *a, const Parley__Decision *m, env_action_t **out, size_t *n);

/* Result of one action as the protobuf ActionResult (reason borrowed). */
void wire_result_to_pb(const env_result_t *r, Parley__ActionResult *out);

#endif
