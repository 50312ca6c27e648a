/* test_wire.c: proto/wire.c. Envelopes survive a round trip and refuse what
 * is not one; an observation rebuilt on the agent's side is the observation the
 * broker took (same JSON) and drives the scripted policies to the same
 * decision; rules and decisions convert both ways. */
#include "wire.h"
#include "wire_text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_envelope_round_trip(void **state)
{
    (void)state;
    Parley__Hello h = PARLEY__HELLO__INIT;
    h.seat = "agent_3";
    h.token = "secret";
    h.reactive = true;
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.seq = 7;
    e.body_case = PARLEY__ENVELOPE__BODY_HELLO;
    e.hello = &h;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_pack(&e, WIRE_MAX_AGENT_MSG, &buf, &len), WIRE_OK);
    int err = -1;
    Parley__Envelope *back = wire_unpack(buf, len, WIRE_MAX_AGENT_MSG, &err);
    assert_non_null(back);
    assert_int_equal(err, WIRE_OK);
    assert_int_equal(back->seq, 7);
    assert_int_equal(back->body_case, PARLEY__ENVELOPE__BODY_HELLO);
    assert_string_equal(back->hello->seat, "agent_3");
    assert_true(back->hello->reactive);
    assert_string_equal(wire_body_name(back->body_case), "hello");
    wire_free(&back);
    assert_null(back);

    /* Limits: on packing and on unpacking. */
    assert_int_equal(wire_pack(&e, len - 1, &buf, &len), WIRE_ETOO_LARGE);
    assert_null(wire_unpack(buf, len, len - 1, &err));
    assert_int_equal(err, WIRE_ETOO_LARGE);
    /* Truncated. */
    assert_null(wire_unpack(buf, len - 3, WIRE_MAX_AGENT_MSG, &err));
    assert_int_equal(err, WIRE_EMALFORMED);
    free(buf);
}

static void test_garbage_is_malformed(void **state)
{
    (void)state;
    int err = 0;
    assert_null(wire_unpack("", 0, 100, &err)); /* no body */
    assert_int_equal(err, WIRE_EMALFORMED);
    unsigned char junk[256];
    uint64_t x = 88172645463325252ULL;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof junk; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            junk[i] = (unsigned char)x;
        }
        /* Random bytes may happen to parse; they must never crash. */
        Parley__Envelope *e = wire_unpack(junk, sizeof junk, WIRE_MAX_AGENT_MSG, &err);
        wire_free(&e);
    }
    assert_string_equal(wire_code_name(PARLEY__ERROR__CODE__BAD_TOKEN), "bad_token");
    assert_string_equal(wire_code_name(999), "unknown");
}

/* A game a few turns in, so that every section of the observation has data. */
static env_game_t *s_game_in_play(void)
{
    env_config_t c;
    env_config_paper(&c);
    c.seed = 3;
    int err = 0;
    env_game_t *g = env_game_new(&c, NULL, NULL, &err);
    assert_non_null(g);
    env_names_t names;
    env_game_names(g, &names);
    env_decision_t *d = env_decision_new();
    uint64_t rng = 1;
    env_result_t res[256];
    for (int r = 0; r < 3; r++) {
        assert_int_equal(env_round_begin(g), ENV_OK);
        int n = 0;
        const int *order = env_round_order(g, &n);
        for (int i = 0; i < n; i++) {
            env_obs_t o;
            assert_int_equal(env_observe(g, order[i], ENV_TURN_NORMAL, &o), ENV_OK);
            env_policy_t p = order[i] % 2 ? ENV_POLICY_RANDOM : ENV_POLICY_PERFECT;
            assert_int_equal(env_policy_decide(p, &names, &o, &rng, d), ENV_OK);
            env_decision_broadcast(d, "anyone?");
            size_t k = env_decision_count(d);
            assert_true(k <= 256);
            env_apply(g, order[i], ENV_TURN_NORMAL, env_decision_actions(d), k, "thinking", res);
        }
        env_round_end(g);
    }
    assert_int_equal(env_round_begin(g), ENV_OK);
    env_decision_destroy(&d);
    return g;
}

