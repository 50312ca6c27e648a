/* pl_config_json.c: a configuration written as JSON (see pl_config.h).
 *
 * pl_config_to_json() gives the resolved configuration for the run record
 * (config.json): what was played, defaults included, seats grouped as in a file.
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
    pl_cfg_seat_init(&def);
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
    if (s->fallback) s_jset(o, "fallback", json_string(s->fallback), bad);
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
    s_jset(o, "answer_request_form_only", json_boolean(g->request_form_only), &bad);
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
    s_jset(o, "min_think", json_real(pl_seat_min_think(c, -1)),
           &bad); /* the mode's default when unset */
    s_jset(o, "heartbeat", json_real(c->heartbeat), &bad);
    s_jset(root, "timing", o, &bad);
    /* Written only when set, so that a run's config.json (and its hash) stays
     * what it was before these keys existed. */
    if (c->max_unjoined != PL_CFG_MAX_UNJOINED || c->join_timeout != PL_CFG_JOIN_TIMEOUT) {
        o = json_object();
        s_jset(o, "max_unjoined", json_integer(c->max_unjoined), &bad);
        s_jset(o, "join_timeout", json_real(c->join_timeout), &bad);
        s_jset(root, "security", o, &bad);
    }
    s_jset(root, "blind", json_boolean(c->blind), &bad);
    if (c->llm_prompt || c->llm_cache_hints) {
        o = json_object();
        if (c->llm_prompt) s_jset(o, "prompt", json_string(c->llm_prompt), &bad);
        if (c->llm_cache_hints) s_jset(o, "cache_hints", json_string(c->llm_cache_hints), &bad);
        s_jset(root, "llm", o, &bad);
    }
    o = json_object();
    s_jset(o, "mode", json_string(pl_config_mixed(c) ? "mixed" : "standard"), &bad);
    s_jset(root, "agents", o, &bad);
    /* Runs of identical seats become one group, as a person would write them. */
    json_t *seats = json_array();
    for (int i = 0; i < c->n_seats;) {
        int j = i + 1;
        while (j < c->n_seats && pl_cfg_seat_equal(&c->seats[j], &c->seats[i])) j++;
        if (!seats || json_array_append_new(seats, s_seat_json(&c->seats[i], j - i, &bad))) bad++;
        i = j;
    }
    s_jset(root, "seats", seats, &bad);
    /* session.* only when set: a run outside a session keeps its config.json. */
    if (c->session_max_missed != PL_CFG_SESSION_MAX_MISSED ||
        c->session_dropout_after != PL_CFG_SESSION_DROPOUT || c->session_lobby_timeout != 0) {
        o = json_object();
        s_jset(o, "max_missed", json_integer(c->session_max_missed), &bad);
        s_jset(o, "dropout_after", json_real(c->session_dropout_after), &bad);
        s_jset(o, "lobby_timeout", json_real(c->session_lobby_timeout), &bad);
        s_jset(root, "session", o, &bad);
    }
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
