#include "TrayMenu.h"

#include "ProfilePresentation.h"
#include "RunTracker.h"
#include "TaskDisplayStatus.h"

#include <QMenu>

namespace ferry {

TrayMenu::TrayMenu(SyncController *controller, QObject *parent)
    : QObject(parent), m_controller(controller), m_menu(new QMenu),
      m_runs(new RunTracker(controller, this))
{
    m_menu->setObjectName(QStringLiteral("trayMenu"));
    m_menu->setTitle(tr("Ferry"));
    connect(controller, &SyncController::profilesChanged, this, &TrayMenu::rebuild);
    connect(controller, &SyncController::profileChanged, this, &TrayMenu::refresh);
    connect(controller, &SyncController::runFinished, this, &TrayMenu::refresh);
    rebuild();
}

TrayMenu::~TrayMenu()
{
    delete m_menu; // a menu has no QObject parent here: the tray icon only borrows it
}

QAction *TrayMenu::action(const QString &objectName) const
{
    return m_menu->findChild<QAction *>(objectName);
}

void TrayMenu::rebuild()
{
    m_menu->clear();
    for (QMenu *sub : m_menu->findChildren<QMenu *>(Qt::FindDirectChildrenOnly))
        delete sub;
    if (!m_controller)
        return;

    for (const QString &name : m_controller->profileNames()) {
        QMenu *sub = m_menu->addMenu(name);
        sub->setObjectName(QStringLiteral("tray-profile-") + name);
        QAction *sync = sub->addAction(appIcon(QStringLiteral("syncing")), tr("&Sync"));
        sync->setObjectName(QStringLiteral("tray-sync-") + name);
        connect(sync, &QAction::triggered, this, [this, name] {
            if (m_controller)
                (void)m_controller->sync(name);
        });
        QAction *cancel = sub->addAction(statusIcon(TaskDisplayStatus::Cancelled), tr("&Cancel"));
        cancel->setObjectName(QStringLiteral("tray-cancel-") + name);
        connect(cancel, &QAction::triggered, this, [this, name] {
            if (m_controller)
                (void)m_controller->cancel(name);
        });
    }
    if (!m_controller->profileNames().isEmpty())
        m_menu->addSeparator();

    QAction *cancelAll = m_menu->addAction(tr("Cancel &all"));
    cancelAll->setObjectName(QStringLiteral("tray-cancel-all"));
    connect(cancelAll, &QAction::triggered, this, [this] {
        if (m_controller)
            m_controller->cancelAll();
    });
    QAction *pauseAll = m_menu->addAction(appIcon(QStringLiteral("paused")), tr("&Pause all"));
    pauseAll->setObjectName(QStringLiteral("tray-pause-all"));
    connect(pauseAll, &QAction::triggered, this, [this] {
        if (m_controller)
            m_controller->pauseAll();
    });
    QAction *resumeAll = m_menu->addAction(tr("&Resume all"));
    resumeAll->setObjectName(QStringLiteral("tray-resume-all"));
    connect(resumeAll, &QAction::triggered, this, [this] {
        if (m_controller)
            m_controller->resumeAll();
    });
    m_menu->addSeparator();
    QAction *show = m_menu->addAction(appIcon(), tr("Show &window"));
    show->setObjectName(QStringLiteral("tray-show"));
    connect(show, &QAction::triggered, this, &TrayMenu::showWindowRequested);
    QAction *quit = m_menu->addAction(tr("&Quit"));
    quit->setObjectName(QStringLiteral("tray-quit"));
    connect(quit, &QAction::triggered, this, &TrayMenu::quitRequested);
    refresh();
}

void TrayMenu::refresh()
{
    if (!m_controller)
        return;
    bool anyWork = false;
    bool anyPaused = false;
    bool allPaused = true;
    const QStringList names = m_controller->profileNames();
    for (const QString &name : names) {
        const auto status = m_controller->status(name);
        if (!status)
            continue;
        const bool work = m_runs->hasWork(*status);
        anyWork = anyWork || work;
        const bool paused = status->activity == ProfileActivity::Paused;
        anyPaused = anyPaused || paused;
        allPaused = allPaused && paused;
        if (QAction *cancel = action(QStringLiteral("tray-cancel-") + name))
            cancel->setEnabled(work);
        if (QAction *sync = action(QStringLiteral("tray-sync-") + name))
            sync->setEnabled(status->activity == ProfileActivity::Idle ||
                             status->activity == ProfileActivity::Offline);
        if (QMenu *sub = m_menu->findChild<QMenu *>(QStringLiteral("tray-profile-") + name))
            sub->setTitle(tr("%1 — %2").arg(name, presentation::stateText(*status)));
    }
    if (QAction *cancelAll = action(QStringLiteral("tray-cancel-all")))
        cancelAll->setEnabled(anyWork);
    if (QAction *pauseAll = action(QStringLiteral("tray-pause-all")))
        pauseAll->setVisible(names.isEmpty() || !allPaused);
    if (QAction *resumeAll = action(QStringLiteral("tray-resume-all")))
        resumeAll->setVisible(anyPaused);
}

} // namespace ferry
