/* test_cli_compose.c: `parley compose` and `parley kube` as a user runs them
 * ($PARLEY_BIN), without a container engine: the files they render are read
 * back (libyaml) and checked for what the containers stage (.ci/containers.sh)
 * and a user rely on: one service or Pod per seat that is not human, each seat
 * on its own internal network with the broker, the web side on 127.0.0.1
 * only, secrets in 0600 files and nowhere else, the broker's single game, and
 * a clear refusal of bad input before anything is written; and the broker's
 * entry script with the real broker: one game per run directory. */
#include "e2e.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml.h>

#include <cmocka.h>

#define S_KEY "sk-test-c0ffee-1234"

/* Runs `parley ARGS...`; stdout and stderr into out (one buffer). Exit status. */
static int s_parley(char *out, size_t cap, const char *const *args)
{
    char prog[1024];
    const char *bin = getenv("PARLEY_BIN");
    snprintf(prog, sizeof prog, "%s/parley", bin ? bin : "./bin");
    const char *argv[32] = {prog};
    int n = 1;
    for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0;
    ssize_t r;
    while (len + 1 < cap && (r = read(p[0], out + len, cap - 1 - len)) > 0) len += (size_t)r;
    out[len] = '\0';
    close(p[0]);
    return e2e_wait(pid, 30000);
}

static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

/* YAML node -> JSON, scalars as strings (enough to check structure). */
static json_t *s_node(yaml_document_t *d, yaml_node_t *n)
{
    if (!n) return NULL;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return json_stringn((const char *)n->data.scalar.value, n->data.scalar.length);
    case YAML_SEQUENCE_NODE: {
        json_t *a = json_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
             i++)
            json_array_append_new(a, s_node(d, yaml_document_get_node(d, *i)));
        return a;
    }
    case YAML_MAPPING_NODE: {
        json_t *o = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(d, p->key);
            json_object_set_new(o, (const char *)k->data.scalar.value,
                                s_node(d, yaml_document_get_node(d, p->value)));
        }
        return o;
    }
    default:
        return json_null();
    }
}

/* Every document of a YAML file, as a JSON array; NULL if it does not parse. */
static json_t *s_yaml(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    json_t *docs = json_array();
    for (;;) {
        yaml_document_t d;
        if (!yaml_parser_load(&p, &d)) {
            json_decref(docs);
            docs = NULL;
            break;
        }
        yaml_node_t *root = yaml_document_get_root_node(&d);
        if (!root) {
            yaml_document_delete(&d);
            break;
        }
        json_array_append_new(docs, s_node(&d, root));
        yaml_document_delete(&d);
    }
    yaml_parser_delete(&p);
    fclose(f);
    return docs;
}

static bool s_has(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (strcmp(json_string_value(v), s) == 0) return true;
    return false;
}

static int s_mode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

/* perfect, selfish, llm (key in PARLEY_TEST_KEY), human. */
static const char *s_config(const char *dir)
{
    return e2e_write(dir, "four.yaml",
                     "seed: 5\nsimulation: {rounds: 3, agents: 4}\n"
                     "information: {total_pieces: 40, pieces_per_agent: 10}\n"
                     "seats:\n  - {policy: perfect}\n  - {policy: selfish}\n"
                     "  - {policy: llm, model: m, api_key_env: PARLEY_TEST_KEY}\n"
                     "  - {policy: human}\n");
}

