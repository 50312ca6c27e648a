/* pl_config.c: the experiment configuration loader (see pl_config.h).
 *
 * A YAML file is loaded with libyaml's document API into a node tree, checked for
 * aliases (refused: a small file must not expand into a huge one), then walked key
 * by key. Every scalar key is described once in a table (its path, its type, where
 * it goes, its range), and the same table serves the file loader and the
 * `--set key=value` overrides, so both accept exactly the same keys and values.
 * Rule-level checks across keys (pieces_per_task <= total_pieces ...) belong to
 * the environment: env_config_check() decides, and its message is reported at the
 * line of the key it names. Errors read "FILE:LINE: message".
 */
#include "pl_config.h"
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

/* A configuration file is a page of text; anything larger is a mistake. */
#define S_MAX_FILE (1024 * 1024)
#define S_MAX_SEEN 256

/* ------------------------------------------------------------- defaults -- */

#define S_TURN_TIMEOUT       60.0
#define S_HUMAN_TURN_TIMEOUT 300.0
#define S_DURATION           120.0
#define S_MIN_THINK          -1.0 /* the mode's default: pl_seat_min_think */
#define S_RT_MIN_THINK       0.25 /* realtime: a floor on the decision rate */
#define S_HEARTBEAT          2.0
#define S_SEAT_TEMPERATURE   (-1.0)
#define S_SEAT_TIMEOUT       120.0

typedef struct {
    const char *name, *base_url, *api_key_env;
} s_provider_t;

static const s_provider_t s_providers[] = {
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

static const char *const s_timings[] = {"sequential", "simultaneous", "realtime"};
#define S_N_TIMINGS (sizeof s_timings / sizeof s_timings[0])

const char *pl_timing_name(pl_timing_t t)
{
    if ((size_t)t < S_N_TIMINGS) return s_timings[t];
    return "unknown";
}

int pl_timing_from_name(const char *name)
{
    for (size_t i = 0; name && i < S_N_TIMINGS; i++)
        if (strcmp(name, s_timings[i]) == 0) return (int)i;
    return -1;
}

/* ----------------------------------------------------------- key tables -- */

typedef enum {
    S_INT,      /* int, whole number in [min, max] */
    S_I64,      /* int64_t */
    S_U64,      /* uint64_t (the seed) */
    S_NUM,      /* double in [min, max]; `strict` excludes min */
    S_BOOL,     /* bool */
    S_STR,      /* char *, owned; a plain null/~/empty value means NULL */
    S_AUTO,     /* env_automation_t by name */
    S_TIMING,   /* pl_timing_t by name */
    S_TRANSP,   /* transparency.show_full_revenue: sets all five parts */
    S_HEADERS,  /* seat headers: a mapping name -> value */
    S_COUNT,    /* seat group count: handled by the group reader */
    S_INFO_TPL, /* information.info_templates: a list of strings */
    S_TASK_TPL, /* tasks.task_templates: a list of strings */
    S_ZERO,     /* an option of the study parley does not support yet: only 0/false */
    S_GONE,     /* a name with another meaning before: refused, saying what to write */
} s_kind_t;

typedef struct {
    const char *key; /* full path ("simulation.rounds"), or a field name */
    s_kind_t kind;
    size_t off; /* offset in the struct the table describes */
    double min, max;
    bool strict; /* min itself is refused */
    int pass;    /* keys of pass 1 are applied after pass 0 in the same section */
} s_key_t;

#define C_(f) offsetof(pl_config_t, f)
#define G_(f) offsetof(pl_config_t, game.f)
#define BIG   1e15

/* Every scalar key of the file under the root. Sections are the part before the
 * dot; a key without a dot sits at the top level. */
static const s_key_t s_keys[] = {
    {"scenario", S_STR, C_(scenario), 0, 0, false, 0},
    {"seed", S_U64, G_(seed), 0, 0, false, 0},
    {"automation", S_AUTO, G_(automation), 0, 0, false, 0},
    {"blind", S_BOOL, C_(blind), 0, 0, false, 0},
    {"simulation.rounds", S_INT, G_(rounds), 1, 1000000, false, 0},
    {"simulation.agents", S_INT, G_(n_agents), 1, ENV_MAX_AGENTS, false, 0},
    {"information.total_pieces", S_INT, G_(total_pieces), 1, ENV_MAX_PIECES, false, 0},
    {"information.pieces_per_agent", S_INT, G_(pieces_per_agent), 0, ENV_MAX_PIECES, false, 0},
    {"tasks.pieces_per_task", S_INT, G_(pieces_per_task), 1, ENV_MAX_PIECES, false, 0},
    {"tasks.active_per_agent", S_INT, G_(active_per_agent), 1, 1000000, false, 0},
    {"revenue.task_completion", S_I64, G_(task_reward), 0, BIG, false, 0},
    {"revenue.information_sharing", S_I64, G_(sharing_bonus), 0, BIG, false, 0},
    {"revenue.incorrect_value_penalty", S_NUM, G_(misreport_rate), 0, 1, false, 0},
    /* The umbrella flag first, so that a part named anywhere in the section wins. */
    {"transparency.show_full_revenue", S_TRANSP, 0, 0, 0, false, 0},
    {"transparency.revenue_board", S_BOOL, G_(show_revenue_board), 0, 0, false, 1},
    {"transparency.exchanges", S_BOOL, G_(show_exchanges), 0, 0, false, 1},
    {"transparency.public_notices", S_BOOL, G_(show_public_notices), 0, 0, false, 1},
    {"transparency.receipt_notice", S_BOOL, G_(show_receipt_notice), 0, 0, false, 1},
    {"transparency.thoughts", S_BOOL, G_(show_thoughts), 0, 0, false, 1},
    {"rules.submit_fallback_first_task", S_BOOL, G_(submit_fallback_first), 0, 0, false, 0},
    /* The study's mechanics (docs/FIDELITY.md); defaults are the original's. */
    {"rules.instant_fulfilment_exact_request", S_BOOL, G_(instant_perfect_only), 0, 0, false, 0},
    {"rules.submit_exact_names", S_BOOL, G_(submit_exact_names), 0, 0, false, 0},
    {"rules.automated_transfers_as_agents", S_BOOL, G_(automated_as_agents), 0, 0, false, 0},
    {"rules.auto_request_once", S_BOOL, G_(auto_request_once), 0, 0, false, 0},
    {"rules.count_failed_sends", S_BOOL, G_(count_failed_sends), 0, 0, false, 0},
    {"revenue.bonus_for_first", S_I64, G_(first_bonus), 0, BIG, false, 0},
    {"tasks.min_pieces_per_task", S_INT, G_(min_pieces_per_task), 0, 64, false, 0},
    {"tasks.max_pieces_per_task", S_INT, G_(pieces_per_task), 1, ENV_MAX_PIECES, false, 0},
    {"tasks.new_task_on_completion", S_BOOL, G_(new_task_on_completion), 0, 0, false, 0},
    {"tasks.task_templates", S_TASK_TPL, 0, 0, 0, false, 0},
    {"information.unique_distribution", S_BOOL, G_(unique_distribution), 0, 0, false, 0},
    {"information.info_templates", S_INFO_TPL, 0, 0, 0, false, 0},
    {"communication.max_actions_per_turn", S_INT, G_(max_actions_per_turn), -1, 1000000, false, 0},
    {"simulation.report_frequency", S_ZERO, 0, 0, 0, false, 0},
    {"revenue.misreport_factor", S_GONE, 0, 0, 0, false, 0},
    {"simulation.fail_fast_on_agent_error", S_BOOL, C_(fail_fast), 0, 0, false, 0},
    {"rules.tell_failed_submission", S_BOOL, G_(tell_failed_submission), 0, 0, false, 0},
    {"rules.report_invalid_actions", S_BOOL, G_(report_invalid_actions), 0, 0, false, 0},
    {"history.truncate", S_BOOL, G_(truncate_history), 0, 0, false, 0},
    {"timing.mode", S_TIMING, C_(timing), 0, 0, false, 0},
    {"timing.turn_timeout", S_NUM, C_(turn_timeout), 0, BIG, true, 0},
    {"timing.human_turn_timeout", S_NUM, C_(human_turn_timeout), 0, BIG, true, 0},
    {"timing.duration", S_NUM, C_(duration), 0, BIG, true, 0},
    {"timing.min_think", S_NUM, C_(min_think), 0, BIG, false, 0},
    {"timing.heartbeat", S_NUM, C_(heartbeat), 0, BIG, true, 0},
    {"llm.prompt", S_STR, C_(llm_prompt), 0, 0, false, 0},
    {"agents.mode", S_STR, C_(agents_mode), 0, 0, false, 0},
};
#define S_N_KEYS (sizeof s_keys / sizeof s_keys[0])

/* Top-level keys whose value is not a scalar or a section of scalars. */
static const char *const s_complex[] = {"agent_types", "seats", "prices"};
#define S_N_COMPLEX (sizeof s_complex / sizeof s_complex[0])

#define S_(f) offsetof(pl_seat_t, f)
static const s_key_t s_seat_keys[] = {
    {"policy", S_STR, S_(policy), 0, 0, false, 0},
    {"count", S_COUNT, 0, 1, ENV_MAX_AGENTS, false, 0},
    {"provider", S_STR, S_(provider), 0, 0, false, 0},
    {"model", S_STR, S_(model), 0, 0, false, 0},
    {"base_url", S_STR, S_(base_url), 0, 0, false, 0},
    {"api_key_env", S_STR, S_(api_key_env), 0, 0, false, 0},
    {"temperature", S_NUM, S_(temperature), -BIG, BIG, false, 0},
    {"max_tokens", S_INT, S_(max_tokens), 0, 100000000, false, 0},
    {"reasoning_effort", S_STR, S_(reasoning_effort), 0, 0, false, 0},
    {"timeout", S_NUM, S_(timeout), 0, BIG, true, 0},
    {"headers", S_HEADERS, 0, 0, 0, false, 0},
    {"prompt_layout", S_STR, S_(prompt_layout), 0, 0, false, 0},
    {"prompt", S_STR, S_(prompt), 0, 0, false, 0},
    {"json_mode", S_BOOL, S_(json_mode), 0, 0, false, 0},
    {"reply_format", S_STR, S_(reply_format), 0, 0, false, 0},
    {"label", S_STR, S_(label), 0, 0, false, 0},
    {"deadline", S_NUM, S_(deadline), 0, BIG, false, 0},
    {"bank", S_NUM, S_(bank), 0, BIG, false, 0},
    {"latency", S_NUM, S_(latency), 0, BIG, false, 0},
    {"latency_dist", S_STR, S_(latency_dist), 0, 0, false, 0},
    {"min_think", S_NUM, S_(min_think), 0, BIG, false, 0},
    {"realtime_policy", S_STR, S_(realtime_policy), 0, 0, false, 0},
};
#define S_N_SEAT_KEYS (sizeof s_seat_keys / sizeof s_seat_keys[0])

#define P_(f) offsetof(pl_price_t, f)
static const s_key_t s_price_keys[] = {
    {"input", S_NUM, P_(input), 0, BIG, false, 0},
    {"output", S_NUM, P_(output), 0, BIG, false, 0},
    {"cached_input", S_NUM, P_(cached_input), 0, BIG, false, 0},
};
#define S_N_PRICE_KEYS (sizeof s_price_keys / sizeof s_price_keys[0])

/* ------------------------------------------------------------- context -- */

typedef struct {
    char key[80];
    int line;
} s_seen_t;

/* One load or one override: where messages go and what they may cite. */
typedef struct {
    const char *name; /* file name, or the assignment of an override */
    bool lines;       /* false for overrides: their "lines" mean nothing */
    char *err;
    size_t errlen;
    yaml_document_t *doc;
    s_seen_t seen[S_MAX_SEEN]; /* lines of the keys read, to place env's messages */
    size_t n_seen;
    int seats_line;  /* line of `seats:`, 0 when the file has none */
    int *seat_line;  /* [n_seats] line of each seat's group, or NULL */
    bool seats_read; /* the file gave a seats list */
} s_ctx_t;

static int s_line(const s_ctx_t *x, const yaml_node_t *n)
{
    return (x->lines && n) ? (int)n->start_mark.line + 1 : 0;
}

__attribute__((format(printf, 3, 4))) static int s_fail(s_ctx_t *x, int line, const char *fmt, ...)
{
    if (!x->err || x->errlen == 0) return -1;
    int n = line > 0 ? snprintf(x->err, x->errlen, "%s:%d: ", x->name, line)
                     : snprintf(x->err, x->errlen, "%s: ", x->name);
    if (n < 0) n = 0;
    if ((size_t)n < x->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void s_seen(s_ctx_t *x, const char *key, const yaml_node_t *n)
{
    if (!x->lines || x->n_seen >= S_MAX_SEEN) return;
    snprintf(x->seen[x->n_seen].key, sizeof x->seen[0].key, "%s", key);
    x->seen[x->n_seen].line = s_line(x, n);
    x->n_seen++;
}

/* ------------------------------------------------------------- helpers -- */

static char *s_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Edit distance, for "did you mean". Long strings are never close enough. */
static size_t s_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return SIZE_MAX;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* Remembers `cand` as the suggestion when it is closer to `given` than the best so far. */
static void s_suggest(const char *given, const char *cand, const char **best, size_t *best_d)
{
    size_t d = s_distance(given, cand);
    size_t len = strlen(given);
    if (d == SIZE_MAX || (d > 2 && d * 3 > len)) return;
    if (d < *best_d) {
        *best = cand;
        *best_d = d;
    }
}

/* " (did you mean 'x'?)" or "" */
static const char *s_hint(char *buf, size_t len, const char *best)
{
    if (!best) return "";
    snprintf(buf, len, " (did you mean '%s'?)", best);
    return buf;
}

static const char *s_node_kind(const yaml_node_t *n)
{
    if (!n) return "nothing";
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

/* The text of a scalar node; an absent node (an empty override) reads as "". */
static int s_scalar(s_ctx_t *x, const yaml_node_t *n, const char *key, const char **out,
                    bool *plain)
{
    if (!n) {
        *out = "";
        *plain = true;
        return 0;
    }
    if (n->type != YAML_SCALAR_NODE)
        return s_fail(x, s_line(x, n), "%s: expected a single value, got %s", key, s_node_kind(n));
    const char *v = (const char *)n->data.scalar.value;
    if (strlen(v) != n->data.scalar.length)
        return s_fail(x, s_line(x, n), "%s: the value contains a NUL character", key);
    *out = v;
    *plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
             n->data.scalar.style == YAML_ANY_SCALAR_STYLE;
    return 0;
}

static bool s_is_null(const char *v, bool plain)
{
    return plain && (v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
                     strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0);
}

/* A mapping, or a null value read as an empty mapping ("simulation:" alone). */
static int s_want_map(s_ctx_t *x, const yaml_node_t *n, const char *key)
{
    if (n && n->type == YAML_MAPPING_NODE) return 1;
    if (!n) return 0;
    if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        s_is_null((const char *)n->data.scalar.value, true))
        return 0;
    return s_fail(x, s_line(x, n), "%s: expected a mapping of keys, got %s", key, s_node_kind(n));
}

static const char *s_key_text(const yaml_document_t *doc, const yaml_node_pair_t *p)
{
    yaml_node_t *k = yaml_document_get_node((yaml_document_t *)doc, p->key);
    if (!k || k->type != YAML_SCALAR_NODE) return NULL;
    return (const char *)k->data.scalar.value;
}

/* Every key of a mapping is a plain string and appears once. */
static int s_check_keys(s_ctx_t *x, const yaml_node_t *map, const char *where)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
        const char *ks = s_key_text(x->doc, p);
        if (!ks) return s_fail(x, s_line(x, k), "%s: keys must be plain names", where);
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            const char *qs = s_key_text(x->doc, q);
            if (qs && strcmp(qs, ks) == 0)
                return s_fail(x, s_line(x, k), "%s%s%s: duplicate key (first given on line %d)",
                              where[0] ? where : "", where[0] ? "." : "", ks,
                              s_line(x, yaml_document_get_node(x->doc, q->key)));
        }
    }
    return 0;
}

