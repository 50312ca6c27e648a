/* env.h: the zero-cost information-sharing game (../shared/GAME.md) as a pure
 * library. No sockets, no clocks, no files: the broker drives it over the network,
 * the tests and benchmarks drive it in-process, and both see the same rules.
 *
 * Conventions: agents and pieces are 0-based indices inside the library; agent i
 * is named "agent_<i+1>". Actions arrive as the agent wrote them (names, strings)
 * and are validated here. Every effect is reported as a JSON event to the sink
 * given at creation: as a jansson tree the sink takes ownership of, or as
 * text (env_game_new_text). Events are written once, as text, into one reused
 * buffer (env_jsonw.h); a tree sink gets that text parsed.
 */
#ifndef PARLEY_ENV_H
#define PARLEY_ENV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- errors -- */

/* One enum for every fallible call of the library and every action result.
 * Codes are stable: they travel on the wire and into events.jsonl. */
typedef enum {
    ENV_OK = 0,
    ENV_ENOMEM,              /* out of memory */
    ENV_EINVAL,              /* bad argument from the caller (a bug or bad config) */
    ENV_EUNKNOWN_RECIPIENT,  /* `to` names no agent */
    ENV_ESELF_RECIPIENT,     /* `to` names the acting agent itself */
    ENV_EEMPTY,              /* required text (content, answer) missing or empty */
    ENV_EUNKNOWN_PIECE,      /* a piece name matches no piece */
    ENV_EVALUES_MISMATCH,    /* `values` does not give exactly the listed pieces */
    ENV_EALREADY_SENT,       /* every listed piece was already sent to that recipient */
    ENV_ENOT_HELD,           /* the sender does not hold a listed piece */
    ENV_ENO_MATCHING_TASK,   /* the answer matches no active task (clean rules) */
    ENV_EMISSING_PIECES,     /* the submitter lacks a piece of the task */
    ENV_ENAME_NOT_IN_ANSWER, /* a piece name of the task is absent from the answer */
    ENV_EBAD_ACTION,         /* unknown action type or malformed fields */
    ENV_ESUPPRESSED,         /* auto-request arm: direct message not delivered */
    ENV_EGAME_OVER,          /* the game has ended */
    ENV_ENOT_YOUR_TURN,      /* broker: an action outside the seat's turn */
    ENV_ETIMEOUT,            /* broker: the turn's deadline passed */
    ENV_ECONFIG,             /* configuration refused (see the message) */
    ENV_EREPLY_TURN,         /* a reply turn may only answer (send_information) */
    ENV_ETOO_MANY_ACTIONS,   /* beyond communication.max_actions_per_turn */
    ENV_ERR_COUNT
} env_err_t;

/* Stable short name of a code ("unknown_recipient"), never NULL. */
const char *env_err_name(int err);
/* Human sentence for a code, never NULL. */
const char *env_strerror(int err);

/* ---------------------------------------------------------------- config -- */

typedef enum {
    ENV_TYPE_NEUTRAL = 0,
    ENV_TYPE_POLICY,
    ENV_TYPE_COMPETITIVE,
    ENV_TYPE_UNCOOPERATIVE,
    ENV_TYPE_COUNT
} env_type_t;

typedef enum {
    ENV_AUTO_NONE = 0,
    ENV_AUTO_FULFILL, /* named pieces are transferred by the system */
    ENV_AUTO_REQUEST, /* agents' DMs suppressed; the system asks every round */
    ENV_AUTO_COUNT
} env_automation_t;

#define ENV_MAX_AGENTS 100000
#define ENV_MAX_PIECES 1000000

/* Every number of GAME.md. env_config_paper() fills in the paper preset; the YAML
 * loader (common/pl_config) overrides fields key by key. Plain data: copy freely. */
