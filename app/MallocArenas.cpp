#include "MallocArenas.h"

#include <QByteArray>
#include <QtGlobal>

#include <cstdlib> // <features.h>, which defines __GLIBC__

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ferry {

int limitMallocArenas()
{
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
    if (qEnvironmentVariableIsSet("MALLOC_ARENA_MAX") ||
        qgetenv("GLIBC_TUNABLES").contains("glibc.malloc.arena_max"))
        return 0;
    return mallopt(M_ARENA_MAX, kMallocArenaLimit) == 1 ? kMallocArenaLimit : 0;
#else
    return 0;
#endif
}

} // namespace ferry
