/* llm_provider.c: request and response bodies of the OpenAI chat-completions
 * and Anthropic Messages APIs (llm_provider.h). Built and read with jansson. */
#include "llm_provider.h"
#include "llm_parse.h"

#include <jansson.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ANTHROPIC_VERSION "2023-06-01"
#define S_DECISION_TOOL   "decision" /* the forced tool of json_schema on anthropic */

static const char *const s_formats[] = {"text", "json_object", "json_schema", "tools"};

int llm_reply_format_from_name(const char *name)
{
    if (!name || !*name) return LLM_REPLY_TEXT;
    for (int i = 0; i < LLM_REPLY_FORMAT_COUNT; i++)
        if (strcmp(name, s_formats[i]) == 0) return i;
    return -1;
}

const char *llm_reply_format_name(llm_reply_format_t f)
{
    return (unsigned)f < LLM_REPLY_FORMAT_COUNT ? s_formats[f] : "text";
}

/* The four actions of GAME.md, each as the fields a tool call or an item of
 * `actions` carries. Strict-mode shape (OpenAI): every object closed, every
 * field required; hence `values` is a list of {piece, value}, not a map. */
static const char s_action_defs[] =
    "{\"send_message\": {\"description\": \"A direct message to one agent, seen by both of "
    "you. A request for a piece is a message that names it.\", \"properties\": {\"to\": "
    "{\"type\": \"string\", \"description\": \"an agent id, e.g. agent_3\"}, \"content\": "
    "{\"type\": \"string\"}}, \"required\": [\"to\", \"content\"]},"
    " \"broadcast\": {\"description\": \"A message on the public channel, seen by every "
    "agent.\", \"properties\": {\"content\": {\"type\": \"string\"}}, \"required\": "
    "[\"content\"]},"
    " \"send_information\": {\"description\": \"Give one agent copies of pieces you hold, "
    "stating each piece's value (you keep yours).\", \"properties\": {\"to\": {\"type\": "
    "\"string\"}, \"information\": {\"type\": \"array\", \"items\": {\"type\": "
    "\"string\"}, \"description\": \"piece names\"}, \"values\": {\"type\": \"array\", "
    "\"description\": \"the value of each listed piece\", \"items\": {\"type\": "
    "\"object\", \"properties\": {\"piece\": {\"type\": \"string\"}, \"value\": "
    "{\"type\": \"integer\"}}, \"required\": [\"piece\", \"value\"], "
    "\"additionalProperties\": false}}}, \"required\": [\"to\", \"information\", "
    "\"values\"]},"
    " \"submit_task\": {\"description\": \"Submit one of your tasks once you hold all its "
    "pieces.\", \"properties\": {\"answer\": {\"type\": \"string\", \"description\": "
    "\"Combined result of: p1, p2, p3, p4\"}}, \"required\": [\"answer\"]}}";

/* The parameters object of one action's tool (adds the `type` field when
 * `with_type`, for an item of `actions`). */
static json_t *s_action_object(const char *name, json_t *def, bool with_type)
{
    json_t *props = json_deep_copy(json_object_get(def, "properties"));
    json_t *req = json_deep_copy(json_object_get(def, "required"));
    if (!props || !req) goto fail;
    if (with_type) {
        if (json_object_set_new(props, "type",
                                json_pack("{s:s, s:[s]}", "type", "string", "enum", name)) != 0 ||
            json_array_insert_new(req, 0, json_string("type")) != 0)
            goto fail;
    }
    json_t *o = json_pack("{s:s, s:o, s:o, s:b}", "type", "object", "properties", props, "required",
                          req, "additionalProperties", 0);
    return o;
fail:
    json_decref(props);
    json_decref(req);
    return NULL;
}

json_t *llm_decision_schema(void)
{
    json_t *defs = json_loads(s_action_defs, 0, NULL);
    json_t *any = json_array();
    json_t *out = NULL;
    if (!defs || !any) goto done;
    const char *name;
    json_t *def;
    json_object_foreach(defs, name, def)
    {
        if (json_array_append_new(any, s_action_object(name, def, true)) != 0) goto done;
    }
    out = json_pack("{s:s, s:{s:{s:s, s:{s:O}}, s:{s:s}}, s:[s, s], s:b}", "type", "object",
                    "properties", "actions", "type", "array", "items", "anyOf", any,
                    "private_thoughts", "type", "string", "required", "actions", "private_thoughts",
                    "additionalProperties", 0);
done:
    json_decref(any);
    json_decref(defs);
    return out;
}

