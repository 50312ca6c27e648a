/* pl_config_seat.c: the seats of a configuration (see pl_config.h).
 *
 * A seat is one agent's policy and, for llm seats, its provider, model and request
 * settings. This file holds a seat's life (init, copy, compare, free), the built-in
 * seats, the provider defaults filled in once every key is read, the checks on a
 * seat's values, and the reader of the `seats:` list of groups. The seat keys
 * themselves are rows of pl_cfg_seat_keys in pl_config.c.
 */
#include "pl_config.h"
#include "pl_config_internal.h"
#include "pl_policy.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* A seat's defaults, and the providers, layouts and reply formats it may name. */
#define S_SEAT_TEMPERATURE (-1.0)
#define S_SEAT_TIMEOUT     120.0

static const pl_cfg_provider_t s_providers[] = {
    {"openai", "https://api.openai.com/v1", "OPENAI_API_KEY"},
    {"anthropic", "https://api.anthropic.com/v1", "ANTHROPIC_API_KEY"},
};
#define S_N_PROVIDERS (sizeof s_providers / sizeof s_providers[0])

static const char *const s_layouts[] = {"paper", "cache"};
static const char *const s_reply_formats[] = {"text", "json_object", "json_schema", "tools"};
#define S_N_REPLY_FORMATS (sizeof s_reply_formats / sizeof s_reply_formats[0])
/* reasoning_effort values OpenAI's chat completions take (not every model takes each) */
static const char *const s_openai_efforts[] = {"none", "minimal", "low", "medium", "high", "xhigh"};
#define S_N_OPENAI_EFFORTS (sizeof s_openai_efforts / sizeof s_openai_efforts[0])
#define S_N_LAYOUTS        (sizeof s_layouts / sizeof s_layouts[0])

/* --------------------------------------------------------------- seats -- */

static void s_seat_free(pl_seat_t *s)
{
    free(s->policy);
    free(s->provider);
    free(s->model);
    free(s->base_url);
    free(s->api_key_env);
    free(s->reasoning_effort);
    for (size_t i = 0; i < s->n_headers; i++) {
        free(s->headers[i].name);
        free(s->headers[i].value);
    }
    free(s->headers);
    free(s->prompt_layout);
    free(s->prompt);
    free(s->reply_format);
    free(s->label);
    free(s->latency_dist);
    free(s->realtime_policy);
    free(s->fallback);
    memset(s, 0, sizeof *s);
}

void pl_cfg_seat_init(pl_seat_t *s)
{
    memset(s, 0, sizeof *s);
    s->temperature = S_SEAT_TEMPERATURE;
    s->timeout = S_SEAT_TIMEOUT;
    s->min_think = -1;
}

int pl_cfg_seat_copy(pl_seat_t *dst, const pl_seat_t *src)
{
    *dst = *src;
    dst->policy = pl_cfg_strdup(src->policy);
    dst->provider = pl_cfg_strdup(src->provider);
    dst->model = pl_cfg_strdup(src->model);
    dst->base_url = pl_cfg_strdup(src->base_url);
    dst->api_key_env = pl_cfg_strdup(src->api_key_env);
    dst->reasoning_effort = pl_cfg_strdup(src->reasoning_effort);
    dst->prompt_layout = pl_cfg_strdup(src->prompt_layout);
    dst->prompt = pl_cfg_strdup(src->prompt);
    dst->reply_format = pl_cfg_strdup(src->reply_format);
    dst->label = pl_cfg_strdup(src->label);
    dst->latency_dist = pl_cfg_strdup(src->latency_dist);
    dst->realtime_policy = pl_cfg_strdup(src->realtime_policy);
    dst->fallback = pl_cfg_strdup(src->fallback);
    dst->headers = NULL;
    dst->n_headers = 0;
    bool bad = (src->policy && !dst->policy) || (src->provider && !dst->provider) ||
               (src->model && !dst->model) || (src->base_url && !dst->base_url) ||
               (src->api_key_env && !dst->api_key_env) ||
               (src->reasoning_effort && !dst->reasoning_effort) ||
               (src->prompt_layout && !dst->prompt_layout) || (src->prompt && !dst->prompt) ||
               (src->reply_format && !dst->reply_format) || (src->label && !dst->label) ||
               (src->latency_dist && !dst->latency_dist) ||
               (src->realtime_policy && !dst->realtime_policy) || (src->fallback && !dst->fallback);
    if (!bad && src->n_headers) {
        dst->headers = calloc(src->n_headers, sizeof *dst->headers);
        bad = dst->headers == NULL;
        for (size_t i = 0; !bad && i < src->n_headers; i++) {
            dst->headers[i].name = strdup(src->headers[i].name);
            dst->headers[i].value = strdup(src->headers[i].value);
            dst->n_headers = i + 1;
            bad = !dst->headers[i].name || !dst->headers[i].value;
        }
    }
    if (bad) {
        s_seat_free(dst);
        return -1;
    }
    return 0;
}

