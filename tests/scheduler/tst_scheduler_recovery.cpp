// Crash recovery (a real SIGKILLed child process), graceful shutdown, the data-directory
// lock and bad input.
#include "SchedulerTestSupport.h"

#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>

#include <csignal>
#include <sys/resource.h>

using namespace ferry;
using namespace ferry::test;

namespace {

/// Types every process of this suite registers; gates never open in the child.
void registerTypes(Scheduler &s, const std::shared_ptr<Probe> &probe)
{
    s.registerExecutor("gate", gateExecutor(probe));
    auto parent = std::make_shared<FunctionExecutor>(
        [](TaskContext &ctx) -> QCoro::Task<TaskResult> {
            (void)ctx.spawnBatch(listOf(spec("gate"), spec("gate")));
            co_return TaskResult{};
        },
        [probe](TaskContext &) -> QCoro::Task<TaskResult> {
            probe->custom++; // the parent's finalize
            co_return TaskResult{};
        });
    s.registerExecutor("parent", parent);
    // Its hook blocks until the gate opens: in the child it never does.
    s.registerExecutor("stuck-hook", std::make_shared<FunctionExecutor>(
                                         [](TaskContext &ctx) -> QCoro::Task<TaskResult> {
                                             (void)ctx.state().set("upload_id", "u-42");
                                             co_await untilCancelled(ctx.token());
                                             co_return std::unexpected(TaskError::cancelled());
                                         },
                                         FunctionExecutor::Step{},
                                         [probe](TaskContext &ctx) -> QCoro::Task<TaskResult> {
                                             probe->hooks++;
                                             {
                                                 QMutexLocker lock(&probe->mutex);
                                                 probe->hookState.insert(ctx.id(),
                                                                         ctx.state().values());
                                             }
                                             co_await untilCancelled(probe->gate.token());
                                             co_return TaskResult{};
                                         }));
}

/// The child: builds running, waiting and cancelling tasks, says "ready", waits for SIGKILL.
int runCrashChild(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    SchedulerOptions options;
    options.databasePath = qEnvironmentVariable("FERRY_CRASH_CHILD_DB");
    options.maxConcurrency = 8;
    Scheduler s(options);
    auto probe = std::make_shared<Probe>();
    registerTypes(s, probe);
    if (!await(s.open()))
        return 2;
    const TaskId running = FERRY_OK(await(s.submit(spec("gate", "g", "running")))).id;
    const TaskId parent = FERRY_OK(await(s.submit(spec("parent", "g", "parent")))).id;
    const TaskId cancelling = FERRY_OK(await(s.submit(spec("stuck-hook", "g", "cancelling")))).id;
    while (probe->started.load() < 3 ||
           FERRY_OK(await(s.task(parent)))->status != TaskStatus::Waiting)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
    // Wait for the state write of the stuck-hook task, then cancel it: its hook blocks.
    while (FERRY_OK(await(s.taskState(cancelling))).isEmpty())
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
    FERRY_OK(await(s.cancel(cancelling)));
    while (probe->hooks.load() < 1)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
    QTextStream(stdout) << "ready " << running << ' ' << parent << ' ' << cancelling << Qt::endl;
    return app.exec(); // until killed
}

} // namespace

class TestSchedulerRecovery : public QObject {
    Q_OBJECT

private slots:
    void killedProcessRecoversAtReopen();
    void shutdownInterruptsWithoutCancelling();
    void shutdownDrainTimeoutLeavesTasksForNextStart_data();
    void shutdownDrainTimeoutLeavesTasksForNextStart();
    void secondOpenOfDataDirectoryIsRefused();
    void lockHeldByAnotherProcessNamesItsPid();
    void badSubmissionsChangeNothing();
    void payloadMustBeAJsonObject();
    void databaseThatIsNotSqlite();
    void readOnlyDatabase();
    void databaseFromANewerVersion();
    void databaseFromVersionOneIsMigrated();
    void anotherConnectionWritingAfterAReadDoesNotBlock();
    void fullDiskStopsTheSchedulerAndLosesNothing();
};

