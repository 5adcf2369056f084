#include "SyncLogging.h"

namespace ferry {
Q_LOGGING_CATEGORY(lcSync, "ferry.sync")
}
