/* cli_podman.c: play.sh and teardown.sh of `parley kube --target podman`
 * (cli_podman.h): the commands podman 4.3 needs around `kube play`, which
 * has no Service, no Secret kind and applies --network to a whole file. */
#include "cli_podman.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_podman_scripts(const cli_game_t *g, const char *name, const char *run_id, bool fake_llm,
                       const char *out, const json_t *secret_names)
{
    char path[PATH_MAX], n[160];
    size_t cap = 8192, len = 0;
    char *play = malloc(cap), *down = NULL;
    int rc = -1;
#define S_ADD(...)                                                                                 \
    do {                                                                                           \
        int w_ = snprintf(play + len, cap - len, __VA_ARGS__);                                     \
        while (w_ >= 0 && (size_t)w_ >= cap - len) {                                               \
            char *np_ = realloc(play, cap *= 2);                                                   \
            if (!np_) goto fail;                                                                   \
            play = np_;                                                                            \
            w_ = snprintf(play + len, cap - len, __VA_ARGS__);                                     \
        }                                                                                          \
        if (w_ < 0) goto fail;                                                                     \
        len += (size_t)w_;                                                                         \
    } while (0)
    if (!play) return -1;
    play[0] = '\0';
    /* teardown.sh first: it is short and play.sh runs it. */
    S_ADD("#!/bin/sh\n# Written by `parley kube --target podman`: removes this game's pods,\n"
          "# secrets and networks. --volumes also removes the runs volume (the data).\n"
          "cd \"$(dirname \"$0\")\"\n");
    for (int i = 0; i < cli_game_seats(g); i++) {
        char m[48];
        if (strcmp(cli_game_policy(g, i), "human") == 0) continue;
        cli_game_object_name(n, sizeof n, name, cli_game_seat(g, i));
        S_ADD("podman pod rm -f %s >/dev/null 2>&1\n", n);
        if (!cli_game_is_llm(g, i) || !fake_llm) continue;
        snprintf(m, sizeof m, "model_%d", i + 1);
        cli_game_object_name(n, sizeof n, name, m);
        S_ADD("podman pod rm -f %s >/dev/null 2>&1\n", n);
    }
    cli_game_object_name(n, sizeof n, name, "broker");
    S_ADD("podman pod rm -f %s >/dev/null 2>&1\n", n);
    size_t i_s;
    json_t *sn;
    json_array_foreach(secret_names, i_s, sn)
        S_ADD("podman secret rm %s >/dev/null 2>&1\n", json_string_value(sn));
    S_ADD("for net in $(podman network ls -q --filter name='^%s-net-'); do podman network rm -f "
          "\"$net\" >/dev/null 2>&1; done\n",
          name);
    cli_game_object_name(n, sizeof n, name, "config");
    S_ADD("podman volume rm -f %s >/dev/null 2>&1\n", n);
    cli_game_object_name(n, sizeof n, name, "runs");
    S_ADD("[ \"${1:-}\" = --volumes ] && podman volume rm -f %s >/dev/null 2>&1\nexit 0\n", n);
    down = strdup(play);
    if (!down || cli_path(path, "%s/teardown.sh", out) != 0 || cli_write_file(path, down, 0755))
        goto fail;

    len = 0;
    play[0] = '\0';
    S_ADD("#!/bin/sh\n# Written by `parley kube --target podman`: plays the game with podman\n"
          "# kube play (podman 4.3 or later). A failed play leaves pods behind, so the\n"
          "# last one is torn down first (the runs volume stays).\n"
          "set -eu\ncd \"$(dirname \"$0\")\"\n./teardown.sh\n");
    S_ADD("podman network create %s-net-front >/dev/null\n", name);
    for (int i = 0; i < cli_game_seats(g); i++) {
        S_ADD("podman network create --internal %s-net-seat-%d >/dev/null\n", name, i + 1);
        if (cli_game_is_llm(g, i) && fake_llm)
            S_ADD("podman network create --internal %s-net-model-%d >/dev/null\n", name, i + 1);
    }
    json_array_foreach(secret_names, i_s, sn)
        S_ADD("podman secret create %s secrets/%s.json >/dev/null\n", json_string_value(sn),
              json_string_value(sn));
    cli_game_object_name(n, sizeof n, name, "runs");
    S_ADD("podman volume exists %s || podman kube play -q %s.yaml >/dev/null\n", n, n);
    cli_game_object_name(n, sizeof n, name, "broker");
    S_ADD("podman kube play -q --configmap configmap.yaml --network %s-net-front", name);
    for (int i = 0; i < cli_game_seats(g); i++) S_ADD(" --network %s-net-seat-%d", name, i + 1);
    S_ADD(" %s.yaml >/dev/null\n", n);
    for (int i = 0; i < cli_game_seats(g); i++) {
        char m[48];
        if (strcmp(cli_game_policy(g, i), "human") == 0) continue;
        bool model = cli_game_is_llm(g, i) && fake_llm;
        if (model) {
            snprintf(m, sizeof m, "model_%d", i + 1);
            cli_game_object_name(n, sizeof n, name, m);
            S_ADD("podman kube play -q --network %s-net-model-%d %s.yaml >/dev/null\n", name, i + 1,
                  n);
        }
        cli_game_object_name(n, sizeof n, name, cli_game_seat(g, i));
        S_ADD("podman kube play -q --configmap configmap.yaml --network %s-net-seat-%d", name,
              i + 1);
        if (model) S_ADD(" --network %s-net-model-%d", name, i + 1);
        S_ADD(" %s.yaml >/dev/null\n", n);
    }
    cli_game_object_name(n, sizeof n, name, "broker");
    char runs[160];
    cli_game_object_name(runs, sizeof runs, name, "runs");
    S_ADD("echo \"playing: podman wait %s-broker waits for the end; the run directory is\"\n"
          "echo \"%s in the volume %s (podman volume inspect %s)\"\n",
          n, run_id, runs, runs);
    if (cli_path(path, "%s/play.sh", out) != 0 || cli_write_file(path, play, 0755) != 0) goto fail;
    rc = 0;
#undef S_ADD
fail:
    free(play);
    free(down);
    return rc;
}
