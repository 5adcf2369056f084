// How the sync engine treats the files themselves, against the local S3 server: a file
// rewritten while it is uploaded is sent again by the same run (a single PUT again; a
// multipart upload aborted first, then sent from the start), never stored half old, half new;
// a file that keeps changing fails after three tries, naming cause and fix, with nothing left
// behind; and the scan streams the children of a large tree out in batches instead of holding
// them all.

#include "SyncTestSupport.h"
#include "UploadChecks.h"
#include "app/sync/SyncExecutors.h"

#include <QCoro/QCoroTask>
#include <QMutex>
#include <QTimer>

#include <atomic>

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr qint64 MiB = 1024 * 1024;
constexpr int kRunTimeoutMs = 120'000;

/**
 * Wraps a real sync executor. When `trigger` picks a task, `action` runs on the task's worker
 * thread: for Execute as soon as the real execute first waits, i.e. while its request is under
 * way (after the executor took the file's size and mtime, before it checks them again); for
 * Finalize just before the real finalize (every part sent, the upload not yet completed).
 */
class ChangeDuring : public TaskExecutor {
public:
    enum class Phase { Execute, Finalize };
    ChangeDuring(std::shared_ptr<TaskExecutor> real, Phase phase,
                 std::function<bool(TaskContext &)> trigger, std::function<void()> action)
        : m_real(std::move(real)), m_phase(phase), m_trigger(std::move(trigger)),
          m_action(std::move(action))
    {
    }
    QCoro::Task<TaskResult> execute(TaskContext &ctx) override
    {
        if (m_phase == Phase::Execute)
            armIfPicked(ctx);
        co_return co_await m_real->execute(ctx);
    }
    bool hasFinalize() const override { return m_real->hasFinalize(); }
    QCoro::Task<TaskResult> finalize(TaskContext &ctx) override
    {
        if (m_phase == Phase::Finalize)
            armIfPicked(ctx);
        co_return co_await m_real->finalize(ctx);
    }
    bool hasCancelHook() const override { return m_real->hasCancelHook(); }
    QCoro::Task<TaskResult> onCancel(TaskContext &ctx) override
    {
        co_return co_await m_real->onCancel(ctx);
    }

    [[nodiscard]] bool fired() const { return m_fired.load(); }

private:
    void armIfPicked(TaskContext &ctx)
    {
        if (m_fired.load() || !m_trigger(ctx))
            return;
        m_fired = true;
        if (m_phase == Phase::Finalize)
            m_action();
        else // when this worker's event loop next turns: the executor is then awaiting
            QTimer::singleShot(0, m_action);
    }

    std::shared_ptr<TaskExecutor> m_real;
    Phase m_phase;
    std::function<bool(TaskContext &)> m_trigger;
    std::function<void()> m_action;
    std::atomic<bool> m_fired{false};
};

/// Completes every upload at once (the scan is what the batching test looks at).
class DoneExecutor : public TaskExecutor {
public:
    QCoro::Task<TaskResult> execute(TaskContext &) override { co_return TaskResult{}; }
};

ExecutorOptions noRetries()
{
    ExecutorOptions options;
    options.retry = RetryPolicy{1, RetryPolicy::Backoff::Constant, 0, 0, 0};
    return options;
}

} // namespace

class TestSyncFiles : public QObject {
    Q_OBJECT

    std::optional<S3TestServer> m_server;
    QTemporaryDir m_tmp;

    /// A bucket of this run's own (runs of the suite share the fixture's server).
    QString createBucket(SyncHarness &h, const QString &name)
    {
        const QString bucket =
            name + QLatin1Char('-') + QString::number(QRandomGenerator::global()->generate(), 36);
        auto client = h.client();
        auto created = QCoro::waitFor(client->createBucket(bucket, {}));
        if (!created)
            qFatal("cannot create bucket %s", qPrintable(bucket));
        return bucket;
    }