/* ------------------------------------------------------ scalar parsers -- */

static int s_parse_i64(const char *v, int64_t *out)
{
    if (!*v) return -1;
    errno = 0;
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || end == v) return -1;
    *out = n;
    return 0;
}

static int s_parse_u64(const char *v, uint64_t *out)
{
    const char *p = v;
    if (*p == '+') p++;
    if (*p < '0' || *p > '9') return -1; /* strtoull would accept and wrap a '-' */
    errno = 0;
    char *end = NULL;
    unsigned long long n = strtoull(p, &end, 10);
    if (errno || *end) return -1;
    *out = n;
    return 0;
}

static int s_parse_num(const char *v, double *out)
{
    if (!*v) return -1;
    errno = 0;
    char *end = NULL;
    double d = strtod(v, &end);
    if (errno || *end || end == v || !isfinite(d)) return -1;
    *out = d;
    return 0;
}

static int s_parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(v, yes[i]) == 0) return *out = true, 0;
        if (strcasecmp(v, no[i]) == 0) return *out = false, 0;
    }
    return -1;
}

static int s_bounds(s_ctx_t *x, const yaml_node_t *n, const s_key_t *k, const char *key, double d,
                    const char *v)
{
    if (d < k->min || (k->strict && d <= k->min))
        return s_fail(x, s_line(x, n), "%s: %s is too small (must be %s %g)", key, v,
                      k->strict ? "greater than" : "at least", k->min);
    if (d > k->max)
        return s_fail(x, s_line(x, n), "%s: %s is too large (at most %g)", key, v, k->max);
    return 0;
}

/* Sets one scalar key described by k into the struct at base. */
/* information.info_templates / tasks.task_templates: a list of strings (the
 * environment checks what each must hold). */
static int s_templates(s_ctx_t *x, const s_key_t *k, void *base, const yaml_node_t *n,
                       const char *key)
{
    env_config_t *g = &((pl_config_t *)base)->game;
    bool info = k->kind == S_INFO_TPL;
    int *count = info ? &g->n_info_templates : &g->n_task_templates;
    char(*dst)[ENV_TEMPLATE_LEN] = info ? g->info_templates : g->task_templates;
    if (!n || n->type != YAML_SEQUENCE_NODE)
        return s_fail(x, n ? s_line(x, n) : 0, "%s: expected a list of strings", key);
    int m = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++, m++) {
        const yaml_node_t *e = yaml_document_get_node(x->doc, *it);
        const char *v;
        bool plain;
        if (s_scalar(x, e, key, &v, &plain)) return -1;
        if (m >= ENV_MAX_TEMPLATES)
            return s_fail(x, s_line(x, e), "%s: at most %d templates", key, ENV_MAX_TEMPLATES);
        if (!*v || strlen(v) >= ENV_TEMPLATE_LEN)
            return s_fail(x, s_line(x, e), "%s: a template must have 1 to %d characters", key,
                          ENV_TEMPLATE_LEN - 1);
        snprintf(dst[m], ENV_TEMPLATE_LEN, "%s", v);
    }
    if (m == 0) return s_fail(x, s_line(x, n), "%s: the list is empty", key);
    *count = m;
    return 0;
}

