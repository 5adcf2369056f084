#include "TaskStore.h"

#include "SchedulerLog.h"

#include <QDateTime>
#include <QFileInfo>
#include <QJsonDocument>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlRecord>
#include <QUuid>
#include <QVariant>

#include <sqlite3.h>

namespace ferry {

namespace {

QDateTime fromMs(const QVariant &value)
{
    if (value.isNull())
        return {};
    return QDateTime::fromMSecsSinceEpoch(value.toLongLong(),
                                          Qt::UTC); // UTC: local time stats /etc/localtime per call
}

QVariant nullIfEmpty(const QString &text)
{
    return text.isEmpty() ? QVariant() : QVariant(text);
}

} // namespace

const QString TaskStore::kTaskColumns = QStringLiteral(
    "id, type, grp, dedup_key, label, priority, parent_id, payload, status, finalizing, "
    "child_policy, attempts, created_at, started_at, bytes_done, bytes_total, cancel_reason, "
    "children_cancelled, children_failed");

TaskStore::TaskStore()
    : m_connectionName(QStringLiteral("ferry-scheduler-") +
                       QUuid::createUuid().toString(QUuid::WithoutBraces))
{
}

TaskStore::~TaskStore()
{
    close();
}

bool TaskStore::isOpen() const
{
    return QSqlDatabase::contains(m_connectionName) &&
           QSqlDatabase::database(m_connectionName, false).isOpen();
}

SchedulerResult<void> TaskStore::open(const QString &path)
{
    m_path = path;
    const QFileInfo info(path);
    if (info.exists() && !info.isFile())
        return schedulerError(SchedulerError::Code::Storage,
                              QStringLiteral("%1 is not a file: remove it or choose another data "
                                             "directory with --data-dir")
                                  .arg(path));
    if (info.exists() && !info.isWritable())
        return schedulerError(SchedulerError::Code::Storage,
                              QStringLiteral("database %1 is read-only: make it writable for this "
                                             "user (chmod u+w) or choose another data directory")
                                  .arg(path));
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_connectionName);
        db.setDatabaseName(path);
        db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=5000"));
        if (!db.open()) {
            const QString why = db.lastError().text();
            close();
            return schedulerError(SchedulerError::Code::Storage,
                                  QStringLiteral("cannot open database %1: %2").arg(path, why));
        }
    }
    // The first statement reads the header: a file that is not SQLite fails here.
    QSqlQuery probe(QSqlDatabase::database(m_connectionName));
    if (!probe.exec(QStringLiteral("PRAGMA user_version"))) {
        const QString why = probe.lastError().databaseText();
        close();
        return schedulerError(
            SchedulerError::Code::Storage,
            QStringLiteral("%1 is not a usable SQLite database (%2): move it away or choose "
                           "another data directory with --data-dir")
                .arg(path, why));
    }
    probe.finish(); // an unfinished statement holds a read transaction: WAL cannot switch
    // The write-ahead log is copied back into the file on another thread (WalCheckpointer):
    // SQLite's own checkpoint every 1,000 pages stalled a burst of submits for a third of its
    // time. Its hook replaces SQLite's autocheckpoint, whose bound here applies only while no
    // hook is installed. The file shrinks back to kWalKeptBytes once reused.
    const QStringList pragmas = {
        QStringLiteral("PRAGMA journal_mode=WAL"),
        QStringLiteral("PRAGMA synchronous=NORMAL"),
        QStringLiteral("PRAGMA temp_store=MEMORY"),
        QStringLiteral("PRAGMA cache_size=-16000"),
        QStringLiteral("PRAGMA wal_autocheckpoint=%1").arg(WalCheckpointer::kInlinePages),
        QStringLiteral("PRAGMA journal_size_limit=%1").arg(kWalKeptBytes),
    };
    for (const QString &pragma : pragmas) {
        if (!exec(pragma)) {
            const QString why = m_lastError;
            close();
            return schedulerError(SchedulerError::Code::Storage,
                                  QStringLiteral("cannot prepare database %1: %2").arg(path, why));
        }
    }
    if (auto migrated = migrate(); !migrated) {
        close();
        return migrated;
    }
    m_checkpointer = std::make_unique<WalCheckpointer>(path);
    m_checkpointer->watch(rawHandle());
    return {};
}

