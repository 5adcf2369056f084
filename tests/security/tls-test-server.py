#!/usr/bin/python3
"""A loopback HTTPS server with the certificate it is given, for tst_security.

Usage: tls-test-server.py CERT KEY
Listens on 127.0.0.1 (a free port), prints `PORT=<n>` once it accepts connections, then one
line per event: `HANDSHAKE-FAILED <reason>` when a client refuses the certificate, and
`REQUEST <method> <path>` for every HTTP request that got through (a client that accepts the
certificate). Answers every request with an S3-style 403 error. Stops at EOF on stdin.
"""
import http.server
import ssl
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        print('REQUEST %s %s' % (self.command, self.path), flush=True)
        body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                b'<Message>tls test server</Message></Error>')
        self.send_response(403)
        self.send_header('Content-Type', 'application/xml')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _answer

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        print('HANDSHAKE-FAILED %s' % (sys.exc_info()[1],), flush=True)


def main():
    cert, key = sys.argv[1], sys.argv[2]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = Server(('127.0.0.1', 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)

    # The handshake runs in the request thread (do_handshake_on_connect=False), so a client
    # that refuses the certificate is reported by handle_error instead of stopping accept().
    def finish_request(request, client_address):
        request.do_handshake()
        Handler(request, client_address, server)
    server.finish_request = finish_request

    threading.Thread(target=server.serve_forever, daemon=True).start()
    print('PORT=%d' % server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == '__main__':
    main()
