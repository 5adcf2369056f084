// SchedulerEngine: cancellation, failure cascades, clean-up hooks, pause, and queries.
#include "SchedulerEngine.h"

#include "SchedulerLog.h"

namespace ferry {

namespace {
// Tokens first: after firing, this thread yields its core until the executors' callbacks
// ran (at most this long) before the cancel's own SQL competes with them for the cores.
constexpr std::chrono::microseconds kTokenDeliveryWait{5'000};
} // namespace

SchedulerResult<CancelResult> SchedulerEngine::cancelIds(const QList<TaskId> &ids,
                                                         const QString &reason)
{
    return runCancel([&](const TaskRecord &task) { return ids.contains(task.id); },
                     [&] { return m_store.cancelSetAddIds(ids, reason); }, reason);
}

SchedulerResult<CancelResult> SchedulerEngine::cancelGroup(const QString &group,
                                                           const QString &reason)
{
    return runCancel(
        [&](const TaskRecord &task) { return task.group == group; },
        [&] { return m_store.cancelSetAddWhere(QStringLiteral("grp"), group, reason); }, reason);
}

SchedulerResult<CancelResult> SchedulerEngine::cancelType(const QString &type,
                                                          const QString &reason)
{
    return runCancel(
        [&](const TaskRecord &task) { return task.type == type; },
        [&] { return m_store.cancelSetAddWhere(QStringLiteral("type"), type, reason); }, reason);
}

SchedulerResult<CancelResult>
SchedulerEngine::cancelWhere(const std::function<bool(const TaskRecord &)> &predicate,
                             const QString &reason)
{
    return runCancel(
        predicate,
        [&] {
            QList<TaskId> matched;
            for (const TaskRecord &record : m_store.activeTasks()) {
                if (record.status != TaskStatus::Cancelling && predicate(record))
                    matched.append(record.id);
            }
            return m_store.cancelSetAddIds(matched, reason);
        },
        reason);
}

// One public cancel call: what already finished settles first (a task that completed stays
// completed), the running tasks it surely covers are told at once, then one transaction.
SchedulerResult<CancelResult>
SchedulerEngine::runCancel(const std::function<bool(const TaskRecord &)> &surelyCovered,
                           const std::function<bool()> &seed, const QString &reason)
{
    if (auto ok = requireOpen(); !ok)
        return std::unexpected(ok.error());
    flush();
    fireRunning(surelyCovered);
    Transaction tx(m_store);
    auto result = cancelLocked(seed, reason, kTokenDeliveryWait);
    if (result && !tx.commit())
        return schedulerError(
            SchedulerError::Code::Storage,
            QStringLiteral("cannot record the cancel: %1").arg(m_store.lastError()));
    startPendingRuns();
    scheduleFlush();
    return result;
}

void SchedulerEngine::fireRunning(const std::function<bool(const TaskRecord &)> &covered)
{
    QList<CancellationSource *> marked;
    for (auto &active : m_running) {
        if (!active.cancelled && covered(active.record)) {
            active.cancelled = true;
            if (active.source->mark(StopReason::Cancel))
                marked.append(active.source.get());
        }
    }
    CancellationSource::notifyAll(marked, kTokenDeliveryWait);
}

// Inside the caller's transaction: builds the closed cancel set, marks it, fires the tokens
// of running members and moves to history every member that needs no more work.
SchedulerResult<CancelResult> SchedulerEngine::cancelLocked(const std::function<bool()> &seed,
                                                            const QString &reason,
                                                            std::chrono::microseconds deliveryWait)
{
    completeGathered(); // what already completed stays completed
    settleGathered();
    if (!m_store.cancelSetReset() || !seed() || !m_store.cancelSetClose())
        return schedulerError(
            SchedulerError::Code::Storage,
            QStringLiteral("cannot select the tasks to cancel: %1").arg(m_store.lastError()));
    // Tokens fire first, before any more SQL: running executors start stopping at once.
    // (Those the call surely covers fired even earlier, in fireRunning.)
    const auto running = m_store.cancelSetRunning(m_running.keys());
    if (!running)
        return schedulerError(
            SchedulerError::Code::Storage,
            QStringLiteral("cannot mark the tasks cancelled: %1").arg(m_store.lastError()));
    QList<CancellationSource *> toNotify;
    for (TaskId id : *running) {
        Active &active = m_running[id];
        if (!active.cancelled) {
            active.cancelled = true;
            if (active.source->mark(StopReason::Cancel))
                toNotify.append(active.source.get());
        }
    }
    CancellationSource::notifyAll(toNotify, deliveryWait);
    int hooksDue = 0;
    const auto entries = m_store.cancelSetApply(hookTypes(), now(), &hooksDue);
    if (!entries)
        return schedulerError(
            SchedulerError::Code::Storage,
            QStringLiteral("cannot mark the tasks cancelled: %1").arg(m_store.lastError()));
    CancelResult result;
    result.reason = reason;
    if (entries->isEmpty())
        return result;
    if (hooksDue > 0)
        m_hooksMaybeDue = true;
    result.tasks.reserve(entries->size());
    QList<SettledTask> settled;
    settled.reserve(entries->size());
    for (const CancelSetEntry &entry : *entries) {
        result.tasks.append({entry.id, entry.reason});
        if (entry.stays)
            event(TaskEvent::Kind::Cancelling, entry.id, entry.parentId, entry.reason);
        else
            settled.append(
                {entry.id, entry.parentId, entry.finalStatus, entry.reason, CleanupOutcome::None});
    }
    settled.append(m_store.settleCancelSet(now()));
    handleSettled(settled);
    emit cancelledBatch(result.ids(), reason);
    qCInfo(lcScheduler) << "cancelled" << result.size() << "task(s), reason" << reason;
    return result;
}

// Marks a task failed-to-be: its descendants are cancelled, its clean-up hook runs, and a
// parent that does not tolerate failed children fails in turn (fail-fast).
void SchedulerEngine::failTask(TaskId id, const QString &error)
{
    completeGathered();
    const auto record = m_store.task(id);
    if (!record || record->status == TaskStatus::Cancelling)
        return;
    const ExecutorEntry *entry = executorFor(record->type);
    const bool hookDue = entry && entry->executor->hasCancelHook() &&
                         (record->hasStarted() || !m_store.loadState(id).isEmpty());
    m_store.markFailing(id, error, hookDue);
    m_hooksMaybeDue = true;
    event(TaskEvent::Kind::Failed, *record, error);
    emit taskFailed(id, error);

    const QList<TaskId> children = m_store.childIds(id);
    if (!children.isEmpty()) {
        cancelLocked([&] { return m_store.cancelSetAddIds(children, CancelReason::Parent); },
                     CancelReason::Parent);
    }
    if (record->parentId > 0) {
        const auto parent = m_store.task(record->parentId);
        const bool tolerates = parent && (static_cast<int>(parent->childPolicy) &
                                          static_cast<int>(ChildPolicy::TolerateFailed));
        if (parent && parent->status != TaskStatus::Cancelling && !tolerates) {
            failTask(parent->id,
                     QStringLiteral("child task %1 (%2) failed: %3")
                         .arg(id)
                         .arg(record->label.isEmpty() ? record->type : record->label, error));
        }
    }
    handleSettled(m_store.settle({id}, now()));
}

// Signals and parent bookkeeping for tasks that just got their history row.
void SchedulerEngine::handleSettled(const QList<SettledTask> &settled)
{
    QSet<TaskId> settledIds;
    settledIds.reserve(settled.size());
    m_events.reserve(m_events.size() + settled.size());
    m_cancelledSignals.reserve(m_cancelledSignals.size() + settled.size());
    for (const SettledTask &task : settled)
        settledIds.insert(task.id);
    for (const SettledTask &task : settled) {
        switch (task.status) {
        case HistoryStatus::Cancelled:
            event(TaskEvent::Kind::Cancelled, task.id, task.parentId, task.reason, task.cleanup);
            m_cancelledSignals.append({task.id, task.reason});
            break;
        case HistoryStatus::Superseded:
            event(TaskEvent::Kind::Superseded, task.id, task.parentId, task.reason, task.cleanup);
            emit taskSuperseded(task.id);
            break;
        case HistoryStatus::Failed:
            // taskFailed was emitted when the failure happened; this is the clean-up's end.
            event(TaskEvent::Kind::Failed, task.id, task.parentId, QString(), task.cleanup);
            break;
        case HistoryStatus::Completed:
            break;
        }
    }
    // A parent that is not ending with its children counts them and may go on.
    for (const SettledTask &task : settled) {
        if (task.parentId > 0 && !settledIds.contains(task.parentId))
            childLeft(task.parentId, task.status);
    }
}

void SchedulerEngine::applyHookOutcome(const RunOutcome &outcome)
{
    auto it = m_hooks.find(outcome.id);
    if (it == m_hooks.end() || it->serial != outcome.serial)
        return; // a late report after a timeout was already recorded
    const Active active = std::move(*it);
    m_hooks.erase(it);
    const TaskId id = outcome.id;
    if (outcome.timedOut) {
        const qint64 limit = executorFor(active.record.type)
                                 ? executorFor(active.record.type)->options.hookTimeoutMs
                                 : 0;
        m_store.finishHook(id, CleanupOutcome::TimedOut,
                           QStringLiteral("clean-up did not finish within %1 ms").arg(limit));
    } else if (outcome.result) {
        m_store.finishHook(id, CleanupOutcome::Ok, {});
    } else {
        const TaskError &error = outcome.result.error();
        const ExecutorEntry *entry = executorFor(active.record.type);
        const RetryPolicy policy = entry ? entry->options.hookRetry : RetryPolicy::none();
        const int attempts = m_store.cleanupAttempts(id) + 1;
        if (error.isRetryable() && attempts < policy.maxAttempts && !m_shuttingDown) {
            const qint64 at = now() + policy.delayMs(attempts);
            m_store.scheduleHookRetry(id, attempts, at, error.message);
            noteWake(at);
            event(TaskEvent::Kind::Cancelling, id, active.record.parentId,
                  QStringLiteral("clean-up will retry: %1").arg(error.message));
            return;
        }
        if (error.isRetryable() && m_shuttingDown) {
            m_store.scheduleHookRetry(id, attempts - 1, 0, error.message);
            return; // runs again at the next start
        }
        m_store.finishHook(id, CleanupOutcome::Failed, error.message);
    }
    m_settling.append(id);
}

SchedulerResult<void> SchedulerEngine::pauseGroup(const QString &group)
{
    if (auto ok = requireOpen(); !ok)
        return ok;
    Transaction tx(m_store);
    if (!m_store.pauseGroup(group) || !tx.commit())
        return schedulerError(
            SchedulerError::Code::Storage,
            QStringLiteral("cannot pause %1: %2").arg(group, m_store.lastError()));
    if (!m_pausedGroups.contains(group))
        m_pausedGroups.append(group);
    event(TaskEvent::Kind::Paused, 0, 0, group);
    emit groupPaused(group);
    return {};
}

SchedulerResult<void> SchedulerEngine::resumeGroup(const QString &group)
{
    if (auto ok = requireOpen(); !ok)
        return ok;
    Transaction tx(m_store);
    if (!m_store.resumeGroup(group) || !tx.commit())
        return schedulerError(
            SchedulerError::Code::Storage,
            QStringLiteral("cannot resume %1: %2").arg(group, m_store.lastError()));
    m_pausedGroups.removeAll(group);
    m_dispatchMaybe = true;
    event(TaskEvent::Kind::Resumed, 0, 0, group);
    emit groupResumed(group);
    scheduleFlush();
    return {};
}

SchedulerResult<int> SchedulerEngine::retryCleanupsNow(const QString &group)
{
    if (auto ok = requireOpen(); !ok)
        return std::unexpected(ok.error());
    Transaction tx(m_store);
    const int expedited = m_store.expediteHooks(group);
    if (expedited < 0 || !tx.commit())
        return schedulerError(SchedulerError::Code::Storage, m_store.lastError());
    m_hooksMaybeDue = true;
    scheduleFlush();
    return expedited;
}

SchedulerResult<std::optional<TaskRecord>> SchedulerEngine::task(TaskId id)
{
    if (auto ok = requireOpen(); !ok)
        return std::unexpected(ok.error());
    auto record = m_store.task(id);
    if (record) {
        if (auto it = m_running.constFind(id); it != m_running.constEnd()) {
            record->bytesDone = it->progress->done.load(std::memory_order_relaxed);
            record->bytesTotal = it->progress->total.load(std::memory_order_relaxed);
        }
    }
    return record;
}

SchedulerResult<QList<TaskRecord>> SchedulerEngine::activeTasks(const QString &group, int limit)
{
    if (auto ok = requireOpen(); !ok)
        return std::unexpected(ok.error());
    return m_store.activeTasks(group, limit);
}

SchedulerResult<QHash<QString, QString>> SchedulerEngine::taskState(TaskId id)
{
    if (auto ok = requireOpen(); !ok)
        return std::unexpected(ok.error());
    return m_store.loadState(id);
}

SchedulerResult<QList<HistoryRecord>> SchedulerEngine::history(const HistoryQuery &query)
{
    if (auto ok = requireOpen(); !ok)
        return std::unexpected(ok.error());
    return m_store.history(query);
}

SchedulerResult<SchedulerStats> SchedulerEngine::stats()
{
    if (auto ok = requireOpen(); !ok)
        return std::unexpected(ok.error());
    const auto counts = m_store.countByStatus();
    SchedulerStats stats;
    stats.pending = counts.value(TaskStatus::Pending);
    stats.running = counts.value(TaskStatus::Running);
    stats.waiting = counts.value(TaskStatus::Waiting);
    stats.paused = counts.value(TaskStatus::Paused);
    stats.cancelling = counts.value(TaskStatus::Cancelling);
    stats.history = m_store.historyCount();
    stats.transactions = m_store.commitCount();
    return stats;
}

} // namespace ferry
