#include "HistoryPanel.h"

#include "HistoryModel.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

namespace ferry {

namespace {

/// Hours back of the time filter's entries; 0 = any time.
constexpr int kAnyTime = 0;

} // namespace

HistoryPanel::HistoryPanel(Scheduler *scheduler, QWidget *parent)
    : QWidget(parent), m_model(new HistoryModel(scheduler, this)),
      m_sorted(new QSortFilterProxyModel(this)), m_view(new QTableView(this))
{
    setObjectName(QStringLiteral("historyPanel"));

    m_profile = new QComboBox(this);
    m_profile->setObjectName(QStringLiteral("profileFilter"));
    m_profile->setAccessibleName(tr("Filter history by profile"));
    m_profile->addItem(tr("All profiles"), QString());

    m_status = new QComboBox(this);
    m_status->setObjectName(QStringLiteral("statusFilter"));
    m_status->setAccessibleName(tr("Filter history by status"));
    m_status->addItem(tr("Any status"), -1);
    m_status->addItem(tr("Completed"), int(HistoryStatus::Completed));
    m_status->addItem(tr("Failed"), int(HistoryStatus::Failed));
    m_status->addItem(tr("Cancelled"), int(HistoryStatus::Cancelled));

    m_time = new QComboBox(this);
    m_time->setObjectName(QStringLiteral("timeFilter"));
    m_time->setAccessibleName(tr("Filter history by time"));
    m_time->addItem(tr("Any time"), kAnyTime);
    m_time->addItem(tr("Last hour"), 1);
    m_time->addItem(tr("Last 24 hours"), 24);
    m_time->addItem(tr("Last 7 days"), 24 * 7);

    auto *filters = new QHBoxLayout;
    auto *profileLabel = new QLabel(tr("&Profile:"), this);
    profileLabel->setBuddy(m_profile);
    auto *statusLabel = new QLabel(tr("&Status:"), this);
    statusLabel->setBuddy(m_status);
    auto *timeLabel = new QLabel(tr("&Finished:"), this);
    timeLabel->setBuddy(m_time);
    filters->addWidget(profileLabel);
    filters->addWidget(m_profile);
    filters->addWidget(statusLabel);
    filters->addWidget(m_status);
    filters->addWidget(timeLabel);
    filters->addWidget(m_time);
    filters->addStretch(1);

    m_sorted->setSourceModel(m_model);
    m_sorted->setSortRole(Qt::DisplayRole);
    m_view->setObjectName(QStringLiteral("historyView"));
    m_view->setAccessibleName(tr("History"));
    m_view->setModel(m_sorted);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(-1, Qt::AscendingOrder); // the model's own order: newest first
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->setVisible(false);
    m_view->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
    QHeaderView *header = m_view->horizontalHeader();
    header->setSectionResizeMode(HistoryModel::DetailColumn, QHeaderView::Stretch);
    const int em = fontMetrics().averageCharWidth();
    header->resizeSection(HistoryModel::FinishedColumn, 22 * em);
    header->resizeSection(HistoryModel::LabelColumn, 34 * em);
    header->resizeSection(HistoryModel::StatusColumn, 15 * em);
    header->resizeSection(HistoryModel::CleanupColumn, 13 * em);
    header->resizeSection(HistoryModel::BytesColumn, 12 * em);
    header->resizeSection(HistoryModel::DurationColumn, 11 * em);
    header->resizeSection(HistoryModel::ProfileColumn, 14 * em);
    m_view->setToolTip(tr("Click a column header to sort the loaded rows"));

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(filters);
    layout->addWidget(m_view);

    for (QComboBox *combo : {m_profile, m_status, m_time})
        connect(combo, &QComboBox::currentIndexChanged, this, &HistoryPanel::applyFilter);
}

void HistoryPanel::setProfiles(const QStringList &names)
{
    const QString current = m_profile->currentData().toString();
    const QSignalBlocker blocker(m_profile);
    while (m_profile->count() > 1)
        m_profile->removeItem(1);
    for (const QString &name : names)
        m_profile->addItem(name, name);
    const int index = m_profile->findData(current);
    m_profile->setCurrentIndex(index < 0 ? 0 : index);
    if (index < 0 && !current.isEmpty())
        applyFilter();
}

void HistoryPanel::applyFilter()
{
    HistoryModel::Filter filter;
    filter.profile = m_profile->currentData().toString();
    if (const int status = m_status->currentData().toInt(); status >= 0)
        filter.status = HistoryStatus(status);
    if (const int hours = m_time->currentData().toInt(); hours != kAnyTime)
        filter.finishedAfter = QDateTime::currentDateTimeUtc().addSecs(-qint64(hours) * 3600);
    m_model->setFilter(filter);
}

} // namespace ferry
