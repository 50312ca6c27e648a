/* env_world.c: generating a world from one seed (GAME.md "World"), drawing
 * tasks, and the small containers the game state is built from. */
#include "env_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Streams of the seed: each kind of draw has its own, so that what agents do
 * (how many tasks they finish) never shifts the turn order or the world. */
enum { S_STREAM_WORLD = 1, S_STREAM_TYPES = 2, S_STREAM_ORDER = 3, S_STREAM_TASKS = 1000 };

static const char *const s_piece_templates[] = {
    "Q%d sales data",        "Customer segment %d analysis", "Product %d performance metrics",
    "Region %d market data", "Department %d budget",
};

static const char *const s_task_templates[] = {
    "Calculate the quarterly revenue by combining the required data.",
    "Prepare the market expansion report from the required data.",
    "Build the annual budget forecast from the required data.",
    "Assess customer retention risk using the required data.",
    "Draft the product strategy brief using the required data.",
    "Estimate next year's growth targets from the required data.",
};

/* ------------------------------------------------------------ containers -- */

int env_vec_reserve(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return ENV_OK;
    size_t n = *cap ? *cap * 2 : 8;
    while (n < need) n *= 2;
    void *p = realloc(*v, n * size);
    if (!p) return ENV_ENOMEM;
    *v = p;
    *cap = n;
    return ENV_OK;
}

void *env_arena_alloc(env_arena_t *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    env_chunk_t *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = n > 65536 ? n : 65536;
        c = malloc(sizeof *c + size);
        if (!c) return NULL;
        c->next = a->head;
        c->used = 0;
        c->size = size;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

char *env_arena_strdup(env_arena_t *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = env_arena_alloc(a, n);
    if (p) memcpy(p, s, n);
    return p;
}

char *env_arena_printf(env_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *p = env_arena_alloc(a, (size_t)n + 1);
    if (!p) return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void env_arena_free(env_arena_t *a)
{
    while (a->head) {
        env_chunk_t *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

static size_t s_slot(uint64_t key, size_t cap)
{
    return (size_t)(env_rng_mix(key) & (cap - 1));
}

bool env_set_has(const env_set_t *s, uint64_t key)
{
    if (!s->cap) return false;
    for (size_t i = s_slot(key, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (s->keys[i] == 0) return false;
        if (s->keys[i] == key + 1) return true;
    }
}

int env_set_add(env_set_t *s, uint64_t key)
{
    if ((s->n + 1) * 2 > s->cap) { /* keep the load under one half */
        size_t cap = s->cap ? s->cap * 2 : 64;
        uint64_t *keys = calloc(cap, sizeof *keys);
        if (!keys) return ENV_ENOMEM;
        for (size_t j = 0; j < s->cap; j++) {
            if (!s->keys[j]) continue;
            size_t i = s_slot(s->keys[j] - 1, cap);
            while (keys[i]) i = (i + 1) & (cap - 1);
            keys[i] = s->keys[j];
        }
        free(s->keys);
        s->keys = keys;
        s->cap = cap;
    }
    size_t i = s_slot(key, s->cap);
    while (s->keys[i]) {
        if (s->keys[i] == key + 1) return ENV_OK;
        i = (i + 1) & (s->cap - 1);
    }
    s->keys[i] = key + 1;
    s->n++;
    return ENV_OK;
}

void env_set_free(env_set_t *s)
{
    free(s->keys);
    memset(s, 0, sizeof *s);
}

env_map_slot_t *env_map_get(const env_map_t *m, uint64_t key)
{
    if (!m->cap) return NULL;
    for (size_t i = s_slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].key == 0) return NULL;
        if (m->slots[i].key == key + 1) return &m->slots[i];
    }
}

int env_map_put(env_map_t *m, uint64_t key, uint32_t a, uint32_t b)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        env_map_slot_t *slots = calloc(cap, sizeof *slots);
        if (!slots) return ENV_ENOMEM;
        for (size_t j = 0; j < m->cap; j++) {
            if (!m->slots[j].key) continue;
            size_t i = s_slot(m->slots[j].key - 1, cap);
            while (slots[i].key) i = (i + 1) & (cap - 1);
            slots[i] = m->slots[j];
        }
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    size_t i = s_slot(key, m->cap);
    while (m->slots[i].key && m->slots[i].key != key + 1) i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].key) m->n++;
    m->slots[i].key = key + 1;
    m->slots[i].a = a;
    m->slots[i].b = b;
    return ENV_OK;
}

