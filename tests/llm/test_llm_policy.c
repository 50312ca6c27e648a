/* test_llm_policy.c: the `llm` policy end to end on a real event_base against
 * parley-fake-llm. Each injected fault is survived and recorded; a refused key
 * is not retried and says why; a slow model never stops the loop's other
 * timers (heartbeats); cancel means no callback; tokens, model and cost are
 * recorded and the key never is. Each reply format is sent in the provider's
 * shape and its reply read back (tool calls as actions, in both wire formats);
 * each stop reason is recorded as such (a refusal with its text, a reply cut at
 * max_tokens told apart from a malformed one, a reply without a tool call); a
 * seat without api_key_env sends no vendor key to another host. */
#include "llm_provider.h"
#include "pl_config.h"
#include "env.h"
#include "fake_proc.h"
#include "llm_policy.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#define KEY "sk-test-0123456789"

typedef struct {
    struct event_base *base;
    env_game_t *g;
    env_names_t names;
    env_obs_t obs;
    pl_seat_t seat;
    pl_config_t config;
    pl_price_t price;
    agt_context_t ctx;
    char url[128];
    int port;
    pid_t fake;
    /* results */
    agt_outcome_t *out;
    int done_calls;
    int ticks;
} fx_t;

static void s_on_done(void *arg, uint64_t turn_id, agt_outcome_t *o)
{
    fx_t *f = arg;
    (void)turn_id;
    agt_outcome_destroy(&f->out);
    f->out = o;
    f->done_calls++;
    event_base_loopbreak(f->base);
}

static void s_on_tick(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd, (void)kind;
    ((fx_t *)arg)->ticks++;
}

static void s_fx(fx_t *f, const char *provider, const char *const *fake_args)
{
    memset(f, 0, sizeof *f);
    f->base = event_base_new();
    assert_non_null(f->base);
    env_config_t c;
    env_config_paper(&c);
    c.seed = 3;
    int err;
    f->g = env_game_new(&c, NULL, NULL, &err);
    assert_non_null(f->g);
    env_game_names(f->g, &f->names);
    assert_int_equal(env_round_begin(f->g), ENV_OK);
    assert_int_equal(env_observe(f->g, 2, ENV_TURN_NORMAL, &f->obs), ENV_OK);
    int port = 0;
    f->fake = fake_start(fake_args, &port);
    assert_true(f->fake > 0);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/v1", port);
    f->port = port;
    setenv("PARLEY_TEST_LLM_KEY", KEY, 1);
    f->seat.policy = "llm";
    f->seat.provider = (char *)provider;
    f->seat.model = "fake-model";
    f->seat.base_url = f->url;
    f->seat.api_key_env = "PARLEY_TEST_LLM_KEY";
    f->seat.temperature = 0.2;
    f->seat.timeout = 30;
    f->price = (pl_price_t){.model = "fake-model", .input = 1.0, .output = 2.0};
    f->config.n_prices = 1;
    f->config.prices = &f->price;
    f->ctx.base = f->base;
    f->ctx.agent = 2;
    f->ctx.rules = env_game_config(f->g);
    f->ctx.type = ENV_TYPE_NEUTRAL;
    f->ctx.names = &f->names;
    f->ctx.seat = &f->seat;
    f->ctx.config = &f->config;
    f->ctx.timing = "sequential";
}

static void s_fx_end(fx_t *f)
{
    agt_outcome_destroy(&f->out);
    fake_stop(f->fake);
    env_game_destroy(&f->g);
    event_base_free(f->base);
}

/* One turn, the loop run until the outcome arrives (60 s safety net). */
static void s_turn(fx_t *f, void *policy, double deadline)
{
    f->done_calls = 0;
    assert_int_equal(agt_llm_ops.decide(policy, 7, &f->obs, deadline, s_on_done, f), ENV_OK);
    struct timeval limit = {60, 0};
    struct event *guard = evtimer_new(f->base, s_on_tick, f);
    assert_int_equal(event_base_loopexit(f->base, &limit), 0);
    event_base_dispatch(f->base);
    event_free(guard);
    assert_int_equal(f->done_calls, 1);
    assert_non_null(f->out);
}

