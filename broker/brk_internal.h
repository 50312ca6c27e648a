/* brk_internal.h: what the files of the broker share (not installed, not for
 * other folders). brk_server.h is the public face; the server object and its
 * seats are defined here so that each part of the broker can be its own file:
 *   brk_record.c: clocks, and the event record (events.jsonl, then PUB)
 *   brk_send.c: messages to agents
 *   brk_sched.c: what the timing modes share (turns, deadlines, rounds, the
 *     start); brk_sched_seq.c, brk_sched_sim.c, brk_sched_rt.c: one per mode
 *   brk_finish.c: the end of the game: summary.json and GameOver
 *   brk_dispatch.c: the ROUTER socket, the dispatch table and its handlers, heartbeats, signals
 *   brk_server.c: construction, tokens, the web side, the loop
 */
#ifndef PARLEY_BRK_INTERNAL_H
#define PARLEY_BRK_INTERNAL_H

#include "ana_run.h"
#include "brk_http.h"
#include "brk_peers.h"
#include "brk_rundir.h"
#include "brk_sched.h"
#include "brk_server.h"
#include "brk_zap.h"
#include "env.h"
#include "env_jsonw.h"
#include "env_rng.h"
#include "wire.h"
#include "wire_delta.h"

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define BRK_TOKEN_BYTES  16
#define BRK_RID_MAX      256
#define BRK_HARD_MAX     (64u << 20) /* libzmq drops peers that send more than this */
#define BRK_ROUTER_BATCH 512         /* messages read per turn of the loop */

typedef enum {
    BRK_SEAT_EMPTY = 0, /* never connected */
    BRK_SEAT_ON,        /* connected and alive */
    BRK_SEAT_LOST,      /* heartbeats stopped; may come back */
    BRK_SEAT_GONE       /* said Bye */
} brk_seat_state_t;

extern const char *const brk_seat_state_names[4]; /* "empty", "on", "lost", "gone" */

typedef enum { BRK_WAITING = 0, BRK_PLAYING, BRK_OVER } brk_phase_t;

typedef struct {
    brk_server_t *server;
    int index;
    char token[2 * BRK_TOKEN_BYTES + 1];
    uint8_t rid[BRK_RID_MAX];
    size_t rid_len;
    brk_seat_state_t state;
    bool ever_joined;
    int64_t last_seen_ms; /* monotonic */
    char policy[32];
    char model[128];
    bool reactive, human;

    uint64_t turn_id; /* the open turn, 0 if none */
    env_turn_kind_t turn_kind;
    int64_t turn_deadline_ms; /* monotonic */
    int64_t turn_sent_us;     /* monotonic: when the TurnRequest last left */
    struct event *deadline_ev;
    struct event *think_ev; /* realtime: next offer after min_think */
    int turns, missed;

    /* Timing (brk_sched.c, docs/TIMING.md): the seat's knobs ... */
    double deadline_s, bank_left_s, min_think_s, latency_s;
    int latency_dist; /* 0 fixed, 1 uniform (0 to 2x), 2 exponential (mean latency_s) */
    /* Turns opened for this seat so far (replayed ones too): with the seed
     * and the seat, it keys the latency draw, so a resumed game draws what
     * the uninterrupted one did. */
    uint64_t offers;
    /* ... the open turn's clock and the state it showed ... */
    int64_t turn_offered_us, turn_soft_us; /* monotonic; past soft the bank is drawn */
    /* redecide: the superseded turn's deadline (soft, hard: monotonic us) and
     * id, which its replacement keeps (0: a fresh turn, its full deadline) */
    int64_t keep_soft_us, keep_hard_us;
    uint64_t replaces;
    uint64_t turn_version, turn_inbox;
    uint64_t inbox;       /* messages, pieces and broadcasts that reached the seat */
    uint64_t missed_turn; /* the last turn missed at its deadline: a late decision names it */
    /* ... and a decision the broker holds (injected latency, think time). */
    struct event *hold_ev;
    uint8_t *held;
    size_t held_len;
    json_t *held_fixed;
    int64_t held_arrived_us;
    double held_latency_s;
    int late, abandoned;
    double bank_used_s;

    /* Observations (brk_send.c): a DELTA seat (its Hello asked) gets what
     * changed since the last one the encoder numbered; created on first use. */
    bool obs_delta;
    wire_delta_enc_t *obs_enc;
    bool compact_names; /* its Hello can take Welcome's names as patterns */
    long keyless_pid;   /* --ipc-no-curve: the process whose Hello holds it, else 0 */
} brk_seat_t;

