#include "ManualEndpointProbe.h"

#include <QTimer>

namespace ferry {

void ManualEndpointProbe::probe(const QString &endpoint, quint64 probeId,
                                std::chrono::milliseconds /*timeout*/)
{
    ++m_counts[endpoint];
    if (m_held) {
        m_heldProbes.append(Held{endpoint, probeId});
        return;
    }
    // Never answer from inside probe(): the contract says later, queued.
    QTimer::singleShot(0, this, [this, endpoint, probeId] { finish(endpoint, probeId); });
}

void ManualEndpointProbe::setReachable(const QString &endpoint, bool reachable,
                                       const QString &detail)
{
    ProbeResult result;
    result.reachable = reachable;
    result.detail = !detail.isEmpty()
                        ? detail
                        : (reachable ? QStringLiteral("answered") : QStringLiteral("no answer"));
    m_results.insert(endpoint, result);
}

int ManualEndpointProbe::answer(const QString &endpoint)
{
    QList<Held> mine;
    for (auto it = m_heldProbes.begin(); it != m_heldProbes.end();) {
        if (it->endpoint == endpoint) {
            mine.append(*it);
            it = m_heldProbes.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto &held : mine)
        finish(held.endpoint, held.id);
    return int(mine.size());
}

int ManualEndpointProbe::heldCount(const QString &endpoint) const
{
    int count = 0;
    for (const auto &held : m_heldProbes)
        count += held.endpoint == endpoint;
    return count;
}

void ManualEndpointProbe::finish(const QString &endpoint, quint64 id)
{
    ProbeResult result = m_results.value(endpoint);
    if (!m_results.contains(endpoint)) {
        result.reachable = true;
        result.detail = QStringLiteral("answered");
    }
    emit probeFinished(endpoint, id, result);
}

} // namespace ferry
