// Bad-input catalogue, the server's answers: `ferry sync` (the real binary) reaches the local
// S3 server through a loopback FaultRelay that spoils the answer to the bucket listing: cut
// off, binary garbage, a web page (200 and 404), XML that is not a listing, a 4 GiB answer,
// one that never comes (SIGINT must still end the run promptly) and one that trickles in
// slowly (the sync must simply succeed). Nothing may be uploaded from a listing Ferry could
// not read, the bucket keeps what it held, the journal is untouched and no multipart upload
// is left behind.

#include "BadInputSupport.h"
#include "FaultRelay.h"
#include "ServerCase.h"
#include "app/s3/S3Client.h"
#include "support/S3TestServer.h"

#include <QCoro/QCoroTask>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>

using namespace ferry;
using namespace ferry::test;

Q_DECLARE_METATYPE(ferry::test::FaultRelay::Fault)

namespace {

const QString kBucket = QStringLiteral("badinput-server");

/// The lines of a data-directory snapshot that hold profiles, journal and known uploads.
QString durableState(const QString &snapshot)
{
    QStringList kept;
    for (const auto &line : snapshot.split(QLatin1Char('\n')))
        if (line.contains(QLatin1String("app_profiles")) ||
            line.contains(QLatin1String("sync_journal")) ||
            line.contains(QLatin1String("sync_uploads")) ||
            line.startsWith(QLatin1String("secrets.json")))
            kept.append(line);
    return kept.join(QLatin1Char('\n'));
}

} // namespace

class TestBadInputServer : public QObject {
    Q_OBJECT

    std::optional<S3TestServer> m_server;
    QTemporaryDir m_tmp;
    std::unique_ptr<s3::S3Client> m_client;
    QProcessEnvironment m_env;
    int m_row = 0;

    QString dataDir() const { return m_tmp.filePath("data"); }

    FerryOptions options(const QByteArray &input = {}) const
    {
        FerryOptions o;
        o.environment = m_env;
        o.input = input;
        return o;
    }

    QStringList inDataDir(const QStringList &args) const
    {
        return QStringList{"--data-dir", dataDir()} + args;
    }

    QStringList keys(const QString &prefix)
    {
        auto listed = QCoro::waitFor(m_client->listAllObjects(kBucket, prefix, {}));
        QStringList names;
        if (!listed)
            return {QStringLiteral("<listing failed>")};
        for (const auto &object : *listed)
            names.append(object.key + QLatin1Char(' ') + object.etag);
        names.sort();
        return names;
    }

    /// A profile `name` on a folder with two files, through `relay`; the bucket holds one
    /// object of it already.
    void prepare(const QString &name, const FaultRelay &relay)
    {
        const QString root = m_tmp.filePath(name);
        writeFile(root + "/a.txt", "alpha\n");
        writeFile(root + "/sub/b.txt", "beta\n");
        writeFile(m_tmp.filePath("held.txt"), "held\n");
        auto held = QCoro::waitFor(
            m_client->putObject(kBucket, name + "/held.txt", m_tmp.filePath("held.txt"), {}));
        QVERIFY(held.has_value());
        QStringList args;
        args << "profile"
             << "add" << name << "--local" << root << "--remote"
             << QStringLiteral("http://127.0.0.1:%1/%2/%3").arg(relay.port()).arg(kBucket, name)
             << "--access-key-id" << S3TestServer::accessKey() << "--secret-stdin";
        const FerryRun added = runFerry(FERRY_BINARY, inDataDir(args),
                                        options(S3TestServer::secretKey().toUtf8() + '\n'));
        QVERIFY2(added.exitCode == 0, added.err.constData());
    }

    void verifyNothingLeft(const QString &prefix)
    {
        auto uploads = QCoro::waitFor(m_client->listAllMultipartUploads(kBucket, prefix, {}));
        QVERIFY(uploads.has_value());
        QCOMPARE(uploads->size(), 0);
    }

private slots:
    void initTestCase()
    {
        m_server = S3TestServer::fromEnvironment();
        QVERIFY2(m_server.has_value(), qPrintable(S3TestServer::environmentProblem()));
        m_env = ferryEnvironment(m_tmp.filePath("home"));
        m_client = testServerClient(m_server->port());
        auto created = QCoro::waitFor(m_client->createBucket(kBucket, {}));
        QVERIFY(created.has_value());
    }

