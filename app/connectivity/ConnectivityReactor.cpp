#include "ConnectivityReactor.h"

#include "ConnectivityLogging.h"
#include "ConnectivityMonitor.h"
#include "SyncProbeTargets.h"

#include "app/sync/OrphanSweep.h"
#include "app/sync/SyncController.h"
#include "scheduler/Scheduler.h"

#include <QTimer>

#include <algorithm>

namespace ferry {

namespace {
const QString kOffline = CancelReason::Offline;
const QString kMetered = QStringLiteral("metered");
constexpr int kResyncAttempts = 60;
} // namespace

ConnectivityReactor::ConnectivityReactor(ConnectivityMonitor *monitor, SyncController *controller,
                                         std::shared_ptr<SyncProbeTargets> targets,
                                         ReactorOptions options, QObject *parent)
    : QObject(parent), m_monitor(monitor), m_controller(controller), m_targets(std::move(targets)),
      m_options(options), m_stallTimer(new QTimer(this))
{
    m_clock.start();
    m_worker.setMaxThreadCount(1);
    Scheduler *scheduler = controller->scheduler();
    connect(monitor, &ConnectivityMonitor::endpointStateChanged, this,
            &ConnectivityReactor::onEndpointStateChanged);
    connect(monitor, &ConnectivityMonitor::systemStateChanged, this,
            &ConnectivityReactor::onSystemStateChanged);
    connect(controller, &SyncController::profilesChanged, this,
            &ConnectivityReactor::onProfilesChanged);
    connect(controller, &SyncController::profileChanged, this,
            [this](const QString &name) { tryResync(name); });
    connect(scheduler, &Scheduler::eventsBatch, this, &ConnectivityReactor::onEvents);
    connect(scheduler, &Scheduler::groupPaused, this,
            [this](const QString &group) { m_pausedGroups.insert(group); });
    connect(scheduler, &Scheduler::groupResumed, this, [this](const QString &group) {
        m_pausedGroups.remove(group);
        if (m_ownResumes.value(group) > 0) {
            --m_ownResumes[group];
            return;
        }
        // Someone else (the user) resumed it: it is no longer the reactor's to resume.
        m_pauseClaims.remove(group);
    });
    scheduler->pausedGroups().then(this, [this](const QStringList &groups) {
        for (const QString &group : groups)
            m_pausedGroups.insert(group);
    });

    for (const QString &group : monitor->endpoints())
        m_states.insert(group, monitor->endpointState(group));
    m_metered = monitor->systemState().metered;
    onProfilesChanged();

    connect(m_stallTimer, &QTimer::timeout, this, &ConnectivityReactor::onStallCheck);
    // Fine-grained: a stall is noticed within a tenth of a second of the threshold.
    m_stallTimer->start(std::clamp<qint64>(m_options.stallThreshold.count() / 10, 20, 100));
}

ConnectivityReactor::~ConnectivityReactor()
{
    m_worker.waitForDone();
}

void ConnectivityReactor::onProfilesChanged()
{
    const QStringList groups = m_controller->groups();
    if (m_targets) {
        QHash<QString, QStringList> byGroup;
        for (const QString &group : groups)
            byGroup.insert(group, m_controller->profilesOnGroup(group));
        m_targets->setProfiles(byGroup); // before the monitor probes a new endpoint
    }
    m_monitor->setEndpoints(groups);
    applyMetered();
}

void ConnectivityReactor::onEndpointStateChanged(const QString &group, EndpointState state,
                                                 const QString &reason)
{
    const EndpointState previous = m_states.value(group, EndpointState::Unknown);
    m_states.insert(group, state);
    qCInfo(lcConnectivity) << "reacting:" << group << toText(previous) << "->" << toText(state)
                           << reason;
    if (state == EndpointState::Offline && previous != EndpointState::Offline)
        goOffline(group);
    else if (state == EndpointState::Online && previous == EndpointState::Offline)
        goOnline(group);
    else if (state == EndpointState::Online)
        m_controller->setGroupOnline(group, true);
}

void ConnectivityReactor::onSystemStateChanged(const SystemNetworkState &state)
{
    if (state.metered == m_metered)
        return;
    m_metered = state.metered;
    applyMetered();
}

void ConnectivityReactor::goOffline(const QString &group)
{
    QStringList cancelled;
    QStringList paused;
    for (const QString &name : m_controller->profilesOnGroup(group)) {
        const auto status = m_controller->status(name);
        if (!status)
            continue;
        if (status->profile.onOffline == OfflineReaction::Pause) {
            paused.append(name);
            continue;
        }
        cancelled.append(name);
        m_resync.remove(name); // a new outage: decided again when it is back
        if (isActive(name))
            m_outageCancelled.insert(name);
    }
    m_controller->setGroupOnline(group, false);
    if (!cancelled.isEmpty()) {
        if (paused.isEmpty()) {
            // One atomic cancel for the endpoint: runs, uploads, sweeps.
            (void)m_controller->scheduler()->cancelGroup(group, kOffline);
            // A profile still sweeping before its run is stopped by the controller.
            for (const QString &name : std::as_const(cancelled))
                if (const auto status = m_controller->status(name);
                    status && status->activity == ProfileActivity::Starting)
                    (void)m_controller->cancel(name, kOffline);
        } else {
            for (const QString &name : std::as_const(cancelled))
                (void)m_controller->cancel(name, kOffline);
        }
        emit reacted(group, QStringLiteral("cancel"), cancelled);
    }
    if (!paused.isEmpty())
        claimPause(group, kOffline);
}

void ConnectivityReactor::goOnline(const QString &group)
{
    m_controller->setGroupOnline(group, true);
    (void)m_controller->scheduler()->retryCleanupsNow(group);
    const QStringList names = m_controller->profilesOnGroup(group);
    emit reacted(group, QStringLiteral("retry-cleanups"), names);

    QStringList resync;
    QStringList sweepOnly;
    for (const QString &name : names) {
        const auto status = m_controller->status(name);
        const bool outage = m_outageCancelled.remove(name);
        if (outage && status && status->lastStopReason != CancelReason::User) {
            m_resync.insert(name);
            resync.append(name);
        } else {
            sweepOnly.append(name); // sync() sweeps before its run; the others get a sweep
        }
    }
    qCInfo(lcConnectivity) << group << "is back: re-sync" << resync << "sweep" << sweepOnly;
    sweep(group, sweepOnly);
    releasePause(group, kOffline);
    for (const QString &name : std::as_const(resync))
        tryResync(name);
}

void ConnectivityReactor::applyMetered()
{
    for (const QString &group : m_controller->groups()) {
        bool wants = false;
        for (const QString &name : m_controller->profilesOnGroup(group)) {
            const auto status = m_controller->status(name);
            wants = wants || (status && status->profile.pauseOnMetered);
        }
        if (m_metered && wants)
            claimPause(group, kMetered);
        else
            releasePause(group, kMetered);
    }
}

void ConnectivityReactor::claimPause(const QString &group, const QString &why)
{
    auto claims = m_pauseClaims.find(group);
    if (claims != m_pauseClaims.end()) {
        claims->insert(why);
        return;
    }
    if (m_pausedGroups.contains(group))
        return; // paused by someone else (the user): not the reactor's to hold or lift
    const QStringList names = m_controller->profilesOnGroup(group);
    if (names.isEmpty())
        return;
    m_pauseClaims[group].insert(why);
    m_claimedAtMs.insert(group, m_clock.elapsed());
    m_pausedGroups.insert(group);
    m_controller->pause(names.first(), why); // the whole endpoint, with the reason for each
    emit reacted(group, QStringLiteral("pause"), names);
}

void ConnectivityReactor::releasePause(const QString &group, const QString &why)
{
    auto claims = m_pauseClaims.find(group);
    if (claims == m_pauseClaims.end() || !claims->remove(why) || !claims->isEmpty())
        return;
    m_pauseClaims.erase(claims);
    if (!m_pausedGroups.contains(group) || userPaused(group))
        return; // resumed already, or the user paused it by hand meanwhile
    const QStringList names = m_controller->profilesOnGroup(group);
    if (names.isEmpty())
        return;
    m_pausedGroups.remove(group);
    ++m_ownResumes[group];
    m_controller->resume(names.first());
    emit reacted(group, QStringLiteral("resume"), names);
}

void ConnectivityReactor::sweep(const QString &group, const QStringList &profiles)
{
    if (profiles.isEmpty())
        return;
    // Resolving a target may read the app store: off this (the UI) thread.
    SyncServices *services = &m_controller->services();
    Scheduler *scheduler = m_controller->scheduler();
    m_worker.start([services, scheduler, profiles] {
        for (const QString &name : profiles) {
            auto target = services->target(name);
            if (!target) {
                qCWarning(lcConnectivity) << "no sweep for" << name << ":" << target.error();
                continue;
            }
            (void)scheduler->submit(sweepSpec(*target));
        }
    });
    emit reacted(group, QStringLiteral("sweep"), profiles);
}

void ConnectivityReactor::tryResync(const QString &name)
{
    if (!m_resync.contains(name) || m_resyncStarting.contains(name))
        return;
    const auto status = m_controller->status(name);
    if (!status || status->lastStopReason == CancelReason::User) {
        m_resync.remove(name); // gone, or the user cancelled it: leave it as the user left it
        return;
    }
    if (m_states.value(status->group) == EndpointState::Offline || isActive(name) ||
        status->activity == ProfileActivity::Cancelling) {
        qCDebug(lcConnectivity) << "re-sync of" << name << "waits:" << toText(status->activity);
        return; // again on its next change
    }
    m_resyncStarting.insert(name);
    const QString group = status->group;
    m_controller->sync(name).then(this, [this, name, group](std::expected<TaskId, QString> run) {
        m_resyncStarting.remove(name);
        if (run) {
            m_resync.remove(name);
            m_resyncAttempts.remove(name);
            emit reacted(group, QStringLiteral("resync"), QStringList(name));
            return;
        }
        const int attempts = ++m_resyncAttempts[name];
        qCInfo(lcConnectivity) << "re-sync of" << name << "refused:" << run.error();
        if (attempts >= kResyncAttempts) {
            m_resync.remove(name);
            m_resyncAttempts.remove(name);
            return;
        }
        QTimer::singleShot(1000, this, [this, name] { tryResync(name); });
    });
}

bool ConnectivityReactor::isActive(const QString &name) const
{
    for (const QString &profile : m_activeRuns)
        if (profile == name)
            return true;
    const auto status = m_controller->status(name);
    return status && (status->activity == ProfileActivity::Starting ||
                      status->activity == ProfileActivity::Syncing);
}

bool ConnectivityReactor::userPaused(const QString &group) const
{
    // The controller's pause() marks every profile of the endpoint with the user's reason;
    // its cancel() marks one, and a cancelled run is not a pause.
    const qint64 claimedAt = m_claimedAtMs.value(group, 0);
    for (const QString &name : m_controller->profilesOnGroup(group)) {
        const auto status = m_controller->status(name);
        if (status && status->lastStopReason == CancelReason::User &&
            m_userCancelAtMs.value(name, -1) < claimedAt)
            return true;
    }
    return false;
}

QString ConnectivityReactor::profileOfKey(const QString &dedupKey) const
{
    for (const QString &name : m_controller->profileNames())
        if (dedupKey.startsWith(profileKeyPrefix(name)))
            return name;
    return {};
}

void ConnectivityReactor::onEvents(const TaskEvents &events)
{
    const qint64 now = m_clock.elapsed();
    QStringList finishedRuns;
    for (const TaskEvent &event : events) {
        // Only Submitted, Started, Waiting, Retrying, Completed and the first Failed carry
        // the task's group and type: remember them by id for the others.
        if (!event.group.isEmpty() && !m_tasks.contains(event.id))
            m_tasks.insert(event.id,
                           KnownTask{event.group, event.type, profileOfKey(event.dedupKey)});
        const KnownTask task = m_tasks.value(event.id);
        const bool ends = event.kind == TaskEvent::Kind::Completed ||
                          event.kind == TaskEvent::Kind::Cancelled ||
                          event.kind == TaskEvent::Kind::Superseded ||
                          (event.kind == TaskEvent::Kind::Failed && event.group.isEmpty());
        if (task.type == SyncTypes::Run && !task.profile.isEmpty()) {
            if (event.kind == TaskEvent::Kind::Submitted || event.kind == TaskEvent::Kind::Started)
                m_activeRuns.insert(event.id, task.profile);
            if (ends || event.kind == TaskEvent::Kind::Failed) {
                m_activeRuns.remove(event.id);
                finishedRuns.append(task.profile);
                if (event.kind == TaskEvent::Kind::Cancelled && event.detail == CancelReason::User)
                    m_userCancelAtMs.insert(task.profile, now);
            }
        }
        if (ends)
            m_tasks.remove(event.id);
        if (task.group.isEmpty())
            continue;
        switch (event.kind) {
        case TaskEvent::Kind::Started:
            m_running[task.group].insert(event.id);
            m_lastActivity.insert(task.group, now);
            break;
        case TaskEvent::Kind::Progress:
            m_lastActivity.insert(task.group, now);
            break;
        case TaskEvent::Kind::Retrying:
            m_running[task.group].remove(event.id);
            m_monitor->suspect(task.group, tr("a task will retry: %1").arg(event.detail));
            break;
        case TaskEvent::Kind::Cancelling:
            if (event.detail.startsWith(QLatin1String("clean-up will retry")))
                m_monitor->suspect(task.group, tr("a clean-up will retry: %1").arg(event.detail));
            break;
        case TaskEvent::Kind::Failed:
            m_running[task.group].remove(event.id);
            if (!event.detail.isEmpty())
                m_monitor->suspect(task.group, tr("a task failed: %1").arg(event.detail));
            break;
        case TaskEvent::Kind::Submitted:
        case TaskEvent::Kind::Resumed:
            break;
        case TaskEvent::Kind::Waiting:
        case TaskEvent::Kind::Paused:
        case TaskEvent::Kind::Completed:
        case TaskEvent::Kind::Cancelled:
        case TaskEvent::Kind::Superseded:
            m_running[task.group].remove(event.id);
            break;
        }
    }
    for (const QString &name : std::as_const(finishedRuns))
        tryResync(name);
}

void ConnectivityReactor::onStallCheck()
{
    const qint64 now = m_clock.elapsed();
    for (auto it = m_running.begin(); it != m_running.end(); ++it) {
        if (it->isEmpty() || m_states.value(it.key()) == EndpointState::Offline)
            continue;
        const qint64 quietMs = now - m_lastActivity.value(it.key(), now);
        if (quietMs < m_options.stallThreshold.count())
            continue;
        m_lastActivity.insert(it.key(), now); // at most one check per threshold
        m_monitor->suspect(it.key(), tr("no transfer progress for %1 ms").arg(quietMs));
    }
}

} // namespace ferry