bool pl_cfg_str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

bool pl_cfg_seat_equal(const pl_seat_t *a, const pl_seat_t *b)
{
    if (!pl_cfg_str_eq(a->policy, b->policy) || !pl_cfg_str_eq(a->provider, b->provider) ||
        !pl_cfg_str_eq(a->model, b->model) || !pl_cfg_str_eq(a->base_url, b->base_url) ||
        !pl_cfg_str_eq(a->api_key_env, b->api_key_env) ||
        !pl_cfg_str_eq(a->reasoning_effort, b->reasoning_effort) ||
        !pl_cfg_str_eq(a->prompt_layout, b->prompt_layout) ||
        !pl_cfg_str_eq(a->prompt, b->prompt) || !pl_cfg_str_eq(a->label, b->label) ||
        !pl_cfg_str_eq(a->reply_format, b->reply_format) || a->temperature != b->temperature ||
        a->max_tokens != b->max_tokens || a->timeout != b->timeout ||
        a->json_mode != b->json_mode || a->n_headers != b->n_headers ||
        a->deadline != b->deadline || a->bank != b->bank || a->latency != b->latency ||
        !pl_cfg_str_eq(a->latency_dist, b->latency_dist) || a->min_think != b->min_think ||
        !pl_cfg_str_eq(a->realtime_policy, b->realtime_policy) ||
        !pl_cfg_str_eq(a->fallback, b->fallback))
        return false;
    for (size_t i = 0; i < a->n_headers; i++)
        if (!pl_cfg_str_eq(a->headers[i].name, b->headers[i].name) ||
            !pl_cfg_str_eq(a->headers[i].value, b->headers[i].value))
            return false;
    return true;
}

void pl_cfg_seats_free(pl_seat_t *seats, int n)
{
    for (int i = 0; seats && i < n; i++) s_seat_free(&seats[i]);
    free(seats);
}

/* The built-in seats: the first half perfect (rounded up), the rest selfish. */
pl_seat_t *pl_cfg_default_seats(int n)
{
    pl_seat_t *seats = calloc((size_t)n, sizeof *seats);
    if (!seats) return NULL;
    for (int i = 0; i < n; i++) {
        pl_cfg_seat_init(&seats[i]);
        seats[i].policy = strdup(i < (n + 1) / 2 ? "perfect" : "selfish");
        if (!seats[i].policy) {
            pl_cfg_seats_free(seats, n);
            return NULL;
        }
    }
    return seats;
}

bool pl_cfg_seats_are_default(const pl_seat_t *seats, int n)
{
    pl_seat_t *d = pl_cfg_default_seats(n);
    bool same = d != NULL;
    for (int i = 0; same && i < n; i++) same = pl_cfg_seat_equal(&seats[i], &d[i]);
    pl_cfg_seats_free(d, n);
    return same;
}

const pl_cfg_provider_t *pl_cfg_provider(const char *name)
{
    for (size_t i = 0; name && i < S_N_PROVIDERS; i++)
        if (strcmp(name, s_providers[i].name) == 0) return &s_providers[i];
    return NULL;
}