static int s_apply(s_ctx_t *x, const s_key_t *k, void *base, const yaml_node_t *n, const char *key)
{
    char *field = (char *)base + k->off;
    const char *v;
    bool plain;
    if (k->kind == S_HEADERS || k->kind == S_COUNT) return -1; /* not scalars: callers */
    if (k->kind == S_INFO_TPL || k->kind == S_TASK_TPL) return s_templates(x, k, base, n, key);
    if (s_scalar(x, n, key, &v, &plain)) return -1;
    switch (k->kind) {
    case S_INT:
    case S_I64: {
        int64_t i;
        if (s_parse_i64(v, &i))
            return s_fail(x, s_line(x, n), "%s: expected a whole number, got \"%s\"", key, v);
        if (s_bounds(x, n, k, key, (double)i, v)) return -1;
        if (k->kind == S_INT)
            *(int *)field = (int)i;
        else
            *(int64_t *)field = i;
        return 0;
    }
    case S_U64:
        if (s_parse_u64(v, (uint64_t *)field))
            return s_fail(x, s_line(x, n),
                          "%s: expected a whole number from 0 to 18446744073709551615, got \"%s\"",
                          key, v);
        return 0;
    case S_NUM: {
        double d;
        if (s_parse_num(v, &d))
            return s_fail(x, s_line(x, n), "%s: expected a number, got \"%s\"", key, v);
        if (s_bounds(x, n, k, key, d, v)) return -1;
        *(double *)field = d;
        return 0;
    }
    case S_BOOL:
        if (s_parse_bool(v, (bool *)field))
            return s_fail(x, s_line(x, n), "%s: expected true or false, got \"%s\"", key, v);
        return 0;
    case S_TRANSP: {
        bool b;
        if (s_parse_bool(v, &b))
            return s_fail(x, s_line(x, n), "%s: expected true or false, got \"%s\"", key, v);
        pl_config_t *c = base;
        c->game.show_revenue_board = c->game.show_exchanges = c->game.show_public_notices =
            c->game.show_receipt_notice = c->game.show_thoughts = b;
        return 0;
    }
    case S_STR: {
        char *copy = NULL;
        if (!s_is_null(v, plain)) {
            copy = strdup(v);
            if (!copy) return s_fail(x, s_line(x, n), "%s: out of memory", key);
        }
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case S_AUTO: {
        int a = env_automation_from_name(v);
        if (a < 0)
            return s_fail(x, s_line(x, n),
                          "%s: unknown automation \"%s\" (one of none, auto_fulfill, auto_request)",
                          key, v);
        *(env_automation_t *)field = (env_automation_t)a;
        return 0;
    }
    case S_GONE:
        return s_fail(x, s_line(x, n),
                      "%s: not a key. The penalty is revenue.incorrect_value_penalty, the "
                      "study's rate (each misreported piece cuts the payout by it); for a "
                      "payout multiplier M write incorrect_value_penalty: 1 - M",
                      key);
    case S_ZERO: {
        bool b;
        if (strcmp(v, "0") == 0 || (s_parse_bool(v, &b) == 0 && !b)) return 0;
        return s_fail(x, s_line(x, n),
                      "%s: parley does not support this option of the study yet (%s); "
                      "remove it or set it to %s",
                      key, "strategic reports with peer cooperation scores", "0");
    }
    case S_TIMING: {
        int t = pl_timing_from_name(v);
        if (t < 0)
            return s_fail(x, s_line(x, n),
                          "%s: unknown timing mode \"%s\" (one of sequential, simultaneous, "
                          "realtime)",
                          key, v);
        *(pl_timing_t *)field = (pl_timing_t)t;
        return 0;
    }
    default:
        return -1;
    }
}

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
    memset(s, 0, sizeof *s);
}

static void s_seat_init(pl_seat_t *s)
{
    memset(s, 0, sizeof *s);
    s->temperature = S_SEAT_TEMPERATURE;
    s->timeout = S_SEAT_TIMEOUT;
    s->min_think = -1;
}

static int s_seat_copy(pl_seat_t *dst, const pl_seat_t *src)
{
    *dst = *src;
    dst->policy = s_strdup(src->policy);
    dst->provider = s_strdup(src->provider);
    dst->model = s_strdup(src->model);
    dst->base_url = s_strdup(src->base_url);
    dst->api_key_env = s_strdup(src->api_key_env);
    dst->reasoning_effort = s_strdup(src->reasoning_effort);
    dst->prompt_layout = s_strdup(src->prompt_layout);
    dst->prompt = s_strdup(src->prompt);
    dst->reply_format = s_strdup(src->reply_format);
    dst->label = s_strdup(src->label);
    dst->latency_dist = s_strdup(src->latency_dist);
    dst->realtime_policy = s_strdup(src->realtime_policy);
    dst->headers = NULL;
    dst->n_headers = 0;
    bool bad = (src->policy && !dst->policy) || (src->provider && !dst->provider) ||
               (src->model && !dst->model) || (src->base_url && !dst->base_url) ||
               (src->api_key_env && !dst->api_key_env) ||
               (src->reasoning_effort && !dst->reasoning_effort) ||
               (src->prompt_layout && !dst->prompt_layout) || (src->prompt && !dst->prompt) ||
               (src->reply_format && !dst->reply_format) || (src->label && !dst->label);
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

static bool s_str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool s_seat_equal(const pl_seat_t *a, const pl_seat_t *b)
{
    if (!s_str_eq(a->policy, b->policy) || !s_str_eq(a->provider, b->provider) ||
        !s_str_eq(a->model, b->model) || !s_str_eq(a->base_url, b->base_url) ||
        !s_str_eq(a->api_key_env, b->api_key_env) ||
        !s_str_eq(a->reasoning_effort, b->reasoning_effort) ||
        !s_str_eq(a->prompt_layout, b->prompt_layout) || !s_str_eq(a->prompt, b->prompt) ||
        !s_str_eq(a->label, b->label) || !s_str_eq(a->reply_format, b->reply_format) ||
        a->temperature != b->temperature || a->max_tokens != b->max_tokens ||
        a->timeout != b->timeout || a->json_mode != b->json_mode || a->n_headers != b->n_headers ||
        a->deadline != b->deadline || a->bank != b->bank || a->latency != b->latency ||
        !s_str_eq(a->latency_dist, b->latency_dist) || a->min_think != b->min_think ||
        !s_str_eq(a->realtime_policy, b->realtime_policy))
        return false;
    for (size_t i = 0; i < a->n_headers; i++)
        if (!s_str_eq(a->headers[i].name, b->headers[i].name) ||
            !s_str_eq(a->headers[i].value, b->headers[i].value))
            return false;
    return true;
}

static void s_seats_free(pl_seat_t *seats, int n)
{
    for (int i = 0; seats && i < n; i++) s_seat_free(&seats[i]);
    free(seats);
}

/* The built-in seats: the first half perfect (rounded up), the rest selfish. */
static pl_seat_t *s_default_seats(int n)
{
    pl_seat_t *seats = calloc((size_t)n, sizeof *seats);
    if (!seats) return NULL;
    for (int i = 0; i < n; i++) {
        s_seat_init(&seats[i]);
        seats[i].policy = strdup(i < (n + 1) / 2 ? "perfect" : "selfish");
        if (!seats[i].policy) {
            s_seats_free(seats, n);
            return NULL;
        }
    }
    return seats;
}

static bool s_seats_are_default(const pl_seat_t *seats, int n)
{
    pl_seat_t *d = s_default_seats(n);
    bool same = d != NULL;
    for (int i = 0; same && i < n; i++) same = s_seat_equal(&seats[i], &d[i]);
    s_seats_free(d, n);
    return same;
}

static const s_provider_t *s_provider(const char *name)
{
    for (size_t i = 0; name && i < S_N_PROVIDERS; i++)
        if (strcmp(name, s_providers[i].name) == 0) return &s_providers[i];
    return NULL;
}

/* Fills the llm defaults that depend on the provider, once every key is read. */
static int s_seat_resolve(pl_seat_t *s)
{
    if (!s->policy || strcmp(s->policy, "llm") != 0) return 0;
    if (!s->provider && !(s->provider = strdup("openai"))) return -1;
    const s_provider_t *p = s_provider(s->provider);
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
    const s_provider_t *p = s_provider(s->provider ? s->provider : "openai");
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
    if (s_parse_i64(e, &n) == 0 && n >= 1024 && n <= 100000000) return (int)n;
    return -1;
}

/* The line of `field` in the seat group that starts on `line`, or `line`. */
static int s_seat_key_line(const s_ctx_t *x, int line, const char *field)
{
    if (!x->lines || !x->doc || line <= 0) return line;
    for (yaml_node_t *n = x->doc->nodes.start; n < x->doc->nodes.top; n++) {
        if (n->type != YAML_MAPPING_NODE || s_line(x, n) != line) continue;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
            if (strcmp(s_key_text(x->doc, p), field) == 0)
                return s_line(x, yaml_document_get_node(x->doc, p->key));
    }
    return line;
}

/* What each provider accepts, checked before anything is sent: a value the
 * provider would refuse, or one parley would otherwise have to change at send
 * time, is refused here with its line. */
static int s_seat_check_llm(s_ctx_t *x, const pl_seat_t *s, int i, int line)
{
    bool anthropic = strcmp(s->provider, "anthropic") == 0;
    int a = i + 1;
    if (s->reply_format) {
        bool ok = false;
        for (size_t k = 0; k < S_N_REPLY_FORMATS; k++)
            ok |= strcmp(s->reply_format, s_reply_formats[k]) == 0;
        if (!ok)
            return s_fail(x, s_seat_key_line(x, line, "reply_format"),
                          "seats: agent_%d: unknown reply_format \"%s\" (one of text, json_object, "
                          "json_schema, tools)",
                          a, s->reply_format);
        if (s->json_mode && strcmp(s->reply_format, "json_object") != 0)
            return s_fail(x, s_seat_key_line(x, line, "json_mode"),
                          "seats: agent_%d: json_mode: true is the old spelling of reply_format: "
                          "json_object and contradicts reply_format: %s (write only reply_format)",
                          a, s->reply_format);
    }
    if (anthropic && s->reply_format && strcmp(s->reply_format, "json_object") == 0)
        return s_fail(x, s_seat_key_line(x, line, s->json_mode ? "json_mode" : "reply_format"),
                      "seats: agent_%d: anthropic has no JSON-object mode: write reply_format: "
                      "json_schema (a forced tool holding the decision) or text",
                      a);
    double tmax = anthropic ? 1.0 : 2.0;
    if (s->temperature >= 0 && s->temperature > tmax)
        return s_fail(x, s_seat_key_line(x, line, "temperature"),
                      "seats: agent_%d: temperature %g is out of range for %s (0 to %g; a "
                      "negative value means not sent)",
                      a, s->temperature, s->provider, tmax);
    if (!s->reasoning_effort) return 0;
    int eline = s_seat_key_line(x, line, "reasoning_effort");
    if (!anthropic) {
        for (size_t k = 0; k < S_N_OPENAI_EFFORTS; k++)
            if (strcmp(s->reasoning_effort, s_openai_efforts[k]) == 0) return 0;
        return s_fail(x, eline,
                      "seats: agent_%d: reasoning_effort \"%s\" is not one openai takes (none, "
                      "minimal, low, medium, high, xhigh)",
                      a, s->reasoning_effort);
    }
    int budget = pl_seat_thinking_budget(s);
    if (budget < 0)
        return s_fail(x, eline,
                      "seats: agent_%d: reasoning_effort \"%s\" is not one anthropic seats take "
                      "(low, medium, high: a thinking budget of 1024, 4096, 16384 tokens; or a "
                      "budget of at least 1024 tokens as a number)",
                      a, s->reasoning_effort);
    int max = s->max_tokens > 0 ? s->max_tokens : PL_ANTHROPIC_MAX_TOKENS;
    if (max <= budget)
        return s_fail(x, s->max_tokens > 0 ? s_seat_key_line(x, line, "max_tokens") : eline,
                      "seats: agent_%d: max_tokens %d%s must be larger than the thinking budget "
                      "%d of reasoning_effort %s (the budget is part of max_tokens: write "
                      "max_tokens: %d or more)",
                      a, max, s->max_tokens > 0 ? "" : " (the default)", budget,
                      s->reasoning_effort, budget + 1024);
    if (s->temperature >= 0)
        return s_fail(x, s_seat_key_line(x, line, "temperature"),
                      "seats: agent_%d: anthropic takes no temperature with thinking on "
                      "(reasoning_effort %s): remove one of the two",
                      a, s->reasoning_effort);
    if (s->reply_format && strcmp(s->reply_format, "json_schema") == 0)
        return s_fail(x, s_seat_key_line(x, line, "reply_format"),
                      "seats: agent_%d: reply_format json_schema forces a tool on anthropic, "
                      "which thinking does not allow (reasoning_effort %s): use tools or text",
                      a, s->reasoning_effort);
    return 0;
}

/* Closest name of a list, for messages. */
static const char *s_closest(const char *given, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) s_suggest(given, names[i], &best, &best_d);
    return best;
}

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
    return c->turn_timeout > 0 ? c->turn_timeout : S_TURN_TIMEOUT;
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
static int s_seat_check_timing(s_ctx_t *x, const pl_config_t *c, const pl_seat_t *s, int i,
                               int line)
{
    if (s->latency_dist && !s_one_of(s->latency_dist, s_latency_dists, 3))
        return s_fail(x, s_seat_key_line(x, line, "latency_dist"),
                      "seats: agent_%d: unknown latency_dist \"%s\" (fixed, uniform or "
                      "exponential)",
                      i + 1, s->latency_dist);
    if (s->realtime_policy && !s_one_of(s->realtime_policy, s_rt_policies, 3))
        return s_fail(x, s_seat_key_line(x, line, "realtime_policy"),
                      "seats: agent_%d: unknown realtime_policy \"%s\" (decide_now, wait or "
                      "redecide)",
                      i + 1, s->realtime_policy);
    /* Outside realtime the broker holds a decision until min_think has passed:
     * a think time at or past the deadline would miss every turn. */
    double think = pl_seat_min_think(c, i), deadline = pl_seat_deadline(c, i, false);
    if (c->timing != PL_TIMING_REALTIME && think > 0 && think >= deadline + s->bank)
        return s_fail(x, s_seat_key_line(x, line, s->min_think >= 0 ? "min_think" : "deadline"),
                      "seats: agent_%d: min_think %gs is not below the turn deadline %gs (every "
                      "turn would be missed)",
                      i + 1, think, deadline + s->bank);
    return 0;
}

