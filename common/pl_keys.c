/* pl_keys.c: CURVE keys (pl_keys.h). libzmq generates and checks them; this
 * file only moves their Z85 text in and out of files with the right mode. */
#include "pl_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

bool pl_keys_available(char *err, size_t errlen)
{
    if (zmq_has("curve")) return true;
    snprintf(err, errlen,
             "this libzmq has no CURVE support (zmq_has(\"curve\") is false): install a libzmq "
             "built with libsodium (Debian's libzmq5 is)");
    return false;
}

int pl_keys_new(pl_keypair_t *kp, char *err, size_t errlen)
{
    if (!pl_keys_available(err, errlen)) return -1;
    if (zmq_curve_keypair(kp->pub, kp->sec) != 0) {
        snprintf(err, errlen, "zmq_curve_keypair: %s", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

bool pl_keys_valid(const char *text)
{
    uint8_t bin[32];
    return text && strlen(text) == PL_KEY_LEN && zmq_z85_decode(bin, text) != NULL;
}

int pl_keys_derive(pl_keypair_t *kp)
{
    if (!pl_keys_valid(kp->sec)) return -1;
    return zmq_curve_public(kp->pub, kp->sec) == 0 ? 0 : -1;
}

int pl_keys_write(const char *path, const pl_keypair_t *kp)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    char line[2 * PL_KEY_LEN + 4];
    int n = snprintf(line, sizeof line, "%s%s%s\n", kp->pub, kp->sec[0] ? " " : "", kp->sec);
    bool ok = fchmod(fd, 0600) == 0 && write(fd, line, (size_t)n) == n && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok || rename(tmp, path) != 0) {
        if (ok) saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    return 0;
}

int pl_keys_read(const char *path, pl_keypair_t *kp, char *err, size_t errlen)
{
    memset(kp, 0, sizeof *kp);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[256] = "";
    bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    char a[128] = "", b[128] = "";
    int n = got ? sscanf(line, "%127s %127s", a, b) : 0;
    if (n < 1 || !pl_keys_valid(a) || (n == 2 && !pl_keys_valid(b))) {
        snprintf(err, errlen,
                 "%s:1: expected a Z85 public key (40 characters), then optionally "
                 "its secret key",
                 path);
        return -1;
    }
    memcpy(kp->pub, a, PL_KEY_LEN + 1);
    if (n == 2) {
        memcpy(kp->sec, b, PL_KEY_LEN + 1);
        pl_keypair_t check = *kp;
        if (pl_keys_derive(&check) != 0 || strcmp(check.pub, kp->pub) != 0) {
            snprintf(err, errlen, "%s:1: the secret key does not belong to the public key", path);
            return -1;
        }
    }
    return 0;
}
