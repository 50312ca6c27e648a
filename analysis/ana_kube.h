/* ana_kube.h: the Kubernetes executor of `parley sweep` (executor: kube). No
 * API server is asked anything: the sweep is rendered as one Indexed Job
 * (completionMode: Indexed, one completion per run not yet finished) into
 * out/kube/job-N.yaml for `kubectl apply -f`. Pod k runs
 * `parley sweep FILE --out OUT --run-one RUN` for the kth run of the list, in
 * the persistent volume that holds the working directory (file and out are
 * relative to it, as the user wrote them). Status and resubmission read the
 * run directories (ana_slurm_status_main). */
#ifndef PARLEY_ANA_KUBE_H
#define PARLEY_ANA_KUBE_H

#include "ana_sweepfile.h"

#include <stddef.h>

/* Renders the Indexed Job of runs todo[0..n_todo) (1-based) with the sweep
 * file's kube: options (image, pvc, namespace, name) and concurrency as the
 * parallelism; path gets the manifest's path. Returns 0, or -1 with err. */
int ana_kube_write(const char *file, const char *out, const ana_sweepfile_t *spec,
                   const size_t *todo, size_t n_todo, char *path, size_t path_cap, char *err,
                   size_t errlen);

#endif
