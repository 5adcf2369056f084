#include "ManualReachabilitySource.h"

namespace ferry {

ManualReachabilitySource::ManualReachabilitySource(SystemNetworkState initial, QObject *parent)
    : ReachabilitySource(parent), m_state(std::move(initial))
{
}

void ManualReachabilitySource::setState(const SystemNetworkState &state)
{
    if (state == m_state)
        return;
    m_state = state;
    emit stateChanged(m_state);
}

void ManualReachabilitySource::setReachability(SystemReachability reachability)
{
    SystemNetworkState next = m_state;
    next.reachability = reachability;
    setState(next);
}

void ManualReachabilitySource::setMetered(bool metered)
{
    SystemNetworkState next = m_state;
    next.metered = metered;
    setState(next);
}

void ManualReachabilitySource::setBehindCaptivePortal(bool behind)
{
    SystemNetworkState next = m_state;
    next.behindCaptivePortal = behind;
    setState(next);
}

void ManualReachabilitySource::setTransportMedium(TransportMedium medium)
{
    SystemNetworkState next = m_state;
    next.medium = medium;
    setState(next);
}

} // namespace ferry