/* The tools of reply_format tools: one per action, in the provider's shape. */
static json_t *s_tools(llm_provider_t p)
{
    json_t *defs = json_loads(s_action_defs, 0, NULL);
    json_t *tools = json_array();
    if (!defs || !tools) goto fail;
    const char *name;
    json_t *def;
    json_object_foreach(defs, name, def)
    {
        json_t *params = s_action_object(name, def, false);
        const char *desc = json_string_value(json_object_get(def, "description"));
        json_t *t =
            p == LLM_ANTHROPIC
                ? json_pack("{s:s, s:s, s:o}", "name", name, "description", desc, "input_schema",
                            params)
                : json_pack("{s:s, s:{s:s, s:s, s:o, s:b}}", "type", "function", "function", "name",
                            name, "description", desc, "parameters", params, "strict", 1);
        if (json_array_append_new(tools, t) != 0) goto fail;
    }
    json_decref(defs);
    return tools;
fail:
    json_decref(defs);
    json_decref(tools);
    return NULL;
}

int llm_provider_from_name(const char *name)
{
    if (!name || !*name || strcasecmp(name, "openai") == 0) return LLM_OPENAI;
    if (strcasecmp(name, "anthropic") == 0) return LLM_ANTHROPIC;
    return -1;
}

const char *llm_provider_name(llm_provider_t p)
{
    return p == LLM_ANTHROPIC ? "anthropic" : "openai";
}

const char *llm_provider_default_url(llm_provider_t p)
{
    return p == LLM_ANTHROPIC ? "https://api.anthropic.com/v1" : "https://api.openai.com/v1";
}

