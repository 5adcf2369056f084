#pragma once

#include "SchedulerError.h"
#include "SqliteStatement.h"
#include "TaskRecord.h"
#include "TaskSpec.h"
#include "TaskTypes.h"
#include "WalCheckpointer.h"

#include <QHash>
#include <QList>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QString>
#include <QStringList>

#include <memory>
#include <optional>

namespace ferry {

/// How a task leaves the active table for its history row.
struct TaskEnding {
    HistoryStatus status = HistoryStatus::Completed;
    QString reason;
    CleanupOutcome cleanup = CleanupOutcome::None;
    QString error;
    qint64 bytes = -1; ///< -1: keep the row's bytes_done.
};

/// A task that settle() moved to history, for the scheduler's signals and parent logic.
struct SettledTask {
    TaskId id = 0;
    TaskId parentId = 0;
    HistoryStatus status = HistoryStatus::Cancelled;
    QString reason;
    CleanupOutcome cleanup = CleanupOutcome::None;
};

/// A member of a cancel set, with its status before the cancel.
struct CancelSetEntry {
    TaskId id = 0;
    TaskId parentId = 0;
    QString reason;
    HistoryStatus finalStatus = HistoryStatus::Cancelled;
    bool stays = false; ///< Became `cancelling` (must stop or clean up) instead of leaving at once.
};

/**
 * All of the scheduler's SQL: the active `tasks` table, `task_state`, `history` and
 * `paused_groups` in one SQLite file (WAL). Used only on the scheduler's thread.
 * Write methods expect the caller to hold a transaction (see Transaction).
 */
class TaskStore {
public:
    static constexpr int kSchemaVersion = 2;

    TaskStore();
    ~TaskStore();
    TaskStore(const TaskStore &) = delete;
    TaskStore &operator=(const TaskStore &) = delete;

    /// Opens (creating if needed) and migrates the database; checks it is writable.
    SchedulerResult<void> open(const QString &path);
    void close();
    [[nodiscard]] bool isOpen() const;
    [[nodiscard]] QString path() const { return m_path; }

    bool begin();
    bool commit();
    void rollback();
    /// Has the write-ahead log copied back into the database file, on another thread (see
    /// WalCheckpointer); returns at once. The engine asks when writes pause; under writes that
    /// go on, the store's commits ask once the log holds WalCheckpointer::kBackgroundPages.
    void requestCheckpoint();
    static constexpr qint64 kWalKeptBytes = 16 * 1024 * 1024; // the log file's size once reused
    /// Transactions committed since open (benchmarks prove one cancel is one transaction).
    [[nodiscard]] qint64 commitCount() const { return m_commits; }
    /// The last SQL error, phrased for a person.
    [[nodiscard]] QString lastError() const { return m_lastError; }

    // --- start-up and shut-down
    [[nodiscard]] TaskId maxTaskId();
    /// Marks every in-flight task as not in flight; running tasks become pending again.
    int requeueInFlight();
    [[nodiscard]] QStringList pausedGroups();

    // --- submit
    struct ActiveInfo {
        TaskId id = 0;
        TaskStatus status = TaskStatus::Pending;
        int priority = 0;
        QString group;
    };
    [[nodiscard]] std::optional<ActiveInfo> findByDedupKey(const QString &dedupKey);
    [[nodiscard]] std::optional<ActiveInfo> activeInfo(TaskId id);
    enum class InsertOutcome { Inserted, Duplicate, Failed };
    /// Inserts unless an active task (not cancelling) holds the same dedup key.
    InsertOutcome insertTask(const TaskSpec &spec, TaskId id, TaskStatus status, qint64 now);
    /// A task for insertTasks(): the spec, its id and its first status.
    struct NewTask {
        const TaskSpec *spec = nullptr;
        TaskId id = 0;
        TaskStatus status = TaskStatus::Pending;
    };
    /// Inserts many tasks (the caller holds the transaction). Yields the ids refused because
    /// an active task holds their dedup key; nullopt on a SQL error.
    [[nodiscard]] std::optional<QList<TaskId>> insertTasks(const QList<NewTask> &tasks, qint64 now);
    bool raisePriority(TaskId id, int priority);

    // --- dispatch and results
    [[nodiscard]] QList<TaskRecord> pickPending(qint64 now, int limit, const QStringList &types,
                                                const QStringList &excludedGroups,
                                                const QStringList &excludedTypes);
    bool markRunning(const QList<TaskId> &ids, qint64 now);
    /// Moves completed tasks to history in one statement each for history, state and tasks.
    bool finishCompleted(const QList<TaskId> &ids, qint64 now);
    bool setBytesDone(TaskId id, qint64 bytes);
    /// Undoes the start of a task whose executor was never called; its hook is then owed
    /// only if it holds state.
    bool forgetStart(TaskId id);
    [[nodiscard]] QHash<QString, QString> loadState(TaskId id);
    bool writeState(TaskId id, const QString &key, const std::optional<QString> &value);
    [[nodiscard]] int countChildren(TaskId id);
    /// Children of `id` that are not already cancelling.
    [[nodiscard]] QList<TaskId> childIds(TaskId id);
    bool setStatus(TaskId id, TaskStatus status, bool finalizing, qint64 bytesDone = -1);
    bool scheduleRetry(TaskId id, int attempts, qint64 notBefore, const QString &error);
    bool finishTask(TaskId id, const TaskEnding &ending, qint64 now, bool mayHaveState = true);
    bool addChildOutcomes(TaskId parent, int cancelled, int failed);
    /// The earliest retry or clean-up time after `after` (ms since the epoch).
    [[nodiscard]] std::optional<qint64> earliestNotBefore(qint64 after);
    [[nodiscard]] std::optional<TaskRecord> task(TaskId id);