void TaskStore::requestCheckpoint()
{
    if (m_checkpointer)
        m_checkpointer->request();
}

void TaskStore::close()
{
    m_checkpointer.reset(); // finishes a copy under way
    m_insertOne.finalize(); // before the connection closes
    m_insertMany.finalize();
    m_statements.clear();
    if (QSqlDatabase::contains(m_connectionName)) {
        QSqlDatabase::database(m_connectionName, false).close();
        QSqlDatabase::removeDatabase(m_connectionName);
    }
}

SchedulerResult<void> TaskStore::migrate()
{
    QSqlQuery version(QSqlDatabase::database(m_connectionName));
    if (!version.exec(QStringLiteral("PRAGMA user_version")) || !version.next())
        return schedulerError(SchedulerError::Code::Storage,
                              QStringLiteral("cannot read the schema version of %1").arg(m_path));
    const int current = version.value(0).toInt();
    version.finish();
    if (current > kSchemaVersion)
        return schedulerError(
            SchedulerError::Code::Storage,
            QStringLiteral("database %1 has schema version %2, newer than this Ferry knows (%3): "
                           "upgrade Ferry or use another data directory")
                .arg(m_path)
                .arg(current)
                .arg(kSchemaVersion));
    if (current == kSchemaVersion)
        return {};

    // Each version's statements, applied in order from the file's version on.
    const QStringList v1 = {
        QStringLiteral(
            "CREATE TABLE tasks ("
            " id INTEGER PRIMARY KEY, type TEXT NOT NULL, grp TEXT NOT NULL, dedup_key TEXT,"
            " label TEXT NOT NULL DEFAULT '', priority INTEGER NOT NULL, parent_id INTEGER,"
            " payload TEXT NOT NULL DEFAULT '{}', status INTEGER NOT NULL,"
            " finalizing INTEGER NOT NULL DEFAULT 0, child_policy INTEGER NOT NULL DEFAULT 0,"
            " attempts INTEGER NOT NULL DEFAULT 0, not_before INTEGER NOT NULL DEFAULT 0,"
            " created_at INTEGER NOT NULL, started_at INTEGER,"
            " bytes_done INTEGER NOT NULL DEFAULT 0, bytes_total INTEGER NOT NULL DEFAULT 0,"
            " in_flight INTEGER NOT NULL DEFAULT 0, cancel_reason TEXT, final_status INTEGER,"
            " hook_pending INTEGER NOT NULL DEFAULT 0, cleanup INTEGER NOT NULL DEFAULT 0,"
            " cleanup_attempts INTEGER NOT NULL DEFAULT 0, error TEXT,"
            " children_cancelled INTEGER NOT NULL DEFAULT 0,"
            " children_failed INTEGER NOT NULL DEFAULT 0)"),
        // Picking the next task walks this index in order: flat from 100 to 1,000,000 pending.
        QStringLiteral("CREATE INDEX tasks_pick ON tasks(priority, id) WHERE status = 0"),
        // Dedup keys are unique among active tasks; a cancelling one has released its key.
        QStringLiteral("CREATE UNIQUE INDEX tasks_dedup ON tasks(dedup_key)"
                       " WHERE dedup_key IS NOT NULL AND status <> 4"),
        QStringLiteral("CREATE INDEX tasks_parent ON tasks(parent_id) WHERE parent_id IS NOT NULL"),
        QStringLiteral("CREATE INDEX tasks_group ON tasks(grp, status)"),
        QStringLiteral("CREATE INDEX tasks_cancelling ON tasks(id) WHERE status = 4"),
        QStringLiteral("CREATE INDEX tasks_in_flight ON tasks(id) WHERE in_flight = 1"),
        QStringLiteral("CREATE TABLE task_state (task_id INTEGER NOT NULL, key TEXT NOT NULL,"
                       " value TEXT NOT NULL, PRIMARY KEY (task_id, key)) WITHOUT ROWID"),
        QStringLiteral(
            "CREATE TABLE history ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT, task_id INTEGER NOT NULL, parent_id INTEGER,"
            " type TEXT NOT NULL, grp TEXT NOT NULL, dedup_key TEXT, label TEXT NOT NULL,"
            " status INTEGER NOT NULL, reason TEXT, cleanup INTEGER NOT NULL DEFAULT 0,"
            " error TEXT, note TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
            " created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER NOT NULL,"
            " bytes INTEGER NOT NULL DEFAULT 0)"),
        QStringLiteral("CREATE INDEX history_finished ON history(finished_at)"),
        QStringLiteral("CREATE TABLE paused_groups (grp TEXT PRIMARY KEY) WITHOUT ROWID"),
    };
    const QStringList v2 = {
        // History filtered by status pages newest-first from this index: a rare status (a
        // few failures among a million rows) no longer scans the whole table for a page.
        QStringLiteral("CREATE INDEX history_status ON history(status, id)"),
    };
    const QList<QStringList> steps = {v1, v2};
    static_assert(kSchemaVersion == 2, "add the new version's statements to `steps`");

    Transaction transaction(*this);
    for (int version = current + 1; version <= kSchemaVersion; ++version) {
        for (const QString &sql : steps.at(version - 1)) {
            if (!exec(sql))
                return schedulerError(SchedulerError::Code::Storage,
                                      QStringLiteral("cannot bring the schema of %1 to version "
                                                     "%2: %3")
                                          .arg(m_path)
                                          .arg(version)
                                          .arg(m_lastError));
        }
    }
    if (!exec(QStringLiteral("PRAGMA user_version = %1").arg(kSchemaVersion)) ||
        !transaction.commit())
        return schedulerError(SchedulerError::Code::Storage,
                              QStringLiteral("cannot write to %1: %2").arg(m_path, m_lastError));
    if (current == 0)
        qCInfo(lcScheduler) << "created scheduler schema version" << kSchemaVersion << "in"
                            << m_path;
    else
        qCInfo(lcScheduler) << "migrated the scheduler schema of" << m_path << "from version"
                            << current << "to" << kSchemaVersion;
    return {};
}

