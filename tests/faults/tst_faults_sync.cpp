// The sync engine through the FaultProxy: transient faults (SlowDown, 500/503, connection
// resets mid-body, slow answers) are retried with back-off until the run completes with every
// object byte-identical and nothing left in progress; answers that cannot be S3's (garbled
// XML, an HTML page, a redirect to another region) fail the run with a clear error and upload
// nothing.

#include "FaultTestSupport.h"
#include "support/FaultProxy.h"
#include "sync/SyncTestSupport.h"

using namespace ferry;
using namespace ferry::test;

namespace {
constexpr qint64 MiB = 1024 * 1024;
constexpr int RunTimeoutMs = 120'000;
} // namespace

class TestFaultsSync : public QObject {
    Q_OBJECT

    std::optional<S3TestServer> m_server;
    std::unique_ptr<FaultProxy> m_proxy;
    std::unique_ptr<s3::S3Client> m_direct;
    QTemporaryDir m_tmp;

    /// A tree of @p small 10 KiB files and @p large files of 11 MiB (three 5 MiB parts).
    QString makeTree(const QString &name, int small, int large)
    {
        const QString root = m_tmp.filePath(name);
        for (int i = 0; i < small; ++i)
            writeFile(root, QStringLiteral("small/%1.txt").arg(i), 10 * 1024);
        for (int i = 0; i < large; ++i)
            writeFile(root, QStringLiteral("large-%1.bin").arg(i), 11 * MiB);
        return root;
    }

    void createBucket(const QString &bucket)
    {
        auto created = QCoro::waitFor(m_direct->createBucket(bucket, {}));
        QVERIFY(created.has_value());
    }

    /// Runs a sync of @p profile to its end; returns the run's history row.
    std::optional<HistoryRecord> syncToEnd(SyncHarness &h, const QString &profile)
    {
        const TaskId run = h.submitSync(profile);
        if (!QTest::qWaitFor([&] { return h.historyOf(run).has_value(); }, RunTimeoutMs))
            return std::nullopt;
        return h.historyOf(run);
    }

private slots:
    void initTestCase()
    {
        m_server = S3TestServer::fromEnvironment();
        QVERIFY2(m_server.has_value(), qPrintable(S3TestServer::environmentProblem()));
        m_proxy = std::make_unique<FaultProxy>(m_server->port());
        QVERIFY(m_proxy->listen());
        m_direct = directClient(m_server->port());
    }

    void init() { m_proxy->clearRules(); }

private:
    /// Adds `fault` for the next CreateMultipartUpload (POST ?uploads); returns the rule.
    int addCreateFault(const Fault &fault)
    {
        FaultRule create;
        create.method = "POST";
        create.queryContains = "uploads";
        create.fault = fault;
        return m_proxy->addRule(create);
    }

private slots:

    void transientFaultsAreRetriedUntilComplete()
    {
        const QString root = makeTree("transient", 20, 2);
        createBucket("faults-transient");
        SyncHarness h(m_proxy->port());
        h.addProfile("transient", root, "faults-transient", "t/");
        h.start(4);
        QList<int> rules;
        // Small objects: SlowDown twice, a 500, a slow answer, a reset mid-body.
        rules << m_proxy->addRule("PUT", "/small/[0-9]+\\.txt$", Fault::slowDown(), 2);
        rules << m_proxy->addRule("PUT", "/small/[0-9]+\\.txt$", Fault::internalError(), 1);
        rules << m_proxy->addRule("PUT", "/small/[0-9]+\\.txt$", Fault::delay(1500), 1);
        rules << m_proxy->addRule("PUT", "/small/[0-9]+\\.txt$", Fault::reset(), 1);
        // Multipart: a 503 on create, a reset in the middle of a part, a 500 on complete.
        rules << addCreateFault(Fault::error(503, "ServiceUnavailable", "Busy."));
        FaultRule part;
        part.method = "PUT";
        part.queryContains = "partNumber=2";
        part.fault = Fault::reset();
        rules << m_proxy->addRule(part);
        FaultRule complete;
        complete.method = "POST";
        complete.queryContains = "uploadId=";
        complete.fault = Fault::internalError();
        rules << m_proxy->addRule(complete);

        const auto row = syncToEnd(h, "transient");
        QVERIFY(row.has_value());
        QCOMPARE(row->status, HistoryStatus::Completed);
        for (int rule : rules)
            QVERIFY2(m_proxy->applied(rule) == 1 + (rule == rules.first() ? 1 : 0),
                     qPrintable(QStringLiteral("rule %1 applied %2 times")
                                    .arg(rule)
                                    .arg(m_proxy->applied(rule))));
        // The faulted tasks were retried, not failed.
        HistoryQuery failed;
        failed.status = HistoryStatus::Failed;
        QCOMPARE(h.history(failed).size(), 0);
        const QString problems =
            checkBucketMatchesTree(*m_direct, *m_server, "faults-transient", "t/", root, {});
        QVERIFY2(problems.isEmpty(), qPrintable(problems));
    }

