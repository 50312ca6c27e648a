/* fake_proc.c: start and stop parley-fake-llm from a test (fake_proc.h). */
#include "fake_proc.h"

#include <jansson.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t fake_start(const char *const *args, int *port)
{
    const char *bin = getenv("PARLEY_BIN");
    char path[4096];
    snprintf(path, sizeof path, "%s/parley-fake-llm", bin ? bin : ".");
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a failed test */
        const char *argv[64] = {path};
        int n = 1;
        for (int i = 0; args && args[i] && n < 63; i++) argv[n++] = args[i];
        argv[n] = NULL;
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *fp = fdopen(fds[0], "r");
    char line[256] = "";
    if (!fp || !fgets(line, sizeof line, fp) || sscanf(line, "listening 127.0.0.1:%d", port) != 1) {
        if (fp) fclose(fp);
        fake_stop(pid);
        return -1;
    }
    fclose(fp);
    return pid;
}

void fake_stop(pid_t pid)
{
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
}

long fake_stat(int port, const char *field)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char buf[4096];
    size_t len = 0;
    const char *req = "GET /stats HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req)) {
        ssize_t n;
        while (len + 1 < sizeof buf && (n = recv(fd, buf + len, sizeof buf - 1 - len, 0)) > 0)
            len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    const char *body = strstr(buf, "\r\n\r\n");
    json_t *j = body ? json_loads(body + 4, 0, NULL) : NULL;
    json_t *v = json_object_get(j, field);
    long n = json_is_integer(v) ? (long)json_integer_value(v) : -1;
    json_decref(j);
    return n;
}
