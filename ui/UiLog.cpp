#include "UiLog.h"

namespace ferry {
Q_LOGGING_CATEGORY(lcUi, "ferry.ui", QtInfoMsg)
}
