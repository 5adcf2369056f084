// SchedulerEngine: submitting tasks and handing them to the worker pools.
#include "SchedulerEngine.h"

#include "EngineLink.h"
#include "SchedulerLog.h"

namespace ferry {

SchedulerResult<void> SchedulerEngine::validate(const QList<TaskSpec> &specs)
{
    QSet<TaskId> checkedParents;
    for (qsizetype i = 0; i < specs.size(); ++i) {
        const TaskSpec &spec = specs[i];
        // Formatted only for an error: a batch of 10,000 valid tasks formats nothing.
        const auto where = [&] {
            return specs.size() > 1 ? QStringLiteral("task %1 of the batch: ").arg(i + 1)
                                    : QString();
        };
        if (spec.type.isEmpty())
            return schedulerError(SchedulerError::Code::InvalidArgument,
                                  where() +
                                      QStringLiteral("the task type is empty: give every task "
                                                     "the type of a registered executor"));
        if (!m_executors.contains(spec.type))
            return schedulerError(SchedulerError::Code::InvalidArgument,
                                  where() + QStringLiteral("unknown task type \"%1\": register an "
                                                           "executor for it before submitting")
                                                .arg(spec.type));
        if (spec.priority < kMostUrgentPriority || spec.priority > kLeastUrgentPriority)
            return schedulerError(SchedulerError::Code::InvalidArgument,
                                  where() + QStringLiteral("priority %1 is out of range: use 0 "
                                                           "(most urgent) to 255")
                                                .arg(spec.priority));
        if (spec.parentId < 0)
            return schedulerError(
                SchedulerError::Code::InvalidArgument,
                where() + QStringLiteral("parent id %1 is negative").arg(spec.parentId));
        if (spec.parentId > 0 && !checkedParents.contains(spec.parentId)) {
            checkedParents.insert(spec.parentId); // one look-up per parent, not per child
            const auto parent = m_store.activeInfo(spec.parentId);
            if (!parent)
                return schedulerError(SchedulerError::Code::InvalidArgument,
                                      where() + QStringLiteral("parent task %1 does not exist (or "
                                                               "already finished): submit children "
                                                               "while their parent is active")
                                                    .arg(spec.parentId));
            if (parent->status == TaskStatus::Cancelling)
                return schedulerError(SchedulerError::Code::InvalidArgument,
                                      where() + QStringLiteral("parent task %1 is being cancelled: "
                                                               "it takes no new children")
                                                    .arg(spec.parentId));
        }
    }
    return {};
}

SchedulerResult<QList<SubmitResult>> SchedulerEngine::submit(QList<TaskSpec> specs)
{
    if (auto ok = requireOpen(); !ok)
        return std::unexpected(ok.error());
    if (auto ok = validate(specs); !ok)
        return std::unexpected(ok.error());
    QList<SubmitResult> results;
    results.reserve(specs.size());
    const int chunk = std::max(1, m_options.submitChunk);
    for (int from = 0; from < specs.size(); from += chunk) {
        const int to = static_cast<int>(std::min<qsizetype>(specs.size(), from + chunk));
        auto part = submitLocked(specs, from, to);
        if (!part)
            return part;
        results.append(*part);
    }
    return results;
}

SchedulerResult<QList<SubmitResult>> SchedulerEngine::submitLocked(QList<TaskSpec> &specs, int from,
                                                                   int to)
{
    QList<SubmitResult> results;
    const qint64 at = now();
    const TaskId firstId = m_lastId;
    const qsizetype firstEvent = m_events.size();
    Transaction tx(m_store);
    if (!tx.isActive())
        return schedulerError(
            SchedulerError::Code::Storage,
            QStringLiteral("cannot write to the database: %1").arg(m_store.lastError()));
    const auto failed = [&] {
        m_lastId = firstId;
        m_events.resize(firstEvent);
        return schedulerError(SchedulerError::Code::Storage,
                              QStringLiteral("cannot store the task: %1").arg(m_store.lastError()));
    };
    QHash<TaskId, QString> parentGroups;
    QList<TaskStore::NewTask> rows;
    rows.reserve(to - from);
    results.reserve(to - from);
    // Room for a Submitted event per task, growing geometrically: an exact reserve on every
    // single submit would copy the list each time.
    if (const qsizetype needed = m_events.size() + (to - from); m_events.capacity() < needed)
        m_events.reserve(std::max(needed, 2 * m_events.capacity()));
    for (int i = from; i < to; ++i) {
        TaskSpec &spec = specs[i];
        if (spec.parentId > 0) {
            if (spec.group.isEmpty()) {
                auto it = parentGroups.find(spec.parentId);
                if (it == parentGroups.end())
                    it = parentGroups.insert(spec.parentId,
                                             m_store.activeInfo(spec.parentId)->group);
                spec.group = *it;
            }
            if (auto running = m_running.find(spec.parentId); running != m_running.end())
                running->mayHaveChildren = true;
        }
        const TaskStatus status =
            m_pausedGroups.contains(spec.group) ? TaskStatus::Paused : TaskStatus::Pending;
        rows.append({&spec, ++m_lastId, status});
    }
    const auto refusedIds = m_store.insertTasks(rows, at);
    if (!refusedIds)
        return failed();
    const QSet<TaskId> refused(refusedIds->cbegin(), refusedIds->cend());
    for (const TaskStore::NewTask &row : rows) {
        const TaskSpec &spec = *row.spec;
        SubmitResult result;
        result.id = row.id;
        if (refused.contains(row.id)) {
            // Its dedup key is taken (by an older task or an earlier one of this batch).
            const auto existing = m_store.findByDedupKey(spec.dedupKey);
            if (!existing)
                return failed();
            if (spec.onDuplicate == DuplicateStrategy::Skip) {
                if (spec.priority < existing->priority)
                    m_store.raisePriority(existing->id, spec.priority);
                results.append({existing->id, SubmitResult::Outcome::Skipped, existing->id, {}});
                continue;
            }
            if (spec.onDuplicate == DuplicateStrategy::Reject) {
                results.append({0, SubmitResult::Outcome::Rejected, existing->id,
                                QStringLiteral("task %1 already holds dedup key \"%2\"")
                                    .arg(existing->id)
                                    .arg(spec.dedupKey)});
                continue;
            }
            const TaskId old = existing->id;
            auto superseded = cancelLocked(
                [this, old] {
                    return m_store.cancelSetAddIds({old}, CancelReason::Superseded,
                                                   HistoryStatus::Superseded);
                },
                CancelReason::Superseded);
            if (!superseded) {
                m_lastId = firstId;
                m_events.resize(firstEvent);
                return std::unexpected(superseded.error());
            }
            // The old task is cancelling now and has released the key.
            if (m_store.insertTask(spec, row.id, row.status, at) !=
                TaskStore::InsertOutcome::Inserted)
                return failed();
            result.outcome = SubmitResult::Outcome::Superseded;
            result.replacedId = old;
        }
        describedEvent(TaskEvent::Kind::Submitted, row.id, spec, at);
        results.append(result);
    }
    if (!tx.commit()) {
        m_lastId = firstId;
        m_events.resize(firstEvent);
        return schedulerError(
            SchedulerError::Code::Storage,
            QStringLiteral("cannot store the tasks: %1").arg(m_store.lastError()));
    }
    m_dispatchMaybe = true;
    for (const auto &result : results) {
        if (result.outcome == SubmitResult::Outcome::Created ||
            result.outcome == SubmitResult::Outcome::Superseded)
            emit taskSubmitted(result.id);
    }
    scheduleFlush();
    return results;
}

SchedulerResult<QList<TaskId>> SchedulerEngine::spawnChildren(TaskId parent,
                                                              QList<TaskSpec> children)
{
    auto it = m_running.constFind(parent);
    if (it != m_running.constEnd() && it->cancelled)
        return schedulerError(
            SchedulerError::Code::InvalidArgument,
            QStringLiteral("task %1 is being cancelled: it takes no new children").arg(parent));
    for (auto &child : children)
        child.parentId = parent;
    auto submitted = submit(std::move(children));
    if (!submitted)
        return std::unexpected(submitted.error());
    QList<TaskId> ids;
    ids.reserve(submitted->size());
    for (const auto &result : *submitted)
        ids.append(result.id);
    return ids;
}

void SchedulerEngine::dispatchLocked()
{
    if (!m_open || m_shuttingDown)
        return;
    if (!m_dispatchMaybe) {
        dispatchHooksLocked();
        return;
    }
    int free = m_options.maxConcurrency - static_cast<int>(m_running.size());
    const qint64 at = now();
    for (int round = 0; free > 0 && round < 4; ++round) {
        QStringList fullGroups, fullTypes;
        for (auto it = m_groupLimits.cbegin(); it != m_groupLimits.cend(); ++it) {
            if (m_runningPerGroup.value(it.key()) >= it.value())
                fullGroups << it.key();
        }
        for (auto it = m_executors.cbegin(); it != m_executors.cend(); ++it) {
            const int limit = it->options.maxConcurrency;
            if (limit > 0 && m_runningPerType.value(it.key()) >= limit)
                fullTypes << it.key();
        }
        const int requested = free;
        const QList<TaskRecord> candidates =
            m_store.pickPending(at, requested, m_types, fullGroups, fullTypes);
        if (candidates.isEmpty())
            break;
        QList<TaskId> accepted;
        for (const TaskRecord &record : candidates) {
            const int groupLimit = m_groupLimits.value(record.group, 0);
            const int typeLimit = m_executors.value(record.type).options.maxConcurrency;
            if ((groupLimit > 0 && m_runningPerGroup.value(record.group) >= groupLimit) ||
                (typeLimit > 0 && m_runningPerType.value(record.type) >= typeLimit))
                continue; // stays pending; a later round or flush takes it
            ++m_runningPerGroup[record.group];
            ++m_runningPerType[record.type];
            accepted.append(record.id);

            Active active;
            active.record = record;
            active.record.status = TaskStatus::Running;
            if (!active.record.startedAt.isValid())
                active.record.startedAt = QDateTime::fromMSecsSinceEpoch(at, Qt::UTC);
            active.phase = record.finalizing ? RunPhase::Finalize : RunPhase::Execute;
            active.serial = ++m_serial;
            active.source = std::make_shared<CancellationSource>();
            active.progress = std::make_shared<TaskProgress>();
            active.progress->done.store(record.bytesDone, std::memory_order_relaxed);
            active.progress->total.store(record.bytesTotal, std::memory_order_relaxed);
            const bool ranBefore =
                record.startedAt.isValid() || record.attempts > 0 || record.finalizing;
            active.mayHaveState = ranBefore;
            active.mayHaveChildren = ranBefore;
            active.firstRun = !ranBefore;

            TaskRun::Setup setup;
            setup.phase = active.phase;
            setup.serial = active.serial;
            setup.record = active.record;
            // A task that never started has no state yet: skip the query.
            if (ranBefore)
                setup.state = m_store.loadState(record.id);
            const ExecutorEntry entry = m_executors.value(record.type);
            setup.executor = entry.executor;
            setup.runOn = entry.options.runOn;
            setup.token = active.source->token();
            setup.progress = active.progress;
            m_toStart.append(new TaskRun(std::move(setup), m_link));
            event(TaskEvent::Kind::Started, active.record);
            m_running.insert(record.id, std::move(active));
        }
        if (!m_store.markRunning(accepted, at))
            qCCritical(lcScheduler) << "cannot mark tasks running:" << m_store.lastError();
        free -= static_cast<int>(accepted.size());
        if (candidates.size() < requested) {
            m_dispatchMaybe = false; // nothing more may run until something changes
            break;
        }
    }
    dispatchHooksLocked();
}

void SchedulerEngine::dispatchHooksLocked()
{
    if (!m_open || m_shuttingDown)
        return;
    if (!m_hooksMaybeDue)
        return;
    const int free = m_options.hookConcurrency - static_cast<int>(m_hooks.size());
    if (free <= 0)
        return;
    const QList<TaskRecord> due = m_store.pickHooks(now(), free);
    if (due.size() < free)
        m_hooksMaybeDue = false;
    for (const TaskRecord &record : due) {
        const ExecutorEntry *entry = executorFor(record.type);
        if (!entry)
            continue; // its executor is not registered (yet): the hook waits for it
        m_store.markHookRunning(record.id);
        Active active;
        active.record = record;
        active.phase = RunPhase::Hook;
        active.serial = ++m_serial;
        active.source = std::make_shared<CancellationSource>();
        active.progress = std::make_shared<TaskProgress>();

        TaskRun::Setup setup;
        setup.phase = RunPhase::Hook;
        setup.serial = active.serial;
        setup.record = record;
        setup.state = m_store.loadState(record.id);
        setup.executor = entry->executor;
        setup.token = active.source->token();
        setup.hookSource = active.source;
        setup.progress = active.progress;
        setup.hookTimeoutMs = entry->options.hookTimeoutMs;
        setup.runOn = entry->options.runOn;
        m_hooksToStart.append(new TaskRun(std::move(setup), m_link));
        m_hooks.insert(record.id, std::move(active));
    }
}

} // namespace ferry