static void test_compose_renders_isolated_services(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("compose");
    const char *cfg = s_config(dir);
    char out[1100], path[1300], text[8192];
    snprintf(out, sizeof out, "%s/proj", dir);
    setenv("PARLEY_TEST_KEY", S_KEY, 1);
    const char *args[] = {"compose", cfg, "--out", out, "--port", "0", "--fake-llm", NULL};
    assert_int_equal(s_parley(text, sizeof text, args), 0);

    snprintf(path, sizeof path, "%s/compose.yaml", out);
    json_t *docs = s_yaml(path);
    assert_non_null(docs);
    json_t *doc = json_array_get(docs, 0), *svcs = json_object_get(doc, "services"),
           *nets = json_object_get(doc, "networks");
    /* One service per seat that is not human, the broker, agent_3's model. */
    assert_int_equal(json_object_size(svcs), 5);
    assert_non_null(json_object_get(svcs, "agent_3"));
    assert_non_null(json_object_get(svcs, "model_3"));
    assert_null(json_object_get(svcs, "agent_4"));
    /* The human seat's page is announced with its token. */
    assert_non_null(strstr(text, "agent_4 plays in the browser: http://127.0.0.1:"));
    assert_non_null(strstr(text, "/seat/agent_4?token="));

    /* Each agent on its own internal network (and the llm seat on its
     * model's); only the broker joins front, only the broker publishes, and
     * on 127.0.0.1. */
    const char *key;
    json_t *svc;
    json_object_foreach(svcs, key, svc)
    {
        json_t *sn = json_object_get(svc, "networks");
        if (strcmp(key, "broker") == 0) {
            assert_true(s_has(sn, "front"));
            for (int i = 1; i <= 4; i++) {
                char net[16];
                snprintf(net, sizeof net, "seat_%d", i);
                assert_true(s_has(sn, net));
            }
            json_t *ports = json_object_get(svc, "ports");
            assert_int_equal(json_array_size(ports), 1);
            assert_string_equal(json_string_value(json_array_get(ports, 0)), "127.0.0.1::8080");
            continue;
        }
        assert_null(json_object_get(svc, "ports"));
        assert_false(s_has(sn, "front"));
        if (strncmp(key, "agent_", 6) == 0) {
            char net[16];
            snprintf(net, sizeof net, "seat_%s", key + 6);
            assert_true(s_has(sn, net));
            assert_int_equal(json_array_size(sn), strcmp(key, "agent_3") == 0 ? 2 : 1);
        } else {
            assert_string_equal(key, "model_3");
            assert_int_equal(json_array_size(sn), 1);
            assert_true(s_has(sn, "model_3"));
        }
    }
    json_object_foreach(nets, key, svc)
    {
        const char *internal = json_string_value(json_object_get(svc, "internal"));
        if (strcmp(key, "front") == 0)
            assert_null(internal);
        else
            assert_string_equal(internal, "true");
    }

    /* Secrets: 0600 files, the key in the llm seat's and its model's only,
     * no token or key in the compose file or the configuration. */
    char *compose = s_slurp(path);
    snprintf(path, sizeof path, "%s/game/config.json", out);
    char *config = s_slurp(path);
    assert_non_null(compose);
    assert_non_null(config);
    assert_null(strstr(compose, S_KEY));
    assert_null(strstr(config, S_KEY));
    assert_non_null(strstr(config, "http://model_3:8000/v1"));
    const char *envs[] = {"broker", "agent_1", "agent_2", "agent_3", "agent_4", "model_3"};
    for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
        snprintf(path, sizeof path, "%s/secrets/%s.env", out, envs[i]);
        assert_int_equal(s_mode(path), 0600);
        char *env = s_slurp(path);
        assert_non_null(env);
        bool want_key = strcmp(envs[i], "agent_3") == 0 || strcmp(envs[i], "model_3") == 0;
        assert_int_equal(strstr(env, S_KEY) != NULL, want_key);
        /* every token there is absent from the compose file */
        for (char *line = strtok(env, "\n"); line; line = strtok(NULL, "\n")) {
            char *eq = strchr(line, '=');
            assert_non_null(eq);
            assert_null(strstr(compose, eq + 1));
        }
        free(env);
    }
    /* A second render into the same project is refused; the tokens stay. */
    snprintf(path, sizeof path, "%s/secrets/broker.env", out);
    char *before = s_slurp(path);
    assert_int_equal(s_parley(text, sizeof text, args), 2);
    assert_non_null(strstr(text, "exists"));
    char *after = s_slurp(path);
    assert_string_equal(before, after);
    free(before);
    free(after);
    free(compose);
    free(config);
    json_decref(docs);
}

static void test_bad_input_is_refused_before_writing(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("composebad");
    const char *cfg = s_config(dir);
    char out[1100], path[1300], text[8192];
    snprintf(out, sizeof out, "%s/proj", dir);
    unsetenv("PARLEY_TEST_KEY");
    const char *nokey[] = {"compose", cfg, "--out", out, NULL};
    assert_int_equal(s_parley(text, sizeof text, nokey), 2);
    assert_non_null(strstr(text, "agent_3"));
    assert_non_null(strstr(text, "PARLEY_TEST_KEY is not set"));
    assert_int_equal(access(out, F_OK), -1);
    const char *nokube[] = {"kube", cfg, "--out", out, NULL};
    assert_int_equal(s_parley(text, sizeof text, nokube), 2);
    assert_non_null(strstr(text, "PARLEY_TEST_KEY is not set"));
    assert_int_equal(access(out, F_OK), -1);

    const char *bad = e2e_write(dir, "bad.yaml", "seed: 1\nsimulation:\n  rounds: many\n");
    const char *badcfg[] = {"compose", bad, "--out", out, NULL};
    assert_int_equal(s_parley(text, sizeof text, badcfg), 2);
    snprintf(path, sizeof path, "%s:3:", bad);
    assert_non_null(strstr(text, path)); /* FILE:LINE */
    const char *badtarget[] = {"kube", "--target", "swarm", NULL};
    assert_int_equal(s_parley(text, sizeof text, badtarget), 2);
    assert_non_null(strstr(text, "kubernetes or podman"));
    const char *badname[] = {"kube", "--name", "Parley_1", NULL};
    assert_int_equal(s_parley(text, sizeof text, badname), 2);
    assert_non_null(strstr(text, "--name"));
    const char *help[] = {"kube", "--help", NULL};
    assert_int_equal(s_parley(text, sizeof text, help), 0);
    assert_non_null(strstr(text, "--target"));
}

