/* test_agent_link.c: scripted and human seats run parley-agent, which does not
 * load the llm stack (libcurl and its TLS and Kerberos libraries); llm seats
 * run parley-agent-llm, which does. Checked on running processes: what
 * /proc/PID/maps shows once the dynamic loader is done (libzmq, which both
 * need, is mapped). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>

#include <cmocka.h>

/* Whether the mapped objects of pid name `what`; waits (bounded) until the
 * loader has mapped libzmq, so the answer is about the started program. */
static bool s_maps_have(pid_t pid, const char *what)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    for (int tries = 0; tries < 500; tries++) {
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        bool zmq = false, found = false;
        while (fgets(line, sizeof line, f)) {
            if (strstr(line, "libzmq")) zmq = true;
            if (strstr(line, what)) found = true;
        }
        fclose(f);
        if (zmq) return found;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    fail_msg("%s never mapped libzmq", path);
    return false;
}

/* Starts PROG as a seat of a broker that is not there (it keeps trying to
 * connect, so it stays up to be looked at). */
static pid_t s_start(const char *prog, const char *policy)
{
    const char *bin = getenv("PARLEY_BIN");
    assert_non_null(bin);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", bin, prog);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char *argv[] = {(char *)prog, "--broker", "tcp://127.0.0.1:9", "--seat",       "agent_1",
                        "--token",    "t",        "--policy",          (char *)policy, NULL};
        execv(path, argv);
        _exit(127);
    }
    return pid;
}

static void s_stop(pid_t pid)
{
    kill(pid, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
}

static void test_scripted_seat_loads_no_llm_stack(void **state)
{
    (void)state;
    const char *policies[] = {"perfect", "random"};
    for (size_t i = 0; i < 2; i++) {
        pid_t pid = s_start("parley-agent", policies[i]);
        assert_false(s_maps_have(pid, "libcurl"));
        /* nor libcrypto (the run metadata's hash): 400 KiB private a seat */
        assert_false(s_maps_have(pid, "libcrypto"));
        s_stop(pid);
    }
}

static void test_llm_binary_has_the_llm_stack(void **state)
{
    (void)state;
    pid_t pid = s_start("parley-agent-llm", "perfect");
    assert_true(s_maps_have(pid, "libcurl"));
    s_stop(pid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scripted_seat_loads_no_llm_stack),
        cmocka_unit_test(test_llm_binary_has_the_llm_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
