#include "S3Xml.h"

#include <QUrl>
#include <QXmlStreamReader>
#include <QXmlStreamWriter>

#include <algorithm>
#include <limits>
#include <vector>

namespace ferry::s3::xml {

namespace {

constexpr int MaxDepth = 32;

// A small element tree: S3 documents are shallow and small (a listing page is at most ~1000
// entries), so reading them whole keeps each parser a plain walk over named children.
struct Node {
    QString name;
    QString text;
    std::vector<Node> children;

    [[nodiscard]] const Node *child(QLatin1String childName) const
    {
        for (const auto &c : children)
            if (c.name == childName)
                return &c;
        return nullptr;
    }
    [[nodiscard]] QString childText(QLatin1String childName) const
    {
        const Node *c = child(childName);
        return c ? c->text : QString();
    }
    [[nodiscard]] bool has(QLatin1String childName) const { return child(childName) != nullptr; }
};

bool readElement(QXmlStreamReader &reader, Node &node, int depth)
{
    if (depth > MaxDepth) {
        reader.raiseError(QStringLiteral("elements nested deeper than %1 levels").arg(MaxDepth));
        return false;
    }
    node.name = reader.name().toString();
    while (!reader.atEnd()) {
        switch (reader.readNext()) {
        case QXmlStreamReader::StartElement: {
            Node child;
            if (!readElement(reader, child, depth + 1))
                return false;
            node.children.push_back(std::move(child));
            break;
        }
        case QXmlStreamReader::Characters:
            node.text += reader.text();
            break;
        case QXmlStreamReader::EndElement:
            if (!node.children.empty())
                node.text.clear(); // only whitespace between child elements
            return true;
        case QXmlStreamReader::DTD:
            reader.raiseError(QStringLiteral("document type declarations are not accepted"));
            return false;
        default:
            break;
        }
    }
    return !reader.hasError();
}

std::expected<Node, QString> parseDocument(const QByteArray &body, QLatin1String expectedRoot)
{
    QXmlStreamReader reader(body);
    Node root;
    bool found = false;
    while (!reader.atEnd() && !found) {
        switch (reader.readNext()) {
        case QXmlStreamReader::StartElement:
            if (!readElement(reader, root, 1))
                break;
            found = true;
            break;
        case QXmlStreamReader::DTD:
            reader.raiseError(QStringLiteral("document type declarations are not accepted"));
            break;
        default:
            break;
        }
    }
    if (reader.hasError())
        return std::unexpected(QStringLiteral("malformed XML at line %1, column %2: %3")
                                   .arg(reader.lineNumber())
                                   .arg(reader.columnNumber())
                                   .arg(reader.errorString()));
    if (!found)
        return std::unexpected(
            QStringLiteral("the body is not an XML document (%1 bytes)").arg(body.size()));
    if (root.name != expectedRoot)
        return std::unexpected(
            QStringLiteral("expected a <%1> document, got <%2>").arg(expectedRoot, root.name));
    return root;
}

std::expected<qint64, QString> toInt64(const Node &parent, QLatin1String name, bool required)
{
    const Node *node = parent.child(name);
    if (!node) {
        if (required)
            return std::unexpected(
                QStringLiteral("<%1> lacks its <%2>").arg(parent.name, QString(name)));
        return 0;
    }
    bool ok = false;
    const qint64 value = node->text.trimmed().toLongLong(&ok);
    if (!ok || value < 0)
        return std::unexpected(QStringLiteral("<%1> `%2` is not a non-negative number")
                                   .arg(QString(name), node->text.left(40)));
    return value;
}

std::expected<int, QString> toInt(const Node &parent, QLatin1String name, bool required)
{
    auto value = toInt64(parent, name, required);
    if (!value)
        return std::unexpected(value.error());
    if (*value > std::numeric_limits<int>::max())
        return std::unexpected(QStringLiteral("<%1> %2 is out of range").arg(name).arg(*value));
    return int(*value);
}

std::expected<bool, QString> toBool(const Node &parent, QLatin1String name)
{
    const Node *node = parent.child(name);
    if (!node)
        return false;
    const QString text = node->text.trimmed();
    if (text.compare(QLatin1String("true"), Qt::CaseInsensitive) == 0)
        return true;
    if (text.compare(QLatin1String("false"), Qt::CaseInsensitive) == 0)
        return false;
    return std::unexpected(
        QStringLiteral("<%1> `%2` is neither true nor false").arg(QString(name), text.left(40)));
}

std::expected<QString, QString> requiredText(const Node &parent, QLatin1String name)
{
    const Node *node = parent.child(name);
    if (!node || node->text.isEmpty())
        return std::unexpected(
            QStringLiteral("<%1> lacks its <%2>").arg(parent.name, QString(name)));
    return node->text;
}

QDateTime toDateTime(const QString &text)
{
    QDateTime time = QDateTime::fromString(text.trimmed(), Qt::ISODateWithMs);
    if (time.isValid())
        time = time.toUTC();
    return time;
}

QString unquoteEtag(const QString &etag)
{
    QString value = etag.trimmed();
    if (value.startsWith(QLatin1Char('"')))
        value.remove(0, 1);
    if (value.endsWith(QLatin1Char('"')))
        value.chop(1);
    return value;
}

QStringList commonPrefixes(const Node &root, bool urlEncoded)
{
    QStringList prefixes;
    for (const auto &c : root.children)
        if (c.name == QLatin1String("CommonPrefixes")) {
            const QString prefix = c.childText(QLatin1String("Prefix"));
            prefixes.append(urlEncoded ? decodeUrlEncoded(prefix) : prefix);
        }
    return prefixes;
}

#define FERRY_TRY(var, expr)                                                                       \
    auto var##_result = (expr);                                                                    \
    if (!var##_result)                                                                             \
        return std::unexpected(var##_result.error());                                              \
    const auto &var = *var##_result

} // namespace

QString decodeUrlEncoded(const QString &value)
{
    QByteArray bytes = value.toUtf8();
    bytes.replace('+', ' ');
    return QUrl::fromPercentEncoding(bytes);
}

QString rootElementName(const QByteArray &body)
{
    QXmlStreamReader reader(body);
    while (!reader.atEnd()) {
        if (reader.readNext() == QXmlStreamReader::StartElement)
            return reader.name().toString();
    }
    return {};
}

std::expected<ErrorDocument, QString> parseError(const QByteArray &body)
{
    FERRY_TRY(root, parseDocument(body, QLatin1String("Error")));
    ErrorDocument error;
    for (const auto &c : root.children)
        if (c.children.empty())
            error.fields.insert(c.name, c.text);
    error.code = root.childText(QLatin1String("Code")).trimmed();
    if (error.code.isEmpty())
        return std::unexpected(QStringLiteral("<Error> lacks its <Code>"));
    error.message = root.childText(QLatin1String("Message"));
    error.resource = root.childText(QLatin1String("Resource"));
    error.requestId = root.childText(QLatin1String("RequestId"));
    error.bucketName = root.childText(QLatin1String("BucketName"));
    error.key = root.childText(QLatin1String("Key"));
    error.region = root.childText(QLatin1String("Region"));
    return error;
}

std::expected<ListObjectsPage, QString> parseListObjectsV2(const QByteArray &body)
{
    FERRY_TRY(root, parseDocument(body, QLatin1String("ListBucketResult")));
    ListObjectsPage page;
    page.encodingType = root.childText(QLatin1String("EncodingType")).trimmed();
    const bool encoded = page.encodingType == QLatin1String("url");
    auto decoded = [encoded](const QString &v) { return encoded ? decodeUrlEncoded(v) : v; };

    page.bucket = root.childText(QLatin1String("Name"));
    page.prefix = decoded(root.childText(QLatin1String("Prefix")));
    page.delimiter = decoded(root.childText(QLatin1String("Delimiter")));
    page.startAfter = decoded(root.childText(QLatin1String("StartAfter")));
    page.continuationToken = root.childText(QLatin1String("ContinuationToken"));
    page.nextContinuationToken = root.childText(QLatin1String("NextContinuationToken"));
    FERRY_TRY(truncated, toBool(root, QLatin1String("IsTruncated")));
    page.isTruncated = truncated;
    FERRY_TRY(keyCount, toInt(root, QLatin1String("KeyCount"), false));
    page.keyCount = keyCount;
    FERRY_TRY(maxKeys, toInt(root, QLatin1String("MaxKeys"), false));
    page.maxKeys = maxKeys;
    if (page.isTruncated && page.nextContinuationToken.isEmpty())
        return std::unexpected(
            QStringLiteral("a truncated listing without <NextContinuationToken>"));

    for (const auto &c : root.children) {
        if (c.name != QLatin1String("Contents"))
            continue;
        ObjectSummary object;
        FERRY_TRY(key, requiredText(c, QLatin1String("Key")));
        object.key = decoded(key);
        FERRY_TRY(size, toInt64(c, QLatin1String("Size"), true));
        object.size = size;
        object.etag = unquoteEtag(c.childText(QLatin1String("ETag")));
        object.lastModified = toDateTime(c.childText(QLatin1String("LastModified")));
        object.storageClass = c.childText(QLatin1String("StorageClass"));
        page.objects.append(object);
    }
    page.commonPrefixes = commonPrefixes(root, encoded);
    return page;
}

std::expected<MultipartUpload, QString> parseInitiateMultipartUpload(const QByteArray &body)
{
    FERRY_TRY(root, parseDocument(body, QLatin1String("InitiateMultipartUploadResult")));
    FERRY_TRY(uploadId, requiredText(root, QLatin1String("UploadId")));
    return MultipartUpload{root.childText(QLatin1String("Bucket")),
                           root.childText(QLatin1String("Key")), uploadId.trimmed()};
}

std::expected<CompleteMultipartUploadResult, QString>
parseCompleteMultipartUpload(const QByteArray &body)
{
    FERRY_TRY(root, parseDocument(body, QLatin1String("CompleteMultipartUploadResult")));
    CompleteMultipartUploadResult result;
    result.location = root.childText(QLatin1String("Location"));
    result.bucket = root.childText(QLatin1String("Bucket"));
    result.key = root.childText(QLatin1String("Key"));
    FERRY_TRY(etag, requiredText(root, QLatin1String("ETag")));
    result.etag = unquoteEtag(etag);
    return result;
}

std::expected<ListMultipartUploadsPage, QString> parseListMultipartUploads(const QByteArray &body)
{
    FERRY_TRY(root, parseDocument(body, QLatin1String("ListMultipartUploadsResult")));
    ListMultipartUploadsPage page;
    page.encodingType = root.childText(QLatin1String("EncodingType")).trimmed();
    const bool encoded = page.encodingType == QLatin1String("url");
    auto decoded = [encoded](const QString &v) { return encoded ? decodeUrlEncoded(v) : v; };

    page.bucket = root.childText(QLatin1String("Bucket"));
    page.prefix = decoded(root.childText(QLatin1String("Prefix")));
    page.nextKeyMarker = decoded(root.childText(QLatin1String("NextKeyMarker")));
    page.nextUploadIdMarker = root.childText(QLatin1String("NextUploadIdMarker"));
    FERRY_TRY(truncated, toBool(root, QLatin1String("IsTruncated")));
    page.isTruncated = truncated;
    if (page.isTruncated && page.nextKeyMarker.isEmpty())
        return std::unexpected(QStringLiteral("a truncated listing without <NextKeyMarker>"));

    for (const auto &c : root.children) {
        if (c.name != QLatin1String("Upload"))
            continue;
        MultipartUploadSummary upload;
        FERRY_TRY(key, requiredText(c, QLatin1String("Key")));
        upload.key = decoded(key);
        FERRY_TRY(uploadId, requiredText(c, QLatin1String("UploadId")));
        upload.uploadId = uploadId;
        upload.initiated = toDateTime(c.childText(QLatin1String("Initiated")));
        upload.storageClass = c.childText(QLatin1String("StorageClass"));
        page.uploads.append(upload);
    }
    page.commonPrefixes = commonPrefixes(root, encoded);
    return page;
}

std::expected<ListPartsPage, QString> parseListParts(const QByteArray &body)
{
    FERRY_TRY(root, parseDocument(body, QLatin1String("ListPartsResult")));
    ListPartsPage page;
    page.bucket = root.childText(QLatin1String("Bucket"));
    page.key = root.childText(QLatin1String("Key"));
    page.uploadId = root.childText(QLatin1String("UploadId"));
    FERRY_TRY(truncated, toBool(root, QLatin1String("IsTruncated")));
    page.isTruncated = truncated;
    FERRY_TRY(marker, toInt(root, QLatin1String("PartNumberMarker"), false));
    page.partNumberMarker = marker;
    FERRY_TRY(nextMarker, toInt(root, QLatin1String("NextPartNumberMarker"), false));
    page.nextPartNumberMarker = nextMarker;
    FERRY_TRY(maxParts, toInt(root, QLatin1String("MaxParts"), false));
    page.maxParts = maxParts;
    if (page.isTruncated && page.nextPartNumberMarker <= 0)
        return std::unexpected(
            QStringLiteral("a truncated listing without <NextPartNumberMarker>"));

    for (const auto &c : root.children) {
        if (c.name != QLatin1String("Part"))
            continue;
        PartSummary part;
        FERRY_TRY(number, toInt(c, QLatin1String("PartNumber"), true));
        part.partNumber = number;
        FERRY_TRY(size, toInt64(c, QLatin1String("Size"), true));
        part.size = size;
        part.etag = unquoteEtag(c.childText(QLatin1String("ETag")));
        part.lastModified = toDateTime(c.childText(QLatin1String("LastModified")));
        page.parts.append(part);
    }
    return page;
}

std::expected<DeleteObjectsResult, QString> parseDeleteResult(const QByteArray &body)
{
    FERRY_TRY(root, parseDocument(body, QLatin1String("DeleteResult")));
    DeleteObjectsResult result;
    for (const auto &c : root.children) {
        if (c.name == QLatin1String("Deleted")) {
            FERRY_TRY(key, requiredText(c, QLatin1String("Key")));
            result.deleted.append(key);
        } else if (c.name == QLatin1String("Error")) {
            FERRY_TRY(key, requiredText(c, QLatin1String("Key")));
            result.failures.append(
                {key, c.childText(QLatin1String("Code")), c.childText(QLatin1String("Message"))});
        }
    }
    return result;
}

QByteArray completeMultipartUploadBody(QList<CompletedPart> parts)
{
    std::sort(parts.begin(), parts.end(),
              [](const auto &a, const auto &b) { return a.partNumber < b.partNumber; });
    QByteArray body;
    QXmlStreamWriter writer(&body);
    writer.writeStartDocument();
    writer.writeStartElement(QStringLiteral("CompleteMultipartUpload"));
    writer.writeDefaultNamespace(QStringLiteral("http://s3.amazonaws.com/doc/2006-03-01/"));
    for (const auto &part : parts) {
        writer.writeStartElement(QStringLiteral("Part"));
        writer.writeTextElement(QStringLiteral("PartNumber"), QString::number(part.partNumber));
        writer.writeTextElement(QStringLiteral("ETag"),
                                QLatin1Char('"') + part.etag + QLatin1Char('"'));
        writer.writeEndElement();
    }
    writer.writeEndElement();
    writer.writeEndDocument();
    return body;
}

QByteArray deleteObjectsBody(const QStringList &keys, bool quiet)
{
    QByteArray body;
    QXmlStreamWriter writer(&body);
    writer.writeStartDocument();
    writer.writeStartElement(QStringLiteral("Delete"));
    writer.writeDefaultNamespace(QStringLiteral("http://s3.amazonaws.com/doc/2006-03-01/"));
    writer.writeTextElement(QStringLiteral("Quiet"),
                            quiet ? QStringLiteral("true") : QStringLiteral("false"));
    for (const auto &key : keys) {
        writer.writeStartElement(QStringLiteral("Object"));
        writer.writeTextElement(QStringLiteral("Key"), key);
        writer.writeEndElement();
    }
    writer.writeEndElement();
    writer.writeEndDocument();
    return body;
}

QByteArray createBucketBody(const QString &region)
{
    if (region.isEmpty() || region == QLatin1String("us-east-1"))
        return {};
    QByteArray body;
    QXmlStreamWriter writer(&body);
    writer.writeStartDocument();
    writer.writeStartElement(QStringLiteral("CreateBucketConfiguration"));
    writer.writeDefaultNamespace(QStringLiteral("http://s3.amazonaws.com/doc/2006-03-01/"));
    writer.writeTextElement(QStringLiteral("LocationConstraint"), region);
    writer.writeEndElement();
    writer.writeEndDocument();
    return body;
}

} // namespace ferry::s3::xml
