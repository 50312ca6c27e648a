/* pl_config_load.c: loading a configuration file (see pl_config.h).
 *
 * The walk of the YAML document (agent_types, the sections and top-level keys),
 * the configuration's lifecycle (default, dup, destroy), the checks that need the
 * whole file (pl_cfg_finish), and pl_config_parse()/pl_config_load() themselves.
 * Scalar keys are read through the tables in pl_config.c, seats through
 * pl_config_seat.c.
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

/* A configuration file is a page of text; anything larger is a mistake. */
#define S_MAX_FILE (1024 * 1024)

/* ------------------------------------------------------------- defaults -- */

#define S_TURN_TIMEOUT       PL_CFG_TURN_TIMEOUT
#define S_HUMAN_TURN_TIMEOUT 300.0
#define S_DURATION           120.0
#define S_MIN_THINK          -1.0 /* the mode's default: pl_seat_min_think */
#define S_HEARTBEAT          2.0

/* Top-level keys whose value is not a scalar or a section of scalars. */
static const char *const s_complex[] = {"agent_types", "seats", "prices"};
#define S_N_COMPLEX (sizeof s_complex / sizeof s_complex[0])

/* ---------------------------------------------------------- agent types -- */

int pl_cfg_type_count(pl_cfg_ctx_t *x, pl_config_t *c, const char *name, const yaml_node_t *v,
                      int line)
{
    char key[96];
    snprintf(key, sizeof key, "agent_types.%s", name);
    int t = env_type_from_name(name);
    if (t < 0 || t >= ENV_TYPE_COUNT) {
        const char *names[ENV_TYPE_COUNT];
        for (int i = 0; i < ENV_TYPE_COUNT; i++) names[i] = env_type_name((env_type_t)i);
        char hint[96];
        return pl_cfg_fail(
            x, line,
            "agent_types: unknown type \"%s\"%s (neutral, policy, competitive, "
            "uncooperative)",
            name, pl_cfg_hint(hint, sizeof hint, pl_cfg_closest(name, names, ENV_TYPE_COUNT)));
    }
    static const pl_cfg_key_t k = {"", S_INT, 0, 0, ENV_MAX_AGENTS, false, 0};
    if (pl_cfg_apply(x, &k, &c->game.type_counts[t], v, key)) return -1;
    pl_cfg_seen(x, key, v);
    return 0;
}

static int s_types_read(pl_cfg_ctx_t *x, pl_config_t *c, const yaml_node_t *n)
{
    int m = pl_cfg_want_map(x, n, "agent_types");
    if (m < 0) return -1;
    memset(c->game.type_counts, 0, sizeof c->game.type_counts);
    if (m == 0) return 0;
    if (pl_cfg_check_keys(x, n, "agent_types")) return -1;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
        if (pl_cfg_type_count(x, c, pl_cfg_key_text(x->doc, p),
                              yaml_document_get_node(x->doc, p->value),
                              pl_cfg_line(x, yaml_document_get_node(x->doc, p->key))))
            return -1;
    return 0;
}

/* ------------------------------------------------------------- the tree -- */

bool pl_cfg_is_section(const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < pl_cfg_n_keys; i++)
        if (strncmp(pl_cfg_keys[i].key, name, len) == 0 && pl_cfg_keys[i].key[len] == '.')
            return true;
    return false;
}

/* "unknown key" with the closest known key of the same section, or the same key
 * of another section ("simulation.total_pieces" -> "information.total_pieces"). */
int pl_cfg_unknown(pl_cfg_ctx_t *x, int line, const char *section, const char *key)
{
    char full[160], best[80] = "", hint[128] = "";
    size_t best_d = SIZE_MAX, len = section ? strlen(section) : 0;
    snprintf(full, sizeof full, "%s%s%s", section ? section : "", section ? "." : "", key);
    for (size_t i = 0; i < pl_cfg_n_keys + S_N_COMPLEX; i++) {
        const char *known = i < pl_cfg_n_keys ? pl_cfg_keys[i].key : s_complex[i - pl_cfg_n_keys];
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
        size_t d = pl_cfg_distance(key, cand);
        if (d == SIZE_MAX || (d > 2 && d * 3 > strlen(key)) || d >= best_d) continue;
        int n =
            snprintf(best, sizeof best, "%s%s%s", section ? section : "", section ? "." : "", cand);
        if (n < 0 || (size_t)n >= sizeof best)
            best[0] = '\0';
        else
            best_d = d;
    }
    if (best[0]) snprintf(hint, sizeof hint, " (did you mean '%s'?)", best);
    return pl_cfg_fail(x, line, "unknown key \"%s\"%s", full, hint);
}

