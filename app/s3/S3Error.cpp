#include "S3Error.h"

#include "S3Xml.h"

#include <QHash>

namespace ferry::s3 {

namespace {

using Kind = S3Error::Kind;

Kind kindForCode(const QString &code, int status)
{
    static const QHash<QString, Kind> kinds = {
        {QStringLiteral("SignatureDoesNotMatch"), Kind::WrongSecret},
        {QStringLiteral("InvalidAccessKeyId"), Kind::UnknownAccessKey},
        {QStringLiteral("AccessDenied"), Kind::AccessDenied},
        {QStringLiteral("AllAccessDisabled"), Kind::AccessDenied},
        {QStringLiteral("AccountProblem"), Kind::AccessDenied},
        {QStringLiteral("NoSuchBucket"), Kind::NoSuchBucket},
        {QStringLiteral("NoSuchKey"), Kind::NoSuchKey},
        {QStringLiteral("NoSuchUpload"), Kind::NoSuchUpload},
        {QStringLiteral("RequestTimeTooSkewed"), Kind::ClockSkew},
        {QStringLiteral("EntityTooSmall"), Kind::EntityTooSmall},
        {QStringLiteral("SlowDown"), Kind::ServerBusy},
        {QStringLiteral("ServiceUnavailable"), Kind::ServerBusy},
        {QStringLiteral("InternalError"), Kind::ServerError},
        {QStringLiteral("RequestTimeout"), Kind::RequestTimeout},
        {QStringLiteral("BadDigest"), Kind::BadDigest},
        {QStringLiteral("XAmzContentSHA256Mismatch"), Kind::BadDigest},
        {QStringLiteral("PermanentRedirect"), Kind::WrongRegion},
        {QStringLiteral("BucketAlreadyExists"), Kind::BucketAlreadyExists},
        {QStringLiteral("BucketAlreadyOwnedByYou"), Kind::BucketAlreadyOwnedByYou},
        {QStringLiteral("InvalidBucketName"), Kind::InvalidBucketName},
        {QStringLiteral("InvalidArgument"), Kind::InvalidRequest},
        {QStringLiteral("InvalidRequest"), Kind::InvalidRequest},
        {QStringLiteral("InvalidDigest"), Kind::InvalidRequest},
        {QStringLiteral("InvalidPart"), Kind::InvalidRequest},
        {QStringLiteral("InvalidPartOrder"), Kind::InvalidRequest},
        {QStringLiteral("EntityTooLarge"), Kind::InvalidRequest},
        {QStringLiteral("MalformedXML"), Kind::InvalidRequest},
        {QStringLiteral("MissingContentLength"), Kind::InvalidRequest},
        {QStringLiteral("AuthorizationHeaderMalformed"), Kind::InvalidRequest},
    };
    if (const auto it = kinds.constFind(code); it != kinds.cend())
        return *it;
    if (status == 503)
        return Kind::ServerBusy;
    if (status >= 500)
        return Kind::ServerError;
    return Kind::Other;
}

Kind kindForBodylessStatus(int status, const S3ErrorContext &context)
{
    switch (status) {
    case 404:
        return context.key.isEmpty() ? Kind::NoSuchBucket : Kind::NoSuchKey;
    case 403:
        return Kind::AccessDenied;
    case 503:
        return Kind::ServerBusy;
    default:
        return status >= 500 ? Kind::ServerError : Kind::Other;
    }
}

QString codeForBodylessStatus(Kind kind, int status)
{
    switch (kind) {
    case Kind::NoSuchBucket:
        return QStringLiteral("NoSuchBucket");
    case Kind::NoSuchKey:
        return QStringLiteral("NoSuchKey");
    case Kind::AccessDenied:
        return QStringLiteral("AccessDenied");
    case Kind::WrongRegion:
        return QStringLiteral("PermanentRedirect");
    default:
        return QStringLiteral("HTTP%1").arg(status);
    }
}

} // namespace

S3Error S3Error::fromResponse(int httpStatus, const QByteArray &body, const S3ErrorContext &context,
                              const QString &bucketRegion)
{
    if (!body.trimmed().isEmpty()) {
        if (auto document = xml::parseError(body)) {
            S3Error error = fromErrorDocument(httpStatus, *document, context);
            if (error.m_kind == Kind::WrongRegion && error.m_otherRegion.isEmpty() &&
                !bucketRegion.isEmpty()) {
                error.m_otherRegion = bucketRegion;
                error.composeMessage({});
            }
            return error;
        }
        // A web page (a web server's 404) says nothing about buckets or keys; a gateway's
        // 5xx page stays a server error, retried like one.
        const QByteArray start = body.trimmed().left(64).toLower();
        const bool webPage = start.startsWith("<!doctype html") || start.startsWith("<html");
        if (httpStatus < 500 && (webPage || (httpStatus != 403 && httpStatus != 404)))
            return invalidResponse(tr("HTTP %1 with a body that is not an S3 error: %2")
                                       .arg(httpStatus)
                                       .arg(QString::fromUtf8(body.left(120)).simplified()),
                                   httpStatus, context);
    }
    Kind kind = kindForBodylessStatus(httpStatus, context);
    if ((httpStatus == 301 || httpStatus == 307 || httpStatus == 400) && !bucketRegion.isEmpty())
        kind = Kind::WrongRegion;
    S3Error error(kind, context);
    error.m_httpStatus = httpStatus;
    error.m_code = codeForBodylessStatus(kind, httpStatus);
    error.m_otherRegion = bucketRegion;
    error.composeMessage({});
    return error;
}

S3Error S3Error::fromErrorDocument(int httpStatus, const xml::ErrorDocument &document,
                                   const S3ErrorContext &context)
{
    Kind kind = kindForCode(document.code, httpStatus);
    if (document.code == QLatin1String("AuthorizationHeaderMalformed") &&
        !document.region.isEmpty())
        kind = Kind::WrongRegion;
    S3Error error(kind, context);
    error.m_httpStatus = httpStatus;
    error.m_code = document.code;
    error.m_serverMessage = document.message;
    error.m_requestId = document.requestId;
    error.m_otherRegion = document.region;
    error.composeMessage({});
    return error;
}

S3Error S3Error::fromNetworkError(QNetworkReply::NetworkError networkError, const QString &detail,
                                  const S3ErrorContext &context)
{
    S3Error error(Kind::EndpointUnreachable, context);
    error.m_serverMessage = detail;
    switch (networkError) {
    case QNetworkReply::ConnectionRefusedError:
        error.m_code = QStringLiteral("ConnectionRefused");
        break;
    case QNetworkReply::HostNotFoundError:
        error.m_code = QStringLiteral("HostNotFound");
        break;
    case QNetworkReply::TimeoutError:
    case QNetworkReply::OperationCanceledError:
        error.m_code = QStringLiteral("Timeout");
        break;
    case QNetworkReply::SslHandshakeFailedError:
    case QNetworkReply::UnknownNetworkError:
        error.m_code = networkError == QNetworkReply::SslHandshakeFailedError
                           ? QStringLiteral("TlsError")
                           : QStringLiteral("NetworkError");
        break;
    default:
        error.m_code = QStringLiteral("NetworkError");
        break;
    }
    error.composeMessage(detail);
    return error;
}

S3Error S3Error::cancelled(const S3ErrorContext &context)
{
    S3Error error(Kind::Cancelled, context);
    error.m_code = QStringLiteral("Cancelled");
    error.composeMessage({});
    return error;
}

S3Error S3Error::timedOut(const S3ErrorContext &context)
{
    return fromNetworkError(QNetworkReply::TimeoutError, {}, context);
}

S3Error S3Error::localFile(const QString &path, const QString &detail,
                           const S3ErrorContext &context)
{
    S3Error error(Kind::LocalFileError, context);
    error.m_code = QStringLiteral("LocalFile");
    error.m_message = tr("Could not use the local file `%1` for the %2: %3.")
                          .arg(path, context.operation, detail);
    return error;
}

S3Error S3Error::invalidResponse(const QString &detail, int httpStatus,
                                 const S3ErrorContext &context)
{
    S3Error error(Kind::InvalidResponse, context);
    error.m_code = QStringLiteral("InvalidResponse");
    error.m_httpStatus = httpStatus;
    error.composeMessage(detail);
    return error;
}

S3Error S3Error::invalidRequest(const QString &message, const S3ErrorContext &context)
{
    S3Error error(Kind::InvalidRequest, context);
    error.m_code = QStringLiteral("InvalidRequest");
    error.m_message = message;
    return error;
}

bool S3Error::isRetryable() const
{
    switch (m_kind) {
    case Kind::EndpointUnreachable:
    case Kind::ServerBusy:
    case Kind::ServerError:
    case Kind::RequestTimeout:
    case Kind::BadDigest:
        return true;
    case Kind::Other:
        return m_httpStatus >= 500;
    default:
        return false;
    }
}

void S3Error::composeMessage(const QString &detail)
{
    const S3ErrorContext &c = m_context;
    const QString server = m_serverMessage.isEmpty()
                               ? QString()
                               : tr(" (the server says: %1)").arg(m_serverMessage.simplified());
    switch (m_kind) {
    case Kind::Cancelled:
        m_message = tr("The %1 was cancelled.").arg(c.operation);
        return;
    case Kind::EndpointUnreachable:
        if (m_code == QLatin1String("ConnectionRefused"))
            m_message = tr("Could not connect to %1: the connection was refused. Check the "
                           "address and port, and that the server is running; Ferry retries.")
                            .arg(c.endpoint);
        else if (m_code == QLatin1String("HostNotFound"))
            m_message = tr("The host of %1 was not found. Check the address and the network "
                           "connection; Ferry retries.")
                            .arg(c.endpoint);
        else if (m_code == QLatin1String("Timeout"))
            m_message = tr("%1 did not answer in time during the %2. Check the network "
                           "connection; Ferry retries.")
                            .arg(c.endpoint, c.operation);
        else if (m_code == QLatin1String("TlsError"))
            m_message = tr("The secure connection to %1 failed (%2). Check the address; a "
                           "server with its own certificate needs its CA in the system's trust "
                           "store.")
                            .arg(c.endpoint, detail);
        else
            m_message = tr("The connection to %1 failed during the %2 (%3). Ferry retries.")
                            .arg(c.endpoint, c.operation, detail);
        return;
    case Kind::WrongSecret:
        m_message = tr("%1 rejected the signature of access key `%2`: the secret access key is "
                       "wrong (or, on some servers, the access key is unknown). Check both in the "
                       "profile's credentials.")
                        .arg(c.endpoint, c.accessKeyId);
        return;
    case Kind::UnknownAccessKey:
        m_message = tr("%1 does not know the access key `%2`. Check the access key ID in the "
                       "profile's credentials, or whether the key was deleted.")
                        .arg(c.endpoint, c.accessKeyId);
        return;
    case Kind::AccessDenied:
        if (m_serverMessage.isEmpty() && m_httpStatus == 403) // HEAD: no reason given
            m_message = tr("%1 refused the %2 (access denied): the credentials of access key "
                           "`%3` may be wrong, or lack the permission. Check the profile's "
                           "credentials and the bucket's permissions.")
                            .arg(c.endpoint, c.operation, c.accessKeyId);
        else
            m_message = tr("Access key `%1` is not allowed the %2 on %3. Ask the bucket's owner "
                           "for the permission, or use other credentials.%4")
                            .arg(c.accessKeyId, c.operation, c.endpoint, server);
        return;
    case Kind::NoSuchBucket:
        m_message = tr("Bucket `%1` does not exist on %2. Create it, or correct the bucket name "
                       "in the address.")
                        .arg(c.bucket, c.endpoint);
        return;
    case Kind::NoSuchKey:
        m_message =
            tr("Object `%1` does not exist in bucket `%2` on %3.").arg(c.key, c.bucket, c.endpoint);
        return;
    case Kind::NoSuchUpload:
        m_message = tr("The multipart upload of `%1` does not exist on %2 any more (it was "
                       "completed or aborted). Start the upload again.")
                        .arg(c.key, c.endpoint);
        return;
    case Kind::ClockSkew:
        m_message = tr("This computer's clock differs too much from the clock of %1 (by more "
                       "than 15 minutes). Set the system clock right, for example by turning "
                       "on network time, and try again.")
                        .arg(c.endpoint);
        return;
    case Kind::EntityTooSmall:
        m_message = tr("%1 refused the %2: a part is smaller than the server's minimum part "
                       "size (5 MiB on most servers). Raise the part size in the settings.%3")
                        .arg(c.endpoint, c.operation, server);
        return;
    case Kind::ServerBusy:
        m_message = tr("%1 is overloaded and asked to slow down (HTTP %2). Ferry retries later.")
                        .arg(c.endpoint)
                        .arg(m_httpStatus);
        return;
    case Kind::ServerError:
        m_message = tr("%1 had an internal error during the %2 (HTTP %3). Ferry retries; if it "
                       "persists, tell the server's operator.%4")
                        .arg(c.endpoint, c.operation)
                        .arg(m_httpStatus)
                        .arg(server);
        return;
    case Kind::RequestTimeout:
        m_message = tr("%1 closed the %2 because the data stopped flowing. Ferry retries.")
                        .arg(c.endpoint, c.operation);
        return;
    case Kind::BadDigest:
        m_message = tr("The data of `%1` arrived damaged at %2 (checksum mismatch); the file may "
                       "have changed during the upload. Ferry retries.")
                        .arg(c.key, c.endpoint);
        return;
    case Kind::WrongRegion:
        if (m_otherRegion.isEmpty())
            m_message = tr("Bucket `%1` is not in region `%2` of %3. Add ?region=REGION to the "
                           "address with the bucket's region.%4")
                            .arg(c.bucket, c.region, c.endpoint, server);
        else
            m_message = tr("Bucket `%1` is in region `%2`, not in `%3`. Add ?region=%2 to the "
                           "address.")
                            .arg(c.bucket, m_otherRegion, c.region);
        return;
    case Kind::BucketAlreadyExists:
        m_message = tr("The bucket name `%1` is already taken on %2 by another account. Choose "
                       "another name.")
                        .arg(c.bucket, c.endpoint);
        return;
    case Kind::BucketAlreadyOwnedByYou:
        m_message = tr("Bucket `%1` already exists on %2 and is yours.").arg(c.bucket, c.endpoint);
        return;
    case Kind::InvalidBucketName:
        m_message = tr("%1 refused the bucket name `%2`. Choose a name of 3 to 63 lowercase "
                       "letters, digits, dots and hyphens.%3")
                        .arg(c.endpoint, c.bucket, server);
        return;
    case Kind::InvalidResponse:
        m_message = tr("%1 answered the %2 with something that is not an S3 response (%3). "
                       "Check that the address points to an S3 server.")
                        .arg(c.endpoint, c.operation, detail);
        return;
    case Kind::InvalidRequest:
        m_message = tr("%1 refused the %2 as invalid (%3)%4. This is probably a bug in Ferry: "
                       "please report it.")
                        .arg(c.endpoint, c.operation, m_code, server);
        return;
    case Kind::LocalFileError:
    case Kind::Other:
        break;
    }
    m_message = tr("%1 refused the %2 (%3, HTTP %4)%5.")
                    .arg(c.endpoint, c.operation, m_code)
                    .arg(m_httpStatus)
                    .arg(server);
}

QString S3Error::toString() const
{
    return QStringLiteral("%1 [%2%3]: %4")
        .arg(kindName(m_kind), m_code,
             m_httpStatus ? QStringLiteral(", HTTP %1").arg(m_httpStatus) : QString(), m_message);
}

QString kindName(S3Error::Kind kind)
{
    switch (kind) {
    case Kind::Cancelled:
        return QStringLiteral("Cancelled");
    case Kind::EndpointUnreachable:
        return QStringLiteral("EndpointUnreachable");
    case Kind::WrongSecret:
        return QStringLiteral("WrongSecret");
    case Kind::UnknownAccessKey:
        return QStringLiteral("UnknownAccessKey");
    case Kind::AccessDenied:
        return QStringLiteral("AccessDenied");
    case Kind::NoSuchBucket:
        return QStringLiteral("NoSuchBucket");
    case Kind::NoSuchKey:
        return QStringLiteral("NoSuchKey");
    case Kind::NoSuchUpload:
        return QStringLiteral("NoSuchUpload");
    case Kind::ClockSkew:
        return QStringLiteral("ClockSkew");
    case Kind::EntityTooSmall:
        return QStringLiteral("EntityTooSmall");
    case Kind::ServerBusy:
        return QStringLiteral("ServerBusy");
    case Kind::ServerError:
        return QStringLiteral("ServerError");
    case Kind::RequestTimeout:
        return QStringLiteral("RequestTimeout");
    case Kind::BadDigest:
        return QStringLiteral("BadDigest");
    case Kind::WrongRegion:
        return QStringLiteral("WrongRegion");
    case Kind::BucketAlreadyExists:
        return QStringLiteral("BucketAlreadyExists");
    case Kind::BucketAlreadyOwnedByYou:
        return QStringLiteral("BucketAlreadyOwnedByYou");
    case Kind::InvalidBucketName:
        return QStringLiteral("InvalidBucketName");
    case Kind::InvalidResponse:
        return QStringLiteral("InvalidResponse");
    case Kind::LocalFileError:
        return QStringLiteral("LocalFileError");
    case Kind::InvalidRequest:
        return QStringLiteral("InvalidRequest");
    case Kind::Other:
        return QStringLiteral("Other");
    }
    return QStringLiteral("Unknown");
}

QDebug operator<<(QDebug debug, const S3Error &error)
{
    QDebugStateSaver saver(debug);
    debug.noquote().nospace() << "S3Error(" << error.toString() << ")";
    return debug;
}

} // namespace ferry::s3
