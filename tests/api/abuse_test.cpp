// Abuse of the real server process on loopback, with plain POSIX sockets:
// slow and idle connections, connections beyond the limit, oversized requests,
// subscribe floods from one address and from many. Normal clients keep being
// served, rate limits hold, every acknowledged subscribe is stored, and the
// server's memory stays bounded (figures printed as "[abuse] ...").
//
// Never wait on the clock: each wait is for an event, with a deadline.
#include "abuse.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <regex>
#include <set>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>

using namespace ls::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

using namespace ls::test::abuse;

// Several hundred connections dribble a request head a byte at a time and
// never finish it; meanwhile normal clients are answered at once, and the slow
// connections are all still held (nobody was cut to make room).
TEST(abuse, slowloris_does_not_starve_normal_clients) {
  raise_own_fd_limit();
  live_server server;
  ASSERT_NE(server.port(), 0) << server.proc->log();
  auto port = server.port();
  auto alice = sign_up(port, "slowloris");
  auto before = memory_of(server.pid());
  reset_peak(server.pid());

  constexpr int slow_count = 400;
  sockets slow;
  auto opened = steady::now();
  for (int i = 0; i < slow_count; ++i) {
    int fd = dial(port);
    ASSERT_GE(fd, 0) << "connection " << i;
    set_nonblocking(fd);
    slow.push_back(fd);
  }
  std::atomic<int> rounds{0};
  std::atomic<int> cut{0}; // slow connections the server closed
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::thread dribbler{[&] {
    const std::string prefix =
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    std::vector<bool> alive(slow.size(), true);
    for (size_t i = 0;; ++i) {
      char byte = i < prefix.size() ? prefix[i] : 'a';
      for (size_t k = 0; k < slow.size(); ++k) {
        if (!alive[k]) continue;
        auto n = ::send(slow[k], &byte, 1, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
          alive[k] = false;
          ++cut;
        }
      }
      ++rounds;
      // The attack's pace (one byte per connection every 50 ms), not a wait
      // for an event.
      std::unique_lock lk{mu};
      if (cv.wait_for(lk, 50ms, [&] { return stop; })) return;
    }
  }};
  auto stop_dribbler = [&] {
    {
      std::lock_guard lk{mu};
      stop = true;
    }
    cv.notify_all();
    if (dribbler.joinable()) dribbler.join();
  };

  // Every slow connection has started its head.
  bool dribbling =
      ls::http::test::wait_until([&] { return rounds >= 5; }, 5000ms);
  if (!dribbling) stop_dribbler();
  ASSERT_TRUE(dribbling);

  // Normal traffic for as long as the slow connections dribble on (40 bytes
  // each, about 2 s), well before their head deadline (10 s from accept).
  latencies l;
  for (int batch = 0; rounds < 40 && steady::now() - opened < 7s; ++batch) {
    auto more =
        normal_traffic(port, alice, 5, "normal" + std::to_string(batch) + "-");
    l.all.insert(l.all.end(), more.all.begin(), more.all.end());
  }
  int still_open = 0;
  for (int fd : slow)
    if (!peer_closed(fd)) ++still_open;
  auto held_for = steady::now() - opened;
  auto dribbled = rounds.load();
  stop_dribbler();

  std::cout << "[abuse] slowloris: " << slow_count << " slow connections ("
            << dribbled << " bytes each so far), " << l.all.size()
            << " normal requests: median " << l.median().count() << " ms, max "
            << l.max().count() << " ms; " << still_open
            << " slow still open after "
            << std::chrono::duration_cast<ms>(held_for).count() << " ms"
            << std::endl;
  EXPECT_LT(l.max(), timely);
  // The head deadline (10 s from accept) had not come: all still held, i.e.
  // the normal requests were served alongside them, not instead of them.
  if (held_for < 9s) {
    EXPECT_EQ(still_open, slow_count);
    EXPECT_EQ(cut.load(), 0);
  }
  expect_bounded("slowloris", server.pid(), before, 48);
  server.stop_cleanly();
}

