#include "app/cli/Cli.h"

#include <QCoreApplication>

#include <QCoro/QCoroTask>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("ferry"));
    ferry::cli::Cli cli;
    // No subcommand: the GUI comes later; for now the command line prints its usage.
    return QCoro::waitFor(cli.run(QCoreApplication::arguments().mid(1)));
}