/* Fills the llm defaults that depend on the provider, once every key is read. */
int pl_cfg_seat_resolve(pl_seat_t *s)
{
    /* A human seat whose fallback is llm is an llm seat once its person left. */
    bool llm = (s->policy && strcmp(s->policy, "llm") == 0) ||
               (s->fallback && strcmp(s->fallback, "llm") == 0);
    if (!llm) return 0;
    if (!s->provider && !(s->provider = strdup("openai"))) return -1;
    const pl_cfg_provider_t *p = pl_cfg_provider(s->provider);
    if (!p) return 0; /* refused by the check that follows */
    if (!s->base_url && !(s->base_url = strdup(p->base_url))) return -1;
    /* api_key_env is not filled in: pl_seat_key_env() decides from base_url at use,
     * so that a base_url changed later by an override never inherits a vendor key */
    if (!s->prompt_layout && !(s->prompt_layout = strdup("paper"))) return -1;
    if (!s->reply_format && !(s->reply_format = strdup(s->json_mode ? "json_object" : "text")))
        return -1;
    return 0;
}

/* Whether url's host is `host` (scheme and port aside, case-insensitive). */
static bool s_url_host_is(const char *url, const char *host)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    size_t n = strcspn(h, ":/?#");
    return n == strlen(host) && strncasecmp(h, host, n) == 0;
}

const char *pl_seat_key_env(const pl_seat_t *s)
{
    if (!s) return NULL;
    if (s->api_key_env && *s->api_key_env) return s->api_key_env;
    const pl_cfg_provider_t *p = pl_cfg_provider(s->provider ? s->provider : "openai");
    if (!p) return NULL;
    const char *vendor = p->base_url + strlen("https://");
    size_t n = strcspn(vendor, "/");
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)n, vendor);
    if (!s->base_url || !*s->base_url || s_url_host_is(s->base_url, host)) return p->api_key_env;
    return NULL;
}

int pl_seat_thinking_budget(const pl_seat_t *s)
{
    const char *e = s ? s->reasoning_effort : NULL;
    if (!e || !*e) return 0;
    if (strcmp(e, "low") == 0) return 1024;
    if (strcmp(e, "medium") == 0) return 4096;
    if (strcmp(e, "high") == 0) return 16384;
    int64_t n;
    if (pl_cfg_parse_i64(e, &n) == 0 && n >= 1024 && n <= 100000000) return (int)n;
    return -1;
}

/* The line of `field` in the seat group that starts on `line`, or `line`. */
static int s_seat_key_line(const pl_cfg_ctx_t *x, int line, const char *field)
{
    if (!x->lines || !x->doc || line <= 0) return line;
    for (yaml_node_t *n = x->doc->nodes.start; n < x->doc->nodes.top; n++) {
        if (n->type != YAML_MAPPING_NODE || pl_cfg_line(x, n) != line) continue;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
            if (strcmp(pl_cfg_key_text(x->doc, p), field) == 0)
                return pl_cfg_line(x, yaml_document_get_node(x->doc, p->key));
    }
    return line;
}

/* What each provider accepts, checked before anything is sent: a value the
 * provider would refuse, or one parley would otherwise have to change at send
 * time, is refused here with its line. */
