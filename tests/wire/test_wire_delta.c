/* test_wire_delta.c: proto/wire_delta.c. Over whole games (the paper preset,
 * and one with truncated history, whose windows slide), every observation an
 * agent rebuilds from deltas packs to the same bytes as the whole observation
 * the broker took, while the deltas of a 20-round paper game weigh under a
 * quarter of it; a delta the decoder cannot place (no base, a base skipped, an
 * edit outside the list, twice for a field, on a scalar field, replacements
 * outside the run, out of order or more than the delta carries, no
 * observation) is refused with the right code, leaves the decoder empty, and a
 * whole observation then works again. An encoder told which lists only grow
 * (wire_obs_hints) sends the same bytes as one that hashes everything.
 *
 * The seat's kept view (wire_view.h), patched from each delta, equals at every
 * turn of those games wire_obs_from_pb of the same whole observation, element
 * for element; it refuses a new element outside the game's tables, and a view
 * that missed observations is rebuilt, not patched. */
#include "wire_delta.h"
#include "wire_view.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The bytes of an Observation as protobuf packs it (caller frees). */
static uint8_t *s_pack_obs(const Parley__Observation *o, size_t *len)
{
    *len = parley__observation__get_packed_size(o);
    uint8_t *buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    assert_int_equal(parley__observation__pack(o, buf), *len);
    return buf;
}

/* The bytes of a TurnRequest (caller frees). */
static uint8_t *s_pack_tr(const Parley__TurnRequest *tr, size_t *len)
{
    *len = parley__turn_request__get_packed_size(tr);
    uint8_t *buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    assert_int_equal(parley__turn_request__pack(tr, buf), *len);
    return buf;
}

/* tr as the agent receives it: packed into an Envelope and unpacked by the
 * decoder that will apply it (or as any frame, dec NULL). */
static Parley__Envelope *s_over_the_wire(wire_delta_dec_t *dec, Parley__TurnRequest *tr,
                                         size_t *bytes)
{
    Parley__Envelope e = PARLEY__ENVELOPE__INIT;
    e.body_case = PARLEY__ENVELOPE__BODY_TURN_REQUEST;
    e.turn_request = tr;
    uint8_t *buf;
    size_t len;
    assert_int_equal(wire_pack(&e, WIRE_MAX_BROKER_MSG, &buf, &len), WIRE_OK);
    if (bytes) *bytes += len;
    Parley__Envelope *in = dec ? wire_delta_unpack(dec, buf, len, WIRE_MAX_BROKER_MSG, NULL)
                               : wire_unpack(buf, len, WIRE_MAX_BROKER_MSG, NULL);
    free(buf);
    assert_non_null(in);
    return in;
}

typedef struct {
    size_t whole_bytes, delta_bytes;
    int deltas, slid;     /* delta observations; edits that kept a run from inside the list */
    int patched, rebuilt; /* the seats' views */
} s_stats_t;

/* The view v of dec's observation equals a rebuild of it, element for element. */
static void s_view_equals_rebuild(wire_view_t *v, wire_delta_dec_t *dec, int n_agents, int n_pieces,
                                  int round, int agent)
{
    int err = 0;
    const env_obs_t *got = wire_view_update(v, dec, &err);
    assert_non_null(got);
    assert_int_equal(err, WIRE_OK);
    wire_obs_t *ref = wire_obs_from_pb(wire_delta_dec_obs(dec), n_agents, n_pieces, &err);
    assert_non_null(ref);
    char what[128];
    if (wire_view_diff(got, wire_obs_view(ref), n_agents, n_pieces, what, sizeof what) != 0)
        fail_msg("round %d agent %d: the patched view differs from a rebuild at %s", round, agent,
                 what);
    assert_int_equal(wire_view_check(v, dec, what, sizeof what), 0);
    wire_obs_destroy(&ref);
}

/* Plays a game with perfect and random seats (who broadcast, so every list
 * grows); at each turn the observation goes through encoder and decoder.
 * pieces: 0 for the preset's world, else that many, each seat holding a
 * tenth. */
