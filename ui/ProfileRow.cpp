#include "ProfileRow.h"

#include "ProfilePresentation.h"
#include "TaskDisplayStatus.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QProgressBar>
#include <QPushButton>
#include <QStyle>
#include <QToolButton>

namespace ferry {

ProfileRow::ProfileRow(const QString &name, QWidget *parent) : QFrame(parent), m_name(name)
{
    setObjectName(QStringLiteral("profileRow-") + name);
    setFrameShape(QFrame::StyledPanel);
    setAccessibleName(tr("Profile %1").arg(name));

    m_icon = new QLabel(this);
    const int iconSize = style()->pixelMetric(QStyle::PM_LargeIconSize);
    m_icon->setFixedSize(iconSize, iconSize);
    m_title = new QLabel(this);
    m_title->setTextFormat(Qt::PlainText);
    m_title->setText(name);
    QFont bold = m_title->font();
    bold.setBold(true);
    m_title->setFont(bold);
    m_remote = new QLabel(this);
    m_remote->setTextFormat(Qt::PlainText);
    m_state = new QLabel(this);
    m_state->setObjectName(QStringLiteral("stateLabel"));
    m_state->setAccessibleName(tr("State of profile %1").arg(name));
    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("profileProgress"));
    m_progress->setAccessibleName(tr("Progress of profile %1").arg(name));
    m_progress->setRange(0, 100);
    m_progress->setMaximumWidth(160);
    m_progress->setVisible(false);
    m_last = new QLabel(this);
    m_last->setObjectName(QStringLiteral("lastRunLabel"));
    m_last->setTextFormat(Qt::PlainText);
    m_last->setAccessibleName(tr("Last run of profile %1").arg(name));

    m_sync = new QPushButton(appIcon(QStringLiteral("syncing")), tr("Sync"), this);
    m_sync->setObjectName(QStringLiteral("syncButton"));
    m_sync->setAccessibleName(tr("Sync profile %1").arg(name));
    m_sync->setToolTip(tr("Upload what changed in %1 now").arg(name));
    m_cancel = new QPushButton(statusIcon(TaskDisplayStatus::Cancelled), tr("Cancel"), this);
    m_cancel->setObjectName(QStringLiteral("cancelButton"));
    m_cancel->setAccessibleName(tr("Cancel profile %1").arg(name));
    m_cancel->setToolTip(tr("Stop %1's sync and clean up its unfinished uploads; other "
                            "profiles keep running")
                             .arg(name));
    m_cancel->setEnabled(false);

    m_more = new QToolButton(this);
    m_more->setObjectName(QStringLiteral("moreButton"));
    m_more->setText(tr("More"));
    m_more->setAccessibleName(tr("More actions for profile %1").arg(name));
    m_more->setToolTip(tr("Edit, pause or remove %1").arg(name));
    m_more->setPopupMode(QToolButton::InstantPopup);
    auto *menu = new QMenu(m_more);
    menu->addAction(tr("&Edit…"), this, [this] { emit editClicked(m_name); })
        ->setObjectName(QStringLiteral("editAction"));
    m_pause = menu->addAction(tr("&Pause"), this, [this] { emit pauseClicked(m_name); });
    m_pause->setObjectName(QStringLiteral("pauseAction"));
    m_resume = menu->addAction(tr("Re&sume"), this, [this] { emit resumeClicked(m_name); });
    m_resume->setObjectName(QStringLiteral("resumeAction"));
    m_resume->setVisible(false);
    menu->addSeparator();
    menu->addAction(tr("&Remove…"), this, [this] { emit removeClicked(m_name); })
        ->setObjectName(QStringLiteral("removeAction"));
    m_more->setMenu(menu);

    connect(m_sync, &QPushButton::clicked, this, [this] { emit syncClicked(m_name); });
    connect(m_cancel, &QPushButton::clicked, this, [this] { emit cancelClicked(m_name); });

    auto *layout = new QGridLayout(this);
    layout->addWidget(m_icon, 0, 0, 2, 1, Qt::AlignTop);
    layout->addWidget(m_title, 0, 1);
    layout->addWidget(m_remote, 1, 1);
    auto *stateRow = new QHBoxLayout;
    stateRow->addWidget(m_state);
    stateRow->addWidget(m_progress);
    stateRow->addStretch(1);
    layout->addLayout(stateRow, 0, 2);
    layout->addWidget(m_last, 1, 2);
    layout->setColumnStretch(1, 2);
    layout->setColumnStretch(2, 3);
    auto *buttons = new QHBoxLayout;
    buttons->addWidget(m_sync);
    buttons->addWidget(m_cancel);
    buttons->addWidget(m_more);
    layout->addLayout(buttons, 0, 3, 2, 1, Qt::AlignVCenter);
}

void ProfileRow::setStatus(const ProfileStatus &status, bool hasWork)
{
    m_remote->setText(status.profile.remote);
    m_remote->setToolTip(status.profile.localFolder + QStringLiteral(" → ") +
                         status.profile.remote);
    m_state->setText(presentation::stateText(status));
    const int percent = presentation::percent(status);
    m_progress->setVisible(status.activity == ProfileActivity::Syncing);
    if (percent < 0)
        m_progress->setRange(0, 0); // busy until the scan knows the total
    else {
        m_progress->setRange(0, 100);
        m_progress->setValue(percent);
    }
    m_progress->setToolTip(
        tr("%1 of %2, %3 of %4 files")
            .arg(presentation::bytes(status.bytesDone), presentation::bytes(status.bytesTotal))
            .arg(status.filesDone)
            .arg(status.filesQueued));
    m_last->setText(presentation::lastRunText(status));
    m_last->setToolTip(status.lastError);

    QString icon = QStringLiteral("idle");
    switch (status.activity) {
    case ProfileActivity::Starting:
    case ProfileActivity::Syncing:
    case ProfileActivity::Cancelling:
        icon = QStringLiteral("syncing");
        break;
    case ProfileActivity::Paused:
        icon = QStringLiteral("paused");
        break;
    case ProfileActivity::Offline:
        icon = QStringLiteral("offline");
        break;
    case ProfileActivity::Idle:
        icon = presentation::isError(status) ? QStringLiteral("error") : QStringLiteral("idle");
        break;
    }
    m_icon->setPixmap(appIcon(icon).pixmap(m_icon->size(), devicePixelRatioF()));
    m_icon->setToolTip(presentation::stateText(status));

    const bool busy = status.activity == ProfileActivity::Starting ||
                      status.activity == ProfileActivity::Syncing ||
                      status.activity == ProfileActivity::Cancelling;
    m_sync->setEnabled(!busy && status.activity != ProfileActivity::Paused);
    m_cancel->setEnabled(hasWork);
    m_pause->setVisible(status.activity != ProfileActivity::Paused);
    m_resume->setVisible(status.activity == ProfileActivity::Paused);
}

} // namespace ferry
