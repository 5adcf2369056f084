// Inserting submitted tasks: the store's hottest loop, on the raw SQLite handle.
#include "TaskStore.h"

#include <QJsonDocument>
#include <QSqlQuery>
#include <QVariant>

namespace ferry {

namespace {

constexpr int kColumns = 12;
// Rows per multi-row INSERT. Each statement run has a fixed cost (step, reset, opening the
// table's and the indexes' cursors) that one row per run pays in full; 100 rows share it
// (5% fewer instructions per task than 32 rows; 1,200 parameters, far below SQLite's limit).
constexpr int kRowsPerStatement = 100;

QByteArray insertSql(int rows)
{
    QByteArray sql = "INSERT INTO tasks (id, type, grp, dedup_key, label, priority, parent_id,"
                     " payload, status, child_policy, created_at, bytes_total) VALUES ";
    for (int row = 0; row < rows; ++row)
        sql += row == 0 ? "(?,?,?,?,?,?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?,?,?,?,?,?)";
    // ON CONFLICT: a duplicate dedup key costs no separate look-up on the common path.
    sql += " ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL AND status <> 4 DO NOTHING";
    return sql;
}

QByteArray payloadText(const QJsonObject &payload)
{
    if (payload.isEmpty())
        return QByteArrayLiteral("{}");
    return QJsonDocument(payload).toJson(QJsonDocument::Compact);
}

/// Binds one task to the parameters from `first` on.
void bindTask(SqliteStatement &insert, int first, const TaskStore::NewTask &task, qint64 now)
{
    const TaskSpec &spec = *task.spec;
    insert.bind(first, task.id);
    insert.bind(first + 1, spec.type);
    insert.bind(first + 2, spec.group);
    if (spec.dedupKey.isEmpty())
        insert.bindNull(first + 3);
    else
        insert.bind(first + 3, spec.dedupKey);
    insert.bind(first + 4, spec.label);
    insert.bind(first + 5, qint64(spec.priority));
    if (spec.parentId > 0)
        insert.bind(first + 6, spec.parentId);
    else
        insert.bindNull(first + 6);
    insert.bindUtf8(first + 7, payloadText(spec.payload));
    insert.bind(first + 8, qint64(task.status));
    insert.bind(first + 9, qint64(spec.childPolicy));
    insert.bind(first + 10, now);
    insert.bind(first + 11, spec.bytesTotal);
}

} // namespace

bool TaskStore::prepareInserts()
{
    if (m_insertOne.isPrepared())
        return true;
    if (m_insertOne.prepare(rawHandle(), insertSql(1).constData()) &&
        m_insertMany.prepare(rawHandle(), insertSql(kRowsPerStatement).constData()))
        return true;
    m_lastError = m_insertOne.isPrepared() ? m_insertMany.lastError() : m_insertOne.lastError();
    m_insertOne.finalize();
    return false;
}

TaskStore::InsertOutcome TaskStore::insertTask(const TaskSpec &spec, TaskId id, TaskStatus status,
                                               qint64 now)
{
    if (!prepareInserts())
        return InsertOutcome::Failed;
    bindTask(m_insertOne, 1, {&spec, id, status}, now);
    if (!m_insertOne.step()) {
        m_transactionFailed = m_inTransaction;
        m_lastError = m_insertOne.lastError();
        return InsertOutcome::Failed;
    }
    return m_insertOne.changes() > 0 ? InsertOutcome::Inserted : InsertOutcome::Duplicate;
}

std::optional<QList<TaskId>> TaskStore::insertTasks(const QList<NewTask> &tasks, qint64 now)
{
    if (!prepareInserts())
        return std::nullopt;
    QList<TaskId> refused;
    qsizetype next = 0;
    while (next < tasks.size()) {
        const bool many = tasks.size() - next >= kRowsPerStatement;
        SqliteStatement &insert = many ? m_insertMany : m_insertOne;
        const int rows = many ? kRowsPerStatement : 1;
        for (int row = 0; row < rows; ++row)
            bindTask(insert, row * kColumns + 1, tasks.at(next + row), now);
        if (!insert.step()) {
            m_transactionFailed = m_inTransaction;
            m_lastError = insert.lastError();
            return std::nullopt;
        }
        if (insert.changes() < rows) {
            // An active task holds the dedup key of some of these rows (possibly an earlier row
            // of this batch): the rows that are not in the table were refused.
            for (int row = 0; row < rows; ++row) {
                const TaskId id = tasks.at(next + row).id;
                QSqlQuery &exists = prepared(QStringLiteral("SELECT 1 FROM tasks WHERE id = ?"));
                exists.addBindValue(id);
                if (!exec(exists))
                    return std::nullopt;
                if (!exists.next())
                    refused.append(id);
            }
        }
        next += rows;
    }
    return refused;
}

} // namespace ferry
