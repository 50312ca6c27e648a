/* cli_kube.c: `parley kube CONFIG [--out DIR] [--target kubernetes|podman]`,
 * one game as Kubernetes objects.
 *
 * kubernetes (for kubectl apply on a cluster), into DIR:
 *   game.yaml     ConfigMap (the resolved configuration), PersistentVolumeClaim
 *                 (the runs), the broker as a Job that never starts a second
 *                 game (backoffLimit 0, restartPolicy Never, and its entry
 *                 script refuses a finished run directory), its Service, one
 *                 Job per seat (restartPolicy OnFailure: a crashed agent comes
 *                 back and takes its seat over), a model Deployment + Service
 *                 per llm seat with --fake-llm, and NetworkPolicies: agents
 *                 reach the broker and DNS, nothing else; an llm seat also its
 *                 own model (or, with a real provider, addresses outside the
 *                 cluster's private ranges)
 *   secrets.yaml  one Secret per seat and the broker's (mode 0600)
 *   collect.yaml  a Pod that mounts the runs read-only, for kubectl cp
 * podman (Debian 12's podman 4.3 `kube play`: no Job, no Service, no
 * NetworkPolicy, no Secret kind), into DIR:
 *   configmap.yaml, broker.yaml (the runs' PVC and the broker Pod),
 *   agent_N.yaml / model_N.yaml (bare Pods), secrets/NAME.json (the form
 *   podman 4.3 reads for secretKeyRef: a flat JSON map of base64 values),
 *   play.sh and teardown.sh. play.sh gives each pod the networks compose
 *   gives its service (one internal network per seat), so the isolation is
 *   the same; names resolve as pod names, which the Services give on a
 *   cluster, so one configuration serves both. */
#include "cli_compose.h"
#include "cli_game.h"
#include "cli_podman.h"
#include "pl_fs.h"
#include "pl_yamlw.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_FAKE_PORT 8000
#define S_UID       999 /* the image's parley user (compose/Dockerfile) */

typedef struct {
    const cli_game_t *g;
    const char *name; /* object name prefix */
    const char *image;
    const char *start_timeout;
    char run_id[64];
    int port; /* podman: host port on 127.0.0.1 (0: none) */
    bool podman, fake_llm;
} s_kube_t;

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: parley kube [CONFIG] [--out DIR] [--target kubernetes|podman] [--name NAME]\n"
            "                   [--seed N] [--set key=value]... [--image NAME] [--port N]\n"
            "                   [--start-timeout S] [--fake-llm] [--force]\n"
            "  CONFIG          a YAML configuration (default: the paper preset)\n"
            "  --out           the output directory (default parley-kube)\n"
            "  --target        kubernetes (default: kubectl apply -f DIR/secrets.yaml -f\n"
            "                  DIR/game.yaml) or podman (bare Pods: DIR/play.sh)\n"
            "  --name          prefix of every object's name (default parley)\n"
            "  --seed, --set   as for parley run\n"
            "  --image         the image holding parley (default localhost/parley)\n"
            "  --port          podman: host port of the web side on 127.0.0.1 (default 8080;\n"
            "                  0: not published)\n"
            "  --start-timeout seconds the broker waits for every seat (default 300)\n"
            "  --fake-llm      each llm seat talks to its own parley-fake-llm\n"
            "  --force         overwrite existing files in DIR\n"
            "The rendered game is one game: its run directory (/runs/RUN_ID on the runs\n"
            "volume) is refused once finished; render again for another game.\n");
}

/* DNS-1123 names: agent_3 -> NAME-agent-3. */
static void s_obj(char *out, size_t len, const s_kube_t *k, const char *what)
{
    cli_game_object_name(out, len, k->name, what);
}

static json_t *s_labels(const s_kube_t *k, const char *component, const char *seat)
{
    char s[64];
    json_t *l = json_pack("{ssss}", "app.kubernetes.io/part-of", k->name,
                          "app.kubernetes.io/component", component);
    if (l && seat) {
        snprintf(s, sizeof s, "%s", seat);
        for (char *p = s; *p; p++)
            if (*p == '_') *p = '-';
        if (json_object_set_new(l, "parley/seat", json_string(s)) != 0) {
            json_decref(l);
            return NULL;
        }
    }
    return l;
}

