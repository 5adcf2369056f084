// Scoped, atomic, durable cancellation: the contract's points one by one.
#include "SchedulerTestSupport.h"

#include <QJsonObject>
#include <QSignalSpy>
#include <QtConcurrent/QtConcurrentRun>

using namespace ferry;
using namespace ferry::test;

namespace {

/// A chain `depth` levels deep: inner levels spawn one child and wait; the leaf runs until
/// the gate opens or its token fires. Every level writes state, so every level has a hook.
std::shared_ptr<TaskExecutor> chainExecutor(std::shared_ptr<Probe> probe)
{
    auto leaf = gateExecutor(probe);
    auto execute = [probe, leaf](TaskContext &ctx) -> QCoro::Task<TaskResult> {
        const int depth = ctx.payload().value("depth").toInt();
        if (depth == 0)
            co_return co_await leaf->execute(ctx);
        (void)ctx.state().set("level", QString::number(depth));
        TaskSpec child = spec("chain");
        child.payload = QJsonObject{{"depth", depth - 1}};
        auto spawned = ctx.spawn(child);
        if (!spawned)
            co_return std::unexpected(TaskError::permanent(spawned.error().message));
        probe->started++;
        co_return TaskResult{};
    };
    auto finalize = [probe](TaskContext &) -> QCoro::Task<TaskResult> {
        probe->finalized++;
        co_return TaskResult{};
    };
    auto hook = [leaf](TaskContext &ctx) -> QCoro::Task<TaskResult> { return leaf->onCancel(ctx); };
    return std::make_shared<FunctionExecutor>(execute, finalize, hook);
}

/// A parent that spawns `children` gate tasks and waits for them.
std::shared_ptr<TaskExecutor> parentExecutor(std::shared_ptr<Probe> probe, int children)
{
    return std::make_shared<FunctionExecutor>(
        [children](TaskContext &ctx) -> QCoro::Task<TaskResult> {
            auto spawned = ctx.spawnBatch(QList<TaskSpec>(children, spec("gate")));
            if (!spawned)
                co_return std::unexpected(TaskError::permanent(spawned.error().message));
            co_return TaskResult{};
        },
        [probe](TaskContext &) -> QCoro::Task<TaskResult> {
            probe->custom++;
            co_return TaskResult{};
        });
}

int rowsFor(Harness &h, TaskId id)
{
    int rows = 0;
    for (const auto &row : h.history())
        rows += row.taskId == id;
    return rows;
}

} // namespace

class TestSchedulerCancel : public QObject {
    Q_OBJECT

private slots:
    void cancelPendingRecordsHistoryWithoutHook();
    void cancelRunningFiresTokenThenHook();
    void tokenCallbackRunsOnTheExecutorThread();
    void executorIgnoringTokenNeverCompletes();
    void cascadeThreeLevelsDeepChildrenHooksFirst();
    void cancelledChildCancelsParentWithoutFinalize();
    void tolerantParentContinuesAndNotesIt();
    void hookTimeoutDoesNotBlockTheCancelCall();
    void retryableHookIsRetriedWhileCancelling();
    void hookThatKeepsFailingIsRecordedFailed();
    void hooksRunWithBoundedConcurrency();
    void cancelGroupLeavesOtherGroupsRunning();
    void cancelTypeAndWhere();
    void largeGroupCancelledAtomically();
    void oneBatchSignalPerCall();
    void racingCallsAreWellDefined();
    void cancelDuringSubmitBatch();
    void pauseIsNotCancel();
    void historyFiltersByReasonAndCleanup();
};

void TestSchedulerCancel::cancelPendingRecordsHistoryWithoutHook()
{
    Harness h(1);
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("gate", gateExecutor(probe)); });
    const TaskId running = h.submit(spec("gate"));
    QTRY_COMPARE(probe->started.load(), 1);
    const TaskId pending = h.submit(spec("gate"));
    const auto result = FERRY_OK(await(s.cancel(pending)));
    QCOMPARE(result.ids(), QList<TaskId>{pending});
    QCOMPARE(result.tasks.first().reason, CancelReason::User);
    const auto row = h.historyOf(pending);
    QVERIFY(row); // recorded by the time the call returns
    QCOMPARE(row->status, HistoryStatus::Cancelled);
    QCOMPARE(row->reason, CancelReason::User);
    QCOMPARE(row->cleanup, CleanupOutcome::None);
    probe->gate.cancel();
    QTRY_VERIFY(h.historyOf(running).has_value());
    QCOMPARE(probe->started.load(), 1); // the cancelled one never ran
    QCOMPARE(probe->hooks.load(), 0);
}

