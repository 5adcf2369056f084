// Profiles: validation with clear errors, the app store (tables next to the scheduler's),
// and the secret store's file backend (never in the database, mode 0600).

#include "app/DataDirectory.h"
#include "app/profiles/AppStore.h"
#include "app/profiles/SecretStore.h"

#include <QFile>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <unistd.h>

using namespace ferry;

class TestProfiles : public QObject {
    Q_OBJECT

    Profile valid(const QString &name = QStringLiteral("photos"))
    {
        Profile p;
        p.name = name;
        p.localFolder = m_dir.path();
        p.remote = QStringLiteral("http://127.0.0.1:9000/bucket/photos");
        p.accessKeyId = QStringLiteral("AKID");
        return p;
    }

    QTemporaryDir m_dir;

private slots:
    void validProfilePasses() { QVERIFY(valid().validate().has_value()); }

    void validationNamesCauseAndFix_data()
    {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("expected");
        QTest::newRow("missing folder") << "local"
                                        << "/nonexistent/ferry"
                                        << "does not exist";
        QTest::newRow("malformed remote") << "remote"
                                          << "ftp://x/b"
                                          << "not usable";
        QTest::newRow("no bucket") << "remote"
                                   << "s3://host.example"
                                   << "";
        QTest::newRow("part too small") << "part"
                                        << "1048576"
                                        << "5 MiB";
        QTest::newRow("part too large") << "part"
                                        << "6442450944"
                                        << "5 GiB";
        QTest::newRow("bad name") << "name"
                                  << "a b"
                                  << "not usable";
    }
    void validationNamesCauseAndFix()
    {
        QFETCH(QString, field);
        QFETCH(QString, value);
        QFETCH(QString, expected);
        Profile p = valid();
        if (field == "local")
            p.localFolder = value;
        else if (field == "remote")
            p.remote = value;
        else if (field == "part")
            p.partSize = value.toLongLong();
        else
            p.name = value;
        auto result = p.validate();
        QVERIFY(!result.has_value());
        QVERIFY2(result.error().message.contains(expected), qPrintable(result.error().message));
    }

    void unreadableFolderIsRefused()
    {
        // A file where a folder is expected is refused for every user.
        Profile file = valid();
        file.localFolder = m_dir.filePath("plain-file");
        QFile plain(file.localFolder);
        QVERIFY(plain.open(QIODevice::WriteOnly));
        plain.close();
        QVERIFY(file.validate().error().message.contains("is a file, not a folder"));
        if (::geteuid() == 0)
            return; // root reads every folder: permissions cannot be exercised here
        QTemporaryDir locked;
        QVERIFY(QFile::setPermissions(locked.path(), QFile::WriteOwner));
        Profile p = valid();
        p.localFolder = locked.path();
        auto result = p.validate();
        QVERIFY(QFile::setPermissions(locked.path(),
                                      QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner));
        QVERIFY(!result.has_value());
        QVERIFY(result.error().message.contains("cannot be read"));
    }

    void storeRoundTripAndNameTaken()
    {
        QTemporaryDir data;
        AppStore store(DataDirectory::databasePath(data.path()));
        QVERIFY(store.open().has_value());
        Profile p = valid();
        p.excludes = QStringList{"*.tmp", "cache/*"};
        p.mirrorDeletes = true;
        p.onOffline = OfflineReaction::Pause;
        p.partSize = 8 * 1024 * 1024;
        QVERIFY(store.addProfile(p).has_value());
        auto taken = store.addProfile(p);
        QVERIFY(!taken.has_value());
        QCOMPARE(taken.error().field, ProfileError::Field::Name);
        QVERIFY(taken.error().message.contains("already exists"));

        AppStore reopened(DataDirectory::databasePath(data.path()));
        QVERIFY(reopened.open().has_value());
        auto loaded = reopened.profile("photos");
        QVERIFY(loaded.has_value() && loaded->has_value());
        QCOMPARE((*loaded)->excludes, p.excludes);
        QCOMPARE((*loaded)->partSize, p.partSize);
        QCOMPARE((*loaded)->onOffline, OfflineReaction::Pause);
        QVERIFY((*loaded)->mirrorDeletes);
        QVERIFY((*loaded)->isExcluded("a/b/x.tmp"));
        QVERIFY((*loaded)->isExcluded("cache/y"));
        QVERIFY(!(*loaded)->isExcluded("keep.txt"));

        QVERIFY(reopened.removeProfile("photos").has_value());
        QVERIFY(!reopened.removeProfile("photos").has_value());
        QCOMPARE(reopened.profiles()->size(), 0);
    }