/* A mapping of scalar keys under `section`, in two passes (see pl_cfg_keys). */
static int s_section_read(pl_cfg_ctx_t *x, pl_config_t *c, const char *section,
                          const yaml_node_t *n)
{
    int m = pl_cfg_want_map(x, n, section);
    if (m <= 0) return m;
    if (pl_cfg_check_keys(x, n, section)) return -1;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        char full[160];
        snprintf(full, sizeof full, "%s.%s", section, pl_cfg_key_text(x->doc, p));
        yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
        if (!pl_cfg_find(pl_cfg_keys, pl_cfg_n_keys, full))
            return pl_cfg_unknown(x, pl_cfg_line(x, k), section, pl_cfg_key_text(x->doc, p));
    }
    for (int pass = 0; pass < 2; pass++)
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            char full[160];
            snprintf(full, sizeof full, "%s.%s", section, pl_cfg_key_text(x->doc, p));
            const pl_cfg_key_t *k = pl_cfg_find(pl_cfg_keys, pl_cfg_n_keys, full);
            if (k->pass != pass) continue;
            yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
            if (pl_cfg_apply(x, k, c, v, full)) return -1;
            pl_cfg_seen(x, full, yaml_document_get_node(x->doc, p->key));
        }
    return 0;
}

/* One top-level key with its value (file or override). */
int pl_cfg_top_read(pl_cfg_ctx_t *x, pl_config_t *c, const char *key, const yaml_node_t *v,
                    int line)
{
    const pl_cfg_key_t *k = pl_cfg_find(pl_cfg_keys, pl_cfg_n_keys, key);
    if (k) {
        if (pl_cfg_apply(x, k, c, v, key)) return -1;
        pl_cfg_seen(x, key, v);
        return 0;
    }
    if (strcmp(key, "seats") == 0) return pl_cfg_seats_read(x, c, v, line);
    if (strcmp(key, "prices") == 0) return pl_cfg_prices_read(x, c, v);
    if (strcmp(key, "agent_types") == 0) {
        if (x->lines && x->n_seen < PL_CFG_MAX_SEEN) {
            snprintf(x->seen[x->n_seen].key, sizeof x->seen[0].key, "agent_types");
            x->seen[x->n_seen++].line = line;
        }
        return s_types_read(x, c, v);
    }
    if (pl_cfg_is_section(key)) {
        if (x->lines && x->n_seen < PL_CFG_MAX_SEEN) {
            snprintf(x->seen[x->n_seen].key, sizeof x->seen[0].key, "%s", key);
            x->seen[x->n_seen++].line = line;
        }
        return s_section_read(x, c, key, v);
    }
    return pl_cfg_unknown(x, line, NULL, key);
}

/* Aliases are refused: with the document API an alias is a node referenced twice,
 * and walking such a tree can cost exponential time (the "billion laughs"). */
static int s_no_aliases(pl_cfg_ctx_t *x)
{
    size_t n = (size_t)(x->doc->nodes.top - x->doc->nodes.start);
    unsigned char *refs = calloc(n + 1, 1);
    if (!refs) return pl_cfg_fail(x, 0, "out of memory");
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
        return pl_cfg_fail(x, pl_cfg_line(x, node),
                           "YAML anchors and aliases (&name, *name) are not supported in a "
                           "configuration; write the value out");
    }
    free(refs);
    return 0;
}

/* ----------------------------------------------------------- lifecycle -- */

void pl_cfg_config_clear(pl_config_t *c)
{
    free(c->path);
    free(c->scenario);
    free(c->llm_prompt);
    free(c->llm_cache_hints);
    free(c->agents_mode);
    pl_cfg_seats_free(c->seats, c->n_seats);
    pl_cfg_prices_free(c->prices, c->n_prices);
    memset(c, 0, sizeof *c);
}

void pl_config_destroy(pl_config_t **cp)
{
    if (!cp || !*cp) return;
    pl_cfg_config_clear(*cp);
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
    c->max_unjoined = PL_CFG_MAX_UNJOINED;
    c->join_timeout = PL_CFG_JOIN_TIMEOUT;
    c->session_max_missed = PL_CFG_SESSION_MAX_MISSED;
    c->session_dropout_after = PL_CFG_SESSION_DROPOUT;
    c->blind = false;
    c->n_seats = c->game.n_agents;
    c->seats = pl_cfg_default_seats(c->n_seats);
    if (!c->scenario || !c->seats) pl_config_destroy(&c);
    return c;
}

