/* test_env_study.c: the study's own mechanics (docs/FIDELITY.md, "Rules" 1 to
 * 5 and 7), each switch in both positions. The paper preset must behave as
 * advtydv/ZeroCostCollaboration's code does. The options of its configs are in
 * test_env_options.c. */
#include "env_fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A direct message from `from` to agent `to`. */
static env_result_t s_msg(env_game_t *g, int from, int to, const char *text)
{
    return fx_do(
        g, from,
        (env_action_t){.kind = ENV_ACT_SEND_MESSAGE, .to = env_agent_id(g, to), .content = text});
}

/* A piece `agent` does not hold whose first holder is in [lo, hi]. */
static int s_missing_from(env_game_t *g, int agent, int lo, int hi, int *holder)
{
    for (int p = 0; p < env_game_n_pieces(g); p++) {
        if (env_agent_holds(g, agent, p)) continue;
        int h = fx_holder(g, p, agent);
        if (h >= lo && h <= hi) {
            *holder = h;
            return p;
        }
    }
    fail_msg("no such piece");
    return -1;
}

/* A piece `agent` does not hold, and its first holder. */
static int s_missing(env_game_t *g, int agent, int *holder)
{
    return s_missing_from(g, agent, 0, env_game_n_agents(g) - 1, holder);
}

/* The value `agent` holds `piece` at, as its observation shows; -1 if none. */
static int s_obs_value(env_game_t *g, int agent, int piece)
{
    env_obs_t o;
    assert_int_equal(env_observe(g, agent, ENV_TURN_NORMAL, &o), ENV_OK);
    for (size_t i = 0; i < o.n_inventory; i++)
        if (o.inventory[i].piece == piece) return o.inventory[i].value;
    return -1;
}

/* ---------------------------------------------- (1) instant fulfilment -- */

/* Paper preset: after a perfect asker's turn the engine fills each exact
 * "REQUEST: <name> for ..." to a perfect holder; nothing else is filled and no
 * reply turns are handed out. */
static void test_instant_fulfilment_only_exact_request_between_perfect_seats(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    assert_true(c.instant_perfect_only);
    env_game_t *g = fx_game(&c, NULL);
    for (int i = 0; i < 9; i++) env_set_reactive(g, i, true); /* agent_10 is not perfect */
    env_round_begin(g);
    char text[256];
    int holder = -1, p = s_missing_from(g, 0, 1, 8, &holder);

    /* Other wording: waits for the holder's own turn. */
    snprintf(text, sizeof text, "Could you send me %s?", env_piece_name(g, p));
    assert_int_equal(s_msg(g, 0, holder, text).code, ENV_OK);
    assert_false(env_agent_holds(g, 0, p));
    /* The name in another case: not the exact name. */
    snprintf(text, sizeof text, "REQUEST: %s for task_1", env_piece_name(g, p));
    for (char *s = text + 9; *s; s++)
        if (*s >= 'A' && *s <= 'Z') *s = (char)(*s - 'A' + 'a');
    assert_int_equal(s_msg(g, 0, holder, text).code, ENV_OK);
    assert_false(env_agent_holds(g, 0, p));
    int rep[10];
    assert_int_equal(env_take_replies(g, rep, 10), 0); /* never reply turns */

    /* The exact form: filled at once, at the holder's value, from the holder. */
    snprintf(text, sizeof text, "REQUEST: %s for task_1", env_piece_name(g, p));
    assert_int_equal(s_msg(g, 0, holder, text).code, ENV_OK);
    assert_true(env_agent_holds(g, 0, p));
    assert_int_equal(s_obs_value(g, 0, p), env_piece_value(g, p));
    /* The holder's request list now shows it answered: its turn sends nothing. */
    env_obs_t o;
    env_observe(g, holder, ENV_TURN_NORMAL, &o);
    bool answered = false;
    for (size_t i = 0; i < o.n_asks; i++)
        if (o.asks[i].from == 0 && o.asks[i].piece == p) answered = o.asks[i].answered;
    assert_true(answered);

    /* A non-perfect asker, or a non-perfect holder: no instant fill. */
    int h9 = -1, q = s_missing(g, 9, &h9);
    snprintf(text, sizeof text, "REQUEST: %s for task_1", env_piece_name(g, q));
    assert_int_equal(s_msg(g, 9, h9, text).code, ENV_OK);
    assert_false(env_agent_holds(g, 9, q));
    for (int x = 0; x < env_game_n_pieces(g); x++) {
        if (!env_agent_holds(g, 9, x) || env_agent_holds(g, 1, x)) continue;
        snprintf(text, sizeof text, "REQUEST: %s for task_2", env_piece_name(g, x));
        assert_int_equal(s_msg(g, 1, 9, text).code, ENV_OK);
        assert_false(env_agent_holds(g, 1, x));
        break;
    }
    env_game_destroy(&g);
}

