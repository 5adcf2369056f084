#pragma once

// What the bad-input suites that talk to the local S3 server share.

#include "app/s3/S3Client.h"
#include "support/S3TestServer.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcessEnvironment>
#include <QString>

#include <memory>

namespace ferry::test {

/// Writes `content` to `path`, creating its folders.
inline void writeFile(const QString &path, const QByteArray &content)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        qFatal("cannot write %s", qPrintable(path));
    file.write(content);
}

/// The environment `ferry` runs in for a case: the file secret store and a private HOME.
inline QProcessEnvironment ferryEnvironment(const QString &home)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("FERRY_SECRET_STORE"), QStringLiteral("file"));
    env.insert(QStringLiteral("HOME"), home);
    return env;
}

/// A client of the local test server on `port`, with the test credentials.
inline std::unique_ptr<s3::S3Client> testServerClient(quint16 port)
{
    s3::ClientConfig config;
    config.endpoint = *s3::Endpoint::fromUrl(QStringLiteral("http://127.0.0.1:%1").arg(port));
    config.credentials.accessKeyId = S3TestServer::accessKey();
    config.credentials.secretAccessKey = S3TestServer::secretKey();
    return std::make_unique<s3::S3Client>(config);
}

} // namespace ferry::test
