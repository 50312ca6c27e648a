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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { LLM_OPENAI = 0, LLM_ANTHROPIC, LLM_PROVIDER_COUNT } llm_provider_t;

/* "openai" | "anthropic" -> provider, -1 if unknown (NULL -> openai). */
int llm_provider_from_name(const char *name);
const char *llm_provider_name(llm_provider_t p);
/* The default base URL of a provider ("https://api.openai.com/v1"). */
const char *llm_provider_default_url(llm_provider_t p);

/* Checks that a seat can run before anything starts: known provider, a model,
 * and a non-empty key in the environment variable the seat names (local servers
 * that need no key: leave api_key_env unset). Returns 0, or -1 with a sentence
 * in err that names the variable. Never writes the key anywhere. */
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
 * cacheable where the provider wants it said (Anthropic cache_control).
 * Returns 0, or -1 with a sentence in err. */
int llm_request_build(llm_provider_t p, const pl_seat_t *seat, const char *key, const char *system,
                      const char *user, bool cache_hint, llm_request_t *out, char *err,
                      size_t errlen);
void llm_request_clear(llm_request_t *r);

/* What a successful reply says. */
typedef struct {
    char *text;         /* the assistant's text (owned); thinking blocks left out */
    char model[128];    /* the model the server says it ran */
    int64_t tokens_in;  /* prompt tokens, cached ones included */
    int64_t tokens_out; /* completion tokens, reasoning included */
    int64_t tokens_reasoning;
    int64_t tokens_cached; /* prompt tokens read from the provider's cache */
    char stop_reason[32];
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
