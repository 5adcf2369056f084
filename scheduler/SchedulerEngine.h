#pragma once

#include "CancellationToken.h"
#include "DataDirLock.h"
#include "SchedulerOptions.h"
#include "SchedulerTypes.h"
#include "SharedLoops.h"
#include "TaskEvent.h"
#include "TaskExecutor.h"
#include "TaskRun.h"
#include "TaskStore.h"

#include <QHash>
#include <QObject>
#include <QThreadPool>
#include <QTimer>

#include <chrono>
#include <functional>
#include <memory>

namespace ferry {

class EngineLink;

/**
 * The scheduler's state machine. Lives on the scheduler thread and is only ever called
 * there (Scheduler posts every public call to it). Owns the store, the worker pools and
 * the bookkeeping of what runs; all transitions happen here, one transaction at a time.
 */
class SchedulerEngine : public QObject {
    Q_OBJECT
public:
    explicit SchedulerEngine(SchedulerOptions options);
    ~SchedulerEngine() override;

    void registerExecutor(const QString &type, std::shared_ptr<TaskExecutor> executor,
                          const ExecutorOptions &options);
    void setGroupConcurrency(const QString &group, int limit);

    SchedulerResult<void> open();
    /// Stops dispatching, asks running tasks to stop (not a cancel), waits up to
    /// `drainMs`, leaves the interrupted ones to resume at the next open, then calls `done`.
    void shutdown(int drainMs, std::function<void()> done);
    [[nodiscard]] bool isOpen() const { return m_open; }

    SchedulerResult<QList<SubmitResult>> submit(QList<TaskSpec> specs);
    SchedulerResult<QList<TaskId>> spawnChildren(TaskId parent, QList<TaskSpec> children);
    SchedulerResult<void> writeState(TaskId task, const QString &key,
                                     const std::optional<QString> &value);

    SchedulerResult<CancelResult> cancelIds(const QList<TaskId> &ids, const QString &reason);
    SchedulerResult<CancelResult> cancelGroup(const QString &group, const QString &reason);
    SchedulerResult<CancelResult> cancelType(const QString &type, const QString &reason);
    SchedulerResult<CancelResult>
    cancelWhere(const std::function<bool(const TaskRecord &)> &predicate, const QString &reason);
    SchedulerResult<void> pauseGroup(const QString &group);
    SchedulerResult<void> resumeGroup(const QString &group);
    SchedulerResult<int> retryCleanupsNow(const QString &group);

    SchedulerResult<std::optional<TaskRecord>> task(TaskId id);
    SchedulerResult<QList<TaskRecord>> activeTasks(const QString &group, int limit);
    SchedulerResult<QHash<QString, QString>> taskState(TaskId id);
    SchedulerResult<QList<HistoryRecord>> history(const HistoryQuery &query);
    SchedulerResult<SchedulerStats> stats();
    [[nodiscard]] QStringList pausedGroups() const { return m_pausedGroups; }

    /// Called (queued) by EngineLink when runs ended: takes their outcomes from the link.
    void drainOutcomes();

signals:
    void taskSubmitted(ferry::TaskId id);
    void taskStarted(ferry::TaskId id);
    void taskProgress(ferry::TaskId id, qint64 bytesDone, qint64 bytesTotal);
    void taskWaiting(ferry::TaskId id);
    void taskCompleted(ferry::TaskId id);
    void taskFailed(ferry::TaskId id, const QString &error);
    void taskCancelled(ferry::TaskId id, const QString &reason);
    void taskSuperseded(ferry::TaskId id);
    void cancelledBatch(const QList<ferry::TaskId> &ids, const QString &reason);
    void eventsBatch(const ferry::TaskEvents &events);
    void groupPaused(const QString &group);
    void groupResumed(const QString &group);
    void storageFailed(const QString &message);

private:
    struct ExecutorEntry {
        std::shared_ptr<TaskExecutor> executor;
        ExecutorOptions options;
    };
    struct Active {
        TaskRecord record;
        RunPhase phase = RunPhase::Execute;
        quint64 serial = 0;
        std::shared_ptr<CancellationSource> source;
        std::shared_ptr<TaskProgress> progress;
        bool cancelled = false;
        bool interrupted = false;
        // Whether this task may hold state rows or children; false only for a first run
        // that wrote none, which lets the hot path skip two statements per task.
        bool mayHaveState = true;
        bool mayHaveChildren = true;
        bool firstRun = false; ///< It had never started before this dispatch.
    };

