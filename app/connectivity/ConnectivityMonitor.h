#pragma once

#include "ConnectivityClock.h"
#include "ConnectivityTypes.h"
#include "EndpointProbe.h"
#include "ReachabilitySource.h"

#include <QHash>
#include <QObject>
#include <QStringList>

#include <chrono>
#include <memory>

class QTimer;

namespace ferry {

/// Timings of the ConnectivityMonitor. The defaults suit the desktop; tests shorten them.
struct ConnectivityOptions {
    /// One probe gives up after this long (a stalled endpoint counts as unreachable).
    std::chrono::milliseconds probeTimeout{3000};
    /// Failed probes within `failureWindow` that make an online endpoint offline.
    int failuresToOffline = 3;
    std::chrono::milliseconds failureWindow{30000};
    /// Gap between the probes of one check: a blip shorter than this is not an outage.
    /// Probes overlap, so a stalled endpoint is offline after about timeout + 2 gaps.
    std::chrono::milliseconds confirmSpacing{200};
    /// Re-probes while offline: the first after `retryInitial`, doubling up to `retryMax`.
    std::chrono::milliseconds retryInitial{500};
    std::chrono::milliseconds retryMax{3000};
    /// A check of every online endpoint this often (0: only on triggers).
    std::chrono::milliseconds heartbeat{60000};
    /// How often the clocks are compared, and the jump that counts as a wake from sleep.
    std::chrono::milliseconds clockCheckInterval{2000};
    std::chrono::milliseconds clockJumpThreshold{10000};
};

/**
 * Knows whether the network and each endpoint are reachable, and says so in signals that
 * the reactions (ConnectivityReactor), the window and the tray follow.
 *
 * Inputs: the system's state from a ReachabilitySource, and probes of each watched endpoint
 * through an EndpointProbe, run when the system's state changes, when something suspects an
 * endpoint (suspect(): a task's network error, a stalled transfer), on a heartbeat, with
 * back-off while an endpoint is offline, and at once after a wake from sleep (the wall clock
 * jumped against the monotonic clock).
 *
 * Debounce: an endpoint goes offline after `failuresToOffline` failed probes within
 * `failureWindow` (one slow request is not an outage), or at once when the system reports
 * no network or a captive portal; one successful probe makes it online again. While the
 * system is cut off, nothing is probed: the next change of the system's state probes all.
 *
 * Lives on the thread that creates it (the UI thread); never blocks it: probes are
 * asynchronous. Takes ownership of the source and the probe.
 */
class ConnectivityMonitor : public QObject {
    Q_OBJECT
public:
    ConnectivityMonitor(std::unique_ptr<ReachabilitySource> source,
                        std::unique_ptr<EndpointProbe> probe, ConnectivityOptions options = {},
                        std::shared_ptr<ConnectivityClock> clock = {}, QObject *parent = nullptr);
    ~ConnectivityMonitor() override;

    [[nodiscard]] ReachabilitySource *source() const { return m_source.get(); }
    [[nodiscard]] EndpointProbe *probe() const { return m_probe.get(); }
    [[nodiscard]] const ConnectivityOptions &options() const { return m_options; }

    /// Watches exactly these endpoints (groups); new ones are checked at once.
    void setEndpoints(const QStringList &endpoints);
    void addEndpoint(const QString &endpoint);
    void removeEndpoint(const QString &endpoint);
    [[nodiscard]] QStringList endpoints() const;

    /// Unknown for an endpoint not watched.
    [[nodiscard]] EndpointState endpointState(const QString &endpoint) const;
    /// Why the endpoint is in its state ("connection refused (3 probes)", ...).
    [[nodiscard]] QString endpointReason(const QString &endpoint) const;
    [[nodiscard]] SystemNetworkState systemState() const { return m_system; }
    /// False when the system is cut off (disconnected or captive portal).
    [[nodiscard]] bool isSystemOnline() const { return !m_system.isCutOff(); }

public slots:
    /// Something suggests `endpoint` is in trouble: checks it now (debounced). Ignored while
    /// a check runs, while it is offline (its back-off probes run anyway) or the system is
    /// cut off.
    void suspect(const QString &endpoint, const QString &why);
    /// Checks every endpoint now; offline ones get one probe and their back-off restarts.
    void probeAll(const QString &why);
    /// Compares the clocks (normally on a timer) and probes all after a jump.
    void checkClock();

signals:
    void endpointStateChanged(const QString &endpoint, ferry::EndpointState state,
                              const QString &reason);
    void systemStateChanged(const ferry::SystemNetworkState &state);
    /// Diagnostics: a probe went out, and why ("wall clock jumped by 3600 s", ...).
    void probeStarted(const QString &endpoint, const QString &why);
    void probeFinished(const QString &endpoint, const ferry::ProbeResult &result);
    /// The wall clock moved `deltaMs` more (or less) than the monotonic clock.
    void clockJumped(qint64 deltaMs);

private:
    struct Endpoint;
    void onSystemStateChanged(const SystemNetworkState &state);
    void onProbeFinished(const QString &endpoint, quint64 probeId, const ProbeResult &result);
    void startCheck(const QString &endpoint, const QString &why);
    void launchProbe(Endpoint &endpoint, const QString &why);
    void scheduleRetry(Endpoint &endpoint);
    void stopTimers(Endpoint &endpoint);
    void setState(Endpoint &endpoint, EndpointState state, const QString &reason);
    void onHeartbeat();

    std::unique_ptr<ReachabilitySource> m_source;
    std::unique_ptr<EndpointProbe> m_probe;
    ConnectivityOptions m_options;
    std::shared_ptr<ConnectivityClock> m_clock;
    SystemNetworkState m_system;
    QHash<QString, std::shared_ptr<Endpoint>> m_endpoints;
    quint64 m_nextProbeId = 1;
    QTimer *m_clockTimer;
    QTimer *m_heartbeatTimer;
    qint64 m_lastWallMs = 0;
    qint64 m_lastMonotonicMs = 0;
};

} // namespace ferry
