#pragma once

#include "S3EndpointProbe.h"

#include <QHash>
#include <QMutex>
#include <QStringList>

#include <memory>

namespace ferry {

class SyncServices;

/**
 * Tells the S3EndpointProbe what to sign its probe of an endpoint with: the credentials and
 * bucket of the first profile on that endpoint. The reactions keep the endpoint → profiles
 * map current (on their thread); the probe resolves on its own thread. Thread-safe.
 *
 * `services` must outlive the probe (the composition root destroys the monitor first).
 */
class SyncProbeTargets : public std::enable_shared_from_this<SyncProbeTargets> {
public:
    explicit SyncProbeTargets(SyncServices &services) : m_services(services) {}

    /// Replaces the map of endpoint (group) → profile names.
    void setProfiles(QHash<QString, QStringList> profilesByEndpoint);
    /// The target of the first profile on `endpoint` whose target resolves.
    [[nodiscard]] std::expected<ProbeTarget, QString> resolve(const QString &endpoint);
    /// resolve(), as the probe takes it (keeps this object alive).
    [[nodiscard]] S3EndpointProbe::Resolver resolver();

private:
    SyncServices &m_services;
    QMutex m_mutex;
    QHash<QString, QStringList> m_profiles;
};

} // namespace ferry
