#include "S3Logging.h"

namespace ferry::s3 {

Q_LOGGING_CATEGORY(lcS3, "ferry.s3", QtInfoMsg)

} // namespace ferry::s3