void TestSchedulerCancel::cancelRunningFiresTokenThenHook()
{
    Harness h;
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("gate", gateExecutor(probe)); });
    QSignalSpy cancelled(&s, &Scheduler::taskCancelled);
    const TaskId id = h.submit(spec("gate"));
    QTRY_COMPARE(probe->started.load(), 1);
    QTRY_VERIFY(!FERRY_OK(await(s.taskState(id))).isEmpty());
    const auto result = FERRY_OK(await(s.cancel(id)));
    QCOMPARE(result.size(), 1);
    QTRY_COMPARE(cancelled.count(), 1);
    QCOMPARE(probe->tokenSeen.load(), 1);
    QCOMPARE(probe->hooks.load(), 1);
    const auto row = *h.historyOf(id);
    QCOMPARE(row.status, HistoryStatus::Cancelled);
    QCOMPARE(row.cleanup, CleanupOutcome::Ok);
    QMutexLocker lock(&probe->mutex);
    QCOMPARE(probe->hookState.value(id).value("started"), QStringLiteral("yes"));
}

void TestSchedulerCancel::tokenCallbackRunsOnTheExecutorThread()
{
    Harness h;
    std::atomic<bool> sameThread{false};
    std::atomic<bool> called{false};
    std::atomic<bool> registered{false};
    auto executor =
        std::make_shared<FunctionExecutor>([&](TaskContext &ctx) -> QCoro::Task<TaskResult> {
            QObject receiver; // lives on this worker thread, like a QNetworkReply would
            QThread *const self = QThread::currentThread();
            auto registration = ctx.onCancelled(&receiver, [&, self] {
                sameThread = QThread::currentThread() == self;
                called = true;
            });
            registered = true;
            co_await untilCancelled(ctx.token());
            // Let the queued callback run before this frame (and the receiver) goes away.
            while (!called.load())
                QCoreApplication::processEvents();
            co_return ctx.checkCancelled();
        });
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("net", executor); });
    const TaskId id = h.submit(spec("net"));
    // Running in the database means dispatched; wait until the executor itself listens.
    QTRY_VERIFY(registered.load());
    FERRY_OK(await(s.cancel(id)));
    QTRY_VERIFY(h.historyOf(id).has_value());
    QVERIFY(called.load());
    QVERIFY(sameThread.load());
    QCOMPARE(h.historyOf(id)->status, HistoryStatus::Cancelled);
}

void TestSchedulerCancel::executorIgnoringTokenNeverCompletes()
{
    Harness h;
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor("gate", gateExecutor(probe, /*ignoreToken=*/true));
    });
    const TaskId id = h.submit(spec("gate"));
    QTRY_COMPARE(probe->started.load(), 1);
    FERRY_OK(await(s.cancel(id)));
    QTRY_VERIFY(h.historyOf(id).has_value());
    QCOMPARE(probe->tokenSeen.load(), 1); // it saw the token and returned success anyway
    QCOMPARE(h.historyOf(id)->status, HistoryStatus::Cancelled);
    QCOMPARE(rowsFor(h, id), 1);
}

void TestSchedulerCancel::cascadeThreeLevelsDeepChildrenHooksFirst()
{
    Harness h;
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("chain", chainExecutor(probe)); });
    TaskSpec root = spec("chain", "g");
    root.payload = QJsonObject{{"depth", 3}};
    const TaskId rootId = h.submit(root);
    // Three inner levels spawned, and the leaf runs.
    QTRY_COMPARE(probe->started.load(), 4);
    QTRY_COMPARE(FERRY_OK(await(s.activeTasks())).size(), 4);
    const auto active = FERRY_OK(await(s.activeTasks()));
    const auto result = FERRY_OK(await(s.cancel(rootId)));
    QCOMPARE(result.size(), 4);
    for (const auto &task : result.tasks)
        QCOMPARE(task.reason, task.id == rootId ? CancelReason::User : CancelReason::Parent);
    QTRY_VERIFY(h.historyOf(rootId).has_value());
    for (const auto &task : active) {
        const auto row = h.historyOf(task.id);
        QVERIFY(row);
        QCOMPARE(row->status, HistoryStatus::Cancelled);
        QCOMPARE(row->cleanup, CleanupOutcome::Ok);
    }
    // Leaf first, root last: parts stop before the upload is aborted.
    QList<TaskId> deepestFirst;
    for (auto it = active.crbegin(); it != active.crend(); ++it)
        deepestFirst << it->id;
    QCOMPARE(probe->snapshot(probe->hookOrder), deepestFirst);
    QCOMPARE(probe->finalized.load(), 0);
}

