/* env_rng.c: see env_rng.h. xoshiro256** by Blackman and Vigna (public domain
 * algorithm), written out here from its published definition. */
#include "env_rng.h"

uint64_t env_rng_mix(uint64_t x)
{
    uint64_t z = x + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void env_rng_seed(env_rng_t *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = env_rng_mix(seed) ^ env_rng_mix(stream * 0xd1b54a32d192ed03ULL + 1);
    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ULL;
        r->s[i] = env_rng_mix(x);
    }
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1; /* never the all-zero state */
}

static inline uint64_t s_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t env_rng_next(env_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = s_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl(s[3], 45);
    return result;
}

uint64_t env_rng_below(env_rng_t *r, uint64_t n)
{
    /* Rejection on the top of the range removes modulo bias. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = env_rng_next(r);
    } while (x >= limit);
    return x % n;
}

int env_rng_range(env_rng_t *r, int lo, int hi)
{
    return lo + (int)env_rng_below(r, (uint64_t)((int64_t)hi - lo + 1));
}

double env_rng_double(env_rng_t *r)
{
    return (double)(env_rng_next(r) >> 11) * 0x1.0p-53;
}

void env_rng_shuffle(env_rng_t *r, int *v, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)env_rng_below(r, (uint64_t)i + 1);
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}
