// The live task tree's context menu, used like a person would: right-click a row of the real
// MainWindow's tree, then click "Cancel the whole run" or "Cancel task" in the menu that pops
// up. Runs go against the local S3 server through a fault proxy that stalls chosen parts, so
// a run is still in flight when the menu acts on it, on any machine.
//
// - Cancelling profile A's run turns only A's rows Cancelled (history: the run by `user`, its
//   tasks by `parent`) while profile B completes.
// - "Cancel the whole run" on a part row cancels the run itself (`user`), not just the part.
// - Cancelling one multipart file cancels it (`user`) and its parts (`parent`); by the
//   scheduler's contract (DESIGN.md, cancellation 5) its run follows with reason `child`: a
//   sync run tolerates failed files, not cancelled ones. Files already uploaded stay
//   Completed.
// - On finished rows both entries are disabled (and clicking them cancels nothing); a click
//   on no row opens no menu.

#include "GuiTestSupport.h"
#include "support/FaultProxy.h"
#include "ui/MainWindow.h"
#include "ui/ProfileRow.h"
#include "ui/ProfilesPanel.h"
#include "ui/TaskPanel.h"

#include <QAction>
#include <QApplication>
#include <QContextMenuEvent>
#include <QMenu>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTimer>
#include <QTreeView>

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr int kWaitMs = 20'000;
constexpr qint64 kMiB = 1024 * 1024;

const QString kCancelTask = QStringLiteral("cancelTaskAction");
const QString kCancelRun = QStringLiteral("cancelRunAction");

void click(QWidget *widget)
{
    QVERIFY2(widget->isEnabled(), qPrintable(widget->accessibleName()));
    QTest::mouseClick(widget, Qt::LeftButton, {}, widget->rect().center());
}

/// What the context menu showed: its entries by object name, with their enabled state.
struct MenuSeen {
    bool shown = false;
    QHash<QString, bool> enabled; ///< object name → enabled
    QHash<QString, QString> text; ///< object name → text
    bool clicked = false;         ///< The wanted entry was enabled and clicked.
};

/**
 * Right-clicks `index` in `view` (a context-menu event on its viewport at the row's visual
 * rect, as the mouse sends it), waits for the menu to pop up, notes its entries and clicks the
 * one named `choose` when it is enabled; otherwise (or when `choose` is empty) the menu is
 * closed with Escape. Returns once the menu is gone (QMenu::exec has returned).
 */
MenuSeen rightClick(QTreeView *view, const QModelIndex &index, const QString &choose)
{
    QPoint position;
    if (index.isValid()) {
        for (QModelIndex up = index.parent(); up.isValid(); up = up.parent())
            view->expand(up);
        view->scrollTo(index);
        position = view->visualRect(index).center();
    } else {
        // Below the last row: no task there.
        position = QPoint(view->viewport()->width() / 2, view->viewport()->height() - 2);
    }
    MenuSeen seen;
    QTimer watch; // fires inside the menu's own event loop
    watch.setInterval(0);
    QObject::connect(&watch, &QTimer::timeout, [&] {
        auto *menu = qobject_cast<QMenu *>(QApplication::activePopupWidget());
        if (!menu || !menu->isVisible())
            return;
        watch.stop();
        seen.shown = true;
        QAction *wanted = nullptr;
        for (QAction *action : menu->actions()) {
            if (action->objectName().isEmpty())
                continue;
            seen.enabled.insert(action->objectName(), action->isEnabled());
            seen.text.insert(action->objectName(), action->text());
            if (action->objectName() == choose)
                wanted = action;
        }
        if (wanted) {
            const QPoint at = menu->actionGeometry(wanted).center();
            QTest::mouseMove(menu, at);
            QTest::mouseClick(menu, Qt::LeftButton, {}, at);
            seen.clicked = wanted->isEnabled() && !menu->isVisible();
        }
        if (menu->isVisible())
            QTest::keyClick(menu, Qt::Key_Escape);
    });
    watch.start();
    const QPoint global = view->viewport()->mapToGlobal(position);
    QContextMenuEvent event(QContextMenuEvent::Mouse, position, global);
    QApplication::sendEvent(view->viewport(), &event);
    watch.stop();
    return seen;
}

