/* fake_llm.c: parley-fake-llm, a model endpoint for tests and benchmarks.
 *
 * Speaks the OpenAI chat-completions (POST .../chat/completions) and Anthropic
 * Messages (POST .../messages) wire formats: status codes, headers
 * (content-type, retry-after, request ids, rate-limit headers) and bodies,
 * error bodies in each provider's own shape. Listens on 127.0.0.1, on an
 * ephemeral port unless told, and prints "listening 127.0.0.1:PORT" on stdout.
 *
 * Each request consumes one step of a script (command line --step, or --script
 * FILE, one step a line); when the script is empty it plays the game: it reads
 * the prompt (llm_prompt.c's line formats; fake_play.c) and answers like GAME.md's perfect
 * agent: request missing pieces from their holders, answer requests, submit
 * complete tasks. Steps:
 *   ok | play        a played reply
 *   reply:TEXT       a reply whose assistant text is TEXT (\n for newlines)
 *   429[:S]          rate limited, Retry-After: S seconds (default 1)
 *   429date:S        rate limited, Retry-After as an HTTP date S seconds ahead
 *   500 | 503 | 529  server errors (529: Anthropic's overloaded_error)
 *   400 | 401 | 403 | 404   client errors
 *   slow:S           wait S seconds, then a played reply
 *   malformed        200 with a body that is not JSON
 *   truncated        200 whose body stops short of its Content-Length
 *   close            close the connection without a reply
 *   refusal          a refusal (OpenAI message.refusal; Anthropic stop_reason refusal)
 *   length           a played reply cut in the middle, stopped at max_tokens
 *   notool           a played reply as text, even when the request offers tools
 *   stop:WORD        a reply with no text whose finish_reason / stop_reason is WORD
 * A request that offers tools gets its played actions as tool calls (one per
 * action; Anthropic's forced "decision" tool gets the whole decision as its
 * input); a request with a json_schema response_format gets bare JSON. Replies
 * report the model, a system fingerprint (OpenAI), and reasoning tokens (OpenAI
 * completion_tokens_details, Anthropic output_tokens_details.thinking_tokens).
 * Tokens are counted as 4 bytes of prompt text each. A model of the providers'
 * prompt caches: the longest byte prefix a request shares with any of the last
 * 256 prompts the fake served is its cached part; OpenAI reports it as
 * prompt_tokens_details.cached_tokens (automatic: from 1,024 tokens, in steps of
 * 128); Anthropic only for a request that carries cache_control, as
 * cache_read_input_tokens (from 1,024 tokens), the rest of such a request as
 * cache_creation_input_tokens.
 * Options: --port N, --host ADDR (default 127.0.0.1; a container's endpoint
 * listens on 0.0.0.0), --key KEY (or PARLEY_FAKE_LLM_KEY in the environment,
 * which keeps a container's key off its command line) (401 unless the request carries it), --delay
 * S (every reply waits S seconds), --step STEP (repeatable), --script FILE,
 * --close (Connection: close on every reply, so that a fault always meets a
 * fresh connection: libcurl silently retries a reused one that dies).
 * GET /stats answers {"requests": n, "keyed": n}: keyed counts the requests that
 * carried an Authorization or x-api-key header at all. */
/* Names and lines are cut to fixed buffers on purpose: a test tool. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include "fake_play.h"
#include "pl_meta.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_STEPS 1024

typedef struct {
    struct event_base *base;
    char *steps[MAX_STEPS];
    int n_steps, next_step;
    const char *key;
    double delay;
    long requests;
    long keyed;              /* requests with an auth header */
    struct pending *pending; /* replies still waiting on a timer */
    char *seen[256];         /* the last prompts served, for the cache model */
    int next_seen;
} fake_t;

typedef struct pending {
    struct pending *next, **prevp; /* in f->pending, while a timer holds it */
    fake_t *f;
    struct evhttp_request *req;
    bool anthropic;
    char *text; /* assistant text to send */
    char *model;
    json_t *decision; /* the played decision, for tool calls */
    int tools;        /* 0: text reply; 1: one tool call per action; 2: forced "decision" */
    bool refusal, cut;
    char stop[32]; /* stop:WORD */
    int prompt_chars;
    int cached_chars; /* shared with an earlier prompt (the cache model) */
    bool marked;      /* the request carries cache_control */
    struct event *ev;
    int fd;
} pending_t;

/* ------------------------------------------------------------ replies -- */

static bool s_close_each;

