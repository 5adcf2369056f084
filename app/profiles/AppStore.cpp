#include "AppStore.h"

#include <QJsonDocument>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QThread>
#include <QThreadStorage>
#include <QUuid>
#include <QVariant>

namespace ferry {

namespace {

constexpr int kSchemaVersion = 1;

/// One thread's connection; removed when the thread ends.
struct ThreadConnection {
    QStringList names;
    ~ThreadConnection()
    {
        for (const auto &name : names) {
            {
                auto db = QSqlDatabase::database(name, false);
                db.close();
            }
            QSqlDatabase::removeDatabase(name);
        }
    }
};

QThreadStorage<ThreadConnection *> &threadConnections()
{
    static QThreadStorage<ThreadConnection *> storage;
    return storage;
}

/// The cause of an SQLite failure and what to do about it. `path` may be empty.
QString failureMessage(const QSqlError &error, const QString &path)
{
    const QString what = path.isEmpty() ? AppStore::tr("Ferry's database")
                                        : AppStore::tr("Ferry's database %1").arg(path);
    const QString why = error.text();
    // SQLite's primary result codes (the low byte of an extended code).
    switch (error.nativeErrorCode().toInt() & 0xff) {
    case 5: // SQLITE_BUSY
    case 6: // SQLITE_LOCKED
        return AppStore::tr("%1 is locked by another program (%2), e.g. an sqlite3 shell or a "
                            "backup tool: close it and try again.")
            .arg(what, why);
    case 8: // SQLITE_READONLY
        return AppStore::tr("%1 is read-only (%2): make it and its folder writable (e.g. chmod "
                            "u+w), or use another --data-dir.")
            .arg(what, why);
    case 11: // SQLITE_CORRUPT
    case 26: // SQLITE_NOTADB
        return AppStore::tr("%1 is damaged or not a database (%2): move it away (Ferry then "
                            "starts a new one) or restore it from a backup, or use another "
                            "--data-dir.")
            .arg(what, why);
    case 10: // SQLITE_IOERR: EFBIG, EIO...
    case 13: // SQLITE_FULL
        return AppStore::tr("%1 could not be written (%2): check that the disk is not full and "
                            "no file size limit (ulimit -f) applies, then try again. Nothing "
                            "was changed.")
            .arg(what, why);
    case 14: // SQLITE_CANTOPEN
        return AppStore::tr("Cannot open %1 (%2): if it is not a file, move it away; check that "
                            "its folder is writable (e.g. chmod u+w), or use another --data-dir.")
            .arg(what, why);
    default:
        return AppStore::tr("%1 failed (%2): check that the data directory is writable and the "
                            "disk is not full.")
            .arg(what, why);
    }
}

QString sqlError(const QSqlQuery &query)
{
    return failureMessage(query.lastError(), {});
}

std::expected<void, QString> exec(QSqlQuery &query)
{
    if (!query.exec())
        return std::unexpected(sqlError(query));
    return {};
}

} // namespace

AppStore::AppStore(QString databasePath)
    : m_path(std::move(databasePath)),
      m_connectionPrefix(QStringLiteral("ferry-app-") +
                         QUuid::createUuid().toString(QUuid::WithoutBraces))
{
}

AppStore::~AppStore() = default;

QSqlDatabase AppStore::connection()
{
    const QString name = m_connectionPrefix + QLatin1Char('-') +
                         QString::number(reinterpret_cast<quintptr>(QThread::currentThread()));
    if (QSqlDatabase::contains(name))
        return QSqlDatabase::database(name);
    auto db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
    db.setDatabaseName(m_path);
    db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=10000"));
    if (db.open()) {
        QSqlQuery pragma(db);
        (void)pragma.exec(QStringLiteral("PRAGMA journal_mode=WAL"));
        (void)pragma.exec(QStringLiteral("PRAGMA synchronous=NORMAL"));
    }
    if (!threadConnections().hasLocalData())
        threadConnections().setLocalData(new ThreadConnection);
    threadConnections().localData()->names.append(name);
    return db;
}

std::expected<void, QString> AppStore::open()
{
    auto db = connection();
    if (!db.isOpen())
        return std::unexpected(failureMessage(db.lastError(), m_path));
    {
        // Reading the schema first tells a damaged or foreign file from a writing problem.
        QSqlQuery probe(db);
        if (!probe.exec(QStringLiteral("SELECT count(*) FROM sqlite_master")) || !probe.next())
            return std::unexpected(failureMessage(probe.lastError(), m_path));
    }
    const char *statements[] = {
        "CREATE TABLE IF NOT EXISTS app_schema (version INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS app_profiles (name TEXT PRIMARY KEY, settings TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS sync_journal (profile TEXT NOT NULL, key TEXT NOT NULL, "
        "size INTEGER NOT NULL, mtime INTEGER NOT NULL, etag TEXT NOT NULL, "
        "PRIMARY KEY (profile, key))",
        "CREATE TABLE IF NOT EXISTS sync_remote (profile TEXT NOT NULL, key TEXT NOT NULL, "
        "size INTEGER NOT NULL, etag TEXT NOT NULL, seen INTEGER NOT NULL DEFAULT 0, "
        "PRIMARY KEY (profile, key))",
        "CREATE TABLE IF NOT EXISTS sync_uploads (upload_id TEXT PRIMARY KEY, profile TEXT NOT "
        "NULL, bucket TEXT NOT NULL, key TEXT NOT NULL, created_at INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS sync_parts (upload_id TEXT NOT NULL, part INTEGER NOT NULL, "
        "etag TEXT NOT NULL, PRIMARY KEY (upload_id, part))",
    };
    if (!db.transaction())
        return std::unexpected(failureMessage(db.lastError(), m_path));
    for (const char *sql : statements) {
        QSqlQuery create(db);
        if (!create.exec(QString::fromLatin1(sql))) {
            const QString why = failureMessage(create.lastError(), m_path);
            db.rollback();
            return std::unexpected(why);
        }
    }
    QSqlQuery version(db);
    if (!version.exec(QStringLiteral("SELECT version FROM app_schema"))) {
        const QString why = failureMessage(version.lastError(), m_path);
        db.rollback();
        return std::unexpected(why);
    }
    if (!version.next()) {
        QSqlQuery insert(db);
        insert.prepare(QStringLiteral("INSERT INTO app_schema (version) VALUES (?)"));
        insert.addBindValue(kSchemaVersion);
        if (auto ok = exec(insert); !ok) {
            db.rollback();
            return ok;
        }
    } else if (version.value(0).toInt() > kSchemaVersion) {
        db.rollback();
        return std::unexpected(tr("Ferry's database `%1` was written by a newer Ferry (schema %2). "
                                  "Update Ferry, or use another --data-dir.")
                                   .arg(m_path)
                                   .arg(version.value(0).toInt()));
    }
    version.finish();
    if (!db.commit())
        return std::unexpected(failureMessage(db.lastError(), {}));
    return {};
}

std::expected<void, ProfileError> AppStore::addProfile(const Profile &profile)
{
    return writeProfile(
        profile,
        QStringLiteral("INSERT OR IGNORE INTO app_profiles (settings, name) VALUES (?, ?)"),
        tr("A profile named `%1` already exists. Choose another name, or remove it first with "
           "`ferry profile remove %1`.")
            .arg(profile.name));
}

std::expected<void, ProfileError> AppStore::updateProfile(const Profile &profile)
{
    return writeProfile(profile,
                        QStringLiteral("UPDATE app_profiles SET settings = ? WHERE name = ?"),
                        tr("There is no profile named `%1` to change. See `ferry profile list`.")
                            .arg(profile.name));
}

std::expected<void, ProfileError> AppStore::writeProfile(const Profile &profile, const QString &sql,
                                                         const QString &whenNoRow)
{
    if (auto ok = profile.validate(); !ok)
        return ok;
    QSqlQuery query(connection());
    query.prepare(sql); // binds: settings, name
    query.addBindValue(
        QString::fromUtf8(QJsonDocument(profile.toJson()).toJson(QJsonDocument::Compact)));
    query.addBindValue(profile.name);
    if (!query.exec())
        return std::unexpected(ProfileError{ProfileError::Field::Storage, sqlError(query)});
    if (query.numRowsAffected() == 0)
        return std::unexpected(ProfileError{ProfileError::Field::Name, whenNoRow});
    return {};
}

std::expected<void, QString> AppStore::removeProfile(const QString &name)
{
    auto db = connection();
    if (!db.transaction())
        return std::unexpected(failureMessage(db.lastError(), {}));
    const char *statements[] = {"DELETE FROM app_profiles WHERE name = ?",
                                "DELETE FROM sync_journal WHERE profile = ?",
                                "DELETE FROM sync_remote WHERE profile = ?"};
    int removed = 0;
    for (const char *sql : statements) {
        QSqlQuery query(db);
        query.prepare(QString::fromLatin1(sql));
        query.addBindValue(name);
        if (auto ok = exec(query); !ok) {
            db.rollback();
            return ok;
        }
        if (removed == 0)
            removed = query.numRowsAffected() > 0 ? 1 : -1;
    }
    if (!db.commit())
        return std::unexpected(failureMessage(db.lastError(), {}));
    if (removed < 0)
        return std::unexpected(
            tr("There is no profile named `%1`. See `ferry profile list`.").arg(name));
    return {};
}

std::expected<std::optional<Profile>, QString> AppStore::profile(const QString &name)
{
    QSqlQuery query(connection());
    query.prepare(QStringLiteral("SELECT settings FROM app_profiles WHERE name = ?"));
    query.addBindValue(name);
    if (auto ok = exec(query); !ok)
        return std::unexpected(ok.error());
    if (!query.next())
        return std::optional<Profile>{};
    return std::optional<Profile>(
        Profile::fromJson(QJsonDocument::fromJson(query.value(0).toString().toUtf8()).object()));
}

std::expected<QList<Profile>, QString> AppStore::profiles()
{
    QSqlQuery query(connection());
    if (!query.exec(QStringLiteral("SELECT settings FROM app_profiles ORDER BY name")))
        return std::unexpected(sqlError(query));
    QList<Profile> out;
    while (query.next())
        out.append(Profile::fromJson(
            QJsonDocument::fromJson(query.value(0).toString().toUtf8()).object()));
    return out;
}

std::optional<JournalEntry> AppStore::journalEntry(const QString &profile, const QString &key)
{
    QSqlQuery query(connection());
    query.prepare(
        QStringLiteral("SELECT size, mtime, etag FROM sync_journal WHERE profile = ? AND key = ?"));
    query.addBindValue(profile);
    query.addBindValue(key);
    if (!query.exec() || !query.next())
        return std::nullopt;
    return JournalEntry{key, query.value(0).toLongLong(), query.value(1).toLongLong(),
                        query.value(2).toString()};
}

std::expected<void, QString> AppStore::putJournal(const QString &profile, const JournalEntry &entry)
{
    QSqlQuery query(connection());
    query.prepare(QStringLiteral("INSERT OR REPLACE INTO sync_journal (profile, key, size, mtime, "
                                 "etag) VALUES (?, ?, ?, ?, ?)"));
    query.addBindValue(profile);
    query.addBindValue(entry.key);
    query.addBindValue(entry.size);
    query.addBindValue(entry.mtimeMs);
    query.addBindValue(entry.etag);
    return exec(query);
}

std::expected<void, QString> AppStore::removeJournal(const QString &profile, const QString &key)
{
    QSqlQuery query(connection());
    query.prepare(QStringLiteral("DELETE FROM sync_journal WHERE profile = ? AND key = ?"));
    query.addBindValue(profile);
    query.addBindValue(key);
    return exec(query);
}

std::expected<void, QString> AppStore::clearRemote(const QString &profile)
{
    QSqlQuery query(connection());
    query.prepare(QStringLiteral("DELETE FROM sync_remote WHERE profile = ?"));
    query.addBindValue(profile);
    return exec(query);
}

std::expected<void, QString> AppStore::addRemote(const QString &profile,
                                                 const QList<RemoteEntry> &entries)
{
    auto db = connection();
    if (!db.transaction())
        return std::unexpected(failureMessage(db.lastError(), {}));
    QSqlQuery query(db);
    query.prepare(QStringLiteral("INSERT OR REPLACE INTO sync_remote (profile, key, size, etag, "
                                 "seen) VALUES (?, ?, ?, ?, 0)"));
    for (const auto &entry : entries) {
        query.addBindValue(profile);
        query.addBindValue(entry.key);
        query.addBindValue(entry.size);
        query.addBindValue(entry.etag);
        if (auto ok = exec(query); !ok) {
            db.rollback();
            return ok;
        }
    }
    if (!db.commit())
        return std::unexpected(failureMessage(db.lastError(), {}));
    return {};
}

std::optional<RemoteEntry> AppStore::remoteEntry(const QString &profile, const QString &key)
{
    QSqlQuery query(connection());
    query.prepare(
        QStringLiteral("SELECT size, etag FROM sync_remote WHERE profile = ? AND key = ?"));
    query.addBindValue(profile);
    query.addBindValue(key);
    if (!query.exec() || !query.next())
        return std::nullopt;
    return RemoteEntry{key, query.value(0).toLongLong(), query.value(1).toString()};
}

std::expected<void, QString> AppStore::markSeen(const QString &profile, const QStringList &keys)
{
    auto db = connection();
    if (!db.transaction())
        return std::unexpected(failureMessage(db.lastError(), {}));
    QSqlQuery query(db);
    query.prepare(QStringLiteral("UPDATE sync_remote SET seen = 1 WHERE profile = ? AND key = ?"));
    for (const auto &key : keys) {
        query.addBindValue(profile);
        query.addBindValue(key);
        if (auto ok = exec(query); !ok) {
            db.rollback();
            return ok;
        }
    }
    if (!db.commit())
        return std::unexpected(failureMessage(db.lastError(), {}));
    return {};
}

std::expected<QList<RemoteEntry>, QString>
AppStore::unseenRemote(const QString &profile, const QString &afterKey, int limit)
{
    QSqlQuery query(connection());
    query.prepare(QStringLiteral("SELECT key, size, etag FROM sync_remote WHERE profile = ? AND "
                                 "seen = 0 AND key > COALESCE(?, '') ORDER BY key LIMIT ?"));
    query.addBindValue(profile);
    query.addBindValue(afterKey);
    query.addBindValue(limit);
    if (auto ok = exec(query); !ok)
        return std::unexpected(ok.error());
    QList<RemoteEntry> out;
    while (query.next())
        out.append(
            {query.value(0).toString(), query.value(1).toLongLong(), query.value(2).toString()});
    return out;
}

std::expected<void, QString> AppStore::recordUpload(const KnownUpload &upload)
{
    QSqlQuery query(connection());
    query.prepare(QStringLiteral("INSERT OR REPLACE INTO sync_uploads (upload_id, profile, bucket, "
                                 "key, created_at) VALUES (?, ?, ?, ?, ?)"));
    query.addBindValue(upload.uploadId);
    query.addBindValue(upload.profile);
    query.addBindValue(upload.bucket);
    query.addBindValue(upload.key);
    query.addBindValue(upload.createdAt.toMSecsSinceEpoch());
    return exec(query);
}

std::expected<void, QString> AppStore::forgetUpload(const QString &uploadId)
{
    auto db = connection();
    if (!db.transaction())
        return std::unexpected(failureMessage(db.lastError(), {}));
    const char *statements[] = {"DELETE FROM sync_uploads WHERE upload_id = ?",
                                "DELETE FROM sync_parts WHERE upload_id = ?"};
    for (const char *sql : statements) {
        QSqlQuery query(db);
        query.prepare(QString::fromLatin1(sql));
        query.addBindValue(uploadId);
        if (auto ok = exec(query); !ok) {
            db.rollback();
            return ok;
        }
    }
    if (!db.commit())
        return std::unexpected(failureMessage(db.lastError(), {}));
    return {};
}

std::expected<QList<KnownUpload>, QString> AppStore::knownUploads(const QString &profile)
{
    QSqlQuery query(connection());
    query.prepare(QStringLiteral("SELECT upload_id, bucket, key, created_at FROM sync_uploads "
                                 "WHERE profile = ? ORDER BY created_at"));
    query.addBindValue(profile);
    if (auto ok = exec(query); !ok)
        return std::unexpected(ok.error());
    QList<KnownUpload> out;
    while (query.next())
        out.append({query.value(0).toString(), profile, query.value(1).toString(),
                    query.value(2).toString(),
                    QDateTime::fromMSecsSinceEpoch(query.value(3).toLongLong(), Qt::UTC)});
    return out;
}

bool AppStore::isKnownUpload(const QString &uploadId)
{
    QSqlQuery query(connection());
    query.prepare(QStringLiteral("SELECT 1 FROM sync_uploads WHERE upload_id = ?"));
    query.addBindValue(uploadId);
    return query.exec() && query.next();
}

std::expected<void, QString> AppStore::putPart(const QString &uploadId, int part,
                                               const QString &etag)
{
    QSqlQuery query(connection());
    query.prepare(QStringLiteral(
        "INSERT OR REPLACE INTO sync_parts (upload_id, part, etag) VALUES (?, ?, ?)"));
    query.addBindValue(uploadId);
    query.addBindValue(part);
    query.addBindValue(etag);
    return exec(query);
}

std::expected<QList<QPair<int, QString>>, QString> AppStore::parts(const QString &uploadId)
{
    QSqlQuery query(connection());
    query.prepare(
        QStringLiteral("SELECT part, etag FROM sync_parts WHERE upload_id = ? ORDER BY part"));
    query.addBindValue(uploadId);
    if (auto ok = exec(query); !ok)
        return std::unexpected(ok.error());
    QList<QPair<int, QString>> out;
    while (query.next())
        out.append({query.value(0).toInt(), query.value(1).toString()});
    return out;
}

} // namespace ferry