/// The row (column 0) under `parent` whose label is `label`, or an invalid index.
QModelIndex childRow(const QAbstractItemModel &model, const QModelIndex &parent,
                     const QString &label)
{
    for (int row = 0; row < model.rowCount(parent); ++row) {
        const QModelIndex index = model.index(row, 0, parent);
        if (index.data().toString() == label)
            return index;
    }
    return {};
}

QString detailOf(const QModelIndex &index)
{
    return index.data(TaskTreeModel::DetailRole).toString();
}

QString rowText(const QModelIndex &index)
{
    return index.data().toString() + QStringLiteral(": ") +
           index.siblingAtColumn(TaskTreeModel::StatusColumn).data().toString();
}

/// Stalls (never answers) the PUTs of parts of `bucket`/`profile`/`file` matching
/// `partQuery` (e.g. `partNumber=2`, or `partNumber=` for every part).
int stallParts(FaultProxy &proxy, const QString &bucket, const QString &profile,
               const QString &file, const QByteArray &partQuery, int times)
{
    FaultRule rule;
    rule.method = "PUT";
    rule.path = QRegularExpression(
        QStringLiteral("^/%1/%2/%3$").arg(bucket, profile, QRegularExpression::escape(file)));
    rule.queryContains = partQuery;
    rule.times = times;
    rule.fault = Fault::stall(/*forward=*/false);
    return proxy.addRule(std::move(rule));
}

} // namespace

