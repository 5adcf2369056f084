#include "TaskPanel.h"

#include "ProgressBarDelegate.h"
#include "TaskDisplayStatus.h"
#include "TaskTreeModel.h"
#include "WhenReady.h"
#include "scheduler/Scheduler.h"

#include <QHeaderView>
#include <QMenu>
#include <QTreeView>
#include <QVBoxLayout>

namespace ferry {

TaskPanel::TaskPanel(Scheduler *scheduler, QWidget *parent)
    : QWidget(parent), m_scheduler(scheduler), m_model(new TaskTreeModel(this)),
      m_view(new QTreeView(this))
{
    setObjectName(QStringLiteral("taskPanel"));
    m_model->setMaxFinishedRoots(50);
    m_model->attach(scheduler);
    m_view->setObjectName(QStringLiteral("taskTree"));
    m_view->setAccessibleName(tr("Tasks"));
    m_view->setModel(m_model);
    m_view->setUniformRowHeights(true); // 100,000 rows stay cheap to lay out
    m_view->setAlternatingRowColors(true);
    m_view->setItemDelegateForColumn(TaskTreeModel::ProgressColumn,
                                     new ProgressBarDelegate(m_view));
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    m_view->header()->setStretchLastSection(false);
    // Fixed widths: ResizeToContents would measure every one of 100,000 rows.
    m_view->header()->setSectionResizeMode(TaskTreeModel::LabelColumn, QHeaderView::Stretch);
    const int em = fontMetrics().averageCharWidth();
    m_view->header()->resizeSection(TaskTreeModel::StatusColumn, 22 * em);
    m_view->header()->resizeSection(TaskTreeModel::ProgressColumn, 14 * em);
    m_view->header()->resizeSection(TaskTreeModel::BytesColumn, 24 * em);
    m_view->header()->resizeSection(TaskTreeModel::ThroughputColumn, 14 * em);
    m_view->header()->resizeSection(TaskTreeModel::EtaColumn, 12 * em);
    m_view->setToolTip(tr("Right-click a task to cancel it or its whole run"));
    connect(m_view, &QTreeView::customContextMenuRequested, this, &TaskPanel::showContextMenu);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_view);
}

void TaskPanel::showContextMenu(const QPoint &position)
{
    const QModelIndex index = m_view->indexAt(position);
    if (!index.isValid())
        return;
    const TaskId id = m_model->taskId(index);
    const auto status = TaskDisplayStatus(index.data(TaskTreeModel::StatusRole).toInt());
    QModelIndex root = index.siblingAtColumn(0);
    while (root.parent().isValid())
        root = root.parent();
    const auto rootStatus = TaskDisplayStatus(root.data(TaskTreeModel::StatusRole).toInt());

    QMenu menu(this);
    QAction *task = menu.addAction(statusIcon(TaskDisplayStatus::Cancelled), tr("Cancel &task"));
    task->setObjectName(QStringLiteral("cancelTaskAction"));
    task->setEnabled(!isFinished(status) && status != TaskDisplayStatus::Cancelling);
    QAction *run = menu.addAction(tr("Cancel the whole &run"));
    run->setObjectName(QStringLiteral("cancelRunAction"));
    run->setEnabled(!isFinished(rootStatus) && rootStatus != TaskDisplayStatus::Cancelling);
    QAction *chosen = menu.exec(m_view->viewport()->mapToGlobal(position));
    if (chosen == task)
        cancelTask(id, false);
    else if (chosen == run)
        cancelTask(id, true);
}

void TaskPanel::cancelTask(TaskId id, bool wholeRun)
{
    if (wholeRun) {
        QModelIndex root = m_model->indexOf(id);
        while (root.parent().isValid())
            root = root.parent();
        if (root.isValid())
            id = m_model->taskId(root);
    }
    whenReady(m_scheduler->cancel(id, CancelReason::User), this,
              [this](SchedulerResult<CancelResult> result) {
                  if (!result)
                      emit actionFailed(result.error().message);
              });
}

} // namespace ferry
