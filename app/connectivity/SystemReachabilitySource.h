#pragma once

#include "ReachabilitySource.h"

namespace ferry {

/**
 * The system's network through QNetworkInformation: tries the default backend, then any
 * backend with the Reachability feature (on Debian the NetworkManager backend needs the
 * system D-Bus; the glib backend loads without it). With no backend at all the state stays
 * Unknown (assume online; the monitor relies on its probes).
 *
 * Follows reachability, isMetered, captive portals and the transport medium where the
 * backend reports them; a cellular medium counts as metered. QNetworkInformation is a
 * process-wide singleton: create this on the thread that owns it (the main thread).
 */
class SystemReachabilitySource : public ReachabilitySource {
    Q_OBJECT
public:
    explicit SystemReachabilitySource(QObject *parent = nullptr);

    [[nodiscard]] SystemNetworkState state() const override { return m_state; }
    /// Whether a backend loaded (false: the state stays Unknown).
    [[nodiscard]] bool hasBackend() const { return !m_state.backend.isEmpty(); }

private:
    void refresh();

    SystemNetworkState m_state;
};

} // namespace ferry
