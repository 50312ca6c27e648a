/* llm_http.h: HTTP POSTs to model APIs, driven by the agent's libevent loop.
 *
 * libcurl's multi interface with socket and timer callbacks (the shape of curl's
 * docs/examples/hiperfifo.c): nothing here blocks, so a model that takes two
 * minutes to answer never delays a heartbeat. Each call retries by itself on
 * 429, 5xx, connection errors and timeouts, with exponential backoff and jitter,
 * honouring Retry-After, within a bounded number of attempts and a time budget.
 * Part of parley-agent's `llm` policy (llm_policy.c). */
#ifndef PARLEY_LLM_HTTP_H
#define PARLEY_LLM_HTTP_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct llm_http llm_http_t;
typedef struct llm_http_call llm_http_call_t;

/* What to do with one complete HTTP response. */
typedef enum {
    LLM_HTTP_ACCEPT = 0, /* done: hand the response to the caller */
    LLM_HTTP_RETRY,      /* transient: try again after a backoff */
    LLM_HTTP_FAIL        /* permanent: give up now, with the reason */
} llm_http_verdict_t;

/* One POST. Every string is copied by llm_http_post(). */
typedef struct {
    const char *url;
    const char *const *headers; /* "Name: value"; may hold a key: never logged */
    size_t n_headers;
    const char *body;     /* request body (JSON) */
    double timeout_s;     /* one attempt, connect to last byte (<= 0: 300 s) */
    int max_attempts;     /* <= 0: 6 */
    double max_total_s;   /* the whole call, waits included (<= 0: 900 s) */
    double backoff_s;     /* first backoff (<= 0: 0.5 s); doubles each retry */
    double backoff_max_s; /* cap of one backoff (<= 0: 30 s) */
} llm_http_req_t;

/* The end of a call, valid only during the done callback; the callee may take
 * `body` (set it to NULL) to keep it. */
typedef struct {
    bool ok;          /* a response was accepted */
    long status;      /* last HTTP status (0: none received) */
    int attempts;     /* HTTP attempts made */
    double latency_s; /* whole call, waits included */
    char *body;       /* last response body (NUL-terminated), or NULL */
    size_t body_len;
    char error[256]; /* why the call failed ("" when ok) */
    /* What each attempt that was retried met, in order ("#1 HTTP 429: ...; #2
     * timeout: ..."), each cut to about 100 characters; "" when none was. */
    char retried[256];
} llm_http_result_t;

/* Judges a complete response; writes a reason into why for RETRY and FAIL.
 * NULL judge: 2xx accept; 408, 409, 429, 5xx retry; anything else fails. */
typedef llm_http_verdict_t (*llm_http_judge_fn)(void *arg, long status, const char *body,
                                                size_t len, char *why, size_t whylen);
typedef void (*llm_http_done_fn)(void *arg, llm_http_result_t *res);

/* A client on `base` (not owned). Returns NULL when out of memory or when
 * libcurl refuses to start. */
llm_http_t *llm_http_new(struct event_base *base);
/* Abandons every call in flight (no callbacks) and frees the client. NULL-safe. */
void llm_http_destroy(llm_http_t **h);

/* Starts a POST. done(arg, result) is called exactly once, from the event loop,
 * unless llm_http_cancel() comes first; the call handle is freed right after
 * done() returns. Returns the handle, or NULL (out of memory, bad request). */
llm_http_call_t *llm_http_post(llm_http_t *h, const llm_http_req_t *req, llm_http_judge_fn judge,
                               llm_http_done_fn done, void *arg);
/* Abandons a call in flight: done() is not called. NULL-safe; sets *c = NULL. */
void llm_http_cancel(llm_http_call_t **c);

/* Number of calls in flight (for tests and shutdown). */
int llm_http_active(const llm_http_t *h);

/* Parses a Retry-After value (delta-seconds or an HTTP date) into seconds from
 * now; -1 if it is neither. */
double llm_http_parse_retry_after(const char *value);

#endif
