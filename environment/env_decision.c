/* env_decision.c: a decision being built by a policy: a list of actions whose
 * strings the decision owns, ready to hand to env_apply or to the wire. The
 * strings and lists live in the decision's own bump allocator, emptied (its
 * memory kept) by env_decision_clear: a perfect seat's turn at 200 agents is
 * hundreds of actions, and a malloc and a free for each of their strings was
 * a twelfth of the in-process game. */
#include "env_internal.h"

#include <stdlib.h>
#include <string.h>

enum { S_CHUNK = 16384 };

/* One block of the allocator; blocks are kept from turn to turn. */
typedef struct s_block {
    struct s_block *next;
    size_t used, size;
    max_align_t data[];
} s_block_t;

struct env_decision {
    VEC(env_action_t) acts;
    char *thoughts;
    s_block_t *head, *cur; /* all the blocks; the one being filled */
};

env_decision_t *env_decision_new(void)
{
    return calloc(1, sizeof(env_decision_t));
}

/* n bytes, aligned, valid until the next clear; NULL when out of memory. The
 * blocks after the current one were filled before the last clear: they are
 * used again, in order, before a new one is made. */
static void *s_alloc(env_decision_t *d, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    s_block_t *b = d->cur;
    if (!b || b->size - b->used < n) {
        if (b && b->next && b->next->size >= n) {
            b = b->next;
        } else {
            size_t size = n > S_CHUNK ? n : S_CHUNK;
            s_block_t *nb = malloc(sizeof *nb + size);
            if (!nb) return NULL;
            nb->size = size;
            if (b) {
                nb->next = b->next;
                b->next = nb;
            } else {
                nb->next = NULL;
                d->head = nb;
            }
            b = nb;
        }
        b->used = 0;
        d->cur = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return p;
}

void env_decision_clear(env_decision_t *d)
{
    d->acts.n = 0;
    d->thoughts = NULL;
    d->cur = d->head;
    if (d->head) d->head->used = 0;
}

void env_decision_destroy(env_decision_t **dp)
{
    if (!dp || !*dp) return;
    VEC_FREE((*dp)->acts);
    while ((*dp)->head) {
        s_block_t *next = (*dp)->head->next;
        free((*dp)->head);
        (*dp)->head = next;
    }
    free(*dp);
    *dp = NULL;
}

static char *s_dup(env_decision_t *d, const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *p = s_alloc(d, n);
    if (p) memcpy(p, s, n);
    return p;
}

static int s_push(env_decision_t *d, env_action_t *a)
{
    return VEC_PUSH(d->acts, *a) ? ENV_ENOMEM : ENV_OK;
}

int env_decision_message(env_decision_t *d, const char *to, const char *content)
{
    env_action_t a = {
        .kind = ENV_ACT_SEND_MESSAGE, .to = s_dup(d, to), .content = s_dup(d, content)};
    if ((to && !a.to) || (content && !a.content)) return ENV_ENOMEM;
    return s_push(d, &a);
}

int env_decision_broadcast(env_decision_t *d, const char *content)
{
    env_action_t a = {.kind = ENV_ACT_BROADCAST, .content = s_dup(d, content)};
    if (content && !a.content) return ENV_ENOMEM;
    return s_push(d, &a);
}

int env_decision_send_raw(env_decision_t *d, const char *to, size_t n_info, const char *const *info,
                          size_t n_values, const char *const *value_names, const int64_t *values)
{
    env_action_t a = {.kind = ENV_ACT_SEND_INFORMATION, .to = s_dup(d, to)};
    char **in = s_alloc(d, (n_info ? n_info : 1) * sizeof *in);
    char **vn = s_alloc(d, (n_values ? n_values : 1) * sizeof *vn);
    int64_t *vals = s_alloc(d, (n_values ? n_values : 1) * sizeof *vals);
    a.info = (const char *const *)in;
    a.value_names = (const char *const *)vn;
    a.values = vals;
    if (!in || !vn || !vals || (to && !a.to)) goto fail;
    for (size_t i = 0; i < n_info; i++) {
        in[i] = s_dup(d, info[i] ? info[i] : "");
        a.n_info = i + 1;
        if (!in[i]) goto fail;
    }
    for (size_t i = 0; i < n_values; i++) {
        vn[i] = s_dup(d, value_names[i] ? value_names[i] : "");
        a.n_values = i + 1;
        vals[i] = values[i];
        if (!vn[i]) goto fail;
    }
    return s_push(d, &a);
fail: /* what was taken stays in the allocator until the next clear */
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
    env_action_t a = {.kind = ENV_ACT_SUBMIT_TASK, .content = s_dup(d, answer)};
    if (answer && !a.content) return ENV_ENOMEM;
    return s_push(d, &a);
}

int env_decision_thoughts(env_decision_t *d, const char *text)
{
    char *t = s_dup(d, text);
    if (text && !t) return ENV_ENOMEM;
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