/* The cluster render: the broker plays once, every seat restarts on failure,
 * secrets only in secrets.yaml (0600). */
static void test_kube_cluster_broker_runs_once(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("kube");
    const char *cfg = s_config(dir);
    char out[1100], path[1300], text[8192];
    snprintf(out, sizeof out, "%s/k8s", dir);
    setenv("PARLEY_TEST_KEY", S_KEY, 1);
    const char *args[] = {"kube", cfg, "--out", out, "--fake-llm", NULL};
    assert_int_equal(s_parley(text, sizeof text, args), 0);
    snprintf(path, sizeof path, "%s/game.yaml", out);
    json_t *docs = s_yaml(path);
    char *game = s_slurp(path);
    assert_non_null(docs);
    assert_non_null(game);
    assert_null(strstr(game, S_KEY));
    int jobs = 0, agent_jobs = 0, policies = 0, services = 0;
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d)
    {
        const char *kind = json_string_value(json_object_get(d, "kind"));
        const char *name =
            json_string_value(json_object_get(json_object_get(d, "metadata"), "name"));
        json_t *spec = json_object_get(d, "spec");
        if (strcmp(kind, "Job") == 0) {
            jobs++;
            json_t *pod = json_object_get(json_object_get(spec, "template"), "spec");
            const char *restart = json_string_value(json_object_get(pod, "restartPolicy"));
            if (strcmp(name, "parley-broker") == 0) {
                assert_string_equal(json_string_value(json_object_get(spec, "backoffLimit")), "0");
                assert_string_equal(restart, "Never");
            } else {
                agent_jobs++;
                assert_string_equal(restart, "OnFailure");
            }
        }
        if (strcmp(kind, "NetworkPolicy") == 0) policies++;
        if (strcmp(kind, "Service") == 0) services++;
    }
    assert_int_equal(jobs, 4); /* broker + 3 seats (the human plays in the browser) */
    assert_int_equal(agent_jobs, 3);
    assert_int_equal(services, 2); /* broker, model */
    assert_int_equal(policies, 5); /* deny, broker, agents, llm seat's egress, model */
    snprintf(path, sizeof path, "%s/secrets.yaml", out);
    assert_int_equal(s_mode(path), 0600);
    char *secrets = s_slurp(path);
    assert_non_null(strstr(secrets, S_KEY));
    free(secrets);
    free(game);
    json_decref(docs);
}

/* The podman render: secrets in the flat base64 form podman 4.3 reads, and
 * scripts to play and tear down. */
static void test_kube_podman_secrets_and_scripts(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("kubepod");
    char out[1100], path[1300], text[8192];
    snprintf(out, sizeof out, "%s/pods", dir);
    const char *args[] = {"kube", "--target", "podman", "--out", out, "--name", "g1", NULL};
    assert_int_equal(s_parley(text, sizeof text, args), 0);
    snprintf(path, sizeof path, "%s/secrets/g1-agent-7.json", out);
    assert_int_equal(s_mode(path), 0600);
    json_t *sec = json_load_file(path, 0, NULL);
    assert_non_null(sec);
    assert_int_equal(json_object_size(sec), 4); /* the token and the seat's CURVE keys */
    assert_non_null(json_object_get(sec, "PARLEY_CURVE_SECRET"));
    const char *b64 = json_string_value(json_object_get(sec, "PARLEY_TOKEN"));
    assert_non_null(b64);
    assert_int_equal(strlen(b64), 44); /* 32 hex characters, base64 */
    json_decref(sec);
    const char *files[] = {"play.sh", "teardown.sh"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", out, files[i]);
        assert_int_equal(s_mode(path) & 0100, 0100);
    }
    snprintf(path, sizeof path, "%s/play.sh", out);
    char *play = s_slurp(path);
    assert_non_null(strstr(play, "./teardown.sh\n"));
    assert_non_null(strstr(play, "--network g1-net-seat-7 g1-agent-7.yaml"));
    free(play);
    snprintf(path, sizeof path, "%s/g1-broker.yaml", out);
    json_t *docs = s_yaml(path);
    assert_non_null(docs);
    json_t *pod = json_array_get(docs, 0);
    assert_string_equal(json_string_value(json_object_get(pod, "kind")), "Pod");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(pod, "spec"), "restartPolicy")), "Never");
    json_decref(docs);
}