static int s_seat_check(s_ctx_t *x, const pl_seat_t *s, int i, int line)
{
    char hint[96];
    if (!s->policy) return s_fail(x, line, "seats: agent_%d has no policy", i + 1);
    /* One registry (pl_policy.h) with the agents: what no agent can play is
     * refused here, not discovered seat by seat once the run has started. */
    if (!pl_policy_find(s->policy)) {
        const char *names[16];
        size_t n_names = 0;
        for (size_t k = 0; k < pl_policy_count() && n_names < 16; k++)
            names[n_names++] = pl_policy_at(k)->name;
        return s_fail(x, line, "seats: agent_%d: unknown policy \"%s\"%s (one of %s)", i + 1,
                      s->policy, s_hint(hint, sizeof hint, s_closest(s->policy, names, n_names)),
                      pl_policy_names());
    }
    if (s->provider && !s_provider(s->provider)) {
        const char *names[S_N_PROVIDERS];
        for (size_t k = 0; k < S_N_PROVIDERS; k++) names[k] = s_providers[k].name;
        return s_fail(
            x, line, "seats: agent_%d: unknown provider \"%s\"%s (one of openai, anthropic)", i + 1,
            s->provider, s_hint(hint, sizeof hint, s_closest(s->provider, names, S_N_PROVIDERS)));
    }
    if (s->prompt_layout) {
        bool ok = false;
        for (size_t k = 0; k < S_N_LAYOUTS; k++) ok |= strcmp(s->prompt_layout, s_layouts[k]) == 0;
        if (!ok)
            return s_fail(x, line, "seats: agent_%d: unknown prompt_layout \"%s\" (paper or cache)",
                          i + 1, s->prompt_layout);
    }
    if (strcmp(s->policy, "llm") == 0 && (!s->model || !s->model[0]))
        return s_fail(x, line, "seats: agent_%d: an llm seat needs a model", i + 1);
    if (strcmp(s->policy, "llm") == 0 && s->provider) return s_seat_check_llm(x, s, i, line);
    return 0;
}

static int s_headers_read(s_ctx_t *x, pl_seat_t *s, const yaml_node_t *n, const char *key)
{
    int m = s_want_map(x, n, key);
    if (m < 0) return -1;
    for (size_t i = 0; i < s->n_headers; i++) {
        free(s->headers[i].name);
        free(s->headers[i].value);
    }
    free(s->headers);
    s->headers = NULL;
    s->n_headers = 0;
    if (m == 0) return 0;
    if (s_check_keys(x, n, key)) return -1;
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (cnt == 0) return 0;
    s->headers = calloc(cnt, sizeof *s->headers);
    if (!s->headers) return s_fail(x, s_line(x, n), "%s: out of memory", key);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
        const char *val;
        bool plain;
        if (s_scalar(x, v, key, &val, &plain)) return -1;
        pl_header_t *h = &s->headers[s->n_headers];
        h->name = strdup(s_key_text(x->doc, p));
        h->value = strdup(val);
        s->n_headers++;
        if (!h->name || !h->value) return s_fail(x, s_line(x, v), "%s: out of memory", key);
    }
    return 0;
}

static const s_key_t *s_find(const s_key_t *table, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].key, key) == 0) return &table[i];
    return NULL;
}

/* One field of one seat (file group or override). */
static int s_seat_field(s_ctx_t *x, pl_seat_t *s, const char *field, const yaml_node_t *v,
                        const char *where, int line)
{
    char key[160];
    snprintf(key, sizeof key, "%s.%s", where, field);
    const s_key_t *k = s_find(s_seat_keys, S_N_SEAT_KEYS, field);
    if (!k) {
        const char *best = NULL;
        size_t best_d = SIZE_MAX;
        char hint[96];
        for (size_t i = 0; i < S_N_SEAT_KEYS; i++)
            s_suggest(field, s_seat_keys[i].key, &best, &best_d);
        return s_fail(x, line, "%s: unknown key \"%s\"%s", where, field,
                      s_hint(hint, sizeof hint, best));
    }
    if (k->kind == S_HEADERS) return s_headers_read(x, s, v, key);
    if (k->kind == S_COUNT) return s_fail(x, line, "%s: count belongs to a group in the file", key);
    return s_apply(x, k, s, v, key);
}

/* seats: a list of groups, assigned to agent_1.. in order. */
static int s_seats_read(s_ctx_t *x, pl_config_t *c, const yaml_node_t *n, int line)
{
    pl_seat_t *seats = NULL;
    int *lines = NULL;
    int total = 0;
    pl_seat_t group;
    s_seat_init(&group);
    x->seats_line = line;
    if (!n || n->type != YAML_SEQUENCE_NODE) {
        s_fail(x, s_line(x, n), "seats: expected a list of seat groups, got %s", s_node_kind(n));
        goto fail;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *g = yaml_document_get_node(x->doc, *it);
        int gi = (int)(it - n->data.sequence.items.start);
        char where[32];
        snprintf(where, sizeof where, "seats[%d]", gi);
        if (!g || g->type != YAML_MAPPING_NODE) {
            s_fail(x, s_line(x, g), "%s: expected a mapping (policy, count, ...), got %s", where,
                   s_node_kind(g));
            goto fail;
        }
        if (s_check_keys(x, g, where)) goto fail;
        s_seat_init(&group);
        int64_t count = 1;
        for (yaml_node_pair_t *p = g->data.mapping.pairs.start; p < g->data.mapping.pairs.top;
             p++) {
            const char *field = s_key_text(x->doc, p);
            yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
            if (strcmp(field, "count") == 0) {
                const char *cv;
                bool plain;
                char key[48];
                snprintf(key, sizeof key, "%s.count", where);
                if (s_scalar(x, v, key, &cv, &plain)) goto fail;
                if (s_parse_i64(cv, &count) || count < 1 || count > ENV_MAX_AGENTS) {
                    s_fail(x, s_line(x, v), "%s: expected a whole number from 1 to %d, got \"%s\"",
                           key, ENV_MAX_AGENTS, cv);
                    goto fail;
                }
                continue;
            }
            if (s_seat_field(x, &group, field, v, where,
                             s_line(x, yaml_document_get_node(x->doc, p->key))))
                goto fail;
        }
        if (!group.policy) {
            s_fail(x, s_line(x, g), "%s: a seat group needs a policy", where);
            goto fail;
        }
        if (total + count > ENV_MAX_AGENTS) {
            s_fail(x, s_line(x, g), "seats: more than %d seats", ENV_MAX_AGENTS);
            goto fail;
        }
        pl_seat_t *ns = realloc(seats, (size_t)(total + count) * sizeof *seats);
        if (!ns) goto oom;
        seats = ns;
        int *nl = realloc(lines, (size_t)(total + count) * sizeof *lines);
        if (!nl) goto oom;
        lines = nl;
        for (int64_t k = 0; k < count; k++) {
            if (s_seat_copy(&seats[total], &group)) goto oom;
            lines[total] = s_line(x, g);
            total++;
        }
        s_seat_free(&group);
    }
    s_seats_free(c->seats, c->n_seats);
    c->seats = seats;
    c->n_seats = total;
    free(x->seat_line);
    x->seat_line = lines;
    x->seats_read = true;
    return 0;
oom:
    s_fail(x, s_line(x, n), "seats: out of memory");
fail:
    s_seat_free(&group);
    s_seats_free(seats, total);
    free(lines);
    return -1;
}

