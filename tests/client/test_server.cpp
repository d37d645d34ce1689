#include "client/test_server.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace ls::http::test {

namespace {

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return std::string(s);
}

/// Parses "METHOD target HTTP/1.1\r\nName: value\r\n..." (no final CRLF).
received parse_head(std::string_view head) {
  received r;
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = line.find(' ', sp1 + 1);
  r.method = std::string(line.substr(0, sp1));
  r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 2);
    eol = head.find("\r\n");
    line = head.substr(0, eol);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    r.headers.emplace_back(lower(std::string(line.substr(0, colon))),
                           trim(line.substr(colon + 1)));
  }
  return r;
}

} // namespace

std::string received::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (k == name) return v;
  return "";
}

size_t received::count(std::string_view name) const {
  return static_cast<size_t>(
      std::count_if(headers.begin(), headers.end(),
                    [&](auto& h) { return h.first == name; }));
}

reply reply::ok(std::string body, std::string extra, unsigned status) {
  std::string raw = "HTTP/1.1 " + std::to_string(status) + " Whatever\r\n" +
                    "Content-Length: " + std::to_string(body.size()) + "\r\n" +
                    extra + "\r\n" + body;
  return {respond, std::move(raw), false};
}

test_server::test_server(handler h, SSL_CTX* tls)
    : handler_(std::move(h)), tls_(tls) {
  std::signal(SIGPIPE, SIG_IGN); // SSL_write to a closed peer
  if (tls_) SSL_CTX_up_ref(tls_);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
      ::pipe2(wake_, O_CLOEXEC) != 0)
    throw std::runtime_error("test_server: cannot listen");
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

test_server::~test_server() {
  stop();
  if (tls_) SSL_CTX_free(tls_);
}

std::string test_server::url(std::string_view path) const {
  return std::string(tls_ ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

int test_server::accepted() {
  std::lock_guard lk(mu_);
  return accepted_;
}

std::vector<received> test_server::requests() {
  std::lock_guard lk(mu_);
  return requests_;
}

int test_server::closed_by_client() {
  std::lock_guard lk(mu_);
  return closed_by_client_;
}

int test_server::tls_failures() {
  std::lock_guard lk(mu_);
  return tls_failures_;
}

bool test_server::wait_for(const std::function<bool()>& pred,
                           std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, timeout, pred);
}

void test_server::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (int fd : open_fds_)
      ::shutdown(fd, SHUT_RDWR); // unblocks reads and SSL_accept
  }
  cv_.notify_all();
  char b = 0;
  [[maybe_unused]] auto n = ::write(wake_[1], &b, 1);
  acceptor_.join();
  for (auto& t : workers_) // the acceptor no longer adds any
    t.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void test_server::accept_loop() {
  for (;;) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) continue;
    if (p[1].revents) return;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lk(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    int id = ++accepted_;
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd, id] { serve(fd, id); });
    cv_.notify_all();
  }
}

void test_server::serve(int fd, int id) {
  SSL* ssl = nullptr;
  std::string sni;
  bool orderly = false;
  auto finish = [&] {
    if (ssl) {
      if (orderly) SSL_shutdown(ssl);
      SSL_free(ssl);
    }
    {
      std::lock_guard lk(mu_);
      open_fds_.erase(std::find(open_fds_.begin(), open_fds_.end(), fd));
    }
    ::close(fd);
  };
  if (tls_) {
    ssl = SSL_new(tls_);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
      {
        std::lock_guard lk(mu_);
        ++tls_failures_;
      }
      cv_.notify_all();
      return finish();
    }
    if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name))
      sni = name;
  }
  auto read_some = [&](char* b, size_t n) -> long {
    if (ssl) return SSL_read(ssl, b, static_cast<int>(n));
    return ::recv(fd, b, n, 0);
  };
  auto write_all = [&](std::string_view s) {
    while (!s.empty()) {
      long n = ssl ? SSL_write(ssl, s.data(), static_cast<int>(s.size()))
                   : ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      s.remove_prefix(static_cast<size_t>(n));
    }
  };

  std::string buf;
  char tmp[16 * 1024];
  for (int index = 0;; ++index) {
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      long n = read_some(tmp, sizeof tmp);
      if (n <= 0) {
        {
          std::lock_guard lk(mu_);
          if (buf.empty() && !stopping_) ++closed_by_client_;
        }
        cv_.notify_all();
        return finish();
      }
      buf.append(tmp, static_cast<size_t>(n));
    }
    received r = parse_head(std::string_view(buf).substr(0, end));
    size_t length = 0;
    if (auto cl = r.header("content-length"); !cl.empty())
      length = std::stoul(cl);
    while (buf.size() < end + 4 + length) {
      long n = read_some(tmp, sizeof tmp);
      if (n <= 0) return finish();
      buf.append(tmp, static_cast<size_t>(n));
    }
    r.body = buf.substr(end + 4, length);
    buf.erase(0, end + 4 + length);
    r.connection = id;
    r.index = index;
    r.sni = sni;
    {
      std::lock_guard lk(mu_);
      requests_.push_back(r);
    }
    cv_.notify_all();

    reply rep = handler_(r);
    if (rep.what == reply::drop) return finish();
    if (rep.what == reply::hang) {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_; });
      lk.unlock();
      return finish();
    }
    write_all(rep.raw);
    if (rep.close_after) {
      orderly = true;
      return finish();
    }
  }
}

uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

} // namespace ls::http::test
