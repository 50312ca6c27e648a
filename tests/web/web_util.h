/* web_util.h: a tiny HTTP/1.1 client for the web-side tests (tests/web): one
 * request per connection to 127.0.0.1, with a deadline, so a test never hangs. */
#ifndef PARLEY_TEST_WEB_UTIL_H
#define PARLEY_TEST_WEB_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
    int status; /* HTTP status, or -1 when no answer came */
    char *body; /* owned, NUL-terminated ("" when none) */
    size_t len;
    char *headers; /* owned: the status line and headers */
} web_reply_t;

/* One request (body may be NULL) to 127.0.0.1:port; waits up to 10 s. */
web_reply_t web_request(int port, const char *method, const char *path, const char *body,
                        size_t body_len);
void web_reply_free(web_reply_t *r);
/* GET path, parsed as JSON when the status is 200 (else NULL). */
json_t *web_get_json(int port, const char *path);
/* Opens a connection and sends "GET path"; returns the socket (the caller reads
 * the stream and closes it), or -1. */
int web_open_stream(int port, const char *path);
/* Reads from fd into a growing buffer until EOF or timeout_ms of silence; returns
 * the owned text. */
char *web_read_all(int fd, int timeout_ms);
/* Remembers a child process of the test (returns pid); web_teardown, a cmocka
 * teardown, kills and reaps every one still running, so that a failed assertion
 * never leaves a broker waiting for its person. */
pid_t web_child(pid_t pid);
int web_teardown(void **state);
/* Counts occurrences of needle in hay. */
int web_count(const char *hay, const char *needle);

#endif
