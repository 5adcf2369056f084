#pragma once

#include <QString>
#include <QtGlobal>

struct sqlite3;
struct sqlite3_stmt;

namespace ferry {

/**
 * A prepared statement on the raw SQLite handle behind a Qt Sql connection, for the store's
 * hottest loop (inserting submitted tasks): binding through QSqlQuery costs more per value
 * than SQLite's own insert. Part of the store layer; runs inside the store's transactions
 * because it shares the connection. Finalized before the connection closes.
 */
class SqliteStatement {
public:
    SqliteStatement() = default;
    ~SqliteStatement();
    SqliteStatement(const SqliteStatement &) = delete;
    SqliteStatement &operator=(const SqliteStatement &) = delete;

    /// Prepares `sql` on `db`; false (with lastError()) when it cannot.
    bool prepare(sqlite3 *db, const char *sql);
    void finalize();
    [[nodiscard]] bool isPrepared() const { return m_statement != nullptr; }

    // Parameters are numbered from 1, as in SQLite. Text must outlive step(); a null QString
    // binds '' (use bindNull() for SQL NULL).
    void bind(int index, qint64 value);
    void bind(int index, const QString &text);
    void bindNull(int index);

    /// Runs the statement to completion and resets it; false on error.
    bool step();
    /// Rows the last step() changed.
    [[nodiscard]] int changes() const;
    [[nodiscard]] QString lastError() const;

private:
    sqlite3 *m_db = nullptr;
    sqlite3_stmt *m_statement = nullptr;
};

} // namespace ferry
