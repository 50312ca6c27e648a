/* test_web_bad_input.c: bad input from a browser is refused clearly (a 4xx
 * with a sentence) and never disturbs the game: forged and missing tokens,
 * another seat's token, unknown seats and paths, wrong methods, malformed
 * JSON and form fields, a stale turn, an oversized body, and a flood of
 * requests (bounded, loopback only). The game then finishes normally. */
#include "e2e.h"
#include "web_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static const char *const s_config = "seed: 9\n"
                                    "simulation: {rounds: 2}\n"
                                    "timing: {human_turn_timeout: 60, heartbeat: 0.5}\n"
                                    "seats:\n"
                                    "  - {policy: human}\n"
                                    "  - {policy: perfect, count: 9}\n";

static int s_port;
static char s_token[64], s_other[64];

/* The request's status, with its body checked to hold `says` (a sentence). */
static void s_expect(const char *method, const char *path, const char *body, size_t len, int status,
                     const char *says)
{
    web_reply_t r = web_request(s_port, method, path, body, body ? len : 0);
    if (r.status != status || (says && !strstr(r.body, says)))
        fprintf(stderr, "%s %.80s -> %d %s\n", method, path, r.status, r.body);
    assert_int_equal(r.status, status);
    if (says) assert_non_null(strstr(r.body, says));
    web_reply_free(&r);
}

static void s_post(json_int_t turn, const char *actions, int status, const char *says)
{
    char body[2048], path[256];
    int n = snprintf(body, sizeof body, "{\"turn_id\": %lld, \"actions\": %s}", (long long)turn,
                     actions);
    snprintf(path, sizeof path, "/seat/agent_1/decision?token=%s", s_token);
    s_expect("POST", path, body, (size_t)n, status, says);
}

/* The open turn of the browser seat (retrying through 429s), or 0. */
static json_int_t s_turn(pid_t broker, int tries)
{
    char path[256];
    snprintf(path, sizeof path, "/seat/agent_1/state?token=%s", s_token);
    for (int i = 0; i < tries; i++) {
        if (e2e_wait(broker, 0) >= 0) return -1;
        json_t *st = web_get_json(s_port, path);
        json_int_t turn = json_integer_value(json_object_get(st, "turn_id"));
        json_decref(st);
        if (turn > 0) return turn;
        usleep(20000);
    }
    return 0;
}