    void answersThatAreNotS3FailTheRunClearly_data()
    {
        QTest::addColumn<int>("action");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("expected");
        QTest::newRow("garbled listing")
            << int(Fault::Action::Garble) << 200 << QString("not an S3 response");
        QTest::newRow("truncated listing")
            << int(Fault::Action::Truncate) << 200 << QString("not an S3 response");
        QTest::newRow("html page")
            << int(Fault::Action::HtmlPage) << 200 << QString("not an S3 response");
        QTest::newRow("301 other region")
            << int(Fault::Action::Redirect301) << 301 << QString("eu-west-1");
    }

    void answersThatAreNotS3FailTheRunClearly()
    {
        QFETCH(int, action);
        QFETCH(int, status);
        QFETCH(QString, expected);
        const QString name = QStringLiteral("broken%1").arg(action);
        const QString bucket = QStringLiteral("faults-broken-%1").arg(action);
        const QString root = makeTree(name, 5, 0);
        createBucket(bucket);
        // Something to list, so truncated and garbled listings have a body to break.
        QVERIFY(QCoro::waitFor(
            m_direct->putObject(bucket, "b/other.txt", QDir(root).filePath("small/0.txt"), {})));
        SyncHarness h(m_proxy->port());
        h.addProfile(name, root, bucket, "b/");
        h.start(2);
        Fault fault;
        fault.action = Fault::Action(action);
        fault.status = status;
        FaultRule rule;
        rule.method = "GET";
        rule.queryContains = "list-type=2";
        rule.times = -1;
        rule.fault = fault;
        const int index = m_proxy->addRule(rule);
        const auto row = syncToEnd(h, name);
        QVERIFY(row.has_value());
        QCOMPARE(row->status, HistoryStatus::Failed);
        QVERIFY(m_proxy->applied(index) >= 1);
        QVERIFY2(!row->error.isEmpty() && !row->error.contains("<!DOCTYPE") &&
                     !row->error.contains("<ListBucketResult"),
                 qPrintable(row->error));
        if (!expected.isEmpty())
            QVERIFY2(row->error.contains(expected), qPrintable(row->error));
        // Permanent: the listing is not asked again and again.
        QCOMPARE(m_proxy->matched(index), 1);
        // Nothing was uploaded on the strength of a listing that could not be read.
        auto objects = QCoro::waitFor(m_direct->listAllObjects(bucket, "", {}));
        QVERIFY(objects.has_value());
        QCOMPARE(objects->size(), 1);
    }

    void lostCreateMultipartAnswerLeavesNoUpload()
    {
        const QString root = makeTree("lost-create", 0, 1);
        createBucket("faults-lost-create");
        SyncHarness h(m_proxy->port());
        h.addProfile("lost-create", root, "faults-lost-create", "l/");
        h.start(2);
        // The server creates the upload, the answer is lost: a 503 comes back instead.
        const int rule =
            addCreateFault(Fault::error(503, "ServiceUnavailable", "Busy.").afterForwarding());
        const auto row = syncToEnd(h, "lost-create");
        QVERIFY(row.has_value());
        QCOMPARE(row->status, HistoryStatus::Completed);
        QCOMPARE(m_proxy->applied(rule), 1);
        // The retry aborted the upload the lost create made (found by the intent Ferry
        // recorded first) before it created its own: nothing is left for a later sweep.
        QVERIFY(h.store->knownUploads("lost-create")->isEmpty());
        auto swept = QCoro::waitFor(
            sweepOrphans(h.services, "lost-create", kDefaultOrphanAge, true, CancellationToken()));
        QVERIFY(swept.has_value());
        QVERIFY2(swept->aborted.isEmpty(), qPrintable(swept->aborted.join(", ")));
        const QString problems =
            checkBucketMatchesTree(*m_direct, *m_server, "faults-lost-create", "l/", root, {});
        qInfo() << "left behind:" << problems;
        QVERIFY2(problems.isEmpty(), qPrintable(problems));
    }

