#pragma once

#include "ReachabilitySource.h"

namespace ferry {

/**
 * A reachability source driven by hand: for tests, demos, and as the fallback that says
 * "unknown, assume online" when no system backend loads. Starts Unknown, unmetered.
 */
class ManualReachabilitySource : public ReachabilitySource {
    Q_OBJECT
public:
    explicit ManualReachabilitySource(SystemNetworkState initial = {}, QObject *parent = nullptr);

    [[nodiscard]] SystemNetworkState state() const override { return m_state; }

    /// Replaces the snapshot; emits stateChanged when it differs.
    void setState(const SystemNetworkState &state);
    void setReachability(SystemReachability reachability);
    void setMetered(bool metered);
    void setBehindCaptivePortal(bool behind);
    void setTransportMedium(TransportMedium medium);

private:
    SystemNetworkState m_state;
};

} // namespace ferry