bool TaskStore::exec(QSqlQuery &query)
{
    if (query.exec())
        return true;
    m_transactionFailed = m_inTransaction;
    m_lastError = query.lastError().text();
    qCWarning(lcScheduler) << "SQL failed:" << m_lastError;
    return false;
}

bool TaskStore::exec(const QString &sql)
{
    QSqlQuery query(QSqlDatabase::database(m_connectionName, false));
    if (query.exec(sql))
        return true;
    m_transactionFailed = m_inTransaction;
    m_lastError = query.lastError().text();
    qCWarning(lcScheduler) << "SQL failed:" << m_lastError << sql.left(120);
    return false;
}

QSqlQuery &TaskStore::prepared(const QString &sql)
{
    auto it = m_statements.find(sql);
    if (it == m_statements.end()) {
        auto query = std::make_shared<QSqlQuery>(QSqlDatabase::database(m_connectionName, false));
        query->setForwardOnly(true);
        if (!query->prepare(sql))
            qCWarning(lcScheduler) << "cannot prepare" << sql << query->lastError().text();
        it = m_statements.insert(sql, query);
    }
    QSqlQuery &query = **it;
    query.finish();
    return query;
}

bool TaskStore::begin()
{
    // IMMEDIATE takes the write lock up front, so the busy timeout applies when another
    // connection (the app's own tables live in the same file) is writing. A deferred
    // transaction that reads first and writes later would fail at once with SQLITE_BUSY.
    // For the same reason no cached statement may still hold a read from before: a
    // single-row read that was never stepped to its end keeps an old snapshot, and once the
    // app's connection has written, BEGIN IMMEDIATE on that snapshot fails at once
    // (SQLITE_BUSY_SNAPSHOT) without waiting for the busy timeout.
    for (auto &statement : m_statements)
        statement->finish();
    m_transactionFailed = false;
    m_inTransaction = exec(QStringLiteral("BEGIN IMMEDIATE"));
    return m_inTransaction;
}