struct brk_server {
    pl_config_t *cfg;
    const brk_sched_t *sched; /* the timing mode's scheduler */
    brk_options_t opts;
    env_game_t *game;
    brk_rundir_t *rundir;
    struct event_base *base;
    void *zctx, *router, *pub;
    void *pub_private;   /* every event, for the experimenter's key only (CURVE), or NULL */
    brk_zap_t *zap;      /* the ZAP handler: CURVE on, or NULL */
    brk_peers_t *peers;  /* the ROUTER's connections without a seat, bounded */
    brk_zap_t *zap_open; /* without CURVE: admits every NULL peer (BRK_ZAP_OPEN) */
    json_t *keys;        /* keys.json: the experimenter's token, CURVE keys (secrets) */
    char experimenter_token[2 * BRK_TOKEN_BYTES + 1];
    char pub_private_endpoint[256];
    struct event *router_ev, *hb_ev, *start_ev, *slice_ev, *sigint_ev, *sigterm_ev;
    char endpoint[256], pub_endpoint[256];
    char ipc_endpoint[128]; /* "ipc://PATH" (brk_options_t.router_ipc_path), or "" */
    char game_id[17];

    int n_seats;
    brk_seat_t *seats;
    /* The game's names as patterns (wire_names.h), encoded at the first
     * Welcome that may carry them; names_tried: whether that was tried. */
    wire_arena_t *names_arena;
    Parley__Names *agent_names, *piece_names;
    bool names_tried;

    brk_phase_t phase;
    bool draining;
    uint64_t seq, next_turn_id;
    uint64_t version; /* the game state's version: one more per decision applied */
    int64_t started_ms,
        ended_ms; /* monotonic: play began, ended (0: not yet); the clock pages show */
    double turn_timeout, human_timeout, heartbeat, min_think;
    bool round_open;

    /* sequential: the round's turns still to play (environment/env_turns.h) */
    struct env_turns *turns;
    /* simultaneous: turns of the round still open; arrival counter */
    int open_turns, arrival;
    /* realtime: slices done */
    int slice;

    /* per-round statistics for summary.json */
    json_t *per_round;
    /* Events recorded and waiting for brk_flush to reach the PUB sockets:
     * type, whole text (the private PUB), public view (the public one). */
    struct brk_pub_item {
        char *type, *text, *pub;
    } * pub_items;
    size_t n_pub, cap_pub;
    struct env_jsonw *jw, *jw_view; /* each event's text and its public view's */
    int round_tasks_base, round_msgs, total_msgs, total_missed;

    brk_http_t *http;                              /* the web side, or NULL */
    const char **seat_ids, **seat_tokens;          /* for the web side */
    const char **seat_curve_pub, **seat_curve_sec; /* browser seats' CURVE keys, or NULL */
    bool *browser;

    /* During env_apply: the decision's index of each action the environment
     * sees (unknown kinds are not passed on), for the `action` lines. */
    const size_t *action_index;
    size_t action_index_n;
    env_result_t *apply_results; /* ... and their results, filled as they are applied */
    size_t apply_seen;           /* action lines seen so far in this env_apply */
    int record_failures;         /* keys or events the record could not hold (out of memory) */

    /* Replay of a recorded game (brk_resume.c): the record, the next line to
     * match, and how it went. */
    json_t *log;
    size_t log_at;
    bool replaying, replay_failed, replay_open;
    size_t torn_bytes, good_bytes; /* a torn last line, and where the whole lines end */
    char replay_err[1600];
    json_t *summary_seen; /* verify: the summary the replay computed */
    bool resumed;         /* this broker took a game over from the record */
    /* The totals of metrics.json, fed each event as it is written (a game this
     * broker played from its start; a resumed one reads its log at the end). */
    ana_run_t *metrics;
    bool metrics_off;         /* it could not be started: the end reads the log */
    bool lingering;           /* over, waiting for lost seats to hear it */
    int fork_round;           /* a fork (parley fork): its rules change at this round */
    env_config_t fork_source; /* a fork: the source run's rules, until fork_round */

