#include "Cli.h"
#include "Commands.h"
#include "app/s3/RemoteUrl.h"

#include <QDir>
#include <QFileInfo>
#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <unistd.h>

namespace ferry::cli {

namespace {

std::optional<qint64> parseSize(const QString &text)
{
    bool ok = false;
    const qint64 value = text.toLongLong(&ok);
    if (!ok || value < 0)
        return std::nullopt;
    return value;
}

/// The secret piped into stdin: exactly one line (its line break is dropped).
std::expected<QString, QString> readSecret()
{
    std::string all;
    if (::isatty(STDIN_FILENO)) { // typed: one line, no Ctrl-D needed
        std::getline(std::cin, all);
    } else { // piped: all of it, so a second line is seen and refused
        all.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
    QString secret = QString::fromUtf8(all.data(), qsizetype(all.size()));
    if (secret.endsWith(QLatin1Char('\n')))
        secret.chop(1);
    if (secret.endsWith(QLatin1Char('\r')))
        secret.chop(1);
    secret = secret.trimmed();
    if (secret.isEmpty())
        return std::unexpected(
            Cli::tr("--secret-stdin read an empty secret. Pipe the secret access key into ferry, "
                    "e.g. `pass show s3 | ferry profile add ...`."));
    // Never echo the secret itself: only what is wrong with it.
    if (secret.contains(QLatin1Char('\n')) || secret.contains(QLatin1Char('\r')))
        return std::unexpected(
            Cli::tr("The secret read by --secret-stdin holds a line break. Pipe exactly one "
                    "line, the secret access key alone."));
    for (const QChar c : std::as_const(secret))
        if (c.category() == QChar::Other_Control || c.category() == QChar::Other_Format)
            return std::unexpected(
                Cli::tr("The secret read by --secret-stdin holds a control character "
                        "(U+%1). Pipe the secret access key alone, as plain text.")
                    .arg(c.unicode(), 4, 16, QLatin1Char('0')));
    return secret;
}

QJsonObject profileJson(const Profile &profile, SecretStore &secrets)
{
    QJsonObject json = profile.toJson();
    auto secret = secrets.load(profile.name);
    json[QStringLiteral("secret")] =
        secret && secret->has_value()
            ? QStringLiteral("stored in the %1").arg(secrets.description())
            : QStringLiteral("none stored (AWS_SECRET_ACCESS_KEY is used when set)");
    // Plain HTTP is only ever spelled out (http://); beyond this machine it is worth a flag.
    if (const auto url = s3::RemoteUrl::parse(profile.remote)) {
        const bool plain = !url->endpoint().isSecure();
        json[QStringLiteral("plainHttp")] = plain;
        const QString host = url->endpoint().host();
        const bool loopback = host == QLatin1String("localhost") || QHostAddress(host).isLoopback();
        if (plain && !loopback)
            json[QStringLiteral("warning")] =
                Cli::tr("plain HTTP: data and signed requests travel unencrypted to %1; use "
                        "s3:// (HTTPS) unless this network is trusted")
                    .arg(host);
    }
    return json;
}

int add(const Args &args, AppContext &app)
{
    if (args.words.size() != 3) {
        err() << Cli::tr("`profile add` takes one NAME.") << "\n\n" << usage();
        return ExitCode::Usage;
    }
    Profile profile;
    profile.name = args.words.at(2);
    const QString local = args.option(QStringLiteral("local"));
    profile.localFolder = local.isEmpty() ? QString() : QDir(local).absolutePath();
    profile.remote = args.option(QStringLiteral("remote"));
    profile.region = args.option(QStringLiteral("region"));
    profile.accessKeyId = args.option(QStringLiteral("access-key-id"));
    profile.excludes = args.options.values(QStringLiteral("exclude"));
    std::reverse(profile.excludes.begin(), profile.excludes.end()); // QMultiHash: newest first
    profile.mirrorDeletes = args.has(QStringLiteral("mirror-deletes"));
    profile.pauseOnMetered = args.has(QStringLiteral("pause-on-metered"));
    if (profile.remote.isEmpty()) {
        err() << Cli::tr("No remote was given. Pass --remote s3://HOST[:PORT]/BUCKET[/PREFIX].")
              << "\n";
        return ExitCode::Usage;
    }
    const struct {
        const char *option;
        qint64 *target;
    } sizes[] = {{"part-size", &profile.partSize},
                 {"multipart-threshold", &profile.multipartThreshold}};
    for (const auto &size : sizes) {
        const QString text = args.option(QString::fromLatin1(size.option));
        if (text.isEmpty())
            continue;
        const auto value = parseSize(text);
        if (!value) {
            err() << Cli::tr("--%1 `%2` is not a size. Give a number of bytes, e.g. 16777216.")
                         .arg(QString::fromLatin1(size.option), text)
                  << "\n";
            return ExitCode::Usage;
        }
        *size.target = *value;
    }
    if (const QString text = args.option(QStringLiteral("concurrency")); !text.isEmpty()) {
        bool ok = false;
        profile.concurrency = text.toInt(&ok);
        if (!ok) {
            err() << Cli::tr("--concurrency `%1` is not a number. Choose 1 to 64 transfers at "
                             "once.")
                         .arg(text)
                  << "\n";
            return ExitCode::Usage;
        }
    }
    if (const QString text = args.option(QStringLiteral("on-offline")); !text.isEmpty()) {
        const auto reaction = offlineReactionFromText(text);
        if (!reaction) {
            err() << Cli::tr("--on-offline `%1` is unknown. Use `cancel` or `pause`.").arg(text)
                  << "\n";
            return ExitCode::Usage;
        }
        profile.onOffline = *reaction;
    }
    QString secret;
    if (args.has(QStringLiteral("secret-stdin"))) {
        auto read = readSecret();
        if (!read) {
            err() << read.error() << "\n";
            return ExitCode::Usage;
        }
        secret = *read;
    }
    if (auto added = app.store->addProfile(profile); !added) {
        err() << added.error().message << "\n";
        return ExitCode::Usage;
    }
    if (!secret.isEmpty()) {
        if (auto stored = app.secrets->store(profile.name, secret); !stored) {
            (void)app.store->removeProfile(profile.name);
            err() << stored.error() << "\n";
            return ExitCode::Usage;
        }
        out() << Cli::tr("Profile `%1` added; its secret is kept in the %2.")
                     .arg(profile.name, app.secrets->description())
              << "\n";
    } else {
        out() << Cli::tr("Profile `%1` added; no secret stored (AWS_SECRET_ACCESS_KEY will be "
                         "used).")
                     .arg(profile.name)
              << "\n";
    }
    return ExitCode::Ok;
}

} // namespace

int profileCommand(const Args &args, const QString &dataDir)
{
    const QString sub = args.words.value(1);
    if (sub == QLatin1String("list") && args.words.size() != 2) {
        err() << Cli::tr("`profile list` takes no NAME; see one profile with `ferry profile show "
                         "NAME`.")
              << "\n\n"
              << usage();
        return ExitCode::Usage;
    }
    if (sub == QLatin1String("list") && !QFileInfo::exists(dataDir)) {
        out() << (args.has(QStringLiteral("json"))
                      ? QStringLiteral("[]")
                      : Cli::tr("No profiles yet. Add one with `ferry profile add NAME --local "
                                "DIR --remote URL`."))
              << "\n";
        return ExitCode::Ok;
    }
    auto app = openApp(dataDir, sub == QLatin1String("add"));
    if (!app) {
        err() << app.error() << "\n";
        return ExitCode::Usage;
    }
    const bool json = args.has(QStringLiteral("json"));
    if (sub == QLatin1String("add"))
        return add(args, *app);
    if (sub == QLatin1String("list")) {
        auto profiles = app->store->profiles();
        if (!profiles) {
            err() << profiles.error() << "\n";
            return ExitCode::Usage;
        }
        if (json) {
            QJsonArray array;
            for (const auto &profile : *profiles)
                array.append(profileJson(profile, *app->secrets));
            out() << QString::fromUtf8(QJsonDocument(array).toJson(QJsonDocument::Compact)) << "\n";
        } else if (profiles->isEmpty()) {
            out() << Cli::tr("No profiles yet. Add one with `ferry profile add NAME --local DIR "
                             "--remote URL`.")
                  << "\n";
        } else {
            for (const auto &profile : *profiles)
                out() << profile.name << "  " << profile.localFolder << "  ->  " << profile.remote
                      << "\n";
        }
        return ExitCode::Ok;
    }
    if (sub == QLatin1String("show") || sub == QLatin1String("remove")) {
        const QString name = args.words.value(2);
        if (name.isEmpty() || args.words.size() != 3) {
            err() << Cli::tr("`profile %1` takes one NAME.").arg(sub) << "\n\n" << usage();
            return ExitCode::Usage;
        }
        if (sub == QLatin1String("remove")) {
            if (auto removed = app->store->removeProfile(name); !removed) {
                err() << removed.error() << "\n";
                return ExitCode::Usage;
            }
            (void)app->secrets->remove(name);
            out() << Cli::tr("Profile `%1` removed, with its journal and stored secret.").arg(name)
                  << "\n";
            return ExitCode::Ok;
        }
        auto profile = app->store->profile(name);
        if (!profile || !profile->has_value()) {
            err() << Cli::tr("There is no profile named `%1`. See `ferry profile list`.").arg(name)
                  << "\n";
            return ExitCode::Usage;
        }
        const QJsonObject shown = profileJson(**profile, *app->secrets);
        if (json) {
            printJson(shown);
        } else {
            for (auto it = shown.begin(); it != shown.end(); ++it) {
                const QString value =
                    it->isArray() ? it->toVariant().toStringList().join(QStringLiteral(", "))
                                  : it->toVariant().toString();
                out() << it.key() << ": " << value << "\n";
            }
        }
        return ExitCode::Ok;
    }
    err() << Cli::tr("Unknown profile command `%1`.").arg(sub) << "\n\n" << usage();
    return ExitCode::Usage;
}

} // namespace ferry::cli