/* --------------------------------------------------------------- prices -- */

static void s_prices_free(pl_price_t *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++) free(p[i].model);
    free(p);
}

/* The entry for model, created (all zero) if absent. */
static pl_price_t *s_price_get(pl_config_t *c, const char *model)
{
    for (size_t i = 0; i < c->n_prices; i++)
        if (strcmp(c->prices[i].model, model) == 0) return &c->prices[i];
    pl_price_t *np = realloc(c->prices, (c->n_prices + 1) * sizeof *np);
    if (!np) return NULL;
    c->prices = np;
    pl_price_t *p = &c->prices[c->n_prices];
    memset(p, 0, sizeof *p);
    p->model = strdup(model);
    if (!p->model) return NULL;
    c->n_prices++;
    return p;
}

/* prices.<model>: {input, output, cached_input}; cached_input defaults to input
 * (no discount is known unless it is written). */
static int s_price_read(s_ctx_t *x, pl_config_t *c, const char *model, const yaml_node_t *n)
{
    char where[160];
    snprintf(where, sizeof where, "prices.%s", model);
    int m = s_want_map(x, n, where);
    if (m < 0) return -1;
    pl_price_t tmp = {0};
    bool cached = false;
    if (m) {
        if (s_check_keys(x, n, where)) return -1;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            const char *field = s_key_text(x->doc, p);
            yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
            const s_key_t *k = s_find(s_price_keys, S_N_PRICE_KEYS, field);
            char key[200];
            snprintf(key, sizeof key, "%s.%s", where, field);
            if (!k) {
                char hint[96];
                const char *best = NULL;
                size_t best_d = SIZE_MAX;
                for (size_t i = 0; i < S_N_PRICE_KEYS; i++)
                    s_suggest(field, s_price_keys[i].key, &best, &best_d);
                return s_fail(x, s_line(x, yaml_document_get_node(x->doc, p->key)),
                              "%s: unknown key \"%s\"%s (input, output, cached_input)", where,
                              field, s_hint(hint, sizeof hint, best));
            }
            if (s_apply(x, k, &tmp, v, key)) return -1;
            cached |= strcmp(field, "cached_input") == 0;
        }
    }
    if (!cached) tmp.cached_input = tmp.input;
    pl_price_t *p = s_price_get(c, model);
    if (!p) return s_fail(x, s_line(x, n), "%s: out of memory", where);
    p->input = tmp.input;
    p->output = tmp.output;
    p->cached_input = tmp.cached_input;
    return 0;
}

static int s_prices_read(s_ctx_t *x, pl_config_t *c, const yaml_node_t *n)
{
    int m = s_want_map(x, n, "prices");
    if (m < 0) return -1;
    s_prices_free(c->prices, c->n_prices);
    c->prices = NULL;
    c->n_prices = 0;
    if (m == 0) return 0;
    if (s_check_keys(x, n, "prices")) return -1;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
        if (s_price_read(x, c, s_key_text(x->doc, p), yaml_document_get_node(x->doc, p->value)))
            return -1;
    return 0;
}

/* ---------------------------------------------------------- agent types -- */

static int s_type_count(s_ctx_t *x, pl_config_t *c, const char *name, const yaml_node_t *v,
                        int line)
{
    char key[96];
    snprintf(key, sizeof key, "agent_types.%s", name);
    int t = env_type_from_name(name);
    if (t < 0 || t >= ENV_TYPE_COUNT) {
        const char *names[ENV_TYPE_COUNT];
        for (int i = 0; i < ENV_TYPE_COUNT; i++) names[i] = env_type_name((env_type_t)i);
        char hint[96];
        return s_fail(x, line,
                      "agent_types: unknown type \"%s\"%s (neutral, policy, competitive, "
                      "uncooperative)",
                      name, s_hint(hint, sizeof hint, s_closest(name, names, ENV_TYPE_COUNT)));
    }
    static const s_key_t k = {"", S_INT, 0, 0, ENV_MAX_AGENTS, false, 0};
    if (s_apply(x, &k, &c->game.type_counts[t], v, key)) return -1;
    s_seen(x, key, v);
    return 0;
}

static int s_types_read(s_ctx_t *x, pl_config_t *c, const yaml_node_t *n)
{
    int m = s_want_map(x, n, "agent_types");
    if (m < 0) return -1;
    memset(c->game.type_counts, 0, sizeof c->game.type_counts);
    if (m == 0) return 0;
    if (s_check_keys(x, n, "agent_types")) return -1;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
        if (s_type_count(x, c, s_key_text(x->doc, p), yaml_document_get_node(x->doc, p->value),
                         s_line(x, yaml_document_get_node(x->doc, p->key))))
            return -1;
    return 0;
}

/* ------------------------------------------------------------- the tree -- */

static bool s_is_section(const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < S_N_KEYS; i++)
        if (strncmp(s_keys[i].key, name, len) == 0 && s_keys[i].key[len] == '.') return true;
    return false;
}

/* "unknown key" with the closest known key of the same section, or the same key
 * of another section ("simulation.total_pieces" -> "information.total_pieces"). */
static int s_unknown(s_ctx_t *x, int line, const char *section, const char *key)
{
    char full[160], best[80] = "", hint[128] = "";
    size_t best_d = SIZE_MAX, len = section ? strlen(section) : 0;
    snprintf(full, sizeof full, "%s%s%s", section ? section : "", section ? "." : "", key);
    for (size_t i = 0; i < S_N_KEYS + S_N_COMPLEX; i++) {
        const char *known = i < S_N_KEYS ? s_keys[i].key : s_complex[i - S_N_KEYS];
        const char *dot = strchr(known, '.');
        char cand[80];
        if (dot && strcmp(dot + 1, key) == 0) { /* right key, wrong section */
            snprintf(best, sizeof best, "%s", known);
            best_d = 0;
            continue;
        }
        if (section) {
            if (strncmp(known, section, len) != 0 || known[len] != '.') continue;
            snprintf(cand, sizeof cand, "%s", known + len + 1);
        } else {
            /* At the top level a sectioned key offers its section's name. */
            snprintf(cand, sizeof cand, "%.*s", dot ? (int)(dot - known) : (int)strlen(known),
                     known);
        }
        size_t d = s_distance(key, cand);
        if (d == SIZE_MAX || (d > 2 && d * 3 > strlen(key)) || d >= best_d) continue;
        int n =
            snprintf(best, sizeof best, "%s%s%s", section ? section : "", section ? "." : "", cand);
        if (n < 0 || (size_t)n >= sizeof best)
            best[0] = '\0';
        else
            best_d = d;
    }
    if (best[0]) snprintf(hint, sizeof hint, " (did you mean '%s'?)", best);
    return s_fail(x, line, "unknown key \"%s\"%s", full, hint);
}

/* A mapping of scalar keys under `section`, in two passes (see s_keys). */
static int s_section_read(s_ctx_t *x, pl_config_t *c, const char *section, const yaml_node_t *n)
{
    int m = s_want_map(x, n, section);
    if (m <= 0) return m;
    if (s_check_keys(x, n, section)) return -1;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        char full[160];
        snprintf(full, sizeof full, "%s.%s", section, s_key_text(x->doc, p));
        yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
        if (!s_find(s_keys, S_N_KEYS, full))
            return s_unknown(x, s_line(x, k), section, s_key_text(x->doc, p));
    }
    for (int pass = 0; pass < 2; pass++)
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            char full[160];
            snprintf(full, sizeof full, "%s.%s", section, s_key_text(x->doc, p));
            const s_key_t *k = s_find(s_keys, S_N_KEYS, full);
            if (k->pass != pass) continue;
            yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
            if (s_apply(x, k, c, v, full)) return -1;
            s_seen(x, full, yaml_document_get_node(x->doc, p->key));
        }
    return 0;
}

/* One top-level key with its value (file or override). */
static int s_top_read(s_ctx_t *x, pl_config_t *c, const char *key, const yaml_node_t *v, int line)
{
    const s_key_t *k = s_find(s_keys, S_N_KEYS, key);
    if (k) {
        if (s_apply(x, k, c, v, key)) return -1;
        s_seen(x, key, v);
        return 0;
    }
    if (strcmp(key, "seats") == 0) return s_seats_read(x, c, v, line);
    if (strcmp(key, "prices") == 0) return s_prices_read(x, c, v);
    if (strcmp(key, "agent_types") == 0) {
        if (x->lines && x->n_seen < S_MAX_SEEN) {
            snprintf(x->seen[x->n_seen].key, sizeof x->seen[0].key, "agent_types");
            x->seen[x->n_seen++].line = line;
        }
        return s_types_read(x, c, v);
    }
    if (s_is_section(key)) {
        if (x->lines && x->n_seen < S_MAX_SEEN) {
            snprintf(x->seen[x->n_seen].key, sizeof x->seen[0].key, "%s", key);
            x->seen[x->n_seen++].line = line;
        }
        return s_section_read(x, c, key, v);
    }
    return s_unknown(x, line, NULL, key);
}

/* Aliases are refused: with the document API an alias is a node referenced twice,
 * and walking such a tree can cost exponential time (the "billion laughs"). */
static int s_no_aliases(s_ctx_t *x)
{
    size_t n = (size_t)(x->doc->nodes.top - x->doc->nodes.start);
    unsigned char *refs = calloc(n + 1, 1);
    if (!refs) return s_fail(x, 0, "out of memory");
    for (yaml_node_t *node = x->doc->nodes.start; node < x->doc->nodes.top; node++) {
        if (node->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = node->data.sequence.items.start;
                 it < node->data.sequence.items.top; it++)
                if (*it < 1 || (size_t)*it > n || refs[*it]++) goto alias;
        } else if (node->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
                 p < node->data.mapping.pairs.top; p++)
                if (p->key < 1 || (size_t)p->key > n || refs[p->key]++ || p->value < 1 ||
                    (size_t)p->value > n || refs[p->value]++)
                    goto alias;
        }
        continue;
    alias:
        free(refs);
        return s_fail(x, s_line(x, node),
                      "YAML anchors and aliases (&name, *name) are not supported in a "
                      "configuration; write the value out");
    }
    free(refs);
    return 0;
}

