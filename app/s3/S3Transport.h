#pragma once

#include "Credentials.h"
#include "Endpoint.h"
#include "S3Error.h"
#include "S3Types.h"
#include "SigV4.h"
#include "scheduler/CancellationToken.h"

#include <QByteArray>
#include <QDateTime>
#include <QNetworkRequest>

#include <QCoro/QCoroTask>

#include <chrono>
#include <expected>
#include <functional>
#include <memory>

class QIODevice;
class QNetworkAccessManager;

namespace ferry::s3 {

template <typename T> using S3Result = std::expected<T, S3Error>;

/// Progress of one transfer: bytes done and total (-1 when unknown).
using ProgressCallback = std::function<void(qint64 done, qint64 total)>;

/// What an S3Client talks to and how.
struct ClientConfig {
    Endpoint endpoint;
    Credentials credentials;
    /// A request fails with a timeout when no byte moved for this long.
    std::chrono::milliseconds transferTimeout = std::chrono::seconds(60);
    /// Also sign file bodies with their SHA-256 (hashed in the same single read as the MD5)
    /// instead of sending them as UNSIGNED-PAYLOAD. Content-MD5 protects them either way.
    bool signFilePayloads = false;
    /// File bodies (whole small files, parts) of at most this many bytes are read once, with
    /// their digest, and sent from memory; larger ones are streamed from the file after it.
    qint64 inMemoryBodyLimit = 1024 * 1024;
    QByteArray userAgent = QByteArrayLiteral("Ferry/0.1");
};

/// One request as the client describes it, before addressing and signing.
struct S3Request {
    QByteArray method;
    QString bucket; ///< Empty for service-level requests.
    QString key;    ///< Empty for bucket-level requests.
    QList<QueryItem> query;
    QList<HeaderItem> headers; ///< Signed headers besides host / x-amz-*: Content-MD5, Range...
    QByteArray body;           ///< A body held in memory (XML documents).
    /// A streamed body, opened for reading. Shared: Qt's HTTP stack may still touch it after
    /// the reply finished (an aborted upload), so it lives until the reply is destroyed.
    std::shared_ptr<QIODevice> bodyDevice;
    /// Empty: SHA-256 of `body`, or UNSIGNED-PAYLOAD for `bodyDevice`.
    QByteArray payloadHash;
    /// Successful response bodies are written here instead of into memory; not owned.
    QIODevice *responseSink = nullptr;
    QString responseSinkName; ///< The sink's file name, for error messages.
    ProgressCallback uploadProgress;
    ProgressCallback downloadProgress;
};

/// An HTTP answer of status 2xx (errors come back as S3Error).
struct S3Response {
    int status = 0;
    QByteArray body; ///< Empty when a responseSink took it.
    QList<HeaderItem> headers;
    [[nodiscard]] QByteArray header(QByteArrayView name) const;
    /// Size, ETag, Last-Modified, Content-Type and `x-amz-meta-*` of a HEAD or GET answer.
    [[nodiscard]] ObjectMetadata objectMetadata() const;
};

/// Parses an HTTP date (`Wed, 12 Oct 2009 17:50:00 GMT`) as UTC; invalid when unreadable.
[[nodiscard]] QDateTime parseHttpDate(const QByteArray &value);

/**
 * Turns S3Requests into signed QNetworkRequests and runs them: addressing (path or
 * virtual-hosted style), SigV4, the transfer timeout, cancellation, streaming of bodies, and
 * the mapping of failures to S3Error. Used by S3Client; lives on the thread of its
 * QNetworkAccessManager.
 *
 * Cancellation: when `token` fires, the reply is aborted at once (on this thread) and the
 * request ends with S3Error::Kind::Cancelled. A request that completed before the abort took
 * effect keeps its result.
 */
class S3Transport {
public:
    S3Transport(ClientConfig config, QNetworkAccessManager *network);

    [[nodiscard]] const ClientConfig &config() const { return m_config; }
    [[nodiscard]] const SigV4Signer &signer() const { return m_signer; }

    /// The time requests are signed with; tests inject a skewed one.
    void setClock(std::function<QDateTime()> clock) { m_clock = std::move(clock); }

    /// The addressed, signed QNetworkRequest for `request` at `time` (exposed for tests).
    [[nodiscard]] QNetworkRequest prepare(const S3Request &request, const QDateTime &time) const;

    /// Sends `request` and waits for the complete answer.
    [[nodiscard]] QCoro::Task<S3Result<S3Response>> send(S3Request request, S3ErrorContext context,
                                                         CancellationToken token);

    /// The base of every error context: endpoint, access key id, region.
    [[nodiscard]] S3ErrorContext context(const QString &operation, const QString &bucket = {},
                                         const QString &key = {}) const;

private:
    ClientConfig m_config;
    QNetworkAccessManager *m_network;
    SigV4Signer m_signer;
    std::function<QDateTime()> m_clock;
};

} // namespace ferry::s3