void TestSchedulerCancel::cancelledChildCancelsParentWithoutFinalize()
{
    Harness h;
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor("gate", gateExecutor(probe));
        s.registerExecutor("parent", parentExecutor(probe, 2));
    });
    const TaskId parent = h.submit(spec("parent"));
    QTRY_COMPARE(probe->started.load(), 2);
    const auto children = FERRY_OK(await(s.activeTasks()));
    TaskId child = 0;
    for (const auto &t : children)
        child = t.parentId == parent ? t.id : child;
    const auto result = FERRY_OK(await(s.cancel(child)));
    QCOMPARE(result.size(), 3); // the child, its parent (reason child), the sibling (reason parent)
    QHash<TaskId, QString> reasons;
    for (const auto &t : result.tasks)
        reasons.insert(t.id, t.reason);
    QCOMPARE(reasons.value(child), CancelReason::User);
    QCOMPARE(reasons.value(parent), CancelReason::Child);
    QTRY_VERIFY(h.historyOf(parent).has_value());
    QCOMPARE(h.historyOf(parent)->status, HistoryStatus::Cancelled);
    QCOMPARE(h.historyOf(parent)->reason, CancelReason::Child);
    probe->gate.cancel();
    QCOMPARE(probe->custom.load(), 0); // finalize never ran
    QCOMPARE(probe->tokenSeen.load(), 2);
}

void TestSchedulerCancel::tolerantParentContinuesAndNotesIt()
{
    Harness h;
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor("gate", gateExecutor(probe));
        s.registerExecutor("parent", parentExecutor(probe, 2));
    });
    TaskSpec tolerant = spec("parent");
    tolerant.childPolicy = ChildPolicy::TolerateCancelled;
    const TaskId parent = h.submit(tolerant);
    QTRY_COMPARE(probe->started.load(), 2);
    TaskId child = 0;
    for (const auto &t : FERRY_OK(await(s.activeTasks())))
        child = t.parentId == parent ? t.id : child;
    QCOMPARE(FERRY_OK(await(s.cancel(child))).size(), 1);
    probe->gate.cancel();
    QTRY_VERIFY(h.historyOf(parent).has_value());
    const auto row = *h.historyOf(parent);
    QCOMPARE(row.status, HistoryStatus::Completed);
    QVERIFY2(row.note.contains("1 children cancelled"), qPrintable(row.note));
    QCOMPARE(probe->custom.load(), 1);
}

void TestSchedulerCancel::hookTimeoutDoesNotBlockTheCancelCall()
{
    Harness h;
    auto probe = std::make_shared<Probe>();
    auto hangingHook = hangingHookExecutor(probe);
    auto &s = h.start([&](Scheduler &s) {
        ExecutorOptions options;
        options.hookTimeoutMs = 200;
        s.registerExecutor("slow-cleanup", hangingHook, options);
    });
    const TaskId id = h.submit(spec("slow-cleanup"));
    QTRY_COMPARE(probe->started.load(), 1); // the executor runs (not only dispatched)
    auto future = s.cancel(id);
    const auto result = FERRY_OK(await(future));
    QCOMPARE(result.size(), 1);
    // The call returned while the hook still runs (or has not even started).
    QVERIFY(!h.historyOf(id).has_value());
    QTRY_VERIFY(h.historyOf(id).has_value());
    QCOMPARE(h.historyOf(id)->cleanup, CleanupOutcome::TimedOut);
    QVERIFY(h.historyOf(id)->error.contains("200 ms"));
    QTRY_COMPARE(probe->custom.load(), 1); // the hook's own token told it to stop
}

