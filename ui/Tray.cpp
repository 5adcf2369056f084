#include "Tray.h"

#include "TaskDisplayStatus.h"
#include "TrayMenu.h"

#include <QMenu>
#include <QSystemTrayIcon>

namespace ferry {

Tray::Tray(SyncController *controller, QObject *parent)
    : QObject(parent), m_controller(controller), m_menu(new TrayMenu(controller, this))
{
    m_update.setSingleShot(true);
    m_update.setInterval(50);
    connect(&m_update, &QTimer::timeout, this, &Tray::update);
    m_poll.setInterval(1000);
    connect(&m_poll, &QTimer::timeout, this, [this] {
        m_menu->refresh();
        update();
    });
    connect(controller, &SyncController::profilesChanged, this, &Tray::scheduleUpdate);
    connect(controller, &SyncController::profileChanged, this, &Tray::scheduleUpdate);
    connect(controller, &SyncController::runFinished, this,
            [this](const QString &name, HistoryStatus status, const QString &detail) {
                if (status == HistoryStatus::Failed)
                    notify(tr("%1: sync failed").arg(name), detail, true);
            });
    connect(controller, &SyncController::cleanupFailed, this,
            [this](const QString &name, const QString &detail) {
                notify(tr("%1: clean-up failed").arg(name), detail, true);
            });
    connect(m_menu, &TrayMenu::showWindowRequested, this, &Tray::showWindowRequested);
    connect(m_menu, &TrayMenu::quitRequested, this, &Tray::quitRequested);

    if (QSystemTrayIcon::isSystemTrayAvailable()) {
        m_icon = new QSystemTrayIcon(this);
        m_icon->setContextMenu(m_menu->menu());
        connect(m_icon, &QSystemTrayIcon::activated, this,
                [this](QSystemTrayIcon::ActivationReason reason) {
                    if (reason == QSystemTrayIcon::Trigger ||
                        reason == QSystemTrayIcon::DoubleClick)
                        emit showWindowRequested();
                });
    }
    update();
    if (m_icon)
        m_icon->show();
}

Tray::~Tray() = default;

void Tray::setSystemOnline(bool online)
{
    if (m_systemOnline == online)
        return;
    m_systemOnline = online;
    if (!online)
        notify(tr("Ferry is offline"), tr("The network is not reachable."), false);
    update();
}

void Tray::setEndpointOnline(const QString &endpoint, bool online, const QString &reason)
{
    if (!online && m_controller) {
        const QStringList names = m_controller->profilesOnGroup(endpoint);
        if (!names.isEmpty())
            notify(tr("%1 offline").arg(names.join(QStringLiteral(", "))),
                   reason.isEmpty() ? endpoint : tr("%1: %2").arg(endpoint, reason), false);
    }
    update();
}

void Tray::scheduleUpdate()
{
    if (!m_update.isActive())
        m_update.start();
}

void Tray::update()
{
    if (!m_controller)
        return;
    const OverallState state = presentation::overallState(*m_controller, m_systemOnline);
    m_toolTip = presentation::summary(*m_controller);
    if (!m_systemOnline)
        m_toolTip += QLatin1Char('\n') + tr("The network is not reachable.");
    if (m_icon) {
        m_icon->setIcon(appIcon(presentation::iconName(state)));
        m_icon->setToolTip(m_toolTip);
    }
    if (state == OverallState::Syncing && !m_poll.isActive())
        m_poll.start();
    else if (state != OverallState::Syncing)
        m_poll.stop();
    if (state != m_state) {
        m_state = state;
        emit stateChanged(state);
    }
}

void Tray::notify(const QString &title, const QString &message, bool warning)
{
    m_lastNotification = title + QStringLiteral(": ") + message;
    if (m_icon && QSystemTrayIcon::supportsMessages())
        m_icon->showMessage(title, message,
                            warning ? QSystemTrayIcon::Warning : QSystemTrayIcon::Information);
    emit notified(title, message);
}

} // namespace ferry
