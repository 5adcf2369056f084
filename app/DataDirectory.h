#pragma once

#include <QString>

namespace ferry {

/**
 * Where Ferry keeps its database, lock file and control socket: the `--data-dir`
 * given on the command line, else `FERRY_DATA_DIR`, else the platform's app data location.
 */
class DataDirectory {
public:
    /// Resolves the directory; `explicitDir` wins when not empty.
    [[nodiscard]] static QString resolve(const QString &explicitDir = {});

    /// The SQLite file inside `dir`.
    [[nodiscard]] static QString databasePath(const QString &dir);
};

} // namespace ferry
