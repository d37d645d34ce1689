// A tiny HTTP/1.1 test server on POSIX sockets, optionally over TLS with plain
// OpenSSL (no Beast, no Asio): one thread accepts, one thread per connection.
// The handler scripts each answer; the server counts connections, records
// requests and the SNI each TLS client sent.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <openssl/types.h>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ls::http::test {

struct received {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers; ///< lowercased
  std::string body;
  int connection = 0; ///< 1-based, in accept order
  int index = 0;      ///< 0-based position on its connection
  std::string sni;    ///< TLS only: the server name the client sent

  /// The value of a header ("" when absent); `name` lowercase.
  std::string header(std::string_view name) const;
  size_t count(std::string_view name) const;
};

struct reply {
  enum kind {
    respond, ///< write `raw`
    drop,    ///< close without answering
    hang,    ///< never answer (until the server stops)
  };
  kind what = respond;
  std::string raw;
  bool close_after = false; ///< close after writing `raw`

  /// A complete response with Content-Length; `extra` are raw header lines.
  static reply ok(std::string body, std::string extra = "",
                  unsigned status = 200);
  static reply dropped() { return {drop, "", false}; }
  static reply hung() { return {hang, "", false}; }
};

class test_server {
public:
  using handler = std::function<reply(const received&)>;

  /// Listens on 127.0.0.1 (port chosen by the system); TLS when `tls` is set
  /// (the server takes a reference on it).
  explicit test_server(handler h, SSL_CTX* tls = nullptr);
  ~test_server();
  test_server(const test_server&) = delete;
  test_server& operator=(const test_server&) = delete;

  uint16_t port() const { return port_; }
  std::string url(std::string_view path = "/") const;

  int accepted();
  std::vector<received> requests();
  /// Connections the client closed while the server awaited a request.
  int closed_by_client();
  int tls_failures();

  /// Waits (bounded) until `pred` holds; pred runs under the server's lock.
  bool wait_for(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(5));
  bool wait_requests(size_t n) {
    return wait_for([&] { return requests_.size() >= n; });
  }
  bool wait_closed_by_client(int n) {
    return wait_for([&] { return closed_by_client_ >= n; });
  }

  void stop();

private:
  void accept_loop();
  void serve(int fd, int id);

  handler handler_;
  SSL_CTX* tls_ = nullptr;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::thread acceptor_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int accepted_ = 0;
  int closed_by_client_ = 0;
  int tls_failures_ = 0;
  std::vector<received> requests_;
  std::vector<int> open_fds_;
  std::vector<std::thread> workers_;
};

/// Port that refuses connections (bound, never listened on, then closed).
uint16_t closed_port();

} // namespace ls::http::test
