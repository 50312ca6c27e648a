/* env_internal.h: the game's state, shared by the files of environment/ and by
 * nothing else (env.h is the public face). */
#ifndef PARLEY_ENV_INTERNAL_H
#define PARLEY_ENV_INTERNAL_H

#include "env.h"
#include "env_jsonw.h"
#include "env_rng.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A growable array: VEC(T) v; s_vec_push(&v, item). Zeroed means empty. */
#define VEC(T)                                                                                     \
    struct {                                                                                       \
        T *v;                                                                                      \
        size_t n, cap;                                                                             \
    }

/* Grows *v so that it holds at least `need` elements of `size` bytes. */
int env_vec_reserve(void **v, size_t *cap, size_t need, size_t size);

#define VEC_PUSH(vec, item)                                                                        \
    ((vec).n < (vec).cap ||                                                                        \
             env_vec_reserve((void **)&(vec).v, &(vec).cap, (vec).n + 1, sizeof *(vec).v) == 0     \
         ? ((vec).v[(vec).n++] = (item), 0)                                                        \
         : ENV_ENOMEM)

#define VEC_FREE(vec)                                                                              \
    do {                                                                                           \
        free((vec).v);                                                                             \
        (vec).v = NULL;                                                                            \
        (vec).n = (vec).cap = 0;                                                                   \
    } while (0)

/* Bump allocator: strings and messages live until the game is destroyed, so
 * their addresses are stable and observations can point at them. */
typedef struct env_chunk {
    struct env_chunk *next;
    size_t used, size;
    max_align_t data[];
} env_chunk_t;

typedef struct {
    env_chunk_t *head;
} env_arena_t;

