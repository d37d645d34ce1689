// Plain HTTP request/response types shared by the Beast server
// (http/server.cpp) and the actor glue. Nothing here includes Beast or CAF, so
// handlers compile fast.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ls::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

/// An inbound request, fully read (the body is complete and within the body
/// limit).
struct request {
  std::string method;  ///< "GET", "POST", ...
  std::string target;  ///< as sent: path plus optional "?query"
  std::string path;    ///< target up to '?', not percent-decoded
  std::string query;   ///< after '?', not decoded; empty when absent
  header_list headers; ///< names lowercased, in arrival order
  std::string body;
  std::string remote_ip;          ///< peer address, e.g. "127.0.0.1" or "::1"
  bool websocket_upgrade = false; ///< a valid WebSocket handshake (RFC 6455)

  /// The first header with this (lowercase) name, or nullptr.
  const std::string* header(std::string_view lowercase_name) const {
    for (auto& [k, v] : headers)
      if (k == lowercase_name) return &v;
    return nullptr;
  }
};

/// A complete response. The server adds Date, Server, Content-Length and
/// Connection.
struct response {
  unsigned status = 200;
  header_list headers; ///< e.g. {"content-type", "application/json"}
  std::string body;

  response& set(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

/// Pull-based producer of a chunked response body. The server calls pull() once
/// at start and again only after the previous chunk is written to the socket
/// (back-pressure). The producer answers each pull() by calling `deliver`
/// exactly once, from any thread.
class body_stream {
public:
  using deliver_fn = std::function<void(std::string chunk, bool last)>;
  virtual ~body_stream() = default;
  virtual void pull(deliver_fn deliver) = 0;
  /// The client went away or the server is stopping: release resources, no more
  /// pulls.
  virtual void cancel() {}
  /// True when the producer could not go on and ended early. The server then
  /// closes the connection without the final chunk, so that the client sees
  /// an incomplete transfer, not a short body that looks whole.
  virtual bool failed() const { return false; }
};

/// One open WebSocket, as the application sees it. Thread-safe; every call
/// returns at once (the work is posted to the connection's strand).
class ws_channel {
public:
  virtual ~ws_channel() = default;
  /// Queues a text frame. A peer that does not keep up (more than
  /// server_options::ws_max_queued bytes waiting) is disconnected instead of
  /// being buffered for.
  virtual void send(std::string text) = 0;
  /// Starts the close handshake (bounded by the handshake timeout).
  virtual void close(uint16_t code, std::string reason) = 0;
};

/// The application's side of one WebSocket. Called on the connection's strand,
/// one call at a time.
class ws_handler {
public:
  virtual ~ws_handler() = default;
  virtual void on_open(std::shared_ptr<ws_channel> channel) = 0;
  /// A text or binary message from the peer (at most ws_max_message bytes).
  virtual void on_message(std::string_view) {}
  /// The socket is gone: closed by either side, cut off, timed out (no pong)
  /// or the server stopping. Called once, after on_open.
  virtual void on_close() = 0;
};

/// Completes one request, exactly once, from any thread. It never blocks: the
/// response is posted to the connection's strand.
class responder {
public:
  virtual ~responder() = default;
  virtual void reply(response r) = 0;
  /// Sends `head` (status and headers; its body is ignored) then the chunks of
  /// `body`, with Transfer-Encoding: chunked.
  virtual void stream(response head, std::shared_ptr<body_stream> body) = 0;
  /// Closes the connection without answering (to play a dropped connection in
  /// the Mailchimp simulator). Counts as the reply.
  virtual void abort() = 0;
  /// Accepts the request's WebSocket handshake (request::websocket_upgrade must
  /// be set; otherwise the client gets 426) and hands the connection to `h`.
  virtual void accept_websocket(std::shared_ptr<ws_handler> h) = 0;
};

using responder_ptr = std::shared_ptr<responder>;

/// Called on an io thread for every complete request; must not block.
using request_handler = std::function<void(request&&, responder_ptr)>;

} // namespace ls::http
