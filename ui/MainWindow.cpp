#include "MainWindow.h"

#include "HistoryPanel.h"
#include "LogView.h"
#include "ProfileDialog.h"
#include "ProfilePresentation.h"
#include "ProfilesPanel.h"
#include "TaskDisplayStatus.h"
#include "TaskPanel.h"
#include "WhenReady.h"
#include "app/sync/SyncController.h"

#include <QAction>
#include <QCloseEvent>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QToolBar>
#include <QTreeView>

namespace ferry {

MainWindow::MainWindow(SyncController *controller, std::shared_ptr<SecretStore> secrets,
                       QWidget *parent)
    : QMainWindow(parent), m_controller(controller), m_secrets(std::move(secrets))
{
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(tr("Ferry"));
    setWindowIcon(appIcon());

    m_profiles = new ProfilesPanel(controller, this);
    m_tasks = new TaskPanel(controller->scheduler(), this);
    m_history = new HistoryPanel(controller->scheduler(), this);
    m_log = new LogView(this);
    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("tabs"));
    m_tabs->addTab(m_tasks, statusIcon(TaskDisplayStatus::Running), tr("&Tasks"));
    m_tabs->addTab(m_history, statusIcon(TaskDisplayStatus::Completed), tr("&History"));
    m_tabs->addTab(m_log, tr("&Log"));
    m_tabs->setTabToolTip(0, tr("What runs now: sync runs, files and parts (Ctrl+1)"));
    m_tabs->setTabToolTip(1, tr("Finished tasks, with filters (Ctrl+2)"));
    m_tabs->setTabToolTip(2, tr("The app's log messages (Ctrl+3)"));

    m_splitter = new QSplitter(Qt::Vertical, this);
    m_splitter->setObjectName(QStringLiteral("mainSplitter"));
    m_splitter->addWidget(m_profiles);
    m_splitter->addWidget(m_tabs);
    m_splitter->setStretchFactor(0, 1);
    m_splitter->setStretchFactor(1, 2);
    m_splitter->setSizes(QList<int>({230, 490}));
    setCentralWidget(m_splitter);

    buildActions();
    buildStatusBar();

    connect(m_profiles, &ProfilesPanel::editRequested, this, &MainWindow::editProfile);
    connect(m_profiles, &ProfilesPanel::removeRequested, this, &MainWindow::removeProfile);
    connect(m_profiles, &ProfilesPanel::actionFailed, this, &MainWindow::showMessage);
    connect(m_tasks, &TaskPanel::actionFailed, this, &MainWindow::showMessage);
    connect(controller, &SyncController::profilesChanged, this, [this] {
        m_history->setProfiles(m_controller->profileNames());
        refreshEndpoints();
    });
    connect(controller, &SyncController::runFinished, this,
            [this](const QString &name, HistoryStatus status, const QString &detail) {
                if (status == HistoryStatus::Failed)
                    showMessage(tr("%1: sync failed: %2").arg(name, detail));
                else if (status == HistoryStatus::Cancelled)
                    showMessage(tr("%1: sync cancelled (%2)").arg(name, detail));
                else
                    showMessage(tr("%1: sync completed").arg(name));
            });
    connect(controller, &SyncController::cleanupFailed, this,
            [this](const QString &name, const QString &detail) {
                showMessage(tr("%1: clean-up failed: %2").arg(name, detail));
            });
    m_history->setProfiles(controller->profileNames());
    refreshEndpoints();

    m_throughputTimer.setInterval(1000);
    connect(&m_throughputTimer, &QTimer::timeout, this, &MainWindow::sampleThroughput);
    m_throughputTimer.start();
    m_sampleClock.start();

    resize(960, 720);
    restoreLayout();
}

MainWindow::~MainWindow()
{
    saveLayout();
}

