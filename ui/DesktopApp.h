#pragma once

#include <QObject>
#include <QString>

#include <QCoro/QCoroTask>

#include <memory>

namespace ferry {

class MainWindow;
class Scheduler;
class SyncController;
class SyncServices;
class Tray;
namespace cli {
class ControlServer;
class SignalWatcher;
} // namespace cli

/**
 * The desktop application on a data directory: opens the app store and the scheduler (with
 * the sync executors) without blocking the UI thread, then shows the window and the tray,
 * listens on the control socket (`ferry cancel NAME` reaches it) and wires connectivity.
 * Quitting (window, tray, Ctrl+Q) shuts the scheduler down gracefully: running uploads stop
 * and resume at the next start; nothing is cancelled. SIGINT and SIGTERM quit the same way.
 */
class DesktopApp : public QObject {
    Q_OBJECT
public:
    explicit DesktopApp(QString dataDir, QObject *parent = nullptr);
    ~DesktopApp() override;

    /// Starts opening; shows the window when ready, or an error and exits with code 2.
    void start();
    /// Shuts down gracefully, then quits the event loop with `exitCode`.
    void quit(int exitCode = 0);

    [[nodiscard]] MainWindow *window() const { return m_window.get(); }

signals:
    /// The window is shown (or the start failed: `error` says why).
    void started(const QString &error);

private:
    QCoro::Task<void> open();
    QCoro::Task<void> shutdown(int exitCode);
    void fail(const QString &error);

    QString m_dataDir;
    std::shared_ptr<SyncServices> m_services;
    std::unique_ptr<Scheduler> m_scheduler;
    std::unique_ptr<SyncController> m_controller;
    std::unique_ptr<MainWindow> m_window;
    std::unique_ptr<Tray> m_tray;
    std::unique_ptr<cli::ControlServer> m_control;
    std::unique_ptr<cli::SignalWatcher> m_signals; ///< SIGINT/SIGTERM quit gracefully.
    /// Parent of the connectivity monitor and its reactions (destroyed before the controller).
    std::unique_ptr<QObject> m_connectivity;
    bool m_quitting = false;
};

} // namespace ferry
