/* cli_compose.c: `parley compose CONFIG [--out DIR]`, one game as a compose
 * project (podman-compose or docker compose) on one host.
 *
 * Writes into DIR:
 *   compose.yaml        the broker, one service per seat (no service for a
 *                       human seat: people play in the browser), and for each
 *                       llm seat with --fake-llm a model endpoint of its own
 *   game/config.json    the resolved configuration, mounted read-only
 *   secrets/NAME.env    the broker's seat tokens, each seat's token (and an llm
 *                       seat's API key): env files, mode 0600, never inlined
 * Isolation is an experimental control: each seat has an internal network that
 * only it and the broker join, so agents reach the broker and nothing else; an
 * llm seat also joins a network of its own towards its model (internal, to the
 * fake model, or with an outside route when the model is a real provider).
 * The broker alone publishes a port: its web side (dashboard, seat pages) on
 * 127.0.0.1 of the host. Its entry script (compose/broker-entry.sh) makes a new
 * run directory in the `runs` volume every time it starts. */
#include "cli_compose.h"
#include "cli_game.h"
#include "pl_fs.h"
#include "pl_yamlw.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_FAKE_PORT "8000"

static void s_usage(FILE *f)
{
    fprintf(f, "usage: parley compose [CONFIG] [--out DIR] [--seed N] [--set key=value]...\n"
               "                      [--image NAME] [--port N] [--start-timeout S] [--fake-llm]\n"
               "                      [--force]\n"
               "  CONFIG          a YAML configuration (default: the paper preset)\n"
               "  --out           the project directory (default parley-compose)\n"
               "  --seed, --set   as for parley run\n"
               "  --image         the image holding parley (default localhost/parley, built by\n"
               "                  podman build -f compose/Dockerfile -t localhost/parley .)\n"
               "  --port          host port of the dashboard and seat pages on 127.0.0.1\n"
               "                  (default 8080; 0: any free port, see `podman port`)\n"
               "  --start-timeout seconds the broker waits for every seat (default 300)\n"
               "  --fake-llm      each llm seat talks to its own parley-fake-llm container\n"
               "  --force         overwrite an existing project in DIR\n"
               "Then: cd DIR && podman-compose up (docker compose up works too).\n"
               "Each `up` plays one game into a new directory of the `runs` volume.\n");
}

static json_t *s_broker_service(const cli_game_t *g, const char *image, int port,
                                const char *start_timeout)
{
    char published[64];
    if (port > 0)
        snprintf(published, sizeof published, "127.0.0.1:%d:8080", port);
    else
        snprintf(published, sizeof published, "127.0.0.1::8080");
    const char *entry[] = {"/usr/local/bin/broker-entry.sh", "/runs", NULL};
    const char *cmd[] = {
        "--config",    "/game/config.json", "--bind",          "tcp://*:5555", "--no-pub",
        "--web-seats", "--curve",           "--start-timeout", start_timeout,  NULL};
    const char *vols[] = {"runs:/runs", "./game:/game:ro", NULL};
    const char *ports[] = {published, NULL};
    const char *envs[] = {"secrets/broker.env", NULL};
    json_t *s = json_object(), *nets = json_array();
    if (!s || !nets || pl_yamlw_append(nets, "front") != 0) goto fail;
    for (int i = 0; i < cli_game_seats(g); i++) {
        char net[48];
        snprintf(net, sizeof net, "seat_%d", i + 1);
        if (pl_yamlw_append(nets, net) != 0) goto fail;
    }
    if (json_object_set_new(s, "image", json_string(image)) ||
        json_object_set_new(s, "entrypoint", pl_yamlw_list(entry)) ||
        json_object_set_new(s, "command", pl_yamlw_list(cmd)) ||
        json_object_set_new(s, "env_file", pl_yamlw_list(envs)) ||
        /* The web side on front's address only (compose/broker-entry.sh):
         * agents reach the agent port, not the live view. */
        json_object_set_new(s, "environment", json_pack("{ss}", "PARLEY_HTTP_FRONT", "8080")) ||
        json_object_set_new(s, "volumes", pl_yamlw_list(vols)) ||
        json_object_set_new(s, "ports", pl_yamlw_list(ports)) ||
        json_object_set_new(s, "networks", nets) ||
        /* One game per start: a broker that ended is not restarted. */
        json_object_set_new(s, "restart", json_string("no")))
        goto fail_s;
    return s;
fail:
    json_decref(nets);
fail_s:
    json_decref(s);
    return NULL;
}