/* ----------------------------------------------------------- lifecycle -- */

static void s_config_clear(pl_config_t *c)
{
    free(c->path);
    free(c->scenario);
    free(c->llm_prompt);
    free(c->agents_mode);
    s_seats_free(c->seats, c->n_seats);
    s_prices_free(c->prices, c->n_prices);
    memset(c, 0, sizeof *c);
}

void pl_config_destroy(pl_config_t **cp)
{
    if (!cp || !*cp) return;
    s_config_clear(*cp);
    free(*cp);
    *cp = NULL;
}

pl_config_t *pl_config_default(void)
{
    pl_config_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    env_config_paper(&c->game);
    c->scenario = strdup("infoshare");
    c->timing = PL_TIMING_SEQUENTIAL;
    c->turn_timeout = S_TURN_TIMEOUT;
    c->human_turn_timeout = S_HUMAN_TURN_TIMEOUT;
    c->duration = S_DURATION;
    c->min_think = S_MIN_THINK;
    c->heartbeat = S_HEARTBEAT;
    c->blind = false;
    c->n_seats = c->game.n_agents;
    c->seats = s_default_seats(c->n_seats);
    if (!c->scenario || !c->seats) pl_config_destroy(&c);
    return c;
}

pl_config_t *pl_config_dup(const pl_config_t *src)
{
    if (!src) return NULL;
    pl_config_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    *c = *src;
    c->path = s_strdup(src->path);
    c->scenario = s_strdup(src->scenario);
    c->llm_prompt = s_strdup(src->llm_prompt);
    c->agents_mode = s_strdup(src->agents_mode);
    c->seats = NULL;
    c->n_seats = 0;
    c->prices = NULL;
    c->n_prices = 0;
    if ((src->path && !c->path) || (src->scenario && !c->scenario) ||
        (src->llm_prompt && !c->llm_prompt) || (src->agents_mode && !c->agents_mode))
        goto fail;
    if (src->n_seats > 0) {
        c->seats = calloc((size_t)src->n_seats, sizeof *c->seats);
        if (!c->seats) goto fail;
        for (int i = 0; i < src->n_seats; i++) {
            if (s_seat_copy(&c->seats[i], &src->seats[i])) goto fail;
            c->n_seats = i + 1;
        }
    }
    if (src->n_prices > 0) {
        c->prices = calloc(src->n_prices, sizeof *c->prices);
        if (!c->prices) goto fail;
        for (size_t i = 0; i < src->n_prices; i++) {
            c->prices[i] = src->prices[i];
            c->prices[i].model = strdup(src->prices[i].model);
            if (!c->prices[i].model) goto fail;
            c->n_prices = i + 1;
        }
    }
    return c;
fail:
    pl_config_destroy(&c);
    return NULL;
}

const pl_price_t *pl_config_price(const pl_config_t *c, const char *model)
{
    for (size_t i = 0; c && model && i < c->n_prices; i++)
        if (strcmp(c->prices[i].model, model) == 0) return &c->prices[i];
    return NULL;
}

/* Line of the key that env's message names first (it names the offending key),
 * else 0. */
static int s_line_for(const s_ctx_t *x, const char *msg)
{
    const char *best_at = NULL;
    size_t best_len = 0;
    int line = 0;
    for (size_t i = 0; i < x->n_seen; i++) {
        const char *at = strstr(msg, x->seen[i].key);
        size_t len = strlen(x->seen[i].key);
        if (at && (!best_at || at < best_at || (at == best_at && len > best_len))) {
            best_at = at;
            best_len = len;
            line = x->seen[i].line;
        }
    }
    return line;
}

bool pl_config_mixed(const pl_config_t *c)
{
    return c && c->agents_mode && strcmp(c->agents_mode, "mixed") == 0;
}

/* A prompt value that is not a bare word (a built-in template's name) is a
 * FILE: relative to the configuration file's directory, made absolute so the
 * agents (which read a copy of the configuration) find it. A missing path
 * made of words and slashes may name a built-in piece ("paper/automated");
 * the agents and `parley run` check that it does. */
static int s_prompt_path(s_ctx_t *x, char **spec, const char *key, int line)
{
    const char *v = *spec;
    if (!v || !*v) return 0;
    bool word = true, name = true; /* name: a word, or words joined by '/' */
    for (const char *q = v; *q; q++) {
        bool w = (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_' || *q == '-';
        word = word && w;
        name = name && (w || *q == '/');
    }
    if (word || v[0] == '/') return 0;
    char dir[4096] = ".";
    const char *slash = x->lines ? strrchr(x->name, '/') : NULL;
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - x->name), x->name);
    char joined[8192];
    snprintf(joined, sizeof joined, "%s/%s", dir, v);
    char *abs = realpath(joined, NULL);
    if (!abs && name && errno == ENOENT) return 0; /* "paper/automated": a built-in piece */
    if (!abs)
        return s_fail(x, line, "%s: cannot read the template \"%s\": %s", key, joined,
                      strerror(errno));
    free(*spec);
    *spec = abs;
    return 0;
}

/* Everything that involves more than one key, after the whole file is read. */
static int s_finish(s_ctx_t *x, pl_config_t *c)
{
    if (c->agents_mode && strcmp(c->agents_mode, "standard") != 0 &&
        strcmp(c->agents_mode, "mixed") != 0)
        return s_fail(x, s_line_for(x, "agents.mode"),
                      "agents.mode: unknown mode \"%s\" (standard or mixed)", c->agents_mode);
    if (s_prompt_path(x, &c->llm_prompt, "llm.prompt", s_line_for(x, "llm.prompt"))) return -1;
    for (int i = 0; i < c->n_seats; i++) {
        char key[64];
        snprintf(key, sizeof key, "seats: agent_%d: prompt", i + 1);
        int line = x->seat_line ? x->seat_line[i] : x->seats_line;
        if (s_prompt_path(x, &c->seats[i].prompt, key, line)) return -1;
    }
    if (!c->scenario || !env_scenario_find(c->scenario))
        return s_fail(x, s_line_for(x, "scenario"), "scenario: unknown scenario \"%s\"",
                      c->scenario ? c->scenario : "(none)");
    char msg[256] = "";
    if (env_config_check(&c->game, msg, sizeof msg) != ENV_OK)
        return s_fail(x, s_line_for(x, msg), "%s", msg[0] ? msg : "impossible numbers");
    if (c->n_seats != c->game.n_agents)
        return s_fail(x, x->seats_line,
                      "seats: the groups give %d seat%s but simulation.agents is %d (the counts "
                      "must add up; omit seats for the default perfect/selfish split)",
                      c->n_seats, c->n_seats == 1 ? "" : "s", c->game.n_agents);
    for (int i = 0; i < c->n_seats; i++) {
        if (s_seat_resolve(&c->seats[i])) return s_fail(x, 0, "out of memory");
        if (s_seat_check(x, &c->seats[i], i, x->seat_line ? x->seat_line[i] : x->seats_line))
            return -1;
        if (s_seat_check_timing(x, c, &c->seats[i], i,
                                x->seat_line ? x->seat_line[i] : x->seats_line))
            return -1;
    }
    return 0;
}

/* Seats follow simulation.agents when the file gives none. */
static int s_default_seats_for(s_ctx_t *x, pl_config_t *c)
{
    if (x->seats_read || c->n_seats == c->game.n_agents) return 0;
    pl_seat_t *seats = s_default_seats(c->game.n_agents);
    if (!seats) return s_fail(x, 0, "out of memory");
    s_seats_free(c->seats, c->n_seats);
    c->seats = seats;
    c->n_seats = c->game.n_agents;
    return 0;
}

static int s_yaml_error(s_ctx_t *x, const yaml_parser_t *p, const char *text, size_t len)
{
    if (p->error == YAML_MEMORY_ERROR) return s_fail(x, 0, "out of memory");
    const yaml_mark_t *m = &p->problem_mark;
    if (p->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset only: count the lines up to it. */
        int line = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++) line += text[i] == '\n';
        return s_fail(x, x->lines ? line : 0, "%s (byte %zu)",
                      p->problem ? p->problem : "unreadable text", p->problem_offset);
    }
    /* The one mistake libyaml words least helpfully. */
    const char *tab =
        m->index < len && text[m->index] == '\t' ? " (a tab: YAML indents with spaces only)" : "";
    if (p->context)
        return s_fail(x, x->lines ? (int)m->line + 1 : 0, "%s %s (started on line %d)%s",
                      p->problem ? p->problem : "malformed YAML", p->context,
                      (int)p->context_mark.line + 1, tab);
    return s_fail(x, x->lines ? (int)m->line + 1 : 0, "%s%s",
                  p->problem ? p->problem : "malformed YAML", tab);
}

/* Loads one YAML document from text; *root is NULL for an empty document. */
static int s_load(s_ctx_t *x, yaml_document_t *doc, const char *text, size_t len,
                  yaml_node_t **root)
{
    yaml_parser_t parser;
    *root = NULL;
    if (!yaml_parser_initialize(&parser)) return s_fail(x, 0, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, doc)) {
        s_yaml_error(x, &parser, text, len);
        yaml_parser_delete(&parser);
        return -1;
    }
    x->doc = doc;
    *root = yaml_document_get_root_node(doc);
    if (*root) {
        /* A second document would be silently ignored: refuse it. */
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            s_yaml_error(x, &parser, text, len);
            goto fail;
        }
        yaml_node_t *r2 = yaml_document_get_root_node(&next);
        int line2 = r2 ? s_line(x, r2) : 0;
        yaml_document_delete(&next);
        if (r2) {
            s_fail(x, line2, "a second YAML document (---) in one configuration");
            goto fail;
        }
    }
    yaml_parser_delete(&parser);
    if (s_no_aliases(x)) {
        yaml_document_delete(doc);
        x->doc = NULL;
        return -1;
    }
    return 0;
