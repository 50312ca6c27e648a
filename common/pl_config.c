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
 *
 * This file holds the key tables (every row of every table stays here), the
 * context and helpers for messages, the scalar readers and prices. The rest of
 * the module: pl_config_seat.c (seats), pl_config_load.c (the document walk,
 * lifecycle, parse and load), pl_config_set.c (overrides), pl_config_json.c
 * (the JSON writer); pl_config_internal.h is what they share.
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

#define C_(f) offsetof(pl_config_t, f)
#define G_(f) offsetof(pl_config_t, game.f)
#define BIG   1e15

/* Every scalar key of the file under the root. Sections are the part before the
 * dot; a key without a dot sits at the top level. */
const pl_cfg_key_t pl_cfg_keys[] = {
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
    {"rules.answer_request_form_only", S_BOOL, G_(request_form_only), 0, 0, false, 0},
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
    /* Below 0.05 s agents would reconnect all the time (docs/SECURITY.md). */
    {"timing.heartbeat", S_NUM, C_(heartbeat), 0.05, 3600, false, 0},
    {"security.max_unjoined", S_INT, C_(max_unjoined), 1, 100000, false, 0},
    {"security.join_timeout", S_NUM, C_(join_timeout), 0.1, 3600, false, 0},
    {"llm.prompt", S_STR, C_(llm_prompt), 0, 0, false, 0},
    {"llm.cache_hints", S_STR, C_(llm_cache_hints), 0, 0, false, 0},
    {"agents.mode", S_STR, C_(agents_mode), 0, 0, false, 0},
    {"session.max_missed", S_INT, C_(session_max_missed), 0, 1000000, false, 0},
    {"session.dropout_after", S_NUM, C_(session_dropout_after), 1, BIG, false, 0},
    {"session.lobby_timeout", S_NUM, C_(session_lobby_timeout), 0, BIG, false, 0},
};
const size_t pl_cfg_n_keys = sizeof pl_cfg_keys / sizeof pl_cfg_keys[0];

#define S_(f) offsetof(pl_seat_t, f)
const pl_cfg_key_t pl_cfg_seat_keys[] = {
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
    {"fallback", S_STR, S_(fallback), 0, 0, false, 0},
};
const size_t pl_cfg_n_seat_keys = sizeof pl_cfg_seat_keys / sizeof pl_cfg_seat_keys[0];

#define P_(f) offsetof(pl_price_t, f)
const pl_cfg_key_t pl_cfg_price_keys[] = {
    {"input", S_NUM, P_(input), 0, BIG, false, 0},
    {"output", S_NUM, P_(output), 0, BIG, false, 0},
    {"cached_input", S_NUM, P_(cached_input), 0, BIG, false, 0},
};
const size_t pl_cfg_n_price_keys = sizeof pl_cfg_price_keys / sizeof pl_cfg_price_keys[0];

/* ------------------------------------------------------------- context -- */

int pl_cfg_line(const pl_cfg_ctx_t *x, const yaml_node_t *n)
{
    return (x->lines && n) ? (int)n->start_mark.line + 1 : 0;
}

__attribute__((format(printf, 3, 4))) int pl_cfg_fail(pl_cfg_ctx_t *x, int line, const char *fmt,
                                                      ...)
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

void pl_cfg_seen(pl_cfg_ctx_t *x, const char *key, const yaml_node_t *n)
{
    if (!x->lines || x->n_seen >= PL_CFG_MAX_SEEN) return;
    snprintf(x->seen[x->n_seen].key, sizeof x->seen[0].key, "%s", key);
    x->seen[x->n_seen].line = pl_cfg_line(x, n);
    x->n_seen++;
}

/* ------------------------------------------------------------- helpers -- */

char *pl_cfg_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Edit distance, for "did you mean". Long strings are never close enough. */
size_t pl_cfg_distance(const char *a, const char *b)
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
void pl_cfg_suggest(const char *given, const char *cand, const char **best, size_t *best_d)
{
    size_t d = pl_cfg_distance(given, cand);
    size_t len = strlen(given);
    if (d == SIZE_MAX || (d > 2 && d * 3 > len)) return;
    if (d < *best_d) {
        *best = cand;
        *best_d = d;
    }
}

