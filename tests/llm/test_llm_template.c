/* test_llm_template.c: a broken template stops a seat at once with FILE:LINE
 * (agent/llm_template.c, agent/llm_prompt.c): one test per template error,
 * and a seat's prompter refusing a bad template when it starts. */
#include "e2e.h"
#include "llm_prompt.h"
#include "llm_template.h"
#include "pl_config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char s_dir[256]; /* the test files: e2e_tmpdir, removed at exit */

/* Writes text to s_dir/name; returns the path (one of the last 32). */
static const char *s_write(const char *name, const char *text)
{
    const char *p = e2e_write(s_dir, name, text);
    assert_non_null(p);
    return p;
}

/* -------------------------------------------------------------- errors -- */

/* Loads (and renders) `text` from a file; returns the error message. */
static const char *s_error_of(const char *name, const char *text)
{
    static char err[600];
    const char *path = s_write(name, text);
    err[0] = '\0';
    llm_tmpl_t *t = llm_tmpl_load(path, err, sizeof err);
    if (t) {
        json_t *m =
            json_pack("{s:s, s:[{s:i}], s:b}", "agent", "agent_1", "items", "n", 1, "yes", 1);
        char *sys, *user;
        if (llm_tmpl_render(t, m, &sys, &user, err, sizeof err) == 0) {
            free(sys);
            free(user);
            err[0] = '\0';
        }
        json_decref(m);
        llm_tmpl_destroy(&t);
    }
    return err;
}

static void s_expect(const char *name, const char *text, int line, const char *what)
{
    const char *e = s_error_of(name, text);
    char want[600];
    snprintf(want, sizeof want, "%s/%s:%d: ", s_dir, name, line);
    if (strncmp(e, want, strlen(want)) != 0 || !strstr(e, what))
        fail_msg("%s: expected \"%s...%s...\", got \"%s\"", name, want, what, e);
}

static void test_error_unknown_variable(void **state)
{
    (void)state;
    s_expect("unknown.tmpl", "Hello {{agent}}\n\nand {{agnet}}\n", 3, "unknown variable \"agnet\"");
    s_expect("unknown2.tmpl", "{{#items}}\n{{n}} {{missing.deep}}\n{{/items}}\n", 2,
             "unknown variable \"missing.deep\"");
}

static void test_error_unclosed_section(void **state)
{
    (void)state;
    s_expect("unclosed.tmpl", "a\n{{#items}}\nb\n", 2, "section \"items\" is never closed");
}

static void test_error_mismatched_close(void **state)
{
    (void)state;
    s_expect("mismatch.tmpl", "{{#items}}\n{{^yes}}\nx\n{{/items}}\n", 4,
             "{{/items}} closes \"yes\", opened at line 2");
    s_expect("stray.tmpl", "x\ny\n{{/items}}\n", 3, "{{/items}} closes nothing");
}

static void test_error_bad_include(void **state)
{
    (void)state;
    s_expect("include.tmpl", "one\n{{> no/such/piece}}\n", 2, "cannot include \"no/such/piece\"");
    /* a template that includes itself */
    s_expect("loop.tmpl", "{{> loop.tmpl}}\n", 1, "nests more than");
    /* an error inside an included file names that file */
    s_write("inner.tmpl", "fine\n{{#items}}\n");
    const char *e = s_error_of("outer.tmpl", "{{> inner.tmpl}}\n");
    char want[600];
    snprintf(want, sizeof want, "%s/inner.tmpl:2: section \"items\" is never closed", s_dir);
    assert_true(strncmp(e, want, strlen(want)) == 0);
}

static void test_error_tags_and_parts(void **state)
{
    (void)state;
    s_expect("open.tmpl", "ok\nbroken {{agent\n", 2, "not closed with }}");
    s_expect("empty.tmpl", "x {{}}\n", 1, "empty tag");
    s_expect("part.tmpl", "{{$assistant}}\nx\n{{/assistant}}\n", 1, "unknown part");
    s_expect("nest.tmpl", "{{$system}}\n{{$user}}\n{{/user}}\n{{/system}}\n", 2,
             "parts do not nest");
    s_expect("list.tmpl", "{{items}}\n", 1, "is a list, not a value");
    s_expect("at.tmpl", "{{@first}}\n", 1, "outside a list");
    /* a missing file, and the config that names it */
    char err[600];
    assert_null(llm_tmpl_load("/nonexistent/x.tmpl", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/x.tmpl: cannot read the template"));
    const char *cfg = s_write("c.yaml", "llm:\n  prompt: missing.tmpl\n");
    pl_config_t *c = pl_config_load(cfg, err, sizeof err);
    assert_null(c);
    char want[600];
    snprintf(want, sizeof want, "%s:2: llm.prompt: cannot read the template", cfg);
    if (strncmp(err, want, strlen(want)) != 0) fail_msg("got \"%s\"", err);
    cfg = s_write("m.yaml", "agents:\n  mode: mixd\n");
    assert_null(pl_config_load(cfg, err, sizeof err));
    assert_non_null(strstr(err, "m.yaml:2: agents.mode: unknown mode \"mixd\""));
}

/* The agent's seat refuses a broken template when it starts, not at its
 * first turn: a misspelt variable in a file fails llm_prompter_new. */
static void test_prompter_checks_at_start(void **state)
{
    (void)state;
    const char *path =
        s_write("typo.tmpl", "Round {{round}}\n{{#tasks}}{{idd}}{{/tasks}}\n{{agnet}}\n");
    pl_seat_t seat = {.prompt = (char *)path};
    env_config_t rules;
    env_config_paper(&rules);
    agt_context_t ctx = {.agent = 0, .rules = &rules, .seat = &seat};
    char err[600];
    assert_null(llm_prompter_new(&ctx, err, sizeof err));
    char want[600];
    snprintf(want, sizeof want, "%s:3: unknown variable \"agnet\"", path);
    assert_true(strncmp(err, want, strlen(want)) == 0);
    /* a typo inside a list is found too, though the empty first turn has no
     * tasks: the check also renders a turn with one item in every list */
    path = s_write("typo2.tmpl", "Round {{round}}\n{{#tasks}}\n{{idd}}\n{{/tasks}}\n");
    seat.prompt = (char *)path;
    assert_null(llm_prompter_new(&ctx, err, sizeof err));
    snprintf(want, sizeof want, "%s:3: unknown variable \"idd\"", path);
    if (strncmp(err, want, strlen(want)) != 0) fail_msg("got \"%s\"", err);
    /* the built-ins all load and render an empty turn */
    static const char *const names[] = {"paper", "clear", "cache"};
    for (size_t i = 0; i < 3; i++) {
        seat.prompt = (char *)names[i];
        llm_prompter_t *p = llm_prompter_new(&ctx, err, sizeof err);
        if (!p) fail_msg("%s: %s", names[i], err);
        assert_string_equal(llm_prompter_name(p), names[i]);
        assert_true(llm_prompter_cacheable(p) == (i == 2));
        llm_prompter_destroy(&p);
    }
}

static int s_setup(void **state)
{
    (void)state;
    const char *d = e2e_tmpdir("template");
    if (!d || strlen(d) >= sizeof s_dir) return -1;
    memcpy(s_dir, d, strlen(d) + 1);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_unknown_variable),
        cmocka_unit_test(test_error_unclosed_section),
        cmocka_unit_test(test_error_mismatched_close),
        cmocka_unit_test(test_error_bad_include),
        cmocka_unit_test(test_error_tags_and_parts),
        cmocka_unit_test(test_prompter_checks_at_start),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
