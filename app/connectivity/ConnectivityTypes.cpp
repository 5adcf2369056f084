#include "ConnectivityTypes.h"

namespace ferry {

QString toText(EndpointState state)
{
    switch (state) {
    case EndpointState::Unknown:
        return QStringLiteral("unknown");
    case EndpointState::Online:
        return QStringLiteral("online");
    case EndpointState::Offline:
        return QStringLiteral("offline");
    }
    return QStringLiteral("unknown");
}

QString toText(SystemReachability reachability)
{
    switch (reachability) {
    case SystemReachability::Unknown:
        return QStringLiteral("unknown");
    case SystemReachability::Disconnected:
        return QStringLiteral("disconnected");
    case SystemReachability::Local:
        return QStringLiteral("local");
    case SystemReachability::Site:
        return QStringLiteral("site");
    case SystemReachability::Online:
        return QStringLiteral("online");
    }
    return QStringLiteral("unknown");
}

QString toText(TransportMedium medium)
{
    switch (medium) {
    case TransportMedium::Unknown:
        return QStringLiteral("unknown");
    case TransportMedium::Ethernet:
        return QStringLiteral("ethernet");
    case TransportMedium::Cellular:
        return QStringLiteral("cellular");
    case TransportMedium::WiFi:
        return QStringLiteral("wifi");
    case TransportMedium::Bluetooth:
        return QStringLiteral("bluetooth");
    }
    return QStringLiteral("unknown");
}

} // namespace ferry
