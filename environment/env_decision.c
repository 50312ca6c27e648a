/* env_decision.c: a decision being built by a policy: a list of actions whose
 * strings the decision owns, ready to hand to env_apply or to the wire. */
#include "env_internal.h"

#include <stdlib.h>
#include <string.h>

struct env_decision {
    VEC(env_action_t) acts;
    char *thoughts;
};

env_decision_t *env_decision_new(void)
{
    return calloc(1, sizeof(env_decision_t));
}

static void s_free_action(env_action_t *a)
{
    free((char *)a->to);
    free((char *)a->content);
    for (size_t i = 0; i < a->n_info; i++) free((char *)a->info[i]);
    for (size_t i = 0; i < a->n_values; i++) free((char *)a->value_names[i]);
    free((void *)a->info);
    free((void *)a->value_names);
    free((void *)a->values);
}

void env_decision_clear(env_decision_t *d)
{
    for (size_t i = 0; i < d->acts.n; i++) s_free_action(&d->acts.v[i]);
    d->acts.n = 0;
    free(d->thoughts);
    d->thoughts = NULL;
}

void env_decision_destroy(env_decision_t **dp)
{
    if (!dp || !*dp) return;
    env_decision_clear(*dp);
    VEC_FREE((*dp)->acts);
    free(*dp);
    *dp = NULL;
}

static char *s_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int s_push(env_decision_t *d, env_action_t *a)
{
    if (VEC_PUSH(d->acts, *a)) {
        s_free_action(a);
        return ENV_ENOMEM;
    }
    return ENV_OK;
}

int env_decision_message(env_decision_t *d, const char *to, const char *content)
{
    env_action_t a = {.kind = ENV_ACT_SEND_MESSAGE, .to = s_dup(to), .content = s_dup(content)};
    if ((to && !a.to) || (content && !a.content)) {
        s_free_action(&a);
        return ENV_ENOMEM;
    }
    return s_push(d, &a);
}

int env_decision_broadcast(env_decision_t *d, const char *content)
{
    env_action_t a = {.kind = ENV_ACT_BROADCAST, .content = s_dup(content)};
    if (content && !a.content) return ENV_ENOMEM;
    return s_push(d, &a);
}

int env_decision_send_raw(env_decision_t *d, const char *to, size_t n_info, const char *const *info,
                          size_t n_values, const char *const *value_names, const int64_t *values)
{
    env_action_t a = {.kind = ENV_ACT_SEND_INFORMATION, .to = s_dup(to)};
    char **in = calloc(n_info ? n_info : 1, sizeof *in);
    char **vn = calloc(n_values ? n_values : 1, sizeof *vn);
    int64_t *vals = calloc(n_values ? n_values : 1, sizeof *vals);
    a.info = (const char *const *)in;
    a.value_names = (const char *const *)vn;
    a.values = vals;
    if (!in || !vn || !vals || (to && !a.to)) goto fail;
    for (size_t i = 0; i < n_info; i++) {
        in[i] = s_dup(info[i] ? info[i] : "");
        a.n_info = i + 1;
        if (!in[i]) goto fail;
    }
    for (size_t i = 0; i < n_values; i++) {
        vn[i] = s_dup(value_names[i] ? value_names[i] : "");
        a.n_values = i + 1;
        vals[i] = values[i];
        if (!vn[i]) goto fail;
    }
    return s_push(d, &a);
fail:
    s_free_action(&a);
    return ENV_ENOMEM;
}

int env_decision_send_many(env_decision_t *d, const char *to, size_t n, const char *const *names,
                           const int64_t *values)
{
    return env_decision_send_raw(d, to, n, names, n, names, values);
}

int env_decision_send(env_decision_t *d, const char *to, const char *piece, int64_t value)
{
    return env_decision_send_many(d, to, 1, &piece, &value);
}

int env_decision_submit(env_decision_t *d, const char *answer)
{
    env_action_t a = {.kind = ENV_ACT_SUBMIT_TASK, .content = s_dup(answer)};
    if (answer && !a.content) return ENV_ENOMEM;
    return s_push(d, &a);
}

int env_decision_thoughts(env_decision_t *d, const char *text)
{
    char *t = s_dup(text);
    if (text && !t) return ENV_ENOMEM;
    free(d->thoughts);
    d->thoughts = t;
    return ENV_OK;
}

size_t env_decision_count(const env_decision_t *d)
{
    return d->acts.n;
}
const env_action_t *env_decision_actions(const env_decision_t *d)
{
    return d->acts.v;
}
const char *env_decision_get_thoughts(const env_decision_t *d)
{
    return d->thoughts;
}