// Thousands of idle connections (most silent since connecting, some quiet
// after one keep-alive request) do not stop normal clients, and the server
// holds them all while it is under its connection limit.
TEST(abuse, thousands_of_idle_connections_do_not_starve_normal_clients) {
  auto fds = raise_own_fd_limit();
  int idle_count = static_cast<int>(std::min<size_t>(3000, fds - 200));
  if (idle_count < 1000)
    GTEST_SKIP() << "this process may open only " << fds << " files";
  live_server server;
  ASSERT_NE(server.port(), 0) << server.proc->log();
  auto port = server.port();
  std::smatch m;
  std::regex limit_re{R"(at most (\d+) connections)"};
  ASSERT_TRUE(std::regex_search(server.proc->log(), m, limit_re))
      << server.proc->log();
  auto limit = std::stoul(m[1]);
  if (limit < static_cast<size_t>(idle_count) + 100)
    GTEST_SKIP() << "the server may hold only " << limit << " connections";
  auto bob = sign_up(port, "idler");
  auto before = memory_of(server.pid());
  reset_peak(server.pid());

  auto opened = steady::now();
  sockets idle;
  constexpr int keep_alive_count = 500;
  for (int i = 0; i < idle_count; ++i) {
    int fd = dial(port);
    ASSERT_GE(fd, 0) << "connection " << i << ": " << std::strerror(errno);
    set_nonblocking(fd);
    idle.push_back(fd);
  }
  for (int i = 0; i < keep_alive_count; ++i) { // the newest ones: one request
    std::string in;
    talk(idle[static_cast<size_t>(idle_count - 1 - i)],
         "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", in,
         steady::now() + 10s);
    ASSERT_EQ(parse(in).status, 200) << "keep-alive request " << i;
  }
  auto ready = std::chrono::duration_cast<ms>(steady::now() - opened);
  auto during = memory_of(server.pid());

  auto l = normal_traffic(port, bob, 25, "beside-idle");
  int still_open = 0;
  for (int fd : idle)
    if (!peer_closed(fd)) ++still_open;
  auto held_for = steady::now() - opened;

  std::cout << "[abuse] idle: " << idle_count << " idle connections ("
            << keep_alive_count << " after a keep-alive request) open in "
            << ready.count() << " ms; VmRSS with them " << during.rss_kb / 1024
            << " MiB; normal requests: median " << l.median().count()
            << " ms, max " << l.max().count() << " ms; " << still_open
            << " idle still open after "
            << std::chrono::duration_cast<ms>(held_for).count() << " ms"
            << std::endl;
  EXPECT_LT(l.max(), timely);
  if (held_for < 9s) { // none shed or cut
    EXPECT_EQ(still_open, idle_count);
  }
  expect_bounded("idle connections", server.pid(), before, 96);
  server.stop_cleanly();
}

