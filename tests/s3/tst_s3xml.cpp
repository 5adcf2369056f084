// The XML of S3's answers, parsed from recorded bodies (tests/s3/data, written from the
// documented response formats): every result type, every error type and how each error
// reads and retries, plus documents that must be refused.

#include "app/s3/S3Error.h"
#include "app/s3/S3Transport.h"
#include "app/s3/S3Xml.h"

#include <QFile>
#include <QTest>
#include <QXmlStreamReader>

using namespace ferry::s3;
using Kind = S3Error::Kind;

Q_DECLARE_METATYPE(ferry::s3::S3Error::Kind)

namespace {

QByteArray data(const QString &name)
{
    QFile file(QStringLiteral(FERRY_S3_TEST_DATA "/") + name);
    if (!file.open(QIODevice::ReadOnly))
        qFatal("missing test data %s", qPrintable(file.fileName()));
    return file.readAll();
}

S3ErrorContext context()
{
    return S3ErrorContext{QStringLiteral("upload of `a.bin`"),
                          QStringLiteral("play.min.io"),
                          QStringLiteral("photos"),
                          QStringLiteral("a.bin"),
                          QStringLiteral("AKIDSHOWN"),
                          QStringLiteral("us-east-1")};
}

} // namespace

class TestS3Xml : public QObject {
    Q_OBJECT
private slots:
    void parsesListObjectsV2();
    void decodesUrlEncodedListings();
    void parsesEmptyListings();
    void parsesInitiateMultipartUpload();
    void parsesCompleteMultipartUpload();
    void detectsErrorsInsideCompleteAnswers();
    void parsesListMultipartUploads();
    void parsesListParts();
    void parsesDeleteResult();
    void parsesErrorDocuments();
    void mapsErrors_data();
    void mapsErrors();
    void mapsBodylessErrors();
    void mapsNetworkErrors();
    void refusesMalformedDocuments_data();
    void refusesMalformedDocuments();
    void writesRequestBodies();
    void parsesHttpDates();
};

void TestS3Xml::parsesListObjectsV2()
{
    const auto page = xml::parseListObjectsV2(data(QStringLiteral("list-objects-v2.xml")));
    QVERIFY2(page.has_value(), qPrintable(page ? QString() : page.error()));
    QCOMPARE(page->bucket, QStringLiteral("photos"));
    QCOMPARE(page->prefix, QStringLiteral("2024/"));
    QCOMPARE(page->delimiter, QStringLiteral("/"));
    QCOMPARE(page->keyCount, 3);
    QCOMPARE(page->maxKeys, 3);
    QVERIFY(page->isTruncated);
    QCOMPARE(page->nextContinuationToken,
             QStringLiteral("1w41l63U0xa8q7smH50vCxyTQqdxo69O3EmK28Bi5PcROI4wI/EyIJg=="));
    QCOMPARE(page->startAfter, QStringLiteral("2024/a"));
    QCOMPARE(page->objects.size(), 3);
    const ObjectSummary &first = page->objects.at(0);
    QCOMPARE(first.key, QStringLiteral("2024/beach.jpg"));
    QCOMPARE(first.size, 857);
    QCOMPARE(first.etag, QStringLiteral("599bab3ed2c697f1d26842727561fd94"));
    QCOMPARE(first.lastModified, QDateTime(QDate(2024, 7, 14), QTime(17, 50, 30), Qt::UTC));
    QCOMPARE(first.storageClass, QStringLiteral("STANDARD"));
    // Keys are verbatim: surrounding spaces kept, entities decoded.
    QCOMPARE(page->objects.at(1).key, QStringLiteral(" 2024/ spaced key .txt "));
    QCOMPARE(page->objects.at(1).size, 26214400);
    QCOMPARE(page->objects.at(1).etag, QStringLiteral("9b2cf535f27731c974343645a3985328-3"));
    QCOMPARE(page->objects.at(2).key, QStringLiteral("2024/<odd> & name.txt"));
    QCOMPARE(page->objects.at(2).size, 0);
    QCOMPARE(page->commonPrefixes,
             QStringList({QStringLiteral("2024/italy/"), QStringLiteral("2024/spain/")}));
}

