// The cancellation half of TaskStore: cancel sets, settling, clean-up hooks, pause.
#include "TaskStore.h"

#include <QVariant>

namespace ferry {

bool TaskStore::cancelSetReset()
{
    // running: an executor still runs it; hook: its clean-up is due; stays: it must stop or
    // clean up before its history row, so it becomes `cancelling` instead of going at once.
    return exec(QStringLiteral(
               "CREATE TEMP TABLE IF NOT EXISTS cancel_set ("
               " id INTEGER PRIMARY KEY, parent_id INTEGER, reason TEXT NOT NULL,"
               " final_status INTEGER NOT NULL, previous_status INTEGER,"
               " running INTEGER NOT NULL DEFAULT 0, hook INTEGER NOT NULL DEFAULT 0,"
               " stays INTEGER NOT NULL DEFAULT 0)")) &&
           exec(QStringLiteral("DELETE FROM temp.cancel_set"));
}

bool TaskStore::cancelSetAddIds(const QList<TaskId> &ids, const QString &reason,
                                HistoryStatus finalStatus)
{
    QSqlQuery &q = prepared(QStringLiteral(
        "INSERT OR IGNORE INTO temp.cancel_set (id, parent_id, reason, final_status, "
        "previous_status)"
        " SELECT id, parent_id, ?, ?, status FROM tasks WHERE id = ? AND status <> 4"));
    for (TaskId id : ids) {
        q.addBindValue(reason);
        q.addBindValue(static_cast<int>(finalStatus));
        q.addBindValue(id);
        if (!exec(q))
            return false;
    }
    return true;
}

bool TaskStore::cancelSetAddWhere(const QString &column, const QString &value,
                                  const QString &reason)
{
    Q_ASSERT(column == QLatin1String("grp") || column == QLatin1String("type"));
    QSqlQuery &q = prepared(
        QStringLiteral("INSERT OR IGNORE INTO temp.cancel_set (id, parent_id, reason, final_status,"
                       " previous_status) SELECT id, parent_id, ?, 2, status FROM tasks WHERE ") +
        column + QStringLiteral(" = ? AND status <> 4"));
    q.addBindValue(reason);
    q.addBindValue(value);
    return exec(q);
}

bool TaskStore::cancelSetClose()
{
    // Down: every descendant, at any depth. Up: each parent that does not tolerate a
    // cancelled child follows it. Repeat, since a parent pulled in brings its other children.
    // CROSS JOIN keeps the (small) set as the outer loop over the (large) tasks table.
    // The recursion starts from the members' children, so members without children cost one
    // index probe each and nothing is inserted twice.
    QSqlQuery &down = prepared(QStringLiteral(
        "WITH RECURSIVE d(id) AS (SELECT t.id FROM temp.cancel_set c CROSS JOIN tasks t"
        " ON t.parent_id = c.id"
        " UNION SELECT t.id FROM d CROSS JOIN tasks t ON t.parent_id = d.id)"
        " INSERT OR IGNORE INTO temp.cancel_set (id, parent_id, reason, final_status, "
        "previous_status)"
        " SELECT t.id, t.parent_id, 'parent', 2, t.status FROM d CROSS JOIN tasks t ON t.id = d.id"
        " WHERE t.status <> 4"));
    QSqlQuery &up = prepared(QStringLiteral(
        "INSERT OR IGNORE INTO temp.cancel_set (id, parent_id, reason, final_status, "
        "previous_status)"
        " SELECT DISTINCT p.id, p.parent_id, 'child', 2, p.status FROM temp.cancel_set c"
        " CROSS JOIN tasks p ON p.id = c.parent_id"
        " WHERE p.status <> 4 AND (p.child_policy & 1) = 0"));
    for (int round = 0; round < 1000; ++round) {
        if (!exec(down))
            return false;
        if (!exec(up))
            return false;
        if (up.numRowsAffected() <= 0)
            return true;
    }
    return true;
}

std::optional<QList<TaskId>> TaskStore::cancelSetRunning(const QList<TaskId> &running)
{
    QList<TaskId> members;
    if (running.isEmpty())
        return members;
    const QString ids = idArray(running);
    QSqlQuery &mark = prepared(QStringLiteral(
        "UPDATE temp.cancel_set SET running = 1 WHERE id IN (SELECT value FROM json_each(?))"));
    mark.addBindValue(ids);
    QSqlQuery &list = prepared(QStringLiteral("SELECT id FROM temp.cancel_set WHERE running = 1"));
    if (!exec(mark) || !exec(list))
        return std::nullopt;
    while (list.next())
        members.append(list.value(0).toLongLong());
    return members;
}

std::optional<QList<CancelSetEntry>> TaskStore::cancelSetApply(const QStringList &hookTypes,
                                                               qint64 now, int *hooksDue)
{
    *hooksDue = 0;
    if (!hookTypes.isEmpty()) {
        QStringList marks(hookTypes.size(), QStringLiteral("?"));
        QSqlQuery &hooks = prepared(
            QStringLiteral(
                "UPDATE temp.cancel_set SET hook = 1 WHERE id IN (SELECT t.id FROM"
                " temp.cancel_set c CROSS JOIN tasks t ON t.id = c.id WHERE t.type IN (") +
            marks.join(QLatin1Char(',')) +
            QStringLiteral(") AND (t.started_at IS NOT NULL OR EXISTS (SELECT 1 FROM task_state s"
                           " WHERE s.task_id = t.id)))"));
        for (const auto &type : hookTypes)
            hooks.addBindValue(type);
        if (!exec(hooks))
            return std::nullopt;
        *hooksDue = hooks.numRowsAffected();
    }
    QSqlQuery &stays = prepared(QStringLiteral(
        "UPDATE temp.cancel_set SET stays = 1 WHERE running = 1 OR hook = 1"
        " OR EXISTS (SELECT 1 FROM tasks k WHERE k.parent_id = temp.cancel_set.id)"));
    QSqlQuery &mark = prepared(
        QStringLiteral("UPDATE tasks SET status = 4, not_before = 0, cancel_reason = c.reason,"
                       " final_status = c.final_status, hook_pending = c.hook"
                       " FROM temp.cancel_set c WHERE c.id = tasks.id AND c.stays = 1"));
    QSqlQuery &members = prepared(QStringLiteral(
        "SELECT id, parent_id, reason, final_status, stays FROM temp.cancel_set ORDER BY id"));
    QSqlQuery &history = prepared(QStringLiteral(
        "INSERT INTO history (task_id, parent_id, type, grp, dedup_key, label, status, reason,"
        " cleanup, error, note, attempts, created_at, started_at, finished_at, bytes)"
        " SELECT t.id, t.parent_id, t.type, t.grp, t.dedup_key, t.label, c.final_status, c.reason,"
        " 0, t.error, NULL, t.attempts, t.created_at, t.started_at, ?, t.bytes_done"
        " FROM temp.cancel_set c CROSS JOIN tasks t ON t.id = c.id WHERE c.stays = 0 ORDER BY "
        "c.id"));
    if (!exec(stays) || !exec(mark) || !exec(members))
        return std::nullopt;
    QList<CancelSetEntry> entries;
    QString reason; // most members share one reason: keep one string for all of them
    while (members.next()) {
        const QString text = members.value(2).toString();
        if (text != reason)
            reason = text;
        entries.append({members.value(0).toLongLong(), members.value(1).toLongLong(), reason,
                        static_cast<HistoryStatus>(members.value(3).toInt()),
                        members.value(4).toInt() != 0});
    }
    members.finish();
    history.addBindValue(now);
    if (!exec(history) ||
        !exec(QStringLiteral("DELETE FROM task_state WHERE task_id IN"
                             " (SELECT id FROM temp.cancel_set WHERE stays = 0)")) ||
        !exec(QStringLiteral("DELETE FROM tasks WHERE id IN"
                             " (SELECT id FROM temp.cancel_set WHERE stays = 0)")))
        return std::nullopt;
    return entries;
}

QList<SettledTask> TaskStore::settleCancelSet(qint64 now)
{
    if (!exec(QStringLiteral("CREATE TEMP TABLE IF NOT EXISTS settle_candidates"
                             " (id INTEGER PRIMARY KEY)")) ||
        !exec(QStringLiteral("DELETE FROM temp.settle_candidates")) ||
        !exec(QStringLiteral("INSERT INTO temp.settle_candidates"
                             " SELECT id FROM temp.cancel_set WHERE stays = 1")))
        return {};
    return settleCandidatesTable(now);
}

bool TaskStore::markFailing(TaskId id, const QString &error, bool hookDue)
{
    QSqlQuery &q = prepared(QStringLiteral(
        "UPDATE tasks SET status = 4, final_status = 1, cancel_reason = 'failed', error = ?,"
        " hook_pending = ?, not_before = 0 WHERE id = ?"));
    q.addBindValue(error);
    q.addBindValue(hookDue ? 1 : 0);
    q.addBindValue(id);
    return exec(q);
}

QList<SettledTask> TaskStore::settle(const QList<TaskId> &candidates, qint64 now)
{
    if (!candidates.isEmpty() && candidates.size() <= 16)
        return settleFew(candidates, now);
    if (!exec(QStringLiteral("CREATE TEMP TABLE IF NOT EXISTS settle_candidates"
                             " (id INTEGER PRIMARY KEY)")) ||
        !exec(QStringLiteral("DELETE FROM temp.settle_candidates")))
        return {};
    if (candidates.isEmpty()) {
        exec(QStringLiteral(
            "INSERT INTO temp.settle_candidates SELECT id FROM tasks WHERE status = 4"));
    } else {
        QSqlQuery &add = prepared(QStringLiteral(
            "INSERT OR IGNORE INTO temp.settle_candidates SELECT value FROM json_each(?)"));
        add.addBindValue(idArray(candidates));
        if (!exec(add))
            return {};
    }
    return settleCandidatesTable(now);
}

// The common case (one task stopped, one hook done) without temporary tables.
QList<SettledTask> TaskStore::settleFew(const QList<TaskId> &candidates, qint64 now)
{
    QList<SettledTask> settled;
    QSqlQuery &ready = prepared(QStringLiteral(
        "SELECT parent_id, COALESCE(final_status, 2), cancel_reason, cleanup FROM tasks t"
        " WHERE id = ? AND status = 4 AND hook_pending = 0 AND in_flight = 0"
        " AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.parent_id = t.id)"));
    QSqlQuery &history = prepared(QStringLiteral(
        "INSERT INTO history (task_id, parent_id, type, grp, dedup_key, label, status, reason,"
        " cleanup, error, note, attempts, created_at, started_at, finished_at, bytes)"
        " SELECT id, parent_id, type, grp, dedup_key, label, COALESCE(final_status, 2),"
        " cancel_reason, cleanup, error,"
        " CASE WHEN children_cancelled + children_failed > 0 THEN"
        "  children_cancelled || ' children cancelled, ' || children_failed || ' children failed'"
        " END, attempts, created_at, started_at, ?, bytes_done FROM tasks WHERE id = ?"));
    QSqlQuery &state = prepared(QStringLiteral("DELETE FROM task_state WHERE task_id = ?"));
    QSqlQuery &remove = prepared(QStringLiteral("DELETE FROM tasks WHERE id = ?"));
    QList<TaskId> queue = candidates;
    while (!queue.isEmpty()) {
        const TaskId id = queue.takeFirst();
        ready.addBindValue(id);
        if (!exec(ready) || !ready.next())
            continue;
        const SettledTask task{
            id, ready.value(0).toLongLong(), static_cast<HistoryStatus>(ready.value(1).toInt()),
            ready.value(2).toString(), static_cast<CleanupOutcome>(ready.value(3).toInt())};
        ready.finish();
        history.addBindValue(now);
        history.addBindValue(id);
        state.addBindValue(id);
        remove.addBindValue(id);
        if (!exec(history) || !exec(state) || !exec(remove))
            return settled;
        settled.append(task);
        if (task.parentId > 0 && !queue.contains(task.parentId))
            queue.append(task.parentId); // a cancelling parent may be free to go now
    }
    return settled;
}

QList<SettledTask> TaskStore::settleCandidatesTable(qint64 now)
{
    QList<SettledTask> settled;
    exec(QStringLiteral("CREATE TEMP TABLE IF NOT EXISTS settle_now (id INTEGER PRIMARY KEY)"));
    QSqlQuery &pick = prepared(QStringLiteral(
        "INSERT INTO temp.settle_now SELECT t.id FROM temp.settle_candidates c"
        " CROSS JOIN tasks t ON t.id = c.id WHERE t.status = 4 AND t.hook_pending = 0"
        " AND t.in_flight = 0 AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.parent_id = t.id)"));
    QSqlQuery &list = prepared(QStringLiteral("SELECT t.id, t.parent_id, t.final_status, "
                                              "t.cancel_reason, t.cleanup FROM temp.settle_now n"
                                              " JOIN tasks t ON t.id = n.id"));
    QSqlQuery &history = prepared(QStringLiteral(
        "INSERT INTO history (task_id, parent_id, type, grp, dedup_key, label, status, reason,"
        " cleanup, error, note, attempts, created_at, started_at, finished_at, bytes)"
        " SELECT id, parent_id, type, grp, dedup_key, label, COALESCE(final_status, 2),"
        " cancel_reason, cleanup, error,"
        " CASE WHEN children_cancelled + children_failed > 0 THEN"
        "  children_cancelled || ' children cancelled, ' || children_failed || ' children failed'"
        " END, attempts, created_at, started_at, ?, bytes_done"
        " FROM tasks WHERE id IN (SELECT id FROM temp.settle_now) ORDER BY id"));
    QSqlQuery &nextRound = prepared(QStringLiteral(
        "INSERT OR IGNORE INTO temp.settle_candidates SELECT DISTINCT t.parent_id"
        " FROM temp.settle_now n CROSS JOIN tasks t ON t.id = n.id WHERE t.parent_id IS NOT NULL"));
    // One round per tree level: leaves first, then the parents they unblocked.
    for (;;) {
        exec(QStringLiteral("DELETE FROM temp.settle_now"));
        if (!exec(pick))
            return settled;
        if (pick.numRowsAffected() <= 0)
            break;
        if (!exec(list))
            return settled;
        while (list.next()) {
            settled.append(
                {list.value(0).toLongLong(), list.value(1).toLongLong(),
                 static_cast<HistoryStatus>(list.value(2).isNull() ? 2 : list.value(2).toInt()),
                 list.value(3).toString(), static_cast<CleanupOutcome>(list.value(4).toInt())});
        }
        list.finish();
        history.addBindValue(now);
        if (!exec(history) || !exec(nextRound))
            return settled;
        exec(QStringLiteral("DELETE FROM temp.settle_candidates WHERE id IN"
                            " (SELECT id FROM temp.settle_now)"));
        if (!exec(QStringLiteral(
                "DELETE FROM task_state WHERE task_id IN (SELECT id FROM temp.settle_now)")) ||
            !exec(QStringLiteral("DELETE FROM tasks WHERE id IN (SELECT id FROM temp.settle_now)")))
            return settled;
    }
    return settled;
}

QList<TaskRecord> TaskStore::pickHooks(qint64 now, int limit)
{
    QList<TaskRecord> picked;
    QSqlQuery &q = prepared(
        QStringLiteral("SELECT ") + kTaskColumns +
        QStringLiteral(" FROM tasks t WHERE status = 4 AND hook_pending = 1 AND in_flight = 0"
                       " AND not_before <= ?"
                       " AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.parent_id = t.id)"
                       " ORDER BY id LIMIT ?"));
    q.addBindValue(now);
    q.addBindValue(limit);
    if (!exec(q))
        return picked;
    while (q.next())
        picked.append(readRecord(q));
    return picked;
}

bool TaskStore::markHookRunning(TaskId id)
{
    QSqlQuery &q = prepared(QStringLiteral("UPDATE tasks SET in_flight = 1 WHERE id = ?"));
    q.addBindValue(id);
    return exec(q);
}

bool TaskStore::finishHook(TaskId id, CleanupOutcome outcome, const QString &error)
{
    QSqlQuery &q =
        prepared(QStringLiteral("UPDATE tasks SET hook_pending = 0, in_flight = 0, cleanup = ?,"
                                " error = CASE WHEN ? IS NULL THEN error ELSE ? END WHERE id = ?"));
    q.addBindValue(static_cast<int>(outcome));
    const QVariant errorValue = error.isEmpty() ? QVariant() : QVariant(error);
    q.addBindValue(errorValue);
    q.addBindValue(errorValue);
    q.addBindValue(id);
    return exec(q);
}

bool TaskStore::scheduleHookRetry(TaskId id, int cleanupAttempts, qint64 notBefore,
                                  const QString &error)
{
    QSqlQuery &q = prepared(QStringLiteral(
        "UPDATE tasks SET cleanup_attempts = ?, not_before = ?, in_flight = 0, error = ?"
        " WHERE id = ?"));
    q.addBindValue(cleanupAttempts);
    q.addBindValue(notBefore);
    q.addBindValue(error);
    q.addBindValue(id);
    return exec(q);
}

int TaskStore::cleanupAttempts(TaskId id)
{
    QSqlQuery &q = prepared(QStringLiteral("SELECT cleanup_attempts FROM tasks WHERE id = ?"));
    q.addBindValue(id);
    if (!exec(q) || !q.next())
        return 0;
    return q.value(0).toInt();
}

int TaskStore::expediteHooks(const QString &group)
{
    QSqlQuery &q = prepared(QStringLiteral(
        "UPDATE tasks SET not_before = 0 WHERE status = 4 AND hook_pending = 1 AND not_before > 0"
        " AND (? = '' OR grp = ?)"));
    const QString anyGroup = group.isNull() ? QStringLiteral("") : group; // null binds as NULL
    q.addBindValue(anyGroup);
    q.addBindValue(anyGroup);
    if (!exec(q))
        return -1;
    return q.numRowsAffected();
}

bool TaskStore::pauseGroup(const QString &group)
{
    QSqlQuery &mark = prepared(QStringLiteral("INSERT OR IGNORE INTO paused_groups VALUES (?)"));
    mark.addBindValue(group);
    QSqlQuery &hold =
        prepared(QStringLiteral("UPDATE tasks SET status = 3 WHERE grp = ? AND status = 0"));
    hold.addBindValue(group);
    return exec(mark) && exec(hold);
}

bool TaskStore::resumeGroup(const QString &group)
{
    QSqlQuery &unmark = prepared(QStringLiteral("DELETE FROM paused_groups WHERE grp = ?"));
    unmark.addBindValue(group);
    QSqlQuery &release =
        prepared(QStringLiteral("UPDATE tasks SET status = 0 WHERE grp = ? AND status = 3"));
    release.addBindValue(group);
    return exec(unmark) && exec(release);
}

} // namespace ferry
