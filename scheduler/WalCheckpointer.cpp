#include "WalCheckpointer.h"

#include "SchedulerLog.h"

#include <sqlite3.h>

namespace ferry {

WalCheckpointer::WalCheckpointer(QString databasePath)
    : m_path(std::move(databasePath)), m_thread([this] { run(); })
{
}

WalCheckpointer::~WalCheckpointer()
{
    if (m_writer) // back to SQLite's own checkpoint, with the same bound
        sqlite3_wal_autocheckpoint(m_writer, kInlinePages);
    {
        const std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_one();
    m_thread.join();
}

void WalCheckpointer::request()
{
    {
        const std::lock_guard lock(m_mutex);
        m_requested = true;
    }
    m_wake.notify_one();
}

void WalCheckpointer::watch(sqlite3 *writer)
{
    m_writer = writer;
    sqlite3_wal_hook(writer, &WalCheckpointer::afterCommit, this);
}

int WalCheckpointer::afterCommit(void *self, sqlite3 *writer, const char *database, int logPages)
{
    if (logPages >= kInlinePages)
        sqlite3_wal_checkpoint_v2(writer, database, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    else if (logPages >= kBackgroundPages)
        static_cast<WalCheckpointer *>(self)->request();
    return SQLITE_OK; // the commit itself succeeded whatever the checkpoint did
}

void WalCheckpointer::run()
{
    sqlite3 *db = nullptr; // opened on the first request: most stores never need one
    std::unique_lock lock(m_mutex);
    for (;;) {
        m_wake.wait(lock, [this] { return m_requested || m_stopping; });
        if (m_stopping)
            break;
        m_requested = false;
        lock.unlock();
        if (!db) {
            // A connection learns that the file is in WAL mode from its first read: until then
            // a checkpoint does nothing.
            if (sqlite3_open_v2(m_path.toUtf8().constData(), &db,
                                SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                nullptr) != SQLITE_OK ||
                sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr) !=
                    SQLITE_OK) {
                qCWarning(lcScheduler)
                    << "cannot open" << m_path << "to checkpoint it:" << sqlite3_errmsg(db);
                sqlite3_close(db);
                db = nullptr;
            }
        }
        if (db) {
            int logPages = 0, copied = 0;
            const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                                     &logPages, &copied);
            // BUSY: another checkpoint is running; the next request catches up.
            if (rc != SQLITE_OK && rc != SQLITE_BUSY)
                qCWarning(lcScheduler)
                    << "checkpoint of" << m_path << "failed:" << sqlite3_errmsg(db);
        }
        lock.lock();
    }
    lock.unlock();
    sqlite3_close(db); // not the last connection: the store's own closes after this one
}

} // namespace ferry
