#pragma once

#include <QHash>
#include <QPointer>
#include <QTimer>
#include <QWidget>

class QLabel;
class QVBoxLayout;

namespace ferry {

class ProfileRow;
class RunTracker;
class SyncController;

/**
 * The window's list of profiles, one ProfileRow each, following a SyncController: rows come
 * and go with profilesChanged, change with profileChanged, and while any profile is busy
 * its counters are polled (cheap atomics) so progress moves. Sync and Cancel go straight
 * to the controller; edit and remove are asked of the window (they need a dialog).
 */
class ProfilesPanel : public QWidget {
    Q_OBJECT
public:
    explicit ProfilesPanel(SyncController *controller, QWidget *parent = nullptr);

    /// The row of profile `name`, or null.
    [[nodiscard]] ProfileRow *row(const QString &name) const { return m_rows.value(name); }
    [[nodiscard]] QStringList names() const { return m_rows.keys(); }

    /// How often busy profiles' progress is refreshed (default 250 ms).
    void setPollInterval(int ms) { m_poll.setInterval(ms); }

signals:
    void editRequested(const QString &name);
    void removeRequested(const QString &name);
    /// A sync or cancel was refused; `message` says why (for the status bar).
    void actionFailed(const QString &message);

private:
    void rebuild();
    void refresh(const QString &name);
    void pollBusy();
    void startSync(const QString &name);
    void cancelProfile(const QString &name);

    QPointer<SyncController> m_controller;
    RunTracker *m_runs;
    QHash<QString, ProfileRow *> m_rows;
    QVBoxLayout *m_list;
    QLabel *m_empty;
    QTimer m_poll;
};

} // namespace ferry
