#pragma once

#include <QMetaType>
#include <QString>

namespace ferry {

/// Whether an endpoint (a scheduler group, `s3://host:port`) answers.
enum class EndpointState {
    Unknown, ///< Not probed yet.
    Online,  ///< The last probe got an answer.
    Offline, ///< Several probes in a row got none, or the system reports no network.
};

/// The system's reachability, as QNetworkInformation reports it.
enum class SystemReachability {
    Unknown,      ///< No backend, or the backend does not know: assume online, rely on probes.
    Disconnected, ///< No network at all.
    Local,        ///< Only the local host / link.
    Site,         ///< A site network without the internet.
    Online,       ///< The internet is reachable.
};

/// How the system is connected, where the backend reports it.
enum class TransportMedium { Unknown, Ethernet, Cellular, WiFi, Bluetooth };

/// One snapshot of the system's network, from a ReachabilitySource.
struct SystemNetworkState {
    SystemReachability reachability = SystemReachability::Unknown;
    bool metered = false;             ///< Data costs money (includes cellular).
    bool behindCaptivePortal = false; ///< The network wants a sign-in first.
    TransportMedium medium = TransportMedium::Unknown;
    QString backend; ///< The QNetworkInformation backend in use; empty when none loaded.

    /// Whether nothing can be reached: disconnected, or caught by a captive portal.
    [[nodiscard]] bool isCutOff() const
    {
        return reachability == SystemReachability::Disconnected || behindCaptivePortal;
    }
    bool operator==(const SystemNetworkState &) const = default;
};

/// The outcome of one endpoint probe.
struct ProbeResult {
    bool reachable = false; ///< The endpoint sent an answer (any HTTP status counts).
    QString detail;         ///< What happened, for the user: "connection refused", ...
    qint64 elapsedMs = 0;
};

[[nodiscard]] QString toText(EndpointState state);
[[nodiscard]] QString toText(SystemReachability reachability);
[[nodiscard]] QString toText(TransportMedium medium);

} // namespace ferry

Q_DECLARE_METATYPE(ferry::EndpointState)
Q_DECLARE_METATYPE(ferry::SystemNetworkState)
Q_DECLARE_METATYPE(ferry::ProbeResult)
