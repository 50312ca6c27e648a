/* cli_compose.h: the container commands of the front door (docs/CONTAINERS.md).
 *   parley compose CONFIG [--out DIR]   a compose project for one host
 *   parley kube CONFIG [--out DIR]      Kubernetes manifests, or bare Pods for
 *                                       `podman kube play` (--target podman)
 * Both take the command's argv (argv[0] its name) and return the exit status. */
#ifndef PARLEY_CLI_COMPOSE_H
#define PARLEY_CLI_COMPOSE_H

int cli_compose_main(int argc, char **argv);
int cli_kube_main(int argc, char **argv);

#endif
