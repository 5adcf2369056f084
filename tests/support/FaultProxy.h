#pragma once

#include <QByteArray>
#include <QList>
#include <QMutex>
#include <QRegularExpression>
#include <QString>

#include <functional>
#include <memory>
#include <optional>

class QThread;

namespace ferry::test {

/// What the proxy does to one request it matched (see FaultProxy).
struct Fault {
    enum class Action {
        Delay,      ///< Forwards, holds the answer for `delayMs`, then sends it unchanged.
        Stall,      ///< Forwards (when `forward`), never answers; the connection stays open.
        Reset,      ///< Resets (RST) the connection mid-body: after half the request body when
                    ///< there is one (nothing forwarded), else after half the response body.
        Status,     ///< Answers `status` with an S3 `<Error>` document (`code`, `message`).
        Truncate,   ///< Forwards; sends the first half of the body (Content-Length adjusted).
        Garble,     ///< Forwards; scrambles the middle third of the body (same length).
        HtmlPage,   ///< Answers `status` with an HTML page, as a captive portal or gateway.
        Redirect301 ///< Answers 301 PermanentRedirect naming `region` (header and body).
    };
    Action action = Action::Status;
    int delayMs = 0;
    /// Stall, Status, HtmlPage, Redirect301: whether the request reaches the server first (its
    /// answer is then dropped: the request took effect, the client never learns it).
    bool forward = false;
    int status = 503;
    QByteArray code = "SlowDown";
    QByteArray message = "Please reduce your request rate.";
    QString region = QStringLiteral("eu-west-1");

    [[nodiscard]] static Fault delay(int ms);
    [[nodiscard]] static Fault stall(bool forward = true);
    /// This fault, after the request reached the server (the answer is lost on the way back).
    [[nodiscard]] Fault afterForwarding() const;
    [[nodiscard]] static Fault reset();
    [[nodiscard]] static Fault error(int status, const QByteArray &code, const QByteArray &message);
    [[nodiscard]] static Fault slowDown() { return error(503, "SlowDown", "Reduce your rate."); }
    [[nodiscard]] static Fault internalError();
    [[nodiscard]] static Fault truncate();
    [[nodiscard]] static Fault garble();
    [[nodiscard]] static Fault htmlPage(int status);
    [[nodiscard]] static Fault redirect(const QString &region);
};

/// One request as the proxy saw it.
struct ProxiedRequest {
    QByteArray method;
    QByteArray path;  ///< Without the query, as sent (percent-encoded).
    QByteArray query; ///< Without the `?`; empty when none.
    QList<QPair<QByteArray, QByteArray>> headers;
    qint64 bodySize = 0;
    bool faulted = false; ///< A rule applied to it.
    [[nodiscard]] QByteArray header(const QByteArray &name) const;
};

/**
 * Which requests a Fault applies to: all criteria must hold (empty ones always do). Of the
 * matching requests the first `skip` pass untouched, the next `times` get the fault (-1: all).
 */
struct FaultRule {
    QByteArray method;        ///< `PUT`, `GET`...; empty: any.
    QRegularExpression path;  ///< Searched in the path; invalid/empty pattern: any.
    QByteArray queryContains; ///< Substring of the raw query (`uploads`, `partNumber=2`).
    std::function<bool(const ProxiedRequest &)> predicate; ///< Extra condition; null: none.
    int skip = 0;
    int times = 1;
    Fault fault;

    int matched = 0; ///< Matching requests seen so far (kept by the proxy).
    int applied = 0; ///< Times the fault was applied (kept by the proxy).
};

/**
 * A fault-injecting HTTP/1.1 proxy for tests, between Ferry and the local S3 server, listening
 * on 127.0.0.1 only. Point a profile's remote (or a ClientConfig) at `endpoint()`.
 *
 * Requests are forwarded byte for byte, Host header included: the client signs (SigV4) for
 * the proxy's host:port and the server checks the signature against that same Host header,
 * so forwarded requests stay valid. Keep-alive connections and Content-Length bodies are
 * supported (each client connection gets one server connection); responses are read whole
 * (Content-Length, chunked or until close) before they are sent on, possibly changed.
 *
 * Rules are checked in the order added; the first that matches a request decides its fault.
 * Rules may be added and cleared while requests flow. The proxy runs on a thread of its own,
 * so it keeps answering while a test thread blocks.
 */
class FaultProxy {
public:
    /// A proxy in front of 127.0.0.1:`upstreamPort`; call listen() before use.
    explicit FaultProxy(quint16 upstreamPort);
    ~FaultProxy();
    FaultProxy(const FaultProxy &) = delete;
    FaultProxy &operator=(const FaultProxy &) = delete;

    /// Starts listening on 127.0.0.1 (@p port 0: any free port). False when that failed.
    [[nodiscard]] bool listen(quint16 port = 0);
    [[nodiscard]] quint16 port() const { return m_port; }
    /// `http://127.0.0.1:PORT`
    [[nodiscard]] QString endpoint() const;

    /// Adds a rule; returns its index for matched() / applied().
    int addRule(FaultRule rule);
    /// Shorthand: the first @p times requests with @p method whose path matches @p pathPattern.
    int addRule(const QByteArray &method, const QString &pathPattern, Fault fault, int times = 1,
                int skip = 0);
    void clearRules();
    /// Resets (RST) every connection a Stall fault holds, as a network that comes back after
    /// dropping them would; returns how many. Their clients see a connection error.
    int resetStalled();

    [[nodiscard]] int matched(int rule) const;
    [[nodiscard]] int applied(int rule) const;
    /// Every request seen since the start or the last clearLog(), in arrival order.
    [[nodiscard]] QList<ProxiedRequest> requests() const;
    void clearLog();
    /// Client connections accepted so far (keep-alive reuses them).
    [[nodiscard]] int connectionsAccepted() const;

    /// For the connections: the fault for @p request (logged), or none.
    [[nodiscard]] std::optional<Fault> decide(ProxiedRequest request);
    void countConnection();

private:
    quint16 m_upstreamPort;
    quint16 m_port = 0;
    std::unique_ptr<QThread> m_thread;
    class Server;
    Server *m_server = nullptr; ///< Lives on m_thread.
    mutable QMutex m_mutex;
    QList<FaultRule> m_rules;
    QList<ProxiedRequest> m_log;
    int m_connections = 0;
};

} // namespace ferry::test
