// The sync engine when the endpoint goes away: uploads retry and complete once it is back;
// a cancel while it is away leaves clean-ups pending (retried with back-off) that run once it
// returns, so no multipart upload or segment is left behind. Uses its own S3 server, stopped
// and restarted mid-test on the same port and data.
// And resume after a shutdown: a `waiting` multipart upload sends only the parts the server
// lacks; if its file changed meanwhile, the upload is aborted and the file sent anew.

#include "SyncTestSupport.h"
#include "UploadChecks.h"

#include <QCoro/QCoroTask>
#include <QElapsedTimer>

#include <atomic>

using namespace ferry;
using namespace ferry::test;

namespace {
constexpr qint64 MiB = 1024 * 1024;
}

class TestSyncRecovery : public QObject {
    Q_OBJECT

    QTemporaryDir m_tmp;
    std::unique_ptr<S3TestServerProcess> m_server;

    bool anyTaskRetried(SyncHarness &h)
    {
        auto active = awaitFuture(h.scheduler->activeTasks());
        if (!active)
            return false;
        for (const auto &task : *active)
            if (task.attempts > 0)
                return true;
        return false;
    }

    /// Waits for the run's history row; on time-out lists what is still active.
    bool waitForRun(SyncHarness &h, TaskId run, int timeoutMs)
    {
        if (QTest::qWaitFor([&] { return h.historyOf(run).has_value(); }, timeoutMs))
            return true;
        auto active = awaitFuture(h.scheduler->activeTasks());
        for (const auto &task : active.value_or(QList<TaskRecord>()))
            qWarning() << "still active:" << task.type << task.label << toText(task.status)
                       << "attempts" << task.attempts << "bytes" << task.bytesDone;
        return false;
    }