/* The other position: any direct message to a reactive seat owes it a reply
 * turn (any seat, any wording), and the engine fills nothing itself. */
static void test_instant_fulfilment_off_gives_reply_turns_for_any_message(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    c.instant_perfect_only = false;
    env_game_t *g = fx_game(&c, NULL);
    for (int i = 0; i < 9; i++) env_set_reactive(g, i, true);
    env_round_begin(g);
    int holder = -1, p = s_missing(g, 9, &holder);
    char text[256];
    snprintf(text, sizeof text, "hey, got %s?", env_piece_name(g, p));
    assert_int_equal(s_msg(g, 9, holder, text).code, ENV_OK); /* a non-perfect asker */
    assert_false(env_agent_holds(g, 9, p));
    int rep[10];
    assert_int_equal(env_take_replies(g, rep, 10), 1);
    assert_int_equal(rep[0], holder);
    env_game_destroy(&g);
}

static double s_mixed_selfish_tasks(bool paper_switch, int seeds)
{
    double sum = 0;
    for (int seed = 1; seed <= seeds; seed++) {
        env_config_t c;
        env_config_paper(&c);
        c.seed = (uint64_t)seed;
        c.instant_perfect_only = paper_switch;
        env_game_t *g = fx_game(&c, NULL);
        env_policy_t pol[10];
        for (int i = 0; i < 10; i++) pol[i] = ENV_POLICY_PERFECT;
        pol[0] = ENV_POLICY_SELFISH; /* asks in the REQUEST form, as config_mixed's LLM
                                      * seat is told to; its own count needs only the
                                      * others to answer it */
        assert_int_equal(env_play(g, pol), ENV_OK);
        sum += env_agent_tasks_done(g, 0);
        env_game_destroy(&g);
    }
    return sum / seeds;
}

/* Issue 10's must-show: one non-perfect seat among nine perfect ones completes
 * about 18 tasks under the paper switch (the original: 17.9) and about 20 with
 * it off (parley before: 20.1). */
static void test_instant_fulfilment_mixed_seat_about_18_vs_20(void **state)
{
    (void)state;
    double on = s_mixed_selfish_tasks(true, 20), off = s_mixed_selfish_tasks(false, 20);
    print_message("non-perfect seat: %.2f tasks (paper switch) vs %.2f (off)\n", on, off);
    assert_true(on >= 16.5 && on <= 19.0);
    assert_true(off >= 19.5 && off <= 21.0);
    assert_true(off - on >= 1.5);
}

/* One turn of the perfect policy for `agent`, decided on its observation (with
 * the structured asks, or, `text`, from the messages as a client that cannot
 * rebuild them does) and applied. */
static void s_perfect_turn(env_game_t *g, int agent, bool text)
{
    env_names_t names;
    env_game_names(g, &names);
    env_obs_t o;
    assert_int_equal(env_observe(g, agent, ENV_TURN_NORMAL, &o), ENV_OK);
    if (text) o.has_asks = false;
    env_decision_t *d = env_decision_new();
    assert_non_null(d);
    assert_int_equal(env_policy_decide(ENV_POLICY_PERFECT, &names, &o, NULL, d), ENV_OK);
    size_t n = env_decision_count(d);
    env_result_t *r = calloc(n ? n : 1, sizeof *r);
    assert_non_null(r);
    assert_int_equal(env_apply(g, agent, ENV_TURN_NORMAL, env_decision_actions(d), n, NULL, r),
                     ENV_OK);
    free(r);
    env_decision_destroy(&d);
}

