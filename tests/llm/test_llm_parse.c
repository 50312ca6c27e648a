/* test_llm_parse.c: the reply parser (agent/llm_parse.c). Models wrap their
 * JSON in reasoning blocks, fences and chatter; every shape a user would meet
 * must give the actions it holds, and no byte string may crash it. */
#include "env.h"
#include "llm_parse.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct {
    int n;
    char reasons[8][300];
} drops_t;

static void s_on_drop(void *arg, const char *raw, const char *reason)
{
    drops_t *d = arg;
    (void)raw;
    if (d->n < 8) snprintf(d->reasons[d->n], sizeof d->reasons[0], "%s", reason);
    d->n++;
}

static int s_parse(const char *text, env_decision_t *d, drops_t *drops, char *why)
{
    memset(drops, 0, sizeof *drops);
    return llm_parse_reply(text, strlen(text), d, s_on_drop, drops, why, 256);
}

static void test_plain_object(void **state)
{
    (void)state;
    env_decision_t *d = env_decision_new();
    drops_t dr;
    char why[256];
    int n = s_parse("{\"actions\": [{\"type\": \"send_message\", \"to\": \"agent_2\", "
                    "\"content\": \"REQUEST: Q1 sales data\"}, {\"type\": \"submit_task\", "
                    "\"answer\": \"Combined result of: a, b, c, d\"}], "
                    "\"private_thoughts\": \"plan\"}",
                    d, &dr, why);
    assert_int_equal(n, 2);
    assert_int_equal(env_decision_count(d), 2);
    const env_action_t *a = env_decision_actions(d);
    assert_int_equal(a[0].kind, ENV_ACT_SEND_MESSAGE);
    assert_string_equal(a[0].to, "agent_2");
    assert_int_equal(a[1].kind, ENV_ACT_SUBMIT_TASK);
    assert_string_equal(a[1].content, "Combined result of: a, b, c, d");
    assert_string_equal(env_decision_get_thoughts(d), "plan");
    assert_int_equal(dr.n, 0);
    env_decision_destroy(&d);
}

static void test_think_and_fences(void **state)
{
    (void)state;
    env_decision_t *d = env_decision_new();
    drops_t dr;
    char why[256];
    /* the think block holds a decoy JSON object that must be ignored */
    const char *text = "<think>Maybe {\"actions\": [{\"type\": \"broadcast\", \"content\": "
                       "\"decoy\"}]}?</think>\nHere is my answer:\n```json\n"
                       "{\"actions\": [{\"type\": \"broadcast\", \"content\": \"hello\"}]}\n```\n";
    assert_int_equal(s_parse(text, d, &dr, why), 1);
    assert_string_equal(env_decision_actions(d)[0].content, "hello");

    /* a closing tag without its opening one (servers that eat <think>) */
    assert_int_equal(s_parse("reasoning {\"actions\": [{\"type\": \"broadcast\", \"content\": "
                             "\"no\"}]} </think> {\"actions\": [{\"type\": \"broadcast\", "
                             "\"content\": \"yes\"}]}",
                             d, &dr, why),
                     1);
    assert_string_equal(env_decision_actions(d)[0].content, "yes");

    /* <thinking>, upper case */
    assert_int_equal(s_parse("<THINKING>x</THINKING>{\"actions\":[{\"type\":\"broadcast\","
                             "\"content\":\"c\"}]}",
                             d, &dr, why),
                     1);
    env_decision_destroy(&d);
}

static void test_single_object_and_bare_list(void **state)
{
    (void)state;
    env_decision_t *d = env_decision_new();
    drops_t dr;
    char why[256];
    assert_int_equal(
        s_parse("Sure! {\"type\": \"broadcast\", \"content\": \"hi all\"}", d, &dr, why), 1);
    assert_int_equal(env_decision_actions(d)[0].kind, ENV_ACT_BROADCAST);
    assert_int_equal(s_parse("[{\"type\": \"broadcast\", \"content\": \"a\"}, {\"type\": "
                             "\"send_message\", \"to\": \"agent_3\", \"content\": \"b\"}]",
                             d, &dr, why),
                     2);
    /* actions given as one object instead of a list */
    assert_int_equal(
        s_parse("{\"actions\": {\"type\": \"broadcast\", \"content\": \"x\"}}", d, &dr, why), 1);
    env_decision_destroy(&d);
}

static void test_nested_braces_in_strings(void **state)
{
    (void)state;
    env_decision_t *d = env_decision_new();
    drops_t dr;
    char why[256];
    const char *text = "{\"actions\": [{\"type\": \"broadcast\", \"content\": \"set {a: [1, "
                       "2]} and \\\"}\\\" done\"}], \"private_thoughts\": \"}}}{{{\"}";
    assert_int_equal(s_parse(text, d, &dr, why), 1);
    assert_string_equal(env_decision_actions(d)[0].content, "set {a: [1, 2]} and \"}\" done");
    assert_string_equal(env_decision_get_thoughts(d), "}}}{{{");
    env_decision_destroy(&d);
}

