// Endpoint and remote URL parsing: the accepted forms, addressing, regions, the group and
// display strings, and every error case with a message that names the cause and the fix.

#include "app/s3/BucketName.h"
#include "app/s3/Endpoint.h"
#include "app/s3/RemoteUrl.h"

#include <QTest>

using namespace ferry::s3;
using Cause = UrlError::Cause;

Q_DECLARE_METATYPE(ferry::s3::UrlError::Cause)

class TestS3Url : public QObject {
    Q_OBJECT
private slots:
    void parsesTheAcceptedForms_data();
    void parsesTheAcceptedForms();
    void normalizesPrefixes_data();
    void normalizesPrefixes();
    void rejectsMalformedAddresses_data();
    void rejectsMalformedAddresses();
    void appliesBucketNamingRules_data();
    void appliesBucketNamingRules();
    void choosesTheAddressingStyle();
    void infersAwsRegions();
    void readsOptions();
    void formsGroupsAndDisplayNames();
    void roundTripsThroughToString_data();
    void roundTripsThroughToString();
    void parsesEndpointsWithoutBucket();
};

void TestS3Url::parsesTheAcceptedForms_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("secure");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::addColumn<QString>("bucket");
    QTest::addColumn<QString>("prefix");

    QTest::newRow("s3 scheme is https")
        << "s3://play.min.io/photos" << true << "play.min.io" << -1 << "photos"
        << "";
    QTest::newRow("https") << "https://play.min.io/photos/2024" << true << "play.min.io" << -1
                           << "photos"
                           << "2024/";
    QTest::newRow("explicit http with port")
        << "http://127.0.0.1:9000/bucket/a/b/" << false << "127.0.0.1" << 9000 << "bucket"
        << "a/b/";
    QTest::newRow("default https port dropped")
        << "s3://example.com:443/bkt" << true << "example.com" << -1 << "bkt"
        << "";
    QTest::newRow("default http port dropped")
        << "http://example.com:80/bkt" << false << "example.com" << -1 << "bkt"
        << "";
    QTest::newRow("uppercase scheme and host")
        << "S3://MinIO.LAN:9000/bkt" << true << "minio.lan" << 9000 << "bkt"
        << "";
    QTest::newRow("ipv6") << "http://[::1]:9000/bkt/x" << false << "::1" << 9000 << "bkt"
                          << "x/";
    QTest::newRow("surrounding spaces")
        << "  s3://h.example/bkt  " << true << "h.example" << -1 << "bkt"
        << "";
    QTest::newRow("max port") << "s3://h.example:65535/bkt" << true << "h.example" << 65535 << "bkt"
                              << "";
    QTest::newRow("idn host") << "s3://bücher.example/bkt" << true << "xn--bcher-kva.example" << -1
                              << "bkt"
                              << "";
}

void TestS3Url::parsesTheAcceptedForms()
{
    QFETCH(QString, text);
    const auto url = RemoteUrl::parse(text);
    QVERIFY2(url.has_value(), qPrintable(url ? QString() : url.error().message));
    QTEST(url->endpoint().isSecure(), "secure");
    QTEST(url->endpoint().host(), "host");
    QTEST(url->endpoint().port(), "port");
    QTEST(url->bucket(), "bucket");
    QTEST(url->prefix(), "prefix");
    QCOMPARE(url->endpoint().region(), QStringLiteral("us-east-1"));
}

void TestS3Url::normalizesPrefixes_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("prefix");
    QTest::newRow("no prefix") << "s3://h/bkt"
                               << "";
    QTest::newRow("bucket with slash") << "s3://h/bkt/"
                                       << "";
    QTest::newRow("folder gets a slash") << "s3://h/bkt/photos"
                                         << "photos/";
    QTest::newRow("folder keeps its slash") << "s3://h/bkt/photos/"
                                            << "photos/";
    QTest::newRow("percent-decoded") << "s3://h/bkt/my%20photos/%C3%A9t%C3%A9"
                                     << "my photos/été/";
    QTest::newRow("literal space") << "s3://h/bkt/my photos"
                                   << "my photos/";
}

void TestS3Url::normalizesPrefixes()
{
    QFETCH(QString, text);
    const auto url = RemoteUrl::parse(text);
    QVERIFY2(url.has_value(), qPrintable(url ? QString() : url.error().message));
    QTEST(url->prefix(), "prefix");
}

