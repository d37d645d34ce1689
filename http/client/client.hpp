// The outbound HTTP/1.1 client (Mailchimp, webhooks) on Beast and OpenSSL:
// https with certificate and host name verification against the system's CAs
// (never switched off), plain http, keep-alive connection reuse, and a deadline
// on every request. This header includes no Beast: client.cpp is the only
// translation unit that instantiates it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ls::http {

struct client_request {
  std::string method = "GET";
  std::string url; ///< absolute http:// or https:// URL
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout =
      std::chrono::seconds(120); ///< whole exchange
  /// When set, connect to this address instead of resolving the URL's host (the
  /// Host header and TLS SNI/verification still use the URL's host). For
  /// SSRF-checked webhook delivery.
  std::string connect_address;
};

struct client_response {
  unsigned status = 0; ///< 0 when the exchange failed (see error)
  std::vector<std::pair<std::string, std::string>>
      headers; ///< names lowercased
  std::string body;
  /// Empty on success; otherwise a short reason: "timeout", "connection
  /// refused", "connection reset", "tls: certificate verify failed", "bad url",
  /// ...
  std::string error;
  bool ok() const { return error.empty(); }
  const std::string* header(std::string_view lowercase_name) const {
    for (auto& [k, v] : headers)
      if (k == lowercase_name) return &v;
    return nullptr;
  }
};

struct client_options {
  /// PEM file of extra trusted CAs (tests); the system's CAs are always trusted
  /// too.
  std::string extra_ca_file;
  size_t max_idle_per_host = 16;
  std::chrono::seconds idle_timeout{30};
  size_t max_response_bytes = 16 * 1024 * 1024;
  std::string user_agent = "linkstacked/1";
};

/// Owns one io thread. Thread-safe: send() from any thread.
class client {
public:
  explicit client(client_options opts = {});
  ~client(); ///< stop()
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Starts the exchange; `done` runs exactly once, on the client's io thread
  /// (so it must not block: hand the result on, e.g. with caf::anon_send).
  void send(client_request req, std::function<void(client_response)> done);

  /// Fails what is in flight with error "stopped" and joins the thread.
  /// Idempotent.
  void stop();

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace ls::http
