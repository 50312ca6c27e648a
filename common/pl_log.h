/* pl_log.h: one-line logs to stderr, shared by every process.
 * Each line: time, level, the component (game or agent id), a stable message id
 * (BRK-AGENT-EXPIRED) and the text. The level is checked before formatting. */
#ifndef PARLEY_PL_LOG_H
#define PARLEY_PL_LOG_H

typedef enum {
    PL_LOG_DEBUG = 0,
    PL_LOG_INFO,
    PL_LOG_WARN,
    PL_LOG_ERROR,
    PL_LOG_OFF
} pl_log_level_t;

extern pl_log_level_t pl_log_threshold;

/* Sets the threshold from a name ("debug", "info", "warn", "error", "off");
 * returns 0, or -1 if the name is unknown (threshold unchanged). */
int pl_log_set_level(const char *name);
/* Sets the component printed on every line (copied; e.g. "broker" or "agent_3"). */
void pl_log_set_component(const char *who);

void pl_log_write(pl_log_level_t level, const char *msgid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define PL_LOG(level, msgid, ...)                                                                  \
    do {                                                                                           \
        if ((level) >= pl_log_threshold) pl_log_write((level), (msgid), __VA_ARGS__);              \
    } while (0)
#define PL_DEBUG(id, ...) PL_LOG(PL_LOG_DEBUG, id, __VA_ARGS__)
#define PL_INFO(id, ...)  PL_LOG(PL_LOG_INFO, id, __VA_ARGS__)
#define PL_WARN(id, ...)  PL_LOG(PL_LOG_WARN, id, __VA_ARGS__)
#define PL_ERROR(id, ...) PL_LOG(PL_LOG_ERROR, id, __VA_ARGS__)

#endif
