#pragma once

#include <QObject>
#include <QPointer>

class QAction;
class QMenu;

namespace ferry {

class RunTracker;
class SyncController;

/**
 * The tray's menu, as an object of its own so it can be built and checked where no tray
 * exists (offscreen, some desktops): per profile a submenu with Sync and Cancel (Cancel
 * enabled only while it has work), then Cancel all, Pause all / Resume all, Show window and
 * Quit. Follows the controller's signals; the actions act on the controller directly.
 *
 * Action object names, for tests and scripts: `tray-sync-<name>`, `tray-cancel-<name>`,
 * `tray-cancel-all`, `tray-pause-all`, `tray-resume-all`, `tray-show`, `tray-quit`.
 */
class TrayMenu : public QObject {
    Q_OBJECT
public:
    explicit TrayMenu(SyncController *controller, QObject *parent = nullptr);
    ~TrayMenu() override;

    [[nodiscard]] QMenu *menu() const { return m_menu; }
    /// The action named `objectName` (see above), or null.
    [[nodiscard]] QAction *action(const QString &objectName) const;

public slots:
    /// Updates titles and enabled states from the controller's current statuses.
    void refresh();

signals:
    void showWindowRequested();
    void quitRequested();

private:
    void rebuild();

    QPointer<SyncController> m_controller;
    QMenu *m_menu;
    RunTracker *m_runs;
    bool m_paused = false;
};

} // namespace ferry
