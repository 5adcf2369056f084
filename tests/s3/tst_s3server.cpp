// The local S3 test server itself (tools/s3-test-server, via the s3server fixture and a
// test-owned instance): reachable on 127.0.0.1 only, Swift auth, the segments listing
// helper, and data surviving a restart on the same port. Plain HTTP over the Swift API;
// S3 requests are covered by the S3 client's suites.

#include "support/S3TestServer.h"

#include <QDir>
#include <QFile>
#include <QHostAddress>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <QUuid>
#include <QtEndian>

#include <unistd.h>

#include <cstring>

using ferry::test::HttpResult;
using ferry::test::S3TestServer;
using ferry::test::S3TestServerProcess;

namespace {

struct ListeningSocket {
    QHostAddress address;
    quint16 port = 0;
};

/** The inodes of the sockets process @p pid has open, from /proc/PID/fd. */
QSet<QByteArray> socketInodes(qint64 pid)
{
    QSet<QByteArray> inodes;
    const QDir fds(QStringLiteral("/proc/%1/fd").arg(pid));
    for (const QString &fd : fds.entryList(QDir::System | QDir::NoDotAndDotDot)) {
        const QByteArray link = QFile::encodeName(fds.filePath(fd));
        char target[128] = {};
        const ssize_t n = ::readlink(link.constData(), target, sizeof target - 1);
        const QByteArray text(target, n > 0 ? n : 0);
        if (text.startsWith("socket:[")) {
            inodes.insert(text.mid(8, text.size() - 9));
        }
    }
    return inodes;
}

/** "0100007F" (IPv4) or 32 hex digits (IPv6), as the kernel prints them in /proc/net/tcp*. */
QHostAddress procNetAddress(const QByteArray &hex)
{
    // Each 32-bit word is printed as a host-order integer whose memory holds the
    // network-order bytes.
    if (hex.size() == 8) {
        return QHostAddress(qFromBigEndian(quint32(hex.toUInt(nullptr, 16))));
    }
    Q_IPV6ADDR bytes;
    for (int i = 0; i < 4; ++i) {
        const quint32 raw = hex.mid(i * 8, 8).toUInt(nullptr, 16);
        std::memcpy(bytes.c + i * 4, &raw, 4);
    }
    return QHostAddress(bytes);
}

/** Every TCP socket in LISTEN state that process @p pid holds, IPv4 and IPv6. */
QList<ListeningSocket> listeningSockets(qint64 pid)
{
    const QSet<QByteArray> inodes = socketInodes(pid);
    QList<ListeningSocket> sockets;
    for (const char *table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        QFile file(QString::fromLatin1(table));
        if (!file.open(QIODevice::ReadOnly)) {
            continue;
        }
        file.readLine(); // header
        while (!file.atEnd()) {
            const QList<QByteArray> f = file.readLine().simplified().split(' ');
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if (f.size() < 10 || f[3] != "0A" || !inodes.contains(f[9])) {
                continue;
            }
            const QList<QByteArray> local = f[1].split(':');
            sockets.append({procNetAddress(local[0]), quint16(local[1].toUInt(nullptr, 16))});
        }
    }
    return sockets;
}

QString describe(const HttpResult &r)
{
    return r.error.isEmpty()
               ? QStringLiteral("HTTP %1: %2").arg(r.status).arg(QString::fromUtf8(r.body))
               : r.error;
}

QString uniqueBucket()
{
    return QStringLiteral("s3server-") + QUuid::createUuid().toString(QUuid::Id128).left(12);
}

} // namespace

class TestS3Server : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void answersHealthcheck();
    void listensOnLoopbackOnly();
    void swiftAuthIssuesToken();
    void swiftAuthRejectsWrongKey();
    void segmentsOfNewBucketAreEmpty();
    void segmentsListingShowsStoredParts();
    void ownServerRestartsOnSamePortWithItsData();
    void ownServerRefusesSecondInstanceOnSameDataDir();

private:
    std::optional<S3TestServer> m_server;
};