bool TaskStore::commit()
{
    for (auto &statement : m_statements)
        statement->finish();
    // A statement that failed inside (disk full, I/O error) may have left half of its
    // changes or none, and SQLite may already have rolled everything back: never commit
    // the rest as if it were whole.
    if (!m_transactionFailed && exec(QStringLiteral("COMMIT"))) {
        m_inTransaction = false;
        ++m_commits;
        return true;
    }
    const QString why = m_lastError;
    qCWarning(lcScheduler) << "commit failed, rolled back:" << why;
    rollback();
    m_lastError = why;
    return false;
}

void TaskStore::rollback()
{
    m_inTransaction = false;
    m_transactionFailed = false;
    for (auto &statement : m_statements)
        statement->finish();
    // After some errors (disk full, I/O) SQLite has rolled back already.
    if (sqlite3 *db = rawHandle(); db && sqlite3_get_autocommit(db))
        return;
    exec(QStringLiteral("ROLLBACK"));
}

sqlite3 *TaskStore::rawHandle() const
{
    const QVariant handle = QSqlDatabase::database(m_connectionName, false).driver()->handle();
    return handle.isValid() && qstrcmp(handle.typeName(), "sqlite3*") == 0
               ? *static_cast<sqlite3 *const *>(handle.constData())
               : nullptr;
}

TaskRecord TaskStore::readRecord(const QSqlQuery &q) const
{
    TaskRecord r;
    r.id = q.value(0).toLongLong();
    r.type = q.value(1).toString();
    r.group = q.value(2).toString();
    r.dedupKey = q.value(3).toString();
    r.label = q.value(4).toString();
    r.priority = q.value(5).toInt();
    r.parentId = q.value(6).toLongLong();
    const QString payload = q.value(7).toString();
    if (payload.size() > 2)
        r.payload = QJsonDocument::fromJson(payload.toUtf8()).object();
    r.status = static_cast<TaskStatus>(q.value(8).toInt());
    r.finalizing = q.value(9).toInt() != 0;
    r.childPolicy = static_cast<ChildPolicy>(q.value(10).toInt());
    r.attempts = q.value(11).toInt();
    r.createdAt = fromMs(q.value(12));
    r.startedAt = fromMs(q.value(13));
    r.bytesDone = q.value(14).toLongLong();
    r.bytesTotal = q.value(15).toLongLong();
    r.cancelReason = q.value(16).toString();
    r.childrenCancelled = q.value(17).toInt();
    r.childrenFailed = q.value(18).toInt();
    return r;
}

TaskId TaskStore::maxTaskId()
{
    QSqlQuery &q = prepared(QStringLiteral("SELECT MAX(COALESCE((SELECT MAX(id) FROM tasks), 0),"
                                           " COALESCE((SELECT MAX(task_id) FROM history), 0))"));
    if (!exec(q) || !q.next())
        return 0;
    return q.value(0).toLongLong();
}

int TaskStore::requeueInFlight()
{
    QSqlQuery &running = prepared(QStringLiteral(
        "UPDATE tasks SET status = 0, in_flight = 0 WHERE in_flight = 1 AND status = 1"));
    if (!exec(running))
        return -1;
    const int requeued = running.numRowsAffected();
    QSqlQuery &rest =
        prepared(QStringLiteral("UPDATE tasks SET in_flight = 0 WHERE in_flight = 1"));
    exec(rest);
    // A crash between dispatch and in_flight cannot leave status running without in_flight,
    // but an older file might: treat it the same way.
    QSqlQuery &stray = prepared(QStringLiteral("UPDATE tasks SET status = 0 WHERE status = 1"));
    exec(stray);
    return requeued + stray.numRowsAffected();
}

QStringList TaskStore::pausedGroups()
{
    QStringList groups;
    QSqlQuery &q = prepared(QStringLiteral("SELECT grp FROM paused_groups"));
    if (exec(q)) {
        while (q.next())
            groups << q.value(0).toString();
    }
    return groups;
}

