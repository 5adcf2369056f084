#pragma once

#include "ConnectivityTypes.h"

#include <QObject>

#include <chrono>

namespace ferry {

/**
 * Checks whether one endpoint answers: a cheap request with a short timeout. The app uses
 * S3EndpointProbe (a signed HeadBucket); tests inject a ManualEndpointProbe.
 *
 * Asynchronous: probe() returns at once and never blocks its caller; the answer comes later
 * as exactly one probeFinished with the same `probeId` (queued to the caller's thread, never
 * from inside probe()). An implementation gives up after `timeout` and reports unreachable.
 */
class EndpointProbe : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;

    /// Starts one probe of `endpoint` (a group, `s3://host:port`).
    virtual void probe(const QString &endpoint, quint64 probeId,
                       std::chrono::milliseconds timeout) = 0;

signals:
    void probeFinished(const QString &endpoint, quint64 probeId, const ferry::ProbeResult &result);
};

} // namespace ferry
