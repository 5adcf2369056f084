#include "SqliteStatement.h"

#include <sqlite3.h>

namespace ferry {

SqliteStatement::~SqliteStatement()
{
    finalize();
}

bool SqliteStatement::prepare(sqlite3 *db, const char *sql)
{
    finalize();
    m_db = db;
    return db && sqlite3_prepare_v2(db, sql, -1, &m_statement, nullptr) == SQLITE_OK;
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
    if (text.isNull()) { // NOT NULL text columns want '', and SQLite reads a null pointer as NULL
        sqlite3_bind_text(m_statement, index, "", 0, SQLITE_STATIC);
        return;
    }
    // UTF-16 straight from the QString: no conversion on this side, no copy (SQLITE_STATIC).
    // constData(), not utf16(): the latter copies a literal's data to add a terminator, and
    // the length given here needs none.
    sqlite3_bind_text16(m_statement, index, text.constData(), int(text.size() * sizeof(char16_t)),
                        SQLITE_STATIC);
}

void SqliteStatement::bindNull(int index)
{
    sqlite3_bind_null(m_statement, index);
}

bool SqliteStatement::step()
{
    const int rc = sqlite3_step(m_statement);
    sqlite3_reset(m_statement);
    sqlite3_clear_bindings(m_statement);
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
