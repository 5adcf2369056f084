#include "ConnectivitySetup.h"

#include "S3EndpointProbe.h"
#include "SyncProbeTargets.h"
#include "SystemReachabilitySource.h"

#include "app/sync/SyncController.h"

namespace ferry {

Connectivity setUpConnectivity(SyncController *controller, QObject *parent,
                               ConnectivityOptions options, ReactorOptions reactorOptions)
{
    auto targets = std::make_shared<SyncProbeTargets>(controller->services());
    Connectivity connectivity;
    connectivity.monitor = new ConnectivityMonitor(
        std::make_unique<SystemReachabilitySource>(),
        std::make_unique<S3EndpointProbe>(targets->resolver()), options, {}, parent);
    connectivity.reactor = new ConnectivityReactor(connectivity.monitor, controller, targets,
                                                   reactorOptions, connectivity.monitor);
    return connectivity;
}

} // namespace ferry
