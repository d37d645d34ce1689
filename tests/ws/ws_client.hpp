// A blocking WebSocket client for tests (Beast lives in ws_client.cpp only).
// Every call is bounded by a timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ls::test {

class ws_client {
public:
  using headers = std::vector<std::pair<std::string, std::string>>;

  /// Connects to 127.0.0.1:port and does the handshake for `target`. On
  /// failure ok() is false and status() holds the HTTP status the server
  /// answered (0 when there was no answer).
  ws_client(uint16_t port, const std::string& target, const headers& h = {},
            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  bool ok() const;
  unsigned status() const;
  /// The next message, or nullopt when none came in time or the socket closed.
  std::optional<std::string>
  read(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Reads until a message contains `needle`; that message, or nullopt.
  std::optional<std::string>
  read_until(const std::string& needle,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// true once the server closed the socket (read() saw the end).
  bool closed() const;
  /// The close code the server sent, 0 if none (or the connection just ended).
  uint16_t close_code() const;
  void send(const std::string& text);
  void close();
  /// Stops reading, so the server's frames pile up (a slow consumer); the
  /// receive buffer is made small.
  void stop_reading();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace ls::test
