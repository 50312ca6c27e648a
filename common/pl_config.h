/* pl_config.h: one experiment's configuration, read from a YAML file.
 *
 * The game's rules go into env_config_t (environment/env.h); everything about
 * how the game is run (timing mode, deadlines, which program sits at each seat,
 * model endpoints, prices) goes beside it here. The broker, `parley run` and the
 * agents all read the same file through this module, so a key means one thing.
 *
 * Keys (every one optional; defaults are the paper preset):
 *   scenario: infoshare
 *   seed: 1
 *   simulation: {rounds, agents}
 *   simulation: {report_frequency, fail_fast_on_agent_error} (the study's; only 0/false)
 *   information: {total_pieces, pieces_per_agent, unique_distribution, info_templates}
 *   tasks: {pieces_per_task (= max_pieces_per_task), min_pieces_per_task, active_per_agent,
 *           new_task_on_completion, task_templates}
 *   revenue: {task_completion, information_sharing, incorrect_value_penalty (a rate),
 *             bonus_for_first}
 *   communication: {max_actions_per_turn}
 *   transparency: {show_full_revenue, revenue_board, exchanges, public_notices,
 *                  receipt_notice, thoughts}
 *   rules: {submit_fallback_first_task, tell_failed_submission, report_invalid_actions,
 *           instant_fulfilment_exact_request, submit_exact_names,
 *           automated_transfers_as_agents, auto_request_once, count_failed_sends,
 *           answer_request_form_only}
 *   history: {truncate}
 *   automation: none | auto_fulfill | auto_request
 *   agent_types: {neutral: n, policy: n, competitive: n, uncooperative: n}
 *   timing: {mode: sequential|simultaneous|realtime, turn_timeout, human_turn_timeout,
 *            duration, min_think, heartbeat}
 *   seats: a list of groups, assigned to agent_1.. in order:
 *     - {policy: perfect|passive|selfish|helper|random|llm|human, count: n,
 *        provider, model, base_url, api_key_env, temperature, max_tokens,
 *        reasoning_effort, timeout, headers: {name: value}, prompt_layout, prompt,
 *        reply_format, json_mode (old spelling of reply_format: json_object), label}
 *   prices: {<model>: {input: usd_per_mtok, output: usd_per_mtok, cached_input: ...}}
 *   blind: false
 *   llm: {prompt: paper|clear|cache|FILE}
 *   agents: {mode: standard|mixed}
 *
 * Semantics worth knowing (examples/paper.yaml spells out every key):
 * - transparency.show_full_revenue sets all five parts; a part key written in the
 *   same file wins over it wherever it stands.
 * - seats omitted: the first half of simulation.agents (rounded up) is perfect, the
 *   rest selfish. Seats written: the group counts (default 1) must add up to
 *   simulation.agents. llm seats need a model; provider defaults to openai, and
 *   base_url to the provider's; api_key_env to the provider's variable only while
 *   base_url is the vendor's own host (pl_seat_key_env); temperature -1 and max_tokens
 *   0 mean "not sent" (anthropic: max_tokens 0 means PL_ANTHROPIC_MAX_TOKENS, the
 *   study's); timeout 120 s; prompt_layout paper; reply_format text. Provider settings
 *   are checked at load time against what the provider accepts (temperature range,
 *   reasoning_effort names, max_tokens above the thinking budget), so that nothing is
 *   changed or dropped at send time.
 * - agent_types counts go into game.type_counts (neutral takes the rest).
 * - prices: cached_input defaults to input.
 * - llm.prompt and a seat's prompt name a built-in template (a bare word) or a
 *   FILE; a relative FILE is taken from the configuration file's directory
 *   and stored as an absolute path. A seat's prompt wins over llm.prompt,
 *   which wins over prompt_layout.
 * - YAML anchors and aliases are refused, as is a second document in one file.
 * - A file in the study's own format is read by pl_config_load_any()
 *   (pl_config_orig.h), not here.
 *
 * A bad file is refused with "FILE:LINE: what is wrong" (the line of the key, or
 * for a rule that spans keys, of the key env_config_check() names).
 */
#ifndef PARLEY_PL_CONFIG_H
#define PARLEY_PL_CONFIG_H

#include "env.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum { PL_TIMING_SEQUENTIAL = 0, PL_TIMING_SIMULTANEOUS, PL_TIMING_REALTIME } pl_timing_t;

const char *pl_timing_name(pl_timing_t t);
int pl_timing_from_name(const char *name); /* -1 if unknown */

typedef struct {
    char *name;
    char *value;
} pl_header_t;

/* One seat: who plays it. Strings are owned by the pl_config_t. */
typedef struct {
    char *policy;           /* "perfect", "llm", "human", ... */
    char *provider;         /* llm: "openai" | "anthropic" */
    char *model;            /* llm: model name sent to the API */
    char *base_url;         /* llm: e.g. https://api.openai.com/v1 */
    char *api_key_env;      /* llm: name of the environment variable with the key */
    double temperature;     /* llm: < 0 means "not sent" */
    int max_tokens;         /* llm: 0 means provider default */
    char *reasoning_effort; /* llm: NULL means "not sent" */
    double timeout;         /* llm: seconds per HTTP attempt */
    size_t n_headers;
    pl_header_t *headers; /* llm: extra HTTP headers */
    char *prompt_layout;  /* llm: "paper" | "cache" */
    char *prompt;         /* llm: a built-in template or a template FILE (wins over llm.prompt) */
    bool json_mode;       /* llm: old spelling of reply_format: json_object */
    char *reply_format;   /* llm: "text" | "json_object" | "json_schema" | "tools" */
    char *label;          /* free text shown in reports (e.g. "gpt-4o") */
    /* Timing, enforced by the broker for every client (docs/TIMING.md). */
    double deadline;       /* seconds per turn; 0: timing.turn_timeout (human_turn_timeout) */
    double bank;           /* seconds of time bank (overage) for the whole game */
    double latency;        /* injected latency: seconds, or the mean of latency_dist */
    char *latency_dist;    /* "fixed" (NULL) | "uniform" (0 to 2*latency) | "exponential" */
    double min_think;      /* least seconds a turn takes; < 0: timing.min_think */
    char *realtime_policy; /* llm, realtime: "decide_now" | "wait" (NULL) | "redecide" */
    /* A human seat in `parley session`: the built-in policy that plays it once its
     * person has left or never came (NULL: the session's --fallback). An llm
     * fallback takes this seat's model, provider and request keys. */
    char *fallback;
} pl_seat_t;

