/* env_rng.h: the project's own seeded generator (xoshiro256**, seeded through
 * splitmix64), so that a game depends only on its seed and never on the C
 * library's rand(). Internal to environment/. Streams: one seed feeds several
 * independent streams (world, turn order, each agent's tasks...), so that what
 * one part of the game draws never shifts what another part draws. */
#ifndef PARLEY_ENV_RNG_H
#define PARLEY_ENV_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} env_rng_t;

/* Seeds stream `stream` of `seed`. */
void env_rng_seed(env_rng_t *r, uint64_t seed, uint64_t stream);
uint64_t env_rng_next(env_rng_t *r);
/* Uniform in [0, n), unbiased; n > 0. */
uint64_t env_rng_below(env_rng_t *r, uint64_t n);
/* Uniform integer in [lo, hi], lo <= hi. */
int env_rng_range(env_rng_t *r, int lo, int hi);
/* Uniform double in [0, 1). */
double env_rng_double(env_rng_t *r);
/* Fisher-Yates shuffle of n ints. */
void env_rng_shuffle(env_rng_t *r, int *v, int n);
/* One splitmix64 step: a well-mixed hash of x (also used for small per-call states). */
uint64_t env_rng_mix(uint64_t x);

#endif
