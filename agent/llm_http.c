/* llm_http.c: libcurl multi driven by libevent, with retries (llm_http.h).
 *
 * The shape is curl's hiperfifo.c: curl tells us which sockets to watch
 * (s_on_curl_socket) and when to wake it (s_on_curl_timer); libevent tells curl
 * when a socket is ready (s_on_socket_ready) or the timer fired (s_on_timeout);
 * finished transfers are collected by s_check_done. Context travels through
 * curl's userp and libevent's arg: nothing is global. A retry waits on its own
 * libevent timer, then re-adds the same easy handle to the multi. */
#include "llm_http.h"
#include "pl_log.h"

#include <curl/curl.h>
#include <event2/event.h>

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LLM_HTTP_MAX_BODY (16u << 20) /* a reply larger than this is refused */

typedef struct s_sock s_sock_t;

struct llm_http {
    struct event_base *base;
    CURLM *multi;
    struct event *timer; /* curl's own timeout */
    llm_http_call_t *calls;
    s_sock_t *socks;
    uint64_t rng; /* jitter */
    int running;
};

struct s_sock {
    llm_http_t *http;
    curl_socket_t fd;
    struct event *ev;
    s_sock_t *next;
};

struct llm_http_call {
    llm_http_t *http;
    CURL *easy;
    struct curl_slist *headers;
    char *url, *body;
    double timeout_s, max_total_s, backoff_s, backoff_max_s;
    int max_attempts;
    llm_http_judge_fn judge;
    llm_http_done_fn done;
    void *arg;
    bool in_multi;
    struct event *retry_ev;
    int attempts;
    double t_start;
    long status;
    double retry_after; /* from the last response, -1 if none */
    char *resp;
    size_t resp_len, resp_cap;
    char error[256];
    char retried[256]; /* llm_http_result_t.retried */
    char errbuf[CURL_ERROR_SIZE];
    llm_http_call_t *next;
};

/* snprintf that may truncate on purpose (reasons are capped, never an error). */
__attribute__((format(printf, 3, 4))) static void s_fmt(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, n, fmt, ap);
    va_end(ap);
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double s_rand01(llm_http_t *h)
{
    /* xorshift64*: good enough for jitter, no shared state */
    h->rng ^= h->rng >> 12;
    h->rng ^= h->rng << 25;
    h->rng ^= h->rng >> 27;
    return (double)((h->rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static struct timeval s_tv(double s)
{
    struct timeval tv;
    if (s < 0) s = 0;
    tv.tv_sec = (time_t)s;
    tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
    return tv;
}

/* ------------------------------------------------------------ sockets -- */

static void s_check_done(llm_http_t *h);

static void s_on_socket_ready(evutil_socket_t fd, short kind, void *arg)
{
    s_sock_t *s = arg;
    llm_http_t *h = s->http; /* s may be freed by the call below */
    int action =
        ((kind & EV_READ) ? CURL_CSELECT_IN : 0) | ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    CURLMcode rc = curl_multi_socket_action(h->multi, fd, action, &h->running);
    if (rc != CURLM_OK) PL_WARN("LLM-HTTP-MULTI", "socket action: %s", curl_multi_strerror(rc));
    s_check_done(h);
}

static void s_sock_free(llm_http_t *h, s_sock_t *s)
{
    for (s_sock_t **p = &h->socks; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    if (s->ev) event_free(s->ev);
    free(s);
}

static int s_on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    llm_http_t *h = userp;
    s_sock_t *s = socketp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            s_sock_free(h, s);
            curl_multi_assign(h->multi, fd, NULL);
        }
        return 0;
    }
    short kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                 ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return -1;
        s->http = h;
        s->fd = fd;
        s->next = h->socks;
        h->socks = s;
        if (curl_multi_assign(h->multi, fd, s) != CURLM_OK) {
            s_sock_free(h, s);
            return -1;
        }
    } else if (s->ev) {
        event_free(s->ev);
        s->ev = NULL;
    }
    s->ev = event_new(h->base, fd, kind, s_on_socket_ready, s);
    if (!s->ev || event_add(s->ev, NULL) != 0) {
        PL_ERROR("LLM-HTTP-EVENT", "cannot watch socket %d", (int)fd);
        return -1;
    }
    return 0;
}