    /* Refused frames are logged at most once a second, with the count of
     * the ones not logged (a flood of bad frames costs no log space). */
    int64_t refused_log_ms;
    uint64_t refused_unlogged;

    int result; /* brk_server_run's return */
    char reason[32];
};

/* brk_record.c: clocks, and the event record (events.jsonl, then PUB) */
json_t *brk_event(brk_server_t *s, const char *type);
void brk_flush(brk_server_t *s);
/* Frees the events still waiting for the PUB sockets (at the end). */
void brk_pub_clear(brk_server_t *s);
int64_t brk_mono_ms(void);
int64_t brk_mono_us(void);
void brk_on_game_event(void *ctx, json_t *ev);
void brk_record(brk_server_t *s, json_t *ev);
/* Sets key of obj to val (consumed), and appends val to arr: on failure the
 * record is marked incomplete (the run's status becomes "failed", a log line
 * names the key) instead of losing the key silently. Return 0 or -1. */
int brk_set(brk_server_t *s, json_t *obj, const char *key, json_t *val);
int brk_append(brk_server_t *s, json_t *arr, json_t *val);
/* Adds every key of `more` (consumed) to obj, with the same accounting. */
int brk_update(brk_server_t *s, json_t *obj, json_t *more);
/* metrics.json (ana_run.h): each recorded event counted; written at the end. */
void brk_metrics_feed(brk_server_t *s, const json_t *ev);
void brk_metrics_save(brk_server_t *s);
/* Notes that an event or a key of `what` could not be built. */
void brk_record_failed(brk_server_t *s, const char *what);
struct timeval brk_tv(double seconds);
int64_t brk_wall_ms(void);

