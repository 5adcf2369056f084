#pragma once

#include "SyncServices.h"
#include "scheduler/TaskEvent.h"
#include "scheduler/TaskTypes.h"

#include <QDateTime>
#include <QFuture>
#include <QHash>
#include <QObject>
#include <QSet>
#include <QThreadPool>

#include <atomic>
#include <expected>
#include <memory>
#include <optional>

namespace ferry {

class Scheduler;

/// What a profile is doing, as the window, the tray and the connectivity monitor see it.
enum class ProfileActivity {
    Idle,       ///< No run in flight.
    Starting,   ///< Sweeping what earlier runs left, then submitting the run.
    Syncing,    ///< Its run is active.
    Cancelling, ///< Cancel requested; clean-up (aborts) not finished.
    Paused,     ///< Its endpoint's group is paused.
    Offline,    ///< Its endpoint does not answer.
};
[[nodiscard]] QString toText(ProfileActivity activity);

/// A snapshot of one profile for displays. Cheap to copy.
struct ProfileStatus {
    Profile profile;
    QString group; ///< The endpoint group, `s3://host:port` (empty when the remote is invalid).
    ProfileActivity activity = ProfileActivity::Idle;
    /// A run is starting, in flight or cleaning up: there is something to cancel.
    bool running = false;
    TaskId runId = 0; ///< The current or last run's task id (0: none this session).
    qint64 filesDone = 0;
    qint64 filesQueued = 0;
    qint64 filesFailed = 0;
    qint64 bytesDone = 0;
    qint64 bytesTotal = 0;
    bool scanned = false;
    std::optional<HistoryStatus> lastResult; ///< Of the last finished run, if any.
    QDateTime lastFinished;                  ///< UTC.
    QString lastError;                       ///< The last run's error or cancel reason.
    QString lastStopReason; ///< Reason of the last cancel or pause ("user", "offline", ...).
};

/**
 * The app's front door to syncing, shared by the window, the tray and the connectivity
 * monitor: keeps the profile list, starts and cancels runs per profile, pauses and resumes
 * endpoints, and tracks each profile's activity from the scheduler's signals.
 *
 * Lives on the thread that creates it (the UI thread in the GUI) and never blocks it: the
 * app store and the orphan sweep run on a private worker, results come back as QFutures
 * and signals. A cancel remembers its reason, so an automatic resume (back online) can tell
 * a profile the outage stopped from one the user stopped.
 */
class SyncController : public QObject {
    Q_OBJECT
public:
    SyncController(Scheduler *scheduler, std::shared_ptr<SyncServices> services,
                   std::shared_ptr<SecretStore> secrets, QObject *parent = nullptr);
    ~SyncController() override;

    [[nodiscard]] Scheduler *scheduler() const { return m_scheduler; }
    [[nodiscard]] SyncServices &services() const { return *m_services; }

    /// Loads the profiles and the last run of each from the store; emits profilesChanged.
    QFuture<std::expected<void, QString>> reload();

    /// The profiles as last loaded, sorted by name.
    [[nodiscard]] QStringList profileNames() const;
    [[nodiscard]] std::optional<ProfileStatus> status(const QString &name) const;
    /// The profiles whose remote is on `group`.
    [[nodiscard]] QStringList profilesOnGroup(const QString &group) const;
    /// Every endpoint group of the known profiles.
    [[nodiscard]] QStringList groups() const;

    /// Adds (or, with `replaceExisting`, replaces) a profile and stores its secret (when not
    /// empty) in the secret store. The error names the field at fault.
    QFuture<std::expected<void, ProfileError>> saveProfile(Profile profile, QString secret,
                                                           bool replaceExisting);
    /// Removes the profile, its secret and its journal; refused while it has work.
    QFuture<std::expected<void, QString>> removeProfile(QString name);

    /// Sweeps the profile's leftovers, then submits its run. Refused while it already runs.
    QFuture<std::expected<TaskId, QString>> sync(QString name);
    /// Cancels every task of the profile (dedup prefix `profile:<name>:`), nothing else.
    QFuture<std::expected<int, QString>> cancel(QString name, QString reason = CancelReason::User);
    /// Cancels the work of every profile.
    void cancelAll(const QString &reason = CancelReason::User);
    /// Pauses or resumes the profile's endpoint group (every profile on that endpoint).
    void pause(const QString &name, const QString &reason = CancelReason::User);
    void resume(const QString &name);
    void pauseAll(const QString &reason = CancelReason::User);
    void resumeAll();

    /// Marks an endpoint offline or back online for the profiles' activity (the
    /// connectivity monitor calls this; it decides the reaction itself).
    void setGroupOnline(const QString &group, bool online);
    [[nodiscard]] bool isGroupOnline(const QString &group) const;

signals:
    void profilesChanged();
    void profileChanged(const QString &name);
    /// A run ended: its status and, for failures, the error; for cancels, the reason.
    void runFinished(const QString &name, ferry::HistoryStatus status, const QString &detail);
    /// Clean-up hooks that ended `failed` or `timed_out` for the profile.
    void cleanupFailed(const QString &name, const QString &detail);

private:
    /// What the controller knows of one profile beyond its snapshot.
    struct Entry {
        ProfileStatus status;
        bool starting = false;
        bool running = false;
        bool cancelling = false;
        /// cancel() or pause() gave a reason since the run began: the run's own does not win.
        bool stopReasonGiven = false;
        /// Set by cancel() while the start is still sweeping: the run is then not submitted.
        std::shared_ptr<std::atomic<bool>> startCancelled;
    };
    struct Loaded;

    void onEvents(const TaskEvents &events);
    void onRunEvent(const TaskEvent &event, const QString &name);
    void apply(const Loaded &loaded);
    void setStopReason(const QString &name, const QString &reason);
    void touch(const QString &name);
    void touchGroup(const QString &group);
    [[nodiscard]] ProfileActivity activityOf(const Entry &entry) const;
    [[nodiscard]] QString profileOfKey(const QString &dedupKey) const;

    Scheduler *m_scheduler;
    std::shared_ptr<SyncServices> m_services;
    std::shared_ptr<SecretStore> m_secrets;
    QThreadPool m_worker; ///< One thread: the store and the sweeps, off the caller's thread.
    QHash<QString, Entry> m_profiles;
    QHash<TaskId, QString> m_runs;  ///< Active run id -> profile.
    QHash<TaskId, QString> m_tasks; ///< Every active task of a profile -> the profile.
    QSet<QString> m_offlineGroups;
    QSet<QString> m_pausedGroups;
};

} // namespace ferry
