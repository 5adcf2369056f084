// The read-side queries of TaskStore: active tasks, history, counts and retention.
#include "TaskStore.h"

#include <QDateTime>
#include <QVariant>

namespace ferry {

QList<TaskRecord> TaskStore::activeTasks(const QString &group, int limit)
{
    QList<TaskRecord> tasks;
    QSqlQuery &q =
        prepared(QStringLiteral("SELECT ") + kTaskColumns +
                 QStringLiteral(" FROM tasks WHERE (? = '' OR grp = ?) ORDER BY id LIMIT ?"));
    const QString anyGroup = group.isNull() ? QStringLiteral("") : group; // null binds as NULL
    q.addBindValue(anyGroup);
    q.addBindValue(anyGroup);
    q.addBindValue(limit);
    if (!exec(q))
        return tasks;
    while (q.next())
        tasks.append(readRecord(q));
    return tasks;
}

HistoryRecord TaskStore::readHistory(const QSqlQuery &q) const
{
    auto time = [](const QVariant &v) {
        return v.isNull() ? QDateTime() : QDateTime::fromMSecsSinceEpoch(v.toLongLong(), Qt::UTC);
    };
    HistoryRecord h;
    h.id = q.value(0).toLongLong();
    h.taskId = q.value(1).toLongLong();
    h.parentId = q.value(2).toLongLong();
    h.type = q.value(3).toString();
    h.group = q.value(4).toString();
    h.dedupKey = q.value(5).toString();
    h.label = q.value(6).toString();
    h.status = static_cast<HistoryStatus>(q.value(7).toInt());
    h.reason = q.value(8).toString();
    h.cleanup = static_cast<CleanupOutcome>(q.value(9).toInt());
    h.error = q.value(10).toString();
    h.note = q.value(11).toString();
    h.attempts = q.value(12).toInt();
    h.createdAt = time(q.value(13));
    h.startedAt = time(q.value(14));
    h.finishedAt = time(q.value(15));
    h.bytes = q.value(16).toLongLong();
    return h;
}

QList<HistoryRecord> TaskStore::history(const HistoryQuery &query)
{
    QString sql = QStringLiteral(
        "SELECT id, task_id, parent_id, type, grp, dedup_key, label, status, reason, cleanup,"
        " error, note, attempts, created_at, started_at, finished_at, bytes FROM history WHERE 1");
    QVariantList binds;
    if (query.status) {
        sql += QStringLiteral(" AND status = ?");
        binds << static_cast<int>(*query.status);
    }
    if (!query.group.isEmpty()) {
        sql += QStringLiteral(" AND grp = ?");
        binds << query.group;
    }
    if (!query.type.isEmpty()) {
        sql += QStringLiteral(" AND type = ?");
        binds << query.type;
    }
    if (!query.dedupKeyPrefix.isEmpty()) {
        // substr keeps '%' and '_' in keys literal, unlike LIKE.
        sql += QStringLiteral(" AND substr(dedup_key, 1, ?) = ?");
        binds << query.dedupKeyPrefix.size() << query.dedupKeyPrefix;
    }
    if (!query.reason.isEmpty()) {
        sql += QStringLiteral(" AND reason = ?");
        binds << query.reason;
    }
    if (query.cleanup) {
        sql += QStringLiteral(" AND cleanup = ?");
        binds << static_cast<int>(*query.cleanup);
    }
    if (query.finishedAfter.isValid()) {
        sql += QStringLiteral(" AND finished_at >= ?");
        binds << query.finishedAfter.toMSecsSinceEpoch();
    }
    if (query.finishedBefore.isValid()) {
        sql += QStringLiteral(" AND finished_at < ?");
        binds << query.finishedBefore.toMSecsSinceEpoch();
    }
    if (query.beforeId > 0) {
        sql += QStringLiteral(" AND id < ?");
        binds << query.beforeId;
    }
    sql += QStringLiteral(" ORDER BY id DESC LIMIT ?");
    binds << query.limit;

    QList<HistoryRecord> rows;
    QSqlQuery &q = prepared(sql);
    for (const auto &value : binds)
        q.addBindValue(value);
    if (!exec(q))
        return rows;
    while (q.next())
        rows.append(readHistory(q));
    return rows;
}

qint64 TaskStore::historyCount()
{
    QSqlQuery &q = prepared(QStringLiteral("SELECT COUNT(*) FROM history"));
    if (!exec(q) || !q.next())
        return 0;
    return q.value(0).toLongLong();
}

int TaskStore::pruneHistory(qint64 keepRows)
{
    QSqlQuery &q = prepared(QStringLiteral(
        "DELETE FROM history WHERE id <= (SELECT id FROM history ORDER BY id DESC LIMIT 1"
        " OFFSET ?)"));
    q.addBindValue(keepRows);
    if (!exec(q))
        return -1;
    return q.numRowsAffected();
}

QHash<TaskStatus, qint64> TaskStore::countByStatus()
{
    QHash<TaskStatus, qint64> counts;
    QSqlQuery &q = prepared(QStringLiteral("SELECT status, COUNT(*) FROM tasks GROUP BY status"));
    if (!exec(q))
        return counts;
    while (q.next())
        counts.insert(static_cast<TaskStatus>(q.value(0).toInt()), q.value(1).toLongLong());
    return counts;
}

} // namespace ferry