    void schemaIsVersionedInOwnTable()
    {
        QTemporaryDir data;
        AppStore store(DataDirectory::databasePath(data.path()));
        QVERIFY(store.open().has_value());
        {
            auto db = QSqlDatabase::addDatabase("QSQLITE", "check");
            db.setDatabaseName(DataDirectory::databasePath(data.path()));
            QVERIFY(db.open());
            QSqlQuery q(db);
            QVERIFY(q.exec("SELECT version FROM app_schema") && q.next());
            QCOMPARE(q.value(0).toInt(), 1);
            QVERIFY(q.exec("PRAGMA user_version") && q.next());
            QCOMPARE(q.value(0).toInt(), 0); // the scheduler's, untouched
        }
        QSqlDatabase::removeDatabase("check");
    }

    void fileSecretStoreIsPrivateAndOutsideTheDatabase()
    {
        QTemporaryDir data;
        AppStore store(DataDirectory::databasePath(data.path()));
        QVERIFY(store.open().has_value());
        QVERIFY(store.addProfile(valid()).has_value());
        auto secrets = SecretStore::createFileStore(data.path());
        QVERIFY(secrets->description().contains("file"));
        QVERIFY(secrets->store("photos", "s3cr3t-value").has_value());
        QCOMPARE(secrets->load("photos")->value_or(QString()), QString("s3cr3t-value"));
        QFile file(data.filePath("secrets.json"));
        QCOMPARE(file.permissions() & (QFile::ReadGroup | QFile::ReadOther | QFile::ReadUser |
                                       QFile::ReadOwner | QFile::WriteOwner),
                 QFile::ReadOwner | QFile::WriteOwner | QFile::ReadUser);
        QFile db(DataDirectory::databasePath(data.path()));
        QVERIFY(db.open(QIODevice::ReadOnly));
        QVERIFY(!db.readAll().contains("s3cr3t-value"));

        auto creds = resolveCredentials(*(*store.profile("photos")), *secrets);
        QVERIFY(creds.has_value());
        QCOMPARE(creds->secretAccessKey, QString("s3cr3t-value"));
        QVERIFY(!creds->describe().contains("s3cr3t"));

        QVERIFY(secrets->remove("photos").has_value());
        QVERIFY(!secrets->load("photos")->has_value());
        qunsetenv("AWS_SECRET_ACCESS_KEY");
        auto missing = resolveCredentials(*(*store.profile("photos")), *secrets);
        QVERIFY(!missing.has_value());
        QVERIFY(missing.error().contains("AWS_SECRET_ACCESS_KEY"));
        qputenv("AWS_SECRET_ACCESS_KEY", "from-env");
        QCOMPARE(resolveCredentials(*(*store.profile("photos")), *secrets)->secretAccessKey,
                 QString("from-env"));
        qunsetenv("AWS_SECRET_ACCESS_KEY");
    }

    void journalAndUploadsTables()
    {
        QTemporaryDir data;
        AppStore store(DataDirectory::databasePath(data.path()));
        QVERIFY(store.open().has_value());
        QVERIFY(store.putJournal("p", {"a/b.txt", 3, 1000, "etag"}).has_value());
        QCOMPARE(store.journalEntry("p", "a/b.txt")->etag, QString("etag"));
        QVERIFY(!store.journalEntry("q", "a/b.txt").has_value());
        QVERIFY(store.recordUpload({"up1", "p", "bucket", "k", QDateTime::currentDateTimeUtc()})
                    .has_value());
        QVERIFY(store.isKnownUpload("up1"));
        QVERIFY(store.putPart("up1", 2, "e2").has_value());
        QVERIFY(store.putPart("up1", 1, "e1").has_value());
        QCOMPARE(store.parts("up1")->size(), 2);
        QCOMPARE(store.parts("up1")->first().second, QString("e1"));
        QVERIFY(store.forgetUpload("up1").has_value());
        QVERIFY(!store.isKnownUpload("up1"));
        QCOMPARE(store.parts("up1")->size(), 0);
    }
};

QTEST_GUILESS_MAIN(TestProfiles)
#include "tst_profiles.moc"