    SchedulerResult<void> requireOpen() const;
    [[nodiscard]] qint64 now() const;
    void scheduleFlush();
    void flush();
    void applyOutcome(const RunOutcome &outcome);
    void applyHookOutcome(const RunOutcome &outcome);
    void completeTask(const TaskRecord &record, qint64 bytes, bool mayHaveState = true);
    /// Moves the completions gathered during a flush to history in one batch.
    void completeGathered();
    /// Settles the tasks gathered during a flush (see TaskStore::settle) in one call.
    void settleGathered();
    void failTask(TaskId id, const QString &error);
    void childLeft(TaskId parentId, HistoryStatus childStatus);
    void parentMayProceed(TaskId parentId);
    void handleSettled(const QList<SettledTask> &settled);
    /// Fires, before any SQL, the tokens of running tasks a cancel call surely covers.
    void fireRunning(const std::function<bool(const TaskRecord &)> &covered);
    SchedulerResult<CancelResult>
    runCancel(const std::function<bool(const TaskRecord &)> &surelyCovered,
              const std::function<bool()> &seed, const QString &reason);
    /// `deliveryWait`: how long to step aside for the fired tokens' callbacks (public
    /// cancel calls only; internal cascades go on at once).
    SchedulerResult<CancelResult> cancelLocked(const std::function<bool()> &seed,
                                               const QString &reason,
                                               std::chrono::microseconds deliveryWait = {});
    SchedulerResult<QList<SubmitResult>> submitLocked(QList<TaskSpec> &specs, int from, int to);
    SchedulerResult<void> validate(const QList<TaskSpec> &specs);
    void dispatchLocked();
    void dispatchHooksLocked();
    void startPendingRuns();
    /// The shared event loops, started on first use.
    SharedLoops &sharedLoops();
    void releaseSlot(const Active &active);
    void noteWake(qint64 atMs);
    void onWake();
    void onTick();
    void checkpointWhenIdle();
    void event(TaskEvent::Kind kind, const TaskRecord &record, const QString &detail = {});
    /// Appends an event that describes a task (see describedTaskEvent()).
    template <typename Task>
    TaskEvent &describedEvent(TaskEvent::Kind kind, TaskId id, const Task &task, qint64 atMs)
    {
        m_events.append(describedTaskEvent(kind, id, task, atMs));
        return m_events.last();
    }
    void event(TaskEvent::Kind kind, TaskId id, TaskId parentId, const QString &detail = {},
               CleanupOutcome cleanup = CleanupOutcome::None);
    void finishShutdown();
    /// Closes the store and the pools without another write (after a failed write, too).
    void closeWithoutWriting();
    /// Tries the flush again a little later; gives up (failStorage) after a few tries.
    void retryFlushLater();
    /// A write failed: stop everything as a crash would and tell (storageFailed).
    void failStorage(const QString &why);
    [[nodiscard]] QStringList hookTypes() const;
    [[nodiscard]] const ExecutorEntry *executorFor(const QString &type) const;

    SchedulerOptions m_options;
    TaskStore m_store;
    DataDirLock m_lock;
    std::shared_ptr<EngineLink> m_link;
    QThreadPool *m_pool = nullptr;
    QThreadPool *m_hookPool = nullptr;
    std::unique_ptr<SharedLoops> m_sharedLoops; ///< Started at the first RunOn::SharedLoop run.
    QHash<QString, ExecutorEntry> m_executors;
    QStringList m_types;
    QHash<QString, int> m_groupLimits;
    QStringList m_pausedGroups;

    QHash<TaskId, Active> m_running;
    QHash<TaskId, Active> m_hooks;
    QHash<QString, int> m_runningPerGroup;
    QHash<QString, int> m_runningPerType;
    QList<TaskRun *> m_toStart;
    QList<TaskRun *> m_hooksToStart;
    QList<RunOutcome> m_finished;
    struct Completion {
        TaskRecord record;
        qint64 bytes = 0;
    };
    QList<Completion> m_completing;
    QList<TaskId> m_settling; ///< Stopped or cleaned-up tasks to settle once per flush.
    bool m_flushQueued = false;
    int m_flushFailures = 0;
    static constexpr int kFlushAttempts = 3;
    static constexpr int kFlushRetryMs = 1000;
    // Whether a dispatch (or hook) query could find something: lets an idle flush skip its
    // transaction entirely. Set by anything that may make work eligible.
    bool m_dispatchMaybe = true;
    bool m_hooksMaybeDue = true;
    TaskEvents m_events;
    QList<std::pair<TaskId, QString>> m_cancelledSignals;

    TaskId m_lastId = 0;
    quint64 m_serial = 0;
    qint64 m_completedSincePrune = 0;
    bool m_open = false;
    bool m_shuttingDown = false;
    std::function<void()> m_shutdownDone;
    QTimer *m_wakeTimer = nullptr;
    QTimer *m_tickTimer = nullptr;
    QTimer *m_drainTimer = nullptr;
    qint64 m_nextWakeMs = 0;
    qint64 m_commitsAtLastTick = 0;
    bool m_walBehind = false; ///< Commits since the last checkpoint (checkpointWhenIdle()).
};

} // namespace ferry