typedef struct {
    char *model;
    double input, output, cached_input; /* USD per million tokens */
} pl_price_t;

typedef struct {
    char *path;     /* the file it came from (NULL for built-in) */
    char *scenario; /* "infoshare" */
    env_config_t game;
    pl_timing_t timing;
    double turn_timeout; /* seconds an agent has for one turn */
    double human_turn_timeout;
    double duration;  /* realtime: seconds of play */
    double min_think; /* least seconds a turn takes; < 0: the mode's default (pl_seat_min_think) */
    double heartbeat; /* seconds between heartbeats */
    /* security.*: agent connections that have not joined a seat, at most at
     * once and how long each may wait (broker/brk_peers.h, docs/SECURITY.md). */
    int max_unjoined;
    double join_timeout;
    bool blind;       /* seats shown under neutral labels */
    bool fail_fast;   /* simulation.fail_fast_on_agent_error: a failed model call ends the game */
    int n_seats;      /* == game.n_agents */
    pl_seat_t *seats; /* [n_seats] */
    size_t n_prices;
    pl_price_t *prices;
    char *llm_prompt;      /* llm.prompt: every llm seat's template (built-in name or FILE) */
    char *llm_cache_hints; /* llm.cache_hints: "on" (NULL) | "off" (docs/LLM.md) */
    char *agents_mode;     /* agents.mode: "standard" (NULL) | "mixed" (the REQUEST prompt) */
    /* session.*: read by `parley session` only (docs/HUMANS.md); its flags win. */
    int session_max_missed;       /* missed turns that mean the person left (0: never) */
    double session_dropout_after; /* seconds of a silent game page that mean the same */
    double session_lobby_timeout; /* seconds the lobby waits before fallback seats (0: ever) */
} pl_config_t;

/* The minimum think time of seat i: its own min_think, else timing.min_think,
 * else the mode's default (0, and 0.25 s in realtime: a floor on the rate). */
double pl_seat_min_think(const pl_config_t *c, int i);
/* The turn deadline of seat i (its own, else the human or the general one). */
double pl_seat_deadline(const pl_config_t *c, int i, bool human);

/* Whether agents.mode is "mixed". */
bool pl_config_mixed(const pl_config_t *c);

/* The built-in default: the paper preset with 5 perfect and 5 selfish seats.
 * Returns NULL only when out of memory. */
pl_config_t *pl_config_default(void);

/* Reads a YAML file. On error returns NULL and writes "FILE:LINE: message" into err. */
pl_config_t *pl_config_load(const char *path, char *err, size_t errlen);
/* Same from text in memory; `name` is used in messages. */
pl_config_t *pl_config_parse(const char *text, size_t len, const char *name, char *err,
                             size_t errlen);
/* Applies one override "key.path=value" (as `parley sweep` and `--set` do),
 * e.g. "simulation.rounds=5", "seed=3", "seats.0.model=gpt-4o". Seats are numbered
 * from 0 or named agent_1..; "prices.gpt-4.1.input=2" and "agent_types.policy=3"
 * work too. The value is YAML, so a whole list may be given: "seats=[{policy: helper,
 * count: 10}]". The whole configuration is checked afterwards; on error c is left
 * unchanged and err reads "ASSIGNMENT: message". When simulation.agents changes,
 * the default seat split is redrawn and a list of identical seats is resized; other
 * seat lists must be rewritten. Returns 0, or ENV_ECONFIG / ENV_EINVAL / ENV_ENOMEM. */
int pl_config_set(pl_config_t *c, const char *assignment, char *err, size_t errlen);
/* The whole configuration as JSON with the same keys the loader reads (JSON is
 * YAML, so a resolved config written this way loads back unchanged). */
json_t *pl_config_to_json(const pl_config_t *c);
/* A deep copy, or NULL. */
pl_config_t *pl_config_dup(const pl_config_t *c);
void pl_config_destroy(pl_config_t **c);

/* Anthropic's max_tokens when the seat gives none: the study's calls used 1000. */
#define PL_ANTHROPIC_MAX_TOKENS 1000

/* The thinking budget an anthropic seat's reasoning_effort asks for: low 1024,
 * medium 4096, high 16384, or a whole number >= 1024 as it is; 0 when the seat
 * gives none, -1 when the value is none of these. */
int pl_seat_thinking_budget(const pl_seat_t *s);

/* The name of the variable whose key an llm seat sends: api_key_env when given;
 * otherwise the provider's own (OPENAI_API_KEY, ANTHROPIC_API_KEY) only when
 * base_url is unset or on the vendor's host, so that a vendor key never goes to
 * another server by default. NULL: no key is sent. */
const char *pl_seat_key_env(const pl_seat_t *s);

/* Price for a model, or NULL. */
const pl_price_t *pl_config_price(const pl_config_t *c, const char *model);

#endif