void MainWindow::buildActions()
{
    QMenu *profileMenu = menuBar()->addMenu(tr("&Profile"));
    QToolBar *toolbar = addToolBar(tr("Main"));
    toolbar->setObjectName(QStringLiteral("mainToolbar"));
    toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);

    QAction *add =
        profileMenu->addAction(appIcon(), tr("&Add profile…"), this, &MainWindow::addProfile);
    add->setObjectName(QStringLiteral("addProfileAction"));
    add->setShortcut(QKeySequence::New);
    add->setToolTip(tr("Add a sync profile: a folder and the bucket it goes to (Ctrl+N)"));
    QAction *syncAll = profileMenu->addAction(appIcon(QStringLiteral("syncing")), tr("&Sync all"),
                                              this, &MainWindow::syncAll);
    syncAll->setObjectName(QStringLiteral("syncAllAction"));
    syncAll->setShortcut(QKeySequence(Qt::Key_F5));
    syncAll->setToolTip(tr("Sync every idle profile now (F5)"));
    QAction *cancelAll = profileMenu->addAction(statusIcon(TaskDisplayStatus::Cancelled),
                                                tr("&Cancel all"), this, [this] {
                                                    if (m_controller)
                                                        m_controller->cancelAll();
                                                });
    cancelAll->setObjectName(QStringLiteral("cancelAllAction"));
    cancelAll->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_X));
    cancelAll->setToolTip(tr("Cancel every profile's work and clean up (Ctrl+Shift+X)"));
    QAction *pauseAll =
        profileMenu->addAction(appIcon(QStringLiteral("paused")), tr("&Pause all"), this, [this] {
            if (m_controller)
                m_controller->pauseAll();
        });
    pauseAll->setObjectName(QStringLiteral("pauseAllAction"));
    pauseAll->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P));
    pauseAll->setToolTip(tr("Hold every endpoint's queue without cancelling (Ctrl+Shift+P)"));
    QAction *resumeAll = profileMenu->addAction(tr("&Resume all"), this, [this] {
        if (m_controller)
            m_controller->resumeAll();
    });
    resumeAll->setObjectName(QStringLiteral("resumeAllAction"));
    resumeAll->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
    resumeAll->setToolTip(tr("Resume every paused endpoint (Ctrl+Shift+R)"));
    profileMenu->addSeparator();
    QAction *quit = profileMenu->addAction(tr("&Quit"), this, &MainWindow::quitRequested);
    quit->setObjectName(QStringLiteral("quitAction"));
    quit->setShortcut(QKeySequence::Quit);
    quit->setToolTip(tr("Stop Ferry; running uploads resume at the next start (Ctrl+Q)"));
    toolbar->addAction(add);
    toolbar->addAction(syncAll);
    toolbar->addAction(cancelAll);
    toolbar->addAction(pauseAll);
    toolbar->addAction(resumeAll);

    QMenu *viewMenu = menuBar()->addMenu(tr("&View"));
    const QString names[] = {tr("&Tasks"), tr("&History"), tr("&Log")};
    for (int i = 0; i < 3; ++i) {
        QAction *show = viewMenu->addAction(names[i], this, [this, i] {
            m_tabs->setCurrentIndex(i);
            m_tabs->currentWidget()->setFocus();
        });
        show->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)));
    }

    QMenu *helpMenu = menuBar()->addMenu(tr("&Help"));
    helpMenu->addAction(tr("&About Ferry"), this, [this] {
        QMessageBox::about(this, tr("About Ferry"),
                           tr("Ferry keeps local folders in step with S3 buckets. Cancel any "
                              "profile at any moment: Ferry stops fast, cleans up its "
                              "unfinished uploads and records what happened."));
    });
}

void MainWindow::buildStatusBar()
{
    m_throughput = new QLabel(this);
    m_throughput->setObjectName(QStringLiteral("throughputLabel"));
    m_throughput->setAccessibleName(tr("Overall throughput"));
    m_throughput->setToolTip(tr("Bytes uploaded per second, all profiles together"));
    m_throughput->setText(tr("↑ %1").arg(presentation::rate(0)));
    m_network = new QLabel(tr("Network: online"), this);
    m_network->setObjectName(QStringLiteral("networkLabel"));
    m_network->setAccessibleName(tr("Network state"));
    m_endpointBox = new QWidget(this);
    auto *endpoints = new QHBoxLayout(m_endpointBox);
    endpoints->setContentsMargins(0, 0, 0, 0);
    statusBar()->addPermanentWidget(m_endpointBox);
    statusBar()->addPermanentWidget(m_network);
    statusBar()->addPermanentWidget(m_throughput);
}

QLabel *MainWindow::endpointLabel(const QString &endpoint) const
{
    return m_endpoints.value(endpoint);
}

void MainWindow::refreshEndpoints()
{
    if (!m_controller)
        return;
    const QStringList groups = m_controller->groups();
    for (auto it = m_endpoints.begin(); it != m_endpoints.end();) {
        if (groups.contains(it.key())) {
            ++it;
            continue;
        }
        delete it.value();
        it = m_endpoints.erase(it);
    }
    for (const QString &group : groups) {
        QLabel *label = m_endpoints.value(group);
        if (!label) {
            label = new QLabel(m_endpointBox);
            label->setObjectName(QStringLiteral("endpoint-") + group);
            m_endpointBox->layout()->addWidget(label);
            m_endpoints.insert(group, label);
        }
        const bool online =
            m_endpointOnline.value(group, m_controller->isGroupOnline(group)) && m_systemOnline;
        const QString host = QString(group).remove(QStringLiteral("s3://"));
        label->setText(online ? tr("%1: online").arg(host) : tr("%1: offline").arg(host));
        label->setAccessibleName(
            tr("Endpoint %1 %2").arg(group, online ? tr("online") : tr("offline")));
        label->setProperty("online", online);
        if (label->toolTip().isEmpty())
            label->setToolTip(group);
    }
}

void MainWindow::setSystemOnline(bool online)
{
    m_systemOnline = online;
    m_network->setText(online ? tr("Network: online") : tr("Network: offline"));
    m_network->setProperty("online", online);
    refreshEndpoints();
}

