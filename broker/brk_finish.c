/* brk_finish.c: the end of a game (brk_internal.h): summary.json (or
 * summary.partial.json for a stopped game), then GameOver to every seat. */
#include "brk_internal.h"
#include "pl_log.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static json_t *s_summary(brk_server_t *s)
{
    /* The ceiling: perfect play of the same configuration and seed, over the
     * rounds actually played when the game was stopped early. */
    int ceiling_tasks = 0;
    env_config_t c = s->cfg->game;
    if (strcmp(s->reason, "finished") != 0 && env_round(s->game) < c.rounds)
        c.rounds = env_round(s->game) > 0 ? env_round(s->game) : 1;
    int64_t ceiling = env_perfect_task_revenue(&c, &ceiling_tasks);
    json_t *board = json_array();
    for (int i = 0; i < s->n_seats; i++) {
        const brk_seat_t *seat = &s->seats[i];
        const char *policy = seat->policy[0]                              ? seat->policy
                             : (s->cfg->seats && s->cfg->seats[i].policy) ? s->cfg->seats[i].policy
                                                                          : "";
        brk_append(s, board,
                   json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:i, s:i, s:b}", "agent",
                             env_agent_id(s->game, i), "type",
                             env_type_name(env_agent_type(s->game, i)), "policy", policy, "model",
                             seat->model, "revenue", (json_int_t)env_agent_revenue(s->game, i),
                             "task_revenue", (json_int_t)env_agent_task_revenue(s->game, i),
                             "tasks_done", env_agent_tasks_done(s->game, i), "turns", seat->turns,
                             "missed_turns", seat->missed, "human", seat->human));
    }
    int64_t task_rev = env_task_revenue(s->game);
    /* The ceiling is perfect play in sequential rounds: a % of it is defined for
     * sequential games only (docs/FIDELITY.md); other modes report null. */
    bool seq = s->cfg->timing == PL_TIMING_SEQUENTIAL;
    double pct = ceiling > 0 ? 100.0 * (double)task_rev / (double)ceiling : 0.0;
    bool done = strcmp(s->reason, "finished") == 0;
    /* A record that lost an event or a key, or a game ended by an error, is
     * not data: a sweep must not count it as a finished run. */
    const char *status = s->result < 0 || s->record_failures > 0 ? "failed"
                         : done                                  ? "ok"
                                                                 : "stopped";
    /* Top-level keys as the in-process executor writes them (analysis/ana_exec.c). */
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:b, s:i, s:i, s:O, s:o, s:i, s:I, "
        "s:I, s:{s:i, s:I, s:I, s:i, s:i}, s:{s:I, s:i, s:i}, s:o, s:i}",
        "status", status, "executor", "broker", "game_id", s->game_id, "scenario",
        s->cfg->scenario ? s->cfg->scenario : "", "seed", (json_int_t)s->cfg->game.seed, "timing",
        pl_timing_name(s->cfg->timing), "reason", s->reason, "complete", done, "rounds_total",
        s->cfg->game.rounds, "rounds_played", env_round(s->game), "rounds", s->per_round, "board",
        board, "tasks", env_tasks_done(s->game), "task_revenue", (json_int_t)task_rev,
        "group_revenue", (json_int_t)env_group_revenue(s->game), "totals", "tasks",
        env_tasks_done(s->game), "group_revenue", (json_int_t)env_group_revenue(s->game),
        "task_revenue", (json_int_t)task_rev, "messages", s->total_msgs, "missed_turns",
        s->total_missed, "ceiling", "task_revenue", (json_int_t)ceiling, "tasks", ceiling_tasks,
        "rounds", c.rounds, "pct_optimal", seq ? json_real(pct) : json_null(), "record_failures",
        s->record_failures);
}