typedef struct {
    uint64_t seed;
    int rounds;            /* simulation.rounds */
    int n_agents;          /* simulation.agents */
    int total_pieces;      /* information.total_pieces */
    int pieces_per_agent;  /* information.pieces_per_agent */
    int pieces_per_task;   /* tasks.pieces_per_task */
    int active_per_agent;  /* tasks.active_per_agent */
    int64_t task_reward;   /* revenue.task_completion */
    int64_t sharing_bonus; /* revenue.information_sharing */
    /* revenue.incorrect_value_penalty: the study's *rate*: each misreported piece
     * of a submitted task cuts the payout by it, compounding: x (1 - rate)^k. */
    double misreport_rate;

    /* transparency.show_full_revenue sets all five; each may be set alone. */
    bool show_revenue_board;  /* everyone's revenue, or only one's own */
    bool show_exchanges;      /* the last 10 transfers */
    bool show_public_notices; /* others' completions and penalties */
    bool show_receipt_notice; /* "X sent you ..." */
    bool show_thoughts;       /* one's own private-thoughts history */

    /* Rules where the original is odd: the preset keeps the original. */
    bool submit_fallback_first;  /* rules.submit_fallback_first_task: unmatched answer -> first task
                                  */
    bool tell_failed_submission; /* rules.tell_failed_submission */
    bool report_invalid_actions; /* rules.report_invalid_actions: shown next turn */
    bool truncate_history;       /* history.truncate: last 10/5/10/5 */

    env_automation_t automation;     /* automation */
    int type_counts[ENV_TYPE_COUNT]; /* agent types; neutral takes the rest */

    /* The study's own mechanics (docs/FIDELITY.md, "Rules"); the paper preset is the
     * original's behaviour, the other position a named switch. */
    bool instant_perfect_only;   /* rules.instant_fulfilment_exact_request: only a perfect
                                  * asker's "REQUEST: <name> for ..." to a perfect holder is
                                  * filled at once, by the engine; off: reactive seats get a
                                  * reply turn after any direct message */
    bool submit_exact_names;     /* rules.submit_exact_names: the names after "Combined
                                  * result of:" as an exact, case-sensitive set; off: any
                                  * piece names found anywhere in the answer, any case */
    bool automated_as_agents;    /* rules.automated_transfers_as_agents: automated transfers
                                  * move the holder's value as held and pay the sharing
                                  * bonus; off: the true value, no bonus */
    bool auto_request_once;      /* rules.auto_request_once: one ask per missing piece;
                                  * off: one per task that needs it */
    bool count_failed_sends;     /* rules.count_failed_sends: a listed piece counts as sent
                                  * to that recipient even when the send fails */
    bool request_form_only;      /* rules.answer_request_form_only: the perfect policy
                                  * answers only "REQUEST: <name> for ..." messages; off:
                                  * any direct message naming a piece it holds */
    int64_t first_bonus;         /* revenue.bonus_for_first: the round's first completion */
    int min_pieces_per_task;     /* tasks.min_pieces_per_task (0: = pieces_per_task, the max) */
    bool new_task_on_completion; /* tasks.new_task_on_completion */
    bool unique_distribution;    /* information.unique_distribution: every piece once */
    int max_actions_per_turn;    /* communication.max_actions_per_turn; <= 0: unlimited */
    /* information.info_templates / tasks.task_templates: "{n}" is the piece number,
     * "{info_pieces}" the task's names; 0 templates = the built-in ones. */
#define ENV_MAX_TEMPLATES 16
#define ENV_TEMPLATE_LEN  128
    int n_info_templates, n_task_templates;
    char info_templates[ENV_MAX_TEMPLATES][ENV_TEMPLATE_LEN];
    char task_templates[ENV_MAX_TEMPLATES][ENV_TEMPLATE_LEN];
} env_config_t;

/* Fills *c with the paper preset (GAME.md, every default). */
void env_config_paper(env_config_t *c);
/* Checks a configuration for impossible numbers. Returns ENV_OK, or ENV_ECONFIG
 * with a sentence in err (which names the offending key). */
int env_config_check(const env_config_t *c, char *err, size_t errlen);

/* ------------------------------------------------------------------ game -- */

