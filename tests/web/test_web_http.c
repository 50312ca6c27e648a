/* test_web_http.c: the broker's web side in a real game (docs/WEB.md): the
 * dashboard page, /api/status, /metrics, and /events carrying every event of
 * events.jsonl; a browser seat played through its HTTP API only (one human
 * seat beside three perfect agents), recorded as human in the run. */
#include "e2e.h"
#include "web_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static const char *const s_config = "seed: 5\n"
                                    "simulation: {rounds: 2, agents: 4}\n"
                                    "information: {total_pieces: 40, pieces_per_agent: 10}\n"
                                    "timing: {human_turn_timeout: 60, heartbeat: 0.5}\n"
                                    "seats:\n"
                                    "  - {policy: human}\n"
                                    "  - {policy: perfect, count: 3}\n";

/* Plays the browser seat: passes every turn it is given until the game ends.
 * Returns the broker's exit status, or -1 if it never ended. */
static int s_play_passing(int port, const char *token, pid_t broker, int *turns)
{
    int status;
    char path[256];
    snprintf(path, sizeof path, "/seat/agent_1/state?token=%s", token);
    for (int i = 0; i < 3000; i++) {
        if ((status = e2e_wait(broker, 0)) >= 0) return status;
        json_t *st = web_get_json(port, path);
        json_int_t turn = json_integer_value(json_object_get(st, "turn_id"));
        json_decref(st);
        if (turn > 0) {
            char body[128], post[256];
            int n = snprintf(body, sizeof body, "{\"turn_id\": %lld, \"actions\": []}",
                             (long long)turn);
            snprintf(post, sizeof post, "/seat/agent_1/decision?token=%s", token);
            web_reply_t r = web_request(port, "POST", post, body, (size_t)n);
            if (r.status == 202) (*turns)++;
            web_reply_free(&r);
        }
        usleep(20000);
    }
    return -1;
}

static void test_web_dashboard_stream_metrics(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("web-http");
    const char *config = e2e_write(dir, "game.yaml", s_config);
    int port = e2e_free_port();
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    const char *extra[] = {"--http", listen, "--web-seats", "--start-timeout", "30", NULL};
    e2e_broker_t b;
    assert_int_equal(e2e_broker_start(&b, config, dir, NULL, extra), 0);
    web_child(b.pid);

    /* The dashboard: a page with no outside resources. */
    web_reply_t page = web_request(port, "GET", "/", NULL, 0);
    assert_int_equal(page.status, 200);
    assert_non_null(strstr(page.body, "<title>parley: live game</title>"));
    assert_non_null(strstr(page.body, "new EventSource('/events')"));
    assert_null(strstr(page.body, "src=\"http"));
    assert_null(strstr(page.body, "href=\"http"));
    web_reply_free(&page);

    /* The stream opened before any agent: it must carry the whole game. */
    int stream = web_open_stream(port, "/events");
    assert_true(stream >= 0);

    /* Before the agents: the browser seat is already connected, the rest are not. */
    json_t *st = web_get_json(port, "/api/status");
    assert_non_null(st);
    assert_string_equal(json_string_value(json_object_get(st, "phase")), "waiting");
    json_t *seat1 = json_array_get(json_object_get(st, "seats"), 0);
    assert_true(json_is_true(json_object_get(seat1, "human")));
    json_decref(st);

    pid_t pids[3];
    const char *perfect[] = {"perfect"};
    for (int i = 0; i < 3; i++) {
        char seat[16];
        snprintf(seat, sizeof seat, "agent_%d", i + 2);
        pids[i] = web_child(e2e_agent(b.router, dir, seat, perfect[0]));
    }

    /* The game waits for the person: metrics say four seats are connected and
     * count the turns the agents have played so far. */
    char token[64], path[256];
    snprintf(token, sizeof token, "%s", e2e_token(dir, "agent_1"));
    snprintf(path, sizeof path, "/seat/agent_1/state?token=%s", token);
    json_int_t turn = 0;
    for (int i = 0; i < 1000 && turn == 0; i++) {
        json_t *s1 = web_get_json(port, path);
        turn = json_integer_value(json_object_get(s1, "turn_id"));
        if (turn) {
            json_t *obs = json_object_get(s1, "observation");
            assert_int_equal(json_array_size(json_object_get(obs, "tasks")), 2);
            assert_true(json_array_size(json_object_get(obs, "inventory")) > 0);
        }
        json_decref(s1);
        if (!turn) usleep(20000);
    }
    assert_true(turn > 0);
    /* A reader that comes while the game waits for the person gets the whole
     * game so far at once, without waiting for the next event. */
    int late = web_open_stream(port, "/events");
    assert_true(late >= 0);
    char *so_far = web_read_all(late, 1500);
    close(late);
    json_t *recorded = e2e_events(dir, NULL);
    assert_non_null(so_far);
    assert_true(json_array_size(recorded) > 10);
    assert_int_equal(web_count(so_far, "\ndata: {"), (int)json_array_size(recorded));
    json_decref(recorded);
    free(so_far);

    web_reply_t m = web_request(port, "GET", "/metrics", NULL, 0);
    assert_int_equal(m.status, 200);
    assert_non_null(strstr(m.headers, "text/plain; version=0.0.4"));
    assert_non_null(strstr(m.body, "parley_seats_connected 4\n"));
    assert_non_null(strstr(m.body, "parley_seats_thinking 1\n"));
    assert_non_null(strstr(m.body, "# TYPE parley_decision_seconds histogram"));
    assert_non_null(strstr(m.body, "parley_actions_total{result=\"ok\"}"));
    web_reply_free(&m);

    int turns = 0;
    assert_int_equal(s_play_passing(port, token, b.pid, &turns), 0); /* finished */
    assert_true(turns >= 2); /* one regular turn per round at least */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(e2e_wait(pids[i], 20000), 0);
    }

    /* Every event of the record went out on the stream, in order. */
    char *text = web_read_all(stream, 5000);
    close(stream);
    assert_non_null(text);
    json_t *all = e2e_events(dir, NULL);
    assert_non_null(all);
    assert_int_equal(web_count(text, "\ndata: {"), (int)json_array_size(all));
    json_t *done = e2e_events(dir, "task_completed");
    assert_true(json_array_size(done) > 0);
    assert_int_equal(web_count(text, "\"type\":\"task_completed\""), (int)json_array_size(done));
    assert_non_null(strstr(text, "\"type\":\"run_start\""));
    assert_non_null(strstr(text, "\"type\":\"run_end\""));
    json_decref(done);
    json_decref(all);
    free(text);

    /* The run records which seat was a person. */
    json_t *joined = e2e_events(dir, "seat_joined");
    size_t i;
    json_t *ev;
    int humans = 0;
    json_array_foreach(joined, i, ev)
    {
        if (json_is_true(json_object_get(ev, "human"))) {
            humans++;
            assert_string_equal(json_string_value(json_object_get(ev, "agent")), "agent_1");
        }
    }
    assert_int_equal(humans, 1);
    json_decref(joined);
    json_t *summary = e2e_json(dir, "summary.json");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(summary, "human_seats"), 0)), "agent_1");
    json_t *board = json_object_get(summary, "board");
    assert_true(json_is_true(json_object_get(json_array_get(board, 0), "human")));
    assert_true(json_is_false(json_object_get(json_array_get(board, 1), "human")));
    json_decref(summary);
}

