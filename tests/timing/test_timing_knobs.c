/* test_timing_knobs.c: each per-seat timing knob (docs/TIMING.md) holds on
 * every timing mode, for a raw wire-protocol client (agent_1, timing_util.c)
 * and for parley-agent (agent_2), because the broker enforces it:
 *   - deadline: a decision slower than its seat's deadline is recorded late,
 *     its turn missed; a fast one is a decision; never both;
 *   - bank: a turn that runs past its deadline draws on the seat's bank and
 *     is not missed while the bank lasts; once spent, turns are missed;
 *   - latency: the broker holds each decision for its seat's injected
 *     latency (fixed, or a seeded distribution: the same draws for the same
 *     seed), and records it;
 *   - min_think: outside realtime a decision takes effect no sooner than
 *     min_think after its turn was offered; in realtime a seat's turns are
 *     offered at least min_think apart;
 *   - the deadline race: answers landing right at the deadline are each
 *     recorded one way only.
 * Numbers asserted are the rules' own bounds (a hold is never shorter than
 * asked), not how fast the machine is. */
#include "e2e.h"
#include "timing_util.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *const s_modes[] = {"sequential", "simultaneous", "realtime"};

static double s_num(const json_t *ev, const char *key)
{
    return json_number_value(json_object_get(ev, key));
}

/* ------------------------------------------------------------ deadline -- */

static void s_deadline(const char *mode)
{
    char dir[1100];
    /* agent_1 answers slowly, then quickly, by turns; agent_2's decisions
     * are held past its deadline by its latency, every turn. */
    const double delays[] = {1.4, 0.0};
    tu_game("deadline", mode, "deadline: 0.5", "deadline: 0.4, latency: 0.9", delays, 2, dir,
            sizeof dir);
    json_t *late1 = tu_events(dir, "decision_late", "agent_1");
    json_t *dec1 = tu_events(dir, "decision", "agent_1");
    json_t *miss1 = tu_events(dir, "missed_turn", "agent_1");
    assert_true(json_array_size(late1) >= 1);
    assert_true(json_array_size(dec1) >= 1);
    assert_true(json_array_size(miss1) >= json_array_size(late1));
    size_t i;
    json_t *ev;
    json_array_foreach(late1, i, ev) assert_string_equal(
        json_string_value(json_object_get(ev, "why")), "arrived after the deadline");
    json_array_foreach(miss1, i, ev)
        assert_string_equal(json_string_value(json_object_get(ev, "why")), "deadline passed");
    /* Offered with the seat's own deadline. */
    json_t *off = tu_events(dir, "turn_offered", "agent_1");
    assert_true(json_array_size(off) >= 2);
    json_array_foreach(off, i, ev) assert_true(s_num(ev, "deadline_s") == 0.5);
    json_decref(off);
    /* parley-agent: nothing of agent_2 ever takes effect. */
    json_t *dec2 = tu_events(dir, "decision", "agent_2");
    json_t *late2 = tu_events(dir, "decision_late", "agent_2");
    assert_int_equal(json_array_size(dec2), 0);
    assert_true(json_array_size(late2) >= 1);
    json_array_foreach(late2, i, ev) assert_string_equal(
        json_string_value(json_object_get(ev, "why")), "held past the deadline");
    tu_check_outcomes(dir, "agent_1");
    tu_check_outcomes(dir, "agent_2");
    json_decref(late1);
    json_decref(dec1);
    json_decref(miss1);
    json_decref(dec2);
    json_decref(late2);
}

/* ---------------------------------------------------------------- bank -- */