static json_t *s_agent_service(const cli_game_t *g, int i, const char *image, bool fake_llm)
{
    const char *seat = cli_game_seat(g, i);
    char env_file[64], seat_net[48], model_net[48], model_svc[48];
    snprintf(env_file, sizeof env_file, "secrets/%s.env", seat);
    snprintf(seat_net, sizeof seat_net, "seat_%d", i + 1);
    snprintf(model_net, sizeof model_net, "model_%d", i + 1);
    snprintf(model_svc, sizeof model_svc, "model_%d", i + 1);
    const char *entry[] = {"parley-agent", NULL};
    const char *cmd[] = {"--broker", "tcp://broker:5555", "--seat",
                         seat,       "--policy",          cli_game_policy(g, i),
                         "--config", "/game/config.json", NULL};
    const char *vols[] = {"./game:/game:ro", NULL};
    const char *envs[] = {env_file, NULL};
    json_t *s = json_object(), *nets = json_array(), *deps = json_array();
    if (!s || !nets || !deps || pl_yamlw_append(nets, seat_net) != 0 ||
        pl_yamlw_append(deps, "broker") != 0)
        goto fail;
    if (cli_game_is_llm(g, i) && (pl_yamlw_append(nets, model_net) != 0 ||
                                  (fake_llm && pl_yamlw_append(deps, model_svc) != 0)))
        goto fail;
    if (json_object_set_new(s, "image", json_string(image)) ||
        json_object_set_new(s, "entrypoint", pl_yamlw_list(entry)) ||
        json_object_set_new(s, "command", pl_yamlw_list(cmd)) ||
        json_object_set_new(s, "env_file", pl_yamlw_list(envs)) ||
        json_object_set_new(s, "volumes", pl_yamlw_list(vols)) ||
        json_object_set_new(s, "networks", nets) || json_object_set_new(s, "depends_on", deps) ||
        /* A crashed agent comes back and takes its seat over with its token;
         * one that saw the game end exits 0 and stays down. */
        json_object_set_new(s, "restart", json_string("on-failure")))
        goto fail_s;
    return s;
fail:
    json_decref(nets);
    json_decref(deps);
fail_s:
    json_decref(s);
    return NULL;
}

/* The fake model beside llm seat i: listens on its own network only, and,
 * when the seat has a key, refuses requests without it (the key comes from
 * secrets/model_N.env, as the seat's does). */
static json_t *s_model_service(const cli_game_t *g, int i, const char *image)
{
    char net[48], env_file[64];
    snprintf(net, sizeof net, "model_%d", i + 1);
    snprintf(env_file, sizeof env_file, "secrets/model_%d.env", i + 1);
    const char *entry[] = {"parley-fake-llm", "--host", "0.0.0.0", "--port", S_FAKE_PORT, NULL};
    const char *nets[] = {net, NULL};
    const char *envs[] = {env_file, NULL};
    const char *var = cli_game_config(g)->seats[i].api_key_env;
    json_t *s = json_object();
    if (!s || json_object_set_new(s, "image", json_string(image)) ||
        json_object_set_new(s, "entrypoint", pl_yamlw_list(entry)) ||
        (var && *var && json_object_set_new(s, "env_file", pl_yamlw_list(envs))) ||
        json_object_set_new(s, "networks", pl_yamlw_list(nets)) ||
        json_object_set_new(s, "restart", json_string("on-failure"))) {
        json_decref(s);
        return NULL;
    }
    return s;
}

static json_t *s_network(bool internal)
{
    json_t *n = json_object();
    if (n && internal && json_object_set_new(n, "internal", json_true()) != 0) {
        json_decref(n);
        return NULL;
    }
    return n;
}

