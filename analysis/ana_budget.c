/* ana_budget.c: keys and the cost estimate of a sweep (ana_budget.h). */
#include "ana_budget.h"

#include <stdlib.h>
#include <string.h>

void ana_budget_add(ana_budget_t *b, const pl_config_t *c)
{
    long long R = c->game.rounds > 0 ? c->game.rounds : 0;
    long long in = R * ANA_BUDGET_PROMPT_R1 + ANA_BUDGET_PROMPT_GROWTH * R * (R - 1) / 2;
    long long out = R * ANA_BUDGET_REPLY;
    b->runs++;
    for (int i = 0; i < c->n_seats; i++) {
        const pl_seat_t *s = &c->seats[i];
        if (!s->policy || strcmp(s->policy, "llm") != 0) continue;
        b->calls += R;
        b->tokens_in += in;
        b->tokens_out += out;
        const pl_price_t *p = s->model ? pl_config_price(c, s->model) : NULL;
        if (p)
            b->cost_usd += ((double)in * p->input + (double)out * p->output) / 1e6;
        else
            b->unpriced_calls += R;
    }
}

void ana_budget_print(FILE *f, const ana_budget_t *b)
{
    if (!b->calls) return;
    fprintf(f,
            "estimate: %lld runs, %lld model calls, %.1fM tokens in, %.1fM out, about $%.2f%s\n"
            "  (one call per model seat per round; prompt %d tokens in round 1, +%d per round; "
            "%d per reply; prices from the configuration; docs/ANALYSIS.md)\n",
            b->runs, b->calls, (double)b->tokens_in / 1e6, (double)b->tokens_out / 1e6, b->cost_usd,
            b->unpriced_calls ? " (some models have no price: not counted)" : "",
            ANA_BUDGET_PROMPT_R1, ANA_BUDGET_PROMPT_GROWTH, ANA_BUDGET_REPLY);
}

int ana_budget_missing_keys(const pl_config_t *c, char *names, size_t cap)
{
    for (int i = 0; i < c->n_seats; i++) {
        const pl_seat_t *s = &c->seats[i];
        if (!s->policy || strcmp(s->policy, "llm") != 0 || !s->api_key_env || !*s->api_key_env)
            continue;
        const char *v = getenv(s->api_key_env);
        if (v && *v) continue;
        /* Already named? Compare whole items of the list. */
        size_t n = strlen(s->api_key_env);
        bool seen = false;
        for (const char *p = names; *p && !seen;) {
            size_t len = strcspn(p, ",");
            seen = len == n && strncmp(p, s->api_key_env, n) == 0;
            p += len;
            while (*p == ',' || *p == ' ') p++;
        }
        if (seen) continue;
        size_t used = strlen(names);
        snprintf(names + used, cap - used, "%s%s", used ? ", " : "", s->api_key_env);
    }
    int count = 0;
    for (const char *p = names; *p; p++) count += *p == ',';
    return names[0] ? count + 1 : 0;
}