static void s_bank(const char *mode)
{
    char dir[1100];
    /* agent_1: deadline 0.5 s and 1.2 s of bank; its first answer comes at
     * 1.0 s (on the bank), its second at 2.6 s (past what is left). */
    const double delays[] = {1.0, 2.6, 0.0};
    tu_game("bank", mode, "deadline: 0.5, bank: 1.2", "deadline: 0.3, bank: 0.5, latency: 0.4",
            delays, 3, dir, sizeof dir);
    json_t *dec1 = tu_events(dir, "decision", "agent_1");
    assert_true(json_array_size(dec1) >= 1);
    json_t *first = json_array_get(dec1, 0);
    assert_true(s_num(first, "bank_used_s") > 0);
    assert_true(s_num(first, "bank_left_s") < 1.2);
    json_t *miss1 = tu_events(dir, "missed_turn", "agent_1");
    assert_true(json_array_size(miss1) >= 1);
    /* Once the bank is spent, the turn offers say so. */
    json_t *off = tu_events(dir, "turn_offered", "agent_1");
    assert_true(s_num(json_array_get(off, 0), "bank_s") == 1.2);
    assert_true(s_num(json_array_get(off, json_array_size(off) - 1), "bank_s") == 0);
    /* parley-agent: each held decision (0.4 s) runs 0.1 s into the bank;
     * the bank only goes down, and takes at most its 0.5 s. */
    json_t *dec2 = tu_events(dir, "decision", "agent_2");
    assert_true(json_array_size(dec2) >= 1);
    double prev = 0.5, used = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(dec2, i, ev)
    {
        assert_true(s_num(ev, "bank_used_s") > 0);
        assert_true(s_num(ev, "bank_left_s") <= prev);
        prev = s_num(ev, "bank_left_s");
        used += s_num(ev, "bank_used_s");
    }
    assert_true(used <= 0.5 + 1e-9);
    tu_check_outcomes(dir, "agent_1");
    tu_check_outcomes(dir, "agent_2");
    json_decref(dec1);
    json_decref(miss1);
    json_decref(off);
    json_decref(dec2);
}

/* ------------------------------------------------------------- latency -- */

/* The latency_s of each decision of agent in dir. */
static int s_latencies(const char *dir, const char *agent, double *out, int cap)
{
    json_t *dec = tu_events(dir, "decision", agent);
    int n = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(dec, i, ev) if (n < cap) out[n++] = s_num(ev, "latency_s");
    json_decref(dec);
    return n;
}

static void s_latency(const char *mode)
{
    char dir[1100], again[1100];
    const double delays[] = {0.0};
    const char *k1 = "latency: 0.1, latency_dist: exponential";
    tu_game("latency", mode, k1, "latency: 0.15", delays, 1, dir, sizeof dir);
    /* parley-agent: every decision held for exactly its seat's latency. */
    json_t *dec2 = tu_events(dir, "decision", "agent_2");
    assert_true(json_array_size(dec2) >= 2);
    size_t i;
    json_t *ev;
    json_array_foreach(dec2, i, ev)
    {
        assert_true(s_num(ev, "latency_s") == 0.15);
        assert_true(s_num(ev, "held_s") >= 0.15 - 0.002);
    }
    json_decref(dec2);
    /* The raw client: drawn from the distribution, so they differ ... */
    double a[64], b[64];
    int na = s_latencies(dir, "agent_1", a, 64);
    assert_true(na >= 2);
    bool differ = false;
    for (int k = 1; k < na; k++) differ |= a[k] != a[0];
    assert_true(differ);
    for (int k = 0; k < na; k++) assert_true(a[k] > 0);
    if (strcmp(mode, "sequential") != 0) return;
    /* ... and are the same draws in another run of the same seed. */
    tu_game("latency2", mode, k1, "latency: 0.15", delays, 1, again, sizeof again);
    int nb = s_latencies(again, "agent_1", b, 64);
    assert_int_equal(na, nb);
    for (int k = 0; k < na; k++) assert_true(a[k] == b[k]);
}

/* ----------------------------------------------------------- min_think -- */

