// ui_bench: the task tree model under the load the scheduler can produce.
//
// A producer thread emits TaskEvents batches every 50 ms, as Scheduler::eventsBatch does:
// first 100,000 Submitted tasks (100 sync runs × 111 files × 8 parts), then 10,000 events/s
// (starts, progress, completions) for 10 s. The model sits under a QTreeView shown on the
// offscreen platform with the progress delegate. The UI thread's latency is measured with a
// 1 ms precise timer: how late each tick fires. Prints JSON (p50/p99/max lateness per phase,
// batch apply times, VmRSS/VmHWM). Target: steady-phase p99 ≤ 16 ms.
//
//   ui_bench [--tasks-scale 1.0] [--seconds 10] [--rate 10000]

#include "ui/ProgressBarDelegate.h"
#include "ui/TaskTreeModel.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QThread>
#include <QTimer>
#include <QTreeView>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace ferry;

namespace {

constexpr int kBatchMs = 50;

struct Shape {
    int runs = 100;
    int filesPerRun = 111;
    int partsPerFile = 8;
    [[nodiscard]] qint64 tasks() const
    {
        return qint64(runs) * (1 + qint64(filesPerRun) * (1 + partsPerFile));
    }
};

/// Generates batches on its own thread, like the scheduler thread does.
class Producer : public QObject {
    Q_OBJECT
public:
    Producer(Shape shape, int rate, int seconds) : m_shape(shape), m_rate(rate), m_seconds(seconds)
    {
    }

    void start()
    {
        m_timer = new QTimer(this);
        m_timer->setTimerType(Qt::PreciseTimer);
        connect(m_timer, &QTimer::timeout, this, &Producer::tick);
        m_timer->start(kBatchMs);
        m_clock.start();
    }

signals:
    void batch(const ferry::TaskEvents &events);
    void phase(const QString &name);
    void finished();

private:
    TaskEvent event(TaskEvent::Kind kind, TaskId id, TaskId parent) const
    {
        TaskEvent e;
        e.kind = kind;
        e.id = id;
        e.parentId = parent;
        e.timestampMs = m_clock.elapsed() + 1;
        return e;
    }

    // Ids: run r = 1 + r * stride; its files and parts follow it.
    [[nodiscard]] qint64 stride() const
    {
        return 1 + qint64(m_shape.filesPerRun) * (1 + m_shape.partsPerFile);
    }
    [[nodiscard]] TaskId runId(int r) const { return 1 + r * stride(); }
    [[nodiscard]] TaskId fileId(int r, int f) const
    {
        return runId(r) + 1 + qint64(f) * (1 + m_shape.partsPerFile);
    }
    [[nodiscard]] TaskId partId(int r, int f, int p) const { return fileId(r, f) + 1 + p; }

    void tick()
    {
        TaskEvents events;
        if (m_submitRun < m_shape.runs) {
            // Loading: two sync runs (about 2,000 tasks) per batch.
            if (m_submitRun == 0)
                emit phase(QStringLiteral("load"));
            for (int n = 0; n < 2 && m_submitRun < m_shape.runs; ++n, ++m_submitRun) {
                const int r = m_submitRun;
                TaskEvent run = event(TaskEvent::Kind::Submitted, runId(r), 0);
                run.type = QStringLiteral("sync-run");
                run.label = QStringLiteral("profile %1").arg(r);
                run.dedupKey = QStringLiteral("profile:p%1:run").arg(r);
                events.append(run);
                for (int f = 0; f < m_shape.filesPerRun; ++f) {
                    TaskEvent file = event(TaskEvent::Kind::Submitted, fileId(r, f), runId(r));
                    file.type = QStringLiteral("upload-multipart");
                    file.label = QStringLiteral("folder/file-%1.bin").arg(f);
                    file.bytesTotal = qint64(m_shape.partsPerFile) * 8 * 1024 * 1024;
                    events.append(file);
                    for (int p = 0; p < m_shape.partsPerFile; ++p) {
                        TaskEvent part =
                            event(TaskEvent::Kind::Submitted, partId(r, f, p), fileId(r, f));
                        part.type = QStringLiteral("upload-part");
                        part.label = QStringLiteral("part %1").arg(p + 1);
                        part.bytesTotal = 8 * 1024 * 1024;
                        events.append(part);
                    }
                }
            }
            emit batch(events);
            return;
        }
        if (m_steadyBatches == 0)
            emit phase(QStringLiteral("steady"));
        if (m_steadyBatches++ >= m_seconds * 1000 / kBatchMs) {
            m_timer->stop();
            emit finished();
            return;
        }
        // Steady: a sliding window of running parts; each batch starts and completes a few
        // and reports progress for the rest, `rate` events per second in all.
        const int perBatch = m_rate * kBatchMs / 1000;
        const int totalParts = m_shape.runs * m_shape.filesPerRun * m_shape.partsPerFile;
        const int turnover = std::max(1, perBatch / 10);
        auto part = [&](qint64 n) {
            const qint64 i = n % totalParts;
            const int p = int(i % m_shape.partsPerFile);
            const qint64 fi = i / m_shape.partsPerFile;
            const int f = int(fi % m_shape.filesPerRun);
            const int r = int(fi / m_shape.filesPerRun);
            return std::pair(partId(r, f, p), fileId(r, f));
        };
        for (int n = 0; n < turnover; ++n) {
            auto [id, parent] = part(m_windowEnd++);
            events.append(event(TaskEvent::Kind::Started, id, parent));
        }
        for (int n = 0; n < turnover && m_windowStart < m_windowEnd; ++n) {
            auto [id, parent] = part(m_windowStart++);
            events.append(event(TaskEvent::Kind::Completed, id, parent));
        }
        const qint64 window = std::max<qint64>(1, m_windowEnd - m_windowStart);
        while (events.size() < perBatch) {
            auto [id, parent] = part(m_windowStart + (m_progressCursor++ % window));
            TaskEvent e = event(TaskEvent::Kind::Progress, id, parent);
            e.bytesTotal = 8 * 1024 * 1024;
            e.bytesDone = std::min<qint64>(e.bytesTotal, (m_progressCursor * 65536) % e.bytesTotal);
            events.append(e);
        }
        emit batch(events);
    }

