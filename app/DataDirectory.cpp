#include "DataDirectory.h"

#include <QDir>
#include <QStandardPaths>

namespace ferry {

QString DataDirectory::resolve(const QString &explicitDir)
{
    if (!explicitDir.isEmpty())
        return QDir(explicitDir).absolutePath();
    if (const QString fromEnv = qEnvironmentVariable("FERRY_DATA_DIR"); !fromEnv.isEmpty())
        return QDir(fromEnv).absolutePath();
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
}

QString DataDirectory::databasePath(const QString &dir) { return QDir(dir).filePath("ferry.sqlite"); }

} // namespace ferry
