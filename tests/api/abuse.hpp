// Helpers of the abuse tests against the real server process on loopback:
// the server with its own config, its memory (/proc), raw POSIX sockets from
// chosen loopback addresses, whole exchanges with deadlines, and a few API
// calls. Never waits on the clock: each wait is for an event, with a deadline.
#pragma once

#include "fixture.hpp"
#include "process.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <netinet/in.h>
#include <poll.h>
#include <regex>
#include <set>
#include <sys/resource.h>
#include <sys/socket.h>

namespace ls::test::abuse {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

// -- the server --------------------------------------------------------------

/// This process's soft fd limit raised to the hard one; returns it.
inline size_t raise_own_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur != rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur == RLIM_INFINITY ? size_t{1} << 20
                                      : static_cast<size_t>(rl.rlim_cur);
}

/// The real binary with a fresh data folder; `max_files` (when not 0) is its
/// RLIMIT_NOFILE.
struct live_server {
  /// `security` and `ratelimit`: more keys of those sections, as TOML lines
  /// ("key = value\n"). The sign-up and connect limits are off unless given.
  explicit live_server(unsigned per_ip = 0, unsigned per_handle = 0,
                       rlim_t max_files = 0, const std::string& security = {},
                       const std::string& ratelimit = {})
      : dir(temp_dir("abuse")) {
    auto path = dir + "/test.toml";
    std::ofstream f{path};
    f << "[server]\nlisten = \"127.0.0.1:0\"\nthreads = 2\n"
      << "[storage]\npath = \"" << dir << "/data\"\n"
      << "[security]\nsecret_key_file = \"" << dir << "/secret.key\"\n"
      << security << "[ratelimit]\nsubscribe_per_ip = " << per_ip
      << "\nsubscribe_per_handle = " << per_handle << "\n"
      << (ratelimit.find("signup_per_ip") == std::string::npos
              ? "signup_per_ip = 0\n"
              : "")
      << (ratelimit.find("connect_per_account") == std::string::npos
              ? "connect_per_account = 0\n"
              : "")
      << ratelimit << "[mailchimp]\nsandbox_listen = \"127.0.0.1:0\"\n"
      << "[log]\nlevel = \"info\"\n";
    f.close();
    proc = std::make_unique<server_process>(path, max_files);
  }
  ~live_server() {
    proc.reset();
    std::filesystem::remove_all(dir);
  }
  uint16_t port() const { return proc->port(); }
  pid_t pid() const { return proc->pid(); }
  /// SIGTERM must end it cleanly (under the sanitizers: with no report).
  void stop_cleanly() { EXPECT_EQ(proc->terminate(), 0) << proc->log(); }

  std::string dir;
  std::unique_ptr<server_process> proc;
};

/// The server's resident memory now and its peak, in KiB (/proc/PID/status).
struct memory {
  long rss_kb = -1;
  long hwm_kb = -1;
};

inline memory memory_of(pid_t pid) {
  memory m;
  std::ifstream f{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss_kb = std::stol(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) m.hwm_kb = std::stol(line.substr(6));
  }
  return m;
}

/// Starts a new peak measurement (VmHWM back to VmRSS), where the kernel lets
/// us; otherwise the peak is since start.
inline void reset_peak(pid_t pid) {
  std::ofstream f{"/proc/" + std::to_string(pid) + "/clear_refs"};
  f << "5";
}

/// Under AddressSanitizer freed memory is held in a quarantine (256 MiB by
/// default) before reuse, so churn shows up as resident memory up to that much;
/// the server binary is built with the same flags as this test.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr long quarantine_mb = 320;
#else
inline constexpr long quarantine_mb = 0;
#endif

/// Checks that the flood did not make the server grow by more than `limit_mb`
/// (resident now, and at its peak during the flood), and prints the figures.
inline void expect_bounded(const char* what, pid_t pid, memory before,
                           long limit_mb) {
  limit_mb += quarantine_mb;
  auto after = memory_of(pid);
  std::cout << "[abuse] " << what << ": VmRSS " << before.rss_kb / 1024
            << " MiB before, " << after.rss_kb / 1024 << " MiB after; VmHWM "
            << after.hwm_kb / 1024 << " MiB (+"
            << (after.hwm_kb - before.rss_kb) / 1024 << " MiB peak; bound "
            << limit_mb << " MiB)" << std::endl;
  ASSERT_GT(before.rss_kb, 0);
  ASSERT_GT(after.rss_kb, 0);
  EXPECT_LT(after.rss_kb - before.rss_kb, limit_mb * 1024) << what;
  EXPECT_LT(after.hwm_kb - before.rss_kb, limit_mb * 1024) << what;
}

// -- sockets -----------------------------------------------------------------

/// A blocking TCP connection to 127.0.0.1:port, from `source` (a loopback
/// address such as 127.0.0.7) when given; -1 on failure.
inline int dial(uint16_t port, const std::string& source = {}) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (!source.empty()) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/// Closes its descriptors when the test ends, however it ends.
struct sockets : std::vector<int> {
  sockets() = default;
  sockets(const sockets&) = delete;
  sockets& operator=(const sockets&) = delete;
  ~sockets() {
    for (int fd : *this)
      if (fd >= 0) ::close(fd);
  }
};