static json_t *s_secret_env(const char *var, const char *secret, const char *key)
{
    return json_pack("{ss s{s{ssss}}}", "name", var, "valueFrom", "secretKeyRef", "name", secret,
                     "key", key);
}

/* The pod spec of the broker: one container, the runs and the config. */
static json_t *s_broker_pod_spec(const s_kube_t *k)
{
    char cm[128], runs[128], sec[128];
    s_obj(cm, sizeof cm, k, "config");
    s_obj(runs, sizeof runs, k, "runs");
    s_obj(sec, sizeof sec, k, "broker");
    json_t *env = json_array(), *ports = json_array();
    if (!env || !ports) goto fail;
    if (json_array_append_new(env,
                              json_pack("{ssss}", "name", "PARLEY_RUN_ID", "value", k->run_id)))
        goto fail;
    if (k->podman && json_array_append_new(
                         env, json_pack("{ssss}", "name", "PARLEY_HTTP_FRONT", "value", "8080")))
        goto fail;
    for (int i = 0; i < cli_game_seats(k->g); i++) {
        char var[48], key[64];
        snprintf(var, sizeof var, "TOKEN_%s", cli_game_seat(k->g, i));
        snprintf(key, sizeof key, "CURVE_PUBLIC_%s", cli_game_seat(k->g, i));
        if (json_array_append_new(env, s_secret_env(var, sec, var)) != 0 ||
            json_array_append_new(env, s_secret_env(key, sec, key)) != 0)
            goto fail;
    }
    if (json_array_append_new(env, s_secret_env("PARLEY_CURVE_BROKER_SECRET", sec,
                                                "PARLEY_CURVE_BROKER_SECRET")) != 0 ||
        json_array_append_new(
            env, s_secret_env("PARLEY_EXPERIMENTER_TOKEN", sec, "PARLEY_EXPERIMENTER_TOKEN")) != 0)
        goto fail;
    if (json_array_append_new(ports, json_pack("{sssi}", "name", "agents", "containerPort", 5555)))
        goto fail;
    json_t *web = json_pack("{sssi}", "name", "web", "containerPort", 8080);
    if (web && k->podman && k->port > 0 &&
        (json_object_set_new(web, "hostPort", json_integer(k->port)) ||
         json_object_set_new(web, "hostIP", json_string("127.0.0.1")))) {
        json_decref(web);
        goto fail;
    }
    if (json_array_append_new(ports, web) != 0) goto fail;
    const char *cmd[] = {"/usr/local/bin/broker-entry.sh", "/runs", NULL};
    const char *args[] = {"--config",
                          "/game/config.json",
                          "--bind",
                          "tcp://*:5555",
                          "--no-pub",
                          "--web-seats",
                          "--start-timeout",
                          k->start_timeout,
                          "--curve",
                          NULL,
                          NULL,
                          NULL};
    /* A cluster pod has one interface (NetworkPolicy keeps agents off 8080);
     * a podman pod sits on every seat's network, so the web side goes on
     * front's address only (compose/broker-entry.sh). */
    if (!k->podman) {
        args[9] = "--http";
        args[10] = "0.0.0.0:8080";
    }
    json_t *c = json_pack("{ss ss so so so so s[{ssss}{sssssb}]}", "name", "broker", "image",
                          k->image, "command", pl_yamlw_list(cmd), "args", pl_yamlw_list(args),
                          "env", env, "ports", ports, "volumeMounts", "name", "runs", "mountPath",
                          "/runs", "name", "config", "mountPath", "/game", "readOnly", 1);
    env = ports = NULL;
    if (!c) goto fail;
    return json_pack("{ss s[o] s{sisi} s[{ss s{ss}}{ss s{ss}}]}", "restartPolicy", "Never",
                     "containers", c, "securityContext", "runAsUser", S_UID, "fsGroup", S_UID,
                     "volumes", "name", "runs", "persistentVolumeClaim", "claimName", runs, "name",
                     "config", "configMap", "name", cm);
fail:
    json_decref(env);
    json_decref(ports);
    return NULL;
}