void TestSchedulerCancel::retryableHookIsRetriedWhileCancelling()
{
    Harness h;
    std::atomic<int> hookCalls{0};
    auto executor = std::make_shared<FunctionExecutor>(
        [](TaskContext &ctx) -> QCoro::Task<TaskResult> {
            (void)ctx.state().set("upload_id", "u1");
            co_await untilCancelled(ctx.token());
            co_return ctx.checkCancelled();
        },
        FunctionExecutor::Step{},
        [&](TaskContext &) -> QCoro::Task<TaskResult> {
            if (++hookCalls < 3)
                co_return std::unexpected(TaskError::retryable("endpoint offline"));
            co_return TaskResult{};
        });
    auto &s = h.start([&](Scheduler &s) {
        ExecutorOptions options;
        options.hookRetry = {5, RetryPolicy::Backoff::Constant, 150, 150, 0.0};
        s.registerExecutor("upload", executor, options);
    });
    const TaskId id = h.submit(spec("upload"));
    QTRY_VERIFY(!FERRY_OK(await(s.taskState(id))).isEmpty());
    FERRY_OK(await(s.cancel(id)));
    QTRY_COMPARE(hookCalls.load(), 1);
    // Between attempts it stays visible as cancelling.
    const auto during = FERRY_OK(await(s.task(id)));
    QVERIFY(during);
    QCOMPARE(during->status, TaskStatus::Cancelling);
    QTRY_VERIFY(h.historyOf(id).has_value());
    QCOMPARE(hookCalls.load(), 3);
    QCOMPARE(h.historyOf(id)->cleanup, CleanupOutcome::Ok);
}

void TestSchedulerCancel::hookThatKeepsFailingIsRecordedFailed()
{
    Harness h;
    std::atomic<bool> began{false};
    auto executor = std::make_shared<FunctionExecutor>(
        [&](TaskContext &ctx) -> QCoro::Task<TaskResult> {
            began = true;
            co_await untilCancelled(ctx.token());
            co_return ctx.checkCancelled();
        },
        FunctionExecutor::Step{},
        [](TaskContext &) -> QCoro::Task<TaskResult> {
            co_return std::unexpected(TaskError::retryable("still offline"));
        });
    auto &s = h.start([&](Scheduler &s) {
        ExecutorOptions options;
        options.hookRetry = {3, RetryPolicy::Backoff::Constant, 10, 10, 0.0};
        s.registerExecutor("upload", executor, options);
    });
    const TaskId id = h.submit(spec("upload"));
    QTRY_VERIFY(began.load()); // the executor runs (not only dispatched)
    FERRY_OK(await(s.cancel(id)));
    QTRY_VERIFY(h.historyOf(id).has_value());
    QCOMPARE(h.historyOf(id)->status, HistoryStatus::Cancelled);
    QCOMPARE(h.historyOf(id)->cleanup, CleanupOutcome::Failed);
    QCOMPARE(h.historyOf(id)->error, QStringLiteral("still offline"));
}

void TestSchedulerCancel::cancelGroupLeavesOtherGroupsRunning()
{
    Harness h(8);
    auto doomed = std::make_shared<Probe>();
    auto kept = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor("a", gateExecutor(doomed));
        s.registerExecutor("b", gateExecutor(kept));
    });
    FERRY_OK(await(s.submitBatch(QList<TaskSpec>(3, spec("a", "s3://play.min.io")))));
    FERRY_OK(await(s.submitBatch(QList<TaskSpec>(3, spec("b", "s3://other.example")))));
    QTRY_COMPARE(doomed->started.load() + kept->started.load(), 6);
    const auto result = FERRY_OK(await(s.cancelGroup("s3://play.min.io", CancelReason::Offline)));
    QCOMPARE(result.size(), 3);
    QTRY_COMPARE(doomed->tokenSeen.load(), 3);
    QCOMPARE(kept->tokenSeen.load(), 0);
    kept->gate.cancel();
    QTRY_COMPARE(h.history().size(), 6);
    for (const auto &row : h.history()) {
        QCOMPARE(row.status, row.group == "s3://play.min.io" ? HistoryStatus::Cancelled
                                                             : HistoryStatus::Completed);
        if (row.status == HistoryStatus::Cancelled)
            QCOMPARE(row.reason, CancelReason::Offline);
    }
}

void TestSchedulerCancel::cancelTypeAndWhere()
{
    Harness h(1);
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor("gate", gateExecutor(probe));
        s.registerExecutor("upload-part", noopExecutor());
        s.registerExecutor("upload-object", noopExecutor());
    });
    h.submit(spec("gate"));
    QTRY_COMPARE(probe->started.load(), 1);
    const TaskId part = h.submit(spec("upload-part", "g", "profile:dr-backup:part:1"));
    const TaskId object = h.submit(spec("upload-object", "g", "profile:dr-backup:obj:1"));
    const TaskId other = h.submit(spec("upload-object", "g", "profile:photos:obj:1"));
    const auto byType = FERRY_OK(await(s.cancelType("upload-part")));
    QCOMPARE(byType.ids(), QList<TaskId>{part});
    QCOMPARE(byType.tasks.first().reason, CancelReason::Type);
    const auto byPrefix = FERRY_OK(await(s.cancelWhere(
        [](const TaskRecord &task) { return task.dedupKey.startsWith("profile:dr-backup"); })));
    QCOMPARE(byPrefix.ids(), QList<TaskId>{object});
    QCOMPARE(h.historyOf(object)->reason, CancelReason::Predicate);
    probe->gate.cancel();
    QTRY_VERIFY(h.historyOf(other).has_value());
    QCOMPARE(h.historyOf(other)->status, HistoryStatus::Completed);
}

