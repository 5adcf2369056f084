#include "BucketName.h"

#include <QCoreApplication>

namespace ferry::s3 {

namespace {

QString tr(const char *text)
{
    return QCoreApplication::translate("ferry::s3::BucketName", text);
}

bool isLowerAlnum(QChar c)
{
    return (c >= QLatin1Char('a') && c <= QLatin1Char('z')) ||
           (c >= QLatin1Char('0') && c <= QLatin1Char('9'));
}

// Four dot-separated groups of digits, as in 192.168.5.4 (S3's "formatted as an IP address").
bool looksLikeIPv4(const QString &name)
{
    const auto groups = name.split(QLatin1Char('.'));
    if (groups.size() != 4)
        return false;
    for (const auto &group : groups) {
        if (group.isEmpty() || group.size() > 3)
            return false;
        for (const QChar c : group)
            if (!c.isDigit())
                return false;
    }
    return true;
}

} // namespace

std::expected<void, QString> validateBucketName(const QString &name)
{
    if (name.isEmpty())
        return std::unexpected(tr("The bucket name is empty: add it after the host, as in "
                                  "s3://HOST/BUCKET."));
    if (name.size() < 3 || name.size() > 63)
        return std::unexpected(tr("The bucket name `%1` has %2 characters: bucket names have "
                                  "3 to 63 characters.")
                                   .arg(name)
                                   .arg(name.size()));
    for (const QChar c : name) {
        if (c.isUpper())
            return std::unexpected(
                tr("The bucket name `%1` contains uppercase letters: bucket names are "
                   "lowercase (try `%2`).")
                    .arg(name, name.toLower()));
        if (!isLowerAlnum(c) && c != QLatin1Char('.') && c != QLatin1Char('-'))
            return std::unexpected(tr("The bucket name `%1` contains `%2`: bucket names may "
                                      "only contain lowercase letters, digits, dots and "
                                      "hyphens.")
                                       .arg(name, QString(c)));
    }
    if (!isLowerAlnum(name.front()) || !isLowerAlnum(name.back()))
        return std::unexpected(tr("The bucket name `%1` must start and end with a lowercase "
                                  "letter or a digit.")
                                   .arg(name));
    if (name.contains(QLatin1String("..")))
        return std::unexpected(
            tr("The bucket name `%1` contains two adjacent dots: remove one of them.").arg(name));
    if (looksLikeIPv4(name))
        return std::unexpected(tr("The bucket name `%1` is formatted like an IP address, which "
                                  "S3 does not allow: choose a name with letters.")
                                   .arg(name));
    return {};
}

} // namespace ferry::s3