static void test_observation_round_trip(void **state)
{
    (void)state;
    env_game_t *g = s_game_in_play();
    env_names_t names;
    env_game_names(g, &names);
    for (int agent = 0; agent < env_game_n_agents(g); agent++) {
        env_obs_t o;
        assert_int_equal(env_observe(g, agent, ENV_TURN_NORMAL, &o), ENV_OK);
        json_t *want = env_obs_to_json(g, &o);
        assert_non_null(want);

        /* Broker side: to protobuf, packed as a TurnRequest. */
        wire_arena_t *a = wire_arena_new();
        Parley__Observation *pb = wire_obs_to_pb(a, &o, names.n_agents);
        assert_non_null(pb);
        Parley__TurnRequest tr = PARLEY__TURN_REQUEST__INIT;
        tr.turn_id = 42;
        tr.observation = pb;
        Parley__Envelope e = PARLEY__ENVELOPE__INIT;
        e.body_case = PARLEY__ENVELOPE__BODY_TURN_REQUEST;
        e.turn_request = &tr;
        uint8_t *buf;
        size_t len;
        assert_int_equal(wire_pack(&e, WIRE_MAX_BROKER_MSG, &buf, &len), WIRE_OK);
        wire_arena_destroy(&a);

        /* Agent side: unpacked and rebuilt. */
        Parley__Envelope *in = wire_unpack(buf, len, WIRE_MAX_BROKER_MSG, NULL);
        free(buf);
        assert_non_null(in);
        int err = -1;
        wire_obs_t *w =
            wire_obs_from_pb(in->turn_request->observation, names.n_agents, names.n_pieces, &err);
        assert_non_null(w);
        assert_int_equal(err, WIRE_OK);
        const env_obs_t *back = wire_obs_view(w);
        json_t *got = env_obs_to_json(g, back);
        if (!json_equal(want, got)) {
            char *x = json_dumps(want, JSON_COMPACT), *y = json_dumps(got, JSON_COMPACT);
            fail_msg("agent %d: observation differs\nwant %.2000s\ngot  %.2000s", agent, x, y);
        }
        /* The by-piece directory is rebuilt too. */
        for (int p = 0; p < names.n_pieces; p++) {
            assert_int_equal(back->holder_count[p], o.holder_count[p]);
            for (uint32_t h = 0; h < o.holder_count[p]; h++)
                assert_int_equal(back->holders[p][h], o.holders[p][h]);
        }
        /* And the perfect policy decides the same on both. */
        env_decision_t *d1 = env_decision_new(), *d2 = env_decision_new();
        uint64_t r1 = 5, r2 = 5;
        assert_int_equal(env_policy_decide(ENV_POLICY_PERFECT, &names, &o, &r1, d1), ENV_OK);
        assert_int_equal(env_policy_decide(ENV_POLICY_PERFECT, &names, back, &r2, d2), ENV_OK);
        assert_int_equal(env_decision_count(d1), env_decision_count(d2));
        const env_action_t *a1 = env_decision_actions(d1), *a2 = env_decision_actions(d2);
        for (size_t i = 0; i < env_decision_count(d1); i++) {
            assert_int_equal(a1[i].kind, a2[i].kind);
            assert_string_equal(a1[i].content ? a1[i].content : "",
                                a2[i].content ? a2[i].content : "");
        }
        env_decision_destroy(&d1);
        env_decision_destroy(&d2);
        json_decref(want);
        json_decref(got);
        wire_obs_destroy(&w);
        wire_free(&in);
    }
    env_game_destroy(&g);
}

static void test_observation_bounds_are_checked(void **state)
{
    (void)state;
    Parley__Observation m = PARLEY__OBSERVATION__INIT;
    Parley__Holding h = PARLEY__HOLDING__INIT;
    Parley__Holding *hs[] = {&h};
    m.agent = 0;
    h.piece = 100; /* one past the table */
    m.n_inventory = 1;
    m.inventory = hs;
    int err = 0;
    assert_null(wire_obs_from_pb(&m, 10, 100, &err));
    assert_int_equal(err, WIRE_EBOUNDS);
    h.piece = 99;
    wire_obs_t *w = wire_obs_from_pb(&m, 10, 100, &err);
    assert_non_null(w);
    wire_obs_destroy(&w);
    m.agent = 10;
    assert_null(wire_obs_from_pb(&m, 10, 100, &err));
    assert_int_equal(err, WIRE_EBOUNDS);
}