/* Blind: the pages and the stream show every seat alike; the record keeps
 * who was a person. */
static void test_web_blind(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("web-blind");
    char text[1024];
    snprintf(text, sizeof text, "%sblind: true\n", s_config);
    const char *config = e2e_write(dir, "game.yaml", text);
    int port = e2e_free_port();
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    const char *extra[] = {"--http", listen, "--web-seats", "--start-timeout", "30", NULL};
    e2e_broker_t b;
    assert_int_equal(e2e_broker_start(&b, config, dir, NULL, extra), 0);
    web_child(b.pid);
    int stream = web_open_stream(port, "/events");
    assert_true(stream >= 0);
    for (int i = 0; i < 3; i++) {
        char seat[16];
        snprintf(seat, sizeof seat, "agent_%d", i + 2);
        assert_true(web_child(e2e_agent(b.router, dir, seat, "perfect")) > 0);
    }
    json_t *st = web_get_json(port, "/api/status");
    assert_non_null(st);
    assert_true(json_is_true(json_object_get(st, "blind")));
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(st, "seats"), i, row)
    {
        assert_null(json_object_get(row, "human"));
        assert_null(json_object_get(row, "policy"));
    }
    json_decref(st);
    char token[64];
    snprintf(token, sizeof token, "%s", e2e_token(dir, "agent_1"));
    int turns = 0;
    assert_int_equal(s_play_passing(port, token, b.pid, &turns), 0);
    char *seen = web_read_all(stream, 5000);
    close(stream);
    assert_non_null(seen);
    assert_true(web_count(seen, "\ndata: {") > 10);
    assert_null(strstr(seen, "\"human\""));
    assert_null(strstr(seen, "\"policy\":\""));
    assert_null(strstr(seen, "perfect"));
    assert_null(strstr(seen, "the person passed"));
    free(seen);
    /* The record knows. */
    json_t *summary = e2e_json(dir, "summary.json");
    json_t *humans = json_object_get(summary, "human_seats");
    assert_int_equal(json_array_size(humans), 1);
    assert_string_equal(json_string_value(json_array_get(humans, 0)), "agent_1");
    json_decref(summary);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_web_dashboard_stream_metrics, web_teardown),
        cmocka_unit_test_teardown(test_web_blind, web_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
