// Scheduler benchmark: prints one JSON object with every figure the issues ask for.
// Each phase runs in a child process of its own, so one phase's memory or threads do not
// colour the next. Run: build/tests/bench/scheduler_bench [--quick]
#include "scheduler/CancellationAwait.h"
#include "scheduler/FunctionExecutor.h"
#include "scheduler/Scheduler.h"
#include "scheduler/TaskStore.h"

#include <QCoro/QCoroSignal>

#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMutex>
#include <QProcess>
#include <QSemaphore>
#include <QTemporaryDir>
#include <QTextStream>
#include <QThread>

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <vector>

using namespace ferry;

namespace {

bool quick = false;

template <typename T> T await(QFuture<T> future)
{
    future.waitForFinished();
    return future.result();
}
void await(QFuture<void> future)
{
    future.waitForFinished();
}

qint64 residentBytes()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong() * 1024;
    }
    return -1;
}

qint64 nowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::shared_ptr<TaskExecutor> noopExecutor()
{
    return std::make_shared<FunctionExecutor>(
        [](TaskContext &) -> QCoro::Task<TaskResult> { co_return TaskResult{}; });
}

TaskSpec makeSpec(const QString &type, const QString &group, qint64 i)
{
    TaskSpec spec;
    spec.type = type;
    spec.group = group;
    spec.label = QStringLiteral("file-%1.bin").arg(i);
    spec.dedupKey = QStringLiteral("profile:bench:%1:%2").arg(group).arg(i);
    return spec;
}

/// A scheduler on a temporary file whose only slot is held by a task that never ends
/// (until shutdown), so submitted tasks stay pending.
struct BlockedScheduler {
    QTemporaryDir dir;
    std::unique_ptr<Scheduler> scheduler;

    explicit BlockedScheduler(int concurrency = 1, int hookConcurrency = 4)
    {
        SchedulerOptions options;
        options.databasePath = dir.filePath(QStringLiteral("bench.sqlite"));
        options.maxConcurrency = concurrency;
        options.hookConcurrency = hookConcurrency;
        scheduler = std::make_unique<Scheduler>(options);
    }
    void blockWithHolder()
    {
        scheduler->registerExecutor(
            QStringLiteral("hold"),
            std::make_shared<FunctionExecutor>([](TaskContext &ctx) -> QCoro::Task<TaskResult> {
                co_await untilCancelled(ctx.token());
                co_return ctx.checkCancelled();
            }));
    }
};

// The plain prepared INSERT loop the issue compares batch submits with. `withTaskIndexes`
// adds the three indexes a pending task row updates in Ferry's schema (pick order, unique
// dedup key, group), to tell the cost of those indexes from the cost of Ferry's own code.
QJsonObject phaseRawInsert(bool withTaskIndexes)
{
    QTemporaryDir dir;
    sqlite3 *db = nullptr;
    sqlite3_open(dir.filePath(QStringLiteral("raw.sqlite")).toUtf8().constData(), &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", nullptr, nullptr,
                 nullptr);
    sqlite3_exec(db,
                 "CREATE TABLE t (id INTEGER PRIMARY KEY, type TEXT, grp TEXT, dedup_key TEXT, "
                 "label TEXT, priority INTEGER, payload TEXT, status INTEGER, created_at INTEGER)",
                 nullptr, nullptr, nullptr);
    if (withTaskIndexes)
        sqlite3_exec(db,
                     "CREATE INDEX t_pick ON t(priority, id) WHERE status = 0;"
                     "CREATE UNIQUE INDEX t_dedup ON t(dedup_key)"
                     " WHERE dedup_key IS NOT NULL AND status <> 4;"
                     "CREATE INDEX t_group ON t(grp, status);",
                     nullptr, nullptr, nullptr);
    sqlite3_stmt *insert = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?)", -1, &insert, nullptr);
    const int rows = quick ? 50'000 : 500'000;
    QElapsedTimer timer;
    timer.start();
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (int i = 1; i <= rows; ++i) {
        const QByteArray key = QStringLiteral("profile:bench:g:%1").arg(i).toUtf8();
        const QByteArray label = QStringLiteral("file-%1.bin").arg(i).toUtf8();
        sqlite3_bind_int64(insert, 1, i);
        sqlite3_bind_text(insert, 2, "noop", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 3, "g", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 4, key.constData(), int(key.size()), SQLITE_TRANSIENT);
        sqlite3_bind_text(insert, 5, label.constData(), int(label.size()), SQLITE_TRANSIENT);
        sqlite3_bind_int(insert, 6, 128);
        sqlite3_bind_text(insert, 7, "{}", -1, SQLITE_STATIC);
        sqlite3_bind_int(insert, 8, 0);
        sqlite3_bind_int64(insert, 9, QDateTime::currentMSecsSinceEpoch());
        sqlite3_step(insert);
        sqlite3_reset(insert);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    const double seconds = timer.nsecsElapsed() / 1e9;
    sqlite3_finalize(insert);
    sqlite3_close(db);
    const QString prefix = withTaskIndexes ? QStringLiteral("raw_indexed") : QStringLiteral("raw");
    return {{prefix + "_sqlite_insert_per_s", rows / seconds}, {prefix + "_sqlite_rows", rows}};
}

