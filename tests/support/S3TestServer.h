#pragma once

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QUrl>
#include <QUrlQuery>

#include <memory>
#include <optional>

namespace ferry::test {

/** One HTTP exchange done synchronously by the helpers below (test code only). */
struct HttpResult {
    int status = 0;  ///< HTTP status; 0 when no response arrived
    QByteArray body; ///< response body
    QString error;   ///< transport error when status is 0
    QList<QPair<QByteArray, QByteArray>> headers;

    /** The first header named @p name (case-insensitive), or an empty array. */
    [[nodiscard]] QByteArray header(const QByteArray &name) const;
};

/** Object names of a bucket's hidden `<bucket>+segments` container (multipart parts). */
struct SegmentListing {
    QStringList names; ///< sorted object names; empty when the container does not exist
    QString error;     ///< what went wrong; empty on success
    [[nodiscard]] bool ok() const { return error.isEmpty(); }
};

/**
 * Connection details of a running local S3 test server (tools/s3-test-server: OpenStack
 * Swift with s3api on 127.0.0.1), plus Swift-API helpers for assertions that S3 itself
 * cannot make, such as "no multipart part was left behind".
 *
 * The shared server of the CTest fixture `s3server` is found with fromEnvironment(); a
 * suite that must stop and restart a server mid-test starts its own S3TestServerProcess.
 */
class S3TestServer {
public:
    static constexpr qint64 DefaultMinSegmentSize = 5 * 1024 * 1024;

    explicit S3TestServer(quint16 port);

    /**
     * The fixture's server: reads `$FERRY_S3_TEST_DIR/port`. Empty when the variable is
     * unset or the port file is missing (the test does not use `FIXTURES s3server`).
     */
    [[nodiscard]] static std::optional<S3TestServer> fromEnvironment();

    /** Why fromEnvironment() found nothing, for a test's failure message. */
    [[nodiscard]] static QString environmentProblem();

    [[nodiscard]] quint16 port() const { return m_port; }
    /** `http://127.0.0.1:PORT` */
    [[nodiscard]] QUrl endpoint() const;
    [[nodiscard]] static QString accessKey() { return QStringLiteral("ferry-test"); }
    [[nodiscard]] static QString secretKey() { return QStringLiteral("testing"); }
    [[nodiscard]] static QString region() { return QStringLiteral("us-east-1"); }
    /** The Swift account holding all buckets. */
    [[nodiscard]] static QString swiftAccount() { return QStringLiteral("AUTH_test"); }

    /** GET /auth/v1.0 with the test user's credentials (X-Auth-Token in the headers). */
    [[nodiscard]] HttpResult swiftAuth() const;

    /**
     * An authenticated Swift API request on `/v1/AUTH_test/<path>`, e.g.
     * `swift("PUT", "bucket/key", data)`; @p path is taken literally (not percent-encoded),
     * @p query as QUrlQuery holds it (encode a literal '+' as %2B).
     * Fetches a fresh token first (tokens do not survive a server restart).
     */
    [[nodiscard]] HttpResult swift(const QByteArray &verb, const QString &path,
                                   const QByteArray &body = {}, const QUrlQuery &query = {}) const;

    /**
     * Lists `<bucket>+segments`, where s3api keeps multipart parts, over the Swift API,
     * @p pageSize names per request.
     */
    [[nodiscard]] SegmentListing listSegments(const QString &bucket, int pageSize = 1000) const;

    /**
     * One synchronous HTTP request to @p url, without any proxy, bounded by a 30 s
     * transfer timeout. For test code only: it spins a local event loop.
     */
    [[nodiscard]] static HttpResult
    httpRequest(const QByteArray &verb, const QUrl &url,
                const QList<QPair<QByteArray, QByteArray>> &headers = {},
                const QByteArray &body = {});

private:
    quint16 m_port;
};

/**
 * A test-owned tools/s3-test-server process, for tests that need a server of their own,
 * e.g. to stop and restart it on the same port and data directory mid-test.
 * The destructor stops a running server.
 */
class S3TestServerProcess {
public:
    ~S3TestServerProcess();
    S3TestServerProcess(const S3TestServerProcess &) = delete;
    S3TestServerProcess &operator=(const S3TestServerProcess &) = delete;

    /**
     * Starts a server on @p dataDir (existing data is reused) and @p port (0: any free
     * port) and waits, bounded, until it prints `PORT=`. Returns null on failure, with the
     * reason (server output and log tail) in @p error when given and in a warning.
     */
    [[nodiscard]] static std::unique_ptr<S3TestServerProcess>
    start(const QString &dataDir, quint16 port = 0,
          qint64 minSegmentSize = S3TestServer::DefaultMinSegmentSize, QString *error = nullptr);

    /** SIGTERM, then wait for the exit. True when the server exited with status 0. */
    [[nodiscard]] bool stop();

    /** stop() if running, then start again on the same port and data directory. */
    [[nodiscard]] bool restart();

    [[nodiscard]] bool isRunning() const;
    [[nodiscard]] quint16 port() const { return m_port; }
    [[nodiscard]] qint64 processId() const;
    [[nodiscard]] QString dataDir() const { return m_dataDir; }
    [[nodiscard]] S3TestServer server() const { return S3TestServer(m_port); }
    /** Why the last start, stop or restart failed. */
    [[nodiscard]] QString errorString() const { return m_error; }

private:
    S3TestServerProcess(QString dataDir, qint64 minSegmentSize);
    [[nodiscard]] bool launch(quint16 port);
    [[nodiscard]] QString diagnostics() const;
    [[nodiscard]] QString stderrPath() const;

    QString m_dataDir;
    qint64 m_minSegmentSize;
    quint16 m_port = 0;
    std::unique_ptr<QProcess> m_process;
    QString m_error;
};

} // namespace ferry::test
