#include "Cli.h"

#include "Commands.h"
#include "app/DataDirectory.h"

namespace ferry::cli {

namespace {

QStringList valuedOptions()
{
    QStringList list;
    for (const char *name : {"data-dir", "local", "remote", "region", "access-key-id", "exclude",
                             "part-size", "multipart-threshold", "concurrency", "on-offline",
                             "profile", "status", "limit", "older-than"})
        list.append(QString::fromLatin1(name));
    return list;
}

} // namespace

QString usage()
{
    return QStringLiteral(
        "Usage:\n"
        "  ferry [--data-dir DIR] profile add NAME --local DIR --remote URL [--region R]\n"
        "        [--access-key-id ID] [--secret-stdin] [--exclude GLOB]... [--part-size BYTES]\n"
        "        [--multipart-threshold BYTES] [--concurrency N] [--mirror-deletes]\n"
        "        [--on-offline cancel|pause] [--pause-on-metered]\n"
        "  ferry [--data-dir DIR] profile list [--json] | profile show NAME [--json]\n"
        "  ferry [--data-dir DIR] profile remove NAME\n"
        "  ferry [--data-dir DIR] sync NAME... [--json]\n"
        "  ferry [--data-dir DIR] cancel NAME\n"
        "  ferry [--data-dir DIR] history [--profile NAME] [--status completed|failed|cancelled]\n"
        "        [--limit N] [--json]\n"
        "  ferry [--data-dir DIR] cleanup NAME [--older-than DURATION] [--dry-run]\n"
        "  ferry [--data-dir DIR] status [--json]\n"
        "\n"
        "URL: s3://HOST[:PORT]/BUCKET[/PREFIX] (HTTPS) or http(s)://HOST[:PORT]/BUCKET[/PREFIX].\n"
        "Credentials: the profile's access key id and stored secret, else AWS_ACCESS_KEY_ID,\n"
        "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN). FERRY_SECRET_STORE=file|keychain picks\n"
        "where secrets are kept.\n"
        "Exit codes of sync: 0 all uploaded, 1 some files failed, 2 usage or configuration error,\n"
        "3 cancelled, 130/143 interrupted by SIGINT/SIGTERM.\n");
}

QCoro::Task<int> Cli::run(QStringList arguments)
{
    const Args args = parseArgs(arguments, valuedOptions());
    if (!args.error.isEmpty()) {
        err() << args.error << "\n\n" << usage();
        co_return ExitCode::Usage;
    }
    if (args.words.isEmpty()) {
        if (args.has(QStringLiteral("help"))) {
            out() << usage();
            co_return ExitCode::Ok;
        }
        out() << usage();
        co_return ExitCode::Ok;
    }
    const QString dataDir = DataDirectory::resolve(args.option(QStringLiteral("data-dir")));
    const QString command = args.words.first();
    if (command == QLatin1String("profile"))
        co_return profileCommand(args, dataDir);
    if (command == QLatin1String("sync"))
        co_return co_await syncCommand(args, dataDir);
    if (command == QLatin1String("cancel"))
        co_return co_await cancelCommand(args, dataDir);
    if (command == QLatin1String("history"))
        co_return co_await historyCommand(args, dataDir);
    if (command == QLatin1String("status"))
        co_return co_await statusCommand(args, dataDir);
    if (command == QLatin1String("cleanup"))
        co_return co_await cleanupCommand(args, dataDir);
    err() << tr("Unknown command `%1`.").arg(command) << "\n\n" << usage();
    co_return ExitCode::Usage;
}

} // namespace ferry::cli
