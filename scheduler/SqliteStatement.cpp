#include "SqliteStatement.h"

#include <sqlite3.h>

#include <cstring>

namespace ferry {

SqliteStatement::~SqliteStatement()
{
    finalize();
}

bool SqliteStatement::prepare(sqlite3 *db, const char *sql)
{
    finalize();
    m_db = db;
    if (!db || sqlite3_prepare_v2(db, sql, -1, &m_statement, nullptr) != SQLITE_OK)
        return false;
    m_text.assign(size_t(sqlite3_bind_parameter_count(m_statement)), QByteArray());
    return true;
}

void SqliteStatement::finalize()
{
    if (m_statement)
        sqlite3_finalize(m_statement);
    m_statement = nullptr;
}

void SqliteStatement::bind(int index, qint64 value)
{
    sqlite3_bind_int64(m_statement, index, value);
}

void SqliteStatement::bind(int index, const QString &text)
{
    if (text.isEmpty()) { // NOT NULL text columns want '', and SQLite reads a null pointer as NULL
        sqlite3_bind_text(m_statement, index, "", 0, SQLITE_STATIC);
        return;
    }
    QByteArray &buffer = m_text[size_t(index - 1)];
    buffer.resize(m_utf8.requiredSpace(text.size())); // keeps its capacity from earlier rows
    const char *end = m_utf8.appendToBuffer(buffer.data(), text);
    // STATIC: the buffer stays as it is until this parameter is bound again.
    sqlite3_bind_text(m_statement, index, buffer.constData(), int(end - buffer.constData()),
                      SQLITE_STATIC);
}

void SqliteStatement::bindUtf8(int index, QByteArrayView text)
{
    if (text.isEmpty()) {
        sqlite3_bind_text(m_statement, index, "", 0, SQLITE_STATIC);
        return;
    }
    QByteArray &buffer = m_text[size_t(index - 1)];
    buffer.resize(text.size()); // keeps its capacity from earlier rows
    std::memcpy(buffer.data(), text.data(), size_t(text.size()));
    sqlite3_bind_text(m_statement, index, buffer.constData(), int(buffer.size()), SQLITE_STATIC);
}

void SqliteStatement::bindNull(int index)
{
    sqlite3_bind_null(m_statement, index);
}

bool SqliteStatement::step()
{
    const int rc = sqlite3_step(m_statement);
    sqlite3_reset(m_statement); // the bindings stay: every step binds every parameter anew
    return rc == SQLITE_DONE || rc == SQLITE_ROW;
}

int SqliteStatement::changes() const
{
    return sqlite3_changes(m_db);
}

QString SqliteStatement::lastError() const
{
    return m_db ? QString::fromUtf8(sqlite3_errmsg(m_db)) : QStringLiteral("no database");
}

} // namespace ferry
