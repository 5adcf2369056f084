#include "Cli.h"
#include "Commands.h"
#include "ControlServer.h"
#include "SignalWatcher.h"
#include "app/sync/OrphanSweep.h"

#include <QCoro/QCoroFuture>
#include <QCoro/QCoroTimer>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QTimer>

#include <csignal>
#include <unistd.h>

namespace ferry::cli {

namespace {

struct ProfileRun {
    SyncTarget target;
    TaskId id = 0;
    std::shared_ptr<SyncCounters> counters;
};

/// Where the runs stand, fed by the scheduler's signals on this thread.
struct RunStates {
    QHash<TaskId, HistoryStatus> ended;
};

QJsonObject progressJson(const QString &profile, const SyncCounters &c, double elapsedSec)
{
    QJsonObject json;
    json[QStringLiteral("event")] = QStringLiteral("progress");
    json[QStringLiteral("profile")] = profile;
    json[QStringLiteral("filesDone")] = c.filesDone.load();
    json[QStringLiteral("filesQueued")] = c.filesQueued.load();
    json[QStringLiteral("bytesDone")] = c.bytesDone.load();
    json[QStringLiteral("bytesTotal")] = c.bytesQueued.load();
    const double rate = elapsedSec > 0 ? c.bytesDone.load() / elapsedSec : 0;
    json[QStringLiteral("bytesPerSecond")] = qint64(rate);
    const qint64 left = c.bytesQueued.load() - c.bytesDone.load();
    json[QStringLiteral("etaSeconds")] = rate > 0 && c.scanned ? qint64(left / rate) : -1;
    json[QStringLiteral("scanning")] = !c.scanned.load();
    return json;
}

QString progressText(const QList<ProfileRun> &runs, double elapsedSec)
{
    qint64 filesDone = 0, filesQueued = 0, bytesDone = 0, bytesTotal = 0;
    bool scanning = false;
    for (const auto &run : runs) {
        filesDone += run.counters->filesDone;
        filesQueued += run.counters->filesQueued;
        bytesDone += run.counters->bytesDone;
        bytesTotal += run.counters->bytesQueued;
        scanning = scanning || !run.counters->scanned;
    }
    const double rate = elapsedSec > 0 ? bytesDone / elapsedSec : 0;
    QString eta = QStringLiteral("--");
    if (rate > 0 && !scanning) {
        const qint64 seconds = qint64((bytesTotal - bytesDone) / rate);
        eta = QStringLiteral("%1:%2").arg(seconds / 60).arg(seconds % 60, 2, 10, QLatin1Char('0'));
    }
    return Cli::tr("%1/%2 files%3  %4 / %5  %6/s  ETA %7")
        .arg(filesDone)
        .arg(filesQueued)
        .arg(scanning ? Cli::tr(" (scanning)") : QString())
        .arg(formatBytes(double(bytesDone)), formatBytes(double(bytesTotal)), formatBytes(rate),
             eta);
}

/// The first name that occurs twice, or an empty string.
QString firstRepeated(const QStringList &names)
{
    for (qsizetype i = 0; i < names.size(); ++i)
        if (names.indexOf(names.at(i)) != i)
            return names.at(i);
    return {};
}

bool isFileType(const QString &type)
{
    return type == SyncTypes::UploadObject || type == SyncTypes::UploadMultipart ||
           type == SyncTypes::DeleteObject;
}

QCoro::Task<void> pause(int ms)
{
    QTimer timer;
    timer.setSingleShot(true);
    timer.start(ms);
    co_await timer;
}

// GCC 12 miscompiles locals of nested scopes that live across a co_await: the per-run steps
// are coroutines of their own, with function-scope locals only.

/// Sweeps what earlier runs left behind, then submits the run; the error says why not.
QCoro::Task<std::expected<TaskId, QString>> startRun(std::shared_ptr<SyncServices> services,
                                                     Scheduler *scheduler, SyncTarget target)
{
    const auto swept = co_await sweepOrphans(services, target.profile.name, kDefaultOrphanAge,
                                             false, CancellationToken());
    if (!swept)
        err() << Cli::tr("Warning: interrupted uploads of `%1` could not be checked: %2 They "
                         "will be at the next start or with `ferry cleanup %1`.")
                     .arg(target.profile.name, swept.error().message)
              << "\n";
    const auto submitted = co_await scheduler->submit(syncRunSpec(target));
    if (!submitted)
        co_return std::unexpected(submitted.error().message);
    co_return submitted->id;
}

QJsonObject outcomeJson(const ProfileRun &run, HistoryStatus status,
                        const SchedulerResult<QList<HistoryRecord>> &failedRows)
{
    QJsonObject result;
    result[QStringLiteral("event")] = QStringLiteral("result");
    result[QStringLiteral("profile")] = run.target.profile.name;
    result[QStringLiteral("status")] = toText(status);
    result[QStringLiteral("filesDone")] = run.counters->filesDone.load();
    result[QStringLiteral("bytes")] = run.counters->bytesDone.load();
    QJsonArray failures;
    if (failedRows) {
        for (const auto &row : *failedRows) {
            if (row.taskId == run.id)
                result[QStringLiteral("error")] = row.error;
            if (!isFileType(row.type))
                continue;
            QJsonObject failure;
            failure[QStringLiteral("file")] = row.label;
            failure[QStringLiteral("reason")] = row.error;
            failures.append(failure);
        }
    }
    result[QStringLiteral("failures")] = failures;
    return result;
}

/// The run's outcome with every failed file and its reason.
QCoro::Task<QJsonObject> outcome(Scheduler *scheduler, ProfileRun run, HistoryStatus status,
                                 QDateTime started)
{
    HistoryQuery query;
    query.dedupKeyPrefix = profileKeyPrefix(run.target.profile.name);
    query.status = HistoryStatus::Failed;
    query.finishedAfter = started;
    query.limit = 10'000;
    const auto failedRows = co_await scheduler->history(query);
    co_return outcomeJson(run, status, failedRows);
}

void printOutcome(const QJsonObject &result)
{
    out() << Cli::tr("Profile `%1`: %2, %3 file(s), %4 sent.")
                 .arg(result.value(QStringLiteral("profile")).toString(),
                      result.value(QStringLiteral("status")).toString())
                 .arg(result.value(QStringLiteral("filesDone")).toInteger())
                 .arg(formatBytes(result.value(QStringLiteral("bytes")).toDouble()))
          << "\n";
    const QJsonArray failures = result.value(QStringLiteral("failures")).toArray();
    for (const auto &failure : failures)
        err() << "  " << failure.toObject().value(QStringLiteral("file")).toString() << ": "
              << failure.toObject().value(QStringLiteral("reason")).toString() << "\n";
    if (result.contains(QStringLiteral("error")))
        err() << "  " << result.value(QStringLiteral("error")).toString() << "\n";
}

} // namespace

QCoro::Task<int> syncCommand(Args args, QString dataDir)
{
    const QStringList names = args.words.mid(1);
    const bool json = args.has(QStringLiteral("json"));
    if (names.isEmpty()) {
        err() << Cli::tr("`sync` needs at least one profile NAME. See `ferry profile list`.")
              << "\n\n"
              << usage();
        co_return ExitCode::Usage;
    }
    const QString repeated = firstRepeated(names);
    if (!repeated.isEmpty()) {
        err() << Cli::tr("The profile `%1` is named more than once. Name each profile once.")
                     .arg(repeated)
              << "\n";
        co_return ExitCode::Usage;
    }
    auto app = openApp(dataDir);
    if (!app) {
        err() << app.error() << "\n";
        co_return ExitCode::Usage;
    }
    auto services = std::make_shared<SyncServices>(app->store, app->secrets);
    QList<ProfileRun> runs;
    for (const auto &name : names) {
        auto target = services->target(name);
        if (!target) {
            err() << target.error() << "\n";
            co_return ExitCode::Usage;
        }
        if (auto valid = target->profile.validate(); !valid) {
            err() << valid.error().message << "\n";
            co_return ExitCode::Usage;
        }
        ProfileRun run;
        run.target = *target;
        services->resetCounters(name);
        run.counters = services->counters(name);
        runs.append(run);
    }

    auto opened = co_await openScheduler(dataDir, services);
    if (!opened.scheduler) {
        err() << opened.error << "\n";
        co_return ExitCode::Usage;
    }
    Scheduler *scheduler = opened.scheduler.get();
    QHash<QString, int> concurrency;
    for (const auto &run : runs)
        concurrency[run.target.group()] =
            std::max(concurrency.value(run.target.group()), run.target.profile.concurrency);
    for (auto it = concurrency.begin(); it != concurrency.end(); ++it)
        scheduler->setGroupConcurrency(it.key(), it.value());

    const QString owner = Cli::tr("ferry (pid %1) syncing %2")
                              .arg(QCoreApplication::applicationPid())
                              .arg(names.join(QStringLiteral(", ")));
    ControlServer control(dataDir, [scheduler, owner](QJsonObject request) {
        request[QStringLiteral("owner")] = owner;
        return answerRequest(scheduler, request);
    });
    if (QString why; !control.listen(&why))
        err() << Cli::tr("Warning: the control socket could not be opened (%1); `ferry cancel` "
                         "will not reach this process. Ctrl-C still cancels.")
                     .arg(why)
              << "\n";

    RunStates states;
    QObject context;
    QObject::connect(scheduler, &Scheduler::taskCompleted, &context,
                     [&states](TaskId id) { states.ended.insert(id, HistoryStatus::Completed); });
    QObject::connect(
        scheduler, &Scheduler::taskFailed, &context,
        [&states](TaskId id, const QString &) { states.ended.insert(id, HistoryStatus::Failed); });
    QObject::connect(scheduler, &Scheduler::taskCancelled, &context,
                     [&states](TaskId id, const QString &) {
                         states.ended.insert(id, HistoryStatus::Cancelled);
                     });
    // A database that can no longer be written (disk full) stops the scheduler: end too.
    QString storageFailure;
    QObject::connect(scheduler, &Scheduler::storageFailed, &context,
                     [&storageFailure](const QString &message) { storageFailure = message; });
    int interrupted = 0;
    SignalWatcher watcher;
    QObject::connect(&watcher, &SignalWatcher::signalled, &context,
                     [&interrupted, scheduler, names](int number) {
                         if (interrupted)
                             return;
                         interrupted = number;
                         QStringList prefixes;
                         for (const auto &name : names)
                             prefixes.append(profileKeyPrefix(name));
                         (void)scheduler->cancelWhere(
                             [prefixes](const TaskRecord &task) {
                                 for (const auto &prefix : prefixes)
                                     if (task.dedupKey.startsWith(prefix))
                                         return true;
                                 return false;
                             },
                             CancelReason::User);
                     });

    const QDateTime started = QDateTime::currentDateTimeUtc().addSecs(-1);
    for (qsizetype i = 0; i < runs.size(); ++i) {
        const auto id = co_await startRun(services, scheduler, runs.at(i).target);
        if (!id) {
            err() << id.error() << "\n";
            co_await scheduler->shutdown(2000);
            co_return ExitCode::Usage;
        }
        runs[i].id = *id;
    }

    const bool terminal = ::isatty(STDOUT_FILENO) && !json;
    QElapsedTimer clock;
    clock.start();
    QElapsedTimer sinceSignal;
    qint64 lastJson = -1000;
    for (;;) {
        bool all = true;
        for (const auto &run : runs)
            all = all && states.ended.contains(run.id);
        if (all || !storageFailure.isEmpty())
            break;
        if (interrupted && !sinceSignal.isValid())
            sinceSignal.start();
        if (sinceSignal.isValid() && sinceSignal.elapsed() > 20'000)
            break; // clean-ups go on at the next start
        const double elapsed = clock.elapsed() / 1000.0;
        if (json && clock.elapsed() - lastJson >= 500) {
            lastJson = clock.elapsed();
            for (const auto &run : runs)
                printJson(progressJson(run.target.profile.name, *run.counters, elapsed));
        } else if (terminal) {
            out() << "\r" << progressText(runs, elapsed) << "\x1b[K";
            out().flush();
        }
        co_await pause(200);
    }
    if (terminal)
        out() << "\r" << progressText(runs, clock.elapsed() / 1000.0) << "\x1b[K\n";
    if (!storageFailure.isEmpty()) {
        err()
            << Cli::tr("Error: %1. Run `ferry sync` again once that is fixed.").arg(storageFailure)
            << "\n";
        co_return ExitCode::Usage;
    }

    // The outcome of each run, with every failed file and its reason.
    bool anyFailed = false;
    bool anyCancelled = false;
    for (qsizetype i = 0; i < runs.size(); ++i) {
        const auto status = states.ended.value(runs.at(i).id, HistoryStatus::Cancelled);
        anyFailed = anyFailed || status == HistoryStatus::Failed;
        anyCancelled = anyCancelled || status == HistoryStatus::Cancelled;
        const QJsonObject result = co_await outcome(scheduler, runs.at(i), status, started);
        if (json)
            printJson(result);
        else
            printOutcome(result);
    }
    out().flush();
    err().flush();
    co_await scheduler->shutdown(3000);
    if (interrupted)
        co_return interrupted == SIGTERM ? ExitCode::Terminated : ExitCode::Interrupted;
    if (anyFailed)
        co_return ExitCode::SomeFailed;
    if (anyCancelled)
        co_return ExitCode::Cancelled;
    co_return ExitCode::Ok;
}

} // namespace ferry::cli
