#pragma once

// Shared pieces of the scheduler suites: a scheduler on a temporary database, blocking
// helpers for futures, and executors whose behaviour the test controls through a Probe.

#include "scheduler/CancellationAwait.h"
#include "scheduler/FunctionExecutor.h"
#include "scheduler/Scheduler.h"

#include <QFuture>
#include <QMutex>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <memory>

// Every QTRY_* wait is a condition wait that returns as soon as the condition holds; the
// ceiling is generous because the ThreadSanitizer build runs these suites several times slower.
namespace ferry::test {
inline constexpr int kWaitCeilingMs = 60'000;
}
#undef QTRY_VERIFY
#define QTRY_VERIFY(expr) QTRY_VERIFY_WITH_TIMEOUT(expr, ferry::test::kWaitCeilingMs)
#undef QTRY_COMPARE
#define QTRY_COMPARE(expr, expected)                                                               \
    QTRY_COMPARE_WITH_TIMEOUT(expr, expected, ferry::test::kWaitCeilingMs)

namespace ferry::test {

/// Blocks until the future has its result (the scheduler runs on its own thread).
template <typename T> T await(QFuture<T> future)
{
    future.waitForFinished();
    return future.result();
}
inline void await(QFuture<void> future)
{
    future.waitForFinished();
}

/// Unwraps a SchedulerResult, failing the test with the error's message.
#define FERRY_OK(expr)                                                                             \
    [&] {                                                                                          \
        auto ferryResult_ = (expr);                                                                \
        if (!ferryResult_)                                                                         \
            qFatal("%s failed: %s", #expr, qPrintable(ferryResult_.error().message));              \
        return *std::move(ferryResult_);                                                           \
    }()

/// What executors did, for tests to assert on. Thread-safe.
struct Probe {
    std::atomic<int> started{0};
    std::atomic<int> finished{0};
    std::atomic<int> finalized{0};
    std::atomic<int> hooks{0};
    std::atomic<int> tokenSeen{0};
    std::atomic<int> custom{0}; ///< For a test's own executors.
    CancellationSource gate;    ///< Fire to let GateExecutor tasks return success.
    QMutex mutex;
    QList<TaskId> order;                              ///< Execute order.
    QList<TaskId> hookOrder;                          ///< onCancel order.
    QHash<TaskId, QHash<QString, QString>> hookState; ///< State seen by onCancel.
    QSet<TaskId> running;

    void record(QList<TaskId> &list, TaskId id)
    {
        QMutexLocker lock(&mutex);
        list.append(id);
    }
    QList<TaskId> snapshot(const QList<TaskId> &list)
    {
        QMutexLocker lock(&mutex);
        return list;
    }
};

/// Builds a list without a braced initializer: GCC 12 miscompiles std::initializer_list
/// inside coroutines ("array used as initializer").
template <typename T, typename... More> QList<T> listOf(T first, More... more)
{
    QList<T> list;
    list.append(std::move(first));
    (list.append(std::move(more)), ...);
    return list;
}

/// Returns at once with success.
inline std::shared_ptr<TaskExecutor> noopExecutor(std::shared_ptr<Probe> probe = {})
{
    return std::make_shared<FunctionExecutor>([probe](TaskContext &ctx) -> QCoro::Task<TaskResult> {
        if (probe) {
            probe->started++;
            probe->record(probe->order, ctx.id());
            probe->finished++;
        }
        co_return TaskResult{};
    });
}

/**
 * Runs until the probe's gate opens (success) or its token fires (Cancelled, or success
 * when `ignoreToken`, to prove a cancelled task never ends completed). Writes state
 * `started=yes` so its hook has something to see. Has finalize and onCancel.
 */
inline std::shared_ptr<TaskExecutor> gateExecutor(std::shared_ptr<Probe> probe,
                                                  bool ignoreToken = false)
{
    auto execute = [probe, ignoreToken](TaskContext &ctx) -> QCoro::Task<TaskResult> {
        probe->started++;
        probe->record(probe->order, ctx.id());
        {
            QMutexLocker lock(&probe->mutex);
            probe->running.insert(ctx.id());
        }
        (void)ctx.state().set(QStringLiteral("started"), QStringLiteral("yes"));
        // Wait for whichever fires first: the gate or the task's own token.
        co_await untilAnyCancelled(listOf(probe->gate.token(), ctx.token()));
        {
            QMutexLocker lock(&probe->mutex);
            probe->running.remove(ctx.id());
        }
        probe->finished++;
        if (ctx.isCancelled()) {
            probe->tokenSeen++;
            if (!ignoreToken)
                co_return std::unexpected(TaskError::cancelled());
        }
        co_return TaskResult{};
    };
    auto finalize = [probe](TaskContext &) -> QCoro::Task<TaskResult> {
        probe->finalized++;
        co_return TaskResult{};
    };
    auto onCancel = [probe](TaskContext &ctx) -> QCoro::Task<TaskResult> {
        probe->hooks++;
        QMutexLocker lock(&probe->mutex);
        probe->hookOrder.append(ctx.id());
        probe->hookState.insert(ctx.id(), ctx.state().values());
        co_return TaskResult{};
    };
    return std::make_shared<FunctionExecutor>(execute, finalize, onCancel);
}

/**
 * Runs until its token fires. Its hook stands for an abort request to an endpoint that
 * never answers: it ends only when its own token fires (the hook's timeout), counts that in
 * `custom`, and fails retryably.
 */
inline std::shared_ptr<TaskExecutor> hangingHookExecutor(std::shared_ptr<Probe> probe)
{
    return std::make_shared<FunctionExecutor>(
        [probe](TaskContext &ctx) -> QCoro::Task<TaskResult> {
            probe->started++;
            co_await untilCancelled(ctx.token());
            co_return ctx.checkCancelled();
        },
        FunctionExecutor::Step{},
        [probe](TaskContext &ctx) -> QCoro::Task<TaskResult> {
            probe->hooks++;
            co_await untilCancelled(ctx.token());
            probe->custom++;
            co_return std::unexpected(TaskError::retryable("no answer"));
        });
}

/// Ignores its token until the probe's gate opens, then returns Cancelled: for proving that
/// shutdown does not wait for a run beyond the drain time.
inline std::shared_ptr<TaskExecutor> stubbornExecutor(std::shared_ptr<Probe> probe)
{
    return std::make_shared<FunctionExecutor>([probe](TaskContext &) -> QCoro::Task<TaskResult> {
        probe->started++;
        co_await untilCancelled(probe->gate.token());
        probe->finished++;
        co_return std::unexpected(TaskError::cancelled());
    });
}

/// A scheduler on a fresh temporary database.
class Harness {
public:
    explicit Harness(int maxConcurrency = 4)
    {
        options.databasePath = dir.filePath(QStringLiteral("ferry.sqlite"));
        options.maxConcurrency = maxConcurrency;
        options.eventIntervalMs = 10;
    }

    Scheduler &start(const std::function<void(Scheduler &)> &registerExecutors)
    {
        scheduler = std::make_unique<Scheduler>(options);
        registerExecutors(*scheduler);
        auto opened = await(scheduler->open());
        if (!opened)
            qFatal("open failed: %s", qPrintable(opened.error().message));
        return *scheduler;
    }

    void stop(int drainMs = 5000)
    {
        if (scheduler)
            await(scheduler->shutdown(drainMs));
        scheduler.reset();
    }

    QList<HistoryRecord> history(HistoryQuery query = {})
    {
        query.limit = 1'000'000;
        return FERRY_OK(await(scheduler->history(query)));
    }

    std::optional<HistoryRecord> historyOf(TaskId id)
    {
        std::optional<HistoryRecord> found;
        for (const auto &row : history()) {
            if (row.taskId == id) {
                if (found)
                    qFatal("task %lld has more than one history row", static_cast<long long>(id));
                found = row;
            }
        }
        return found;
    }

    bool isActive(TaskId id) { return FERRY_OK(await(scheduler->task(id))).has_value(); }

    TaskId submit(TaskSpec spec) { return FERRY_OK(await(scheduler->submit(std::move(spec)))).id; }

    QTemporaryDir dir;
    SchedulerOptions options;
    std::unique_ptr<Scheduler> scheduler;
};

inline TaskSpec spec(const QString &type, const QString &group = {}, const QString &dedupKey = {})
{
    TaskSpec s;
    s.type = type;
    s.group = group;
    s.dedupKey = dedupKey;
    s.label = dedupKey.isEmpty() ? type : dedupKey;
    return s;
}

} // namespace ferry::test

// QCOMPARE prints enums through toString() found by argument-dependent lookup.
namespace ferry {
inline char *toString(HistoryStatus status)
{
    return qstrdup(qPrintable(toText(status)));
}
inline char *toString(TaskStatus status)
{
    return qstrdup(qPrintable(toText(status)));
}
inline char *toString(CleanupOutcome outcome)
{
    return qstrdup(qPrintable(toText(outcome)));
}
} // namespace ferry
