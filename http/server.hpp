// The inbound HTTP/1.1 server on Boost.Beast. This header includes no Beast:
// the implementation (http/server.cpp) is the only translation unit that
// instantiates it.
#pragma once

#include "http/message.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace ls::http {

struct server_options {
  std::string listen =
      "127.0.0.1:0"; ///< "host:port", "[v6]:port"; port 0 picks a free port
  unsigned threads = 2;
  size_t body_limit = 1024 * 1024; ///< larger bodies get 413
  size_t header_limit = 16 * 1024; ///< larger request heads get 431
  /// The whole request head must arrive within this time (slowloris guard), and
  /// each body must arrive within body_timeout; a keep-alive connection idle
  /// this long is closed.
  std::chrono::milliseconds header_timeout = std::chrono::seconds(10);
  std::chrono::milliseconds body_timeout = std::chrono::seconds(30);
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  /// How long a response (or one chunk of a stream) may take to be written.
  std::chrono::milliseconds write_timeout = std::chrono::seconds(60);
  /// At most this many connections (capped at start() to the process's
  /// file-descriptor limit minus a reserve for storage and outgoing calls).
  /// Beyond: see shed_waiting.
  size_t max_connections = 10000;
  /// At the limit, a new connection takes the place of the open connection
  /// that has waited longest without delivering a complete request (an idle
  /// keep-alive connection, or a head or body still arriving: slowloris), so
  /// that idle or slow connections cannot starve fresh clients. When none is
  /// waiting (every connection has a request in hand or is a WebSocket), or
  /// when false, the new connection is accepted and closed at once.
  bool shed_waiting = true;
  std::string server_name = "linkstacked";
  /// WebSockets: bytes queued for a peer before it is cut off (1008), the
  /// largest message taken from a peer, and the idle time after which a ping
  /// goes out (a peer silent for twice this long, pong included, is closed).
  size_t ws_max_queued = 1024 * 1024;
  size_t ws_max_message = 64 * 1024;
  std::chrono::milliseconds ws_ping_interval = std::chrono::seconds(15);
};

/// Owns its io_context and threads. Thread-safe: start/stop from any thread.
class server {
public:
  server(server_options opts, request_handler handler);
  ~server(); ///< stops and joins
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and listens (throws std::runtime_error with a clear message on
  /// failure, e.g. the port in use), then runs the io threads.
  void start();
  /// The bound port (after start).
  uint16_t port() const;
  /// Closes the listening socket; open connections go on. Idempotent.
  void stop_accepting();
  /// Waits up to `grace` for in-flight requests to complete, then closes every
  /// connection and joins the threads. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  /// Connections currently open.
  size_t connection_count() const;
  /// The connection limit in effect (after start): max_connections, capped by
  /// the file-descriptor limit.
  size_t connection_limit() const;
  /// Connections closed so far to make room for new ones (shed_waiting).
  size_t shed_count() const;
  /// Connections that could be shed now: waiting for a request (new, or idle
  /// once their last answer is written). For tests that must order events.
  size_t waiting_count() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace ls::http