/* compose/broker-entry.sh with the real parley-broker, outside a container:
 * a new run directory per start; a named one played once, then refused. */
static int s_entry(const char *root, const char *run_id, char *out, size_t cap)
{
    char script[1024], path[4096];
    const char *src = getenv("PARLEY_SRC"), *bin = getenv("PARLEY_BIN");
    snprintf(script, sizeof script, "%s/compose/broker-entry.sh", src ? src : "..");
    snprintf(path, sizeof path, "%s:%s", bin ? bin : "./bin", getenv("PATH"));
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setenv("PATH", path, 1);
        if (run_id)
            setenv("PARLEY_RUN_ID", run_id, 1);
        else
            unsetenv("PARLEY_RUN_ID");
        unsetenv("PARLEY_HTTP_FRONT");
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        /* No seat joins: the broker starts without them after 0.2 s and
         * plays a one-round game to its end (a finished run directory). */
        execl("/bin/sh", "sh", script, root, "--set", "simulation.rounds=1", "--bind",
              "tcp://127.0.0.1:*", "--no-pub", "--no-http", "--start-timeout", "0.2", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0;
    ssize_t r;
    while (len + 1 < cap && (r = read(p[0], out + len, cap - 1 - len)) > 0) len += (size_t)r;
    out[len] = '\0';
    close(p[0]);
    return e2e_wait(pid, 30000);
}

static int s_games(const char *dir)
{
    json_t *starts = e2e_events(dir, "run_start");
    int n = starts ? (int)json_array_size(starts) : -1;
    json_decref(starts);
    return n;
}

static void test_broker_entry_one_game_per_directory(void **state)
{
    (void)state;
    const char *dir = e2e_tmpdir("entry");
    char root[1100], path[1600], latest[1300], first[256] = "", text[8192];
    snprintf(root, sizeof root, "%s/runs", dir);

    /* Unnamed: every start is a new directory with one game. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s_entry(root, NULL, text, sizeof text), 0);
        snprintf(latest, sizeof latest, "%s/latest", root);
        char target[256];
        ssize_t n = readlink(latest, target, sizeof target - 1);
        assert_true(n > 0);
        target[n] = '\0';
        assert_string_not_equal(target, first);
        snprintf(first, sizeof first, "%s", target);
        snprintf(path, sizeof path, "%s/%s", root, target);
        assert_int_equal(s_games(path), 1);
    }

    /* Named: played once; a second start is refused and changes nothing. */
    assert_int_equal(s_entry(root, "game-1", text, sizeof text), 0);
    snprintf(path, sizeof path, "%s/game-1/events.jsonl", root);
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(s_entry(root, "game-1", text, sizeof text), 3);
    assert_non_null(strstr(text, "finished game"));
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(before.st_size, after.st_size);
    snprintf(path, sizeof path, "%s/game-1", root);
    assert_int_equal(s_games(path), 1);

    /* An unfinished one: refused while the broker cannot resume; handed to
     * it once it can (its --help says so). */
    snprintf(path, sizeof path, "%s/game-2", root);
    assert_int_equal(mkdir(path, 0755), 0);
    e2e_write(path, "events.jsonl", "");
    int rc = s_entry(root, "game-2", text, sizeof text);
    if (strstr(text, "resuming"))
        assert_int_not_equal(rc, 3);
    else {
        assert_int_equal(rc, 3);
        assert_non_null(strstr(text, "cannot resume"));
    }

    /* A run id that would leave the runs folder is refused. */
    assert_int_equal(s_entry(root, "../elsewhere", text, sizeof text), 3);
    assert_non_null(strstr(text, "PARLEY_RUN_ID"));
    snprintf(path, sizeof path, "%s/elsewhere", dir);
    assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compose_renders_isolated_services),
        cmocka_unit_test(test_bad_input_is_refused_before_writing),
        cmocka_unit_test(test_kube_cluster_broker_runs_once),
        cmocka_unit_test(test_kube_podman_secrets_and_scripts),
        cmocka_unit_test(test_broker_entry_one_game_per_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