int llm_check_seat(const pl_seat_t *seat, char *err, size_t errlen)
{
    if (!seat) {
        llm_fmt(err, errlen, "no seat settings");
        return -1;
    }
    if (llm_provider_from_name(seat->provider) < 0) {
        llm_fmt(err, errlen, "unknown provider \"%s\" (use openai or anthropic)", seat->provider);
        return -1;
    }
    if (!seat->model || !*seat->model) {
        llm_fmt(err, errlen, "an llm seat needs a model");
        return -1;
    }
    if (seat->prompt_layout && strcmp(seat->prompt_layout, "paper") != 0 &&
        strcmp(seat->prompt_layout, "cache") != 0) {
        llm_fmt(err, errlen, "unknown prompt_layout \"%s\" (use paper or cache)",
                seat->prompt_layout);
        return -1;
    }
    int f = llm_reply_format_from_name(seat->reply_format);
    if (f < 0) {
        llm_fmt(err, errlen,
                "unknown reply_format \"%s\" (use text, json_object, json_schema or "
                "tools)",
                seat->reply_format);
        return -1;
    }
    const char *var = pl_seat_key_env(seat);
    if (var) {
        const char *key = getenv(var);
        if (!key || !*key) {
            llm_fmt(err, errlen, "model %s: the API key variable %s is not set", seat->model, var);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ requests -- */

static char *s_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *s_strdupf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static int s_add_header(llm_request_t *r, char *h)
{
    if (!h) return -1;
    char **p = realloc(r->headers, (r->n_headers + 1) * sizeof *p);
    if (!p) {
        free(h);
        return -1;
    }
    r->headers = p;
    r->headers[r->n_headers++] = h;
    return 0;
}

void llm_request_clear(llm_request_t *r)
{
    if (!r) return;
    free(r->url);
    for (size_t i = 0; i < r->n_headers; i++) {
        /* one of them holds a key: wipe before freeing */
        size_t n = strlen(r->headers[i]);
        volatile char *v = r->headers[i];
        while (n--) v[n] = 0;
        free(r->headers[i]);
    }
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* OpenAI itself wants max_completion_tokens (reasoning models refuse
 * max_tokens); servers that copy the API (vLLM, Ollama, llama.cpp) know only
 * max_tokens. */
static bool s_is_openai_host(const char *url)
{
    return strstr(url, "://api.openai.com") != NULL;
}

static int s_set(json_t *o, const char *k, json_t *v)
{
    return v ? json_object_set_new(o, k, v) : -1;
}

/* The anthropic settings that thinking constrains: refused, never adjusted. */
static int s_anthropic_limits(const pl_seat_t *seat, llm_reply_format_t fmt, int *budget, int *max,
                              char *err, size_t errlen)
{
    *budget = pl_seat_thinking_budget(seat);
    *max = seat->max_tokens > 0 ? seat->max_tokens : PL_ANTHROPIC_MAX_TOKENS;
    if (*budget < 0) {
        llm_fmt(err, errlen,
                "reasoning_effort \"%s\" is not one anthropic seats take (low, "
                "medium, high, or a budget >= 1024)",
                seat->reasoning_effort);
        return -1;
    }
    if (*budget && *max <= *budget) {
        llm_fmt(err, errlen, "max_tokens %d is not above the thinking budget %d", *max, *budget);
        return -1;
    }
    if (*budget && seat->temperature >= 0) {
        llm_fmt(err, errlen, "anthropic takes no temperature with thinking on");
        return -1;
    }
    if (*budget && fmt == LLM_REPLY_JSON_SCHEMA) {
        llm_fmt(err, errlen,
                "a forced tool (reply_format json_schema) is not allowed with thinking");
        return -1;
    }
    if (fmt == LLM_REPLY_JSON_OBJECT) {
        llm_fmt(err, errlen, "anthropic has no json_object mode (use json_schema or text)");
        return -1;
    }
    return 0;
}

/* One conversation message on the wire. OpenAI: content as a string.
 * Anthropic with marks: content as one text block, every message alike, so
 * that the next request repeats this one's bytes but for the moving mark. */
static json_t *s_wire_message(llm_provider_t p, const json_t *m, bool blocks, bool mark)
{
    const char *role = json_string_value(json_object_get(m, "role"));
    const char *text = json_string_value(json_object_get(m, "content"));
    if (!role || !text) return NULL;
    if (p != LLM_ANTHROPIC || !blocks)
        return json_pack("{s:s, s:s}", "role", role, "content", text);
    json_t *blk = json_pack("{s:s, s:s}", "type", "text", "text", text);
    if (blk && mark &&
        json_object_set_new(blk, "cache_control", json_pack("{s:s}", "type", "ephemeral")) != 0) {
        json_decref(blk);
        return NULL;
    }
    return blk ? json_pack("{s:s, s:[o]}", "role", role, "content", blk) : NULL;
}

int llm_request_build(llm_provider_t p, const pl_seat_t *seat, const char *key, const char *system,
                      const char *user, bool cache_hint, llm_request_t *out, char *err,
                      size_t errlen)
{
    json_t *turns = json_pack("[{s:s, s:s}]", "role", "user", "content", user ? user : "");
    if (!turns) {
        llm_fmt(err, errlen, "cannot build the request (out of memory or invalid UTF-8)");
        memset(out, 0, sizeof *out);
        return -1;
    }
    llm_cache_hints_t hints = {.system_mark = cache_hint};
    int rc = llm_request_build_turns(p, seat, key, system, turns, &hints, out, err, errlen);
    json_decref(turns);
    return rc;
}

int llm_request_build_turns(llm_provider_t p, const pl_seat_t *seat, const char *key,
                            const char *system, const json_t *turns, const llm_cache_hints_t *hints,
                            llm_request_t *out, char *err, size_t errlen)
{
    json_t *body = NULL, *msgs = NULL;
    static const llm_cache_hints_t none;
    if (!hints) hints = &none;
    memset(out, 0, sizeof *out);
    const char *base =
        seat->base_url && *seat->base_url ? seat->base_url : llm_provider_default_url(p);
    size_t blen = strlen(base);
    while (blen && base[blen - 1] == '/') blen--;
    out->url =
        s_strdupf("%.*s/%s", (int)blen, base, p == LLM_ANTHROPIC ? "messages" : "chat/completions");
    if (!out->url) goto oom;
    if (s_add_header(out, strdup("Content-Type: application/json")) != 0) goto oom;
    if (s_add_header(out, strdup("Accept: application/json")) != 0) goto oom;
    if (p == LLM_ANTHROPIC) {
        if (s_add_header(out, strdup("anthropic-version: " ANTHROPIC_VERSION)) != 0) goto oom;
        if (key && *key && s_add_header(out, s_strdupf("x-api-key: %s", key)) != 0) goto oom;
    } else if (key && *key) {
        if (s_add_header(out, s_strdupf("Authorization: Bearer %s", key)) != 0) goto oom;
    }
    for (size_t i = 0; i < seat->n_headers; i++) {
        const pl_header_t *h = &seat->headers[i];
        if (!h->name || strpbrk(h->name, ":\r\n") || (h->value && strpbrk(h->value, "\r\n"))) {
            llm_fmt(err, errlen, "bad extra header name or value: \"%s\"", h->name ? h->name : "");
            goto fail;
        }
        if (s_add_header(out, s_strdupf("%s: %s", h->name, h->value ? h->value : "")) != 0)
            goto oom;
    }

    body = json_object();
    msgs = json_array();
    if (!body || !msgs) goto oom;
    if (s_set(body, "model", json_string(seat->model ? seat->model : "")) != 0) goto oom;
    int fmt = llm_reply_format_from_name(seat->reply_format);
    if (fmt < 0) {
        llm_fmt(err, errlen, "unknown reply_format \"%s\"", seat->reply_format);
        goto fail;
    }
    if (p == LLM_ANTHROPIC) {
        int budget, max;
        if (s_anthropic_limits(seat, (llm_reply_format_t)fmt, &budget, &max, err, errlen) != 0)
            goto fail;
        if (s_set(body, "max_tokens", json_integer(max)) != 0) goto oom;
        if (system && *system) {
            if (hints->system_mark) {
                json_t *blk = json_pack("[{s:s, s:s, s:{s:s}}]", "type", "text", "text", system,
                                        "cache_control", "type", "ephemeral");
                if (s_set(body, "system", blk) != 0) goto oom;
            } else if (s_set(body, "system", json_string(system)) != 0) {
                goto oom;
            }
        }
        if (budget) {
            json_t *th = json_pack("{s:s, s:i}", "type", "enabled", "budget_tokens", budget);
            if (s_set(body, "thinking", th) != 0) goto oom;
        }
        if (seat->temperature >= 0 && s_set(body, "temperature", json_real(seat->temperature)) != 0)
            goto oom;
        if (fmt == LLM_REPLY_JSON_SCHEMA) {
            /* The Messages API's long-standing way to hold a reply to a schema: one
             * tool whose input is the decision, and tool_choice naming it. */
            json_t *schema = llm_decision_schema();
            json_t *tools =
                schema ? json_pack("[{s:s, s:s, s:o}]", "name", S_DECISION_TOOL, "description",
                                   "Your decision for this turn: your actions and private "
                                   "thoughts.",
                                   "input_schema", schema)
                       : NULL;
            if (s_set(body, "tools", tools) != 0 ||
                s_set(body, "tool_choice",
                      json_pack("{s:s, s:s}", "type", "tool", "name", S_DECISION_TOOL)) != 0)
                goto oom;
        } else if (fmt == LLM_REPLY_TOOLS) {
            if (s_set(body, "tools", s_tools(p)) != 0 ||
                s_set(body, "tool_choice", json_pack("{s:s}", "type", "auto")) != 0)
                goto oom;
        }
    } else {
        if (system && *system &&
            json_array_append_new(
                msgs, json_pack("{s:s, s:s}", "role", "system", "content", system)) != 0)
            goto oom;
        if (seat->temperature >= 0 && s_set(body, "temperature", json_real(seat->temperature)) != 0)
            goto oom;
        if (seat->max_tokens > 0 &&
            s_set(body, s_is_openai_host(out->url) ? "max_completion_tokens" : "max_tokens",
                  json_integer(seat->max_tokens)) != 0)
            goto oom;
        if (seat->reasoning_effort && *seat->reasoning_effort &&
            s_set(body, "reasoning_effort", json_string(seat->reasoning_effort)) != 0)
            goto oom;
        if (fmt == LLM_REPLY_JSON_OBJECT &&
            s_set(body, "response_format", json_pack("{s:s}", "type", "json_object")) != 0)
            goto oom;
        if (fmt == LLM_REPLY_JSON_SCHEMA) {
            json_t *schema = llm_decision_schema();
            json_t *rf =
                schema ? json_pack("{s:s, s:{s:s, s:o, s:b}}", "type", "json_schema", "json_schema",
                                   "name", S_DECISION_TOOL, "schema", schema, "strict", 1)
                       : NULL;
            if (s_set(body, "response_format", rf) != 0) goto oom;
        } else if (fmt == LLM_REPLY_TOOLS) {
            if (s_set(body, "tools", s_tools(p)) != 0 ||
                s_set(body, "tool_choice", json_string("auto")) != 0)
                goto oom;
        }
    }
    if (p == LLM_OPENAI && hints->cache_key &&
        s_set(body, "prompt_cache_key", json_string(hints->cache_key)) != 0)
        goto oom;
    size_t n_turns = json_array_size(turns);
    for (size_t i = 0; i < n_turns; i++) {
        json_t *m = s_wire_message(p, json_array_get(turns, i), hints->last_mark,
                                   hints->last_mark && i + 1 == n_turns);
        if (!m || json_array_append_new(msgs, m) != 0) goto oom;
    }
    if (json_object_set(body, "messages", msgs) != 0) goto oom;
    out->body = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!out->body) goto oom;
    json_decref(msgs);
    json_decref(body);
    return 0;
oom:
    llm_fmt(err, errlen, "cannot build the request (out of memory or invalid UTF-8)");
fail:
    json_decref(msgs);
    json_decref(body);
    llm_request_clear(out);
    return -1;
}

/* ----------------------------------------------------------- responses -- */

static int64_t s_int(json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(o, path1);
    if (path2) v = json_object_get(v, path2);
    if (json_is_integer(v)) return (int64_t)json_integer_value(v);
    if (json_is_real(v)) return (int64_t)json_real_value(v);
    return 0;
}

/* Appends the text parts of an OpenAI content array or Anthropic content blocks. */
static int s_append_text(char **acc, size_t *len, const char *s)
{
    size_t n = strlen(s);
    char *p = realloc(*acc, *len + n + 1);
    if (!p) return -1;
    memcpy(p + *len, s, n + 1);
    *acc = p;
    *len += n;
    return 0;
}

static int s_collect_blocks(json_t *arr, char **text)
{
    size_t len = 0, i;
    json_t *blk;
    *text = strdup("");
    if (!*text) return -1;
    json_array_foreach(arr, i, blk)
    {
        /* text blocks only: thinking, redacted_thinking, tool_use are left out */
        const char *type = json_string_value(json_object_get(blk, "type"));
        const char *t = json_string_value(json_object_get(blk, "text"));
        if (t && (!type || strcmp(type, "text") == 0 || strcmp(type, "output_text") == 0) &&
            s_append_text(text, &len, t) != 0)
            return -1;
    }
    return 0;
}

/* The server's stop word in parley's terms. */
static void s_stop(llm_reply_t *out, const char *raw)
{
    static const struct {
        const char *raw, *stop;
    } map[] = {
        {"stop", "end"},
        {"end_turn", "end"},
        {"length", "max_tokens"},
        {"max_tokens", "max_tokens"},
        {"tool_calls", "tool_use"},
        {"function_call", "tool_use"},
        {"tool_use", "tool_use"},
        {"refusal", "refusal"},
        {"content_filter", "content_filter"},
        {"stop_sequence", "stop_sequence"},
    };
    llm_fmt(out->finish_reason, sizeof out->finish_reason, "%s", raw ? raw : "");
    const char *stop = raw && *raw ? "other" : "";
    for (size_t i = 0; raw && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(raw, map[i].raw) == 0) stop = map[i].stop;
    llm_fmt(out->stop_reason, sizeof out->stop_reason, "%s", stop);
}

/* One tool call -> one action ({"type": name, ...arguments}); arguments that
 * are not a JSON object are kept as they came, for the parser to refuse. */
static json_t *s_tool_action(const char *name, json_t *args)
{
    json_t *a = json_is_object(args) ? json_deep_copy(args) : json_object();
    if (!a) return NULL;
    if (!json_is_object(args) && args) json_object_set(a, "arguments", args);
    json_object_set_new(a, "type", json_string(name ? name : ""));
    return a;
}

/* tool_decision from the actions the tool calls made, with the text as thoughts. */
static int s_tool_decision(llm_reply_t *out, json_t *actions, json_t *forced)
{
    json_t *d = forced ? json_incref(forced)
                       : json_pack("{s:O, s:s}", "actions", actions, "private_thoughts",
                                   out->text ? out->text : "");
    if (!d) return -1;
    out->tool_decision = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    json_decref(d);
    return out->tool_decision ? 0 : -1;
}

int llm_reply_parse(llm_provider_t p, const char *body, size_t len, llm_reply_t *out, char *why,
                    size_t whylen)
{
    memset(out, 0, sizeof *out);
    json_t *actions = NULL, *forced = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(body ? body : "", len, 0, &jerr);
    if (!root) {
        llm_fmt(why, whylen, "malformed response body: %s", jerr.text);
        return -1;
    }
    if (!json_is_object(root)) {
        llm_fmt(why, whylen, "malformed response body: not a JSON object");
        goto fail;
    }
    json_t *errv = json_object_get(root, "error");
    if (errv && !json_is_null(errv)) {
        char msg[200];
        llm_error_message(body, len, msg, sizeof msg);
        llm_fmt(why, whylen, "error in a 2xx reply: %s", msg);
        goto fail;
    }
    const char *model = json_string_value(json_object_get(root, "model"));
    llm_fmt(out->model, sizeof out->model, "%s", model ? model : "");
    const char *fp = json_string_value(json_object_get(root, "system_fingerprint"));
    llm_fmt(out->fingerprint, sizeof out->fingerprint, "%s", fp ? fp : "");
    json_t *usage = json_object_get(root, "usage");
    actions = json_array();
    if (!actions) goto oom;
    if (p == LLM_ANTHROPIC) {
        json_t *content = json_object_get(root, "content");
        if (!json_is_array(content)) {
            llm_fmt(why, whylen, "malformed response body: no content blocks");
            goto fail;
        }
        if (s_collect_blocks(content, &out->text) != 0) goto oom;
        size_t i;
        json_t *blk;
        json_array_foreach(content, i, blk)
        {
            const char *type = json_string_value(json_object_get(blk, "type"));
            if (!type) continue;
            if (!strcmp(type, "thinking") || !strcmp(type, "redacted_thinking"))
                out->thinking_blocks++;
            if (strcmp(type, "tool_use") != 0) continue;
            out->tool_calls++;
            const char *name = json_string_value(json_object_get(blk, "name"));
            json_t *input = json_object_get(blk, "input");
            if (name && strcmp(name, S_DECISION_TOOL) == 0 && json_is_object(input) && !forced)
                forced = input; /* json_schema: the input is the decision */
            else if (json_array_append_new(actions, s_tool_action(name, input)) != 0)
                goto oom;
        }
        int64_t read = s_int(usage, "cache_read_input_tokens", NULL);
        int64_t made = s_int(usage, "cache_creation_input_tokens", NULL);
        out->tokens_in = s_int(usage, "input_tokens", NULL) + read + made;
        out->tokens_out = s_int(usage, "output_tokens", NULL);
        out->tokens_cached = read;
        /* thinking is billed inside output_tokens; where the API breaks it out */
        out->tokens_reasoning = s_int(usage, "output_tokens_details", "thinking_tokens");
        if (!out->tokens_reasoning)
            out->tokens_reasoning = s_int(usage, "output_tokens_details", "reasoning_tokens");
        s_stop(out, json_string_value(json_object_get(root, "stop_reason")));
        if (!strcmp(out->stop_reason, "refusal"))
            llm_fmt(out->refusal, sizeof out->refusal, "%s", out->text);
    } else {
        json_t *choice = json_array_get(json_object_get(root, "choices"), 0);
        json_t *msg = json_object_get(choice, "message");
        if (!json_is_object(msg)) {
            llm_fmt(why, whylen, "malformed response body: no choices[0].message");
            goto fail;
        }
        json_t *content = json_object_get(msg, "content");
        if (json_is_string(content)) {
            out->text = strdup(json_string_value(content));
            if (!out->text) goto oom;
        } else if (json_is_array(content)) {
            if (s_collect_blocks(content, &out->text) != 0) goto oom;
        } else {
            /* null content: a refusal, tool calls only, or everything went into reasoning */
            out->text = strdup("");
            if (!out->text) goto oom;
        }
        /* servers that return reasoning beside the content (llama.cpp, vLLM, DeepSeek,
         * OpenRouter) */
        const char *rc = json_string_value(json_object_get(msg, "reasoning_content"));
        if (!rc) rc = json_string_value(json_object_get(msg, "reasoning"));
        if (rc && *rc) out->thinking_blocks = 1;
        size_t i;
        json_t *tc;
        json_array_foreach(json_object_get(msg, "tool_calls"), i, tc)
        {
            json_t *fn = json_object_get(tc, "function");
            const char *name = json_string_value(json_object_get(fn, "name"));
            json_t *args = json_object_get(fn, "arguments");
            json_t *parsed = NULL;
            if (json_is_string(args)) /* OpenAI sends arguments as JSON text */
                parsed = json_loads(json_string_value(args), JSON_DECODE_ANY, NULL);
            json_t *a = s_tool_action(name, parsed ? parsed : args);
            json_decref(parsed);
            out->tool_calls++;
            if (json_array_append_new(actions, a) != 0) goto oom;
        }
        out->tokens_in = s_int(usage, "prompt_tokens", NULL);
        out->tokens_out = s_int(usage, "completion_tokens", NULL);
        out->tokens_reasoning = s_int(usage, "completion_tokens_details", "reasoning_tokens");
        out->tokens_cached = s_int(usage, "prompt_tokens_details", "cached_tokens");
        s_stop(out, json_string_value(json_object_get(choice, "finish_reason")));
        const char *refusal = json_string_value(json_object_get(msg, "refusal"));
        if (refusal && *refusal) {
            llm_fmt(out->refusal, sizeof out->refusal, "%s", refusal);
            llm_fmt(out->stop_reason, sizeof out->stop_reason, "refusal");
        }
    }
    if (out->tool_calls && s_tool_decision(out, actions, forced) != 0) goto oom;
    json_decref(actions);
    json_decref(root);
    return 0;
oom:
    llm_fmt(why, whylen, "out of memory reading the reply");
fail:
    json_decref(actions);
    json_decref(root);
    llm_reply_clear(out);
    return -1;
}

void llm_reply_clear(llm_reply_t *r)
{
    if (!r) return;
    free(r->text);
    free(r->tool_decision);
    memset(r, 0, sizeof *r);
}

/* Copies printable text, one line, at most outlen-1 bytes. */
static void s_flat(const char *s, size_t len, char *out, size_t outlen)
{
    size_t j = 0;
    for (size_t i = 0; i < len && j + 1 < outlen; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[j++] = (ch == '\n' || ch == '\r' || ch == '\t') ? ' ' : (ch < 32 ? '?' : (char)ch);
    }
    if (outlen) out[j] = '\0';
}

void llm_error_message(const char *body, size_t len, char *out, size_t outlen)
{
    if (!out || !outlen) return;
    out[0] = '\0';
    if (!body || !len) return;
    json_t *root = json_loadb(body, len, 0, NULL);
    json_t *e = json_object_get(root, "error");
    const char *msg = NULL, *type = NULL;
    if (json_is_string(e)) {
        msg = json_string_value(e); /* Ollama, llama.cpp: {"error": "..."} */
    } else if (json_is_object(e)) {
        /* OpenAI {"error":{"message","type","code"}}, Anthropic
         * {"type":"error","error":{"type","message"}} */
        msg = json_string_value(json_object_get(e, "message"));
        type = json_string_value(json_object_get(e, "type"));
        if (!type) type = json_string_value(json_object_get(e, "code"));
    } else if (json_is_object(root)) {
        msg = json_string_value(json_object_get(root, "message"));
        if (!msg) msg = json_string_value(json_object_get(root, "detail"));
    }
    if (msg && type)
        llm_fmt(out, outlen, "%s: %s", type, msg);
    else if (msg)
        llm_fmt(out, outlen, "%s", msg);
    else
        s_flat(body, len < 200 ? len : 200, out, outlen);
    json_decref(root);
}

double llm_cost(const pl_price_t *price, int64_t in, int64_t cached, int64_t out)
{
    if (!price) return 0;
    if (cached > in) cached = in;
    double cached_rate = price->cached_input > 0 ? price->cached_input : price->input;
    return ((double)(in - cached) * price->input + (double)cached * cached_rate +
            (double)out * price->output) /
           1e6;
}
