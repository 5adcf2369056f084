// The whole desktop application (DesktopApp, as `ferry` without a subcommand composes it) on
// a data directory: it opens without blocking, shows the profiles, and `ferry cancel NAME`
// run as a separate process reaches it over the control socket and cancels that profile's
// run in the window.

#include "GuiTestSupport.h"
#include "ui/DesktopApp.h"
#include "ui/MainWindow.h"
#include "ui/ProfileRow.h"
#include "ui/ProfilesPanel.h"
#include "ui/TaskPanel.h"

#include <QAction>
#include <QLabel>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr int kWaitMs = 60'000;
const QString kProfile = QStringLiteral("remote-cancel");

} // namespace

class TestGuiApp : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        qputenv("FERRY_SECRET_STORE", "file");
        m_server = S3TestServer::fromEnvironment();
        QVERIFY2(m_server.has_value(), qPrintable(S3TestServer::environmentProblem()));
        QVERIFY(m_tmp.isValid());
    }

    void controlSocketCancelReachesTheWindow()
    {
        const QString dataDir = m_tmp.filePath(QStringLiteral("data"));
        const QString local = m_tmp.filePath(QStringLiteral("src"));
        for (int i = 0; i < 6; ++i)
            writeFile(local, QStringLiteral("file%1.bin").arg(i), 8 * 1024 * 1024);
        {
            // The profile as `ferry profile add` leaves it.
            QDir().mkpath(dataDir);
            AppStore store(DataDirectory::databasePath(dataDir));
            QVERIFY(store.open());
            Profile p;
            p.name = kProfile;
            p.localFolder = local;
            p.remote = QStringLiteral("http://127.0.0.1:%1/gui-app/x").arg(m_server->port());
            p.accessKeyId = S3TestServer::accessKey();
            p.concurrency = 2;
            QVERIFY(store.addProfile(p));
            QVERIFY(
                SecretStore::createFileStore(dataDir)->store(kProfile, S3TestServer::secretKey()));
            s3::ClientConfig config;
            config.endpoint =
                *s3::Endpoint::fromUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_server->port()));
            config.credentials.accessKeyId = S3TestServer::accessKey();
            config.credentials.secretAccessKey = S3TestServer::secretKey();
            s3::S3Client client(config);
            QVERIFY(QCoro::waitFor(client.createBucket(QStringLiteral("gui-app"), {})));
        }

        DesktopApp app(dataDir);
        QSignalSpy started(&app, &DesktopApp::started);
        app.start();
        QVERIFY(started.wait(kWaitMs));
        QCOMPARE(started.first().first().toString(), QString());
        MainWindow *window = app.window();
        QVERIFY(window && window->isVisible());
        QTRY_VERIFY_WITH_TIMEOUT(window->profiles()->row(kProfile), kWaitMs);
        ProfileRow *row = window->profiles()->row(kProfile);

        // Sync, then hold the endpoint (pause) so the run cannot finish before the cancel.
        QTest::mouseClick(row->syncButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(row->cancelButton()->isEnabled(), kWaitMs);
        row->findChild<QAction *>(QStringLiteral("pauseAction"))->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(row->stateLabel()->text() == QStringLiteral("paused") ||
                                     !row->cancelButton()->isEnabled(),
                                 kWaitMs);

        // `ferry status` and `ferry cancel` from another process reach this one.
        QProcess status;
        status.start(
            QStringLiteral(FERRY_BINARY),
            QStringList({QStringLiteral("--data-dir"), dataDir, QStringLiteral("status")}));
        QTRY_VERIFY_WITH_TIMEOUT(status.state() == QProcess::NotRunning, kWaitMs);
        QCOMPARE(status.exitCode(), 0);
        QVERIFY2(status.readAllStandardOutput().contains("the Ferry window (pid"),
                 "status answered by the window");

        QProcess cancel;
        cancel.start(QStringLiteral(FERRY_BINARY),
                     QStringList({QStringLiteral("--data-dir"), dataDir, QStringLiteral("cancel"),
                                  kProfile}));
        QTRY_VERIFY_WITH_TIMEOUT(cancel.state() == QProcess::NotRunning, kWaitMs);
        QVERIFY2(cancel.exitCode() == 0, cancel.readAllStandardError().constData());

        auto *last = row->findChild<QLabel *>(QStringLiteral("lastRunLabel"));
        QTRY_VERIFY_WITH_TIMEOUT(last->text().startsWith(QStringLiteral("Cancelled (user)")),
                                 kWaitMs);
        const QModelIndex run = runRow(*window->tasks()->model(), kProfile);
        QVERIFY(run.isValid());
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(run), TaskDisplayStatus::Cancelled, kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(!row->cancelButton()->isEnabled(), kWaitMs);
    }

private:
    std::optional<S3TestServer> m_server;
    QTemporaryDir m_tmp;
};

QTEST_MAIN(TestGuiApp)
#include "tst_gui_app.moc"
