/* test_broker_view.c: the public view of an event (broker/brk_view.h).
 *
 * The view is a shallow copy of the event that the record still holds and
 * writes, then publishes whole on the experimenter's channels: building it
 * must never change the event. Each private key of the rules is left out and
 * named in `withheld`; what is public stays as it was. Checked on events of
 * every kind that carries something private, and on every line of the
 * golden log of a whole game; the view written from the event's text
 * (brk_view_text) is byte for byte the one built from its tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "brk_view.h"
#include "env_jsonw.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_by_text; /* views brk_view_text wrote */

static char *s_dump(const json_t *j)
{
    char *t = json_dumps(j, JSON_COMPACT);
    assert_non_null(t);
    return t;
}

/* The view of the event `in`, as text; asserts the event is unchanged. */
static char *s_view(const char *in)
{
    json_error_t jerr;
    json_t *ev = json_loads(in, 0, &jerr);
    assert_non_null(ev);
    char *before = s_dump(ev);
    json_t *view = brk_view_public(ev);
    assert_non_null(view);
    char *after = s_dump(ev), *text = s_dump(view);
    assert_string_equal(before, after);
    /* Where the broker takes the event's own text for the view's. */
    if (brk_view_is_whole(ev)) assert_string_equal(text, before);
    /* ... and where it writes the view from the event's text: the same bytes. */
    env_jsonw_t *w = env_jsonw_new();
    assert_non_null(w);
    int rc = brk_view_text(ev, before, strlen(before), w);
    assert_true(rc == 0 || rc == 1);
    if (rc == 0) {
        assert_string_equal(env_jsonw_data(w), text);
        s_by_text++;
    }
    env_jsonw_destroy(&w);
    /* The view can be changed further (the blind web stream does) without
     * reaching the event either. */
    json_object_del(view, "type");
    json_t *cfg = json_object_get(view, "config");
    if (cfg) {
        json_t *mine = json_copy(cfg);
        assert_int_equal(json_object_set_new(view, "config", mine), 0);
        json_object_clear(mine);
    }
    free(after);
    after = s_dump(ev);
    assert_string_equal(before, after);
    free(before);
    free(after);
    json_decref(view);
    json_decref(ev);
    return text;
}

static void s_expect(const char *in, const char *want)
{
    char *got = s_view(in);
    assert_string_equal(got, want);
    free(got);
}

static bool s_whole(const char *in)
{
    json_t *ev = json_loads(in, 0, NULL);
    assert_non_null(ev);
    bool whole = brk_view_is_whole(ev);
    json_decref(ev);
    return whole;
}

static void test_private_keys_withheld_event_untouched(void **state)
{
    (void)state;
    s_expect("{\"type\":\"message\",\"kind\":\"direct\",\"from\":\"agent_1\",\"to\":\"agent_2\","
             "\"content\":\"secret\",\"names_pieces\":[\"p\"]}",
             "{\"type\":\"message\",\"kind\":\"direct\",\"from\":\"agent_1\",\"to\":\"agent_2\","
             "\"withheld\":[\"content\",\"names_pieces\"]}");
    assert_true(s_whole("{\"type\":\"message\",\"kind\":\"broadcast\",\"content\":\"hi\"}"));
    assert_false(s_whole("{\"type\":\"message\",\"kind\":\"direct\",\"content\":\"hi\"}"));
    assert_false(s_whole("{\"type\":\"run_start\",\"config\":{\"seed\":1}}"));
    assert_true(s_whole("{\"type\":\"run_end\",\"board\":[{\"agent\":\"agent_1\"}]}"));
    assert_false(s_whole("{\"type\":\"run_end\",\"board\":[{\"type\":\"selfish\"}]}"));
    assert_false(s_whole("{\"type\":\"turn_offered\",\"agent\":\"agent_1\"}"));
    s_expect(
        "{\"type\":\"message\",\"kind\":\"broadcast\",\"from\":\"agent_1\",\"content\":\"hi\"}",
        "{\"type\":\"message\",\"kind\":\"broadcast\",\"from\":\"agent_1\",\"content\":\"hi\"}");
    s_expect(
        "{\"type\":\"run_start\",\"config\":{\"seed\":7,\"rounds\":20,\"seats\":[{\"policy\":"
        "\"perfect\"}]}}",
        "{\"type\":\"run_start\",\"config\":{\"rounds\":20,\"seats\":[{\"policy\":\"perfect\"}]},"
        "\"withheld\":[\"config.seed\"]}");
    s_expect("{\"type\":\"run_end\",\"board\":[{\"agent\":\"agent_1\",\"type\":\"selfish\","
             "\"revenue\":5},{\"agent\":\"agent_2\",\"revenue\":0}],\"tasks\":1}",
             "{\"type\":\"run_end\",\"board\":[{\"agent\":\"agent_1\",\"revenue\":5},{\"agent\":"
             "\"agent_2\",\"revenue\":0}],\"tasks\":1,\"withheld\":[\"board.type\"]}");
    s_expect("{\"type\":\"world\",\"seed\":3,\"agents\":[{\"id\":\"agent_1\",\"holds\":[\"A\"]}],"
             "\"pieces\":[{\"name\":\"A\",\"value\":10}]}",
             "{\"type\":\"world\",\"piece_names\":[\"A\"],\"agent_ids\":[\"agent_1\"],"
             "\"withheld\":[\"seed\",\"agents\",\"pieces\"]}");
    s_expect("{\"type\":\"decision\",\"agent\":\"agent_1\",\"input\":{\"round\":1},\"thoughts\":"
             "\"t\",\"calls\":[{\"prompt\":\"p\"}],\"rtt_us\":5}",
             "{\"type\":\"decision\",\"agent\":\"agent_1\",\"rtt_us\":5,\"withheld\":[\"input\","
             "\"thoughts\",\"calls\"]}");
    /* A type the rules do not know keeps its envelope only. */
    s_expect("{\"type\":\"new_kind\",\"source\":\"broker\",\"round\":2,\"seq\":9,\"t_ms\":1,"
             "\"agent\":\"agent_3\",\"what\":{\"x\":1}}",
             "{\"type\":\"new_kind\",\"source\":\"broker\",\"round\":2,\"seq\":9,\"t_ms\":1,"
             "\"agent\":\"agent_3\",\"withheld\":[\"what\"]}");
}

static void test_every_line_of_a_game(void **state)
{
    (void)state;
    char path[4096];
    const char *src = getenv("PARLEY_SRC");
    snprintf(path, sizeof path, "%s/tests/env/data/events-golden.jsonl", src ? src : ".");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    int n = 0, withheld = 0;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = '\0';
        char *view = s_view(line);
        /* Nothing the study keeps private is in the public text. */
        assert_null(strstr(view, "\"holds\":"));
        assert_null(strstr(view, "\"seed\":"));
        assert_null(strstr(view, "\"description\":"));
        withheld += strstr(view, "\"withheld\":") != NULL;
        free(view);
        n++;
    }
    free(line);
    fclose(f);
    assert_int_equal(n, 746); /* three games: every line was read */
    assert_true(s_by_text > 300);
    assert_true(withheld > 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_private_keys_withheld_event_untouched),
        cmocka_unit_test(test_every_line_of_a_game),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