void TestS3Xml::decodesUrlEncodedListings()
{
    const auto page =
        xml::parseListObjectsV2(data(QStringLiteral("list-objects-v2-url-encoded.xml")));
    QVERIFY2(page.has_value(), qPrintable(page ? QString() : page.error()));
    QCOMPARE(page->encodingType, QStringLiteral("url"));
    QCOMPARE(page->prefix, QStringLiteral("my photos/"));
    // AWS writes spaces as `+` and a literal plus as %2B.
    QCOMPARE(page->objects.at(0).key, QStringLiteral("my photos/été 2024+1.jpg"));
    QCOMPARE(page->objects.at(1).key, QStringLiteral("my photos/tab\tand\nnewline"));
    QCOMPARE(page->commonPrefixes, QStringList{QStringLiteral("my photos/sub dir/")});
    QVERIFY(!page->isTruncated);
}

void TestS3Xml::parsesEmptyListings()
{
    const auto page = xml::parseListObjectsV2(data(QStringLiteral("list-objects-v2-empty.xml")));
    QVERIFY(page.has_value());
    QCOMPARE(page->bucket, QStringLiteral("empty-bucket"));
    QVERIFY(page->objects.isEmpty());
    QVERIFY(page->commonPrefixes.isEmpty());
    QVERIFY(!page->isTruncated);

    const auto uploads =
        xml::parseListMultipartUploads(data(QStringLiteral("list-multipart-uploads-empty.xml")));
    QVERIFY(uploads.has_value());
    QVERIFY(uploads->uploads.isEmpty());
    QVERIFY(!uploads->isTruncated);
}

void TestS3Xml::parsesInitiateMultipartUpload()
{
    const auto upload =
        xml::parseInitiateMultipartUpload(data(QStringLiteral("initiate-multipart-upload.xml")));
    QVERIFY(upload.has_value());
    QCOMPARE(upload->bucket, QStringLiteral("photos"));
    QCOMPARE(upload->key, QStringLiteral("videos/holiday.mp4"));
    QCOMPARE(upload->uploadId,
             QStringLiteral("VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"));
}

void TestS3Xml::parsesCompleteMultipartUpload()
{
    const auto result =
        xml::parseCompleteMultipartUpload(data(QStringLiteral("complete-multipart-upload.xml")));
    QVERIFY(result.has_value());
    QCOMPARE(result->location, QStringLiteral("http://photos.s3.amazonaws.com/videos/holiday.mp4"));
    QCOMPARE(result->bucket, QStringLiteral("photos"));
    QCOMPARE(result->key, QStringLiteral("videos/holiday.mp4"));
    QCOMPARE(result->etag, QStringLiteral("3858f62230ac3c915f300c664312c11f-9"));
}

void TestS3Xml::detectsErrorsInsideCompleteAnswers()
{
    const QByteArray body = data(QStringLiteral("complete-multipart-upload-error.xml"));
    QCOMPARE(xml::rootElementName(body), QStringLiteral("Error"));
    QVERIFY(!xml::parseCompleteMultipartUpload(body).has_value());
    const auto document = xml::parseError(body);
    QVERIFY(document.has_value());
    const S3Error error = S3Error::fromErrorDocument(200, *document, context());
    QCOMPARE(error.kind(), Kind::ServerError);
    QVERIFY(error.isRetryable());
}

void TestS3Xml::parsesListMultipartUploads()
{
    const auto page =
        xml::parseListMultipartUploads(data(QStringLiteral("list-multipart-uploads.xml")));
    QVERIFY2(page.has_value(), qPrintable(page ? QString() : page.error()));
    QCOMPARE(page->bucket, QStringLiteral("photos"));
    QCOMPARE(page->prefix, QStringLiteral("videos/"));
    QVERIFY(page->isTruncated);
    QCOMPARE(page->nextKeyMarker, QStringLiteral("videos/my-movie.m2ts"));
    QCOMPARE(page->nextUploadIdMarker,
             QStringLiteral("YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ"));
    QCOMPARE(page->uploads.size(), 2);
    QCOMPARE(page->uploads.at(0).key, QStringLiteral("videos/my-divisor"));
    QCOMPARE(page->uploads.at(0).uploadId,
             QStringLiteral("XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw"));
    QCOMPARE(page->uploads.at(0).initiated,
             QDateTime(QDate(2010, 11, 10), QTime(20, 48, 33), Qt::UTC));
    QCOMPARE(page->uploads.at(1).key, QStringLiteral("videos/my-movie.m2ts"));
}