static void test_send_information(void **state)
{
    (void)state;
    env_decision_t *d = env_decision_new();
    drops_t dr;
    char why[256];
    const char *text = "{\"actions\": [{\"type\": \"send_information\", \"to\": \"agent_4\", "
                       "\"information\": [\"Q1 sales data\", \"Region 7 market data\"], "
                       "\"values\": {\"Q1 sales data\": 57, \"region 7 market data\": \"61\"}}]}";
    assert_int_equal(s_parse(text, d, &dr, why), 1);
    const env_action_t *a = env_decision_actions(d);
    assert_int_equal(a[0].kind, ENV_ACT_SEND_INFORMATION);
    assert_int_equal(a[0].n_info, 2);
    assert_int_equal(a[0].n_values, 2);
    assert_int_equal(a[0].values[0], 57);
    assert_int_equal(a[0].values[1], 61);
    /* a missing value is dropped, with the reason recorded */
    assert_int_equal(s_parse("{\"actions\": [{\"type\": \"send_information\", \"to\": \"agent_4\", "
                             "\"information\": [\"Q1 sales data\"], \"values\": {}}]}",
                             d, &dr, why),
                     0);
    assert_int_equal(dr.n, 1);
    assert_non_null(strstr(dr.reasons[0], "Q1 sales data"));
    assert_non_null(strstr(why, "invalid"));
    /* the strict-schema form (reply_format json_schema, tools): a list of
     * {piece, value}; and a bare list of numbers in the order of information */
    assert_int_equal(
        s_parse("{\"actions\": [{\"type\": \"send_information\", \"to\": \"agent_4\", "
                "\"information\": [\"Q1 sales data\", \"Q2 sales data\"], \"values\": "
                "[{\"piece\": \"Q2 sales data\", \"value\": 12}, {\"piece\": \"Q1 sales "
                "data\", \"value\": 57}]}, {\"type\": \"send_information\", \"to\": "
                "\"agent_5\", \"information\": [\"Q3 sales data\"], \"values\": [33]}]}",
                d, &dr, why),
        2);
    a = env_decision_actions(d);
    assert_int_equal(a[0].values[0], 57);
    assert_int_equal(a[0].values[1], 12);
    assert_int_equal(a[1].values[0], 33);
    /* a list that leaves a piece out is refused like a map that does */
    assert_int_equal(s_parse("{\"actions\": [{\"type\": \"send_information\", \"to\": \"agent_4\", "
                             "\"information\": [\"Q1 sales data\", \"Q2 sales data\"], \"values\": "
                             "[{\"piece\": \"Q2 sales data\", \"value\": 12}]}]}",
                             d, &dr, why),
                     0);
    assert_non_null(strstr(dr.reasons[0], "Q1 sales data"));
    env_decision_destroy(&d);
}

static void test_invalid_items_dropped(void **state)
{
    (void)state;
    env_decision_t *d = env_decision_new();
    drops_t dr;
    char why[256];
    const char *text = "{\"actions\": [{\"type\": \"fly\"}, 42, {\"type\": \"send_message\", "
                       "\"to\": \"agent_2\"}, {\"type\": \"broadcast\", \"content\": \"ok\"}]}";
    assert_int_equal(s_parse(text, d, &dr, why), 1);
    assert_int_equal(dr.n, 3);
    assert_non_null(strstr(dr.reasons[0], "unknown action type"));
    assert_non_null(strstr(dr.reasons[1], "object"));
    assert_non_null(strstr(dr.reasons[2], "content"));
    env_decision_destroy(&d);
}

static void test_garbage_is_empty_turn(void **state)
{
    (void)state;
    env_decision_t *d = env_decision_new();
    drops_t dr;
    char why[256];
    assert_int_equal(s_parse("I think I will wait this round.", d, &dr, why), 0);
    assert_string_equal(why, "no JSON object in the reply");
    assert_int_equal(s_parse("", d, &dr, why), 0);
    assert_string_equal(why, "empty reply");
    assert_int_equal(s_parse("{\"actions\": [], \"private_thoughts\": \"wait\"}", d, &dr, why), 0);
    assert_string_equal(why, "the model chose no actions");
    assert_string_equal(env_decision_get_thoughts(d), "wait");
    assert_int_equal(s_parse("{\"actions\": [{\"type\": \"broadcast\", \"content\": \"unterminated",
                             d, &dr, why),
                     0);
    assert_string_equal(why, "no JSON object in the reply");
    env_decision_destroy(&d);
}

static void test_fuzz_never_crashes(void **state)
{
    (void)state;
    env_decision_t *d = env_decision_new();
    drops_t dr;
    char why[256];
    static const char alphabet[] = "{}[]\":,\\ atype<>/think`json0123456789\n\xff\x00";
    uint64_t rng = 88172645463325252ull;
    char buf[600];
    for (int it = 0; it < 20000; it++) {
        size_t len = (size_t)(rng % sizeof buf);
        for (size_t i = 0; i < len; i++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            buf[i] = (rng & 1) ? (char)(rng >> 8) : alphabet[(rng >> 8) % (sizeof alphabet - 1)];
        }
        memset(&dr, 0, sizeof dr);
        int n = llm_parse_reply(buf, len, d, s_on_drop, &dr, why, sizeof why);
        assert_true(n >= 0);
        assert_int_equal((size_t)n, env_decision_count(d));
    }
    /* many braces must not take quadratic time or stack */
    size_t big = 1 << 20;
    char *b = malloc(big);
    memset(b, '{', big);
    assert_int_equal(llm_parse_reply(b, big, d, s_on_drop, &dr, why, sizeof why), 0);
    memset(b, '[', big);
    assert_int_equal(llm_parse_reply(b, big, d, s_on_drop, &dr, why, sizeof why), 0);
    free(b);
    env_decision_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_object),
        cmocka_unit_test(test_think_and_fences),
        cmocka_unit_test(test_single_object_and_bare_list),
        cmocka_unit_test(test_nested_braces_in_strings),
        cmocka_unit_test(test_send_information),
        cmocka_unit_test(test_invalid_items_dropped),
        cmocka_unit_test(test_garbage_is_empty_turn),
        cmocka_unit_test(test_fuzz_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