pl_config_t *pl_config_dup(const pl_config_t *src)
{
    if (!src) return NULL;
    pl_config_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    *c = *src;
    c->path = pl_cfg_strdup(src->path);
    c->scenario = pl_cfg_strdup(src->scenario);
    c->llm_prompt = pl_cfg_strdup(src->llm_prompt);
    c->llm_cache_hints = pl_cfg_strdup(src->llm_cache_hints);
    c->agents_mode = pl_cfg_strdup(src->agents_mode);
    c->seats = NULL;
    c->n_seats = 0;
    c->prices = NULL;
    c->n_prices = 0;
    if ((src->path && !c->path) || (src->scenario && !c->scenario) ||
        (src->llm_prompt && !c->llm_prompt) || (src->agents_mode && !c->agents_mode) ||
        (src->llm_cache_hints && !c->llm_cache_hints))
        goto fail;
    if (src->n_seats > 0) {
        c->seats = calloc((size_t)src->n_seats, sizeof *c->seats);
        if (!c->seats) goto fail;
        for (int i = 0; i < src->n_seats; i++) {
            if (pl_cfg_seat_copy(&c->seats[i], &src->seats[i])) goto fail;
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
static int s_line_for(const pl_cfg_ctx_t *x, const char *msg)
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
static int s_prompt_path(pl_cfg_ctx_t *x, char **spec, const char *key, int line)
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
        return pl_cfg_fail(x, line, "%s: cannot read the template \"%s\": %s", key, joined,
                           strerror(errno));
    free(*spec);
    *spec = abs;
    return 0;
}

/* Everything that involves more than one key, after the whole file is read. */
int pl_cfg_finish(pl_cfg_ctx_t *x, pl_config_t *c)
{
    if (c->agents_mode && strcmp(c->agents_mode, "standard") != 0 &&
        strcmp(c->agents_mode, "mixed") != 0)
        return pl_cfg_fail(x, s_line_for(x, "agents.mode"),
                           "agents.mode: unknown mode \"%s\" (standard or mixed)", c->agents_mode);
    if (c->llm_cache_hints && strcmp(c->llm_cache_hints, "on") != 0 &&
        strcmp(c->llm_cache_hints, "off") != 0)
        return pl_cfg_fail(x, s_line_for(x, "llm.cache_hints"),
                           "llm.cache_hints: unknown value \"%s\" (on or off)", c->llm_cache_hints);
    if (s_prompt_path(x, &c->llm_prompt, "llm.prompt", s_line_for(x, "llm.prompt"))) return -1;
    for (int i = 0; i < c->n_seats; i++) {
        char key[64];
        snprintf(key, sizeof key, "seats: agent_%d: prompt", i + 1);
        int line = x->seat_line ? x->seat_line[i] : x->seats_line;
        if (s_prompt_path(x, &c->seats[i].prompt, key, line)) return -1;
    }
    if (!c->scenario || !env_scenario_find(c->scenario))
        return pl_cfg_fail(x, s_line_for(x, "scenario"), "scenario: unknown scenario \"%s\"",
                           c->scenario ? c->scenario : "(none)");
    char msg[256] = "";
    if (env_config_check(&c->game, msg, sizeof msg) != ENV_OK)
        return pl_cfg_fail(x, s_line_for(x, msg), "%s", msg[0] ? msg : "impossible numbers");
    if (c->n_seats != c->game.n_agents)
        return pl_cfg_fail(
            x, x->seats_line,
            "seats: the groups give %d seat%s but simulation.agents is %d (the counts "
            "must add up; omit seats for the default perfect/selfish split)",
            c->n_seats, c->n_seats == 1 ? "" : "s", c->game.n_agents);
    for (int i = 0; i < c->n_seats; i++) {
        if (pl_cfg_seat_resolve(&c->seats[i])) return pl_cfg_fail(x, 0, "out of memory");
        if (pl_cfg_seat_check(x, &c->seats[i], i, x->seat_line ? x->seat_line[i] : x->seats_line))
            return -1;
        if (pl_cfg_seat_check_timing(x, c, &c->seats[i], i,
                                     x->seat_line ? x->seat_line[i] : x->seats_line))
            return -1;
    }
    return 0;
}

/* Seats follow simulation.agents when the file gives none. */
static int s_default_seats_for(pl_cfg_ctx_t *x, pl_config_t *c)
{
    if (x->seats_read || c->n_seats == c->game.n_agents) return 0;
    pl_seat_t *seats = pl_cfg_default_seats(c->game.n_agents);
    if (!seats) return pl_cfg_fail(x, 0, "out of memory");
    pl_cfg_seats_free(c->seats, c->n_seats);
    c->seats = seats;
    c->n_seats = c->game.n_agents;
    return 0;
}

static int s_yaml_error(pl_cfg_ctx_t *x, const yaml_parser_t *p, const char *text, size_t len)
{
    if (p->error == YAML_MEMORY_ERROR) return pl_cfg_fail(x, 0, "out of memory");
    const yaml_mark_t *m = &p->problem_mark;
    if (p->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset only: count the lines up to it. */
        int line = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++) line += text[i] == '\n';
        return pl_cfg_fail(x, x->lines ? line : 0, "%s (byte %zu)",
                           p->problem ? p->problem : "unreadable text", p->problem_offset);
    }
    /* The one mistake libyaml words least helpfully. */
    const char *tab =
        m->index < len && text[m->index] == '\t' ? " (a tab: YAML indents with spaces only)" : "";
    if (p->context)
        return pl_cfg_fail(x, x->lines ? (int)m->line + 1 : 0, "%s %s (started on line %d)%s",
                           p->problem ? p->problem : "malformed YAML", p->context,
                           (int)p->context_mark.line + 1, tab);
    return pl_cfg_fail(x, x->lines ? (int)m->line + 1 : 0, "%s%s",
                       p->problem ? p->problem : "malformed YAML", tab);
}

/* A configuration nests 4 levels; libyaml's loader slows down with depth. */
#define S_MAX_DEPTH 64

/* Refuses nesting deeper than S_MAX_DEPTH before the document is built: the
 * event stream stops at the first level too deep, so a hostile file costs
 * no more than its first few hundred bytes (docs/SECURITY.md). */
static int s_check_depth(pl_cfg_ctx_t *x, const char *text, size_t len)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return pl_cfg_fail(x, 0, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int depth = 0, rc = 0;
    for (;;) {
        yaml_event_t e;
        if (!yaml_parser_parse(&parser, &e)) break; /* the loader reports syntax errors */
        yaml_event_type_t type = e.type;
        int line = (int)e.start_mark.line + 1;
        yaml_event_delete(&e);
        if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            if (++depth > S_MAX_DEPTH) {
                rc = pl_cfg_fail(x, line, "nested deeper than %d levels: not a configuration",
                                 S_MAX_DEPTH);
                break;
            }
        } else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
            depth--;
        } else if (type == YAML_STREAM_END_EVENT) {
            break;
        }
    }
    yaml_parser_delete(&parser);
    return rc;
}

