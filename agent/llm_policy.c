/* llm_policy.c: the `llm` policy of parley-agent (llm_policy.h).
 *
 * One turn: render the observation (llm_prompt), build the provider's request
 * (llm_provider), POST it on the agent's event loop (llm_http, which retries),
 * read the reply (llm_provider) and turn its text into actions (llm_parse).
 * Every call is recorded (agt_call_t): model requested and reported, status,
 * attempts, latency, tokens, cost, bodies (never the key), prefix share. The
 * outcome is handed over from a fresh event-loop callback, so the agent may do
 * anything in done(), even destroy the policy. */
#include "llm_policy.h"
#include "llm_http.h"
#include "llm_parse.h"
#include "llm_prompt.h"
#include "llm_provider.h"
#include "pl_log.h"

#include <event2/event.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_DEFAULT_TIMEOUT 300.0 /* seconds per HTTP attempt */
#define S_MAX_TOTAL       900.0 /* seconds per call, retries included */
#define S_FEEDBACK_MAX    2000

typedef struct {
    agt_context_t ctx; /* pointers inside are the agent's, valid for the game */
    llm_provider_t provider;
    llm_prompter_t *prompter; /* the seat's template (llm.prompt / prompt) */
    llm_reply_format_t format;
    char *key;
    llm_http_t *http;
    llm_http_call_t *call;
    struct event *deliver_ev;
    agt_outcome_t *pending; /* finished, waiting for deliver_ev */
    uint64_t turn_id;
    agt_decided_fn done;
    void *done_arg;
    char cache_key[96];  /* OpenAI prompt_cache_key, made at the first turn */
    char *prev_flat;     /* last turn's whole prompt, for the prefix share */
    double prefix_share; /* of the turn in flight */
    char *req_body;      /* of the turn in flight */
    char *feedback;      /* problems of the last reply, shown next turn */
    char *new_feedback;  /* being collected for the next turn */
    double budget_end;   /* monotonic seconds: the turn's deadline, less the margin */
    bool budget_cut;     /* the call's time was cut to the deadline */
    char **arrived;      /* realtime: notices since the last decision, for the prompt */
    size_t n_arrived;
} s_llm_t;

static double s_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_arrived_clear(s_llm_t *p)
{
    for (size_t i = 0; i < p->n_arrived; i++) free(p->arrived[i]);
    free(p->arrived);
    p->arrived = NULL;
    p->n_arrived = 0;
}

static void s_free_key(s_llm_t *p)
{
    if (!p->key) return;
    volatile char *v = p->key;
    for (size_t i = 0; v[i]; i++) v[i] = 0;
    free(p->key);
    p->key = NULL;
}

/* ------------------------------------------------------------- events -- */

static void s_on_deliver_fire(evutil_socket_t fd, short kind, void *arg)
{
    s_llm_t *p = arg;
    (void)fd, (void)kind;
    agt_outcome_t *o = p->pending;
    p->pending = NULL;
    s_arrived_clear(p); /* decided: what arrived is now behind it */
    if (o && p->done)
        p->done(p->done_arg, p->turn_id, o); /* p may be gone now */
    else
        agt_outcome_destroy(&o);
}

static void s_deliver(s_llm_t *p, agt_outcome_t *o)
{
    agt_outcome_destroy(&p->pending);
    p->pending = o;
    struct timeval tv = {0, 0};
    if (evtimer_add(p->deliver_ev, &tv) != 0) {
        PL_ERROR("LLM-EVENT", "cannot schedule the decision of turn %llu",
                 (unsigned long long)p->turn_id);
    }
}

static void s_on_parse_drop(void *arg, const char *raw, const char *reason)
{
    agt_outcome_t *o = ((void **)arg)[0];
    s_llm_t *p = ((void **)arg)[1];
    if (agt_outcome_drop(o, raw, reason) != 0) PL_WARN("LLM-OOM", "cannot record a dropped action");
    size_t have = p->new_feedback ? strlen(p->new_feedback) : 0;
    if (have > S_FEEDBACK_MAX) return;
    size_t add = strlen(reason) + 3;
    char *f = realloc(p->new_feedback, have + add + 1);
    if (!f) return;
    snprintf(f + have, add + 1, "%s%s", have ? "; " : "", reason);
    p->new_feedback = f;
}

