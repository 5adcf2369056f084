// The S3 client through the FaultProxy in front of the local S3 server: forwarded requests
// stay valid (SigV4 over the proxy's Host), keep-alive works, and each injected fault — stall,
// reset mid-body, 500/503/SlowDown, truncated or garbled XML, an HTML page, a 301 to another
// region — ends in the error kind and message a user can act on, with nothing half-written
// left on the server.

#include "app/s3/S3Client.h"
#include "support/FaultProxy.h"
#include "support/S3TestServer.h"

#include <QCoro/QCoroTask>

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>
#include <QUrlQuery>

using namespace ferry::s3;
using ferry::CancellationToken;
using ferry::test::Fault;
using ferry::test::FaultProxy;
using ferry::test::FaultRule;
using ferry::test::S3TestServer;
using Kind = S3Error::Kind;

namespace {

constexpr qint64 MiB = 1024 * 1024;

QByteArray randomBytes(qint64 size)
{
    QByteArray bytes(size, Qt::Uninitialized);
    QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(bytes.data()), size / 4);
    return bytes;
}

QByteArray readAll(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray("<unreadable>");
}

} // namespace

class TestFaultsS3 : public QObject {
    Q_OBJECT

    std::optional<S3TestServer> m_server;
    std::unique_ptr<FaultProxy> m_proxy;
    QTemporaryDir m_tmp;
    std::unique_ptr<S3Client> m_direct; ///< Straight to the server, for the assertions.
    std::unique_ptr<S3Client> m_client; ///< Through the proxy.
    const QString m_bucket = QStringLiteral("faults-s3");

    static ClientConfig configFor(const QString &endpoint, int timeoutMs)
    {
        ClientConfig config;
        config.endpoint = *Endpoint::fromUrl(endpoint);
        config.credentials.accessKeyId = S3TestServer::accessKey();
        config.credentials.secretAccessKey = S3TestServer::secretKey();
        config.transferTimeout = std::chrono::milliseconds(timeoutMs);
        return config;
    }

    QString writeLocal(const QString &name, const QByteArray &content)
    {
        const QString path = m_tmp.filePath(name);
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly) || file.write(content) != content.size())
            qFatal("cannot write %s", qPrintable(path));
        return path;
    }

    bool objectExists(const QString &key)
    {
        return QCoro::waitFor(m_direct->headObject(m_bucket, key, {})).has_value();
    }

    int uploadsInProgress()
    {
        auto uploads = QCoro::waitFor(m_direct->listAllMultipartUploads(m_bucket, "", {}));
        return uploads ? int(uploads->size()) : -1;
    }