fail:
    yaml_parser_delete(&parser);
    yaml_document_delete(doc);
    x->doc = NULL;
    return -1;
}

pl_config_t *pl_config_parse(const char *text, size_t len, const char *name, char *err,
                             size_t errlen)
{
    s_ctx_t x = {.name = name ? name : "<config>", .lines = true, .err = err, .errlen = errlen};
    yaml_document_t doc;
    yaml_node_t *root = NULL;
    bool loaded = false;
    if (err && errlen) err[0] = '\0';
    pl_config_t *c = pl_config_default();
    if (!c) {
        s_fail(&x, 0, "out of memory");
        goto fail;
    }
    if (s_load(&x, &doc, text ? text : "", text ? len : 0, &root)) goto fail;
    loaded = true;
    if (root && s_want_map(&x, root, "the top level") < 0) goto fail;
    if (root && root->type == YAML_MAPPING_NODE) {
        if (s_check_keys(&x, root, "")) goto fail;
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
             p++)
            if (s_top_read(&x, c, s_key_text(&doc, p), yaml_document_get_node(&doc, p->value),
                           s_line(&x, yaml_document_get_node(&doc, p->key))))
                goto fail;
    }
    if (s_default_seats_for(&x, c) || s_finish(&x, c)) goto fail;
    yaml_document_delete(&doc);
    free(x.seat_line);
    return c;
fail:
    if (loaded) yaml_document_delete(&doc);
    free(x.seat_line);
    pl_config_destroy(&c);
    return NULL;
}

pl_config_t *pl_config_load(const char *path, char *err, size_t errlen)
{
    s_ctx_t x = {.name = path ? path : "<config>", .lines = false, .err = err, .errlen = errlen};
    char *text = NULL;
    pl_config_t *c = NULL;
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        s_fail(&x, 0, "cannot open: %s", path ? strerror(errno) : "no path");
        goto fail;
    }
    text = malloc(S_MAX_FILE + 1);
    if (!text) {
        s_fail(&x, 0, "out of memory");
        goto fail;
    }
    size_t len = fread(text, 1, S_MAX_FILE + 1, f);
    if (ferror(f)) {
        s_fail(&x, 0, "cannot read: %s", strerror(errno));
        goto fail;
    }
    if (len > S_MAX_FILE) {
        s_fail(&x, 0, "larger than %d bytes: not a configuration file", S_MAX_FILE);
        goto fail;
    }
    c = pl_config_parse(text, len, path, err, errlen);
    if (!c) goto fail;
    c->path = strdup(path);
    if (!c->path) {
        s_fail(&x, 0, "out of memory");
        pl_config_destroy(&c);
    }
fail:
    free(text);
    if (f) fclose(f);
    return c;
}

/* ------------------------------------------------------------ overrides -- */

/* Seat index from "3" (0-based, as in the header) or "agent_4"; -1 if neither. */
static int s_seat_index(const char *s, int n)
{
    const char *digits = strncmp(s, "agent_", 6) == 0 ? s + 6 : s;
    int64_t i;
    if (s_parse_i64(digits, &i) || digits[0] == '+' || digits[0] == '-') return -1;
    if (digits != s) i -= 1;
    return i >= 0 && i < n ? (int)i : -1;
}

/* Applies a path below the root to the value node v. */
static int s_set_path(s_ctx_t *x, pl_config_t *c, char *path, const yaml_node_t *v)
{
    char *dot = strchr(path, '.');
    if (!dot) return s_top_read(x, c, path, v, 0);
    *dot = '\0';
    const char *head = path, *rest = dot + 1;
    if (strcmp(head, "agent_types") == 0) return s_type_count(x, c, rest, v, 0);
    if (strcmp(head, "prices") == 0) {
        /* Model names may hold dots (gpt-4.1): the field, if any, is the last part. */
        char *last = strrchr((char *)rest, '.');
        if (last && s_find(s_price_keys, S_N_PRICE_KEYS, last + 1)) {
            *last = '\0';
            pl_price_t *p = s_price_get(c, rest);
            if (!p) return s_fail(x, 0, "out of memory");
            char key[200];
            snprintf(key, sizeof key, "prices.%s.%s", rest, last + 1);
            return s_apply(x, s_find(s_price_keys, S_N_PRICE_KEYS, last + 1), p, v, key);
        }
        return s_price_read(x, c, rest, v);
    }
    if (strcmp(head, "seats") == 0) {
        char *fdot = strchr((char *)rest, '.');
        if (!fdot)
            return s_fail(x, 0,
                          "seats: name a field, as in seats.0.model=NAME (seats are "
                          "numbered from 0, or agent_1..)");
        *fdot = '\0';
        int i = s_seat_index(rest, c->n_seats);
        if (i < 0)
            return s_fail(x, 0, "seats: no seat \"%s\" (0 to %d, or agent_1 to agent_%d)", rest,
                          c->n_seats - 1, c->n_seats);
        const char *field = fdot + 1;
        pl_seat_t *s = &c->seats[i];
        char where[48];
        snprintf(where, sizeof where, "seats.%d", i);
        if (strncmp(field, "headers.", 8) == 0) {
            const char *hname = field + 8, *val;
            bool plain;
            if (s_scalar(x, v, field, &val, &plain)) return -1;
            for (size_t k = 0; k < s->n_headers; k++)
                if (strcmp(s->headers[k].name, hname) == 0) {
                    char *nv = strdup(val);
                    if (!nv) return s_fail(x, 0, "out of memory");
                    free(s->headers[k].value);
                    s->headers[k].value = nv;
                    return 0;
                }
            pl_header_t *nh = realloc(s->headers, (s->n_headers + 1) * sizeof *nh);
            if (!nh) return s_fail(x, 0, "out of memory");
            s->headers = nh;
            nh[s->n_headers].name = strdup(hname);
            nh[s->n_headers].value = strdup(val);
            s->n_headers++;
            if (!nh[s->n_headers - 1].name || !nh[s->n_headers - 1].value)
                return s_fail(x, 0, "out of memory");
            return 0;
        }
        if (strcmp(field, "provider") == 0) {
            /* Endpoint and key variable that were the old provider's defaults follow
             * the new provider; ones written by hand stay. */
            const s_provider_t *old = s_provider(s->provider);
            if (s_seat_field(x, s, field, v, where, 0)) return -1;
            if (old && s_str_eq(s->base_url, old->base_url)) {
                free(s->base_url);
                s->base_url = NULL;
            }
            if (old && s_str_eq(s->api_key_env, old->api_key_env)) {
                free(s->api_key_env);
                s->api_key_env = NULL;
            }
            return 0;
        }
        return s_seat_field(x, s, field, v, where, 0);
    }
    char full[160];
    snprintf(full, sizeof full, "%s.%s", head, rest);
    const s_key_t *k = s_find(s_keys, S_N_KEYS, full);
    if (!k)
        return s_unknown(x, 0, s_is_section(head) ? head : NULL, s_is_section(head) ? rest : full);
    return s_apply(x, k, c, v, full);
}

/* After simulation.agents changes, seats that are the built-in split are redrawn
 * for the new count, and a list of identical seats grows or shrinks with it;
 * any other list must be rewritten by hand. */
static int s_reseat(s_ctx_t *x, pl_config_t *c, const pl_config_t *before)
{
    int n = c->game.n_agents;
    if (c->n_seats == n) return 0;
    bool uniform = c->n_seats > 0;
    for (int i = 1; uniform && i < c->n_seats; i++)
        uniform = s_seat_equal(&c->seats[i], &c->seats[0]);
    if (s_seats_are_default(before->seats, before->n_seats)) {
        pl_seat_t *seats = s_default_seats(n);
        if (!seats) return s_fail(x, 0, "out of memory");
        s_seats_free(c->seats, c->n_seats);
        c->seats = seats;
        c->n_seats = n;
        return 0;
    }
    if (!uniform)
        return s_fail(x, 0,
                      "simulation.agents is now %d but the seats list gives %d seats of "
                      "different kinds; write the seats for %d agents in the file",
                      n, c->n_seats, n);
    pl_seat_t *seats = calloc((size_t)n, sizeof *seats);
    if (!seats) return s_fail(x, 0, "out of memory");
    for (int i = 0; i < n; i++)
        if (s_seat_copy(&seats[i], &c->seats[0])) {
            s_seats_free(seats, i);
            return s_fail(x, 0, "out of memory");
        }
    s_seats_free(c->seats, c->n_seats);
    c->seats = seats;
    c->n_seats = n;
    return 0;
}

int pl_config_set(pl_config_t *c, const char *assignment, char *err, size_t errlen)
{
    s_ctx_t x = {
        .name = assignment ? assignment : "(null)", .lines = false, .err = err, .errlen = errlen};
    pl_config_t *t = NULL;
    char *path = NULL;
    yaml_document_t doc;
    bool loaded = false;
    int rc = ENV_ECONFIG;
    if (err && errlen) err[0] = '\0';
    const char *eq = assignment ? strchr(assignment, '=') : NULL;
    if (!c || !eq) {
        s_fail(&x, 0, "expected key.path=value");
        return ENV_EINVAL;
    }
    /* The key, without surrounding blanks. */
    const char *k0 = assignment, *k1 = eq;
    while (k0 < k1 && (*k0 == ' ' || *k0 == '\t')) k0++;
    while (k1 > k0 && (k1[-1] == ' ' || k1[-1] == '\t')) k1--;
    if (k0 == k1) {
        s_fail(&x, 0, "expected key.path=value");
        return ENV_EINVAL;
    }
    path = strndup(k0, (size_t)(k1 - k0));
    t = pl_config_dup(c);
    if (!path || !t) {
        s_fail(&x, 0, "out of memory");
        rc = ENV_ENOMEM;
        goto out;
    }
    /* The value is YAML too, so that lists and mappings can be given inline
     * ("seats=[{policy: perfect, count: 10}]"). */
    const char *val = eq + 1;
    yaml_node_t *v = NULL;
    if (s_load(&x, &doc, val, strlen(val), &v)) goto out;
    loaded = true;
    if (s_set_path(&x, t, path, v)) goto out;
    if (strcmp(path, "seats") != 0 && s_reseat(&x, t, c)) goto out;
    if (s_finish(&x, t)) goto out;
    /* Success: the new configuration takes the old one's place. */
    s_config_clear(c);
    *c = *t;
    free(t);
    t = NULL;
    rc = ENV_OK;
out:
    if (loaded) yaml_document_delete(&doc);
    free(x.seat_line);
    pl_config_destroy(&t);
    free(path);
    return rc;
}

