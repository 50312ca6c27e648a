/* agt_scripted.h: the built-in policies that need no model: the scripted
 * baselines of environment/ (agt_scripted.c) and a person at a terminal
 * (agt_human.c). Internal to agent/: agt_policy_find is the way in. */
#ifndef PARLEY_AGT_SCRIPTED_H
#define PARLEY_AGT_SCRIPTED_H

#include "agt_policy.h"

extern const agt_policy_ops_t agt_perfect_ops;
extern const agt_policy_ops_t agt_passive_ops;
extern const agt_policy_ops_t agt_selfish_ops;
extern const agt_policy_ops_t agt_helper_ops;
extern const agt_policy_ops_t agt_random_ops;
extern const agt_policy_ops_t agt_human_ops;

#endif
