// The composition root: `ferry` with a subcommand (or --help) runs the command line;
// without one it opens the desktop application.

#include "app/DataDirectory.h"
#include "app/MallocArenas.h"
#include "app/cli/Cli.h"
#include "app/cli/CliSupport.h"
#include "ui/DesktopApp.h"
#include "ui/LogSink.h"

#include <QApplication>
#include <QCoreApplication>
#include <QLoggingCategory>

#include <QCoro/QCoroTask>

#include <sys/stat.h>

namespace {

/// Whether the arguments ask for the window: no command word and no --help / --version.
bool wantsWindow(const QStringList &args)
{
    const auto parsed = ferry::cli::parseArgs(args, QStringList(QStringLiteral("data-dir")));
    return parsed.error.isEmpty() && parsed.words.isEmpty() &&
           !parsed.has(QStringLiteral("help")) && !parsed.has(QStringLiteral("version"));
}

int runWindow(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("ferry"));
    QApplication::setOrganizationName(QStringLiteral("ferry"));
    QApplication::setApplicationDisplayName(QStringLiteral("Ferry"));
    QApplication::setDesktopFileName(QStringLiteral("ferry"));
    ferry::LogSink::install();
    const auto args = ferry::cli::parseArgs(QApplication::arguments().mid(1),
                                            QStringList(QStringLiteral("data-dir")));
    ferry::DesktopApp desktop(
        ferry::DataDirectory::resolve(args.option(QStringLiteral("data-dir"))));
    desktop.start();
    return app.exec();
}

} // namespace

int main(int argc, char *argv[])
{
    // Before any thread exists: a few malloc arenas, not one per thread (see MallocArenas.h).
    ferry::limitMallocArenas();
    // Everything Ferry creates (database, lock, secrets, socket) is the user's alone.
    ::umask(077);
    QStringList args;
    for (int i = 1; i < argc; ++i)
        args.append(QString::fromLocal8Bit(argv[i]));
    if (wantsWindow(args))
        return runWindow(argc, argv);

    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("ferry"));
    // A command's own output says what happened; Ferry's info-level log lines (a schema
    // created, a file sent again) are for diagnosis: QT_LOGGING_RULES still turns them on.
    QLoggingCategory::setFilterRules(QStringLiteral("ferry.*.info=false"));
    ferry::cli::Cli cli;
    return QCoro::waitFor(cli.run(QCoreApplication::arguments().mid(1)));
}
