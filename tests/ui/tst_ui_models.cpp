// The UI models against a real scheduler on a temporary database: the task tree follows
// trees of tasks through progress, completion and cancellation; the history model pages,
// filters and refreshes. Every model runs under QAbstractItemModelTester (Fatal).

#include "../scheduler/SchedulerTestSupport.h"
#include "ui/HistoryModel.h"
#include "ui/ProgressBarDelegate.h"
#include "ui/TaskTreeModel.h"

#include <QAbstractItemModelTester>
#include <QFile>
#include <QSignalSpy>
#include <QTreeView>

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr int kFilesPerRun = 3;
constexpr int kPartsPerFile = 2;
constexpr qint64 kPartBytes = 100;

TaskSpec childSpec(const QString &type, const QString &label, qint64 bytes)
{
    TaskSpec s;
    s.type = type;
    s.label = label;
    s.bytesTotal = bytes;
    return s;
}

/// run → kFilesPerRun files → kPartsPerFile parts; parts report half their bytes, then wait
/// for the probe's gate (success) or their token (cancelled).
void registerTree(Scheduler &scheduler, const std::shared_ptr<Probe> &probe)
{
    scheduler.registerExecutor(
        QStringLiteral("run"),
        std::make_shared<FunctionExecutor>([](TaskContext &ctx) -> QCoro::Task<TaskResult> {
            QList<TaskSpec> files;
            for (int i = 0; i < kFilesPerRun; ++i)
                files.append(childSpec(QStringLiteral("file"),
                                       ctx.task().label + QStringLiteral("/file%1").arg(i),
                                       kPartBytes * kPartsPerFile));
            auto spawned = ctx.spawnBatch(files);
            if (!spawned)
                co_return std::unexpected(TaskError::permanent(spawned.error().message));
            co_return TaskResult{};
        }));
    scheduler.registerExecutor(
        QStringLiteral("file"),
        std::make_shared<FunctionExecutor>([](TaskContext &ctx) -> QCoro::Task<TaskResult> {
            QList<TaskSpec> parts;
            for (int i = 0; i < kPartsPerFile; ++i)
                parts.append(childSpec(QStringLiteral("part"),
                                       ctx.task().label + QStringLiteral("#%1").arg(i),
                                       kPartBytes));
            auto spawned = ctx.spawnBatch(parts);
            if (!spawned)
                co_return std::unexpected(TaskError::permanent(spawned.error().message));
            co_return TaskResult{};
        }));
    scheduler.registerExecutor(
        QStringLiteral("part"),
        std::make_shared<FunctionExecutor>([probe](TaskContext &ctx) -> QCoro::Task<TaskResult> {
            probe->started++;
            ctx.reportProgress(kPartBytes / 2, kPartBytes);
            co_await untilAnyCancelled(listOf(probe->gate.token(), ctx.token()));
            if (ctx.isCancelled())
                co_return std::unexpected(TaskError::cancelled());
            ctx.reportProgress(kPartBytes, kPartBytes);
            co_return TaskResult{};
        }));
}

TaskSpec runSpec(const QString &profile, const QString &group)
{
    TaskSpec s = spec(QStringLiteral("run"), group, QStringLiteral("profile:%1:run").arg(profile));
    s.label = profile;
    return s;
}

int statusOf(const QAbstractItemModel &model, const QModelIndex &index)
{
    return model.data(index, TaskTreeModel::StatusRole).toInt();
}

/// Every index below `parent` (depth first), column 0.
QModelIndexList descendants(const QAbstractItemModel &model, const QModelIndex &parent)
{
    QModelIndexList out;
    for (int row = 0; row < model.rowCount(parent); ++row) {
        const QModelIndex child = model.index(row, 0, parent);
        out << child << descendants(model, child);
    }
    return out;
}

bool allHaveStatus(const QAbstractItemModel &model, const QModelIndex &root,
                   TaskDisplayStatus status)
{
    if (statusOf(model, root) != int(status))
        return false;
    const auto below = descendants(model, root);
    return std::all_of(below.begin(), below.end(),
                       [&](const QModelIndex &i) { return statusOf(model, i) == int(status); });
}

