/* pl_keys.h: CURVE keys for the ZeroMQ sockets (docs/SECURITY.md).
 *
 * A key is its Z85 text, 40 characters (libzmq's zmq_curve_keypair). A key
 * file holds one line "public SECRET" (or just the public key, for a .pub
 * file) and is written mode 0600: a secret key never lands in a file others
 * can read, in argv, or in events.jsonl.
 */
#ifndef PARLEY_PL_KEYS_H
#define PARLEY_PL_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#define PL_KEY_LEN 40 /* Z85 text of a 32-byte key */

typedef struct {
    char pub[PL_KEY_LEN + 1];
    char sec[PL_KEY_LEN + 1]; /* "" when only the public key is known */
} pl_keypair_t;

/* Whether this libzmq was built with CURVE (libsodium); err says what to install. */
bool pl_keys_available(char *err, size_t errlen);
/* A fresh keypair. 0, or -1 with a sentence in err. */
int pl_keys_new(pl_keypair_t *kp, char *err, size_t errlen);
/* Whether text is a well-formed Z85 key (40 characters that decode). */
bool pl_keys_valid(const char *text);
/* Fills kp->pub from kp->sec. 0 or -1 (a malformed secret). */
int pl_keys_derive(pl_keypair_t *kp);
/* Writes "PUB SEC\n" (or "PUB\n" without a secret) to path, mode 0600,
 * replacing it atomically. 0 or -1 with errno. */
int pl_keys_write(const char *path, const pl_keypair_t *kp);
/* Reads a key file written by pl_keys_write (or a bare public key). 0, or -1
 * with "PATH:1: ..." in err. */
int pl_keys_read(const char *path, pl_keypair_t *kp, char *err, size_t errlen);

#endif
