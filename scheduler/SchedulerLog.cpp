#include "SchedulerLog.h"

namespace ferry {
Q_LOGGING_CATEGORY(lcScheduler, "ferry.scheduler", QtInfoMsg)
}