    void unreadableListing_data()
    {
        using F = FaultRelay::Fault;
        QTest::addColumn<FaultRelay::Fault>("fault");
        QTest::addColumn<QStringList>("needles");
        const QStringList notS3 = {"not an S3 response", "points to an S3 server"};
        QTest::newRow("server: listing cut off mid-element") << F::TruncatedXml << notS3;
        QTest::newRow("server: listing of binary garbage") << F::Garbage << notS3;
        QTest::newRow("server: a web page instead of a listing") << F::HtmlPage << notS3;
        QTest::newRow("server: XML that is not a listing") << F::WrongXml << notS3;
        QTest::newRow("server: a 4 GiB answer")
            << F::Huge << (notS3 + QStringList{"larger than 33554432 bytes"});
    }

    void unreadableListing()
    {
        QFETCH(FaultRelay::Fault, fault);
        QFETCH(QStringList, needles);
        FaultRelay relay(m_server->port());
        QVERIFY(relay.listen());
        const QString name = QStringLiteral("listing%1").arg(++m_row);
        prepare(name, relay);
        const QStringList bucketBefore = keys(name + "/");
        const QString stateBefore = durableState(snapshotDataDir(dataDir()));

        relay.setFault(fault, "list-type=2");
        const FerryRun run = runFerry(FERRY_BINARY, inDataDir({"sync", name}), options());
        QVERIFY2(run.finished, "ferry crashed or hung");
        QVERIFY(relay.faultsServed() >= 1);
        QVERIFY2(run.exitCode == 1, qPrintable(QStringLiteral("exit %1, stderr: %2")
                                                   .arg(run.exitCode)
                                                   .arg(QString::fromUtf8(run.err))));
        const QString missing = missingNeedles(run.err, needles);
        QVERIFY2(
            missing.isEmpty(),
            qPrintable(
                QStringLiteral("stderr lacks %1:\n%2").arg(missing, QString::fromUtf8(run.err))));
        QCOMPARE(keys(name + "/"), bucketBefore);
        verifyNothingLeft(name + "/");
        QCOMPARE(durableState(snapshotDataDir(dataDir())), stateBefore);
    }