/* Three pieces the holder of the first holds and agent 9 lacks: asked for by a
 * non-perfect seat (9) in free words, in the REQUEST form with the wrong case,
 * and in the exact REQUEST form; then the holder's perfect turn. Returns which
 * of the three agent 9 then holds, as bits 1, 2, 4. */
static int s_request_forms(bool form_only, bool text)
{
    env_config_t c;
    env_config_paper(&c);
    c.request_form_only = form_only;
    env_game_t *g = fx_game(&c, NULL);
    env_round_begin(g);
    int holder = -1, p[3], k = 0;
    p[k++] = s_missing(g, 9, &holder);
    for (int q = 0; q < env_game_n_pieces(g) && k < 3; q++)
        if (q != p[0] && env_agent_holds(g, holder, q) && !env_agent_holds(g, 9, q)) p[k++] = q;
    assert_int_equal(k, 3);
    char text_msg[256], lower[128];
    snprintf(text_msg, sizeof text_msg, "Please send me %s, I need it", env_piece_name(g, p[0]));
    assert_int_equal(s_msg(g, 9, holder, text_msg).code, ENV_OK);
    snprintf(lower, sizeof lower, "%s", env_piece_name(g, p[1]));
    for (char *ch = lower; *ch; ch++)
        if (*ch >= 'A' && *ch <= 'Z') *ch = (char)(*ch - 'A' + 'a');
    snprintf(text_msg, sizeof text_msg, "REQUEST: %s for task_1", lower);
    assert_int_equal(s_msg(g, 9, holder, text_msg).code, ENV_OK);
    snprintf(text_msg, sizeof text_msg, "REQUEST: %s for task_1", env_piece_name(g, p[2]));
    assert_int_equal(s_msg(g, 9, holder, text_msg).code, ENV_OK);
    for (int i = 0; i < 3; i++) assert_false(env_agent_holds(g, 9, p[i]));
    s_perfect_turn(g, holder, text);
    int got = 0;
    for (int i = 0; i < 3; i++) got |= env_agent_holds(g, 9, p[i]) << i;
    env_game_destroy(&g);
    return got;
}

/* Paper preset (agent.py _take_perfect_turn): the perfect seat answers only the
 * exact "REQUEST: <name> for ..." form, whether it reads the structured asks or
 * the messages. */
static void test_perfect_answers_only_the_request_form(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    assert_true(c.request_form_only);
    assert_int_equal(s_request_forms(true, false), 4);
    assert_int_equal(s_request_forms(true, true), 4);
}

/* rules.answer_request_form_only off: any message naming a held piece, any
 * wording or case, is answered. */
static void test_perfect_answers_any_wording_when_off(void **state)
{
    (void)state;
    assert_int_equal(s_request_forms(false, false), 7);
    assert_int_equal(s_request_forms(false, true), 7);
}

/* Ten perfect seats on the auto-request arm: their own messages are dropped
 * and the system asks "I need <piece> ...". The study's perfect agent ignores
 * that wording, so under the paper switch nothing moves; with it off they
 * answer and pass perfect play's ceiling. */
