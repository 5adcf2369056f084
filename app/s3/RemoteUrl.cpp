#include "RemoteUrl.h"

#include "BucketName.h"

#include <QCoreApplication>
#include <QUrl>

namespace ferry::s3 {

namespace {

QString tr(const char *text)
{
    return QCoreApplication::translate("ferry::s3::RemoteUrl", text);
}

} // namespace

std::expected<RemoteUrl, UrlError> RemoteUrl::parse(const QString &text)
{
    using Cause = UrlError::Cause;
    auto parsed = detail::parseAddress(text);
    if (!parsed)
        return std::unexpected(parsed.error());

    RemoteUrl url;
    url.m_endpoint = parsed->endpoint;
    const QString path = parsed->path.mid(1); // drop the leading '/'
    const auto slash = path.indexOf(QLatin1Char('/'));
    url.m_bucket = slash < 0 ? path : path.left(slash);
    if (url.m_bucket.isEmpty())
        return std::unexpected(
            UrlError{Cause::MissingBucket,
                     tr("The address `%1` names no bucket: add it after the host, as in "
                        "s3://HOST/BUCKET.")
                         .arg(text.trimmed())});
    if (auto valid = validateBucketName(url.m_bucket); !valid)
        return std::unexpected(UrlError{Cause::InvalidBucket, valid.error()});

    QString prefix = slash < 0 ? QString() : path.mid(slash + 1);
    if (!prefix.isEmpty()) {
        if (!prefix.endsWith(QLatin1Char('/')))
            prefix += QLatin1Char('/');
        const auto segments = prefix.chopped(1).split(QLatin1Char('/'));
        for (const auto &segment : segments) {
            if (segment.isEmpty())
                return std::unexpected(
                    UrlError{Cause::Malformed, tr("The prefix `%1` contains an empty folder name "
                                                  "(`//`): remove the extra `/`.")
                                                   .arg(prefix)});
            if (segment == QLatin1String(".") || segment == QLatin1String(".."))
                return std::unexpected(
                    UrlError{Cause::Malformed,
                             tr("The prefix `%1` contains a `%2` folder, which S3 keys cannot "
                                "navigate: write the folder path without it.")
                                 .arg(prefix, segment)});
        }
    }
    url.m_prefix = prefix;
    return url;
}

QString RemoteUrl::toString() const
{
    QString text = m_endpoint.baseUrl() + QLatin1Char('/') + m_bucket;
    if (!m_prefix.isEmpty())
        text += QLatin1Char('/') + QString::fromLatin1(QUrl::toPercentEncoding(m_prefix, "/"));
    const QString options = m_endpoint.optionsQuery();
    if (!options.isEmpty())
        text += QLatin1Char('?') + options;
    return text;
}

QString RemoteUrl::displayName() const
{
    return m_endpoint.displayName() + QLatin1Char('/') + m_bucket +
           (m_prefix.isEmpty() ? QString() : QLatin1Char('/') + m_prefix);
}

} // namespace ferry::s3