    QByteArray download(SyncHarness &h, const QString &bucket, const QString &key)
    {
        auto client = h.client();
        const QString target = m_tmp.filePath(QStringLiteral("download-%1").arg(qHash(key)));
        auto got = QCoro::waitFor(client->getObject(bucket, key, target, {}));
        return got ? readAll(target) : QByteArray("<missing>");
    }

    /// History rows of `type` for the profile whose dedup keys start with `profile`.
    QList<HistoryRecord> rowsOf(SyncHarness &h, const QString &type, const QString &profile,
                                std::optional<HistoryStatus> status = std::nullopt)
    {
        HistoryQuery query;
        query.type = type;
        query.dedupKeyPrefix = profileKeyPrefix(profile);
        query.status = status;
        return h.history(query);
    }

    /// A 15 MiB file (three 5 MiB parts) rewritten while its upload runs, at `phase`: the same
    /// run aborts that upload and sends the file as it is now.
    void multipartChangedIsSentAgainInTheSameRun(ChangeDuring::Phase phase, const QString &name)
    {
        SyncHarness h(m_server->port());
        const QString root = m_tmp.filePath(name);
        writeFile(root, "big.bin", 15 * MiB);
        const QString path = QDir(root).filePath("big.bin");
        const QByteArray changed = randomBytes(15 * MiB + 4096);
        const QString bucket = createBucket(h, name);
        h.addProfile("changing", root, bucket, "p");
        const bool duringPart = phase == ChangeDuring::Phase::Execute;
        const QString type = duringPart ? SyncTypes::UploadPart : SyncTypes::UploadMultipart;
        std::shared_ptr<TaskExecutor> inner;
        if (duringPart)
            inner = std::make_shared<UploadPartExecutor>(h.services);
        else
            inner = std::make_shared<UploadMultipartExecutor>(h.services);
        auto gate = std::make_shared<ChangeDuring>(
            inner, phase,
            [](TaskContext &ctx) {
                return ctx.task().type != SyncTypes::UploadPart ||
                       ctx.payload().value("part").toInt() == 2;
            },
            [path, changed] { rewrite(path, changed); });
        h.start(1); // one task at a time: parts go in order
        h.scheduler->registerExecutor(type, gate, noRetries());

        const TaskId run = h.submitSync("changing");
        QTRY_VERIFY_WITH_TIMEOUT(h.historyOf(run).has_value(), kRunTimeoutMs);
        QVERIFY(gate->fired());
        QVERIFY2(h.historyOf(run)->status == HistoryStatus::Completed,
                 qPrintable(h.historyOf(run)->error));
        const QString problems =
            sentOnceAsNow(h, *m_server, bucket, "changing", "big.bin", "p/big.bin", path, changed);
        QVERIFY2(problems.isEmpty(), qPrintable(problems));
        const auto uploads = rowsOf(h, SyncTypes::UploadMultipart, "changing");
        QCOMPARE(uploads.size(), 1);
        QCOMPARE(uploads.first().status, HistoryStatus::Completed);
        if (duringPart) {
            // The part that read the changing file says so; the upload that replaced it
            // completed (its note counts the failed parts).
            const auto failed = rowsOf(h, SyncTypes::UploadPart, "changing", HistoryStatus::Failed);
            QVERIFY(!failed.isEmpty());
            bool named = false;
            for (const auto &row : failed)
                named = named || row.error.contains("`big.bin` changed while part 2 was uploaded");
            QVERIFY2(named, qPrintable(failed.first().error));
            QVERIFY2(uploads.first().note.contains("children failed"),
                     qPrintable(uploads.first().note));
        }
        QCOMPARE(h.services->counters("changing")->filesDone.load(), qint64(1));
        QCOMPARE(h.services->counters("changing")->filesFailed.load(), qint64(0));

        // The journal holds the version sent: the next run uploads nothing.
        const QDateTime before = QDateTime::currentDateTimeUtc();
        const TaskId again = h.submitSync("changing");
        QTRY_VERIFY_WITH_TIMEOUT(h.historyOf(again).has_value(), kRunTimeoutMs);
        QCOMPARE(h.historyOf(again)->status, HistoryStatus::Completed);
        HistoryQuery later;
        later.type = SyncTypes::UploadMultipart;
        later.finishedAfter = before;
        QCOMPARE(h.history(later).size(), 0);
    }

private slots:
    void initTestCase()
    {
        m_server = S3TestServer::fromEnvironment();
        QVERIFY2(m_server.has_value(), qPrintable(S3TestServer::environmentProblem()));
        qputenv("FERRY_SECRET_STORE", "file");
    }

