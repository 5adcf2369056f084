#include "Credentials.h"

namespace ferry::s3 {

QString Credentials::describe() const
{
    return QStringLiteral("access key `%1` (secret %2%3)")
        .arg(accessKeyId,
             secretAccessKey.isEmpty() ? QStringLiteral("missing")
                                       : QStringLiteral("set, redacted"),
             sessionToken.isEmpty() ? QString() : QStringLiteral(", session token redacted"));
}

QDebug operator<<(QDebug debug, const Credentials &credentials)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "Credentials(" << credentials.describe() << ")";
    return debug;
}

} // namespace ferry::s3
