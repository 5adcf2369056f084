// AWS Signature Version 4: the canonical pieces (S3 rules), AWS's published example requests
// (S3 API reference "Signature Calculations for the Authorization Header" and the SigV4 test
// suite), and the requests the client prepares from them. Expected values are AWS's.

#include "app/s3/Credentials.h"
#include "app/s3/S3Transport.h"
#include "app/s3/SigV4.h"

#include <QBuffer>
#include <QNetworkAccessManager>
#include <QTest>

using namespace ferry::s3;

namespace {

// The S3 API reference's example credentials and time.
const Credentials s3Docs{QStringLiteral("AKIAIOSFODNN7EXAMPLE"),
                         QStringLiteral("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                         {}};
const QDateTime s3DocsTime(QDate(2013, 5, 24), QTime(0, 0), Qt::UTC);
const QByteArray s3Host = "examplebucket.s3.amazonaws.com";

// The SigV4 test suite's credentials, time, host and service.
const Credentials suite{
    QStringLiteral("AKIDEXAMPLE"), QStringLiteral("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), {}};
const QDateTime suiteTime(QDate(2015, 8, 30), QTime(12, 36), Qt::UTC);
const QByteArray suiteHost = "example.amazonaws.com";

const QByteArray unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

} // namespace

class TestS3SigV4 : public QObject {
    Q_OBJECT
private slots:
    void encodesLikeAws_data();
    void encodesLikeAws();
    void buildsCanonicalUris();
    void buildsCanonicalQueryStrings();
    void derivesTheSigningKey();
    void signsTheS3GetObjectExample();
    void signsTheS3PutObjectExample();
    void signsTheS3BucketExamples();
    void signsTheTestSuite_data();
    void signsTheTestSuite();
    void signsTheIamExample();
    void signsSessionTokens();
    void formatsDates();
    void preparesPathStyleRequests();
    void preparesVirtualHostedRequests();
    void keepsSecretsOutOfEverything();
};

void TestS3SigV4::encodesLikeAws_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<bool>("encodeSlash");
    QTest::addColumn<QByteArray>("encoded");
    QTest::newRow("unreserved kept") << QString::fromLatin1(unreserved) << true << unreserved;
    QTest::newRow("space is %20") << "a b" << true << QByteArray("a%20b");
    QTest::newRow("plus encoded") << "a+b" << true << QByteArray("a%2Bb");
    QTest::newRow("slash in value") << "a/b" << true << QByteArray("a%2Fb");
    QTest::newRow("slash in path") << "a/b" << false << QByteArray("a/b");
    QTest::newRow("sub-delims") << "!'()*$&,;=" << true
                                << QByteArray("%21%27%28%29%2A%24%26%2C%3B%3D");
    QTest::newRow("percent") << "100%" << true << QByteArray("100%25");
    QTest::newRow("utf-8 upper hex") << "é€" << true << QByteArray("%C3%A9%E2%82%AC");
    QTest::newRow("gen-delims") << ":?#[]@" << true << QByteArray("%3A%3F%23%5B%5D%40");
}

void TestS3SigV4::encodesLikeAws()
{
    QFETCH(QString, input);
    QFETCH(bool, encodeSlash);
    QTEST(sigv4::uriEncode(input.toUtf8(), encodeSlash), "encoded");
}

void TestS3SigV4::buildsCanonicalUris()
{
    QCOMPARE(sigv4::canonicalUri(QString()), QByteArray("/"));
    QCOMPARE(sigv4::canonicalUri(QStringLiteral("/")), QByteArray("/"));
    QCOMPARE(sigv4::canonicalUri(QStringLiteral("/test$file.text")),
             QByteArray("/test%24file.text"));
    // Each segment encoded once (S3 does not double-encode), slashes and empty segments kept.
    QCOMPARE(sigv4::canonicalUri(QStringLiteral("/bkt/my photos//a%20b+c=d.jpg")),
             QByteArray("/bkt/my%20photos//a%2520b%2Bc%3Dd.jpg"));
    QCOMPARE(sigv4::canonicalUri(QStringLiteral("/bkt/dir/")), QByteArray("/bkt/dir/"));
    QCOMPARE(sigv4::canonicalUri(QStringLiteral("/bkt/été")), QByteArray("/bkt/%C3%A9t%C3%A9"));
}

void TestS3SigV4::buildsCanonicalQueryStrings()
{
    QCOMPARE(sigv4::canonicalQueryString({}), QByteArray());
    // Sorted by key, then value; a key without value gets `=`.
    QCOMPARE(sigv4::canonicalQueryString({{QStringLiteral("uploads"), QString()},
                                          {QStringLiteral("prefix"), QStringLiteral("a/b c")},
                                          {QStringLiteral("list-type"), QStringLiteral("2")}}),
             QByteArray("list-type=2&prefix=a%2Fb%20c&uploads="));
    QCOMPARE(sigv4::canonicalQueryString({{QStringLiteral("b"), QStringLiteral("2")},
                                          {QStringLiteral("a"), QStringLiteral("z")},
                                          {QStringLiteral("a"), QStringLiteral("y")}}),
             QByteArray("a=y&a=z&b=2"));
    // Upper-case sorts before lower-case (byte order), as in get-vanilla-query-order-key-case.
    QCOMPARE(sigv4::canonicalQueryString({{QStringLiteral("uploadId"), QStringLiteral("x+y/z==")},
                                          {QStringLiteral("partNumber"), QStringLiteral("7")},
                                          {QStringLiteral("Param"), QStringLiteral("1")}}),
             QByteArray("Param=1&partNumber=7&uploadId=x%2By%2Fz%3D%3D"));
}

void TestS3SigV4::derivesTheSigningKey()
{
    // The documented derivation for 20150830/us-east-1/iam.
    const SigV4Signer signer(suite, QStringLiteral("us-east-1"), QStringLiteral("iam"));
    QCOMPARE(signer.signingKey(QDate(2015, 8, 30)).toHex(),
             QByteArray("c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"));
}

void TestS3SigV4::signsTheS3GetObjectExample()
{
    const SigV4Signer signer(s3Docs, QStringLiteral("us-east-1"));
    SigningRequest request;
    request.method = "GET";
    request.path = QStringLiteral("/test.txt");
    request.headers = {{"Host", s3Host},
                       {"Range", "bytes=0-9"},
                       {"x-amz-content-sha256", sigv4::EmptyPayloadHash}};
    const SignedRequest signature = signer.sign(request, s3DocsTime);

    QCOMPARE(signature.canonicalRequest,
             QByteArray("GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
                        "range:bytes=0-9\n"
                        "x-amz-content-sha256:"
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
                        "x-amz-date:20130524T000000Z\n\n"
                        "host;range;x-amz-content-sha256;x-amz-date\n"
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    QCOMPARE(signature.stringToSign,
             QByteArray("AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"));
    QCOMPARE(signature.signature,
             QByteArray("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"));
    QCOMPARE(
        signature.authorization,
        QByteArray("AWS4-HMAC-SHA256 "
                   "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                   "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                   "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"));
    QVERIFY(signature.headersToAdd.contains(HeaderItem{"x-amz-date", "20130524T000000Z"}));
}

void TestS3SigV4::signsTheS3PutObjectExample()
{
    const QByteArray body = "Welcome to Amazon S3.";
    const QByteArray hash = sigv4::payloadHash(body);
    QCOMPARE(hash, QByteArray("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"));

    const SigV4Signer signer(s3Docs, QStringLiteral("us-east-1"));
    SigningRequest request;
    request.method = "PUT";
    request.path = QStringLiteral("/test$file.text");
    request.headers = {{"Host", s3Host},
                       {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                       {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                       {"x-amz-content-sha256", hash}};
    request.payloadHash = hash;
    const SignedRequest signature = signer.sign(request, s3DocsTime);
    QVERIFY(signature.canonicalRequest.startsWith("PUT\n/test%24file.text\n\n"));
    QCOMPARE(signature.signedHeaders,
             QByteArray("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class"));
    QCOMPARE(signature.signature,
             QByteArray("98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"));
}

void TestS3SigV4::signsTheS3BucketExamples()
{
    const SigV4Signer signer(s3Docs, QStringLiteral("us-east-1"));
    SigningRequest request;
    request.method = "GET";
    request.path = QStringLiteral("/");
    request.headers = {{"Host", s3Host}, {"x-amz-content-sha256", sigv4::EmptyPayloadHash}};

    // GET Bucket Lifecycle: a sub-resource without a value.
    request.query = {{QStringLiteral("lifecycle"), QString()}};
    QCOMPARE(signer.sign(request, s3DocsTime).signature,
             QByteArray("fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"));

    // GET Bucket (List Objects): given out of order, signed sorted.
    request.query = {{QStringLiteral("prefix"), QStringLiteral("J")},
                     {QStringLiteral("max-keys"), QStringLiteral("2")}};
    const SignedRequest list = signer.sign(request, s3DocsTime);
    QVERIFY(list.canonicalRequest.startsWith("GET\n/\nmax-keys=2&prefix=J\n"));
    QCOMPARE(list.signature,
             QByteArray("34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
}

void TestS3SigV4::signsTheTestSuite_data()
{
    using Headers = QList<HeaderItem>;
    using Query = QList<QueryItem>;
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QString>("path");
    QTest::addColumn<Query>("query");
    QTest::addColumn<Headers>("headers");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QByteArray>("signedHeaders");
    QTest::addColumn<QByteArray>("signature");

    const QByteArray basic = "host;x-amz-date";
    QTest::newRow("get-vanilla")
        << QByteArray("GET") << "/" << Query{} << Headers{} << QByteArray() << basic
        << QByteArray("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    QTest::newRow("get-vanilla-query-order-key-case")
        << QByteArray("GET") << "/"
        << Query{{QStringLiteral("Param2"), QStringLiteral("value2")},
                 {QStringLiteral("Param1"), QStringLiteral("value1")}}
        << Headers{} << QByteArray() << basic
        << QByteArray("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
    QTest::newRow("get-vanilla-empty-query-key")
        << QByteArray("GET") << "/" << Query{{QStringLiteral("Param1"), QStringLiteral("value1")}}
        << Headers{} << QByteArray() << basic
        << QByteArray("a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb");
    QTest::newRow("get-vanilla-query-unreserved")
        << QByteArray("GET") << "/"
        << Query{{QString::fromLatin1(unreserved), QString::fromLatin1(unreserved)}} << Headers{}
        << QByteArray() << basic
        << QByteArray("9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197");
    QTest::newRow("get-vanilla-utf8-query")
        << QByteArray("GET") << "/" << Query{{QStringLiteral("\u1234"), QStringLiteral("bar")}}
        << Headers{} << QByteArray() << basic
        << QByteArray("2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04");
    QTest::newRow("get-unreserved")
        << QByteArray("GET") << "/" + QString::fromLatin1(unreserved) << Query{} << Headers{}
        << QByteArray() << basic
        << QByteArray("07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
    QTest::newRow("get-utf8")
        << QByteArray("GET") << "/\u1234" << Query{} << Headers{} << QByteArray() << basic
        << QByteArray("8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
    QTest::newRow("get-space")
        << QByteArray("GET") << "/example space/" << Query{} << Headers{} << QByteArray() << basic
        << QByteArray("652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");
    QTest::newRow("get-header-key-duplicate")
        << QByteArray("GET") << "/" << Query{}
        << Headers{{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}}
        << QByteArray() << QByteArray("host;my-header1;x-amz-date")
        << QByteArray("c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea");
    QTest::newRow("get-header-value-order")
        << QByteArray("GET") << "/" << Query{}
        << Headers{{"My-Header1", "value4"},
                   {"My-Header1", "value1"},
                   {"My-Header1", "value3"},
                   {"My-Header1", "value2"}}
        << QByteArray() << QByteArray("host;my-header1;x-amz-date")
        << QByteArray("08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01");
    QTest::newRow("get-header-value-trim")
        << QByteArray("GET") << "/" << Query{}
        << Headers{{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}} << QByteArray()
        << QByteArray("host;my-header1;my-header2;x-amz-date")
        << QByteArray("acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
    QTest::newRow("post-vanilla")
        << QByteArray("POST") << "/" << Query{} << Headers{} << QByteArray() << basic
        << QByteArray("5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
    QTest::newRow("post-vanilla-query")
        << QByteArray("POST") << "/" << Query{{QStringLiteral("Param1"), QStringLiteral("value1")}}
        << Headers{} << QByteArray() << basic
        << QByteArray("28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11");
    QTest::newRow("post-x-www-form-urlencoded")
        << QByteArray("POST") << "/" << Query{}
        << Headers{{"Content-Type", "application/x-www-form-urlencoded"}}
        << QByteArray("Param1=value1") << QByteArray("content-type;host;x-amz-date")
        << QByteArray("ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

void TestS3SigV4::signsTheTestSuite()
{
    QFETCH(QByteArray, method);
    QFETCH(QString, path);
    QFETCH(QList<QueryItem>, query);
    QFETCH(QList<HeaderItem>, headers);
    QFETCH(QByteArray, body);

    const SigV4Signer signer(suite, QStringLiteral("us-east-1"), QStringLiteral("service"));
    SigningRequest request;
    request.method = method;
    request.path = path;
    request.query = query;
    request.headers = headers;
    request.headers.prepend({"Host", suiteHost});
    request.payloadHash = sigv4::payloadHash(body);
    const SignedRequest signature = signer.sign(request, suiteTime);
    QTEST(signature.signedHeaders, "signedHeaders");
    QTEST(signature.signature, "signature");
    QVERIFY(signature.authorization.startsWith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "));
}

void TestS3SigV4::signsTheIamExample()
{
    // The general reference's worked example: IAM ListUsers.
    const SigV4Signer signer(suite, QStringLiteral("us-east-1"), QStringLiteral("iam"));
    SigningRequest request;
    request.method = "GET";
    request.query = {{QStringLiteral("Version"), QStringLiteral("2010-05-08")},
                     {QStringLiteral("Action"), QStringLiteral("ListUsers")}};
    request.headers = {{"Host", "iam.amazonaws.com"},
                       {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    const SignedRequest signature = signer.sign(request, suiteTime);
    QCOMPARE(sigv4::payloadHash(signature.canonicalRequest),
             QByteArray("f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"));
    QCOMPARE(signature.signature,
             QByteArray("5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"));
}

void TestS3SigV4::signsSessionTokens()
{
    // post-sts-header-before: the token is sent and signed.
    Credentials temporary = suite;
    temporary.sessionToken = QStringLiteral(
        "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRX"
        "mxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsbu"
        "rEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0i"
        "PPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==");
    const SigV4Signer signer(temporary, QStringLiteral("us-east-1"), QStringLiteral("service"));
    SigningRequest request;
    request.method = "POST";
    request.headers = {{"Host", suiteHost}};
    const SignedRequest signature = signer.sign(request, suiteTime);
    QCOMPARE(signature.signedHeaders, QByteArray("host;x-amz-date;x-amz-security-token"));
    QCOMPARE(signature.signature,
             QByteArray("85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"));
    QVERIFY(signature.headersToAdd.contains(
        HeaderItem{"x-amz-security-token", temporary.sessionToken.toUtf8()}));
}

void TestS3SigV4::formatsDates()
{
    QCOMPARE(sigv4::amzDate(QDateTime(QDate(2026, 1, 2), QTime(3, 4, 5, 678), Qt::UTC)),
             QByteArray("20260102T030405Z"));
    // Local times are converted to UTC first.
    const QDateTime plusTwo(QDate(2026, 1, 2), QTime(1, 0), Qt::OffsetFromUTC, 2 * 3600);
    QCOMPARE(sigv4::amzDate(plusTwo), QByteArray("20260101T230000Z"));
}

void TestS3SigV4::preparesPathStyleRequests()
{
    ClientConfig config;
    config.endpoint = Endpoint::fromUrl(QStringLiteral("http://127.0.0.1:9000")).value();
    config.credentials = {QStringLiteral("ferry-test"), QStringLiteral("testing"), {}};
    QNetworkAccessManager network;
    const S3Transport transport(config, &network);

    S3Request request;
    request.method = "PUT";
    request.bucket = QStringLiteral("photos");
    request.key = QStringLiteral("2024/my trip+1/été$=.jpg");
    request.query = {{QStringLiteral("uploadId"), QStringLiteral("a/b+c==")},
                     {QStringLiteral("partNumber"), QStringLiteral("3")}};
    request.headers = {{"content-md5", "1B2M2Y8AsgTpgAmY7PhCfg=="}};
    request.body = "hello";
    const QNetworkRequest prepared = transport.prepare(request, s3DocsTime);

    // What goes on the wire is exactly what was signed.
    QCOMPARE(prepared.url().toEncoded(),
             QByteArray("http://127.0.0.1:9000/photos/2024/my%20trip%2B1/%C3%A9t%C3%A9%24%3D.jpg"
                        "?partNumber=3&uploadId=a%2Fb%2Bc%3D%3D"));
    QCOMPARE(prepared.rawHeader("host"), QByteArray("127.0.0.1:9000"));
    QCOMPARE(prepared.rawHeader("x-amz-content-sha256"), sigv4::payloadHash("hello"));
    QCOMPARE(prepared.rawHeader("x-amz-date"), QByteArray("20130524T000000Z"));
    QCOMPARE(prepared.rawHeader("Accept-Encoding"), QByteArray("identity"));
    QCOMPARE(prepared.header(QNetworkRequest::ContentLengthHeader).toLongLong(), 5);
    QVERIFY(prepared.rawHeader("Authorization")
                .startsWith("AWS4-HMAC-SHA256 Credential=ferry-test/20130524/us-east-1/s3/"
                            "aws4_request, SignedHeaders=content-md5;host;x-amz-content-sha256;"
                            "x-amz-date, Signature="));
    QCOMPARE(prepared.attribute(QNetworkRequest::RedirectPolicyAttribute).toInt(),
             int(QNetworkRequest::ManualRedirectPolicy));
    QCOMPARE(prepared.transferTimeout(), 60000);

    // Recompute the signature independently from the canonical pieces.
    SigningRequest signing;
    signing.method = "PUT";
    signing.path = QStringLiteral("/photos/2024/my trip+1/été$=.jpg");
    signing.query = request.query;
    signing.headers = {{"content-md5", "1B2M2Y8AsgTpgAmY7PhCfg=="},
                       {"host", "127.0.0.1:9000"},
                       {"x-amz-content-sha256", sigv4::payloadHash("hello")}};
    signing.payloadHash = sigv4::payloadHash("hello");
    const auto expected =
        SigV4Signer(config.credentials, QStringLiteral("us-east-1")).sign(signing, s3DocsTime);
    QCOMPARE(prepared.rawHeader("Authorization"), expected.authorization);

    // Streamed bodies are UNSIGNED-PAYLOAD.
    auto device = std::make_shared<QBuffer>();
    device->setData("streamed");
    device->open(QIODevice::ReadOnly);
    S3Request streamed;
    streamed.method = "PUT";
    streamed.bucket = QStringLiteral("photos");
    streamed.key = QStringLiteral("k");
    streamed.bodyDevice = device;
    const QNetworkRequest preparedStream = transport.prepare(streamed, s3DocsTime);
    QCOMPARE(preparedStream.rawHeader("x-amz-content-sha256"), QByteArray("UNSIGNED-PAYLOAD"));
    QCOMPARE(preparedStream.header(QNetworkRequest::ContentLengthHeader).toLongLong(), 8);

    // Bucket-level and service-level paths.
    S3Request bucketLevel;
    bucketLevel.method = "GET";
    bucketLevel.bucket = QStringLiteral("photos");
    bucketLevel.query = {{QStringLiteral("uploads"), QString()}};
    QCOMPARE(transport.prepare(bucketLevel, s3DocsTime).url().toEncoded(),
             QByteArray("http://127.0.0.1:9000/photos?uploads="));
}

void TestS3SigV4::preparesVirtualHostedRequests()
{
    ClientConfig config;
    config.endpoint = Endpoint::fromUrl(QStringLiteral("s3://s3.eu-west-1.amazonaws.com")).value();
    config.credentials = s3Docs;
    QNetworkAccessManager network;
    const S3Transport transport(config, &network);
    S3Request request;
    request.method = "GET";
    request.bucket = QStringLiteral("photos");
    request.key = QStringLiteral("a b.txt");
    const QNetworkRequest prepared = transport.prepare(request, s3DocsTime);
    QCOMPARE(prepared.url().toEncoded(),
             QByteArray("https://photos.s3.eu-west-1.amazonaws.com/a%20b.txt"));
    QCOMPARE(prepared.rawHeader("host"), QByteArray("photos.s3.eu-west-1.amazonaws.com"));
    QVERIFY(prepared.rawHeader("Authorization").contains("/20130524/eu-west-1/s3/aws4_request"));
}

void TestS3SigV4::keepsSecretsOutOfEverything()
{
    Credentials credentials{QStringLiteral("AKIDSHOWN"), QStringLiteral("top-secret-value"),
                            QStringLiteral("session-secret")};
    QString printed;
    QDebug(&printed) << credentials;
    QVERIFY(printed.contains(QLatin1String("AKIDSHOWN")));
    QVERIFY(!printed.contains(QLatin1String("top-secret-value")));
    QVERIFY(!printed.contains(QLatin1String("session-secret")));
    QVERIFY(!credentials.describe().contains(QLatin1String("top-secret")));

    ClientConfig config;
    config.endpoint = Endpoint::fromUrl(QStringLiteral("http://127.0.0.1:9000")).value();
    config.credentials = credentials;
    QNetworkAccessManager network;
    const S3Transport transport(config, &network);
    S3Request request;
    request.method = "GET";
    request.bucket = QStringLiteral("b1b");
    const QNetworkRequest prepared = transport.prepare(request, s3DocsTime);
    for (const QByteArray &name : prepared.rawHeaderList())
        QVERIFY2(!prepared.rawHeader(name).contains("top-secret-value"), name.constData());
    const S3ErrorContext context =
        transport.context(QStringLiteral("listing"), QStringLiteral("b1b"));
    const S3Error error = S3Error::fromResponse(
        403, "<Error><Code>SignatureDoesNotMatch</Code><Message>m</Message></Error>", context);
    QVERIFY(error.message().contains(QLatin1String("AKIDSHOWN")));
    QVERIFY(!error.message().contains(QLatin1String("top-secret-value")));
    QVERIFY(!error.toString().contains(QLatin1String("top-secret-value")));
}

QTEST_GUILESS_MAIN(TestS3SigV4)
#include "tst_s3sigv4.moc"
