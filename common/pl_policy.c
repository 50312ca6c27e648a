/* pl_policy.c: the registry of seat policies (pl_policy.h). The scripted rows
 * follow environment/'s env_policy_t; `llm` and `human` are played by
 * parley-agent's own implementations. */
#include "pl_policy.h"

#include <string.h>

static const pl_policy_t s_policies[] = {
    {"perfect", PL_POLICY_SCRIPTED, true, "the rule-based optimum of GAME.md"},
    {"passive", PL_POLICY_SCRIPTED, false, "never acts"},
    {"selfish", PL_POLICY_SCRIPTED, false, "asks and submits, never shares"},
    {"helper", PL_POLICY_SCRIPTED, false, "shares when asked and submits, never asks"},
    {"random", PL_POLICY_SCRIPTED, false, "random valid-looking actions"},
    {"llm", PL_POLICY_MODEL, false, "a model behind an HTTP API (docs/LLM.md)"},
    {"human", PL_POLICY_PERSON, false, "a person, in the browser or the terminal"},
};
#define S_N (sizeof s_policies / sizeof s_policies[0])

const pl_policy_t *pl_policy_find(const char *name)
{
    for (size_t i = 0; name && i < S_N; i++)
        if (strcmp(s_policies[i].name, name) == 0) return &s_policies[i];
    return NULL;
}

size_t pl_policy_count(void)
{
    return S_N;
}

const pl_policy_t *pl_policy_at(size_t i)
{
    return i < S_N ? &s_policies[i] : NULL;
}

const char *pl_policy_names(void)
{
    static char names[256];
    if (!names[0]) {
        size_t at = 0;
        for (size_t i = 0; i < S_N && at < sizeof names; i++) {
            size_t n = strlen(s_policies[i].name);
            if (at + n + 3 > sizeof names) break;
            if (i) {
                memcpy(names + at, ", ", 2);
                at += 2;
            }
            memcpy(names + at, s_policies[i].name, n);
            at += n;
        }
        names[at] = '\0';
    }
    return names;
}
