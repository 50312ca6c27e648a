/* pl_config_orig.c: the study's configuration format read into parley's
 * (pl_config_orig.h). Each key of the original is translated into one or more
 * parley assignments applied with pl_config_set(), in a fixed order (so that
 * checks across keys see a complete picture); defaults are the original code's
 * own where a key is absent (simulation.py, agent.py, tasks.py, scoring.py). */
#include "pl_config_orig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define S_MAX_FILE (4 << 20)

typedef enum {
    O_SET,        /* scalar copied to one parley key */
    O_IGNORE,     /* accepted; nothing to do (logging: parley records everything) */
    O_AUTOMATION, /* simulation.automation_mode */
    O_MODEL,      /* agents.model */
    O_MODE,       /* agents.mode */
    O_MODES,      /* agents.agent_modes */
    O_STRATEGY,   /* agents.perfect_strategy: only the values the code implements */
    O_TEMP,       /* agents.temperature */
    O_LIST,       /* a list of strings copied to one parley key */
    O_INFO_LIST,  /* information.info_templates: the built-in list is left implicit */
    O_MIN_PIECES, /* tasks.min_info_pieces: equal to the max means a fixed size */
} o_kind_t;

typedef struct {
    const char *key; /* the original's "section.key" */
    o_kind_t kind;
    const char *parley; /* O_SET / O_LIST: the parley key */
} o_key_t;

/* In the order the assignments are applied: sizes before what depends on them. */
static const o_key_t s_keys[] = {
    {"simulation.agents", O_SET, "simulation.agents"},
    {"simulation.rounds", O_SET, "simulation.rounds"},
    {"simulation.show_full_revenue", O_SET, "transparency.show_full_revenue"},
    {"simulation.report_frequency", O_SET, "simulation.report_frequency"},
    {"simulation.truncate_context", O_SET, "history.truncate"},
    {"simulation.fail_fast_on_agent_error", O_SET, "simulation.fail_fast_on_agent_error"},
    {"simulation.automation_mode", O_AUTOMATION, NULL},
    {"information.total_pieces", O_SET, "information.total_pieces"},
    {"information.pieces_per_agent", O_SET, "information.pieces_per_agent"},
    {"information.unique_distribution", O_SET, "information.unique_distribution"},
    {"information.info_templates", O_INFO_LIST, "information.info_templates"},
    {"tasks.max_info_pieces", O_SET, "tasks.max_pieces_per_task"},
    {"tasks.min_info_pieces", O_MIN_PIECES, "tasks.min_pieces_per_task"},
    {"tasks.initial_tasks_per_agent", O_SET, "tasks.active_per_agent"},
    {"tasks.new_task_on_completion", O_SET, "tasks.new_task_on_completion"},
    {"tasks.task_templates", O_LIST, "tasks.task_templates"},
    {"revenue.task_completion", O_SET, "revenue.task_completion"},
    {"revenue.bonus_for_first", O_SET, "revenue.bonus_for_first"},
    {"revenue.incorrect_value_penalty", O_SET, "revenue.incorrect_value_penalty"},
    {"revenue.information_sharing", O_SET, "revenue.information_sharing"},
    {"communication.max_actions_per_turn", O_SET, "communication.max_actions_per_turn"},
    {"agents.mode", O_MODE, NULL},
    {"agents.model", O_MODEL, NULL},
    {"agents.agent_modes", O_MODES, NULL},
    {"agents.temperature", O_TEMP, NULL},
    {"agents.perfect_strategy", O_STRATEGY, NULL},
    {"agents.uncooperative_count", O_SET, "agent_types.uncooperative"},
    {"agents.competitive_count", O_SET, "agent_types.competitive"},
    {"agents.fail_fast_on_agent_error", O_SET, "simulation.fail_fast_on_agent_error"},
    {"logging.log_all_messages", O_IGNORE, NULL},
    {"logging.log_agent_reasoning", O_IGNORE, NULL},
    {"logging.log_task_attempts", O_IGNORE, NULL},
};
#define S_N_KEYS (sizeof s_keys / sizeof s_keys[0])

/* Keys only the original's format has: any one of them decides. */
static const char *const s_marks[] = {
    "tasks.min_info_pieces",
    "tasks.max_info_pieces",
    "tasks.initial_tasks_per_agent",
    "simulation.show_full_revenue",
    "simulation.truncate_context",
    "simulation.automation_mode",
    "agents.model",
    "agents.agent_modes",
    "agents.uncooperative_count",
    "agents.competitive_count",
    "agents.perfect_strategy",
    "information.info_templates",
};

