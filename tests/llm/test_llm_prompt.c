/* test_llm_prompt.c: the prompts a model reads (agent/llm_prompt.c, the
 * templates of prompts/, the template language of agent/llm_template.c).
 *
 * - Golden prompts: fixed configuration, seed, seat and round, rendered from a
 *   perfect-play history (llm_preview, what `parley prompt` prints) and
 *   compared byte for byte with tests/llm/golden/NAME.txt, for the paper
 *   template's baseline, each agent type, each automated arm, the mixed mode
 *   and the board hidden, and for the clear and cache templates. A change to
 *   any template fails here. After an intended change, regenerate them with
 *     PARLEY_REGEN_GOLDEN=1 build/tests/test_llm_prompt
 *   and read the diff before committing it.
 * - The study's quirks that the paper template keeps (GAME.md "Paper-preset
 *   details"), each checked on its own.
 * - A researcher's own template file is used verbatim.
 * - `parley prompt` prints the same bytes as the golden file, and refuses a
 *   bad seat or round.
 * The cache prompt's conversation over whole games is test_llm_conversation.c,
 * the template errors test_llm_template.c. */
#include "e2e.h"
#include "env.h"
#include "llm_parse.h"
#include "llm_preview.h"
#include "llm_prompt.h"
#include "llm_template.h"
#include "pl_config.h"
#include "wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char s_dir[256]; /* the test files: e2e_tmpdir, removed at exit */

/* ------------------------------------------------------------ helpers -- */

static char *s_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf) buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Writes text to s_dir/name; returns the path (one of the last 32). */
static const char *s_write(const char *name, const char *text)
{
    const char *p = e2e_write(s_dir, name, text);
    assert_non_null(p);
    return p;
}

/* The paper preset (5 perfect + 5 selfish seats) with overrides. */
static pl_config_t *s_config(const char *const *sets)
{
    pl_config_t *c = pl_config_default();
    assert_non_null(c);
    char err[512];
    for (size_t i = 0; sets && sets[i]; i++)
        if (pl_config_set(c, sets[i], err, sizeof err) != 0) fail_msg("%s: %s", sets[i], err);
    return c;
}

/* What `parley prompt` prints: the parts, labelled. */
static char *s_labelled(const llm_prompt_t *p, const char *spec)
{
    size_t n = (p->system ? strlen(p->system) : 0) + strlen(p->user) + 2 * strlen(spec) + 64;
    char *s = malloc(n);
    assert_non_null(s);
    int at = 0;
    if (p->system) at = snprintf(s, n, "=== system (%s) ===\n%s\n", spec, p->system);
    snprintf(s + at, n - (size_t)at, "=== user (%s) ===\n%s", spec, p->user);
    return s;
}

/* A conversation as `parley prompt` prints it: the system part, then every
 * message headed with its role and place, this turn's last. */
static char *s_conversation(const llm_prompt_t *p, const json_t *history, const char *spec)
{
    size_t n = (p->system ? strlen(p->system) : 0) + 64 + strlen(spec), i,
           k = json_array_size(history);
    json_t *m;
    json_array_foreach(history, i, m) n +=
        strlen(json_string_value(json_object_get(m, "content"))) + strlen(spec) + 80;
    char *s = malloc(n);
    assert_non_null(s);
    int at = p->system ? snprintf(s, n, "=== system (%s) ===\n%s\n", spec, p->system) : 0;
    json_array_foreach(history, i, m)
    {
        at += snprintf(s + at, n - (size_t)at, "=== %s, message %zu of %zu%s (%s) ===\n%s%s",
                       json_string_value(json_object_get(m, "role")), i + 1, k,
                       i + 1 == k ? ", this turn" : "", spec,
                       json_string_value(json_object_get(m, "content")), i + 1 < k ? "\n" : "");
    }
    return s;
}

/* Renders seat `seat` (1-based) at `round` of the configuration. */
static char *s_preview(const char *const *sets, int seat, int round, llm_prompt_t *out)
{
    pl_config_t *c = s_config(sets);
    llm_prompt_t p;
    const char *spec = NULL;
    char err[512];
    json_t *history = NULL;
    if (llm_preview(c, seat - 1, round, &p, &spec, NULL, &history, err, sizeof err) != 0)
        fail_msg("%s", err);
    char *flat = history ? s_conversation(&p, history, spec) : s_labelled(&p, spec);
    json_decref(history);
    if (out)
        *out = p;
    else
        llm_prompt_clear(&p);
    pl_config_destroy(&c);
    return flat;
}