// A server that can hold only a few hundred connections (its fd limit is
// low): more idle and slow connections than that do not lock fresh clients
// out; the ones that waited longest make room. The server raises its own soft
// fd limit and says so.
TEST(abuse, beyond_the_connection_limit_waiting_connections_make_room) {
  auto fds = raise_own_fd_limit();
  constexpr rlim_t server_files = 512;
  live_server server{0, 0, server_files};
  ASSERT_NE(server.port(), 0) << server.proc->log();
  auto port = server.port();
  EXPECT_NE(server.proc->log().find("open files limit 512"), std::string::npos)
      << server.proc->log();
  std::smatch m;
  std::regex limit_re{R"(at most (\d+) connections)"};
  ASSERT_TRUE(std::regex_search(server.proc->log(), m, limit_re))
      << server.proc->log();
  auto limit = std::stoul(m[1]);
  EXPECT_LT(limit, server_files); // room left for storage and the rest
  EXPECT_GE(limit, server_files / 2);
  auto carol = sign_up(port, "crowded");
  auto before = memory_of(server.pid());
  reset_peak(server.pid());

  // Three times what it can hold: silent ones, then ones that sent one
  // keep-alive request, then slow heads.
  int total = static_cast<int>(limit) * 3;
  if (fds < static_cast<size_t>(total) + 100)
    GTEST_SKIP() << "this process may open only " << fds << " files";
  sockets waiting;
  for (int i = 0; i < total; ++i) {
    int fd = dial(port);
    ASSERT_GE(fd, 0) << "connection " << i << ": " << std::strerror(errno);
    set_nonblocking(fd);
    waiting.push_back(fd);
    if (i >= total / 3 && i < 2 * total / 3) {
      std::string in;
      talk(fd, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", in,
           steady::now() + 10s);
      ASSERT_EQ(parse(in).status, 200) << "keep-alive request " << i;
    } else if (i >= 2 * total / 3) { // a head begun, never finished
      std::string_view head =
          "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a";
      ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL),
                static_cast<ssize_t>(head.size()));
    }
  }

  auto l = normal_traffic(port, carol, 25, "crowded");
  // Those that waited longest were closed by the server to make room: at
  // least all but `limit` of them (some may still be closing).
  int closed = 0;
  bool enough = ls::http::test::wait_until(
      [&] {
        closed = 0;
        for (int fd : waiting)
          if (peer_closed(fd)) ++closed;
        return closed >= total - static_cast<int>(limit);
      },
      5000ms);
  int oldest_closed = 0; // of the first third, the silent ones
  for (int i = 0; i < total / 3; ++i)
    if (peer_closed(waiting[static_cast<size_t>(i)])) ++oldest_closed;

  std::cout << "[abuse] beyond the limit: server fd limit " << server_files
            << ", connection limit " << limit << ", " << total
            << " waiting connections opened, " << closed
            << " closed to make room (" << oldest_closed << " of the "
            << total / 3 << " oldest); normal requests: median "
            << l.median().count() << " ms, max " << l.max().count() << " ms"
            << std::endl;
  EXPECT_TRUE(enough) << closed << " closed";
  EXPECT_EQ(oldest_closed, total / 3);
  EXPECT_LT(l.max(), timely);
  expect_bounded("beyond the limit", server.pid(), before, 48);
  server.stop_cleanly();
}

// Oversized heads (431) and bodies (413: a huge declared Content-Length,
// refused from the head alone; a chunked body over the limit), many times and
// from several clients at once: each is answered, and memory stays bounded.
TEST(abuse, oversized_requests_are_refused_and_memory_stays_bounded) {
  raise_own_fd_limit();
  live_server server;
  ASSERT_NE(server.port(), 0) << server.proc->log();
  auto port = server.port();
  auto dave = sign_up(port, "oversized");
  auto target = "/api/v1/public/" + dave.handle + "/subscribe";
  auto before = memory_of(server.pid());
  reset_peak(server.pid());

  const std::string huge_head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "X-Big: " +
                                std::string(64 * 1024, 'a') + "\r\n\r\n";
  // 1 TiB announced, nothing sent: the answer cannot wait for the body.
  const std::string huge_length =
      "POST " + target +
      " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: 1099511627776\r\n\r\n";
  std::string chunked =
      "POST " + target +
      " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
      "application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string piece(64 * 1024, 'x');
  for (int i = 0; i < 18; ++i) // 1.125 MiB, over the 1 MiB limit
    chunked += "10000\r\n" + piece + "\r\n";
  chunked += "0\r\n\r\n";

  constexpr int clients = 4, rounds = 25;
  std::atomic<int> got431{0}, got413_length{0}, got413_chunked{0}, other{0};
  std::atomic<long> slowest_length_ms{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < rounds; ++i) {
        auto a = ask(port, huge_head);
        (a.status == 431 ? got431 : other)++;
        auto b = ask(port, huge_length);
        (b.status == 413 ? got413_length : other)++;
        long prev = slowest_length_ms.load();
        while (
            b.latency.count() > prev &&
            !slowest_length_ms.compare_exchange_weak(prev, b.latency.count())) {
        }
        auto c = ask(port, chunked);
        (c.status == 413 ? got413_chunked : other)++;
      }
    });
  for (auto& t : threads)
    t.join();

  std::cout << "[abuse] oversized: " << got431.load()
            << " x 431 (64 KiB head), " << got413_length.load()
            << " x 413 (1 TiB Content-Length, slowest answer "
            << slowest_length_ms.load() << " ms), " << got413_chunked.load()
            << " x 413 (1.125 MiB chunked), " << other.load() << " other"
            << std::endl;
  EXPECT_EQ(got431.load(), clients * rounds);
  EXPECT_EQ(got413_length.load(), clients * rounds);
  EXPECT_EQ(got413_chunked.load(), clients * rounds);
  EXPECT_EQ(other.load(), 0);
  // Answered from the head: no waiting for a body that never comes (30 s).
  EXPECT_LT(slowest_length_ms.load(), timely.count());
  EXPECT_EQ(ask(port, request("GET", "/healthz")).status, 200);
  expect_bounded("oversized", server.pid(), before, 48);
  server.stop_cleanly();
}