/* " (did you mean 'x'?)" or "" */
const char *pl_cfg_hint(char *buf, size_t len, const char *best)
{
    if (!best) return "";
    snprintf(buf, len, " (did you mean '%s'?)", best);
    return buf;
}

const char *pl_cfg_node_kind(const yaml_node_t *n)
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
int pl_cfg_scalar(pl_cfg_ctx_t *x, const yaml_node_t *n, const char *key, const char **out,
                  bool *plain)
{
    if (!n) {
        *out = "";
        *plain = true;
        return 0;
    }
    if (n->type != YAML_SCALAR_NODE)
        return pl_cfg_fail(x, pl_cfg_line(x, n), "%s: expected a single value, got %s", key,
                           pl_cfg_node_kind(n));
    const char *v = (const char *)n->data.scalar.value;
    if (strlen(v) != n->data.scalar.length)
        return pl_cfg_fail(x, pl_cfg_line(x, n), "%s: the value contains a NUL character", key);
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
int pl_cfg_want_map(pl_cfg_ctx_t *x, const yaml_node_t *n, const char *key)
{
    if (n && n->type == YAML_MAPPING_NODE) return 1;
    if (!n) return 0;
    if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        s_is_null((const char *)n->data.scalar.value, true))
        return 0;
    return pl_cfg_fail(x, pl_cfg_line(x, n), "%s: expected a mapping of keys, got %s", key,
                       pl_cfg_node_kind(n));
}

const char *pl_cfg_key_text(const yaml_document_t *doc, const yaml_node_pair_t *p)
{
    yaml_node_t *k = yaml_document_get_node((yaml_document_t *)doc, p->key);
    if (!k || k->type != YAML_SCALAR_NODE) return NULL;
    return (const char *)k->data.scalar.value;
}

/* Every key of a mapping is a plain string and appears once. */
int pl_cfg_check_keys(pl_cfg_ctx_t *x, const yaml_node_t *map, const char *where)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
        const char *ks = pl_cfg_key_text(x->doc, p);
        if (!ks) return pl_cfg_fail(x, pl_cfg_line(x, k), "%s: keys must be plain names", where);
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            const char *qs = pl_cfg_key_text(x->doc, q);
            if (qs && strcmp(qs, ks) == 0)
                return pl_cfg_fail(x, pl_cfg_line(x, k),
                                   "%s%s%s: duplicate key (first given on line %d)",
                                   where[0] ? where : "", where[0] ? "." : "", ks,
                                   pl_cfg_line(x, yaml_document_get_node(x->doc, q->key)));
        }
    }
    return 0;
}

/* ------------------------------------------------------ scalar parsers -- */

int pl_cfg_parse_i64(const char *v, int64_t *out)
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

static int s_bounds(pl_cfg_ctx_t *x, const yaml_node_t *n, const pl_cfg_key_t *k, const char *key,
                    double d, const char *v)
{
    if (d < k->min || (k->strict && d <= k->min))
        return pl_cfg_fail(x, pl_cfg_line(x, n), "%s: %s is too small (must be %s %g)", key, v,
                           k->strict ? "greater than" : "at least", k->min);
    if (d > k->max)
        return pl_cfg_fail(x, pl_cfg_line(x, n), "%s: %s is too large (at most %g)", key, v,
                           k->max);
    return 0;
}

/* Sets one scalar key described by k into the struct at base. */
/* information.info_templates / tasks.task_templates: a list of strings (the
 * environment checks what each must hold). */