static void s_golden(const char *name, const char *const *sets, int seat, int round)
{
    char *got = s_preview(sets, seat, round, NULL);
    const char *src = getenv("PARLEY_SRC");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/llm/golden/%s.txt", src, name);
    if (getenv("PARLEY_REGEN_GOLDEN")) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs(got, f);
        assert_int_equal(fclose(f), 0);
        print_message("wrote %s\n", path);
    }
    char *want = s_read(path);
    if (!want) fail_msg("%s is missing (PARLEY_REGEN_GOLDEN=1 writes it)", path);
    if (strcmp(want, got) != 0) {
        size_t i = 0;
        while (want[i] && want[i] == got[i]) i++;
        int line = 1;
        for (size_t k = 0; k < i; k++) line += want[k] == '\n';
        fail_msg(
            "%s differs from the rendered prompt at line %d:\n  golden: %.80s\n  now:    %.80s",
            path, line, want + i, got + i);
    }
    free(want);
    free(got);
}

/* -------------------------------------------------------------- golden -- */

static void test_golden_paper_baseline(void **state)
{
    (void)state;
    static const char *const sets[] = {"seed=7", NULL};
    s_golden("paper-baseline", sets, 3, 3);
}

static void test_golden_paper_policy(void **state)
{
    (void)state;
    static const char *const sets[] = {"seed=7", "agent_types.policy=10", NULL};
    s_golden("paper-policy", sets, 3, 3);
}

static void test_golden_paper_competitive_uncooperative(void **state)
{
    (void)state;
    static const char *const a[] = {"seed=7", "agent_types.competitive=10", NULL};
    s_golden("paper-competitive", a, 3, 2);
    static const char *const b[] = {"seed=7", "agent_types.uncooperative=10", NULL};
    s_golden("paper-uncooperative", b, 3, 2);
}

static void test_golden_paper_auto_fulfill(void **state)
{
    (void)state;
    static const char *const sets[] = {"seed=7", "automation=auto_fulfill", NULL};
    s_golden("paper-auto-fulfill", sets, 3, 3);
}

static void test_golden_paper_auto_request(void **state)
{
    (void)state;
    /* The history is played by perfect seats. Under the original's rule they
     * ignore the system's "I need ..." asks, so nothing would move on this arm;
     * the switch off gives the prompt a history to show (the layout is what
     * this golden file guards). */
    static const char *const sets[] = {"seed=7", "automation=auto_request",
                                       "rules.answer_request_form_only=false", NULL};
    s_golden("paper-auto-request", sets, 3, 3);
}

static void test_golden_paper_mixed(void **state)
{
    (void)state;
    static const char *const sets[] = {"seed=7", "agents.mode=mixed", NULL};
    s_golden("paper-mixed", sets, 3, 3);
}

static void test_golden_paper_hidden_board(void **state)
{
    (void)state;
    static const char *const sets[] = {"seed=7", "transparency.show_full_revenue=false", NULL};
    s_golden("paper-hidden", sets, 3, 3);
}

static void test_golden_clear_and_cache(void **state)
{
    (void)state;
    static const char *const a[] = {"seed=7", "llm.prompt=clear", NULL};
    s_golden("clear", a, 3, 3);
    static const char *const b[] = {"seed=7", "llm.prompt=cache", NULL};
    s_golden("cache", b, 3, 3);
}

/* -------------------------------------------------- the study's quirks -- */

