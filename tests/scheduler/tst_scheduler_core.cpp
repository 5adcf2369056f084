// The scheduler core: store, dispatch order, limits, dedup strategies, parent/child trees,
// retries, events.
#include "SchedulerTestSupport.h"
#include "scheduler/TaskStore.h"
#include "scheduler/WalCheckpointer.h"

#include <QFileInfo>
#include <QSignalSpy>
#include <QTemporaryDir>

using namespace ferry;
using namespace ferry::test;

class TestSchedulerCore : public QObject {
    Q_OBJECT

private slots:
    void submitRunsAndRecordsCompleted();
    void dispatchByPriorityThenAge();
    void globalConcurrencyLimit();
    void groupAndTypeLimits();
    void dedupSkipRaisesPriority();
    void dedupSupersede();
    void dedupReject();
    void submitBatchInOneCall();
    void batchDuplicatesInsideMultiRowInserts();
    void logIsCopiedIntoTheFileWhenWritesPause();
    void logIsCopiedWhileWritesGoOn();
    void logIsCopiedAtTheCommitThatOutrunsTheCopies();
    void parentWaitsForChildrenThenFinalizes();
    void failedChildFailsParentAndCancelsSiblings();
    void tolerantParentFinalizesDespiteFailedChild();
    void retryableErrorIsRetriedThenFails();
    void permanentErrorFailsAtOnce();
    void retriesAtDifferentTimesAllWake();
    void stateIsPersistedAndSeenOnRetry();
    void progressAndBatchedEvents();
    void pausedGroupHoldsTasks();
    void historyQueriesFilter();
    void historyRetentionKeepsTheNewest();
};

namespace {

/// Starts `h` with a "gate" and a "noop" executor and submits a gate task: once it started,
/// it holds a one-slot scheduler's only slot, and what is submitted next stays pending until
/// `probe->gate` is cancelled.
Scheduler &startWithGate(Harness &h, const std::shared_ptr<Probe> &probe)
{
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor("gate", gateExecutor(probe));
        s.registerExecutor("noop", noopExecutor(probe));
    });
    h.submit(spec("gate"));
    return s;
}

/// A store alone (no scheduler) in a directory of its own.
struct ScratchStore {
    QTemporaryDir dir;
    QString path = dir.filePath(QStringLiteral("store.sqlite"));
    TaskStore store;
    [[nodiscard]] qint64 fileSize() const { return QFileInfo(path).size(); }
};

/// `count` "noop" tasks of group "g", one per file; each payload holds `filler` when given.
QList<TaskSpec> fileTasks(int count, const QString &filler = {})
{
    QList<TaskSpec> specs;
    specs.reserve(count);
    for (int i = 0; i < count; ++i) {
        specs << spec("noop", "g", QStringLiteral("profile:p:file-%1.bin").arg(i));
        if (!filler.isEmpty())
            specs.last().payload.insert(QStringLiteral("filler"), filler);
    }
    return specs;
}

/// Rows for TaskStore::insertTasks: specs [from, to) as Pending, task ids from + 1 on.
QList<TaskStore::NewTask> pendingRows(QList<TaskSpec> &specs, int from, int to)
{
    QList<TaskStore::NewTask> rows;
    for (int i = from; i < to; ++i)
        rows.append({&specs[i], TaskId(i + 1), TaskStatus::Pending});
    return rows;
}

} // namespace

void TestSchedulerCore::submitRunsAndRecordsCompleted()
{
    Harness h;
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("noop", noopExecutor(probe)); });
    QSignalSpy completed(&s, &Scheduler::taskCompleted);
    const TaskId id = h.submit(spec("noop", "g", "k1"));
    QVERIFY(id > 0);
    QTRY_COMPARE(completed.count(), 1);
    QCOMPARE(completed.first().first().value<TaskId>(), id);
    const auto row = h.historyOf(id);
    QVERIFY(row);
    QCOMPARE(row->status, HistoryStatus::Completed);
    QCOMPARE(row->group, QStringLiteral("g"));
    QCOMPARE(row->dedupKey, QStringLiteral("k1"));
    QVERIFY(row->finishedAt.isValid());
    QVERIFY(!h.isActive(id));
}