static void s_play(bool truncate, int rounds, int pieces, s_stats_t *st)
{
    env_config_t c;
    env_config_paper(&c);
    c.seed = 9;
    c.rounds = rounds;
    c.truncate_history = truncate;
    if (pieces) {
        c.total_pieces = pieces;
        c.pieces_per_agent = pieces / c.n_agents;
    }
    int err = 0;
    env_game_t *g = env_game_new(&c, NULL, NULL, &err);
    assert_non_null(g);
    env_names_t names;
    env_game_names(g, &names);
    int n = env_game_n_agents(g);
    wire_delta_enc_t **enc = calloc((size_t)n, sizeof *enc);
    wire_delta_enc_t **hinted = calloc((size_t)n, sizeof *hinted);
    assert_non_null(hinted);
    wire_delta_dec_t **dec = calloc((size_t)n, sizeof *dec);
    wire_view_t **view = calloc((size_t)n, sizeof *view);
    assert_non_null(enc);
    assert_non_null(dec);
    assert_non_null(view);
    for (int i = 0; i < n; i++) {
        view[i] = wire_view_new(n, names.n_pieces);
        assert_non_null(view[i]);
        enc[i] = wire_delta_enc_new();
        hinted[i] = wire_delta_enc_new();
        assert_non_null(hinted[i]);
        dec[i] = wire_delta_dec_new();
        assert_non_null(enc[i]);
        assert_non_null(dec[i]);
    }
    env_decision_t *d = env_decision_new();
    uint64_t rng = 1;
    env_result_t res[256];
    for (int r = 0; r < c.rounds; r++) {
        assert_int_equal(env_round_begin(g), ENV_OK);
        int no = 0;
        const int *order = env_round_order(g, &no);
        for (int i = 0; i < no; i++) {
            int ag = order[i];
            env_obs_t o;
            assert_int_equal(env_observe(g, ag, ENV_TURN_NORMAL, &o), ENV_OK);
            wire_arena_t *a = wire_arena_new();
            Parley__Observation *full = wire_obs_to_pb(a, &o, n);
            assert_non_null(full);
            size_t want_len;
            uint8_t *want = s_pack_obs(full, &want_len);

            Parley__TurnRequest whole = PARLEY__TURN_REQUEST__INIT;
            whole.observation = full;
            Parley__Envelope *w = s_over_the_wire(NULL, &whole, &st->whole_bytes);
            wire_free(&w);

            Parley__TurnRequest tr = PARLEY__TURN_REQUEST__INIT;
            assert_int_equal(wire_delta_encode(enc[ag], a, full, true, &tr), WIRE_OK);
            st->deltas += tr.base_version != 0;
            for (size_t k = 0; k < tr.n_edits; k++) st->slid += tr.edits[k]->skip > 0;
            /* The broker's encoder, told which lists only grow, hashes only
             * their new elements: its TurnRequest must be the same bytes. */
            wire_obs_hint_t hints[WIRE_OBS_HINTS];
            wire_obs_hints(&o, hints);
            Parley__TurnRequest trh = PARLEY__TURN_REQUEST__INIT;
            assert_int_equal(
                wire_delta_encode_hinted(hinted[ag], a, full, true, hints, WIRE_OBS_HINTS, &trh),
                WIRE_OK);
            size_t plain_len = 0, hinted_len = 0;
            uint8_t *plain = s_pack_tr(&tr, &plain_len), *hintedb = s_pack_tr(&trh, &hinted_len);
            if (plain_len != hinted_len || memcmp(plain, hintedb, plain_len) != 0)
                fail_msg("round %d agent %d: the hinted encoder's turn differs", r + 1, ag);
            free(plain);
            free(hintedb);
            Parley__Envelope *in = s_over_the_wire(dec[ag], &tr, &st->delta_bytes);
            wire_arena_destroy(&a);
            const Parley__Observation *got = wire_delta_apply(dec[ag], in->turn_request, &err);
            assert_non_null(got);
            assert_int_equal(err, WIRE_OK);
            assert_int_equal(wire_delta_dec_version(dec[ag]), in->turn_request->obs_version);
            wire_delta_free(dec[ag], &in);
            size_t got_len;
            uint8_t *gotb = s_pack_obs(got, &got_len);
            if (got_len != want_len || memcmp(gotb, want, want_len) != 0)
                fail_msg("round %d agent %d: the rebuilt observation differs (%zu vs %zu bytes)",
                         r + 1, ag, got_len, want_len);
            free(gotb);
            free(want);
            /* The frame is gone: the view lives on the decoder's observation. */
            s_view_equals_rebuild(view[ag], dec[ag], n, names.n_pieces, r + 1, ag);
            /* As the seat does after deciding: a large world's view lets its
             * by-piece holders go, and the next update must make them again. */
            wire_view_trim(view[ag]);

            env_policy_t p = ag % 3 ? ENV_POLICY_PERFECT : ENV_POLICY_RANDOM;
            assert_int_equal(env_policy_decide(p, &names, &o, &rng, d), ENV_OK);
            env_decision_broadcast(d, "who holds what I need?");
            size_t k = env_decision_count(d);
            assert_true(k <= 256);
            int rc =
                env_apply(g, ag, ENV_TURN_NORMAL, env_decision_actions(d), k, "a thought", res);
            assert_true(rc == ENV_OK || rc == ENV_EGAME_OVER);
        }
        env_round_end(g);
    }
    env_decision_destroy(&d);
    for (int i = 0; i < n; i++) {
        wire_delta_enc_destroy(&enc[i]);
        wire_delta_enc_destroy(&hinted[i]);
        wire_delta_dec_destroy(&dec[i]);
        assert_null(enc[i]);
        int patched = 0, rebuilt = 0;
        wire_view_counts(view[i], &patched, &rebuilt);
        st->patched += patched;
        st->rebuilt += rebuilt;
        wire_view_destroy(&view[i]);
    }
    free(view);
    free(enc);
    free(hinted);
    free(dec);
    env_game_destroy(&g);
}