void TestS3Server::initTestCase()
{
    m_server = S3TestServer::fromEnvironment();
    QVERIFY2(m_server, qPrintable(S3TestServer::environmentProblem()));
    QCOMPARE(m_server->endpoint().toString(),
             QStringLiteral("http://127.0.0.1:%1").arg(m_server->port()));
    QCOMPARE(S3TestServer::accessKey(), QStringLiteral("ferry-test"));
    QCOMPARE(S3TestServer::secretKey(), QStringLiteral("testing"));
    QCOMPARE(S3TestServer::region(), QStringLiteral("us-east-1"));
}

void TestS3Server::answersHealthcheck()
{
    QUrl url = m_server->endpoint();
    url.setPath(QStringLiteral("/healthcheck"));
    const HttpResult r = S3TestServer::httpRequest("GET", url);
    QCOMPARE(r.status, 200);
    QCOMPARE(r.body, QByteArray("OK"));
}

void TestS3Server::listensOnLoopbackOnly()
{
    QFile pidFile(QDir(qEnvironmentVariable("FERRY_S3_TEST_DIR")).filePath(QStringLiteral("pid")));
    QVERIFY2(pidFile.open(QIODevice::ReadOnly), qPrintable(pidFile.errorString()));
    const qint64 pid = pidFile.readAll().trimmed().toLongLong();
    QVERIFY(pid > 0);

    const QList<ListeningSocket> sockets = listeningSockets(pid);
    // proxy (S3 and Swift API), account, container and object servers
    QCOMPARE(sockets.size(), 4);
    bool proxySeen = false;
    for (const ListeningSocket &s : sockets) {
        QVERIFY2(
            s.address == QHostAddress(QHostAddress::LocalHost),
            qPrintable(QStringLiteral("listening on %1:%2").arg(s.address.toString()).arg(s.port)));
        proxySeen = proxySeen || s.port == m_server->port();
    }
    QVERIFY(proxySeen);
}

void TestS3Server::swiftAuthIssuesToken()
{
    const HttpResult auth = m_server->swiftAuth();
    QCOMPARE(auth.status, 200);
    QVERIFY2(auth.header("X-Auth-Token").startsWith("AUTH_tk"), auth.header("X-Auth-Token"));
    const QString storageUrl = QString::fromUtf8(auth.header("X-Storage-Url"));
    QCOMPARE(storageUrl, m_server->endpoint().toString() + QStringLiteral("/v1/AUTH_test"));

    const HttpResult account = m_server->swift("HEAD", QString());
    QVERIFY2(account.status == 204 || account.status == 200, qPrintable(describe(account)));
}

void TestS3Server::swiftAuthRejectsWrongKey()
{
    QUrl url = m_server->endpoint();
    url.setPath(QStringLiteral("/auth/v1.0"));
    const HttpResult r = S3TestServer::httpRequest(
        "GET", url, {{"X-Auth-User", "test:tester"}, {"X-Auth-Key", "not-the-key"}});
    QCOMPARE(r.status, 401);
    QVERIFY(r.header("X-Auth-Token").isEmpty());

    url.setPath(QStringLiteral("/v1/AUTH_test"));
    const HttpResult unauthenticated = S3TestServer::httpRequest("GET", url);
    QCOMPARE(unauthenticated.status, 401);
}

void TestS3Server::segmentsOfNewBucketAreEmpty()
{
    const QString bucket = uniqueBucket();
    const HttpResult created = m_server->swift("PUT", bucket);
    QVERIFY2(created.status == 201, qPrintable(describe(created)));

    const ferry::test::SegmentListing listing = m_server->listSegments(bucket);
    QVERIFY2(listing.ok(), qPrintable(listing.error));
    QCOMPARE(listing.names, QStringList());

    QCOMPARE(m_server->swift("DELETE", bucket).status, 204);
}