void TestSchedulerCore::dispatchByPriorityThenAge()
{
    Harness h(1);
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor("noop", noopExecutor(probe));
        s.registerExecutor("gate", gateExecutor(probe));
    });
    // Occupy the only slot so that the rest queue up before anything runs.
    const TaskId blocker = h.submit(spec("gate"));
    QTRY_COMPARE(probe->started.load(), 1);
    QList<TaskSpec> batch;
    for (int priority : {200, 10, 200, 10, 0}) {
        TaskSpec t = spec("noop");
        t.priority = priority;
        batch << t;
    }
    const auto results = FERRY_OK(await(s.submitBatch(batch)));
    probe->gate.cancel();
    QTRY_COMPARE(probe->finished.load(), 6);
    const QList<TaskId> expected = {blocker,       results[4].id, results[1].id,
                                    results[3].id, results[0].id, results[2].id};
    QCOMPARE(probe->snapshot(probe->order), expected);
}

void TestSchedulerCore::globalConcurrencyLimit()
{
    Harness h(2);
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("gate", gateExecutor(probe)); });
    QList<TaskSpec> batch(5, spec("gate"));
    FERRY_OK(await(s.submitBatch(batch)));
    QTRY_COMPARE(probe->started.load(), 2);
    const auto stats = FERRY_OK(await(s.stats()));
    QCOMPARE(stats.running, 2);
    QCOMPARE(stats.pending, 3);
    QCOMPARE(probe->started.load(), 2);
    probe->gate.cancel();
    QTRY_COMPARE(probe->finished.load(), 5);
}

void TestSchedulerCore::groupAndTypeLimits()
{
    Harness h(8);
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) {
        ExecutorOptions typeLimited;
        typeLimited.maxConcurrency = 2;
        s.registerExecutor("gate", gateExecutor(probe), typeLimited);
        s.registerExecutor("gate2", gateExecutor(probe));
        s.setGroupConcurrency("slow", 1);
    });
    QList<TaskSpec> batch;
    for (int i = 0; i < 4; ++i)
        batch << spec("gate", "a");
    for (int i = 0; i < 3; ++i)
        batch << spec("gate2", "slow");
    batch << spec("gate2", "other");
    FERRY_OK(await(s.submitBatch(batch)));
    // 2 of type gate, 1 of group slow, 1 other.
    QTRY_COMPARE(probe->started.load(), 4);
    const auto running = FERRY_OK(await(s.activeTasks()));
    int gateRunning = 0, slowRunning = 0;
    for (const auto &t : running) {
        if (t.status != TaskStatus::Running)
            continue;
        gateRunning += t.type == "gate";
        slowRunning += t.group == "slow";
    }
    QCOMPARE(gateRunning, 2);
    QCOMPARE(slowRunning, 1);
    probe->gate.cancel();
    QTRY_COMPARE(probe->finished.load(), 8);
}

void TestSchedulerCore::dedupSkipRaisesPriority()
{
    Harness h(1);
    auto probe = std::make_shared<Probe>();
    auto &s = startWithGate(h, probe);
    QTRY_COMPARE(probe->started.load(), 1);
    TaskSpec first = spec("noop", {}, "profile:a:file:x");
    first.priority = 200;
    const TaskId id = h.submit(first);
    TaskSpec again = first;
    again.priority = 5;
    const auto result = FERRY_OK(await(s.submit(again)));
    QCOMPARE(result.outcome, SubmitResult::Outcome::Skipped);
    QCOMPARE(result.id, id);
    const auto record = FERRY_OK(await(s.task(id)));
    QVERIFY(record);
    QCOMPARE(record->priority, 5);
    probe->gate.cancel();
    QTRY_COMPARE(probe->finished.load(), 2);
}