static void s_headers(struct evhttp_request *req, bool anthropic)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (s_close_each) evhttp_add_header(h, "Connection", "close");
    evhttp_add_header(h, "Content-Type", "application/json");
    if (anthropic) {
        evhttp_add_header(h, "request-id", "req_fake0001");
        evhttp_add_header(h, "anthropic-ratelimit-requests-remaining", "999");
    } else {
        evhttp_add_header(h, "x-request-id", "req_fake0001");
        evhttp_add_header(h, "openai-processing-ms", "1");
        evhttp_add_header(h, "x-ratelimit-remaining-requests", "999");
    }
}

static void s_send_json(struct evhttp_request *req, int code, const char *reason, json_t *body)
{
    struct evbuffer *b = evbuffer_new();
    char *s = json_dumps(body, JSON_COMPACT);
    if (b && s) evbuffer_add(b, s, strlen(s));
    evhttp_send_reply(req, code, reason, b);
    free(s);
    if (b) evbuffer_free(b);
    json_decref(body);
}

static void s_error(struct evhttp_request *req, bool anthropic, int code, const char *reason,
                    const char *type, const char *oa_code, const char *msg)
{
    s_headers(req, anthropic);
    json_t *body;
    if (anthropic)
        body = json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type", type, "message",
                         msg);
    else
        body = json_pack("{s:{s:s, s:s, s:n, s:s?}}", "error", "message", msg, "type", type,
                         "param", "code", oa_code);
    s_send_json(req, code, reason, body);
}

/* An action's kind, keyed `type` (clear) or `action` (paper). */
static const char *s_kind(json_t *action)
{
    const char *k = json_string_value(json_object_get(action, "type"));
    return k ? k : json_string_value(json_object_get(action, "action"));
}

/* An action as tool-call arguments: no kind key, `values` as [{piece, value}]. */
static json_t *s_tool_args(json_t *action)
{
    json_t *a = json_deep_copy(action);
    json_object_del(a, "type");
    json_object_del(a, "action");
    json_t *vals = json_object_get(a, "values");
    if (json_is_object(vals)) {
        json_t *list = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(vals, k, v)
            json_array_append_new(list, json_pack("{s:s, s:O}", "piece", k, "value", v));
        json_object_set_new(a, "values", list);
    }
    return a;
}