static int s_seat_check_llm(pl_cfg_ctx_t *x, const pl_seat_t *s, int i, int line)
{
    bool anthropic = strcmp(s->provider, "anthropic") == 0;
    int a = i + 1;
    if (s->reply_format) {
        bool ok = false;
        for (size_t k = 0; k < S_N_REPLY_FORMATS; k++)
            ok |= strcmp(s->reply_format, s_reply_formats[k]) == 0;
        if (!ok)
            return pl_cfg_fail(
                x, s_seat_key_line(x, line, "reply_format"),
                "seats: agent_%d: unknown reply_format \"%s\" (one of text, json_object, "
                "json_schema, tools)",
                a, s->reply_format);
        if (s->json_mode && strcmp(s->reply_format, "json_object") != 0)
            return pl_cfg_fail(
                x, s_seat_key_line(x, line, "json_mode"),
                "seats: agent_%d: json_mode: true is the old spelling of reply_format: "
                "json_object and contradicts reply_format: %s (write only reply_format)",
                a, s->reply_format);
    }
    if (anthropic && s->reply_format && strcmp(s->reply_format, "json_object") == 0)
        return pl_cfg_fail(
            x, s_seat_key_line(x, line, s->json_mode ? "json_mode" : "reply_format"),
            "seats: agent_%d: anthropic has no JSON-object mode: write reply_format: "
            "json_schema (a forced tool holding the decision) or text",
            a);
    double tmax = anthropic ? 1.0 : 2.0;
    if (s->temperature >= 0 && s->temperature > tmax)
        return pl_cfg_fail(x, s_seat_key_line(x, line, "temperature"),
                           "seats: agent_%d: temperature %g is out of range for %s (0 to %g; a "
                           "negative value means not sent)",
                           a, s->temperature, s->provider, tmax);
    if (!s->reasoning_effort) return 0;
    int eline = s_seat_key_line(x, line, "reasoning_effort");
    if (!anthropic) {
        for (size_t k = 0; k < S_N_OPENAI_EFFORTS; k++)
            if (strcmp(s->reasoning_effort, s_openai_efforts[k]) == 0) return 0;
        return pl_cfg_fail(
            x, eline,
            "seats: agent_%d: reasoning_effort \"%s\" is not one openai takes (none, "
            "minimal, low, medium, high, xhigh)",
            a, s->reasoning_effort);
    }
    int budget = pl_seat_thinking_budget(s);
    if (budget < 0)
        return pl_cfg_fail(
            x, eline,
            "seats: agent_%d: reasoning_effort \"%s\" is not one anthropic seats take "
            "(low, medium, high: a thinking budget of 1024, 4096, 16384 tokens; or a "
            "budget of at least 1024 tokens as a number)",
            a, s->reasoning_effort);
    int max = s->max_tokens > 0 ? s->max_tokens : PL_ANTHROPIC_MAX_TOKENS;
    if (max <= budget)
        return pl_cfg_fail(
            x, s->max_tokens > 0 ? s_seat_key_line(x, line, "max_tokens") : eline,
            "seats: agent_%d: max_tokens %d%s must be larger than the thinking budget "
            "%d of reasoning_effort %s (the budget is part of max_tokens: write "
            "max_tokens: %d or more)",
            a, max, s->max_tokens > 0 ? "" : " (the default)", budget, s->reasoning_effort,
            budget + 1024);
    if (s->temperature >= 0)
        return pl_cfg_fail(x, s_seat_key_line(x, line, "temperature"),
                           "seats: agent_%d: anthropic takes no temperature with thinking on "
                           "(reasoning_effort %s): remove one of the two",
                           a, s->reasoning_effort);
    if (s->reply_format && strcmp(s->reply_format, "json_schema") == 0)
        return pl_cfg_fail(x, s_seat_key_line(x, line, "reply_format"),
                           "seats: agent_%d: reply_format json_schema forces a tool on anthropic, "
                           "which thinking does not allow (reasoning_effort %s): use tools or text",
                           a, s->reasoning_effort);
    return 0;
}

/* Closest name of a list, for messages. */
const char *pl_cfg_closest(const char *given, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) pl_cfg_suggest(given, names[i], &best, &best_d);
    return best;
}

#define S_RT_MIN_THINK 0.25 /* realtime: a floor on the decision rate */

static double s_mode_min_think(const pl_config_t *c)
{
    return c->timing == PL_TIMING_REALTIME ? S_RT_MIN_THINK : 0.0;
}

double pl_seat_min_think(const pl_config_t *c, int i)
{
    if (i >= 0 && i < c->n_seats && c->seats[i].min_think >= 0) return c->seats[i].min_think;
    return c->min_think >= 0 ? c->min_think : s_mode_min_think(c);
}