class TestGuiTaskMenu : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        qputenv("FERRY_SECRET_STORE", "file");
        m_server = S3TestServer::fromEnvironment();
        QVERIFY2(m_server.has_value(), qPrintable(S3TestServer::environmentProblem()));
        m_proxy = std::make_unique<FaultProxy>(m_server->port());
        QVERIFY(m_proxy->listen());
        m_app = std::make_unique<GuiHarness>(m_server->port());
        for (const QString &bucket : {QStringLiteral("menu-a"), QStringLiteral("menu-b"),
                                      QStringLiteral("menu-c"), QStringLiteral("menu-d")})
            m_app->createBucket(bucket);
        m_window = std::make_unique<MainWindow>(m_app->controller.get(), m_app->secrets);
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
        QCOMPARE(m_window->tabs()->currentWidget(), static_cast<QWidget *>(m_window->tasks()));
    }

    void cleanupTestCase()
    {
        if (m_proxy) {
            m_proxy->clearRules();
            (void)m_proxy->resetStalled();
        }
        m_window.reset();
        m_app.reset();
        m_proxy.reset();
    }

    void cancelRunFromTheMenuWhileTheOtherProfileCompletes()
    {
        // A (through the proxy): one 3-part file whose part 2 never gets an answer, so its
        // run cannot finish by itself, and small files. B (straight to the server): small files.
        const QString localA = m_app->path(QStringLiteral("a-src"));
        writeFile(localA, QStringLiteral("big.bin"), 12 * kMiB);
        for (int i = 0; i < 4; ++i)
            writeFile(localA, QStringLiteral("small%1.txt").arg(i), 32 * 1024);
        const QString localB = m_app->path(QStringLiteral("b-src"));
        for (int i = 0; i < 6; ++i)
            writeFile(localB, QStringLiteral("b%1.txt").arg(i), 64 * 1024);
        m_app->addProfile(QStringLiteral("menu-a"), localA, QStringLiteral("menu-a"),
                          [this](Profile &p) { p.remote = viaProxy("menu-a"); });
        m_app->addProfile(QStringLiteral("menu-b"), localB, QStringLiteral("menu-b"));
        const int stall = stallParts(*m_proxy, QStringLiteral("menu-a"), QStringLiteral("menu-a"),
                                     QStringLiteral("big.bin"), "partNumber=2", 1);

        QTRY_VERIFY_WITH_TIMEOUT(m_window->profiles()->row(QStringLiteral("menu-a")) &&
                                     m_window->profiles()->row(QStringLiteral("menu-b")),
                                 kWaitMs);
        QSignalSpy finished(m_app->controller.get(), &SyncController::runFinished);
        click(m_window->profiles()->row(QStringLiteral("menu-a"))->syncButton());
        click(m_window->profiles()->row(QStringLiteral("menu-b"))->syncButton());

        TaskTreeModel *tree = m_window->tasks()->model();
        QTreeView *view = m_window->tasks()->view();
        QTRY_VERIFY_WITH_TIMEOUT(m_proxy->applied(stall) == 1, kWaitMs); // A is held in flight
        const TaskId runA = runIdOf(QStringLiteral("menu-a"));
        QVERIFY(runA > 0);
        QTRY_VERIFY_WITH_TIMEOUT(tree->indexOf(runA).isValid(), kWaitMs);
        QVERIFY2(!isFinished(statusOf(tree->indexOf(runA))),
                 qPrintable(rowText(tree->indexOf(runA))));

        // Right-click A's run: both entries on offer; "Cancel the whole run".
        const MenuSeen menu = rightClick(view, tree->indexOf(runA), kCancelRun);
        QVERIFY(menu.shown);
        QVERIFY(menu.enabled.value(kCancelTask, false));
        QVERIFY(menu.enabled.value(kCancelRun, false));
        QVERIFY2(menu.text.value(kCancelRun).contains(QStringLiteral("run")),
                 qPrintable(menu.text.value(kCancelRun)));
        QVERIFY(menu.clicked);

        QTRY_COMPARE_WITH_TIMEOUT(statusOf(tree->indexOf(runA)), TaskDisplayStatus::Cancelled,
                                  kWaitMs);
        const TaskId runB = runIdOf(QStringLiteral("menu-b"));
        QVERIFY(runB > 0 && runB != runA);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(tree->indexOf(runB)), TaskDisplayStatus::Completed,
                                  kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(finished.size() >= 2, kWaitMs);

        // The tree: A's rows Cancelled (or done before the cancel came), B's all Completed.
        const QModelIndex runRowA = tree->indexOf(runA);
        QCOMPARE(detailOf(runRowA), CancelReason::User);
        QVERIFY2(runRowA.siblingAtColumn(TaskTreeModel::StatusColumn)
                     .data()
                     .toString()
                     .contains(QStringLiteral("user")),
                 qPrintable(rowText(runRowA)));
        const QModelIndex big = childRow(*tree, runRowA, QStringLiteral("big.bin"));
        QVERIFY(big.isValid());
        QCOMPARE(statusOf(big), TaskDisplayStatus::Cancelled);
        const QModelIndex part2 = childRow(*tree, big, QStringLiteral("big.bin part 2"));
        QVERIFY(part2.isValid());
        QCOMPARE(statusOf(part2), TaskDisplayStatus::Cancelled);
        QHash<TaskId, QString> cancelledA; // task → reason the tree shows
        for (const QModelIndex &index : allRows(*tree, runRowA)) {
            const auto status = statusOf(index);
            QVERIFY2(status == TaskDisplayStatus::Cancelled ||
                         status == TaskDisplayStatus::Completed,
                     qPrintable(rowText(index)));
            if (status == TaskDisplayStatus::Cancelled) {
                QCOMPARE(detailOf(index), CancelReason::Parent);
                cancelledA.insert(tree->taskId(index), detailOf(index));
            }
        }
        cancelledA.insert(runA, CancelReason::User);
        const QModelIndex runRowB = tree->indexOf(runB);
        QCOMPARE(tree->rowCount(runRowB), 6);
        for (const QModelIndex &index : allRows(*tree, runRowB))
            QCOMPARE(statusOf(index), TaskDisplayStatus::Completed);

        // History: exactly one Cancelled row per cancelled task, with the reason the tree
        // shows; the file's clean-up (AbortMultipartUpload) ran and succeeded. Nothing of B.
        const QList<HistoryRecord> historyA = cancelledHistory(QStringLiteral("menu-a"));
        QCOMPARE(historyA.size(), cancelledA.size());
        for (const HistoryRecord &record : historyA) {
            QVERIFY2(cancelledA.contains(record.taskId), qPrintable(record.label));
            QCOMPARE(record.status, HistoryStatus::Cancelled);
            QCOMPARE(record.reason, cancelledA.value(record.taskId));
            if (record.taskId == tree->taskId(big))
                QCOMPARE(record.cleanup, CleanupOutcome::Ok);
        }
        QVERIFY(cancelledHistory(QStringLiteral("menu-b")).isEmpty());
        QCOMPARE(m_app->controller->status(QStringLiteral("menu-a"))->lastResult,
                 std::optional(HistoryStatus::Cancelled));
        QCOMPARE(m_app->controller->status(QStringLiteral("menu-b"))->lastResult,
                 std::optional(HistoryStatus::Completed));
    }

    void cancelTheWholeRunFromOneOfItsParts()
    {
        // "Cancel the whole run" on a part row cancels its run (user), not just the part.
        const QString localD = m_app->path(QStringLiteral("d-src"));
        writeFile(localD, QStringLiteral("big.bin"), 12 * kMiB);
        writeFile(localD, QStringLiteral("small.txt"), 16 * 1024);
        m_app->addProfile(QStringLiteral("menu-d"), localD, QStringLiteral("menu-d"),
                          [this](Profile &p) { p.remote = viaProxy("menu-d"); });
        const int stall = stallParts(*m_proxy, QStringLiteral("menu-d"), QStringLiteral("menu-d"),
                                     QStringLiteral("big.bin"), "partNumber=2", 1);
        QTRY_VERIFY_WITH_TIMEOUT(m_window->profiles()->row(QStringLiteral("menu-d")), kWaitMs);
        click(m_window->profiles()->row(QStringLiteral("menu-d"))->syncButton());

        TaskTreeModel *tree = m_window->tasks()->model();
        QTRY_VERIFY_WITH_TIMEOUT(m_proxy->applied(stall) == 1, kWaitMs);
        const TaskId run = runIdOf(QStringLiteral("menu-d"));
        QVERIFY(run > 0);
        auto part2Row = [&] {
            return childRow(*tree, childRow(*tree, tree->indexOf(run), QStringLiteral("big.bin")),
                            QStringLiteral("big.bin part 2"));
        };
        QTRY_VERIFY_WITH_TIMEOUT(
            part2Row().isValid() && statusOf(part2Row()) == TaskDisplayStatus::Running, kWaitMs);
        const QModelIndex part2 = part2Row();

        const MenuSeen menu = rightClick(m_window->tasks()->view(), part2, kCancelRun);
        QVERIFY(menu.shown);
        QVERIFY(menu.enabled.value(kCancelTask, false));
        QVERIFY(menu.enabled.value(kCancelRun, false));
        QVERIFY(menu.clicked);

        const QModelIndex runRow = tree->indexOf(run);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(runRow), TaskDisplayStatus::Cancelled, kWaitMs);
        QCOMPARE(detailOf(runRow), CancelReason::User); // the run itself, not via its child
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(part2), TaskDisplayStatus::Cancelled, kWaitMs);
        QCOMPARE(detailOf(part2), CancelReason::Parent);
        const QModelIndex big = childRow(*tree, runRow, QStringLiteral("big.bin"));
        QCOMPARE(statusOf(big), TaskDisplayStatus::Cancelled);
        QCOMPARE(detailOf(big), CancelReason::Parent);
        QTRY_VERIFY_WITH_TIMEOUT(
            m_app->controller->status(QStringLiteral("menu-d"))->lastResult.has_value(), kWaitMs);
        QCOMPARE(m_app->controller->status(QStringLiteral("menu-d"))->lastResult,
                 std::optional(HistoryStatus::Cancelled));
    }

    void cancelOneFileFromTheMenuCancelsItsPartsAndItsRun()
    {
        // C (through the proxy): a 3-part file whose parts all stall, and small files that
        // upload meanwhile.
        const QString localC = m_app->path(QStringLiteral("c-src"));
        writeFile(localC, QStringLiteral("big.bin"), 12 * kMiB);
        for (int i = 0; i < 3; ++i)
            writeFile(localC, QStringLiteral("small%1.txt").arg(i), 16 * 1024);
        m_app->addProfile(QStringLiteral("menu-c"), localC, QStringLiteral("menu-c"),
                          [this](Profile &p) { p.remote = viaProxy("menu-c"); });
        const int stall = stallParts(*m_proxy, QStringLiteral("menu-c"), QStringLiteral("menu-c"),
                                     QStringLiteral("big.bin"), "partNumber=", -1);
        QTRY_VERIFY_WITH_TIMEOUT(m_window->profiles()->row(QStringLiteral("menu-c")), kWaitMs);
        click(m_window->profiles()->row(QStringLiteral("menu-c"))->syncButton());

        TaskTreeModel *tree = m_window->tasks()->model();
        QTreeView *view = m_window->tasks()->view();
        QTRY_VERIFY_WITH_TIMEOUT(m_proxy->applied(stall) == 3, kWaitMs); // every part in flight
        const TaskId run = runIdOf(QStringLiteral("menu-c"));
        QVERIFY(run > 0);
        auto smallDone = [&] {
            const QModelIndex runRow = tree->indexOf(run);
            for (int i = 0; i < 3; ++i) {
                const QModelIndex small =
                    childRow(*tree, runRow, QStringLiteral("small%1.txt").arg(i));
                if (!small.isValid() || statusOf(small) != TaskDisplayStatus::Completed)
                    return false;
            }
            return true;
        };
        QTRY_VERIFY_WITH_TIMEOUT(smallDone(), kWaitMs);
        QModelIndex big = childRow(*tree, tree->indexOf(run), QStringLiteral("big.bin"));
        QVERIFY(big.isValid());
        QTRY_COMPARE_WITH_TIMEOUT(tree->rowCount(big), 3, kWaitMs);
        for (int row = 0; row < 3; ++row)
            QCOMPARE(statusOf(tree->index(row, 0, big)), TaskDisplayStatus::Running);

        // A finished file in a live run: its own entry is disabled, its run's is not.
        QSignalSpy batches(m_app->scheduler.get(), &Scheduler::cancelledBatch);
        const MenuSeen onDone = rightClick(
            view, childRow(*tree, tree->indexOf(run), QStringLiteral("small0.txt")), kCancelTask);
        QVERIFY(onDone.shown);
        QVERIFY(onDone.enabled.contains(kCancelTask));
        QVERIFY(!onDone.enabled.value(kCancelTask));
        QVERIFY(onDone.enabled.value(kCancelRun, false));
        QVERIFY(!onDone.clicked);

        // Right-click the stalled file: "Cancel task".
        const MenuSeen onBig = rightClick(view, big, kCancelTask);
        QVERIFY(onBig.shown);
        QVERIFY(onBig.enabled.value(kCancelTask, false));
        QVERIFY(onBig.clicked);
        QTRY_COMPARE_WITH_TIMEOUT(batches.size(), 1, kWaitMs);
        QCOMPARE(batches.first().at(1).toString(), CancelReason::User);

        QTRY_COMPARE_WITH_TIMEOUT(statusOf(big), TaskDisplayStatus::Cancelled, kWaitMs);
        QCOMPARE(detailOf(big), CancelReason::User);
        QHash<TaskId, QString> expected{{tree->taskId(big), CancelReason::User}};
        for (int row = 0; row < 3; ++row) {
            const QModelIndex part = tree->index(row, 0, big);
            QTRY_COMPARE_WITH_TIMEOUT(statusOf(part), TaskDisplayStatus::Cancelled, kWaitMs);
            QCOMPARE(detailOf(part), CancelReason::Parent);
            expected.insert(tree->taskId(part), CancelReason::Parent);
        }
        // Its run follows (a cancelled child cancels a parent that does not tolerate it); the
        // files uploaded before stay Completed.
        const QModelIndex runRow = tree->indexOf(run);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(runRow), TaskDisplayStatus::Cancelled, kWaitMs);
        QCOMPARE(detailOf(runRow), CancelReason::Child);
        expected.insert(run, CancelReason::Child);
        QVERIFY(smallDone());
        QCOMPARE(tree->rowCount(runRow), 4);

        QTRY_VERIFY_WITH_TIMEOUT(
            m_app->controller->status(QStringLiteral("menu-c"))->lastResult.has_value(), kWaitMs);
        QCOMPARE(m_app->controller->status(QStringLiteral("menu-c"))->lastResult,
                 std::optional(HistoryStatus::Cancelled));
        const QList<HistoryRecord> history = cancelledHistory(QStringLiteral("menu-c"));
        QCOMPARE(history.size(), expected.size());
        for (const HistoryRecord &record : history) {
            QVERIFY2(expected.contains(record.taskId), qPrintable(record.label));
            QCOMPARE(record.reason, expected.value(record.taskId));
            if (record.taskId == tree->taskId(big))
                QCOMPARE(record.cleanup, CleanupOutcome::Ok);
        }
        m_proxy->clearRules();
    }

    void finishedRowsOfferNoCancel()
    {
        TaskTreeModel *tree = m_window->tasks()->model();
        QTreeView *view = m_window->tasks()->view();
        const QModelIndex runA = tree->indexOf(runIdOf(QStringLiteral("menu-a")));
        const QModelIndex runB = tree->indexOf(runIdOf(QStringLiteral("menu-b")));
        const QModelIndex runC = tree->indexOf(runIdOf(QStringLiteral("menu-c")));
        QVERIFY(runA.isValid() && runB.isValid() && runC.isValid());
        const QModelIndex bigC = childRow(*tree, runC, QStringLiteral("big.bin"));
        const QList<QModelIndex> finished{
            runA, runB, runC, tree->index(0, 0, runB), bigC, tree->index(0, 0, bigC)};
        QSignalSpy batches(m_app->scheduler.get(), &Scheduler::cancelledBatch);
        for (const QModelIndex &index : finished) {
            QVERIFY2(isFinished(statusOf(index)), qPrintable(rowText(index)));
            for (const QString &entry : {kCancelTask, kCancelRun}) {
                const MenuSeen menu = rightClick(view, index, entry);
                QVERIFY2(menu.shown, qPrintable(rowText(index)));
                QVERIFY2(menu.enabled.contains(entry), qPrintable(entry));
                QVERIFY2(!menu.enabled.value(entry), qPrintable(entry + u' ' + rowText(index)));
                QVERIFY(!menu.clicked);
            }
        }
        // Below the last row: no task, no menu.
        view->collapseAll();
        QCOMPARE(tree->rowCount(), 4);
        QVERIFY(!rightClick(view, {}, kCancelRun).shown);
        // Nothing was cancelled by any of those clicks.
        QCOMPARE(batches.size(), 0);
    }

private:
    /// `profile`'s remote through the fault proxy.
    QString viaProxy(const char *profile) const
    {
        const QString name = QString::fromLatin1(profile);
        return m_proxy->endpoint() + QLatin1Char('/') + name + QLatin1Char('/') + name;
    }

    TaskId runIdOf(const QString &profile) const
    {
        const auto status = m_app->controller->status(profile);
        return status ? status->runId : 0;
    }

    /// The Cancelled history rows of `profile`'s tasks.
    QList<HistoryRecord> cancelledHistory(const QString &profile) const
    {
        HistoryQuery query;
        query.status = HistoryStatus::Cancelled;
        query.dedupKeyPrefix = profileKeyPrefix(profile);
        auto rows = awaitFuture(m_app->scheduler->history(query));
        if (!rows)
            qFatal("history: %s", qPrintable(rows.error().message));
        return *rows;
    }

    std::optional<S3TestServer> m_server;
    std::unique_ptr<FaultProxy> m_proxy;
    std::unique_ptr<GuiHarness> m_app;
    std::unique_ptr<MainWindow> m_window;
};

QTEST_MAIN(TestGuiTaskMenu)
#include "tst_gui_task_menu.moc"