void TestS3Url::rejectsMalformedAddresses_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<Cause>("cause");
    QTest::addColumn<QString>("hint"); // a piece of the message that tells the fix

    QTest::newRow("empty") << "" << Cause::Empty << "s3://HOST/BUCKET";
    QTest::newRow("blank") << "   " << Cause::Empty << "s3://HOST/BUCKET";
    QTest::newRow("no scheme") << "play.min.io/bucket" << Cause::Malformed << "s3://HOST/BUCKET";
    QTest::newRow("scheme without slashes") << "s3:bucket" << Cause::Malformed << "s3://HOST";
    QTest::newRow("unknown scheme ftp") << "ftp://h/bkt" << Cause::UnknownScheme << "http://";
    QTest::newRow("unknown scheme s3a") << "s3a://h/bkt" << Cause::UnknownScheme << "s3://";
    QTest::newRow("credentials") << "s3://key:secret@h/bkt" << Cause::CredentialsInUrl
                                 << "credentials";
    QTest::newRow("no host") << "s3:///bkt" << Cause::MissingHost << "s3://HOST/BUCKET";
    QTest::newRow("port without host") << "s3://:9000/bkt" << Cause::MissingHost << "HOST:PORT";
    QTest::newRow("bad host char") << "s3://ho$t/bkt" << Cause::InvalidHost << "`$`";
    QTest::newRow("empty label") << "s3://a..b/bkt" << Cause::InvalidHost << "dot";
    QTest::newRow("unbracketed ipv6") << "s3://::1/bkt" << Cause::InvalidHost << "brackets";
    QTest::newRow("bad ipv6") << "s3://[zz::1]/bkt" << Cause::InvalidHost << "IPv6";
    QTest::newRow("unclosed ipv6") << "s3://[::1/bkt" << Cause::InvalidHost << "]";
    QTest::newRow("port 0") << "s3://h:0/bkt" << Cause::InvalidPort << "1 to 65535";
    QTest::newRow("port 65536") << "s3://h:65536/bkt" << Cause::InvalidPort << "1 to 65535";
    QTest::newRow("huge port") << "s3://h:99999999999/bkt" << Cause::InvalidPort << "1 to 65535";
    QTest::newRow("empty port") << "s3://h:/bkt" << Cause::InvalidPort << "add the port";
    QTest::newRow("port not a number") << "s3://h:abc/bkt" << Cause::InvalidPort << "not a number";
    QTest::newRow("negative port") << "s3://h:-1/bkt" << Cause::InvalidPort << "not a number";
    QTest::newRow("no bucket") << "s3://h" << Cause::MissingBucket << "s3://HOST/BUCKET";
    QTest::newRow("slash only") << "s3://h/" << Cause::MissingBucket << "s3://HOST/BUCKET";
    QTest::newRow("double slash") << "s3://h//bkt" << Cause::MissingBucket << "BUCKET";
    QTest::newRow("invalid bucket") << "s3://h/My_Bucket" << Cause::InvalidBucket << "lowercase";
    QTest::newRow("empty folder") << "s3://h/bkt/a//b" << Cause::Malformed << "`//`";
    QTest::newRow("dot-dot folder") << "s3://h/bkt/a/../b" << Cause::Malformed << "`..`";
    QTest::newRow("fragment") << "s3://h/bkt#x" << Cause::Malformed << "`#`";
    QTest::newRow("unknown option") << "s3://h/bkt?foo=1" << Cause::InvalidOption << "`region`";
    QTest::newRow("bad region") << "s3://h/bkt?region=EU%20West" << Cause::InvalidOption
                                << "us-east-1";
    QTest::newRow("bad addressing")
        << "s3://h/bkt?addressing=dns" << Cause::InvalidOption << "`path`";
}

void TestS3Url::rejectsMalformedAddresses()
{
    QFETCH(QString, text);
    QFETCH(Cause, cause);
    QFETCH(QString, hint);
    const auto url = RemoteUrl::parse(text);
    QVERIFY(!url.has_value());
    QCOMPARE(url.error().cause, cause);
    QVERIFY2(url.error().message.contains(hint), qPrintable(url.error().message));
}

void TestS3Url::appliesBucketNamingRules_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<QString>("hint");

    QTest::newRow("simple") << "photos" << true << "";
    QTest::newRow("3 chars") << "abc" << true << "";
    QTest::newRow("63 chars") << QString(63, QLatin1Char('a')) << true << "";
    QTest::newRow("digits dots hyphens") << "my-bucket.2024" << true << "";
    QTest::newRow("digits only") << "123" << true << "";
    QTest::newRow("three numbers") << "1.2.3" << true << "";
    QTest::newRow("empty") << "" << false << "empty";
    QTest::newRow("2 chars") << "ab" << false << "3 to 63";
    QTest::newRow("64 chars") << QString(64, QLatin1Char('a')) << false << "3 to 63";
    QTest::newRow("uppercase") << "Photos" << false << "`photos`";
    QTest::newRow("underscore") << "my_bucket" << false << "`_`";
    QTest::newRow("space") << "my bucket" << false << "` `";
    QTest::newRow("leading hyphen") << "-bucket" << false << "start and end";
    QTest::newRow("trailing hyphen") << "bucket-" << false << "start and end";
    QTest::newRow("leading dot") << ".bucket" << false << "start and end";
    QTest::newRow("trailing dot") << "bucket." << false << "start and end";
    QTest::newRow("adjacent dots") << "my..bucket" << false << "adjacent dots";
    QTest::newRow("ip address") << "192.168.5.4" << false << "IP address";
}

