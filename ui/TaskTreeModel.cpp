#include "TaskTreeModel.h"

#include "UiLog.h"
#include "WhenReady.h"
#include "scheduler/Scheduler.h"

#include <QDateTime>
#include <QLocale>

#include <algorithm>
#include <unordered_map>

namespace ferry {

struct TaskTreeModel::Node {
    TaskId id = 0;
    TaskId parentId = 0;
    Node *parent = nullptr; ///< null for a root
    int row = 0;            ///< Position among its parent's children (or the roots).
    std::vector<std::unique_ptr<Node>> children;
    QString label;
    QString type;
    QString group;
    QString dedupKey;
    QString detail;
    TaskDisplayStatus status = TaskDisplayStatus::Pending;
    CleanupOutcome cleanup = CleanupOutcome::None;
    qint64 ownDone = 0;
    qint64 ownTotal = 0;
    qint64 aggDone = 0; ///< Sum of the children's shown bytes.
    qint64 aggTotal = 0;
    double rate = 0; ///< Smoothed bytes per second.
    qint64 sampleMs = 0;
    qint64 sampleDone = 0;
    qint64 movedAtMs = 0; ///< On the model's clock: when its bytes last moved.
    qint64 bornBatch = 0;
    bool attached = false; ///< Reachable from the roots (the views know it).
    bool linked = false;   ///< In its parent's children (or the roots), perhaps not yet shown.
    bool touched = false;  ///< In m_touched for this batch.