void TestSchedulerCancel::largeGroupCancelledAtomically()
{
    Harness h(1);
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor("gate", gateExecutor(probe));
        s.registerExecutor("noop", noopExecutor(probe));
    });
    h.submit(spec("gate", "other"));
    QTRY_COMPARE(probe->started.load(), 1);
    FERRY_OK(await(s.submitBatch(QList<TaskSpec>(20'000, spec("noop", "big")))));
    const auto result = FERRY_OK(await(s.cancelGroup("big")));
    QCOMPARE(result.size(), 20'000);
    probe->gate.cancel();
    QTRY_COMPARE(probe->finished.load(), 1);
    HistoryQuery cancelled;
    cancelled.status = HistoryStatus::Cancelled;
    QCOMPARE(h.history(cancelled).size(), 20'000);
    QCOMPARE(probe->started.load(), 1); // none of the set was dispatched
    QTRY_COMPARE(FERRY_OK(await(s.activeTasks())).size(), 0);
}

void TestSchedulerCancel::oneBatchSignalPerCall()
{
    Harness h(1);
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("gate", gateExecutor(probe)); });
    h.submit(spec("gate", "keep"));
    QTRY_COMPARE(probe->started.load(), 1);
    FERRY_OK(await(s.submitBatch(QList<TaskSpec>(5, spec("gate", "g")))));
    QSignalSpy batch(&s, &Scheduler::cancelledBatch);
    QSignalSpy each(&s, &Scheduler::taskCancelled);
    const auto result = FERRY_OK(await(s.cancelGroup("g", "offline")));
    QTRY_COMPARE(batch.count(), 1);
    QCOMPARE(batch.first().at(0).value<QList<TaskId>>(), result.ids());
    QCOMPARE(batch.first().at(1).toString(), QStringLiteral("offline"));
    QTRY_COMPARE(each.count(), 5);
    probe->gate.cancel();
}

void TestSchedulerCancel::racingCallsAreWellDefined()
{
    Harness h(4);
    auto probe = std::make_shared<Probe>();
    auto gates = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor("noop", noopExecutor(probe));
        s.registerExecutor("gate", gateExecutor(gates));
    });
    // Cancel while tasks complete: each ends exactly once, completed or cancelled.
    const auto submitted =
        FERRY_OK(await(s.submitBatch(QList<TaskSpec>(2000, spec("noop", "race")))));
    QTRY_VERIFY(probe->finished.load() > 0);
    const auto result = FERRY_OK(await(s.cancelGroup("race")));
    QTRY_COMPARE(h.history().size(), 2000);
    QSet<TaskId> seen;
    int cancelledRows = 0;
    for (const auto &row : h.history()) {
        QVERIFY(!seen.contains(row.taskId));
        seen.insert(row.taskId);
        cancelledRows += row.status == HistoryStatus::Cancelled;
    }
    QCOMPARE(cancelledRows, result.size());
    QCOMPARE(seen.size(), submitted.size());

    // Two overlapping cancels: the second sees only what the first left.
    const auto groupTasks =
        FERRY_OK(await(s.submitBatch(QList<TaskSpec>(3, spec("gate", "overlap")))));
    QTRY_COMPARE(gates->started.load(), 3);
    auto first = s.cancelGroup("overlap");
    auto second = s.cancel(groupTasks[0].id);
    QCOMPARE(FERRY_OK(await(first)).size() + FERRY_OK(await(second)).size(), 3);
    for (const auto &t : groupTasks)
        QTRY_COMPARE(rowsFor(h, t.id), 1);

    // Unknown id: an empty result, not an error.
    QCOMPARE(FERRY_OK(await(s.cancel(987654))).size(), 0);
}

void TestSchedulerCancel::cancelDuringSubmitBatch()
{
    Harness h(2);
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("gate", gateExecutor(probe)); });
    // Submit and cancel from two threads at once: the calls serialize, nothing is lost.
    auto submitting = QtConcurrent::run(
        [&] { return await(s.submitBatch(QList<TaskSpec>(3000, spec("gate", "g")))); });
    auto cancelling = QtConcurrent::run([&] { return await(s.cancelGroup("g")); });
    const auto submitted = FERRY_OK(submitting.result());
    const auto cancelled = FERRY_OK(cancelling.result());
    QVERIFY(cancelled.size() == 0 || cancelled.size() == 3000);
    probe->gate.cancel();
    QTRY_COMPARE(h.history().size(), 3000);
    QSet<TaskId> ids;
    for (const auto &row : h.history())
        ids.insert(row.taskId);
    QCOMPARE(ids.size(), submitted.size());
}

