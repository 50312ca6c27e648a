/* rules_util.c: see rules_util.h. */
#include "rules_util.h"

#include "e2e.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Count of events of `type` for `agent` whose compact text holds `needle`. */
int ru_count(const char *dir, const char *type, const char *agent, const char *needle)
{
    json_t *evs = e2e_events(dir, type);
    assert_non_null(evs);
    int n = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(evs, i, ev)
    {
        const char *who = json_string_value(json_object_get(ev, "agent"));
        if (agent && (!who || strcmp(who, agent) != 0)) continue;
        char *text = json_dumps(ev, JSON_COMPACT);
        n += !needle || strstr(text, needle);
        free(text);
    }
    json_decref(evs);
    return n;
}
