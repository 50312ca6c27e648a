/* rules_util.h: helpers of the broker-level rule tests (test_broker_rules.c,
 * test_broker_orig.c) over a finished run directory. */
#ifndef PARLEY_TEST_RULES_UTIL_H
#define PARLEY_TEST_RULES_UTIL_H

/* Count of events of `type` in dir/events.jsonl for `agent` (any if NULL) whose
 * compact text holds `needle` (any if NULL). */
int ru_count(const char *dir, const char *type, const char *agent, const char *needle);

#endif