/* ----------------------------------------------------------------- JSON -- */

/* Sets obj[key] = v, counting failures (v may be NULL after a failed json_*()). */
static void s_jset(json_t *obj, const char *key, json_t *v, int *bad)
{
    if (!obj || json_object_set_new(obj, key, v) != 0) (*bad)++;
}

static json_t *s_jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *s_seat_json(const pl_seat_t *s, int count, int *bad)
{
    pl_seat_t def;
    s_seat_init(&def);
    bool llm = s->policy && strcmp(s->policy, "llm") == 0;
    json_t *o = json_object();
    s_jset(o, "policy", s_jstr(s->policy), bad);
    s_jset(o, "count", json_integer(count), bad);
    if (s->provider) s_jset(o, "provider", json_string(s->provider), bad);
    if (s->model) s_jset(o, "model", json_string(s->model), bad);
    if (s->base_url) s_jset(o, "base_url", json_string(s->base_url), bad);
    if (s->api_key_env) s_jset(o, "api_key_env", json_string(s->api_key_env), bad);
    /* Scripted seats stay short: numbers only when they differ from the default. */
    if (llm || s->temperature != def.temperature)
        s_jset(o, "temperature", json_real(s->temperature), bad);
    if (llm || s->max_tokens != def.max_tokens)
        s_jset(o, "max_tokens", json_integer(s->max_tokens), bad);
    if (s->reasoning_effort) s_jset(o, "reasoning_effort", json_string(s->reasoning_effort), bad);
    if (llm || s->timeout != def.timeout) s_jset(o, "timeout", json_real(s->timeout), bad);
    if (s->n_headers) {
        json_t *h = json_object();
        for (size_t i = 0; i < s->n_headers; i++)
            s_jset(h, s->headers[i].name, json_string(s->headers[i].value), bad);
        s_jset(o, "headers", h, bad);
    }
    if (s->prompt_layout) s_jset(o, "prompt_layout", json_string(s->prompt_layout), bad);
    if (s->prompt) s_jset(o, "prompt", json_string(s->prompt), bad);
    if (llm || s->json_mode) s_jset(o, "json_mode", json_boolean(s->json_mode), bad);
    if (s->reply_format) s_jset(o, "reply_format", json_string(s->reply_format), bad);
    if (s->label) s_jset(o, "label", json_string(s->label), bad);
    /* Timing keys only when set: they are part of a run's condition then. */
    if (s->deadline > 0) s_jset(o, "deadline", json_real(s->deadline), bad);
    if (s->bank > 0) s_jset(o, "bank", json_real(s->bank), bad);
    if (s->latency > 0) s_jset(o, "latency", json_real(s->latency), bad);
    if (s->latency_dist) s_jset(o, "latency_dist", json_string(s->latency_dist), bad);
    if (s->min_think >= 0) s_jset(o, "min_think", json_real(s->min_think), bad);
    if (s->realtime_policy) s_jset(o, "realtime_policy", json_string(s->realtime_policy), bad);
    return o;
}

json_t *pl_config_to_json(const pl_config_t *c)
{
    if (!c) return NULL;
    int bad = 0;
    const env_config_t *g = &c->game;
    json_t *root = json_object(), *o;

    s_jset(root, "scenario", s_jstr(c->scenario), &bad);
    /* JSON integers are signed 64-bit: a larger seed is written as a string,
     * which the loader reads back as the same number. */
    if (g->seed <= (uint64_t)INT64_MAX) {
        s_jset(root, "seed", json_integer((json_int_t)g->seed), &bad);
    } else {
        char buf[32];
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)g->seed);
        s_jset(root, "seed", json_string(buf), &bad);
    }
    o = json_object();
    s_jset(o, "rounds", json_integer(g->rounds), &bad);
    s_jset(o, "agents", json_integer(g->n_agents), &bad);
    s_jset(o, "fail_fast_on_agent_error", json_boolean(c->fail_fast), &bad);
    s_jset(root, "simulation", o, &bad);
    o = json_object();
    s_jset(o, "total_pieces", json_integer(g->total_pieces), &bad);
    s_jset(o, "pieces_per_agent", json_integer(g->pieces_per_agent), &bad);
    s_jset(o, "unique_distribution", json_boolean(g->unique_distribution), &bad);
    if (g->n_info_templates > 0) {
        json_t *l = json_array();
        for (int i = 0; i < g->n_info_templates; i++)
            bad |= json_array_append_new(l, json_string(g->info_templates[i])) != 0;
        s_jset(o, "info_templates", l, &bad);
    }
    s_jset(root, "information", o, &bad);
    o = json_object();
    s_jset(o, "pieces_per_task", json_integer(g->pieces_per_task), &bad);
    s_jset(o, "active_per_agent", json_integer(g->active_per_agent), &bad);
    if (g->min_pieces_per_task > 0)
        s_jset(o, "min_pieces_per_task", json_integer(g->min_pieces_per_task), &bad);
    s_jset(o, "new_task_on_completion", json_boolean(g->new_task_on_completion), &bad);
    if (g->n_task_templates > 0) {
        json_t *l = json_array();
        for (int i = 0; i < g->n_task_templates; i++)
            bad |= json_array_append_new(l, json_string(g->task_templates[i])) != 0;
        s_jset(o, "task_templates", l, &bad);
    }
    s_jset(root, "tasks", o, &bad);
    o = json_object();
    s_jset(o, "task_completion", json_integer(g->task_reward), &bad);
    s_jset(o, "information_sharing", json_integer(g->sharing_bonus), &bad);
    s_jset(o, "incorrect_value_penalty", json_real(g->misreport_rate), &bad);
    s_jset(o, "bonus_for_first", json_integer(g->first_bonus), &bad);
    s_jset(root, "revenue", o, &bad);
    o = json_object();
    /* The parts are written out, so the umbrella only says whether all are on. */
    bool all = g->show_revenue_board && g->show_exchanges && g->show_public_notices &&
               g->show_receipt_notice && g->show_thoughts;
    s_jset(o, "show_full_revenue", json_boolean(all), &bad);
    s_jset(o, "revenue_board", json_boolean(g->show_revenue_board), &bad);
    s_jset(o, "exchanges", json_boolean(g->show_exchanges), &bad);
    s_jset(o, "public_notices", json_boolean(g->show_public_notices), &bad);
    s_jset(o, "receipt_notice", json_boolean(g->show_receipt_notice), &bad);
    s_jset(o, "thoughts", json_boolean(g->show_thoughts), &bad);
    s_jset(root, "transparency", o, &bad);
    o = json_object();
    s_jset(o, "submit_fallback_first_task", json_boolean(g->submit_fallback_first), &bad);
    s_jset(o, "tell_failed_submission", json_boolean(g->tell_failed_submission), &bad);
    s_jset(o, "report_invalid_actions", json_boolean(g->report_invalid_actions), &bad);
    s_jset(o, "instant_fulfilment_exact_request", json_boolean(g->instant_perfect_only), &bad);
    s_jset(o, "submit_exact_names", json_boolean(g->submit_exact_names), &bad);
    s_jset(o, "automated_transfers_as_agents", json_boolean(g->automated_as_agents), &bad);
    s_jset(o, "auto_request_once", json_boolean(g->auto_request_once), &bad);
    s_jset(o, "count_failed_sends", json_boolean(g->count_failed_sends), &bad);
    s_jset(root, "rules", o, &bad);
    o = json_object();
    s_jset(o, "max_actions_per_turn", json_integer(g->max_actions_per_turn), &bad);
    s_jset(root, "communication", o, &bad);
    o = json_object();
    s_jset(o, "truncate", json_boolean(g->truncate_history), &bad);
    s_jset(root, "history", o, &bad);
    s_jset(root, "automation", json_string(env_automation_name(g->automation)), &bad);
    o = json_object();
    for (int t = 0; t < ENV_TYPE_COUNT; t++)
        s_jset(o, env_type_name((env_type_t)t), json_integer(g->type_counts[t]), &bad);
    s_jset(root, "agent_types", o, &bad);
    o = json_object();
    s_jset(o, "mode", json_string(pl_timing_name(c->timing)), &bad);
    s_jset(o, "turn_timeout", json_real(c->turn_timeout), &bad);
    s_jset(o, "human_turn_timeout", json_real(c->human_turn_timeout), &bad);
    s_jset(o, "duration", json_real(c->duration), &bad);
    s_jset(o, "min_think", json_real(c->min_think >= 0 ? c->min_think : s_mode_min_think(c)), &bad);
    s_jset(o, "heartbeat", json_real(c->heartbeat), &bad);
    s_jset(root, "timing", o, &bad);
    s_jset(root, "blind", json_boolean(c->blind), &bad);
    if (c->llm_prompt) {
        o = json_object();
        s_jset(o, "prompt", json_string(c->llm_prompt), &bad);
        s_jset(root, "llm", o, &bad);
    }
    o = json_object();
    s_jset(o, "mode", json_string(pl_config_mixed(c) ? "mixed" : "standard"), &bad);
    s_jset(root, "agents", o, &bad);
    /* Runs of identical seats become one group, as a person would write them. */
    json_t *seats = json_array();
    for (int i = 0; i < c->n_seats;) {
        int j = i + 1;
        while (j < c->n_seats && s_seat_equal(&c->seats[j], &c->seats[i])) j++;
        if (!seats || json_array_append_new(seats, s_seat_json(&c->seats[i], j - i, &bad))) bad++;
        i = j;
    }
    s_jset(root, "seats", seats, &bad);
    o = json_object();
    for (size_t i = 0; i < c->n_prices; i++) {
        json_t *p = json_object();
        s_jset(p, "input", json_real(c->prices[i].input), &bad);
        s_jset(p, "output", json_real(c->prices[i].output), &bad);
        s_jset(p, "cached_input", json_real(c->prices[i].cached_input), &bad);
        s_jset(o, c->prices[i].model, p, &bad);
    }
    s_jset(root, "prices", o, &bad);
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}