static json_t *s_project(const cli_game_t *g, const char *image, int port,
                         const char *start_timeout, bool fake_llm)
{
    json_t *doc = json_object(), *svcs = json_object(), *nets = json_object(),
           *vols = json_object();
    if (!doc || !svcs || !nets || !vols) goto fail;
    if (json_object_set_new(svcs, "broker", s_broker_service(g, image, port, start_timeout)) != 0)
        goto fail;
    /* front: the broker's way out to the published port; the only network
     * with a route off the host's bridges, and no agent joins it. */
    if (json_object_set_new(nets, "front", s_network(false)) != 0) goto fail;
    for (int i = 0; i < cli_game_seats(g); i++) {
        char name[48];
        snprintf(name, sizeof name, "seat_%d", i + 1);
        if (json_object_set_new(nets, name, s_network(true)) != 0) goto fail;
        if (strcmp(cli_game_policy(g, i), "human") == 0) continue; /* plays in the browser */
        if (json_object_set_new(svcs, cli_game_seat(g, i), s_agent_service(g, i, image, fake_llm)))
            goto fail;
        if (!cli_game_is_llm(g, i)) continue;
        snprintf(name, sizeof name, "model_%d", i + 1);
        /* Towards the model: internal to a fake beside it, or a route out to a
         * real provider (docs/CONTAINERS.md: restricting it to one host needs
         * an egress proxy). */
        if (json_object_set_new(nets, name, s_network(fake_llm)) != 0) goto fail;
        if (fake_llm && json_object_set_new(svcs, name, s_model_service(g, i, image)) != 0)
            goto fail;
    }
    if (json_object_set_new(vols, "runs", json_object()) != 0) goto fail;
    if (json_object_set_new(doc, "services", svcs) != 0) {
        svcs = NULL;
        goto fail;
    }
    svcs = NULL;
    if (json_object_set_new(doc, "networks", nets) != 0) {
        nets = NULL;
        goto fail;
    }
    nets = NULL;
    if (json_object_set_new(doc, "volumes", vols) != 0) {
        vols = NULL;
        goto fail;
    }
    return doc;
fail:
    json_decref(svcs);
    json_decref(nets);
    json_decref(vols);
    json_decref(doc);
    return NULL;
}

