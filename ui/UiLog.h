#pragma once

#include <QLoggingCategory>

namespace ferry {
/// The `ferry.ui` logging category of the ui/ module.
Q_DECLARE_LOGGING_CATEGORY(lcUi)
} // namespace ferry
