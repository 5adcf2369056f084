#include "support/S3TestServer.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QEventLoop>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QUrlQuery>

Q_LOGGING_CATEGORY(lcS3TestServer, "ferry.test.s3server")

namespace ferry::test {

namespace {

constexpr int RequestTimeoutMs = 30'000;
constexpr int StartTimeoutMs = 30'000;
constexpr int StopTimeoutMs = 15'000;

QString lastLines(const QString &path, int count)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return {};
    }
    const QList<QByteArray> lines = file.readAll().split('\n');
    const qsizetype first = std::max<qsizetype>(0, lines.size() - count);
    return QString::fromUtf8(lines.mid(first).join('\n'));
}

} // namespace

QByteArray HttpResult::header(const QByteArray &name) const
{
    for (const auto &[key, value] : headers) {
        if (key.compare(name, Qt::CaseInsensitive) == 0) {
            return value;
        }
    }
    return {};
}

// --- S3TestServer -------------------------------------------------------------------------

S3TestServer::S3TestServer(quint16 port) : m_port(port) {}

std::optional<S3TestServer> S3TestServer::fromEnvironment()
{
    const QString dir = qEnvironmentVariable("FERRY_S3_TEST_DIR");
    if (dir.isEmpty()) {
        return std::nullopt;
    }
    QFile portFile(QDir(dir).filePath(QStringLiteral("port")));
    if (!portFile.open(QIODevice::ReadOnly)) {
        return std::nullopt;
    }
    bool ok = false;
    const uint port = portFile.readAll().trimmed().toUInt(&ok);
    if (!ok || port == 0 || port > 65535) {
        return std::nullopt;
    }
    return S3TestServer(static_cast<quint16>(port));
}

QString S3TestServer::environmentProblem()
{
    const QString dir = qEnvironmentVariable("FERRY_S3_TEST_DIR");
    if (dir.isEmpty()) {
        return QStringLiteral("FERRY_S3_TEST_DIR is not set: register the test with "
                              "FIXTURES s3server ENV ${FERRY_S3_TEST_ENV}, or start "
                              "tests/s3server-fixture.sh start DIR and export it");
    }
    const QString portPath = QDir(dir).filePath(QStringLiteral("port"));
    if (!QFile::exists(portPath)) {
        return QStringLiteral("%1 does not exist: the s3server fixture is not running (see %2)")
            .arg(portPath, QDir(dir).filePath(QStringLiteral("data/server.log")));
    }
    return QStringLiteral("%1 does not hold a port number").arg(portPath);
}

QUrl S3TestServer::endpoint() const
{
    QUrl url;
    url.setScheme(QStringLiteral("http"));
    url.setHost(QStringLiteral("127.0.0.1"));
    url.setPort(m_port);
    return url;
}

HttpResult S3TestServer::httpRequest(const QByteArray &verb, const QUrl &url,
                                     const QList<QPair<QByteArray, QByteArray>> &headers,
                                     const QByteArray &body)
{
    QNetworkAccessManager nam;
    nam.setProxy(QNetworkProxy::NoProxy);
    QNetworkRequest request(url);
    request.setTransferTimeout(RequestTimeoutMs);
    for (const auto &[name, value] : headers) {
        request.setRawHeader(name, value);
    }
    std::unique_ptr<QNetworkReply> reply(nam.sendCustomRequest(request, verb, body));
    if (!reply->isFinished()) {
        QEventLoop loop;
        QObject::connect(reply.get(), &QNetworkReply::finished, &loop, &QEventLoop::quit);
        loop.exec();
    }
    HttpResult result;
    result.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    result.body = reply->readAll();
    result.headers = reply->rawHeaderPairs();
    if (result.status == 0) {
        result.error = QStringLiteral("%1 %2: %3")
                           .arg(QString::fromLatin1(verb), url.toString(), reply->errorString());
    }
    return result;
}

HttpResult S3TestServer::swiftAuth() const
{
    QUrl url = endpoint();
    url.setPath(QStringLiteral("/auth/v1.0"));
    return httpRequest("GET", url, {{"X-Auth-User", "test:tester"}, {"X-Auth-Key", "testing"}});
}

