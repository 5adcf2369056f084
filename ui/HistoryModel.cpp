#include "HistoryModel.h"

#include "TaskDisplayStatus.h"
#include "UiLog.h"
#include "WhenReady.h"
#include "scheduler/Scheduler.h"

#include <QLocale>

namespace ferry {

namespace {

std::optional<HistoryStatus> historyStatusOf(TaskEvent::Kind kind)
{
    switch (kind) {
    case TaskEvent::Kind::Completed:
        return HistoryStatus::Completed;
    case TaskEvent::Kind::Failed:
        return HistoryStatus::Failed;
    case TaskEvent::Kind::Cancelled:
        return HistoryStatus::Cancelled;
    case TaskEvent::Kind::Superseded:
        return HistoryStatus::Superseded;
    default:
        return std::nullopt;
    }
}

QString formatDuration(qint64 ms)
{
    const qint64 seconds = ms / 1000;
    if (seconds >= 3600)
        return HistoryModel::tr("%1 h %2 min").arg(seconds / 3600).arg(seconds % 3600 / 60);
    if (seconds >= 60)
        return HistoryModel::tr("%1 min %2 s").arg(seconds / 60).arg(seconds % 60);
    if (seconds >= 1)
        return HistoryModel::tr("%1 s").arg(seconds);
    return HistoryModel::tr("%1 ms").arg(ms);
}

} // namespace

HistoryModel::HistoryModel(Scheduler *scheduler, QObject *parent)
    : QAbstractTableModel(parent), m_scheduler(scheduler)
{
    m_refreshTimer.setSingleShot(true);
    m_refreshTimer.setInterval(250);
    connect(&m_refreshTimer, &QTimer::timeout, this, &HistoryModel::refresh);
    if (scheduler)
        connect(scheduler, &Scheduler::eventsBatch, this, &HistoryModel::onEvents);
}

void HistoryModel::setFilter(const Filter &filter)
{
    beginResetModel();
    ++m_generation; // answers to earlier requests are dropped
    m_filter = filter;
    m_rows.clear();
    m_busy = m_atEnd = m_started = m_pagePending = m_refreshWanted = false;
    endResetModel();
}

void HistoryModel::setPageSize(int rows)
{
    m_pageSize = std::max(1, rows);
}

HistoryQuery HistoryModel::query(qint64 beforeId, int limit) const
{
    HistoryQuery q;
    q.status = m_filter.status;
    q.group = m_filter.group;
    if (!m_filter.profile.isEmpty())
        q.dedupKeyPrefix = QStringLiteral("profile:%1:").arg(m_filter.profile);
    q.finishedAfter = m_filter.finishedAfter;
    q.finishedBefore = m_filter.finishedBefore;
    q.beforeId = beforeId;
    q.limit = limit;
    return q;
}

bool HistoryModel::canFetchMore(const QModelIndex &parent) const
{
    return !parent.isValid() && m_scheduler && !m_atEnd && !m_pagePending;
}

void HistoryModel::fetchMore(const QModelIndex &parent)
{
    if (!canFetchMore(parent))
        return;
    m_pagePending = true;
    if (!m_busy)
        requestPage();
}

void HistoryModel::requestPage()
{
    m_busy = true;
    const quint64 generation = m_generation;
    const qint64 beforeId = m_rows.isEmpty() ? 0 : m_rows.constLast().id;
    whenReady(m_scheduler->history(query(beforeId, m_pageSize)), this,
              [this, generation](const SchedulerResult<QList<HistoryRecord>> &result) {
                  if (generation != m_generation)
                      return;
                  if (!result) {
                      fail(result.error().message);
                      return;
                  }
                  const QList<HistoryRecord> &page = *result;
                  // State first: views ask canFetchMore() from the insertion's signals.
                  m_atEnd = page.size() < m_pageSize;
                  m_started = true;
                  m_pagePending = false;
                  if (!page.isEmpty()) {
                      beginInsertRows({}, int(m_rows.size()), int(m_rows.size() + page.size() - 1));
                      m_rows.append(page);
                      endInsertRows();
                  }
                  emit pageLoaded(int(page.size()));
                  finishRequest();
              });
}

void HistoryModel::refresh()
{
    if (!m_scheduler || !m_started)
        return; // the first page, when asked for, brings the newest rows anyway
    m_refreshWanted = true;
    if (!m_busy)
        startRefresh();
}

void HistoryModel::startRefresh()
{
    m_refreshWanted = false;
    m_busy = true;
    refreshStep({}, 0, 1);
}

void HistoryModel::refreshStep(QList<HistoryRecord> collected, qint64 beforeId, int pages)
{
    const quint64 generation = m_generation;
    whenReady(m_scheduler->history(query(beforeId, m_pageSize)), this,
              [this, generation, collected = std::move(collected),
               pages](const SchedulerResult<QList<HistoryRecord>> &result) mutable {
                  if (generation != m_generation)
                      return;
                  if (!result) {
                      fail(result.error().message);
                      return;
                  }
                  const QList<HistoryRecord> &page = *result;
                  const qint64 newest = m_rows.isEmpty() ? 0 : m_rows.constFirst().id;
                  bool reachedHeld = false;
                  for (const HistoryRecord &row : page) {
                      if (row.id <= newest) {
                          reachedHeld = true;
                          break;
                      }
                      collected.append(row);
                  }
                  const bool fullPage = page.size() == m_pageSize;
                  if (m_rows.isEmpty()) {
                      // Nothing held (the history was empty): this page is the new start.
                      m_atEnd = !fullPage;
                  } else if (!reachedHeld && fullPage) {
                      if (pages < kMaxRefreshPages) {
                          refreshStep(std::move(collected), page.constLast().id, pages + 1);
                          return;
                      }
                      // Too much arrived at once: start over from the newest rows, no gap.
                      qCInfo(lcUi) << "history refresh: over" << pages << "pages new, reloading";
                      beginResetModel();
                      m_rows = std::move(collected);
                      m_atEnd = false;
                      endResetModel();
                      emit refreshed(int(m_rows.size()));
                      finishRequest();
                      return;
                  }
                  if (!collected.isEmpty()) {
                      beginInsertRows({}, 0, int(collected.size() - 1));
                      for (auto it = collected.crbegin(); it != collected.crend(); ++it)
                          m_rows.prepend(*it);
                      endInsertRows();
                  }
                  emit refreshed(int(collected.size()));
                  finishRequest();
              });
}

void HistoryModel::finishRequest()
{
    m_busy = false;
    if (m_refreshWanted)
        startRefresh();
    else if (m_pagePending && !m_atEnd)
        requestPage();
    else
        m_pagePending = false;
}

void HistoryModel::fail(const QString &error)
{
    m_busy = m_pagePending = m_refreshWanted = false;
    qCWarning(lcUi) << "history query failed:" << error;
    emit loadFailed(error);
}

void HistoryModel::onEvents(const TaskEvents &events)
{
    for (const TaskEvent &e : events) {
        const auto status = historyStatusOf(e.kind);
        if (!status || (m_filter.status && *m_filter.status != *status))
            continue;
        if (!m_refreshTimer.isActive())
            m_refreshTimer.start();
        return;
    }
}

QString HistoryModel::profileOf(const QString &dedupKey)
{
    static const QString prefix = QStringLiteral("profile:");
    if (!dedupKey.startsWith(prefix))
        return {};
    const qsizetype end = dedupKey.indexOf(QLatin1Char(':'), prefix.size());
    return end < 0 ? QString() : dedupKey.mid(prefix.size(), end - prefix.size());
}

QString HistoryModel::cleanupText(CleanupOutcome outcome)
{
    switch (outcome) {
    case CleanupOutcome::None:
        return tr("not needed");
    case CleanupOutcome::Ok:
        return tr("ok");
    case CleanupOutcome::Failed:
        return tr("failed");
    case CleanupOutcome::TimedOut:
        return tr("timed out");
    }
    return {};
}

int HistoryModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int HistoryModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant HistoryModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const HistoryRecord &row = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case FinishedColumn:
            return QLocale().toString(row.finishedAt.toLocalTime(), QLocale::ShortFormat);
        case LabelColumn:
            return row.label.isEmpty() ? row.type : row.label;
        case StatusColumn:
            return displayText(displayStatus(row.status));
        case DetailColumn:
            switch (row.status) {
            case HistoryStatus::Failed:
                return row.error;
            case HistoryStatus::Cancelled:
            case HistoryStatus::Superseded:
                return row.error.isEmpty() ? row.reason : tr("%1: %2").arg(row.reason, row.error);
            case HistoryStatus::Completed:
                return row.note;
            }
            return {};
        case CleanupColumn:
            if (row.status == HistoryStatus::Completed)
                return QString();
            return cleanupText(row.cleanup);
        case BytesColumn:
            return row.bytes > 0 ? QLocale().formattedDataSize(row.bytes) : QString();
        case DurationColumn:
            if (!row.startedAt.isValid() || !row.finishedAt.isValid())
                return QString();
            return formatDuration(row.startedAt.msecsTo(row.finishedAt));
        case ProfileColumn:
            return profileOf(row.dedupKey);
        }
        return {};
    case Qt::DecorationRole:
        if (index.column() == StatusColumn)
            return statusIcon(displayStatus(row.status));
        return {};
    case Qt::ToolTipRole:
        if (!row.error.isEmpty())
            return row.error;
        return row.dedupKey.isEmpty() ? QVariant() : QVariant(row.dedupKey);
    case HistoryIdRole:
        return row.id;
    case TaskIdRole:
        return row.taskId;
    case StatusRole:
        return static_cast<int>(row.status);
    case CleanupRole:
        return static_cast<int>(row.cleanup);
    case ReasonRole:
        return row.reason;
    case ErrorRole:
        return row.error;
    case FinishedAtRole:
        return row.finishedAt;
    case DedupKeyRole:
        return row.dedupKey;
    default:
        return {};
    }
}

QVariant HistoryModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case FinishedColumn:
        return tr("Finished");
    case LabelColumn:
        return tr("Task");
    case StatusColumn:
        return tr("Status");
    case DetailColumn:
        return tr("Details");
    case CleanupColumn:
        return tr("Clean-up");
    case BytesColumn:
        return tr("Size");
    case DurationColumn:
        return tr("Duration");
    case ProfileColumn:
        return tr("Profile");
    default:
        return {};
    }
}

} // namespace ferry
