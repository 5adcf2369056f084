#include "S3Transport.h"

#include "NetworkThreadScheduling.h"
#include "S3Logging.h"
#include "TcpNoDelay.h"

#include <QLocale>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QPointer>
#include <QTimer>
#include <QUrl>

#include <QCoro/QCoroNetworkReply>

#include <memory>
#include <utility>

namespace ferry::s3 {

namespace {

// Bodies kept in memory (XML answers, error documents) are small; a larger one is not S3.
constexpr qint64 MaxInMemoryBody = 32 * 1024 * 1024;
// Bounds what Qt buffers for a streamed download before readyRead drains it.
constexpr qint64 ReadBufferSize = 1024 * 1024;

struct ReplyDeleter {
    void operator()(QNetworkReply *reply) const
    {
        reply->disconnect();
        reply->deleteLater();
    }
};

// Keeps a streamed body alive for as long as the reply that reads it.
class BodyKeeper : public QObject {
public:
    BodyKeeper(std::shared_ptr<QIODevice> device, QObject *reply)
        : QObject(reply), m_device(std::move(device))
    {
    }

private:
    std::shared_ptr<QIODevice> m_device;
};

/// How long a cancelled request whose body went out whole is given to be answered: a server
/// answers a stored part within moments; one that holds the body and stays silent must not
/// keep a cancel waiting.
constexpr int kLateAnswerMs = 2'000;

// Shared between the coroutine and the reply's signal handlers, which may outlive each other.
struct CallState {
    bool cancelled = false;
    bool newConnection = false; ///< Qt opened a connection for this request.
    bool bodySent = false;      ///< The whole request body reached the socket.
    bool success = false;       ///< Known once the status line arrived.
    bool statusKnown = false;
    QByteArray body;
    QString sinkError;
    bool bodyTooLarge = false;
};

bool isTransportError(QNetworkReply::NetworkError error)
{
    return error != QNetworkReply::NoError && int(error) < 200;
}

} // namespace

QDateTime parseHttpDate(const QByteArray &value)
{
    // IMF-fixdate, as S3 sends it: "Wed, 12 Oct 2009 17:50:00 GMT". The weekday is skipped:
    // a wrong one (it happens) must not make the date unreadable.
    QString text = QString::fromLatin1(value.trimmed());
    if (const auto comma = text.indexOf(QLatin1Char(',')); comma >= 0)
        text = text.mid(comma + 1).trimmed();
    if (text.endsWith(QLatin1String(" GMT"))) {
        QDateTime time =
            QLocale::c().toDateTime(text.chopped(4), QStringLiteral("d MMM yyyy HH:mm:ss"));
        if (time.isValid()) {
            time.setTimeSpec(Qt::UTC);
            return time;
        }
    }
    const QDateTime time = QDateTime::fromString(text, Qt::RFC2822Date);
    return time.isValid() ? time.toUTC() : QDateTime();
}

QByteArray S3Response::header(QByteArrayView name) const
{
    for (const auto &[headerName, value] : headers)
        if (QByteArrayView(headerName).compare(name, Qt::CaseInsensitive) == 0)
            return value;
    return {};
}

ObjectMetadata S3Response::objectMetadata() const
{
    ObjectMetadata metadata;
    for (const auto &[name, value] : headers) {
        const QByteArray lower = name.toLower();
        if (lower == "content-length")
            metadata.size = value.trimmed().toLongLong();
        else if (lower == "etag")
            metadata.etag = QString::fromUtf8(value).trimmed().remove(QLatin1Char('"'));
        else if (lower == "content-type")
            metadata.contentType = QString::fromUtf8(value);
        else if (lower == "last-modified")
            metadata.lastModified = parseHttpDate(value);
        else if (lower.startsWith("x-amz-meta-"))
            metadata.userMetadata.insert(QString::fromUtf8(lower.mid(11)),
                                         QString::fromUtf8(value));
    }
    return metadata;
}

S3Transport::S3Transport(ClientConfig config, QNetworkAccessManager *network)
    : m_config(std::move(config)), m_network(network),
      m_signer(m_config.credentials, m_config.endpoint.region()),
      m_clock([] { return QDateTime::currentDateTimeUtc(); })
{
}

S3ErrorContext S3Transport::context(const QString &operation, const QString &bucket,
                                    const QString &key) const
{
    return S3ErrorContext{operation, m_config.endpoint.displayName(),  bucket,
                          key,       m_config.credentials.accessKeyId, m_config.endpoint.region()};
}

QNetworkRequest S3Transport::prepare(const S3Request &request, const QDateTime &time) const
{
    const Endpoint &endpoint = m_config.endpoint;
    const bool pathStyle = endpoint.usesPathStyle(request.bucket);

    QString path = QStringLiteral("/");
    if (!request.bucket.isEmpty() && pathStyle)
        path += request.bucket;
    if (!request.key.isEmpty()) {
        if (path.size() > 1)
            path += QLatin1Char('/');
        path += request.key;
    }

    QByteArray payloadHash = request.payloadHash;
    if (payloadHash.isEmpty())
        payloadHash = request.bodyDevice ? QByteArray(sigv4::UnsignedPayload)
                                         : sigv4::payloadHash(request.body);

    SigningRequest signing;
    signing.method = request.method;
    signing.path = path;
    signing.query = request.query;
    signing.headers = request.headers;
    signing.headers.append({"host", endpoint.hostHeader(request.bucket).toUtf8()});
    signing.headers.append({"x-amz-content-sha256", payloadHash});
    signing.payloadHash = payloadHash;
    const SignedRequest signature = m_signer.sign(signing, time);

    QUrl url;
    url.setScheme(endpoint.scheme());
    url.setHost(pathStyle ? endpoint.host() : request.bucket + QLatin1Char('.') + endpoint.host());
    url.setPort(endpoint.port());
    url.setPath(QString::fromLatin1(sigv4::canonicalUri(path)), QUrl::StrictMode);
    const QByteArray query = sigv4::canonicalQueryString(request.query);
    if (!query.isEmpty())
        url.setQuery(QString::fromLatin1(query), QUrl::StrictMode);

    QNetworkRequest networkRequest(url);
    for (const auto &[name, value] : signing.headers)
        networkRequest.setRawHeader(name, value);
    for (const auto &[name, value] : signature.headersToAdd)
        networkRequest.setRawHeader(name, value);
    networkRequest.setRawHeader("User-Agent", m_config.userAgent);
    // Explicit, so Qt neither asks for compression nor silently decompresses stored objects.
    networkRequest.setRawHeader("Accept-Encoding", "identity");
    if (request.method == "PUT" || request.method == "POST") {
        const qint64 length = request.bodyDevice ? request.bodyDevice->size() : request.body.size();
        networkRequest.setHeader(QNetworkRequest::ContentLengthHeader, length);
    }
    // A signed request must not be replayed to another host, and S3 answers redirects with
    // the bucket's region: we report them instead of following them.
    networkRequest.setAttribute(QNetworkRequest::RedirectPolicyAttribute,
                                QNetworkRequest::ManualRedirectPolicy);
    networkRequest.setAttribute(QNetworkRequest::CookieLoadControlAttribute,
                                QNetworkRequest::Manual);
    networkRequest.setAttribute(QNetworkRequest::CookieSaveControlAttribute,
                                QNetworkRequest::Manual);
    networkRequest.setTransferTimeout(int(m_config.transferTimeout.count()));
    return networkRequest;
}

QCoro::Task<S3Result<S3Response>> S3Transport::send(S3Request request, S3ErrorContext context,
                                                    CancellationToken token)
{
    if (token.isCancelled())
        co_return std::unexpected(S3Error::cancelled(context));

    const QNetworkRequest networkRequest = prepare(request, m_clock());
    qCDebug(lcS3).noquote() << request.method << networkRequest.url().toString() << "for the"
                            << context.operation;

    QNetworkReply *raw = nullptr;
    if (request.method == "GET")
        raw = m_network->get(networkRequest);
    else if (request.method == "HEAD")
        raw = m_network->head(networkRequest);
    else if (request.method == "DELETE" && request.body.isEmpty() && !request.bodyDevice)
        raw = m_network->deleteResource(networkRequest);
    else if (request.bodyDevice)
        raw =
            m_network->sendCustomRequest(networkRequest, request.method, request.bodyDevice.get());
    else
        raw = m_network->sendCustomRequest(networkRequest, request.method, request.body);
    const std::unique_ptr<QNetworkReply, ReplyDeleter> reply(raw);
    if (request.bodyDevice)
        new BodyKeeper(request.bodyDevice, raw); // last child: outlives Qt's upload helpers

    auto state = std::make_shared<CallState>();
    if (request.responseSink)
        raw->setReadBufferSize(ReadBufferSize);

    QPointer<QNetworkReply> guard(raw);
    QIODevice *sink = request.responseSink;
    QObject::connect(raw, &QNetworkReply::readyRead, raw, [state, guard, sink] {
        if (!guard)
            return;
        if (!state->statusKnown) {
            const int status = guard->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
            state->statusKnown = status != 0;
            state->success = status >= 200 && status < 300;
        }
        const QByteArray chunk = guard->readAll();
        if (sink && state->success) {
            if (sink->write(chunk) != chunk.size()) {
                state->sinkError = sink->errorString();
                guard->abort();
            }
            return;
        }
        if (state->body.size() + chunk.size() > MaxInMemoryBody) {
            state->bodyTooLarge = true;
            guard->abort();
            return;
        }
        state->body += chunk;
    });
    // Qt reports (0, 0) when it never reported progress; the final report comes from here.
    const qint64 uploadLength =
        request.bodyDevice ? request.bodyDevice->size() : qint64(request.body.size());
    if (request.uploadProgress)
        QObject::connect(raw, &QNetworkReply::uploadProgress, raw,
                         [callback = request.uploadProgress](qint64 sent, qint64 total) {
                             if (total > 0)
                                 callback(sent, total);
                         });
    if (request.downloadProgress)
        QObject::connect(raw, &QNetworkReply::downloadProgress, raw, request.downloadProgress);

    if (uploadLength > 0)
        QObject::connect(raw, &QNetworkReply::uploadProgress, raw,
                         [state](qint64 sent, qint64 total) {
                             if (total > 0 && sent >= total)
                                 state->bodySent = true;
                         });

    // Qt's HTTP/1.1 sockets delay small segments (TCP_NODELAY off, see TcpNoDelay.h). A new
    // connection's socket may only exist once Qt has resolved the host, so it is looked for
    // when the connection starts and again once this request's first bytes went out or its
    // answer arrived; requests reusing the connection then need nothing more. A connection
    // starting also means Qt's HTTP thread exists: it runs as batch work
    // (NetworkThreadScheduling.h).
    QObject::connect(raw, &QNetworkReply::socketStartedConnecting, raw, [state] {
        state->newConnection = true;
        disableNagleOnTcpSockets();
        runNetworkThreadsAsBatch();
    });
    const auto sweepOnce = [state] {
        if (std::exchange(state->newConnection, false))
            disableNagleOnTcpSockets();
    };
    QObject::connect(raw, &QNetworkReply::uploadProgress, raw, [sweepOnce](qint64 sent, qint64) {
        if (sent > 0)
            sweepOnce();
    });
    QObject::connect(raw, &QNetworkReply::metaDataChanged, raw, sweepOnce);

    const CancellationRegistration registration = token.onCancelled(raw, [state, guard] {
        state->cancelled = true;
        if (!guard || !guard->isRunning())
            return;
        if (state->bodySent) {
            // The server stores what it received whole, whatever we do: dropping the
            // connection now would only lose the answer, and a part could then land after
            // the clean-up's abort and stay behind. So it is let finish, for a bounded time.
            qCDebug(lcS3) << "cancelled after its body was sent: awaiting the answer of"
                          << guard->url().toString();
            QTimer::singleShot(kLateAnswerMs, guard, [guard] {
                if (guard && guard->isRunning())
                    guard->abort();
            });
            return;
        }
        qCDebug(lcS3) << "aborting" << guard->url().toString() << "on cancellation";
        guard->abort();
    });

    co_await raw;

    const auto error = raw->error();
    const int status = raw->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (state->cancelled && error == QNetworkReply::OperationCanceledError)
        co_return std::unexpected(S3Error::cancelled(context));
    if (!state->sinkError.isEmpty())
        co_return std::unexpected(
            S3Error::localFile(request.responseSinkName, state->sinkError, context));
    if (state->bodyTooLarge)
        co_return std::unexpected(S3Error::invalidResponse(
            QStringLiteral("an answer larger than %1 bytes").arg(MaxInMemoryBody), status,
            context));

    const bool answered = status >= 100;
    const bool success = status >= 200 && status < 300;
    if (!answered || (success && isTransportError(error))) {
        // No (complete) HTTP answer. OperationCanceledError without our cancellation is the
        // transfer timeout.
        qCInfo(lcS3).noquote() << "transport error" << error << raw->errorString() << "for the"
                               << context.operation;
        if (error == QNetworkReply::OperationCanceledError)
            co_return std::unexpected(S3Error::timedOut(context));
        co_return std::unexpected(S3Error::fromNetworkError(
            error == QNetworkReply::NoError ? QNetworkReply::UnknownNetworkError : error,
            raw->errorString(), context));
    }

    S3Response response;
    response.status = status;
    response.headers = raw->rawHeaderPairs();
    response.body = std::move(state->body);
    if (!success) {
        S3Error s3Error =
            S3Error::fromResponse(status, response.body, context,
                                  QString::fromUtf8(response.header("x-amz-bucket-region")));
        qCDebug(lcS3).noquote() << s3Error.toString();
        co_return std::unexpected(std::move(s3Error));
    }
    if (request.uploadProgress && (request.method == "PUT" || request.method == "POST"))
        request.uploadProgress(uploadLength, uploadLength);
    co_return response;
}

} // namespace ferry::s3