void TestS3Server::segmentsListingShowsStoredParts()
{
    // Store two "parts" where s3api keeps them, so the helper is seen to find parts.
    const QString bucket = uniqueBucket();
    const QString segments = bucket + QStringLiteral("+segments");
    QCOMPARE(m_server->swift("PUT", bucket).status, 201);
    QCOMPARE(m_server->swift("PUT", segments).status, 201);
    // Sorted as Swift lists them; odd characters exercise paging by marker.
    const QStringList parts = {QStringLiteral("dir/a&b=c/upload-1/1"),
                               QStringLiteral("dir/key with space/upload-1/1"),
                               QStringLiteral("dir/key+plus%25/upload-1/2")};
    for (const QString &part : parts) {
        const HttpResult put = m_server->swift("PUT", segments + QLatin1Char('/') + part, "data");
        QVERIFY2(put.status == 201, qPrintable(describe(put)));
    }

    const ferry::test::SegmentListing listing = m_server->listSegments(bucket);
    QVERIFY2(listing.ok(), qPrintable(listing.error));
    QCOMPARE(listing.names, parts);
    const ferry::test::SegmentListing paged = m_server->listSegments(bucket, 1);
    QVERIFY2(paged.ok(), qPrintable(paged.error));
    QCOMPARE(paged.names, parts);

    for (const QString &part : parts) {
        QCOMPARE(m_server->swift("DELETE", segments + QLatin1Char('/') + part).status, 204);
    }
    QCOMPARE(m_server->listSegments(bucket).names, QStringList());
    QCOMPARE(m_server->swift("DELETE", segments).status, 204);
    QCOMPARE(m_server->swift("DELETE", bucket).status, 204);
}

void TestS3Server::ownServerRestartsOnSamePortWithItsData()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QString error;
    const auto process = S3TestServerProcess::start(dir.filePath(QStringLiteral("data")), 0,
                                                    S3TestServer::DefaultMinSegmentSize, &error);
    QVERIFY2(process, qPrintable(error));
    const quint16 port = process->port();
    QVERIFY(port != 0);
    QVERIFY(port != m_server->port());
    for (const ListeningSocket &s : listeningSockets(process->processId())) {
        QCOMPARE(s.address, QHostAddress(QHostAddress::LocalHost));
    }

    const S3TestServer own = process->server();
    QCOMPARE(own.swift("PUT", QStringLiteral("keep")).status, 201);
    const QByteArray content = "written before the restart";
    QCOMPARE(own.swift("PUT", QStringLiteral("keep/object.txt"), content).status, 201);

    QVERIFY2(process->stop(), qPrintable(process->errorString()));
    QVERIFY(!process->isRunning());
    QUrl health = own.endpoint();
    health.setPath(QStringLiteral("/healthcheck"));
    QCOMPARE(S3TestServer::httpRequest("GET", health).status, 0); // nobody listens

    QVERIFY2(process->restart(), qPrintable(process->errorString()));
    QCOMPARE(process->port(), port);
    const HttpResult object = own.swift("GET", QStringLiteral("keep/object.txt"));
    QVERIFY2(object.status == 200, qPrintable(describe(object)));
    QCOMPARE(object.body, content);
    const HttpResult listing = own.swift("GET", QStringLiteral("keep"));
    QCOMPARE(listing.status, 200);
    QCOMPARE(listing.body, QByteArray("object.txt\n"));

    QVERIFY2(process->stop(), qPrintable(process->errorString()));
}

void TestS3Server::ownServerRefusesSecondInstanceOnSameDataDir()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString dataDir = dir.filePath(QStringLiteral("data"));
    QString error;
    const auto first =
        S3TestServerProcess::start(dataDir, 0, S3TestServer::DefaultMinSegmentSize, &error);
    QVERIFY2(first, qPrintable(error));

    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("in use by another server")));
    const auto second =
        S3TestServerProcess::start(dataDir, 0, S3TestServer::DefaultMinSegmentSize, &error);
    QVERIFY(!second);
    QVERIFY2(error.contains(QStringLiteral("in use by another server")), qPrintable(error));
    QVERIFY(first->isRunning());
    QVERIFY2(first->stop(), qPrintable(first->errorString()));
}

QTEST_GUILESS_MAIN(TestS3Server)
#include "tst_s3server.moc"
