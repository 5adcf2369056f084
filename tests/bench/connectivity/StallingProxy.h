#pragma once

#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>

namespace ferry::bench {

/**
 * A TCP relay on 127.0.0.1 in front of a local server, on a thread of its own, that can
 * stall: while stalled it accepts connections but moves no byte either way (its read
 * buffers are small, so senders block as on a dead link) and never answers new ones.
 */
class StallingProxy : public QObject {
public:
    explicit StallingProxy(quint16 target) : m_target(target)
    {
        m_thread.setObjectName(QStringLiteral("stalling-proxy"));
        moveToThread(&m_thread);
        m_thread.start();
        QMetaObject::invokeMethod(
            this, [this] { listen(); }, Qt::BlockingQueuedConnection);
    }
    ~StallingProxy() override
    {
        QMetaObject::invokeMethod(
            this, [this] { qDeleteAll(children()); }, Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
    }

    [[nodiscard]] quint16 port() const { return m_port; }

    void setStalled(bool stalled)
    {
        QMetaObject::invokeMethod(
            this, [this, stalled] { applyStalled(stalled); }, Qt::BlockingQueuedConnection);
    }

private:
    struct Pair {
        QTcpSocket *client;
        QTcpSocket *upstream;
    };

    void listen()
    {
        auto *server = new QTcpServer(this);
        if (!server->listen(QHostAddress::LocalHost))
            qFatal("proxy: cannot listen");
        m_port = server->serverPort();
        connect(server, &QTcpServer::newConnection, this, [this, server] {
            while (QTcpSocket *client = server->nextPendingConnection())
                accept(client);
        });
    }

    void accept(QTcpSocket *client)
    {
        client->setParent(this);
        client->setReadBufferSize(64 * 1024);
        auto *upstream = new QTcpSocket(this);
        upstream->setReadBufferSize(64 * 1024);
        m_pairs.append(Pair{client, upstream});
        connect(client, &QTcpSocket::readyRead, this,
                [this, client, upstream] { pump(client, upstream); });
        connect(upstream, &QTcpSocket::readyRead, this,
                [this, client, upstream] { pump(upstream, client); });
        connect(upstream, &QTcpSocket::connected, this,
                [this, client, upstream] { pump(client, upstream); });
        connect(client, &QTcpSocket::disconnected, this,
                [this, client, upstream] { close(client, upstream); });
        connect(upstream, &QTcpSocket::disconnected, this,
                [this, client, upstream] { close(upstream, client); });
        if (!m_stalled)
            upstream->connectToHost(QHostAddress::LocalHost, m_target);
    }

    void pump(QTcpSocket *from, QTcpSocket *to)
    {
        if (m_stalled || to->state() != QAbstractSocket::ConnectedState)
            return;
        to->write(from->readAll());
    }

    void close(QTcpSocket *from, QTcpSocket *to)
    {
        if (m_stalled)
            return; // a dead link does not pass a close on either
        if (to->state() == QAbstractSocket::ConnectedState)
            to->write(from->readAll());
        to->disconnectFromHost();
    }

    void applyStalled(bool stalled)
    {
        m_stalled = stalled;
        if (stalled)
            return;
        for (const Pair &pair : std::as_const(m_pairs)) {
            if (pair.upstream->state() == QAbstractSocket::UnconnectedState &&
                pair.client->state() == QAbstractSocket::ConnectedState)
                pair.upstream->connectToHost(QHostAddress::LocalHost, m_target);
            pump(pair.client, pair.upstream);
            pump(pair.upstream, pair.client);
        }
    }

    QThread m_thread;
    quint16 m_target;
    quint16 m_port = 0;
    bool m_stalled = false;
    QList<Pair> m_pairs;
};

} // namespace ferry::bench