static void test_deltas_rebuild_every_turn(void **state)
{
    (void)state;
    s_stats_t st = {0};
    s_play(false, 20, 0, &st);
    print_message("  paper preset: whole %zu bytes, deltas %zu bytes (%d deltas, %d views patched, "
                  "%d rebuilt)\n",
                  st.whole_bytes, st.delta_bytes, st.deltas, st.patched, st.rebuilt);
    assert_true(st.deltas > 0);
    /* Every delta patched the seat's view; only each first turn rebuilt it. */
    assert_int_equal(st.patched, st.deltas);
    assert_int_equal(st.rebuilt, 10);
    /* Everything after a seat's first turn is a delta, and history dominates:
     * the deltas carry far less than the whole observations. */
    assert_true(st.delta_bytes * 4 < st.whole_bytes);
}

static void test_sliding_windows(void **state)
{
    (void)state;
    s_stats_t st = {0};
    s_play(true, 8, 0, &st);
    print_message("  truncated history: whole %zu bytes, deltas %zu bytes (%d slid)\n",
                  st.whole_bytes, st.delta_bytes, st.slid);
    assert_true(st.slid > 0);                /* a window that slid kept its run */
    assert_int_equal(st.patched, st.deltas); /* and the views followed it */
    assert_true(st.delta_bytes < st.whole_bytes);
}

/* A world of 3,000 pieces: the seats' views let the holders go after every
 * turn (wire_view_trim) and are still patched, equal to a rebuild each time. */
static void test_large_world_trimmed(void **state)
{
    (void)state;
    s_stats_t st = {0};
    s_play(false, 3, 3000, &st);
    assert_true(st.deltas > 0);
    assert_int_equal(st.patched, st.deltas);
    assert_int_equal(st.rebuilt, 10);
}

/* Three observations of one seat in one round, encoded in a row (1 whole, 2
 * and 3 deltas), each as the agent would receive it; pieces as in s_play. */
