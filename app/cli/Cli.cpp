#include "Cli.h"

#include "Commands.h"
#include "app/DataDirectory.h"

#include <QFileInfo>

namespace ferry::cli {

namespace {

/// The options a command accepts: `valued` take a value, `switches` do not.
struct CommandOptions {
    QStringList valued;
    QStringList switches;
};

QStringList latin1List(std::initializer_list<const char *> names)
{
    QStringList list;
    for (const char *name : names)
        list.append(QString::fromLatin1(name));
    return list;
}

/// Every option any command takes, to split the arguments.
QStringList valuedOptions()
{
    return latin1List({"data-dir", "local", "remote", "region", "access-key-id", "exclude",
                       "part-size", "multipart-threshold", "concurrency", "on-offline", "profile",
                       "status", "limit", "older-than"});
}

/// The options of `command` (`profile add`, `sync`...); nothing when it is unknown.
std::optional<CommandOptions> optionsOf(const QString &command)
{
    static const QHash<QString, CommandOptions> table = {
        {QStringLiteral("profile add"),
         {latin1List({"local", "remote", "region", "access-key-id", "exclude", "part-size",
                      "multipart-threshold", "concurrency", "on-offline"}),
          latin1List({"secret-stdin", "mirror-deletes", "pause-on-metered"})}},
        {QStringLiteral("profile list"), {{}, latin1List({"json"})}},
        {QStringLiteral("profile show"), {{}, latin1List({"json"})}},
        {QStringLiteral("profile remove"), {{}, {}}},
        {QStringLiteral("sync"), {{}, latin1List({"json"})}},
        {QStringLiteral("cancel"), {{}, {}}},
        {QStringLiteral("history"),
         {latin1List({"profile", "status", "limit"}), latin1List({"json"})}},
        {QStringLiteral("cleanup"), {latin1List({"older-than"}), latin1List({"dry-run"})}},
        {QStringLiteral("status"), {{}, latin1List({"json"})}},
    };
    const auto it = table.constFind(command);
    if (it == table.constEnd())
        return std::nullopt;
    return *it;
}

/// Why the options do not fit `command`, or nothing when they do.
QString checkOptions(const Args &args, const QString &command)
{
    const auto accepted = optionsOf(command);
    if (!accepted)
        return {};
    QStringList takes;
    for (const auto &name : accepted->valued)
        takes.append(QStringLiteral("--") + name);
    for (const auto &name : accepted->switches)
        takes.append(QStringLiteral("--") + name);
    const QString list = takes.isEmpty() ? Cli::tr("none") : takes.join(QStringLiteral(", "));
    for (auto it = args.options.constBegin(); it != args.options.constEnd(); ++it) {
        if (it.key() != QLatin1String("data-dir") && !accepted->valued.contains(it.key()))
            return Cli::tr("Unknown option `--%1` for `%2`; its options are: %3.")
                .arg(it.key(), command, list);
        if (it.value().isEmpty())
            return Cli::tr("--%1 is empty. Give it a value, or leave the option out.")
                .arg(it.key());
    }
    for (const auto &name : args.switches) {
        if (name != QLatin1String("help") && !accepted->switches.contains(name))
            return Cli::tr("Unknown option `--%1` for `%2`; its options are: %3.")
                .arg(name, command, list);
    }
    if (!args.switchesWithValue.isEmpty())
        return Cli::tr("`--%1` takes no value: write `--%1` alone.")
            .arg(args.switchesWithValue.first());
    return {};
}

/// The command's name as the table knows it: `profile add`, `sync`...
QString commandName(const Args &args)
{
    const QString first = args.words.value(0);
    if (first == QLatin1String("profile"))
        return first + QLatin1Char(' ') + args.words.value(1);
    return first;
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
    if (args.options.contains(QStringLiteral("data-dir")) &&
        args.option(QStringLiteral("data-dir")).isEmpty()) {
        err() << tr("--data-dir is empty. Give it a directory, or leave the option out.") << "\n\n"
              << usage();
        co_return ExitCode::Usage;
    }
    if (args.words.isEmpty() || args.has(QStringLiteral("help"))) {
        out() << usage();
        co_return ExitCode::Ok;
    }
    const QString command = args.words.first();
    if (command == QLatin1String("profile") && args.words.size() < 2) {
        err() << tr("`profile` needs a subcommand: add, list, show or remove.") << "\n\n"
              << usage();
        co_return ExitCode::Usage;
    }
    if (!optionsOf(commandName(args))) {
        if (command == QLatin1String("profile"))
            err() << tr("Unknown profile command `%1`. Use add, list, show or remove.")
                         .arg(args.words.value(1))
                  << "\n\n"
                  << usage();
        else
            err() << tr("Unknown command `%1`.").arg(command) << "\n\n" << usage();
        co_return ExitCode::Usage;
    }
    const QString optionProblem = checkOptions(args, commandName(args));
    if (!optionProblem.isEmpty()) {
        err() << optionProblem << "\n\n" << usage();
        co_return ExitCode::Usage;
    }
    const QString dataDir = DataDirectory::resolve(args.option(QStringLiteral("data-dir")));
    if (QFileInfo::exists(dataDir) && !QFileInfo(dataDir).isDir()) {
        err() << tr("The data directory `%1` is a file. Pass a directory with --data-dir (or "
                    "FERRY_DATA_DIR).")
                     .arg(dataDir)
              << "\n";
        co_return ExitCode::Usage;
    }
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
    co_return co_await cleanupCommand(args, dataDir);
}

} // namespace ferry::cli