/// Milliseconds a FULL checkpoint on a second connection takes: the log copying left over.
double checkpointNow(const QString &path)
{
    sqlite3 *db = nullptr;
    sqlite3_open(path.toUtf8().constData(), &db);
    sqlite3_busy_timeout(db, 5000);
    // A first read opens the log: until then the connection does not know it is in WAL mode.
    sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
    QElapsedTimer timer;
    timer.start();
    // FULL copies every page. BUSY: the scheduler's own checkpoint is running (the last
    // commits started it); the time then includes the wait for it, and the copy that follows
    // finds what it left.
    while (sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_FULL, nullptr, nullptr) ==
           SQLITE_BUSY)
        sqlite3_sleep(1);
    const double ms = timer.nsecsElapsed() / 1e6;
    sqlite3_close(db);
    return ms;
}

QJsonObject phaseSubmit()
{
    BlockedScheduler b;
    b.blockWithHolder();
    b.scheduler->registerExecutor(QStringLiteral("noop"), noopExecutor());
    (void)await(b.scheduler->open());
    (void)await(b.scheduler->submit(makeSpec("hold", "hold", 0)));

    const int singles = quick ? 2'000 : 10'000;
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < singles; ++i)
        (void)await(b.scheduler->submit(makeSpec("noop", "single", i)));
    const double singleRate = singles / (timer.nsecsElapsed() / 1e9);

    const int batches = quick ? 5 : 20;
    const int batchSize = 10'000;
    QList<QList<TaskSpec>> prepared;
    for (int b2 = 0; b2 < batches; ++b2) {
        QList<TaskSpec> batch;
        batch.reserve(batchSize);
        for (int i = 0; i < batchSize; ++i)
            batch.append(makeSpec("noop", "batch", qint64(b2) * batchSize + i));
        prepared.append(batch);
    }
    timer.restart();
    for (auto &batch : prepared)
        (void)await(b.scheduler->submitBatch(std::move(batch)));
    const double batchSeconds = timer.nsecsElapsed() / 1e9;
    // The scheduler copies the write-ahead log into the file on a thread of its own, while
    // writes go on and once they pause: what is left of that work when the burst returns,
    // done at once on a second connection.
    const double checkpointMs = checkpointNow(b.dir.filePath(QStringLiteral("bench.sqlite")));
    await(b.scheduler->shutdown(1000));
    const double submitted = double(batches) * batchSize;
    return {
        {"single_submit_per_s", singleRate},
        {"batch_submit_per_s", submitted / batchSeconds},
        {"batch_size", batchSize},
        {"batch_submitted", batches * batchSize},
        {"deferred_checkpoint_ms", checkpointMs},
        {"batch_submit_with_checkpoint_per_s", submitted / (batchSeconds + checkpointMs / 1e3)}};
}