    /// A listing that never comes: SIGINT still cancels promptly and nothing is uploaded.
    void stalledListingInterrupted()
    {
        FaultRelay relay(m_server->port());
        QVERIFY(relay.listen());
        const QString name = QStringLiteral("stalled");
        prepare(name, relay);
        const QStringList bucketBefore = keys(name + "/");
        const QString stateBefore = durableState(snapshotDataDir(dataDir()));
        relay.setFault(FaultRelay::Fault::Stall, "list-type=2");
        auto process = startFerry(FERRY_BINARY, inDataDir({"sync", name}), options());
        QVERIFY(process);
        QTRY_VERIFY_WITH_TIMEOUT(relay.faultsServed() >= 1, 30'000);
        QElapsedTimer clock;
        clock.start();
        ::kill(pid_t(process->processId()), SIGINT);
        const FerryRun run = finishFerry(*process, 30'000);
        QVERIFY2(run.finished, "ferry did not end after SIGINT");
        QVERIFY2(clock.elapsed() < 10'000, "SIGINT took more than 10 s");
        QCOMPARE(run.exitCode, 130);
        QVERIFY2(run.out.contains("cancelled"), run.out.constData());
        QCOMPARE(keys(name + "/"), bucketBefore);
        verifyNothingLeft(name + "/");
        QCOMPARE(durableState(snapshotDataDir(dataDir())), stateBefore);
    }

    void changedWhileUploading_data()
    {
        QTest::addColumn<QString>("change");
        QTest::addColumn<bool>("multipart");
        for (const bool multipart : {false, true}) {
            for (const char *change : {"grows", "shrinks", "vanishes", "is rewritten"}) {
                const QString name =
                    QStringLiteral("upload: file %1 during its %2")
                        .arg(QLatin1String(change), multipart ? QStringLiteral("multipart upload")
                                                              : QStringLiteral("single PUT"));
                QTest::newRow(qPrintable(name)) << QString::fromLatin1(change) << multipart;
            }
        }
    }

    /// The upload's body is held mid-way by the relay while the file changes. Whatever the
    /// outcome, the object is never half old, half new: it is absent, the file as scanned or
    /// the file as it is now; a failure names the file; no multipart upload is left.
    void changedWhileUploading()
    {
        QFETCH(QString, change);
        QFETCH(bool, multipart);
        FaultRelay relay(m_server->port());
        QVERIFY(relay.listen());
        const QString name = QStringLiteral("change%1").arg(++m_row);
        const QString root = m_tmp.filePath(name);
        const QString path = root + "/big.bin";
        QByteArray original(12 * 1024 * 1024, Qt::Uninitialized);
        for (qsizetype i = 0; i < original.size(); ++i)
            original[i] = char((i * 7 + i / 4096) & 0xff);
        writeFile(path, original);
        QStringList args;
        args << "profile"
             << "add" << name << "--local" << root << "--remote"
             << QStringLiteral("http://127.0.0.1:%1/%2/%3").arg(relay.port()).arg(kBucket, name)
             << "--access-key-id" << S3TestServer::accessKey() << "--secret-stdin";
        if (multipart)
            args << "--multipart-threshold"
                 << "5242880"
                 << "--part-size"
                 << "5242880";
        const FerryRun added = runFerry(FERRY_BINARY, inDataDir(args),
                                        options(S3TestServer::secretKey().toUtf8() + '\n'));
        QVERIFY2(added.exitCode == 0, added.err.constData());

        relay.setFault(FaultRelay::Fault::Hold,
                       "PUT /" + kBucket.toUtf8() + '/' + name.toUtf8() + "/big.bin");
        auto process = startFerry(FERRY_BINARY, inDataDir({"sync", name}), options());
        QVERIFY(process);
        QTRY_VERIFY_WITH_TIMEOUT(relay.faultsServed() >= 1, 30'000);
        QByteArray now = original;
        if (change == "grows") {
            now += QByteArray(1024 * 1024, 'g');
        } else if (change == "shrinks") {
            now.truncate(original.size() / 3);
        } else if (change == "is rewritten") {
            now.fill('r'); // same size, other bytes
        } else {
            now.clear();
        }
        if (change == "vanishes") {
            QVERIFY(QFile::remove(path));
        } else if (change == "grows") {
            QFile file(path);
            QVERIFY(file.open(QIODevice::Append));
            file.write(now.mid(original.size()));
        } else {
            // In place, as an editor that truncates and writes would.
            QFile file(path);
            QVERIFY(file.open(QIODevice::ReadWrite));
            QVERIFY(file.resize(now.size()));
            file.write(now);
        }
        relay.release();
        const FerryRun run = finishFerry(*process, 90'000);
        QVERIFY2(run.finished, "ferry crashed or hung");
        // One change: the same run sends the file again and succeeds.
        QVERIFY2(
            run.exitCode == 0,
            qPrintable(
                QStringLiteral("exit %1: %2").arg(run.exitCode).arg(QString::fromUtf8(run.err))));
        qInfo().noquote() << "exit" << run.exitCode << QString::fromUtf8(run.err).trimmed();
        const QString download = m_tmp.filePath(name + "-download");
        auto got = QCoro::waitFor(m_client->getObject(kBucket, name + "/big.bin", download, {}));
        if (got) {
            QFile file(download);
            QVERIFY(file.open(QIODevice::ReadOnly));
            const QByteArray stored = file.readAll();
            qInfo() << "object:" << (stored == original ? "as scanned" : "as it is now");
            QVERIFY2(stored == original || (!now.isEmpty() && stored == now),
                     qPrintable(QStringLiteral("the object holds %1 bytes that are neither the "
                                               "file as scanned nor as it is now")
                                    .arg(stored.size())));
            if (run.exitCode == 0 && !now.isEmpty())
                QVERIFY2(stored == now, "a sync that succeeded left an outdated object");
        }
        verifyNothingLeft(name + "/");
    }

    /// A listing that trickles in (32 bytes every 50 ms) is slow, not wrong: the sync succeeds.
    void slowListingSucceeds()
    {
        FaultRelay relay(m_server->port());
        QVERIFY(relay.listen());
        const QString name = QStringLiteral("trickle");
        prepare(name, relay);
        relay.setFault(FaultRelay::Fault::Trickle, "list-type=2");
        const FerryRun run = runFerry(FERRY_BINARY, inDataDir({"sync", name}), options());
        QVERIFY2(run.finished, "ferry crashed or hung");
        QVERIFY(relay.faultsServed() >= 1);
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const QStringList stored = keys(name + "/");
        QCOMPARE(stored.size(), 3);
        QVERIFY(stored.at(0).startsWith(name + "/a.txt "));
        QVERIFY(stored.at(1).startsWith(name + "/held.txt "));
        QVERIFY(stored.at(2).startsWith(name + "/sub/b.txt "));
        verifyNothingLeft(name + "/");
    }
};

QTEST_GUILESS_MAIN(TestBadInputServer)
#include "tst_badinput_server.moc"
