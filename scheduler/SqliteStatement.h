#pragma once

#include <QByteArray>
#include <QString>
#include <QStringEncoder>
#include <QtGlobal>

#include <vector>

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

    // Parameters are numbered from 1, as in SQLite. Bind every parameter before each step():
    // a value stays bound until it is replaced. A null QString binds '' (bindNull() binds
    // NULL); text is copied, as UTF-8, into the statement's own buffers.
    void bind(int index, qint64 value);
    void bind(int index, const QString &text);
    /// Text that is UTF-8 already (a JSON document, say).
    void bindUtf8(int index, QByteArrayView text);
    void bindNull(int index);

    /// Runs the statement to completion and resets it; false on error.
    bool step();
    /// Rows the last step() changed.
    [[nodiscard]] int changes() const;
    [[nodiscard]] QString lastError() const;

private:
    sqlite3 *m_db = nullptr;
    sqlite3_stmt *m_statement = nullptr;
    // One buffer per parameter, reused: SQLite would otherwise convert UTF-16 itself, with an
    // allocation per value. Stateless: a lone surrogate cannot leak into the next value.
    std::vector<QByteArray> m_text;
    QStringEncoder m_utf8{QStringEncoder::Utf8, QStringConverter::Flag::Stateless};
};

} // namespace ferry