void MainWindow::setEndpointOnline(const QString &endpoint, bool online, const QString &reason)
{
    m_endpointOnline.insert(endpoint, online);
    refreshEndpoints();
    if (QLabel *label = m_endpoints.value(endpoint))
        label->setToolTip(reason.isEmpty() ? endpoint : tr("%1: %2").arg(endpoint, reason));
}

void MainWindow::sampleThroughput()
{
    if (!m_controller)
        return;
    qint64 total = 0;
    for (const QString &name : m_controller->profileNames())
        if (const auto status = m_controller->status(name))
            total += status->bytesDone;
    const qint64 elapsedMs = m_sampleClock.restart();
    const qint64 delta = m_lastBytes < 0 ? 0 : total - m_lastBytes;
    m_lastBytes = total;
    const double rate = delta > 0 && elapsedMs > 0 ? delta * 1000.0 / elapsedMs : 0.0;
    m_throughput->setText(tr("↑ %1").arg(presentation::rate(rate)));
}

ProfileDialog *MainWindow::addProfile()
{
    return openDialog(std::nullopt);
}

ProfileDialog *MainWindow::editProfile(const QString &name)
{
    const auto status = m_controller ? m_controller->status(name) : std::nullopt;
    if (!status)
        return nullptr;
    return openDialog(status->profile);
}

ProfileDialog *MainWindow::openDialog(const std::optional<Profile> &existing)
{
    const bool editing = existing.has_value();
    QPointer<SyncController> controller = m_controller;
    auto saver = [controller,
                  editing](Profile profile,
                           QString secret) -> QFuture<std::expected<void, ProfileError>> {
        if (!controller)
            return QtFuture::makeReadyFuture(
                std::expected<void, ProfileError>(std::unexpected(ProfileError{
                    ProfileError::Field::Storage, MainWindow::tr("Ferry is shutting down.")})));
        return controller->saveProfile(std::move(profile), std::move(secret), editing);
    };
    auto *dialog = new ProfileDialog(saver, m_secrets, existing, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this] { showMessage(tr("Profile saved.")); });
    dialog->open();
    emit profileDialogOpened(dialog);
    return dialog;
}

void MainWindow::removeProfile(const QString &name)
{
    if (!m_controller)
        return;
    const auto answer = QMessageBox::question(
        this, tr("Remove profile"),
        tr("Remove the profile %1? Its files in the bucket stay; Ferry forgets what it "
           "uploaded.")
            .arg(name));
    if (answer != QMessageBox::Yes)
        return;
    whenReady(m_controller->removeProfile(name), this,
              [this, name](std::expected<void, QString> removed) {
                  showMessage(removed ? tr("Profile %1 removed.").arg(name) : removed.error());
              });
}

void MainWindow::syncAll()
{
    if (!m_controller)
        return;
    for (const QString &name : m_controller->profileNames()) {
        const auto status = m_controller->status(name);
        if (status && status->activity == ProfileActivity::Idle)
            whenReady(m_controller->sync(name), this,
                      [this](std::expected<TaskId, QString> started) {
                          if (!started)
                              showMessage(started.error());
                      });
    }
}

void MainWindow::showAndRaise()
{
    show();
    setWindowState(windowState() & ~Qt::WindowMinimized);
    raise();
    activateWindow();
}

void MainWindow::showMessage(const QString &message)
{
    statusBar()->showMessage(message, 10'000);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveLayout();
    if (m_keepInTray) {
        hide();
        event->ignore();
        return;
    }
    emit quitRequested();
    event->accept();
}

void MainWindow::restoreLayout()
{
    QSettings settings;
    settings.beginGroup(QStringLiteral("MainWindow"));
    restoreGeometry(settings.value(QStringLiteral("geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("state")).toByteArray());
    m_splitter->restoreState(settings.value(QStringLiteral("splitter")).toByteArray());
    m_tasks->view()->header()->restoreState(
        settings.value(QStringLiteral("taskColumns")).toByteArray());
    m_history->view()->horizontalHeader()->restoreState(
        settings.value(QStringLiteral("historyColumns")).toByteArray());
    m_tabs->setCurrentIndex(settings.value(QStringLiteral("tab"), 0).toInt());
}

void MainWindow::saveLayout() const
{
    QSettings settings;
    settings.beginGroup(QStringLiteral("MainWindow"));
    settings.setValue(QStringLiteral("geometry"), saveGeometry());
    settings.setValue(QStringLiteral("state"), saveState());
    settings.setValue(QStringLiteral("splitter"), m_splitter->saveState());
    settings.setValue(QStringLiteral("taskColumns"), m_tasks->view()->header()->saveState());
    settings.setValue(QStringLiteral("historyColumns"),
                      m_history->view()->horizontalHeader()->saveState());
    settings.setValue(QStringLiteral("tab"), m_tabs->currentIndex());
}

} // namespace ferry
