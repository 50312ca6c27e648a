/* pl_log.c: see pl_log.h. */
#include "pl_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

pl_log_level_t pl_log_threshold = PL_LOG_INFO;
static char s_component[64] = "parley";

static const char *const s_names[] = {"debug", "info", "warn", "error", "off"};

int pl_log_set_level(const char *name)
{
    for (int i = 0; i <= PL_LOG_OFF; i++) {
        if (name && strcasecmp(name, s_names[i]) == 0) {
            pl_log_threshold = (pl_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

void pl_log_set_component(const char *who)
{
    snprintf(s_component, sizeof s_component, "%s", who ? who : "parley");
}

void pl_log_write(pl_log_level_t level, const char *msgid, const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %-5s %s %s ", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, s_names[level], s_component, msgid);
    if (n < 0) return;
    if ((size_t)n < sizeof line) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
    }
    /* Control characters from peers never reach the terminal raw. */
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20) *p = ' ';
    fprintf(stderr, "%s\n", line);
}