/* -------------------------------------------------------------- timer -- */

static void s_on_timeout(evutil_socket_t fd, short kind, void *arg)
{
    llm_http_t *h = arg;
    (void)fd, (void)kind;
    CURLMcode rc = curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &h->running);
    if (rc != CURLM_OK) PL_WARN("LLM-HTTP-MULTI", "timeout action: %s", curl_multi_strerror(rc));
    s_check_done(h);
}

/* curl asks to be woken in timeout_ms (-1: never). Calling back into curl from
 * here is not allowed, so even 0 goes through the event loop. */
static int s_on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    llm_http_t *h = userp;
    (void)multi;
    if (timeout_ms < 0) return evtimer_del(h->timer) == 0 ? 0 : -1;
    struct timeval tv = s_tv((double)timeout_ms / 1000.0);
    return evtimer_add(h->timer, &tv) == 0 ? 0 : -1;
}

/* -------------------------------------------------------------- calls -- */

static size_t s_on_curl_body(char *data, size_t size, size_t n, void *userp)
{
    llm_http_call_t *c = userp;
    size_t len = size * n;
    if (c->resp_len + len + 1 > LLM_HTTP_MAX_BODY) return 0; /* CURLE_WRITE_ERROR */
    if (c->resp_len + len + 1 > c->resp_cap) {
        size_t cap = c->resp_cap ? c->resp_cap : 4096;
        while (cap < c->resp_len + len + 1) cap *= 2;
        char *p = realloc(c->resp, cap);
        if (!p) return 0;
        c->resp = p;
        c->resp_cap = cap;
    }
    memcpy(c->resp + c->resp_len, data, len);
    c->resp_len += len;
    c->resp[c->resp_len] = '\0';
    return len;
}

static size_t s_on_curl_header(char *data, size_t size, size_t n, void *userp)
{
    llm_http_call_t *c = userp;
    size_t len = size * n;
    char line[256];
    size_t m = len < sizeof line - 1 ? len : sizeof line - 1;
    memcpy(line, data, m);
    line[m] = '\0';
    while (m && (line[m - 1] == '\r' || line[m - 1] == '\n' || line[m - 1] == ' '))
        line[--m] = '\0';
    if (strncmp(line, "HTTP/", 5) == 0) {
        c->retry_after = -1; /* a new response (after 100-continue or a redirect) */
        return len;
    }
    char *colon = strchr(line, ':');
    if (!colon) return len;
    *colon = '\0';
    const char *val = colon + 1;
    while (*val == ' ' || *val == '\t') val++;
    if (strcasecmp(line, "retry-after-ms") == 0) {
        char *end;
        double ms = strtod(val, &end);
        if (end != val && ms >= 0) c->retry_after = ms / 1000.0;
    } else if (strcasecmp(line, "retry-after") == 0 && c->retry_after < 0) {
        c->retry_after = llm_http_parse_retry_after(val);
    }
    return len;
}

double llm_http_parse_retry_after(const char *value)
{
    if (!value) return -1;
    while (*value == ' ') value++;
    if (!*value) return -1;
    if (isdigit((unsigned char)*value)) {
        char *end;
        double s = strtod(value, &end);
        while (*end == ' ') end++;
        if (*end == '\0' && s >= 0) return s;
        if (*end != ',' && !isalpha((unsigned char)*end)) return -1;
    }
    time_t t = curl_getdate(value, NULL);
    if (t == (time_t)-1) return -1;
    double d = difftime(t, time(NULL));
    return d < 0 ? 0 : d;
}

