#pragma once

#include <QString>

#include <expected>

namespace ferry::s3 {

/**
 * S3's bucket naming rules, checked before any request goes out:
 * 3 to 63 characters; lowercase letters, digits, dots and hyphens only; starts and ends with a
 * letter or digit; no two adjacent dots; not formatted like an IPv4 address.
 *
 * Returns nothing when `name` is valid, else a sentence that names the broken rule and how to
 * fix it (for the user, translated).
 */
[[nodiscard]] std::expected<void, QString> validateBucketName(const QString &name);

} // namespace ferry::s3
