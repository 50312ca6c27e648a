/* agt_policy.h: how a seat decides. parley-agent owns the connection and the
 * event loop; a policy only turns an observation into a decision, now or later.
 *
 * Implementations: the scripted ones of environment/ (perfect, passive, selfish,
 * helper, random) in agt_scripted.c, `llm` (agent/llm_*.c), `human` (terminal).
 * A policy that answers later (an HTTP call, a person typing) must keep the event
 * loop free: no blocking calls. */
#ifndef PARLEY_AGT_POLICY_H
#define PARLEY_AGT_POLICY_H

#include "env.h"
#include "pl_config.h"

#include <event2/event.h>
#include <stdint.h>

/* What a policy may look at besides the observation: fixed for the game. */
typedef struct {
    struct event_base *base;   /* the agent's one event loop */
    int agent;                 /* own index */
    const env_config_t *rules; /* the game's rules as the broker sent them */
    env_type_t type;           /* own agent type (goal paragraph) */
    const env_names_t *names;  /* agent ids and piece names */
    const pl_seat_t *seat;     /* the seat's settings (model, provider...) */
    const pl_config_t *config; /* the whole configuration if known, else NULL */
    const char *timing;        /* "sequential" | "simultaneous" | "realtime" */
    /* Set by a policy for the turn it renders (llm_model.c), else 0/NULL: */
    double time_left_s;         /* seconds left for this turn; 0: not shown */
    const char *const *arrived; /* realtime: what arrived since the last decision */
    size_t n_arrived;
} agt_context_t;

/* One model call's record, mirrored on the wire as ModelCall. */
typedef struct {
    char provider[32];
    char model_requested[128];
    char model_reported[128];
    int http_status;
    int attempts;
    double latency_s;
    int64_t tokens_in, tokens_out, tokens_reasoning, tokens_cached;
    double cost_usd;
    char error[256];
    char *request_body;     /* owned; keys never in it */
    char *response_body;    /* owned */
    double prefix_share;    /* share of the prompt unchanged from the last turn */
    char stop_reason[32];   /* end, max_tokens, refusal, tool_use, content_filter, other */
    char finish_reason[64]; /* the server's own word for it */
    char system_fingerprint[128];
    char refusal[512];     /* the refusal text, when the model refused */
    char reply_format[16]; /* what was asked: text, json_object, json_schema, tools */
    int tool_calls;        /* tool calls in the reply */
    int thinking_blocks;   /* thinking / reasoning blocks in the reply */
} agt_call_t;

typedef struct {
    char *raw;    /* owned */
    char *reason; /* owned */
} agt_dropped_t;

/* The outcome of one decide(): actions plus everything worth recording. */
typedef struct {
    env_decision_t *decision; /* owned; actions and private thoughts */
    size_t n_calls;
    agt_call_t *calls; /* owned */
    size_t n_dropped;
    agt_dropped_t *dropped; /* owned */
    char empty_reason[256]; /* why there are no actions, when known */
} agt_outcome_t;

agt_outcome_t *agt_outcome_new(void);
void agt_outcome_destroy(agt_outcome_t **o);
/* Appends a dropped action (copies both strings). Returns 0 or ENV_ENOMEM. */
int agt_outcome_drop(agt_outcome_t *o, const char *raw, const char *reason);
/* Appends a call record (takes ownership of its bodies). Returns 0 or ENV_ENOMEM. */
int agt_outcome_add_call(agt_outcome_t *o, agt_call_t *call);

/* Called once per decide(), now or later, with the outcome (ownership passes to
 * the callee). `turn_id` is the one given to decide(). */
typedef void (*agt_decided_fn)(void *arg, uint64_t turn_id, agt_outcome_t *outcome);

typedef struct {
    const char *name;
    /* Creates the policy's state for a seat. Returns 0 or an env_err_t; on
     * failure writes a sentence into err. */
    int (*create)(void **self, const agt_context_t *ctx, char *err, size_t errlen);
    /* Starts deciding one turn. The observation is valid only during this call:
     * copy what you keep. Calls done(arg, turn_id, outcome) exactly once unless
     * cancel() comes first. Returns 0 or an env_err_t. */
    int (*decide)(void *self, uint64_t turn_id, const env_obs_t *obs, double deadline_s,
                  agt_decided_fn done, void *arg);
    /* Abandons the turn in progress (deadline passed, shutdown); done() is not
     * called for it afterwards. */
    void (*cancel)(void *self);
    /* Realtime mode: something changed (may be NULL). */
    void (*notice)(void *self, const char *what, const char *text);
    void (*destroy)(void *self);
    /* The broker's answer to action `action` (0-based) of the last decision
     * (may be NULL: a policy that does not care). */
    void (*result)(void *self, size_t action, bool ok, const char *code, const char *reason,
                   int transferred, int64_t payout);
} agt_policy_ops_t;

/* The ops registered under `name`, or NULL. */
const agt_policy_ops_t *agt_policy_find(const char *name);

/* Adds ops that live outside the core library: parley-agent-llm registers the
 * llm policy, so that scripted and human seats (parley-agent) never load the
 * llm stack (libcurl and its TLS, crypto and Kerberos libraries). One extra at
 * most; a second call replaces it. */
void agt_policy_register(const agt_policy_ops_t *ops);

#endif
