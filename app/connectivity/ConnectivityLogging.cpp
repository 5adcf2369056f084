#include "ConnectivityLogging.h"

namespace ferry {
Q_LOGGING_CATEGORY(lcConnectivity, "ferry.connectivity", QtInfoMsg)
}