static void s_three_world(wire_delta_dec_t *dec, Parley__Envelope *out[3], int pieces)
{
    env_config_t c;
    env_config_paper(&c);
    c.seed = 4;
    if (pieces) {
        c.total_pieces = pieces;
        c.pieces_per_agent = pieces / c.n_agents;
    }
    int err = 0;
    env_game_t *g = env_game_new(&c, NULL, NULL, &err);
    assert_non_null(g);
    env_names_t names;
    env_game_names(g, &names);
    wire_delta_enc_t *enc = wire_delta_enc_new();
    assert_non_null(enc);
    env_decision_t *d = env_decision_new();
    env_result_t res[64];
    assert_int_equal(env_round_begin(g), ENV_OK);
    for (int k = 0; k < 3; k++) {
        env_obs_t o;
        assert_int_equal(env_observe(g, 0, ENV_TURN_NORMAL, &o), ENV_OK);
        wire_arena_t *a = wire_arena_new();
        Parley__Observation *full = wire_obs_to_pb(a, &o, env_game_n_agents(g));
        assert_non_null(full);
        Parley__TurnRequest tr = PARLEY__TURN_REQUEST__INIT;
        tr.turn_id = (uint64_t)k + 1;
        assert_int_equal(wire_delta_encode(enc, a, full, true, &tr), WIRE_OK);
        assert_int_equal(tr.base_version, k == 0 ? 0 : (uint64_t)k);
        out[k] = s_over_the_wire(dec, &tr, NULL);
        wire_arena_destroy(&a);
        /* Something to tell: agent_2 writes to agent_1, agent_1 thinks. */
        env_decision_clear(d);
        env_decision_message(d, names.agent_ids[0], "hello there");
        env_apply(g, 1, ENV_TURN_NORMAL, env_decision_actions(d), env_decision_count(d), "", res);
        env_decision_clear(d);
        env_apply(g, 0, ENV_TURN_NORMAL, NULL, 0, "thinking it over", res);
    }
    env_decision_destroy(&d);
    wire_delta_enc_destroy(&enc);
    env_game_destroy(&g);
}

static void s_three(wire_delta_dec_t *dec, Parley__Envelope *out[3])
{
    s_three_world(dec, out, 0);
}

static void s_free3(wire_delta_dec_t *dec, Parley__Envelope *e[3])
{
    for (int k = 0; k < 3; k++) wire_delta_free(dec, &e[k]);
}

/* Within a round the directory stands still, so a delta does not touch it:
 * a view that let its holders go (wire_view_trim) must make them again all
 * the same. */
static void test_trimmed_view_same_round(void **state)
{
    (void)state;
    wire_delta_dec_t *dec = wire_delta_dec_new();
    assert_non_null(dec);
    Parley__Envelope *e[3];
    s_three_world(dec, e, 3000);
    wire_view_t *v = wire_view_new(10, 3000);
    assert_non_null(v);
    for (int k = 0; k < 3; k++) {
        int err = 0;
        assert_non_null(wire_delta_apply(dec, e[k]->turn_request, &err));
        const env_obs_t *o = wire_view_update(v, dec, &err);
        assert_non_null(o);
        assert_non_null(o->holders);
        char what[128];
        if (wire_view_check(v, dec, what, sizeof what) != 0)
            fail_msg("observation %d: the trimmed view differs from a rebuild at %s", k + 1, what);
        wire_view_trim(v);
    }
    int patched = 0, rebuilt = 0;
    wire_view_counts(v, &patched, &rebuilt);
    assert_int_equal(rebuilt, 1);
    assert_int_equal(patched, 2);
    wire_view_destroy(&v);
    s_free3(dec, e);
    wire_delta_dec_destroy(&dec);
}

/* A decoder refused tr with code, holds nothing, and takes a whole one again. */
static void s_refused(wire_delta_dec_t *dec, Parley__TurnRequest *tr, int code,
                      Parley__Envelope *whole)
{
    int err = 0;
    assert_null(wire_delta_apply(dec, tr, &err));
    assert_int_equal(err, code);
    assert_int_equal(wire_delta_dec_version(dec), 0);
    assert_non_null(wire_delta_apply(dec, whole->turn_request, &err));
    assert_int_equal(err, WIRE_OK);
}

