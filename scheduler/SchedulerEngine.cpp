#include "SchedulerEngine.h"

#include "EngineLink.h"
#include "SchedulerLog.h"

#include <QDateTime>
#include <QFileInfo>

namespace ferry {

SchedulerEngine::SchedulerEngine(SchedulerOptions options)
    : m_options(std::move(options)), m_lock(m_options.databasePath + QStringLiteral(".lock")),
      m_link(std::make_shared<EngineLink>(this))
{
    qRegisterMetaType<ferry::TaskEvents>();
    qRegisterMetaType<ferry::TaskId>("ferry::TaskId");
    qRegisterMetaType<QList<ferry::TaskId>>();
}

SchedulerEngine::~SchedulerEngine()
{
    m_link->close();
    m_store.close();
}

void SchedulerEngine::registerExecutor(const QString &type, std::shared_ptr<TaskExecutor> executor,
                                       const ExecutorOptions &options)
{
    m_executors.insert(type, {std::move(executor), options});
    m_types = m_executors.keys();
    m_dispatchMaybe = m_hooksMaybeDue = true;
    if (m_open)
        scheduleFlush();
}

void SchedulerEngine::setGroupConcurrency(const QString &group, int limit)
{
    if (limit > 0)
        m_groupLimits.insert(group, limit);
    else
        m_groupLimits.remove(group);
    m_dispatchMaybe = true;
    if (m_open)
        scheduleFlush();
}

const SchedulerEngine::ExecutorEntry *SchedulerEngine::executorFor(const QString &type) const
{
    auto it = m_executors.constFind(type);
    return it == m_executors.constEnd() ? nullptr : &it.value();
}

QStringList SchedulerEngine::hookTypes() const
{
    QStringList types;
    for (auto it = m_executors.cbegin(); it != m_executors.cend(); ++it) {
        if (it->executor->hasCancelHook())
            types << it.key();
    }
    return types;
}

qint64 SchedulerEngine::now() const
{
    return QDateTime::currentMSecsSinceEpoch();
}

SchedulerResult<void> SchedulerEngine::requireOpen() const
{
    if (!m_open || m_shuttingDown)
        return schedulerError(SchedulerError::Code::NotOpen,
                              m_shuttingDown
                                  ? QStringLiteral("the scheduler is shutting down")
                                  : QStringLiteral("the scheduler is not open: call open() first"));
    return {};
}

SchedulerResult<void> SchedulerEngine::open()
{
    if (m_open)
        return {};
    if (m_options.databasePath.isEmpty())
        return schedulerError(
            SchedulerError::Code::InvalidArgument,
            QStringLiteral("no database path given: set SchedulerOptions::databasePath"));
    if (m_options.maxConcurrency < 1 || m_options.hookConcurrency < 1 || m_options.sharedLoops < 1)
        return schedulerError(SchedulerError::Code::InvalidArgument,
                              QStringLiteral("concurrency limits and SchedulerOptions::sharedLoops "
                                             "must be at least 1"));
    if (auto locked = m_lock.acquire(); !locked)
        return locked;
    if (auto opened = m_store.open(m_options.databasePath); !opened) {
        m_lock.release();
        return opened;
    }
    {
        Transaction tx(m_store);
        const int requeued = m_store.requeueInFlight();
        if (!tx.commit()) {
            const QString why = m_store.lastError();
            m_store.close();
            m_lock.release();
            return schedulerError(
                SchedulerError::Code::Storage,
                QStringLiteral("cannot write to %1: %2").arg(m_options.databasePath, why));
        }
        if (requeued > 0)
            qCInfo(lcScheduler) << requeued << "interrupted task(s) will run again";
    }
    if (m_store.pruneHistory(m_options.historyRetention) > 0)
        qCInfo(lcScheduler) << "history trimmed to the newest" << m_options.historyRetention
                            << "rows";
    m_lastId = m_store.maxTaskId();
    m_pausedGroups = m_store.pausedGroups();

    m_pool = new QThreadPool;
    m_pool->setMaxThreadCount(m_options.maxConcurrency);
    m_hookPool = new QThreadPool;
    m_hookPool->setMaxThreadCount(m_options.hookConcurrency);
    m_wakeTimer = new QTimer(this);
    m_wakeTimer->setSingleShot(true);
    connect(m_wakeTimer, &QTimer::timeout, this, &SchedulerEngine::onWake);
    m_tickTimer = new QTimer(this);
    m_tickTimer->setInterval(m_options.eventIntervalMs);
    connect(m_tickTimer, &QTimer::timeout, this, &SchedulerEngine::onTick);
    m_tickTimer->start();
    m_open = true;
    if (auto wake = m_store.earliestNotBefore(0))
        noteWake(*wake);
    // Clean-ups interrupted by a crash or shutdown run again now.
    scheduleFlush();
    return {};
}

void SchedulerEngine::scheduleFlush()
{
    if (m_flushQueued)
        return;
    m_flushQueued = true;
    QMetaObject::invokeMethod(this, &SchedulerEngine::flush, Qt::QueuedConnection);
}

void SchedulerEngine::drainOutcomes()
{
    m_finished.append(m_link->takeOutcomes());
    flush();
}

// Applies every finished run and dispatches what became possible, in one transaction.
void SchedulerEngine::flush()
{
    m_flushQueued = false;
    if (!m_open)
        return;
    const bool mayDispatch =
        m_dispatchMaybe && m_running.size() < m_options.maxConcurrency && !m_shuttingDown;
    const bool mayRunHooks =
        m_hooksMaybeDue && m_hooks.size() < m_options.hookConcurrency && !m_shuttingDown;
    if (m_finished.isEmpty() && !mayDispatch && !mayRunHooks) {
        if (m_shuttingDown && m_running.isEmpty() && m_hooks.isEmpty())
            finishShutdown();
        return; // nothing can have changed: no transaction
    }
    {
        Transaction tx(m_store);
        if (!tx.isActive()) {
            retryFlushLater(); // the outcomes stay queued
            return;
        }
        m_flushFailures = 0;
        const auto finished = std::exchange(m_finished, {});
        if (!finished.isEmpty())
            m_dispatchMaybe = m_hooksMaybeDue = true;
        for (const auto &outcome : finished) {
            if (outcome.phase == RunPhase::Hook)
                applyHookOutcome(outcome);
            else
                applyOutcome(outcome);
        }
        completeGathered();
        settleGathered();
        dispatchLocked();
        if (!tx.commit()) {
            // What this flush changed in memory is now ahead of the file: stop here, as a
            // crash would, and let the next start recover from the last commit.
            failStorage(m_store.lastError());
            return;
        }
    }
    startPendingRuns();
    if (m_shuttingDown && m_running.isEmpty() && m_hooks.isEmpty())
        finishShutdown();
}

void SchedulerEngine::retryFlushLater()
{
    // BEGIN IMMEDIATE already waited the busy timeout: a few more tries, then give up.
    if (++m_flushFailures >= kFlushAttempts) {
        failStorage(m_store.lastError());
        return;
    }
    QTimer::singleShot(kFlushRetryMs, this, [this] { scheduleFlush(); });
}

void SchedulerEngine::failStorage(const QString &why)
{
    if (!m_open)
        return;
    const QString message =
        QStringLiteral("the task database %1 could not be written (%2); Ferry stopped its tasks "
                       "without losing any: free disk space or fix the file's permissions, "
                       "then start again (interrupted tasks resume)")
            .arg(m_options.databasePath, why);
    qCCritical(lcScheduler).noquote() << message;
    // Runs this flush dispatched never start: the file does not know they were dispatched.
    qDeleteAll(std::exchange(m_toStart, {}));
    qDeleteAll(std::exchange(m_hooksToStart, {}));
    m_shuttingDown = true;
    for (auto &active : m_running) {
        active.interrupted = true;
        active.source->cancel(StopReason::Shutdown);
    }
    closeWithoutWriting();
    emit storageFailed(message);
}

void SchedulerEngine::startPendingRuns()
{
    for (TaskRun *run : std::exchange(m_toStart, {})) {
        if (run->runOn() == RunOn::SharedLoop)
            sharedLoops().start(run);
        else // QThreadPool: higher first
            m_pool->start(run, kLeastUrgentPriority - run->priority());
    }
    for (TaskRun *run : std::exchange(m_hooksToStart, {})) {
        if (run->runOn() == RunOn::SharedLoop)
            sharedLoops().start(run);
        else
            m_hookPool->start(run);
    }
    for (const auto &[id, reason] : std::exchange(m_cancelledSignals, {}))
        emit taskCancelled(id, reason);
}

SharedLoops &SchedulerEngine::sharedLoops()
{
    if (!m_sharedLoops)
        m_sharedLoops = std::make_unique<SharedLoops>(m_options.sharedLoops);
    return *m_sharedLoops;
}

void SchedulerEngine::releaseSlot(const Active &active)
{
    if (--m_runningPerGroup[active.record.group] <= 0)
        m_runningPerGroup.remove(active.record.group);
    if (--m_runningPerType[active.record.type] <= 0)
        m_runningPerType.remove(active.record.type);
}

void SchedulerEngine::applyOutcome(const RunOutcome &outcome)
{
    auto it = m_running.find(outcome.id);
    if (it == m_running.end() || it->serial != outcome.serial)
        return;
    const Active active = std::move(*it);
    m_running.erase(it);
    releaseSlot(active);
    const TaskRecord &record = active.record;
    const qint64 bytes = active.progress->done.load(std::memory_order_relaxed);
    const bool finalizing = active.phase == RunPhase::Finalize;

    if (active.cancelled) {
        // Whatever execute returned, a cancelled task ends cancelled (contract point 3).
        m_store.setStatus(record.id, TaskStatus::Cancelling, finalizing, bytes);
        if (!outcome.began && active.firstRun)
            m_store.forgetStart(record.id); // dispatched but never run: no clean-up owed
        m_settling.append(record.id);
        return;
    }
    if (active.interrupted && !outcome.result) {
        m_store.setStatus(record.id, TaskStatus::Pending, finalizing, bytes);
        return;
    }
    if (outcome.result) {
        if (!finalizing && active.mayHaveChildren && m_store.countChildren(record.id) > 0) {
            m_store.setStatus(record.id, TaskStatus::Waiting, false, bytes);
            event(TaskEvent::Kind::Waiting, record);
            emit taskWaiting(record.id);
            return;
        }
        const ExecutorEntry *entry = executorFor(record.type);
        if (!finalizing && entry && entry->executor->hasFinalize()) {
            m_store.setStatus(record.id, TaskStatus::Pending, true, bytes);
            return;
        }
        m_completing.append({record, bytes}); // moved to history in one batch per flush
        return;
    }
    const TaskError &error = outcome.result.error();
    if (error.isCancelled()) {
        // The executor gave up on its own: treat it as a cancel of this task.
        m_store.setStatus(record.id, TaskStatus::Pending, finalizing, bytes);
        const TaskId id = record.id;
        cancelLocked(
            [this, id] { return m_store.cancelSetAddIds({id}, QStringLiteral("executor")); },
            QStringLiteral("executor"));
        return;
    }
    const ExecutorEntry *entry = executorFor(record.type);
    const RetryPolicy policy = entry ? entry->options.retry : RetryPolicy::none();
    const int attempts = record.attempts + 1;
    if (error.isRetryable() && attempts < policy.maxAttempts &&
        (finalizing || m_store.countChildren(record.id) == 0)) {
        const qint64 at = now() + policy.delayMs(attempts);
        m_store.scheduleRetry(record.id, attempts, at, error.message);
        noteWake(at);
        event(TaskEvent::Kind::Retrying, record, error.message);
        return;
    }
    m_store.setStatus(record.id, TaskStatus::Running, finalizing, bytes);
    failTask(record.id, error.message);
}

void SchedulerEngine::completeTask(const TaskRecord &record, qint64 bytes, bool mayHaveState)
{
    m_store.finishTask(record.id, {HistoryStatus::Completed, {}, CleanupOutcome::None, {}, bytes},
                       now(), mayHaveState);
    event(TaskEvent::Kind::Completed, record);
    emit taskCompleted(record.id);
    if (++m_completedSincePrune >= 10'000) {
        m_completedSincePrune = 0;
        m_store.pruneHistory(m_options.historyRetention);
    }
    childLeft(record.parentId, HistoryStatus::Completed);
}

void SchedulerEngine::completeGathered()
{
    if (m_completing.isEmpty())
        return;
    const auto completing = std::exchange(m_completing, {});
    QList<TaskId> ids;
    ids.reserve(completing.size());
    for (const Completion &c : completing) {
        ids.append(c.record.id);
        if (c.bytes != c.record.bytesDone)
            m_store.setBytesDone(c.record.id, c.bytes);
    }
    if (!m_store.finishCompleted(ids, now()))
        qCCritical(lcScheduler) << "cannot record completed tasks:" << m_store.lastError();
    QList<TaskId> parents;
    for (const Completion &c : completing) {
        event(TaskEvent::Kind::Completed, c.record);
        emit taskCompleted(c.record.id);
        if (c.record.parentId > 0 && !parents.contains(c.record.parentId))
            parents.append(c.record.parentId);
    }
    m_completedSincePrune += completing.size();
    if (m_completedSincePrune >= 10'000) {
        m_completedSincePrune = 0;
        m_store.pruneHistory(m_options.historyRetention);
    }
    for (TaskId parent : parents)
        parentMayProceed(parent);
}

void SchedulerEngine::settleGathered()
{
    if (!m_settling.isEmpty())
        handleSettled(m_store.settle(std::exchange(m_settling, {}), now()));
}

void SchedulerEngine::childLeft(TaskId parentId, HistoryStatus childStatus)
{
    if (parentId <= 0)
        return;
    if (childStatus == HistoryStatus::Cancelled || childStatus == HistoryStatus::Superseded)
        m_store.addChildOutcomes(parentId, 1, 0);
    else if (childStatus == HistoryStatus::Failed)
        m_store.addChildOutcomes(parentId, 0, 1);
    parentMayProceed(parentId);
}

void SchedulerEngine::parentMayProceed(TaskId parentId)
{
    const auto info = m_store.activeInfo(parentId);
    if (!info)
        return;
    if (info->status == TaskStatus::Cancelling) {
        handleSettled(m_store.settle({parentId}, now()));
        return;
    }
    if (info->status != TaskStatus::Waiting || m_store.countChildren(parentId) > 0)
        return;
    const auto parent = m_store.task(parentId);
    if (!parent)
        return;
    const ExecutorEntry *entry = executorFor(parent->type);
    if (entry && entry->executor->hasFinalize()) {
        const bool paused = m_pausedGroups.contains(parent->group);
        m_store.setStatus(parentId, paused ? TaskStatus::Paused : TaskStatus::Pending, true);
        m_dispatchMaybe = true;
    } else {
        completeTask(*parent, -1);
    }
}

SchedulerResult<void> SchedulerEngine::writeState(TaskId task, const QString &key,
                                                  const std::optional<QString> &value)
{
    if (!m_open)
        return requireOpen();
    Transaction tx(m_store);
    if (!m_store.activeInfo(task))
        return schedulerError(
            SchedulerError::Code::NotFound,
            QStringLiteral("task %1 is no longer active; its state is gone").arg(task));
    if (auto it = m_running.find(task); it != m_running.end())
        it->mayHaveState = true;
    if (!m_store.writeState(task, key, value) || !tx.commit())
        return schedulerError(
            SchedulerError::Code::Storage,
            QStringLiteral("cannot save state of task %1: %2").arg(task).arg(m_store.lastError()));
    return {};
}

void SchedulerEngine::noteWake(qint64 atMs)
{
    if (m_wakeTimer->isActive() && m_nextWakeMs <= atMs)
        return;
    m_nextWakeMs = atMs;
    m_wakeTimer->start(static_cast<int>(std::clamp<qint64>(atMs - now(), 0, INT_MAX)));
}

void SchedulerEngine::onWake()
{
    m_nextWakeMs = 0;
    m_dispatchMaybe = m_hooksMaybeDue = true;
    scheduleFlush();
    if (auto next = m_store.earliestNotBefore(now()))
        noteWake(*next);
}

void SchedulerEngine::onTick()
{
    for (auto it = m_running.begin(); it != m_running.end(); ++it) {
        TaskProgress &progress = *it->progress;
        if (!progress.changed.exchange(false, std::memory_order_acq_rel))
            continue;
        const qint64 done = progress.done.load(std::memory_order_relaxed);
        const qint64 total = progress.total.load(std::memory_order_relaxed);
        TaskEvent e;
        e.kind = TaskEvent::Kind::Progress;
        e.id = it.key();
        e.parentId = it->record.parentId;
        e.bytesDone = done;
        e.bytesTotal = total;
        e.timestampMs = now();
        m_events.append(std::move(e));
        emit taskProgress(it.key(), done, total);
    }
    if (!m_events.isEmpty())
        emit eventsBatch(std::exchange(m_events, {}));
    checkpointWhenIdle();
}

void SchedulerEngine::checkpointWhenIdle()
{
    // Writes paused for a whole tick: have the log copied into the file now, on the store's
    // checkpoint thread, off the path of the submits and flushes that wrote it.
    const qint64 commits = m_store.commitCount();
    if (commits != m_commitsAtLastTick) {
        m_commitsAtLastTick = commits;
        m_walBehind = true;
    } else if (m_walBehind) {
        m_walBehind = false;
        m_store.requestCheckpoint();
    }
}

void SchedulerEngine::event(TaskEvent::Kind kind, const TaskRecord &record, const QString &detail)
{
    TaskEvent &e = describedEvent(kind, record.id, record, now());
    e.finalizing = record.finalizing;
    e.detail = detail;
}

void SchedulerEngine::event(TaskEvent::Kind kind, TaskId id, TaskId parentId, const QString &detail,
                            CleanupOutcome cleanup)
{
    TaskEvent e;
    e.kind = kind;
    e.id = id;
    e.parentId = parentId;
    e.detail = detail;
    e.cleanup = cleanup;
    e.timestampMs = now();
    m_events.append(std::move(e));
}

void SchedulerEngine::shutdown(int drainMs, std::function<void()> done)
{
    m_shutdownDone = std::move(done);
    if (!m_open) {
        if (m_shutdownDone)
            std::exchange(m_shutdownDone, {})();
        return;
    }
    m_shuttingDown = true;
    for (auto &active : m_running) {
        active.interrupted = true;
        active.source->cancel(StopReason::Shutdown);
    }
    if (m_running.isEmpty() && m_hooks.isEmpty()) {
        finishShutdown();
        return;
    }
    m_drainTimer = new QTimer(this);
    m_drainTimer->setSingleShot(true);
    connect(m_drainTimer, &QTimer::timeout, this, &SchedulerEngine::finishShutdown);
    m_drainTimer->start(std::max(0, drainMs));
}

void SchedulerEngine::closeWithoutWriting()
{
    m_open = false;
    m_link->close();
    m_wakeTimer->stop();
    m_tickTimer->stop();
    if (m_drainTimer)
        m_drainTimer->stop();
    // Pools whose runs ignored the stop request are left to finish on their own: waiting
    // for them would hang the shutdown, and their reports now go nowhere.
    for (QThreadPool *pool : {m_pool, m_hookPool}) {
        if (pool->activeThreadCount() == 0)
            delete pool;
        else
            qCWarning(lcScheduler)
                << pool->activeThreadCount() << "run(s) ignored the stop request";
    }
    m_pool = m_hookPool = nullptr;
    if (m_sharedLoops && m_sharedLoops->activeRuns() > 0)
        qCWarning(lcScheduler) << m_sharedLoops->activeRuns()
                               << "run(s) on the shared loops ignored the stop request";
    m_sharedLoops.reset(); // busy loops stop on their own once their runs return
    m_running.clear();
    m_hooks.clear();
    m_store.close();
    m_lock.release();
}

void SchedulerEngine::finishShutdown()
{
    if (!m_open)
        return;
    {
        Transaction tx(m_store);
        m_finished.append(m_link->takeOutcomes());
        for (const auto &outcome : std::exchange(m_finished, {})) {
            if (outcome.phase == RunPhase::Hook)
                applyHookOutcome(outcome);
            else
                applyOutcome(outcome);
        }
        completeGathered();
        settleGathered();
        const int left = m_store.requeueInFlight();
        if (left > 0)
            qCWarning(lcScheduler) << left << "task(s) did not stop within the drain time;"
                                   << "they resume at the next start";
        tx.commit();
    }
    onTick();
    closeWithoutWriting();
    if (m_shutdownDone)
        std::exchange(m_shutdownDone, {})();
}

} // namespace ferry