static void s_ok(pending_t *p)
{
    struct evhttp_request *req = p->req;
    s_headers(req, p->anthropic);
    int in = p->prompt_chars / 4 + 1, out = (int)strlen(p->text) / 4 + 1;
    int hit = p->cached_chars / 4, read = 0, made = 0;
    if (!p->anthropic && hit >= 1024) read = hit - hit % 128;
    if (p->anthropic && p->marked) {
        read = hit >= 1024 ? hit : 0;
        made = in >= 1024 ? in - read : 0;
    }
    int reasoning = out / 2 + 1;
    char model[200];
    snprintf(model, sizeof model, "%s-fake-0001", p->model ? p->model : "model");
    json_t *actions = json_object_get(p->decision, "actions");
    const char *thoughts = json_string_value(json_object_get(p->decision, "private_thoughts"));
    json_t *body;
    if (p->anthropic) {
        json_t *content = json_pack("[{s:s, s:s, s:s}]", "type", "thinking", "thinking",
                                    "I should reply with JSON.", "signature", "fake");
        const char *stop = p->refusal ? "refusal" : p->cut ? "max_tokens" : "end_turn";
        if (p->stop[0]) stop = p->stop;
        if (p->tools == 2) {
            json_array_append_new(content, json_pack("{s:s, s:s, s:s, s:O}", "type", "tool_use",
                                                     "id", "toolu_fake0", "name", "decision",
                                                     "input", p->decision));
            stop = "tool_use";
        } else if (p->tools == 1) {
            json_array_append_new(
                content, json_pack("{s:s, s:s}", "type", "text", "text", thoughts ? thoughts : ""));
            size_t i;
            json_t *a;
            json_array_foreach(actions, i, a)
            {
                char id[32];
                snprintf(id, sizeof id, "toolu_fake%zu", i);
                json_array_append_new(content,
                                      json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id",
                                                id, "name", s_kind(a), "input", s_tool_args(a)));
            }
            if (json_array_size(actions)) stop = "tool_use";
        } else {
            json_array_append_new(content,
                                  json_pack("{s:s, s:s}", "type", "text", "text",
                                            p->refusal ? "I can't help with that." : p->text));
        }
        body = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:n, "
                         "s:{s:i, s:i, s:i, s:i, s:{s:i}}}",
                         "id", "msg_fake0001", "type", "message", "role", "assistant", "model",
                         model, "content", content, "stop_reason", stop, "stop_sequence", "usage",
                         "input_tokens", in - read - made, "output_tokens", out,
                         "cache_creation_input_tokens", made, "cache_read_input_tokens", read,
                         "output_tokens_details", "thinking_tokens", reasoning);
    } else {
        json_t *msg = json_pack("{s:s}", "role", "assistant");
        const char *finish = p->stop[0] ? p->stop : p->cut ? "length" : "stop";
        if (p->refusal) {
            json_object_set_new(msg, "content", json_null());
            json_object_set_new(msg, "refusal", json_string("I'm sorry, I can't help with that."));
        } else if (p->tools) {
            json_object_set_new(msg, "content", thoughts ? json_string(thoughts) : json_null());
            json_object_set_new(msg, "refusal", json_null());
            json_t *calls = json_array();
            size_t i;
            json_t *a;
            json_array_foreach(actions, i, a)
            {
                char id[32];
                json_t *args = s_tool_args(a);
                char *js = json_dumps(args, JSON_COMPACT);
                snprintf(id, sizeof id, "call_fake%zu", i);
                json_array_append_new(calls, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "type",
                                                       "function", "function", "name", s_kind(a),
                                                       "arguments", js));
                free(js);
                json_decref(args);
            }
            if (json_array_size(calls)) {
                json_object_set_new(msg, "tool_calls", calls);
                finish = "tool_calls";
            } else {
                json_decref(calls);
            }
        } else {
            json_object_set_new(msg, "content", json_string(p->text));
            json_object_set_new(msg, "refusal", json_null());
        }
        body = json_pack("{s:s, s:s, s:I, s:s, s:s, s:[{s:i, s:o, s:n, s:s}], "
                         "s:{s:i, s:i, s:i, s:{s:i}, s:{s:i}}}",
                         "id", "chatcmpl-fake0001", "object", "chat.completion", "created",
                         (json_int_t)time(NULL), "model", model, "system_fingerprint",
                         "fp_fake0001", "choices", "index", 0, "message", msg, "logprobs",
                         "finish_reason", finish, "usage", "prompt_tokens", in, "completion_tokens",
                         out, "total_tokens", in + out, "prompt_tokens_details", "cached_tokens",
                         read, "completion_tokens_details", "reasoning_tokens", reasoning);
    }
    s_send_json(req, 200, "OK", body);
}

static void s_pending_free(pending_t *p)
{
    if (p->prevp) { /* unlink */
        *p->prevp = p->next;
        if (p->next) p->next->prevp = p->prevp;
    }
    if (p->ev) event_free(p->ev);
    free(p->text);
    free(p->model);
    json_decref(p->decision);
    free(p);
}

static void s_on_delay_fire(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd, (void)kind;
    pending_t *p = arg;
    s_ok(p);
    s_pending_free(p);
}

static void s_on_shutdown_fire(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd, (void)kind;
    pending_t *p = arg;
    shutdown(p->fd, SHUT_RDWR);
    s_pending_free(p);
}

/* -------------------------------------------------------------- serve -- */

static char *s_prompt_text(json_t *req, bool anthropic)
{
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    json_t *parts = json_array();
    if (anthropic) {
        json_t *sys = json_object_get(req, "system");
        if (json_is_string(sys)) json_array_append(parts, sys);
        size_t i;
        json_t *b;
        json_array_foreach(sys, i, b) json_array_append(parts, json_object_get(b, "text"));
    }
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(req, "messages"), i, m)
    {
        json_t *c = json_object_get(m, "content");
        if (json_is_string(c)) json_array_append(parts, c);
        size_t k;
        json_t *b;
        json_array_foreach(c, k, b) json_array_append(parts, json_object_get(b, "text"));
    }
    json_array_foreach(parts, i, m)
    {
        const char *s = json_string_value(m);
        if (!s) continue;
        size_t n = strlen(s);
        while (len + n + 2 > cap) out = realloc(out, cap *= 2);
        memcpy(out + len, s, n);
        len += n;
        out[len++] = '\n';
        out[len] = '\0';
    }
    json_decref(parts);
    return out;
}