/* brk_send.c: messages to agents */
int brk_send(brk_server_t *s, brk_seat_t *seat, Parley__Envelope *e);
void brk_send_error(brk_server_t *s, const uint8_t *rid, size_t rid_len, int code, uint64_t turn_id,
                    uint64_t in_reply_to, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* Logs the count of refusals not logged yet, once their second is over. */
void brk_send_refusals_flush(brk_server_t *s);
void brk_send_notice(brk_server_t *s, brk_seat_t *seat, const char *what, const char *text,
                     uint64_t turn_id);
void brk_send_turn(brk_server_t *s, brk_seat_t *seat, bool resent);
void brk_send_welcome(brk_server_t *s, brk_seat_t *seat, bool resumed);

/* brk_sched.c: what the timing modes share; the modes are brk_sched_*.c */
void brk_after_turn(brk_server_t *s, brk_seat_t *seat, env_turn_kind_t kind);
/* Opens a turn of seat (or, replaying, applies its recorded outcome). */
void brk_open_turn(brk_server_t *s, brk_seat_t *seat, env_turn_kind_t kind);
/* Begins the next round; false when the game is over. */
bool brk_round_begin(brk_server_t *s);
/* seat's open turn starts its clock now: its deadline is armed and a
 * turn_offered event records the deadline, the bank and the state version. */
void brk_sched_offered(brk_server_t *s, brk_seat_t *seat);
/* Sets each seat's timing from the configuration and creates its hold timer. */
int brk_sched_seats_init(brk_server_t *s);
void brk_sched_seat_free(brk_seat_t *seat);
/* A decision for seat's open turn arrived: 1 when the broker holds it (its
 * injected latency or think time has not passed; it is taken later through
 * brk_take_held), 0 when it takes effect now. */
int brk_sched_hold(brk_server_t *s, brk_seat_t *seat, const Parley__Envelope *e, json_t *fixed);
/* The timing fields of seat's decision taking effect now (arrival at
 * arrived_us): decided_s, held_s, the bank drawn, the version seen and its
 * staleness. Draws the bank. */
void brk_sched_decision_fields(brk_server_t *s, brk_seat_t *seat, json_t *ev, int64_t arrived_us,
                               double latency_s);
/* A decision for a turn that is no longer open: recorded as late when it is
 * the turn the seat last missed at its deadline (once). */
void brk_sched_late(brk_server_t *s, brk_seat_t *seat, uint64_t turn_id, const char *why);
/* Counts what a decision delivered to other seats (their inbox, for staleness). */
void brk_sched_delivered(brk_server_t *s, int agent, const env_action_t *acts, size_t n,
                         const env_result_t *res);
/* The game ends: each seat's turn still open (a decision held for its
 * latency, a model call in flight) is recorded as turn_open_at_end. */
void brk_sched_open_at_end(brk_server_t *s);
void brk_close_turn(brk_seat_t *seat);
/* Starts the deadline of seat's open turn (its full timeout from now). */
void brk_arm_turn(brk_server_t *s, brk_seat_t *seat);
void brk_miss(brk_server_t *s, brk_seat_t *seat, const char *why);
void brk_on_seat_deadline(evutil_socket_t fd, short what, void *arg);
void brk_on_start_timeout(evutil_socket_t fd, short what, void *arg);
void brk_round_end(brk_server_t *s);
/* brk_sched_rt.c: the realtime timers, and a turn offered when the seat may act */
void brk_on_seat_think(evutil_socket_t fd, short what, void *arg);
void brk_on_slice(evutil_socket_t fd, short what, void *arg);
void brk_rt_offer(brk_server_t *s, brk_seat_t *seat);
double brk_seat_timeout(const brk_server_t *s, const brk_seat_t *seat);
void brk_start(brk_server_t *s);

/* The decision as written, as the `input` of a decision line and the `action`
 * of an action line (raw_kind: the wire's kind number, kept for unknown kinds). */
json_t *brk_action_json(brk_server_t *s, const env_action_t *a, int raw_kind);
/* Applies one decision of seat (turn already closed): unknown kinds are
 * refused and recorded, the rest go to the environment; res[i] for acts[i].
 * Scratch memory comes from a. */
void brk_apply_decision(brk_server_t *s, brk_seat_t *seat, env_turn_kind_t kind,
                        const env_action_t *acts, const int *raw_kinds, size_t n,
                        const char *thoughts, env_result_t *res, wire_arena_t *a);

/* brk_resume.c: resume and replay from events.jsonl */
/* Reads run_dir's record: nothing (a new run), a game to resume (s->log set,
 * the game id taken over), or an error in err (finished game, other config). */
int brk_resume_load(brk_server_t *s, char *err, size_t errlen);
/* Replays the record through the scheduler and goes live at its end. */
int brk_resume_run(brk_server_t *s, char *err, size_t errlen);
/* While replaying: ev (owned by the caller) is compared with the next recorded
 * event instead of being written. False when the record has run out (the
 * broker is live now: record ev). */
bool brk_replay_take(brk_server_t *s, json_t *ev);
/* While replaying: the recorded outcome of the turn just opened for seat is
 * applied; 0 when the record ran out at this turn (it is live now). */
int brk_replay_turn(brk_server_t *s, brk_seat_t *seat);
/* Applies recorded seat events up to the next game event. */
void brk_replay_sync(brk_server_t *s);
/* Two events equal apart from timing fields (t_ms, rtt_us, think_s, calls). */
bool brk_event_equal(const json_t *a, const json_t *b);

/* brk_dispatch.c: whether seat idx gets reply turns: its client claims to be
 * reactive and its configured policy is (a claim alone is not enough). */
bool brk_seat_reactive(const brk_server_t *s, int idx, bool claimed);
/* brk_dispatch.c: a held decision takes effect now (e is owned by the caller). */
void brk_take_held(brk_server_t *s, brk_seat_t *seat, const Parley__Envelope *e, json_t *fixed,
                   int64_t arrived_us, double latency_s);

/* brk_finish.c: the end of the game: summary.json and GameOver */
void brk_finish(brk_server_t *s, const char *reason);
/* Seats that were playing and are not connected now (lost). */
int brk_seats_away(const brk_server_t *s);

/* brk_dispatch.c: the ROUTER socket, the dispatch table and its handlers, heartbeats, signals */
void brk_on_heartbeat_timer(evutil_socket_t fd, short what, void *arg);
void brk_on_router_readable(evutil_socket_t fd, short what, void *arg);
void brk_on_signal(evutil_socket_t fd, short what, void *arg);

#endif