void TestS3Xml::parsesListParts()
{
    const auto page = xml::parseListParts(data(QStringLiteral("list-parts.xml")));
    QVERIFY2(page.has_value(), qPrintable(page ? QString() : page.error()));
    QCOMPARE(page->key, QStringLiteral("videos/holiday.mp4"));
    QCOMPARE(page->partNumberMarker, 1);
    QCOMPARE(page->nextPartNumberMarker, 3);
    QCOMPARE(page->maxParts, 2);
    QVERIFY(page->isTruncated);
    QCOMPARE(page->parts.size(), 2);
    QCOMPARE(page->parts.at(0).partNumber, 2);
    QCOMPARE(page->parts.at(0).size, 10485760);
    QCOMPARE(page->parts.at(0).etag, QStringLiteral("7778aef83f66abc1fa1e8477f296d394"));
    QCOMPARE(page->parts.at(1).partNumber, 3);
}

void TestS3Xml::parsesDeleteResult()
{
    const auto result = xml::parseDeleteResult(data(QStringLiteral("delete-result.xml")));
    QVERIFY(result.has_value());
    QCOMPARE(result->deleted,
             QStringList({QStringLiteral("sample1.txt"), QStringLiteral("never-existed.txt")}));
    QCOMPARE(result->failures.size(), 1);
    QCOMPARE(result->failures.at(0).key, QStringLiteral("sample2.txt"));
    QCOMPARE(result->failures.at(0).code, QStringLiteral("AccessDenied"));
    QCOMPARE(result->failures.at(0).message, QStringLiteral("Access Denied"));
}

void TestS3Xml::parsesErrorDocuments()
{
    const auto skew = xml::parseError(data(QStringLiteral("error-request-time-too-skewed.xml")));
    QVERIFY(skew.has_value());
    QCOMPARE(skew->code, QStringLiteral("RequestTimeTooSkewed"));
    QCOMPARE(skew->requestId, QStringLiteral("4442587FB7D0A2F9"));
    QCOMPARE(skew->fields.value(QStringLiteral("MaxAllowedSkewMilliseconds")),
             QStringLiteral("900000"));

    const auto bucket = xml::parseError(data(QStringLiteral("error-no-such-bucket.xml")));
    QCOMPARE(bucket->bucketName, QStringLiteral("missing-bucket"));
    QCOMPARE(bucket->resource, QStringLiteral("/missing-bucket"));

    const auto region =
        xml::parseError(data(QStringLiteral("error-authorization-header-malformed.xml")));
    QCOMPARE(region->region, QStringLiteral("eu-west-1"));

    const auto signature =
        xml::parseError(data(QStringLiteral("error-signature-does-not-match.xml")));
    QVERIFY(signature->fields.value(QStringLiteral("StringToSign")).contains(QLatin1Char('\n')));
}

void TestS3Xml::mapsErrors_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<int>("status");
    QTest::addColumn<Kind>("kind");
    QTest::addColumn<bool>("retryable");
    QTest::addColumn<QString>("hint"); // what the message must say

    QTest::newRow("wrong secret") << "error-signature-does-not-match.xml" << 403
                                  << Kind::WrongSecret << false << "secret access key is wrong";
    QTest::newRow("unknown key") << "error-invalid-access-key-id.xml" << 403
                                 << Kind::UnknownAccessKey << false << "access key ID";
    QTest::newRow("no such bucket") << "error-no-such-bucket.xml" << 404 << Kind::NoSuchBucket
                                    << false << "Bucket `photos` does not exist on play.min.io";
    QTest::newRow("no such key") << "error-no-such-key.xml" << 404 << Kind::NoSuchKey << false
                                 << "`a.bin` does not exist";
    QTest::newRow("no such upload") << "error-no-such-upload.xml" << 404 << Kind::NoSuchUpload
                                    << false << "Start the upload again";
    QTest::newRow("access denied")
        << "error-access-denied.xml" << 403 << Kind::AccessDenied << false << "permission";
    QTest::newRow("clock skew") << "error-request-time-too-skewed.xml" << 403 << Kind::ClockSkew
                                << false << "clock";
    QTest::newRow("entity too small")
        << "error-entity-too-small.xml" << 400 << Kind::EntityTooSmall << false << "part size";
    QTest::newRow("slow down") << "error-slow-down.xml" << 503 << Kind::ServerBusy << true
                               << "slow down";
    QTest::newRow("service unavailable")
        << "error-service-unavailable.xml" << 503 << Kind::ServerBusy << true << "retries";
    QTest::newRow("internal error")
        << "error-internal-error.xml" << 500 << Kind::ServerError << true << "retries";
    QTest::newRow("request timeout")
        << "error-request-timeout.xml" << 400 << Kind::RequestTimeout << true << "retries";
    QTest::newRow("bad digest") << "error-bad-digest.xml" << 400 << Kind::BadDigest << true
                                << "checksum";
    QTest::newRow("wrong region") << "error-authorization-header-malformed.xml" << 400
                                  << Kind::WrongRegion << false << "?region=eu-west-1";
    QTest::newRow("already owned") << "error-bucket-already-owned-by-you.xml" << 409
                                   << Kind::BucketAlreadyOwnedByYou << false << "is yours";
    QTest::newRow("already exists") << "error-bucket-already-exists.xml" << 409
                                    << Kind::BucketAlreadyExists << false << "another name";
    QTest::newRow("invalid part") << "error-invalid-part.xml" << 400 << Kind::InvalidRequest
                                  << false << "InvalidPart";
    QTest::newRow("unknown code 4xx")
        << "error-unknown-code.xml" << 403 << Kind::Other << false << "QuotaExceeded";
    QTest::newRow("unknown code 5xx")
        << "error-unknown-code.xml" << 507 << Kind::ServerError << true << "HTTP 507";
    QTest::newRow("html 502 from a proxy")
        << "not-s3.html" << 502 << Kind::ServerError << true << "HTTP 502";
    QTest::newRow("html 400") << "not-s3.html" << 400 << Kind::InvalidResponse << false
                              << "not an S3 response";
}

