#include "ConnectivityMonitor.h"

#include "ConnectivityLogging.h"

#include <QPointer>
#include <QTimer>

namespace ferry {

/// What the monitor knows of one watched endpoint.
struct ConnectivityMonitor::Endpoint {
    QString name;
    EndpointState state = EndpointState::Unknown;
    QString reason;
    QList<qint64> failureTimes;      ///< Monotonic ms of failed probes since the last success.
    QHash<quint64, qint64> inFlight; ///< Probe id → monotonic ms it went out.
    bool checking = false;           ///< A check (several spaced probes) is under way.
    int checkLaunched = 0;
    QString checkWhy;
    std::unique_ptr<QTimer> confirmTimer; ///< Launches the next probe of a check.
    std::unique_ptr<QTimer> retryTimer;   ///< Back-off re-probes while offline.
    std::chrono::milliseconds retryDelay{0};
};

ConnectivityMonitor::ConnectivityMonitor(std::unique_ptr<ReachabilitySource> source,
                                         std::unique_ptr<EndpointProbe> probe,
                                         ConnectivityOptions options,
                                         std::shared_ptr<ConnectivityClock> clock, QObject *parent)
    : QObject(parent), m_source(std::move(source)), m_probe(std::move(probe)), m_options(options),
      m_clock(clock ? std::move(clock) : std::make_shared<SystemConnectivityClock>()),
      m_clockTimer(new QTimer(this)), m_heartbeatTimer(new QTimer(this))
{
    qRegisterMetaType<ferry::EndpointState>();
    qRegisterMetaType<ferry::SystemNetworkState>();
    qRegisterMetaType<ferry::ProbeResult>();
    m_options.failuresToOffline = std::max(1, m_options.failuresToOffline);
    m_system = m_source->state();
    connect(m_source.get(), &ReachabilitySource::stateChanged, this,
            &ConnectivityMonitor::onSystemStateChanged);
    connect(m_probe.get(), &EndpointProbe::probeFinished, this,
            &ConnectivityMonitor::onProbeFinished, Qt::QueuedConnection);

    m_lastWallMs = m_clock->wallMs();
    m_lastMonotonicMs = m_clock->monotonicMs();
    connect(m_clockTimer, &QTimer::timeout, this, &ConnectivityMonitor::checkClock);
    m_clockTimer->start(m_options.clockCheckInterval);
    connect(m_heartbeatTimer, &QTimer::timeout, this, &ConnectivityMonitor::onHeartbeat);
    if (m_options.heartbeat.count() > 0)
        m_heartbeatTimer->start(m_options.heartbeat);
    qCInfo(lcConnectivity) << "system network:" << toText(m_system.reachability) << "backend"
                           << (m_system.backend.isEmpty() ? "none" : m_system.backend) << "metered"
                           << m_system.metered;
}

ConnectivityMonitor::~ConnectivityMonitor()
{
    // The probe may answer from another thread until it is gone: stop listening first.
    if (m_probe)
        disconnect(m_probe.get(), nullptr, this, nullptr);
    m_probe.reset();
    m_endpoints.clear();
}

void ConnectivityMonitor::setEndpoints(const QStringList &endpoints)
{
    const QStringList current = m_endpoints.keys();
    for (const QString &endpoint : current)
        if (!endpoints.contains(endpoint))
            removeEndpoint(endpoint);
    for (const QString &endpoint : endpoints)
        addEndpoint(endpoint);
}

void ConnectivityMonitor::addEndpoint(const QString &name)
{
    if (name.isEmpty() || m_endpoints.contains(name))
        return;
    auto endpoint = std::make_shared<Endpoint>();
    endpoint->name = name;
    endpoint->retryDelay = m_options.retryInitial;
    endpoint->confirmTimer = std::make_unique<QTimer>();
    endpoint->confirmTimer->setSingleShot(true);
    endpoint->retryTimer = std::make_unique<QTimer>();
    endpoint->retryTimer->setSingleShot(true);
    Endpoint *raw = endpoint.get();
    connect(endpoint->confirmTimer.get(), &QTimer::timeout, this, [this, raw] {
        if (!raw->checking || raw->checkLaunched >= m_options.failuresToOffline)
            return;
        launchProbe(*raw, raw->checkWhy + QStringLiteral(" (confirming)"));
        if (raw->checkLaunched < m_options.failuresToOffline)
            raw->confirmTimer->start(m_options.confirmSpacing);
    });
    connect(endpoint->retryTimer.get(), &QTimer::timeout, this, [this, raw] {
        if (raw->state == EndpointState::Offline && !m_system.isCutOff())
            launchProbe(*raw, QStringLiteral("re-probe while offline"));
    });
    m_endpoints.insert(name, endpoint);
    qCDebug(lcConnectivity) << "watching" << name;
    if (m_system.isCutOff())
        setState(*raw, EndpointState::Offline, tr("The system reports no network."));
    else
        startCheck(name, QStringLiteral("new endpoint"));
}

void ConnectivityMonitor::removeEndpoint(const QString &name)
{
    m_endpoints.remove(name); // its timers go with it; late probe answers are ignored
}

QStringList ConnectivityMonitor::endpoints() const
{
    QStringList names = m_endpoints.keys();
    names.sort();
    return names;
}

EndpointState ConnectivityMonitor::endpointState(const QString &endpoint) const
{
    const auto it = m_endpoints.constFind(endpoint);
    return it == m_endpoints.constEnd() ? EndpointState::Unknown : (*it)->state;
}

QString ConnectivityMonitor::endpointReason(const QString &endpoint) const
{
    const auto it = m_endpoints.constFind(endpoint);
    return it == m_endpoints.constEnd() ? QString() : (*it)->reason;
}

void ConnectivityMonitor::suspect(const QString &endpoint, const QString &why)
{
    const auto it = m_endpoints.constFind(endpoint);
    if (it == m_endpoints.constEnd() || m_system.isCutOff() ||
        (*it)->state == EndpointState::Offline)
        return;
    startCheck(endpoint, why);
}

void ConnectivityMonitor::probeAll(const QString &why)
{
    if (m_system.isCutOff())
        return;
    qCInfo(lcConnectivity) << "probing every endpoint:" << why;
    const auto all = m_endpoints.values();
    for (const auto &endpoint : all) {
        if (endpoint->state == EndpointState::Offline) {
            endpoint->retryTimer->stop();
            endpoint->retryDelay = m_options.retryInitial;
            launchProbe(*endpoint, why);
        } else {
            startCheck(endpoint->name, why);
        }
    }
}

void ConnectivityMonitor::checkClock()
{
    const qint64 wall = m_clock->wallMs();
    const qint64 monotonic = m_clock->monotonicMs();
    const qint64 drift = (wall - m_lastWallMs) - (monotonic - m_lastMonotonicMs);
    m_lastWallMs = wall;
    m_lastMonotonicMs = monotonic;
    if (std::abs(drift) < m_options.clockJumpThreshold.count())
        return;
    qCInfo(lcConnectivity) << "wall clock jumped by" << drift << "ms against the monotonic clock";
    emit clockJumped(drift);
    probeAll(QStringLiteral("the wall clock jumped by %1 s (woke from sleep?)").arg(drift / 1000));
}

void ConnectivityMonitor::onSystemStateChanged(const SystemNetworkState &state)
{
    const SystemNetworkState previous = m_system;
    m_system = state;
    qCInfo(lcConnectivity) << "system network:" << toText(state.reachability) << "metered"
                           << state.metered << "captive portal" << state.behindCaptivePortal
                           << "medium" << toText(state.medium);
    emit systemStateChanged(state);

    if (state.isCutOff()) {
        if (previous.isCutOff())
            return;
        const QString reason =
            state.behindCaptivePortal
                ? tr("The network asks for a sign-in (captive portal): sign in, Ferry "
                     "resumes by itself.")
                : tr("The system reports no network: Ferry resumes by itself when it is back.");
        const auto all = m_endpoints.values();
        for (const auto &endpoint : all) {
            stopTimers(*endpoint);
            endpoint->inFlight.clear(); // their answers no longer matter
            endpoint->failureTimes.clear();
            setState(*endpoint, EndpointState::Offline, reason);
        }
        return;
    }
    if (previous.isCutOff()) {
        probeAll(QStringLiteral("the network is back"));
        return;
    }
    if (previous.reachability != state.reachability || previous.medium != state.medium ||
        previous.backend != state.backend)
        probeAll(QStringLiteral("the network changed"));
}

void ConnectivityMonitor::startCheck(const QString &name, const QString &why)
{
    const auto it = m_endpoints.constFind(name);
    if (it == m_endpoints.constEnd() || m_system.isCutOff())
        return;
    Endpoint &endpoint = **it;
    if (endpoint.checking)
        return;
    endpoint.checking = true;
    endpoint.checkLaunched = 0;
    endpoint.checkWhy = why;
    launchProbe(endpoint, why);
    if (endpoint.checkLaunched < m_options.failuresToOffline)
        endpoint.confirmTimer->start(m_options.confirmSpacing);
}

void ConnectivityMonitor::launchProbe(Endpoint &endpoint, const QString &why)
{
    const qint64 now = m_clock->monotonicMs();
    // A probe that never answered (it must, but) must not block the endpoint for good.
    const qint64 lost = 2 * m_options.probeTimeout.count() + 1000;
    for (auto it = endpoint.inFlight.begin(); it != endpoint.inFlight.end();)
        it = now - it.value() > lost ? endpoint.inFlight.erase(it) : std::next(it);

    const quint64 id = m_nextProbeId++;
    endpoint.inFlight.insert(id, now);
    if (endpoint.checking)
        ++endpoint.checkLaunched;
    qCDebug(lcConnectivity) << "probe" << id << endpoint.name << why;
    emit probeStarted(endpoint.name, why);
    m_probe->probe(endpoint.name, id, m_options.probeTimeout);
}

void ConnectivityMonitor::onProbeFinished(const QString &name, quint64 probeId,
                                          const ProbeResult &result)
{
    const auto it = m_endpoints.constFind(name);
    if (it == m_endpoints.constEnd())
        return;
    Endpoint &endpoint = **it;
    if (!endpoint.inFlight.remove(probeId))
        return; // stale: sent before the system was cut off, or lost and given up on
    qCDebug(lcConnectivity) << "probe" << probeId << name << (result.reachable ? "ok" : "failed")
                            << result.detail << result.elapsedMs << "ms";
    emit probeFinished(name, result);
    if (m_system.isCutOff())
        return;

    if (result.reachable) {
        stopTimers(endpoint);
        endpoint.failureTimes.clear();
        endpoint.retryDelay = m_options.retryInitial;
        setState(endpoint, EndpointState::Online, result.detail);
        return;
    }

    const qint64 now = m_clock->monotonicMs();
    endpoint.failureTimes.append(now);
    while (!endpoint.failureTimes.isEmpty() &&
           now - endpoint.failureTimes.first() > m_options.failureWindow.count())
        endpoint.failureTimes.removeFirst();

    if (endpoint.state == EndpointState::Offline) {
        scheduleRetry(endpoint);
        return;
    }
    if (endpoint.failureTimes.size() >= m_options.failuresToOffline) {
        stopTimers(endpoint);
        endpoint.retryDelay = m_options.retryInitial;
        setState(endpoint, EndpointState::Offline,
                 tr("%1 (%n probe(s) failed)", nullptr, int(endpoint.failureTimes.size()))
                     .arg(result.detail));
        scheduleRetry(endpoint);
        return;
    }
    // Not (yet) enough failures: make sure a check is confirming, or start one.
    if (endpoint.checking && endpoint.checkLaunched >= m_options.failuresToOffline &&
        endpoint.inFlight.isEmpty())
        endpoint.checking = false; // failures fell out of the window: the check is over
    if (!endpoint.checking)
        startCheck(endpoint.name, QStringLiteral("a probe failed: ") + result.detail);
}

void ConnectivityMonitor::scheduleRetry(Endpoint &endpoint)
{
    if (endpoint.retryTimer->isActive() || !endpoint.inFlight.isEmpty())
        return;
    endpoint.retryTimer->start(endpoint.retryDelay);
    endpoint.retryDelay = std::min(endpoint.retryDelay * 2, m_options.retryMax);
}

void ConnectivityMonitor::stopTimers(Endpoint &endpoint)
{
    endpoint.checking = false;
    endpoint.checkLaunched = 0;
    endpoint.confirmTimer->stop();
    endpoint.retryTimer->stop();
}

void ConnectivityMonitor::setState(Endpoint &endpoint, EndpointState state, const QString &reason)
{
    endpoint.reason = reason;
    if (endpoint.state == state)
        return;
    endpoint.state = state;
    qCInfo(lcConnectivity) << endpoint.name << "is" << toText(state) << "-" << reason;
    emit endpointStateChanged(endpoint.name, state, reason);
}

void ConnectivityMonitor::onHeartbeat()
{
    const auto all = m_endpoints.values();
    for (const auto &endpoint : all)
        if (endpoint->state != EndpointState::Offline)
            startCheck(endpoint->name, QStringLiteral("heartbeat"));
}

} // namespace ferry