namespace {

/// Outcome of a subscribe flood.
struct flood_result {
  std::map<int, int> by_status;
  std::vector<std::string> created; ///< emails answered 202 (received)
  std::map<std::string, int> created_by_source;
  int bad_retry_after = 0; ///< 429 without a positive Retry-After
  double seconds = 0;      ///< first request sent to last answer
};

/// `per_source` subscribes to `c` from each of `sources`, from `threads`
/// threads at once; every email is new.
flood_result flood(uint16_t port, const creator& c,
                   const std::vector<std::string>& sources, int per_source,
                   int threads, const std::string& tag) {
  flood_result r;
  std::mutex mu;
  std::atomic<size_t> next{0};
  size_t jobs = sources.size() * static_cast<size_t>(per_source);
  auto t0 = steady::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (size_t j; (j = next++) < jobs;) {
        auto& source = sources[j % sources.size()];
        auto email = tag + std::to_string(j) + "@example.com";
        auto a = ask(port, subscribe_request(c, email),
                     source == "127.0.0.1" ? std::string{} : source);
        std::lock_guard lk{mu};
        r.by_status[a.status]++;
        if (a.status == 202) {
          r.created.push_back(email);
          r.created_by_source[source]++;
        } else if (a.status == 429) {
          auto wait = a.header("retry-after");
          if (wait.empty() || std::atoi(wait.c_str()) < 1) r.bad_retry_after++;
        }
      }
    });
  for (auto& t : pool)
    t.join();
  r.seconds = std::chrono::duration<double>(steady::now() - t0).count();
  return r;
}

/// A token bucket of `per_minute` (bursts of as many) gives out at most this
/// many tokens over `seconds`.
int allowed(unsigned per_minute, double seconds) {
  return static_cast<int>(per_minute + seconds * per_minute / 60.0);
}

std::string statuses(const flood_result& r) {
  std::string out;
  for (auto& [status, n] : r.by_status)
    out += std::to_string(n) + " x " + std::to_string(status) + ", ";
  return out;
}

constexpr unsigned per_ip = 5, per_handle = 300;

} // namespace