static llm_http_verdict_t s_judge(void *arg, long status, const char *body, size_t len, char *why,
                                  size_t whylen)
{
    s_llm_t *p = arg;
    if (status >= 200 && status < 300) {
        llm_reply_t r;
        char w[200];
        if (llm_reply_parse(p->provider, body, len, &r, w, sizeof w) != 0) {
            llm_fmt(why, whylen, "HTTP %ld: %s", status, w);
            return LLM_HTTP_RETRY; /* malformed or truncated: worth another try */
        }
        llm_reply_clear(&r);
        return LLM_HTTP_ACCEPT;
    }
    char msg[180];
    llm_error_message(body, len, msg, sizeof msg);
    llm_fmt(why, whylen, "HTTP %ld: %s", status, msg[0] ? msg : "(empty body)");
    /* 529 is Anthropic's "overloaded" */
    if (status == 408 || status == 409 || status == 429 || status >= 500) return LLM_HTTP_RETRY;
    return LLM_HTTP_FAIL; /* 400, 401, 403, 404...: the request itself is wrong */
}

/* Why a turn has no actions, in the reply's own terms: a refusal, a reply cut
 * at max_tokens (told apart from a malformed one), a missing tool call. */
static void s_explain_empty(const s_llm_t *p, const llm_reply_t *r, int n, char *why, size_t len)
{
    char parse[256];
    llm_fmt(parse, sizeof parse, "%s", why);
    if (n < 0) {
        llm_fmt(why, len, "out of memory");
    } else if (n > 0) {
        return;
    } else if (!strcmp(r->stop_reason, "refusal")) {
        llm_fmt(why, len, "the model refused: %.200s", r->refusal[0] ? r->refusal : "(no text)");
    } else if (!strcmp(r->stop_reason, "max_tokens")) {
        int max = p->ctx.seat->max_tokens;
        if (max <= 0 && p->provider == LLM_ANTHROPIC) max = PL_ANTHROPIC_MAX_TOKENS;
        if (max > 0)
            llm_fmt(why, len, "the reply was cut at max_tokens (%d) before its decision: %s", max,
                    parse);
        else
            llm_fmt(why, len,
                    "the reply was cut at the server's token limit before its decision: "
                    "%s",
                    parse);
    } else if (!strcmp(r->stop_reason, "content_filter")) {
        llm_fmt(why, len, "the provider's content filter stopped the reply: %s", parse);
    } else if (!r->tool_calls && p->format == LLM_REPLY_TOOLS) {
        llm_fmt(why, len, "the reply made no tool call; its text: %s", parse);
    } else if (!r->tool_calls && p->format == LLM_REPLY_JSON_SCHEMA &&
               p->provider == LLM_ANTHROPIC) {
        llm_fmt(why, len, "the reply did not call the forced decision tool; its text: %s", parse);
    }
}

