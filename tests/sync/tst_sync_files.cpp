// How the sync engine treats the files themselves, against the local S3 server: a file
// rewritten while it is uploaded is sent again (single PUT) or aborted and reported, then sent
// by the next run (multipart), never stored half old, half new; and the scan streams the
// children of a large tree out in batches instead of holding them all.

#include "SyncTestSupport.h"
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

/// Rewrites `path` with `content` and moves its mtime forward, so the change is visible
/// whatever the file system's timestamp granularity.
void rewrite(const QString &path, const QByteArray &content)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        qFatal("cannot rewrite %s", qPrintable(path));
    file.write(content);
    file.setFileTime(QDateTime::currentDateTime().addSecs(60), QFileDevice::FileModificationTime);
}

QByteArray randomBytes(qint64 size)
{
    QByteArray bytes(size, Qt::Uninitialized);
    QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(bytes.data()), size / 4);
    return bytes;
}

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

    std::optional<HistoryRecord> rowOf(SyncHarness &h, const QString &type)
    {
        HistoryQuery query;
        query.type = type;
        const auto rows = h.history(query);
        return rows.isEmpty() ? std::nullopt : std::optional<HistoryRecord>(rows.first());
    }

    /// A 15 MiB file (three 5 MiB parts) rewritten while its upload runs, at `phase`.
    void multipartChangedThenNextRunSendsIt(ChangeDuring::Phase phase, const QString &name)
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
        QCOMPARE(h.historyOf(run)->status, HistoryStatus::Failed);
        QVERIFY2(h.historyOf(run)->error.contains("could not be synced"),
                 qPrintable(h.historyOf(run)->error));
        // The upload was aborted by its clean-up (the history row is written after it).
        QTRY_VERIFY_WITH_TIMEOUT(rowOf(h, SyncTypes::UploadMultipart).has_value(), kRunTimeoutMs);
        const HistoryRecord upload = *rowOf(h, SyncTypes::UploadMultipart);
        QCOMPARE(upload.status, HistoryStatus::Failed);
        QVERIFY2(upload.error.contains("changed while it was uploaded"), qPrintable(upload.error));
        QCOMPARE(upload.cleanup, CleanupOutcome::Ok);
        auto client = h.client();
        auto uploads = QCoro::waitFor(client->listAllMultipartUploads(bucket, "", {}));
        QVERIFY(uploads.has_value());
        QCOMPARE(uploads->size(), 0);
        // Nothing was stored: no object, half old or otherwise, and no segment.
        auto objects = QCoro::waitFor(client->listAllObjects(bucket, "", {}));
        QVERIFY(objects.has_value());
        QCOMPARE(objects->size(), 0);
        const auto segments = m_server->listSegments(bucket);
        QVERIFY2(segments.ok(), qPrintable(segments.error));
        QCOMPARE(segments.names, QStringList());
        QVERIFY(h.store->knownUploads("changing")->isEmpty());

        // The next run sends the file as it is now.
        const TaskId again = h.submitSync("changing");
        QTRY_VERIFY_WITH_TIMEOUT(h.historyOf(again).has_value(), kRunTimeoutMs);
        QCOMPARE(h.historyOf(again)->status, HistoryStatus::Completed);
        QVERIFY(download(h, bucket, "p/big.bin") == changed);
        uploads = QCoro::waitFor(client->listAllMultipartUploads(bucket, "", {}));
        QCOMPARE(uploads->size(), 0);
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

    void multipartChangedDuringAPartIsAbortedThenSentByTheNextRun()
    {
        multipartChangedThenNextRunSendsIt(ChangeDuring::Phase::Execute, "files-part");
    }

    void multipartChangedBeforeCompletionIsAbortedThenSentByTheNextRun()
    {
        multipartChangedThenNextRunSendsIt(ChangeDuring::Phase::Finalize, "files-final");
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