static void test_paper_system_and_keys(void **state)
{
    (void)state;
    llm_prompt_t p;
    static const char *const sets[] = {"seed=7", NULL};
    free(s_preview(sets, 3, 2, &p));
    /* one system sentence, as the study sent with every prompt */
    assert_non_null(p.system);
    assert_null(strchr(p.system, '\n'));
    /* actions keyed "action", concrete examples naming pieces and values */
    assert_non_null(strstr(p.user, "{\"action\": \"send_information\", \"to\": \"agent_3\", "
                                   "\"information\": [\"Department 8 budget\"], \"values\": "
                                   "{\"Department 8 budget\": 65}}"));
    assert_null(strstr(p.user, "\"type\":"));
    /* no round tags, no note that thoughts stay private, no "(you)" listing */
    assert_null(strstr(p.user, "[round "));
    assert_null(strstr(p.user, "never shown"));
    assert_null(strstr(p.user, "(you)"));
    /* the task reward is stated only with the sharing incentive */
    assert_null(strstr(p.user, "$10,000"));
    llm_prompt_clear(&p);
    static const char *const bonus[] = {"seed=7", "revenue.information_sharing=1000", NULL};
    free(s_preview(bonus, 3, 2, &p));
    const char *inc = strstr(p.user, "Revenue Incentive:");
    assert_non_null(inc);
    assert_non_null(strstr(inc, "$1,000"));
    assert_non_null(strstr(inc, "$10,000"));
    llm_prompt_clear(&p);
}

/* The variable the study measures: the neutral goal names no protocol and
 * never says that sharing is free or a copy. */
static void test_paper_neutral_goal_is_neutral(void **state)
{
    (void)state;
    llm_prompt_t p;
    static const char *const sets[] = {"seed=7", NULL};
    free(s_preview(sets, 3, 1, &p));
    const char *goal = strstr(p.user, "Your goal is");
    assert_non_null(goal);
    const char *end = strstr(goal, "\n\n");
    assert_non_null(end);
    char g[512];
    snprintf(g, sizeof g, "%.*s", (int)(end - goal), goal);
    assert_non_null(strstr(g, "overall revenue of the system"));
    static const char *const banned[] = {"costs nothing", "free",    "copy", "keep",
                                         "share",         "request", "ask",  "sum"};
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
        if (strstr(g, banned[i])) fail_msg("the neutral goal says \"%s\": %s", banned[i], g);
    assert_null(strstr(p.user, "costs nothing"));
    assert_null(strstr(p.user, "keeps a copy"));
    assert_null(strstr(p.user, "Policy:"));
    llm_prompt_clear(&p);
}

static void test_paper_board_only_earners(void **state)
{
    (void)state;
    llm_prompt_t p;
    static const char *const sets[] = {"seed=7", NULL};
    free(s_preview(sets, 3, 1, &p));
    /* round 1: nobody has earned, so the board is empty */
    const char *b = strstr(p.user, "Revenue Board:\n");
    assert_non_null(b);
    assert_true(strncmp(b + strlen("Revenue Board:\n"), "\nYour Current Tasks:", 20) == 0);
    llm_prompt_clear(&p);
    free(s_preview(sets, 3, 3, &p));
    assert_non_null(strstr(p.user, "agent_3: $20,000 (YOU)"));
    llm_prompt_clear(&p);
}

/* The paper template's history, with the environment's own success note
 * left out (the study sent none) and the "has not responded" rule. */