double pl_seat_deadline(const pl_config_t *c, int i, bool human)
{
    if (i >= 0 && i < c->n_seats && c->seats[i].deadline > 0) return c->seats[i].deadline;
    if (human && c->human_turn_timeout > 0) return c->human_turn_timeout;
    return c->turn_timeout > 0 ? c->turn_timeout : PL_CFG_TURN_TIMEOUT;
}

static const char *const s_latency_dists[] = {"fixed", "uniform", "exponential"};
static const char *const s_rt_policies[] = {"decide_now", "wait", "redecide"};

static bool s_one_of(const char *v, const char *const *names, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(v, names[k]) == 0) return true;
    return false;
}

/* A seat's timing keys: names known, and a think time that fits its deadline. */
int pl_cfg_seat_check_timing(pl_cfg_ctx_t *x, const pl_config_t *c, const pl_seat_t *s, int i,
                             int line)
{
    if (s->latency_dist && !s_one_of(s->latency_dist, s_latency_dists, 3))
        return pl_cfg_fail(x, s_seat_key_line(x, line, "latency_dist"),
                           "seats: agent_%d: unknown latency_dist \"%s\" (fixed, uniform or "
                           "exponential)",
                           i + 1, s->latency_dist);
    if (s->realtime_policy && !s_one_of(s->realtime_policy, s_rt_policies, 3))
        return pl_cfg_fail(x, s_seat_key_line(x, line, "realtime_policy"),
                           "seats: agent_%d: unknown realtime_policy \"%s\" (decide_now, wait or "
                           "redecide)",
                           i + 1, s->realtime_policy);
    /* Outside realtime the broker holds a decision until min_think has passed:
     * a think time at or past the deadline would miss every turn. */
    double think = pl_seat_min_think(c, i), deadline = pl_seat_deadline(c, i, false);
    if (c->timing != PL_TIMING_REALTIME && think > 0 && think >= deadline + s->bank)
        return pl_cfg_fail(
            x, s_seat_key_line(x, line, s->min_think >= 0 ? "min_think" : "deadline"),
            "seats: agent_%d: min_think %gs is not below the turn deadline %gs (every "
            "turn would be missed)",
            i + 1, think, deadline + s->bank);
    return 0;
}

/* A human seat's fallback: a policy a program plays (a person cannot be
 * started in someone's place), declared where a person sits. */
static int s_seat_check_fallback(pl_cfg_ctx_t *x, const pl_seat_t *s, int i, int line)
{
    int fline = s_seat_key_line(x, line, "fallback");
    if (strcmp(s->policy, "human") != 0)
        return pl_cfg_fail(x, fline,
                           "seats: agent_%d: fallback is for a seat whose policy is human (a %s "
                           "seat plays to the end by itself)",
                           i + 1, s->policy);
    const pl_policy_t *p = pl_policy_find(s->fallback);
    if (!p || p->kind == PL_POLICY_PERSON) {
        const char *names[16];
        size_t n = 0;
        char list[256] = "", hint[96];
        for (size_t k = 0; k < pl_policy_count() && n < 16; k++) {
            const pl_policy_t *q = pl_policy_at(k);
            if (q->kind == PL_POLICY_PERSON) continue;
            names[n++] = q->name;
            size_t at = strlen(list);
            snprintf(list + at, sizeof list - at, "%s%s", at ? ", " : "", q->name);
        }
        return pl_cfg_fail(
            x, fline,
            "seats: agent_%d: fallback \"%s\" is not a policy a program plays%s "
            "(one of %s)",
            i + 1, s->fallback,
            pl_cfg_hint(hint, sizeof hint, p ? NULL : pl_cfg_closest(s->fallback, names, n)), list);
    }
    if (strcmp(s->fallback, "llm") != 0) return 0;
    if (!s->model || !s->model[0])
        return pl_cfg_fail(
            x, fline, "seats: agent_%d: an llm fallback needs a model on the seat (model: ...)",
            i + 1);
    return s->provider ? s_seat_check_llm(x, s, i, line) : 0;
}

