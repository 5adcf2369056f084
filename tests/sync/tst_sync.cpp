// The sync engine end to end against the local S3 server: upload a tree (small, empty,
// multipart, unicode-named and excluded files), compare every byte, skip unchanged files,
// re-upload changed ones, cancel during multipart uploads without orphans, and cancel one
// profile while another on the same endpoint completes.

#include "SyncTestSupport.h"

#include <QCoro/QCoroTask>
#include <QSet>
#include <QSignalSpy>

using namespace ferry;
using namespace ferry::test;

namespace {
constexpr qint64 MiB = 1024 * 1024;
constexpr int kRunTimeoutMs = 180'000;
} // namespace

class TestSync : public QObject {
    Q_OBJECT

    std::optional<S3TestServer> m_server;
    QTemporaryDir m_tmp;

    void createBucket(SyncHarness &h, const QString &bucket)
    {
        auto client = h.client();
        auto created = QCoro::waitFor(client->createBucket(bucket, {}));
        QVERIFY2(created.has_value(), qPrintable(created ? QString() : created.error().message()));
    }

    /// Downloads every object under `prefix` and compares it with `root` (minus excluded).
    void compareTree(SyncHarness &h, const QString &bucket, const QString &prefix,
                     const QString &root, const QSet<QString> &expected)
    {
        auto client = h.client();
        auto listed = QCoro::waitFor(client->listAllObjects(bucket, prefix, {}));
        QVERIFY(listed.has_value());
        QSet<QString> keys;
        for (const auto &object : *listed)
            keys.insert(object.key.mid(prefix.size()));
        QCOMPARE(keys, expected);
        QTemporaryDir downloads;
        int n = 0;
        for (const auto &relative : expected) {
            const QString target = downloads.filePath(QString::number(n++));
            auto got = QCoro::waitFor(client->getObject(bucket, prefix + relative, target, {}));
            QVERIFY2(got.has_value(), qPrintable(relative));
            QVERIFY2(readAll(target) == readAll(QDir(root).filePath(relative)),
                     qPrintable(relative));
        }
    }

    QList<HistoryRecord> rowsSince(SyncHarness &h, const QDateTime &since, const QString &type)
    {
        HistoryQuery query;
        query.finishedAfter = since;
        query.type = type;
        return h.history(query);
    }

    void waitForEnd(SyncHarness &h, TaskId id)
    {
        QTRY_VERIFY_WITH_TIMEOUT(h.historyOf(id).has_value(), kRunTimeoutMs);
    }

private slots:
    void initTestCase()
    {
        m_server = S3TestServer::fromEnvironment();
        QVERIFY2(m_server.has_value(), qPrintable(S3TestServer::environmentProblem()));
        qputenv("FERRY_SECRET_STORE", "file");
    }

    void syncTreeThenNothingThenChanged()
    {
        SyncHarness h(m_server->port());
        const QString root = m_tmp.filePath("tree");
        writeFile(root, "small.txt", 0, "hello ferry\n");
        writeFile(root, "empty.bin", 0);
        writeFile(root, "big.bin", 12 * MiB);
        writeFile(root, QString::fromUtf8("ünïcødé/ファイル ✓.txt"), 0, "unicode\n");
        writeFile(root, "sub/dir/deep.dat", 70 * 1024);
        writeFile(root, "skip.tmp", 0, "excluded\n");
        writeFile(root, "cache/blob", 0, "excluded\n");
        createBucket(h, "sync-tree");
        h.addProfile("tree", root, "sync-tree", "backup", [](Profile &p) {
            p.excludes = QStringList{"*.tmp", "cache/*"};
        });
        h.start();
        const QSet<QString> expected{"small.txt", "empty.bin", "big.bin",
                                     QString::fromUtf8("ünïcødé/ファイル ✓.txt"),
                                     "sub/dir/deep.dat"};

        const QDateTime first = QDateTime::currentDateTimeUtc().addSecs(-1);
        const TaskId run = h.submitSync("tree");
        waitForEnd(h, run);
        QCOMPARE(h.historyOf(run)->status, HistoryStatus::Completed);
        compareTree(h, "sync-tree", "backup/", root, expected);
        QCOMPARE(rowsSince(h, first, SyncTypes::UploadMultipart).size(), 1);
        QCOMPARE(rowsSince(h, first, SyncTypes::UploadPart).size(), 3);
        QCOMPARE(rowsSince(h, first, SyncTypes::UploadObject).size(), 4);
        QVERIFY(h.store->knownUploads("tree")->isEmpty());

        // Unchanged: nothing is uploaded.
        const QDateTime second = QDateTime::currentDateTimeUtc();
        const TaskId again = h.submitSync("tree");
        waitForEnd(h, again);
        QCOMPARE(h.historyOf(again)->status, HistoryStatus::Completed);
        QCOMPARE(rowsSince(h, second, SyncTypes::UploadObject).size(), 0);
        QCOMPARE(rowsSince(h, second, SyncTypes::UploadMultipart).size(), 0);

        // A changed file is uploaded again, and only that one.
        writeFile(root, "small.txt", 0, "hello again, a longer ferry\n");
        const QDateTime third = QDateTime::currentDateTimeUtc();
        const TaskId changed = h.submitSync("tree");
        waitForEnd(h, changed);
        QCOMPARE(h.historyOf(changed)->status, HistoryStatus::Completed);
        const auto uploads = rowsSince(h, third, SyncTypes::UploadObject);
        QCOMPARE(uploads.size(), 1);
        QCOMPARE(uploads.first().label, QString("small.txt"));
        compareTree(h, "sync-tree", "backup/", root, expected);
    }