// From one address: exactly subscribe_per_ip get 202 (plus what the bucket
// refills during the flood: nothing when it takes under 12 s), the rest 429
// with Retry-After; every 202 is stored; another address is not affected.
TEST(abuse, subscribe_flood_from_one_address_is_held_to_the_per_ip_limit) {
  raise_own_fd_limit();
  live_server server{per_ip, per_handle};
  ASSERT_NE(server.port(), 0) << server.proc->log();
  auto port = server.port();
  auto erin = sign_up(port, "oneaddress");
  auto before = memory_of(server.pid());
  reset_peak(server.pid());

  auto r = flood(port, erin, {"127.0.0.1"}, 60, 4, "one");
  std::cout << "[abuse] flood from one address: " << statuses(r) << "in "
            << r.seconds << " s (per_ip " << per_ip << "/min)" << std::endl;
  EXPECT_EQ(r.by_status[202] + r.by_status[429], 60) << statuses(r);
  EXPECT_GE(r.by_status[202], static_cast<int>(per_ip));
  EXPECT_LE(r.by_status[202], allowed(per_ip, r.seconds));
  if (r.seconds < 12) {
    EXPECT_EQ(r.by_status[202], static_cast<int>(per_ip));
  }
  EXPECT_EQ(r.bad_retry_after, 0);

  // The limit is per address: another one still gets in.
  auto other =
      ask(port, subscribe_request(erin, "other@example.com"), "127.0.0.2");
  if (other.status != 0) { // binding to 127.0.0.2 works here
    EXPECT_EQ(other.status, 202) << other.body;
    if (other.status == 202) r.created.push_back("other@example.com");
  }

  auto ids = stored_emails(port, erin);
  EXPECT_EQ(ids, std::set<std::string>(r.created.begin(), r.created.end()));
  expect_bounded("flood from one address", server.pid(), before, 32);
  server.stop_cleanly();
}

// From ~200 addresses (127.0.0.2 … 127.0.0.200), each under its own per-IP
// limit: the per-handle limit holds, another creator is unaffected, and every
// subscribe answered 202 is stored.
TEST(abuse,
     subscribe_flood_from_many_addresses_is_held_to_the_per_handle_limit) {
  raise_own_fd_limit();
  live_server server{per_ip, per_handle};
  ASSERT_NE(server.port(), 0) << server.proc->log();
  auto port = server.port();
  int probe = dial(port, "127.0.0.2");
  if (probe < 0) GTEST_SKIP() << "cannot bind to 127.0.0.2";
  ::close(probe);
  auto frank = sign_up(port, "manyaddresses");
  auto grace = sign_up(port, "bystander");
  auto before = memory_of(server.pid());
  reset_peak(server.pid());

  std::vector<std::string> sources;
  for (int i = 2; i <= 200; ++i)
    sources.push_back("127.0.0." + std::to_string(i));
  constexpr int per_source = 4; // under per_ip: only the handle limit binds
  auto r = flood(port, frank, sources, per_source, 8, "many");
  int total = static_cast<int>(sources.size()) * per_source;
  std::cout << "[abuse] flood from " << sources.size()
            << " addresses: " << statuses(r) << "in " << r.seconds
            << " s (per_handle " << per_handle << "/min, " << total / r.seconds
            << " requests/s)" << std::endl;
  EXPECT_EQ(r.by_status[202] + r.by_status[429], total) << statuses(r);
  EXPECT_GE(r.by_status[202], static_cast<int>(per_handle));
  EXPECT_LE(r.by_status[202], allowed(per_handle, r.seconds));
  EXPECT_EQ(r.bad_retry_after, 0);
  for (auto& [source, n] : r.created_by_source)
    EXPECT_LE(n, static_cast<int>(per_ip)) << source;

  // Another creator's form still works (from a fresh address).
  auto other =
      ask(port, subscribe_request(grace, "grace@example.com"), "127.0.0.201");
  EXPECT_EQ(other.status, 202) << other.body;

  // The store kept up: every 202 is there, nothing else is.
  auto ids = stored_emails(port, frank);
  EXPECT_EQ(ids.size(), r.created.size());
  EXPECT_EQ(ids, std::set<std::string>(r.created.begin(), r.created.end()));
  expect_bounded("flood from many addresses", server.pid(), before, 48);
  server.stop_cleanly();
}