void TestSchedulerCore::dedupSupersede()
{
    Harness h(1);
    auto probe = std::make_shared<Probe>();
    auto &s = startWithGate(h, probe);
    QTRY_COMPARE(probe->started.load(), 1);
    const TaskId old = h.submit(spec("noop", {}, "k"));
    TaskSpec replacement = spec("noop", {}, "k");
    replacement.onDuplicate = DuplicateStrategy::Supersede;
    const auto result = FERRY_OK(await(s.submit(replacement)));
    QCOMPARE(result.outcome, SubmitResult::Outcome::Superseded);
    QCOMPARE(result.replacedId, old);
    QVERIFY(result.id != old);
    const auto oldRow = h.historyOf(old);
    QVERIFY(oldRow);
    QCOMPARE(oldRow->status, HistoryStatus::Superseded);
    probe->gate.cancel();
    QTRY_COMPARE(probe->finished.load(), 2);
    QTRY_VERIFY(h.historyOf(result.id).has_value());
    QCOMPARE(h.historyOf(result.id)->status, HistoryStatus::Completed);
}

void TestSchedulerCore::dedupReject()
{
    Harness h(1);
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("gate", gateExecutor(probe)); });
    const TaskId id = h.submit(spec("gate", {}, "only-one"));
    TaskSpec duplicate = spec("gate", {}, "only-one");
    duplicate.onDuplicate = DuplicateStrategy::Reject;
    const auto result = FERRY_OK(await(s.submit(duplicate)));
    QCOMPARE(result.outcome, SubmitResult::Outcome::Rejected);
    QCOMPARE(result.replacedId, id);
    QVERIFY(result.message.contains("only-one"));
    QCOMPARE(FERRY_OK(await(s.activeTasks())).size(), 1);
    probe->gate.cancel();
    QTRY_COMPARE(probe->finished.load(), 1);
}

void TestSchedulerCore::submitBatchInOneCall()
{
    Harness h;
    auto probe = std::make_shared<Probe>();
    h.options.submitChunk = 7; // force several transactions for one call
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("noop", noopExecutor(probe)); });
    QList<TaskSpec> batch;
    for (int i = 0; i < 50; ++i)
        batch << spec("noop", "g", QStringLiteral("k%1").arg(i % 40)); // 10 in-batch duplicates
    const auto results = FERRY_OK(await(s.submitBatch(batch)));
    QCOMPARE(results.size(), 50);
    int created = 0, skipped = 0;
    for (const auto &r : results) {
        created += r.outcome == SubmitResult::Outcome::Created;
        skipped += r.outcome == SubmitResult::Outcome::Skipped;
    }
    // Duplicates whose original already completed are new tasks; the rest are skipped.
    QCOMPARE(created + skipped, 50);
    QVERIFY(created >= 40);
    QTRY_COMPARE(probe->finished.load(), created);
    QTRY_COMPARE(h.history().size(), created);
}

void TestSchedulerCore::batchDuplicatesInsideMultiRowInserts()
{
    // The store inserts a batch 100 rows per statement and the rest one by one: duplicates
    // inside one statement, across statements, in the one-by-one tail and against an older
    // task must all be found, for every strategy.
    Harness h(1);
    auto probe = std::make_shared<Probe>();
    auto &s = startWithGate(h, probe);
    QTRY_COMPARE(probe->started.load(), 1); // the only slot is taken: the batch stays pending
    const TaskId older = h.submit(spec("noop", "g", QStringLiteral("k14")));

    // Every tenth task repeats the key before it (same statement); from task 200 on, tasks
    // repeat the keys of tasks 150 earlier (other statements, from the tail).
    const auto keyOf = [](int i) {
        if (i >= 200)
            i -= 150;
        return QStringLiteral("k%1").arg(i % 10 == 9 ? i - 1 : i);
    };
    const auto strategyOf = [](int i) {
        if (i == 59 || i >= 235)
            return DuplicateStrategy::Supersede;
        if (i == 79 || (i >= 220 && i < 235))
            return DuplicateStrategy::Reject;
        return DuplicateStrategy::Skip;
    };
    const int count = 250;
    QList<TaskSpec> batch;
    for (int i = 0; i < count; ++i) {
        TaskSpec task = spec("noop", "g", keyOf(i));
        task.payload = {{"i", i}};
        task.onDuplicate = strategyOf(i);
        batch << task;
    }
    const auto results = FERRY_OK(await(s.submitBatch(batch)));
    QCOMPARE(results.size(), count);

    QHash<QString, TaskId> holder = {{QStringLiteral("k14"), older}};
    for (int i = 0; i < count; ++i) {
        const SubmitResult &r = results.at(i);
        const QString key = keyOf(i);
        const auto held = holder.constFind(key);
        if (held == holder.constEnd()) {
            QCOMPARE(r.outcome, SubmitResult::Outcome::Created);
            holder.insert(key, r.id);
        } else if (strategyOf(i) == DuplicateStrategy::Supersede) {
            QCOMPARE(r.outcome, SubmitResult::Outcome::Superseded);
            QCOMPARE(r.replacedId, *held);
            holder.insert(key, r.id);
        } else if (strategyOf(i) == DuplicateStrategy::Reject) {
            QCOMPARE(r.outcome, SubmitResult::Outcome::Rejected);
            QCOMPARE(r.replacedId, *held);
        } else {
            QCOMPARE(r.outcome, SubmitResult::Outcome::Skipped);
            QCOMPARE(r.id, *held);
        }
    }
    // 180 keys, each held by exactly one active task, whose payload is its own.
    const auto active = FERRY_OK(await(s.activeTasks(QStringLiteral("g"))));
    QCOMPARE(active.size(), 180);
    QCOMPARE(holder.size(), 180);
    for (const TaskRecord &task : active) {
        QCOMPARE(holder.value(task.dedupKey), task.id);
        if (task.id != older)
            QCOMPARE(keyOf(task.payload.value("i").toInt()), task.dedupKey);
    }
    probe->gate.cancel();
}