/* parley's built-in piece names, in the original's own spelling. */
static const char *const s_builtin_info[] = {"Q{n} sales data", "Customer segment {n} analysis",
                                             "Product {n} performance metrics",
                                             "Region {n} market data", "Department {n} budget"};

typedef struct {
    const char *name;
    char *err;
    size_t errlen;
    yaml_document_t *doc;
    pl_config_t *c;
} s_ctx_t;

__attribute__((format(printf, 3, 4))) static int s_fail(s_ctx_t *x, int line, const char *fmt, ...)
{
    if (x->err && x->errlen) {
        int at = line > 0 ? snprintf(x->err, x->errlen, "%s:%d: ", x->name, line)
                          : snprintf(x->err, x->errlen, "%s: ", x->name);
        if (at > 0 && (size_t)at < x->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(x->err + at, x->errlen - (size_t)at, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

static int s_line(const yaml_node_t *n)
{
    return n ? (int)n->start_mark.line + 1 : 0;
}

static const char *s_text(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The value node of `section.key` and the line of its key, or NULL. */
static yaml_node_t *s_get(yaml_document_t *doc, const char *dotted, int *line)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root || root->type != YAML_MAPPING_NODE) return NULL;
    const char *dot = strchr(dotted, '.');
    size_t sl = dot ? (size_t)(dot - dotted) : strlen(dotted);
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const char *k = s_text(yaml_document_get_node(doc, p->key));
        if (!k || strlen(k) != sl || strncmp(k, dotted, sl) != 0) continue;
        yaml_node_t *sec = yaml_document_get_node(doc, p->value);
        if (!dot) return sec;
        if (!sec || sec->type != YAML_MAPPING_NODE) return NULL;
        for (yaml_node_pair_t *q = sec->data.mapping.pairs.start; q < sec->data.mapping.pairs.top;
             q++) {
            yaml_node_t *kn = yaml_document_get_node(doc, q->key);
            const char *kk = s_text(kn);
            if (kk && strcmp(kk, dot + 1) == 0) {
                if (line) *line = s_line(kn);
                return yaml_document_get_node(doc, q->value);
            }
        }
    }
    return NULL;
}

/* pl_config_set(), with its message re-said against the original's key. */
static int s_set(s_ctx_t *x, int line, const char *okey, const char *assignment)
{
    char e[512];
    if (pl_config_set(x->c, assignment, e, sizeof e) == 0) return 0;
    /* "ASSIGNMENT: PARLEY_KEY: why" -> "why", said against the original's key. */
    const char *why = strstr(e, ": ");
    why = why ? why + 2 : e;
    size_t kl = strcspn(assignment, "=");
    if (strncmp(why, assignment, kl) == 0 && strncmp(why + kl, ": ", 2) == 0) why += kl + 2;
    return s_fail(x, line, "%s: %s", okey, why);
}

static int s_set_kv(s_ctx_t *x, int line, const char *okey, const char *pkey, const char *value)
{
    size_t n = strlen(pkey) + strlen(value) + 2;
    char *a = malloc(n);
    if (!a) return s_fail(x, line, "out of memory");
    snprintf(a, n, "%s=%s", pkey, value);
    int rc = s_set(x, line, okey, a);
    free(a);
    return rc;
}

/* A list of strings as a YAML flow sequence (JSON is YAML), or NULL. */
static char *s_flow_list(s_ctx_t *x, const yaml_node_t *n, const char *okey, int line)
{
    if (!n || n->type != YAML_SEQUENCE_NODE) {
        s_fail(x, line, "%s: expected a list of strings", okey);
        return NULL;
    }
    json_t *a = json_array();
    for (yaml_node_item_t *it = n->data.sequence.items.start; a && it < n->data.sequence.items.top;
         it++) {
        const char *s = s_text(yaml_document_get_node(x->doc, *it));
        if (!s) {
            json_decref(a);
            s_fail(x, line, "%s: expected a list of strings", okey);
            return NULL;
        }
        json_array_append_new(a, json_string(s));
    }
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    if (!text) s_fail(x, line, "out of memory");
    return text;
}

/* The seat of one original agent: the mode, and for llm the endpoint the
 * original picks from the model name (agent.py Agent.__init__). */
static json_t *s_seat(const char *mode, const char *model)
{
    if (strcmp(mode, "perfect") == 0) return json_pack("{s:s}", "policy", "perfect");
    char lower[256];
    size_t i = 0;
    for (; model[i] && i + 1 < sizeof lower; i++)
        lower[i] = (char)(model[i] >= 'A' && model[i] <= 'Z' ? model[i] - 'A' + 'a' : model[i]);
    lower[i] = 0;
    if (strncmp(lower, "claude", 6) == 0 || strncmp(lower, "anthropic/claude", 16) == 0)
        return json_pack("{s:s, s:s, s:s, s:i}", "policy", "llm", "model", model, "provider",
                         "anthropic", "max_tokens", 1000); /* the original's max_tokens */
    const char *slash = strchr(lower, '/');
    if (slash) {
        static const char *const openrouter[] = {"google",     "meta",   "mistralai", "cohere",
                                                 "databricks", "amazon", "x-ai"};
        size_t pl = (size_t)(slash - lower);
        for (size_t k = 0; k < sizeof openrouter / sizeof *openrouter; k++)
            if (strlen(openrouter[k]) == pl && strncmp(lower, openrouter[k], pl) == 0)
                return json_pack("{s:s, s:s, s:s, s:s, s:s}", "policy", "llm", "model", model,
                                 "provider", "openai", "base_url", "https://openrouter.ai/api/v1",
                                 "api_key_env", "OPENROUTER_API_KEY");
        return json_pack("{s:s, s:s, s:s, s:s, s:s}", "policy", "llm", "model", model, "provider",
                         "openai", "base_url", "https://api.deepinfra.com/v1/openai", "api_key_env",
                         "DEEPINFRA_TOKEN");
    }
    return json_pack("{s:s, s:s, s:s}", "policy", "llm", "model", model, "provider", "openai");
}

/* Seats from agents.mode / agents.model / agents.agent_modes. */
static int s_seats(s_ctx_t *x)
{
    int ml = 0, dl = 0, tl = 0;
    yaml_node_t *mode_n = s_get(x->doc, "agents.mode", &ml);
    yaml_node_t *model_n = s_get(x->doc, "agents.model", &dl);
    yaml_node_t *modes_n = s_get(x->doc, "agents.agent_modes", &tl);
    const char *mode = mode_n ? s_text(mode_n) : "llm";
    const char *model = model_n ? s_text(model_n) : "gpt-4"; /* the original's default */
    if (!mode || (strcmp(mode, "llm") && strcmp(mode, "perfect") && strcmp(mode, "mixed")))
        return s_fail(x, ml, "agents.mode: expected llm, perfect or mixed");
    if (!model || !*model) return s_fail(x, dl, "agents.model: expected a model name");
    if (modes_n && strcmp(mode, "mixed") != 0)
        return s_fail(x, tl,
                      "agents.agent_modes: only read when agents.mode is mixed (the original "
                      "ignores it otherwise; remove it or set agents.mode: mixed)");
    int n = x->c->game.n_agents;
    char *modes = calloc((size_t)n, 1); /* 1 = llm */
    if (!modes) return s_fail(x, 0, "out of memory");
    if (strcmp(mode, "llm") == 0) memset(modes, 1, (size_t)n);
    if (modes_n) {
        if (modes_n->type != YAML_MAPPING_NODE) {
            free(modes);
            return s_fail(x, tl, "agents.agent_modes: expected agent_N: llm|perfect entries");
        }
        for (yaml_node_pair_t *p = modes_n->data.mapping.pairs.start;
             p < modes_n->data.mapping.pairs.top; p++) {
            yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
            const char *k = s_text(kn), *v = s_text(yaml_document_get_node(x->doc, p->value));
            int a = 0;
            if (k && strncmp(k, "agent_", 6) == 0) a = atoi(k + 6);
            if (a < 1 || a > n || !v || (strcmp(v, "llm") && strcmp(v, "perfect"))) {
                free(modes);
                return s_fail(x, s_line(kn),
                              "agents.agent_modes: '%s' must be agent_1..agent_%d with llm or "
                              "perfect",
                              k ? k : "?", n);
            }
            modes[a - 1] = strcmp(v, "llm") == 0;
        }
    }
    json_t *list = json_array();
    for (int i = 0; list && i < n; i++)
        json_array_append_new(list, s_seat(modes[i] ? "llm" : "perfect", model));
    free(modes);
    char *text = list ? json_dumps(list, JSON_COMPACT) : NULL;
    json_decref(list);
    if (!text) return s_fail(x, 0, "out of memory");
    int rc = s_set_kv(x, ml ? ml : dl, "agents", "seats", text);
    free(text);
    /* The original's mixed mode also gives its LLM seats the REQUEST-protocol
     * prompt: parley's agents.mode selects that template variant. */
    if (rc == 0 && strcmp(mode, "mixed") == 0)
        rc = s_set_kv(x, ml, "agents.mode", "agents.mode", "mixed");
    return rc;
}

static int s_apply(s_ctx_t *x, const o_key_t *k, yaml_node_t *v, int line)
{
    const char *s = s_text(v);
    switch (k->kind) {
    case O_SET:
        if (!s) return s_fail(x, line, "%s: expected a single value", k->key);
        return s_set_kv(x, line, k->key, k->parley, s);
    case O_IGNORE:
        return 0;
    case O_MIN_PIECES: {
        if (!s) return s_fail(x, line, "%s: expected a whole number", k->key);
        /* min == max: a fixed size, drawn with no extra randomness (parley's 0). */
        char buf[32];
        snprintf(buf, sizeof buf, "%s", atoi(s) == x->c->game.pieces_per_task ? "0" : s);
        if (strcmp(buf, "0") == 0) {
            x->c->game.min_pieces_per_task = 0;
            return 0;
        }
        return s_set_kv(x, line, k->key, k->parley, buf);
    }
    case O_AUTOMATION: {
        const char *to = !s                                                   ? NULL
                         : strcmp(s, "automated_fulfill") == 0                ? "auto_fulfill"
                         : strcmp(s, "automated_request") == 0                ? "auto_request"
                         : strcmp(s, "none") == 0 || strcmp(s, "normal") == 0 ? "none"
                                                                              : NULL;
        if (!to)
            return s_fail(x, line,
                          "%s: expected automated_fulfill, automated_request or none, got '%s'",
                          k->key, s ? s : "a list");
        return s_set_kv(x, line, k->key, "automation", to);
    }
    case O_MODE:
    case O_MODEL:
    case O_MODES:
        return 0; /* s_seats() reads them together */
    case O_TEMP: {
        if (!s) return s_fail(x, line, "%s: expected a number", k->key);
        char a[96];
        for (int i = 0; i < x->c->n_seats; i++) {
            if (!x->c->seats[i].policy || strcmp(x->c->seats[i].policy, "llm") != 0) continue;
            snprintf(a, sizeof a, "seats.%d.temperature=%s", i, s);
            if (s_set(x, line, k->key, a)) return -1;
        }
        return 0;
    }
    case O_STRATEGY: {
        /* The code reads perfect_strategy but never uses it: only the values that
         * match what it does (ask all holders, no delays) can be honoured. */
        if (!v || v->type != YAML_MAPPING_NODE)
            return s_fail(x, line, "%s: expected a mapping", k->key);
        for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
             p++) {
            yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
            const char *kk = s_text(kn), *vv = s_text(yaml_document_get_node(x->doc, p->value));
            bool ok =
                kk && vv &&
                ((strcmp(kk, "request_strategy") == 0 && strcmp(vv, "all") == 0) ||
                 ((strcmp(kk, "response_delay") == 0 || strcmp(kk, "submission_delay") == 0) &&
                  strcmp(vv, "0") == 0));
            if (!ok)
                return s_fail(x, s_line(kn),
                              "agents.perfect_strategy.%s: parley's perfect seat asks every "
                              "holder and answers and submits at once (request_strategy: all, "
                              "delays 0); other values cannot be honoured",
                              kk ? kk : "?");
        }
        return 0;
    }
    case O_LIST:
    case O_INFO_LIST: {
        char *text = s_flow_list(x, v, k->key, line);
        if (!text) return -1;
        if (k->kind == O_INFO_LIST) {
            /* The built-in names, in order: nothing to set (same names, same draws). */
            json_t *a = json_loads(text, 0, NULL);
            bool same = a && json_array_size(a) == 5;
            for (size_t i = 0; same && i < 5; i++)
                same = strcmp(json_string_value(json_array_get(a, i)), s_builtin_info[i]) == 0;
            json_decref(a);
            if (same) {
                free(text);
                return 0;
            }
        }
        int rc = s_set_kv(x, line, k->key, k->parley, text);
        free(text);
        return rc;
    }
    }
    return -1;
}

/* Every key of the file must be one the table knows. */
static int s_check_known(s_ctx_t *x)
{
    yaml_node_t *root = yaml_document_get_root_node(x->doc);
    if (!root) return 0;
    if (root->type != YAML_MAPPING_NODE) return s_fail(x, s_line(root), "expected a mapping");
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
        yaml_node_t *sec = yaml_document_get_node(x->doc, p->value);
        const char *k = s_text(kn);
        if (!k) return s_fail(x, s_line(kn), "a key must be a plain name");
        bool section = false;
        for (size_t i = 0; i < S_N_KEYS && !section; i++)
            section = strncmp(s_keys[i].key, k, strlen(k)) == 0 && s_keys[i].key[strlen(k)] == '.';
        if (!section)
            return s_fail(x, s_line(kn), "%s: not a section of the original's format parley knows",
                          k);
        if (sec && sec->type == YAML_SCALAR_NODE && !*s_text(sec)) continue;
        if (!sec || sec->type != YAML_MAPPING_NODE)
            return s_fail(x, s_line(kn), "%s: expected a mapping", k);
        for (yaml_node_pair_t *q = sec->data.mapping.pairs.start; q < sec->data.mapping.pairs.top;
             q++) {
            yaml_node_t *qk = yaml_document_get_node(x->doc, q->key);
            char full[160];
            snprintf(full, sizeof full, "%s.%s", k, s_text(qk) ? s_text(qk) : "?");
            bool known = false;
            for (size_t i = 0; i < S_N_KEYS && !known; i++)
                known = strcmp(s_keys[i].key, full) == 0;
            if (!known)
                return s_fail(x, s_line(qk),
                              "%s: a key of the original's format that parley cannot honour", full);
        }
    }
    return 0;
}