static void test_web_bad_input(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("web-bad");
    const char *config = e2e_write(dir, "game.yaml", s_config);
    s_port = e2e_free_port();
    char listen[64], path[512];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", s_port);
    const char *extra[] = {"--http", listen, "--web-seats", "--start-timeout", "30", NULL};
    e2e_broker_t b;
    assert_int_equal(e2e_broker_start(&b, config, dir, NULL, extra), 0);
    web_child(b.pid);
    snprintf(s_token, sizeof s_token, "%s", e2e_token(dir, "agent_1"));
    snprintf(s_other, sizeof s_other, "%s", e2e_token(dir, "agent_2"));

    /* Tokens: forged, missing, another seat's; a seat that is not a browser seat. */
    s_expect("GET", "/seat/agent_1?token=0123456789abcdef0123456789abcdef", NULL, 0, 403,
             "wrong token for agent_1");
    s_expect("GET", "/seat/agent_1", NULL, 0, 403, "missing token for agent_1");
    snprintf(path, sizeof path, "/seat/agent_1/state?token=%s", s_other);
    s_expect("GET", path, NULL, 0, 403, "wrong token for agent_1");
    snprintf(path, sizeof path, "/seat/agent_2?token=%s", s_other);
    s_expect("GET", path, NULL, 0, 409, "not a browser seat");
    snprintf(path, sizeof path, "/seat/agent_1?token=%.31s", s_token); /* a prefix */
    s_expect("GET", path, NULL, 0, 403, "wrong token");
    s_expect("GET", "/seat/agent_99?token=x", NULL, 0, 404, "no seat named 'agent_99'");
    s_expect("GET", "/seat/../../etc/passwd", NULL, 0, 404, NULL);
    s_expect("GET", "/nowhere", NULL, 0, 404, "nothing here");
    s_expect("POST", "/metrics", "x", 1, 405, "GET only");
    snprintf(path, sizeof path, "/seat/agent_1/decision?token=%s", s_token);
    s_expect("GET", path, NULL, 0, 405, "POST only");

    pid_t pids[9]; /* agent_2..agent_10; agent_1 is the browser's */
    for (int i = 0; i < 9; i++) {
        char seat[16];
        snprintf(seat, sizeof seat, "agent_%d", i + 2);
        pids[i] = web_child(e2e_agent(b.router, dir, seat, "perfect"));
        assert_true(pids[i] > 0);
    }

    json_int_t turn = s_turn(b.pid, 1500);
    assert_true(turn > 0);

    /* Malformed bodies and fields: each refused with what is wrong. */
    s_expect("POST", path, "{not json", 9, 400, "must be a JSON object");
    s_expect("POST", path, "[1, 2]", 6, 400, "must be a JSON object");
    s_expect("POST", path, "{\"turn_id\": \"x\", \"actions\": []}", 32, 400, "\\\"turn_id\\\"");
    s_post(turn, "{}", 400, "a list of at most");
    s_post(turn, "[{\"type\": \"steal\"}]", 400, "unknown type 'steal'");
    s_post(turn, "[42]", 400, "an object with a");
    s_post(turn, "[{\"type\": \"send_message\", \"to\": \"agent_77\", \"content\": \"hi\"}]", 400,
           "must name an agent");
    s_post(turn, "[{\"type\": \"send_message\", \"to\": \"agent_1\", \"content\": \"hi\"}]", 400,
           "cannot send to yourself");
    s_post(turn, "[{\"type\": \"send_message\", \"to\": \"agent_2\", \"content\": \"\"}]", 400,
           "\\\"content\\\" must be text");
    s_post(turn, "[{\"type\": \"broadcast\", \"content\": 7}]", 400,
           "\\\"content\\\" must be text");
    s_post(turn,
           "[{\"type\": \"send_information\", \"to\": \"agent_2\", \"information\": [\"nope\"], "
           "\"values\": {\"nope\": 5}}]",
           400, "not a piece of this game");
    s_post(turn,
           "[{\"type\": \"send_information\", \"to\": \"agent_2\", \"information\": [\"x\"], "
           "\"values\": {}}]",
           400, "one integer for each");
    s_post(turn, "[{\"type\": \"submit_task\"}]", 400, "\\\"answer\\\" must be text");
    s_post(turn + 1000, "[]", 409, "is over; the open turn is");
    /* Oversized: refused before it is read (413). */
    size_t big = 256 * 1024;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, 'a', big);
    web_reply_t r = web_request(s_port, "POST", path, huge, big);
    free(huge);
    assert_int_equal(r.status, 413);
    web_reply_free(&r);

    /* Readers of the stream that hang up at once (the broker must free what
     * they leave; the sanitizer build checks at exit). */
    for (int i = 0; i < 3; i++) {
        int fd = web_open_stream(s_port, "/events");
        assert_true(fd >= 0);
        close(fd);
    }

    /* A flood: refused with 429 and a sentence, a bounded number of requests. */
    int ok = 0, limited = 0;
    for (int i = 0; i < 2000 && !limited; i++) {
        web_reply_t f = web_request(s_port, "GET", "/api/status", NULL, 0);
        if (f.status == 200) ok++;
        if (f.status == 429) {
            limited++;
            assert_non_null(strstr(f.body, "too many requests"));
        }
        assert_true(f.status == 200 || f.status == 429);
        web_reply_free(&f);
    }
    assert_true(ok > 0);
    assert_int_equal(limited, 1);
    /* Forged tokens in a flood are refused too, and never let through. */
    for (int i = 0; i < 60; i++) {
        web_reply_t f = web_request(s_port, "GET", "/seat/agent_1/state?token=guess", NULL, 0);
        assert_true(f.status == 403 || f.status == 429);
        web_reply_free(&f);
    }

    /* Nothing of this changed the game: the turn is still open, and a good
     * decision is accepted once the flood has passed. */
    json_int_t again = s_turn(b.pid, 1500);
    assert_int_equal(again, turn);
    for (int i = 0; i < 500; i++) {
        char body[256];
        int n = snprintf(body, sizeof body,
                         "{\"turn_id\": %lld, \"actions\": [{\"type\": \"broadcast\", "
                         "\"content\": \"hello from a person\"}]}",
                         (long long)turn);
        web_reply_t d = web_request(s_port, "POST", path, body, (size_t)n);
        int st = d.status;
        web_reply_free(&d);
        if (st == 202) break;
        assert_int_equal(st, 429);
        usleep(50000);
    }
    /* The rest of the game: the person passes every turn. */
    int status = -1;
    for (int i = 0; i < 3000 && status < 0; i++) {
        status = e2e_wait(b.pid, 0);
        if (status >= 0) break;
        json_int_t t = s_turn(b.pid, 1);
        if (t > 0) {
            char body[128];
            int n =
                snprintf(body, sizeof body, "{\"turn_id\": %lld, \"actions\": []}", (long long)t);
            web_reply_t d = web_request(s_port, "POST", path, body, (size_t)n);
            web_reply_free(&d);
        }
        usleep(20000);
    }
    assert_int_equal(status, 0);
    for (int i = 0; i < 9; i++) assert_int_equal(e2e_wait(pids[i], 20000), 0);

    json_t *summary = e2e_json(dir, "summary.json");
    assert_non_null(summary);
    assert_string_equal(json_string_value(json_object_get(summary, "status")), "ok");
    assert_true(json_integer_value(json_object_get(summary, "tasks")) > 0);
    json_decref(summary);
    json_t *bc = e2e_events(dir, "message");
    size_t i;
    json_t *ev;
    int mine = 0;
    json_array_foreach(bc, i, ev) mine +=
        strcmp(json_string_value(json_object_get(ev, "content")), "hello from a person") == 0;
    assert_int_equal(mine, 1);
    json_decref(bc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_web_bad_input, web_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