    /**
     * A run whose 15 MiB file (three parts) is interrupted by a shutdown while its upload is
     * `waiting`: part 1 stored, part 2's request held by the proxy (never reaching the
     * server), part 3 queued. `between` runs while Ferry is stopped; then Ferry starts again on
     * the same data directory and the run resumes by itself. Returns the interrupted upload's
     * id; `run` receives the run's task id.
     */
    QString interruptWaitingUpload(SyncHarness &h, FaultProxy &proxy, const QString &profile,
                                   const std::function<void()> &between, TaskId *run)
    {
        FaultRule hold;
        hold.method = "PUT";
        hold.queryContains = "partNumber=2&";
        hold.fault = Fault::stall(false);
        const int held = proxy.addRule(hold);
        h.start(1); // one task at a time: parts go in order
        *run = h.submitSync(profile);
        if (!QTest::qWaitFor([&] { return proxy.applied(held) == 1; }, 60'000))
            return {};
        QString uploadId;
        for (const auto &task :
             awaitFuture(h.scheduler->activeTasks()).value_or(QList<TaskRecord>()))
            if (task.type == SyncTypes::UploadMultipart && task.status == TaskStatus::Waiting)
                uploadId = awaitFuture(h.scheduler->taskState(task.id))->value("upload_id");
        h.stop(); // a shutdown, not a cancel: the held part is interrupted, nothing aborted
        proxy.clearRules();
        proxy.clearLog();
        between();
        h.start(1);
        return uploadId;
    }

    void verifyNothingLeft(SyncHarness &h, const QString &bucket)
    {
        auto client = h.client();
        auto uploads = QCoro::waitFor(client->listAllMultipartUploads(bucket, "", {}));
        QVERIFY(uploads.has_value());
        QCOMPARE(uploads->size(), 0);
        auto objects = QCoro::waitFor(client->listAllObjects(bucket, "", {}));
        QVERIFY(objects.has_value());
        const auto segments = m_server->server().listSegments(bucket);
        QVERIFY2(segments.ok(), qPrintable(segments.error));
        for (const auto &segment : segments.names) {
            bool owned = false;
            for (const auto &object : *objects)
                owned = owned || segment.startsWith(object.key + '/');
            QVERIFY2(owned, qPrintable(segment));
        }
    }

private slots:
    void initTestCase()
    {
        QString error;
        m_server = S3TestServerProcess::start(m_tmp.filePath("server"), 0,
                                              S3TestServer::DefaultMinSegmentSize, &error);
        QVERIFY2(m_server, qPrintable(error));
    }

    void endpointBackMidSyncCompletes()
    {
        SyncHarness h(m_server->port());
        const QString root = m_tmp.filePath("resume");
        for (int i = 0; i < 4; ++i)
            writeFile(root, QStringLiteral("big-%1.bin").arg(i), 12 * MiB);
        auto client = h.client();
        QVERIFY(QCoro::waitFor(client->createBucket("recover", {})).has_value());
        h.addProfile("resume", root, "recover", "r", [](Profile &p) { p.concurrency = 1; });
        // One transfer at a time: with several tasks retrying at staggered times the scheduler
        // can miss the wake-up of a later one (TaskStore::earliestNotBefore takes MIN(not_before)
        // including times already past, so onWake does not re-arm) — reported to its owner.
        h.start(1);
        const TaskId run = h.submitSync("resume");
        QTRY_VERIFY_WITH_TIMEOUT(h.services->counters("resume")->bytesDone.load() > 0, 60'000);
        (void)m_server->stop(); // exits non-zero when requests were in flight
        QVERIFY(!m_server->isRunning());
        QTRY_VERIFY_WITH_TIMEOUT(anyTaskRetried(h), 60'000);
        QVERIFY2(m_server->restart(), qPrintable(m_server->errorString()));
        QVERIFY(waitForRun(h, run, 150'000));
        QCOMPARE(h.historyOf(run)->status, HistoryStatus::Completed);
        QTemporaryDir downloads;
        for (int i = 0; i < 4; ++i) {
            const QString name = QStringLiteral("big-%1.bin").arg(i);
            auto got = QCoro::waitFor(
                client->getObject("recover", "r/" + name, downloads.filePath(name), {}));
            QVERIFY2(got.has_value(), qPrintable(name));
            QVERIFY(readAll(downloads.filePath(name)) == readAll(QDir(root).filePath(name)));
        }
        verifyNothingLeft(h, "recover");
    }

    void cancelWhileOfflineCleansUpWhenBack()
    {
        if (!m_server->isRunning())
            QVERIFY2(m_server->restart(), qPrintable(m_server->errorString()));
        SyncHarness h(m_server->port());
        const QString root = m_tmp.filePath("offline");
        for (int i = 0; i < 4; ++i)
            writeFile(root, QStringLiteral("big-%1.bin").arg(i), 12 * MiB);
        auto client = h.client();
        QVERIFY(QCoro::waitFor(client->createBucket("offline", {})).has_value());
        h.addProfile("offline", root, "offline", "o");
        h.start(3);
        std::atomic<bool> cleanupRetrying{false};
        connect(h.scheduler.get(), &Scheduler::eventsBatch, this,
                [&cleanupRetrying](const TaskEvents &events) {
                    for (const auto &event : events)
                        if (event.kind == TaskEvent::Kind::Cancelling &&
                            event.detail.startsWith("clean-up will retry"))
                            cleanupRetrying = true;
                });
        const TaskId run = h.submitSync("offline");
        QTRY_VERIFY_WITH_TIMEOUT(h.services->counters("offline")->bytesDone.load() > 0, 60'000);
        (void)m_server->stop(); // exits non-zero when requests were in flight
        QVERIFY(!m_server->isRunning());
        auto cancelled = awaitFuture(h.scheduler->cancelWhere(
            [](const TaskRecord &task) { return task.dedupKey.startsWith("profile:offline:"); },
            CancelReason::Offline));
        QVERIFY(cancelled.has_value() && cancelled->size() > 0);
        // The aborts cannot reach the endpoint: they stay pending, retried with back-off.
        QTRY_VERIFY_WITH_TIMEOUT(cleanupRetrying.load(), 60'000);
        QVERIFY(awaitFuture(h.scheduler->stats())->cancelling > 0);
        QVERIFY2(m_server->restart(), qPrintable(m_server->errorString()));
        (void)awaitFuture(h.scheduler->retryCleanupsNow(h.target("offline").group()));
        QVERIFY(waitForRun(h, run, 100'000));
        QCOMPARE(h.historyOf(run)->status, HistoryStatus::Cancelled);
        QTRY_COMPARE_WITH_TIMEOUT(awaitFuture(h.scheduler->stats())->cancelling, qint64(0), 60'000);
        HistoryQuery query;
        query.type = SyncTypes::UploadMultipart;
        int ok = 0;
        for (const auto &row : h.history(query)) {
            QCOMPARE(row.status, HistoryStatus::Cancelled);
            QCOMPARE(row.reason.isEmpty(), false);
            QVERIFY2(row.cleanup != CleanupOutcome::Failed, qPrintable(row.error));
            ok += row.cleanup == CleanupOutcome::Ok;
        }
        QVERIFY(ok > 0);
        verifyNothingLeft(h, "offline");
        QVERIFY(h.store->knownUploads("offline")->isEmpty());
    }
    void waitingUploadResumesWithTheMissingParts()
    {
        if (!m_server->isRunning())
            QVERIFY2(m_server->restart(), qPrintable(m_server->errorString()));
        FaultProxy proxy(m_server->port());
        QVERIFY(proxy.listen());
        SyncHarness h(proxy.port());
        const QString root = m_tmp.filePath("resume-same");
        writeFile(root, "big.bin", 15 * MiB);
        const QString path = QDir(root).filePath("big.bin");
        auto client = h.client();
        QVERIFY(QCoro::waitFor(client->createBucket("resume-same", {})).has_value());
        h.addProfile("same", root, "resume-same", "s");
        TaskId run = 0;
        const QString uploadId = interruptWaitingUpload(
            h, proxy, "same", [] {}, &run);
        QVERIFY(!uploadId.isEmpty());

        QVERIFY(waitForRun(h, run, 120'000));
        QVERIFY2(h.historyOf(run)->status == HistoryStatus::Completed,
                 qPrintable(h.historyOf(run)->error));
        const QString problems = sentOnceAsNow(h, m_server->server(), "resume-same", "same",
                                               "big.bin", "s/big.bin", path, readAll(path));
        QVERIFY2(problems.isEmpty(), qPrintable(problems));
        // The same upload went on: part 1 was not sent again, nothing aborted or created.
        QCOMPARE(countRequests(proxy, "PUT", "partNumber=1&"), 0);
        QCOMPARE(countRequests(proxy, "PUT", "partNumber=2&"), 1);
        QCOMPARE(countRequests(proxy, "POST", "uploads"), 0);
        QVERIFY(!sawAbort(proxy, uploadId));
        for (const auto &segment : m_server->server().listSegments("resume-same").names)
            QVERIFY2(segment.contains(uploadId), qPrintable(segment));
    }

    void waitingUploadOfAChangedFileIsAbortedAndSentAgain()
    {
        if (!m_server->isRunning())
            QVERIFY2(m_server->restart(), qPrintable(m_server->errorString()));
        FaultProxy proxy(m_server->port());
        QVERIFY(proxy.listen());
        SyncHarness h(proxy.port());
        const QString root = m_tmp.filePath("resume-changed");
        writeFile(root, "big.bin", 15 * MiB);
        const QString path = QDir(root).filePath("big.bin");
        const QByteArray changed = randomBytes(13 * MiB + 4096);
        auto client = h.client();
        QVERIFY(QCoro::waitFor(client->createBucket("resume-changed", {})).has_value());
        h.addProfile("changed", root, "resume-changed", "c");
        TaskId run = 0;
        const QString uploadId = interruptWaitingUpload(
            h, proxy, "changed", [&] { rewrite(path, changed); }, &run);
        QVERIFY(!uploadId.isEmpty());

        QVERIFY(waitForRun(h, run, 120'000));
        QVERIFY2(h.historyOf(run)->status == HistoryStatus::Completed,
                 qPrintable(h.historyOf(run)->error));
        const QString problems = sentOnceAsNow(h, m_server->server(), "resume-changed", "changed",
                                               "big.bin", "c/big.bin", path, changed);
        QVERIFY2(problems.isEmpty(), qPrintable(problems));
        // The interrupted upload was aborted (its segments with it), a new one sent the file.
        QVERIFY(sawAbort(proxy, uploadId));
        QCOMPARE(countRequests(proxy, "POST", "uploads"), 1);
        for (const auto &segment : m_server->server().listSegments("resume-changed").names)
            QVERIFY2(!segment.contains(uploadId), qPrintable(segment));
        // History: the resumed parts found the file changed; the upload completed.
        HistoryQuery query;
        query.type = SyncTypes::UploadPart;
        query.status = HistoryStatus::Failed;
        const auto parts = h.history(query);
        QVERIFY(!parts.isEmpty());
        for (const auto &part : parts)
            QVERIFY2(part.error.contains("`big.bin` changed while part"), qPrintable(part.error));
        query.type = SyncTypes::UploadMultipart;
        query.status.reset();
        const auto uploads = h.history(query);
        QCOMPARE(uploads.size(), 1);
        QCOMPARE(uploads.first().status, HistoryStatus::Completed);
    }
};

QTEST_GUILESS_MAIN(TestSyncRecovery)
#include "tst_sync_recovery.moc"