TaskEvent submitted(TaskId id, TaskId parent, qint64 bytes = 0)
{
    TaskEvent e;
    e.kind = TaskEvent::Kind::Submitted;
    e.id = id;
    e.parentId = parent;
    e.type = QStringLiteral("synthetic");
    e.label = QStringLiteral("task %1").arg(id);
    e.bytesTotal = bytes;
    e.timestampMs = 1000;
    return e;
}

TaskEvent simple(TaskEvent::Kind kind, TaskId id, TaskId parent, qint64 at = 1000)
{
    TaskEvent e;
    e.kind = kind;
    e.id = id;
    e.parentId = parent;
    e.timestampMs = at;
    return e;
}

} // namespace

class TestUiModels : public QObject {
    Q_OBJECT
private slots:
    void treeFollowsSchedulerThroughProgressCancelAndCompletion();
    void treeAppliesBatchesWithOneSignalPerParent();
    void treePrunesOldestFinishedRoots();
    void treeThroughputAndEtaFollowProgressAndStalls();
    void delegatePaintsProgress();
    void resourcesHoldEveryIcon();
    void historyPagesOnDemandNewestFirst();
    void historyFiltersByStatusProfileAndTime();
    void historyPrependsNewRows();
};

void TestUiModels::treeFollowsSchedulerThroughProgressCancelAndCompletion()
{
    auto probe = std::make_shared<Probe>();
    Harness h(16); // every part of both trees runs at once
    Scheduler &scheduler = h.start([&](Scheduler &s) { registerTree(s, probe); });

    // One tree exists before the model attaches (it arrives through the snapshot) ...
    const TaskId runA = h.submit(runSpec(QStringLiteral("alpha"), QStringLiteral("s3://a")));
    QTRY_COMPARE(probe->started.load(), kFilesPerRun * kPartsPerFile);

    TaskTreeModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QSignalSpy snapshot(&model, &TaskTreeModel::snapshotLoaded);
    model.attach(&scheduler);
    QTRY_COMPARE(snapshot.size(), 1);
    QCOMPARE(snapshot.first().first().toString(), QString());

    // ... the other through events.
    const TaskId runB = h.submit(runSpec(QStringLiteral("beta"), QStringLiteral("s3://b")));
    const int partsTotal = 2 * kFilesPerRun * kPartsPerFile;
    QTRY_COMPARE(probe->started.load(), partsTotal);
    QTRY_COMPARE(model.taskCount(), qsizetype(2 * (1 + kFilesPerRun * (1 + kPartsPerFile))));
    QCOMPARE(model.rowCount(), 2);

    // Rows sit under the right parents: the model's parent is the scheduler's parent.
    for (TaskId run : listOf(runA, runB)) {
        const QModelIndex root = model.indexOf(run);
        QVERIFY(root.isValid());
        QCOMPARE(model.parent(root), QModelIndex());
        QCOMPARE(model.rowCount(root), kFilesPerRun);
        for (const QModelIndex &index : descendants(model, root)) {
            const TaskId id = model.taskId(index);
            const auto record = FERRY_OK(await(scheduler.task(id)));
            QVERIFY(record.has_value());
            QCOMPARE(model.taskId(model.parent(index)), record->parentId);
            QCOMPARE(model.data(index, TaskTreeModel::TypeRole).toString(), record->type);
        }
    }

    // Progress: every part reported half; files and runs sum their children.
    const QModelIndex rootB = model.indexOf(runB);
    QTRY_COMPARE(model.data(rootB, TaskTreeModel::BytesDoneRole).toLongLong(),
                 kFilesPerRun * kPartsPerFile * kPartBytes / 2);
    QCOMPARE(model.data(rootB, TaskTreeModel::ProgressRole).toInt(), 50);
    for (const QModelIndex &index : descendants(model, rootB))
        QCOMPARE(model.data(index, TaskTreeModel::ProgressRole).toInt(), 50);
    // (The snapshot carries the bytes the store holds: a running task's reports live in memory
    // until its next report or its end, so the first tree's progress is not asserted here.)
    const QModelIndex firstPart = model.index(0, 0, model.index(0, 0, rootB));
    QCOMPARE(statusOf(model, firstPart), int(TaskDisplayStatus::Running));
    QCOMPARE(statusOf(model, rootB), int(TaskDisplayStatus::Waiting));
    QCOMPARE(model.data(firstPart.siblingAtColumn(TaskTreeModel::ProgressColumn)).toString(),
             QStringLiteral("50%"));

    // Cancelling one group cancels its whole tree, with the reason; the other runs on.
    const auto cancelled =
        FERRY_OK(await(scheduler.cancelGroup(QStringLiteral("s3://a"), CancelReason::Group)));
    QCOMPARE(cancelled.size(), qsizetype(1 + kFilesPerRun * (1 + kPartsPerFile)));
    const QModelIndex rootA = model.indexOf(runA);
    QTRY_VERIFY(allHaveStatus(model, rootA, TaskDisplayStatus::Cancelled));
    QCOMPARE(model.data(rootA, TaskTreeModel::DetailRole).toString(), CancelReason::Group);
    QVERIFY(model.data(rootA.siblingAtColumn(TaskTreeModel::StatusColumn))
                .toString()
                .contains(CancelReason::Group));
    QCOMPARE(statusOf(model, rootB), int(TaskDisplayStatus::Waiting));

    // Opening the gate completes the other tree: 100 %, and it stays visible.
    probe->gate.cancel();
    QTRY_VERIFY(allHaveStatus(model, rootB, TaskDisplayStatus::Completed));
    QCOMPARE(model.data(rootB, TaskTreeModel::ProgressRole).toInt(), 100);
    QCOMPARE(model.data(rootB, TaskTreeModel::BytesDoneRole).toLongLong(),
             kFilesPerRun * kPartsPerFile * kPartBytes);
    QCOMPARE(model.rowCount(), 2);
    QVERIFY(!model.data(rootB.siblingAtColumn(TaskTreeModel::StatusColumn), Qt::DecorationRole)
                 .value<QIcon>()
                 .isNull());
    h.stop();
}