static void *s_policy(fx_t *f)
{
    void *p = NULL;
    char err[256];
    int rc = agt_llm_ops.create(&p, &f->ctx, err, sizeof err);
    if (rc != ENV_OK) fail_msg("create: %s", err);
    return p;
}

/* A fault, then a good reply: the turn has actions and one call of 2 attempts. */
static void s_faults(const char *provider, const char *const *faults, size_t n)
{
    const char *args[64] = {"--key", KEY, "--close"};
    int k = 3;
    for (size_t i = 0; i < n; i++) {
        args[k++] = "--step";
        args[k++] = faults[i];
        args[k++] = "--step";
        args[k++] = "play";
    }
    args[k] = NULL;
    fx_t f;
    s_fx(&f, provider, args);
    void *p = s_policy(&f);
    for (size_t i = 0; i < n; i++) {
        s_turn(&f, p, 0);
        assert_int_equal(f.out->n_calls, 1);
        agt_call_t *c = &f.out->calls[0];
        print_message("%s %-10s -> HTTP %d after %d attempts, %.2f s, %zu actions\n", provider,
                      faults[i], c->http_status, c->attempts, c->latency_s,
                      env_decision_count(f.out->decision));
        if (c->attempts != 2) fail_msg("%s: %d attempts (%s)", faults[i], c->attempts, c->error);
        assert_int_equal(c->http_status, 200);
        /* the record keeps the fault that was survived */
        if (strncmp(c->error, "recovered after 2 attempts: #1 ", 31) != 0)
            fail_msg("%s: the record does not say what was retried: '%s'", faults[i], c->error);
        assert_true(env_decision_count(f.out->decision) > 0);
        assert_string_equal(c->provider, provider);
        assert_string_equal(c->model_requested, "fake-model");
        assert_string_equal(c->model_reported, "fake-model-fake-0001");
        assert_true(c->tokens_in > 0 && c->tokens_out > 0);
        assert_true(c->cost_usd > 0);
        assert_non_null(c->request_body);
        assert_non_null(c->response_body);
        assert_null(strstr(c->request_body, KEY));
        assert_null(strstr(c->response_body, KEY));
        assert_true(c->prefix_share >= 0 && c->prefix_share <= 1);
    }
    agt_llm_ops.destroy(p);
    s_fx_end(&f);
}

static void test_openai_faults_survived(void **state)
{
    (void)state;
    static const char *const faults[] = {"429:1",     "429date:1", "500",  "503",
                                         "malformed", "truncated", "close"};
    s_faults("openai", faults, sizeof faults / sizeof faults[0]);
}

static void test_anthropic_faults_survived(void **state)
{
    (void)state;
    static const char *const faults[] = {"429:1", "500", "529", "malformed", "truncated", "close"};
    s_faults("anthropic", faults, sizeof faults / sizeof faults[0]);
}

static void s_bad_key(const char *provider, const char *words)
{
    const char *args[] = {"--key", KEY, NULL};
    fx_t f;
    s_fx(&f, provider, args);
    setenv("PARLEY_TEST_LLM_KEY", "sk-wrong", 1);
    void *p = s_policy(&f);
    s_turn(&f, p, 0);
    agt_call_t *c = &f.out->calls[0];
    assert_int_equal(c->attempts, 1);
    assert_int_equal(c->http_status, 401);
    if (!strstr(c->error, words)) fail_msg("error does not say why: %s", c->error);
    assert_non_null(strstr(f.out->empty_reason, "HTTP 401"));
    assert_int_equal(env_decision_count(f.out->decision), 0);
    assert_null(strstr(c->request_body, "sk-wrong"));
    agt_llm_ops.destroy(p);
    s_fx_end(&f);
}

