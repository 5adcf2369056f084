#pragma once

#include "ProfilePresentation.h"

#include <QObject>
#include <QPointer>
#include <QTimer>

class QSystemTrayIcon;

namespace ferry {

class SyncController;
class TrayMenu;

/**
 * Ferry in the system tray: an icon for the overall state (idle, syncing, paused, offline,
 * error), a tooltip summarising the profiles, the TrayMenu, and notifications when a profile
 * goes offline, a run ends with failures, or a clean-up failed.
 *
 * Where no tray exists (QSystemTrayIcon::isSystemTrayAvailable() is false, e.g. offscreen)
 * there is no icon, but the state, tooltip, menu and notifications are still kept here, so
 * they can be checked and the window can tell whether closing it should quit.
 */
class Tray : public QObject {
    Q_OBJECT
public:
    explicit Tray(SyncController *controller, QObject *parent = nullptr);
    ~Tray() override;

    [[nodiscard]] bool isIconShown() const { return m_icon != nullptr; }
    [[nodiscard]] TrayMenu *menu() const { return m_menu; }
    [[nodiscard]] OverallState state() const { return m_state; }
    [[nodiscard]] QString toolTip() const { return m_toolTip; }
    [[nodiscard]] QString lastNotification() const { return m_lastNotification; }

public slots:
    /// The system's network reachability (the connectivity monitor's verdict).
    void setSystemOnline(bool online);
    /// An endpoint went offline or came back; offline notifies its profiles.
    void setEndpointOnline(const QString &endpoint, bool online, const QString &reason);
    /// Recomputes the icon and tooltip (coalesced).
    void scheduleUpdate();

signals:
    void stateChanged(ferry::OverallState state);
    /// A notification was raised (also when no tray shows it).
    void notified(const QString &title, const QString &message);
    void showWindowRequested();
    void quitRequested();

private:
    void update();
    void notify(const QString &title, const QString &message, bool warning);

    QPointer<SyncController> m_controller;
    TrayMenu *m_menu;
    QSystemTrayIcon *m_icon = nullptr;
    OverallState m_state = OverallState::Idle;
    QString m_toolTip;
    QString m_lastNotification;
    bool m_systemOnline = true;
    QTimer m_update;
    QTimer m_poll; ///< While a profile is busy: its percentage in the tooltip and menu moves.
};

} // namespace ferry
