#include "Profile.h"

#include "app/s3/RemoteUrl.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QRegularExpression>

namespace ferry {

namespace {

std::unexpected<ProfileError> fail(ProfileError::Field field, QString message)
{
    return std::unexpected(ProfileError{field, std::move(message)});
}

/// An access key id goes into every request's Authorization header: printable ASCII only.
std::expected<void, QString> checkAccessKeyId(const QString &id)
{
    if (id.contains(QLatin1Char('\n')) || id.contains(QLatin1Char('\r')))
        return std::unexpected(
            Profile::tr("The access key id holds a line break. Give the id alone, on one line "
                        "(e.g. AKIAIOSFODNN7EXAMPLE)."));
    for (const QChar c : id) {
        if (c.isSpace())
            return std::unexpected(
                Profile::tr("The access key id `%1` contains a space. Give the id alone, "
                            "without spaces (e.g. AKIAIOSFODNN7EXAMPLE).")
                    .arg(id));
        if (c.unicode() < 0x21 || c.unicode() > 0x7e)
            return std::unexpected(
                Profile::tr("The access key id holds a control or non-ASCII character (U+%1). "
                            "Copy the id again, as plain text.")
                    .arg(c.unicode(), 4, 16, QLatin1Char('0')));
    }
    if (id.size() > 128)
        return std::unexpected(Profile::tr("The access key id has %1 characters; ids have at "
                                           "most 128. Check that it is the id, not the secret.")
                                   .arg(id.size()));
    return {};
}

std::expected<void, QString> checkExclude(const QString &glob)
{
    if (glob.isEmpty())
        return std::unexpected(Profile::tr("An exclude pattern is empty. Give a glob such as "
                                           "`*.tmp`, or leave --exclude out."));
    const auto re = QRegularExpression::fromWildcard(
        glob, Qt::CaseSensitive, QRegularExpression::UnanchoredWildcardConversion);
    if (!re.isValid() || glob.count(QLatin1Char('[')) != glob.count(QLatin1Char(']')))
        return std::unexpected(Profile::tr("The exclude pattern `%1` is not a valid pattern: "
                                           "check its brackets, as in `*.tmp` or `build/*`.")
                                   .arg(glob));
    return {};
}

} // namespace

std::expected<void, ProfileError> Profile::validate() const
{
    using F = ProfileError::Field;
    static const QRegularExpression namePattern(
        QStringLiteral("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"));
    if (!namePattern.match(name).hasMatch())
        return fail(F::Name, tr("The profile name `%1` is not usable. Use 1 to 64 letters, digits, "
                                "`.`, `_` or `-`, starting with a letter or digit.")
                                 .arg(name));
    const QFileInfo folder(localFolder);
    if (localFolder.isEmpty())
        return fail(F::Local, tr("No local folder was given. Pass the folder to upload with "
                                 "--local DIR."));
    if (!folder.exists())
        return fail(F::Local, tr("The local folder `%1` does not exist. Create it, or pass an "
                                 "existing folder with --local.")
                                  .arg(localFolder));
    if (!folder.isDir())
        return fail(
            F::Local,
            tr("`%1` is a file, not a folder. Pass a folder with --local.").arg(localFolder));
    if (!folder.isReadable() || !folder.isExecutable())
        return fail(F::Local, tr("The local folder `%1` cannot be read by this user. Fix its "
                                 "permissions (e.g. chmod u+rx) or choose another folder.")
                                  .arg(localFolder));
    auto url = s3::RemoteUrl::parse(remote);
    if (!url)
        return fail(F::Remote, tr("The remote `%1` is not usable: %2 Expected "
                                  "s3://HOST[:PORT]/BUCKET[/PREFIX] or http(s)://...")
                                   .arg(remote, url.error().message));
    if (url->bucket().isEmpty())
        return fail(F::Remote, tr("The remote `%1` names no bucket. Add it after the host: "
                                  "s3://HOST/BUCKET[/PREFIX].")
                                   .arg(remote));
    static const QRegularExpression regionPattern(QStringLiteral("^[a-z0-9-]{1,32}$"));
    if (!region.isEmpty() && !regionPattern.match(region).hasMatch())
        return fail(F::Region, tr("The region `%1` is not valid: regions look like `us-east-1` "
                                  "(lowercase letters, digits and `-`). Leave it out to use the "
                                  "endpoint's default.")
                                   .arg(region));
    if (auto ok = checkAccessKeyId(accessKeyId); !ok)
        return fail(F::Storage, ok.error()); // the credentials' editor
    for (const auto &glob : excludes) {
        if (auto ok = checkExclude(glob); !ok)
            return fail(F::Local, ok.error()); // excludes belong to the folder
    }
    if (partSize < s3::limits::MinPartSize || partSize > s3::limits::MaxPartSize)
        return fail(F::PartSize, tr("The part size %1 bytes is outside S3's limits. Choose between "
                                    "5 MiB (5242880) and 5 GiB (5368709120) bytes.")
                                     .arg(partSize));
    if (multipartThreshold < 0)
        return fail(F::Threshold, tr("The multipart threshold %1 is negative. Give a size in "
                                     "bytes (0 uploads every non-empty file in parts).")
                                      .arg(multipartThreshold));
    if (concurrency < 1 || concurrency > 64)
        return fail(F::Concurrency, tr("The concurrency %1 is out of range. Choose 1 to 64 "
                                       "transfers at once.")
                                        .arg(concurrency));
    return {};
}

QJsonObject Profile::toJson() const
{
    QJsonObject json;
    json[QStringLiteral("name")] = name;
    json[QStringLiteral("local")] = localFolder;
    json[QStringLiteral("remote")] = remote;
    json[QStringLiteral("region")] = region;
    json[QStringLiteral("accessKeyId")] = accessKeyId;
    json[QStringLiteral("excludes")] = QJsonArray::fromStringList(excludes);
    json[QStringLiteral("multipartThreshold")] = multipartThreshold;
    json[QStringLiteral("partSize")] = partSize;
    json[QStringLiteral("concurrency")] = concurrency;
    json[QStringLiteral("mirrorDeletes")] = mirrorDeletes;
    json[QStringLiteral("onOffline")] = toText(onOffline);
    json[QStringLiteral("pauseOnMetered")] = pauseOnMetered;
    return json;
}

Profile Profile::fromJson(const QJsonObject &json)
{
    Profile p;
    p.name = json.value(QStringLiteral("name")).toString();
    p.localFolder = json.value(QStringLiteral("local")).toString();
    p.remote = json.value(QStringLiteral("remote")).toString();
    p.region = json.value(QStringLiteral("region")).toString();
    p.accessKeyId = json.value(QStringLiteral("accessKeyId")).toString();
    for (const auto &v : json.value(QStringLiteral("excludes")).toArray())
        p.excludes.append(v.toString());
    p.multipartThreshold =
        json.value(QStringLiteral("multipartThreshold")).toInteger(p.multipartThreshold);
    p.partSize = json.value(QStringLiteral("partSize")).toInteger(p.partSize);
    p.concurrency = json.value(QStringLiteral("concurrency")).toInt(p.concurrency);
    p.mirrorDeletes = json.value(QStringLiteral("mirrorDeletes")).toBool();
    p.onOffline = offlineReactionFromText(json.value(QStringLiteral("onOffline")).toString())
                      .value_or(OfflineReaction::Cancel);
    p.pauseOnMetered = json.value(QStringLiteral("pauseOnMetered")).toBool();
    return p;
}

bool Profile::isExcluded(const QString &relativePath) const
{
    const QString fileName = relativePath.section(QLatin1Char('/'), -1);
    for (const auto &glob : excludes) {
        const auto re = QRegularExpression::fromWildcard(
            glob, Qt::CaseSensitive, QRegularExpression::UnanchoredWildcardConversion);
        const QRegularExpression anchored(QRegularExpression::anchoredPattern(re.pattern()));
        if (anchored.match(relativePath).hasMatch() || anchored.match(fileName).hasMatch())
            return true;
    }
    return false;
}

QString toText(OfflineReaction reaction)
{
    return reaction == OfflineReaction::Pause ? QStringLiteral("pause") : QStringLiteral("cancel");
}

std::optional<OfflineReaction> offlineReactionFromText(const QString &text)
{
    if (text == QLatin1String("cancel"))
        return OfflineReaction::Cancel;
    if (text == QLatin1String("pause"))
        return OfflineReaction::Pause;
    return std::nullopt;
}

} // namespace ferry