static void test_bad_deltas_are_refused(void **state)
{
    (void)state;
    wire_delta_dec_t *dec = wire_delta_dec_new();
    assert_non_null(dec);
    Parley__Envelope *e[3], *again[3];
    s_three(dec, e);
    s_three(dec, again); /* fresh copies: a decoder takes what it applies */

    /* A delta before any whole observation. */
    s_refused(dec, e[1]->turn_request, WIRE_EBASE, e[0]);
    /* Out of order: observation 3 builds on 2, which the decoder skipped. */
    s_refused(dec, e[2]->turn_request, WIRE_EBASE, again[0]);
    s_free3(dec, e);
    s_free3(dec, again);

    /* Edits that do not fit the base. */
    struct {
        uint32_t field, skip, keep;
        bool twice;
        size_t n_repl;
        uint32_t repl[2];
    } bad[] = {
        {11 /* messages */, 0, 1000, false, 0, {0}},
        {11 /* messages */, 1000, 0, false, 0, {0}},
        {8 /* tasks */, 0xffffffffu, 2, false, 0, {0}},
        {8 /* tasks */, 0, 0, true, 0, {0}},
        {3 /* round: not a list */, 0, 0, false, 0, {0}},
        {10 /* directory */, 0, 4, false, 1, {4}},     /* replaces outside the run */
        {10 /* directory */, 0, 10, false, 2, {3, 3}}, /* not ascending */
        {10 /* directory */, 0, 10, false, 2, {2, 5}}, /* more than the delta carries */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_three(dec, e);
        int err = 0;
        assert_non_null(wire_delta_apply(dec, e[0]->turn_request, &err));
        Parley__ListEdit ed = PARLEY__LIST_EDIT__INIT, *eds[2] = {&ed, &ed};
        ed.field = bad[i].field;
        ed.skip = bad[i].skip;
        ed.keep = bad[i].keep;
        ed.n_replace = bad[i].n_repl;
        ed.replace = bad[i].repl;
        Parley__TurnRequest tr = *e[1]->turn_request; /* its lists stay with e[1] */
        tr.n_edits = bad[i].twice ? 2 : 1;
        tr.edits = eds;
        s_three(dec, again);
        s_refused(dec, &tr, WIRE_EDELTA, again[0]);
        s_free3(dec, e);
        s_free3(dec, again);
    }

    /* No observation at all. */
    Parley__TurnRequest none = PARLEY__TURN_REQUEST__INIT;
    s_three(dec, e);
    s_refused(dec, &none, WIRE_EMALFORMED, e[0]);
    s_free3(dec, e);

    /* An edit of a field this client does not know is no error: it is skipped. */
    s_three(dec, e);
    int err = 0;
    assert_non_null(wire_delta_apply(dec, e[0]->turn_request, &err));
    Parley__ListEdit future = PARLEY__LIST_EDIT__INIT, *fe[1] = {&future};
    future.field = 999;
    future.keep = 3;
    Parley__TurnRequest tr = *e[1]->turn_request;
    tr.n_edits = 1;
    tr.edits = fe;
    assert_non_null(wire_delta_apply(dec, &tr, &err));
    assert_int_equal(err, WIRE_OK);
    s_free3(dec, e);
    wire_delta_dec_destroy(&dec);
    assert_null(dec);
}

/* The view refuses a new element outside the game's tables (and holds
 * nothing after), a view that missed observations is rebuilt rather than
 * patched, and the comparison sees a difference. */