static void s_think(const char *mode)
{
    char dir[1100];
    const double delays[] = {0.0};
    tu_game("think", mode, "min_think: 0.3", "min_think: 0.3", delays, 1, dir, sizeof dir);
    const char *seats[] = {"agent_1", "agent_2"};
    for (int s = 0; s < 2; s++) {
        json_t *dec = tu_events(dir, "decision", seats[s]);
        assert_true(json_array_size(dec) >= 2);
        size_t i;
        json_t *ev;
        if (strcmp(mode, "realtime") != 0) {
            /* Held until the turn is min_think old. */
            json_array_foreach(dec, i, ev)
            {
                double took = s_num(ev, "decided_s") + s_num(ev, "held_s");
                if (took < 0.3 - 0.002)
                    fail_msg("%s: turn %lld took effect after %.4f s", seats[s],
                             (long long)json_integer_value(json_object_get(ev, "turn_id")), took);
            }
        } else {
            /* Offers at least min_think apart: at most duration / min_think + 1. */
            assert_true(json_array_size(dec) <= (size_t)(3.0 / 0.3) + 1);
            json_t *off = tu_events(dir, "turn_offered", seats[s]);
            for (size_t k = 1; k < json_array_size(off); k++) {
                double t0 = s_num(json_array_get(off, k - 1), "t_ms");
                double t1 = s_num(json_array_get(off, k), "t_ms");
                if (t1 - t0 < 300 - 2)
                    fail_msg("%s: offers %.0f ms apart (%s)", seats[s], t1 - t0,
                             json_dumps(json_array_get(off, k), JSON_COMPACT));
            }
            json_decref(off);
        }
        json_decref(dec);
        tu_check_outcomes(dir, seats[s]);
    }
}

/* Realtime with no min_think given: the mode's floor (0.25 s) holds. */
static void test_realtime_default_floor(void **state)
{
    (void)state;
    char dir[1100];
    const double delays[] = {0.0};
    tu_game("floor", "realtime", "", "", delays, 1, dir, sizeof dir);
    json_t *dec = tu_events(dir, "decision", "agent_2");
    assert_true(json_array_size(dec) >= 2);
    assert_true(json_array_size(dec) <= (size_t)(3.0 / 0.25) + 1);
    json_decref(dec);
}

/* ------------------------------------------------------ deadline race -- */

/* Answers aimed at the deadline itself land on either side of it, by chance:
 * each is recorded one way (a decision, or late with its turn missed). */
static void s_race(const char *mode)
{
    char dir[1100];
    const double delays[] = {0.3, 0.299, 0.301, 0.3};
    tu_game("race", mode, "deadline: 0.3", "deadline: 0.3, latency: 0.3", delays, 4, dir,
            sizeof dir);
    tu_check_outcomes(dir, "agent_1");
    tu_check_outcomes(dir, "agent_2");
}

/* ------------------------------------------------- redecide deadline -- */

/* Realtime, agent_1 (the raw client, realtime_policy redecide, deadline 1 s
 * and a 2 s bank) answers every turn 1.2 s after it is offered; the other
 * seats' decisions are held 0.5 s, so their requests reach agent_1 about
 * 0.5 s into its first turn and supersede it (anywhere before its 1 s
 * deadline would do: the margin is half a second either way, for a loaded
 * machine). The replacement turn keeps the superseded turn's deadline: it is
 * offered with what was left of it, and the answer (about 1.7 s after the
 * first offer) draws on the bank, once: what the bank lost is what the
 * decision ran past the first offer's second (about 0.7 s). With the
 * deadline renewed it would have used 0.2 s. */