void TestUiModels::treeAppliesBatchesWithOneSignalPerParent()
{
    TaskTreeModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);

    // A root with 500 files, each with 2 parts, in one batch: one insertion (the subtree
    // comes with its root).
    TaskEvents batch;
    batch.append(submitted(1, 0));
    for (TaskId file = 2; file < 502; ++file) {
        batch.append(submitted(file, 1));
        batch.append(submitted(10'000 + file * 2, file, 10));
        batch.append(submitted(10'001 + file * 2, file, 10));
    }
    model.applyEvents(batch);
    QCOMPARE(inserted.size(), 1);
    QCOMPARE(model.rowCount(model.indexOf(1)), 500);
    QCOMPARE(model.data(model.indexOf(1), TaskTreeModel::BytesTotalRole).toLongLong(), 500 * 20);

    // More files for the known root, and parts for two known files: one insert per parent.
    inserted.clear();
    batch.clear();
    for (TaskId file = 600; file < 700; ++file)
        batch.append(submitted(file, 1));
    batch.append(submitted(50'000, 2, 10));
    batch.append(submitted(50'001, 3, 10));
    batch.append(submitted(50'002, 2, 10));
    model.applyEvents(batch);
    QCOMPARE(inserted.size(), 3);
    QCOMPARE(model.rowCount(model.indexOf(1)), 600);
    QCOMPARE(model.rowCount(model.indexOf(2)), 4);
    QCOMPARE(model.data(model.indexOf(1), TaskTreeModel::BytesTotalRole).toLongLong(),
             500 * 20 + 3 * 10);

    // A new file and its parts in the same batch as each other: counted once in the root.
    batch.clear();
    batch.append(submitted(800, 1, 999));
    batch.append(submitted(80'001, 800, 10));
    batch.append(submitted(80'002, 800, 10));
    model.applyEvents(batch);
    QCOMPARE(model.data(model.indexOf(800), TaskTreeModel::BytesTotalRole).toLongLong(), 20);
    QCOMPARE(model.data(model.indexOf(1), TaskTreeModel::BytesTotalRole).toLongLong(),
             500 * 20 + 3 * 10 + 20);

    // Progress on every part of 100 files: one dataChanged per file (rows 0..1 or 0..3),
    // one for the root's children (the files' sums changed) and one for the root.
    changed.clear();
    batch.clear();
    for (TaskId file = 2; file < 102; ++file) {
        for (TaskId part : listOf(10'000 + file * 2, 10'001 + file * 2)) {
            TaskEvent p = simple(TaskEvent::Kind::Progress, part, file, 2000);
            p.bytesDone = 5;
            p.bytesTotal = 10;
            batch.append(p);
        }
    }
    model.applyEvents(batch);
    QCOMPARE(changed.size(), 100 + 1 + 1);
    QCOMPARE(model.data(model.indexOf(1), TaskTreeModel::BytesDoneRole).toLongLong(), 100 * 10);
    QCOMPARE(reset.size(), 0);

    // Events for unknown tasks are ignored, never crash.
    model.applyEvents(TaskEvents{simple(TaskEvent::Kind::Completed, 999'999, 12345)});
    QCOMPARE(model.indexOf(999'999), QModelIndex());

    // Group pause marks pending tasks of the group paused; resume restores them.
    TaskEvent groupTask = submitted(70'000, 0);
    groupTask.group = QStringLiteral("s3://g");
    model.applyEvents(TaskEvents{groupTask});
    TaskEvent pause = simple(TaskEvent::Kind::Paused, 0, 0);
    pause.detail = QStringLiteral("s3://g");
    model.applyEvents(TaskEvents{pause});
    QCOMPARE(statusOf(model, model.indexOf(70'000)), int(TaskDisplayStatus::Paused));
    pause.kind = TaskEvent::Kind::Resumed;
    model.applyEvents(TaskEvents{pause});
    QCOMPARE(statusOf(model, model.indexOf(70'000)), int(TaskDisplayStatus::Pending));
}

void TestUiModels::treePrunesOldestFinishedRoots()
{
    TaskTreeModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    model.setMaxFinishedRoots(2);
    TaskEvents batch;
    for (TaskId root = 1; root <= 6; ++root) {
        batch.append(submitted(root, 0));
        batch.append(submitted(root * 100, root));
    }
    model.applyEvents(batch);
    QCOMPARE(model.rowCount(), 6);

    // Roots 1, 2, 4 and 5 finish (in that order); 3 and 6 stay active.
    batch.clear();
    for (TaskId root : listOf<TaskId>(1, 2, 4, 5)) {
        batch.append(simple(TaskEvent::Kind::Completed, root * 100, root));
        TaskEvent end = simple(TaskEvent::Kind::Failed, root, 0);
        end.detail = QStringLiteral("bucket `x` does not exist on play.min.io");
        batch.append(end);
    }
    model.applyEvents(batch);
    QCOMPARE(model.rowCount(), 4);
    QList<TaskId> left;
    for (int row = 0; row < model.rowCount(); ++row)
        left << model.taskId(model.index(row, 0));
    QCOMPARE(left, (QList<TaskId>{3, 4, 5, 6}));
    QCOMPARE(model.indexOf(100), QModelIndex()); // the subtree went with its root
    QCOMPARE(model.taskCount(), qsizetype(8));
    QCOMPARE(model.data(model.indexOf(4), TaskTreeModel::DetailRole).toString(),
             QStringLiteral("bucket `x` does not exist on play.min.io"));
    QCOMPARE(model.parent(model.indexOf(600)), model.indexOf(6));
}

void TestUiModels::treeThroughputAndEtaFollowProgressAndStalls()
{
    TaskTreeModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    model.applyEvents(
        TaskEvents{submitted(1, 0, 1000), simple(TaskEvent::Kind::Started, 1, 0, 1000)});
    TaskEvent progress = simple(TaskEvent::Kind::Progress, 1, 0, 2000);
    progress.bytesDone = 500;
    progress.bytesTotal = 1000;
    model.applyEvents(TaskEvents{progress});
    const QModelIndex task = model.indexOf(1);
    QCOMPARE(model.data(task, TaskTreeModel::ThroughputRole).toDouble(), 500.0); // 500 B in 1 s
    QCOMPARE(model.data(task, TaskTreeModel::EtaRole).toLongLong(), 1);
    QVERIFY(
        !model.data(task.siblingAtColumn(TaskTreeModel::ThroughputColumn)).toString().isEmpty());
    QCOMPARE(model.data(task.siblingAtColumn(TaskTreeModel::EtaColumn)).toString(),
             TaskTreeModel::tr("%1 s").arg(1));

    // No more progress: the speed and the ETA go blank rather than stay stale.
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QTRY_COMPARE_WITH_TIMEOUT(model.data(task, TaskTreeModel::ThroughputRole).toDouble(), 0.0,
                              TaskTreeModel::kStallMs * 3);
    QVERIFY(!changed.isEmpty());
    QCOMPARE(model.data(task, TaskTreeModel::EtaRole).toLongLong(), -1);
    QCOMPARE(model.data(task.siblingAtColumn(TaskTreeModel::ThroughputColumn)).toString(),
             QString());
}

void TestUiModels::delegatePaintsProgress()
{
    TaskTreeModel model;
    TaskEvents batch;
    batch.append(submitted(1, 0, 100));
    TaskEvent progress = simple(TaskEvent::Kind::Progress, 1, 0, 2000);
    progress.bytesDone = 40;
    progress.bytesTotal = 100;
    batch.append(progress);
    model.applyEvents(batch);

    QTreeView view;
    ProgressBarDelegate delegate;
    view.setItemDelegateForColumn(TaskTreeModel::ProgressColumn, &delegate);
    view.setModel(&model);
    view.resize(800, 200);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    const QModelIndex cell = model.index(0, TaskTreeModel::ProgressColumn);
    QCOMPARE(cell.data(TaskTreeModel::ProgressRole).toInt(), 40);
    const QImage image = view.viewport()->grab(view.visualRect(cell)).toImage();
    QVERIFY(!image.isNull());
    QVERIFY(delegate.sizeHint(QStyleOptionViewItem(), cell).width() > 0);
}

void TestUiModels::resourcesHoldEveryIcon()
{
    initUiResources();
    for (int s = 0; s <= int(TaskDisplayStatus::Superseded); ++s) {
        const auto status = TaskDisplayStatus(s);
        QVERIFY(!displayText(status).isEmpty());
        QVERIFY(!statusIcon(status).pixmap(16, 16).isNull()); // the SVG icon engine renders it
    }
    for (const char *name : {"ferry", "idle", "syncing", "offline", "error", "paused"}) {
        const QString file = qstrcmp(name, "ferry") == 0
                                 ? QStringLiteral(":/icons/ferry.svg")
                                 : QStringLiteral(":/icons/status-%1.svg").arg(QLatin1String(name));
        QVERIFY2(QFile::exists(file), qPrintable(file));
        QVERIFY(!appIcon(QLatin1String(name)).pixmap(32, 32).isNull());
    }
}

void TestUiModels::historyPagesOnDemandNewestFirst()
{
    Harness h;
    Scheduler &scheduler =
        h.start([](Scheduler &s) { s.registerExecutor(QStringLiteral("noop"), noopExecutor()); });
    QList<TaskSpec> specs;
    for (int i = 0; i < 1050; ++i)
        specs.append(spec(QStringLiteral("noop"), {}, QStringLiteral("profile:p:%1").arg(i)));
    FERRY_OK(await(scheduler.submitBatch(specs)));
    QTRY_COMPARE_WITH_TIMEOUT(h.history().size(), qsizetype(1050), 30000);

    // No tester here: it walks (and so fetches) everything; this test checks laziness.
    HistoryModel model(&scheduler);
    model.setPageSize(400);
    QSignalSpy pages(&model, &HistoryModel::pageLoaded);
    QCOMPARE(model.rowCount(), 0);
    QVERIFY(model.canFetchMore());
    model.fetchMore();
    QVERIFY(!model.canFetchMore()); // one page at a time
    model.fetchMore();              // ignored while the page is on its way
    QTRY_COMPARE(pages.size(), 1);
    QCOMPARE(model.rowCount(), 400);
    QVERIFY(model.canFetchMore());
    model.fetchMore();
    QTRY_COMPARE(pages.size(), 2);
    QCOMPARE(model.rowCount(), 800);
    model.fetchMore();
    QTRY_COMPARE(pages.size(), 3);
    QCOMPARE(model.rowCount(), 1050);
    QVERIFY(model.atEnd());
    QVERIFY(!model.canFetchMore());

    for (int row = 1; row < model.rowCount(); ++row)
        QVERIFY(model.index(row - 1, 0).data(HistoryModel::HistoryIdRole).toLongLong() >
                model.index(row, 0).data(HistoryModel::HistoryIdRole).toLongLong());
    QCOMPARE(model.index(0, HistoryModel::StatusColumn).data().toString(),
             displayText(TaskDisplayStatus::Completed));
    QCOMPARE(model.index(0, HistoryModel::ProfileColumn).data().toString(), QStringLiteral("p"));
    h.stop();
}

void TestUiModels::historyFiltersByStatusProfileAndTime()
{
    auto probe = std::make_shared<Probe>();
    Harness h(2);
    Scheduler &scheduler = h.start([&](Scheduler &s) {
        s.registerExecutor(QStringLiteral("noop"), noopExecutor());
        s.registerExecutor(QStringLiteral("gate"), gateExecutor(probe));
        s.registerExecutor(
            QStringLiteral("fail"),
            std::make_shared<FunctionExecutor>([](TaskContext &) -> QCoro::Task<TaskResult> {
                co_return std::unexpected(
                    TaskError::permanent(QStringLiteral("bucket `x` does not exist")));
            }));
    });
    QList<TaskSpec> specs;
    for (int i = 0; i < 30; ++i)
        specs.append(spec(QStringLiteral("noop"), {}, QStringLiteral("profile:one:%1").arg(i)));
    for (int i = 0; i < 5; ++i)
        specs.append(spec(QStringLiteral("fail"), {}, QStringLiteral("profile:one:f%1").arg(i)));
    for (int i = 0; i < 6; ++i)
        specs.append(spec(QStringLiteral("gate"), QStringLiteral("s3://two"),
                          QStringLiteral("profile:two:%1").arg(i)));
    FERRY_OK(await(scheduler.submitBatch(specs)));
    QTRY_COMPARE(probe->started.load(), 2); // two gates run (the pool holds two)
    FERRY_OK(await(scheduler.cancelGroup(QStringLiteral("s3://two"))));
    QTRY_COMPARE_WITH_TIMEOUT(h.history().size(), qsizetype(41), 20000);

    HistoryModel model(&scheduler);
    model.setPageSize(7);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    auto loadAll = [&] {
        while (!model.atEnd()) {
            QSignalSpy pages(&model, &HistoryModel::pageLoaded);
            model.fetchMore();
            if (!QTest::qWaitFor([&] { return !pages.isEmpty(); }))
                return false;
        }
        return true;
    };

    HistoryModel::Filter filter;
    filter.status = HistoryStatus::Cancelled;
    model.setFilter(filter);
    QVERIFY(loadAll());
    QCOMPARE(model.rowCount(), 6);
    int cleanedUp = 0;
    for (int row = 0; row < model.rowCount(); ++row) {
        QCOMPARE(model.index(row, HistoryModel::StatusColumn).data().toString(),
                 displayText(TaskDisplayStatus::Cancelled));
        QCOMPARE(model.index(row, HistoryModel::DetailColumn).data().toString(),
                 CancelReason::Group);
        const auto cleanup =
            CleanupOutcome(model.index(row, 0).data(HistoryModel::CleanupRole).toInt());
        QCOMPARE(model.index(row, HistoryModel::CleanupColumn).data().toString(),
                 HistoryModel::cleanupText(cleanup));
        if (cleanup == CleanupOutcome::Ok)
            ++cleanedUp;
    }
    QCOMPARE(cleanedUp, 2); // the started ones ran their hook; the others needed none
    QCOMPARE(HistoryModel::cleanupText(CleanupOutcome::TimedOut), QStringLiteral("timed out"));

    filter.status = HistoryStatus::Failed;
    model.setFilter(filter);
    QVERIFY(loadAll());
    QCOMPARE(model.rowCount(), 5);
    QCOMPARE(model.index(0, HistoryModel::DetailColumn).data().toString(),
             QStringLiteral("bucket `x` does not exist"));

    filter = {};
    filter.profile = QStringLiteral("one");
    model.setFilter(filter);
    QVERIFY(loadAll());
    QCOMPARE(model.rowCount(), 35);
    for (int row = 0; row < model.rowCount(); ++row)
        QCOMPARE(model.index(row, HistoryModel::ProfileColumn).data().toString(),
                 QStringLiteral("one"));

    filter.profile.clear();
    filter.finishedAfter = QDateTime::currentDateTimeUtc().addSecs(3600);
    model.setFilter(filter);
    QVERIFY(loadAll());
    QCOMPARE(model.rowCount(), 0);
    filter.finishedAfter = QDateTime::currentDateTimeUtc().addSecs(-3600);
    model.setFilter(filter);
    QVERIFY(loadAll());
    QCOMPARE(model.rowCount(), 41);
    h.stop();
}

void TestUiModels::historyPrependsNewRows()
{
    Harness h;
    Scheduler &scheduler =
        h.start([](Scheduler &s) { s.registerExecutor(QStringLiteral("noop"), noopExecutor()); });
    for (int i = 0; i < 3; ++i)
        h.submit(spec(QStringLiteral("noop"), {}, QStringLiteral("profile:p:old%1").arg(i)));
    QTRY_COMPARE(h.history().size(), qsizetype(3));

    HistoryModel model(&scheduler);
    model.setPageSize(2);
    model.setRefreshDelay(10);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QTRY_VERIFY(model.atEnd()); // the tester walks the model, fetching every page
    QCOMPARE(model.rowCount(), 3);

    // Five new rows (more than a page): prepended in order, newest first, no reset.
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    QList<TaskSpec> specs;
    for (int i = 0; i < 5; ++i)
        specs.append(spec(QStringLiteral("noop"), {}, QStringLiteral("profile:p:new%1").arg(i)));
    FERRY_OK(await(scheduler.submitBatch(specs)));
    QTRY_COMPARE(model.rowCount(), 8);
    QCOMPARE(reset.size(), 0);
    QSet<qint64> ids;
    for (int row = 0; row < model.rowCount(); ++row) {
        ids.insert(model.index(row, 0).data(HistoryModel::HistoryIdRole).toLongLong());
        if (row > 0)
            QVERIFY(model.index(row - 1, 0).data(HistoryModel::HistoryIdRole).toLongLong() >
                    model.index(row, 0).data(HistoryModel::HistoryIdRole).toLongLong());
    }
    QCOMPARE(ids.size(), 8);
    QVERIFY(model.index(0, HistoryModel::LabelColumn).data().toString().contains("new"));

    // A burst bigger than kMaxRefreshPages pages: the model may start over from the newest
    // rows (then page on), but ends holding every row once, in order.
    specs.clear();
    for (int i = 0; i < 2 * HistoryModel::kMaxRefreshPages + 10; ++i)
        specs.append(spec(QStringLiteral("noop"), {}, QStringLiteral("profile:p:burst%1").arg(i)));
    FERRY_OK(await(scheduler.submitBatch(specs)));
    const int expected = 8 + int(specs.size());
    QTRY_COMPARE(model.rowCount(), expected);
    QTRY_VERIFY(model.atEnd() && !model.isLoading());
    QCOMPARE(model.rowCount(), expected);
    ids.clear();
    for (int row = 0; row < model.rowCount(); ++row) {
        ids.insert(model.index(row, 0).data(HistoryModel::HistoryIdRole).toLongLong());
        if (row > 0)
            QVERIFY(model.index(row - 1, 0).data(HistoryModel::HistoryIdRole).toLongLong() >
                    model.index(row, 0).data(HistoryModel::HistoryIdRole).toLongLong());
    }
    QCOMPARE(ids.size(), expected);
    h.stop();
}

QTEST_MAIN(TestUiModels)
#include "tst_ui_models.moc"
