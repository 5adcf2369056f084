#pragma once

#include <QString>

#include <condition_variable>
#include <mutex>
#include <thread>

struct sqlite3;

namespace ferry {

/**
 * Copies a database's write-ahead log back into the file on a thread and a connection of its
 * own, so that the thread that writes never waits for it: a burst of 200,000 submitted tasks
 * writes about 35 MB of log, and copying it takes about 0.1 s. PASSIVE: it neither waits for
 * nor blocks readers and writers; what a reader still needs stays in the log for the next
 * time. Part of the store layer (TaskStore owns one per open database).
 *
 * A copy starts on request() (the engine asks when writes pause) and, once watch() hooked
 * the writing connection, whenever a commit leaves kBackgroundPages or more in the log: the
 * copy then runs on the other core while writes go on, instead of piling up for later.
 */
class WalCheckpointer {
public:
    explicit WalCheckpointer(QString databasePath);
    /// Finishes a copy under way, then stops.
    ~WalCheckpointer();
    WalCheckpointer(const WalCheckpointer &) = delete;
    WalCheckpointer &operator=(const WalCheckpointer &) = delete;

    /// Asks for a copy; returns at once. Requests made during a copy add up to one more.
    void request();

    /// Follows the commits of `writer` (the store's connection, which must outlive this
    /// object) through SQLite's WAL hook. It replaces SQLite's own autocheckpoint: a commit
    /// that leaves kBackgroundPages in the log requests a copy; one that leaves kInlinePages
    /// (writes outrunning the copies) checkpoints inline on the writing thread, as SQLite
    /// would, which bounds the log. The destructor gives `writer` back to SQLite's own
    /// autocheckpoint, at kInlinePages.
    void watch(sqlite3 *writer);

    static constexpr int kBackgroundPages = 1024; // 4 MiB of 4 KiB pages
    static constexpr int kInlinePages = 16384;    // 64 MiB

private:
    void run();
    static int afterCommit(void *self, sqlite3 *writer, const char *database, int logPages);

    const QString m_path;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_requested = false;
    bool m_stopping = false;
    sqlite3 *m_writer = nullptr;
    std::thread m_thread; // last: starts once the members above exist
};

} // namespace ferry
