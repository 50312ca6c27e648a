/* test_wire_delta_game.c: observation deltas end to end. The same 10-seat
 * sequential game (same seed, same seats) is played twice by real
 * parley-broker and parley-agent processes: once with every seat asking for
 * whole observations (--observation full, through PARLEY_OBSERVATION), once
 * with deltas, and in that game one agent is SIGKILLed mid-game and started
 * again (it says Hello, gets a whole observation, and goes on in deltas).
 * Then:
 *   - both games' records hold the same game events, in the same order
 *     (connection events and timing fields aside), and the same totals;
 *   - the full game's agents got only whole observations; the delta game's
 *     agents got deltas after their first turn, none had to ask for a resync,
 *     and their turn requests weighed less than the full game's;
 *   - in the delta game every agent checked, at every turn, its patched view
 *     of the observation against a rebuild from the whole one
 *     (PARLEY_CHECK_VIEW): they never differed, and the views were patched;
 *   - `parley replay` passes on both. */
#include "e2e.h"

#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static const char *const s_policies[] = {"perfect", "perfect", "perfect", "perfect", "perfect",
                                         "selfish", "helper",  "selfish", "helper",  "perfect"};

static const char *s_cfg(const char *dir)
{
    return e2e_write(dir, "game.yaml",
                     "seed: 23\nsimulation: {rounds: 6}\n"
                     "timing: {mode: sequential, turn_timeout: 60, heartbeat: 0.2}\n"
                     "seats:\n  - {policy: perfect, count: 5}\n  - {policy: selfish}\n"
                     "  - {policy: helper}\n  - {policy: selfish}\n  - {policy: helper}\n"
                     "  - {policy: perfect}\n");
}

/* Events about connections, left out when the two games are compared. */
static const char *const s_connection_events[] = {"seat_joined",  "seat_lost", "seat_left",
                                                  "turn_offered", "notice",    NULL};

typedef struct {
    int whole, deltas, resyncs;
    long long bytes;
    int patched, rebuilt, checked, differ; /* AGT-VIEW */
} s_obs_t;

/* Adds up the AGT-OBSERVATIONS lines of every agent log in dir. */
static void s_agent_logs(const char *dir, s_obs_t *sum, int *logs)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    *logs = 0;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "agent_", 6) != 0 || !strstr(de->d_name, ".log")) continue;
        char path[1400], line[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        while (fgets(line, sizeof line, f)) {
            const char *p = strstr(line, "AGT-OBSERVATIONS ");
            s_obs_t o;
            if (p && sscanf(p, "AGT-OBSERVATIONS %d whole, %d deltas, %d resyncs, %lld bytes",
                            &o.whole, &o.deltas, &o.resyncs, &o.bytes) == 4) {
                sum->whole += o.whole;
                sum->deltas += o.deltas;
                sum->resyncs += o.resyncs;
                sum->bytes += o.bytes;
                (*logs)++;
            }
            p = strstr(line, "AGT-VIEW ");
            if (p && sscanf(p, "AGT-VIEW %d patched, %d rebuilt, %d checked, %d differ", &o.patched,
                            &o.rebuilt, &o.checked, &o.differ) == 4) {
                sum->patched += o.patched;
                sum->rebuilt += o.rebuilt;
                sum->checked += o.checked;
                sum->differ += o.differ;
            }
            if (strstr(line, "AGT-VIEW-DIFFERS")) fail_msg("%s: %s", de->d_name, line);
        }
        fclose(f);
    }
    closedir(d);
}

/* Plays the game in dir with observation mode `mode`; kill_at > 0: SIGKILL
 * agent_4 once the record has that many lines, and start it again. */
