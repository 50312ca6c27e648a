/* wire_text.h: every string that arrives from a peer is valid UTF-8 before the
 * game applies, relays or records it (PROTOCOL.md "Text").
 *
 * The rule is repair-and-flag: each byte that does not start a well-formed
 * UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF) and each NUL byte becomes U+FFFD, and the path of every field
 * repaired ("decision.actions[0].content") is handed back so the broker can
 * record it and tell the sender. NUL is replaced rather than kept because a C
 * string would silently end there (a token with a trailing NUL would otherwise
 * compare equal to the token without it).
 *
 * The repair works on the frame's bytes, guided by the protobuf descriptors,
 * before protobuf-c unpacks it: after unpacking, a NUL inside a string can no
 * longer be seen.
 */
#ifndef PARLEY_WIRE_TEXT_H
#define PARLEY_WIRE_TEXT_H

#include "parley.pb-c.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Length of the well-formed UTF-8 sequence at s (1..4 bytes), or 0 when the
 * byte at s does not start one (or is NUL), looking at no more than len bytes. */
size_t wire_utf8_seq(const unsigned char *s, size_t len);
/* Whether s[0..len) is well-formed UTF-8 without NUL. */
bool wire_utf8_valid(const char *s, size_t len);
/* The longest prefix of s (NUL-terminated) no longer than max bytes that does
 * not end inside a multi-byte character: use it to cut text for a log line or
 * an error message (printf "%.*s"). */
int wire_utf8_cut(const char *s, size_t max);
/* Drops an incomplete multi-byte character at the end of the NUL-terminated
 * buf (what snprintf leaves when it truncates). */
void wire_utf8_trim(char *buf);
/* Drops, in place, every byte of the NUL-terminated buf that is not part of a
 * well-formed character: what "%.60s" leaves when it cuts a character in the
 * middle of a sentence. */
void wire_utf8_scrub(char *buf);

/* Like wire_unpack (wire.h), after repairing every string field of the frame.
 * When fields were repaired and fixed is not NULL, *fixed is a new JSON array
 * of their paths (caller owns); otherwise *fixed is NULL. A frame that is not
 * a valid protobuf encoding is refused (*err = WIRE_EMALFORMED). */
Parley__Envelope *wire_unpack_text(const void *buf, size_t len, size_t max, json_t **fixed,
                                   int *err);

#endif