int pl_cfg_seat_check(pl_cfg_ctx_t *x, const pl_seat_t *s, int i, int line)
{
    char hint[96];
    if (!s->policy) return pl_cfg_fail(x, line, "seats: agent_%d has no policy", i + 1);
    /* One registry (pl_policy.h) with the agents: what no agent can play is
     * refused here, not discovered seat by seat once the run has started. */
    if (!pl_policy_find(s->policy)) {
        const char *names[16];
        size_t n_names = 0;
        for (size_t k = 0; k < pl_policy_count() && n_names < 16; k++)
            names[n_names++] = pl_policy_at(k)->name;
        return pl_cfg_fail(
            x, line, "seats: agent_%d: unknown policy \"%s\"%s (one of %s)", i + 1, s->policy,
            pl_cfg_hint(hint, sizeof hint, pl_cfg_closest(s->policy, names, n_names)),
            pl_policy_names());
    }
    if (s->provider && !pl_cfg_provider(s->provider)) {
        const char *names[S_N_PROVIDERS];
        for (size_t k = 0; k < S_N_PROVIDERS; k++) names[k] = s_providers[k].name;
        return pl_cfg_fail(
            x, line, "seats: agent_%d: unknown provider \"%s\"%s (one of openai, anthropic)", i + 1,
            s->provider,
            pl_cfg_hint(hint, sizeof hint, pl_cfg_closest(s->provider, names, S_N_PROVIDERS)));
    }
    if (s->prompt_layout) {
        bool ok = false;
        for (size_t k = 0; k < S_N_LAYOUTS; k++) ok |= strcmp(s->prompt_layout, s_layouts[k]) == 0;
        if (!ok)
            return pl_cfg_fail(x, line,
                               "seats: agent_%d: unknown prompt_layout \"%s\" (paper or cache)",
                               i + 1, s->prompt_layout);
    }
    if (strcmp(s->policy, "llm") == 0 && (!s->model || !s->model[0]))
        return pl_cfg_fail(x, line, "seats: agent_%d: an llm seat needs a model", i + 1);
    if (strcmp(s->policy, "llm") == 0 && s->provider) return s_seat_check_llm(x, s, i, line);
    if (s->fallback) return s_seat_check_fallback(x, s, i, line);
    return 0;
}

static int s_headers_read(pl_cfg_ctx_t *x, pl_seat_t *s, const yaml_node_t *n, const char *key)
{
    int m = pl_cfg_want_map(x, n, key);
    if (m < 0) return -1;
    for (size_t i = 0; i < s->n_headers; i++) {
        free(s->headers[i].name);
        free(s->headers[i].value);
    }
    free(s->headers);
    s->headers = NULL;
    s->n_headers = 0;
    if (m == 0) return 0;
    if (pl_cfg_check_keys(x, n, key)) return -1;
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (cnt == 0) return 0;
    s->headers = calloc(cnt, sizeof *s->headers);
    if (!s->headers) return pl_cfg_fail(x, pl_cfg_line(x, n), "%s: out of memory", key);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
        const char *val;
        bool plain;
        if (pl_cfg_scalar(x, v, key, &val, &plain)) return -1;
        pl_header_t *h = &s->headers[s->n_headers];
        h->name = strdup(pl_cfg_key_text(x->doc, p));
        h->value = strdup(val);
        s->n_headers++;
        if (!h->name || !h->value)
            return pl_cfg_fail(x, pl_cfg_line(x, v), "%s: out of memory", key);
    }
    return 0;
}

/* One field of one seat (file group or override). */
int pl_cfg_seat_field(pl_cfg_ctx_t *x, pl_seat_t *s, const char *field, const yaml_node_t *v,
                      const char *where, int line)
{
    char key[160];
    snprintf(key, sizeof key, "%s.%s", where, field);
    const pl_cfg_key_t *k = pl_cfg_find(pl_cfg_seat_keys, pl_cfg_n_seat_keys, field);
    if (!k) {
        const char *best = NULL;
        size_t best_d = SIZE_MAX;
        char hint[96];
        for (size_t i = 0; i < pl_cfg_n_seat_keys; i++)
            pl_cfg_suggest(field, pl_cfg_seat_keys[i].key, &best, &best_d);
        return pl_cfg_fail(x, line, "%s: unknown key \"%s\"%s", where, field,
                           pl_cfg_hint(hint, sizeof hint, best));
    }
    if (k->kind == S_HEADERS) return s_headers_read(x, s, v, key);
    if (k->kind == S_COUNT)
        return pl_cfg_fail(x, line, "%s: count belongs to a group in the file", key);
    return pl_cfg_apply(x, k, s, v, key);
}