static json_t *s_agent_pod_spec(const s_kube_t *k, int i)
{
    char cm[128], sec[128], broker[160], seat_obj[96];
    const char *seat = cli_game_seat(k->g, i);
    s_obj(cm, sizeof cm, k, "config");
    s_obj(seat_obj, sizeof seat_obj, k, seat);
    snprintf(sec, sizeof sec, "%s", seat_obj);
    char broker_obj[128];
    s_obj(broker_obj, sizeof broker_obj, k, "broker");
    snprintf(broker, sizeof broker, "tcp://%s:5555", broker_obj);
    json_t *env = json_array();
    if (!env || json_array_append_new(env, s_secret_env("PARLEY_TOKEN", sec, "PARLEY_TOKEN")))
        goto fail;
    static const char *const curve[] = {"PARLEY_CURVE_SERVER", "PARLEY_CURVE_PUBLIC",
                                        "PARLEY_CURVE_SECRET"};
    for (int c = 0; c < 3; c++)
        if (json_array_append_new(env, s_secret_env(curve[c], sec, curve[c])) != 0) goto fail;
    const char *var = cli_game_config(k->g)->seats[i].api_key_env;
    if (cli_game_is_llm(k->g, i) && var && *var &&
        json_array_append_new(env, s_secret_env(var, sec, var)) != 0)
        goto fail;
    const char *args[] = {"--broker", broker,
                          "--seat",   seat,
                          "--policy", cli_game_policy(k->g, i),
                          "--config", "/game/config.json",
                          NULL};
    json_t *c = json_pack("{ss ss s[s] so so s[{sssssb}]}", "name", "agent", "image", k->image,
                          "command", "parley-agent", "args", pl_yamlw_list(args), "env", env,
                          "volumeMounts", "name", "config", "mountPath", "/game", "readOnly", 1);
    env = NULL;
    if (!c) goto fail;
    /* A crashed agent is restarted and takes its seat over with its token;
     * one that saw the game end exits 0 and is done. */
    return json_pack("{ss s[o] s[{ss s{ss}}]}", "restartPolicy", "OnFailure", "containers", c,
                     "volumes", "name", "config", "configMap", "name", cm);
fail:
    json_decref(env);
    return NULL;
}

static json_t *s_model_pod_spec(const s_kube_t *k, int i)
{
    char sec[128];
    s_obj(sec, sizeof sec, k, cli_game_seat(k->g, i));
    const char *var = cli_game_config(k->g)->seats[i].api_key_env;
    json_t *env = json_array();
    if (!env || (var && *var &&
                 json_array_append_new(env, s_secret_env("PARLEY_FAKE_LLM_KEY", sec, var)) != 0)) {
        json_decref(env);
        return NULL;
    }
    json_t *c = json_pack("{ss ss s[sssss] so s[{sssi}]}", "name", "model", "image", k->image,
                          "command", "parley-fake-llm", "--host", "0.0.0.0", "--port", "8000",
                          "env", env, "ports", "name", "http", "containerPort", S_FAKE_PORT);
    if (!c) return NULL;
    return json_pack("{ss s[o]}", "restartPolicy", k->podman ? "OnFailure" : "Always", "containers",
                     c);
}

static json_t *s_pod(const char *name, json_t *labels, json_t *spec)
{
    json_t *p = json_pack("{ssss s{ssso} so}", "apiVersion", "v1", "kind", "Pod", "metadata",
                          "name", name, "labels", labels, "spec", spec);
    return p;
}

/* A Job around a pod spec (the cluster's way to run something to its end). */
static json_t *s_job(const char *name, json_t *labels, json_t *spec, int backoff)
{
    json_t *p = json_pack("{ssss s{sssO} s{si s{s{sO}so}}}", "apiVersion", "batch/v1", "kind",
                          "Job", "metadata", "name", name, "labels", labels, "spec", "backoffLimit",
                          backoff, "template", "metadata", "labels", labels, "spec", spec);
    json_decref(labels);
    return p;
}

static json_t *s_service(const char *name, json_t *selector, json_t *ports)
{
    return json_pack("{ssss s{ss} s{soso}}", "apiVersion", "v1", "kind", "Service", "metadata",
                     "name", name, "spec", "selector", selector, "ports", ports);
}