static void test_paper_notes_and_requests(void **state)
{
    (void)state;
    llm_prompt_t p, c;
    static const char *const sets[] = {"seed=7", NULL};
    static const char *const clear[] = {"seed=7", "llm.prompt=clear", NULL};
    free(s_preview(sets, 3, 3, &p));
    free(s_preview(clear, 3, 3, &c));
    assert_non_null(strstr(c.user, "You completed task_"));
    assert_null(strstr(p.user, "You completed task_"));
    assert_non_null(strstr(p.user, "[SYSTEM]: agent_"));
    llm_prompt_clear(&p);
    llm_prompt_clear(&c);

    /* A seat that asked the same holder three times reads "has not
     * responded", even though the piece arrived. */
    env_config_t cfg;
    env_config_paper(&cfg);
    cfg.seed = 7;
    int err;
    env_game_t *g = env_game_new(&cfg, NULL, NULL, &err);
    assert_non_null(g);
    env_names_t names;
    env_game_names(g, &names);
    assert_int_equal(env_round_begin(g), ENV_OK);
    const int *tp;
    int n_tp;
    tp = env_agent_task_pieces(g, 2, 0, &n_tp);
    int piece = -1, holder = -1;
    for (int k = 0; k < n_tp && piece < 0; k++)
        for (int a = 0; a < cfg.n_agents && piece < 0; a++)
            if (a != 2 && env_agent_holds(g, a, tp[k]) && !env_agent_holds(g, 2, tp[k])) {
                piece = tp[k];
                holder = a;
            }
    assert_true(piece >= 0);
    char msg[256];
    snprintf(msg, sizeof msg, "Please send %s", env_piece_name(g, piece));
    env_result_t res[4];
    for (int i = 0; i < 3; i++) {
        env_action_t a = {
            .kind = ENV_ACT_SEND_MESSAGE, .to = env_agent_id(g, holder), .content = msg};
        assert_int_equal(env_apply(g, 2, ENV_TURN_NORMAL, &a, 1, NULL, res), ENV_OK);
    }
    env_decision_t *d = env_decision_new();
    assert_int_equal(env_decision_send(d, env_agent_id(g, 2), env_piece_name(g, piece),
                                       env_piece_value(g, piece)),
                     ENV_OK);
    assert_int_equal(env_apply(g, holder, ENV_TURN_NORMAL, env_decision_actions(d), 1, NULL, res),
                     ENV_OK);
    env_decision_destroy(&d);
    env_obs_t o;
    assert_int_equal(env_observe(g, 2, ENV_TURN_NORMAL, &o), ENV_OK);
    agt_context_t ctx = {.agent = 2, .rules = env_game_config(g), .names = &names};
    assert_int_equal(llm_prompt_render(&ctx, &o, LLM_LAYOUT_PAPER, NULL, &p), ENV_OK);
    assert_int_equal(llm_prompt_render(&ctx, &o, LLM_LAYOUT_CLEAR, NULL, &c), ENV_OK);
    char want[300];
    snprintf(want, sizeof want, "From %s: %s (asked 3 times, and they have not responded)",
             env_agent_id(g, holder), env_piece_name(g, piece));
    if (!strstr(p.user, want)) fail_msg("no \"%s\" in:\n%s", want, p.user);
    snprintf(want, sizeof want, "- %s from %s: asked 3 times, received", env_piece_name(g, piece),
             env_agent_id(g, holder));
    assert_non_null(strstr(c.user, want)); /* clear says what happened */
    llm_prompt_clear(&p);
    llm_prompt_clear(&c);
    env_game_destroy(&g);
}

/* The study's options reach a remote agent (GameRules, both directions of
 * proto/wire.c) and its prompt: the clear template states each rule in force,
 * the paper template only what the original's prompt states (the action
 * limit, agent.py _format_action_limit_info; nothing of the first-completion
 * bonus or the piece range). */
static void test_rules_over_the_wire_reach_the_prompt(void **state)
{
    (void)state;
    env_config_t cfg;
    env_config_paper(&cfg);
    cfg.seed = 7;
    cfg.max_actions_per_turn = 3;
    cfg.first_bonus = 5000;
    cfg.min_pieces_per_task = 2;
    cfg.new_task_on_completion = false;
    cfg.submit_fallback_first = false;
    int err;
    env_game_t *g = env_game_new(&cfg, NULL, NULL, &err);
    assert_non_null(g);
    env_names_t names;
    env_game_names(g, &names);
    assert_int_equal(env_round_begin(g), ENV_OK);
    env_obs_t o;
    assert_int_equal(env_observe(g, 2, ENV_TURN_NORMAL, &o), ENV_OK);
    Parley__GameRules gr;
    wire_rules_from_config(&cfg, NULL, NULL, 0, 60, 0, &gr);
    env_config_t back;
    wire_rules_to_config(&gr, &back);
    assert_int_equal(back.max_actions_per_turn, 3);
    assert_int_equal(back.first_bonus, 5000);
    assert_int_equal(back.min_pieces_per_task, 2);
    assert_false(back.new_task_on_completion);
    assert_true(back.submit_exact_names && back.request_form_only && back.instant_perfect_only &&
                back.automated_as_agents && back.auto_request_once && back.count_failed_sends);
    agt_context_t ctx = {.agent = 2, .rules = &back, .names = &names};
    llm_prompt_t c, p;
    assert_int_equal(llm_prompt_render(&ctx, &o, LLM_LAYOUT_CLEAR, NULL, &c), ENV_OK);
    assert_int_equal(llm_prompt_render(&ctx, &o, LLM_LAYOUT_PAPER, NULL, &p), ENV_OK);
    const char *clear_says[] = {
        "It needs between 2 and 4 distinct pieces",
        "The first task completed in each round pays its owner $5,000 more.",
        "A completed task is not replaced",
        "An answer whose names match none of your tasks is refused.",
        "A turn may hold at most 3 actions; any after that are refused.",
    };
    for (size_t i = 0; i < sizeof clear_says / sizeof *clear_says; i++)
        if (!strstr(c.user, clear_says[i]))
            fail_msg("clear lacks \"%s\":\n%s", clear_says[i], c.user);
    assert_non_null(strstr(p.user, "ACTION LIMIT:\nIn this turn you may take at most 3 actions."));
    assert_null(strstr(p.user, "no limit on your actions"));
    assert_null(strstr(p.user, "$5,000"));
    assert_null(strstr(p.user, "between 2 and 4"));
    llm_prompt_clear(&c);
    llm_prompt_clear(&p);
    /* The other positions, and one action: singular. */
    back.max_actions_per_turn = 1;
    back.new_task_on_completion = true;
    back.submit_exact_names = false;
    back.min_pieces_per_task = 0;
    assert_int_equal(llm_prompt_render(&ctx, &o, LLM_LAYOUT_CLEAR, NULL, &c), ENV_OK);
    assert_int_equal(llm_prompt_render(&ctx, &o, LLM_LAYOUT_PAPER, NULL, &p), ENV_OK);
    assert_non_null(strstr(c.user, "It needs 4 distinct pieces."));
    assert_non_null(strstr(c.user, "Each task you complete is replaced by a new one."));
    assert_non_null(strstr(c.user, "the names are matched in any case"));
    assert_non_null(strstr(c.user, "A turn may hold at most 1 action;"));
    assert_non_null(strstr(p.user, "at most 1 action."));
    llm_prompt_clear(&c);
    llm_prompt_clear(&p);
    env_game_destroy(&g);
}

