#pragma once

#include "scheduler/TaskTypes.h"

#include <QWidget>

class QTreeView;

namespace ferry {

class Scheduler;
class TaskTreeModel;

/**
 * The live task tree (sync runs → files → parts) with status icons, a progress bar, bytes,
 * throughput and ETA per row, and a context menu to cancel a task or its whole run.
 */
class TaskPanel : public QWidget {
    Q_OBJECT
public:
    TaskPanel(Scheduler *scheduler, QWidget *parent = nullptr);

    [[nodiscard]] QTreeView *view() const { return m_view; }
    [[nodiscard]] TaskTreeModel *model() const { return m_model; }

    /// Cancels the task (and its descendants); `wholeRun` cancels its root instead.
    void cancelTask(TaskId id, bool wholeRun);

signals:
    void actionFailed(const QString &message);

private:
    void showContextMenu(const QPoint &position);

    Scheduler *m_scheduler;
    TaskTreeModel *m_model;
    QTreeView *m_view;
};

} // namespace ferry
