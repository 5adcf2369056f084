// Renders Ferry's window, profile dialog, history and tray menu to PNG files (offscreen,
// QWidget::grab) for the README: a local S3 server of its own, three demo profiles, one
// synced, one cancelled mid-run, one syncing while the window is captured.
// Usage: ferry_screenshots OUTDIR   (run by tools/screenshots)

#include "GuiTestSupport.h"
#include "ui/HistoryPanel.h"
#include "ui/MainWindow.h"
#include "ui/ProfileDialog.h"
#include "ui/ProfileRow.h"
#include "ui/ProfilesPanel.h"
#include "ui/TaskPanel.h"
#include "ui/Tray.h"
#include "ui/TrayMenu.h"

#include <QApplication>
#include <QLineEdit>
#include <QMenu>
#include <QPushButton>
#include <QSettings>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTextStream>
#include <QTimer>
#include <QTreeView>

using namespace ferry;
using namespace ferry::test;

namespace {

bool save(QWidget *widget, const QDir &out, const QString &name)
{
    const QString path = out.filePath(name);
    const bool ok = widget->grab().save(path);
    QTextStream(stdout) << (ok ? "wrote " : "FAILED ") << path << '\n';
    return ok;
}

bool waitFor(const std::function<bool()> &condition)
{
    return QTest::qWaitFor(condition, 120'000);
}

/// Lets the event loop run for `ms` (repaints, a throughput sample): a picture, not a test.
void settle(int ms)
{
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

} // namespace

int main(int argc, char *argv[])
{
    qputenv("QT_QPA_PLATFORM", "offscreen");
    qputenv("FERRY_SECRET_STORE", "file");
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("ferry-screenshots"));
    QStandardPaths::setTestModeEnabled(true);
    QSettings().clear(); // the default layout, not the last run's
    if (argc != 2) {
        QTextStream(stderr) << "usage: ferry_screenshots OUTDIR\n";
        return 2;
    }
    QDir out(QString::fromLocal8Bit(argv[1]));
    if (!out.mkpath(QStringLiteral("."))) {
        QTextStream(stderr) << "cannot create " << out.path() << '\n';
        return 1;
    }

    QTemporaryDir serverDir;
    QString error;
    auto server = S3TestServerProcess::start(serverDir.path(), 0,
                                             S3TestServer::DefaultMinSegmentSize, &error);
    if (!server) {
        QTextStream(stderr) << "the local S3 server did not start: " << error << '\n';
        return 1;
    }
    GuiHarness harness(server->port());
    const QStringList names = {QStringLiteral("documents"), QStringLiteral("dr-backup"),
                               QStringLiteral("photos")};
    for (const QString &name : names)
        harness.createBucket(name);
    for (int i = 0; i < 12; ++i)
        writeFile(harness.path(QStringLiteral("documents")), QStringLiteral("report-%1.txt").arg(i),
                  48 * 1024);
    for (int i = 0; i < 4; ++i)
        writeFile(harness.path(QStringLiteral("dr-backup")), QStringLiteral("vm-%1.img").arg(i),
                  24 * 1024 * 1024);
    for (int i = 0; i < 6; ++i)
        writeFile(harness.path(QStringLiteral("photos")),
                  QStringLiteral("2026/IMG_%1.raw").arg(4100 + i), 30 * 1024 * 1024);
    for (const QString &name : names)
        harness.addProfile(name, harness.path(name), name);

    MainWindow window(harness.controller.get(), harness.secrets);
    Tray tray(harness.controller.get());
    window.resize(1100, 760);
    window.show();
    if (!QTest::qWaitForWindowExposed(&window))
        return 1;
    ProfilesPanel *profiles = window.profiles();

    // documents: a completed run; dr-backup: cancelled mid-run.
    QTest::mouseClick(profiles->row(names[0])->syncButton(), Qt::LeftButton);
    QTest::mouseClick(profiles->row(names[1])->syncButton(), Qt::LeftButton);
    waitFor([&] { return profiles->row(names[1])->cancelButton()->isEnabled(); });
    waitFor([&] {
        const auto s = harness.controller->status(names[1]);
        return s && s->bytesDone > 8 * 1024 * 1024;
    });
    QTest::mouseClick(profiles->row(names[1])->cancelButton(), Qt::LeftButton);
    waitFor([&] {
        for (const QString &name : {names[0], names[1]}) {
            const auto s = harness.controller->status(name);
            if (!s || s->activity != ProfileActivity::Idle || !s->lastResult)
                return false;
        }
        return true;
    });

    // photos: captured while it syncs.
    QTest::mouseClick(profiles->row(names[2])->syncButton(), Qt::LeftButton);
    waitFor([&] {
        const auto s = harness.controller->status(names[2]);
        return s && s->bytesTotal > 0 && s->bytesDone * 4 > s->bytesTotal;
    });
    window.tabs()->setCurrentWidget(window.tasks());
    // The finished runs folded, the running one open.
    QTreeView *tree = window.tasks()->view();
    tree->collapseAll();
    const QModelIndex photosRun = runRow(*window.tasks()->model(), names[2]);
    tree->expandRecursively(photosRun);
    tree->scrollTo(photosRun, QAbstractItemView::PositionAtTop);
    settle(1100); // a throughput sample and a repaint
    bool ok = save(&window, out, QStringLiteral("main-window.png"));
    tray.scheduleUpdate();
    settle(100);
    tray.menu()->menu()->adjustSize();
    ok = save(tray.menu()->menu(), out, QStringLiteral("tray-menu.png")) && ok;

    harness.controller->cancelAll();
    waitFor([&] {
        const auto s = harness.controller->status(names[2]);
        return s && s->activity == ProfileActivity::Idle;
    });
    window.tabs()->setCurrentWidget(window.history());
    waitFor([&] { return window.history()->view()->model()->rowCount() > 10; });
    ok = save(&window, out, QStringLiteral("history.png")) && ok;

    ProfileDialog *dialog = window.addProfile();
    dialog->findChild<QLineEdit *>(QStringLiteral("nameEdit"))->setText(QStringLiteral("music"));
    dialog->findChild<QLineEdit *>(QStringLiteral("localEdit"))
        ->setText(harness.path(QStringLiteral("documents")));
    dialog->findChild<QLineEdit *>(QStringLiteral("remoteEdit"))
        ->setText(QStringLiteral("s3://play.min.io"));
    dialog->findChild<QLineEdit *>(QStringLiteral("accessKeyEdit"))
        ->setText(QStringLiteral("AKIAIOSFODNN7EXAMPLE"));
    dialog->adjustSize();
    settle(100);
    ok = save(dialog, out, QStringLiteral("profile-dialog.png")) && ok;
    dialog->reject();
    return ok ? 0 : 1;
}