static void test_paper_variants(void **state)
{
    (void)state;
    llm_prompt_t p;
    /* automated arms: no cooperate line, ranked board, goal before round */
    static const char *const au[] = {"seed=7", "automation=auto_request",
                                     "rules.answer_request_form_only=false", NULL};
    free(s_preview(au, 3, 3, &p));
    assert_null(strstr(p.user, "Work together"));
    assert_non_null(strstr(p.user, "Revenue Board:\n1. agent_"));
    assert_true(strstr(p.user, "Your goal is") < strstr(p.user, "Current Round:"));
    assert_null(strstr(p.user, "Reply with one valid JSON object and nothing more"));
    llm_prompt_clear(&p);
    /* the automated variant has no policy type: a policy seat reads the
     * neutral goal */
    static const char *const aup[] = {"seed=7", "automation=auto_fulfill", "agent_types.policy=10",
                                      NULL};
    free(s_preview(aup, 3, 1, &p));
    assert_null(strstr(p.user, "Policy:"));
    llm_prompt_clear(&p);
    /* mixed mode: the REQUEST protocol */
    static const char *const mx[] = {"seed=7", "agents.mode=mixed", NULL};
    free(s_preview(mx, 3, 1, &p));
    assert_non_null(strstr(p.user, "CRITICAL COMMUNICATION PROTOCOL:"));
    assert_non_null(strstr(p.user, "\"content\": \"REQUEST: Q4 sales data for task_1\""));
    llm_prompt_clear(&p);
    /* the baseline: round before goal, cooperate line */
    static const char *const base[] = {"seed=7", NULL};
    free(s_preview(base, 3, 1, &p));
    assert_true(strstr(p.user, "Current Round:") < strstr(p.user, "Your goal is"));
    assert_non_null(strstr(p.user, "Work together with the other agents"));
    assert_null(strstr(p.user, "REQUEST FORMAT"));
    llm_prompt_clear(&p);
}

/* The parser takes the paper template's key ("action") as well as "type". */
static void test_parser_takes_both_keys(void **state)
{
    (void)state;
    const char *reply = "{\"actions\": [{\"action\": \"broadcast\", \"content\": \"hi\"}, "
                        "{\"type\": \"broadcast\", \"content\": \"ho\"}], "
                        "\"private_thoughts\": \"x\"}";
    env_decision_t *d = env_decision_new();
    char why[128];
    assert_int_equal(llm_parse_reply(reply, strlen(reply), d, NULL, NULL, why, sizeof why), 2);
    assert_int_equal(env_decision_actions(d)[0].kind, ENV_ACT_BROADCAST);
    env_decision_destroy(&d);
}