static void s_on_http_done(void *arg, llm_http_result_t *res)
{
    s_llm_t *p = arg;
    p->call = NULL;
    agt_outcome_t *o = agt_outcome_new();
    if (!o) {
        PL_ERROR("LLM-OOM", "out of memory after turn %llu", (unsigned long long)p->turn_id);
        return;
    }
    if (!o->decision) o->decision = env_decision_new();
    agt_call_t call;
    memset(&call, 0, sizeof call);
    const pl_seat_t *seat = p->ctx.seat;
    llm_fmt(call.provider, sizeof call.provider, "%s", llm_provider_name(p->provider));
    llm_fmt(call.model_requested, sizeof call.model_requested, "%s", seat->model);
    llm_fmt(call.reply_format, sizeof call.reply_format, "%s", llm_reply_format_name(p->format));
    call.http_status = (int)res->status;
    call.attempts = res->attempts;
    call.latency_s = res->latency_s;
    call.prefix_share = p->prefix_share;
    call.request_body = p->req_body;
    p->req_body = NULL;
    call.response_body = res->body;
    res->body = NULL;

    free(p->new_feedback);
    p->new_feedback = NULL;
    if (!res->ok && p->budget_cut && s_mono_s() >= p->budget_end - 0.05) {
        /* Cut by the turn's deadline, not by the seat's own timeout: the
         * broker records the turn as missed and the call as abandoned, on
         * whichever side of the deadline this lands (docs/TIMING.md). */
        llm_fmt(call.error, sizeof call.error, "%s", res->error);
        llm_fmt(o->empty_reason, sizeof o->empty_reason, "abandoned at the deadline: %s",
                res->error);
        PL_INFO("LLM-CALL-ABANDONED", "turn %llu: %s", (unsigned long long)p->turn_id, res->error);
    } else if (!res->ok) {
        llm_fmt(call.error, sizeof call.error, "%s", res->error);
        llm_fmt(o->empty_reason, sizeof o->empty_reason, "model call failed: %s", res->error);
        PL_WARN("LLM-CALL-FAILED", "turn %llu: %s", (unsigned long long)p->turn_id, res->error);
    } else {
        if (res->retried[0])
            llm_fmt(call.error, sizeof call.error, "recovered after %d attempts: %s", res->attempts,
                    res->retried);
        llm_reply_t r;
        char why[200];
        size_t blen = call.response_body ? strlen(call.response_body) : 0;
        if (llm_reply_parse(p->provider, call.response_body, blen, &r, why, sizeof why) != 0) {
            llm_fmt(call.error, sizeof call.error, "%s", why);
            llm_fmt(o->empty_reason, sizeof o->empty_reason, "%s", why);
        } else {
            llm_fmt(call.model_reported, sizeof call.model_reported, "%s", r.model);
            call.tokens_in = r.tokens_in;
            call.tokens_out = r.tokens_out;
            call.tokens_reasoning = r.tokens_reasoning;
            call.tokens_cached = r.tokens_cached;
            llm_fmt(call.stop_reason, sizeof call.stop_reason, "%s", r.stop_reason);
            llm_fmt(call.finish_reason, sizeof call.finish_reason, "%s", r.finish_reason);
            llm_fmt(call.system_fingerprint, sizeof call.system_fingerprint, "%s", r.fingerprint);
            llm_fmt(call.refusal, sizeof call.refusal, "%s", r.refusal);
            call.tool_calls = r.tool_calls;
            call.thinking_blocks = r.thinking_blocks;
            const pl_price_t *price = NULL;
            if (p->ctx.config) {
                price = pl_config_price(p->ctx.config, seat->model);
                if (!price && r.model[0]) price = pl_config_price(p->ctx.config, r.model);
            }
            call.cost_usd = llm_cost(price, r.tokens_in, r.tokens_cached, r.tokens_out);
            /* tool calls are the decision; a reply without one is read as text */
            const char *dtext = r.tool_decision ? r.tool_decision : r.text;
            void *dctx[2] = {o, p};
            int n = o->decision
                        ? llm_parse_reply(dtext, strlen(dtext), o->decision, s_on_parse_drop, dctx,
                                          o->empty_reason, sizeof o->empty_reason)
                        : -1;
            /* a conversation keeps the decision it read as its next prefix */
            if (llm_prompter_keep_decision(p->prompter, n >= 0 ? o->decision : NULL) != 0)
                PL_WARN("LLM-OOM", "cannot keep the reply of turn %llu",
                        (unsigned long long)p->turn_id);
            s_explain_empty(p, &r, n, o->empty_reason, sizeof o->empty_reason);
            PL_INFO("LLM-CALL",
                    "turn %llu: %s HTTP %d, %d attempt(s), %.2f s, %lld+%lld tokens, "
                    "%d action(s)",
                    (unsigned long long)p->turn_id, r.model[0] ? r.model : seat->model,
                    call.http_status, call.attempts, call.latency_s, (long long)call.tokens_in,
                    (long long)call.tokens_out, n);
            llm_reply_clear(&r);
        }
    }
    free(p->feedback);
    p->feedback = p->new_feedback;
    p->new_feedback = NULL;
    if (agt_outcome_add_call(o, &call) != 0) {
        free(call.request_body);
        free(call.response_body);
    }
    s_deliver(p, o);
}

/* ---------------------------------------------------------------- ops -- */

/* llm.cache_hints: on unless the configuration says off. */
static bool s_hints_on(const s_llm_t *p)
{
    const pl_config_t *c = p->ctx.config;
    return !(c && c->llm_cache_hints && strcmp(c->llm_cache_hints, "off") == 0);
}

/* A key that stays the same for a seat through a game and differs between
 * seats and setups: the seat's id and a hash (FNV-1a) of its system part,
 * which names the seat and holds the game's fixed facts. */
static void s_make_cache_key(s_llm_t *p, const char *system)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *c = (const unsigned char *)(system ? system : ""); *c; c++)
        h = (h ^ *c) * 1099511628211ull;
    llm_fmt(p->cache_key, sizeof p->cache_key, "parley-agent_%d-%016llx", p->ctx.agent + 1,
            (unsigned long long)h);
}