static void test_unauthorized_not_retried(void **state)
{
    (void)state;
    s_bad_key("openai", "Incorrect API key provided");
    s_bad_key("anthropic", "authentication_error: invalid x-api-key");
}

static void test_gives_up_within_budget(void **state)
{
    (void)state;
    const char *args[] = {"--step", "503", "--step", "503", "--step", "503", "--step", "503",
                          "--step", "503", "--step", "503", "--step", "503", NULL};
    fx_t f;
    s_fx(&f, "openai", args);
    void *p = s_policy(&f);
    s_turn(&f, p, 2.0); /* 2 s to decide: retries stop when the next wait would pass it */
    agt_call_t *c = &f.out->calls[0];
    assert_int_equal(c->http_status, 503);
    assert_true(c->attempts >= 1 && c->attempts < 7);
    assert_non_null(strstr(c->error, "gave up after"));
    assert_non_null(strstr(c->error, "overloaded"));
    assert_int_equal(env_decision_count(f.out->decision), 0);
    assert_non_null(strstr(f.out->empty_reason, "model call failed"));
    agt_llm_ops.destroy(p);
    s_fx_end(&f);
}

static void test_missing_key_named(void **state)
{
    (void)state;
    pl_seat_t seat = {.policy = "llm",
                      .provider = "anthropic",
                      .model = "claude-x",
                      .api_key_env = "PARLEY_SURELY_UNSET_KEY",
                      .temperature = -1};
    unsetenv("PARLEY_SURELY_UNSET_KEY");
    char err[256];
    assert_int_equal(llm_check_seat(&seat, err, sizeof err), -1);
    assert_non_null(strstr(err, "PARLEY_SURELY_UNSET_KEY"));
    setenv("PARLEY_SURELY_UNSET_KEY", "x", 1);
    assert_int_equal(llm_check_seat(&seat, err, sizeof err), 0);
    seat.provider = "gemini";
    assert_int_equal(llm_check_seat(&seat, err, sizeof err), -1);
    assert_non_null(strstr(err, "gemini"));
}

static void test_heartbeats_not_blocked(void **state)
{
    (void)state;
    const char *args[] = {"--step", "slow:2", NULL};
    fx_t f;
    s_fx(&f, "openai", args);
    void *p = s_policy(&f);
    struct event *hb = event_new(f.base, -1, EV_PERSIST, s_on_tick, &f);
    struct timeval every = {0, 50000};
    assert_int_equal(event_add(hb, &every), 0);
    s_turn(&f, p, 0);
    event_free(hb);
    print_message("heartbeat ticks during a 2 s model call: %d\n", f.ticks);
    assert_true(f.ticks >= 10); /* the timer kept firing while the model thought */
    assert_true(env_decision_count(f.out->decision) > 0);
    agt_llm_ops.destroy(p);
    s_fx_end(&f);
}

static void s_on_cancel_fire(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd, (void)kind;
    void **pp = arg;
    agt_llm_ops.cancel(pp[0]);
}

static void test_cancel_means_no_callback(void **state)
{
    (void)state;
    const char *args[] = {"--step", "slow:1", NULL};
    fx_t f;
    s_fx(&f, "anthropic", args);
    void *p = s_policy(&f);
    assert_int_equal(agt_llm_ops.decide(p, 9, &f.obs, 0, s_on_done, &f), ENV_OK);
    void *pp[1] = {p};
    struct event *cancel = evtimer_new(f.base, s_on_cancel_fire, pp);
    struct timeval soon = {0, 200000}, later = {2, 0};
    evtimer_add(cancel, &soon);
    event_base_loopexit(f.base, &later);
    event_base_dispatch(f.base);
    event_free(cancel);
    assert_int_equal(f.done_calls, 0);
    agt_llm_ops.destroy(p);
    s_fx_end(&f);
}