    void uploadOfALostCreateThatAppearsLateIsSwept()
    {
        // A create's answer is lost and its retry finds no upload of it yet: the request can
        // still be in the server's hands (a client killed just after sending it). Its upload,
        // should it appear after that, must still be recognized as Ferry's and aborted.
        const QString root = makeTree("late-create", 0, 1);
        createBucket("faults-late-create");
        SyncHarness h(m_proxy->port());
        h.addProfile("late-create", root, "faults-late-create", "t/");
        h.start(2);
        const int rule = addCreateFault(Fault::error(503, "ServiceUnavailable", "Busy."));
        const auto row = syncToEnd(h, "late-create");
        QVERIFY(row.has_value());
        QCOMPARE(row->status, HistoryStatus::Completed);
        QCOMPARE(m_proxy->applied(rule), 1);
        // The lost create's upload turns up now, under the file's key.
        auto objects = QCoro::waitFor(m_direct->listAllObjects("faults-late-create", "t/", {}));
        QVERIFY(objects.has_value());
        QCOMPARE(objects->size(), 1);
        const QString key = objects->first().key;
        auto late = QCoro::waitFor(m_direct->createMultipartUpload("faults-late-create", key, {}));
        QVERIFY(late.has_value());
        auto swept = QCoro::waitFor(
            sweepOrphans(h.services, "late-create", kDefaultOrphanAge, false, CancellationToken()));
        QVERIFY(swept.has_value());
        QVERIFY2(swept->aborted.size() == 1 && swept->aborted.first().contains(late->uploadId),
                 qPrintable(swept->aborted.join(", ") + " / kept: " + swept->kept.join(", ")));
        const QString problems =
            checkBucketMatchesTree(*m_direct, *m_server, "faults-late-create", "t/", root, {});
        QVERIFY2(problems.isEmpty(), qPrintable(problems));
    }

    void cancelWhileCreateMultipartInFlightLeavesNoUpload()
    {
        const QString root = makeTree("create-cancel", 0, 1);
        createBucket("faults-create-cancel");
        SyncHarness h(m_proxy->port());
        h.addProfile("create-cancel", root, "faults-create-cancel", "k/");
        h.start(2);
        // The server creates the upload at once; its answer is held back for a while.
        const int rule = addCreateFault(Fault::delay(5000));
        const TaskId run = h.submitSync("create-cancel");
        QTRY_COMPARE_WITH_TIMEOUT(m_proxy->applied(rule), 1, 30'000);
        // Cancel once the server holds the upload, while its answer is still on the way.
        const auto serverUploads = [this] {
            auto listed =
                QCoro::waitFor(m_direct->listAllMultipartUploads("faults-create-cancel", "", {}));
            return listed ? listed->size() : -1;
        };
        QTRY_COMPARE_WITH_TIMEOUT(serverUploads(), 1, 30'000);
        auto cancelled = awaitFuture(h.scheduler->cancel(run));
        QVERIFY(cancelled.has_value());
        QTRY_VERIFY_WITH_TIMEOUT(h.historyOf(run).has_value(), 30'000);
        QCOMPARE(h.historyOf(run)->status, HistoryStatus::Cancelled);
        QTRY_VERIFY_WITH_TIMEOUT(awaitFuture(h.scheduler->stats())->cancelling == 0, 30'000);
        auto swept = QCoro::waitFor(sweepOrphans(h.services, "create-cancel", kDefaultOrphanAge,
                                                 false, CancellationToken()));
        QVERIFY(swept.has_value());
        auto uploads =
            QCoro::waitFor(m_direct->listAllMultipartUploads("faults-create-cancel", "", {}));
        QVERIFY(uploads.has_value());
        for (const auto &upload : *uploads)
            qInfo() << "left in progress:" << upload.key << upload.uploadId
                    << "known:" << h.store->isKnownUpload(upload.uploadId);
        QCOMPARE(uploads->size(), 0);
    }
};

QTEST_GUILESS_MAIN(TestFaultsSync)
#include "tst_faults_sync.moc"
