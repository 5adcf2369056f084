#include "FaultRelay.h"

#include <QTcpSocket>
#include <QTimer>

#include <algorithm>
#include <memory>
#include <utility>

namespace ferry::test {

namespace {

constexpr qint64 kHugeDeclared = 4LL * 1024 * 1024 * 1024;
constexpr qint64 kHugeChunk = 256 * 1024;

QByteArray answer(const QByteArray &status, const QByteArray &type, const QByteArray &body)
{
    return "HTTP/1.1 " + status + "\r\nContent-Type: " + type +
           "\r\nContent-Length: " + QByteArray::number(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
}

qint64 contentLength(const QByteArray &head)
{
    for (const QByteArray &line : head.split('\n')) {
        const QByteArray trimmed = line.trimmed();
        if (trimmed.toLower().startsWith("content-length:"))
            return trimmed.mid(15).trimmed().toLongLong();
    }
    return 0;
}

} // namespace

struct FaultRelay::Connection {
    QTcpSocket *client = nullptr;
    QTcpSocket *upstream = nullptr;
    QByteArray pending;  ///< client bytes not yet parsed
    qint64 bodyLeft = 0; ///< request body bytes still to forward
    bool faulted = false;
    bool trickling = false;
    QByteArray trickleQueue;
    bool trickleScheduled = false;
    bool holding = false;
    std::weak_ptr<Connection> self;
};

FaultRelay::FaultRelay(quint16 upstreamPort, QObject *parent)
    : QObject(parent), m_upstreamPort(upstreamPort)
{
    connect(&m_server, &QTcpServer::newConnection, this, &FaultRelay::accept);
}

void FaultRelay::setFault(Fault fault, const QByteArray &marker)
{
    m_fault = fault;
    m_marker = marker;
}

void FaultRelay::accept()
{
    while (QTcpSocket *client = m_server.nextPendingConnection()) {
        auto connection = std::make_shared<Connection>();
        connection->client = client;
        connection->upstream = new QTcpSocket(client);
        connection->upstream->connectToHost(QHostAddress::LocalHost, m_upstreamPort);
        Connection *raw = connection.get();
        connection->self = connection;
        connect(client, &QTcpSocket::readyRead, this,
                [this, connection] { clientData(connection.get()); });
        connect(connection->upstream, &QTcpSocket::readyRead, client, [this, raw] {
            const QByteArray data = raw->upstream->readAll();
            if (raw->faulted)
                return;
            if (raw->trickling) {
                raw->trickleQueue += data;
                if (!raw->trickleScheduled)
                    trickle(raw);
                return;
            }
            raw->client->write(data);
        });
        connect(connection->upstream, &QTcpSocket::disconnected, client, [raw] {
            if (!raw->faulted && raw->trickleQueue.isEmpty())
                raw->client->disconnectFromHost();
        });
        connect(client, &QTcpSocket::bytesWritten, client, [this, raw] {
            if (raw->faulted && m_fault == Fault::Huge)
                feedHuge(raw);
        });
        connect(client, &QTcpSocket::disconnected, client, &QObject::deleteLater);
        connect(client, &QObject::destroyed, this, [connection] {
            // The connection's state dies with its client socket.
            connection->client = nullptr;
        });
    }
}

void FaultRelay::release()
{
    m_fault = Fault::None;
    const auto held = std::exchange(m_held, {});
    for (const auto &weak : held) {
        if (auto c = weak.lock(); c && c->client) {
            c->holding = false;
            c->client->setReadBufferSize(0);
            clientData(c.get());
        }
    }
}

void FaultRelay::clientData(Connection *c)
{
    if (c->holding)
        return; // the socket's small read buffer fills, then TCP stops the sender
    c->pending += c->client->readAll();
    while (!c->faulted && !c->pending.isEmpty()) {
        if (c->bodyLeft > 0) {
            const qint64 n = std::min<qint64>(c->bodyLeft, c->pending.size());
            c->upstream->write(c->pending.left(n));
            c->pending.remove(0, n);
            c->bodyLeft -= n;
            continue;
        }
        const auto end = c->pending.indexOf("\r\n\r\n");
        if (end < 0)
            return;
        const QByteArray head = c->pending.left(end + 4);
        c->pending.remove(0, end + 4);
        const QByteArray requestLine = head.left(head.indexOf("\r\n"));
        const bool matches =
            m_fault != Fault::None && !m_marker.isEmpty() && requestLine.contains(m_marker);
        if (matches && m_fault != Fault::Trickle && m_fault != Fault::Hold) {
            c->faulted = true;
            ++m_served;
            serveFault(c);
            return;
        }
        if (matches) {
            ++m_served;
            c->trickling = m_fault == Fault::Trickle;
        }
        c->upstream->write(head);
        c->bodyLeft = contentLength(head);
        if (matches && m_fault == Fault::Hold) {
            // A little of the body goes on, the rest waits for release().
            const qint64 n = std::min<qint64>({c->bodyLeft, c->pending.size(), 4096});
            c->upstream->write(c->pending.left(n));
            c->pending.remove(0, n);
            c->bodyLeft -= n;
            c->holding = true;
            c->client->setReadBufferSize(16 * 1024);
            m_held.append(c->self);
            return;
        }
    }
}

void FaultRelay::serveFault(Connection *c)
{
    switch (m_fault) {
    case Fault::TruncatedXml:
        c->client->write(answer("200 OK", "application/xml",
                                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
                                "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
                                "<Contents><Key>half-a-ke"));
        break;
    case Fault::Garbage: {
        QByteArray bytes(4096, '\0');
        for (int i = 0; i < bytes.size(); ++i)
            bytes[i] = char((i * 131 + 7) & 0xff);
        c->client->write(answer("200 OK", "application/xml", bytes));
        break;
    }
    case Fault::HtmlPage:
        c->client->write(answer("200 OK", "text/html",
                                "<!DOCTYPE html><html><head><title>Welcome</title></head><body>"
                                "<p>Please log in to use this network.</p></body></html>"));
        break;
    case Fault::NotFoundHtml:
        c->client->write(answer("404 Not Found", "text/html",
                                "<html><body><h1>404 Not Found</h1><p>nginx</p></body></html>"));
        break;
    case Fault::WrongXml:
        c->client->write(answer("200 OK", "application/xml",
                                "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>"
                                "news</title></channel></rss>"));
        break;
    case Fault::Huge:
        c->client->write("HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: " +
                         QByteArray::number(kHugeDeclared) +
                         "\r\n\r\n<?xml version=\"1.0\"?><ListBucketResult><Name>");
        feedHuge(c);
        break;
    case Fault::Stall:
    case Fault::Trickle:
    case Fault::Hold:
    case Fault::None:
        break;
    }
    if (m_fault != Fault::Huge && m_fault != Fault::Stall)
        c->client->disconnectFromHost();
}

void FaultRelay::feedHuge(Connection *c)
{
    if (!c->client || c->client->state() != QAbstractSocket::ConnectedState)
        return;
    while (c->client->bytesToWrite() < kHugeChunk && m_hugeSent < kHugeDeclared) {
        c->client->write(QByteArray(kHugeChunk, 'x'));
        m_hugeSent += kHugeChunk;
    }
}

void FaultRelay::trickle(Connection *c)
{
    c->trickleScheduled = false;
    if (!c->client || c->trickleQueue.isEmpty())
        return;
    c->client->write(c->trickleQueue.left(32));
    c->trickleQueue.remove(0, 32);
    if (!c->trickleQueue.isEmpty()) {
        c->trickleScheduled = true;
        QTimer::singleShot(50, c->client, [this, c] { trickle(c); });
    } else if (c->upstream->state() != QAbstractSocket::ConnectedState) {
        c->client->disconnectFromHost();
    }
}

} // namespace ferry::test