HttpResult S3TestServer::swift(const QByteArray &verb, const QString &path, const QByteArray &body,
                               const QUrlQuery &query) const
{
    const HttpResult auth = swiftAuth();
    const QByteArray token = auth.header("X-Auth-Token");
    if (auth.status != 200 || token.isEmpty()) {
        HttpResult failed = auth;
        failed.status = 0;
        failed.error = QStringLiteral("Swift auth on %1 failed: HTTP %2 %3")
                           .arg(endpoint().toString())
                           .arg(auth.status)
                           .arg(auth.error.isEmpty() ? QString::fromUtf8(auth.body) : auth.error);
        return failed;
    }
    QUrl url = endpoint();
    url.setPath(path.isEmpty() ? QStringLiteral("/v1/%1").arg(swiftAccount())
                               : QStringLiteral("/v1/%1/%2").arg(swiftAccount(), path));
    url.setQuery(query);
    return httpRequest(verb, url, {{"X-Auth-Token", token}}, body);
}

SegmentListing S3TestServer::listSegments(const QString &bucket, int pageSize) const
{
    SegmentListing listing;
    const QString container = bucket + QStringLiteral("+segments");
    QString marker;
    for (;;) {
        QUrlQuery query;
        query.addQueryItem(QStringLiteral("format"), QStringLiteral("json"));
        query.addQueryItem(QStringLiteral("limit"), QString::number(pageSize));
        if (!marker.isEmpty()) {
            // Fully encoded: a literal '+' or '&' in a name must survive the query string.
            query.addQueryItem(QStringLiteral("marker"),
                               QString::fromLatin1(QUrl::toPercentEncoding(marker)));
        }
        const HttpResult page = swift("GET", container, {}, query);
        if (page.status == 404) {
            return listing; // no multipart upload ever stored a part in this bucket
        }
        if (page.status != 200) {
            const QString why = page.error.isEmpty() ? QStringLiteral("HTTP %1 %2")
                                                           .arg(page.status)
                                                           .arg(QString::fromUtf8(page.body))
                                                     : page.error;
            listing.error = QStringLiteral("listing %1 failed: %2").arg(container, why);
            return listing;
        }
        const QJsonArray objects = QJsonDocument::fromJson(page.body).array();
        if (objects.isEmpty()) {
            return listing;
        }
        for (const QJsonValue &object : objects) {
            listing.names.append(object.toObject().value(QStringLiteral("name")).toString());
        }
        marker = listing.names.constLast();
    }
}

// --- S3TestServerProcess ------------------------------------------------------------------

S3TestServerProcess::S3TestServerProcess(QString dataDir, qint64 minSegmentSize)
    : m_dataDir(std::move(dataDir)), m_minSegmentSize(minSegmentSize)
{
}

S3TestServerProcess::~S3TestServerProcess()
{
    if (isRunning() && !stop()) {
        qCWarning(lcS3TestServer).noquote() << m_error;
    }
}

std::unique_ptr<S3TestServerProcess> S3TestServerProcess::start(const QString &dataDir,
                                                                quint16 port, qint64 minSegmentSize,
                                                                QString *error)
{
    std::unique_ptr<S3TestServerProcess> server(new S3TestServerProcess(dataDir, minSegmentSize));
    if (!server->launch(port)) {
        qCWarning(lcS3TestServer).noquote() << server->m_error;
        if (error) {
            *error = server->m_error;
        }
        return nullptr;
    }
    return server;
}

