#pragma once

#include "ConnectivityTypes.h"

#include <QObject>

namespace ferry {

/**
 * Where the ConnectivityMonitor learns about the system's network: reachability, metered,
 * captive portal, transport medium. The app uses SystemReachabilitySource
 * (QNetworkInformation); tests and demos inject a ManualReachabilitySource.
 *
 * Lives on the monitor's thread; emits stateChanged there whenever any field changes.
 */
class ReachabilitySource : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;

    /// The current snapshot.
    [[nodiscard]] virtual SystemNetworkState state() const = 0;

signals:
    void stateChanged(const ferry::SystemNetworkState &state);
};

} // namespace ferry