    void smallFileChangedDuringPutIsSentAgainInTheSameRun()
    {
        SyncHarness h(m_server->port());
        const QString root = m_tmp.filePath("small");
        // Below the client's in-memory limit: read once, digest and body from the same bytes.
        writeFile(root, "note.bin", 512 * 1024);
        const QString path = QDir(root).filePath("note.bin");
        const QByteArray changed = randomBytes(640 * 1024);
        const QString bucket = createBucket(h, "files-small");
        h.addProfile("small", root, bucket, "s");
        auto gate = std::make_shared<ChangeDuring>(
            std::make_shared<UploadObjectExecutor>(h.services), ChangeDuring::Phase::Execute,
            [](TaskContext &) { return true; }, [path, changed] { rewrite(path, changed); });
        h.start();
        h.scheduler->registerExecutor(SyncTypes::UploadObject, gate, noRetries());

        const TaskId run = h.submitSync("small");
        QTRY_VERIFY_WITH_TIMEOUT(h.historyOf(run).has_value(), kRunTimeoutMs);
        QVERIFY(gate->fired());
        QCOMPARE(h.historyOf(run)->status, HistoryStatus::Completed);
        QCOMPARE(h.services->counters("small")->filesDone.load(), qint64(1));
        QVERIFY(download(h, bucket, "s/note.bin") == changed);
        // The journal holds the new version: the next run uploads nothing.
        const auto entry = h.store->journalEntry("small", "note.bin");
        QVERIFY(entry.has_value());
        QCOMPARE(entry->size, qint64(changed.size()));
        const QDateTime before = QDateTime::currentDateTimeUtc();
        const TaskId again = h.submitSync("small");
        QTRY_VERIFY_WITH_TIMEOUT(h.historyOf(again).has_value(), kRunTimeoutMs);
        HistoryQuery uploads;
        uploads.type = SyncTypes::UploadObject;
        uploads.finishedAfter = before;
        QCOMPARE(h.history(uploads).size(), 0);
    }

    void multipartChangedDuringAPartIsSentAgainInTheSameRun()
    {
        multipartChangedIsSentAgainInTheSameRun(ChangeDuring::Phase::Execute, "files-part");
    }

    void multipartChangedBeforeCompletionIsSentAgainInTheSameRun()
    {
        multipartChangedIsSentAgainInTheSameRun(ChangeDuring::Phase::Finalize, "files-final");
    }