void TestS3Url::appliesBucketNamingRules()
{
    QFETCH(QString, name);
    QFETCH(bool, valid);
    QFETCH(QString, hint);
    const auto result = validateBucketName(name);
    QCOMPARE(result.has_value(), valid);
    if (!valid)
        QVERIFY2(result.error().contains(hint), qPrintable(result.error()));
}

void TestS3Url::choosesTheAddressingStyle()
{
    auto endpoint = [](const QString &text) { return Endpoint::fromUrl(text).value(); };
    // Self-hosted servers, IPs, localhost, explicit ports: path style.
    QVERIFY(endpoint(QStringLiteral("http://127.0.0.1:9000")).usesPathStyle(QStringLiteral("b1")));
    QVERIFY(endpoint(QStringLiteral("http://localhost:9000")).usesPathStyle(QStringLiteral("b1")));
    QVERIFY(endpoint(QStringLiteral("s3://play.min.io")).usesPathStyle(QStringLiteral("b1")));
    QVERIFY(endpoint(QStringLiteral("s3://[::1]")).usesPathStyle(QStringLiteral("b1")));
    // AWS: virtual-hosted, unless a dot in the bucket would break the TLS wildcard.
    const Endpoint aws = endpoint(QStringLiteral("s3://s3.eu-west-1.amazonaws.com"));
    QVERIFY(!aws.usesPathStyle(QStringLiteral("photos")));
    QCOMPARE(aws.hostHeader(QStringLiteral("photos")),
             QStringLiteral("photos.s3.eu-west-1.amazonaws.com"));
    QVERIFY(aws.usesPathStyle(QStringLiteral("my.photos")));
    QVERIFY(endpoint(QStringLiteral("s3://s3.amazonaws.com:8443"))
                .usesPathStyle(QStringLiteral("photos")));
    // Explicit choices win.
    QVERIFY(endpoint(QStringLiteral("s3://s3.amazonaws.com?addressing=path"))
                .usesPathStyle(QStringLiteral("photos")));
    const Endpoint virtualMinio =
        endpoint(QStringLiteral("s3://minio.lan:9000?addressing=virtual"));
    QVERIFY(!virtualMinio.usesPathStyle(QStringLiteral("photos")));
    QCOMPARE(virtualMinio.hostHeader(QStringLiteral("photos")),
             QStringLiteral("photos.minio.lan:9000"));
    // Service-level requests never have a bucket host.
    QVERIFY(virtualMinio.usesPathStyle(QString()));
    QCOMPARE(endpoint(QStringLiteral("http://127.0.0.1:9000")).hostHeader(QStringLiteral("b1")),
             QStringLiteral("127.0.0.1:9000"));
}

void TestS3Url::infersAwsRegions()
{
    QCOMPARE(regionFromAwsHost(QStringLiteral("s3.eu-west-1.amazonaws.com")),
             QStringLiteral("eu-west-1"));
    QCOMPARE(regionFromAwsHost(QStringLiteral("s3-ap-southeast-2.amazonaws.com")),
             QStringLiteral("ap-southeast-2"));
    QCOMPARE(regionFromAwsHost(QStringLiteral("s3.dualstack.us-west-2.amazonaws.com")),
             QStringLiteral("us-west-2"));
    QCOMPARE(regionFromAwsHost(QStringLiteral("s3.amazonaws.com")), QString());
    QCOMPARE(regionFromAwsHost(QStringLiteral("play.min.io")), QString());
    QCOMPARE(RemoteUrl::parse(QStringLiteral("s3://s3.eu-central-1.amazonaws.com/bkt"))
                 ->endpoint()
                 .region(),
             QStringLiteral("eu-central-1"));
}

void TestS3Url::readsOptions()
{
    const auto url = RemoteUrl::parse(QStringLiteral("s3://minio.lan/bkt/x?region=eu-west-3"));
    QVERIFY(url.has_value());
    QCOMPARE(url->endpoint().region(), QStringLiteral("eu-west-3"));
    QCOMPARE(url->endpoint().addressingStyle(), AddressingStyle::Auto);
    const auto pathStyle = RemoteUrl::parse(QStringLiteral("s3://minio.lan/bkt?addressing=path"));
    QCOMPARE(pathStyle->endpoint().addressingStyle(), AddressingStyle::Path);
    // An explicit region beats the one the AWS host implies.
    const auto aws =
        RemoteUrl::parse(QStringLiteral("s3://s3.eu-west-1.amazonaws.com/bkt?region=us-east-2"));
    QCOMPARE(aws->endpoint().region(), QStringLiteral("us-east-2"));
}

