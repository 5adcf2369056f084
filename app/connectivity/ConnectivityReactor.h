#pragma once

#include "ConnectivityTypes.h"

#include "scheduler/TaskEvent.h"
#include "scheduler/TaskTypes.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QSet>
#include <QThreadPool>

#include <chrono>
#include <memory>

class QTimer;

namespace ferry {

class ConnectivityMonitor;
class SyncController;
class SyncProbeTargets;

/// Timings of the ConnectivityReactor.
struct ReactorOptions {
    /// A group with running tasks and no progress for this long gets its endpoint checked
    /// (a stalled endpoint sends no error until the transfer timeout).
    std::chrono::milliseconds stallThreshold{1000};
};

/**
 * What Ferry does when the ConnectivityMonitor's verdicts change, through the SyncController
 * and the scheduler:
 *
 * - Endpoint offline: each profile on it reacts as configured. `cancel` (the default):
 *   the endpoint's group is cancelled with reason `offline` (or, when some profiles there
 *   pause instead, those profiles one by one); the clean-up hooks wait for the endpoint.
 *   `pause`: the group is paused.
 * - Metered network: groups of profiles that pause on metered networks are paused; resumed
 *   when the network is no longer metered.
 * - Endpoint online again: pending clean-ups retry at once, the orphan sweep runs, groups
 *   the reactor paused are resumed, and the profiles the outage cancelled sync again.
 *   A profile the user cancelled or paused stays as the user left it: a pause the reactor
 *   did not make is never lifted, a group the user resumed or paused again is no longer the
 *   reactor's, and a run the user cancelled is not restarted.
 *
 * It also feeds the monitor: the endpoints of the profiles, tasks' network errors and
 * transfers that stopped moving (suspect()). Lives on the controller's thread.
 */
class ConnectivityReactor : public QObject {
    Q_OBJECT
public:
    /// `targets` (optional) is kept up to date with the profiles for an S3EndpointProbe.
    ConnectivityReactor(ConnectivityMonitor *monitor, SyncController *controller,
                        std::shared_ptr<SyncProbeTargets> targets = {}, ReactorOptions options = {},
                        QObject *parent = nullptr);
    ~ConnectivityReactor() override;

    /// Groups the reactor paused, and why ("offline", "metered").
    [[nodiscard]] QSet<QString> pauseClaims(const QString &group) const
    {
        return m_pauseClaims.value(group);
    }
    /// Profiles the outage cancelled that will sync again when their endpoint is back.
    [[nodiscard]] QSet<QString> pendingResyncs() const { return m_resync; }

signals:
    /// A reaction was taken: `action` is cancel, pause, resume, retry-cleanups, sweep or
    /// resync; `profiles` the profiles concerned.
    void reacted(const QString &endpoint, const QString &action, const QStringList &profiles);

private:
    void onProfilesChanged();
    void onEndpointStateChanged(const QString &group, EndpointState state, const QString &reason);
    void onSystemStateChanged(const SystemNetworkState &state);
    void onEvents(const TaskEvents &events);
    void onStallCheck();
    void goOffline(const QString &group);
    void goOnline(const QString &group);
    void applyMetered();
    void claimPause(const QString &group, const QString &why);
    void releasePause(const QString &group, const QString &why);
    void sweep(const QString &group, const QStringList &profiles);
    void tryResync(const QString &name);
    [[nodiscard]] bool isActive(const QString &name) const;
    [[nodiscard]] bool userPaused(const QString &group) const;
    [[nodiscard]] QString profileOfKey(const QString &dedupKey) const;

    /// What an event without a record (Cancelled, Progress, ...) needs to know of its task.
    struct KnownTask {
        QString group;
        QString type;
        QString profile; ///< Empty when the task is no profile's.
    };

    ConnectivityMonitor *m_monitor;
    SyncController *m_controller;
    std::shared_ptr<SyncProbeTargets> m_targets;
    ReactorOptions m_options;
    QHash<QString, EndpointState> m_states;
    QHash<QString, QSet<QString>> m_pauseClaims; ///< group → reasons the reactor paused it
    QSet<QString> m_pausedGroups;                ///< as the scheduler reports them
    QSet<QString> m_outageCancelled;             ///< profiles whose run the outage cancelled
    QSet<QString> m_resync;                      ///< ... waiting to sync again
    QSet<QString> m_resyncStarting;              ///< sync() called, answer not back yet
    QHash<QString, int> m_resyncAttempts;        ///< refused sync() calls per profile
    QHash<QString, int> m_ownResumes;            ///< resumes the reactor asked for, not seen yet
    QHash<TaskId, QString> m_activeRuns;         ///< sync-run task → profile
    QHash<TaskId, KnownTask> m_tasks;            ///< active tasks seen in events
    QHash<QString, qint64> m_claimedAtMs;        ///< group → when the reactor paused it
    QHash<QString, qint64> m_userCancelAtMs;     ///< profile → when the user cancelled its run
    QThreadPool m_worker;                        ///< Sweeps' target look-ups, off this thread
    bool m_metered = false;
    QHash<QString, QSet<TaskId>> m_running; ///< group → tasks running now
    QHash<QString, qint64> m_lastActivity;  ///< group → ms (m_clock) of its last progress
    QElapsedTimer m_clock;
    QTimer *m_stallTimer;
};

} // namespace ferry
