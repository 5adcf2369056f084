// Executors registered with RunOn::SharedLoop: many runs on a few event-loop threads, with
// the same cancellation contract as runs on their own threads.
#include "SchedulerTestSupport.h"

#include <QThread>

using namespace ferry;
using namespace ferry::test;

namespace {

ExecutorOptions onSharedLoop()
{
    ExecutorOptions options;
    options.runOn = RunOn::SharedLoop;
    return options;
}

/// Which threads a test's runs took place on, and how many token callbacks ran.
struct ThreadLog {
    QMutex mutex;
    QSet<QThread *> threads;
    std::atomic<int> callbacks{0};
    void note()
    {
        QMutexLocker lock(&mutex);
        threads.insert(QThread::currentThread());
    }
    QSet<QThread *> snapshot()
    {
        QMutexLocker lock(&mutex);
        return threads;
    }
};

/**
 * gateExecutor's behaviour, plus: notes its thread in execute and onCancel, counts its token
 * callbacks in the log, and in `custom` those that did not run on the executor's own thread.
 */
std::shared_ptr<TaskExecutor> loggedGateExecutor(std::shared_ptr<Probe> probe,
                                                 std::shared_ptr<ThreadLog> log)
{
    auto gate = gateExecutor(probe);
    auto execute = [gate, probe, log](TaskContext &ctx) -> QCoro::Task<TaskResult> {
        log->note();
        QObject receiver;
        QThread *const self = QThread::currentThread();
        auto registration = ctx.onCancelled(&receiver, [probe, log, self] {
            log->callbacks++;
            if (QThread::currentThread() != self)
                probe->custom++;
        });
        co_return co_await gate->execute(ctx);
    };
    auto hook = [gate, log](TaskContext &ctx) -> QCoro::Task<TaskResult> {
        log->note();
        co_return co_await gate->onCancel(ctx);
    };
    return std::make_shared<FunctionExecutor>(execute, FunctionExecutor::Step{}, hook);
}

HistoryQuery completedOnly()
{
    HistoryQuery query;
    query.status = HistoryStatus::Completed;
    return query;
}

int runningCount(Probe &probe)
{
    QMutexLocker lock(&probe.mutex);
    return static_cast<int>(probe.running.size());
}

} // namespace

class TestSchedulerSharedLoops : public QObject {
    Q_OBJECT
private slots:
    void manyRunningTasksShareFewThreads();
    void cancelReachesEveryRunOnItsThreadAndRunsHooks();
    void hookTimeoutLeavesTheLoopServingOthers();
    void ownThreadAndSharedLoopTypesRunSideBySide();
    void zeroSharedLoopsIsRefused();
};

void TestSchedulerSharedLoops::manyRunningTasksShareFewThreads()
{
    const int tasks = 300;
    Harness h(tasks);
    h.options.sharedLoops = 2;
    auto probe = std::make_shared<Probe>();
    auto log = std::make_shared<ThreadLog>();
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor("gate", loggedGateExecutor(probe, log), onSharedLoop());
    });
    QList<TaskSpec> batch(tasks, spec("gate"));
    FERRY_OK(await(s.submitBatch(batch)));
    // All 300 wait on the gate at the same time: each run awaits, none holds its thread.
    QTRY_COMPARE(runningCount(*probe), tasks);
    const QSet<QThread *> threads = log->snapshot();
    QCOMPARE(threads.size(), 2);
    QVERIFY(!threads.contains(QThread::currentThread()));
    probe->gate.cancel();
    QTRY_COMPARE(h.history().size(), tasks);
    for (const auto &row : h.history())
        QCOMPARE(row.status, HistoryStatus::Completed);
    QCOMPARE(probe->finished.load(), tasks);
}