void *env_arena_alloc(env_arena_t *a, size_t n);
char *env_arena_strdup(env_arena_t *a, const char *s);
char *env_arena_printf(env_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void env_arena_free(env_arena_t *a);

/* A set of 64-bit keys (open addressing): who already sent which piece to whom. */
typedef struct {
    uint64_t *keys; /* 0 = empty; keys are stored +1 */
    size_t n, cap;
} env_set_t;

bool env_set_has(const env_set_t *s, uint64_t key);
int env_set_add(env_set_t *s, uint64_t key); /* 0, or ENV_ENOMEM */
void env_set_free(env_set_t *s);

/* A map from 64-bit keys to pairs of 32-bit values (open addressing). A key
 * and its values share a slot: a hit costs one cache miss, not two. */
typedef struct {
    uint64_t key; /* 0 = empty; keys are stored +1 */
    uint32_t a, b;
} env_map_slot_t;

typedef struct {
    env_map_slot_t *slots;
    size_t n, cap;
} env_map_t;

/* The slot of key, or NULL; valid until the next env_map_put. */
env_map_slot_t *env_map_get(const env_map_t *m, uint64_t key);
int env_map_put(env_map_t *m, uint64_t key, uint32_t a, uint32_t b); /* 0, or ENV_ENOMEM */
void env_map_free(env_map_t *m);

typedef struct {
    char *id; /* "task_12" */
    char *description;
    int owner;
    int n_pieces; /* between min_pieces_per_task and pieces_per_task */
    int *pieces;  /* [n_pieces] */
    bool done;
} env_task_t;

typedef struct {
    char id[24];
    env_type_t type;
    bool reactive;
    int64_t task_revenue, bonus_revenue;
    int tasks_done;
    int missed;
    uint64_t *held;              /* bitset over pieces */
    VEC(int) active;             /* task indices, in slot order */
    VEC(env_holding_t) inv;      /* acquisition order */
    VEC(const env_msg_t *) msgs; /* direct messages sent or received */
    VEC(env_note_t) notes;       /* complete up to public_seen (env_notes_flush) */
    size_t public_seen;          /* g->public entries already in `notes` */
    VEC(env_sent_t) sent;
    VEC(env_received_t) received;
    VEC(env_request_t) requests;
    VEC(env_ask_t) asks; /* requests received */
    VEC(env_note_t) thoughts;
    VEC(env_invalid_t) invalid; /* of the last turn */
    env_rng_t task_rng;         /* this agent's own stream of tasks */
    /* Per agent, not one table for the game: the lookups of a turn are
     * nearly all of one agent's, and its tables stay in cache through it. */
    env_set_t sent_to; /* (to, piece) this agent has already sent */
    /* (holder, piece) this agent asked for -> its request in `requests` (a)
     * and the holder's ask in its `asks` (b), made together */
    env_map_t req_map;
} env_agent_t;

/* One copied piece of a transfer, for its event. */
typedef struct {
    int piece;
    int64_t stated;
    bool misreport, requested;
} env_copy_t;

/* A notice for every agent but `about`. */
typedef struct {
    int round, about;
    char *text;
} env_public_note_t;

struct env_game {
    env_config_t cfg;
    env_event_fn sink;
    env_text_fn text_sink;
    void *sink_ctx;
    env_jsonw_t *ew;     /* a text sink's event being written (env_ev_begin) */
    const char *ev_type; /* its type */
    /* a tree sink's event being built: open containers, a key awaiting its value */
    json_t *ev_stack[16];
    int ev_depth;
    const char *ev_key;
    VEC(env_copy_t) ev_copies; /* the transfer being recorded */
    /* Per action of the turn being applied: the piece its message asks for in
     * the REQUEST form, or -1 (read once, at delivery; env_instant_fulfil). */
    VEC(int) turn_asks;
    uint64_t seq; /* events emitted */
    env_arena_t arena;

    int n, p;           /* agents, pieces */
    size_t words;       /* bitset words per agent */
    char **piece_names; /* [p], in the arena */
    /* A text sink's names as the log writes them, quoted and escaped once
     * ([p] and [n], in the arena; NULL: not valid UTF-8, left out as jansson
     * would), with their lengths: an event copies them as they are. */
    char **piece_q, **agent_q;
    uint32_t *piece_qn, *agent_qn;
    int *piece_values;   /* [p] */
    char **agent_ids;    /* [n], pointing into agents[i].id */
    env_agent_t *agents; /* [n] */
    VEC(env_task_t) tasks;

    int round; /* 1-based; 0 before the first */
    bool in_round, over, finished;
    int *order; /* [n], this round's turn order */
    env_rng_t order_rng;

    /* Round-start snapshot (GAME.md's snapshot rule). */
    uint32_t *dir_count; /* [n] */
    int **dir_pieces;    /* [n] -> into dir_buf */
    int *dir_buf;
    size_t dir_cap;
    uint32_t *holder_count; /* [p] */
    int **holders;          /* [p] -> into holder_buf */
    int *holder_buf;
    size_t holder_cap;
    size_t bc_snapshot;          /* broadcasts visible this round */
    env_board_row_t *board_snap; /* [n] in agent order */

    /* Notices for every agent but their subject (a completion, a penalty),
     * kept once and copied into each agent's notes when it next gets a note
     * or is observed: in the order they would have been given, but written
     * one agent at a time instead of to every agent at once. */
    VEC(env_public_note_t) public;
    VEC(env_msg_t) broadcasts;
    VEC(env_exchange_t) exchanges;
    VEC(int) replies;    /* reactive seats owed a reply turn */
    bool *reply_pending; /* [n] */
    bool *reply_owed;    /* [n] handed out by env_take_replies, not yet taken */

    /* Per-round counters for the round summary. */
    int round_tasks, round_messages;

    /* Scratch for observations (reused; observations are views). */
    env_board_row_t *obs_board; /* [n], board_snap shuffled */
    env_task_view_t *obs_tasks;
    size_t obs_tasks_cap;
};

/* Case-insensitive substring test (strcasestr is not standard C or POSIX). */
bool env_contains_ci(const char *hay, const char *needle);

/* World generation (env_world.c). */
int env_world_generate(env_game_t *g);
/* Draws a new task for `agent` and appends it to its active list. */
int env_task_new(env_game_t *g, int agent);

/* Shared by the files of the rules (env.c, env_transfer.c, env_submit.c,
 * env_actions.c, env_round.c). */
/* "agent_3" (any case, surrounding spaces allowed) -> 2; -1 otherwise. */
int env_parse_agent(int n, const char *id);
/* Exact piece name, case-insensitive, surrounding spaces ignored; -1 if none. */
int env_piece_exact(char *const *names, int p, const char *name);
/* Brings agent's notes up to date with the public notices; ENV_OK or
 * ENV_ENOMEM. Before any read of an agent's notes (env_observe). */
int env_notes_flush(env_game_t *g, int agent);
/* Appends a notification (arena text) for agent; ENV_ENOMEM if text is NULL. */
int env_note(env_game_t *g, int agent, char *text);
/* A notification (arena text) for every agent but `about`. */
int env_note_public(env_game_t *g, int about, char *text);
/* Key of an agent's (other agent, piece) sets and maps. */
static inline uint64_t env_pair_key(const env_game_t *g, int other, int piece)
{
    return (uint64_t)other * (uint64_t)g->p + (uint64_t)piece;
}
/* Whether `from` has already sent `piece` to `to` (or tried to, GAME.md). */
bool env_was_sent(const env_game_t *g, int from, int to, int piece);
/* The request `requester` made of `holder` for `piece`, or NULL. */
env_request_t *env_find_request(env_game_t *g, int requester, int holder, int piece);
/* Fills an action result: code and a printf-style reason (fmt may be NULL). */
void env_set_result(env_result_t *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copies pieces from -> to at values[i]; returns how many were copied, or
 * -ENV_ENOMEM. The one place where information moves. */
int env_transfer(env_game_t *g, int from, int to, const int *pieces, const int64_t *values,
                 size_t n, bool automated);
/* Delivers (or, suppressed, only records) a direct message. When delivered
 * and `asked` is not NULL, *asked is the piece it asks for in the study's
 * "REQUEST: <name> for ..." form (env_request_piece), or -1. */
int env_deliver(env_game_t *g, int from, int to, const char *content, bool automated,
                bool delivered, env_turn_kind_t kind, int *asked);
/* The value `agent` holds `piece` at (its inventory's record). */
int env_held_value(const env_game_t *g, int agent, int piece);
/* The original's instant fulfilment after a perfect (reactive) asker's turn:
 * each "REQUEST: <name> for ..." to a perfect holder is filled at once. The
 * pieces asked for are g->turn_asks, as the turn's deliveries read them. */
int env_instant_fulfil(env_game_t *g, int agent, const env_action_t *actions, size_t n);
/* The send_information and submit_task actions (results in *r). */
int env_act_send_info(env_game_t *g, int agent, const env_action_t *a, env_result_t *r);
int env_act_submit(env_game_t *g, int agent, const env_action_t *a, env_result_t *r);

/* Events (env_event.c): env_ev_begin starts event `type` ({"seq", "type", "round"
 * first) and returns false when nobody listens; the caller adds its fields,
 * then env_ev_end delivers it. No other event may start in between. One code
 * path, two builders: a text sink's event is written straight into one reused
 * buffer (env_jsonw.h), a tree sink's built as a jansson tree, as before. A
 * string that is NULL or not UTF-8 is left out with its key, in both.
 *
 * Keys are literals: the macros below pass each as itself (for the tree) and
 * as its text in the log with the separator before it (",\"key\":", made at
 * compile time by ENV_EV_K), so that a text event copies its keys and never
 * escapes or measures them. A literal key must be plain ASCII (no '"', '\\'
 * or control byte); a key made at run time goes through env_ev_kintn. Agents
 * and pieces are given by index: a text event copies their quoted names. */
#define ENV_EV_K(k) (k), ENV_JSONW_KEY(k)
bool env_ev_beginq(env_game_t *g, const char *type, const char *q, size_t qn);
#define env_ev_begin(g, type)                                                                      \
    env_ev_beginq((g), (type), ",\"type\":\"" type "\",\"round\":",                                \
                  sizeof(",\"type\":\"" type "\",\"round\":") - 1)
void env_ev_end(env_game_t *g);
void env_ev_obj(env_game_t *g);
void env_ev_arr(env_game_t *g);
void env_ev_close(env_game_t *g);
void env_ev_str(env_game_t *g, const char *s);
void env_ev_int(env_game_t *g, long long v);
void env_ev_bool(env_game_t *g, bool v);
void env_ev_null(env_game_t *g);
void env_ev_agent(env_game_t *g, int agent); /* its id, as a value */
void env_ev_piece(env_game_t *g, int piece); /* its name, as a value */
void env_ev_keyq(env_game_t *g, const char *k, const char *q, size_t qn);
void env_ev_kstrq(env_game_t *g, const char *k, const char *q, size_t qn, const char *s);
void env_ev_kintq(env_game_t *g, const char *k, const char *q, size_t qn, long long v);
void env_ev_kboolq(env_game_t *g, const char *k, const char *q, size_t qn, bool v);
void env_ev_kagentq(env_game_t *g, const char *k, const char *q, size_t qn, int agent);
void env_ev_klitq(env_game_t *g, const char *k, const char *q, size_t qn, const char *lit,
                  const char *lq, size_t lqn);
void env_ev_kpieceq(env_game_t *g, const char *k, const char *q, size_t qn, int piece);
#define env_ev_key(g, k)       env_ev_keyq((g), ENV_EV_K(k))
#define env_ev_kstr(g, k, s)   env_ev_kstrq((g), ENV_EV_K(k), (s))
#define env_ev_kint(g, k, v)   env_ev_kintq((g), ENV_EV_K(k), (v))
#define env_ev_kbool(g, k, v)  env_ev_kboolq((g), ENV_EV_K(k), (v))
#define env_ev_kagent(g, k, a) env_ev_kagentq((g), ENV_EV_K(k), (a))
#define env_ev_kpiece(g, k, p) env_ev_kpieceq((g), ENV_EV_K(k), (p))
/* A literal value too (plain ASCII), copied quoted as it is. */
#define env_ev_klit(g, k, lit)                                                                     \
    env_ev_klitq((g), ENV_EV_K(k), (lit), "\"" lit "\"", sizeof("\"" lit "\"") - 1)
/* A key made at run time (k NUL-terminated, of kn bytes) with its integer. */
void env_ev_kintn(env_game_t *g, const char *k, size_t kn, long long v);
/* Quotes the names for a text sink (piece_q, agent_q); ENV_OK or ENV_ENOMEM. */
int env_ev_quote_names(env_game_t *g);

/* Hot text built by hand: snprintf's format parsing was a tenth of a 200-agent
 * game. env_append copies s after the at bytes of buf (cap bytes in all),
 * cut short and NUL-terminated as snprintf's output would be, and returns the
 * new length; env_append_int does the same for v in decimal ("%d"). */
static inline size_t env_append(char *buf, size_t cap, size_t at, const char *s)
{
    if (at + 1 >= cap) return at;
    size_t n = strlen(s);
    if (n > cap - 1 - at) n = cap - 1 - at;
    memcpy(buf + at, s, n);
    at += n;
    buf[at] = '\0';
    return at;
}

static inline size_t env_append_int(char *buf, size_t cap, size_t at, long long v)
{
    char b[24], *e = b + sizeof b, *q = e;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    *--q = '\0';
    do *--q = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0) *--q = '-';
    return env_append(buf, cap, at, q);
}

static inline bool env_bit_get(const uint64_t *b, int i)
{
    return (b[i >> 6] >> (i & 63)) & 1u;
}
static inline void env_bit_set(uint64_t *b, int i)
{
    b[i >> 6] |= (uint64_t)1 << (i & 63);
}

#endif
