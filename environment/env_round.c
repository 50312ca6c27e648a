/* env_round.c: the round lifecycle of the game (GAME.md "Time"): the
 * round-start snapshot, the turn order, the auto-request arm at round end, and
 * the run_end record. Pure: no sockets, clocks or files. */
#include "env_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------------------- rounds -- */

static int s_snapshot(env_game_t *g)
{
    size_t total = 0;
    for (int a = 0; a < g->n; a++) total += g->agents[a].inv.n;
    if (env_vec_reserve((void **)&g->dir_buf, &g->dir_cap, total ? total : 1, sizeof(int)))
        return ENV_ENOMEM;
    size_t at = 0;
    for (int a = 0; a < g->n; a++) {
        env_agent_t *ag = &g->agents[a];
        g->dir_pieces[a] = g->dir_buf + at;
        /* Sorted by piece number: the bitset gives that order for free. */
        for (size_t w = 0; w < g->words; w++)
            for (uint64_t bits = ag->held[w]; bits; bits &= bits - 1)
                g->dir_buf[at++] = (int)(w * 64 + (size_t)__builtin_ctzll(bits));
        g->dir_count[a] = (uint32_t)(g->dir_buf + at - g->dir_pieces[a]);
        g->board_snap[a] = (env_board_row_t){a, env_agent_revenue(g, a), ag->tasks_done};
    }
    /* The board as shown: shuffled once per round, from the seed. */
    memcpy(g->obs_board, g->board_snap, sizeof *g->obs_board * (size_t)g->n);
    env_rng_t r;
    env_rng_seed(&r, g->cfg.seed, 0x80000000ULL + (uint64_t)g->round);
    for (int i = g->n - 1; i > 0; i--) {
        int j = (int)env_rng_below(&r, (uint64_t)i + 1);
        env_board_row_t t = g->obs_board[i];
        g->obs_board[i] = g->obs_board[j];
        g->obs_board[j] = t;
    }
    g->bc_snapshot = g->broadcasts.n;
    /* Inverted: holders of each piece, in agent id order. */
    if (env_vec_reserve((void **)&g->holder_buf, &g->holder_cap, total ? total : 1, sizeof(int)))
        return ENV_ENOMEM;
    memset(g->holder_count, 0, sizeof *g->holder_count * (size_t)g->p);
    for (size_t i = 0; i < total; i++) g->holder_count[g->dir_buf[i]]++;
    size_t off = 0;
    for (int p = 0; p < g->p; p++) {
        g->holders[p] = g->holder_buf + off;
        off += g->holder_count[p];
        g->holder_count[p] = 0;
    }
    for (int a = 0; a < g->n; a++)
        for (uint32_t k = 0; k < g->dir_count[a]; k++) {
            int p = g->dir_pieces[a][k];
            g->holders[p][g->holder_count[p]++] = a;
        }
    return ENV_OK;
}

int env_round_begin(env_game_t *g)
{
    if (g->over || g->round >= g->cfg.rounds) {
        g->over = true;
        return ENV_EGAME_OVER;
    }
    g->round++;
    g->in_round = true;
    g->round_tasks = g->round_messages = 0;
    for (int i = 0; i < g->n; i++) g->order[i] = i;
    env_rng_shuffle(&g->order_rng, g->order, g->n);
    if (s_snapshot(g)) return ENV_ENOMEM;
    bool w = env_ev_begin(g, "round_start");
    if (w) {
        env_ev_key(g, "order");
        env_ev_arr(g);
        for (int i = 0; i < g->n; i++) env_ev_agent(g, g->order[i]);
        env_ev_close(g);
        env_ev_end(g);
    }
    return ENV_OK;
}

const int *env_round_order(const env_game_t *g, int *n)
{
    *n = g->n;
    return g->order;
}

/* Auto-request arm: after all turns of a round, every missing piece of every
 * active task is asked for, from the agent, of the first other holder. The
 * original asks once per piece (a set over the tasks); rules.auto_request_once
 * off asks once per task that needs it. */
static int s_auto_request(env_game_t *g)
{
    char text[256];
    VEC(int) asked = {0};
    for (int a = 0; a < g->n; a++) {
        env_agent_t *ag = &g->agents[a];
        asked.n = 0;
        for (size_t s = 0; s < ag->active.n; s++) {
            const env_task_t *t = &g->tasks.v[ag->active.v[s]];
            for (int i = 0; i < t->n_pieces; i++) {
                int p = t->pieces[i];
                if (env_bit_get(ag->held, p)) continue;
                if (g->cfg.auto_request_once) {
                    bool dup = false;
                    for (size_t j = 0; j < asked.n && !dup; j++) dup = asked.v[j] == p;
                    if (dup) continue;
                    if (VEC_PUSH(asked, p)) goto nomem;
                }
                int holder = -1;
                for (int h = 0; h < g->n && holder < 0; h++)
                    if (h != a && env_bit_get(g->agents[h].held, p)) holder = h;
                if (holder < 0) continue;
                snprintf(text, sizeof text,
                         "I need %s to complete my task. Could you please share it?",
                         g->piece_names[p]);
                /* Passed as a reply-turn message: system requests owe no reply turn. */
                if (env_deliver(g, a, holder, text, true, true, ENV_TURN_REPLY, NULL)) goto nomem;
            }
        }
    }
    VEC_FREE(asked);
    return ENV_OK;
nomem:
    VEC_FREE(asked);
    return ENV_ENOMEM;
}

int env_round_end(env_game_t *g)
{
    if (!g->in_round) return ENV_EINVAL;
    if (g->cfg.automation == ENV_AUTO_REQUEST && s_auto_request(g)) return ENV_ENOMEM;
    g->in_round = false;
    bool w = env_ev_begin(g, "round_end");
    if (w) {
        env_ev_kint(g, "tasks", g->round_tasks);
        env_ev_kint(g, "messages", g->round_messages);
        env_ev_kint(g, "tasks_total", env_tasks_done(g));
        env_ev_kint(g, "task_revenue", (long long)env_task_revenue(g));
        env_ev_kint(g, "group_revenue", (long long)env_group_revenue(g));
        env_ev_end(g);
    }
    if (g->round >= g->cfg.rounds) g->over = true;
    return ENV_OK;
}

void env_game_finish(env_game_t *g)
{
    if (g->finished) return;
    g->finished = g->over = true;
    bool w = env_ev_begin(g, "run_end");
    if (!w) return;
    env_ev_key(g, "board");
    env_ev_arr(g);
    for (int a = 0; a < g->n; a++) {
        const env_agent_t *ag = &g->agents[a];
        env_ev_obj(g);
        env_ev_kagent(g, "agent", a);
        env_ev_kstr(g, "type", env_type_name(ag->type));
        env_ev_kint(g, "revenue", (long long)env_agent_revenue(g, a));
        env_ev_kint(g, "task_revenue", (long long)ag->task_revenue);
        env_ev_kint(g, "bonus_revenue", (long long)ag->bonus_revenue);
        env_ev_kint(g, "tasks", ag->tasks_done);
        env_ev_kint(g, "missed_turns", ag->missed);
        env_ev_close(g);
    }
    env_ev_close(g);
    env_ev_kint(g, "tasks", env_tasks_done(g));
    env_ev_kint(g, "task_revenue", (long long)env_task_revenue(g));
    env_ev_kint(g, "group_revenue", (long long)env_group_revenue(g));
    env_ev_end(g);
}