void TestSchedulerCore::logIsCopiedIntoTheFileWhenWritesPause()
{
    // 2,000 tasks write far fewer pages than either WalCheckpointer::kBackgroundPages or
    // SQLite's own bound, so only the scheduler's idle checkpoint brings them into the file.
    Harness h(1);
    auto probe = std::make_shared<Probe>();
    auto &s = startWithGate(h, probe);
    QTRY_COMPARE(probe->started.load(), 1);
    QList<TaskSpec> batch;
    for (int i = 0; i < 2000; ++i)
        batch << spec("noop", "g", QStringLiteral("profile:p:file-%1.bin").arg(i));
    FERRY_OK(await(s.submitBatch(batch)));
    QVERIFY(QFileInfo::exists(h.options.databasePath + QStringLiteral("-wal")));
    QTRY_VERIFY_WITH_TIMEOUT(QFileInfo(h.options.databasePath).size() >= 2000 * 64, 10'000);
    probe->gate.cancel();
}

void TestSchedulerCore::logIsCopiedWhileWritesGoOn()
{
    // The store alone, with no engine to notice a pause: commits that leave
    // WalCheckpointer::kBackgroundPages in the log start the copy themselves. SQLite's own
    // checkpoint would wait for WalCheckpointer::kInlinePages, far more than written here.
    ScratchStore scratch;
    TaskStore &store = scratch.store;
    FERRY_OK(store.open(scratch.path));
    const qint64 sizeAtOpen = scratch.fileSize();
    const int tasks = 60'000; // about 2,400 pages over six commits
    QList<TaskSpec> specs = fileTasks(tasks);
    for (int from = 0; from < tasks; from += 10'000) {
        Transaction tx(store);
        const auto refused = store.insertTasks(pendingRows(specs, from, from + 10'000), 0);
        QVERIFY(refused && refused->isEmpty());
        QVERIFY(tx.commit());
    }
    QTRY_VERIFY_WITH_TIMEOUT(scratch.fileSize() >= sizeAtOpen + tasks * 64, 10'000);
    QCOMPARE(store.countByStatus().value(TaskStatus::Pending), qint64(tasks));
}

void TestSchedulerCore::logIsCopiedAtTheCommitThatOutrunsTheCopies()
{
    // One commit of more than WalCheckpointer::kInlinePages (64 MiB): no commit before it left
    // kBackgroundPages, so no background copy was ever asked for, and the log must be in the
    // file when the commit returns, copied on the writing thread. This is what bounds the log
    // when writes outrun the background copies.
    ScratchStore scratch;
    TaskStore &store = scratch.store;
    FERRY_OK(store.open(scratch.path));
    const qint64 sizeAtOpen = scratch.fileSize();
    const int tasks = 18'000; // a 4 KiB payload each: at least one page per task
    QList<TaskSpec> specs = fileTasks(tasks, QString(4096, QLatin1Char('x')));
    Transaction tx(store);
    const auto refused = store.insertTasks(pendingRows(specs, 0, tasks), 0);
    QVERIFY(refused && refused->isEmpty());
    QCOMPARE(scratch.fileSize(), sizeAtOpen);
    QVERIFY(tx.commit());
    const qint64 inlinePagesBytes = qint64(WalCheckpointer::kInlinePages) * 4096;
    QVERIFY2(scratch.fileSize() >= sizeAtOpen + inlinePagesBytes,
             qPrintable(
                 QStringLiteral("%1 bytes in the file after the commit").arg(scratch.fileSize())));
    QCOMPARE(store.countByStatus().value(TaskStatus::Pending), qint64(tasks));
}

void TestSchedulerCore::parentWaitsForChildrenThenFinalizes()
{
    Harness h;
    auto probe = std::make_shared<Probe>();
    std::atomic<int> finalizeCalls{0};
    std::atomic<int> childrenDoneAtFinalize{-1};
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor("child", gateExecutor(probe));
        s.registerExecutor("parent", std::make_shared<FunctionExecutor>(
                                         [](TaskContext &ctx) -> QCoro::Task<TaskResult> {
                                             QList<TaskSpec> children(3, spec("child"));
                                             auto ids = ctx.spawnBatch(children);
                                             if (!ids)
                                                 co_return std::unexpected(
                                                     TaskError::permanent(ids.error().message));
                                             co_return TaskResult{};
                                         },
                                         [&, probe](TaskContext &) -> QCoro::Task<TaskResult> {
                                             childrenDoneAtFinalize = probe->finished.load();
                                             finalizeCalls++;
                                             co_return TaskResult{};
                                         }));
    });
    QSignalSpy waiting(&s, &Scheduler::taskWaiting);
    const TaskId parent = h.submit(spec("parent", "g"));
    QTRY_COMPARE(waiting.count(), 1);
    QTRY_COMPARE(probe->started.load(), 3);
    QCOMPARE(FERRY_OK(await(s.task(parent)))->status, TaskStatus::Waiting);
    // Children inherit the parent's group.
    for (const auto &t : FERRY_OK(await(s.activeTasks())))
        QCOMPARE(t.group, QStringLiteral("g"));
    QCOMPARE(finalizeCalls.load(), 0);
    probe->gate.cancel();
    QTRY_VERIFY(h.historyOf(parent).has_value());
    QCOMPARE(h.historyOf(parent)->status, HistoryStatus::Completed);
    QCOMPARE(finalizeCalls.load(), 1);
    QCOMPARE(childrenDoneAtFinalize.load(), 3);
}

void TestSchedulerCore::failedChildFailsParentAndCancelsSiblings()
{
    Harness h;
    auto probe = std::make_shared<Probe>();
    std::atomic<int> finalizeCalls{0};
    h.start([&](Scheduler &s) {
        s.registerExecutor("sibling", gateExecutor(probe));
        s.registerExecutor(
            "bad", std::make_shared<FunctionExecutor>([](TaskContext &) -> QCoro::Task<TaskResult> {
                co_return std::unexpected(TaskError::permanent("disk on fire"));
            }));
        s.registerExecutor("parent",
                           std::make_shared<FunctionExecutor>(
                               [](TaskContext &ctx) -> QCoro::Task<TaskResult> {
                                   (void)ctx.spawnBatch(listOf(spec("sibling"), spec("sibling")));
                                   co_return TaskResult{};
                               },
                               [&](TaskContext &) -> QCoro::Task<TaskResult> {
                                   finalizeCalls++;
                                   co_return TaskResult{};
                               }));
    });
    const TaskId parent = h.submit(spec("parent"));
    QTRY_COMPARE(probe->started.load(), 2);
    TaskSpec bad = spec("bad");
    bad.parentId = parent;
    const TaskId badId = h.submit(bad);
    QTRY_VERIFY(h.historyOf(parent).has_value());
    QCOMPARE(h.historyOf(badId)->status, HistoryStatus::Failed);
    QCOMPARE(h.historyOf(badId)->error, QStringLiteral("disk on fire"));
    const auto parentRow = *h.historyOf(parent);
    QCOMPARE(parentRow.status, HistoryStatus::Failed);
    QVERIFY2(parentRow.error.contains("disk on fire"), qPrintable(parentRow.error));
    int cancelledSiblings = 0;
    for (const auto &row : h.history())
        cancelledSiblings += row.type == "sibling" && row.status == HistoryStatus::Cancelled;
    QCOMPARE(cancelledSiblings, 2);
    QCOMPARE(probe->tokenSeen.load(), 2);
    QCOMPARE(finalizeCalls.load(), 0);
}

void TestSchedulerCore::tolerantParentFinalizesDespiteFailedChild()
{
    Harness h;
    std::atomic<int> finalizeCalls{0};
    h.start([&](Scheduler &s) {
        s.registerExecutor("ok", noopExecutor());
        s.registerExecutor(
            "bad", std::make_shared<FunctionExecutor>([](TaskContext &) -> QCoro::Task<TaskResult> {
                co_return std::unexpected(TaskError::permanent("unreadable file"));
            }));
        s.registerExecutor("parent", std::make_shared<FunctionExecutor>(
                                         [](TaskContext &ctx) -> QCoro::Task<TaskResult> {
                                             (void)ctx.spawnBatch(
                                                 listOf(spec("ok"), spec("bad"), spec("ok")));
                                             co_return TaskResult{};
                                         },
                                         [&](TaskContext &) -> QCoro::Task<TaskResult> {
                                             finalizeCalls++;
                                             co_return TaskResult{};
                                         }));
    });
    TaskSpec parent = spec("parent");
    parent.childPolicy = ChildPolicy::TolerateFailed;
    const TaskId id = h.submit(parent);
    QTRY_VERIFY(h.historyOf(id).has_value());
    const auto row = *h.historyOf(id);
    QCOMPARE(row.status, HistoryStatus::Completed);
    QCOMPARE(finalizeCalls.load(), 1);
    QVERIFY2(row.note.contains("1 children failed"), qPrintable(row.note));
}

void TestSchedulerCore::retryableErrorIsRetriedThenFails()
{
    Harness h;
    std::atomic<int> calls{0};
    h.start([&](Scheduler &s) {
        ExecutorOptions options;
        options.retry = {3, RetryPolicy::Backoff::Constant, 10, 10, 0.0};
        s.registerExecutor(
            "flaky",
            std::make_shared<FunctionExecutor>([&](TaskContext &ctx) -> QCoro::Task<TaskResult> {
                calls++;
                if (ctx.attempt() < 1)
                    co_return std::unexpected(TaskError::retryable("503 slow down"));
                co_return TaskResult{};
            }),
            options);
        s.registerExecutor(
            "down",
            std::make_shared<FunctionExecutor>([&](TaskContext &) -> QCoro::Task<TaskResult> {
                co_return std::unexpected(TaskError::retryable("connection refused"));
            }),
            options);
    });
    const TaskId flaky = h.submit(spec("flaky"));
    const TaskId down = h.submit(spec("down"));
    QTRY_VERIFY(h.historyOf(flaky).has_value() && h.historyOf(down).has_value());
    QCOMPARE(h.historyOf(flaky)->status, HistoryStatus::Completed);
    QCOMPARE(h.historyOf(flaky)->attempts, 1);
    QCOMPARE(calls.load(), 2);
    QCOMPARE(h.historyOf(down)->status, HistoryStatus::Failed);
    QCOMPARE(h.historyOf(down)->attempts,
             2); // 3 attempts: 2 retryable failures recorded, then failed
    QCOMPARE(h.historyOf(down)->error, QStringLiteral("connection refused"));
}

void TestSchedulerCore::retriesAtDifferentTimesAllWake()
{
    // Regression: a due retry still waiting to be dispatched hid the next retry time, so
    // the later one was never woken.
    Harness h(2);
    auto flaky = [](int delayMs) {
        ExecutorOptions options;
        options.retry = {2, RetryPolicy::Backoff::Constant, delayMs, delayMs, 0.0};
        auto executor =
            std::make_shared<FunctionExecutor>([](TaskContext &ctx) -> QCoro::Task<TaskResult> {
                if (ctx.attempt() == 0)
                    co_return std::unexpected(TaskError::retryable("503 slow down"));
                co_return TaskResult{};
            });
        return std::make_pair(executor, options);
    };
    h.start([&](Scheduler &s) {
        const auto [soon, soonOptions] = flaky(50);
        const auto [later, laterOptions] = flaky(250);
        s.registerExecutor("soon", soon, soonOptions);
        s.registerExecutor("later", later, laterOptions);
    });
    const TaskId soon = h.submit(spec("soon"));
    const TaskId later = h.submit(spec("later"));
    QTRY_VERIFY(h.historyOf(soon).has_value() && h.historyOf(later).has_value());
    QCOMPARE(h.historyOf(soon)->status, HistoryStatus::Completed);
    QCOMPARE(h.historyOf(later)->status, HistoryStatus::Completed);
    QCOMPARE(h.historyOf(later)->attempts, 1);
}

void TestSchedulerCore::permanentErrorFailsAtOnce()
{
    Harness h;
    std::atomic<int> calls{0};
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor(
            "bad",
            std::make_shared<FunctionExecutor>([&](TaskContext &) -> QCoro::Task<TaskResult> {
                calls++;
                co_return std::unexpected(TaskError::permanent("access denied"));
            }));
    });
    QSignalSpy failed(&s, &Scheduler::taskFailed);
    const TaskId id = h.submit(spec("bad"));
    QTRY_COMPARE(failed.count(), 1);
    QCOMPARE(failed.first().at(1).toString(), QStringLiteral("access denied"));
    QTRY_VERIFY(h.historyOf(id).has_value());
    QCOMPARE(h.historyOf(id)->status, HistoryStatus::Failed);
    QCOMPARE(calls.load(), 1);
}