void TestS3Url::formsGroupsAndDisplayNames()
{
    auto url = [](const QString &text) { return RemoteUrl::parse(text).value(); };
    QCOMPARE(url(QStringLiteral("s3://play.min.io/bkt")).endpoint().group(),
             QStringLiteral("s3://play.min.io"));
    QCOMPARE(url(QStringLiteral("https://play.min.io:443/bkt")).endpoint().group(),
             QStringLiteral("s3://play.min.io"));
    QCOMPARE(url(QStringLiteral("s3://minio.lan:9000/bkt")).endpoint().group(),
             QStringLiteral("s3://minio.lan:9000"));
    QCOMPARE(url(QStringLiteral("http://127.0.0.1:9000/bkt")).endpoint().group(),
             QStringLiteral("s3://127.0.0.1:9000"));
    QCOMPARE(url(QStringLiteral("http://example.com/bkt")).endpoint().group(),
             QStringLiteral("s3://example.com:80"));
    QCOMPARE(url(QStringLiteral("http://[::1]:9000/bkt")).endpoint().group(),
             QStringLiteral("s3://[::1]:9000"));
    // The group ignores bucket, prefix and options: one group per server.
    QCOMPARE(url(QStringLiteral("s3://Play.Min.IO/other/x?region=eu-west-1")).endpoint().group(),
             QStringLiteral("s3://play.min.io"));

    QCOMPARE(url(QStringLiteral("s3://play.min.io/bkt")).endpoint().displayName(),
             QStringLiteral("play.min.io"));
    QCOMPARE(url(QStringLiteral("http://127.0.0.1:9000/bkt")).endpoint().displayName(),
             QStringLiteral("http://127.0.0.1:9000"));
    QCOMPARE(url(QStringLiteral("s3://play.min.io/bkt/my%20photos")).displayName(),
             QStringLiteral("play.min.io/bkt/my photos/"));
}

void TestS3Url::roundTripsThroughToString_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("canonical");
    QTest::newRow("plain") << "s3://play.min.io/bkt"
                           << "s3://play.min.io/bkt";
    QTest::newRow("https") << "https://play.min.io/bkt/a"
                           << "s3://play.min.io/bkt/a/";
    QTest::newRow("http") << "http://127.0.0.1:9000/bkt"
                          << "http://127.0.0.1:9000/bkt";
    QTest::newRow("encoded prefix") << "s3://h.example/bkt/my photos/été"
                                    << "s3://h.example/bkt/my%20photos/%C3%A9t%C3%A9/";
    QTest::newRow("options") << "s3://h.example/bkt?addressing=path&region=eu-west-1"
                             << "s3://h.example/bkt?region=eu-west-1&addressing=path";
    QTest::newRow("implied region dropped")
        << "s3://s3.eu-west-1.amazonaws.com/bkt?region=eu-west-1"
        << "s3://s3.eu-west-1.amazonaws.com/bkt";
}

void TestS3Url::roundTripsThroughToString()
{
    QFETCH(QString, text);
    QFETCH(QString, canonical);
    const auto url = RemoteUrl::parse(text);
    QVERIFY(url.has_value());
    QCOMPARE(url->toString(), canonical);
    const auto again = RemoteUrl::parse(url->toString());
    QVERIFY(again.has_value());
    QCOMPARE(*again, *url);
}

void TestS3Url::parsesEndpointsWithoutBucket()
{
    const auto endpoint = Endpoint::fromUrl(QStringLiteral("http://127.0.0.1:40123"));
    QVERIFY(endpoint.has_value());
    QVERIFY(!endpoint->isSecure());
    QCOMPARE(endpoint->effectivePort(), 40123);
    QCOMPARE(endpoint->toString(), QStringLiteral("http://127.0.0.1:40123"));
    QVERIFY(Endpoint::fromUrl(QStringLiteral("s3://h.example/")).has_value());
    QCOMPARE(Endpoint::fromUrl(QStringLiteral("s3://h.example")).value().effectivePort(), 443);

    const auto withPath = Endpoint::fromUrl(QStringLiteral("s3://h.example/bkt"));
    QVERIFY(!withPath.has_value());
    QCOMPARE(withPath.error().cause, Cause::UnexpectedPath);
    QVERIFY(withPath.error().message.contains(QLatin1String("remove")));
}

QTEST_GUILESS_MAIN(TestS3Url)
#include "tst_s3url.moc"