/// True when the server has closed `fd` (end of stream or reset); never
/// blocks. Data waiting to be read does not count as closed.
inline bool peer_closed(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  char c;
  auto n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/// Whether `in` holds a whole response (Content-Length framed; otherwise it
/// ends with the connection).
inline bool response_complete(const std::string& in) {
  auto end = in.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  static const std::regex length{R"(\r\n[Cc]ontent-[Ll]ength:\s*(\d+))"};
  std::smatch m;
  auto head = in.substr(0, end + 2);
  if (!std::regex_search(head, m, length)) return false;
  return in.size() >= end + 4 + std::stoul(m[1]);
}

/// Sends `raw` on non-blocking `fd` while reading, until a whole response is
/// in `in`, the server closes, or `deadline` passes. The server may answer
/// before it has read everything (413, 431): sending then stops.
inline void talk(int fd, std::string_view raw, std::string& in,
                 steady::time_point deadline) {
  size_t sent = 0;
  bool can_send = true;
  while (!response_complete(in)) {
    auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
    if (left.count() <= 0) return;
    bool sending = can_send && sent < raw.size();
    pollfd p{fd, static_cast<short>(POLLIN | (sending ? POLLOUT : 0)), 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return;
    if (sending && (p.revents & POLLOUT)) {
      auto n =
          ::send(fd, raw.data() + sent,
                 std::min<size_t>(raw.size() - sent, 256 * 1024), MSG_NOSIGNAL);
      if (n > 0)
        sent += static_cast<size_t>(n);
      else if (n < 0 && errno != EAGAIN && errno != EINTR)
        can_send = false;
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0)
        in.append(buf, static_cast<size_t>(n));
      else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        return; // closed: what came is all there is
    }
  }
}

struct answer {
  int status = 0; ///< 0: no answer
  std::string head;
  std::string body;
  ms latency{0};
  std::string header(const std::string& name) const {
    std::regex re{"\\r\\n" + name + ":\\s*([^\\r]*)", std::regex::icase};
    std::smatch m;
    return std::regex_search(head, m, re) ? std::string{m[1]} : std::string{};
  }
};

inline answer parse(const std::string& in) {
  answer a;
  auto end = in.find("\r\n\r\n");
  if (end == std::string::npos || in.rfind("HTTP/1.", 0) != 0) return a;
  a.head = in.substr(0, end + 2);
  a.body = in.substr(end + 4);
  a.status = std::atoi(in.c_str() + 9);
  return a;
}

/// One exchange on a new connection (from `source` when given).
inline answer ask(uint16_t port, std::string_view raw,
                  const std::string& source = {}, ms timeout = 10s) {
  auto t0 = steady::now();
  int fd = dial(port, source);
  if (fd < 0) return {};
  set_nonblocking(fd);
  std::string in;
  talk(fd, raw, in, t0 + timeout);
  ::close(fd);
  auto a = parse(in);
  a.latency = std::chrono::duration_cast<ms>(steady::now() - t0);
  return a;
}

inline std::string request(const std::string& method, const std::string& target,
                           const std::string& body = {},
                           const std::string& extra_headers = {}) {
  return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
         (body.empty() ? "" : "Content-Type: application/json\r\n") +
         extra_headers + "Content-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

// -- the API -----------------------------------------------------------------

struct creator {
  std::string handle;
  std::string token;
};

inline creator sign_up(uint16_t port, const std::string& handle) {
  auto a =
      ask(port,
          request("POST", "/api/v1/accounts",
                  R"({"email":")" + handle +
                      R"(@example.org","password":"correct horse","handle":")" +
                      handle + "\"}"));
  EXPECT_EQ(a.status, 201) << a.head << a.body;
  if (a.status != 201) return {handle, {}};
  return {handle, str(json_doc::parse(a.body)["api_token"])};
}

inline std::string subscribe_request(const creator& c,
                                     const std::string& email) {
  return request("POST", "/api/v1/public/" + c.handle + "/subscribe",
                 R"({"email":")" + email + "\"}");
}

/// Every subscriber email of the creator, through the API (paged).
inline std::set<std::string> stored_emails(uint16_t port, const creator& c) {
  std::set<std::string> ids;
  std::string cursor;
  for (int pages = 0; pages < 100; ++pages) {
    auto a =
        ask(port, request("GET",
                          "/api/v1/subscribers?limit=500" +
                              (cursor.empty() ? "" : "&cursor=" + cursor),
                          {}, "Authorization: Bearer " + c.token + "\r\n"));
    EXPECT_EQ(a.status, 200) << a.body;
    if (a.status != 200) break;
    auto j = json_doc::parse(a.body);
    for (auto item : simdjson::dom::array(j["items"]))
      ids.insert(str(item["email"]));
    if (j["next_cursor"].is_null()) break;
    cursor = str(j["next_cursor"]);
  }
  return ids;
}

/// Latencies of a series of normal requests.
struct latencies {
  std::vector<ms> all;
  void add(ms m) { all.push_back(m); }
  ms max() const {
    return all.empty() ? ms{0} : *std::max_element(all.begin(), all.end());
  }
  ms median() const {
    if (all.empty()) return ms{0};
    auto v = all;
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  }
};

/// Normal traffic: health checks and new subscribers, each answered in time.
/// Returns the latencies; every answer is checked.
inline latencies normal_traffic(uint16_t port, const creator& c, int rounds,
                                const std::string& tag) {
  latencies l;
  for (int i = 0; i < rounds; ++i) {
    auto h = ask(port, request("GET", "/healthz"));
    EXPECT_EQ(h.status, 200) << "health check " << i;
    l.add(h.latency);
    auto s = ask(
        port, subscribe_request(c, tag + std::to_string(i) + "@example.com"));
    EXPECT_EQ(s.status, 202) << "subscribe " << i << ": " << s.body;
    l.add(s.latency);
  }
  return l;
}

/// A timely answer, even on a loaded 2-core machine under the sanitizers (the
/// worst seen there was about 100 ms); a starved client would wait for a
/// timeout (10 s and more) instead.
inline constexpr ms timely = 5000ms;

} // namespace ls::test::abuse
