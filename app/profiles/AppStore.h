#pragma once

#include "Profile.h"

#include <QDateTime>
#include <QList>
#include <QString>
#include <QStringList>

#include <expected>
#include <optional>

class QSqlDatabase;

namespace ferry {

/// What the journal remembers of one uploaded file.
struct JournalEntry {
    QString key;
    qint64 size = 0;
    qint64 mtimeMs = 0;
    QString etag;
};

/// An object of the last remote listing of a profile.
struct RemoteEntry {
    QString key;
    qint64 size = 0;
    QString etag;
};

/// A multipart upload Ferry created and has not yet completed or aborted.
struct KnownUpload {
    QString uploadId;
    QString profile;
    QString bucket;
    QString key;
    QDateTime createdAt;
};

/**
 * Ferry's own tables in the scheduler's SQLite file (profiles, sync journal, remote listing,
 * multipart uploads and their parts). All the app's SQL lives here. Schema versioned in the
 * table `app_schema` (PRAGMA user_version belongs to the scheduler).
 *
 * Thread-safe: every thread gets its own connection (WAL, busy timeout), closed when the
 * thread ends.
 */
class AppStore {
    Q_DECLARE_TR_FUNCTIONS(ferry::AppStore)
public:
    explicit AppStore(QString databasePath);
    ~AppStore();
    AppStore(const AppStore &) = delete;
    AppStore &operator=(const AppStore &) = delete;

    /// Creates or migrates the tables. Call once before anything else.
    [[nodiscard]] std::expected<void, QString> open();
    [[nodiscard]] QString databasePath() const { return m_path; }

    // profiles
    [[nodiscard]] std::expected<void, ProfileError> addProfile(const Profile &profile);
    /// Replaces the settings of an existing profile; its journal stays.
    [[nodiscard]] std::expected<void, ProfileError> updateProfile(const Profile &profile);
    [[nodiscard]] std::expected<void, QString> removeProfile(const QString &name);
    [[nodiscard]] std::expected<std::optional<Profile>, QString> profile(const QString &name);
    [[nodiscard]] std::expected<QList<Profile>, QString> profiles();

    // journal
    [[nodiscard]] std::optional<JournalEntry> journalEntry(const QString &profile,
                                                           const QString &key);
    [[nodiscard]] std::expected<void, QString> putJournal(const QString &profile,
                                                          const JournalEntry &entry);
    [[nodiscard]] std::expected<void, QString> removeJournal(const QString &profile,
                                                             const QString &key);

    // remote listing of the current run
    [[nodiscard]] std::expected<void, QString> clearRemote(const QString &profile);
    [[nodiscard]] std::expected<void, QString> addRemote(const QString &profile,
                                                         const QList<RemoteEntry> &entries);
    [[nodiscard]] std::optional<RemoteEntry> remoteEntry(const QString &profile,
                                                         const QString &key);
    [[nodiscard]] std::expected<void, QString> markSeen(const QString &profile,
                                                        const QStringList &keys);
    /// Up to `limit` remote keys not seen locally, after `afterKey` in key order.
    [[nodiscard]] std::expected<QList<RemoteEntry>, QString>
    unseenRemote(const QString &profile, const QString &afterKey, int limit);

    // multipart uploads
    [[nodiscard]] std::expected<void, QString> recordUpload(const KnownUpload &upload);
    [[nodiscard]] std::expected<void, QString> forgetUpload(const QString &uploadId);
    [[nodiscard]] std::expected<QList<KnownUpload>, QString> knownUploads(const QString &profile);
    [[nodiscard]] bool isKnownUpload(const QString &uploadId);
    [[nodiscard]] std::expected<void, QString> putPart(const QString &uploadId, int part,
                                                       const QString &etag);
    /// The parts reported for `uploadId`, in part order.
    [[nodiscard]] std::expected<QList<QPair<int, QString>>, QString> parts(const QString &uploadId);

private:
    [[nodiscard]] QSqlDatabase connection();
    /// Runs `sql` (binds: settings, name) for a valid profile; no row touched: `whenNoRow`.
    [[nodiscard]] std::expected<void, ProfileError>
    writeProfile(const Profile &profile, const QString &sql, const QString &whenNoRow);

    QString m_path;
    QString m_connectionPrefix;
};

} // namespace ferry
