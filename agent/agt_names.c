/* agt_names.c: a game's names known before its Welcome (agt_names.h). */
#include "agt_names.h"

#include "wire.h"
#include "wire_names.h"

#include <errno.h>
#include <stdio.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct agt_names {
    char *const *list[2]; /* agent ids, piece names, in map */
    size_t n[2];
    void *map; /* private, read-only: what the child built, copied */
    size_t map_bytes;
    wire_arena_t *arena;
    Parley__Names pat[2]; /* their patterns, in arena */
};

/* What the child leaves at the start of the mapping. */
typedef struct {
    size_t n[2];
    char **list[2];
    size_t used; /* bytes of the mapping written, the header included */
    int ok;
} s_header_t;

/* Lays n names out at *at (pointers, then the strings), within end; returns
 * the list, or NULL when they do not fit. */
static char **s_lay_out(const char *const *src, size_t n, char **at, const char *end)
{
    char **out = (char **)*at;
    char *p = *at + (n ? n : 1) * sizeof(char *);
    if (p > end) return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(src[i]) + 1;
        if ((size_t)(end - p) < len) return NULL;
        memcpy(p, src[i], len);
        out[i] = p;
        p += len;
    }
    *at = p + (-(uintptr_t)p & (sizeof(char *) - 1)); /* the next list aligned */
    return out;
}

/* In a child: builds the world and leaves its names in the shared mapping. */
static _Noreturn void s_build(const env_config_t *game, char *map, size_t bytes)
{
    int err = 0;
    s_header_t *h = (s_header_t *)map;
    env_game_t *g = env_game_new(game, NULL, NULL, &err);
    if (!g) _exit(1);
    env_names_t nm;
    env_game_names(g, &nm);
    char *at = map + sizeof *h, *end = map + bytes;
    h->n[0] = (size_t)nm.n_agents;
    h->n[1] = (size_t)nm.n_pieces;
    h->list[0] = s_lay_out(nm.agent_ids, h->n[0], &at, end);
    h->list[1] = h->list[0] ? s_lay_out(nm.piece_names, h->n[1], &at, end) : NULL;
    h->used = (size_t)(at - map);
    h->ok = h->list[0] && h->list[1];
    _exit(h->ok ? 0 : 1);
}

agt_names_t *agt_names_new(const env_config_t *game)
{
    /* The world is built in a child, so that not one of its allocations
     * touches the heap every seat inherits (a seat's malloc spreading over a
     * world's freed blocks costs it more private pages in play than the names
     * save). Its names come back in a shared mapping, sized for the longest
     * names a configuration allows (untouched pages cost nothing), and are
     * copied into a private one: seats inherit that copy-on-write and
     * read-only, so no seat can write where another reads. */
    agt_names_t *n = calloc(1, sizeof *n);
    if (!n || game->n_agents < 0 || game->total_pieces < 0) goto fail;
    size_t items = (size_t)game->n_agents + (size_t)game->total_pieces;
    size_t shm_bytes = sizeof(s_header_t) + items * (sizeof(char *) + ENV_TEMPLATE_LEN + 32) + 64;
    char *shm = mmap(NULL, shm_bytes, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (shm == MAP_FAILED) goto fail;
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid == 0) s_build(game, shm, shm_bytes);
    int st = 0;
    while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR) continue;
    const s_header_t *h = (const s_header_t *)shm;
    if (pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && h->ok && h->used <= shm_bytes) {
        n->map = mmap(NULL, h->used, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (n->map == MAP_FAILED) {
            n->map = NULL;
        } else {
            n->map_bytes = h->used;
            memcpy(n->map, shm, h->used);
            ptrdiff_t delta = (char *)n->map - shm;
            for (int i = 0; i < 2; i++) {
                char **list = (char **)((char *)h->list[i] + delta);
                for (size_t k = 0; k < h->n[i]; k++) list[k] += delta;
                n->n[i] = h->n[i];
                n->list[i] = list;
            }
        }
    }
    munmap(shm, shm_bytes);
    if (!n->map || mprotect(n->map, n->map_bytes, PROT_READ) != 0) goto fail;
    n->arena = wire_arena_new();
    if (!n->arena ||
        wire_names_encode(n->arena, (const char *const *)n->list[0], n->n[0], &n->pat[0]) !=
            WIRE_OK ||
        wire_names_encode(n->arena, (const char *const *)n->list[1], n->n[1], &n->pat[1]) !=
            WIRE_OK)
        goto fail;
    return n;
fail:
    agt_names_destroy(&n);
    return NULL;
}

void agt_names_destroy(agt_names_t **pn)
{
    if (!pn || !*pn) return;
    agt_names_t *n = *pn;
    if (n->map) munmap(n->map, n->map_bytes);
    wire_arena_destroy(&n->arena);
    free(n);
    *pn = NULL;
}

static bool s_same(const Parley__Names *a, const Parley__Names *b)
{
    if (a->count != b->count || a->n_patterns != b->n_patterns || a->which.len != b->which.len)
        return false;
    for (size_t k = 0; k < a->n_patterns; k++)
        if (strcmp(a->patterns[k]->prefix, b->patterns[k]->prefix) != 0 ||
            strcmp(a->patterns[k]->suffix, b->patterns[k]->suffix) != 0)
            return false;
    return a->which.len == 0 || memcmp(a->which.data, b->which.data, a->which.len) == 0;
}

char *const *agt_names_match(const agt_names_t *n, const Parley__Names *m, bool pieces,
                             size_t *count)
{
    int i = pieces ? 1 : 0;
    if (!n || !m || !s_same(&n->pat[i], m)) return NULL;
    *count = n->n[i];
    return n->list[i];
}
