#include "ProfilesPanel.h"

#include "ProfilePresentation.h"
#include "ProfileRow.h"
#include "RunTracker.h"
#include "WhenReady.h"

#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QVBoxLayout>

namespace ferry {

ProfilesPanel::ProfilesPanel(SyncController *controller, QWidget *parent)
    : QWidget(parent), m_controller(controller), m_runs(new RunTracker(controller, this))
{
    setObjectName(QStringLiteral("profilesPanel"));
    setAccessibleName(tr("Profiles"));
    auto *outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    auto *scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto *content = new QWidget(scroll);
    m_list = new QVBoxLayout(content);
    m_empty =
        new QLabel(tr("No profiles yet. Add one with Profile ▸ Add profile (Ctrl+N)."), content);
    m_empty->setObjectName(QStringLiteral("emptyLabel"));
    m_empty->setAlignment(Qt::AlignCenter);
    m_list->addWidget(m_empty);
    m_list->addStretch(1);
    scroll->setWidget(content);
    outer->addWidget(scroll);

    m_poll.setInterval(250);
    connect(&m_poll, &QTimer::timeout, this, &ProfilesPanel::pollBusy);
    connect(controller, &SyncController::profilesChanged, this, &ProfilesPanel::rebuild);
    connect(controller, &SyncController::profileChanged, this, &ProfilesPanel::refresh);
    connect(controller, &SyncController::runFinished, this, &ProfilesPanel::refresh);
    rebuild();
}

void ProfilesPanel::rebuild()
{
    if (!m_controller)
        return;
    const QStringList names = m_controller->profileNames();
    for (auto it = m_rows.begin(); it != m_rows.end();) {
        if (names.contains(it.key())) {
            ++it;
            continue;
        }
        it.value()->deleteLater();
        it = m_rows.erase(it);
    }
    for (qsizetype i = 0; i < names.size(); ++i) {
        const QString &name = names.at(i);
        ProfileRow *row = m_rows.value(name);
        if (!row) {
            row = new ProfileRow(name, m_list->parentWidget());
            connect(row, &ProfileRow::syncClicked, this, &ProfilesPanel::startSync);
            connect(row, &ProfileRow::cancelClicked, this, &ProfilesPanel::cancelProfile);
            connect(row, &ProfileRow::editClicked, this, &ProfilesPanel::editRequested);
            connect(row, &ProfileRow::removeClicked, this, &ProfilesPanel::removeRequested);
            connect(row, &ProfileRow::pauseClicked, this,
                    [this](const QString &n) { m_controller->pause(n); });
            connect(row, &ProfileRow::resumeClicked, this,
                    [this](const QString &n) { m_controller->resume(n); });
            m_rows.insert(name, row);
        }
        m_list->removeWidget(row);
        m_list->insertWidget(int(i) + 1, row); // after the (hidden) empty label, sorted
        refresh(name);
    }
    m_empty->setVisible(names.isEmpty());
}

void ProfilesPanel::refresh(const QString &name)
{
    ProfileRow *row = m_rows.value(name);
    if (!row || !m_controller)
        return;
    if (const auto status = m_controller->status(name)) {
        row->setStatus(*status, m_runs->hasWork(*status));
        if (status->activity != ProfileActivity::Idle && !m_poll.isActive())
            m_poll.start();
    }
}

void ProfilesPanel::pollBusy()
{
    bool busy = false;
    for (auto it = m_rows.cbegin(); it != m_rows.cend(); ++it) {
        const auto status = m_controller ? m_controller->status(it.key()) : std::nullopt;
        if (!status)
            continue;
        it.value()->setStatus(*status, m_runs->hasWork(*status));
        busy = busy || status->activity != ProfileActivity::Idle;
    }
    if (!busy)
        m_poll.stop();
}

void ProfilesPanel::startSync(const QString &name)
{
    if (!m_controller)
        return;
    if (ProfileRow *row = m_rows.value(name))
        row->syncButton()->setEnabled(false);
    whenReady(m_controller->sync(name), this, [this, name](std::expected<TaskId, QString> started) {
        if (!started)
            emit actionFailed(started.error());
        refresh(name);
    });
    if (!m_poll.isActive())
        m_poll.start();
}

void ProfilesPanel::cancelProfile(const QString &name)
{
    if (!m_controller)
        return;
    if (ProfileRow *row = m_rows.value(name))
        row->cancelButton()->setEnabled(false);
    whenReady(m_controller->cancel(name), this,
              [this, name](std::expected<int, QString> cancelled) {
                  if (!cancelled)
                      emit actionFailed(cancelled.error());
                  refresh(name);
              });
}

} // namespace ferry