static int s_templates(pl_cfg_ctx_t *x, const pl_cfg_key_t *k, void *base, const yaml_node_t *n,
                       const char *key)
{
    env_config_t *g = &((pl_config_t *)base)->game;
    bool info = k->kind == S_INFO_TPL;
    int *count = info ? &g->n_info_templates : &g->n_task_templates;
    char(*dst)[ENV_TEMPLATE_LEN] = info ? g->info_templates : g->task_templates;
    if (!n || n->type != YAML_SEQUENCE_NODE)
        return pl_cfg_fail(x, n ? pl_cfg_line(x, n) : 0, "%s: expected a list of strings", key);
    int m = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++, m++) {
        const yaml_node_t *e = yaml_document_get_node(x->doc, *it);
        const char *v;
        bool plain;
        if (pl_cfg_scalar(x, e, key, &v, &plain)) return -1;
        if (m >= ENV_MAX_TEMPLATES)
            return pl_cfg_fail(x, pl_cfg_line(x, e), "%s: at most %d templates", key,
                               ENV_MAX_TEMPLATES);
        if (!*v || strlen(v) >= ENV_TEMPLATE_LEN)
            return pl_cfg_fail(x, pl_cfg_line(x, e), "%s: a template must have 1 to %d characters",
                               key, ENV_TEMPLATE_LEN - 1);
        snprintf(dst[m], ENV_TEMPLATE_LEN, "%s", v);
    }
    if (m == 0) return pl_cfg_fail(x, pl_cfg_line(x, n), "%s: the list is empty", key);
    *count = m;
    return 0;
}

