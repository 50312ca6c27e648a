/* web_util.c: see web_util.h. */
#include "web_util.h"

#include "e2e.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int s_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int s_send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

char *web_read_all(int fd, int timeout_ms)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) break;
        if (len + 4096 + 1 > cap) {
            cap *= 2;
            char *b = realloc(buf, cap);
            if (!b) break;
            buf = b;
        }
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r <= 0) break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    return buf;
}

int web_open_stream(int port, const char *path)
{
    int fd = s_connect(port);
    if (fd < 0) return -1;
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (s_send_all(fd, req, (size_t)n) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

web_reply_t web_request(int port, const char *method, const char *path, const char *body,
                        size_t body_len)
{
    web_reply_t r = {-1, NULL, 0, NULL};
    int fd = s_connect(port);
    if (fd >= 0) {
        char head[2048];
        int n = snprintf(head, sizeof head,
                         "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                         "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                         method, path, body ? body_len : 0);
        if (s_send_all(fd, head, (size_t)n) == 0 &&
            (!body || s_send_all(fd, body, body_len) == 0)) {
            char *all = web_read_all(fd, 10000);
            char *split = all ? strstr(all, "\r\n\r\n") : NULL;
            if (split) {
                *split = '\0';
                sscanf(all, "HTTP/1.%*d %d", &r.status);
                r.headers = strdup(all);
                r.body = strdup(split + 4);
                r.len = strlen(r.body);
            }
            free(all);
        }
        close(fd);
    }
    if (!r.body) r.body = strdup("");
    if (!r.headers) r.headers = strdup("");
    return r;
}

void web_reply_free(web_reply_t *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}

json_t *web_get_json(int port, const char *path)
{
    web_reply_t r = web_request(port, "GET", path, NULL, 0);
    json_t *j = r.status == 200 ? json_loads(r.body, 0, NULL) : NULL;
    web_reply_free(&r);
    return j;
}

int web_count(const char *hay, const char *needle)
{
    int n = 0;
    size_t l = strlen(needle);
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += l) n++;
    return n;
}

static pid_t s_children[16];
static int s_n_children;

pid_t web_child(pid_t pid)
{
    if (pid > 0 && s_n_children < 16) s_children[s_n_children++] = pid;
    return pid;
}

int web_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < s_n_children; i++) e2e_reap(s_children[i]);
    s_n_children = 0;
    return 0;
}