bool S3TestServerProcess::launch(quint16 port)
{
    m_error.clear();
    m_process = std::make_unique<QProcess>();
    m_process->setProgram(QStringLiteral(FERRY_S3_TEST_SERVER_PATH));
    m_process->setArguments({QStringLiteral("--data-dir"), m_dataDir, QStringLiteral("--port"),
                             QString::number(port), QStringLiteral("--min-segment-size"),
                             QString::number(m_minSegmentSize)});
    // stderr goes to a file: nobody drains the pipe while the server runs.
    QDir().mkpath(m_dataDir);
    m_process->setStandardErrorFile(stderrPath(), QIODevice::Append);
    m_process->start(QIODevice::ReadOnly);
    if (!m_process->waitForStarted(StartTimeoutMs)) {
        m_error =
            QStringLiteral("cannot run %1: %2").arg(m_process->program(), m_process->errorString());
        return false;
    }

    // The server prints exactly one line, PORT=<n>, once it serves.
    const QDeadlineTimer deadline(StartTimeoutMs);
    QByteArray output;
    while (!output.contains('\n')) {
        if (m_process->state() != QProcess::Running ||
            !m_process->waitForReadyRead(int(deadline.remainingTime()))) {
            output += m_process->readAllStandardOutput();
            if (output.contains('\n')) {
                break;
            }
            m_error = m_process->state() == QProcess::Running
                          ? QStringLiteral("%1 did not report a port within %2 ms")
                                .arg(m_process->program())
                                .arg(StartTimeoutMs)
                          : QStringLiteral("%1 exited during start-up").arg(m_process->program());
            m_error += diagnostics();
            if (m_process->state() == QProcess::Running) {
                m_process->kill();
                m_process->waitForFinished(StopTimeoutMs);
            }
            return false;
        }
        output += m_process->readAllStandardOutput();
    }
    const QByteArray line = output.left(output.indexOf('\n')).trimmed();
    bool ok = false;
    const uint reported = line.startsWith("PORT=") ? line.mid(5).toUInt(&ok) : 0;
    if (!ok || reported == 0 || reported > 65535 || (port != 0 && reported != port)) {
        m_error = QStringLiteral("%1 printed %2 instead of PORT=<n>")
                      .arg(m_process->program(), QString::fromUtf8(line)) +
                  diagnostics();
        m_process->kill();
        m_process->waitForFinished(StopTimeoutMs);
        return false;
    }
    m_port = static_cast<quint16>(reported);
    return true;
}

bool S3TestServerProcess::stop()
{
    m_error.clear();
    if (!m_process || m_process->state() == QProcess::NotRunning) {
        return true;
    }
    m_process->terminate(); // SIGTERM
    if (!m_process->waitForFinished(StopTimeoutMs)) {
        m_error = QStringLiteral("server on port %1 did not exit within %2 ms of SIGTERM")
                      .arg(m_port)
                      .arg(StopTimeoutMs) +
                  diagnostics();
        m_process->kill();
        m_process->waitForFinished(StopTimeoutMs);
        return false;
    }
    if (m_process->exitStatus() != QProcess::NormalExit || m_process->exitCode() != 0) {
        m_error = QStringLiteral("server on port %1 exited with status %2 (%3)")
                      .arg(m_port)
                      .arg(m_process->exitCode())
                      .arg(m_process->exitStatus() == QProcess::CrashExit
                               ? QStringLiteral("killed by a signal")
                               : QStringLiteral("normal exit")) +
                  diagnostics();
        return false;
    }
    return true;
}

bool S3TestServerProcess::restart()
{
    if (!stop()) {
        return false;
    }
    return launch(m_port);
}

bool S3TestServerProcess::isRunning() const
{
    return m_process && m_process->state() != QProcess::NotRunning;
}

qint64 S3TestServerProcess::processId() const
{
    return m_process ? m_process->processId() : 0;
}

QString S3TestServerProcess::stderrPath() const
{
    return QDir(m_dataDir).filePath(QStringLiteral("server.stderr"));
}

QString S3TestServerProcess::diagnostics() const
{
    QString text;
    const QString err = lastLines(stderrPath(), 20).trimmed();
    if (!err.isEmpty()) {
        text += QStringLiteral("\n--- last lines of %1:\n").arg(stderrPath()) + err;
    }
    const QString logPath = QDir(m_dataDir).filePath(QStringLiteral("server.log"));
    const QString log = lastLines(logPath, 20).trimmed();
    if (!log.isEmpty()) {
        text += QStringLiteral("\n--- last lines of %1:\n").arg(logPath) + log;
    }
    return text;
}

} // namespace ferry::test