std::optional<TaskStore::ActiveInfo> TaskStore::findByDedupKey(const QString &dedupKey)
{
    QSqlQuery &q = prepared(QStringLiteral("SELECT id, status, priority, grp FROM tasks"
                                           " WHERE dedup_key = ? AND status <> 4"));
    q.addBindValue(dedupKey);
    if (!exec(q) || !q.next())
        return std::nullopt;
    return ActiveInfo{q.value(0).toLongLong(), static_cast<TaskStatus>(q.value(1).toInt()),
                      q.value(2).toInt(), q.value(3).toString()};
}

std::optional<TaskStore::ActiveInfo> TaskStore::activeInfo(TaskId id)
{
    QSqlQuery &q =
        prepared(QStringLiteral("SELECT id, status, priority, grp FROM tasks WHERE id = ?"));
    q.addBindValue(id);
    if (!exec(q) || !q.next())
        return std::nullopt;
    return ActiveInfo{q.value(0).toLongLong(), static_cast<TaskStatus>(q.value(1).toInt()),
                      q.value(2).toInt(), q.value(3).toString()};
}

bool TaskStore::raisePriority(TaskId id, int priority)
{
    QSqlQuery &q = prepared(QStringLiteral(
        "UPDATE tasks SET priority = ? WHERE id = ? AND priority > ? AND status IN (0, 3)"));
    q.addBindValue(priority);
    q.addBindValue(id);
    q.addBindValue(priority);
    return exec(q);
}

QList<TaskRecord> TaskStore::pickPending(qint64 now, int limit, const QStringList &types,
                                         const QStringList &excludedGroups,
                                         const QStringList &excludedTypes)
{
    QList<TaskRecord> picked;
    if (limit <= 0 || types.isEmpty())
        return picked;
    auto placeholders = [](qsizetype n) {
        QStringList marks(n, QStringLiteral("?"));
        return marks.join(QLatin1Char(','));
    };
    QString sql = QStringLiteral("SELECT ") + kTaskColumns +
                  QStringLiteral(" FROM tasks WHERE status = 0 AND not_before <= ? AND type IN (") +
                  placeholders(types.size()) + QLatin1Char(')');
    if (!excludedGroups.isEmpty())
        sql += QStringLiteral(" AND grp NOT IN (") + placeholders(excludedGroups.size()) +
               QLatin1Char(')');
    if (!excludedTypes.isEmpty())
        sql += QStringLiteral(" AND type NOT IN (") + placeholders(excludedTypes.size()) +
               QLatin1Char(')');
    sql += QStringLiteral(" ORDER BY priority, id LIMIT ?");
    QSqlQuery &q = prepared(sql);
    q.addBindValue(now);
    for (const auto &type : types)
        q.addBindValue(type);
    for (const auto &group : excludedGroups)
        q.addBindValue(group);
    for (const auto &type : excludedTypes)
        q.addBindValue(type);
    q.addBindValue(limit);
    if (!exec(q))
        return picked;
    while (q.next())
        picked.append(readRecord(q));
    return picked;
}

QString TaskStore::idArray(const QList<TaskId> &ids)
{
    QString json;
    json.reserve(ids.size() * 8 + 2);
    json += QLatin1Char('[');
    for (qsizetype i = 0; i < ids.size(); ++i) {
        if (i > 0)
            json += QLatin1Char(',');
        json += QString::number(ids[i]);
    }
    json += QLatin1Char(']');
    return json;
}

bool TaskStore::markRunning(const QList<TaskId> &ids, qint64 now)
{
    if (ids.isEmpty())
        return true;
    // One statement for the whole batch: the ids travel as one JSON array.
    QSqlQuery &q = prepared(QStringLiteral(
        "UPDATE tasks SET status = 1, in_flight = 1, started_at = COALESCE(started_at, ?)"
        " WHERE id IN (SELECT value FROM json_each(?))"));
    q.addBindValue(now);
    q.addBindValue(idArray(ids));
    return exec(q);
}