    void multipartChangedThenRestoredIsSentAgainInTheSameRun()
    {
        // Part 2 reads a rewritten file; before the upload completes the file is restored,
        // bytes and mtime (as a backup tool would). Its parts hold two versions all the same.
        SyncHarness h(m_server->port());
        const QString root = m_tmp.filePath("restored");
        writeFile(root, "big.bin", 15 * MiB);
        const QString path = QDir(root).filePath("big.bin");
        const QByteArray original = readAll(path);
        const QDateTime mtime = QFileInfo(path).lastModified();
        const QString bucket = createBucket(h, "files-restored");
        h.addProfile("restored", root, bucket, "p");
        auto change = std::make_shared<ChangeDuring>(
            std::make_shared<UploadPartExecutor>(h.services), ChangeDuring::Phase::Execute,
            [](TaskContext &ctx) { return ctx.payload().value("part").toInt() == 2; },
            [path] { rewrite(path, randomBytes(15 * MiB)); });
        auto restore = std::make_shared<ChangeDuring>(
            std::make_shared<UploadMultipartExecutor>(h.services), ChangeDuring::Phase::Finalize,
            [](TaskContext &) { return true; },
            [path, original, mtime] {
                QFile file(path);
                if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
                    qFatal("cannot restore %s", qPrintable(path));
                file.write(original);
                file.setFileTime(mtime, QFileDevice::FileModificationTime);
            });
        h.start(1);
        h.scheduler->registerExecutor(SyncTypes::UploadPart, change, noRetries());
        h.scheduler->registerExecutor(SyncTypes::UploadMultipart, restore, noRetries());

        const TaskId run = h.submitSync("restored");
        QTRY_VERIFY_WITH_TIMEOUT(h.historyOf(run).has_value(), kRunTimeoutMs);
        QVERIFY(change->fired() && restore->fired());
        QCOMPARE(stampOf(path).mtimeMs, mtime.toMSecsSinceEpoch());
        QVERIFY2(h.historyOf(run)->status == HistoryStatus::Completed,
                 qPrintable(h.historyOf(run)->error));
        const QString problems =
            sentOnceAsNow(h, *m_server, bucket, "restored", "big.bin", "p/big.bin", path, original);
        QVERIFY2(problems.isEmpty(), qPrintable(problems));
        const auto failed = rowsOf(h, SyncTypes::UploadPart, "restored", HistoryStatus::Failed);
        QVERIFY(!failed.isEmpty());
    }

    void multipartRewrittenWhileAPartIsInFlightIsSentAgainInTheSameRun()
    {
        // Eight parts, four in flight at a time. Part 2's request reaches the server; the proxy
        // holds the server's answer until the test has rewritten the file (while other parts
        // are still being read; smaller now: four parts) and let the request end.
        FaultProxy proxy(m_server->port());
        QVERIFY(proxy.listen());
        SyncHarness h(proxy.port());
        const QString root = m_tmp.filePath("inflight");
        writeFile(root, "big.bin", 40 * MiB);
        const QString path = QDir(root).filePath("big.bin");
        const QByteArray changed = randomBytes(17 * MiB + 4096);
        const QString bucket = createBucket(h, "files-inflight");
        h.addProfile("inflight", root, bucket, "p");
        FaultRule hold;
        hold.method = "PUT";
        hold.queryContains = "partNumber=2&";
        hold.fault = Fault::stall();
        const int held = proxy.addRule(hold);
        h.start();

        const TaskId run = h.submitSync("inflight");
        QTRY_VERIFY_WITH_TIMEOUT(proxy.applied(held) == 1, kRunTimeoutMs);
        s3::MultipartUpload first;
        first.bucket = bucket;
        first.key = "p/big.bin";
        for (const auto &request : proxy.requests())
            if (request.query.contains("partNumber=2&"))
                first.uploadId = uploadIdOf(request);
        QVERIFY(!first.uploadId.isEmpty());
        // Once the server holds part 2, its whole body was read from the file and sent.
        auto direct = serverClient(m_server->port());
        QTRY_VERIFY_WITH_TIMEOUT(serverHoldsPart(*direct, first, 2), kRunTimeoutMs);
        rewrite(path, changed);
        // The held request ends: its connection is reset once the server's answer is in (Qt
        // may also give it up by itself; either way it is sent again, from the changed file,
        // and fails its digest check), and the part finds the file changed.
        const auto releasedThenDone = [&] {
            (void)proxy.resetStalled();
            return h.historyOf(run).has_value();
        };
        QTRY_VERIFY_WITH_TIMEOUT(releasedThenDone(), kRunTimeoutMs);
        QVERIFY2(h.historyOf(run)->status == HistoryStatus::Completed,
                 qPrintable(h.historyOf(run)->error));

        const QString problems =
            sentOnceAsNow(h, *m_server, bucket, "inflight", "big.bin", "p/big.bin", path, changed);
        QVERIFY2(problems.isEmpty(), qPrintable(problems));
        // The stale upload was aborted before the second began; its segments are gone.
        const auto log = proxy.requests();
        qsizetype abortAt = -1, secondCreateAt = -1;
        int creates = 0;
        for (qsizetype i = 0; i < log.size(); ++i) {
            if (log[i].method == "DELETE" && uploadIdOf(log[i]) == first.uploadId)
                abortAt = i;
            if (log[i].method == "POST" && log[i].query.startsWith("uploads") && ++creates == 2)
                secondCreateAt = i;
        }
        QCOMPARE(creates, 2);
        QVERIFY(abortAt >= 0 && abortAt < secondCreateAt);
        for (const auto &segment : m_server->listSegments(bucket).names)
            QVERIFY2(!segment.contains(first.uploadId), qPrintable(segment));
        // History: part 2 failed because the file changed; the upload completed.
        const auto parts = rowsOf(h, SyncTypes::UploadPart, "inflight", HistoryStatus::Failed);
        bool named = false;
        for (const auto &row : parts)
            named = named || (row.label == "big.bin part 2" &&
                              row.error.contains("`big.bin` changed while part 2 was uploaded"));
        QVERIFY(named);
        const auto uploads = rowsOf(h, SyncTypes::UploadMultipart, "inflight");
        QCOMPARE(uploads.size(), 1);
        QCOMPARE(uploads.first().status, HistoryStatus::Completed);
    }

