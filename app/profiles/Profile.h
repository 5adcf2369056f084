#pragma once

#include "app/s3/PartSizePolicy.h"

#include <QCoreApplication>
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <expected>

namespace ferry {

/// What a profile does when its endpoint goes offline.
enum class OfflineReaction { Cancel, Pause };

/// Why a profile was refused: the field at fault and a message naming the cause and the fix.
struct ProfileError {
    enum class Field { Name, Local, Remote, Region, PartSize, Threshold, Concurrency, Storage };
    Field field = Field::Name;
    QString message;
};

/**
 * One sync profile: a local folder uploaded to `s3://HOST[:PORT]/BUCKET[/PREFIX]`.
 * The secret access key is not part of it: it lives in a SecretStore.
 */
struct Profile {
    Q_DECLARE_TR_FUNCTIONS(ferry::Profile)
public:
    QString name;
    QString localFolder; ///< Absolute path.
    QString remote;      ///< As entered; parsed by s3::RemoteUrl.
    QString region;      ///< Empty: the endpoint's default.
    QString accessKeyId; ///< Empty: AWS_ACCESS_KEY_ID from the environment.
    QStringList excludes;
    qint64 multipartThreshold = 64 * s3::limits::MiB;
    qint64 partSize = 16 * s3::limits::MiB;
    int concurrency = 4;
    bool mirrorDeletes = false;
    OfflineReaction onOffline = OfflineReaction::Cancel;
    bool pauseOnMetered = false;

    /// Checks every field but the uniqueness of the name (the store checks that).
    [[nodiscard]] std::expected<void, ProfileError> validate() const;

    /// The settings as JSON (never a secret).
    [[nodiscard]] QJsonObject toJson() const;
    [[nodiscard]] static Profile fromJson(const QJsonObject &json);

    /// Whether `relativePath` (with `/` separators) matches one of the exclude globs, tried
    /// against the whole relative path and against the file name.
    [[nodiscard]] bool isExcluded(const QString &relativePath) const;
};

[[nodiscard]] QString toText(OfflineReaction reaction);
[[nodiscard]] std::optional<OfflineReaction> offlineReactionFromText(const QString &text);

} // namespace ferry