bool TaskStore::finishCompleted(const QList<TaskId> &ids, qint64 now)
{
    if (ids.isEmpty())
        return true;
    const QString array = idArray(ids);
    QSqlQuery &insert = prepared(QStringLiteral(
        "INSERT INTO history (task_id, parent_id, type, grp, dedup_key, label, status, reason,"
        " cleanup, error, note, attempts, created_at, started_at, finished_at, bytes)"
        " SELECT id, parent_id, type, grp, dedup_key, label, 0, NULL, 0, NULL,"
        " CASE WHEN children_cancelled + children_failed > 0 THEN"
        "  children_cancelled || ' children cancelled, ' || children_failed || ' children failed'"
        " END, attempts, created_at, started_at, ?, bytes_done"
        " FROM tasks WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id"));
    insert.addBindValue(now);
    insert.addBindValue(array);
    QSqlQuery &state = prepared(
        QStringLiteral("DELETE FROM task_state WHERE task_id IN (SELECT value FROM json_each(?))"));
    state.addBindValue(array);
    QSqlQuery &remove =
        prepared(QStringLiteral("DELETE FROM tasks WHERE id IN (SELECT value FROM json_each(?))"));
    remove.addBindValue(array);
    return exec(insert) && exec(state) && exec(remove);
}

bool TaskStore::forgetStart(TaskId id)
{
    QSqlQuery &q = prepared(QStringLiteral(
        "UPDATE tasks SET started_at = NULL, hook_pending = CASE WHEN EXISTS (SELECT 1 FROM"
        " task_state s WHERE s.task_id = tasks.id) THEN hook_pending ELSE 0 END WHERE id = ?"));
    q.addBindValue(id);
    return exec(q);
}

bool TaskStore::setBytesDone(TaskId id, qint64 bytes)
{
    QSqlQuery &q = prepared(QStringLiteral("UPDATE tasks SET bytes_done = ? WHERE id = ?"));
    q.addBindValue(bytes);
    q.addBindValue(id);
    return exec(q);
}

QHash<QString, QString> TaskStore::loadState(TaskId id)
{
    QHash<QString, QString> state;
    QSqlQuery &q = prepared(QStringLiteral("SELECT key, value FROM task_state WHERE task_id = ?"));
    q.addBindValue(id);
    if (exec(q)) {
        while (q.next())
            state.insert(q.value(0).toString(), q.value(1).toString());
    }
    return state;
}

bool TaskStore::writeState(TaskId id, const QString &key, const std::optional<QString> &value)
{
    if (value) {
        QSqlQuery &q = prepared(
            QStringLiteral("INSERT INTO task_state (task_id, key, value) VALUES (?, ?, ?)"
                           " ON CONFLICT(task_id, key) DO UPDATE SET value = excluded.value"));
        q.addBindValue(id);
        q.addBindValue(key);
        q.addBindValue(*value);
        return exec(q);
    }
    QSqlQuery &q = prepared(QStringLiteral("DELETE FROM task_state WHERE task_id = ? AND key = ?"));
    q.addBindValue(id);
    q.addBindValue(key);
    return exec(q);
}

int TaskStore::countChildren(TaskId id)
{
    QSqlQuery &q = prepared(QStringLiteral("SELECT COUNT(*) FROM tasks WHERE parent_id = ?"));
    q.addBindValue(id);
    if (!exec(q) || !q.next())
        return 0;
    return q.value(0).toInt();
}

QList<TaskId> TaskStore::childIds(TaskId id)
{
    QList<TaskId> ids;
    QSqlQuery &q =
        prepared(QStringLiteral("SELECT id FROM tasks WHERE parent_id = ? AND status <> 4"));
    q.addBindValue(id);
    if (exec(q)) {
        while (q.next())
            ids.append(q.value(0).toLongLong());
    }
    return ids;
}