static int s_load_doc(yaml_document_t *doc, const char *text, size_t len)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return -1;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int ok = yaml_parser_load(&p, doc);
    yaml_parser_delete(&p);
    return ok ? 0 : -1;
}

bool pl_config_orig_detect(const char *text, size_t len)
{
    yaml_document_t doc;
    if (!text || s_load_doc(&doc, text, len)) return false;
    bool found = false;
    for (size_t i = 0; i < sizeof s_marks / sizeof *s_marks && !found; i++)
        found = s_get(&doc, s_marks[i], NULL) != NULL;
    found = found || s_get(&doc, "logging", NULL) != NULL;
    yaml_document_delete(&doc);
    return found;
}

pl_config_t *pl_config_orig_parse(const char *text, size_t len, const char *name, char *err,
                                  size_t errlen)
{
    yaml_document_t doc;
    s_ctx_t x = {.name = name ? name : "<config>", .err = err, .errlen = errlen, .doc = &doc};
    if (err && errlen) err[0] = 0;
    if (!text || s_load_doc(&doc, text, len)) {
        /* The regular loader says where the YAML itself is broken. */
        return pl_config_parse(text, text ? len : 0, name, err, errlen);
    }
    x.c = pl_config_default();
    if (!x.c) {
        s_fail(&x, 0, "out of memory");
        goto fail;
    }
    if (s_check_known(&x)) goto fail;
    /* The original code's defaults where its files may be silent. */
    int line = 0;
    if (!s_get(&doc, "simulation.report_frequency", &line)) {
        s_fail(&x, 0,
               "simulation.report_frequency: absent, which the original reads as 3 (strategic "
               "reports every 3 rounds); parley does not support them yet: write "
               "report_frequency: 0");
        goto fail;
    }
    if (!s_get(&doc, "simulation.truncate_context", NULL)) /* agent.py: default true */
        x.c->game.truncate_history = true;
    if (!s_get(&doc, "revenue.incorrect_value_penalty", NULL)) /* simulation.py: 0.3 */
        x.c->game.misreport_rate = 0.3;
    for (size_t i = 0; i < S_N_KEYS; i++) {
        line = 0;
        yaml_node_t *v = s_get(&doc, s_keys[i].key, &line);
        if (v && s_apply(&x, &s_keys[i], v, line)) goto fail;
        if (strcmp(s_keys[i].key, "agents.mode") == 0 && s_seats(&x)) goto fail;
    }
    char e2[512];
    if (env_config_check(&x.c->game, e2, sizeof e2) != ENV_OK) {
        s_fail(&x, 0, "%s", e2);
        goto fail;
    }
    yaml_document_delete(&doc);
    return x.c;
fail:
    yaml_document_delete(&doc);
    pl_config_destroy(&x.c);
    return NULL;
}

pl_config_t *pl_config_load_any(const char *path, char *err, size_t errlen)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) return pl_config_load(path, err, errlen); /* it says why */
    char *text = malloc(S_MAX_FILE + 1);
    size_t len = text ? fread(text, 1, S_MAX_FILE + 1, f) : 0;
    bool bad = !text || ferror(f) || len > S_MAX_FILE;
    fclose(f);
    if (bad || !pl_config_orig_detect(text, len)) {
        free(text);
        return pl_config_load(path, err, errlen);
    }
    pl_config_t *c = pl_config_orig_parse(text, len, path, err, errlen);
    free(text);
    if (c && !c->path) {
        c->path = strdup(path);
        if (!c->path) pl_config_destroy(&c);
    }
    return c;
}
