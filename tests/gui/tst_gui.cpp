// The desktop application's widgets, clicked like a person would, against the local S3
// server: a profile added through the dialog (bad input shows its error), Sync fills the
// task tree and moves progress, Cancel on one profile cancels only its rows while the other
// completes, the cancelled rows show up in History filtered by status, and the tray menu
// follows the profiles.

#include "GuiTestSupport.h"
#include "app/connectivity/ConnectivityMonitor.h"
#include "app/connectivity/ManualEndpointProbe.h"
#include "app/connectivity/ManualReachabilitySource.h"
#include "ui/ConnectivityBinding.h"
#include "ui/HistoryModel.h"
#include "ui/HistoryPanel.h"
#include "ui/MainWindow.h"
#include "ui/ProfileDialog.h"
#include "ui/ProfileRow.h"
#include "ui/ProfilesPanel.h"
#include "ui/TaskPanel.h"
#include "ui/Tray.h"
#include "ui/TrayMenu.h"

#include <QAction>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabBar>
#include <QTabWidget>
#include <QTableView>
#include <QToolBar>
#include <QTreeView>

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr int kWaitMs = 60'000;

/// Replaces the text of `edit` as typed keys.
void retype(QLineEdit *edit, const QString &text)
{
    edit->selectAll();
    QTest::keyClick(edit, Qt::Key_Delete);
    QTest::keyClicks(edit, text);
}

void click(QWidget *widget)
{
    QVERIFY2(widget->isEnabled(), qPrintable(widget->accessibleName()));
    QTest::mouseClick(widget, Qt::LeftButton, {}, widget->rect().center());
}

/// Picks the entry `text` of `combo` with the keyboard.
void choose(QComboBox *combo, const QString &text)
{
    const int target = combo->findText(text);
    QVERIFY2(target >= 0, qPrintable(text));
    combo->setFocus();
    while (combo->currentIndex() != target)
        QTest::keyClick(combo, combo->currentIndex() < target ? Qt::Key_Down : Qt::Key_Up);
}

} // namespace