/* Several seats' policies on one loop, each with its own call in flight. */
typedef struct {
    int done;
    struct event_base *base;
    int want;
} many_t;

static void s_on_many_done(void *arg, uint64_t turn_id, agt_outcome_t *o)
{
    many_t *m = arg;
    (void)turn_id;
    if (o && env_decision_count(o->decision) > 0) m->done++;
    agt_outcome_destroy(&o);
    if (m->done == m->want) event_base_loopbreak(m->base);
}

static void test_ten_policies_one_loop(void **state)
{
    (void)state;
    const char *args[] = {"--delay", "0.5", NULL};
    fx_t f;
    s_fx(&f, "openai", args);
    void *p[10];
    many_t m = {.base = f.base, .want = 10};
    for (int i = 0; i < 10; i++) p[i] = s_policy(&f);
    for (int i = 0; i < 10; i++)
        assert_int_equal(agt_llm_ops.decide(p[i], 1, &f.obs, 0, s_on_many_done, &m), ENV_OK);
    struct timeval limit = {30, 0};
    event_base_loopexit(f.base, &limit);
    event_base_dispatch(f.base);
    assert_int_equal(m.done, 10);
    for (int i = 0; i < 10; i++) agt_llm_ops.destroy(p[i]);
    s_fx_end(&f);
}

/* ------------------------------------------------------ reply formats -- */

static json_t *s_body(llm_provider_t prov, pl_seat_t *seat)
{
    llm_request_t rq;
    char err[256];
    if (llm_request_build(prov, seat, NULL, "sys", "user", false, &rq, err, sizeof err) != 0)
        fail_msg("request refused: %s", err);
    json_t *b = json_loads(rq.body, 0, NULL);
    llm_request_clear(&rq);
    assert_non_null(b);
    return b;
}

static const char *s_js(json_t *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = o;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = isdigit((unsigned char)k[0]) ? json_array_get(v, (size_t)atoi(k))
                                         : json_object_get(v, k);
    return json_string_value(v);
}

