#include "ConnectionTest.h"

#include "app/profiles/SecretStore.h"
#include "app/s3/RemoteUrl.h"
#include "app/s3/S3Client.h"

#include <QCoreApplication>
#include <QtConcurrent/QtConcurrentRun>

#include <QCoro/QCoroTask>

#include <chrono>

namespace ferry {

namespace {

QString tr(const char *text)
{
    return QCoreApplication::translate("ferry::ConnectionTest", text);
}

/// The secret store's answer for a profile whose secret was not retyped.
class OverridingSecrets : public SecretStore {
public:
    OverridingSecrets(QString secret, std::shared_ptr<SecretStore> fallback)
        : m_secret(std::move(secret)), m_fallback(std::move(fallback))
    {
    }
    QString description() const override { return {}; }
    std::expected<void, QString> store(const QString &, const QString &) override { return {}; }
    std::expected<std::optional<QString>, QString> load(const QString &profile) override
    {
        if (!m_secret.isEmpty())
            return std::optional<QString>(m_secret);
        if (m_fallback)
            return m_fallback->load(profile);
        return std::optional<QString>();
    }
    std::expected<void, QString> remove(const QString &) override { return {}; }

private:
    QString m_secret;
    std::shared_ptr<SecretStore> m_fallback;
};

std::expected<void, QString> runTest(const Profile &profile, const QString &secret,
                                     const std::shared_ptr<SecretStore> &secrets, int timeoutMs)
{
    auto url = s3::RemoteUrl::parse(profile.remote);
    if (!url)
        return std::unexpected(url.error().message);
    OverridingSecrets source(secret, secrets);
    auto credentials = resolveCredentials(profile, source);
    if (!credentials)
        return std::unexpected(credentials.error());
    s3::ClientConfig config;
    config.endpoint = url->endpoint();
    if (!profile.region.isEmpty())
        config.endpoint.setRegion(profile.region);
    config.credentials = *credentials;
    config.transferTimeout = std::chrono::milliseconds(timeoutMs);
    s3::S3Client client(config);
    auto answer = QCoro::waitFor(client.headBucket(url->bucket(), CancellationToken()));
    if (!answer)
        return std::unexpected(answer.error().message());
    return {};
}

} // namespace

QFuture<std::expected<void, QString>>
testConnection(Profile profile, QString secret, std::shared_ptr<SecretStore> secrets, int timeoutMs)
{
    if (profile.remote.trimmed().isEmpty())
        return QtFuture::makeReadyFuture(std::expected<void, QString>(
            std::unexpected(tr("Enter the remote first: s3://HOST[:PORT]/BUCKET[/PREFIX]."))));
    return QtConcurrent::run([profile = std::move(profile), secret = std::move(secret),
                              secrets = std::move(secrets),
                              timeoutMs] { return runTest(profile, secret, secrets, timeoutMs); });
}

} // namespace ferry