typedef struct env_game env_game_t;

/* Receives each event; takes ownership (must json_decref). May be NULL. */
typedef void (*env_event_fn)(void *ctx, json_t *event);

/* Receives each event as one line of compact JSON (no newline), the bytes
 * json_dumps(event, JSON_COMPACT) gives for the tree the env_event_fn sink
 * receives; `type` is the event's type. Both are valid during the call only.
 * The cheap way to write events.jsonl: no tree is built. */
typedef void (*env_text_fn)(void *ctx, const char *type, const char *text, size_t len);

/* As env_game_new, with events delivered as text (see env_text_fn). */
env_game_t *env_game_new_text(const env_config_t *c, env_text_fn sink, void *sink_ctx, int *err);

/* A new game: the world is generated from c->seed. Returns NULL on a bad config
 * or out of memory (err, if not NULL, says which). The caller owns the game. */
env_game_t *env_game_new(const env_config_t *c, env_event_fn sink, void *sink_ctx, int *err);
void env_game_destroy(env_game_t **g);

const env_config_t *env_game_config(const env_game_t *g);
int env_game_n_agents(const env_game_t *g);
int env_game_n_pieces(const env_game_t *g);
const char *env_agent_id(const env_game_t *g, int agent); /* "agent_3" */
int env_agent_index(const env_game_t *g, const char *id); /* -1 if unknown */
env_type_t env_agent_type(const env_game_t *g, int agent);
const char *env_type_name(env_type_t t);  /* "neutral" ... */
int env_type_from_name(const char *name); /* -1 if unknown */
const char *env_automation_name(env_automation_t a);
int env_automation_from_name(const char *name); /* -1 if unknown */
const char *env_piece_name(const env_game_t *g, int piece);
int env_piece_value(const env_game_t *g, int piece);        /* true value */
int env_piece_index(const env_game_t *g, const char *name); /* exact, case-insensitive; -1 */

/* Reactive seats get a reply turn right after any turn that sent them a direct
 * message (sequential mode; the perfect agent of GAME.md is reactive). */
void env_set_reactive(env_game_t *g, int agent, bool reactive);
bool env_is_reactive(const env_game_t *g, int agent);

/* ---------------------------------------------------------------- rounds -- */

/* Starts the next round: freezes the directory, broadcasts and revenue board,
 * reshuffles the turn order. Returns ENV_EGAME_OVER after the last round. */
int env_round_begin(env_game_t *g);
/* 1-based number of the current round (0 before the first). */
int env_round(const env_game_t *g);
/* The round's turn order (agent indices), valid until the next round_begin. */
const int *env_round_order(const env_game_t *g, int *n);
/* Ends the round: auto-request messages (that arm), round summary event. */
int env_round_end(env_game_t *g);
bool env_game_over(const env_game_t *g);
/* Ends the game: emits the run_end event with the final board. Idempotent. */
void env_game_finish(env_game_t *g);
/* Replaces the rules of a game in progress (env_replay.c; parley fork applies
 * a change from a round on). Keys that shape the world (seed, agents, pieces,
 * tasks' sizes, agent types) must stay as they are. Returns ENV_OK, or
 * ENV_ECONFIG with a sentence naming the key in err. */
int env_game_reconfigure(env_game_t *g, const env_config_t *c, char *err, size_t errlen);

/* --------------------------------------------------------------- actions -- */

typedef enum {
    ENV_ACT_SEND_MESSAGE = 0,
    ENV_ACT_BROADCAST,
    ENV_ACT_SEND_INFORMATION,
    ENV_ACT_SUBMIT_TASK,
    ENV_ACT_COUNT
} env_act_kind_t;

const char *env_act_name(env_act_kind_t k); /* "send_message" ... */
int env_act_from_name(const char *name);    /* -1 if unknown */