static void s_call_free(llm_http_call_t *c)
{
    if (!c) return;
    llm_http_t *h = c->http;
    for (llm_http_call_t **p = &h->calls; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    if (c->in_multi) curl_multi_remove_handle(h->multi, c->easy);
    if (c->easy) curl_easy_cleanup(c->easy);
    if (c->retry_ev) event_free(c->retry_ev);
    curl_slist_free_all(c->headers);
    free(c->url);
    free(c->body);
    free(c->resp);
    free(c);
}

static int s_start_attempt(llm_http_call_t *c)
{
    c->resp_len = 0;
    if (c->resp) c->resp[0] = '\0';
    c->retry_after = -1;
    c->errbuf[0] = '\0';
    /* An attempt never outlives the call's budget: a retry that starts late
     * gets what is left, so the turn ends before its deadline. */
    double left = c->max_total_s - (s_now() - c->t_start);
    double limit = c->timeout_s < left ? c->timeout_s : left;
    if (limit < 0.05) {
        s_fmt(c->error, sizeof c->error, "time budget of %.1f s spent", c->max_total_s);
        return -1;
    }
    CURLcode cc = curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)(limit * 1000));
    if (cc != CURLE_OK) {
        s_fmt(c->error, sizeof c->error, "libcurl: %s", curl_easy_strerror(cc));
        return -1;
    }
    c->attempts++;
    CURLMcode rc = curl_multi_add_handle(c->http->multi, c->easy);
    if (rc != CURLM_OK) {
        s_fmt(c->error, sizeof c->error, "libcurl: %s", curl_multi_strerror(rc));
        return -1;
    }
    c->in_multi = true;
    return 0;
}

static void s_finish(llm_http_call_t *c, bool ok)
{
    llm_http_result_t res;
    memset(&res, 0, sizeof res);
    res.ok = ok;
    res.status = c->status;
    res.attempts = c->attempts;
    res.latency_s = s_now() - c->t_start;
    res.body = c->resp_len || c->resp ? c->resp : NULL;
    res.body_len = c->resp_len;
    s_fmt(res.error, sizeof res.error, "%s", ok ? "" : c->error);
    s_fmt(res.retried, sizeof res.retried, "%s", c->retried);
    c->done(c->arg, &res);
    if (res.body != c->resp) c->resp = NULL; /* taken by the callee */
    s_call_free(c);
}

static void s_on_retry_timer(evutil_socket_t fd, short kind, void *arg)
{
    llm_http_call_t *c = arg;
    (void)fd, (void)kind;
    if (s_start_attempt(c) != 0) s_finish(c, false);
}

/* After an attempt that asks for a retry: wait, or give up if out of budget. */
static void s_retry_or_fail(llm_http_call_t *c)
{
    llm_http_t *h = c->http;
    if (c->attempts >= c->max_attempts) {
        char why[sizeof c->error];
        s_fmt(why, sizeof why, "%s", c->error);
        s_fmt(c->error, sizeof c->error, "gave up after %d attempts: %s", c->attempts, why);
        s_finish(c, false);
        return;
    }
    double backoff = c->backoff_s * pow(2.0, (double)(c->attempts - 1));
    if (backoff > c->backoff_max_s) backoff = c->backoff_max_s;
    double delay = backoff * (0.5 + 0.5 * s_rand01(h)); /* "equal jitter" */
    if (c->retry_after >= 0 && c->retry_after > delay) delay = c->retry_after;
    double elapsed = s_now() - c->t_start;
    if (elapsed + delay + 0.1 > c->max_total_s) { /* 0.1 s: too short to be worth an attempt */
        char why[sizeof c->error];
        s_fmt(why, sizeof why, "%s", c->error);
        s_fmt(c->error, sizeof c->error,
              "gave up after %d attempts (time budget %.1f s, next wait %.1f s): %s", c->attempts,
              c->max_total_s, delay, why);
        s_finish(c, false);
        return;
    }
    PL_INFO("LLM-HTTP-RETRY", "attempt %d: %s; retrying in %.2f s", c->attempts, c->error, delay);
    /* Remembered for the call's record: a fault survived is still worth seeing. */
    size_t have = strlen(c->retried);
    if (have + 16 < sizeof c->retried)
        s_fmt(c->retried + have, sizeof c->retried - have, "%s#%d %.100s", have ? "; " : "",
              c->attempts, c->error);
    struct timeval tv = s_tv(delay);
    if (evtimer_add(c->retry_ev, &tv) != 0) {
        s_fmt(c->error, sizeof c->error, "libevent: cannot arm the retry timer");
        s_finish(c, false);
    }
}

