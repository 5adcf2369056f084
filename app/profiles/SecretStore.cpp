#include "SecretStore.h"

#include "Profile.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#ifdef FERRY_HAVE_QTKEYCHAIN
#include <QEventLoop>
#include <QTimer>
#include <qt6keychain/keychain.h>
#endif

namespace ferry {

namespace {

/// Secrets in `<dataDir>/secrets.json`, mode 0600.
class FileSecretStore : public SecretStore {
public:
    explicit FileSecretStore(const QString &dataDir)
        : m_path(QDir(dataDir).filePath(QStringLiteral("secrets.json")))
    {
    }

    QString description() const override
    {
        return tr("file %1 (readable only by you)").arg(m_path);
    }

    std::expected<void, QString> store(const QString &profile, const QString &secret) override
    {
        auto all = read();
        if (!all)
            return std::unexpected(all.error());
        all->insert(profile, secret);
        return write(*all);
    }

    std::expected<std::optional<QString>, QString> load(const QString &profile) override
    {
        auto all = read();
        if (!all)
            return std::unexpected(all.error());
        if (!all->contains(profile))
            return std::optional<QString>{};
        return std::optional<QString>(all->value(profile).toString());
    }

    std::expected<void, QString> remove(const QString &profile) override
    {
        auto all = read();
        if (!all)
            return std::unexpected(all.error());
        if (!all->contains(profile))
            return {};
        all->remove(profile);
        return write(*all);
    }

private:
    std::expected<QJsonObject, QString> read() const
    {
        QFile file(m_path);
        if (!file.exists())
            return QJsonObject{};
        if (file.permissions() &
            (QFile::ReadGroup | QFile::ReadOther | QFile::WriteGroup | QFile::WriteOther))
            return std::unexpected(tr("The secrets file %1 can be read by other users. Run "
                                      "`chmod 600 %1` and rotate the keys stored in it.")
                                       .arg(m_path));
        if (!file.open(QIODevice::ReadOnly))
            return std::unexpected(tr("Cannot read the secrets file %1: %2. Check its owner and "
                                      "permissions (it must be yours, mode 600).")
                                       .arg(m_path, file.errorString()));
        return QJsonDocument::fromJson(file.readAll()).object();
    }

    std::expected<void, QString> write(const QJsonObject &all) const
    {
        QDir().mkpath(QFileInfo(m_path).absolutePath());
        QSaveFile file(m_path);
        if (!file.open(QIODevice::WriteOnly) ||
            !file.setPermissions(QFile::ReadOwner | QFile::WriteOwner))
            return std::unexpected(tr("Cannot write the secrets file %1: %2. Check that the data "
                                      "directory is writable.")
                                       .arg(m_path, file.errorString()));
        file.write(QJsonDocument(all).toJson(QJsonDocument::Compact));
        if (!file.commit())
            return std::unexpected(tr("Cannot write the secrets file %1: %2. Check free space.")
                                       .arg(m_path, file.errorString()));
        return {};
    }

    QString m_path;
};

#ifdef FERRY_HAVE_QTKEYCHAIN
/**
 * Secrets in the system keychain (Secret Service, KWallet, macOS Keychain...). A secret saved
 * while no keychain answered (over ssh, say) is in the data directory's file: it is still
 * found, and moves to the keychain the next time it is saved.
 */
class KeychainSecretStore : public SecretStore {
public:
    explicit KeychainSecretStore(const QString &dataDir) : m_file(dataDir) {}

    QString description() const override { return tr("system keychain"); }

    std::expected<void, QString> store(const QString &profile, const QString &secret) override
    {
        auto *job = new QKeychain::WritePasswordJob(service());
        job->setKey(profile);
        job->setTextData(secret);
        const Outcome outcome = run(job);
        if (outcome.error != QKeychain::NoError)
            return std::unexpected(failure(outcome.errorString));
        return m_file.remove(profile); // no stale copy left behind in the file
    }

    std::expected<std::optional<QString>, QString> load(const QString &profile) override
    {
        auto *job = new QKeychain::ReadPasswordJob(service());
        job->setKey(profile);
        const Outcome outcome = run(job);
        if (outcome.error == QKeychain::EntryNotFound)
            return m_file.load(profile);
        if (outcome.error != QKeychain::NoError)
            return std::unexpected(failure(outcome.errorString));
        return std::optional<QString>(outcome.text);
    }

    std::expected<void, QString> remove(const QString &profile) override
    {
        auto *job = new QKeychain::DeletePasswordJob(service());
        job->setKey(profile);
        const Outcome outcome = run(job);
        if (outcome.error != QKeychain::NoError && outcome.error != QKeychain::EntryNotFound)
            return std::unexpected(failure(outcome.errorString));
        return m_file.remove(profile);
    }

    /// Whether a keychain answers at all (a read of a key that does not exist), within
    /// ProbeTimeoutMs: a keychain registered on the bus that never replies, or a Qt event loop
    /// that cannot deliver libsecret's GLib callbacks (QT_NO_GLIB=1), must not hang Ferry.
    bool probe()
    {
        auto *job = new QKeychain::ReadPasswordJob(service());
        job->setKey(QStringLiteral("ferry-probe"));
        const Outcome outcome = run(job, ProbeTimeoutMs);
        return outcome.error == QKeychain::NoError || outcome.error == QKeychain::EntryNotFound;
    }

private:
    static constexpr int ProbeTimeoutMs = 10'000;