void TestS3Xml::mapsErrors()
{
    QFETCH(QString, file);
    QFETCH(int, status);
    QFETCH(Kind, kind);
    QFETCH(bool, retryable);
    QFETCH(QString, hint);
    const S3Error error = S3Error::fromResponse(status, data(file), context());
    QCOMPARE(kindName(error.kind()), kindName(kind));
    QCOMPARE(error.isRetryable(), retryable);
    QCOMPARE(error.httpStatus(), status);
    QVERIFY(!error.code().isEmpty());
    QVERIFY2(error.message().contains(hint, Qt::CaseInsensitive), qPrintable(error.message()));
    QVERIFY(!error.isCancelled());
}

void TestS3Xml::mapsBodylessErrors()
{
    // HEAD answers carry no body: the status and the request decide.
    S3ErrorContext bucketContext = context();
    bucketContext.key.clear();
    QCOMPARE(S3Error::fromResponse(404, {}, bucketContext).kind(), Kind::NoSuchBucket);
    QCOMPARE(S3Error::fromResponse(404, {}, context()).kind(), Kind::NoSuchKey);
    QCOMPARE(S3Error::fromResponse(403, {}, context()).kind(), Kind::AccessDenied);
    QCOMPARE(S3Error::fromResponse(503, {}, context()).kind(), Kind::ServerBusy);
    QVERIFY(S3Error::fromResponse(500, {}, context()).isRetryable());
    const S3Error moved =
        S3Error::fromResponse(301, {}, bucketContext, QStringLiteral("eu-west-2"));
    QCOMPARE(moved.kind(), Kind::WrongRegion);
    QVERIFY(moved.message().contains(QLatin1String("eu-west-2")));
}

void TestS3Xml::mapsNetworkErrors()
{
    const S3Error refused = S3Error::fromNetworkError(
        QNetworkReply::ConnectionRefusedError, QStringLiteral("Connection refused"), context());
    QCOMPARE(refused.kind(), Kind::EndpointUnreachable);
    QCOMPARE(refused.code(), QStringLiteral("ConnectionRefused"));
    QVERIFY(refused.isRetryable());
    QVERIFY(refused.message().contains(QLatin1String("refused")));
    QCOMPARE(refused.httpStatus(), 0);

    const S3Error notFound =
        S3Error::fromNetworkError(QNetworkReply::HostNotFoundError, {}, context());
    QVERIFY(notFound.message().contains(QLatin1String("not found")));
    QVERIFY(notFound.isRetryable());

    const S3Error tls =
        S3Error::fromNetworkError(QNetworkReply::SslHandshakeFailedError,
                                  QStringLiteral("self-signed certificate"), context());
    QCOMPARE(tls.kind(), Kind::EndpointUnreachable);
    QVERIFY(tls.message().contains(QLatin1String("self-signed certificate")));

    const S3Error timeout = S3Error::timedOut(context());
    QCOMPARE(timeout.kind(), Kind::EndpointUnreachable);
    QCOMPARE(timeout.code(), QStringLiteral("Timeout"));
    QVERIFY(timeout.isRetryable());

    const S3Error cancelled = S3Error::cancelled(context());
    QVERIFY(cancelled.isCancelled());
    QVERIFY(!cancelled.isRetryable());
    QCOMPARE(cancelled.message(), QStringLiteral("The upload of `a.bin` was cancelled."));
}