static bool s_transport_retryable(CURLcode cc)
{
    switch (cc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_WRITE_ERROR: /* our own refusal: reply too large */
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_PEER_FAILED_VERIFICATION:
        return false;
    default:
        return true;
    }
}

static llm_http_verdict_t s_default_judge(long status, char *why, size_t whylen)
{
    if (status >= 200 && status < 300) return LLM_HTTP_ACCEPT;
    s_fmt(why, whylen, "HTTP %ld", status);
    if (status == 408 || status == 409 || status == 429 || status >= 500) return LLM_HTTP_RETRY;
    return LLM_HTTP_FAIL;
}

/* One attempt ended (transfer done or failed). */
static void s_attempt_done(llm_http_call_t *c, CURLcode cc)
{
    llm_http_t *h = c->http;
    if (c->in_multi) {
        CURLMcode rc = curl_multi_remove_handle(h->multi, c->easy);
        if (rc != CURLM_OK) PL_WARN("LLM-HTTP-MULTI", "remove: %s", curl_multi_strerror(rc));
        c->in_multi = false;
    }
    long status = 0;
    if (curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) status = 0;
    if (status) c->status = status;
    if (cc != CURLE_OK) {
        s_fmt(c->error, sizeof c->error, "%s: %s",
              cc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "connection error",
              c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
        if (s_transport_retryable(cc))
            s_retry_or_fail(c);
        else
            s_finish(c, false);
        return;
    }
    char why[200] = "";
    llm_http_verdict_t v =
        c->judge ? c->judge(c->arg, status, c->resp ? c->resp : "", c->resp_len, why, sizeof why)
                 : s_default_judge(status, why, sizeof why);
    switch (v) {
    case LLM_HTTP_ACCEPT:
        c->error[0] = '\0';
        s_finish(c, true);
        break;
    case LLM_HTTP_RETRY:
        s_fmt(c->error, sizeof c->error, "%s", why[0] ? why : "retryable response");
        s_retry_or_fail(c);
        break;
    default:
        s_fmt(c->error, sizeof c->error, "%s", why[0] ? why : "refused");
        s_finish(c, false);
        break;
    }
}

static void s_check_done(llm_http_t *h)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(h->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL *easy = msg->easy_handle;
        CURLcode cc = msg->data.result;
        llm_http_call_t *c = NULL;
        if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c) != CURLE_OK || !c) continue;
        s_attempt_done(c, cc);
    }
}

/* ------------------------------------------------------------- public -- */