static void test_perfect_seats_on_auto_request_arm(void **state)
{
    (void)state;
    for (int off = 0; off < 2; off++) {
        env_config_t c;
        env_config_paper(&c);
        c.seed = 3;
        c.automation = ENV_AUTO_REQUEST;
        c.request_form_only = !off;
        fx_log_t log = {0};
        env_game_t *g = fx_game(&c, &log);
        env_policy_t pol[10];
        for (int i = 0; i < 10; i++) pol[i] = ENV_POLICY_PERFECT;
        assert_int_equal(env_play(g, pol), ENV_OK);
        int ceiling = 0;
        assert_true(env_perfect_task_revenue(&c, &ceiling) > 0);
        assert_true(fx_count(&log, "message", "I need ") > 0);
        if (off) {
            assert_true(fx_count(&log, "transfer", "") > 0);
            assert_true(env_tasks_done(g) >= ceiling);
        } else {
            assert_int_equal(fx_count(&log, "transfer", ""), 0);
            assert_true(env_tasks_done(g) < ceiling / 4);
        }
        print_message("auto-request, perfect seats, switch %s: %d tasks (ceiling %d)\n",
                      off ? "off" : "paper", env_tasks_done(g), ceiling);
        env_game_destroy(&g);
        fx_log_free(&log);
    }
}

/* Perfect play on the paper preset: 195..210 tasks for seeds 1..20. */
static void test_perfect_play_paper_preset_195_to_210_for_seeds_1_to_20(void **state)
{
    (void)state;
    for (int seed = 1; seed <= 20; seed++) {
        env_config_t c;
        env_config_paper(&c);
        c.seed = (uint64_t)seed;
        int tasks = 0;
        int64_t rev = env_perfect_task_revenue(&c, &tasks);
        assert_true(tasks >= 195 && tasks <= 210);
        assert_int_equal(rev, (int64_t)tasks * 10000);
    }
}

/* ------------------------------------------------- (2) submission match -- */

static void s_lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z') *s = (char)(*s - 'A' + 'a');
}

static void test_submit_exact_names_case_sensitive_set_else_first_task(void **state)
{
    (void)state;
    for (int exact = 0; exact < 2; exact++) {
        env_config_t c;
        env_config_paper(&c);
        c.submit_exact_names = exact;
        env_game_t *g = fx_game(&c, NULL);
        env_round_begin(g);
        fx_supply_task(g, 0, 1); /* only the second task is ready */
        char second[32], answer[600];
        snprintf(second, sizeof second, "%s", env_agent_task_id(g, 0, 1));
        fx_answer(g, 0, 1, answer, sizeof answer);
        s_lower(answer + 20); /* the names in lower case */
        env_result_t r = fx_submit(g, 0, answer);
        if (exact) {
            /* Not the exact names: the first task is taken, which is not ready. */
            assert_int_equal(r.code, ENV_EMISSING_PIECES);
            assert_int_equal(env_agent_tasks_done(g, 0), 0);
        } else {
            assert_int_equal(r.code, ENV_OK);
            assert_int_equal(env_agent_tasks_done(g, 0), 1);
        }
        env_game_destroy(&g);
    }
    /* Exact names after the marker match the second task in either position;
     * text after the last name spoils the set under the paper rule. */
    for (int exact = 0; exact < 2; exact++) {
        env_config_t c;
        env_config_paper(&c);
        c.submit_exact_names = exact;
        env_game_t *g = fx_game(&c, NULL);
        env_round_begin(g);
        fx_supply_task(g, 0, 1);
        char answer[600];
        fx_answer(g, 0, 1, answer, sizeof answer);
        strcat(answer, ". Thanks");
        env_result_t r = fx_submit(g, 0, answer);
        assert_int_equal(r.code, exact ? ENV_EMISSING_PIECES : ENV_OK);
        fx_answer(g, 0, 1, answer, sizeof answer);
        if (!exact) fx_supply_task(g, 0, 1); /* the replacement task */
        r = fx_submit(g, 0, answer);
        if (exact) assert_int_equal(r.code, ENV_OK);
        env_game_destroy(&g);
    }
}

/* "each name of the task must appear in the answer": the fallback task is
 * ready but the answer does not name its pieces. */