/* One action as the agent wrote it. Strings are borrowed by env_apply. */
typedef struct {
    env_act_kind_t kind;
    const char *to;      /* send_message, send_information */
    const char *content; /* send_message, broadcast; submit_task: the answer */
    size_t n_info;       /* send_information: listed piece names */
    const char *const *info;
    size_t n_values; /* send_information: name -> value */
    const char *const *value_names;
    const int64_t *values;
} env_action_t;

typedef struct {
    int code;         /* ENV_OK or an env_err_t */
    char reason[200]; /* a sentence for the agent; empty when ok */
    int transferred;  /* send_information: pieces actually copied */
    int64_t payout;   /* submit_task: revenue paid */
} env_result_t;

typedef enum { ENV_TURN_NORMAL = 0, ENV_TURN_REPLY = 1 } env_turn_kind_t;

/* Applies one decision of `agent`, its actions in order (results[i] for
 * actions[i]); `thoughts` (may be NULL) is recorded. An empty list is a turn with
 * no actions. Afterwards env_take_replies() lists the reactive seats owed a reply
 * turn. Returns ENV_OK, or ENV_EGAME_OVER / ENV_EINVAL. */
int env_apply(env_game_t *g, int agent, env_turn_kind_t kind, const env_action_t *actions, size_t n,
              const char *thoughts, env_result_t *results);
/* Records that `agent` missed its turn (no decision before the deadline). */
void env_record_missed(env_game_t *g, int agent, const char *why);
/* Reactive seats owed a reply turn after the last env_apply (in the order their
 * first message arrived); fills out[], returns the count (<= cap). Clears the list. */
int env_take_replies(env_game_t *g, int *out, int cap);

/* ----------------------------------------------------------- observation -- */

typedef struct {
    int from, to; /* agent indices */
    int round;
    const char *content;
} env_msg_t;

typedef struct {
    int round;
    const char *text;
} env_note_t;

typedef struct {
    int from, to, n, round;
} env_exchange_t;

typedef struct {
    int piece, value; /* value as recorded in this inventory */
} env_holding_t;

typedef struct {
    int to, piece, value, round;
} env_sent_t;

typedef struct {
    int from, piece, value, round;
} env_received_t;

typedef struct {
    int holder, piece, count;
    bool fulfilled;
} env_request_t;

/* A request received: `from` asked this agent for `piece` (count times). */
typedef struct {
    int from, piece, count;
    bool answered; /* this agent has since sent that piece to `from` (copied or,
                    * if `from` already had it, skipped) */
    bool exact;    /* at least one of those messages was "REQUEST: <name> for ...",
                    * naming this piece exactly (env_request_piece) */
} env_ask_t;

typedef struct {
    int agent;
    int64_t revenue;
    int tasks_done;
} env_board_row_t;

typedef struct {
    const char *id; /* "task_12" */
    const char *description;
    int n_pieces;
    const int *pieces;
} env_task_view_t;

typedef struct {
    int action; /* index in the decision */
    int code;
    const char *reason;
} env_invalid_t;

/* What one agent sees at one turn: GAME.md "What an agent sees", as data. A view
 * into the game: every pointer is valid until the next call that changes the game
 * (apply, round_begin/end, another observe on the same game). Absent sections
 * (transparency off) have a count of 0 and the matching `has_` flag false. */