llm_http_t *llm_http_new(struct event_base *base)
{
    llm_http_t *h = NULL;
    if (!base) goto fail;
    /* Reference-counted inside libcurl; this process is single-threaded. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return NULL;
    h = calloc(1, sizeof *h);
    if (!h) goto fail;
    h->base = base;
    h->rng = (uint64_t)(uintptr_t)h ^ ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
    if (!h->rng) h->rng = 0x9e3779b97f4a7c15ull;
    h->timer = evtimer_new(base, s_on_timeout, h);
    if (!h->timer) goto fail;
    h->multi = curl_multi_init();
    if (!h->multi) goto fail;
    if (curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, s_on_curl_socket) != CURLM_OK ||
        curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
        curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, s_on_curl_timer) != CURLM_OK ||
        curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK)
        goto fail;
    return h;
fail:
    if (h) {
        if (h->multi) curl_multi_cleanup(h->multi);
        if (h->timer) event_free(h->timer);
        free(h);
        curl_global_cleanup();
    } else if (base) {
        curl_global_cleanup();
    }
    return NULL;
}

void llm_http_destroy(llm_http_t **hp)
{
    if (!hp || !*hp) return;
    llm_http_t *h = *hp;
    while (h->calls) s_call_free(h->calls);
    curl_multi_cleanup(h->multi);
    while (h->socks) s_sock_free(h, h->socks);
    event_free(h->timer);
    free(h);
    curl_global_cleanup();
    *hp = NULL;
}

#define S_SET(opt, val)                                                                            \
    do {                                                                                           \
        if (curl_easy_setopt(c->easy, opt, val) != CURLE_OK) goto fail;                            \
    } while (0)

llm_http_call_t *llm_http_post(llm_http_t *h, const llm_http_req_t *req, llm_http_judge_fn judge,
                               llm_http_done_fn done, void *arg)
{
    if (!h || !req || !req->url || !done) return NULL;
    llm_http_call_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->http = h;
    c->next = h->calls;
    h->calls = c;
    c->judge = judge;
    c->done = done;
    c->arg = arg;
    c->timeout_s = req->timeout_s > 0 ? req->timeout_s : 300;
    c->max_attempts = req->max_attempts > 0 ? req->max_attempts : 6;
    c->max_total_s = req->max_total_s > 0 ? req->max_total_s : 900;
    c->backoff_s = req->backoff_s > 0 ? req->backoff_s : 0.5;
    c->backoff_max_s = req->backoff_max_s > 0 ? req->backoff_max_s : 30;
    c->retry_after = -1;
    c->t_start = s_now();
    c->url = strdup(req->url);
    c->body = strdup(req->body ? req->body : "");
    c->retry_ev = evtimer_new(h->base, s_on_retry_timer, c);
    c->easy = curl_easy_init();
    if (!c->url || !c->body || !c->retry_ev || !c->easy) goto fail;
    for (size_t i = 0; i < req->n_headers; i++) {
        struct curl_slist *l = curl_slist_append(c->headers, req->headers[i]);
        if (!l) goto fail;
        c->headers = l;
    }
    /* An empty Expect keeps curl from waiting for 100-continue on big prompts. */
    struct curl_slist *l = curl_slist_append(c->headers, "Expect:");
    if (!l) goto fail;
    c->headers = l;

    S_SET(CURLOPT_URL, c->url);
    S_SET(CURLOPT_HTTPHEADER, c->headers);
    S_SET(CURLOPT_POST, 1L);
    S_SET(CURLOPT_POSTFIELDS, c->body);
    S_SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(c->body));
    S_SET(CURLOPT_WRITEFUNCTION, s_on_curl_body);
    S_SET(CURLOPT_WRITEDATA, c);
    S_SET(CURLOPT_HEADERFUNCTION, s_on_curl_header);
    S_SET(CURLOPT_HEADERDATA, c);
    S_SET(CURLOPT_PRIVATE, c);
    S_SET(CURLOPT_ERRORBUFFER, c->errbuf);
    S_SET(CURLOPT_NOSIGNAL, 1L);
    S_SET(CURLOPT_TIMEOUT_MS, (long)(c->timeout_s * 1000));
    S_SET(CURLOPT_CONNECTTIMEOUT_MS, (long)(c->timeout_s < 30 ? c->timeout_s * 1000 : 30000));
    S_SET(CURLOPT_ACCEPT_ENCODING, "");
    S_SET(CURLOPT_USERAGENT, "parley-agent/0.1");
    if (s_start_attempt(c) != 0) goto fail;
    return c;
fail:
    s_call_free(c);
    return NULL;
}

void llm_http_cancel(llm_http_call_t **cp)
{
    if (!cp || !*cp) return;
    s_call_free(*cp);
    *cp = NULL;
}

int llm_http_active(const llm_http_t *h)
{
    int n = 0;
    for (const llm_http_call_t *c = h ? h->calls : NULL; c; c = c->next) n++;
    return n;
}