    Shape m_shape;
    int m_rate;
    int m_seconds;
    QTimer *m_timer = nullptr;
    QElapsedTimer m_clock;
    int m_submitRun = 0;
    int m_steadyBatches = 0;
    qint64 m_windowStart = 0;
    qint64 m_windowEnd = 0;
    qint64 m_progressCursor = 0;
};

struct Samples {
    std::vector<double> values;
    [[nodiscard]] double percentile(double p)
    {
        if (values.empty())
            return 0;
        std::sort(values.begin(), values.end());
        const size_t i = std::min(values.size() - 1, size_t(p / 100.0 * double(values.size())));
        return values[i];
    }
    [[nodiscard]] QJsonObject summary()
    {
        QJsonObject o;
        o[QStringLiteral("samples")] = qint64(values.size());
        o[QStringLiteral("p50_ms")] = percentile(50);
        o[QStringLiteral("p99_ms")] = percentile(99);
        o[QStringLiteral("max_ms")] =
            values.empty() ? 0.0 : *std::max_element(values.begin(), values.end());
        return o;
    }
};

double statusKb(const char *field)
{
    QFile file(QStringLiteral("/proc/self/status"));
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : file.readAll().split('\n')) {
        if (line.startsWith(field))
            return line.mid(qstrlen(field)).trimmed().split(' ').value(0).toDouble();
    }
    return -1;
}

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    qRegisterMetaType<ferry::TaskEvents>();

    Shape shape;
    int seconds = 10;
    int rate = 10'000;
    const QStringList args = app.arguments();
    for (int i = 1; i + 1 < args.size(); i += 2) {
        if (args[i] == QLatin1String("--seconds"))
            seconds = args[i + 1].toInt();
        else if (args[i] == QLatin1String("--rate"))
            rate = args[i + 1].toInt();
        else if (args[i] == QLatin1String("--runs"))
            shape.runs = args[i + 1].toInt();
    }

    TaskTreeModel model;
    QTreeView view;
    ProgressBarDelegate delegate;
    view.setUniformRowHeights(true);
    view.setItemDelegateForColumn(TaskTreeModel::ProgressColumn, &delegate);
    view.setModel(&model);
    view.resize(1200, 800);
    view.show();

    Samples apply;
    QHash<QString, Samples> lateness;
    QString phase = QStringLiteral("idle");
    qint64 events = 0;

    QThread producerThread;
    Producer producer(shape, rate, seconds);
    producer.moveToThread(&producerThread);
    bool expanded = false;
    QObject::connect(&producer, &Producer::batch, &model, [&](const TaskEvents &batch) {
        QElapsedTimer t;
        t.start();
        model.applyEvents(batch);
        apply.values.push_back(double(t.nsecsElapsed()) / 1e6);
        events += batch.size();
        if (!expanded && model.rowCount() >= 3) {
            // Show the first runs' files and parts so updates land on visible rows.
            expanded = true;
            for (int r = 0; r < 3; ++r) {
                const QModelIndex run = model.index(r, 0);
                view.expand(run);
                for (int f = 0; f < 3; ++f)
                    view.expand(model.index(f, 0, run));
            }
        }
    });
    QObject::connect(&producer, &Producer::phase, &app, [&](const QString &name) { phase = name; });
    QObject::connect(&producer, &Producer::finished, &app, &QCoreApplication::quit);
    QObject::connect(&producerThread, &QThread::started, &producer, &Producer::start);

    QElapsedTimer clock;
    clock.start();
    qint64 last = 0;
    QTimer probe;
    probe.setTimerType(Qt::PreciseTimer);
    QObject::connect(&probe, &QTimer::timeout, &app, [&] {
        const qint64 now = clock.nsecsElapsed();
        if (last > 0)
            lateness[phase].values.push_back(std::max(0.0, double(now - last) / 1e6 - 1.0));
        last = now;
    });
    probe.start(1);
    producerThread.start();
    const int rc = app.exec();
    producerThread.quit();
    producerThread.wait();

    QJsonObject out;
    out[QStringLiteral("tasks")] = model.taskCount();
    out[QStringLiteral("events_applied")] = events;
    out[QStringLiteral("steady_rate_per_s")] = rate;
    out[QStringLiteral("steady_seconds")] = seconds;
    out[QStringLiteral("latency_load")] = lateness[QStringLiteral("load")].summary();
    out[QStringLiteral("latency_steady")] = lateness[QStringLiteral("steady")].summary();
    out[QStringLiteral("apply_batch")] = apply.summary();
    out[QStringLiteral("vmrss_mb")] = statusKb("VmRSS:") / 1024.0;
    out[QStringLiteral("vmhwm_mb")] = statusKb("VmHWM:") / 1024.0;
    std::printf("%s\n", QJsonDocument(out).toJson(QJsonDocument::Indented).constData());
    return rc;
}

#include "ui_bench.moc"