/* seats: a list of groups, assigned to agent_1.. in order. */
int pl_cfg_seats_read(pl_cfg_ctx_t *x, pl_config_t *c, const yaml_node_t *n, int line)
{
    pl_seat_t *seats = NULL;
    int *lines = NULL;
    int total = 0;
    pl_seat_t group;
    pl_cfg_seat_init(&group);
    x->seats_line = line;
    if (!n || n->type != YAML_SEQUENCE_NODE) {
        pl_cfg_fail(x, pl_cfg_line(x, n), "seats: expected a list of seat groups, got %s",
                    pl_cfg_node_kind(n));
        goto fail;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *g = yaml_document_get_node(x->doc, *it);
        int gi = (int)(it - n->data.sequence.items.start);
        char where[32];
        snprintf(where, sizeof where, "seats[%d]", gi);
        if (!g || g->type != YAML_MAPPING_NODE) {
            pl_cfg_fail(x, pl_cfg_line(x, g), "%s: expected a mapping (policy, count, ...), got %s",
                        where, pl_cfg_node_kind(g));
            goto fail;
        }
        if (pl_cfg_check_keys(x, g, where)) goto fail;
        pl_cfg_seat_init(&group);
        int64_t count = 1;
        for (yaml_node_pair_t *p = g->data.mapping.pairs.start; p < g->data.mapping.pairs.top;
             p++) {
            const char *field = pl_cfg_key_text(x->doc, p);
            yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
            if (strcmp(field, "count") == 0) {
                const char *cv;
                bool plain;
                char key[48];
                snprintf(key, sizeof key, "%s.count", where);
                if (pl_cfg_scalar(x, v, key, &cv, &plain)) goto fail;
                if (pl_cfg_parse_i64(cv, &count) || count < 1 || count > ENV_MAX_AGENTS) {
                    pl_cfg_fail(x, pl_cfg_line(x, v),
                                "%s: expected a whole number from 1 to %d, got \"%s\"", key,
                                ENV_MAX_AGENTS, cv);
                    goto fail;
                }
                continue;
            }
            if (pl_cfg_seat_field(x, &group, field, v, where,
                                  pl_cfg_line(x, yaml_document_get_node(x->doc, p->key))))
                goto fail;
        }
        if (!group.policy) {
            pl_cfg_fail(x, pl_cfg_line(x, g), "%s: a seat group needs a policy", where);
            goto fail;
        }
        if (total + count > ENV_MAX_AGENTS) {
            pl_cfg_fail(x, pl_cfg_line(x, g), "seats: more than %d seats", ENV_MAX_AGENTS);
            goto fail;
        }
        pl_seat_t *ns = realloc(seats, (size_t)(total + count) * sizeof *seats);
        if (!ns) goto oom;
        seats = ns;
        int *nl = realloc(lines, (size_t)(total + count) * sizeof *lines);
        if (!nl) goto oom;
        lines = nl;
        for (int64_t k = 0; k < count; k++) {
            if (pl_cfg_seat_copy(&seats[total], &group)) goto oom;
            lines[total] = pl_cfg_line(x, g);
            total++;
        }
        s_seat_free(&group);
    }
    pl_cfg_seats_free(c->seats, c->n_seats);
    c->seats = seats;
    c->n_seats = total;
    free(x->seat_line);
    x->seat_line = lines;
    x->seats_read = true;
    return 0;
oom:
    pl_cfg_fail(x, pl_cfg_line(x, n), "seats: out of memory");
fail:
    s_seat_free(&group);
    pl_cfg_seats_free(seats, total);
    free(lines);
    return -1;
}