private slots:
    void initTestCase()
    {
        m_server = S3TestServer::fromEnvironment();
        QVERIFY2(m_server.has_value(), qPrintable(S3TestServer::environmentProblem()));
        m_proxy = std::make_unique<FaultProxy>(m_server->port());
        QVERIFY(m_proxy->listen());
        m_direct = std::make_unique<S3Client>(configFor(m_server->endpoint().toString(), 30'000));
        m_client = std::make_unique<S3Client>(configFor(m_proxy->endpoint(), 1500));
        QVERIFY(QCoro::waitFor(m_direct->createBucket(m_bucket, {})).has_value());
    }

    void init()
    {
        m_proxy->clearRules();
        m_proxy->clearLog();
    }

    void forwardsSignedRequestsOverKeepAlive()
    {
        const QByteArray content = randomBytes(300 * 1024);
        const QString path = writeLocal("plain.bin", content);
        for (int i = 0; i < 5; ++i) {
            auto put = QCoro::waitFor(
                m_client->putObject(m_bucket, QStringLiteral("plain/%1").arg(i), path, {}));
            QVERIFY2(put.has_value(), qPrintable(put ? QString() : put.error().toString()));
        }
        auto listed = QCoro::waitFor(m_client->listAllObjects(m_bucket, "plain/", {}));
        QVERIFY(listed.has_value());
        QCOMPARE(listed->size(), 5);
        auto got = QCoro::waitFor(
            m_client->getObject(m_bucket, "plain/3", m_tmp.filePath("plain.got"), {}));
        QVERIFY(got.has_value());
        QCOMPARE(readAll(m_tmp.filePath("plain.got")), content);
        const auto requests = m_proxy->requests();
        QCOMPARE(requests.size(), 7);
        QCOMPARE(requests.first().header("Host"),
                 QByteArray("127.0.0.1:") + QByteArray::number(m_proxy->port()));
        // Keep-alive: seven requests did not need seven connections.
        QVERIFY2(m_proxy->connectionsAccepted() < requests.size(),
                 qPrintable(QString::number(m_proxy->connectionsAccepted())));
    }

    void stalledResponseTimesOutThenTheRetrySucceeds()
    {
        const QString path = writeLocal("stall.bin", randomBytes(64 * 1024));
        const int rule = m_proxy->addRule("PUT", "/stall\\.bin$", Fault::stall());
        QElapsedTimer clock;
        clock.start();
        auto first = QCoro::waitFor(m_client->putObject(m_bucket, "stall.bin", path, {}));
        QVERIFY(!first.has_value());
        QCOMPARE(first.error().kind(), Kind::EndpointUnreachable);
        QVERIFY(first.error().isRetryable());
        QVERIFY2(first.error().message().contains("127.0.0.1"),
                 qPrintable(first.error().message()));
        QVERIFY2(clock.elapsed() < 15'000, "the transfer timeout ended the stalled request");
        QCOMPARE(m_proxy->applied(rule), 1);
        auto second = QCoro::waitFor(m_client->putObject(m_bucket, "stall.bin", path, {}));
        QVERIFY2(second.has_value(), qPrintable(second ? QString() : second.error().toString()));
        QVERIFY(objectExists("stall.bin"));
    }

    void slowResponseIsNotTornDown()
    {
        const QString path = writeLocal("slow.bin", randomBytes(16 * 1024));
        // Slower than nothing at all, but bytes do not stop for longer than the timeout.
        const int rule = m_proxy->addRule("PUT", "/slow\\.bin$", Fault::delay(1000));
        auto put = QCoro::waitFor(m_client->putObject(m_bucket, "slow.bin", path, {}));
        QVERIFY2(put.has_value(), qPrintable(put ? QString() : put.error().toString()));
        QCOMPARE(m_proxy->applied(rule), 1);
    }

    void cancelAfterTheBodyWentOutAwaitsTheAnswer()
    {
        // Once the server holds the whole body it stores the object whatever the client does;
        // dropping the connection would only lose the answer (and, for a part, let it land
        // after the clean-up's abort). The cancelled request is let finish.
        const QString path = writeLocal("late.bin", randomBytes(256 * 1024));
        const int rule = m_proxy->addRule("PUT", "/late\\.bin$", Fault::delay(1000));
        ferry::CancellationSource source;
        auto put = m_client->putObject(m_bucket, "late.bin", path, source.token());
        QTRY_VERIFY_WITH_TIMEOUT(objectExists("late.bin"), 10'000); // its answer is held back
        source.cancel();
        const auto result = QCoro::waitFor(std::move(put));
        QVERIFY2(result.has_value(), qPrintable(result ? QString() : result.error().toString()));
        QCOMPARE(m_proxy->applied(rule), 1);
    }

    void serverBusyAndInternalErrorsAreRetryable_data()
    {
        QTest::addColumn<int>("status");
        QTest::addColumn<QByteArray>("code");
        QTest::addColumn<int>("kind");
        QTest::newRow("503 SlowDown") << 503 << QByteArray("SlowDown") << int(Kind::ServerBusy);
        QTest::newRow("503 ServiceUnavailable")
            << 503 << QByteArray("ServiceUnavailable") << int(Kind::ServerBusy);
        QTest::newRow("500 InternalError")
            << 500 << QByteArray("InternalError") << int(Kind::ServerError);
    }

    void serverBusyAndInternalErrorsAreRetryable()
    {
        QFETCH(int, status);
        QFETCH(QByteArray, code);
        QFETCH(int, kind);
        const QString path = writeLocal("busy.bin", randomBytes(8 * 1024));
        m_proxy->addRule("PUT", "/busy\\.bin$", Fault::error(status, code, "try later"));
        auto put = QCoro::waitFor(m_client->putObject(m_bucket, "busy.bin", path, {}));
        QVERIFY(!put.has_value());
        QCOMPARE(int(put.error().kind()), kind);
        QCOMPARE(put.error().httpStatus(), status);
        QCOMPARE(put.error().code(), QString::fromLatin1(code));
        QVERIFY(put.error().isRetryable());
        QVERIFY(!put.error().message().isEmpty());
        auto again = QCoro::waitFor(m_client->putObject(m_bucket, "busy.bin", path, {}));
        QVERIFY(again.has_value());
    }

    void resetMidRequestBodyLeavesNoObject()
    {
        const QString path = writeLocal("reset-put.bin", randomBytes(2 * MiB));
        // Two: Qt resends once by itself when a reused connection drops before the answer.
        const int rule = m_proxy->addRule("PUT", "/reset-put\\.bin$", Fault::reset(), 2);
        auto put = QCoro::waitFor(m_client->putObject(m_bucket, "reset-put.bin", path, {}));
        QVERIFY(!put.has_value());
        QCOMPARE(put.error().kind(), Kind::EndpointUnreachable);
        QVERIFY(put.error().isRetryable());
        QVERIFY(m_proxy->applied(rule) >= 1);
        m_proxy->clearRules();
        QVERIFY(!objectExists("reset-put.bin"));
    }

    void resetMidResponseBodyKeepsTheOldFile()
    {
        const QByteArray content = randomBytes(MiB);
        const QString path = writeLocal("reset-get.bin", content);
        QVERIFY(QCoro::waitFor(m_direct->putObject(m_bucket, "reset-get.bin", path, {})));
        const QString target = m_tmp.filePath("download/reset-get.bin");
        QDir().mkpath(QFileInfo(target).absolutePath());
        QFile old(target);
        QVERIFY(old.open(QIODevice::WriteOnly));
        old.write("previous");
        old.close();
        // Once: Qt never resends a request whose answer had begun.
        m_proxy->addRule("GET", "/reset-get\\.bin$", Fault::reset());
        auto got = QCoro::waitFor(m_client->getObject(m_bucket, "reset-get.bin", target, {}));
        QVERIFY(!got.has_value());
        QCOMPARE(got.error().kind(), Kind::EndpointUnreachable);
        // Half a download never replaces the file, and no temporary file is left.
        QCOMPARE(readAll(target), QByteArray("previous"));
        QCOMPARE(QDir(QFileInfo(target).absolutePath()).entryList(QDir::Files).size(), 1);
        auto again = QCoro::waitFor(m_client->getObject(m_bucket, "reset-get.bin", target, {}));
        QVERIFY(again.has_value());
        QCOMPARE(readAll(target), content);
    }

    void brokenListingIsAClearError_data()
    {
        QTest::addColumn<int>("action");
        QTest::newRow("truncated") << int(Fault::Action::Truncate);
        QTest::newRow("garbled") << int(Fault::Action::Garble);
    }

    void brokenListingIsAClearError()
    {
        QFETCH(int, action);
        Fault fault;
        fault.action = Fault::Action(action);
        FaultRule rule;
        rule.method = "GET";
        rule.queryContains = "list-type=2";
        rule.fault = fault;
        m_proxy->addRule(rule);
        auto listed = QCoro::waitFor(m_client->listAllObjects(m_bucket, "plain/", {}));
        QVERIFY(!listed.has_value());
        QCOMPARE(listed.error().kind(), Kind::InvalidResponse);
        QVERIFY2(listed.error().message().contains(m_bucket) ||
                     listed.error().message().contains("127.0.0.1"),
                 qPrintable(listed.error().message()));
        auto again = QCoro::waitFor(m_client->listAllObjects(m_bucket, "plain/", {}));
        QVERIFY(again.has_value());
    }

    void htmlPageIsAClearError_data()
    {
        QTest::addColumn<int>("status");
        QTest::addColumn<int>("kind");
        QTest::addColumn<bool>("retryable");
        QTest::newRow("200 captive portal") << 200 << int(Kind::InvalidResponse) << false;
        QTest::newRow("502 gateway") << 502 << int(Kind::ServerError) << true;
    }

    void htmlPageIsAClearError()
    {
        QFETCH(int, status);
        QFETCH(int, kind);
        QFETCH(bool, retryable);
        m_proxy->addRule("GET", QStringLiteral("^/%1").arg(m_bucket), Fault::htmlPage(status));
        auto listed = QCoro::waitFor(m_client->listAllObjects(m_bucket, "", {}));
        QVERIFY(!listed.has_value());
        QCOMPARE(int(listed.error().kind()), kind);
        QCOMPARE(listed.error().isRetryable(), retryable);
        QVERIFY(!listed.error().message().isEmpty());
        QVERIFY2(!listed.error().message().contains("<!DOCTYPE"),
                 qPrintable(listed.error().message()));
    }

    void redirectToAnotherRegionNamesIt()
    {
        m_proxy->addRule("GET", QStringLiteral("^/%1").arg(m_bucket),
                         Fault::redirect("eu-central-1"));
        auto listed = QCoro::waitFor(m_client->listAllObjects(m_bucket, "", {}));
        QVERIFY(!listed.has_value());
        QCOMPARE(listed.error().kind(), Kind::WrongRegion);
        QVERIFY(!listed.error().isRetryable());
        QVERIFY2(listed.error().message().contains("eu-central-1"),
                 qPrintable(listed.error().message()));
        m_proxy->addRule("HEAD", QStringLiteral("^/%1").arg(m_bucket),
                         Fault::redirect("ap-south-1"));
        auto head = QCoro::waitFor(m_client->headBucket(m_bucket, {}));
        QVERIFY(!head.has_value());
        QCOMPARE(head.error().kind(), Kind::WrongRegion);
        QVERIFY2(head.error().message().contains("ap-south-1"), qPrintable(head.error().message()));
    }

    void faultedPartThenRetryCompletesTheUpload()
    {
        const QByteArray content = randomBytes(6 * MiB);
        const QString path = writeLocal("multi.bin", content);
        auto upload = QCoro::waitFor(m_client->createMultipartUpload(m_bucket, "multi.bin", {}));
        QVERIFY(upload.has_value());
        // Qt resends a request once by itself when a reused connection drops before the
        // answer, so the first part meets two resets: one reaches the caller as an error.
        FaultRule rule;
        rule.method = "PUT";
        rule.predicate = [](const ferry::test::ProxiedRequest &request) {
            return QUrlQuery(QString::fromLatin1(request.query)).queryItemValue("partNumber") ==
                   QLatin1String("1");
        };
        rule.times = 2;
        rule.fault = Fault::reset();
        const int index = m_proxy->addRule(rule);
        auto failed =
            QCoro::waitFor(m_client->uploadPart(*upload, 1, path, 0, 5 * MiB, CancellationToken()));
        QVERIFY(!failed.has_value());
        QCOMPARE(failed.error().kind(), Kind::EndpointUnreachable);
        QVERIFY(failed.error().isRetryable());
        QVERIFY(m_proxy->applied(index) >= 1);
        m_proxy->clearRules();
        QList<CompletedPart> parts;
        for (int part = 1; part <= 2; ++part) {
            const qint64 offset = (part - 1) * 5 * MiB;
            const qint64 length = std::min<qint64>(5 * MiB, content.size() - offset);
            auto sent = QCoro::waitFor(
                m_client->uploadPart(*upload, part, path, offset, length, CancellationToken()));
            QVERIFY(sent.has_value());
            CompletedPart completed;
            completed.partNumber = part;
            completed.etag = sent->etag;
            parts.append(completed);
        }
        auto done = QCoro::waitFor(m_client->completeMultipartUpload(*upload, parts, {}));
        QVERIFY(done.has_value());
        auto got = QCoro::waitFor(
            m_direct->getObject(m_bucket, "multi.bin", m_tmp.filePath("multi.got"), {}));
        QVERIFY(got.has_value());
        QCOMPARE(readAll(m_tmp.filePath("multi.got")), content);
        QCOMPARE(uploadsInProgress(), 0);
    }
};

QTEST_GUILESS_MAIN(TestFaultsS3)
#include "tst_faults_s3.moc"