void TestSchedulerCore::stateIsPersistedAndSeenOnRetry()
{
    Harness h;
    QString seenOnRetry;
    QMutex mutex;
    h.start([&](Scheduler &s) {
        ExecutorOptions options;
        options.retry = {2, RetryPolicy::Backoff::Constant, 1, 1, 0.0};
        s.registerExecutor(
            "stateful",
            std::make_shared<FunctionExecutor>([&](TaskContext &ctx) -> QCoro::Task<TaskResult> {
                if (ctx.attempt() == 0) {
                    auto written = ctx.state().set("upload_id", "abc-123");
                    if (!written)
                        co_return std::unexpected(TaskError::permanent(written.error().message));
                    co_return std::unexpected(TaskError::retryable("try again"));
                }
                QMutexLocker lock(&mutex);
                seenOnRetry = ctx.state().value("upload_id");
                co_return TaskResult{};
            }),
            options);
    });
    const TaskId id = h.submit(spec("stateful"));
    QTRY_VERIFY(h.historyOf(id).has_value());
    QMutexLocker lock(&mutex);
    QCOMPARE(seenOnRetry, QStringLiteral("abc-123"));
}

void TestSchedulerCore::progressAndBatchedEvents()
{
    Harness h;
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor("reporter", std::make_shared<FunctionExecutor>(
                                           [probe](TaskContext &ctx) -> QCoro::Task<TaskResult> {
                                               ctx.reportProgress(50, 100);
                                               co_await untilCancelled(probe->gate.token());
                                               ctx.reportProgress(100, 100);
                                               co_return TaskResult{};
                                           }));
    });
    QSignalSpy progress(&s, &Scheduler::taskProgress);
    QSignalSpy batches(&s, &Scheduler::eventsBatch);
    const TaskId id = h.submit(spec("reporter"));
    QTRY_VERIFY(!progress.isEmpty());
    QCOMPARE(progress.last().at(0).value<TaskId>(), id);
    QCOMPARE(progress.last().at(1).toLongLong(), 50);
    QCOMPARE(progress.last().at(2).toLongLong(), 100);
    probe->gate.cancel();
    QTRY_VERIFY(h.historyOf(id).has_value());
    QCOMPARE(h.historyOf(id)->bytes, 100);
    QList<TaskEvent::Kind> kinds;
    QTRY_VERIFY([&] {
        kinds.clear();
        for (const auto &batch : batches) {
            for (const auto &e : batch.first().value<TaskEvents>()) {
                if (e.id == id)
                    kinds << e.kind;
            }
        }
        return kinds.contains(TaskEvent::Kind::Completed);
    }());
    QCOMPARE(kinds.first(), TaskEvent::Kind::Submitted);
    QVERIFY(kinds.contains(TaskEvent::Kind::Started));
    QVERIFY(kinds.contains(TaskEvent::Kind::Progress));
}