static void test_view_refuses_and_rebuilds(void **state)
{
    (void)state;
    wire_delta_dec_t *dec = wire_delta_dec_new();
    wire_view_t *v = wire_view_new(10, 100);
    assert_non_null(dec);
    assert_non_null(v);
    assert_null(wire_view_new(0, 100));
    int err = 0;
    char what[128];
    assert_null(wire_view_update(v, dec, &err)); /* the decoder holds nothing */
    assert_int_equal(err, WIRE_EMALFORMED);

    /* A delta that fits its base but brings a message from agent 99. */
    Parley__Envelope *e[3];
    s_three(dec, e);
    assert_non_null(wire_delta_apply(dec, e[0]->turn_request, &err));
    assert_non_null(wire_view_update(v, dec, &err));
    Parley__Observation *o1 = e[1]->turn_request->observation;
    assert_true(o1->n_messages > 0);
    o1->messages[o1->n_messages - 1]->from = 99;
    assert_non_null(wire_delta_apply(dec, e[1]->turn_request, &err));
    assert_null(wire_view_update(v, dec, &err));
    assert_int_equal(err, WIRE_EBOUNDS);
    assert_int_equal(wire_view_check(v, dec, what, sizeof what), 1); /* it holds nothing */
    s_free3(dec, e);

    /* Observations 2 and 3 applied with no update between: 3 rebuilds the view. */
    wire_delta_dec_reset(dec);
    s_three(dec, e);
    int patched = 0, rebuilt = 0, rebuilt_before = 0;
    wire_view_counts(v, NULL, &rebuilt_before);
    assert_non_null(wire_delta_apply(dec, e[0]->turn_request, &err));
    assert_non_null(wire_view_update(v, dec, &err));
    assert_non_null(wire_delta_apply(dec, e[1]->turn_request, &err));
    assert_non_null(wire_delta_apply(dec, e[2]->turn_request, &err));
    const env_obs_t *got = wire_view_update(v, dec, &err);
    assert_non_null(got);
    wire_view_counts(v, &patched, &rebuilt);
    assert_int_equal(patched, 0);
    assert_int_equal(rebuilt, rebuilt_before + 2);
    assert_int_equal(wire_view_check(v, dec, what, sizeof what), 0);

    /* The comparison is not blind: a round, a message or a holder off. */
    assert_true(got->n_msgs > 0);
    env_obs_t off = *got;
    off.round++;
    assert_int_equal(wire_view_diff(got, &off, 10, 100, what, sizeof what), 1);
    assert_non_null(strstr(what, "scalars"));
    off = *got;
    off.n_msgs--;
    assert_int_equal(wire_view_diff(got, &off, 10, 100, what, sizeof what), 1);
    assert_non_null(strstr(what, "messages"));
    off = *got;
    const env_msg_t *msgs[64],
        m0 = {got->msgs[0]->from, got->msgs[0]->to, got->msgs[0]->round, "other words"};
    assert_true(got->n_msgs <= 64);
    for (size_t k = 0; k < got->n_msgs; k++) msgs[k] = got->msgs[k];
    msgs[0] = &m0;
    off.msgs = msgs;
    assert_int_equal(wire_view_diff(got, &off, 10, 100, what, sizeof what), 1);
    assert_string_equal(what, "messages[0]");
    uint32_t hc[100];
    memcpy(hc, got->holder_count, sizeof hc);
    hc[99]++;
    off = *got;
    off.holder_count = hc;
    assert_int_equal(wire_view_diff(got, &off, 10, 100, what, sizeof what), 1);
    assert_string_equal(what, "holders[99]");
    assert_int_equal(wire_view_diff(got, got, 10, 100, what, sizeof what), 0);
    s_free3(dec, e);
    wire_view_destroy(&v);
    assert_null(v);
    wire_delta_dec_destroy(&dec);
}

/* A seat whose encoder is reset (a new connection, a failed send, a Resync)
 * gets a whole observation next, numbered after the ones before. */
static void test_reset_sends_whole(void **state)
{
    (void)state;
    env_config_t c;
    env_config_paper(&c);
    int err = 0;
    env_game_t *g = env_game_new(&c, NULL, NULL, &err);
    assert_non_null(g);
    assert_int_equal(env_round_begin(g), ENV_OK);
    wire_delta_enc_t *enc = wire_delta_enc_new();
    assert_non_null(enc);
    uint64_t last = 0;
    for (int k = 0; k < 4; k++) {
        if (k == 2) wire_delta_enc_reset(enc);
        env_obs_t o;
        assert_int_equal(env_observe(g, 3, ENV_TURN_NORMAL, &o), ENV_OK);
        wire_arena_t *a = wire_arena_new();
        Parley__Observation *full = wire_obs_to_pb(a, &o, env_game_n_agents(g));
        Parley__TurnRequest tr = PARLEY__TURN_REQUEST__INIT;
        /* A FULL seat's request (delta false) is whole too. */
        assert_int_equal(wire_delta_encode(enc, a, full, k != 3, &tr), WIRE_OK);
        assert_true(tr.obs_version > last);
        last = tr.obs_version;
        bool whole = k == 0 || k == 2 || k == 3;
        assert_int_equal(tr.base_version == 0, whole);
        if (!whole) {
            /* Nothing changed: the delta has no lists and no edits at all. */
            assert_int_equal(tr.n_edits, 0);
            assert_int_equal(tr.observation->n_messages + tr.observation->n_tasks +
                                 tr.observation->n_directory + tr.observation->n_board,
                             0);
        }
        wire_arena_destroy(&a);
    }
    wire_delta_enc_destroy(&enc);
    env_game_destroy(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deltas_rebuild_every_turn),
        cmocka_unit_test(test_sliding_windows),
        cmocka_unit_test(test_large_world_trimmed),
        cmocka_unit_test(test_trimmed_view_same_round),
        cmocka_unit_test(test_bad_deltas_are_refused),
        cmocka_unit_test(test_view_refuses_and_rebuilds),
        cmocka_unit_test(test_reset_sends_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