static void s_on_request(struct evhttp_request *req, void *arg)
{
    fake_t *f = arg;
    const char *uri = evhttp_request_get_uri(req);
    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET && strstr(uri, "/stats")) {
        s_headers(req, false);
        s_send_json(req, 200, "OK",
                    json_pack("{s:i, s:i}", "requests", (int)f->requests, "keyed", (int)f->keyed));
        return;
    }
    bool anthropic = strstr(uri, "/messages") != NULL;
    bool openai = strstr(uri, "/chat/completions") != NULL;
    if (!anthropic && !openai) {
        s_error(req, false, 404, "Not Found", "invalid_request_error", "unknown_url",
                "Unknown request URL. Please check the URL for typos.");
        return;
    }
    f->requests++;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    if (evhttp_find_header(in, "Authorization") || evhttp_find_header(in, "x-api-key")) f->keyed++;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        s_error(req, anthropic, 405, "Method Not Allowed", "invalid_request_error", NULL,
                "Only POST is supported.");
        return;
    }
    if (f->key) {
        const char *got = anthropic ? evhttp_find_header(in, "x-api-key")
                                    : evhttp_find_header(in, "Authorization");
        char want[512];
        snprintf(want, sizeof want, "%s%s", anthropic ? "" : "Bearer ", f->key);
        if (!got || strcmp(got, want) != 0) {
            if (anthropic)
                s_error(req, true, 401, "Unauthorized", "authentication_error", NULL,
                        "invalid x-api-key");
            else
                s_error(req, false, 401, "Unauthorized", "invalid_request_error", "invalid_api_key",
                        "Incorrect API key provided. You can find your API key "
                        "at https://platform.openai.com/account/api-keys.");
            return;
        }
    }
    if (anthropic && !evhttp_find_header(in, "anthropic-version")) {
        s_error(req, true, 400, "Bad Request", "invalid_request_error", NULL,
                "anthropic-version: header is required");
        return;
    }
    struct evbuffer *ib = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(ib);
    char *raw = malloc(len + 1);
    evbuffer_copyout(ib, raw, len);
    raw[len] = '\0';
    json_error_t jerr;
    json_t *body = json_loadb(raw, len, 0, &jerr);
    bool marked = strstr(raw, "\"cache_control\"") != NULL;
    free(raw);
    const char *model = json_string_value(json_object_get(body, "model"));
    if (!body || !model || !json_is_array(json_object_get(body, "messages")) ||
        (anthropic && !json_is_integer(json_object_get(body, "max_tokens")))) {
        s_error(req, anthropic, 400, "Bad Request", "invalid_request_error", NULL,
                !body                ? "We could not parse the JSON body of your request."
                : anthropic && model ? "max_tokens: Field required"
                                     : "you must provide a model parameter and messages");
        json_decref(body);
        return;
    }

    const char *step = f->next_step < f->n_steps ? f->steps[f->next_step++] : "play";
    pending_t *p = calloc(1, sizeof *p);
    p->f = f;
    p->next = f->pending; /* tracked so that a shutdown frees what still waits */
    if (p->next) p->next->prevp = &p->next;
    p->prevp = &f->pending;
    f->pending = p;
    p->req = req;
    p->anthropic = anthropic;
    p->model = strdup(model);
    char *prompt = s_prompt_text(body, anthropic);
    p->prompt_chars = (int)strlen(prompt);
    p->marked = marked;
    for (int i = 0; i < 256; i++) {
        const char *s = f->seen[i];
        int k = 0;
        while (s && s[k] && s[k] == prompt[k]) k++;
        if (k > p->cached_chars) p->cached_chars = k;
    }
    free(f->seen[f->next_seen]);
    f->seen[f->next_seen] = strdup(prompt);
    f->next_seen = (f->next_seen + 1) % 256;
    /* what the request asks for: tool calls, a forced decision tool, bare JSON */
    json_t *tools = json_object_get(body, "tools");
    const char *choice =
        json_string_value(json_object_get(json_object_get(body, "tool_choice"), "name"));
    int want_tools = json_array_size(tools) ? (choice && !strcmp(choice, "decision") ? 2 : 1) : 0;
    const char *rf =
        json_string_value(json_object_get(json_object_get(body, "response_format"), "type"));
    bool bare = rf && (!strcmp(rf, "json_schema") || !strcmp(rf, "json_object"));
    json_decref(body);
    double delay = f->delay;
    int code = atoi(step);

    if (strncmp(step, "reply:", 6) == 0) {
        p->text = strdup(step + 6);
        for (char *c = p->text; (c = strstr(c, "\\n"));) {
            c[0] = '\n';
            memmove(c + 1, c + 2, strlen(c + 2) + 1);
        }
    } else if (strncmp(step, "429", 3) == 0) {
        double ra = step[3] == ':'                       ? atof(step + 4)
                    : strncmp(step + 3, "date:", 5) == 0 ? atof(step + 8)
                                                         : 1;
        char v[64];
        if (strncmp(step + 3, "date:", 5) == 0) {
            time_t t = time(NULL) + (time_t)ra;
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(v, sizeof v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        } else {
            snprintf(v, sizeof v, "%g", ra);
        }
        evhttp_add_header(evhttp_request_get_output_headers(req), "retry-after", v);
        if (!anthropic)
            evhttp_add_header(evhttp_request_get_output_headers(req), "x-ratelimit-reset-requests",
                              "1s");
        s_error(req, anthropic, 429, "Too Many Requests",
                anthropic ? "rate_limit_error" : "requests", "rate_limit_exceeded",
                anthropic ? "Number of request tokens has exceeded your per-minute rate limit"
                          : "Rate limit reached for requests per min (RPM): Limit 3, Used 3, "
                            "Requested 1. Please try again in 1s.");
        goto consumed;
    } else if (code == 500) {
        s_error(req, anthropic, 500, "Internal Server Error",
                anthropic ? "api_error" : "server_error", NULL,
                anthropic ? "Internal server error"
                          : "The server had an error while processing your request. Sorry "
                            "about that!");
        goto consumed;
    } else if (code == 503 || code == 529) {
        if (anthropic || code == 529)
            s_error(req, anthropic, code, code == 529 ? "Overloaded" : "Service Unavailable",
                    "overloaded_error", NULL, "Overloaded");
        else
            s_error(req, false, 503, "Service Unavailable", "server_error", NULL,
                    "The engine is currently overloaded, please try again later.");
        goto consumed;
    } else if (code == 400) {
        s_error(req, anthropic, 400, "Bad Request", "invalid_request_error", NULL,
                "messages: text content blocks must be non-empty");
        goto consumed;
    } else if (code == 401) {
        if (anthropic)
            s_error(req, true, 401, "Unauthorized", "authentication_error", NULL,
                    "invalid x-api-key");
        else
            s_error(req, false, 401, "Unauthorized", "invalid_request_error", "invalid_api_key",
                    "Incorrect API key provided: sk-fake***. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.");
        goto consumed;
    } else if (code == 403) {
        s_error(req, anthropic, 403, "Forbidden",
                anthropic ? "permission_error" : "invalid_request_error",
                "unsupported_country_region_territory",
                anthropic ? "Your API key does not have permission to use the specified resource."
                          : "Country, region, or territory not supported");
        goto consumed;
    } else if (code == 404) {
        s_error(req, anthropic, 404, "Not Found",
                anthropic ? "not_found_error" : "invalid_request_error", "model_not_found",
                "The model does not exist or you do not have access to it.");
        goto consumed;
    } else if (strcmp(step, "malformed") == 0) {
        s_headers(req, anthropic);
        struct evbuffer *b = evbuffer_new();
        evbuffer_add_printf(
            b, "{\"id\": \"chatcmpl-fake\", \"choices\": [{\"message\": {\"content\": ");
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
        goto consumed;
    } else if (strcmp(step, "truncated") == 0 || strcmp(step, "close") == 0) {
        struct evhttp_connection *c = evhttp_request_get_connection(req);
        struct bufferevent *bev = evhttp_connection_get_bufferevent(c);
        p->fd = (int)bufferevent_getfd(bev);
        if (step[0] == 't') {
            /* straight to the socket: evhttp would send a whole, well-formed reply */
            const char *part = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Content-Length: 400\r\n\r\n{\"id\":\"chatcmpl-fake\",\"object\":";
            if (send(p->fd, part, strlen(part), MSG_NOSIGNAL) < 0) perror("parley-fake-llm: send");
        }
        p->ev = evtimer_new(f->base, s_on_shutdown_fire, p);
        struct timeval tv = {0, step[0] == 't' ? 200000 : 0};
        evtimer_add(p->ev, &tv);
        free(prompt);
        return;
    } else {
        if (strncmp(step, "slow:", 5) == 0) delay += atof(step + 5);
        p->decision = fake_play_json(prompt);
        p->text = fake_play_text(p->decision, bare);
        p->tools = strcmp(step, "notool") == 0 ? 0 : want_tools;
        p->refusal = strcmp(step, "refusal") == 0;
        if (strncmp(step, "stop:", 5) == 0) { /* an empty reply stopped for WORD */
            snprintf(p->stop, sizeof p->stop, "%s", step + 5);
            p->tools = 0;
            p->text[0] = '\0';
        }
        if (strcmp(step, "length") == 0) { /* cut mid-way, as a token limit cuts */
            p->cut = true;
            p->tools = 0;
            size_t n = strlen(p->text) / 2;
            p->text[n < 24 ? n : 24] = '\0'; /* before the first action closes */
        }
    }
    free(prompt);
    if (delay > 0) {
        p->ev = evtimer_new(f->base, s_on_delay_fire, p);
        struct timeval tv = {(time_t)delay, (suseconds_t)((delay - (double)(time_t)delay) * 1e6)};
        evtimer_add(p->ev, &tv);
        return;
    }
    s_ok(p);
    s_pending_free(p);
    return;
consumed:
    free(prompt);
    s_pending_free(p);
}

static void s_on_signal(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd, (void)kind;
    event_base_loopexit(arg, NULL);
}

static void s_add_steps(fake_t *f, const char *list)
{
    if (f->n_steps < MAX_STEPS) f->steps[f->n_steps++] = strdup(list);
}

int main(int argc, char **argv)
{
    fake_t f = {0};
    int port = 0;
    const char *host = "127.0.0.1";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--host") && i + 1 < argc)
            host = argv[++i];
        else if (!strcmp(argv[i], "--key") && i + 1 < argc)
            f.key = argv[++i];
        else if (!strcmp(argv[i], "--delay") && i + 1 < argc)
            f.delay = atof(argv[++i]);
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: parley-fake-llm [--port N] [--key KEY] [--delay S] [--step STEP]... "
                   "[--script FILE] [--version]\n  a local model endpoint (OpenAI and Anthropic "
                   "formats) for tests; steps: docs/LLM.md\n");
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            pl_meta_print_version(stdout, "parley-fake-llm");
            return 0;
        } else if (!strcmp(argv[i], "--close"))
            s_close_each = true;
        else if (!strcmp(argv[i], "--step") && i + 1 < argc)
            s_add_steps(&f, argv[++i]);
        else if (!strcmp(argv[i], "--script") && i + 1 < argc) {
            FILE *fp = fopen(argv[++i], "r");
            if (!fp) {
                fprintf(stderr, "parley-fake-llm: cannot open %s\n", argv[i]);
                return 2;
            }
            char line[8192];
            while (fgets(line, sizeof line, fp)) {
                line[strcspn(line, "\r\n")] = '\0';
                if (line[0] && line[0] != '#') s_add_steps(&f, line);
            }
            fclose(fp);
        } else {
            fprintf(stderr, "usage: parley-fake-llm [--port N] [--host ADDR] [--key KEY] "
                            "[--delay S] [--step STEP]... [--script FILE] [--version]\n");
            return 2;
        }
    }
    if (!f.key && getenv("PARLEY_FAKE_LLM_KEY") && *getenv("PARLEY_FAKE_LLM_KEY"))
        f.key = getenv("PARLEY_FAKE_LLM_KEY");
    signal(SIGPIPE, SIG_IGN);
    f.base = event_base_new();
    struct evhttp *http = f.base ? evhttp_new(f.base) : NULL;
    if (!http) return 1;
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_max_body_size(http, 64 << 20);
    evhttp_set_gencb(http, s_on_request, &f);
    struct evhttp_bound_socket *sock =
        evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port);
    if (!sock) {
        fprintf(stderr, "parley-fake-llm: cannot listen on %s:%d\n", host, port);
        return 1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl);
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    printf("listening %s:%d\n", host, port);
    fflush(stdout);
    struct event *sig1 = evsignal_new(f.base, SIGINT, s_on_signal, f.base);
    struct event *sig2 = evsignal_new(f.base, SIGTERM, s_on_signal, f.base);
    event_add(sig1, NULL);
    event_add(sig2, NULL);
    event_base_dispatch(f.base);
    event_free(sig1);
    event_free(sig2);
    while (f.pending) s_pending_free(f.pending);
    evhttp_free(http);
    event_base_free(f.base);
    for (int i = 0; i < f.n_steps; i++) free(f.steps[i]);
    for (int i = 0; i < 256; i++) free(f.seen[i]);
    return 0;
}
