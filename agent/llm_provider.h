/* llm_provider.h: the two wire formats a seat can speak.
 *
 * `openai`: POST {base_url}/chat/completions (OpenAI, and through a base URL
 * OpenRouter, vLLM, Ollama, llama.cpp, LM Studio, Together, DeepInfra...).
 * `anthropic`: POST {base_url}/messages (the Messages API).
 * This module only builds request bodies and reads response bodies; llm_http
 * moves them. The key goes into a header, never into the body, so the body can
 * be recorded in transcripts as it is. */
#ifndef PARLEY_LLM_PROVIDER_H
#define PARLEY_LLM_PROVIDER_H

#include "pl_config.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { LLM_OPENAI = 0, LLM_ANTHROPIC, LLM_PROVIDER_COUNT } llm_provider_t;

/* "openai" | "anthropic" -> provider, -1 if unknown (NULL -> openai). */
int llm_provider_from_name(const char *name);
const char *llm_provider_name(llm_provider_t p);
/* The default base URL of a provider ("https://api.openai.com/v1"). */
const char *llm_provider_default_url(llm_provider_t p);

/* How a seat asks for its decision (seat key reply_format).
 * text: the prompt asks for JSON, nothing else is sent (the study's way).
 * json_object: OpenAI response_format {"type": "json_object"} (not for anthropic).
 * json_schema: the decision's JSON schema; OpenAI response_format json_schema
 *   (strict), Anthropic a forced tool "decision" whose input is the decision.
 * tools: each action a tool (function), tool_choice auto; the reply's tool calls
 *   are its actions, its text the private thoughts. */
typedef enum {
    LLM_REPLY_TEXT = 0,
    LLM_REPLY_JSON_OBJECT,
    LLM_REPLY_JSON_SCHEMA,
    LLM_REPLY_TOOLS,
    LLM_REPLY_FORMAT_COUNT
} llm_reply_format_t;

/* "text" | "json_object" | "json_schema" | "tools" -> format; NULL or "" ->
 * text; -1 if unknown. */
int llm_reply_format_from_name(const char *name);
const char *llm_reply_format_name(llm_reply_format_t f);

/* The decision's JSON schema (strict-mode shape: `values` is a list of
 * {piece, value}); caller decrefs. NULL when out of memory. */
json_t *llm_decision_schema(void);

/* Checks that a seat can run before anything starts: known provider, a model,
 * a known reply_format, and a non-empty key in the variable pl_seat_key_env()
 * names (local servers that need no key: leave api_key_env unset and point
 * base_url at them). Returns 0, or -1 with a sentence in err that names the
 * variable. Never writes the key anywhere. */
int llm_check_seat(const pl_seat_t *seat, char *err, size_t errlen);

/* One request, ready for llm_http_post(). */
typedef struct {
    char *url;
    char **headers; /* "Name: value"; one of them holds the key */
    size_t n_headers;
    char *body; /* JSON; holds no key */
} llm_request_t;

/* Builds the request of one turn: `system` (may be NULL) and `user` texts.
 * `key` may be NULL (no auth header). `cache_hint` marks the system prompt as
 * cacheable where the provider wants it said (Anthropic cache_control); with
 * it false the body is what it was before cache hints existed.
 * Every setting goes out as written: a combination the provider would refuse
 * (max_tokens not above the thinking budget, temperature with thinking) is
 * refused here as pl_config refuses it at load time, never adjusted.
 * Returns 0, or -1 with a sentence in err. */
int llm_request_build(llm_provider_t p, const pl_seat_t *seat, const char *key, const char *system,
                      const char *user, bool cache_hint, llm_request_t *out, char *err,
                      size_t errlen);

/* Where a request tells the provider what to cache (llm.cache_hints).
 * Anthropic: `cache_control: {"type": "ephemeral"}` on the system block
 * (system_mark) and on the last message (last_mark; every message is then sent
 * as a text block, so the marks are two of the four breakpoints Anthropic
 * allows). OpenAI: `prompt_cache_key` (cache_key, NULL: not sent), which
 * routes requests with one prefix to one cache. */
typedef struct {
    bool system_mark, last_mark;
    const char *cache_key;
} llm_cache_hints_t;

/* As llm_request_build, with a whole conversation after the system part:
 * `turns` is [{role: "user" | "assistant", content: text}], in order.
 * `hints` may be NULL (none). */
int llm_request_build_turns(llm_provider_t p, const pl_seat_t *seat, const char *key,
                            const char *system, const json_t *turns, const llm_cache_hints_t *hints,
                            llm_request_t *out, char *err, size_t errlen);
void llm_request_clear(llm_request_t *r);

/* What a successful reply says. */
typedef struct {
    char *text;         /* the assistant's text (owned); thinking blocks left out */
    char model[128];    /* the model the server says it ran */
    int64_t tokens_in;  /* prompt tokens, cached ones included */
    int64_t tokens_out; /* completion tokens, reasoning included */
    int64_t tokens_reasoning;
    int64_t tokens_cached; /* prompt tokens read from the provider's cache */
    /* end | max_tokens | refusal | tool_use | content_filter | stop_sequence |
     * other ("" when the server gave none) */
    char stop_reason[32];
    char finish_reason[64]; /* the server's own word */
    char fingerprint[128];  /* OpenAI system_fingerprint */
    char refusal[512];      /* the refusal text (OpenAI message.refusal, or the text of
                               an Anthropic stop_reason refusal) */
    char *tool_decision;    /* owned: the decision the tool calls make, as JSON text
                               ({"actions": [...], "private_thoughts": text}); NULL when
                               the reply made no tool call */
    int tool_calls;         /* tool calls in the reply */
    int thinking_blocks;    /* thinking / redacted_thinking blocks, reasoning_content */
} llm_reply_t;

/* Reads a 2xx body. Returns 0, or -1 with why (malformed, no choices...). */
int llm_reply_parse(llm_provider_t p, const char *body, size_t len, llm_reply_t *out, char *why,
                    size_t whylen);
void llm_reply_clear(llm_reply_t *r);

/* The provider's own words from an error body ("authentication_error: invalid
 * x-api-key"), whatever its shape; falls back to the start of the body. */
void llm_error_message(const char *body, size_t len, char *out, size_t outlen);

/* Cost of a call in USD from a price (NULL -> 0). */
double llm_cost(const pl_price_t *price, int64_t in, int64_t cached, int64_t out);

#endif