void brk_finish(brk_server_t *s, const char *reason)
{
    if (s->phase == BRK_OVER) return;
    bool was_playing = s->phase == BRK_PLAYING;
    s->ended_ms = brk_mono_ms();
    s->phase = BRK_OVER;
    snprintf(s->reason, sizeof s->reason, "%s", reason);
    if (s->result == 0 && strcmp(reason, "finished") != 0) s->result = 1;
    if (was_playing) brk_sched_open_at_end(s);
    for (int i = 0; i < s->n_seats; i++) {
        evtimer_del(s->seats[i].think_ev);
        brk_close_turn(&s->seats[i]);
    }
    if (s->slice_ev) evtimer_del(s->slice_ev);
    if (s->start_ev) evtimer_del(s->start_ev);
    if (was_playing) brk_round_end(s);
    env_game_finish(s->game);
    brk_http_game_over(s->http);
    /* summary.json means "this run is done" (parley sweep resumes on it): a
     * stopped game leaves summary.partial.json beside a valid event log. */
    const char *name = strcmp(reason, "finished") == 0 ? "summary.json" : "summary.partial.json";
    json_t *summary = s_summary(s);
    json_t *humans = json_array(); /* which seats people played (their Hello said so) */
    for (int i = 0; humans && i < s->n_seats; i++)
        if (s->seats[i].human) brk_append(s, humans, json_string(env_agent_id(s->game, i)));
    if (summary && humans)
        brk_set(s, summary, "human_seats", humans);
    else
        json_decref(humans);
    if (s->opts.verify_only || s->replay_failed) {
        /* parley replay compares it with summary.json; a failed replay
         * writes nothing over the record it could not trust. */
        json_decref(s->summary_seen);
        s->summary_seen = summary;
        return;
    }
    brk_metrics_save(s); /* before the summary that says the run is done */
    if (!summary || brk_rundir_write_json(s->rundir, name, summary, 0644) != 0)
        PL_ERROR("BRK-SUMMARY", "%s not written", name);
    json_decref(summary);

    /* Every effect is on disk: now the agents hear the end. */
    size_t n = (size_t)s->n_seats;
    Parley__BoardRow *rows = calloc(n, sizeof *rows);
    Parley__BoardRow **ptrs = calloc(n, sizeof *ptrs);
    Parley__GameOver go = PARLEY__GAME_OVER__INIT;
    if (rows && ptrs) {
        for (size_t i = 0; i < n; i++) {
            parley__board_row__init(&rows[i]);
            rows[i].agent = (int32_t)i;
            rows[i].revenue = env_agent_revenue(s->game, (int)i);
            rows[i].tasks_done = env_agent_tasks_done(s->game, (int)i);
            ptrs[i] = &rows[i];
        }
        go.n_board = n;
        go.board = ptrs;
    }
    go.tasks_done = env_tasks_done(s->game);
    go.group_revenue = env_group_revenue(s->game);
    go.task_revenue = env_task_revenue(s->game);
    go.rounds_played = env_round(s->game);
    go.reason = s->reason;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_GAME_OVER;
    e.game_over = &go;
    for (int i = 0; i < s->n_seats; i++)
        if (s->seats[i].state == BRK_SEAT_ON || s->seats[i].state == BRK_SEAT_LOST)
            brk_send(s, &s->seats[i], &e);
    free(rows);
    free(ptrs);
    PL_INFO("BRK-GAME-OVER", "game %s %s: %d tasks, group revenue %lld", s->game_id, s->reason,
            env_tasks_done(s->game), (long long)env_group_revenue(s->game));
    brk_flush(s);
    /* After a resume, seats may still be on their way back: wait a little so
     * that their Hello hears the game is over (else they would look for a
     * broker that is gone). brk_finish_lingering ends the wait early. */
    struct timeval grace = brk_tv(4.0 * s->heartbeat + 1.0);
    s->lingering = s->resumed && brk_seats_away(s) > 0;
    event_base_loopexit(s->base, s->lingering ? &grace : NULL);
}

void brk_server_stop(brk_server_t *s, const char *reason)
{
    brk_finish(s, reason ? reason : "stopped");
}

int brk_seats_away(const brk_server_t *s)
{
    int away = 0;
    for (int i = 0; i < s->n_seats; i++) away += s->seats[i].state == BRK_SEAT_LOST;
    return away;
}