    void multipartThatKeepsChangingFailsAfterThreeTries()
    {
        // Every part request rewrites the file on its way through the proxy (before the server
        // answers), so each try of the upload finds the file changed after its first part.
        FaultProxy proxy(m_server->port());
        QVERIFY(proxy.listen());
        SyncHarness h(proxy.port());
        const QString root = m_tmp.filePath("restless");
        writeFile(root, "big.bin", 15 * MiB);
        const QString path = QDir(root).filePath("big.bin");
        const QString bucket = createBucket(h, "files-restless");
        h.addProfile("restless", root, bucket, "p");
        auto rewrites = std::make_shared<std::atomic<int>>(0);
        FaultRule touch;
        touch.method = "PUT";
        touch.queryContains = "partNumber=";
        touch.predicate = [path, rewrites](const ProxiedRequest &) {
            const int n = ++*rewrites;
            rewrite(path, randomBytes(15 * MiB + n * 4096), n * 60);
            return false; // no fault: the request goes on to the server
        };
        proxy.addRule(touch);
        h.start(1);

        const TaskId run = h.submitSync("restless");
        QTRY_VERIFY_WITH_TIMEOUT(h.historyOf(run).has_value(), kRunTimeoutMs);
        QCOMPARE(h.historyOf(run)->status, HistoryStatus::Failed);
        QVERIFY2(h.historyOf(run)->error.contains("could not be synced"),
                 qPrintable(h.historyOf(run)->error));
        QTRY_VERIFY_WITH_TIMEOUT(!rowsOf(h, SyncTypes::UploadMultipart, "restless").isEmpty(),
                                 kRunTimeoutMs);
        const HistoryRecord upload = rowsOf(h, SyncTypes::UploadMultipart, "restless").first();
        QCOMPARE(upload.status, HistoryStatus::Failed);
        QVERIFY2(upload.error.contains("`big.bin` kept changing while it was uploaded (3 tries)") &&
                     upload.error.contains("Sync again when the file is no longer being written"),
                 qPrintable(upload.error));
        QVERIFY(upload.cleanup != CleanupOutcome::Failed);
        // Three uploads begun, each aborted: nothing stored, nothing in progress or remembered.
        QCOMPARE(countRequests(proxy, "POST", "uploads"), 3);
        QCOMPARE(rewrites->load(), 3);
        auto client = h.client();
        auto uploads = QCoro::waitFor(client->listAllMultipartUploads(bucket, "", {}));
        QVERIFY(uploads.has_value());
        QCOMPARE(uploads->size(), 0);
        auto objects = QCoro::waitFor(client->listAllObjects(bucket, "", {}));
        QVERIFY(objects.has_value());
        QCOMPARE(objects->size(), 0);
        const auto segments = m_server->listSegments(bucket);
        QVERIFY2(segments.ok(), qPrintable(segments.error));
        QCOMPARE(segments.names, QStringList());
        QVERIFY(h.store->knownUploads("restless")->isEmpty());
        QVERIFY(!h.store->journalEntry("restless", "big.bin").has_value());
        QCOMPARE(h.services->counters("restless")->filesFailed.load(), qint64(1));
    }

