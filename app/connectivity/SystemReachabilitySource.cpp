#include "SystemReachabilitySource.h"

#include "ConnectivityLogging.h"

#include <QNetworkInformation>

namespace ferry {

namespace {

SystemReachability fromQt(QNetworkInformation::Reachability reachability)
{
    switch (reachability) {
    case QNetworkInformation::Reachability::Unknown:
        return SystemReachability::Unknown;
    case QNetworkInformation::Reachability::Disconnected:
        return SystemReachability::Disconnected;
    case QNetworkInformation::Reachability::Local:
        return SystemReachability::Local;
    case QNetworkInformation::Reachability::Site:
        return SystemReachability::Site;
    case QNetworkInformation::Reachability::Online:
        return SystemReachability::Online;
    }
    return SystemReachability::Unknown;
}

TransportMedium fromQt(QNetworkInformation::TransportMedium medium)
{
    switch (medium) {
    case QNetworkInformation::TransportMedium::Unknown:
        return TransportMedium::Unknown;
    case QNetworkInformation::TransportMedium::Ethernet:
        return TransportMedium::Ethernet;
    case QNetworkInformation::TransportMedium::Cellular:
        return TransportMedium::Cellular;
    case QNetworkInformation::TransportMedium::WiFi:
        return TransportMedium::WiFi;
    case QNetworkInformation::TransportMedium::Bluetooth:
        return TransportMedium::Bluetooth;
    }
    return TransportMedium::Unknown;
}

/// Loads a backend: the platform's default, else any that reports reachability.
QNetworkInformation *loadBackend()
{
    if (QNetworkInformation::instance())
        return QNetworkInformation::instance();
    if (QNetworkInformation::loadDefaultBackend() && QNetworkInformation::instance())
        return QNetworkInformation::instance();
    if (QNetworkInformation::loadBackendByFeatures(QNetworkInformation::Feature::Reachability))
        return QNetworkInformation::instance();
    qCInfo(lcConnectivity) << "no network information backend loaded (available:"
                           << QNetworkInformation::availableBackends()
                           << "): assuming online, relying on endpoint probes";
    return nullptr;
}

} // namespace

SystemReachabilitySource::SystemReachabilitySource(QObject *parent) : ReachabilitySource(parent)
{
    QNetworkInformation *info = loadBackend();
    if (!info)
        return;
    m_state.backend = info->backendName();
    connect(info, &QNetworkInformation::reachabilityChanged, this,
            &SystemReachabilitySource::refresh);
    connect(info, &QNetworkInformation::isMeteredChanged, this, &SystemReachabilitySource::refresh);
    connect(info, &QNetworkInformation::isBehindCaptivePortalChanged, this,
            &SystemReachabilitySource::refresh);
    connect(info, &QNetworkInformation::transportMediumChanged, this,
            &SystemReachabilitySource::refresh);
    refresh();
    qCInfo(lcConnectivity) << "network information backend" << m_state.backend << "features"
                           << int(info->supportedFeatures());
}

void SystemReachabilitySource::refresh()
{
    QNetworkInformation *info = QNetworkInformation::instance();
    if (!info)
        return;
    SystemNetworkState next;
    next.backend = info->backendName();
    const auto features = info->supportedFeatures();
    if (features.testFlag(QNetworkInformation::Feature::Reachability))
        next.reachability = fromQt(info->reachability());
    if (features.testFlag(QNetworkInformation::Feature::CaptivePortal))
        next.behindCaptivePortal = info->isBehindCaptivePortal();
    if (features.testFlag(QNetworkInformation::Feature::TransportMedium))
        next.medium = fromQt(info->transportMedium());
    if (features.testFlag(QNetworkInformation::Feature::Metered))
        next.metered = info->isMetered();
    // Cellular data costs money even where the backend does not say "metered".
    next.metered = next.metered || next.medium == TransportMedium::Cellular;
    if (next == m_state)
        return;
    m_state = next;
    emit stateChanged(m_state);
}

} // namespace ferry