/* What goes out for each reply format, in each provider's shape. */
static void test_reply_format_request_bodies(void **state)
{
    (void)state;
    pl_seat_t seat = {
        .policy = "llm", .model = "m", .temperature = -1, .base_url = "http://127.0.0.1:9/v1"};
    static const char *const actions[] = {"send_message", "broadcast", "send_information",
                                          "submit_task"};
    for (int prov = 0; prov < 2; prov++) {
        seat.provider = prov ? "anthropic" : "openai";
        seat.reply_format = "text";
        json_t *b = s_body((llm_provider_t)prov, &seat);
        assert_null(json_object_get(b, "response_format"));
        assert_null(json_object_get(b, "tools"));
        assert_null(json_object_get(b, "tool_choice"));
        /* the study's defaults: anthropic 1000 output tokens, openai none sent */
        if (prov)
            assert_int_equal(json_integer_value(json_object_get(b, "max_tokens")), 1000);
        else
            assert_null(json_object_get(b, "max_tokens"));
        json_decref(b);

        seat.reply_format = "json_schema";
        b = s_body((llm_provider_t)prov, &seat);
        json_t *schema;
        if (prov) { /* a forced tool whose input is the decision */
            assert_string_equal(s_js(b, "tools.0.name"), "decision");
            assert_string_equal(s_js(b, "tool_choice.type"), "tool");
            assert_string_equal(s_js(b, "tool_choice.name"), "decision");
            schema =
                json_object_get(json_array_get(json_object_get(b, "tools"), 0), "input_schema");
        } else {
            assert_string_equal(s_js(b, "response_format.type"), "json_schema");
            assert_string_equal(s_js(b, "response_format.json_schema.name"), "decision");
            json_t *js = json_object_get(json_object_get(b, "response_format"), "json_schema");
            assert_true(json_is_true(json_object_get(js, "strict")));
            schema = json_object_get(js, "schema");
        }
        json_t *any = json_object_get(
            json_object_get(json_object_get(json_object_get(schema, "properties"), "actions"),
                            "items"),
            "anyOf");
        assert_int_equal(json_array_size(any), 4);
        assert_non_null(json_object_get(json_object_get(schema, "properties"), "private_thoughts"));
        json_decref(b);

        seat.reply_format = "tools";
        b = s_body((llm_provider_t)prov, &seat);
        json_t *tools = json_object_get(b, "tools");
        assert_int_equal(json_array_size(tools), 4);
        for (size_t i = 0; i < 4; i++) {
            json_t *t = json_array_get(tools, i);
            const char *name = prov ? s_js(t, "name") : s_js(t, "function.name");
            bool known = false;
            for (int k = 0; k < 4; k++) known |= name && strcmp(name, actions[k]) == 0;
            if (!known) fail_msg("tool %zu is not an action: %s", i, name ? name : "(none)");
            json_t *params = prov ? json_object_get(t, "input_schema")
                                  : json_object_get(json_object_get(t, "function"), "parameters");
            assert_string_equal(s_js(params, "type"), "object");
            if (!prov) assert_string_equal(s_js(t, "type"), "function");
        }
        if (prov)
            assert_string_equal(s_js(b, "tool_choice.type"), "auto");
        else
            assert_string_equal(s_js(b, "tool_choice"), "auto");
        json_decref(b);
    }
    seat.provider = "openai";
    seat.reply_format = "json_object";
    json_t *b = s_body(LLM_OPENAI, &seat);
    assert_string_equal(s_js(b, "response_format.type"), "json_object");
    json_decref(b);

    /* Combinations a provider refuses are refused here too, never adjusted. */
    llm_request_t rq;
    char err[256];
    seat.provider = "anthropic";
    assert_int_equal(
        llm_request_build(LLM_ANTHROPIC, &seat, NULL, NULL, "u", false, &rq, err, sizeof err), -1);
    assert_non_null(strstr(err, "json_object"));
    seat.reply_format = "text";
    seat.reasoning_effort = "high";
    seat.max_tokens = 2000;
    assert_int_equal(
        llm_request_build(LLM_ANTHROPIC, &seat, NULL, NULL, "u", false, &rq, err, sizeof err), -1);
    assert_non_null(strstr(err, "thinking budget 16384"));
    seat.max_tokens = 20000;
    seat.temperature = 0.5;
    assert_int_equal(
        llm_request_build(LLM_ANTHROPIC, &seat, NULL, NULL, "u", false, &rq, err, sizeof err), -1);
    assert_non_null(strstr(err, "temperature"));
    seat.temperature = -1;
    b = s_body(LLM_ANTHROPIC, &seat); /* as written: max_tokens 20000, budget 16384 */
    assert_int_equal(json_integer_value(json_object_get(b, "max_tokens")), 20000);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(b, "thinking"), "budget_tokens")),
        16384);
    json_decref(b);
}

/* One turn against the fake with `format` and the fake's `step`. */
static void s_one(fx_t *f, const char *provider, const char *format, const char *step)
{
    const char *args[] = {"--step", step, NULL};
    s_fx(f, provider, args);
    f->seat.reply_format = (char *)format;
    void *p = s_policy(f);
    s_turn(f, p, 0);
    agt_llm_ops.destroy(p);
    assert_int_equal(f->out->n_calls, 1);
    print_message("%s %s %s -> stop %s (%s), %d tool call(s), %zu action(s), empty: %s\n", provider,
                  format, step, f->out->calls[0].stop_reason, f->out->calls[0].finish_reason,
                  f->out->calls[0].tool_calls, env_decision_count(f->out->decision),
                  f->out->empty_reason);
}