static json_t *s_policy(const char *name, json_t *pod_labels, json_t *types, json_t *ingress,
                        json_t *egress)
{
    json_t *spec =
        json_pack("{s{so}so}", "podSelector", "matchLabels", pod_labels, "policyTypes", types);
    if (spec && ingress && json_object_set_new(spec, "ingress", ingress) != 0) ingress = NULL;
    if (spec && egress && json_object_set_new(spec, "egress", egress) != 0) egress = NULL;
    if (!spec) {
        json_decref(ingress);
        json_decref(egress);
        return NULL;
    }
    return json_pack("{ssss s{ss} so}", "apiVersion", "networking.k8s.io/v1", "kind",
                     "NetworkPolicy", "metadata", "name", name, "spec", spec);
}

static json_t *s_match(const s_kube_t *k, const char *component, const char *seat)
{
    return json_pack("{s{so}}", "podSelector", "matchLabels", s_labels(k, component, seat));
}

static json_t *s_configmap(const s_kube_t *k, const char *config_text)
{
    char n[160];
    s_obj(n, sizeof n, k, "config");
    return json_pack("{ssss s{ssso} s{ss}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                     "name", n, "labels", s_labels(k, "config", NULL), "data", "config.json",
                     config_text);
}

/* Every cluster document of game.yaml, in apply order. */
static json_t *s_cluster_docs(const s_kube_t *k, json_t *config_json)
{
    char n[160], m[160];
    json_t *docs = json_array(), *d;
    char *cj = json_dumps(config_json, JSON_INDENT(2));
    if (!docs || !cj) goto fail;
    /* podman takes the ConfigMap apart (--configmap FILE). */
    if (!k->podman && json_array_append_new(docs, s_configmap(k, cj)) != 0) goto fail;
    s_obj(n, sizeof n, k, "runs");
    d = json_pack("{ssss s{ssso} s{s[s] s{s{ss}}}}", "apiVersion", "v1", "kind",
                  "PersistentVolumeClaim", "metadata", "name", n, "labels",
                  s_labels(k, "runs", NULL), "spec", "accessModes", "ReadWriteOnce", "resources",
                  "requests", "storage", "1Gi");
    if (json_array_append_new(docs, d) != 0) goto fail;
    s_obj(n, sizeof n, k, "broker");
    d = k->podman ? s_pod(n, s_labels(k, "broker", NULL), s_broker_pod_spec(k))
                  : s_job(n, s_labels(k, "broker", NULL), s_broker_pod_spec(k), 0);
    if (json_array_append_new(docs, d) != 0) goto fail;
    if (!k->podman) {
        d = s_service(n, s_labels(k, "broker", NULL),
                      json_pack("[{sssisi}{sssisi}]", "name", "agents", "port", 5555, "targetPort",
                                5555, "name", "web", "port", 8080, "targetPort", 8080));
        if (json_array_append_new(docs, d) != 0) goto fail;
    }
    for (int i = 0; i < cli_game_seats(k->g); i++) {
        const char *seat = cli_game_seat(k->g, i);
        if (strcmp(cli_game_policy(k->g, i), "human") == 0) continue;
        s_obj(n, sizeof n, k, seat);
        d = k->podman ? s_pod(n, s_labels(k, "agent", seat), s_agent_pod_spec(k, i))
                      : s_job(n, s_labels(k, "agent", seat), s_agent_pod_spec(k, i), 20);
        if (json_array_append_new(docs, d) != 0) goto fail;
        if (!cli_game_is_llm(k->g, i) || !k->fake_llm) continue;
        snprintf(m, sizeof m, "model_%d", i + 1);
        s_obj(n, sizeof n, k, m);
        if (k->podman) {
            d = s_pod(n, s_labels(k, "model", seat), s_model_pod_spec(k, i));
        } else {
            json_t *spec = s_model_pod_spec(k, i);
            d = json_pack("{ssss s{ssso} s{si s{so} s{s{so}so}}}", "apiVersion", "apps/v1", "kind",
                          "Deployment", "metadata", "name", n, "labels", s_labels(k, "model", seat),
                          "spec", "replicas", 1, "selector", "matchLabels",
                          s_labels(k, "model", seat), "template", "metadata", "labels",
                          s_labels(k, "model", seat), "spec", spec);
            if (json_array_append_new(docs, d) != 0) goto fail;
            d = s_service(n, s_labels(k, "model", seat),
                          json_pack("[{sssisi}]", "name", "http", "port", S_FAKE_PORT, "targetPort",
                                    S_FAKE_PORT));
        }
        if (json_array_append_new(docs, d) != 0) goto fail;
    }
    if (k->podman) goto done;

    /* Isolation: everything of this game denies by default; then the broker
     * takes agents on 5555; agents reach the broker
     * and DNS; an llm seat its own model (or outside the cluster). */
    s_obj(n, sizeof n, k, "default-deny");
    d = s_policy(n, json_pack("{ss}", "app.kubernetes.io/part-of", k->name),
                 json_pack("[ss]", "Ingress", "Egress"), NULL, NULL);
    if (json_array_append_new(docs, d) != 0) goto fail;
    s_obj(n, sizeof n, k, "broker");
    d = s_policy(
        n, s_labels(k, "broker", NULL), json_pack("[s]", "Ingress"),
        /* No pod reaches 8080: people use kubectl port-forward. */
        json_pack("[{s[o]s[{si}]}]", "from", s_match(k, "agent", NULL), "ports", "port", 5555),
        NULL);
    if (json_array_append_new(docs, d) != 0) goto fail;
    s_obj(n, sizeof n, k, "agents");
    d = s_policy(n, s_labels(k, "agent", NULL), json_pack("[s]", "Egress"), NULL,
                 json_pack("[{s[o]s[{si}]}{s[{s{s{ss}}}]s[{sssi}{sssi}]}]", "to",
                           s_match(k, "broker", NULL), "ports", "port", 5555, "to",
                           "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name",
                           "kube-system", "ports", "protocol", "UDP", "port", 53, "protocol", "TCP",
                           "port", 53));
    if (json_array_append_new(docs, d) != 0) goto fail;
    for (int i = 0; i < cli_game_seats(k->g); i++) {
        const char *seat = cli_game_seat(k->g, i);
        if (!cli_game_is_llm(k->g, i)) continue;
        snprintf(m, sizeof m, "%s-model", seat);
        s_obj(n, sizeof n, k, m);
        json_t *to = k->fake_llm ? json_pack("[{s[o]s[{si}]}]", "to", s_match(k, "model", seat),
                                             "ports", "port", S_FAKE_PORT)
                                 : json_pack("[{s[{s{sss[sss]}}]s[{si}]}]", "to", "ipBlock", "cidr",
                                             "0.0.0.0/0", "except", "10.0.0.0/8", "172.16.0.0/12",
                                             "192.168.0.0/16", "ports", "port", 443);
        d = s_policy(n, s_labels(k, "agent", seat), json_pack("[s]", "Egress"), NULL, to);
        if (json_array_append_new(docs, d) != 0) goto fail;
        if (!k->fake_llm) continue;
        snprintf(m, sizeof m, "model_%d", i + 1);
        s_obj(n, sizeof n, k, m);
        d = s_policy(n, s_labels(k, "model", seat), json_pack("[s]", "Ingress"),
                     json_pack("[{s[o]s[{si}]}]", "from", s_match(k, "agent", seat), "ports",
                               "port", S_FAKE_PORT),
                     NULL);
        if (json_array_append_new(docs, d) != 0) goto fail;
    }
done:
    free(cj);
    return docs;
fail:
    free(cj);
    json_decref(docs);
    return NULL;
}

