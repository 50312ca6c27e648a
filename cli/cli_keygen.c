/* cli_keygen.c: `parley keygen NAME...` makes CURVE keypairs for a study on a
 * shared network (docs/SECURITY.md): DIR/NAME.key holds "PUBLIC SECRET"
 * (mode 0600, for NAME alone), DIR/NAME.pub the public key (for whoever must
 * know it). parley-broker --keys DIR reads broker.key and every client's .pub;
 * a client is handed its own .key and broker.pub. */
#include "cli.h"
#include "pl_keys.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void s_usage(FILE *f)
{
    fprintf(f, "usage: parley keygen [--out DIR] [--force] NAME...\n"
               "\n"
               "Makes one CURVE keypair per NAME: DIR/NAME.key (public and secret key, mode\n"
               "0600) and DIR/NAME.pub (the public key). Names: broker, agent_1..agent_N,\n"
               "watcher, experimenter. `parley-broker --curve --keys DIR` then uses them: the\n"
               "broker reads broker.key and each client's .pub; an agent gets its own .key's\n"
               "keys and broker.pub in PARLEY_CURVE_SECRET / PARLEY_CURVE_PUBLIC /\n"
               "PARLEY_CURVE_SERVER. parley run, compose and kube make their own keys.\n"
               "\n"
               "  --out DIR  where the files go (default: .)\n"
               "  --force    replace existing keys\n");
}

int cli_keygen_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"out", required_argument, NULL, 'o'},
                                             {"force", no_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *dir = ".";
    bool force = false;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:fh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'o':
            dir = optarg;
            break;
        case 'f':
            force = true;
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        s_usage(stderr);
        return 2;
    }
    char err[512];
    if (!pl_keys_available(err, sizeof err)) {
        fprintf(stderr, "parley keygen: %s\n", err);
        return 2;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "parley keygen: %s: %s\n", dir, strerror(errno));
        return 2;
    }
    for (int i = optind; i < argc; i++) {
        const char *name = argv[i];
        if (!name[0] || strchr(name, '/') || name[0] == '.') {
            fprintf(stderr, "parley keygen: '%s': a name is letters, digits, _ and -\n", name);
            return 2;
        }
        char key[4096], pub[4096];
        snprintf(key, sizeof key, "%s/%s.key", dir, name);
        snprintf(pub, sizeof pub, "%s/%s.pub", dir, name);
        if (!force && access(key, F_OK) == 0) {
            fprintf(stderr, "parley keygen: %s exists (--force replaces it)\n", key);
            return 2;
        }
        pl_keypair_t kp, only;
        if (pl_keys_new(&kp, err, sizeof err) != 0) {
            fprintf(stderr, "parley keygen: %s\n", err);
            return 2;
        }
        only = kp;
        only.sec[0] = '\0';
        if (pl_keys_write(key, &kp) != 0 || pl_keys_write(pub, &only) != 0 ||
            chmod(pub, 0644) != 0) {
            fprintf(stderr, "parley keygen: %s: %s\n", key, strerror(errno));
            return 2;
        }
        printf("%s %s\n", name, kp.pub);
    }
    return 0;
}