    void mirrorDeletesRemovesRemoteObjects()
    {
        SyncHarness h(m_server->port());
        const QString root = m_tmp.filePath("mirror");
        writeFile(root, "keep.txt", 0, "keep\n");
        writeFile(root, "gone.txt", 0, "gone\n");
        createBucket(h, "sync-mirror");
        h.addProfile("mirror", root, "sync-mirror", "", [](Profile &p) { p.mirrorDeletes = true; });
        h.start();
        const TaskId run = h.submitSync("mirror");
        waitForEnd(h, run);
        QCOMPARE(h.historyOf(run)->status, HistoryStatus::Completed);
        QVERIFY(QFile::remove(QDir(root).filePath("gone.txt")));
        const TaskId second = h.submitSync("mirror");
        waitForEnd(h, second);
        QCOMPARE(h.historyOf(second)->status, HistoryStatus::Completed);
        HistoryQuery deletes;
        deletes.type = SyncTypes::DeleteObject;
        const auto deleted = h.history(deletes);
        QCOMPARE(deleted.size(), 1);
        QCOMPARE(deleted.first().status, HistoryStatus::Completed);
        compareTree(h, "sync-mirror", "", root, QSet<QString>{"keep.txt"});
    }

    void cancelDuringMultipartLeavesNothing()
    {
        SyncHarness h(m_server->port());
        const QString root = m_tmp.filePath("cancel");
        for (int i = 0; i < 6; ++i)
            writeFile(root, QStringLiteral("large-%1.bin").arg(i), 12 * MiB);
        createBucket(h, "sync-cancel");
        h.addProfile("cancel", root, "sync-cancel", "c");
        h.start(3);
        const TaskId run = h.submitSync("cancel");
        auto counters = h.services->counters("cancel");
        QTRY_VERIFY_WITH_TIMEOUT(counters->bytesDone.load() > 0, 60'000);
        auto cancelled = awaitFuture(h.scheduler->cancelWhere(
            [](const TaskRecord &task) { return task.dedupKey.startsWith("profile:cancel:"); },
            CancelReason::User));
        QVERIFY(cancelled.has_value());
        QVERIFY(cancelled->size() > 0);
        waitForEnd(h, run);
        QCOMPARE(h.historyOf(run)->status, HistoryStatus::Cancelled);
        // Every started multipart upload was aborted by its hook.
        HistoryQuery query;
        query.type = SyncTypes::UploadMultipart;
        query.status = HistoryStatus::Cancelled;
        QTRY_VERIFY_WITH_TIMEOUT(!h.history(query).isEmpty(), 30'000);
        const auto rows = h.history(query);
        int ok = 0;
        for (const auto &row : rows) {
            QVERIFY2(row.cleanup != CleanupOutcome::Failed &&
                         row.cleanup != CleanupOutcome::TimedOut,
                     qPrintable(row.error));
            ok += row.cleanup == CleanupOutcome::Ok;
        }
        QVERIFY(ok > 0);
        QTRY_COMPARE_WITH_TIMEOUT(awaitFuture(h.scheduler->stats())->cancelling, qint64(0), 30'000);
        auto client = h.client();
        auto uploads = QCoro::waitFor(client->listAllMultipartUploads("sync-cancel", "", {}));
        QVERIFY(uploads.has_value());
        for (const auto &upload : *uploads)
            qWarning() << "left behind:" << upload.key << upload.uploadId;
        for (const auto &row : h.history())
            if (!uploads->isEmpty() && row.type == SyncTypes::UploadMultipart)
                qWarning() << row.label << toText(row.status) << toText(row.cleanup) << row.error;
        QCOMPARE(uploads->size(), 0);
        const auto segments = m_server->listSegments("sync-cancel");
        QVERIFY2(segments.ok(), qPrintable(segments.error));
        QCOMPARE(segments.names, QStringList());
        QVERIFY(h.store->knownUploads("cancel")->isEmpty());
    }

    void cancelOneProfileWhileAnotherCompletes()
    {
        SyncHarness h(m_server->port());
        const QString rootA = m_tmp.filePath("a");
        const QString rootB = m_tmp.filePath("b");
        for (int i = 0; i < 6; ++i)
            writeFile(rootA, QStringLiteral("a-%1.bin").arg(i), 12 * MiB);
        for (int i = 0; i < 20; ++i)
            writeFile(rootB, QStringLiteral("b-%1.txt").arg(i), 0, QByteArray::number(i));
        createBucket(h, "sync-two");
        h.addProfile("alpha", rootA, "sync-two", "alpha");
        h.addProfile("beta", rootB, "sync-two", "beta");
        QCOMPARE(h.target("alpha").group(), h.target("beta").group());
        h.start(3);
        const TaskId runA = h.submitSync("alpha");
        const TaskId runB = h.submitSync("beta");
        QTRY_VERIFY_WITH_TIMEOUT(h.services->counters("alpha")->bytesDone.load() > 0, 60'000);
        auto cancelled = awaitFuture(h.scheduler->cancelWhere(
            [](const TaskRecord &task) { return task.dedupKey.startsWith("profile:alpha:"); }));
        QVERIFY(cancelled.has_value());
        waitForEnd(h, runA);
        waitForEnd(h, runB);
        QCOMPARE(h.historyOf(runA)->status, HistoryStatus::Cancelled);
        QCOMPARE(h.historyOf(runB)->status, HistoryStatus::Completed);
        HistoryQuery betaRows;
        betaRows.dedupKeyPrefix = "profile:beta:";
        for (const auto &row : h.history(betaRows))
            QCOMPARE(row.status, HistoryStatus::Completed);
        QSet<QString> expected;
        for (int i = 0; i < 20; ++i)
            expected.insert(QStringLiteral("b-%1.txt").arg(i));
        compareTree(h, "sync-two", "beta/", rootB, expected);
        QTRY_COMPARE_WITH_TIMEOUT(awaitFuture(h.scheduler->stats())->cancelling, qint64(0), 30'000);
        auto client = h.client();
        auto uploads = QCoro::waitFor(client->listAllMultipartUploads("sync-two", "", {}));
        QVERIFY(uploads.has_value());
        QCOMPARE(uploads->size(), 0);
    }

    void sweepAbortsOrphansFerryCreated()
    {
        SyncHarness h(m_server->port());
        const QString root = m_tmp.filePath("sweep");
        QDir().mkpath(root);
        createBucket(h, "sync-sweep");
        h.addProfile("sweep", root, "sync-sweep", "p");
        auto client = h.client();
        auto ours = QCoro::waitFor(client->createMultipartUpload("sync-sweep", "p/ours.bin", {}));
        QVERIFY(ours.has_value());
        KnownUpload known;
        known.uploadId = ours->uploadId;
        known.profile = "sweep";
        known.bucket = "sync-sweep";
        known.key = "p/ours.bin";
        known.createdAt = QDateTime::currentDateTimeUtc();
        QVERIFY(h.store->recordUpload(known).has_value());
        auto foreign =
            QCoro::waitFor(client->createMultipartUpload("sync-sweep", "p/foreign.bin", {}));
        QVERIFY(foreign.has_value());
        h.start();
        // Dry run reports without aborting.
        auto dry = QCoro::waitFor(
            sweepOrphans(h.services, "sweep", kDefaultOrphanAge, true, CancellationToken()));
        QVERIFY(dry.has_value());
        QCOMPARE(dry->aborted.size(), 1);
        auto report = QCoro::waitFor(
            sweepOrphans(h.services, "sweep", kDefaultOrphanAge, false, CancellationToken()));
        QVERIFY(report.has_value());
        QCOMPARE(report->aborted.size(), 1);
        QVERIFY(report->aborted.first().contains("ours.bin"));
        QCOMPARE(report->kept.size(), 1); // foreign and young
        auto left = QCoro::waitFor(client->listAllMultipartUploads("sync-sweep", "p/", {}));
        QCOMPARE(left->size(), 1);
        // With age 0 the foreign one goes too.
        auto all = QCoro::waitFor(
            sweepOrphans(h.services, "sweep", std::chrono::seconds(0), false, CancellationToken()));
        QVERIFY(all.has_value());
        QCOMPARE(all->aborted.size(), 1);
        left = QCoro::waitFor(client->listAllMultipartUploads("sync-sweep", "p/", {}));
        QCOMPARE(left->size(), 0);
    }
};

QTEST_GUILESS_MAIN(TestSync)
#include "tst_sync.moc"