int cli_compose_main(int argc, char **argv)
{
    cli_deploy_opts_t o = {.out = "parley-compose",
                           .image = "localhost/parley",
                           .start_timeout = "300",
                           .port = 8080,
                           .sets = calloc((size_t)argc + 1, sizeof(char *))};
    const char *config_path = NULL;
    int rc = 2;
    char err[512] = "", path[PATH_MAX];
    cli_game_t *g = NULL;
    json_t *doc = NULL;
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},  {"seed", required_argument, NULL, 's'},
        {"set", required_argument, NULL, 'S'},  {"image", required_argument, NULL, 'i'},
        {"port", required_argument, NULL, 'p'}, {"start-timeout", required_argument, NULL, 't'},
        {"fake-llm", no_argument, NULL, 'F'},   {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    if (!o.sets) return 2;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "o:s:S:i:p:t:Ffh", longopts, NULL)) != -1) {
        int took = cli_deploy_opt(&o, opt, optarg, "parley compose");
        if (took < 0) goto done;
        if (took) continue;
        switch (opt) {
        case 'h':
            s_usage(stdout);
            rc = 0;
            goto done;
        default:
            s_usage(stderr);
            goto done;
        }
    }
    if (optind < argc) config_path = argv[optind++];
    if (optind < argc) {
        s_usage(stderr);
        goto done;
    }
    g = cli_game_new(config_path, o.seed, o.sets, o.n_sets, err, sizeof err);
    if (!g) {
        fprintf(stderr, "parley compose: %s\n", err);
        goto done;
    }
    for (int i = 0; o.fake_llm && i < cli_game_seats(g); i++) {
        char url[96];
        snprintf(url, sizeof url, "http://model_%d:" S_FAKE_PORT "/v1", i + 1);
        if (cli_game_is_llm(g, i) && cli_game_set_base_url(g, i, url) != 0) goto oom;
    }

    if (cli_path(path, "%s/compose.yaml", o.out) != 0) goto write_fail;
    if (!o.force && access(path, F_OK) == 0) {
        fprintf(stderr, "parley compose: %s exists (--force replaces the project and its tokens)\n",
                path);
        goto done;
    }
    if (cli_path(path, "%s/game", o.out) != 0) goto write_fail;
    char secrets[PATH_MAX];
    if (cli_path(secrets, "%s/secrets", o.out) != 0) goto write_fail;
    if (pl_mkdirs(path) != 0 || pl_mkdirs(secrets) != 0) {
        fprintf(stderr, "parley compose: %s: %s\n", o.out, strerror(errno));
        goto done;
    }
    if (cli_path(path, "%s/game/config.json", o.out) != 0) goto write_fail;
    json_t *cj = cli_game_config_json(g);
    if (!cj || json_dump_file(cj, path, JSON_INDENT(2)) != 0) {
        json_decref(cj);
        fprintf(stderr, "parley compose: %s: cannot write\n", path);
        goto done;
    }
    json_decref(cj);
    if (cli_path(path, "%s/broker.env", secrets) != 0) goto write_fail;
    json_t *env = cli_game_broker_env(g);
    int wrc = env ? cli_write_env_file(path, env) : -1;
    json_decref(env);
    if (wrc != 0) goto write_fail;
    for (int i = 0; i < cli_game_seats(g); i++) {
        if (cli_path(path, "%s/%s.env", secrets, cli_game_seat(g, i)) != 0) goto write_fail;
        env = cli_game_seat_env(g, i);
        wrc = env ? cli_write_env_file(path, env) : -1;
        json_decref(env);
        if (wrc != 0) goto write_fail;
        const char *var = cli_game_config(g)->seats[i].api_key_env;
        if (!o.fake_llm || !cli_game_is_llm(g, i) || !var || !*var) continue;
        if (cli_path(path, "%s/model_%d.env", secrets, i + 1) != 0) goto write_fail;
        env = json_pack("{ss}", "PARLEY_FAKE_LLM_KEY", getenv(var) ? getenv(var) : "");
        wrc = env ? cli_write_env_file(path, env) : -1;
        json_decref(env);
        if (wrc != 0) goto write_fail;
    }
    doc = s_project(g, o.image, o.port, o.start_timeout, o.fake_llm);
    if (!doc) goto oom;
    if (cli_path(path, "%s/compose.yaml", o.out) != 0) goto write_fail;
    static const char header[] =
        "# Written by `parley compose`: one game of parley on one host.\n"
        "#   podman-compose up          (or: docker compose up)\n"
        "# Each up plays one game into a new directory of the `runs` volume; the\n"
        "# dashboard and seat pages are on 127.0.0.1 only. Tokens and keys are in\n"
        "# secrets/ (mode 0600), never here. docs/CONTAINERS.md explains the rest.\n";
    if (pl_yamlw_write_file(path, header, &doc, 1, err, sizeof err) != 0) {
        fprintf(stderr, "parley compose: %s\n", err);
        goto done;
    }
    printf("compose project: %s (%d seats)\n", o.out, cli_game_seats(g));
    for (int i = 0; i < cli_game_seats(g); i++) {
        if (strcmp(cli_game_policy(g, i), "human") != 0) continue;
        /* With --port 0 the host port is known once the broker runs. */
        char host_port[32];
        snprintf(host_port, sizeof host_port, "%d", o.port);
        printf("%s plays in the browser: http://127.0.0.1:%s/seat/%s?token=%s\n",
               cli_game_seat(g, i), o.port > 0 ? host_port : "PORT", cli_game_seat(g, i),
               cli_game_token(g, i));
    }
    if (o.port == 0) printf("PORT: podman port <project>_broker_1 8080, once it is up\n");
    printf("play it: cd %s && podman-compose up\n", o.out);
    rc = 0;
    goto done;
write_fail:
    fprintf(stderr, "parley compose: %s: %s\n", path, strerror(errno));
    goto done;
oom:
    fprintf(stderr, "parley compose: out of memory\n");
done:
    json_decref(doc);
    cli_game_destroy(&g);
    free(o.sets);
    return rc;
}