static void test_rules_round_trip(void **state)
{
    (void)state;
    env_config_t c, back;
    env_config_paper(&c);
    c.rounds = 7;
    c.sharing_bonus = 1000;
    c.show_exchanges = false;
    c.automation = ENV_AUTO_FULFILL;
    c.pieces_per_agent = 12;
    Parley__GameRules r;
    wire_rules_from_config(&c, "infoshare", "realtime", 60, 5, 0.5, &r);
    assert_string_equal(r.timing, "realtime");
    assert_true(r.min_think_s == 0.5);
    wire_rules_to_config(&r, &back);
    assert_int_equal(back.rounds, 7);
    assert_int_equal(back.sharing_bonus, 1000);
    assert_false(back.show_exchanges);
    assert_int_equal(back.automation, ENV_AUTO_FULFILL);
    assert_int_equal(back.pieces_per_agent, 12);
    assert_int_equal(back.n_agents, c.n_agents);
}

static void test_decision_round_trip(void **state)
{
    (void)state;
    env_decision_t *d = env_decision_new();
    const char *names[] = {"Q1 sales data", "Region 2 market data"};
    const int64_t values[] = {61, 77};
    env_decision_message(d, "agent_2", "REQUEST: Q1 sales data");
    env_decision_send_many(d, "agent_4", 2, names, values);
    env_decision_submit(d, "Combined result of: a, b, c, d");
    env_decision_thoughts(d, "plan");
    wire_arena_t *a = wire_arena_new();
    Parley__Decision pb = PARLEY__DECISION__INIT;
    assert_int_equal(wire_decision_to_pb(a, d, &pb), WIRE_OK);
    pb.turn_id = 9;
    Parley__Action bogus = PARLEY__ACTION__INIT;
    bogus.kind = (Parley__Action__Kind)42; /* a kind from a newer client */
    Parley__Action **acts = wire_arena_alloc(a, 4 * sizeof *acts);
    memcpy(acts, pb.actions, 3 * sizeof *acts);
    acts[3] = &bogus;
    pb.actions = acts;
    pb.n_actions = 4;
    env_action_t *out = NULL;
    size_t n = 0;
    assert_int_equal(wire_actions_from_pb(a, &pb, &out, &n), WIRE_OK);
    assert_int_equal(n, 4);
    assert_int_equal(out[0].kind, ENV_ACT_SEND_MESSAGE);
    assert_string_equal(out[0].to, "agent_2");
    assert_int_equal(out[1].kind, ENV_ACT_SEND_INFORMATION);
    assert_int_equal(out[1].n_info, 2);
    assert_string_equal(out[1].info[1], "Region 2 market data");
    assert_string_equal(out[1].value_names[0], "Q1 sales data");
    assert_int_equal(out[1].values[1], 77);
    assert_int_equal(out[2].kind, ENV_ACT_SUBMIT_TASK);
    assert_int_equal(out[3].kind, ENV_ACT_COUNT);
    assert_string_equal(pb.private_thoughts, "plan");

    env_result_t r = {.code = ENV_ENOT_HELD, .reason = "you do not hold it"};
    Parley__ActionResult ar;
    wire_result_to_pb(&r, &ar);
    assert_false(ar.ok);
    assert_string_equal(ar.code, env_err_name(ENV_ENOT_HELD));
    wire_arena_destroy(&a);
    env_decision_destroy(&d);
}