static int s_base64(const char *in, char *out, size_t outlen)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), o = 0;
    if (outlen < 4 * ((n + 2) / 3) + 1) return -1;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n) v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)in[i + 2];
        out[o++] = t[(v >> 18) & 63];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = '\0';
    return 0;
}

/* A Secret's variables, in the form each target reads: a Secret object with
 * stringData for a cluster; for podman 4.3, whose secretKeyRef reads a podman
 * secret as a flat JSON map of base64 values, that map. */
static json_t *s_secret(const s_kube_t *k, const char *name, const json_t *vars, const char *seat)
{
    const char *key;
    json_t *v;
    if (!k->podman)
        return json_pack("{ssss s{ssso} ss sO}", "apiVersion", "v1", "kind", "Secret", "metadata",
                         "name", name, "labels", s_labels(k, seat ? "agent" : "broker", seat),
                         "type", "Opaque", "stringData", vars);
    json_t *flat = json_object();
    json_object_foreach((json_t *)vars, key, v)
    {
        const char *s = json_string_value(v);
        char *b = malloc(4 * (strlen(s) / 3 + 2) + 1);
        if (!b || s_base64(s, b, 4 * (strlen(s) / 3 + 2) + 1) != 0 ||
            json_object_set_new(flat, key, json_string(b)) != 0) {
            free(b);
            json_decref(flat);
            return NULL;
        }
        free(b);
    }
    return flat;
}

