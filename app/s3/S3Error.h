#pragma once

#include <QCoreApplication>
#include <QDebug>
#include <QNetworkReply>
#include <QString>

namespace ferry::s3 {

namespace xml {
struct ErrorDocument;
}

/// Where an error happened, so its message can name the thing and the place.
struct S3ErrorContext {
    QString operation; ///< A noun phrase: "upload of part 3 of `a.bin`", "listing of `b`".
    QString endpoint;  ///< Endpoint::displayName().
    QString bucket;
    QString key;
    QString accessKeyId; ///< Never the secret.
    QString region;      ///< The region the request was signed for.
};

/**
 * What went wrong in an S3 operation, as a value: a kind to branch on, the server's code and
 * HTTP status when there was an answer, and a message for the user that says what happened and
 * what to do ("Bucket `x` does not exist on play.min.io. Create it, or ...").
 *
 * isRetryable() is true for what may pass by itself: the endpoint unreachable (refused, host
 * not found, TLS failure, timeout), SlowDown / 503, 500 and other 5xx, RequestTimeout and
 * BadDigest. Cancelled is its own kind and never retryable.
 */
class S3Error {
    Q_DECLARE_TR_FUNCTIONS(ferry::s3::S3Error)
public:
    enum class Kind {
        Cancelled,           ///< The cancellation token fired; the request was aborted.
        EndpointUnreachable, ///< Refused, host not found, TLS failure, timeout, connection lost.
        WrongSecret,         ///< SignatureDoesNotMatch: the secret key is wrong.
        UnknownAccessKey,    ///< InvalidAccessKeyId.
        AccessDenied,
        NoSuchBucket,
        NoSuchKey,
        NoSuchUpload,
        ClockSkew, ///< RequestTimeTooSkewed: the local clock is off by more than 15 minutes.
        EntityTooSmall,
        ServerBusy,  ///< SlowDown, 503.
        ServerError, ///< InternalError, 500 and other 5xx.
        RequestTimeout,
        BadDigest, ///< The body did not match its Content-MD5 / SHA-256.
        WrongRegion,
        BucketAlreadyExists,
        BucketAlreadyOwnedByYou,
        InvalidBucketName,
        InvalidResponse, ///< The answer is not what S3 would send.
        LocalFileError,  ///< Reading or writing a local file failed.
        InvalidRequest,  ///< The server (or the client) refused the request as malformed.
        Other,
    };

    /// An error answer: `body` is the `<Error>` document (empty for HEAD); `bucketRegion` is
    /// the `x-amz-bucket-region` header when the server sent one.
    [[nodiscard]] static S3Error fromResponse(int httpStatus, const QByteArray &body,
                                              const S3ErrorContext &context,
                                              const QString &bucketRegion = {});
    [[nodiscard]] static S3Error fromErrorDocument(int httpStatus,
                                                   const xml::ErrorDocument &document,
                                                   const S3ErrorContext &context);
    /// A transport failure (no HTTP answer). OperationCanceledError here means a timeout.
    [[nodiscard]] static S3Error fromNetworkError(QNetworkReply::NetworkError error,
                                                  const QString &detail,
                                                  const S3ErrorContext &context);
    [[nodiscard]] static S3Error cancelled(const S3ErrorContext &context);
    [[nodiscard]] static S3Error timedOut(const S3ErrorContext &context);
    [[nodiscard]] static S3Error localFile(const QString &path, const QString &detail,
                                           const S3ErrorContext &context);
    [[nodiscard]] static S3Error invalidResponse(const QString &detail, int httpStatus,
                                                 const S3ErrorContext &context);
    [[nodiscard]] static S3Error invalidRequest(const QString &message,
                                                const S3ErrorContext &context);

    [[nodiscard]] Kind kind() const { return m_kind; }
    /// The server's error code (`NoSuchBucket`), or a client-side one (`ConnectionRefused`).
    [[nodiscard]] QString code() const { return m_code; }
    /// The HTTP status, or 0 when there was no answer.
    [[nodiscard]] int httpStatus() const { return m_httpStatus; }
    /// For the user: what happened and what to do.
    [[nodiscard]] QString message() const { return m_message; }
    /// The server's own wording, for diagnosis.
    [[nodiscard]] QString serverMessage() const { return m_serverMessage; }
    [[nodiscard]] QString requestId() const { return m_requestId; }
    [[nodiscard]] const S3ErrorContext &context() const { return m_context; }
    [[nodiscard]] bool isRetryable() const;
    [[nodiscard]] bool isCancelled() const { return m_kind == Kind::Cancelled; }

    /// One line for logs: kind, code, status and message.
    [[nodiscard]] QString toString() const;

private:
    S3Error(Kind kind, const S3ErrorContext &context) : m_kind(kind), m_context(context) {}
    void composeMessage(const QString &detail);

    Kind m_kind = Kind::Other;
    QString m_code;
    int m_httpStatus = 0;
    QString m_message;
    QString m_serverMessage;
    QString m_requestId;
    QString m_otherRegion; ///< WrongRegion: the bucket's region.
    S3ErrorContext m_context;
};

/// The kind's enumerator name (`NoSuchBucket`), for logs and tests.
[[nodiscard]] QString kindName(S3Error::Kind kind);

QDebug operator<<(QDebug debug, const S3Error &error);

} // namespace ferry::s3
