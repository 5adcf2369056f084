#pragma once

namespace ferry::s3 {

/// Puts every QNetworkAccessManager thread of this process that still runs at the normal
/// policy into SCHED_BATCH, and returns how many it changed.
///
/// Qt moves each request's bytes on an HTTP thread of its own, which it starts with a
/// manager's first request and does not expose. During an upload that thread wakes thousands
/// of times a second, for every 16 KiB of body and every socket event. Under the normal policy
/// each wake-up may preempt whatever runs on the core it lands on: another program, or, in
/// Ferry's benchmark, the single-threaded S3 server that needs one of the machine's two cores.
/// SCHED_BATCH keeps the thread's fair share of CPU but never preempts on wake-up, so bulk
/// transfers stay background work. In `s3_upload_bench` the server was preempted 130-500 times
/// during the 256 MiB upload instead of 175-900, and the upload went from 0.88 to 0.90 of the
/// ceiling (best rounds; medians of rounds 0.88 to 0.91), averaged over 16 alternating pairs.
///
/// Ferry calls this whenever its transport may have opened a connection (the thread exists by
/// then). Threads are found by the name Qt gives them ("QNetworkAccessManager thread", which
/// Linux shortens to its first 15 characters). Linux only (it walks /proc/self/task);
/// elsewhere it does nothing and returns 0. Thread-safe.
int runNetworkThreadsAsBatch();

} // namespace ferry::s3
