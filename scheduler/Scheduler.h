#pragma once

#include "SchedulerError.h"
#include "SchedulerOptions.h"
#include "SchedulerTypes.h"
#include "TaskEvent.h"
#include "TaskExecutor.h"
#include "TaskRecord.h"
#include "TaskSpec.h"

#include <QFuture>
#include <QObject>
#include <QThread>

#include <atomic>
#include <functional>
#include <memory>

namespace ferry {

class SchedulerEngine;

/**
 * A persistent task scheduler with scoped, durable cancellation.
 *
 * Tasks live in SQLite (the queue survives restarts) and run on a QThreadPool, each
 * executor step a coroutine with its worker's own event loop, or, for types registered with
 * RunOn::SharedLoop, many at once on a few shared event-loop threads. The scheduler's state
 * machine runs on a thread of its own: every method here may be called from any thread,
 * returns at once, and yields its answer as a QFuture (co_await it with QCoro, or use then()).
 * Signals are emitted from the scheduler thread; receivers elsewhere get them queued.
 *
 * Cancellation: cancel(), cancelGroup(), cancelType() and cancelWhere() each run as one
 * transaction over the matching tasks, their descendants and the ancestors that follow;
 * running executors see their token fire; onCancel hooks run after the tasks stopped, with
 * timeouts and retries; every cancelled task gets one history row with status Cancelled.
 */
class Scheduler : public QObject {
    Q_OBJECT
public:
    explicit Scheduler(SchedulerOptions options, QObject *parent = nullptr);
    /// Shuts down (waiting up to 5 s for running tasks) if shutdown() was not awaited.
    ~Scheduler() override;

    /// Registers the executor for `type`. Register every type before open(): tasks of an
    /// unregistered type are refused by submit and wait in the queue after a restart.
    void registerExecutor(const QString &type, std::shared_ptr<TaskExecutor> executor,
                          const ExecutorOptions &options = {});
    /// Limits how many tasks of `group` run at once; 0 removes the limit.
    void setGroupConcurrency(const QString &group, int limit);

    /// Locks the data directory, opens (or creates) the database, recovers what a crash
    /// left behind, and starts dispatching. Pending clean-up hooks run again.
    QFuture<SchedulerResult<void>> open();
    /// Stops dispatching, asks running tasks to stop (they resume at the next open, this is
    /// not a cancel), waits up to `drainMs` for them, then closes the database.
    QFuture<void> shutdown(int drainMs = 5000);
    [[nodiscard]] bool isOpen() const { return m_open.load(); }

    QFuture<SchedulerResult<SubmitResult>> submit(TaskSpec spec);
    /// One transaction per batch (chunked for very large batches); results in order.
    QFuture<SchedulerResult<QList<SubmitResult>>> submitBatch(QList<TaskSpec> specs);

    QFuture<SchedulerResult<CancelResult>> cancel(TaskId id,
                                                  const QString &reason = CancelReason::User);
    QFuture<SchedulerResult<CancelResult>> cancelGroup(const QString &group,
                                                       const QString &reason = CancelReason::Group);
    QFuture<SchedulerResult<CancelResult>> cancelType(const QString &type,
                                                      const QString &reason = CancelReason::Type);
    /// `predicate` runs on the scheduler thread over every active task; keep it pure.
    QFuture<SchedulerResult<CancelResult>>
    cancelWhere(std::function<bool(const TaskRecord &)> predicate,
                const QString &reason = CancelReason::Predicate);

    /// Holds the group's pending tasks (persisted) without cancelling anything.
    QFuture<SchedulerResult<void>> pauseGroup(const QString &group);
    QFuture<SchedulerResult<void>> resumeGroup(const QString &group);
    /// Makes clean-ups waiting on a back-off run now (e.g. the endpoint is back online);
    /// an empty group means all. Yields how many were brought forward.
    QFuture<SchedulerResult<int>> retryCleanupsNow(const QString &group = {});

    QFuture<SchedulerResult<std::optional<TaskRecord>>> task(TaskId id);
    QFuture<SchedulerResult<QList<TaskRecord>>> activeTasks(const QString &group = {},
                                                            int limit = -1);
    QFuture<SchedulerResult<QHash<QString, QString>>> taskState(TaskId id);
    QFuture<SchedulerResult<QList<HistoryRecord>>> history(const HistoryQuery &query = {});
    QFuture<SchedulerResult<SchedulerStats>> stats();
    QFuture<QStringList> pausedGroups();

signals:
    void taskSubmitted(ferry::TaskId id);
    void taskStarted(ferry::TaskId id);
    void taskProgress(ferry::TaskId id, qint64 bytesDone, qint64 bytesTotal);
    void taskWaiting(ferry::TaskId id);
    void taskCompleted(ferry::TaskId id);
    void taskFailed(ferry::TaskId id, const QString &error);
    /// A task's history row says Cancelled (its clean-up, if any, is over).
    void taskCancelled(ferry::TaskId id, const QString &reason);
    void taskSuperseded(ferry::TaskId id);
    /// One per cancel call: every task it cancelled, at once (before clean-up finishes).
    void cancelledBatch(const QList<ferry::TaskId> &ids, const QString &reason);
    /// Every lifecycle change, batched every few tens of milliseconds, for views.
    void eventsBatch(const ferry::TaskEvents &events);
    void groupPaused(const QString &group);
    void groupResumed(const QString &group);
    /// The database could not be written (disk full, I/O error, permissions): the scheduler
    /// stopped its tasks as a crash would, nothing is lost, and it is closed now. `message`
    /// names the file, the cause and the fix.
    void storageFailed(const QString &message);

private:
    template <typename T, typename Call> QFuture<T> post(Call call, T whenClosed);

    QThread m_thread;
    SchedulerEngine *m_engine;
    std::atomic<bool> m_open{false};
    std::atomic<bool> m_closed{false};
};

} // namespace ferry
