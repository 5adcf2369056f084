#pragma once

#include "ConnectivityMonitor.h"
#include "ConnectivityReactor.h"

namespace ferry {

class SyncController;

/// The app's connectivity, as the composition root wires it.
struct Connectivity {
    ConnectivityMonitor *monitor = nullptr; ///< Owned by the `parent` given to the setup.
    ConnectivityReactor *reactor = nullptr; ///< Child of the monitor.
};

/**
 * Builds the monitor with the system's reachability (SystemReachabilitySource) and signed
 * HeadBucket probes of each profile's endpoint (S3EndpointProbe), and the reactions on
 * `controller`. Call on the controller's thread (the main thread); destroy the monitor
 * before the controller.
 */
[[nodiscard]] Connectivity setUpConnectivity(SyncController *controller, QObject *parent,
                                             ConnectivityOptions options = {},
                                             ReactorOptions reactorOptions = {});

} // namespace ferry
