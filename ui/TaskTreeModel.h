#pragma once

#include "TaskDisplayStatus.h"
#include "scheduler/TaskEvent.h"
#include "scheduler/TaskRecord.h"

#include <QAbstractItemModel>
#include <QElapsedTimer>
#include <QHash>
#include <QPointer>
#include <QSet>
#include <QTimer>

#include <memory>
#include <vector>

namespace ferry {

class Scheduler;

/**
 * The live tree of tasks: sync runs (roots) → files (children) → parts (grandchildren).
 *
 * Fed only by Scheduler::eventsBatch (plus one asynchronous snapshot of the active tasks when
 * attached): the UI thread never queries the database. Each batch is applied with as few
 * signals as possible — one beginInsertRows per parent for its new children (appended, so
 * they are one contiguous run), one dataChanged per parent spanning the rows that changed —
 * and the model is never reset. Look-ups id → node are O(1).
 *
 * Finished tasks stay with their final status; setMaxFinishedRoots() prunes the oldest
 * finished roots (and their subtrees) beyond a limit.
 *
 * Progress of a task with children is the sum of its children's (so a sync run shows the
 * bytes of its files, a multipart upload those of its parts); a leaf shows its own.
 * Throughput is smoothed from the progress timestamps; ETA = bytes left / throughput. A task
 * whose bytes have not moved for kStallMs shows no throughput (the scheduler reports changes
 * only, so a stalled transfer would otherwise keep its last speed).
 */
class TaskTreeModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Column {
        LabelColumn,
        StatusColumn,
        ProgressColumn,
        BytesColumn,
        ThroughputColumn,
        EtaColumn,
        ColumnCount,
    };

    enum Role {
        TaskIdRole = Qt::UserRole + 1, ///< TaskId (qint64).
        StatusRole,                    ///< TaskDisplayStatus as int.
        ProgressRole,                  ///< Percent 0..100, or -1 when unknown.
        BytesDoneRole,
        BytesTotalRole,
        ThroughputRole, ///< Bytes per second (double), 0 when idle.
        EtaRole,        ///< Seconds left (qint64), -1 when unknown.
        DetailRole,     ///< Error, cancel reason or retry error.
        CleanupRole,    ///< CleanupOutcome as int.
        GroupRole,
        DedupKeyRole,
        TypeRole,
    };

    static constexpr int kStallMs = 3000;

    explicit TaskTreeModel(QObject *parent = nullptr);
    ~TaskTreeModel() override;

    /**
     * Follows `scheduler`'s eventsBatch. With `loadSnapshot`, first asks (asynchronously) for
     * the active tasks and paused groups; batches arriving meanwhile are held and applied
     * after the snapshot, so nothing is lost or applied out of order.
     */
    void attach(Scheduler *scheduler, bool loadSnapshot = true);

    /// Prunes the oldest finished roots beyond `count` (0, the default: keep all).
    void setMaxFinishedRoots(int count);
    [[nodiscard]] int maxFinishedRoots() const { return m_maxFinishedRoots; }

    /// The index (column 0) of task `id`, invalid when the model does not hold it.
    [[nodiscard]] QModelIndex indexOf(TaskId id) const;
    [[nodiscard]] TaskId taskId(const QModelIndex &index) const;
    /// How many tasks (nodes at every depth) the model holds.
    [[nodiscard]] qsizetype taskCount() const { return m_nodes.size(); }
    /// Whether the attach-time snapshot is still awaited.
    [[nodiscard]] bool isLoadingSnapshot() const { return m_awaitingSnapshot; }

    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    bool hasChildren(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

public slots:
    /// Applies one batch of scheduler events (what eventsBatch delivers).
    void applyEvents(const ferry::TaskEvents &events);

signals:
    /// The attach-time snapshot was applied (or failed: then `error` says why).
    void snapshotLoaded(const QString &error);
    /// A batch was applied; `changedTasks` counts the tasks it touched.
    void batchApplied(int changedTasks);

private:
    struct Node;

    Node *nodeFor(const QModelIndex &index) const;
    QModelIndex indexFor(const Node *node, int column = 0) const;
    void applySnapshot(const QList<TaskRecord> &records, const QStringList &pausedGroups);
    void applyNow(const TaskEvents &events);
    void insertNewNodes(std::vector<std::unique_ptr<Node>> created);
    void addChild(Node *parent, std::unique_ptr<Node> child);
    void applyEvent(Node *node, const TaskEvent &event, qint64 nowMs);
    void setGroupPaused(const QString &group, bool paused);
    void setOwnBytes(Node *node, qint64 done, qint64 total);
    void propagate(Node *node, qint64 deltaDone, qint64 deltaTotal);
    void touch(Node *node);
    void sampleRates(qint64 nowMs);
    void decayRates();
    void emitChanges();
    void pruneFinishedRoots();
    void forget(Node *node);

    std::vector<std::unique_ptr<Node>> m_roots;
    QHash<TaskId, Node *> m_nodes;
    QSet<QString> m_pausedGroups;
    QHash<Node *, std::pair<int, int>> m_changedRows; ///< parent (null: root) → changed rows
    std::vector<Node *> m_touched;                    ///< nodes whose bytes changed this batch
    QList<TaskId> m_finishedRoots;                    ///< finishing order, for pruning
    int m_maxFinishedRoots = 0;
    QPointer<Scheduler> m_scheduler;
    bool m_awaitingSnapshot = false;
    QList<TaskEvents> m_heldBatches;
    qint64 m_batch = 0;    ///< Counts applied batches (a node knows the one it was born in).
    QElapsedTimer m_clock; ///< The model's own clock, for stalls (event times may be any base).
    QSet<Node *> m_moving; ///< Nodes showing a throughput, watched for stalls.
    QTimer m_decayTimer;   ///< Zeroes the throughput of nodes whose bytes stopped moving.
};

} // namespace ferry
