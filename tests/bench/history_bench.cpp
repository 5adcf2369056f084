// history_bench: the History view over a full history (1,000,000 rows, the default retention).
//
// Fills a scheduler's history through the scheduler itself (no SQL here): ten profiles' file
// tasks that complete, with 1 % cancelled (a paused group cancelled, reason offline) and
// 0.1 % failed, spread evenly over the whole history. Then a HistoryModel under a shown
// QTableView (offscreen) loads it: time to the first page with each filter the History panel
// offers (none, status, profile, a time window deep in the past), then page after page as a
// user scrolls. The UI thread's lateness is measured all along with a 1 ms precise timer: the
// model never waits on SQLite, so it must stay low. Prints JSON; the fill is not timed.
//
//   history_bench [--rows 1000000] [--pages 40]

#include "scheduler/FunctionExecutor.h"
#include "scheduler/Scheduler.h"
#include "ui/HistoryModel.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QScrollBar>
#include <QTableView>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace ferry;

namespace {

constexpr int kProfiles = 10;
constexpr int kRounds = 100; // cancelled and failed rows land in every round: spread evenly

template <typename T> T await(QFuture<T> future)
{
    // Spins the event loop: the scheduler's batched events keep flowing meanwhile.
    while (!future.isFinished())
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 10);
    if constexpr (!std::is_void_v<T>)
        return future.result();
}

qint64 statusKiB(const char *field)
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n'))
        if (line.startsWith(field))
            return line.mid(int(qstrlen(field))).trimmed().split(' ').first().toLongLong();
    return -1;
}

/// How late a 1 ms precise timer fires on the UI thread, per phase.
class LatencyProbe : public QObject {
public:
    LatencyProbe()
    {
        m_timer.setTimerType(Qt::PreciseTimer);
        m_timer.setInterval(1);
        connect(&m_timer, &QTimer::timeout, this, [this] {
            const qint64 now = m_clock.nsecsElapsed();
            if (m_last > 0)
                m_lateness.push_back(double(now - m_last) / 1e6 - 1.0);
            m_last = now;
        });
        m_clock.start();
        m_timer.start();
    }
    /// Lateness figures since the last call.
    QJsonObject take()
    {
        std::vector<double> v;
        v.swap(m_lateness);
        m_last = 0;
        if (v.empty())
            return {};
        std::sort(v.begin(), v.end());
        auto at = [&](double q) { return v[std::min(v.size() - 1, size_t(q * v.size()))]; };
        return {{"ticks", qint64(v.size())},
                {"p50_ms", at(0.50)},
                {"p99_ms", at(0.99)},
                {"max_ms", v.back()}};
    }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_last = 0;
    std::vector<double> m_lateness;
};

struct Filled {
    qint64 rows = 0;
    QDateTime middle; ///< Half the history finished before this.
    double seconds = 0;
};

/// Fills the history with `rows` finished tasks through the scheduler.
Filled fill(Scheduler &scheduler, qint64 rows)
{
    Filled filled;
    QElapsedTimer timer;
    timer.start();
    const qint64 perRound = std::max<qint64>(1, rows / kRounds);
    qint64 serial = 0;
    for (int round = 0; round < kRounds && serial < rows; ++round) {
        // The round's cancelled tasks wait in a paused group until the round's cancel.
        (void)await(scheduler.pauseGroup(QStringLiteral("s3://gone")));
        QList<TaskSpec> batch;
        const qint64 count = std::min(perRound, rows - serial);
        for (qint64 i = 0; i < count; ++i, ++serial) {
            TaskSpec spec;
            spec.type = QStringLiteral("upload");
            const int profile = int(serial % kProfiles);
            const bool cancelled = serial % 100 == 7;
            spec.group = cancelled ? QStringLiteral("s3://gone")
                                   : QStringLiteral("s3://endpoint-%1").arg(profile);
            spec.dedupKey = QStringLiteral("profile:p%1:file:%2").arg(profile).arg(serial);
            spec.label = QStringLiteral("folder-%1/file-%2.bin").arg(serial % 97).arg(serial);
            if (serial % 1000 == 3)
                spec.payload.insert(QStringLiteral("fail"), true);
            batch.append(std::move(spec));
        }
        (void)await(scheduler.submitBatch(std::move(batch)));
        for (;;) {
            const auto stats = await(scheduler.stats());
            if (stats && stats->pending == 0 && stats->running == 0)
                break;
        }
        (void)await(scheduler.cancelGroup(QStringLiteral("s3://gone"), CancelReason::Offline));
        if (round == kRounds / 2)
            filled.middle = QDateTime::currentDateTimeUtc();
    }
    for (;;) {
        const auto stats = await(scheduler.stats());
        if (stats && stats->cancelling == 0 && stats->pending == 0 && stats->running == 0) {
            filled.rows = stats->history;
            break;
        }
    }
    filled.seconds = timer.nsecsElapsed() / 1e9;
    return filled;
}