QJsonObject phasePick()
{
    QTemporaryDir dir;
    TaskStore store;
    (void)store.open(dir.filePath(QStringLiteral("pick.sqlite")));
    const QStringList types = {QStringLiteral("noop")};
    QJsonObject picks;
    qint64 filled = 0;
    const QList<qint64> sizes =
        quick ? QList<qint64>{1'000, 100'000} : QList<qint64>{1'000, 100'000, 1'000'000};
    for (qint64 target : sizes) {
        while (filled < target) {
            Transaction tx(store);
            const qint64 until = std::min(target, filled + 50'000);
            for (; filled < until; ++filled) {
                TaskSpec spec = makeSpec("noop", "g", filled);
                spec.priority = int(filled % 256);
                store.insertTask(spec, filled + 1, TaskStatus::Pending, 0);
            }
            tx.commit();
        }
        const int rounds = 2'000;
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        QElapsedTimer timer;
        timer.start();
        for (int i = 0; i < rounds; ++i)
            (void)store.pickPending(now, 4, types, {}, {});
        picks.insert(QString::number(target), timer.nsecsElapsed() / 1e3 / rounds);
    }
    const double first = picks.value("1000").toDouble();
    const double last = picks.value(QString::number(sizes.last())).toDouble();
    return {{"pick_us_by_pending", picks}, {"pick_ratio_largest_to_1k", last / first}};
}

QJsonObject phaseRss()
{
    const qint64 tasks = quick ? 100'000 : 1'000'000;
    BlockedScheduler b;
    b.blockWithHolder();
    b.scheduler->registerExecutor(QStringLiteral("noop"), noopExecutor());
    (void)await(b.scheduler->open());
    (void)await(b.scheduler->submit(makeSpec("hold", "hold", 0)));
    // Warm the statement caches and allocator with one batch before the baseline.
    QList<TaskSpec> warm;
    for (int i = 0; i < 50'000; ++i)
        warm.append(makeSpec("noop", "warm", i));
    (void)await(b.scheduler->submitBatch(warm));
    warm.clear();
    const qint64 before = residentBytes();
    for (qint64 done = 0; done < tasks; done += 50'000) {
        QList<TaskSpec> batch;
        batch.reserve(50'000);
        for (qint64 i = done; i < done + 50'000; ++i)
            batch.append(makeSpec("noop", "g", i));
        (void)await(b.scheduler->submitBatch(std::move(batch)));
    }
    const qint64 after = residentBytes();
    const auto stats = await(b.scheduler->stats());
    await(b.scheduler->shutdown(1000));
    return {{"rss_pending_tasks", stats ? double(stats->pending) : -1.0},
            {"rss_before_bytes", before},
            {"rss_after_bytes", after},
            {"rss_bytes_per_pending_task", double(after - before) / tasks},
            {"rss_total_bytes_per_pending_task", double(after) / tasks}};
}

QJsonObject phaseDispatch()
{
    const int tasks = quick ? 20'000 : 100'000;
    QTemporaryDir dir;
    SchedulerOptions options;
    options.databasePath = dir.filePath(QStringLiteral("dispatch.sqlite"));
    options.maxConcurrency =
        qEnvironmentVariableIsSet("WORKERS") ? qEnvironmentVariableIntValue("WORKERS") : 32;
    Scheduler scheduler(options);
    scheduler.registerExecutor(QStringLiteral("noop"), noopExecutor());
    std::atomic<int> completed{0};
    QSemaphore allDone;
    QObject::connect(
        &scheduler, &Scheduler::taskCompleted, &scheduler,
        [&](TaskId) {
            if (++completed == tasks)
                allDone.release();
        },
        Qt::DirectConnection);
    (void)await(scheduler.open());
    (void)await(scheduler.pauseGroup(QStringLiteral("g")));
    for (int done = 0; done < tasks; done += 10'000) {
        QList<TaskSpec> batch;
        for (int i = done; i < std::min(tasks, done + 10'000); ++i) {
            TaskSpec spec;
            spec.type = QStringLiteral("noop");
            spec.group = QStringLiteral("g");
            batch.append(spec);
        }
        (void)await(scheduler.submitBatch(std::move(batch)));
    }
    QElapsedTimer timer;
    timer.start();
    (void)await(scheduler.resumeGroup(QStringLiteral("g")));
    allDone.acquire();
    const double seconds = timer.nsecsElapsed() / 1e9;
    const auto stats = await(scheduler.stats());
    await(scheduler.shutdown(1000));
    return {{"dispatch_complete_per_s", tasks / seconds},
            {"dispatch_tasks", tasks},
            {"dispatch_history_rows", stats ? double(stats->history) : -1.0},
            {"dispatch_workers", options.maxConcurrency}};
}

QJsonObject phaseCancelGroup()
{
    QJsonObject byCount;
    const QList<int> sizes = quick ? QList<int>{1'000, 10'000} : QList<int>{1'000, 10'000, 100'000};
    for (int count : sizes) {
        BlockedScheduler b;
        b.blockWithHolder();
        b.scheduler->registerExecutor(QStringLiteral("noop"), noopExecutor());
        (void)await(b.scheduler->open());
        (void)await(b.scheduler->submit(makeSpec("hold", "hold", 0)));
        for (int done = 0; done < count; done += 50'000) {
            QList<TaskSpec> batch;
            for (int i = done; i < std::min(count, done + 50'000); ++i)
                batch.append(makeSpec("noop", "s3://play.min.io", i));
            (void)await(b.scheduler->submitBatch(std::move(batch)));
        }
        const qint64 transactionsBefore = await(b.scheduler->stats())->transactions;
        QElapsedTimer timer;
        timer.start();
        const auto result = await(b.scheduler->cancelGroup(QStringLiteral("s3://play.min.io")));
        const double ms = timer.nsecsElapsed() / 1e6;
        const qint64 transactions = await(b.scheduler->stats())->transactions - transactionsBefore;
        byCount.insert(QString::number(count),
                       QJsonObject{{"ms", ms},
                                   {"cancelled", result ? double(result->size()) : -1.0},
                                   {"transactions", transactions}});
        await(b.scheduler->shutdown(1000));
    }
    return {{"cancel_group", byCount}};
}

struct TokenRound {
    double p50Ms = 0, p99Ms = 0, maxMs = 0, hooksMs = 0, callMs = 0;
    int cancelled = 0;
};

// 1,000 executors waiting on their tokens, all cancelled by one cancelGroup: when each one's
// token callback ran on its own thread, and when the last clean-up hook finished.
TokenRound tokenRound(RunOn runOn)
{
    const int running = 1'000;
    QTemporaryDir dir;
    SchedulerOptions options;
    options.databasePath = dir.filePath(QStringLiteral("token.sqlite"));
    options.maxConcurrency = running;
    Scheduler scheduler(options);
    std::vector<std::atomic<qint64>> observed(running);

    std::atomic<int> started{0};
    std::atomic<int> observedCount{0};
    std::atomic<int> hooks{0};
    std::atomic<qint64> lastHookNs{0};
    QSemaphore allStarted, allObserved, allHooks;
    auto executor = std::make_shared<FunctionExecutor>(
        [&](TaskContext &ctx) -> QCoro::Task<TaskResult> {
            const int slot = ctx.payload().value("slot").toInt();
            // The executor's one callback, as an executor aborting its reply would have.
            CancellationNotifier notifier;
            auto registration = ctx.onCancelled(&notifier, [&, slot] {
                observed[slot].store(nowNs());
                // One release at the end: a release per callback would wake this
                // benchmark's main thread 1,000 times while it measures.
                if (++observedCount == running)
                    allObserved.release();
                emit notifier.fired();
            });
            if (++started == running)
                allStarted.release();
            // Callbacks are always queued, so this suspends before the callback can emit.
            co_await qCoro(&notifier, &CancellationNotifier::fired);
            co_return ctx.checkCancelled();
        },
        FunctionExecutor::Step{},
        [&](TaskContext &) -> QCoro::Task<TaskResult> {
            lastHookNs.store(nowNs());
            if (++hooks == running)
                allHooks.release();
            co_return TaskResult{};
        });
    ExecutorOptions executorOptions;
    executorOptions.runOn = runOn;
    scheduler.registerExecutor(QStringLiteral("wait"), executor, executorOptions);
    (void)await(scheduler.open());
    QList<TaskSpec> batch;
    for (int i = 0; i < running; ++i) {
        TaskSpec spec;
        spec.type = QStringLiteral("wait");
        spec.group = QStringLiteral("g");
        spec.payload = QJsonObject{{"slot", i}};
        batch.append(spec);
    }
    (void)await(scheduler.submitBatch(batch));
    allStarted.acquire();
    std::atomic<qint64> t0{nowNs()};
    const auto result = await(scheduler.cancelGroup(QStringLiteral("g")));
    const qint64 callNs = nowNs() - t0;
    allObserved.acquire();
    allHooks.acquire();
    std::vector<double> latencies;
    for (const auto &value : observed)
        latencies.push_back((value.load() - t0.load()) / 1e6);
    std::sort(latencies.begin(), latencies.end());
    const double hooksMs = (lastHookNs.load() - t0.load()) / 1e6;
    await(scheduler.shutdown(1000));
    return {latencies[latencies.size() / 2],
            latencies[latencies.size() * 99 / 100],
            latencies.back(),
            hooksMs,
            callNs / 1e6,
            result ? int(result->size()) : -1};
}

// tokenRound, 5 times, for both places a run can take (its own pool thread, or the shared
// event loops). A round's figures swing with where the kernel puts the woken threads, so the
// median round counts and the worst is shown beside it.
QJsonObject phaseToken(RunOn runOn)
{
    const int rounds = quick ? 2 : 5;
    std::vector<TokenRound> all;
    for (int i = 0; i < rounds; ++i)
        all.push_back(tokenRound(runOn));
    const auto median = [&](double TokenRound::*field) {
        std::vector<double> values;
        for (const auto &round : all)
            values.push_back(round.*field);
        std::sort(values.begin(), values.end());
        return values[values.size() / 2];
    };
    const auto worst = [&](double TokenRound::*field) {
        double value = 0;
        for (const auto &round : all)
            value = std::max(value, round.*field);
        return value;
    };
    QJsonArray p99s;
    for (const auto &round : all)
        p99s.append(round.p99Ms);
    const QString prefix =
        runOn == RunOn::SharedLoop ? QStringLiteral("shared_loop_") : QStringLiteral("own_thread_");
    return {{prefix + "running_executors", 1000},
            {prefix + "rounds", rounds},
            {prefix + "cancelled", all.front().cancelled},
            {prefix + "cancel_call_ms", median(&TokenRound::callMs)},
            {prefix + "token_observed_p50_ms", median(&TokenRound::p50Ms)},
            {prefix + "token_observed_p99_ms", median(&TokenRound::p99Ms)},
            {prefix + "token_observed_p99_ms_by_round", p99s},
            {prefix + "token_observed_p99_ms_worst_round", worst(&TokenRound::p99Ms)},
            {prefix + "token_observed_max_ms", median(&TokenRound::maxMs)},
            {prefix + "hooks_1000_done_ms", median(&TokenRound::hooksMs)},
            {prefix + "hooks_1000_done_ms_worst_round", worst(&TokenRound::hooksMs)}};
}

int runPhase(const QString &phase)
{
    QJsonObject out;
    if (phase == "raw")
        out = phaseRawInsert(false);
    else if (phase == "raw_indexed")
        out = phaseRawInsert(true);
    else if (phase == "submit")
        out = phaseSubmit();
    else if (phase == "pick")
        out = phasePick();
    else if (phase == "rss")
        out = phaseRss();
    else if (phase == "dispatch")
        out = phaseDispatch();
    else if (phase == "cancel")
        out = phaseCancelGroup();
    else if (phase == "token")
        out = phaseToken(RunOn::OwnThread);
    else if (phase == "token_shared")
        out = phaseToken(RunOn::SharedLoop);
    else
        return 2;
    QTextStream(stdout) << QJsonDocument(out).toJson(QJsonDocument::Compact) << Qt::endl;
    return 0;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QStringList args = app.arguments();
    quick = args.contains(QStringLiteral("--quick"));
    if (const auto at = args.indexOf(QStringLiteral("--phase")); at > 0 && at + 1 < args.size())
        return runPhase(args.at(at + 1));

    QJsonObject all;
    all.insert("machine_cores", QThread::idealThreadCount());
    const auto runChild = [&](const QString &phase) {
        QProcess child;
        QStringList childArgs = {QStringLiteral("--phase"), phase};
        if (quick)
            childArgs << QStringLiteral("--quick");
        child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        child.start(app.applicationFilePath(), childArgs);
        child.waitForFinished(-1);
        const QJsonObject part = QJsonDocument::fromJson(child.readAllStandardOutput()).object();
        if (child.exitCode() != 0 || part.isEmpty())
            all.insert(phase + "_error",
                       QStringLiteral("phase exited with %1").arg(child.exitCode()));
        return part;
    };
    // The raw insert rate and the batch submit rate swing by a third, and sometimes by half,
    // within a minute on this machine: each of 5 rounds runs the raw loop right before and
    // right after the submit phase and divides by the mean of the two; the ratio is the
    // median round, not a quotient of figures taken minutes apart.
    std::vector<double> raws, indexedRaws, batches, ratios, indexedRatios, withCheckpointRatios;
    QJsonArray ratioByRound, indexedRatioByRound;
    QJsonObject lastSubmit;
    for (int round = 0; round < 5; ++round) {
        const QJsonObject indexed = runChild(QStringLiteral("raw_indexed"));
        const QJsonObject rawBefore = runChild(QStringLiteral("raw"));
        lastSubmit = runChild(QStringLiteral("submit"));
        const QJsonObject rawAfter = runChild(QStringLiteral("raw"));
        const double rawRate = (rawBefore.value("raw_sqlite_insert_per_s").toDouble() +
                                rawAfter.value("raw_sqlite_insert_per_s").toDouble()) /
                               2;
        const double indexedRate = indexed.value("raw_indexed_sqlite_insert_per_s").toDouble();
        const double batchRate = lastSubmit.value("batch_submit_per_s").toDouble();
        raws.push_back(rawRate);
        indexedRaws.push_back(indexedRate);
        batches.push_back(batchRate);
        ratios.push_back(rawRate > 0 ? batchRate / rawRate : 0.0);
        withCheckpointRatios.push_back(
            rawRate > 0
                ? lastSubmit.value("batch_submit_with_checkpoint_per_s").toDouble() / rawRate
                : 0.0);
        indexedRatios.push_back(indexedRate > 0 ? batchRate / indexedRate : 0.0);
        ratioByRound.append(ratios.back());
        indexedRatioByRound.append(indexedRatios.back());
        all.insert("raw_sqlite_rows", rawBefore.value("raw_sqlite_rows"));
    }
    const auto median = [](std::vector<double> values) {
        std::sort(values.begin(), values.end());
        return values[values.size() / 2];
    };
    for (auto it = lastSubmit.begin(); it != lastSubmit.end(); ++it)
        all.insert(it.key(), it.value());
    all.insert("raw_sqlite_insert_per_s", median(raws));
    all.insert("raw_indexed_sqlite_insert_per_s", median(indexedRaws));
    all.insert("batch_submit_per_s", median(batches));
    all.insert("batch_to_raw_ratio", median(ratios));
    all.insert("batch_to_raw_ratio_by_round", ratioByRound);
    all.insert("batch_with_checkpoint_to_raw_ratio", median(withCheckpointRatios));
    all.insert("batch_to_raw_indexed_ratio", median(indexedRatios));
    all.insert("batch_to_raw_indexed_ratio_by_round", indexedRatioByRound);
    const QStringList phases = {"pick", "rss", "dispatch", "cancel", "token", "token_shared"};
    for (const QString &phase : phases) {
        const QJsonObject part = runChild(phase);
        for (auto it = part.begin(); it != part.end(); ++it)
            all.insert(it.key(), it.value());
    }
    const double batch = all.value("batch_submit_per_s").toDouble();
    const QJsonObject cancel100k = all.value("cancel_group").toObject().value("100000").toObject();
    all.insert(
        "targets",
        QJsonObject{
            {"batch_submit_ge_150k", batch >= 150'000},
            {"batch_ge_half_raw", all.value("batch_to_raw_ratio").toDouble() >= 0.5},
            {"dispatch_complete_ge_20k", all.value("dispatch_complete_per_s").toDouble() >= 20'000},
            {"pick_flat_le_2x", all.value("pick_ratio_largest_to_1k").toDouble() <= 2.0},
            {"rss_le_300_bytes_per_task",
             all.value("rss_bytes_per_pending_task").toDouble() <= 300},
            {"cancel_100k_le_1s",
             !cancel100k.isEmpty() && cancel100k.value("ms").toDouble() <= 1000},
            {"cancel_100k_one_transaction",
             !cancel100k.isEmpty() && cancel100k.value("transactions").toInt() == 1},
            {"shared_loop_token_p99_le_5ms",
             all.value("shared_loop_token_observed_p99_ms").toDouble() <= 5},
            {"own_thread_token_p99_le_5ms",
             all.value("own_thread_token_observed_p99_ms").toDouble() <= 5},
            {"shared_loop_hooks_1000_le_100ms",
             all.value("shared_loop_hooks_1000_done_ms").toDouble() <= 100},
            {"own_thread_hooks_1000_le_100ms",
             all.value("own_thread_hooks_1000_done_ms").toDouble() <= 100},
        });
    QTextStream(stdout) << QJsonDocument(all).toJson(QJsonDocument::Indented);
    return 0;
}