class TestGui : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true); // QSettings go to a test location
        qRegisterMetaType<ProfileDialog *>();
        qputenv("FERRY_SECRET_STORE", "file");
        m_server = S3TestServer::fromEnvironment();
        QVERIFY2(m_server.has_value(), qPrintable(S3TestServer::environmentProblem()));
        m_app = std::make_unique<GuiHarness>(m_server->port());
        m_app->createBucket(QStringLiteral("gui-a"));
        m_app->createBucket(QStringLiteral("gui-b"));
        m_window = std::make_unique<MainWindow>(m_app->controller.get(), m_app->secrets);
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    }

    void cleanupTestCase()
    {
        m_tray.reset();
        m_window.reset();
        m_app.reset();
    }

    void addProfileThroughDialog()
    {
        // Big enough that a cancel lands mid-run: six multipart files.
        const QString local = m_app->path(QStringLiteral("a-src"));
        for (int i = 0; i < 6; ++i)
            writeFile(local, QStringLiteral("big%1.bin").arg(i), 20 * 1024 * 1024);

        QSignalSpy opened(m_window.get(), &MainWindow::profileDialogOpened);
        auto *toolbar = m_window->findChild<QToolBar *>(QStringLiteral("mainToolbar"));
        auto *add = m_window->findChild<QAction *>(QStringLiteral("addProfileAction"));
        QVERIFY(toolbar && add);
        click(toolbar->widgetForAction(add));
        QCOMPARE(opened.size(), 1);
        auto *dialog = opened.first().first().value<ProfileDialog *>();
        QVERIFY(dialog && dialog->isVisible());
        QVERIFY(!dialog->saveButton()->isEnabled());
        auto *message = dialog->findChild<QLabel *>(QStringLiteral("validationLabel"));
        auto *name = dialog->findChild<QLineEdit *>(QStringLiteral("nameEdit"));
        auto *folder = dialog->findChild<QLineEdit *>(QStringLiteral("localEdit"));
        auto *remote = dialog->findChild<QLineEdit *>(QStringLiteral("remoteEdit"));
        auto *key = dialog->findChild<QLineEdit *>(QStringLiteral("accessKeyEdit"));
        auto *secret = dialog->findChild<QLineEdit *>(QStringLiteral("secretEdit"));
        QVERIFY(message && name && folder && remote && key && secret);

        // Bad input: each error names its field, and Save stays disabled.
        QTest::keyClicks(name, QStringLiteral("bad name!"));
        QCOMPARE(dialog->errorField(), ProfileError::Field::Name);
        QVERIFY2(message->text().contains(QStringLiteral("not usable")),
                 qPrintable(message->text()));
        QVERIFY(name->property("invalid").toBool());
        QVERIFY(!dialog->saveButton()->isEnabled());
        retype(name, QStringLiteral("gui-a"));
        QVERIFY(!name->property("invalid").toBool());
        QCOMPARE(dialog->errorField(), ProfileError::Field::Local);

        QTest::keyClicks(folder, m_app->path(QStringLiteral("no-such-folder")));
        QVERIFY2(message->text().contains(QStringLiteral("does not exist")),
                 qPrintable(message->text()));
        QVERIFY(folder->property("invalid").toBool());
        retype(folder, local);

        QTest::keyClicks(remote, QStringLiteral("ftp://nowhere/x"));
        QCOMPARE(dialog->errorField(), ProfileError::Field::Remote);
        QVERIFY(remote->property("invalid").toBool());
        QVERIFY(!dialog->saveButton()->isEnabled());
        retype(remote, m_app->remote(QStringLiteral("gui-a"), QStringLiteral("a")));
        QVERIFY2(dialog->errorText().isEmpty(), qPrintable(dialog->errorText()));
        QVERIFY(dialog->saveButton()->isEnabled());

        QTest::keyClicks(key, S3TestServer::accessKey());
        QTest::keyClicks(secret, S3TestServer::secretKey());

        // Test connection: the bucket answers.
        QSignalSpy tested(dialog, &ProfileDialog::connectionTested);
        click(dialog->testButton());
        QVERIFY(tested.wait(kWaitMs));
        QVERIFY2(tested.first().first().toString().isEmpty(),
                 qPrintable(tested.first().first().toString()));

        QSignalSpy accepted(dialog, &QDialog::accepted);
        click(dialog->saveButton());
        QVERIFY(accepted.wait(kWaitMs));
        QTRY_VERIFY_WITH_TIMEOUT(m_window->profiles()->row(QStringLiteral("gui-a")), kWaitMs);
        const auto status = m_app->controller->status(QStringLiteral("gui-a"));
        QVERIFY(status.has_value());
        QCOMPARE(status->profile.localFolder, local);
        QCOMPARE(status->profile.partSize, qint64(16 * 1024 * 1024));
        // The secret went to the secret store, never into the profile.
        QCOMPARE(m_app->secrets->load(QStringLiteral("gui-a")).value().value_or(QString()),
                 S3TestServer::secretKey());
    }

    void buttonsHaveAccessibleNames()
    {
        ProfileRow *row = m_window->profiles()->row(QStringLiteral("gui-a"));
        QVERIFY(row);
        QCOMPARE(row->syncButton()->accessibleName(), QStringLiteral("Sync profile gui-a"));
        QCOMPARE(row->cancelButton()->accessibleName(), QStringLiteral("Cancel profile gui-a"));
        QVERIFY(!row->cancelButton()->isEnabled()); // no work yet
        for (QAbstractButton *button : m_window->findChildren<QAbstractButton *>())
            if (button->isVisibleTo(m_window.get()) && !button->text().isEmpty())
                QVERIFY2(!button->accessibleName().isEmpty() || !button->toolTip().isEmpty(),
                         qPrintable(button->text()));
    }

    void cancelOneProfileWhileTheOtherCompletes()
    {
        const QString localB = m_app->path(QStringLiteral("b-src"));
        for (int i = 0; i < 8; ++i)
            writeFile(localB, QStringLiteral("small%1.txt").arg(i), 64 * 1024);
        m_app->addProfile(QStringLiteral("gui-b"), localB, QStringLiteral("gui-b"));
        QTRY_VERIFY_WITH_TIMEOUT(m_window->profiles()->row(QStringLiteral("gui-b")), kWaitMs);
        ProfileRow *a = m_window->profiles()->row(QStringLiteral("gui-a"));
        ProfileRow *b = m_window->profiles()->row(QStringLiteral("gui-b"));
        QVERIFY(a && b);
        TaskTreeModel *tree = m_window->tasks()->model();

        QSignalSpy finished(m_app->controller.get(), &SyncController::runFinished);
        click(a->syncButton());
        click(b->syncButton());

        // The tree fills with both runs and their files; A's progress moves.
        QTRY_VERIFY_WITH_TIMEOUT(runRow(*tree, QStringLiteral("gui-a")).isValid() &&
                                     tree->rowCount(runRow(*tree, QStringLiteral("gui-a"))) > 0,
                                 kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(runRow(*tree, QStringLiteral("gui-b")).isValid(), kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(
            runRow(*tree, QStringLiteral("gui-a")).data(TaskTreeModel::BytesDoneRole).toLongLong() >
                0,
            kWaitMs);
        const qint64 firstBytes =
            runRow(*tree, QStringLiteral("gui-a")).data(TaskTreeModel::BytesDoneRole).toLongLong();
        QTRY_VERIFY_WITH_TIMEOUT(
            runRow(*tree, QStringLiteral("gui-a")).data(TaskTreeModel::BytesDoneRole).toLongLong() >
                firstBytes,
            kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(a->progressBar()->isVisibleTo(a) &&
                                     a->stateLabel()->text().startsWith(QStringLiteral("syncing")),
                                 kWaitMs);

        // Cancel A only.
        QTRY_VERIFY_WITH_TIMEOUT(a->cancelButton()->isEnabled(), kWaitMs);
        click(a->cancelButton());

        QTRY_COMPARE_WITH_TIMEOUT(statusOf(runRow(*tree, QStringLiteral("gui-a"))),
                                  TaskDisplayStatus::Cancelled, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(runRow(*tree, QStringLiteral("gui-b"))),
                                  TaskDisplayStatus::Completed, kWaitMs);
        const QString prefixA = profileKeyPrefix(QStringLiteral("gui-a"));
        int cancelledA = 0;
        for (const QModelIndex &index : allRows(*tree)) {
            const auto status = statusOf(index);
            if (index.data(TaskTreeModel::DedupKeyRole).toString().startsWith(prefixA)) {
                // A's rows: cancelled, or finished before the cancel came.
                QVERIFY2(status == TaskDisplayStatus::Cancelled ||
                             status == TaskDisplayStatus::Completed,
                         qPrintable(index.data().toString()));
                cancelledA += status == TaskDisplayStatus::Cancelled;
            } else {
                QCOMPARE(status, TaskDisplayStatus::Completed);
            }
        }
        QVERIFY(cancelledA >= 2); // the run and at least one file

        QTRY_VERIFY_WITH_TIMEOUT(finished.size() >= 2, kWaitMs);
        const auto statusA = m_app->controller->status(QStringLiteral("gui-a"));
        const auto statusB = m_app->controller->status(QStringLiteral("gui-b"));
        QCOMPARE(statusA->lastResult, std::optional(HistoryStatus::Cancelled));
        QCOMPARE(statusB->lastResult, std::optional(HistoryStatus::Completed));
        QTRY_VERIFY_WITH_TIMEOUT(!a->cancelButton()->isEnabled() && a->syncButton()->isEnabled(),
                                 kWaitMs);
        QVERIFY2(a->findChild<QLabel *>(QStringLiteral("lastRunLabel"))
                     ->text()
                     .startsWith(QStringLiteral("Cancelled")),
                 qPrintable(a->findChild<QLabel *>(QStringLiteral("lastRunLabel"))->text()));
    }

    void historyShowsCancelledRowsWithTheirReason()
    {
        auto *tabs = m_window->tabs();
        click(tabs->tabBar()); // focus; then pick the History tab by its position
        QTest::mouseClick(tabs->tabBar(), Qt::LeftButton, {}, tabs->tabBar()->tabRect(1).center());
        QCOMPARE(tabs->currentWidget(), static_cast<QWidget *>(m_window->history()));

        HistoryPanel *history = m_window->history();
        choose(history->statusFilter(), QStringLiteral("Cancelled"));
        choose(history->profileFilter(), QStringLiteral("gui-a"));
        HistoryModel *model = history->model();
        QCOMPARE(model->filter().status, std::optional(HistoryStatus::Cancelled));
        QCOMPARE(model->filter().profile, QStringLiteral("gui-a"));
        QTRY_VERIFY_WITH_TIMEOUT(!model->isLoading() && model->rowCount() >= 2, kWaitMs);
        QTableView *view = history->view();
        for (int row = 0; row < view->model()->rowCount(); ++row) {
            const QModelIndex status = view->model()->index(row, HistoryModel::StatusColumn);
            const QModelIndex detail = view->model()->index(row, HistoryModel::DetailColumn);
            QCOMPARE(status.data(HistoryModel::StatusRole).toInt(), int(HistoryStatus::Cancelled));
            QVERIFY2(status.data().toString().contains(QStringLiteral("Cancelled")),
                     qPrintable(status.data().toString()));
            QVERIFY2(!detail.data().toString().isEmpty(), "a cancelled row shows its reason");
            QCOMPARE(view->model()->index(row, HistoryModel::ProfileColumn).data().toString(),
                     QStringLiteral("gui-a"));
        }
        // The run itself was cancelled by the user.
        bool userRun = false;
        for (int row = 0; row < model->rowCount(); ++row)
            userRun = userRun || (model->record(row).type == SyncTypes::Run &&
                                  model->record(row).reason == CancelReason::User);
        QVERIFY(userRun);

        choose(history->statusFilter(), QStringLiteral("Completed"));
        choose(history->profileFilter(), QStringLiteral("gui-b"));
        QTRY_VERIFY_WITH_TIMEOUT(!model->isLoading() && model->rowCount() >= 9, kWaitMs);
        for (int row = 0; row < model->rowCount(); ++row)
            QCOMPARE(model->record(row).status, HistoryStatus::Completed);
    }

    void trayMenuFollowsTheProfiles()
    {
        m_tray = std::make_unique<Tray>(m_app->controller.get());
        TrayMenu *menu = m_tray->menu();
        QVERIFY(menu->action(QStringLiteral("tray-sync-gui-a")));
        QVERIFY(menu->action(QStringLiteral("tray-cancel-gui-b")));
        QVERIFY(!menu->action(QStringLiteral("tray-cancel-gui-a"))->isEnabled()); // idle
        QVERIFY(menu->action(QStringLiteral("tray-cancel-all")));
        QVERIFY(menu->action(QStringLiteral("tray-show")));
        QVERIFY(menu->action(QStringLiteral("tray-quit")));
        QVERIFY(menu->action(QStringLiteral("tray-pause-all"))->isVisible());
        QVERIFY2(m_tray->toolTip().contains(QStringLiteral("gui-a: idle")),
                 qPrintable(m_tray->toolTip()));

        // Sync from the tray: the profile's Cancel entry enables while it has work.
        menu->action(QStringLiteral("tray-sync-gui-b"))->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(m_app->controller->status(QStringLiteral("gui-b"))->activity !=
                                     ProfileActivity::Idle,
                                 kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(m_app->controller->status(QStringLiteral("gui-b"))->activity ==
                                     ProfileActivity::Idle,
                                 kWaitMs);

        QSignalSpy quit(m_tray.get(), &Tray::quitRequested);
        menu->action(QStringLiteral("tray-quit"))->trigger();
        QCOMPARE(quit.size(), 1);
    }

    void trayAndStatusBarGoOfflineWithTheConnectivitySource()
    {
        QVERIFY(m_tray);
        auto source = std::make_unique<ManualReachabilitySource>();
        source->setReachability(SystemReachability::Online);
        ManualReachabilitySource *reachability = source.get();
        ConnectivityOptions options;
        options.confirmSpacing = std::chrono::milliseconds(10);
        options.retryInitial = std::chrono::milliseconds(50);
        options.retryMax = std::chrono::milliseconds(100);
        ConnectivityMonitor monitor(std::move(source), std::make_unique<ManualEndpointProbe>(),
                                    options);
        monitor.setEndpoints(QStringList(m_app->group()));
        bindConnectivity(&monitor, m_window.get(), m_tray.get());
        QLabel *endpoint = m_window->endpointLabel(m_app->group());
        QVERIFY(endpoint);
        QTRY_VERIFY_WITH_TIMEOUT(monitor.endpointState(m_app->group()) == EndpointState::Online,
                                 kWaitMs);
        QVERIFY2(endpoint->text().endsWith(QStringLiteral("online")), qPrintable(endpoint->text()));
        QVERIFY(m_tray->state() != OverallState::Offline);

        QSignalSpy notified(m_tray.get(), &Tray::notified);
        reachability->setReachability(SystemReachability::Disconnected);
        QTRY_COMPARE_WITH_TIMEOUT(m_tray->state(), OverallState::Offline, kWaitMs);
        QVERIFY2(m_window->networkLabel()->text().endsWith(QStringLiteral("offline")),
                 qPrintable(m_window->networkLabel()->text()));
        QTRY_VERIFY_WITH_TIMEOUT(endpoint->text().endsWith(QStringLiteral("offline")), kWaitMs);
        QVERIFY(endpoint->accessibleName().endsWith(QStringLiteral("offline")));
        QVERIFY(!notified.isEmpty());
        QVERIFY(m_tray->toolTip().contains(QStringLiteral("not reachable")));

        reachability->setReachability(SystemReachability::Online);
        QTRY_VERIFY_WITH_TIMEOUT(endpoint->text().endsWith(QStringLiteral("online")), kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(m_tray->state() != OverallState::Offline, kWaitMs);
        QVERIFY(m_window->networkLabel()->text().endsWith(QStringLiteral("online")));
    }

private:
    std::optional<S3TestServer> m_server;
    std::unique_ptr<GuiHarness> m_app;
    std::unique_ptr<MainWindow> m_window;
    std::unique_ptr<Tray> m_tray;
};

QTEST_MAIN(TestGui)
#include "tst_gui.moc"