/* Loads one YAML document from text; *root is NULL for an empty document. */
int pl_cfg_load(pl_cfg_ctx_t *x, yaml_document_t *doc, const char *text, size_t len,
                yaml_node_t **root)
{
    yaml_parser_t parser;
    *root = NULL;
    if (s_check_depth(x, text, len)) return -1;
    if (!yaml_parser_initialize(&parser)) return pl_cfg_fail(x, 0, "out of memory");
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
        int line2 = r2 ? pl_cfg_line(x, r2) : 0;
        yaml_document_delete(&next);
        if (r2) {
            pl_cfg_fail(x, line2, "a second YAML document (---) in one configuration");
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
    pl_cfg_ctx_t x = {
        .name = name ? name : "<config>", .lines = true, .err = err, .errlen = errlen};
    yaml_document_t doc;
    yaml_node_t *root = NULL;
    bool loaded = false;
    if (err && errlen) err[0] = '\0';
    pl_config_t *c = pl_config_default();
    if (!c) {
        pl_cfg_fail(&x, 0, "out of memory");
        goto fail;
    }
    if (pl_cfg_load(&x, &doc, text ? text : "", text ? len : 0, &root)) goto fail;
    loaded = true;
    if (root && pl_cfg_want_map(&x, root, "the top level") < 0) goto fail;
    if (root && root->type == YAML_MAPPING_NODE) {
        if (pl_cfg_check_keys(&x, root, "")) goto fail;
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
             p++)
            if (pl_cfg_top_read(&x, c, pl_cfg_key_text(&doc, p),
                                yaml_document_get_node(&doc, p->value),
                                pl_cfg_line(&x, yaml_document_get_node(&doc, p->key))))
                goto fail;
    }
    if (s_default_seats_for(&x, c) || pl_cfg_finish(&x, c)) goto fail;
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
    pl_cfg_ctx_t x = {
        .name = path ? path : "<config>", .lines = false, .err = err, .errlen = errlen};
    char *text = NULL;
    pl_config_t *c = NULL;
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        pl_cfg_fail(&x, 0, "cannot open: %s", path ? strerror(errno) : "no path");
        goto fail;
    }
    text = malloc(S_MAX_FILE + 1);
    if (!text) {
        pl_cfg_fail(&x, 0, "out of memory");
        goto fail;
    }
    size_t len = fread(text, 1, S_MAX_FILE + 1, f);
    if (ferror(f)) {
        pl_cfg_fail(&x, 0, "cannot read: %s", strerror(errno));
        goto fail;
    }
    if (len > S_MAX_FILE) {
        pl_cfg_fail(&x, 0, "larger than %d bytes: not a configuration file", S_MAX_FILE);
        goto fail;
    }
    c = pl_config_parse(text, len, path, err, errlen);
    if (!c) goto fail;
    c->path = strdup(path);
    if (!c->path) {
        pl_cfg_fail(&x, 0, "out of memory");
        pl_config_destroy(&c);
    }
fail:
    free(text);
    if (f) fclose(f);
    return c;
}