void TestSchedulerRecovery::killedProcessRecoversAtReopen()
{
    QTemporaryDir dir;
    const QString db = dir.filePath("ferry.sqlite");
    QProcess child;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("FERRY_CRASH_CHILD", "1");
    env.insert("FERRY_CRASH_CHILD_DB", db);
    child.setProcessEnvironment(env);
    child.start(QCoreApplication::applicationFilePath(), {});
    QVERIFY(child.waitForStarted());
    QByteArray line;
    while (!line.contains('\n') && child.waitForReadyRead(30'000))
        line += child.readAllStandardOutput();
    const QList<QByteArray> words = line.trimmed().split(' ');
    QCOMPARE(words.value(0), QByteArray("ready"));
    const TaskId running = words.value(1).toLongLong();
    const TaskId parent = words.value(2).toLongLong();
    const TaskId cancelling = words.value(3).toLongLong();
    ::kill(static_cast<pid_t>(child.processId()), SIGKILL);
    QVERIFY(child.waitForFinished());
    QCOMPARE(child.exitStatus(), QProcess::CrashExit);

    Harness h;
    h.options.databasePath = db;
    auto probe = std::make_shared<Probe>();
    probe->gate.cancel(); // everything may finish now
    h.start([&](Scheduler &s) { registerTypes(s, probe); });
    // The interrupted task ran again (a crash is not a retry), the waiting parent kept
    // waiting and finalized once its children ran again, and the clean-up ran again.
    QTRY_VERIFY(h.historyOf(running).has_value());
    QCOMPARE(h.historyOf(running)->status, HistoryStatus::Completed);
    QCOMPARE(h.historyOf(running)->attempts, 0);
    QTRY_VERIFY(h.historyOf(parent).has_value());
    QCOMPARE(h.historyOf(parent)->status, HistoryStatus::Completed);
    QCOMPARE(probe->custom.load(), 1);
    QTRY_VERIFY(h.historyOf(cancelling).has_value());
    const auto row = *h.historyOf(cancelling);
    QCOMPARE(row.status, HistoryStatus::Cancelled);
    QCOMPARE(row.cleanup, CleanupOutcome::Ok);
    QCOMPARE(row.reason, CancelReason::User);
    QCOMPARE(probe->hooks.load(), 1);
    QMutexLocker lock(&probe->mutex);
    QCOMPARE(probe->hookState.value(cancelling).value("upload_id"), QStringLiteral("u-42"));
}

void TestSchedulerRecovery::shutdownInterruptsWithoutCancelling()
{
    Harness h;
    auto probe = std::make_shared<Probe>();
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("gate", gateExecutor(probe)); });
    const TaskId id = h.submit(spec("gate"));
    QTRY_COMPARE(probe->started.load(), 1);
    h.stop();
    Q_UNUSED(s);
    QCOMPARE(probe->tokenSeen.load(), 1);
    QCOMPARE(probe->hooks.load(), 0); // shutdown is not cancel: no hook

    auto probe2 = std::make_shared<Probe>();
    probe2->gate.cancel();
    h.start([&](Scheduler &s) { s.registerExecutor("gate", gateExecutor(probe2)); });
    QTRY_VERIFY(h.historyOf(id).has_value());
    QCOMPARE(h.historyOf(id)->status, HistoryStatus::Completed);
    QCOMPARE(probe2->started.load(), 1);
    QCOMPARE(h.history().size(), 1);
}

void TestSchedulerRecovery::shutdownDrainTimeoutLeavesTasksForNextStart_data()
{
    QTest::addColumn<RunOn>("runOn");
    QTest::newRow("own thread") << RunOn::OwnThread;
    // The scheduler is gone while the run still holds its shared loop: the loop keeps serving
    // it, then stops and frees itself (the sanitizer builds check that nothing is left).
    QTest::newRow("shared loop") << RunOn::SharedLoop;
}

void TestSchedulerRecovery::shutdownDrainTimeoutLeavesTasksForNextStart()
{
    QFETCH(RunOn, runOn);
    ExecutorOptions options;
    options.runOn = runOn;
    Harness h;
    auto probe = std::make_shared<Probe>();
    auto stubborn = stubbornExecutor(probe);
    h.start([&](Scheduler &s) { s.registerExecutor("stubborn", stubborn, options); });
    const TaskId id = h.submit(spec("stubborn"));
    QTRY_COMPARE(probe->started.load(), 1);
    h.stop(50);
    QCOMPARE(probe->finished.load(), 0);
    probe->gate.cancel();
    QTRY_COMPARE(probe->finished.load(), 1);

    auto probe2 = std::make_shared<Probe>();
    h.start([&](Scheduler &s) { s.registerExecutor("stubborn", noopExecutor(probe2), options); });
    QTRY_VERIFY(h.historyOf(id).has_value());
    QCOMPARE(h.historyOf(id)->status, HistoryStatus::Completed);
    QCOMPARE(probe2->started.load(), 1);
}