static void s_destroy(void *self);

static int s_create(void **self, const agt_context_t *ctx, char *err, size_t errlen)
{
    *self = NULL;
    if (!ctx || !ctx->base || !ctx->seat) {
        llm_fmt(err, errlen, "the llm policy needs an event loop and seat settings");
        return ENV_EINVAL;
    }
    if (llm_check_seat(ctx->seat, err, errlen) != 0) return ENV_ECONFIG;
    s_llm_t *p = calloc(1, sizeof *p);
    if (!p) goto oom;
    p->ctx = *ctx;
    p->provider = (llm_provider_t)llm_provider_from_name(ctx->seat->provider);
    p->format = (llm_reply_format_t)llm_reply_format_from_name(ctx->seat->reply_format);
    const char *key_env = pl_seat_key_env(ctx->seat); /* NULL: no key goes out */
    if (key_env) {
        p->key = strdup(getenv(key_env)); /* checked non-NULL above */
        if (!p->key) goto oom;
    }
    if (!(p->prompter = llm_prompter_new(ctx, err, errlen))) {
        s_destroy(p);
        return ENV_ECONFIG;
    }
    p->http = llm_http_new(ctx->base);
    p->deliver_ev = evtimer_new(ctx->base, s_on_deliver_fire, p);
    if (!p->http || !p->deliver_ev) goto oom;
    *self = p;
    PL_INFO("LLM-SEAT", "%s %s at %s, prompt %s, reply_format %s, key %s",
            llm_provider_name(p->provider), ctx->seat->model,
            ctx->seat->base_url && *ctx->seat->base_url ? ctx->seat->base_url
                                                        : llm_provider_default_url(p->provider),
            llm_prompter_name(p->prompter), llm_reply_format_name(p->format),
            key_env ? key_env : "none");
    return ENV_OK;
oom:
    llm_fmt(err, errlen, "out of memory (or libcurl failed to start)");
    s_destroy(p);
    return ENV_ENOMEM;
}

static void s_cancel(void *self)
{
    s_llm_t *p = self;
    if (!p) return;
    llm_http_cancel(&p->call);
    if (p->deliver_ev) evtimer_del(p->deliver_ev);
    agt_outcome_destroy(&p->pending);
    free(p->req_body);
    p->req_body = NULL;
    p->done = NULL;
}

/* Seconds left for this turn: deadline_s is seconds from now, or (if it looks
 * like one) an absolute Unix time; <= 0 means no deadline. */
static double s_budget(double deadline_s)
{
    double left = deadline_s;
    if (deadline_s > 1e9) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        left = deadline_s - ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
        if (left <= 0) left = 0.5;
    }
    if (left <= 0 || left > S_MAX_TOTAL) return S_MAX_TOTAL;
    return left > 1.5 ? left - 0.5 : left; /* keep a little for the reply to travel */
}

/* An outcome with no call: something failed before any HTTP. */
static int s_fail_now(s_llm_t *p, const char *why)
{
    agt_outcome_t *o = agt_outcome_new();
    if (!o) return ENV_ENOMEM;
    if (!o->decision) o->decision = env_decision_new();
    llm_fmt(o->empty_reason, sizeof o->empty_reason, "%s", why);
    PL_WARN("LLM-TURN-FAILED", "turn %llu: %s", (unsigned long long)p->turn_id, why);
    s_deliver(p, o);
    return ENV_OK;
}

