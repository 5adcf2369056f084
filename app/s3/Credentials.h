#pragma once

#include <QDebug>
#include <QString>

namespace ferry::s3 {

/**
 * The key pair (and optional session token) that signs S3 requests.
 *
 * The secret access key never leaves this struct except into the SigV4 signing key: it is not
 * printed by `operator<<(QDebug, ...)`, not part of `describe()`, and no error message of the
 * module contains it. Session tokens are treated the same way.
 */
struct Credentials {
    QString accessKeyId;
    QString secretAccessKey;
    QString sessionToken; ///< Empty unless the credentials are temporary (STS).

    /// True when both the key id and the secret are set.
    [[nodiscard]] bool isComplete() const
    {
        return !accessKeyId.isEmpty() && !secretAccessKey.isEmpty();
    }

    /// A loggable description: the key id and whether a secret / session token is set.
    [[nodiscard]] QString describe() const;
};

/// Prints the access key id only; the secret and the session token are redacted.
QDebug operator<<(QDebug debug, const Credentials &credentials);

} // namespace ferry::s3