void TestSchedulerRecovery::secondOpenOfDataDirectoryIsRefused()
{
    Harness h;
    h.start([&](Scheduler &s) { s.registerExecutor("noop", noopExecutor()); });
    Scheduler second(h.options);
    const auto opened = await(second.open());
    QVERIFY(!opened);
    QCOMPARE(opened.error().code, SchedulerError::Code::Locked);
    QVERIFY2(opened.error().message.contains(QString::number(QCoreApplication::applicationPid())),
             qPrintable(opened.error().message));
    QVERIFY(opened.error().message.contains("--data-dir"));
}

void TestSchedulerRecovery::lockHeldByAnotherProcessNamesItsPid()
{
    QTemporaryDir dir;
    const QString db = dir.filePath("ferry.sqlite");
    QProcess child;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("FERRY_CRASH_CHILD", "1");
    env.insert("FERRY_CRASH_CHILD_DB", db);
    child.setProcessEnvironment(env);
    child.start(QCoreApplication::applicationFilePath(), {});
    QByteArray line;
    while (!line.contains('\n') && child.waitForReadyRead(30'000))
        line += child.readAllStandardOutput();
    QVERIFY(line.startsWith("ready"));
    SchedulerOptions options;
    options.databasePath = db;
    {
        Scheduler second(options);
        const auto opened = await(second.open());
        QVERIFY(!opened);
        QVERIFY2(opened.error().message.contains(QString::number(child.processId())),
                 qPrintable(opened.error().message));
    }
    ::kill(static_cast<pid_t>(child.processId()), SIGKILL);
    QVERIFY(child.waitForFinished());
    // The dead owner's lock is stale: the next open takes it over.
    Scheduler third(options);
    QVERIFY(await(third.open()).has_value());
}

void TestSchedulerRecovery::badSubmissionsChangeNothing()
{
    Harness h;
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("noop", noopExecutor()); });
    auto expectError = [&](TaskSpec t, const char *needle) {
        const auto result = await(s.submit(t));
        QVERIFY(!result);
        QCOMPARE(result.error().code, SchedulerError::Code::InvalidArgument);
        QVERIFY2(result.error().message.contains(QLatin1String(needle)),
                 qPrintable(result.error().message));
    };
    expectError(spec(""), "type is empty");
    expectError(spec("nope"), "unknown task type \"nope\"");
    TaskSpec tooUrgent = spec("noop");
    tooUrgent.priority = -1;
    expectError(tooUrgent, "out of range");
    TaskSpec tooLazy = spec("noop");
    tooLazy.priority = 256;
    expectError(tooLazy, "out of range");
    TaskSpec orphan = spec("noop");
    orphan.parentId = 9999;
    expectError(orphan, "parent task 9999 does not exist");
    // A bad member refuses the whole batch: nothing is stored.
    const auto batch = await(s.submitBatch({spec("noop"), spec("nope")}));
    QVERIFY(!batch);
    QVERIFY(batch.error().message.contains("task 2 of the batch"));
    QCOMPARE(FERRY_OK(await(s.activeTasks())).size(), 0);
    QCOMPARE(h.history().size(), 0);
}

void TestSchedulerRecovery::payloadMustBeAJsonObject()
{
    QVERIFY(TaskSpec::parsePayload(R"({"a": 1})").has_value());
    QVERIFY(TaskSpec::parsePayload("").has_value());
    const auto array = TaskSpec::parsePayload("[1,2]");
    QVERIFY(!array);
    QVERIFY(array.error().message.contains("must be a JSON object, not an array"));
    const auto broken = TaskSpec::parsePayload("{\"a\":");
    QVERIFY(!broken);
    QVERIFY(broken.error().message.contains("not valid JSON"));
}

void TestSchedulerRecovery::databaseThatIsNotSqlite()
{
    QTemporaryDir dir;
    SchedulerOptions options;
    options.databasePath = dir.filePath("ferry.sqlite");
    QFile file(options.databasePath);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray(8192, 'x'));
    file.close();
    Scheduler s(options);
    const auto opened = await(s.open());
    QVERIFY(!opened);
    QVERIFY2(opened.error().message.contains("not a usable SQLite database"),
             qPrintable(opened.error().message));
    QFile check(options.databasePath);
    QVERIFY(check.open(QIODevice::ReadOnly));
    QCOMPARE(check.readAll(), QByteArray(8192, 'x')); // untouched
}