int pl_cfg_apply(pl_cfg_ctx_t *x, const pl_cfg_key_t *k, void *base, const yaml_node_t *n,
                 const char *key)
{
    char *field = (char *)base + k->off;
    const char *v;
    bool plain;
    if (k->kind == S_HEADERS || k->kind == S_COUNT) return -1; /* not scalars: callers */
    if (k->kind == S_INFO_TPL || k->kind == S_TASK_TPL) return s_templates(x, k, base, n, key);
    if (pl_cfg_scalar(x, n, key, &v, &plain)) return -1;
    switch (k->kind) {
    case S_INT:
    case S_I64: {
        int64_t i;
        if (pl_cfg_parse_i64(v, &i))
            return pl_cfg_fail(x, pl_cfg_line(x, n), "%s: expected a whole number, got \"%s\"", key,
                               v);
        if (s_bounds(x, n, k, key, (double)i, v)) return -1;
        if (k->kind == S_INT)
            *(int *)field = (int)i;
        else
            *(int64_t *)field = i;
        return 0;
    }
    case S_U64:
        if (s_parse_u64(v, (uint64_t *)field))
            return pl_cfg_fail(
                x, pl_cfg_line(x, n),
                "%s: expected a whole number from 0 to 18446744073709551615, got \"%s\"", key, v);
        return 0;
    case S_NUM: {
        double d;
        if (s_parse_num(v, &d))
            return pl_cfg_fail(x, pl_cfg_line(x, n), "%s: expected a number, got \"%s\"", key, v);
        if (s_bounds(x, n, k, key, d, v)) return -1;
        *(double *)field = d;
        return 0;
    }
    case S_BOOL:
        if (s_parse_bool(v, (bool *)field))
            return pl_cfg_fail(x, pl_cfg_line(x, n), "%s: expected true or false, got \"%s\"", key,
                               v);
        return 0;
    case S_TRANSP: {
        bool b;
        if (s_parse_bool(v, &b))
            return pl_cfg_fail(x, pl_cfg_line(x, n), "%s: expected true or false, got \"%s\"", key,
                               v);
        pl_config_t *c = base;
        c->game.show_revenue_board = c->game.show_exchanges = c->game.show_public_notices =
            c->game.show_receipt_notice = c->game.show_thoughts = b;
        return 0;
    }
    case S_STR: {
        char *copy = NULL;
        if (!s_is_null(v, plain)) {
            copy = strdup(v);
            if (!copy) return pl_cfg_fail(x, pl_cfg_line(x, n), "%s: out of memory", key);
        }
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case S_AUTO: {
        int a = env_automation_from_name(v);
        if (a < 0)
            return pl_cfg_fail(
                x, pl_cfg_line(x, n),
                "%s: unknown automation \"%s\" (one of none, auto_fulfill, auto_request)", key, v);
        *(env_automation_t *)field = (env_automation_t)a;
        return 0;
    }
    case S_GONE:
        return pl_cfg_fail(x, pl_cfg_line(x, n),
                           "%s: not a key. The penalty is revenue.incorrect_value_penalty, the "
                           "study's rate (each misreported piece cuts the payout by it); for a "
                           "payout multiplier M write incorrect_value_penalty: 1 - M",
                           key);
    case S_ZERO: {
        bool b;
        if (strcmp(v, "0") == 0 || (s_parse_bool(v, &b) == 0 && !b)) return 0;
        return pl_cfg_fail(x, pl_cfg_line(x, n),
                           "%s: parley does not support this option of the study yet (%s); "
                           "remove it or set it to %s",
                           key, "strategic reports with peer cooperation scores", "0");
    }
    case S_TIMING: {
        int t = pl_timing_from_name(v);
        if (t < 0)
            return pl_cfg_fail(x, pl_cfg_line(x, n),
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

const pl_cfg_key_t *pl_cfg_find(const pl_cfg_key_t *table, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].key, key) == 0) return &table[i];
    return NULL;
}

/* --------------------------------------------------------------- prices -- */

void pl_cfg_prices_free(pl_price_t *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++) free(p[i].model);
    free(p);
}

/* The entry for model, created (all zero) if absent. */
pl_price_t *pl_cfg_price_get(pl_config_t *c, const char *model)
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
int pl_cfg_price_read(pl_cfg_ctx_t *x, pl_config_t *c, const char *model, const yaml_node_t *n)
{
    char where[160];
    snprintf(where, sizeof where, "prices.%s", model);
    int m = pl_cfg_want_map(x, n, where);
    if (m < 0) return -1;
    pl_price_t tmp = {0};
    bool cached = false;
    if (m) {
        if (pl_cfg_check_keys(x, n, where)) return -1;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            const char *field = pl_cfg_key_text(x->doc, p);
            yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
            const pl_cfg_key_t *k = pl_cfg_find(pl_cfg_price_keys, pl_cfg_n_price_keys, field);
            char key[200];
            snprintf(key, sizeof key, "%s.%s", where, field);
            if (!k) {
                char hint[96];
                const char *best = NULL;
                size_t best_d = SIZE_MAX;
                for (size_t i = 0; i < pl_cfg_n_price_keys; i++)
                    pl_cfg_suggest(field, pl_cfg_price_keys[i].key, &best, &best_d);
                return pl_cfg_fail(x, pl_cfg_line(x, yaml_document_get_node(x->doc, p->key)),
                                   "%s: unknown key \"%s\"%s (input, output, cached_input)", where,
                                   field, pl_cfg_hint(hint, sizeof hint, best));
            }
            if (pl_cfg_apply(x, k, &tmp, v, key)) return -1;
            cached |= strcmp(field, "cached_input") == 0;
        }
    }
    if (!cached) tmp.cached_input = tmp.input;
    pl_price_t *p = pl_cfg_price_get(c, model);
    if (!p) return pl_cfg_fail(x, pl_cfg_line(x, n), "%s: out of memory", where);
    p->input = tmp.input;
    p->output = tmp.output;
    p->cached_input = tmp.cached_input;
    return 0;
}

int pl_cfg_prices_read(pl_cfg_ctx_t *x, pl_config_t *c, const yaml_node_t *n)
{
    int m = pl_cfg_want_map(x, n, "prices");
    if (m < 0) return -1;
    pl_cfg_prices_free(c->prices, c->n_prices);
    c->prices = NULL;
    c->n_prices = 0;
    if (m == 0) return 0;
    if (pl_cfg_check_keys(x, n, "prices")) return -1;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
        if (pl_cfg_price_read(x, c, pl_cfg_key_text(x->doc, p),
                              yaml_document_get_node(x->doc, p->value)))
            return -1;
    return 0;
}