bool TaskStore::setStatus(TaskId id, TaskStatus status, bool finalizing, qint64 bytesDone)
{
    QSqlQuery &q = prepared(
        QStringLiteral("UPDATE tasks SET status = ?, finalizing = ?, in_flight = 0,"
                       " bytes_done = CASE WHEN ? >= 0 THEN ? ELSE bytes_done END WHERE id = ?"));
    q.addBindValue(static_cast<int>(status));
    q.addBindValue(finalizing ? 1 : 0);
    q.addBindValue(bytesDone);
    q.addBindValue(bytesDone);
    q.addBindValue(id);
    return exec(q);
}

bool TaskStore::scheduleRetry(TaskId id, int attempts, qint64 notBefore, const QString &error)
{
    QSqlQuery &q = prepared(QStringLiteral(
        "UPDATE tasks SET status = CASE WHEN grp IN (SELECT grp FROM paused_groups) THEN 3 ELSE 0"
        " END, attempts = ?, not_before = ?, error = ?, in_flight = 0 WHERE id = ?"));
    q.addBindValue(attempts);
    q.addBindValue(notBefore);
    q.addBindValue(error);
    q.addBindValue(id);
    return exec(q);
}

bool TaskStore::finishTask(TaskId id, const TaskEnding &ending, qint64 now, bool mayHaveState)
{
    QSqlQuery &insert = prepared(QStringLiteral(
        "INSERT INTO history (task_id, parent_id, type, grp, dedup_key, label, status, reason,"
        " cleanup, error, note, attempts, created_at, started_at, finished_at, bytes)"
        " SELECT id, parent_id, type, grp, dedup_key, label, ?, ?, ?, ?,"
        " CASE WHEN children_cancelled + children_failed > 0 THEN"
        "  children_cancelled || ' children cancelled, ' || children_failed || ' children failed'"
        " END, attempts, created_at, started_at, ?, CASE WHEN ? >= 0 THEN ? ELSE bytes_done END"
        " FROM tasks WHERE id = ?"));
    insert.addBindValue(static_cast<int>(ending.status));
    insert.addBindValue(nullIfEmpty(ending.reason));
    insert.addBindValue(static_cast<int>(ending.cleanup));
    insert.addBindValue(nullIfEmpty(ending.error));
    insert.addBindValue(now);
    insert.addBindValue(ending.bytes);
    insert.addBindValue(ending.bytes);
    insert.addBindValue(id);
    if (!exec(insert))
        return false;
    if (mayHaveState) {
        QSqlQuery &state = prepared(QStringLiteral("DELETE FROM task_state WHERE task_id = ?"));
        state.addBindValue(id);
        if (!exec(state))
            return false;
    }
    QSqlQuery &remove = prepared(QStringLiteral("DELETE FROM tasks WHERE id = ?"));
    remove.addBindValue(id);
    return exec(remove);
}

bool TaskStore::addChildOutcomes(TaskId parent, int cancelled, int failed)
{
    QSqlQuery &q =
        prepared(QStringLiteral("UPDATE tasks SET children_cancelled = children_cancelled + ?,"
                                " children_failed = children_failed + ? WHERE id = ?"));
    q.addBindValue(cancelled);
    q.addBindValue(failed);
    q.addBindValue(parent);
    return exec(q);
}

std::optional<qint64> TaskStore::earliestNotBefore(qint64 after)
{
    // Only times still ahead: a due task that waits for a slot must not hide a later one.
    QSqlQuery &q = prepared(
        QStringLiteral("SELECT MIN(not_before) FROM tasks WHERE not_before > ? AND (status = 0 OR"
                       " (status = 4 AND hook_pending = 1))"));
    q.addBindValue(after);
    if (!exec(q) || !q.next() || q.value(0).isNull())
        return std::nullopt;
    return q.value(0).toLongLong();
}

std::optional<TaskRecord> TaskStore::task(TaskId id)
{
    QSqlQuery &q = prepared(QStringLiteral("SELECT ") + kTaskColumns +
                            QStringLiteral(" FROM tasks WHERE id = ?"));
    q.addBindValue(id);
    if (!exec(q) || !q.next())
        return std::nullopt;
    return readRecord(q);
}

} // namespace ferry