    // --- cancellation
    bool cancelSetReset();
    bool cancelSetAddIds(const QList<TaskId> &ids, const QString &reason,
                         HistoryStatus finalStatus = HistoryStatus::Cancelled);
    /// Adds active tasks whose `column` (grp or type) equals `value`.
    bool cancelSetAddWhere(const QString &column, const QString &value, const QString &reason);
    /// Adds descendants (reason parent) and the ancestors that do not tolerate a cancelled
    /// child (reason child), repeatedly, until the set is closed.
    bool cancelSetClose();
    /// Of `running` (the ids executors run now), the members of the set; they are noted so
    /// they stop before anything else happens.
    [[nodiscard]] std::optional<QList<TaskId>> cancelSetRunning(const QList<TaskId> &running);
    /// Marks `cancelling` the members that must stop or clean up first (running, a hook of
    /// `hookTypes` due because it started or holds state, or children left) and moves every
    /// other member straight to history. Yields every member, in id order; nullopt on a SQL
    /// error. `hooksDue` counts the members whose clean-up hook is now owed.
    [[nodiscard]] std::optional<QList<CancelSetEntry>> cancelSetApply(const QStringList &hookTypes,
                                                                      qint64 now, int *hooksDue);
    /// settle() over the members that stayed.
    [[nodiscard]] QList<SettledTask> settleCancelSet(qint64 now);
    /// Marks one task as failing: it ends Failed once stopped and cleaned up.
    bool markFailing(TaskId id, const QString &error, bool hookDue);
    /// Moves to history every cancelling task among `candidates` (and, repeatedly, their
    /// cancelling parents) that is not in flight, has no due hook and no children left.
    /// With no candidates, considers every cancelling task.
    [[nodiscard]] QList<SettledTask> settle(const QList<TaskId> &candidates, qint64 now);
    [[nodiscard]] QList<TaskRecord> pickHooks(qint64 now, int limit);
    bool markHookRunning(TaskId id);
    bool finishHook(TaskId id, CleanupOutcome outcome, const QString &error);
    bool scheduleHookRetry(TaskId id, int cleanupAttempts, qint64 notBefore, const QString &error);
    [[nodiscard]] int cleanupAttempts(TaskId id);
    /// Makes the group's waiting clean-ups due now (the endpoint came back).
    int expediteHooks(const QString &group);

    // --- pause
    bool pauseGroup(const QString &group);
    bool resumeGroup(const QString &group);

    // --- queries
    [[nodiscard]] QList<TaskRecord> activeTasks(const QString &group = {}, int limit = -1);
    [[nodiscard]] QList<HistoryRecord> history(const HistoryQuery &query);
    [[nodiscard]] qint64 historyCount();
    int pruneHistory(qint64 keepRows);
    [[nodiscard]] QHash<TaskStatus, qint64> countByStatus();

private:
    bool exec(QSqlQuery &query);
    bool exec(const QString &sql);
    QSqlQuery &prepared(const QString &sql);
    SchedulerResult<void> migrate();
    /// The columns readRecord() expects, in order.
    static const QString kTaskColumns;
    TaskRecord readRecord(const QSqlQuery &query) const;
    HistoryRecord readHistory(const QSqlQuery &query) const;
    QList<SettledTask> settleCandidatesTable(qint64 now);
    QList<SettledTask> settleFew(const QList<TaskId> &candidates, qint64 now);
    static QString idArray(const QList<TaskId> &ids);

    QString m_connectionName;
    QString m_path;
    /// The connection's SQLite handle (for the raw insert statement and transaction state).
    [[nodiscard]] sqlite3 *rawHandle() const;

    QString m_lastError;
    qint64 m_commits = 0;
    bool m_inTransaction = false;
    bool m_transactionFailed = false; ///< A statement failed since begin(): commit refuses.
    // Values are pointers so references stay valid while the cache grows.
    QHash<QString, std::shared_ptr<QSqlQuery>> m_statements;
    // The submit loop, on the raw handle (see SqliteStatement): rows go in kRowsPerStatement
    // at a time, the rest one by one (TaskStoreInsert.cpp).
    SqliteStatement m_insertOne;
    SqliteStatement m_insertMany;
    std::unique_ptr<WalCheckpointer> m_checkpointer;
    [[nodiscard]] bool prepareInserts();
};

/// RAII transaction: rolls back unless commit() was called.
class Transaction {
public:
    explicit Transaction(TaskStore &store) : m_store(store), m_active(store.begin()) {}
    ~Transaction()
    {
        if (m_active)
            m_store.rollback();
    }
    [[nodiscard]] bool isActive() const { return m_active; }
    bool commit()
    {
        if (!m_active)
            return false;
        m_active = false;
        return m_store.commit();
    }

private:
    TaskStore &m_store;
    bool m_active;
};

} // namespace ferry
