#pragma once

#include <QString>
#include <QThread>

#include <algorithm>

namespace ferry {

/// How a Scheduler is set up; fixed for its lifetime.
struct SchedulerOptions {
    /// The SQLite file. A lock file beside it (`<file>.lock`) keeps other processes out.
    QString databasePath;
    /// Tasks running at once (the worker pool's size).
    int maxConcurrency = std::max(4, QThread::idealThreadCount());
    /// Clean-up hooks running at once (their own pool, so clean-up never waits for work).
    /// Each is typically one small request (AbortMultipartUpload).
    int hookConcurrency = 16;
    /// Event-loop threads shared by the runs of executors registered with RunOn::SharedLoop
    /// (started at the first such run). Their runs only await, so a core each is plenty; one
    /// core stays for the scheduler thread, behind which Linux would otherwise queue a woken
    /// loop for milliseconds (1 loop on 2 cores).
    int sharedLoops = std::max(1, QThread::idealThreadCount() - 1);
    /// History rows kept; the oldest go first (trimmed at open and every 10,000 completions).
    qint64 historyRetention = 1'000'000;
    /// How often progress is sampled and batched events are delivered.
    int eventIntervalMs = 50;
    /// Largest number of rows one submit transaction writes; larger batches are chunked.
    int submitChunk = 50'000;
};

} // namespace ferry