void env_map_free(env_map_t *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ----------------------------------------------------------------- world -- */

/* GAME.md: 5% uniform 0-19, 15% 20-59, 60% 60-79, 20% 80-100. */
static int s_draw_value(env_rng_t *r)
{
    double u = env_rng_double(r);
    if (u < 0.05) return env_rng_range(r, 0, 19);
    if (u < 0.20) return env_rng_range(r, 20, 59);
    if (u < 0.80) return env_rng_range(r, 60, 79);
    return env_rng_range(r, 80, 100);
}

static int s_give(env_game_t *g, int agent, int piece, int value)
{
    env_agent_t *a = &g->agents[agent];
    env_bit_set(a->held, piece);
    env_holding_t h = {.piece = piece, .value = value};
    return VEC_PUSH(a->inv, h);
}

/* A configured template with every `key` replaced by `value`, in the arena. */
static char *s_fill(env_arena_t *arena, const char *tpl, const char *key, const char *value)
{
    size_t kl = strlen(key), vl = strlen(value), n = 0;
    for (const char *s = strstr(tpl, key); s; s = strstr(s + kl, key)) n++;
    char *out = env_arena_alloc(arena, strlen(tpl) + n * vl + 1);
    if (!out) return NULL;
    char *o = out;
    for (const char *s = tpl; *s;) {
        if (strncmp(s, key, kl) == 0) {
            memcpy(o, value, vl);
            o += vl;
            s += kl;
        } else {
            *o++ = *s++;
        }
    }
    *o = 0;
    return out;
}

/* A configured task template filled as the original fills it: the names in
 * double quotes, joined by " and ". */
static char *s_task_text(env_game_t *g, const char *tpl, const int *pieces, int k)
{
    size_t len = 1;
    for (int i = 0; i < k; i++) len += strlen(g->piece_names[pieces[i]]) + 7;
    char *list = malloc(len);
    if (!list) return NULL;
    size_t at = 0;
    for (int i = 0; i < k; i++)
        at += (size_t)snprintf(list + at, len - at, "%s\"%s\"", i ? " and " : "",
                               g->piece_names[pieces[i]]);
    char *text = s_fill(&g->arena, tpl, "{info_pieces}", list);
    free(list);
    return text;
}

int env_task_new(env_game_t *g, int agent)
{
    env_agent_t *a = &g->agents[agent];
    int k = g->cfg.pieces_per_task;
    /* A range of sizes draws the size first; a fixed size draws nothing, so the
     * paper preset's stream is unchanged. */
    int lo = g->cfg.min_pieces_per_task;
    if (lo > 0 && lo < k) k = lo + (int)env_rng_below(&a->task_rng, (uint64_t)(k - lo + 1));
    env_task_t t = {.owner = agent, .n_pieces = k};
    t.pieces = env_arena_alloc(&g->arena, sizeof(int) * (size_t)k);
    if (!t.pieces) return ENV_ENOMEM;
    /* k distinct pieces, uniformly: rejection is cheap because k << P. */
    for (int i = 0; i < k;) {
        int p = (int)env_rng_below(&a->task_rng, (uint64_t)g->p);
        bool dup = false;
        for (int j = 0; j < i; j++) dup |= t.pieces[j] == p;
        if (!dup) t.pieces[i++] = p;
    }
    if (g->cfg.n_task_templates > 0) {
        const char *tpl =
            g->cfg.task_templates[env_rng_below(&a->task_rng, (uint64_t)g->cfg.n_task_templates)];
        t.description = s_task_text(g, tpl, t.pieces, k);
        if (!t.description) return ENV_ENOMEM;
    } else {
        size_t nt = sizeof s_task_templates / sizeof *s_task_templates;
        t.description = (char *)s_task_templates[env_rng_below(&a->task_rng, nt)];
    }
    char id[32];
    env_append_int(id, sizeof id, env_append(id, sizeof id, 0, "task_"), (long long)g->tasks.n + 1);
    t.id = env_arena_strdup(&g->arena, id); /* "task_%zu", without snprintf's cost */
    if (!t.id) return ENV_ENOMEM;
    int idx = (int)g->tasks.n;
    if (VEC_PUSH(g->tasks, t) || VEC_PUSH(a->active, idx)) return ENV_ENOMEM;

    bool w = env_ev_begin(g, "task_new");
    if (w) {
        env_ev_kagent(g, "agent", agent);
        env_ev_kstr(g, "task", t.id);
        env_ev_kstr(g, "description", t.description);
        env_ev_key(g, "pieces");
        env_ev_arr(g);
        for (int i = 0; i < k; i++) env_ev_piece(g, t.pieces[i]);
        env_ev_close(g);
        env_ev_end(g);
    }
    return ENV_OK;
}

static void s_emit_world(env_game_t *g)
{
    bool w = env_ev_begin(g, "world");
    if (!w) return;
    env_ev_kint(g, "seed", (long long)(json_int_t)g->cfg.seed);
    env_ev_key(g, "agents");
    env_ev_arr(g);
    for (int i = 0; i < g->n; i++) {
        env_ev_obj(g);
        env_ev_kagent(g, "id", i);
        env_ev_kstr(g, "type", env_type_name(g->agents[i].type));
        env_ev_key(g, "holds");
        env_ev_arr(g);
        for (size_t j = 0; j < g->agents[i].inv.n; j++)
            env_ev_piece(g, g->agents[i].inv.v[j].piece);
        env_ev_close(g);
        env_ev_close(g);
    }
    env_ev_close(g);
    env_ev_key(g, "pieces");
    env_ev_arr(g);
    for (int i = 0; i < g->p; i++) {
        env_ev_obj(g);
        env_ev_kpiece(g, "name", i);
        env_ev_kint(g, "value", g->piece_values[i]);
        env_ev_close(g);
    }
    env_ev_close(g);
    env_ev_end(g);
}

int env_world_generate(env_game_t *g)
{
    env_rng_t r;
    env_rng_seed(&r, g->cfg.seed, S_STREAM_WORLD);
    size_t nt = sizeof s_piece_templates / sizeof *s_piece_templates;
    int n_custom = g->cfg.n_info_templates;

    /* Pieces: a template per piece, filled with its 1-based number; a value. */
    for (int i = 0; i < g->p; i++) {
        if (n_custom > 0) {
            char num[16];
            snprintf(num, sizeof num, "%d", i + 1);
            const char *tpl = g->cfg.info_templates[env_rng_below(&r, (uint64_t)n_custom)];
            g->piece_names[i] = s_fill(&g->arena, tpl, "{n}", num);
        } else {
            const char *tpl = s_piece_templates[env_rng_below(&r, nt)];
            g->piece_names[i] = env_arena_printf(&g->arena, tpl, i + 1);
        }
        if (!g->piece_names[i]) return ENV_ENOMEM;
        g->piece_values[i] = s_draw_value(&r);
    }
    if (env_ev_quote_names(g)) return ENV_ENOMEM;

    /* Types: typed agents chosen at random, neutral the rest. */
    env_rng_t tr;
    env_rng_seed(&tr, g->cfg.seed, S_STREAM_TYPES);
    int *perm = malloc(sizeof(int) * (size_t)g->n);
    if (!perm) return ENV_ENOMEM;
    for (int i = 0; i < g->n; i++) perm[i] = i;
    env_rng_shuffle(&tr, perm, g->n);
    int at = 0;
    for (int t = ENV_TYPE_POLICY; t < ENV_TYPE_COUNT; t++)
        for (int c = 0; c < g->cfg.type_counts[t] && at < g->n; c++)
            g->agents[perm[at++]].type = (env_type_t)t;

    /* information.unique_distribution (tasks.py distribute_information): the
     * pieces shuffled and dealt round-robin, each exactly once. */
    if (g->cfg.unique_distribution) {
        int *deck = malloc(sizeof(int) * (size_t)g->p);
        if (!deck) goto fail;
        for (int i = 0; i < g->p; i++) deck[i] = i;
        env_rng_shuffle(&r, deck, g->p);
        for (int i = 0; i < g->p; i++)
            if (s_give(g, i % g->n, deck[i], g->piece_values[deck[i]])) {
                free(deck);
                goto fail;
            }
        free(deck);
        goto dealt;
    }
    /* Distribution: piece i to agent ((i-1) mod N)+1, then top-ups from a
     * shuffled pool holding every piece twice, never the same piece twice. */
    for (int i = 0; i < g->p; i++)
        if (s_give(g, i % g->n, i, g->piece_values[i])) goto fail;
    bool need = false;
    for (int a = 0; a < g->n; a++) need |= (int)g->agents[a].inv.n < g->cfg.pieces_per_agent;
    if (need) {
        size_t np = (size_t)g->p * 2;
        int *pool = malloc(sizeof(int) * np);
        if (!pool) goto fail;
        for (size_t i = 0; i < np; i++) pool[i] = (int)(i % (size_t)g->p);
        env_rng_shuffle(&r, pool, (int)np);
        for (int a = 0; a < g->n; a++) {
            env_agent_t *ag = &g->agents[a];
            for (size_t i = 0; i < np && (int)ag->inv.n < g->cfg.pieces_per_agent; i++) {
                if (pool[i] < 0 || env_bit_get(ag->held, pool[i])) continue;
                if (s_give(g, a, pool[i], g->piece_values[pool[i]])) {
                    free(pool);
                    goto fail;
                }
                pool[i] = -1; /* taken */
            }
        }
        free(pool);
    }
dealt:
    free(perm);
    s_emit_world(g);

    /* Tasks: every agent starts with its active tasks, from its own stream. */
    for (int a = 0; a < g->n; a++) {
        env_rng_seed(&g->agents[a].task_rng, g->cfg.seed, S_STREAM_TASKS + (uint64_t)a);
    }
    for (int a = 0; a < g->n; a++)
        for (int k = 0; k < g->cfg.active_per_agent; k++)
            if (env_task_new(g, a)) return ENV_ENOMEM;

    env_rng_seed(&g->order_rng, g->cfg.seed, S_STREAM_ORDER);
    return ENV_OK;
fail:
    free(perm);
    return ENV_ENOMEM;
}