void TestSchedulerCancel::pauseIsNotCancel()
{
    Harness h(1);
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("gate", gateExecutor(probe)); });
    const TaskId running = h.submit(spec("gate", "g"));
    QTRY_COMPARE(probe->started.load(), 1);
    const TaskId pending = h.submit(spec("gate", "g"));
    FERRY_OK(await(s.pauseGroup("g")));
    QCOMPARE(FERRY_OK(await(s.task(pending)))->status, TaskStatus::Paused);
    QCOMPARE(probe->tokenSeen.load(), 0); // the running one is left alone
    probe->gate.cancel();
    QTRY_VERIFY(h.historyOf(running).has_value());
    QCOMPARE(FERRY_OK(await(s.task(pending)))->status, TaskStatus::Paused);
    FERRY_OK(await(s.resumeGroup("g")));
    QTRY_VERIFY(h.historyOf(pending).has_value());
    QCOMPARE(h.historyOf(pending)->status, HistoryStatus::Completed);
    QCOMPARE(probe->hooks.load(), 0);
}

void TestSchedulerCancel::historyFiltersByReasonAndCleanup()
{
    Harness h;
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("gate", gateExecutor(probe)); });
    const TaskId started = h.submit(spec("gate", "g"));
    QTRY_COMPARE(probe->started.load(), 1);
    QTRY_VERIFY(!FERRY_OK(await(s.taskState(started))).isEmpty());
    FERRY_OK(await(s.pauseGroup("g")));
    h.submit(spec("gate", "g"));
    FERRY_OK(await(s.cancelGroup("g", CancelReason::Offline)));
    QTRY_COMPARE(h.history().size(), 2);
    HistoryQuery offline;
    offline.reason = CancelReason::Offline;
    QCOMPARE(h.history(offline).size(), 2);
    HistoryQuery cleaned;
    cleaned.cleanup = CleanupOutcome::Ok;
    QCOMPARE(h.history(cleaned).size(), 1);
    QCOMPARE(h.history(cleaned).first().taskId, started);
}

void TestSchedulerCancel::hooksRunWithBoundedConcurrency()
{
    Harness h(8);
    h.options.hookConcurrency = 2;
    auto probe = std::make_shared<Probe>();
    std::atomic<int> inHook{0};
    std::atomic<int> mostAtOnce{0};
    auto executor = std::make_shared<FunctionExecutor>(
        [probe](TaskContext &ctx) -> QCoro::Task<TaskResult> {
            probe->started++;
            co_await untilCancelled(ctx.token());
            co_return ctx.checkCancelled();
        },
        FunctionExecutor::Step{},
        [&, probe](TaskContext &) -> QCoro::Task<TaskResult> {
            const int now = ++inHook;
            for (int seen = mostAtOnce.load();
                 now > seen && !mostAtOnce.compare_exchange_weak(seen, now);)
                ;
            co_await untilCancelled(probe->gate.token()); // hold the slot until released
            --inHook;
            probe->hooks++;
            co_return TaskResult{};
        });
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("upload", executor); });
    FERRY_OK(await(s.submitBatch(QList<TaskSpec>(6, spec("upload", "g")))));
    QTRY_COMPARE(probe->started.load(), 6);
    QCOMPARE(FERRY_OK(await(s.cancelGroup("g"))).size(), 6);
    QTRY_COMPARE(inHook.load(), 2);
    probe->gate.cancel();
    QTRY_COMPARE(probe->hooks.load(), 6);
    QCOMPARE(mostAtOnce.load(), 2);
    QTRY_COMPARE(h.history().size(), 6);
}

QTEST_GUILESS_MAIN(TestSchedulerCancel)
#include "tst_scheduler_cancel.moc"