/// Milliseconds until the model's first page is in, after setFilter.
double firstPage(HistoryModel &model, const HistoryModel::Filter &filter, int *rows)
{
    QElapsedTimer timer;
    timer.start();
    model.setFilter(filter);
    while (model.rowCount() == 0 && !model.atEnd())
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 10);
    *rows = model.rowCount();
    return timer.nsecsElapsed() / 1e6;
}

QJsonObject percentiles(std::vector<double> v)
{
    if (v.empty())
        return {};
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[std::min(v.size() - 1, size_t(q * v.size()))]; };
    return {{"count", qint64(v.size())},
            {"p50_ms", at(0.5)},
            {"p99_ms", at(0.99)},
            {"max_ms", v.back()}};
}

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QLoggingCategory::setFilterRules(QStringLiteral("ferry.*.info=false"));
    const QStringList args = app.arguments();
    auto option = [&](const QString &name, qint64 fallback) {
        const int at = int(args.indexOf(name));
        return at >= 0 && at + 1 < args.size() ? args.at(at + 1).toLongLong() : fallback;
    };
    const qint64 rows = option(QStringLiteral("--rows"), 1'000'000);
    const int pages = int(option(QStringLiteral("--pages"), 40));

    QTemporaryDir dir;
    SchedulerOptions options;
    options.databasePath = dir.filePath(QStringLiteral("history.sqlite"));
    options.maxConcurrency = 32;
    options.historyRetention = std::max<qint64>(rows, 1'000'000);
    Scheduler scheduler(options);
    scheduler.registerExecutor(
        QStringLiteral("upload"),
        std::make_shared<FunctionExecutor>([](TaskContext &ctx) -> QCoro::Task<TaskResult> {
            if (ctx.payload().value(QStringLiteral("fail")).toBool())
                co_return std::unexpected(TaskError::permanent(QStringLiteral("access denied")));
            co_return TaskResult{};
        }));
    if (!await(scheduler.open())) {
        std::fprintf(stderr, "history_bench: cannot open the scheduler\n");
        return 1;
    }
    const Filled filled = fill(scheduler, rows);

    QTableView view;
    HistoryModel model(&scheduler);
    view.setModel(&model);
    view.resize(1200, 800);
    view.show();
    LatencyProbe probe;

    QJsonObject first;
    struct Case {
        const char *name;
        HistoryModel::Filter filter;
    };
    HistoryModel::Filter none;
    HistoryModel::Filter cancelled;
    cancelled.status = HistoryStatus::Cancelled;
    HistoryModel::Filter failed;
    failed.status = HistoryStatus::Failed;
    HistoryModel::Filter profile;
    profile.profile = QStringLiteral("p7"); // the profile the cancelled rows belong to
    HistoryModel::Filter profileCancelled = profile;
    profileCancelled.status = HistoryStatus::Cancelled;
    HistoryModel::Filter older;
    older.finishedBefore = filled.middle;
    const std::vector<Case> cases = {{"none", none},
                                     {"status_cancelled", cancelled},
                                     {"status_failed", failed},
                                     {"profile", profile},
                                     {"profile_and_cancelled", profileCancelled},
                                     {"finished_before_middle", older}};
    for (const Case &c : cases) {
        int loaded = 0;
        const double ms = firstPage(model, c.filter, &loaded);
        first.insert(QLatin1String(c.name), QJsonObject{{"ms", ms}, {"rows", loaded}});
    }
    const QJsonObject filterLatency = probe.take();

    // Scrolling: the view asks for more as the user reaches the bottom.
    model.setFilter({});
    while (model.rowCount() == 0)
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 10);
    (void)probe.take();
    std::vector<double> pageMs;
    for (int i = 0; i < pages && !model.atEnd(); ++i) {
        const int before = model.rowCount();
        QElapsedTimer timer;
        timer.start();
        view.scrollToBottom();
        view.verticalScrollBar()->setValue(view.verticalScrollBar()->maximum());
        while (model.rowCount() == before && !model.atEnd())
            QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents,
                                            10);
        pageMs.push_back(timer.nsecsElapsed() / 1e6);
    }
    const QJsonObject scrollLatency = probe.take();

    const QJsonObject result{
        {"benchmark", "history_bench"},
        {"history_rows", filled.rows},
        {"fill_seconds", filled.seconds},
        {"page_size", model.pageSize()},
        {"first_page", first},
        {"ui_lateness_while_filtering", filterLatency},
        {"scroll_pages", percentiles(pageMs)},
        {"rows_loaded_after_scrolling", model.rowCount()},
        {"ui_lateness_while_scrolling", scrollLatency},
        {"vm_rss_kib", statusKiB("VmRSS:")},
        {"vm_hwm_kib", statusKiB("VmHWM:")},
    };
    std::printf("%s\n", QJsonDocument(result).toJson(QJsonDocument::Indented).constData());
    await(scheduler.shutdown());
    return 0;
}
