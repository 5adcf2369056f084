#pragma once

#include "EndpointProbe.h"

#include <QHash>
#include <QList>

namespace ferry {

/**
 * A probe answered by hand, for tests and demos (no network): each endpoint answers with
 * its configured result (reachable by default) on the next turn of the event loop, or, in
 * held mode, only when the test calls answer().
 */
class ManualEndpointProbe : public EndpointProbe {
    Q_OBJECT
public:
    using EndpointProbe::EndpointProbe;

    void probe(const QString &endpoint, quint64 probeId,
               std::chrono::milliseconds timeout) override;

    /// What later probes of `endpoint` answer.
    void setReachable(const QString &endpoint, bool reachable, const QString &detail = {});
    /// Held: probes wait for answer() instead of answering by themselves.
    void setHeld(bool held) { m_held = held; }
    /// Answers every held probe of `endpoint` with its configured result; returns how many.
    int answer(const QString &endpoint);

    /// How many probes of `endpoint` were started so far.
    [[nodiscard]] int probeCount(const QString &endpoint) const { return m_counts.value(endpoint); }
    [[nodiscard]] int heldCount(const QString &endpoint) const;

private:
    struct Held {
        QString endpoint;
        quint64 id = 0;
    };
    void finish(const QString &endpoint, quint64 id);

    QHash<QString, ProbeResult> m_results;
    QHash<QString, int> m_counts;
    QList<Held> m_heldProbes;
    bool m_held = false;
};

} // namespace ferry
