#include "SyncController.h"

#include "OrphanSweep.h"
#include "SyncLogging.h"
#include "scheduler/Scheduler.h"

#include <QCoro/QCoroFuture>
#include <QCoro/QCoroTask>
#include <QtConcurrent/QtConcurrentRun>

namespace ferry {

QString toText(ProfileActivity activity)
{
    switch (activity) {
    case ProfileActivity::Idle:
        return QStringLiteral("idle");
    case ProfileActivity::Starting:
        return QStringLiteral("starting");
    case ProfileActivity::Syncing:
        return QStringLiteral("syncing");
    case ProfileActivity::Cancelling:
        return QStringLiteral("cancelling");
    case ProfileActivity::Paused:
        return QStringLiteral("paused");
    case ProfileActivity::Offline:
        return QStringLiteral("offline");
    }
    return QStringLiteral("idle");
}

/// What reload() reads on the worker: the profiles, their last runs and the live ones.
struct SyncController::Loaded {
    QList<Profile> profiles;
    QHash<QString, HistoryRecord> lastRuns;
    QHash<TaskId, QString> activeRuns;
    QHash<TaskId, QString> activeTasks; ///< id -> dedup key
    QStringList pausedGroups;
};

namespace {

const QString kRunSuffix = QStringLiteral(":sync-run");

/// `profile:<name>:sync-run` -> `<name>`.
bool isTerminal(TaskEvent::Kind kind)
{
    return kind == TaskEvent::Kind::Completed || kind == TaskEvent::Kind::Failed ||
           kind == TaskEvent::Kind::Cancelled || kind == TaskEvent::Kind::Superseded;
}

QString profileOfRunKey(const QString &dedupKey)
{
    const qsizetype head = profileKeyPrefix(QString()).size();
    return dedupKey.mid(head, dedupKey.size() - head - kRunSuffix.size());
}

QString groupOf(const Profile &profile)
{
    const auto url = s3::RemoteUrl::parse(profile.remote);
    return url ? url->endpoint().group() : QString();
}

/// The run's sweep and submission, on the controller's worker thread.
QCoro::Task<std::expected<TaskId, QString>> startRun(std::shared_ptr<SyncServices> services,
                                                     Scheduler *scheduler, QString name,
                                                     std::shared_ptr<std::atomic<bool>> cancelled)
{
    services->forgetTarget(name);
    const auto target = services->target(name);
    if (!target)
        co_return std::unexpected(target.error());
    if (auto valid = target->profile.validate(); !valid)
        co_return std::unexpected(valid.error().message);
    const auto swept =
        co_await sweepOrphans(services, name, kDefaultOrphanAge, false, CancellationToken());
    if (!swept)
        qCWarning(lcSync) << "interrupted uploads of" << name
                          << "could not be checked:" << swept.error().message;
    if (cancelled->load())
        co_return std::unexpected(SyncController::tr("Cancelled before the run started."));
    services->resetCounters(name);
    const auto submitted = co_await scheduler->submit(syncRunSpec(*target));
    if (!submitted)
        co_return std::unexpected(submitted.error().message);
    co_return submitted->id;
}

} // namespace

SyncController::SyncController(Scheduler *scheduler, std::shared_ptr<SyncServices> services,
                               std::shared_ptr<SecretStore> secrets, QObject *parent)
    : QObject(parent), m_scheduler(scheduler), m_services(std::move(services)),
      m_secrets(std::move(secrets))
{
    m_worker.setMaxThreadCount(1);
    connect(m_scheduler, &Scheduler::eventsBatch, this, &SyncController::onEvents);
    connect(m_scheduler, &Scheduler::groupPaused, this, [this](const QString &group) {
        m_pausedGroups.insert(group);
        touchGroup(group);
    });
    connect(m_scheduler, &Scheduler::groupResumed, this, [this](const QString &group) {
        m_pausedGroups.remove(group);
        touchGroup(group);
    });
}

SyncController::~SyncController()
{
    m_worker.waitForDone();
}

QFuture<std::expected<void, QString>> SyncController::reload()
{
    auto loaded = QtConcurrent::run(
        &m_worker,
        [services = m_services, scheduler = m_scheduler]() -> std::expected<Loaded, QString> {
            auto profiles = services->store().profiles();
            if (!profiles)
                return std::unexpected(profiles.error());
            Loaded loaded;
            loaded.profiles = *profiles;
            for (const auto &profile : loaded.profiles) {
                HistoryQuery query;
                query.type = SyncTypes::Run;
                query.dedupKeyPrefix = profileKeyPrefix(profile.name);
                query.limit = 1;
                const auto rows = scheduler->history(query).result();
                if (rows && !rows->isEmpty())
                    loaded.lastRuns.insert(profile.name, rows->constFirst());
            }
            const auto active = scheduler->activeTasks().result();
            if (active)
                for (const auto &task : *active) {
                    loaded.activeTasks.insert(task.id, task.dedupKey);
                    if (task.type == SyncTypes::Run && task.dedupKey.endsWith(kRunSuffix))
                        loaded.activeRuns.insert(task.id, profileOfRunKey(task.dedupKey));
                }
            loaded.pausedGroups = scheduler->pausedGroups().result();
            return loaded;
        });
    return loaded.then(
        this, [this](std::expected<Loaded, QString> result) -> std::expected<void, QString> {
            if (!result)
                return std::unexpected(result.error());
            apply(*result);
            return {};
        });
}

void SyncController::apply(const Loaded &loaded)
{
    QHash<QString, Entry> profiles;
    for (const auto &profile : loaded.profiles) {
        Entry entry = m_profiles.value(profile.name);
        entry.status.profile = profile;
        entry.status.group = groupOf(profile);
        if (const auto it = loaded.lastRuns.constFind(profile.name);
            it != loaded.lastRuns.constEnd() && !entry.status.lastResult) {
            entry.status.lastResult = it->status;
            entry.status.lastFinished = it->finishedAt;
            entry.status.lastError =
                it->status == HistoryStatus::Cancelled ? it->reason : it->error;
            if (it->status == HistoryStatus::Cancelled)
                entry.status.lastStopReason = it->reason;
        }
        profiles.insert(profile.name, entry);
    }
    for (auto it = loaded.activeRuns.begin(); it != loaded.activeRuns.end(); ++it) {
        if (!profiles.contains(it.value()) || m_runs.contains(it.key()))
            continue;
        m_runs.insert(it.key(), it.value());
        profiles[it.value()].running = true;
        profiles[it.value()].status.runId = it.key();
    }
    m_profiles = profiles;
    for (auto it = loaded.activeTasks.begin(); it != loaded.activeTasks.end(); ++it)
        if (const QString name = profileOfKey(it.value()); !name.isEmpty())
            m_tasks.insert(it.key(), name);
    for (const auto &group : loaded.pausedGroups)
        m_pausedGroups.insert(group);
    emit profilesChanged();
}

QStringList SyncController::profileNames() const
{
    QStringList names = m_profiles.keys();
    names.sort();
    return names;
}

std::optional<ProfileStatus> SyncController::status(const QString &name) const
{
    const auto it = m_profiles.constFind(name);
    if (it == m_profiles.constEnd())
        return std::nullopt;
    ProfileStatus status = it->status;
    status.activity = activityOf(*it);
    status.running = it->starting || it->running || it->cancelling;
    const auto counters = m_services->counters(name);
    status.filesDone = counters->filesDone;
    status.filesQueued = counters->filesQueued;
    status.filesFailed = counters->filesFailed;
    status.bytesDone = counters->bytesDone;
    status.bytesTotal = counters->bytesQueued;
    status.scanned = counters->scanned;
    return status;
}

QStringList SyncController::profilesOnGroup(const QString &group) const
{
    QStringList names;
    for (auto it = m_profiles.begin(); it != m_profiles.end(); ++it)
        if (it->status.group == group)
            names.append(it.key());
    names.sort();
    return names;
}

QStringList SyncController::groups() const
{
    QStringList groups;
    for (const auto &entry : m_profiles)
        if (!entry.status.group.isEmpty() && !groups.contains(entry.status.group))
            groups.append(entry.status.group);
    groups.sort();
    return groups;
}

QFuture<std::expected<void, ProfileError>>
SyncController::saveProfile(Profile profile, QString secret, bool replaceExisting)
{
    auto saved =
        QtConcurrent::run(&m_worker,
                          [services = m_services, secrets = m_secrets, profile, secret,
                           replaceExisting]() -> std::expected<void, ProfileError> {
                              const auto stored = replaceExisting
                                                      ? services->store().updateProfile(profile)
                                                      : services->store().addProfile(profile);
                              if (!stored)
                                  return stored;
                              if (!secret.isEmpty()) {
                                  if (auto kept = secrets->store(profile.name, secret); !kept) {
                                      if (!replaceExisting)
                                          (void)services->store().removeProfile(profile.name);
                                      return std::unexpected(
                                          ProfileError{ProfileError::Field::Storage, kept.error()});
                                  }
                              }
                              services->forgetTarget(profile.name);
                              return {};
                          });
    return saved.then(this, [this](std::expected<void, ProfileError> result) {
        if (result)
            (void)reload();
        return result;
    });
}

QFuture<std::expected<void, QString>> SyncController::removeProfile(QString name)
{
    if (const auto it = m_profiles.constFind(name);
        it != m_profiles.constEnd() && (it->running || it->starting || it->cancelling))
        return QtFuture::makeReadyFuture(std::expected<void, QString>(std::unexpected(
            tr("Profile `%1` still has work. Cancel it and wait for the clean-up first.")
                .arg(name))));
    auto removed = QtConcurrent::run(
        &m_worker,
        [services = m_services, secrets = m_secrets, name]() -> std::expected<void, QString> {
            if (auto ok = services->store().removeProfile(name); !ok)
                return ok;
            (void)secrets->remove(name);
            services->forgetTarget(name);
            return {};
        });
    return removed.then(this, [this](std::expected<void, QString> result) {
        if (result)
            (void)reload();
        return result;
    });
}

QFuture<std::expected<TaskId, QString>> SyncController::sync(QString name)
{
    const auto it = m_profiles.find(name);
    if (it == m_profiles.end())
        return QtFuture::makeReadyFuture(std::expected<TaskId, QString>(
            std::unexpected(tr("There is no profile named `%1`.").arg(name))));
    if (it->starting || it->running || it->cancelling)
        return QtFuture::makeReadyFuture(std::expected<TaskId, QString>(
            std::unexpected(tr("Profile `%1` is already syncing or cleaning up.").arg(name))));
    it->starting = true;
    it->startCancelled = std::make_shared<std::atomic<bool>>(false);
    touch(name);
    auto started = QtConcurrent::run(&m_worker, [services = m_services, scheduler = m_scheduler,
                                                 name, cancelled = it->startCancelled]() {
        return QCoro::waitFor(startRun(services, scheduler, name, cancelled));
    });
    return started.then(this, [this, name](std::expected<TaskId, QString> result) {
        const auto entry = m_profiles.find(name);
        if (entry == m_profiles.end())
            return result;
        entry->starting = false;
        if (result) {
            // The Submitted event may have come first; either way the run is this profile's.
            m_runs.insert(*result, name);
            entry->running = true;
            entry->status.runId = *result;
            // A cancel that raced the submission: the run must not outlive it.
            if (entry->startCancelled->load())
                (void)m_scheduler->cancel(*result, entry->status.lastStopReason);
        }
        touch(name);
        return result;
    });
}

QFuture<std::expected<int, QString>> SyncController::cancel(QString name, QString reason)
{
    const auto it = m_profiles.find(name);
    if (it == m_profiles.end())
        return QtFuture::makeReadyFuture(std::expected<int, QString>(
            std::unexpected(tr("There is no profile named `%1`.").arg(name))));
    it->status.lastStopReason = reason;
    it->stopReasonGiven = true;
    touch(name);
    if (it->starting && it->startCancelled)
        it->startCancelled->store(true);
    const QString prefix = profileKeyPrefix(name);
    auto cancelled = m_scheduler->cancelWhere(
        [prefix](const TaskRecord &task) { return task.dedupKey.startsWith(prefix); }, reason);
    return cancelled.then(
        this, [this, name](SchedulerResult<CancelResult> result) -> std::expected<int, QString> {
            if (!result)
                return std::unexpected(result.error().message);
            const auto entry = m_profiles.find(name);
            if (entry != m_profiles.end() && !result->tasks.isEmpty() && entry->running) {
                entry->cancelling = true;
                touch(name);
            }
            return int(result->tasks.size());
        });
}

void SyncController::cancelAll(const QString &reason)
{
    for (const auto &name : profileNames())
        (void)cancel(name, reason);
}

void SyncController::pause(const QString &name, const QString &reason)
{
    const auto it = m_profiles.find(name);
    if (it == m_profiles.end() || it->status.group.isEmpty())
        return;
    for (const auto &other : profilesOnGroup(it->status.group))
        setStopReason(other, reason);
    (void)m_scheduler->pauseGroup(it->status.group);
}

void SyncController::resume(const QString &name)
{
    const auto it = m_profiles.constFind(name);
    if (it == m_profiles.constEnd() || it->status.group.isEmpty())
        return;
    (void)m_scheduler->resumeGroup(it->status.group);
}

void SyncController::pauseAll(const QString &reason)
{
    for (const auto &group : groups()) {
        for (const auto &name : profilesOnGroup(group))
            setStopReason(name, reason);
        (void)m_scheduler->pauseGroup(group);
    }
}

void SyncController::resumeAll()
{
    for (const auto &group : groups())
        (void)m_scheduler->resumeGroup(group);
}

void SyncController::setGroupOnline(const QString &group, bool online)
{
    const bool changed = online ? m_offlineGroups.remove(group) : !m_offlineGroups.contains(group);
    if (!online)
        m_offlineGroups.insert(group);
    if (changed)
        touchGroup(group);
}

bool SyncController::isGroupOnline(const QString &group) const
{
    return !m_offlineGroups.contains(group);
}

void SyncController::onEvents(const TaskEvents &events)
{
    // Only Submitted events describe the task; the others carry its id alone.
    for (const auto &event : events) {
        if (event.kind == TaskEvent::Kind::Submitted) {
            const QString name = profileOfKey(event.dedupKey);
            if (name.isEmpty())
                continue;
            m_tasks.insert(event.id, name);
            if (event.type == SyncTypes::Run)
                m_runs.insert(event.id, name);
        }
        if (const QString run = m_runs.value(event.id); !run.isEmpty())
            onRunEvent(event, run);
        if (!isTerminal(event.kind))
            continue;
        const QString name = m_tasks.take(event.id);
        if (!name.isEmpty() && event.kind == TaskEvent::Kind::Cancelled &&
            (event.cleanup == CleanupOutcome::Failed || event.cleanup == CleanupOutcome::TimedOut))
            emit cleanupFailed(name, toText(event.cleanup));
    }
}

void SyncController::onRunEvent(const TaskEvent &event, const QString &name)
{
    const auto entry = m_profiles.find(name);
    if (entry == m_profiles.end())
        return;
    switch (event.kind) {
    case TaskEvent::Kind::Submitted:
        entry->running = true;
        entry->stopReasonGiven = false;
        entry->status.runId = event.id;
        break;
    case TaskEvent::Kind::Cancelling:
        entry->cancelling = true;
        break;
    case TaskEvent::Kind::Completed:
    case TaskEvent::Kind::Failed:
    case TaskEvent::Kind::Cancelled:
    case TaskEvent::Kind::Superseded: {
        m_runs.remove(event.id);
        entry->running = false;
        entry->cancelling = false;
        const HistoryStatus status =
            event.kind == TaskEvent::Kind::Completed   ? HistoryStatus::Completed
            : event.kind == TaskEvent::Kind::Failed    ? HistoryStatus::Failed
            : event.kind == TaskEvent::Kind::Cancelled ? HistoryStatus::Cancelled
                                                       : HistoryStatus::Superseded;
        entry->status.lastResult = status;
        entry->status.lastFinished = QDateTime::currentDateTimeUtc();
        entry->status.lastError = event.detail;
        // A reason given through cancel() or pause() since the run began is newer than the
        // run's own (a user's cancel during an outage's clean-up stays the user's).
        if (status == HistoryStatus::Cancelled && !entry->stopReasonGiven)
            entry->status.lastStopReason = event.detail;
        touch(name);
        emit runFinished(name, status, event.detail);
        return;
    }
    default:
        return;
    }
    touch(name);
}

void SyncController::setStopReason(const QString &name, const QString &reason)
{
    const auto entry = m_profiles.find(name);
    if (entry == m_profiles.end())
        return;
    entry->status.lastStopReason = reason;
    entry->stopReasonGiven = true;
    touch(name);
}

void SyncController::touch(const QString &name)
{
    emit profileChanged(name);
}

void SyncController::touchGroup(const QString &group)
{
    for (const auto &name : profilesOnGroup(group))
        touch(name);
}

ProfileActivity SyncController::activityOf(const Entry &entry) const
{
    if (entry.cancelling)
        return ProfileActivity::Cancelling;
    if (entry.starting)
        return ProfileActivity::Starting;
    if (m_offlineGroups.contains(entry.status.group))
        return ProfileActivity::Offline;
    if (m_pausedGroups.contains(entry.status.group))
        return ProfileActivity::Paused;
    return entry.running ? ProfileActivity::Syncing : ProfileActivity::Idle;
}

QString SyncController::profileOfKey(const QString &dedupKey) const
{
    static const QString head = QStringLiteral("profile:");
    if (!dedupKey.startsWith(head))
        return {};
    // Profile names may hold ':'; the longest known name that prefixes the key wins.
    QString best;
    for (auto it = m_profiles.begin(); it != m_profiles.end(); ++it)
        if (it.key().size() > best.size() && dedupKey.startsWith(profileKeyPrefix(it.key())))
            best = it.key();
    return best;
}

} // namespace ferry
