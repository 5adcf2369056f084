// Bad input from the machine and the network: the database's disk fills up mid-sync (the
// scheduler stops as a crash would and the sync ends with the cause and fix), and a web page
// answers where an S3 server should (not mistaken for a missing bucket).

#include "BadInputSupport.h"
#include "FaultRelay.h"
#include "ServerCase.h"
#include "app/s3/S3Client.h"
#include "support/S3TestServer.h"

#include <QCoro/QCoroTask>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace ferry;
using namespace ferry::test;

namespace {

const QString kBucket = QStringLiteral("badinput-faults");

} // namespace

class TestBadInputFaults : public QObject {
    Q_OBJECT

    std::optional<S3TestServer> m_server;
    QTemporaryDir m_tmp;
    std::unique_ptr<s3::S3Client> m_client;
    QProcessEnvironment m_env;

    QString dataDir() const { return m_tmp.filePath("data"); }

    FerryRun ferry(const QStringList &args, const QByteArray &input = {}, qint64 limit = 0)
    {
        FerryOptions options;
        options.environment = m_env;
        options.input = input;
        options.fileSizeLimit = limit;
        return runFerry(QStringLiteral(FERRY_BINARY), QStringList{"--data-dir", dataDir()} + args,
                        options);
    }

    void addProfile(const QString &name, const QString &root, quint16 port)
    {
        QStringList add;
        add << "profile"
            << "add" << name << "--local" << root << "--remote"
            << QStringLiteral("http://127.0.0.1:%1/%2/%3").arg(port).arg(kBucket, name)
            << "--access-key-id" << S3TestServer::accessKey() << "--secret-stdin";
        const FerryRun added = ferry(add, S3TestServer::secretKey().toUtf8() + '\n');
        QVERIFY2(added.exitCode == 0, added.err.constData());
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

    /// The database's disk fills up mid-sync (RLIMIT_FSIZE: writes past 200 KiB fail with
    /// EFBIG): the sync must end with a clear message, and a later sync complete the job.
    void databaseFullMidSync()
    {
        const QString name = QStringLiteral("dbfull");
        const QString root = m_tmp.filePath(name);
        for (int i = 0; i < 300; ++i)
            writeFile(root + QStringLiteral("/f%1.txt").arg(i), QByteArray::number(i) + '\n');
        addProfile(name, root, m_server->port());
        const FerryRun run = ferry({"sync", name}, {}, 200 * 1024);
        QVERIFY2(run.finished, "ferry did not end once its database could not be written");
        QCOMPARE(run.exitCode, 2);
        const QString missing = missingNeedles(run.err, {"could not be written", "disk"});
        QVERIFY2(missing.isEmpty(), qPrintable(QString::fromUtf8(run.err.right(2000))));
        // Whatever was stored is whole; a second sync with space completes the job.
        const FerryRun again = ferry({"sync", name});
        QVERIFY2(again.exitCode == 0, again.err.constData());
        auto listed = QCoro::waitFor(m_client->listAllObjects(kBucket, name + "/", {}));
        QVERIFY(listed.has_value());
        QCOMPARE(listed->size(), 300);
        for (const auto &object : *listed) {
            const QString local = m_tmp.filePath("download");
            auto got = QCoro::waitFor(m_client->getObject(kBucket, object.key, local, {}));
            QVERIFY(got.has_value());
            QFile file(local);
            QVERIFY(file.open(QIODevice::ReadOnly));
            const QString number = object.key.section('/', -1).mid(1).chopped(4);
            QCOMPARE(file.readAll(), number.toUtf8() + '\n');
        }
        auto uploads = QCoro::waitFor(m_client->listAllMultipartUploads(kBucket, name, {}));
        QVERIFY(uploads.has_value());
        QCOMPARE(uploads->size(), 0);
    }

    /// A web server's 404 page is no S3 answer: the message must not send the user to create
    /// a bucket.
    void notFoundWebPage()
    {
        FaultRelay relay(m_server->port());
        QVERIFY(relay.listen());
        const QString name = QStringLiteral("webpage");
        const QString root = m_tmp.filePath(name);
        writeFile(root + "/a.txt", "alpha\n");
        addProfile(name, root, relay.port());
        relay.setFault(FaultRelay::Fault::NotFoundHtml, "list-type=2");
        const FerryRun run = ferry({"sync", name});
        QVERIFY2(run.finished, "ferry crashed or hung");
        QCOMPARE(run.exitCode, 1);
        const QString missing =
            missingNeedles(run.err, {"not an S3 response", "points to an S3 server"});
        QVERIFY2(missing.isEmpty(), run.err.constData());
        auto listed = QCoro::waitFor(m_client->listAllObjects(kBucket, name + "/", {}));
        QVERIFY(listed.has_value());
        QCOMPARE(listed->size(), 0);
    }
};

QTEST_GUILESS_MAIN(TestBadInputFaults)
#include "tst_badinput_faults.moc"