/* -------------------------------------------------- a user's own file -- */

static void test_user_template_verbatim(void **state)
{
    (void)state;
    /* No tags at all: the file is the prompt, byte for byte. */
    const char *plain = "Plain words, {single braces}, \"quotes\", $5 and a tab\there.\n\n"
                        "No trailing newline";
    const char *path = s_write("plain.txt", plain);
    char set[700];
    snprintf(set, sizeof set, "llm.prompt=%s", path);
    const char *const sets[] = {"seed=7", set, NULL};
    llm_prompt_t p;
    char *flat = s_preview(sets, 2, 2, &p);
    assert_null(p.system);
    assert_string_equal(p.user, plain);
    assert_non_null(strstr(flat, path)); /* labelled with the file it came from */
    free(flat);
    llm_prompt_clear(&p);

    /* With parts and variables, including a built-in piece. */
    const char *own = "{{$system}}\nRole: {{agent}} of {{n_agents}}.\n{{/system}}\n"
                      "Round {{round}} of {{rounds}}; tasks:\n"
                      "{{#tasks}}\n* {{id}} needs {{pieces_joined}}\n{{/tasks}}\n"
                      "{{> paper/limit}}";
    path = s_write("own.tmpl", own);
    snprintf(set, sizeof set, "seats.1.prompt=%s", path);
    const char *const sets2[] = {"seed=7", "seats=[{policy: llm, model: m, count: 10}]", set, NULL};
    free(s_preview(sets2, 2, 2, &p));
    assert_string_equal(p.system, "Role: agent_2 of 10.\n");
    assert_true(strncmp(p.user, "Round 2 of 20; tasks:\n* task_", 29) == 0);
    assert_non_null(strstr(p.user, " needs "));
    assert_non_null(strstr(p.user, "There is no limit on your actions in a round"));
    llm_prompt_clear(&p);
    /* ... and only that seat: agent_1 still reads the paper prompt */
    free(s_preview(sets2, 1, 2, &p));
    assert_non_null(strstr(p.user, "You are Agent agent_1,"));
    llm_prompt_clear(&p);
}

/* The agents read the resolved configuration that `parley run` writes
 * (pl_config_to_json): the prompt keys must survive it, a relative FILE made
 * absolute from the configuration's directory. */
static void test_config_keys_round_trip(void **state)
{
    (void)state;
    s_write("mine.tmpl", "Hello {{agent}}\n");
    const char *path = s_write("keys.yaml", "llm:\n  prompt: mine.tmpl\nagents:\n  mode: mixed\n"
                                            "simulation: {agents: 2}\n"
                                            "seats:\n  - {policy: llm, model: m, prompt: clear}\n"
                                            "  - {policy: perfect}\n");
    char err[600], want[700];
    pl_config_t *c = pl_config_load(path, err, sizeof err);
    if (!c) fail_msg("%s", err);
    char *dir = realpath(s_dir, NULL);
    assert_non_null(dir);
    snprintf(want, sizeof want, "%s/mine.tmpl", dir);
    free(dir);
    assert_string_equal(c->llm_prompt, want);
    assert_true(pl_config_mixed(c));
    assert_string_equal(c->seats[0].prompt, "clear");
    json_t *j = pl_config_to_json(c);
    char *text = json_dumps(j, 0);
    json_decref(j);
    pl_config_t *d = pl_config_parse(text, strlen(text), "config.json", err, sizeof err);
    free(text);
    if (!d) fail_msg("%s", err);
    assert_string_equal(d->llm_prompt, want);
    assert_true(pl_config_mixed(d));
    assert_string_equal(d->seats[0].prompt, "clear");
    assert_null(d->seats[1].prompt);
    pl_config_destroy(&d);
    pl_config_destroy(&c);
    /* a built-in variant named directly is a name, not a file */
    static const char *const forced[] = {"seed=7", "llm.prompt=paper/automated", NULL};
    llm_prompt_t p;
    char *flat = s_preview(forced, 3, 2, &p);
    assert_non_null(strstr(flat, "=== user (paper/automated) ==="));
    assert_non_null(p.system);
    assert_non_null(strstr(p.user, "Revenue Board:\n"));
    assert_null(strstr(p.user, "Work together")); /* the automated goal */
    free(flat);
    llm_prompt_clear(&p);
    c = pl_config_default();
    assert_false(pl_config_mixed(c));
    assert_null(c->llm_prompt);
    pl_config_destroy(&c);
}