void TestSchedulerRecovery::readOnlyDatabase()
{
    Harness h;
    h.start([&](Scheduler &s) { s.registerExecutor("noop", noopExecutor()); });
    h.stop();
    QFile::setPermissions(h.options.databasePath, QFileDevice::ReadOwner);
    Scheduler s(h.options);
    const auto opened = await(s.open());
    QFile::setPermissions(h.options.databasePath, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    if (opened) {
        // root ignores file modes: then the store must still be fully usable.
        QVERIFY(::geteuid() == 0);
        return;
    }
    QVERIFY2(opened.error().message.contains("read-only"), qPrintable(opened.error().message));
}

void TestSchedulerRecovery::databaseFromANewerVersion()
{
    QTemporaryDir dir;
    SchedulerOptions options;
    options.databasePath = dir.filePath("ferry.sqlite");
    {
        QSqlDatabase db = QSqlDatabase::addDatabase("QSQLITE", "newer");
        db.setDatabaseName(options.databasePath);
        QVERIFY(db.open());
        QSqlQuery(db).exec("PRAGMA user_version = 99");
        db.close();
    }
    QSqlDatabase::removeDatabase("newer");
    Scheduler s(options);
    const auto opened = await(s.open());
    QVERIFY(!opened);
    QVERIFY2(opened.error().message.contains("schema version 99, newer than this Ferry knows"),
             qPrintable(opened.error().message));
}

void TestSchedulerRecovery::databaseFromVersionOneIsMigrated()
{
    // A file written by the first release: version 1, without the history status index.
    const auto failing =
        std::make_shared<FunctionExecutor>([](TaskContext &) -> QCoro::Task<TaskResult> {
            co_return std::unexpected(TaskError::permanent("broken on purpose"));
        });
    const auto registerAll = [&](Scheduler &s) {
        s.registerExecutor("noop", noopExecutor());
        s.registerExecutor("failing", failing);
    };
    Harness h;
    h.start(registerAll);
    TaskSpec done;
    done.type = "noop";
    done.group = "g";
    const TaskId completed = h.submit(done);
    TaskSpec broken = done;
    broken.type = "failing";
    const TaskId failed = h.submit(broken);
    QTRY_VERIFY(h.historyOf(completed).has_value() && h.historyOf(failed).has_value());
    TaskSpec later = done;
    later.group = "held";
    (void)await(h.scheduler->pauseGroup("held"));
    const TaskId pending = h.submit(later);
    h.stop();
    auto indexes = [&] {
        QStringList names;
        QSqlDatabase db = QSqlDatabase::addDatabase("QSQLITE", "v1");
        db.setDatabaseName(h.options.databasePath);
        if (db.open()) {
            QSqlQuery q(db);
            q.exec("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'history'");
            while (q.next())
                names.append(q.value(0).toString());
            q.exec("PRAGMA user_version");
            names.append(q.next() ? "version " + q.value(0).toString() : "no version");
        }
        db.close();
        return names;
    };
    {
        QSqlDatabase db = QSqlDatabase::addDatabase("QSQLITE", "v1");
        db.setDatabaseName(h.options.databasePath);
        QVERIFY(db.open());
        QVERIFY(QSqlQuery(db).exec("DROP INDEX history_status"));
        QVERIFY(QSqlQuery(db).exec("PRAGMA user_version = 1"));
        db.close();
    }
    QSqlDatabase::removeDatabase("v1");
    QVERIFY(!indexes().contains("history_status"));
    QSqlDatabase::removeDatabase("v1");

    h.start(registerAll);
    // Everything is still there, and the filter the index serves answers.
    HistoryQuery failures;
    failures.status = HistoryStatus::Failed;
    const auto rows = h.history(failures);
    QCOMPARE(rows.size(), 1);
    QCOMPARE(rows.first().taskId, failed);
    QCOMPARE(h.historyOf(completed)->status, HistoryStatus::Completed);
    QVERIFY(h.isActive(pending));
    (void)await(h.scheduler->resumeGroup("held"));
    QTRY_VERIFY(h.historyOf(pending).has_value());
    h.stop();
    const QStringList after = indexes();
    QSqlDatabase::removeDatabase("v1");
    QVERIFY2(after.contains("history_status"), qPrintable(after.join(", ")));
    QVERIFY2(after.contains("version 2"), qPrintable(after.join(", ")));
}

void TestSchedulerRecovery::anotherConnectionWritingAfterAReadDoesNotBlock()
{
    // The app keeps its own tables in the scheduler's file and writes from its own
    // connection. A read of the scheduler's (stats) followed by such a write must not make
    // the scheduler's next transaction fail with "database is locked".
    Harness h;
    auto &s = h.start([&](Scheduler &s) { s.registerExecutor("noop", noopExecutor()); });
    QTest::failOnWarning(QRegularExpression("locked"));
    QSqlDatabase db = QSqlDatabase::addDatabase("QSQLITE", "app");
    db.setDatabaseName(h.options.databasePath);
    QVERIFY(db.open());
    QVERIFY(QSqlQuery(db).exec("CREATE TABLE app_side (x INTEGER)"));
    for (int round = 0; round < 3; ++round) {
        QVERIFY(await(s.stats()).has_value());
        QVERIFY(QSqlQuery(db).exec("INSERT INTO app_side (x) VALUES (1)"));
        const auto submitted = await(s.submit(spec("noop", "g", QStringLiteral("k%1").arg(round))));
        QVERIFY2(submitted.has_value(),
                 qPrintable(submitted ? QString() : submitted.error().message));
    }
    db.close();
    db = QSqlDatabase();
    QSqlDatabase::removeDatabase("app");
}

void TestSchedulerRecovery::fullDiskStopsTheSchedulerAndLosesNothing()
{
    // A file size limit makes every write past it fail with EFBIG, as a full disk would.
    Harness h(1);
    auto probe = std::make_shared<Probe>();
    // Each task fails with a 4 KB error: its history row outgrows the task row it replaces.
    const auto failing =
        std::make_shared<FunctionExecutor>([](TaskContext &) -> QCoro::Task<TaskResult> {
            co_return std::unexpected(TaskError::permanent(QString(4000, QLatin1Char('e'))));
        });
    auto &s = h.start([&](Scheduler &s) {
        s.registerExecutor("gate", gateExecutor(probe));
        s.registerExecutor("noop", failing);
    });
    QSignalSpy failed(&s, &Scheduler::storageFailed);
    const TaskId holder = h.submit(spec("gate", "g", "holder"));
    QTRY_COMPARE(probe->started.load(), 1);
    QList<TaskSpec> specs;
    for (int i = 0; i < 3000; ++i) {
        specs.append(spec("noop", "g", QStringLiteral("k%1").arg(i)));
    }
    QVERIFY(await(s.submitBatch(specs)).has_value());

    const auto sizeOf = [&](const QString &suffix) {
        return QFileInfo(h.options.databasePath + suffix).size();
    };
    const qint64 limit = std::max(sizeOf(""), sizeOf("-wal")) + 128 * 1024;
    rlimit previous{};
    QCOMPARE(::getrlimit(RLIMIT_FSIZE, &previous), 0);
    const auto oldHandler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit tight = previous;
    tight.rlim_cur = rlim_t(limit);
    QCOMPARE(::setrlimit(RLIMIT_FSIZE, &tight), 0);
    probe->gate.cancel(); // the holder ends; each completion now writes history
    const bool stopped = failed.wait(60'000);
    ::setrlimit(RLIMIT_FSIZE, &previous);
    std::signal(SIGXFSZ, oldHandler);
    QVERIFY2(stopped, "the scheduler never reported the failed write");
    const QString message = failed.first().first().toString();
    QVERIFY2(message.contains(h.options.databasePath) && message.contains("free disk space"),
             qPrintable(message));
    QVERIFY(!s.isOpen());
    h.stop();

    // The file is as the last commit left it: every task is either in history or active.
    Harness again(4);
    again.options.databasePath = h.options.databasePath;
    auto &reopened = again.start([&](Scheduler &s) {
        s.registerExecutor("gate", gateExecutor(probe));
        s.registerExecutor("noop", failing);
    });
    const auto stats = FERRY_OK(await(reopened.stats()));
    QCOMPARE(stats.pending + stats.running + stats.history, qint64(3001));
    QVERIFY(stats.history < 3001); // the failure came before the end
    QTRY_COMPARE_WITH_TIMEOUT(FERRY_OK(await(reopened.stats())).history, qint64(3001), 60'000);
    QSet<TaskId> ids;
    for (const auto &row : again.history())
        ids.insert(row.taskId);
    QCOMPARE(ids.size(), 3001);
    QVERIFY(ids.contains(holder));
}

int main(int argc, char *argv[])
{
    if (qEnvironmentVariableIsSet("FERRY_CRASH_CHILD"))
        return runCrashChild(argc, argv);
    QCoreApplication app(argc, argv);
    TestSchedulerRecovery suite;
    return QTest::qExec(&suite, argc, argv);
}

#include "tst_scheduler_recovery.moc"