static void s_play(const char *dir, const char *cfg, const char *mode, size_t kill_at)
{
    assert_int_equal(setenv("PARLEY_OBSERVATION", mode, 1), 0);
    assert_int_equal(setenv("PARLEY_CHECK_VIEW", strcmp(mode, "delta") == 0 ? "1" : "0", 1), 0);
    const char *extra[] = {"--no-http", "--no-pub", "--start-timeout", "60", NULL};
    e2e_broker_t b;
    assert_int_equal(e2e_broker_start(&b, cfg, dir, NULL, extra), 0);
    pid_t pids[10];
    assert_int_equal(e2e_agents(&b, 10, s_policies, 10, pids), 0);
    if (kill_at > 0) {
        for (int spins = 0; spins < 200000 && e2e_event_lines(dir) < kill_at; spins++) {
            if (waitpid(b.pid, NULL, WNOHANG) == b.pid) fail_msg("the broker ended early");
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
        kill(pids[3], SIGKILL);
        assert_int_equal(e2e_wait(pids[3], 5000), 128 + SIGKILL);
        pids[3] = e2e_agent(b.router, b.dir, "agent_4", s_policies[3]);
    }
    assert_int_equal(e2e_wait(b.pid, 120000), 0);
    for (int i = 0; i < 10; i++) assert_int_equal(e2e_wait(pids[i], 30000), 0);
    unsetenv("PARLEY_OBSERVATION");
    unsetenv("PARLEY_CHECK_VIEW");
    char out[4096];
    if (e2e_replay(dir, out, sizeof out) != 0) fail_msg("parley replay %s: %s", dir, out);
}

static void test_delta_game_equals_full_game(void **state)
{
    (void)state;
    const char *top = e2e_tmpdir("delta");
    const char *cfg = s_cfg(top);
    char full[1200], delta[1200];
    snprintf(full, sizeof full, "%s/full", top);
    snprintf(delta, sizeof delta, "%s/delta", top);
    s_play(full, cfg, "full", 0);
    size_t lines = e2e_event_lines(full);
    assert_true(lines > 100);
    s_play(delta, cfg, "delta", lines / 2); /* the kill lands mid-game */

    /* The restarted agent_4 joined mid-game, and decided after it did. */
    json_t *all = e2e_events(delta, NULL);
    assert_non_null(all);
    size_t i, joined_at = 0, decided_at = 0;
    json_t *ev;
    json_array_foreach(all, i, ev)
    {
        const char *type = json_string_value(json_object_get(ev, "type"));
        const char *agent = json_string_value(json_object_get(ev, "agent"));
        if (!type || !agent || strcmp(agent, "agent_4") != 0) continue;
        if (!strcmp(type, "seat_joined") && json_is_true(json_object_get(ev, "resumed")))
            joined_at = i;
        if (!strcmp(type, "decision")) decided_at = i;
    }
    json_decref(all);
    assert_true(joined_at > 0);
    assert_true(decided_at > joined_at);

    json_t *a = e2e_game_events(full, s_connection_events),
           *b = e2e_game_events(delta, s_connection_events);
    assert_true(json_array_size(a) > 100);
    if (!json_equal(a, b)) {
        size_t n =
            json_array_size(a) < json_array_size(b) ? json_array_size(a) : json_array_size(b);
        for (i = 0; i < n; i++) {
            if (json_equal(json_array_get(a, i), json_array_get(b, i))) continue;
            char *x = json_dumps(json_array_get(a, i), JSON_COMPACT | JSON_SORT_KEYS);
            char *y = json_dumps(json_array_get(b, i), JSON_COMPACT | JSON_SORT_KEYS);
            fail_msg("game event %zu differs\nfull:  %.1500s\ndelta: %.1500s", i, x, y);
        }
        fail_msg("the records differ in length: %zu vs %zu", json_array_size(a),
                 json_array_size(b));
    }
    json_decref(a);
    json_decref(b);

    json_t *sa = e2e_json(full, "summary.json"), *sb = e2e_json(delta, "summary.json");
    assert_non_null(sa);
    assert_non_null(sb);
    const char *keys[] = {"totals", "tasks", "group_revenue", "task_revenue", "board"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (!json_equal(json_object_get(sa, keys[k]), json_object_get(sb, keys[k])))
            fail_msg("summary %s differs between the full and the delta game", keys[k]);
    json_decref(sa);
    json_decref(sb);

    /* The agent_4 that was killed leaves no count; its successor does. */
    s_obs_t of = {0}, od = {0};
    int nf = 0, nd = 0;
    s_agent_logs(full, &of, &nf);
    s_agent_logs(delta, &od, &nd);
    print_message("  full: %d whole, %lld bytes; delta: %d whole, %d deltas, %lld bytes\n",
                  of.whole, of.bytes, od.whole, od.deltas, od.bytes);
    assert_int_equal(nf, 10);
    assert_int_equal(nd, 10);
    assert_int_equal(of.deltas, 0);
    assert_true(of.whole > 0);
    assert_int_equal(od.resyncs, 0);
    assert_int_equal(of.resyncs, 0);
    assert_true(od.deltas > od.whole);
    assert_true(od.bytes < of.bytes);
    /* Every observation of the delta game was checked; a delta patched the
     * view, a whole one (first turns, the restarted agent_4) rebuilt it. */
    print_message("  delta views: %d patched, %d rebuilt, %d checked\n", od.patched, od.rebuilt,
                  od.checked);
    assert_int_equal(od.differ, 0);
    assert_int_equal(od.checked, od.whole + od.deltas);
    assert_int_equal(od.patched, od.deltas);
    assert_int_equal(od.rebuilt, od.whole);
    assert_int_equal(of.checked, 0);
    assert_int_equal(of.patched, 0); /* whole observations only: always rebuilt */
    assert_int_equal(of.rebuilt, of.whole);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delta_game_equals_full_game),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