typedef struct {
    int agent;
    env_type_t type;
    env_turn_kind_t kind;
    int round, rounds;

    bool has_board; /* transparency: everyone's revenue */
    size_t n_board; /* shuffled; has_board false -> only one's own row */
    env_board_row_t *board;

    size_t n_tasks;
    env_task_view_t *tasks;
    size_t n_inventory;
    const env_holding_t *inventory;

    /* Directory at round start: pieces held by each agent, agent-major. */
    const uint32_t *dir_count;    /* [n_agents] */
    const int *const *dir_pieces; /* [n_agents][dir_count[a]], sorted */
    /* The same directory by piece: who held each piece at round start. */
    const uint32_t *holder_count; /* [n_pieces] */
    const int *const *holders;    /* [n_pieces][holder_count[p]], in id order */

    size_t n_msgs; /* direct messages, sent and received */
    const env_msg_t *const *msgs;
    size_t n_notes;
    const env_note_t *notes;
    size_t n_sent;
    const env_sent_t *sent;
    size_t n_received;
    const env_received_t *received;
    size_t n_requests;
    const env_request_t *requests;
    /* Requests received, as data (the messages say the same in words). A client
     * that cannot rebuild them leaves has_asks false; policies then read the
     * messages themselves. */
    bool has_asks;
    size_t n_asks;
    const env_ask_t *asks;
    /* rules.answer_request_form_only in force: the perfect policy answers
     * only exact asks (env_ask_t.exact), or, reading messages, only the piece
     * env_request_piece finds in them. */
    bool requests_exact;
    bool has_thoughts;
    size_t n_thoughts;
    const env_note_t *thoughts;
    size_t n_broadcasts; /* as of round start */
    const env_msg_t *broadcasts;
    bool has_exchanges;
    size_t n_exchanges; /* the last 10, live */
    const env_exchange_t *exchanges;
    size_t n_invalid; /* last turn's dropped actions (if reported) */
    const env_invalid_t *invalid;
    /* Where each window of a history that is only ever appended to, and whose
     * elements never change, starts in the whole history: msgs[k] is the
     * agent's message msgs_from + k (likewise notes, sent, received, thoughts,
     * broadcasts, exchanges). Observation deltas hash only elements they have
     * not seen (proto/wire_delta.h). */
    size_t msgs_from, notes_from, sent_from, received_from, thoughts_from, broadcasts_from,
        exchanges_from;
} env_obs_t;

/* Fills *o with agent's view now. Returns ENV_OK or ENV_EINVAL. */
int env_observe(env_game_t *g, int agent, env_turn_kind_t kind, env_obs_t *o);

/* The observation as a JSON object (for logs, web pages and tests). */
json_t *env_obs_to_json(const env_game_t *g, const env_obs_t *o);

/* ----------------------------------------------------------------- state -- */

int64_t env_agent_revenue(const env_game_t *g, int agent);      /* tasks + bonuses */
int64_t env_agent_task_revenue(const env_game_t *g, int agent); /* tasks only */
int env_agent_tasks_done(const env_game_t *g, int agent);
int env_tasks_done(const env_game_t *g);
int64_t env_task_revenue(const env_game_t *g);  /* group, sharing bonuses excluded */
int64_t env_group_revenue(const env_game_t *g); /* group, everything */
bool env_agent_holds(const env_game_t *g, int agent, int piece);
/* Active tasks of an agent: count, and the pieces of task k. */
int env_agent_n_tasks(const env_game_t *g, int agent);
const int *env_agent_task_pieces(const env_game_t *g, int agent, int k, int *n);
const char *env_agent_task_id(const env_game_t *g, int agent, int k);
/* Event counter (events emitted so far). */
uint64_t env_events_emitted(const env_game_t *g);

/* -------------------------------------------------------------- policies -- */

/* A decision being built: actions with owned strings. */
typedef struct env_decision env_decision_t;
env_decision_t *env_decision_new(void);
void env_decision_destroy(env_decision_t **d);
void env_decision_clear(env_decision_t *d);
int env_decision_message(env_decision_t *d, const char *to, const char *content);
int env_decision_broadcast(env_decision_t *d, const char *content);
/* One send_information of a single piece at `value`. */
int env_decision_send(env_decision_t *d, const char *to, const char *piece, int64_t value);
/* Several pieces at once: names[i] at values[i]. */
int env_decision_send_many(env_decision_t *d, const char *to, size_t n, const char *const *names,
                           const int64_t *values);
/* A send_information exactly as written: listed names and a separate name ->
 * value map, which need not agree (the environment judges them). */
int env_decision_send_raw(env_decision_t *d, const char *to, size_t n_info, const char *const *info,
                          size_t n_values, const char *const *value_names, const int64_t *values);