static void test_redecide_keeps_deadline(void **st)
{
    (void)st;
    const char *top = e2e_tmpdir("redecide-deadline");
    const char *cfg = e2e_write(top, "game.yaml",
                                "seed: 5\nsimulation: {agents: 4, rounds: 1}\n"
                                "information: {total_pieces: 8, pieces_per_agent: 2}\n"
                                "tasks: {pieces_per_task: 2}\n"
                                "timing: {mode: realtime, duration: 4, turn_timeout: 5, "
                                "heartbeat: 0.3}\n"
                                "seats:\n"
                                "  - {policy: perfect, count: 1, deadline: 1, bank: 2, "
                                "realtime_policy: redecide}\n"
                                "  - {policy: perfect, count: 2, latency: 0.5}\n"
                                "  - {policy: selfish, count: 1, latency: 0.5}\n");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/run", top);
    e2e_broker_t b;
    const char *extra[] = {"--start-timeout", "60", NULL};
    assert_int_equal(e2e_broker_start(&b, cfg, dir, NULL, extra), 0);
    pid_t pids[3];
    for (int i = 0; i < 3; i++) {
        char seat[16];
        snprintf(seat, sizeof seat, "agent_%d", i + 2);
        pids[i] = e2e_agent(b.router, dir, seat, i == 2 ? "selfish" : "perfect");
    }
    const double delays[] = {1.2};
    tu_raw_play(b.router, dir, "agent_1", delays, 1);
    assert_int_equal(e2e_wait(b.pid, 60000), 0);
    for (int i = 0; i < 3; i++) assert_int_equal(e2e_wait(pids[i], 20000), 0);

    json_t *off = tu_events(dir, "turn_offered", "agent_1");
    json_t *dec = tu_events(dir, "decision", "agent_1");
    assert_true(json_array_size(off) >= 2);
    /* The first turn and the chain of replacements that superseded it. */
    json_t *first = json_array_get(off, 0);
    json_int_t chain = json_integer_value(json_object_get(first, "turn_id"));
    double t0 = s_num(first, "t_ms") / 1000.0;
    assert_true(s_num(first, "deadline_s") == 1.0);
    size_t replaced = 0;
    for (size_t k = 1; k < json_array_size(off); k++) {
        json_t *r = json_array_get(off, k);
        if (json_integer_value(json_object_get(r, "replaces")) != chain) continue;
        replaced++;
        chain = json_integer_value(json_object_get(r, "turn_id"));
        double since = s_num(r, "t_ms") / 1000.0 - t0;
        /* What was left of the first turn's second, not a full one. */
        assert_true(s_num(r, "deadline_s") < 1.0);
        if (fabs(s_num(r, "deadline_s") + since - 1.0) > 0.01)
            fail_msg("replacement %lld offered %.3f s in with %.3f s left", (long long)chain, since,
                     s_num(r, "deadline_s"));
        assert_true(s_num(r, "bank_s") == 2.0); /* the bank is untouched until drawn */
    }
    assert_true(replaced >= 1);
    /* The chain's decision: taken on the bank, by what it ran past the first
     * turn's deadline, and the bank down by exactly that. */
    json_t *d = NULL;
    size_t i;
    json_t *ev;
    json_array_foreach(dec, i, ev) if (json_integer_value(json_object_get(ev, "turn_id")) == chain)
        d = ev;
    if (!d) fail_msg("no decision for turn %lld", (long long)chain);
    json_t *last = NULL;
    json_array_foreach(off, i, ev) if (json_integer_value(json_object_get(ev, "turn_id")) == chain)
        last = ev;
    double ran = s_num(last, "t_ms") / 1000.0 - t0 + s_num(d, "decided_s");
    assert_true(ran > 1.0);
    assert_true(s_num(d, "bank_used_s") > 0);
    if (fabs(s_num(d, "bank_used_s") - (ran - 1.0)) > 0.01)
        fail_msg("decision %.3f s after the first offer used %.3f s of bank", ran,
                 s_num(d, "bank_used_s"));
    assert_true(fabs(s_num(d, "bank_left_s") - (2.0 - s_num(d, "bank_used_s"))) < 1e-9);
    tu_check_outcomes(dir, "agent_1");
    json_decref(off);
    json_decref(dec);
}

#define S_MODES(name)                                                                              \
    static void test_##name##_sequential(void **st)                                                \
    {                                                                                              \
        (void)st;                                                                                  \
        s_##name(s_modes[0]);                                                                      \
    }                                                                                              \
    static void test_##name##_simultaneous(void **st)                                              \
    {                                                                                              \
        (void)st;                                                                                  \
        s_##name(s_modes[1]);                                                                      \
    }                                                                                              \
    static void test_##name##_realtime(void **st)                                                  \
    {                                                                                              \
        (void)st;                                                                                  \
        s_##name(s_modes[2]);                                                                      \
    }

S_MODES(deadline)
S_MODES(bank)
S_MODES(latency)
S_MODES(think)
S_MODES(race)

#define S_TESTS(name)                                                                              \
    cmocka_unit_test(test_##name##_sequential), cmocka_unit_test(test_##name##_simultaneous),      \
        cmocka_unit_test(test_##name##_realtime)

int main(void)
{
    const struct CMUnitTest tests[] = {
        S_TESTS(deadline),
        S_TESTS(bank),
        S_TESTS(latency),
        S_TESTS(think),
        S_TESTS(race),
        cmocka_unit_test(test_realtime_default_floor),
        cmocka_unit_test(test_redecide_keeps_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