static void test_submit_name_not_in_answer_refused(void **state)
{
    (void)state;
    fx_log_t log = {0};
    env_config_t c;
    env_config_paper(&c);
    env_game_t *g = fx_game(&c, &log);
    env_round_begin(g);
    fx_supply_task(g, 0, 0);
    env_result_t r = fx_submit(g, 0, "Combined result of: our best numbers");
    assert_int_equal(r.code, ENV_ENAME_NOT_IN_ANSWER);
    assert_int_equal(env_agent_tasks_done(g, 0), 0);
    assert_int_equal(fx_count(&log, "task_failed", "name_not_in_answer"), 1);
    /* Three of four names: still refused, naming the one left out. */
    int n;
    const int *p = env_agent_task_pieces(g, 0, 0, &n);
    char answer[600];
    int at = snprintf(answer, sizeof answer, "Combined result of: ");
    for (int i = 0; i < n - 1; i++)
        at += snprintf(answer + at, sizeof answer - (size_t)at, "%s%s", i ? ", " : "",
                       env_piece_name(g, p[i]));
    r = fx_submit(g, 0, answer);
    assert_int_equal(r.code, ENV_ENAME_NOT_IN_ANSWER);
    assert_non_null(strstr(r.reason, env_piece_name(g, p[n - 1])));
    env_game_destroy(&g);
    fx_log_free(&log);
}

/* ------------------------------------------------- (3) automated arms -- */

static void test_automated_transfer_as_held_value_with_bonus(void **state)
{
    (void)state;
    for (int as_agents = 0; as_agents < 2; as_agents++) {
        env_config_t c;
        env_config_paper(&c);
        c.automation = ENV_AUTO_FULFILL;
        c.sharing_bonus = 1000;
        c.automated_as_agents = as_agents;
        env_game_t *g = fx_game(&c, NULL);
        env_round_begin(g);
        /* agent_2 receives a piece at a wrong value from its holder ... */
        int holder = -1, p = -1;
        for (int x = 0; x < env_game_n_pieces(g) && p < 0; x++)
            if (!env_agent_holds(g, 1, x) && !env_agent_holds(g, 0, x)) p = x;
        holder = fx_holder(g, p, 1);
        int64_t wrong = env_piece_value(g, p) == 0 ? 1 : env_piece_value(g, p) - 1;
        assert_int_equal(fx_send(g, holder, 1, p, wrong).code, ENV_OK);
        int64_t before = env_agent_revenue(g, 1);
        /* ... and agent_1's message naming it makes the system send it on. */
        char text[256];
        snprintf(text, sizeof text, "I need %s please", env_piece_name(g, p));
        assert_int_equal(s_msg(g, 0, 1, text).code, ENV_OK);
        assert_true(env_agent_holds(g, 0, p));
        assert_int_equal(s_obs_value(g, 0, p), as_agents ? wrong : env_piece_value(g, p));
        assert_int_equal(env_agent_revenue(g, 1) - before, as_agents ? 1000 : 0);
        env_game_destroy(&g);
    }
}

/* An agent whose two tasks both miss the same piece: the original asks once. */
static void test_auto_request_once_per_missing_piece(void **state)
{
    (void)state;
    for (int once = 0; once < 2; once++) {
        bool found = false;
        for (uint64_t seed = 1; seed < 400 && !found; seed++) {
            env_config_t c;
            env_config_paper(&c);
            c.seed = seed;
            c.automation = ENV_AUTO_REQUEST;
            c.auto_request_once = once;
            fx_log_t log = {0};
            env_game_t *g = fx_game(&c, &log);
            for (int a = 0; a < 10 && !found; a++) {
                int n0, n1;
                const int *t0 = env_agent_task_pieces(g, a, 0, &n0);
                const int *t1 = env_agent_task_pieces(g, a, 1, &n1);
                for (int i = 0; i < n0 && !found; i++)
                    for (int j = 0; j < n1 && !found; j++) {
                        if (t0[i] != t1[j] || env_agent_holds(g, a, t0[i])) continue;
                        found = true;
                        env_round_begin(g);
                        env_round_end(g);
                        char needle[200];
                        snprintf(needle, sizeof needle, "\"content\":\"I need %s to",
                                 env_piece_name(g, t0[i]));
                        char from[40];
                        snprintf(from, sizeof from, "\"from\":\"%s\"", env_agent_id(g, a));
                        int asks = 0;
                        for (size_t k = 0; k < log.n; k++)
                            asks += strstr(log.lines[k], needle) && strstr(log.lines[k], from) &&
                                    strstr(log.lines[k], "\"type\":\"message\"");
                        assert_int_equal(asks, once ? 1 : 2);
                    }
            }
            env_game_destroy(&g);
            fx_log_free(&log);
        }
        assert_true(found);
    }
}