static int s_dump(const char *path, const json_t *j, int mode)
{
    char *text = json_dumps(j, JSON_INDENT(2));
    int rc = text ? cli_write_file(path, text, mode) : -1;
    free(text);
    return rc;
}

int cli_kube_main(int argc, char **argv)
{
    s_kube_t k = {.name = "parley"};
    cli_deploy_opts_t o = {.out = "parley-kube",
                           .image = "localhost/parley",
                           .start_timeout = "300",
                           .port = 8080,
                           .sets = calloc((size_t)argc + 1, sizeof(char *))};
    const char *config_path = NULL, *out = NULL;
    int rc = 2;
    char err[512] = "", path[PATH_MAX], n[160];
    cli_game_t *g = NULL;
    json_t *docs = NULL, *cfg_json = NULL, *secrets = NULL, *secret_names = NULL;
    char *cfg_text = NULL;
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},  {"target", required_argument, NULL, 'T'},
        {"name", required_argument, NULL, 'n'}, {"seed", required_argument, NULL, 's'},
        {"set", required_argument, NULL, 'S'},  {"image", required_argument, NULL, 'i'},
        {"port", required_argument, NULL, 'p'}, {"start-timeout", required_argument, NULL, 't'},
        {"fake-llm", no_argument, NULL, 'F'},   {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    if (!o.sets) return 2;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "o:T:n:s:S:i:p:t:Ffh", longopts, NULL)) != -1) {
        int took = cli_deploy_opt(&o, opt, optarg, "parley kube");
        if (took < 0) goto done;
        if (took) continue;
        switch (opt) {
        case 'T':
            if (strcmp(optarg, "kubernetes") != 0 && strcmp(optarg, "podman") != 0) {
                fprintf(stderr, "parley kube: --target takes kubernetes or podman, not '%s'\n",
                        optarg);
                goto done;
            }
            k.podman = strcmp(optarg, "podman") == 0;
            break;
        case 'n': {
            /* A DNS-1123 label, with room for the longest suffix. */
            size_t len = strlen(optarg);
            bool ok = len > 0 && len <= 40 && optarg[0] >= 'a' && optarg[0] <= 'z' &&
                      optarg[len - 1] != '-';
            for (size_t c = 0; ok && c < len; c++)
                ok = (optarg[c] >= 'a' && optarg[c] <= 'z') ||
                     (optarg[c] >= '0' && optarg[c] <= '9') || optarg[c] == '-';
            if (!ok) {
                fprintf(stderr,
                        "parley kube: --name '%s': lower-case letters, digits and '-', a letter "
                        "first, at most 40\n",
                        optarg);
                goto done;
            }
            k.name = optarg;
            break;
        }
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
    out = o.out;
    k.image = o.image;
    k.start_timeout = o.start_timeout;
    k.port = o.port;
    k.fake_llm = o.fake_llm;
    g = cli_game_new(config_path, o.seed, o.sets, o.n_sets, err, sizeof err);
    if (!g) {
        fprintf(stderr, "parley kube: %s\n", err);
        goto done;
    }
    k.g = g;
    {
        char hex[9];
        FILE *r = fopen("/dev/urandom", "rb");
        unsigned char b[4];
        if (!r || fread(b, 1, 4, r) != 4) {
            if (r) fclose(r);
            fprintf(stderr, "parley kube: cannot read /dev/urandom\n");
            goto done;
        }
        fclose(r);
        snprintf(hex, sizeof hex, "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
        snprintf(k.run_id, sizeof k.run_id, "%s-%s", k.name, hex);
    }
    for (int i = 0; k.fake_llm && i < cli_game_seats(g); i++) {
        char url[224], m[48];
        snprintf(m, sizeof m, "model_%d", i + 1);
        s_obj(n, sizeof n, &k, m);
        snprintf(url, sizeof url, "http://%s:%d/v1", n, S_FAKE_PORT);
        if (cli_game_is_llm(g, i) && cli_game_set_base_url(g, i, url) != 0) goto oom;
    }
    if (cli_path(path, "%s/%s", out, k.podman ? "play.sh" : "game.yaml") != 0) goto write_fail;
    if (!o.force && access(path, F_OK) == 0) {
        fprintf(stderr, "parley kube: %s exists (--force replaces the game and its tokens)\n",
                path);
        goto done;
    }
    if (cli_path(path, "%s/secrets", out) != 0 || pl_mkdirs(k.podman ? path : out) != 0)
        goto write_fail;

    cfg_json = cli_game_config_json(g);
    cfg_text = cfg_json ? json_dumps(cfg_json, JSON_INDENT(2)) : NULL;
    docs = cfg_text ? s_cluster_docs(&k, cfg_json) : NULL;
    secrets = json_array();
    secret_names = json_array();
    if (!docs || !secrets || !secret_names) goto oom;
    /* The secrets: the broker's (every token), then one per seat. */
    json_t *vars = cli_game_broker_env(g);
    s_obj(n, sizeof n, &k, "broker");
    if (!vars || json_array_append_new(secrets, s_secret(&k, n, vars, NULL)) != 0 ||
        json_array_append_new(secret_names, json_string(n)) != 0) {
        json_decref(vars);
        goto oom;
    }
    json_decref(vars);
    for (int i = 0; i < cli_game_seats(g); i++) {
        if (strcmp(cli_game_policy(g, i), "human") == 0) continue;
        vars = cli_game_seat_env(g, i);
        s_obj(n, sizeof n, &k, cli_game_seat(g, i));
        if (!vars || json_array_append_new(secrets, s_secret(&k, n, vars, cli_game_seat(g, i))) ||
            json_array_append_new(secret_names, json_string(n)) != 0) {
            json_decref(vars);
            goto oom;
        }
        json_decref(vars);
    }

    static const char cluster_header[] =
        "# Written by `parley kube`: one game of parley on a Kubernetes cluster.\n"
        "#   kubectl apply -f secrets.yaml -f game.yaml\n"
        "# The broker is a Job that plays one game; docs/CONTAINERS.md says how to\n"
        "# watch it, join human seats and collect the run directory.\n";
    if (!k.podman) {
        size_t nd = json_array_size(docs);
        json_t **list = calloc(nd + 1, sizeof *list);
        if (!list) goto oom;
        for (size_t i = 0; i < nd; i++) list[i] = json_array_get(docs, i);
        int w = cli_path(path, "%s/game.yaml", out) != 0 ? -1 : 0;
        if (w == 0) w = pl_yamlw_write_file(path, cluster_header, list, nd, err, sizeof err);
        free(list);
        if (w != 0) goto yaml_fail;
        nd = json_array_size(secrets);
        list = calloc(nd + 1, sizeof *list);
        if (!list) goto oom;
        for (size_t i = 0; i < nd; i++) list[i] = json_array_get(secrets, i);
        w = cli_path(path, "%s/secrets.yaml", out) != 0 ? -1 : 0;
        if (w == 0)
            w = pl_yamlw_write_file(path, "# Seat tokens and API keys: keep this file private.\n",
                                    list, nd, err, sizeof err);
        free(list);
        if (w != 0 || chmod(path, 0600) != 0) goto yaml_fail;
        /* The way out for the data: a pod on the runs volume, for kubectl cp. */
        char runs[160], collect[160];
        s_obj(runs, sizeof runs, &k, "runs");
        s_obj(collect, sizeof collect, &k, "collect");
        json_t *pod =
            s_pod(collect, s_labels(&k, "collect", NULL),
                  json_pack("{ss s{sisi} s[{ss ss s[ss] s[{sssssb}]}] s[{ss s{sssb}}]}",
                            "restartPolicy", "Never", "securityContext", "runAsUser", S_UID,
                            "fsGroup", S_UID, "containers", "name", "collect", "image", k.image,
                            "command", "sleep", "3600", "volumeMounts", "name", "runs", "mountPath",
                            "/runs", "readOnly", 1, "volumes", "name", "runs",
                            "persistentVolumeClaim", "claimName", runs, "readOnly", 1));
        if (!pod) goto oom;
        char header[512];
        snprintf(header, sizeof header,
                 "# After the game: kubectl apply -f collect.yaml, then\n"
                 "#   kubectl cp %s:/runs/%s ./%s && kubectl delete -f collect.yaml\n",
                 collect, k.run_id, k.run_id);
        w = cli_path(path, "%s/collect.yaml", out) != 0 ? -1 : 0;
        if (w == 0) w = pl_yamlw_write_file(path, header, &pod, 1, err, sizeof err);
        json_decref(pod);
        if (w != 0) goto yaml_fail;
    } else {
        /* podman: one file per pod (each is played on its own networks). */
        json_t *cm = s_configmap(&k, cfg_text);
        int w = cm && cli_path(path, "%s/configmap.yaml", out) == 0
                    ? pl_yamlw_write_file(path, "# The configuration, for --configmap.\n", &cm, 1,
                                          err, sizeof err)
                    : -1;
        json_decref(cm);
        if (w != 0) goto yaml_fail;
        /* docs: the PVC (its own file: kube play refuses one whose volume
         * exists, and the runs outlive a play), the broker Pod, then the
         * seats' and models' Pods, one file each. */
        json_t *pvc = json_array_get(docs, 0), *broker = json_array_get(docs, 1);
        s_obj(n, sizeof n, &k, "runs");
        if (cli_path(path, "%s/%s.yaml", out, n) != 0 ||
            pl_yamlw_write_file(path, "# The runs volume (the data).\n", &pvc, 1, err,
                                sizeof err) != 0)
            goto yaml_fail;
        s_obj(n, sizeof n, &k, "broker");
        if (cli_path(path, "%s/%s.yaml", out, n) != 0 ||
            pl_yamlw_write_file(path, "", &broker, 1, err, sizeof err) != 0)
            goto yaml_fail;
        for (size_t i = 2; i < json_array_size(docs); i++) {
            json_t *d = json_array_get(docs, i);
            const char *pn =
                json_string_value(json_object_get(json_object_get(d, "metadata"), "name"));
            if (cli_path(path, "%s/%s.yaml", out, pn) != 0 ||
                pl_yamlw_write_file(path, "", &d, 1, err, sizeof err) != 0)
                goto yaml_fail;
        }
        size_t i_s;
        json_t *sec;
        json_array_foreach(secrets, i_s, sec)
        {
            if (cli_path(path, "%s/secrets/%s.json", out,
                         json_string_value(json_array_get(secret_names, i_s))) != 0 ||
                s_dump(path, sec, 0600) != 0)
                goto write_fail;
        }
        if (cli_podman_scripts(g, k.name, k.run_id, k.fake_llm, out, secret_names) != 0)
            goto write_fail;
    }
    for (int i = 0; i < cli_game_seats(g); i++)
        if (strcmp(cli_game_policy(g, i), "human") == 0)
            printf("%s plays in the browser: <web address>/seat/%s?token=%s\n", cli_game_seat(g, i),
                   cli_game_seat(g, i), cli_game_token(g, i));
    printf("%s: %s (%d seats, run %s)\n", k.podman ? "podman pods" : "kubernetes manifests", out,
           cli_game_seats(g), k.run_id);
    if (k.podman)
        printf("play it: %s/play.sh\n", out);
    else
        printf("play it: kubectl apply -f %s/secrets.yaml -f %s/game.yaml\n", out, out);
    rc = 0;
    goto done;
yaml_fail:
    fprintf(stderr, "parley kube: %s\n", err[0] ? err : strerror(errno));
    goto done;
write_fail:
    fprintf(stderr, "parley kube: %s: %s\n", path, strerror(errno));
    goto done;
oom:
    fprintf(stderr, "parley kube: out of memory\n");
done:
    json_decref(docs);
    json_decref(cfg_json);
    json_decref(secrets);
    json_decref(secret_names);
    free(cfg_text);
    cli_game_destroy(&g);
    free(o.sets);
    return rc;
}