void TestSchedulerCore::pausedGroupHoldsTasks()
{
    Harness h;
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("noop", noopExecutor(probe)); });
    FERRY_OK(await(s.pauseGroup("held")));
    const TaskId held = h.submit(spec("noop", "held"));
    const TaskId free = h.submit(spec("noop", "free"));
    QTRY_VERIFY(h.historyOf(free).has_value());
    QCOMPARE(FERRY_OK(await(s.task(held)))->status, TaskStatus::Paused);
    // The pause is persisted: it survives a restart.
    h.stop();
    h.start([&](Scheduler &s) { s.registerExecutor("noop", noopExecutor(probe)); });
    QCOMPARE(await(h.scheduler->pausedGroups()), QStringList{"held"});
    QCOMPARE(FERRY_OK(await(h.scheduler->task(held)))->status, TaskStatus::Paused);
    FERRY_OK(await(h.scheduler->resumeGroup("held")));
    QTRY_VERIFY(h.historyOf(held).has_value());
    QCOMPARE(h.historyOf(held)->status, HistoryStatus::Completed);
    QCOMPARE(h.historyOf(held)->reason, QString());
}

void TestSchedulerCore::historyQueriesFilter()
{
    Harness h;
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor("noop", noopExecutor());
        s.registerExecutor(
            "bad", std::make_shared<FunctionExecutor>([](TaskContext &) -> QCoro::Task<TaskResult> {
                co_return std::unexpected(TaskError::permanent("no"));
            }));
    });
    h.submit(spec("noop", "s3://a", "profile:one:file:1"));
    h.submit(spec("noop", "s3://b", "profile:two:file:1"));
    h.submit(spec("bad", "s3://a", "profile:one:file:2"));
    QTRY_COMPARE(h.history().size(), 3);
    HistoryQuery byGroup;
    byGroup.group = "s3://a";
    QCOMPARE(h.history(byGroup).size(), 2);
    HistoryQuery byPrefix;
    byPrefix.dedupKeyPrefix = "profile:one:";
    QCOMPARE(h.history(byPrefix).size(), 2);
    HistoryQuery byStatus;
    byStatus.status = HistoryStatus::Failed;
    QCOMPARE(h.history(byStatus).size(), 1);
    HistoryQuery byType;
    byType.type = "noop";
    QCOMPARE(h.history(byType).size(), 2);
    HistoryQuery limited;
    limited.limit = 1;
    QCOMPARE(FERRY_OK(await(s.history(limited))).size(), 1);
    HistoryQuery future;
    future.finishedAfter = QDateTime::currentDateTime().addSecs(60);
    QCOMPARE(h.history(future).size(), 0);
}

void TestSchedulerCore::historyRetentionKeepsTheNewest()
{
    Harness h;
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("noop", noopExecutor()); });
    FERRY_OK(await(s.submitBatch(QList<TaskSpec>(10, spec("noop")))));
    QTRY_COMPARE(h.history().size(), 10);
    QList<qint64> newest; // history() answers newest first
    for (const auto &row : h.history().mid(0, 4))
        newest << row.id;
    h.stop();
    h.options.historyRetention = 4;
    h.start([&](Scheduler &s) { s.registerExecutor("noop", noopExecutor()); });
    QList<qint64> kept;
    for (const auto &row : h.history())
        kept << row.id;
    QCOMPARE(kept, newest);
}

QTEST_GUILESS_MAIN(TestSchedulerCore)
#include "tst_scheduler_core.moc"