/* UTF-8 as RFC 3629 has it: what is well-formed, what is not. */
static void test_utf8_rules(void **state)
{
    (void)state;
    const char *good[] = {"",
                          "plain",
                          "caf\xc3\xa9",
                          "\xe2\x82\xac",
                          "\xf0\x9f\x98\x80",
                          "\xed\x9f\xbf",
                          "\xf4\x8f\xbf\xbf"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(wire_utf8_valid(good[i], strlen(good[i])));
    const char *bad[] = {"\xff",
                         "\xc3",
                         "\xc0\xaf" /* overlong '/' */,
                         "\xe0\x80\xaf" /* overlong */,
                         "\xed\xa0\x80" /* surrogate */,
                         "\xf4\x90\x80\x80" /* > U+10FFFF */,
                         "\xf5\x80\x80\x80",
                         "a\x80"
                         "b" /* lone continuation */,
                         "\xe2\x82" /* cut */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(wire_utf8_valid(bad[i], strlen(bad[i])));
    assert_false(wire_utf8_valid("a\0b", 3)); /* NUL ends a C string: refused */
    /* Cutting keeps whole characters. */
    assert_int_equal(wire_utf8_cut("\xe2\x82\xac\xe2\x82\xac", 4), 3);
    assert_int_equal(wire_utf8_cut("abc", 10), 3);
    char buf[16] = "ab\xe2\x82";
    wire_utf8_trim(buf);
    assert_string_equal(buf, "ab");
    char mid[32] = "to 'a\xc3' here";
    wire_utf8_scrub(mid);
    assert_string_equal(mid, "to 'a' here");
    char whole[16] = "ab\xe2\x82\xac";
    wire_utf8_trim(whole);
    assert_string_equal(whole, "ab\xe2\x82\xac");
}

/* A frame with bad text deep inside is repaired field by field, the paths
 * named, everything else kept; a clean frame is untouched; garbage refused. */
static void test_frame_repair(void **state)
{
    (void)state;
    Parley__PieceValue pv = PARLEY__PIECE_VALUE__INIT;
    pv.piece = "Q1 \xff";
    pv.value = 42;
    Parley__PieceValue *pvs[] = {&pv};
    char *info[] = {"ok", "bad \xc3"};
    Parley__Action act = PARLEY__ACTION__INIT;
    act.kind = PARLEY__ACTION__KIND__SEND_INFORMATION;
    act.to = "agent_2";
    act.n_information = 2;
    act.information = info;
    act.n_values = 1;
    act.values = pvs;
    Parley__Action *acts[] = {&act};
    Parley__Decision d = PARLEY__DECISION__INIT;
    d.turn_id = 77;
    d.n_actions = 1;
    d.actions = acts;
    d.private_thoughts = "fine";
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.seq = 5;
    e.body_case = PARLEY__ENVELOPE__BODY_DECISION;
    e.decision = &d;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_pack(&e, WIRE_MAX_AGENT_MSG, &buf, &len), WIRE_OK);
    json_t *fixed = NULL;
    int err = -1;
    Parley__Envelope *back = wire_unpack_text(buf, len, WIRE_MAX_AGENT_MSG, &fixed, &err);
    assert_non_null(back);
    assert_int_equal(err, WIRE_OK);
    assert_non_null(fixed);
    assert_int_equal(json_array_size(fixed), 2);
    assert_string_equal(json_string_value(json_array_get(fixed, 0)),
                        "decision.actions[0].information[1]");
    assert_string_equal(json_string_value(json_array_get(fixed, 1)),
                        "decision.actions[0].values[0].piece");
    const Parley__Action *a = back->decision->actions[0];
    assert_int_equal(back->seq, 5);
    assert_int_equal(back->decision->turn_id, 77);
    assert_string_equal(a->information[0], "ok");
    assert_string_equal(a->information[1], "bad \xef\xbf\xbd");
    assert_string_equal(a->values[0]->piece, "Q1 \xef\xbf\xbd");
    assert_int_equal(a->values[0]->value, 42);
    assert_string_equal(back->decision->private_thoughts, "fine");
    wire_free(&back);
    json_decref(fixed);
    free(buf);

    /* Clean: no paths. Garbage: refused as malformed. */
    info[1] = "good";
    pv.piece = "Q1";
    assert_int_equal(wire_pack(&e, WIRE_MAX_AGENT_MSG, &buf, &len), WIRE_OK);
    back = wire_unpack_text(buf, len, WIRE_MAX_AGENT_MSG, &fixed, &err);
    assert_non_null(back);
    assert_null(fixed);
    wire_free(&back);
    back = wire_unpack_text(buf, len - 3, WIRE_MAX_AGENT_MSG, &fixed, &err);
    assert_null(back);
    assert_int_equal(err, WIRE_EMALFORMED);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_round_trip),
        cmocka_unit_test(test_garbage_is_malformed),
        cmocka_unit_test(test_observation_round_trip),
        cmocka_unit_test(test_observation_bounds_are_checked),
        cmocka_unit_test(test_rules_round_trip),
        cmocka_unit_test(test_decision_round_trip),
        cmocka_unit_test(test_utf8_rules),
        cmocka_unit_test(test_frame_repair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
