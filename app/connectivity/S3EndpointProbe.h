#pragma once

#include "EndpointProbe.h"

#include "app/s3/S3Transport.h"

#include <QThread>

#include <expected>
#include <functional>

namespace ferry {

/// What a probe of an endpoint signs its request with, and the bucket it asks about.
struct ProbeTarget {
    s3::ClientConfig config;
    QString bucket; ///< Empty: a service-level request (ListBuckets would be dearer: HEAD /).
};

/**
 * The real probe: a signed HeadBucket with a short timeout, on a thread of its own (never the
 * caller's), with one S3 client per endpoint kept between probes. Any HTTP answer counts as
 * reachable (403 or 404 still prove the endpoint is there); refused, unresolved, TLS failure
 * and timeouts count as unreachable.
 *
 * `resolve` maps an endpoint (group) to the credentials and bucket to probe with; it runs
 * on the probe's thread, so it may read the app store.
 */
class S3EndpointProbe : public EndpointProbe {
    Q_OBJECT
public:
    using Resolver = std::function<std::expected<ProbeTarget, QString>(const QString &endpoint)>;

    explicit S3EndpointProbe(Resolver resolve, QObject *parent = nullptr);
    ~S3EndpointProbe() override;

    void probe(const QString &endpoint, quint64 probeId,
               std::chrono::milliseconds timeout) override;

private:
    class Worker;
    QThread m_thread;
    Worker *m_worker;
};

} // namespace ferry
