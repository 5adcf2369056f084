#pragma once

#include "app/profiles/Profile.h"

#include <QElapsedTimer>
#include <QHash>
#include <QMainWindow>
#include <QPointer>
#include <QTimer>

#include <memory>
#include <optional>

class QLabel;
class QSplitter;
class QTabWidget;

namespace ferry {

class HistoryPanel;
class LogView;
class ProfileDialog;
class ProfilesPanel;
class SecretStore;
class SyncController;
class TaskPanel;

/**
 * Ferry's window: the profiles (each with Sync and Cancel), and in tabs the live task tree,
 * the history and the log; a status bar with the overall throughput and online/offline per
 * endpoint. Geometry, splitter and column layouts are kept with QSettings.
 *
 * Closing the window hides it when Ferry lives on in the tray (setKeepRunningInTray);
 * otherwise it asks to quit (quitRequested), which the application turns into a graceful
 * scheduler shutdown.
 */
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    MainWindow(SyncController *controller, std::shared_ptr<SecretStore> secrets,
               QWidget *parent = nullptr);
    ~MainWindow() override;

    [[nodiscard]] ProfilesPanel *profiles() const { return m_profiles; }
    [[nodiscard]] TaskPanel *tasks() const { return m_tasks; }
    [[nodiscard]] HistoryPanel *history() const { return m_history; }
    [[nodiscard]] LogView *log() const { return m_log; }
    [[nodiscard]] QTabWidget *tabs() const { return m_tabs; }
    /// The status bar's label for `endpoint` (`s3://host:port`), or null.
    [[nodiscard]] QLabel *endpointLabel(const QString &endpoint) const;
    [[nodiscard]] QLabel *networkLabel() const { return m_network; }
    [[nodiscard]] QLabel *throughputLabel() const { return m_throughput; }

    /// Whether closing the window only hides it (a tray icon keeps Ferry reachable).
    void setKeepRunningInTray(bool keep) { m_keepInTray = keep; }

public slots:
    /// Opens the dialog for a new profile (window-modal) and returns it.
    ProfileDialog *addProfile();
    /// Opens the dialog editing `name`; null when there is no such profile.
    ProfileDialog *editProfile(const QString &name);
    /// Asks, then removes `name`.
    void removeProfile(const QString &name);
    void syncAll();
    /// Shows and raises the window.
    void showAndRaise();
    /// The system's reachability, for the status bar.
    void setSystemOnline(bool online);
    /// An endpoint's state for the status bar; `reason` goes to the tooltip.
    void setEndpointOnline(const QString &endpoint, bool online, const QString &reason);
    /// Shows `message` in the status bar and the log.
    void showMessage(const QString &message);

signals:
    void quitRequested();
    /// A profile dialog was opened (tests drive it from here).
    void profileDialogOpened(ferry::ProfileDialog *dialog);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildActions();
    void buildStatusBar();
    void refreshEndpoints();
    void sampleThroughput();
    void restoreLayout();
    void saveLayout() const;
    ProfileDialog *openDialog(const std::optional<Profile> &existing);

    QPointer<SyncController> m_controller;
    std::shared_ptr<SecretStore> m_secrets;
    ProfilesPanel *m_profiles;
    TaskPanel *m_tasks;
    HistoryPanel *m_history;
    LogView *m_log;
    QTabWidget *m_tabs;
    QSplitter *m_splitter;
    QLabel *m_throughput = nullptr;
    QLabel *m_network = nullptr;
    QWidget *m_endpointBox = nullptr;
    QHash<QString, QLabel *> m_endpoints;
    QHash<QString, bool> m_endpointOnline;
    bool m_systemOnline = true;
    bool m_keepInTray = false;
    QTimer m_throughputTimer;
    QElapsedTimer m_sampleClock;
    qint64 m_lastBytes = -1;
};

} // namespace ferry