/* Vendor-shaped tool calls (both wire formats) become the turn's actions. */
static void test_tool_calls_become_actions(void **state)
{
    (void)state;
    for (int prov = 0; prov < 2; prov++) {
        const char *pv = prov ? "anthropic" : "openai";
        fx_t f;
        s_one(&f, pv, "tools", "play");
        agt_call_t *c = &f.out->calls[0];
        assert_string_equal(c->reply_format, "tools");
        assert_string_equal(c->stop_reason, "tool_use");
        assert_string_equal(c->finish_reason, prov ? "tool_use" : "tool_calls");
        assert_true(c->tool_calls > 0);
        /* one action per tool call, the text beside them the private thoughts */
        assert_int_equal((int)env_decision_count(f.out->decision), c->tool_calls);
        assert_non_null(strstr(env_decision_get_thoughts(f.out->decision), "Ask for what I miss"));
        assert_string_equal(f.out->empty_reason, "");
        s_fx_end(&f);

        s_one(&f, pv, "json_schema", "play");
        c = &f.out->calls[0];
        assert_string_equal(c->reply_format, "json_schema");
        assert_true(env_decision_count(f.out->decision) > 0);
        if (prov) { /* the forced decision tool: one call holding every action */
            assert_int_equal(c->tool_calls, 1);
            assert_string_equal(c->stop_reason, "tool_use");
        } else {
            assert_int_equal(c->tool_calls, 0);
            assert_string_equal(c->stop_reason, "end");
        }
        s_fx_end(&f);
    }
}

/* Each stop reason, as the record and the empty turn's reason tell it. */
static void test_stop_reasons_recorded(void **state)
{
    (void)state;
    for (int prov = 0; prov < 2; prov++) {
        const char *pv = prov ? "anthropic" : "openai";
        fx_t f;
        s_one(&f, pv, "text", "play");
        agt_call_t *c = &f.out->calls[0];
        assert_string_equal(c->stop_reason, "end");
        assert_string_equal(c->finish_reason, prov ? "end_turn" : "stop");
        assert_string_equal(c->reply_format, "text");
        assert_true(c->tokens_reasoning > 0); /* both usage shapes read */
        assert_int_equal(c->thinking_blocks, prov ? 1 : 0);
        assert_string_equal(c->system_fingerprint, prov ? "" : "fp_fake0001");
        assert_true(env_decision_count(f.out->decision) > 0);
        s_fx_end(&f);

        s_one(&f, pv, "text", "refusal");
        c = &f.out->calls[0];
        assert_string_equal(c->stop_reason, "refusal");
        assert_non_null(strstr(c->refusal, "can't help with that"));
        assert_int_equal(env_decision_count(f.out->decision), 0);
        assert_non_null(strstr(f.out->empty_reason, "the model refused: "));
        assert_non_null(strstr(f.out->empty_reason, "can't help"));
        s_fx_end(&f);

        s_one(&f, pv, "text", "length");
        c = &f.out->calls[0];
        assert_string_equal(c->stop_reason, "max_tokens");
        assert_string_equal(c->finish_reason, prov ? "max_tokens" : "length");
        assert_int_equal(env_decision_count(f.out->decision), 0);
        assert_non_null(strstr(f.out->empty_reason, "cut at"));
        s_fx_end(&f);

        /* malformed but complete: not mistaken for a cut reply */
        s_one(&f, pv, "text", "reply:I think I will wait and see.");
        c = &f.out->calls[0];
        assert_string_equal(c->stop_reason, "end");
        assert_string_equal(f.out->empty_reason, "no JSON object in the reply");
        s_fx_end(&f);

        /* a stop word parley has a name for, and one it has not */
        s_one(&f, pv, "text", prov ? "stop:stop_sequence" : "stop:content_filter");
        c = &f.out->calls[0];
        assert_string_equal(c->stop_reason, prov ? "stop_sequence" : "content_filter");
        if (!prov) assert_non_null(strstr(f.out->empty_reason, "content filter"));
        s_fx_end(&f);
        s_one(&f, pv, "text", "stop:pause_turn");
        c = &f.out->calls[0];
        assert_string_equal(c->stop_reason, "other");
        assert_string_equal(c->finish_reason, "pause_turn");
        assert_string_equal(f.out->empty_reason, "empty reply");
        s_fx_end(&f);

        /* tools offered, none called: recorded as such, the text read as a decision */
        s_one(&f, pv, "tools", "notool");
        c = &f.out->calls[0];
        assert_int_equal(c->tool_calls, 0);
        assert_string_equal(c->stop_reason, "end");
        assert_true(env_decision_count(f.out->decision) > 0);
        s_fx_end(&f);
        s_one(&f, pv, "tools", "reply:no tools today");
        assert_int_equal(f.out->calls[0].tool_calls, 0);
        assert_int_equal(env_decision_count(f.out->decision), 0);
        assert_non_null(strstr(f.out->empty_reason, "the reply made no tool call"));
        s_fx_end(&f);
    }
}

