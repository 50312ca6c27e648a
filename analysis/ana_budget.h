/* ana_budget.h: what a sweep will cost, said before it starts: the API keys its
 * model seats need (all of them checked, every missing variable named), and an
 * estimate of the calls, tokens and dollars.
 *
 * The estimate (docs/ANALYSIS.md "Before a sweep starts"): one call per model
 * seat per round; the prompt of round r has P1 + G * (r - 1) tokens, so a seat's
 * game reads R * P1 + G * R * (R - 1) / 2 tokens; each reply is OUT tokens. P1
 * and G were measured on the paper preset (10 competent players, 20 rounds: the
 * prompt grows with the message history); OUT is an assumption (a short JSON
 * decision; reasoning models spend more). Cost uses the configuration's
 * `prices` table; a model without a price is counted in tokens only. */
#ifndef PARLEY_ANA_BUDGET_H
#define PARLEY_ANA_BUDGET_H

#include "pl_config.h"

#include <stdio.h>

#define ANA_BUDGET_PROMPT_R1     1556 /* tokens in the first round's prompt */
#define ANA_BUDGET_PROMPT_GROWTH 791  /* tokens added to the prompt per round */
#define ANA_BUDGET_REPLY         500  /* tokens per reply (assumed) */

typedef struct {
    long long runs, calls, tokens_in, tokens_out;
    double cost_usd;
    long long unpriced_calls; /* calls of models without a price */
} ana_budget_t;

/* Adds the estimate of one run of configuration c to b. */
void ana_budget_add(ana_budget_t *b, const pl_config_t *c);
/* Prints the estimate (nothing when no seat calls a model). */
void ana_budget_print(FILE *f, const ana_budget_t *b);

/* Appends to `names` (", "-separated, capacity cap) each API key variable that
 * an llm seat of c names and the environment lacks, once. Returns how many
 * variables are missing in `names` afterwards. */
int ana_budget_missing_keys(const pl_config_t *c, char *names, size_t cap);

#endif
