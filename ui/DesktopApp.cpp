#include "DesktopApp.h"

#include "ConnectivityBinding.h"
#include "MainWindow.h"
#include "Tray.h"
#include "UiLog.h"
#include "app/cli/CliSupport.h"
#include "app/cli/Commands.h"
#include "app/cli/ControlServer.h"
#include "app/cli/SignalWatcher.h"
#include "app/connectivity/ConnectivitySetup.h"
#include "app/sync/SyncController.h"
#include "scheduler/Scheduler.h"

#include <QApplication>
#include <QGuiApplication>
#include <QMessageBox>
#include <QTimer>

#include <QCoro/QCoroFuture>

namespace ferry {

namespace {

// GCC 12: coroutines below keep their locals at function scope (no nested scopes across a
// co_await) and build lists with append().

QList<QJsonObject> cancelAnswer(const QString &profile,
                                const std::expected<int, QString> &cancelled)
{
    QJsonObject line;
    if (cancelled) {
        line[QStringLiteral("profile")] = profile;
        line[QStringLiteral("cancelled")] = qint64(*cancelled);
    } else {
        line[QStringLiteral("error")] = cancelled.error();
    }
    QList<QJsonObject> lines;
    lines.append(line);
    return lines;
}

/// `cancel` goes through the controller (it remembers the reason); the rest as the CLI does.
QCoro::Task<QList<QJsonObject>> answerControl(SyncController *controller, QJsonObject request)
{
    const QString cmd = request.value(QStringLiteral("cmd")).toString();
    const QString profile = request.value(QStringLiteral("profile")).toString();
    if (cmd != QLatin1String("cancel")) {
        request[QStringLiteral("owner")] =
            DesktopApp::tr("the Ferry window (pid %1)").arg(QCoreApplication::applicationPid());
        co_return co_await cli::answerRequest(controller->scheduler(), request);
    }
    const auto cancelled = co_await controller->cancel(profile, CancelReason::User);
    co_return cancelAnswer(profile, cancelled);
}

} // namespace

DesktopApp::DesktopApp(QString dataDir, QObject *parent)
    : QObject(parent), m_dataDir(std::move(dataDir))
{
}

DesktopApp::~DesktopApp()
{
    m_control.reset();
    m_connectivity.reset(); // before the controller and services it uses
    m_tray.reset();
    m_window.reset();
    m_controller.reset();
    m_scheduler.reset(); // shuts down (bounded wait) if quit() was not awaited
}

void DesktopApp::start()
{
    QApplication::setQuitOnLastWindowClosed(false);
    m_signals = std::make_unique<cli::SignalWatcher>();
    connect(m_signals.get(), &cli::SignalWatcher::signalled, this,
            [this](int number) { quit(128 + number); });
    // From the event loop: an early failure's exit() must find the loop running.
    QTimer::singleShot(0, this, [this] { (void)open(); });
}

QCoro::Task<void> DesktopApp::open()
{
    auto app = cli::openApp(m_dataDir, true); // a first start creates it
    if (!app) {
        fail(app.error());
        co_return;
    }
    m_services = std::make_shared<SyncServices>(app->store, app->secrets);
    auto opened = co_await cli::openScheduler(m_dataDir, m_services);
    if (!opened.scheduler) {
        fail(opened.error);
        co_return;
    }
    m_scheduler = std::move(opened.scheduler);
    m_services->setScheduler(m_scheduler.get());
    m_controller = std::make_unique<SyncController>(m_scheduler.get(), m_services, app->secrets);
    const auto loaded = co_await m_controller->reload();
    if (!loaded)
        qCWarning(lcUi) << "profiles could not be loaded:" << loaded.error();

    m_window = std::make_unique<MainWindow>(m_controller.get(), app->secrets);
    m_tray = std::make_unique<Tray>(m_controller.get());
    m_window->setKeepRunningInTray(m_tray->isIconShown());
    connect(m_window.get(), &MainWindow::quitRequested, this, [this] { quit(); });
    connect(m_tray.get(), &Tray::quitRequested, this, [this] { quit(); });
    connect(m_tray.get(), &Tray::showWindowRequested, m_window.get(), &MainWindow::showAndRaise);

    m_connectivity = std::make_unique<QObject>();
    const Connectivity connectivity = setUpConnectivity(m_controller.get(), m_connectivity.get());
    bindConnectivity(connectivity.monitor, m_window.get(), m_tray.get());

    SyncController *controller = m_controller.get();
    m_control = std::make_unique<cli::ControlServer>(m_dataDir, [controller](QJsonObject request) {
        return answerControl(controller, std::move(request));
    });
    QString why;
    if (!m_control->listen(&why))
        m_window->showMessage(
            tr("The control socket could not be opened (%1): `ferry cancel` will not reach "
               "this window.")
                .arg(why));
    m_window->show();
    emit started(QString());
}

void DesktopApp::fail(const QString &error)
{
    qCCritical(lcUi).noquote() << error;
    emit started(error);
    const QString platform = QGuiApplication::platformName();
    if (platform == QLatin1String("offscreen") || platform == QLatin1String("minimal")) {
        QCoreApplication::exit(2); // nobody could close a message box
        return;
    }
    auto *box =
        new QMessageBox(QMessageBox::Critical, tr("Ferry cannot start"), error, QMessageBox::Close);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::finished, this, [] { QCoreApplication::exit(2); });
    box->open();
}

void DesktopApp::quit(int exitCode)
{
    if (m_quitting)
        return;
    m_quitting = true;
    (void)shutdown(exitCode);
}

QCoro::Task<void> DesktopApp::shutdown(int exitCode)
{
    if (m_window)
        m_window->hide();
    m_control.reset();      // no new requests while stopping
    m_connectivity.reset(); // an outage while stopping must not cancel anything
    if (m_scheduler)
        co_await m_scheduler->shutdown(5000);
    QCoreApplication::exit(exitCode);
}

} // namespace ferry