    FileSecretStore m_file;

    struct Outcome {
        QKeychain::Error error = QKeychain::OtherError;
        QString errorString;
        QString text; ///< What a ReadPasswordJob read.
    };

    static QString service() { return QStringLiteral("ferry"); }
    static QString failure(const QString &why)
    {
        return tr("The system keychain refused: %1. Unlock it, or set FERRY_SECRET_STORE=file to "
                  "keep secrets in a file only you can read.")
            .arg(why);
    }

    /// Starts `job` (which deletes itself once finished) and waits for it in a local event loop,
    /// at most `timeoutMs` when given. A job that has not finished by then is left to finish and
    /// delete itself: the keychain's late answer must find it alive.
    static Outcome run(QKeychain::Job *job, int timeoutMs = -1)
    {
        job->setAutoDelete(true);
        std::optional<Outcome> outcome;
        QEventLoop loop;
        QObject::connect(job, &QKeychain::Job::finished, &loop, [&](QKeychain::Job *done) {
            Outcome result{done->error(), done->errorString(), {}};
            if (auto *read = qobject_cast<QKeychain::ReadPasswordJob *>(done))
                result.text = read->textData();
            outcome = std::move(result);
            loop.quit();
        });
        QTimer timer;
        timer.setSingleShot(true);
        QObject::connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
        job->start();
        if (timeoutMs >= 0)
            timer.start(timeoutMs);
        if (!outcome)
            loop.exec();
        if (!outcome) // timed out, or the application quit every event loop
            return {QKeychain::OtherError,
                    timeoutMs >= 0 ? tr("no answer within %1 s").arg(timeoutMs / 1000)
                                   : tr("the request was interrupted"),
                    {}};
        return *outcome;
    }
};
#endif

} // namespace

std::unique_ptr<SecretStore> SecretStore::createFileStore(const QString &dataDir)
{
    return std::make_unique<FileSecretStore>(dataDir);
}

std::unique_ptr<SecretStore> SecretStore::create(const QString &dataDir)
{
    const QString choice = qEnvironmentVariable("FERRY_SECRET_STORE");
    if (choice == QLatin1String("file"))
        return createFileStore(dataDir);
#ifdef FERRY_HAVE_QTKEYCHAIN
    auto keychain = std::make_unique<KeychainSecretStore>(dataDir);
    if (choice == QLatin1String("keychain") || keychain->probe())
        return keychain;
#endif
    return createFileStore(dataDir);
}

std::expected<s3::Credentials, QString> resolveCredentials(const Profile &profile,
                                                           SecretStore &secrets)
{
    s3::Credentials credentials;
    credentials.accessKeyId = profile.accessKeyId;
    if (credentials.accessKeyId.isEmpty())
        credentials.accessKeyId = qEnvironmentVariable("AWS_ACCESS_KEY_ID");
    auto stored = secrets.load(profile.name);
    if (!stored)
        return std::unexpected(stored.error());
    credentials.secretAccessKey = stored->value_or(qEnvironmentVariable("AWS_SECRET_ACCESS_KEY"));
    credentials.sessionToken = qEnvironmentVariable("AWS_SESSION_TOKEN");
    const QString fromEnv = SecretStore::tr("Set it again, on one line");
    const QString fromStore =
        SecretStore::tr("Store it again with `ferry profile add ... --secret-stdin`");
    // A line break or control character would end up in the request's headers.
    const struct {
        const QString &value;
        QString origin;
        QString fix;
    } pieces[] = {
        {credentials.accessKeyId,
         profile.accessKeyId.isEmpty()
             ? QStringLiteral("AWS_ACCESS_KEY_ID")
             : SecretStore::tr("the access key id of profile `%1`").arg(profile.name),
         fromEnv},
        {credentials.secretAccessKey,
         stored->has_value()
             ? SecretStore::tr("the stored secret of profile `%1`").arg(profile.name)
             : QStringLiteral("AWS_SECRET_ACCESS_KEY"),
         stored->has_value() ? fromStore : fromEnv},
        {credentials.sessionToken, QStringLiteral("AWS_SESSION_TOKEN"), fromEnv},
    };
    for (const auto &piece : pieces) {
        const bool lineBreak =
            piece.value.contains(QLatin1Char('\n')) || piece.value.contains(QLatin1Char('\r'));
        bool control = false;
        for (const QChar c : piece.value)
            control = control || c.category() == QChar::Other_Control;
        if (lineBreak || control)
            return std::unexpected(SecretStore::tr("%1 holds a %2, which cannot be sent in a "
                                                   "request. %3, without it.")
                                       .arg(piece.origin,
                                            lineBreak ? SecretStore::tr("line break")
                                                      : SecretStore::tr("control character"),
                                            piece.fix));
    }
    if (credentials.accessKeyId.isEmpty())
        return std::unexpected(SecretStore::tr("Profile `%1` has no access key id. Add one with "
                                               "--access-key-id, or set AWS_ACCESS_KEY_ID.")
                                   .arg(profile.name));
    if (credentials.secretAccessKey.isEmpty())
        return std::unexpected(SecretStore::tr("Profile `%1` has no secret access key in the %2. "
                                               "Store one with `ferry profile add ... "
                                               "--secret-stdin`, or set AWS_SECRET_ACCESS_KEY.")
                                   .arg(profile.name, secrets.description()));
    return credentials;
}

} // namespace ferry