void TestS3Xml::refusesMalformedDocuments_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("problem");
    QTest::newRow("truncated") << "malformed-truncated.xml"
                               << "malformed XML";
    QTest::newRow("dtd") << "malformed-dtd.xml"
                         << "document type";
    QTest::newRow("missing key") << "malformed-missing-key.xml"
                                 << "<Key>";
    QTest::newRow("bad size") << "malformed-bad-size.xml"
                              << "not a non-negative number";
    QTest::newRow("truncated without token") << "malformed-truncated-without-token.xml"
                                             << "NextContinuationToken";
    QTest::newRow("html") << "not-s3.html"
                          << "expected a <ListBucketResult>";
    QTest::newRow("wrong document") << "list-parts.xml"
                                    << "expected a <ListBucketResult>";
}

void TestS3Xml::refusesMalformedDocuments()
{
    QFETCH(QString, file);
    QFETCH(QString, problem);
    const auto page = xml::parseListObjectsV2(data(file));
    QVERIFY(!page.has_value());
    QVERIFY2(page.error().contains(problem), qPrintable(page.error()));
    // Garbage and emptiness are refused by every parser, never crash them.
    for (const QByteArray &junk :
         {QByteArray(), QByteArray("\0\1\2", 3), QByteArray("<a><b>"), QByteArray(100000, '<')}) {
        QVERIFY(!xml::parseError(junk).has_value());
        QVERIFY(!xml::parseListParts(junk).has_value());
        QVERIFY(!xml::parseListMultipartUploads(junk).has_value());
        QVERIFY(!xml::parseDeleteResult(junk).has_value());
    }
    QByteArray deep;
    for (int i = 0; i < 5000; ++i)
        deep += "<ListBucketResult>";
    QVERIFY(!xml::parseListObjectsV2(deep).has_value());
}

void TestS3Xml::writesRequestBodies()
{
    const QByteArray complete = xml::completeMultipartUploadBody(
        {{2, QStringLiteral("bbb")}, {1, QStringLiteral("aaa")}, {10, QStringLiteral("ccc-1")}});
    QXmlStreamReader reader(complete);
    QList<int> numbers;
    QStringList etags;
    while (!reader.atEnd()) {
        reader.readNext();
        if (reader.isStartElement() && reader.name() == QLatin1String("PartNumber"))
            numbers.append(reader.readElementText().toInt());
        if (reader.isStartElement() && reader.name() == QLatin1String("ETag"))
            etags.append(reader.readElementText());
    }
    QVERIFY(!reader.hasError());
    QCOMPARE(numbers, QList<int>({1, 2, 10}));
    QCOMPARE(etags, QStringList({QStringLiteral("\"aaa\""), QStringLiteral("\"bbb\""),
                                 QStringLiteral("\"ccc-1\"")}));
    QVERIFY(complete.contains(
        "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"));

    const QByteArray deletion =
        xml::deleteObjectsBody({QStringLiteral("a&b<c>.txt"), QStringLiteral("é")}, true);
    QVERIFY(deletion.contains("<Quiet>true</Quiet>"));
    QVERIFY(deletion.contains("<Key>a&amp;b&lt;c&gt;.txt</Key>"));
    QVERIFY(deletion.contains("<Key>é</Key>"));

    QVERIFY(xml::createBucketBody(QStringLiteral("us-east-1")).isEmpty());
    QVERIFY(xml::createBucketBody(QStringLiteral("eu-west-1"))
                .contains("<LocationConstraint>eu-west-1</LocationConstraint>"));
}

void TestS3Xml::parsesHttpDates()
{
    QCOMPARE(parseHttpDate("Wed, 12 Oct 2009 17:50:00 GMT"),
             QDateTime(QDate(2009, 10, 12), QTime(17, 50), Qt::UTC));
    QCOMPARE(parseHttpDate("Mon, 12 Oct 2009 17:50:00 GMT"),
             QDateTime(QDate(2009, 10, 12), QTime(17, 50), Qt::UTC));
    QCOMPARE(parseHttpDate("Mon, 12 Oct 2009 19:50:00 +0200"),
             QDateTime(QDate(2009, 10, 12), QTime(17, 50), Qt::UTC));
    QVERIFY(!parseHttpDate("yesterday").isValid());
}

QTEST_GUILESS_MAIN(TestS3Xml)
#include "tst_s3xml.moc"
