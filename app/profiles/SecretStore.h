#pragma once

#include "app/s3/Credentials.h"

#include <QCoreApplication>
#include <QString>

#include <expected>
#include <memory>
#include <optional>

namespace ferry {

struct Profile;

/**
 * Where the profiles' secret access keys are kept: never in the database, a log or a history
 * row. Two backends: the system keychain (QtKeychain) when one answers, else a file in the data
 * directory that only the user can read (0600). `FERRY_SECRET_STORE=file|keychain` forces one.
 */
class SecretStore {
    Q_DECLARE_TR_FUNCTIONS(ferry::SecretStore)
public:
    virtual ~SecretStore() = default;

    /// For the user: "system keychain" or "file <path> (readable only by you)".
    [[nodiscard]] virtual QString description() const = 0;
    [[nodiscard]] virtual std::expected<void, QString> store(const QString &profile,
                                                             const QString &secret) = 0;
    /// The secret, nothing when none is stored, or an error.
    [[nodiscard]] virtual std::expected<std::optional<QString>, QString>
    load(const QString &profile) = 0;
    [[nodiscard]] virtual std::expected<void, QString> remove(const QString &profile) = 0;

    /// The backend chosen by FERRY_SECRET_STORE, else the keychain when it answers, else the file.
    [[nodiscard]] static std::unique_ptr<SecretStore> create(const QString &dataDir);
    [[nodiscard]] static std::unique_ptr<SecretStore> createFileStore(const QString &dataDir);
};

/**
 * The credentials to sign a profile's requests: the profile's access key id and its stored
 * secret; what is missing comes from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, and
 * AWS_SESSION_TOKEN is used when set. The error names what is missing and how to set it.
 */
[[nodiscard]] std::expected<s3::Credentials, QString> resolveCredentials(const Profile &profile,
                                                                         SecretStore &secrets);

} // namespace ferry
