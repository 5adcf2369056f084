#include "Commands.h"

#include "Cli.h"
#include "ControlServer.h"
#include "app/DataDirectory.h"
#include "app/sync/OrphanSweep.h"

#include <QCoro/QCoroFuture>
#include <QCoro/QCoroTimer>
#include <QFileInfo>
#include <QJsonArray>
#include <QTimer>

namespace ferry::cli {

namespace {

QJsonObject request(const QString &cmd)
{
    QJsonObject json;
    json[QStringLiteral("cmd")] = cmd;
    return json;
}

void printLines(const QList<QJsonObject> &lines, bool json,
                const std::function<QString(const QJsonObject &)> &text)
{
    for (const auto &line : lines) {
        if (json)
            printJson(line);
        else
            out() << text(line) << "\n";
    }
    out().flush();
}

QString statusLine(const QJsonObject &line)
{
    if (line.contains(QStringLiteral("error")))
        return line.value(QStringLiteral("error")).toString();
    if (line.value(QStringLiteral("kind")).toString() == QLatin1String("stats"))
        return Cli::tr("%1: %2 pending, %3 running, %4 waiting, %5 paused, %6 cleaning up, %7 in "
                       "history")
            .arg(line.value(QStringLiteral("owner")).toString())
            .arg(line.value(QStringLiteral("pending")).toInteger())
            .arg(line.value(QStringLiteral("running")).toInteger())
            .arg(line.value(QStringLiteral("waiting")).toInteger())
            .arg(line.value(QStringLiteral("paused")).toInteger())
            .arg(line.value(QStringLiteral("cancelling")).toInteger())
            .arg(line.value(QStringLiteral("history")).toInteger());
    return Cli::tr("  %1  %2  %3")
        .arg(line.value(QStringLiteral("label")).toString(),
             line.value(QStringLiteral("status")).toString(),
             formatBytes(line.value(QStringLiteral("bytesDone")).toDouble()));
}

/// Waits until no clean-up is left (or `timeoutMs` passed).
QCoro::Task<void> drainCleanups(Scheduler *scheduler, int timeoutMs)
{
    QElapsedTimer elapsed;
    elapsed.start();
    while (elapsed.elapsed() < timeoutMs) {
        auto stats = co_await scheduler->stats();
        if (!stats || stats->cancelling == 0)
            co_return;
        QTimer timer;
        timer.setSingleShot(true);
        timer.start(100);
        co_await timer;
    }
}

/// Why `name` is no profile of the data directory, or nothing when it is one.
QString unknownProfileProblem(const QString &dataDir, const QString &name)
{
    auto app = openApp(dataDir);
    if (!app)
        return app.error();
    auto profile = app->store->profile(name);
    if (!profile)
        return profile.error();
    if (!profile->has_value())
        return Cli::tr("There is no profile named `%1`. See `ferry profile list`.").arg(name);
    return {};
}

QString nothingYet(const QString &dataDir)
{
    return Cli::tr("No Ferry data directory at %1 yet: nothing has run. Add a profile with "
                   "`ferry profile add`, or check --data-dir.")
        .arg(dataDir);
}

} // namespace

QCoro::Task<OpenScheduler> openScheduler(QString dataDir, std::shared_ptr<SyncServices> services,
                                         int maxConcurrency)
{
    OpenScheduler result;
    SchedulerOptions options;
    options.databasePath = DataDirectory::databasePath(dataDir);
    if (maxConcurrency > 0)
        options.maxConcurrency = maxConcurrency;
    auto scheduler = std::make_unique<Scheduler>(options);
    if (services)
        SyncServices::registerExecutors(*scheduler, services);
    auto opened = co_await scheduler->open();
    if (!opened) {
        result.locked = opened.error().code == SchedulerError::Code::Locked;
        result.error = opened.error().message;
        co_return result;
    }
    result.scheduler = std::move(scheduler);
    co_return result;
}

namespace {

// GCC 12 miscompiles locals of nested scopes that live across a co_await (double
// destruction): each request is its own coroutine with function-scope locals only.

QList<QJsonObject> errorLines(const QString &message)
{
    QJsonObject error;
    error[QStringLiteral("error")] = message;
    QList<QJsonObject> lines;
    lines.append(error);
    return lines;
}

HistoryQuery historyQuery(const QJsonObject &request)
{
    HistoryQuery query;
    const QString profile = request.value(QStringLiteral("profile")).toString();
    if (!profile.isEmpty())
        query.dedupKeyPrefix = profileKeyPrefix(profile);
    const QString status = request.value(QStringLiteral("status")).toString();
    if (!status.isEmpty())
        query.status = historyStatusFromString(status);
    query.limit = request.value(QStringLiteral("limit")).toInt(100);
    return query;
}

QCoro::Task<QList<QJsonObject>> historyLines(Scheduler *scheduler, QJsonObject request)
{
    auto rows = co_await scheduler->history(historyQuery(request));
    if (!rows)
        co_return errorLines(rows.error().message);
    QList<QJsonObject> lines;
    for (const auto &row : *rows)
        lines.append(historyToJson(row));
    co_return lines;
}

QJsonObject statsJson(const SchedulerResult<SchedulerStats> &stats, const QString &owner)
{
    QJsonObject json;
    json[QStringLiteral("kind")] = QStringLiteral("stats");
    json[QStringLiteral("owner")] = owner;
    if (stats) {
        json[QStringLiteral("pending")] = stats->pending;
        json[QStringLiteral("running")] = stats->running;
        json[QStringLiteral("waiting")] = stats->waiting;
        json[QStringLiteral("paused")] = stats->paused;
        json[QStringLiteral("cancelling")] = stats->cancelling;
        json[QStringLiteral("history")] = stats->history;
    }
    return json;
}

void appendRuns(QList<QJsonObject> &lines, const SchedulerResult<QList<TaskRecord>> &active)
{
    if (!active)
        return;
    for (const auto &task : *active) {
        if (task.type != SyncTypes::Run && task.type != SyncTypes::Sweep)
            continue;
        QJsonObject run;
        run[QStringLiteral("kind")] = QStringLiteral("task");
        run[QStringLiteral("taskId")] = task.id;
        run[QStringLiteral("type")] = task.type;
        run[QStringLiteral("label")] = task.label;
        run[QStringLiteral("group")] = task.group;
        run[QStringLiteral("status")] = toText(task.status);
        run[QStringLiteral("bytesDone")] = task.bytesDone;
        lines.append(run);
    }
}

QCoro::Task<QList<QJsonObject>> statusLines(Scheduler *scheduler, QJsonObject request)
{
    const auto stats = co_await scheduler->stats();
    QList<QJsonObject> lines;
    lines.append(statsJson(stats, request.value(QStringLiteral("owner")).toString()));
    const auto active = co_await scheduler->activeTasks();
    appendRuns(lines, active);
    co_return lines;
}

std::function<bool(const TaskRecord &)> profilePredicate(const QString &profile)
{
    const QString prefix = profileKeyPrefix(profile);
    return [prefix](const TaskRecord &task) { return task.dedupKey.startsWith(prefix); };
}

QList<QJsonObject> cancelledLines(const QString &profile,
                                  const SchedulerResult<CancelResult> &cancelled)
{
    if (!cancelled)
        return errorLines(cancelled.error().message);
    QJsonObject json;
    json[QStringLiteral("profile")] = profile;
    json[QStringLiteral("cancelled")] = qint64(cancelled->size());
    QList<QJsonObject> lines;
    lines.append(json);
    return lines;
}

QCoro::Task<QList<QJsonObject>> cancelLines(Scheduler *scheduler, QJsonObject request)
{
    const QString profile = request.value(QStringLiteral("profile")).toString();
    const auto cancelled =
        co_await scheduler->cancelWhere(profilePredicate(profile), CancelReason::User);
    co_return cancelledLines(profile, cancelled);
}

} // namespace

QCoro::Task<QList<QJsonObject>> answerRequest(Scheduler *scheduler, QJsonObject request)
{
    const QString cmd = request.value(QStringLiteral("cmd")).toString();
    if (cmd == QLatin1String("history"))
        return historyLines(scheduler, request);
    if (cmd == QLatin1String("status"))
        return statusLines(scheduler, request);
    if (cmd == QLatin1String("cancel"))
        return cancelLines(scheduler, request);
    return [](QString name) -> QCoro::Task<QList<QJsonObject>> {
        co_return errorLines(QStringLiteral("unknown request `%1`").arg(name));
    }(cmd);
}

QCoro::Task<int> cancelCommand(Args args, QString dataDir)
{
    if (args.words.size() != 2) {
        err() << Cli::tr("`cancel` takes one profile NAME.") << "\n\n" << usage();
        co_return ExitCode::Usage;
    }
    const QString problem = unknownProfileProblem(dataDir, args.words.at(1));
    if (!problem.isEmpty()) {
        err() << problem << "\n";
        co_return ExitCode::Usage;
    }
    QJsonObject req = request(QStringLiteral("cancel"));
    req[QStringLiteral("profile")] = args.words.at(1);
    std::optional<QList<QJsonObject>> answer = ControlServer::ask(dataDir, req);
    if (!answer) {
        // Nobody owns the directory: cancel what a previous run left queued, and clean up.
        auto app = openApp(dataDir);
        if (!app) {
            err() << app.error() << "\n";
            co_return ExitCode::Usage;
        }
        auto services = std::make_shared<SyncServices>(app->store, app->secrets);
        auto opened = co_await openScheduler(dataDir, services);
        if (!opened.scheduler) {
            err() << opened.error << "\n";
            co_return ExitCode::Usage;
        }
        answer = co_await answerRequest(opened.scheduler.get(), req);
        co_await drainCleanups(opened.scheduler.get(), 60'000);
        co_await opened.scheduler->shutdown(5000);
    }
    for (const auto &line : *answer) {
        if (line.contains(QStringLiteral("error"))) {
            err() << line.value(QStringLiteral("error")).toString() << "\n";
            co_return ExitCode::SomeFailed;
        }
        out() << Cli::tr("Cancelled %1 task(s) of profile `%2`.")
                     .arg(line.value(QStringLiteral("cancelled")).toInteger())
                     .arg(line.value(QStringLiteral("profile")).toString())
              << "\n";
    }
    co_return ExitCode::Ok;
}

QCoro::Task<int> historyCommand(Args args, QString dataDir)
{
    if (args.words.size() != 1) {
        err() << Cli::tr("`history` takes no NAME; show one profile's rows with --profile NAME.")
              << "\n\n"
              << usage();
        co_return ExitCode::Usage;
    }
    QJsonObject req = request(QStringLiteral("history"));
    req[QStringLiteral("profile")] = args.option(QStringLiteral("profile"));
    const QString status = args.option(QStringLiteral("status"));
    if (!status.isEmpty()) {
        const auto parsed = historyStatusFromString(status);
        if (!parsed || *parsed == HistoryStatus::Superseded) {
            err() << Cli::tr("--status `%1` is unknown. Use completed, failed or cancelled.")
                         .arg(status)
                  << "\n";
            co_return ExitCode::Usage;
        }
        req[QStringLiteral("status")] = status;
    }
    bool limitOk = true;
    const int limit = args.option(QStringLiteral("limit"), QStringLiteral("100")).toInt(&limitOk);
    if (!limitOk || limit <= 0) {
        err() << Cli::tr("--limit must be a positive number of rows.") << "\n";
        co_return ExitCode::Usage;
    }
    req[QStringLiteral("limit")] = limit;
    if (!QFileInfo::exists(dataDir)) {
        if (!args.has(QStringLiteral("json")))
            out() << nothingYet(dataDir) << "\n";
        co_return ExitCode::Ok;
    }
    std::optional<QList<QJsonObject>> answer = ControlServer::ask(dataDir, req);
    if (!answer) {
        auto opened = co_await openScheduler(dataDir, nullptr);
        if (!opened.scheduler) {
            err() << opened.error << "\n";
            co_return ExitCode::Usage;
        }
        answer = co_await answerRequest(opened.scheduler.get(), req);
        co_await opened.scheduler->shutdown(1000);
    }
    printLines(*answer, args.has(QStringLiteral("json")), historyLine);
    co_return ExitCode::Ok;
}

QCoro::Task<int> statusCommand(Args args, QString dataDir)
{
    if (args.words.size() != 1) {
        err() << Cli::tr("`status` takes no NAME.") << "\n\n" << usage();
        co_return ExitCode::Usage;
    }
    if (!QFileInfo::exists(dataDir)) {
        if (!args.has(QStringLiteral("json")))
            out() << nothingYet(dataDir) << "\n";
        co_return ExitCode::Ok;
    }
    QJsonObject req = request(QStringLiteral("status"));
    std::optional<QList<QJsonObject>> answer = ControlServer::ask(dataDir, req);
    if (!answer) {
        auto opened = co_await openScheduler(dataDir, nullptr);
        if (!opened.scheduler) {
            err() << opened.error << "\n";
            co_return ExitCode::Usage;
        }
        req[QStringLiteral("owner")] = Cli::tr("no Ferry process running");
        answer = co_await answerRequest(opened.scheduler.get(), req);
        co_await opened.scheduler->shutdown(1000);
    }
    printLines(*answer, args.has(QStringLiteral("json")), statusLine);
    co_return ExitCode::Ok;
}

QCoro::Task<int> cleanupCommand(Args args, QString dataDir)
{
    if (args.words.size() != 2) {
        err() << Cli::tr("`cleanup` takes one profile NAME.") << "\n\n" << usage();
        co_return ExitCode::Usage;
    }
    const QString name = args.words.at(1);
    std::chrono::seconds age = kDefaultOrphanAge;
    if (const QString text = args.option(QStringLiteral("older-than")); !text.isEmpty()) {
        const auto parsed = parseDuration(text);
        if (!parsed) {
            err() << Cli::tr("--older-than `%1` is not a duration Ferry accepts. Use e.g. 90s, "
                             "30m, 24h or 7d (at most 36500d).")
                         .arg(text)
                  << "\n";
            co_return ExitCode::Usage;
        }
        age = *parsed;
    }
    auto app = openApp(dataDir);
    if (!app) {
        err() << app.error() << "\n";
        co_return ExitCode::Usage;
    }
    auto services = std::make_shared<SyncServices>(app->store, app->secrets);
    if (auto target = services->target(name); !target) {
        err() << target.error() << "\n";
        co_return ExitCode::Usage;
    }
    auto opened = co_await openScheduler(dataDir, services);
    if (!opened.scheduler) {
        err() << opened.error
              << Cli::tr(" Clean-up needs to know which uploads live tasks hold: run it once that "
                         "process has ended, or cancel it with `ferry cancel %1`.")
                     .arg(name)
              << "\n";
        co_return ExitCode::Usage;
    }
    const bool dryRun = args.has(QStringLiteral("dry-run"));
    auto report = co_await sweepOrphans(services, name, age, dryRun, CancellationToken());
    co_await opened.scheduler->shutdown(2000);
    if (!report) {
        err() << Cli::tr("Clean-up of `%1` did not finish: %2 Nothing was lost; run `ferry cleanup "
                         "%1` again when the endpoint answers.")
                     .arg(name, report.error().message)
              << "\n";
        co_return ExitCode::SomeFailed;
    }
    const QString verb = dryRun ? Cli::tr("would abort") : Cli::tr("aborted");
    for (const auto &upload : std::as_const(report->aborted))
        out() << verb << " " << upload << "\n";
    for (const auto &upload : std::as_const(report->kept))
        out() << Cli::tr("kept") << " " << upload << "\n";
    for (const auto &failure : std::as_const(report->failures))
        err() << failure << "\n";
    out() << Cli::tr("%1 upload(s) %2, %3 kept.")
                 .arg(report->aborted.size())
                 .arg(verb)
                 .arg(report->kept.size())
          << "\n";
    co_return report->failures.isEmpty() ? ExitCode::Ok : ExitCode::SomeFailed;
}

} // namespace ferry::cli