/* ---------------------------------------------------- `parley prompt` -- */

static int s_run(const char *args, char **out)
{
    const char *bin = getenv("PARLEY_BIN");
    assert_non_null(bin);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s/parley prompt %s 2>&1", bin, args);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t got; (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (n + 1 >= cap) buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    int st = pclose(f);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli_prompt(void **state)
{
    (void)state;
    const char *src = getenv("PARLEY_SRC");
    char args[1024], path[1024], *out;
    snprintf(args, sizeof args, "%s/examples/paper.yaml --seat agent_3 --round 3 --seed 7", src);
    assert_int_equal(s_run(args, &out), 0);
    snprintf(path, sizeof path, "%s/tests/llm/golden/paper-baseline.txt", src);
    char *want = s_read(path);
    assert_non_null(want);
    assert_string_equal(out, want); /* examples/paper.yaml is the paper preset */
    free(want);
    free(out);

    snprintf(args, sizeof args, "default --seat 3 --round 2 --set llm.prompt=cache --part system");
    assert_int_equal(s_run(args, &out), 0);
    assert_true(strncmp(out, "You are agent_3, one of 10 agents", 33) == 0);
    free(out);

    /* A conversation (the cache prompt) prints every message its model would
     * read: the seat's turns of rounds 1 and 2, each with its kept decision,
     * then this turn's, which is what --part user prints alone; its --data
     * has what is new since the last turn. */
    assert_int_equal(s_run("default --seat 3 --round 3 --set llm.prompt=cache", &out), 0);
    assert_true(strncmp(out, "=== system (cache) ===\nYou are agent_3", 38) == 0);
    assert_non_null(strstr(out, "=== user, message 1 of "));
    assert_non_null(strstr(out, "=== assistant, message 2 of "));
    const char *last = strstr(out, ", this turn (cache) ===\n");
    assert_non_null(last);
    assert_null(strstr(last + 1, "=== ")); /* this turn's message is the last */
    char *turn = NULL;
    assert_int_equal(s_run("default --seat 3 --round 3 --set llm.prompt=cache --part user", &turn),
                     0);
    assert_string_equal(strchr(last, '\n') + 1, turn);
    free(turn);
    int users = 0;
    for (const char *q = out; (q = strstr(q, "=== user, message ")); q++) users++;
    assert_true(users >= 3); /* rounds 1, 2 and 3, and any reply turns between */
    free(out);
    assert_int_equal(s_run("default --seat 3 --round 3 --set llm.prompt=cache --data", &out), 0);
    json_t *data = json_loads(out, 0, NULL);
    assert_non_null(data);
    assert_true(json_is_false(json_object_get(data, "first_turn")));
    assert_true(json_is_object(json_object_get(data, "new")));
    json_decref(data);
    free(out);

    /* --data: the variables a template reads, with this turn's values */
    assert_int_equal(s_run("default --seat 3 --round 2 --data", &out), 0);
    data = json_loads(out, 0, NULL);
    assert_non_null(data);
    assert_string_equal(json_string_value(json_object_get(data, "agent")), "agent_3");
    assert_int_equal(json_integer_value(json_object_get(data, "round")), 2);
    assert_true(json_is_array(json_object_get(json_object_get(data, "paper"), "board_ranked")));
    json_decref(data);
    free(out);

    assert_int_equal(s_run("default --seat agent_11 --round 2", &out), 2);
    assert_non_null(strstr(out, "--seat agent_11: no such seat (agent_1 .. agent_10)"));
    free(out);
    assert_int_equal(s_run("default --seat agent_1 --round 21", &out), 2);
    assert_non_null(strstr(out, "--round 21: not a round of this game (1 .. 20)"));
    free(out);
    assert_int_equal(s_run("default --round 2", &out), 2);
    assert_non_null(strstr(out, "--seat and --round are needed"));
    free(out);
    assert_int_equal(s_run("--help", &out), 0);
    assert_non_null(strstr(out, "usage: parley prompt CONFIG --seat ID --round N"));
    free(out);
    snprintf(args, sizeof args, "default --seat 1 --round 1 --set llm.prompt=%s/nope.tmpl", s_dir);
    assert_int_equal(s_run(args, &out), 2);
    assert_non_null(strstr(out, "nope.tmpl"));
    free(out);
}

/* `parley run` refuses a seat whose template is broken before any process
 * starts, naming FILE:LINE. */
static void test_run_refuses_broken_template(void **state)
{
    (void)state;
    const char *tmpl = s_write("broken.tmpl", "Hi {{agent}}\n{{#tasks}}\n");
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "simulation: {agents: 2, rounds: 1}\nllm: {prompt: %s}\n"
             "seats:\n  - {policy: llm, model: m, count: 2}\n",
             tmpl);
    const char *cfg = s_write("broken.yaml", yaml);
    const char *bin = getenv("PARLEY_BIN");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "OPENAI_API_KEY=x %s/parley run %s --out %s/run --quiet 2>&1", bin,
             cfg, s_dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char out[4096];
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
    char want[700];
    snprintf(want, sizeof want, "agent_1: %s:2: section \"tasks\" is never closed", tmpl);
    if (!strstr(out, want)) fail_msg("expected \"%s\" in:\n%s", want, out);
    char run[600];
    snprintf(run, sizeof run, "%s/run/events.jsonl", s_dir);
    assert_int_equal(access(run, F_OK), -1); /* nothing was started */
}

