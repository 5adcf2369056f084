#pragma once

namespace ferry::s3 {

/// Turns Nagle's algorithm off (TCP_NODELAY) on every connected TCP socket of this process
/// that still has it on, and returns how many it changed.
///
/// Qt's HTTP/1.1 channels never set TCP_NODELAY and QNetworkAccessManager does not expose its
/// sockets. A request body goes out in 16 KiB writes, so its last write waits for the
/// server's ACK of the one before, which a server reading a body delays by up to 40 ms:
/// 1,000 PUTs of 32 KiB, 4 at a time, took 14 s instead of 7-8 s against the local test
/// server. curl, urllib3 (awscli) and Go (rclone) all send without Nagle's delay; so does
/// Ferry, by calling this whenever its transport may have opened a connection. Setting the
/// option also sends at once a segment the kernel is holding back.
///
/// Listening sockets and non-TCP sockets are left alone. Linux only (it walks
/// /proc/self/fd); elsewhere it does nothing and returns 0. Thread-safe.
int disableNagleOnTcpSockets();

} // namespace ferry::s3
