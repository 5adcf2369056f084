#pragma once

#include "scheduler/TaskEvent.h"
#include "scheduler/TaskRecord.h"

#include <QAbstractTableModel>
#include <QPointer>
#include <QTimer>

#include <optional>

namespace ferry {

class Scheduler;

/**
 * Finished tasks (the scheduler's history), newest first, loaded lazily.
 *
 * Rows come in pages (pageSize(), 500 by default) through canFetchMore()/fetchMore(), each an
 * asynchronous Scheduler::history() call paged with `beforeId`: the UI thread never waits
 * and a million rows cost only what has been scrolled to. New history is prepended: terminal
 * events in Scheduler::eventsBatch schedule a refresh (coalesced, refreshDelay()) that loads
 * the rows newer than the newest one held. Should more than kMaxRefreshPages pages have
 * arrived in between, the model starts over from the newest page (a reset) rather than hold
 * a gap.
 *
 * Order: always by history id, newest first — the order tasks finished in. This is the only
 * order paging can keep exact; the model does not sort by other columns (sorting what
 * happens to be loaded would reorder rows under the user's scroll as pages arrive).
 *
 * Filters map onto HistoryQuery: profile → dedup-key prefix `profile:<name>:`, status,
 * finished time range, group. Changing the filter resets the model and loads anew.
 */
class HistoryModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        FinishedColumn,
        LabelColumn,
        StatusColumn,
        DetailColumn,  ///< Failed: the error. Cancelled/superseded: the reason.
        CleanupColumn, ///< Cancelled/failed: the clean-up hook's outcome.
        BytesColumn,
        DurationColumn,
        ProfileColumn,
        ColumnCount,
    };

    enum Role {
        HistoryIdRole = Qt::UserRole + 1,
        TaskIdRole,
        StatusRole,  ///< HistoryStatus as int.
        CleanupRole, ///< CleanupOutcome as int.
        ReasonRole,
        ErrorRole,
        FinishedAtRole, ///< QDateTime (UTC).
        DedupKeyRole,
    };

    /// What rows to show; empty fields match everything.
    struct Filter {
        QString profile; ///< Sync profile name: dedup keys starting `profile:<name>:`.
        std::optional<HistoryStatus> status;
        QDateTime finishedAfter;
        QDateTime finishedBefore;
        QString group;
    };

    static constexpr int kMaxRefreshPages = 20;

    explicit HistoryModel(Scheduler *scheduler, QObject *parent = nullptr);

    void setFilter(const Filter &filter);
    [[nodiscard]] const Filter &filter() const { return m_filter; }
    void setPageSize(int rows);
    [[nodiscard]] int pageSize() const { return m_pageSize; }
    /// How long terminal events are gathered before a refresh (default 250 ms).
    void setRefreshDelay(int ms) { m_refreshTimer.setInterval(ms); }
    [[nodiscard]] int refreshDelay() const { return m_refreshTimer.interval(); }

    /// Whether a page or refresh request is in flight.
    [[nodiscard]] bool isLoading() const { return m_busy; }
    /// Whether the oldest matching row is loaded.
    [[nodiscard]] bool atEnd() const { return m_atEnd; }
    [[nodiscard]] const HistoryRecord &record(int row) const { return m_rows.at(row); }

    /// The profile a dedup key belongs to (`profile:<name>:...`), or empty.
    [[nodiscard]] static QString profileOf(const QString &dedupKey);
    /// The clean-up outcome as a short translated word ("ok", "failed", "timed out", ...).
    [[nodiscard]] static QString cleanupText(CleanupOutcome outcome);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    bool canFetchMore(const QModelIndex &parent = {}) const override;
    void fetchMore(const QModelIndex &parent = {}) override;

public slots:
    /// Loads the rows newer than the newest held (what terminal events trigger).
    void refresh();

signals:
    /// A page of older rows was appended (`rows` may be 0 at the end).
    void pageLoaded(int rows);
    /// A refresh finished; `rows` new rows were prepended.
    void refreshed(int rows);
    void loadFailed(const QString &error);

private:
    [[nodiscard]] HistoryQuery query(qint64 beforeId, int limit) const;
    void onEvents(const TaskEvents &events);
    void requestPage();
    void startRefresh();
    void refreshStep(QList<HistoryRecord> collected, qint64 beforeId, int pages);
    void finishRequest();
    void fail(const QString &error);

    QPointer<Scheduler> m_scheduler;
    Filter m_filter;
    QList<HistoryRecord> m_rows;
    int m_pageSize = 500;
    bool m_busy = false;
    bool m_atEnd = false;
    bool m_started = false;     ///< The first page arrived.
    bool m_pagePending = false; ///< fetchMore asked for a page not yet appended.
    bool m_refreshWanted = false;
    quint64 m_generation = 0; ///< Bumped on every filter change: older answers are dropped.
    QTimer m_refreshTimer;
};

} // namespace ferry
