#include "ControlServer.h"

#include <QCoro/QCoroLocalSocket>
#include <QDeadlineTimer>
#include <QDir>
#include <QJsonDocument>
#include <QLocalServer>
#include <QLocalSocket>

namespace ferry::cli {

ControlServer::ControlServer(QString dataDir, Handler handler, QObject *parent)
    : QObject(parent), m_dataDir(std::move(dataDir)), m_handler(std::move(handler)),
      m_server(new QLocalServer(this))
{
    m_server->setSocketOptions(QLocalServer::UserAccessOption);
    connect(m_server, &QLocalServer::newConnection, this, [this] {
        while (QLocalSocket *socket = m_server->nextPendingConnection())
            serve(socket);
    });
}

QString ControlServer::socketPath(const QString &dataDir)
{
    return QDir(dataDir).filePath(QStringLiteral("ferry.sock"));
}

bool ControlServer::listen(QString *error)
{
    const QString path = socketPath(m_dataDir);
    QLocalServer::removeServer(path);
    if (m_server->listen(path))
        return true;
    if (error)
        *error = m_server->errorString();
    return false;
}

QCoro::Task<void> ControlServer::serve(QLocalSocket *socket)
{
    socket->setParent(this);
    while (!socket->canReadLine()) {
        if (socket->state() != QLocalSocket::ConnectedState) {
            socket->deleteLater();
            co_return;
        }
        co_await qCoro(socket).waitForReadyRead(10'000);
    }
    const QJsonObject request = QJsonDocument::fromJson(socket->readLine()).object();
    const QList<QJsonObject> lines = co_await m_handler(request);
    for (const auto &line : lines)
        socket->write(QJsonDocument(line).toJson(QJsonDocument::Compact) + '\n');
    QJsonObject end;
    end[QStringLiteral("end")] = true;
    socket->write(QJsonDocument(end).toJson(QJsonDocument::Compact) + '\n');
    socket->flush();
    socket->disconnectFromServer();
    socket->deleteLater();
}

std::optional<QList<QJsonObject>> ControlServer::ask(const QString &dataDir,
                                                     const QJsonObject &request, int timeoutMs)
{
    QLocalSocket socket;
    socket.connectToServer(socketPath(dataDir));
    if (!socket.waitForConnected(2000))
        return std::nullopt;
    socket.write(QJsonDocument(request).toJson(QJsonDocument::Compact) + '\n');
    socket.flush();
    QList<QJsonObject> lines;
    QDeadlineTimer deadline(timeoutMs);
    while (!deadline.hasExpired()) {
        while (socket.canReadLine()) {
            const QJsonObject line = QJsonDocument::fromJson(socket.readLine()).object();
            if (line.value(QStringLiteral("end")).toBool())
                return lines;
            lines.append(line);
        }
        if (socket.state() != QLocalSocket::ConnectedState && !socket.bytesAvailable())
            break;
        socket.waitForReadyRead(int(std::max<qint64>(1, deadline.remainingTime())));
    }
    return lines;
}

} // namespace ferry::cli