int env_decision_submit(env_decision_t *d, const char *answer);
int env_decision_thoughts(env_decision_t *d, const char *text);
size_t env_decision_count(const env_decision_t *d);
const env_action_t *env_decision_actions(const env_decision_t *d);
const char *env_decision_get_thoughts(const env_decision_t *d);

/* Scripted policies of DESIGN.md, over an observation plus the game's static
 * tables (names). `names` gives agent ids and piece names. */
typedef struct {
    int n_agents, n_pieces;
    const char *const *agent_ids;
    const char *const *piece_names;
} env_names_t;

typedef enum {
    ENV_POLICY_PERFECT = 0, /* GAME.md's perfect agent */
    ENV_POLICY_PASSIVE,     /* never acts */
    ENV_POLICY_SELFISH,     /* requests and submits, never shares */
    ENV_POLICY_HELPER,      /* shares when asked and submits, never requests */
    ENV_POLICY_RANDOM,      /* random valid-looking actions */
    ENV_POLICY_COUNT
} env_policy_t;

const char *env_policy_name(env_policy_t p);
int env_policy_from_name(const char *name); /* -1 if unknown */
/* Whether a policy wants reply turns (the perfect agent answers at once). */
bool env_policy_reactive(env_policy_t p);
/* Decides one turn into d (cleared first). `rng_state` is the random policy's
 * state (any value; updated). Returns ENV_OK or ENV_ENOMEM. */
int env_policy_decide(env_policy_t p, const env_names_t *names, const env_obs_t *o,
                      uint64_t *rng_state, env_decision_t *d);

/* Fills names from a game (pointers into the game; valid while it lives). */
void env_game_names(const env_game_t *g, env_names_t *names);

/* Pieces whose names appear in `text` (case-insensitive substring), each once,
 * in order of first appearance; fills out[] (up to cap) and returns how many.
 * This is GAME.md's "a direct message that names a piece". It relies on piece i
 * carrying its own number i+1 in its name, so it looks only at the numbers that
 * occur in the text: linear in the text, whatever the number of pieces. */
size_t env_find_pieces(const env_names_t *names, const char *text, int *out, size_t cap);
/* The piece a "REQUEST: <name> for ..." message asks for, as the study's code
 * reads it: the text after the first "REQUEST:" up to the first " for " (or the
 * end), trimmed, equal to a piece name case-sensitively. -1 when none. */
int env_request_piece(const env_names_t *names, const char *content);

/* Plays a whole sequential game in-process with one policy per seat
 * (policies[i] for agent i) and returns ENV_OK; the finished game is left in *g
 * for inspection. The perfect game is the ceiling of "% of optimal". */
int env_play(env_game_t *g, const env_policy_t *policies);
/* Task revenue of perfect play on c (automation forced off): the optimal ceiling. */
int64_t env_perfect_task_revenue(const env_config_t *c, int *tasks_out);

/* -------------------------------------------------------------- scenario -- */

/* Scenario interface: a second game plugs in beside this one by providing its
 * own ops table; the broker and CLI look scenarios up by name. */
typedef struct {
    const char *name;
    const char *summary;
    int (*check)(const env_config_t *c, char *err, size_t errlen);
    env_game_t *(*create)(const env_config_t *c, env_event_fn sink, void *ctx, int *err);
    void (*destroy)(env_game_t **g);
    int (*round_begin)(env_game_t *g);
    int (*round_end)(env_game_t *g);
    int (*observe)(env_game_t *g, int agent, env_turn_kind_t kind, env_obs_t *o);
    int (*apply)(env_game_t *g, int agent, env_turn_kind_t kind, const env_action_t *a, size_t n,
                 const char *thoughts, env_result_t *results);
    void (*finish)(env_game_t *g);
    int64_t (*ceiling)(const env_config_t *c, int *tasks_out);
} env_scenario_t;

/* The scenario registered under `name` ("infoshare"), or NULL. */
const env_scenario_t *env_scenario_find(const char *name);

#endif