/* ------------------------------------------------------ (4) penalty rate -- */

static void test_penalty_is_a_rate_compounding(void **state)
{
    (void)state;
    const double rates[] = {0.3, 0.5, 0.0};
    const int64_t one[] = {7000, 5000, 10000}, two[] = {4900, 2500, 10000};
    for (int k = 0; k < 3; k++) {
        for (int wrongs = 1; wrongs <= 2; wrongs++) {
            env_config_t c;
            env_config_paper(&c);
            c.misreport_rate = rates[k];
            env_game_t *g = fx_game(&c, NULL);
            env_round_begin(g);
            int n;
            const int *tp = env_agent_task_pieces(g, 0, 0, &n);
            int pieces[64];
            memcpy(pieces, tp, sizeof(int) * (size_t)n);
            int wrong = 0;
            for (int i = 0; i < n; i++) {
                if (env_agent_holds(g, 0, pieces[i])) continue;
                int64_t v = env_piece_value(g, pieces[i]);
                if (wrong < wrongs) {
                    v = v == 0 ? 1 : v - 1;
                    wrong++;
                }
                assert_int_equal(fx_send(g, fx_holder(g, pieces[i], 0), 0, pieces[i], v).code,
                                 ENV_OK);
            }
            assert_int_equal(wrong, wrongs); /* seed 1: agent_1 lacks >= 2 pieces */
            char answer[600];
            fx_answer(g, 0, 0, answer, sizeof answer);
            env_result_t r = fx_submit(g, 0, answer);
            assert_int_equal(r.code, ENV_OK);
            assert_int_equal(r.payout, wrongs == 1 ? one[k] : two[k]);
            env_game_destroy(&g);
        }
    }
    env_config_t c;
    env_config_paper(&c);
    assert_true(c.misreport_rate == 0.5);
    c.misreport_rate = 1.5;
    char err[256];
    assert_int_equal(env_config_check(&c, err, sizeof err), ENV_ECONFIG);
    assert_non_null(strstr(err, "rate"));
}

/* ------------------------------------------------- (5) failed sends count -- */

static void test_failed_send_counts_as_sent(void **state)
{
    (void)state;
    for (int count = 0; count < 2; count++) {
        env_config_t c;
        env_config_paper(&c);
        c.count_failed_sends = count;
        env_game_t *g = fx_game(&c, NULL);
        env_round_begin(g);
        int holder = -1, p = -1;
        for (int x = 0; x < env_game_n_pieces(g) && p < 0; x++)
            if (!env_agent_holds(g, 0, x) && !env_agent_holds(g, 1, x)) p = x;
        holder = fx_holder(g, p, 0);
        /* agent_1 tries to send agent_2 a piece it lacks: refused ... */
        assert_int_equal(fx_send(g, 0, 1, p, env_piece_value(g, p)).code, ENV_ENOT_HELD);
        /* ... gets it, and tries again. */
        assert_int_equal(fx_send(g, holder, 0, p, env_piece_value(g, p)).code, ENV_OK);
        env_result_t r = fx_send(g, 0, 1, p, env_piece_value(g, p));
        assert_int_equal(r.code, count ? ENV_EALREADY_SENT : ENV_OK);
        assert_int_equal(env_agent_holds(g, 1, p), !count);
        env_game_destroy(&g);
    }
}

/* ------------------------------------------------------- (7) reply turns -- */

