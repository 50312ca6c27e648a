/* pl_meta_version.c: --version and what built the binaries (pl_meta.h). The
 * commit comes from a header generated at every build (pl_gitinfo.cmake);
 * library versions are the ones pkg-config reported when the build was
 * configured. Apart from pl_meta.c so that linking it needs no libcrypto. */
#include "pl_meta.h"
#include "pl_gitinfo.h"

#include <stdio.h>

static const struct {
    const char *name, *version;
} s_libs[] = {{"libzmq", PL_V_ZMQ},     {"libprotobuf-c", PL_V_PROTOBUFC},
              {"libevent", PL_V_EVENT}, {"jansson", PL_V_JANSSON},
              {"libyaml", PL_V_YAML},   {"libcurl", PL_V_CURL}};

const char *pl_seed_source_name(pl_seed_source_t s)
{
    static const char *const names[] = {"default", "config", "--seed", "sweep"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *pl_meta_version(void)
{
    return PL_VERSION;
}
const char *pl_meta_commit(void)
{
    return PL_GIT_COMMIT;
}
bool pl_meta_dirty(void)
{
    return PL_GIT_DIRTY != 0;
}
const char *pl_meta_build_type(void)
{
    return PL_BUILD_TYPE[0] ? PL_BUILD_TYPE : "unspecified";
}

void pl_meta_print_version(FILE *f, const char *program)
{
    fprintf(f, "%s %s (commit %.12s%s, %s%s)\n", program, PL_VERSION, PL_GIT_COMMIT,
            PL_GIT_DIRTY ? "-dirty" : "", pl_meta_build_type(), PL_SANITIZE ? ", ASan+UBSan" : "");
    for (size_t i = 0; i < sizeof s_libs / sizeof s_libs[0]; i++)
        fprintf(f, "  %s %s\n", s_libs[i].name, s_libs[i].version);
}

size_t pl_meta_n_libs(void)
{
    return sizeof s_libs / sizeof s_libs[0];
}

const char *pl_meta_lib(size_t i, const char **version)
{
    if (i >= pl_meta_n_libs()) return NULL;
    if (version) *version = s_libs[i].version;
    return s_libs[i].name;
}