/* ---------------------------------------------- the cache arrangement -- */

/* Mean share of each of agent_3's prompts that is an unchanged prefix of its
 * previous one, over five rounds of perfect play. */
static double s_prefix_shares(const char *spec)
{
    char set[64];
    snprintf(set, sizeof set, "llm.prompt=%s", spec);
    const char *const sets[] = {"seed=7", set, NULL};
    char *prev = NULL;
    double sum = 0;
    for (int round = 1; round <= 5; round++) {
        llm_prompt_t p;
        free(s_preview(sets, 3, round, &p));
        char *cur = llm_prompt_flat(&p);
        llm_prompt_clear(&p);
        if (prev) sum += llm_prefix_share(prev, cur);
        free(prev);
        prev = cur;
    }
    free(prev);
    return sum / 4;
}

/* One prompt a turn: the round line comes first in paper and clear, so almost
 * nothing is a reusable prefix (the cache prompt, a conversation, is below). */
static void test_single_prompts_keep_little_prefix(void **state)
{
    (void)state;
    double clear = s_prefix_shares("clear"), paper = s_prefix_shares("paper");
    print_message("prefix share: clear %.3f, paper %.3f\n", clear, paper);
    assert_true(clear < 0.5 && paper < 0.5);
    assert_true(llm_prefix_share(NULL, "abc") == 0);
    assert_true(llm_prefix_share("abcd", "abcd") == 1);
    assert_true(llm_prefix_share("abXd", "abcd") == 0.5);
}

static int s_setup(void **state)
{
    (void)state;
    const char *d = e2e_tmpdir("prompt");
    if (!d || strlen(d) >= sizeof s_dir) return -1;
    memcpy(s_dir, d, strlen(d) + 1);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_paper_baseline),
        cmocka_unit_test(test_golden_paper_policy),
        cmocka_unit_test(test_golden_paper_competitive_uncooperative),
        cmocka_unit_test(test_golden_paper_auto_fulfill),
        cmocka_unit_test(test_golden_paper_auto_request),
        cmocka_unit_test(test_rules_over_the_wire_reach_the_prompt),
        cmocka_unit_test(test_golden_paper_mixed),
        cmocka_unit_test(test_golden_paper_hidden_board),
        cmocka_unit_test(test_golden_clear_and_cache),
        cmocka_unit_test(test_paper_system_and_keys),
        cmocka_unit_test(test_paper_neutral_goal_is_neutral),
        cmocka_unit_test(test_paper_board_only_earners),
        cmocka_unit_test(test_paper_notes_and_requests),
        cmocka_unit_test(test_paper_variants),
        cmocka_unit_test(test_parser_takes_both_keys),
        cmocka_unit_test(test_user_template_verbatim),
        cmocka_unit_test(test_config_keys_round_trip),
        cmocka_unit_test(test_cli_prompt),
        cmocka_unit_test(test_run_refuses_broken_template),
        cmocka_unit_test(test_single_prompts_keep_little_prefix),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