static int s_decide(void *self, uint64_t turn_id, const env_obs_t *obs, double deadline_s,
                    agt_decided_fn done, void *arg)
{
    s_llm_t *p = self;
    if (!p || !obs || !done) return ENV_EINVAL;
    s_cancel(p); /* a new turn supersedes one in flight */
    p->turn_id = turn_id;
    p->done = done;
    p->done_arg = arg;

    /* The clock and the news, for templates that show them (clear, realtime). */
    p->ctx.time_left_s = deadline_s > 0 && deadline_s < 1e9 ? deadline_s : 0;
    p->ctx.arrived = (const char *const *)p->arrived;
    p->ctx.n_arrived = p->n_arrived;
    const char *fb = p->ctx.rules && p->ctx.rules->report_invalid_actions ? p->feedback : NULL;
    llm_prompt_t pr;
    char perr[300];
    bool reset = false, conv = llm_prompter_is_conversation(p->prompter);
    if (llm_prompter_next(p->prompter, &p->ctx, obs, fb, &pr, &reset, perr, sizeof perr) != 0) {
        char why[360];
        llm_fmt(why, sizeof why, "cannot render the prompt: %s", perr);
        return s_fail_now(p, why);
    }
    if (reset)
        PL_INFO("LLM-HISTORY-RESET",
                "turn %llu: the conversation passed its window; it starts again from the "
                "whole state (reset %d)",
                (unsigned long long)p->turn_id, llm_prompter_resets(p->prompter));
    const json_t *history = llm_prompter_history(p->prompter);
    char *flat = conv ? llm_conversation_flat(pr.system, history) : llm_prompt_flat(&pr);
    if (!flat) {
        llm_prompt_clear(&pr);
        return s_fail_now(p, "cannot render the prompt (out of memory)");
    }
    p->prefix_share = llm_prefix_share(p->prev_flat, flat);
    free(p->prev_flat);
    p->prev_flat = flat;

    llm_request_t rq;
    char err[256];
    const pl_seat_t *seat = p->ctx.seat;
    bool hints = s_hints_on(p) && (conv || llm_prompter_cacheable(p->prompter));
    if (hints && !p->cache_key[0]) s_make_cache_key(p, pr.system);
    llm_cache_hints_t ch = {.system_mark = hints && pr.system && *pr.system,
                            .last_mark = hints && conv,
                            .cache_key = hints ? p->cache_key : NULL};
    /* a conversation sends its history; any other template this turn's message */
    json_t *one = NULL;
    int rc = -1;
    if (!conv && !(one = json_pack("[{s:s, s:s}]", "role", "user", "content", pr.user)))
        llm_fmt(err, sizeof err, "cannot build the request (out of memory)");
    else
        rc = llm_request_build_turns(p->provider, seat, p->key, pr.system, conv ? history : one,
                                     &ch, &rq, err, sizeof err);
    json_decref(one);
    llm_prompt_clear(&pr);
    if (rc != 0) return s_fail_now(p, err);

    double budget = s_budget(deadline_s);
    double timeout = seat->timeout > 0 ? seat->timeout : S_DEFAULT_TIMEOUT;
    p->budget_cut = timeout >= budget;
    p->budget_end = s_mono_s() + budget;
    if (timeout > budget) timeout = budget;
    llm_http_req_t hr = {
        .url = rq.url,
        .headers = (const char *const *)rq.headers,
        .n_headers = rq.n_headers,
        .body = rq.body,
        .timeout_s = timeout,
        .max_attempts = 6,
        .max_total_s = budget,
    };
    p->req_body = rq.body;
    rq.body = NULL;
    p->call = llm_http_post(p->http, &hr, s_judge, s_on_http_done, p);
    llm_request_clear(&rq); /* wipes the copy of the key */
    if (!p->call) return s_fail_now(p, "cannot start the HTTP request");
    return ENV_OK;
}

/* The next observation carries the news itself; the notices are kept so that
 * the prompt can say what arrived since the last decision (realtime). */
static void s_notice(void *self, const char *what, const char *text)
{
    s_llm_t *p = self;
    if (!p || !what || !text) return;
    if (strcmp(what, "message") && strcmp(what, "transfer") && strcmp(what, "broadcast") &&
        strcmp(what, "task"))
        return;
    if (p->n_arrived >= 32) return; /* enough to say "a lot" */
    char **a = realloc(p->arrived, (p->n_arrived + 1) * sizeof *a);
    if (!a) return;
    p->arrived = a;
    if ((a[p->n_arrived] = strdup(text))) p->n_arrived++;
}

static void s_destroy(void *self)
{
    s_llm_t *p = self;
    if (!p) return;
    s_cancel(p);
    if (p->deliver_ev) event_free(p->deliver_ev);
    llm_http_destroy(&p->http);
    llm_prompter_destroy(&p->prompter);
    s_free_key(p);
    free(p->prev_flat);
    free(p->feedback);
    free(p->new_feedback);
    s_arrived_clear(p);
    free(p);
}

const agt_policy_ops_t agt_llm_ops = {
    .name = "llm",
    .create = s_create,
    .decide = s_decide,
    .cancel = s_cancel,
    .notice = s_notice,
    .destroy = s_destroy,
};
