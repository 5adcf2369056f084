#include "ConnectivityBinding.h"

#include "MainWindow.h"
#include "Tray.h"
#include "app/connectivity/ConnectivityMonitor.h"

namespace ferry {

void bindConnectivity(ConnectivityMonitor *monitor, MainWindow *window, Tray *tray)
{
    const auto showEndpoint = [window, tray](const QString &endpoint, EndpointState state,
                                             const QString &reason) {
        const bool online = state != EndpointState::Offline;
        if (window)
            window->setEndpointOnline(endpoint, online, reason);
        if (tray)
            tray->setEndpointOnline(endpoint, online, reason);
    };
    const auto showSystem = [window, tray](const SystemNetworkState &state) {
        if (window)
            window->setSystemOnline(!state.isCutOff());
        if (tray)
            tray->setSystemOnline(!state.isCutOff());
    };
    QObject *context = window ? static_cast<QObject *>(window) : static_cast<QObject *>(tray);
    QObject::connect(monitor, &ConnectivityMonitor::endpointStateChanged, context, showEndpoint);
    QObject::connect(monitor, &ConnectivityMonitor::systemStateChanged, context, showSystem);
    showSystem(monitor->systemState());
    for (const QString &endpoint : monitor->endpoints())
        if (monitor->endpointState(endpoint) != EndpointState::Unknown)
            showEndpoint(endpoint, monitor->endpointState(endpoint),
                         monitor->endpointReason(endpoint));
}

} // namespace ferry
