/* llm_policy.h: the `llm` policy of parley-agent (one seat, one model behind an
 * HTTP API). The ops table is registered under "llm"; `parley run` calls
 * llm_check_seat() (llm_provider.h) for every llm seat before it spawns
 * anything, so that a missing key is reported up front, naming its variable. */
#ifndef PARLEY_LLM_POLICY_H
#define PARLEY_LLM_POLICY_H

#include "agt_policy.h"
#include "llm_provider.h"

extern const agt_policy_ops_t agt_llm_ops;

#endif