/* Issue 14: the vendor's key goes to the vendor's host only. */
static void test_vendor_key_stays_home(void **state)
{
    (void)state;
    for (int prov = 0; prov < 2; prov++) {
        const char *var = prov ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY";
        setenv(var, "sk-vendor-secret-0000", 1);
        char yaml[512];
        const char *args[] = {NULL};
        fx_t f;
        s_fx(&f, prov ? "anthropic" : "openai", args);
        /* as a user writes it: no api_key_env, a local base_url */
        snprintf(yaml, sizeof yaml,
                 "simulation: {agents: 2}\n"
                 "seats:\n"
                 "  - {policy: llm, count: 2, provider: %s, model: m, base_url: \"%s\"}\n",
                 prov ? "anthropic" : "openai", f.url);
        char err[256];
        pl_config_t *cfg = pl_config_parse(yaml, strlen(yaml), "t.yaml", err, sizeof err);
        if (!cfg) fail_msg("%s", err);
        assert_null(pl_seat_key_env(&cfg->seats[0]));
        f.ctx.seat = &cfg->seats[0];
        void *p = s_policy(&f);
        s_turn(&f, p, 0);
        agt_llm_ops.destroy(p);
        assert_int_equal(fake_stat(f.port, "requests"), 1);
        assert_int_equal(fake_stat(f.port, "keyed"), 0); /* no auth header went out */
        pl_config_destroy(&cfg);

        /* the configuration names a variable: then, and only then, it is sent */
        snprintf(yaml, sizeof yaml,
                 "simulation: {agents: 2}\n"
                 "seats:\n"
                 "  - {policy: llm, count: 2, provider: %s, model: m, base_url: \"%s\", "
                 "api_key_env: %s}\n",
                 prov ? "anthropic" : "openai", f.url, var);
        cfg = pl_config_parse(yaml, strlen(yaml), "t.yaml", err, sizeof err);
        if (!cfg) fail_msg("%s", err);
        f.ctx.seat = &cfg->seats[0];
        p = s_policy(&f);
        s_turn(&f, p, 0);
        agt_llm_ops.destroy(p);
        assert_int_equal(fake_stat(f.port, "keyed"), 1);
        pl_config_destroy(&cfg);
        s_fx_end(&f);
        unsetenv(var);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_key_named),
        cmocka_unit_test(test_openai_faults_survived),
        cmocka_unit_test(test_anthropic_faults_survived),
        cmocka_unit_test(test_unauthorized_not_retried),
        cmocka_unit_test(test_gives_up_within_budget),
        cmocka_unit_test(test_heartbeats_not_blocked),
        cmocka_unit_test(test_cancel_means_no_callback),
        cmocka_unit_test(test_ten_policies_one_loop),
        cmocka_unit_test(test_reply_format_request_bodies),
        cmocka_unit_test(test_tool_calls_become_actions),
        cmocka_unit_test(test_stop_reasons_recorded),
        cmocka_unit_test(test_vendor_key_stays_home),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
