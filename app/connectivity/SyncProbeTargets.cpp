#include "SyncProbeTargets.h"

#include "app/sync/SyncServices.h"

#include <QCoreApplication>

namespace ferry {

void SyncProbeTargets::setProfiles(QHash<QString, QStringList> profilesByEndpoint)
{
    QMutexLocker lock(&m_mutex);
    m_profiles = std::move(profilesByEndpoint);
}

std::expected<ProbeTarget, QString> SyncProbeTargets::resolve(const QString &endpoint)
{
    QStringList names;
    {
        QMutexLocker lock(&m_mutex);
        names = m_profiles.value(endpoint);
    }
    QString lastError =
        QCoreApplication::translate("ferry::SyncProbeTargets", "no profile uses %1").arg(endpoint);
    for (const QString &name : names) {
        auto target = m_services.target(name);
        if (!target) {
            lastError = target.error();
            continue;
        }
        ProbeTarget probe;
        probe.config = target->config;
        probe.bucket = target->bucket();
        return probe;
    }
    return std::unexpected(lastError);
}

S3EndpointProbe::Resolver SyncProbeTargets::resolver()
{
    return [self = shared_from_this()](const QString &endpoint) { return self->resolve(endpoint); };
}

} // namespace ferry
