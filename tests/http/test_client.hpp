// A tiny blocking HTTP/1.1 client on POSIX sockets for the server tests: every
// read has a deadline, so a broken server fails a test instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace ls::http::test {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

struct parsed_response {
  std::string version; ///< "HTTP/1.1"
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers; ///< lowercase names
  std::string body;
  std::vector<std::string> chunks; ///< the data chunks when chunked
  bool chunked = false;

  std::string header(std::string_view name) const {
    for (auto& [k, v] : headers)
      if (k == name) return v;
    return {};
  }
  bool has(std::string_view name) const {
    for (auto& [k, v] : headers)
      if (k == name) return true;
    return false;
  }
};

/// Polls `pred` until it holds or `timeout` passes.
inline bool wait_until(const std::function<bool()>& pred,
                       ms timeout = 10000ms) {
  auto deadline = steady::now() + timeout;
  while (!pred()) {
    if (steady::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

class client {
public:
  explicit client(uint16_t port, const char* host = "127.0.0.1") {
    bool v6 = std::string_view(host).find(':') != std::string_view::npos;
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    int rc;
    if (v6) {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_port = htons(port);
      ::inet_pton(AF_INET6, host, &a.sin6_addr);
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      ::inet_pton(AF_INET, host, &a.sin_addr);
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    if (rc != 0) close();
  }
  ~client() { close(); }
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  bool connected() const { return fd_ >= 0; }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  /// Sends everything; false on error (e.g. the server closed).
  bool send(std::string_view data) {
    while (!data.empty()) {
      auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  /// Reads more bytes; false on timeout, end of stream or error.
  bool fill(steady::time_point deadline) {
    if (fd_ < 0 || eof_) return false;
    for (;;) {
      auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
      if (left.count() < 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int rc = ::poll(&p, 1, static_cast<int>(left.count()));
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) return false;
      char tmp[65536];
      auto n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        eof_ = true;
        return false;
      }
      buf_.append(tmp, static_cast<size_t>(n));
      return true;
    }
  }

  /// True when the server closes the connection (end of stream or reset) within
  /// `timeout`; data received meanwhile is discarded.
  bool wait_closed(ms timeout = 10000ms) {
    auto deadline = steady::now() + timeout;
    for (;;) {
      buf_.clear();
      if (eof_) return true;
      if (!fill(deadline)) return eof_;
    }
  }

  /// Waits up to `timeout` for the connection to be closed; false if it's still
  /// open.
  bool closed_within(ms timeout) { return wait_closed(timeout); }

  std::optional<parsed_response> read_head(ms timeout = 10000ms) {
    auto deadline = steady::now() + timeout;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill(deadline)) return std::nullopt;
    std::string head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    parsed_response r;
    auto line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    auto sp = status_line.find(' ');
    if (sp == std::string::npos) return std::nullopt;
    r.version = status_line.substr(0, sp);
    r.status = std::atoi(status_line.c_str() + sp + 1);
    size_t pos = line_end + 2;
    while (pos < head.size()) {
      auto e = head.find("\r\n", pos);
      std::string line = head.substr(pos, e - pos);
      pos = e + 2;
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.erase(0, 1);
      r.headers.emplace_back(std::move(name), std::move(value));
    }
    r.chunked = r.header("transfer-encoding") == "chunked";
    return r;
  }

  /// The data of the next chunk; "" for the last chunk (trailers are skipped).
  std::optional<std::string> read_chunk(ms timeout = 10000ms) {
    auto deadline = steady::now() + timeout;
    size_t e;
    while ((e = buf_.find("\r\n")) == std::string::npos)
      if (!fill(deadline)) return std::nullopt;
    size_t size = std::strtoul(buf_.substr(0, e).c_str(), nullptr, 16);
    buf_.erase(0, e + 2);
    if (size == 0) {
      for (;;) { // trailers up to the empty line
        while ((e = buf_.find("\r\n")) == std::string::npos)
          if (!fill(deadline)) return std::nullopt;
        buf_.erase(0, e + 2);
        if (e == 0) return std::string();
      }
    }
    while (buf_.size() < size + 2)
      if (!fill(deadline)) return std::nullopt;
    std::string data = buf_.substr(0, size);
    buf_.erase(0, size + 2);
    return data;
  }

  std::optional<parsed_response> read_response(bool head_request = false,
                                               ms timeout = 10000ms) {
    auto deadline = steady::now() + timeout;
    auto r = read_head(timeout);
    if (!r) return r;
    if (r->status < 200 || r->status == 204 || r->status == 304 || head_request)
      return r;
    if (r->chunked) {
      for (;;) {
        auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
        auto c = read_chunk(left);
        if (!c) return std::nullopt;
        if (c->empty()) return r;
        r->chunks.push_back(*c);
        r->body += *c;
      }
    }
    if (r->has("content-length")) {
      size_t n = std::strtoul(r->header("content-length").c_str(), nullptr, 10);
      while (buf_.size() < n)
        if (!fill(deadline)) return std::nullopt;
      r->body = buf_.substr(0, n);
      buf_.erase(0, n);
      return r;
    }
    while (fill(deadline)) { // delimited by the end of the connection
    }
    if (!eof_) return std::nullopt;
    r->body = std::move(buf_);
    buf_.clear();
    return r;
  }

  /// Sends a request and reads its response.
  std::optional<parsed_response> roundtrip(std::string_view raw,
                                           bool head_request = false) {
    if (!send(raw)) return std::nullopt;
    return read_response(head_request);
  }

  bool eof() const { return eof_; }

private:
  int fd_ = -1;
  bool eof_ = false;
  std::string buf_;
};

} // namespace ls::http::test
