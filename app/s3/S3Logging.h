#pragma once

#include <QLoggingCategory>

namespace ferry::s3 {

/// Logging category of the S3 client module: `ferry.s3`. Never logs secrets.
Q_DECLARE_LOGGING_CATEGORY(lcS3)

} // namespace ferry::s3