    [[nodiscard]] qint64 done() const { return children.empty() ? ownDone : aggDone; }
    [[nodiscard]] qint64 total() const { return children.empty() ? ownTotal : aggTotal; }
    [[nodiscard]] int percent() const
    {
        if (status == TaskDisplayStatus::Completed)
            return 100;
        const qint64 t = total();
        if (t <= 0)
            return -1;
        return static_cast<int>(std::clamp<qint64>(done() * 100 / t, 0, 100));
    }
    [[nodiscard]] qint64 etaSeconds() const
    {
        if (isFinished(status) || rate <= 0 || total() <= done())
            return -1;
        return static_cast<qint64>((total() - done()) / rate);
    }
};

namespace {

QString formatDuration(qint64 seconds)
{
    if (seconds >= 3600)
        return TaskTreeModel::tr("%1 h %2 min").arg(seconds / 3600).arg(seconds % 3600 / 60);
    if (seconds >= 60)
        return TaskTreeModel::tr("%1 min %2 s").arg(seconds / 60).arg(seconds % 60);
    return TaskTreeModel::tr("%1 s").arg(seconds);
}

bool isTerminal(TaskEvent::Kind kind)
{
    return kind == TaskEvent::Kind::Completed || kind == TaskEvent::Kind::Failed ||
           kind == TaskEvent::Kind::Cancelled || kind == TaskEvent::Kind::Superseded;
}

} // namespace

TaskTreeModel::TaskTreeModel(QObject *parent) : QAbstractItemModel(parent)
{
    m_clock.start();
    m_decayTimer.setInterval(1000);
    connect(&m_decayTimer, &QTimer::timeout, this, &TaskTreeModel::decayRates);
}

TaskTreeModel::~TaskTreeModel() = default;

void TaskTreeModel::attach(Scheduler *scheduler, bool loadSnapshot)
{
    if (m_scheduler)
        disconnect(m_scheduler, nullptr, this, nullptr);
    m_scheduler = scheduler;
    if (!scheduler)
        return;
    connect(scheduler, &Scheduler::eventsBatch, this, [this](const TaskEvents &events) {
        if (m_awaitingSnapshot)
            m_heldBatches.append(events);
        else
            applyNow(events);
    });
    if (!loadSnapshot)
        return;
    m_awaitingSnapshot = true;
    // Events stamped before this moment are already reflected in the snapshot: the
    // scheduler answers on its own thread, after whatever produced them committed.
    const qint64 requestedAt = QDateTime::currentMSecsSinceEpoch();
    auto finish = [this, requestedAt](const QString &error) {
        m_awaitingSnapshot = false;
        const auto held = std::exchange(m_heldBatches, {});
        for (const TaskEvents &batch : held) {
            TaskEvents fresh;
            fresh.reserve(batch.size());
            for (const TaskEvent &e : batch) {
                if (e.timestampMs >= requestedAt)
                    fresh.append(e);
            }
            if (!fresh.isEmpty())
                applyNow(fresh);
        }
        if (!error.isEmpty())
            qCWarning(lcUi) << "task snapshot failed:" << error;
        emit snapshotLoaded(error);
    };
    whenReady(scheduler->pausedGroups(), this, [this, finish](const QStringList &paused) {
        if (!m_scheduler) {
            finish(tr("the scheduler is gone"));
            return;
        }
        whenReady(m_scheduler->activeTasks(), this,
                  [this, paused, finish](const SchedulerResult<QList<TaskRecord>> &result) {
                      if (!result) {
                          finish(result.error().message);
                          return;
                      }
                      applySnapshot(*result, paused);
                      finish({});
                  });
    });
}

void TaskTreeModel::applySnapshot(const QList<TaskRecord> &records, const QStringList &pausedGroups)
{
    for (const QString &group : pausedGroups)
        m_pausedGroups.insert(group);
    const qint64 at = QDateTime::currentMSecsSinceEpoch();
    TaskEvents events;
    events.reserve(records.size() * 2);
    for (const TaskRecord &record : records) { // ordered by id: parents before children
        const TaskEvent e = describedTaskEvent(TaskEvent::Kind::Submitted, record.id, record, at);
        events.append(e);
        TaskEvent state = e;
        switch (record.status) {
        case TaskStatus::Pending:
            continue;
        case TaskStatus::Running:
            state.kind = TaskEvent::Kind::Started;
            break;
        case TaskStatus::Waiting:
            state.kind = TaskEvent::Kind::Waiting;
            break;
        case TaskStatus::Paused:
            state.kind = TaskEvent::Kind::Paused; // with an id: this task, not a group
            break;
        case TaskStatus::Cancelling:
            state.kind = TaskEvent::Kind::Cancelling;
            state.detail = record.cancelReason;
            break;
        }
        events.append(state);
        if (record.bytesDone > 0) {
            TaskEvent progress = e;
            progress.kind = TaskEvent::Kind::Progress;
            progress.bytesDone = record.bytesDone;
            events.append(progress);
        }
    }
    applyNow(events);
}

void TaskTreeModel::setMaxFinishedRoots(int count)
{
    m_maxFinishedRoots = std::max(0, count);
    pruneFinishedRoots();
}

void TaskTreeModel::applyEvents(const TaskEvents &events)
{
    applyNow(events);
}

void TaskTreeModel::applyNow(const TaskEvents &events)
{
    ++m_batch;
    // Structure first: every new task, grouped per parent so each parent gets one insert.
    std::vector<std::unique_ptr<Node>> created;
    QHash<TaskId, Node *> newNodes;
    for (const TaskEvent &e : events) {
        if (e.kind != TaskEvent::Kind::Submitted || e.id == 0 || m_nodes.contains(e.id) ||
            newNodes.contains(e.id))
            continue;
        Node *parent = nullptr;
        if (e.parentId != 0) {
            parent = m_nodes.value(e.parentId, nullptr);
            if (!parent)
                parent = newNodes.value(e.parentId, nullptr);
            if (!parent) {
                qCDebug(lcUi) << "task" << e.id << "has unknown parent" << e.parentId;
                continue;
            }
        }
        auto node = std::make_unique<Node>();
        node->id = e.id;
        node->parentId = e.parentId;
        node->parent = parent;
        node->bornBatch = m_batch;
        node->label = e.label;
        node->type = e.type;
        node->group = e.group;
        node->dedupKey = e.dedupKey;
        node->ownTotal = std::max<qint64>(0, e.bytesTotal);
        node->status = m_pausedGroups.contains(e.group) ? TaskDisplayStatus::Paused
                                                        : TaskDisplayStatus::Pending;
        newNodes.insert(e.id, node.get());
        created.push_back(std::move(node));
    }
    if (!created.empty())
        insertNewNodes(std::move(created));

    qint64 nowMs = 0;
    for (const TaskEvent &e : events) {
        nowMs = std::max(nowMs, e.timestampMs);
        if (e.id == 0) {
            if (e.kind == TaskEvent::Kind::Paused || e.kind == TaskEvent::Kind::Resumed)
                setGroupPaused(e.detail, e.kind == TaskEvent::Kind::Paused);
            continue;
        }
        if (Node *node = m_nodes.value(e.id, nullptr))
            applyEvent(node, e, e.timestampMs);
    }
    if (nowMs == 0)
        nowMs = QDateTime::currentMSecsSinceEpoch();
    const int changed = static_cast<int>(m_touched.size());
    sampleRates(nowMs);
    emitChanges();
    pruneFinishedRoots();
    emit batchApplied(changed);
}

void TaskTreeModel::insertNewNodes(std::vector<std::unique_ptr<Node>> created)
{
    // New children of known (attached) parents, in arrival order per parent.
    std::unordered_map<Node *, std::vector<std::unique_ptr<Node>>> byParent;
    std::vector<Node *> parents;
    for (auto &node : created) {
        m_nodes.insert(node->id, node.get());
        Node *parent = node->parent;
        if (parent && !parent->attached) {
            addChild(parent, std::move(node)); // arrives with its (new) parent
            continue;
        }
        auto &list = byParent[parent];
        if (list.empty())
            parents.push_back(parent);
        list.push_back(std::move(node));
    }
    for (Node *parent : parents) {
        auto &fresh = byParent[parent];
        const int first =
            parent ? static_cast<int>(parent->children.size()) : static_cast<int>(m_roots.size());
        const int last = first + static_cast<int>(fresh.size()) - 1;
        beginInsertRows(indexFor(parent), first, last);
        std::vector<Node *> inserted;
        inserted.reserve(fresh.size());
        for (auto &node : fresh) {
            inserted.push_back(node.get());
            if (parent) {
                addChild(parent, std::move(node));
            } else {
                node->row = static_cast<int>(m_roots.size());
                node->linked = true;
                m_roots.push_back(std::move(node));
            }
        }
        // Everything below the inserted rows becomes visible with them.
        std::vector<Node *> stack = inserted;
        while (!stack.empty()) {
            Node *n = stack.back();
            stack.pop_back();
            n->attached = true;
            for (auto &child : n->children)
                stack.push_back(child.get());
        }
        endInsertRows();
    }
}

void TaskTreeModel::addChild(Node *parent, std::unique_ptr<Node> child)
{
    const qint64 beforeDone = parent->done();
    const qint64 beforeTotal = parent->total();
    child->row = static_cast<int>(parent->children.size());
    child->linked = true;
    parent->aggDone += child->done();
    parent->aggTotal += child->total();
    parent->children.push_back(std::move(child));
    touch(parent);
    // A parent still waiting to be linked brings its whole sum along when it is.
    if (parent->linked)
        propagate(parent->parent, parent->done() - beforeDone, parent->total() - beforeTotal);
}

void TaskTreeModel::applyEvent(Node *node, const TaskEvent &e, qint64 atMs)
{
    using Kind = TaskEvent::Kind;
    const bool wasFinished = isFinished(node->status);
    if (wasFinished && !isTerminal(e.kind) && e.kind != Kind::Submitted)
        return; // a finished task never becomes active again (e.g. a stale held event)
    auto setStatus = [&](TaskDisplayStatus status) {
        if (node->status != status) {
            node->status = status;
            touch(node);
        }
    };
    switch (e.kind) {
    case Kind::Submitted:
        if (node->bornBatch == m_batch)
            break; // described when it was created
        if (!e.label.isEmpty())
            node->label = e.label;
        if (!e.type.isEmpty())
            node->type = e.type;
        if (!e.group.isEmpty())
            node->group = e.group;
        if (!e.dedupKey.isEmpty())
            node->dedupKey = e.dedupKey;
        if (e.bytesTotal > 0 && node->ownTotal == 0)
            setOwnBytes(node, node->ownDone, e.bytesTotal);
        touch(node);
        break;
    case Kind::Started:
        node->detail.clear();
        setStatus(TaskDisplayStatus::Running);
        node->sampleMs = atMs;
        node->sampleDone = node->done();
        break;
    case Kind::Progress:
        setOwnBytes(node, e.bytesDone, e.bytesTotal > 0 ? e.bytesTotal : node->ownTotal);
        break;
    case Kind::Waiting:
        setStatus(TaskDisplayStatus::Waiting);
        break;
    case Kind::Retrying:
        node->detail = e.detail;
        setStatus(TaskDisplayStatus::Retrying);
        touch(node);
        break;
    case Kind::Paused:
        setStatus(TaskDisplayStatus::Paused);
        break;
    case Kind::Resumed:
        setStatus(TaskDisplayStatus::Pending);
        break;
    case Kind::Cancelling:
        node->detail = e.detail;
        setStatus(TaskDisplayStatus::Cancelling);
        touch(node);
        break;
    case Kind::Completed:
        if (node->children.empty() && node->ownTotal > 0)
            setOwnBytes(node, node->ownTotal, node->ownTotal);
        setStatus(TaskDisplayStatus::Completed);
        break;
    case Kind::Failed:
    case Kind::Cancelled:
    case Kind::Superseded:
        if (!e.detail.isEmpty())
            node->detail = e.detail;
        if (e.cleanup != CleanupOutcome::None)
            node->cleanup = e.cleanup;
        setStatus(e.kind == Kind::Failed      ? TaskDisplayStatus::Failed
                  : e.kind == Kind::Cancelled ? TaskDisplayStatus::Cancelled
                                              : TaskDisplayStatus::Superseded);
        touch(node);
        break;
    }
    if (isFinished(node->status)) {
        node->rate = 0;
        if (!wasFinished && !node->parent)
            m_finishedRoots.append(node->id);
    }
}

void TaskTreeModel::setGroupPaused(const QString &group, bool paused)
{
    if (paused)
        m_pausedGroups.insert(group);
    else
        m_pausedGroups.remove(group);
    const auto from = paused ? TaskDisplayStatus::Pending : TaskDisplayStatus::Paused;
    const auto to = paused ? TaskDisplayStatus::Paused : TaskDisplayStatus::Pending;
    for (Node *node : std::as_const(m_nodes)) {
        if (node->status == from && node->group == group) {
            node->status = to;
            touch(node);
        }
    }
}

void TaskTreeModel::setOwnBytes(Node *node, qint64 done, qint64 total)
{
    const qint64 beforeDone = node->done();
    const qint64 beforeTotal = node->total();
    node->ownDone = done;
    node->ownTotal = total;
    if (node->done() == beforeDone && node->total() == beforeTotal)
        return;
    touch(node);
    propagate(node->parent, node->done() - beforeDone, node->total() - beforeTotal);
}

void TaskTreeModel::propagate(Node *node, qint64 deltaDone, qint64 deltaTotal)
{
    for (; node && (deltaDone != 0 || deltaTotal != 0); node = node->parent) {
        const qint64 beforeDone = node->done();
        const qint64 beforeTotal = node->total();
        node->aggDone += deltaDone;
        node->aggTotal += deltaTotal;
        deltaDone = node->done() - beforeDone;
        deltaTotal = node->total() - beforeTotal;
        touch(node);
    }
}

void TaskTreeModel::touch(Node *node)
{
    if (!node->touched) {
        node->touched = true;
        m_touched.push_back(node);
    }
    if (!node->attached)
        return; // the views learn of it through its insertion
    auto it = m_changedRows.find(node->parent);
    if (it == m_changedRows.end()) {
        m_changedRows.insert(node->parent, {node->row, node->row});
    } else {
        it->first = std::min(it->first, node->row);
        it->second = std::max(it->second, node->row);
    }
}

void TaskTreeModel::sampleRates(qint64 nowMs)
{
    constexpr qint64 kMinSampleMs = 200;
    const qint64 wallMs = m_clock.elapsed();
    for (Node *node : m_touched) {
        node->touched = false;
        if (isFinished(node->status)) {
            node->rate = 0;
            m_moving.remove(node);
            continue;
        }
        if (node->sampleMs == 0) {
            node->sampleMs = nowMs;
            node->sampleDone = node->done();
            continue;
        }
        const qint64 elapsed = nowMs - node->sampleMs;
        if (elapsed < kMinSampleMs)
            continue;
        const qint64 moved = node->done() - node->sampleDone;
        const double instant =
            static_cast<double>(std::max<qint64>(0, moved)) * 1000.0 / static_cast<double>(elapsed);
        node->rate = node->rate <= 0 ? instant : node->rate * 0.6 + instant * 0.4;
        node->sampleMs = nowMs;
        node->sampleDone = node->done();
        if (moved > 0)
            node->movedAtMs = wallMs;
        if (node->rate > 0)
            m_moving.insert(node);
        else
            m_moving.remove(node);
    }
    m_touched.clear();
    if (!m_moving.isEmpty() && !m_decayTimer.isActive())
        m_decayTimer.start();
}

void TaskTreeModel::decayRates()
{
    const qint64 wallMs = m_clock.elapsed();
    for (auto it = m_moving.begin(); it != m_moving.end();) {
        Node *node = *it;
        if (wallMs - node->movedAtMs < kStallMs) {
            ++it;
            continue;
        }
        node->rate = 0;
        touch(node);
        it = m_moving.erase(it);
    }
    for (Node *node : m_touched)
        node->touched = false;
    m_touched.clear();
    emitChanges();
    if (m_moving.isEmpty())
        m_decayTimer.stop();
}

void TaskTreeModel::emitChanges()
{
    const auto changed = std::exchange(m_changedRows, {});
    for (auto it = changed.cbegin(); it != changed.cend(); ++it) {
        const QModelIndex parent = indexFor(it.key());
        emit dataChanged(index(it->first, 0, parent), index(it->second, ColumnCount - 1, parent));
    }
}

void TaskTreeModel::pruneFinishedRoots()
{
    if (m_maxFinishedRoots <= 0 || m_finishedRoots.size() <= m_maxFinishedRoots)
        return;
    const qsizetype excess = m_finishedRoots.size() - m_maxFinishedRoots;
    std::vector<int> rows;
    rows.reserve(excess);
    for (qsizetype i = 0; i < excess; ++i) {
        if (Node *node = m_nodes.value(m_finishedRoots.at(i), nullptr); node && !node->parent)
            rows.push_back(node->row);
    }
    m_finishedRoots.remove(0, excess);
    std::sort(rows.begin(), rows.end(), std::greater<>());
    // Contiguous runs, highest first, so the rows of the runs still to remove stay valid.
    for (size_t i = 0; i < rows.size();) {
        size_t j = i;
        while (j + 1 < rows.size() && rows[j + 1] == rows[j] - 1)
            ++j;
        const int first = rows[j];
        const int last = rows[i];
        beginRemoveRows({}, first, last);
        for (int r = first; r <= last; ++r)
            forget(m_roots[r].get());
        m_roots.erase(m_roots.begin() + first, m_roots.begin() + last + 1);
        for (int r = first; r < static_cast<int>(m_roots.size()); ++r)
            m_roots[r]->row = r;
        endRemoveRows();
        i = j + 1;
    }
}

void TaskTreeModel::forget(Node *node)
{
    m_nodes.remove(node->id);
    m_moving.remove(node);
    for (auto &child : node->children)
        forget(child.get());
}

TaskTreeModel::Node *TaskTreeModel::nodeFor(const QModelIndex &index) const
{
    return index.isValid() ? static_cast<Node *>(index.internalPointer()) : nullptr;
}

QModelIndex TaskTreeModel::indexFor(const Node *node, int column) const
{
    if (!node)
        return {};
    return createIndex(node->row, column, const_cast<Node *>(node));
}

QModelIndex TaskTreeModel::indexOf(TaskId id) const
{
    const Node *node = m_nodes.value(id, nullptr);
    return node && node->attached ? indexFor(node) : QModelIndex();
}

TaskId TaskTreeModel::taskId(const QModelIndex &index) const
{
    const Node *node = nodeFor(index);
    return node ? node->id : 0;
}

QModelIndex TaskTreeModel::index(int row, int column, const QModelIndex &parent) const
{
    if (row < 0 || column < 0 || column >= ColumnCount)
        return {};
    if (parent.isValid() && parent.column() != 0)
        return {};
    const Node *parentNode = nodeFor(parent);
    const auto &list = parentNode ? parentNode->children : m_roots;
    if (row >= static_cast<int>(list.size()))
        return {};
    return createIndex(row, column, list[row].get());
}

QModelIndex TaskTreeModel::parent(const QModelIndex &child) const
{
    const Node *node = nodeFor(child);
    return node ? indexFor(node->parent) : QModelIndex();
}

int TaskTreeModel::rowCount(const QModelIndex &parent) const
{
    if (parent.isValid() && parent.column() != 0)
        return 0;
    const Node *node = nodeFor(parent);
    return static_cast<int>(node ? node->children.size() : m_roots.size());
}

int TaskTreeModel::columnCount(const QModelIndex &) const
{
    return ColumnCount;
}

bool TaskTreeModel::hasChildren(const QModelIndex &parent) const
{
    return rowCount(parent) > 0;
}

QVariant TaskTreeModel::data(const QModelIndex &index, int role) const
{
    const Node *node = nodeFor(index);
    if (!node)
        return {};
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case LabelColumn:
            if (!node->label.isEmpty())
                return node->label;
            return node->type.isEmpty() ? tr("Task %1").arg(node->id) : node->type;
        case StatusColumn: {
            QString text = displayText(node->status);
            QStringList notes;
            if ((node->status == TaskDisplayStatus::Cancelled ||
                 node->status == TaskDisplayStatus::Cancelling) &&
                !node->detail.isEmpty())
                notes << node->detail;
            if (const QString cleanup = displayText(node->cleanup); !cleanup.isEmpty())
                notes << cleanup;
            if (!notes.isEmpty())
                text = tr("%1 (%2)").arg(text, notes.join(QStringLiteral("; ")));
            return text;
        }
        case ProgressColumn: {
            const int percent = node->percent();
            return percent < 0 ? QString() : tr("%1%").arg(percent);
        }
        case BytesColumn: {
            const QLocale locale;
            if (node->total() > 0)
                return tr("%1 of %2")
                    .arg(locale.formattedDataSize(node->done()),
                         locale.formattedDataSize(node->total()));
            return node->done() > 0 ? locale.formattedDataSize(node->done()) : QString();
        }
        case ThroughputColumn:
            if (node->rate <= 0 || isFinished(node->status))
                return QString();
            return tr("%1/s").arg(QLocale().formattedDataSize(static_cast<qint64>(node->rate)));
        case EtaColumn: {
            const qint64 eta = node->etaSeconds();
            return eta < 0 ? QString() : formatDuration(eta);
        }
        }
        return {};
    case Qt::DecorationRole:
        if (index.column() == StatusColumn)
            return statusIcon(node->status);
        return {};
    case Qt::ToolTipRole:
        if (!node->detail.isEmpty())
            return node->detail;
        return node->dedupKey.isEmpty() ? QVariant() : QVariant(node->dedupKey);
    case Qt::TextAlignmentRole:
        if (index.column() >= BytesColumn)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case TaskIdRole:
        return node->id;
    case StatusRole:
        return static_cast<int>(node->status);
    case ProgressRole:
        return node->percent();
    case BytesDoneRole:
        return node->done();
    case BytesTotalRole:
        return node->total();
    case ThroughputRole:
        return isFinished(node->status) ? 0.0 : node->rate;
    case EtaRole:
        return node->etaSeconds();
    case DetailRole:
        return node->detail;
    case CleanupRole:
        return static_cast<int>(node->cleanup);
    case GroupRole:
        return node->group;
    case DedupKeyRole:
        return node->dedupKey;
    case TypeRole:
        return node->type;
    default:
        return {};
    }
}

QVariant TaskTreeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case LabelColumn:
        return tr("Task");
    case StatusColumn:
        return tr("Status");
    case ProgressColumn:
        return tr("Progress");
    case BytesColumn:
        return tr("Size");
    case ThroughputColumn:
        return tr("Speed");
    case EtaColumn:
        return tr("Time left");
    default:
        return {};
    }
}

} // namespace ferry
