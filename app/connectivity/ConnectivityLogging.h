#pragma once

#include <QLoggingCategory>

namespace ferry {
Q_DECLARE_LOGGING_CATEGORY(lcConnectivity)
}