void TestSchedulerSharedLoops::cancelReachesEveryRunOnItsThreadAndRunsHooks()
{
    Harness h(250);
    h.options.sharedLoops = 2;
    auto probe = std::make_shared<Probe>();
    auto log = std::make_shared<ThreadLog>();
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor("gate", loggedGateExecutor(probe, log), onSharedLoop());
    });
    FERRY_OK(await(s.submitBatch(QList<TaskSpec>(200, spec("gate", "doomed")))));
    FERRY_OK(await(s.submitBatch(QList<TaskSpec>(50, spec("gate", "kept")))));
    QTRY_COMPARE(runningCount(*probe), 250);

    const auto cancelled = FERRY_OK(await(s.cancelGroup("doomed")));
    QCOMPARE(cancelled.size(), 200);
    QTRY_COMPARE(probe->hooks.load(), 200);
    QTRY_COMPARE(h.history().size(), 200);
    for (const auto &row : h.history()) {
        QCOMPARE(row.status, HistoryStatus::Cancelled);
        QCOMPARE(row.cleanup, CleanupOutcome::Ok);
    }
    QCOMPARE(probe->tokenSeen.load(), 200);
    QCOMPARE(log->callbacks.load(), 200); // each cancelled run's callback ran once
    QCOMPARE(probe->custom.load(), 0);    // and on its executor's own thread
    QCOMPARE(runningCount(*probe), 50);   // the other group was not touched
    QCOMPARE(log->snapshot().size(), 2);  // the hooks ran on the same two loops

    probe->gate.cancel();
    QTRY_COMPARE(h.history().size(), 250);
    QCOMPARE(h.history(completedOnly()).size(), 50);
}

void TestSchedulerSharedLoops::hookTimeoutLeavesTheLoopServingOthers()
{
    Harness h(8);
    h.options.sharedLoops = 1;
    auto probe = std::make_shared<Probe>();
    auto hangingHook = hangingHookExecutor(probe);
    auto &s = h.start([&](Scheduler &s) {
        ExecutorOptions options = onSharedLoop();
        options.hookTimeoutMs = 300;
        s.registerExecutor("slow-cleanup", hangingHook, options);
        s.registerExecutor("noop", noopExecutor(), onSharedLoop());
    });
    const TaskId stuck = h.submit(spec("slow-cleanup"));
    QTRY_COMPARE(probe->started.load(), 1); // the executor runs (not only dispatched)
    FERRY_OK(await(s.cancel(stuck)));
    QTRY_COMPARE(probe->hooks.load(), 1);
    // While the hook waits on the only loop, other runs there still start and finish.
    const TaskId other = h.submit(spec("noop"));
    QTRY_VERIFY(h.historyOf(other).has_value());
    QCOMPARE(h.historyOf(other)->status, HistoryStatus::Completed);
    QTRY_VERIFY(h.historyOf(stuck).has_value());
    QCOMPARE(h.historyOf(stuck)->status, HistoryStatus::Cancelled);
    QCOMPARE(h.historyOf(stuck)->cleanup, CleanupOutcome::TimedOut);
}

void TestSchedulerSharedLoops::ownThreadAndSharedLoopTypesRunSideBySide()
{
    Harness h(40);
    h.options.sharedLoops = 1;
    auto sharedProbe = std::make_shared<Probe>();
    auto ownProbe = std::make_shared<Probe>();
    auto sharedLog = std::make_shared<ThreadLog>();
    auto ownLog = std::make_shared<ThreadLog>();
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor("shared", loggedGateExecutor(sharedProbe, sharedLog), onSharedLoop());
        s.registerExecutor("own", loggedGateExecutor(ownProbe, ownLog));
    });
    FERRY_OK(await(s.submitBatch(QList<TaskSpec>(20, spec("shared")))));
    FERRY_OK(await(s.submitBatch(QList<TaskSpec>(20, spec("own")))));
    QTRY_COMPARE(runningCount(*sharedProbe), 20);
    QTRY_COMPARE(runningCount(*ownProbe), 20);
    QCOMPARE(sharedLog->snapshot().size(), 1);
    QCOMPARE(ownLog->snapshot().size(), 20); // one pool thread per running task
    QVERIFY(!ownLog->snapshot().intersects(sharedLog->snapshot()));
    sharedProbe->gate.cancel();
    ownProbe->gate.cancel();
    QTRY_COMPARE(h.history().size(), 40);
    QCOMPARE(h.history(completedOnly()).size(), 40);
}

void TestSchedulerSharedLoops::zeroSharedLoopsIsRefused()
{
    QTemporaryDir dir;
    SchedulerOptions options;
    options.databasePath = dir.filePath("ferry.sqlite");
    options.sharedLoops = 0;
    Scheduler scheduler(options);
    const auto opened = await(scheduler.open());
    QVERIFY(!opened);
    QCOMPARE(opened.error().code, SchedulerError::Code::InvalidArgument);
    QVERIFY2(opened.error().message.contains("sharedLoops"), qPrintable(opened.error().message));
}

QTEST_GUILESS_MAIN(TestSchedulerSharedLoops)
#include "tst_scheduler_sharedloops.moc"