static void test_reply_turn_may_only_answer(void **state)
{
    (void)state;
    fx_log_t log = {0};
    env_config_t c;
    env_config_paper(&c);
    c.instant_perfect_only = false; /* the only position with reply turns */
    env_game_t *g = fx_game(&c, &log);
    env_set_reactive(g, 1, true);
    env_round_begin(g);
    /* A reply turn nobody owes: every action refused. */
    int p = -1;
    for (int x = 0; x < env_game_n_pieces(g) && p < 0; x++)
        if (env_agent_holds(g, 1, x) && !env_agent_holds(g, 0, x)) p = x;
    const char *name = env_piece_name(g, p);
    int64_t v = env_piece_value(g, p);
    env_result_t r = fx_do_kind(g, 1, ENV_TURN_REPLY, fx_send_action(g, 0, &name, &v));
    assert_int_equal(r.code, ENV_EREPLY_TURN);
    assert_false(env_agent_holds(g, 0, p));

    char text[256];
    snprintf(text, sizeof text, "please send %s", name);
    assert_int_equal(s_msg(g, 0, 1, text).code, ENV_OK);
    int rep[10];
    assert_int_equal(env_take_replies(g, rep, 10), 1);
    /* In the reply turn: a submission (even of a ready task), a message and a
     * broadcast are refused and recorded; the answer goes through. */
    fx_supply_task(g, 1, 0);
    assert_int_equal(env_take_replies(g, rep, 10), 0);
    char answer[600];
    fx_answer(g, 1, 0, answer, sizeof answer);
    env_action_t acts[4] = {
        {.kind = ENV_ACT_SUBMIT_TASK, .content = answer},
        {.kind = ENV_ACT_SEND_MESSAGE, .to = "agent_3", .content = "REQUEST: x for task_1"},
        {.kind = ENV_ACT_BROADCAST, .content = "hello"},
        fx_send_action(g, 0, &name, &v),
    };
    env_result_t res[4];
    /* the supply above was a normal turn of other seats: re-owe agent_2 */
    assert_int_equal(s_msg(g, 0, 1, text).code, ENV_OK);
    assert_int_equal(env_take_replies(g, rep, 10), 1);
    assert_int_equal(env_apply(g, 1, ENV_TURN_REPLY, acts, 4, NULL, res), ENV_OK);
    assert_int_equal(res[0].code, ENV_EREPLY_TURN);
    assert_int_equal(res[1].code, ENV_EREPLY_TURN);
    assert_int_equal(res[2].code, ENV_EREPLY_TURN);
    assert_int_equal(res[3].code, ENV_OK);
    assert_int_equal(env_agent_tasks_done(g, 1), 0);
    assert_true(env_agent_holds(g, 0, p));
    assert_int_equal(fx_count(&log, "action", "\"code\":\"reply_turn_answers_only\""), 4);
    assert_int_equal(fx_count(&log, "task_completed", NULL), 0);
    env_game_destroy(&g);
    fx_log_free(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instant_fulfilment_only_exact_request_between_perfect_seats),
        cmocka_unit_test(test_instant_fulfilment_off_gives_reply_turns_for_any_message),
        cmocka_unit_test(test_instant_fulfilment_mixed_seat_about_18_vs_20),
        cmocka_unit_test(test_perfect_play_paper_preset_195_to_210_for_seeds_1_to_20),
        cmocka_unit_test(test_perfect_answers_only_the_request_form),
        cmocka_unit_test(test_perfect_answers_any_wording_when_off),
        cmocka_unit_test(test_perfect_seats_on_auto_request_arm),
        cmocka_unit_test(test_submit_exact_names_case_sensitive_set_else_first_task),
        cmocka_unit_test(test_submit_name_not_in_answer_refused),
        cmocka_unit_test(test_automated_transfer_as_held_value_with_bonus),
        cmocka_unit_test(test_auto_request_once_per_missing_piece),
        cmocka_unit_test(test_penalty_is_a_rate_compounding),
        cmocka_unit_test(test_failed_send_counts_as_sent),
        cmocka_unit_test(test_reply_turn_may_only_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