    void smallFileThatKeepsChangingFailsAfterThreeTries()
    {
        FaultProxy proxy(m_server->port());
        QVERIFY(proxy.listen());
        SyncHarness h(proxy.port());
        const QString root = m_tmp.filePath("restless-small");
        writeFile(root, "note.bin", 256 * 1024);
        const QString path = QDir(root).filePath("note.bin");
        const QString bucket = createBucket(h, "files-restless-small");
        h.addProfile("restless-small", root, bucket, "s");
        auto rewrites = std::make_shared<std::atomic<int>>(0);
        FaultRule touch;
        touch.method = "PUT";
        touch.path = QRegularExpression("/note\\.bin$");
        touch.predicate = [path, rewrites](const ProxiedRequest &) {
            const int n = ++*rewrites;
            rewrite(path, randomBytes(256 * 1024 + n * 4096), n * 60);
            return false;
        };
        proxy.addRule(touch);
        h.start();

        const TaskId run = h.submitSync("restless-small");
        QTRY_VERIFY_WITH_TIMEOUT(h.historyOf(run).has_value(), kRunTimeoutMs);
        QCOMPARE(h.historyOf(run)->status, HistoryStatus::Failed);
        const auto rows = rowsOf(h, SyncTypes::UploadObject, "restless-small");
        QCOMPARE(rows.size(), 1);
        QCOMPARE(rows.first().status, HistoryStatus::Failed);
        QVERIFY2(
            rows.first().error.contains("`note.bin` kept changing while it was uploaded (3 tries)"),
            qPrintable(rows.first().error));
        QCOMPARE(rewrites->load(), 3);
        // Whatever a PUT stored is one whole version (Content-MD5); the journal names none.
        QVERIFY(!h.store->journalEntry("restless-small", "note.bin").has_value());
    }

    void scanSubmitsChildrenInBatchesOf500()
    {
        SyncHarness h(m_server->port());
        const QString root = m_tmp.filePath("many");
        constexpr int kFiles = 1250;
        for (int i = 0; i < kFiles; ++i)
            writeFile(root, QStringLiteral("d%1/f%2").arg(i % 7).arg(i), 0);
        h.addProfile("many", root, createBucket(h, "files-many"), "m");
        h.start();
        h.scheduler->registerExecutor(SyncTypes::UploadObject, std::make_shared<DoneExecutor>());
        // Emitted on the scheduler thread inside each submission, while the scan waits for it:
        // how many files the scan had queued when each child arrived.
        auto counters = h.services->counters("many");
        QMutex mutex;
        QList<qint64> queuedAtSubmit;
        QObject::connect(
            h.scheduler.get(), &Scheduler::taskSubmitted, h.scheduler.get(),
            [&](TaskId) {
                const QMutexLocker lock(&mutex);
                queuedAtSubmit.append(counters->filesQueued.load());
            },
            Qt::DirectConnection);

        const TaskId run = h.submitSync("many");
        QTRY_VERIFY_WITH_TIMEOUT(h.historyOf(run).has_value(), kRunTimeoutMs);
        QCOMPARE(h.historyOf(run)->status, HistoryStatus::Completed);
        const QMutexLocker lock(&mutex);
        QCOMPARE(queuedAtSubmit.size(), kFiles + 1); // the run, then each file
        QCOMPARE(queuedAtSubmit.count(0), 1);        // the run itself
        // Each child arrived while at most one batch beyond the earlier ones was queued:
        // 500 children with 500 queued, 500 more with 1000, the last 250 with 1250.
        QCOMPARE(queuedAtSubmit.count(500), 500);
        QCOMPARE(queuedAtSubmit.count(1000), 500);
        QCOMPARE(queuedAtSubmit.count(kFiles), 250);
    }
};

QTEST_GUILESS_MAIN(TestSyncFiles)
#include "tst_sync_files.moc"
