/* test_broker_policy.c: one registry of policies (common/pl_policy.h). A seat
 * whose policy no agent can play (`policy: scripted`) is refused before the
 * run starts, by parley-broker and by parley run, with FILE:LINE, and no run
 * directory is written; every policy the registry lists is one parley-agent
 * can play, and the two agree on which seats want reply turns. */
#include "agt_policy.h"
#include "e2e.h"
#include "env.h"
#include "llm_policy.h"
#include "pl_policy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

/* Runs cmd (through sh) and returns its exit status; its stdout+stderr in out. */
static int s_run(const char *cmd, char *out, size_t outlen)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_unplayable_policy_is_refused_before_start(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("policy");
    const char *cfg = e2e_write(dir, "game.yaml",
                                "seed: 1\n"
                                "simulation: {rounds: 2}\n"
                                "seats:\n"
                                "  - {policy: perfect, count: 9}\n"
                                "  - {policy: scripted}\n");
    const char *bin = getenv("PARLEY_BIN");
    assert_non_null(bin);
    char cmd[4096], out[8192], want[1200];
    snprintf(want, sizeof want, "%s:5:", cfg);

    snprintf(cmd, sizeof cmd, "'%s/parley-broker' --config '%s' --out '%s/b' --no-pub 2>&1", bin,
             cfg, dir);
    assert_int_equal(s_run(cmd, out, sizeof out), 2);
    if (!strstr(out, want) || !strstr(out, "unknown policy \"scripted\""))
        fail_msg("parley-broker said: %s", out);
    struct stat st;
    char path[1200];
    snprintf(path, sizeof path, "%s/b", dir);
    assert_int_not_equal(stat(path, &st), 0); /* nothing written */

    snprintf(cmd, sizeof cmd, "'%s/parley' run '%s' --out '%s/r' --quiet 2>&1", bin, cfg, dir);
    assert_int_equal(s_run(cmd, out, sizeof out), 3); /* a configuration refused (docs/CLI.md) */
    if (!strstr(out, want) || !strstr(out, "unknown policy \"scripted\""))
        fail_msg("parley run said: %s", out);
    snprintf(path, sizeof path, "%s/r/summary.json", dir);
    assert_int_not_equal(stat(path, &st), 0); /* no "ok" summary for a sweep to count */
}

static void test_registry_and_agents_agree(void **state)
{
    (void)state;
    /* parley-agent-llm's set: parley-agent's policies plus the llm one. */
    agt_policy_register(&agt_llm_ops);
    assert_true(pl_policy_count() >= 7);
    for (size_t i = 0; i < pl_policy_count(); i++) {
        const pl_policy_t *p = pl_policy_at(i);
        const agt_policy_ops_t *ops = agt_policy_find(p->name);
        if (!ops) fail_msg("policy %s is registered but no agent plays it", p->name);
        assert_string_equal(ops->name, p->name);
        int e = env_policy_from_name(p->name);
        if (p->kind == PL_POLICY_SCRIPTED) {
            assert_true(e >= 0);
            assert_int_equal(p->reactive, env_policy_reactive((env_policy_t)e));
        }
        assert_non_null(strstr(pl_policy_names(), p->name));
    }
    assert_null(pl_policy_find("scripted"));
    assert_null(agt_policy_find("scripted"));
    assert_null(pl_policy_at(pl_policy_count()));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unplayable_policy_is_refused_before_start),
        cmocka_unit_test(test_registry_and_agents_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
