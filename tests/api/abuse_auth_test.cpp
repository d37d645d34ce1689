// Abuse of the real server process on loopback, as strangers with many
// connections would try it: crowds of sign-ins and sign-ups (password hashing
// runs on a fixed pool behind a short queue), guesses sent together (each
// counts before it is checked), and bodies shaped to be slow to read (the
// parsers are linear and bounded). Figures print as "[abuse] ...".
//
// Never wait on the clock: each wait is for an event, with a deadline.
#include "abuse.hpp"

#include <atomic>
#include <map>
#include <sstream>
#include <thread>
#include <unistd.h>

using namespace ls::test;
using namespace ls::test::abuse;

namespace {

/// `requests` sent together, each on its own connection (from `sources`, in
/// turn: loopback addresses, "" for the default), then every answer read;
/// none is waited for before all are sent.
std::vector<answer> burst(uint16_t port,
                          const std::vector<std::string>& requests,
                          const std::vector<std::string>& sources,
                          ms timeout = 120s) {
  auto deadline = steady::now() + timeout;
  sockets fds;
  for (size_t i = 0; i < requests.size(); ++i) {
    int fd = dial(port, sources.empty() ? std::string{}
                                        : sources[i % sources.size()]);
    if (fd >= 0) set_nonblocking(fd);
    fds.push_back(fd);
  }
  std::vector<std::string> in(requests.size());
  std::vector<size_t> sent(requests.size(), 0);
  std::vector<bool> done(requests.size(), false);
  for (size_t i = 0; i < fds.size(); ++i)
    if (fds[i] < 0) done[i] = true;
  while (steady::now() < deadline) {
    std::vector<pollfd> p;
    std::vector<size_t> which;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (done[i]) continue;
      short events = POLLIN;
      if (sent[i] < requests[i].size()) events |= POLLOUT;
      p.push_back({fds[i], events, 0});
      which.push_back(i);
    }
    if (p.empty()) break;
    auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
    if (::poll(p.data(), p.size(),
               static_cast<int>(std::max<long>(1, left.count()))) < 0 &&
        errno != EINTR)
      break;
    for (size_t k = 0; k < p.size(); ++k) {
      auto i = which[k];
      if (p[k].revents & POLLOUT) {
        auto n = ::send(fds[i], requests[i].data() + sent[i],
                        requests[i].size() - sent[i], MSG_NOSIGNAL);
        if (n > 0) sent[i] += static_cast<size_t>(n);
      }
      if (p[k].revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[16384];
        auto n = ::recv(fds[i], buf, sizeof buf, 0);
        if (n > 0)
          in[i].append(buf, static_cast<size_t>(n));
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
          done[i] = true;
      }
      if (response_complete(in[i])) done[i] = true;
    }
  }
  std::vector<answer> out;
  for (auto& text : in)
    out.push_back(parse(text));
  return out;
}

std::map<int, int> by_status(const std::vector<answer>& answers) {
  std::map<int, int> m;
  for (auto& a : answers)
    m[a.status]++;
  return m;
}

std::string describe(const std::map<int, int>& m) {
  std::string out;
  for (auto& [status, n] : m)
    out += std::to_string(n) + " x " + std::to_string(status) + ", ";
  return out;
}

/// Loopback addresses 127.0.0.2 … 127.0.0.(1 + n), or only the default one
/// when this machine does not let us bind to them.
std::vector<std::string> many_sources(uint16_t port, int n) {
  int probe = dial(port, "127.0.0.2");
  if (probe < 0) return {""};
  ::close(probe);
  std::vector<std::string> out;
  for (int i = 2; i < 2 + n; ++i)
    out.push_back("127.0.0." + std::to_string(i));
  return out;
}

long threads_of(pid_t pid) {
  std::ifstream f{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("Threads:", 0) == 0) return std::stol(line.substr(8));
  return -1;
}

/// CPU time (user + system) the process has used, in milliseconds.
long cpu_ms_of(pid_t pid) {
  std::ifstream f{"/proc/" + std::to_string(pid) + "/stat"};
  std::string stat;
  std::getline(f, stat);
  auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest{stat.substr(close + 2)};
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return (utime + stime) * 1000 / ::sysconf(_SC_CLK_TCK);
}

std::string sign_in_request(const std::string& email, const std::string& pw) {
  return request("POST", "/api/v1/session",
                 R"({"email":")" + email + R"(","password":")" + pw + "\"}");
}

constexpr long hash_mib = 64; // libsodium's interactive argon2id memory

} // namespace

// 500 sign-ins and sign-ups at once from 100 addresses: no thread per request
// (the thread count stays flat), memory within pool × 64 MiB + 64 MiB, and
// what the queue cannot take is refused at once with 503 and Retry-After.
TEST(abuse_auth, a_crowd_of_sign_ins_and_sign_ups_is_bounded) {
  raise_own_fd_limit();
  constexpr int pool = 2;
  live_server server{
      0, 0, 0, "hash_threads = " + std::to_string(pool) + "\nhash_queue = 8\n"};
  ASSERT_NE(server.port(), 0) << server.proc->log();
  auto port = server.port();
  sign_up(port, "crowdtarget");
  auto sources = many_sources(port, 100);
  std::vector<std::string> requests;
  for (int i = 0; i < 250; ++i) {
    // Distinct emails (no lockout binds), most without an account: those cost
    // a hash too, so that timing does not tell.
    requests.push_back(
        sign_in_request(i % 5 ? "ghost" + std::to_string(i) + "@example.org"
                              : "crowdtarget@example.org",
                        "guess " + std::to_string(i)));
    requests.push_back(request(
        "POST", "/api/v1/accounts",
        R"({"email":"crowd)" + std::to_string(i) +
            R"(@example.org","password":"correct horse","handle":"crowd)" +
            std::to_string(i) + "\"}"));
  }
  auto threads_before = threads_of(server.pid());
  long threads_peak = threads_before;
  std::atomic<bool> watching{true};
  std::thread watcher{[&] {
    while (watching) {
      threads_peak = std::max(threads_peak, threads_of(server.pid()));
      std::this_thread::yield();
    }
  }};
  auto before = memory_of(server.pid());
  reset_peak(server.pid());
  auto answers = burst(port, requests, sources);
  watching = false;
  watcher.join();
  auto counts = by_status(answers);
  std::cout << "[abuse] 500 sign-ins and sign-ups at once: " << describe(counts)
            << "threads " << threads_before << " before, " << threads_peak
            << " at most" << std::endl;
  // Every request was answered: checked (401, 201, 429 for the lockout of the
  // one email), or refused at once (503).
  EXPECT_EQ(counts[0], 0) << describe(counts);
  EXPECT_EQ(counts[401] + counts[201] + counts[429] + counts[503], 500)
      << describe(counts);
  EXPECT_GT(counts[503], 0) << "the queue never filled: " << describe(counts);
  EXPECT_GE(counts[401] + counts[201], pool) << describe(counts);
  for (auto& a : answers)
    if (a.status == 503) {
      EXPECT_GE(std::atoi(a.header("retry-after").c_str()), 1) << a.head;
    }
  EXPECT_LE(threads_peak, threads_before + 2) << "a thread per request?";
  expect_bounded("500 sign-ins and sign-ups", server.pid(), before,
                 pool * hash_mib + 64);
  server.stop_cleanly();
}

// 200 guesses for one email sent together, from 200 addresses: at most 5 are
// checked, the rest 429; then even the right password is refused until the
// window has passed. 200 guesses from one address for many emails: at most
// 20 checked.
TEST(abuse_auth, guesses_sent_together_cannot_pass_the_lockout) {
  raise_own_fd_limit();
  live_server server{0, 0, 0, "hash_queue = 1000\n"};
  ASSERT_NE(server.port(), 0) << server.proc->log();
  auto port = server.port();
  sign_up(port, "lockme");
  auto sources = many_sources(port, 200);
  std::vector<std::string> guesses;
  for (int i = 0; i < 200; ++i)
    guesses.push_back(
        sign_in_request("lockme@example.org", "guess " + std::to_string(i)));
  auto counts = by_status(burst(port, guesses, sources));
  std::cout << "[abuse] 200 guesses for one email at once: " << describe(counts)
            << std::endl;
  EXPECT_LE(counts[401], 5) << describe(counts);
  EXPECT_EQ(counts[401] + counts[429], 200) << describe(counts);
  auto right = ask(port, sign_in_request("lockme@example.org", "correct horse"),
                   "127.0.0.250");
  EXPECT_EQ(right.status, 429) << right.body;
  EXPECT_GE(std::atoi(right.header("retry-after").c_str()), 1);

  std::vector<std::string> spread;
  for (int i = 0; i < 200; ++i)
    spread.push_back(sign_in_request(
        "nobody" + std::to_string(i) + "@example.org", "guess"));
  auto one_address = by_status(burst(port, spread, {}));
  std::cout << "[abuse] 200 guesses from one address at once: "
            << describe(one_address) << std::endl;
  EXPECT_LE(one_address[401], 20) << describe(one_address);
  EXPECT_EQ(one_address[401] + one_address[429], 200) << describe(one_address);
  server.stop_cleanly();
}

// Sign-ups count per address (IPv4 as is, IPv6 by /64) even when sent
// together.
TEST(abuse_auth, sign_ups_sent_together_hold_to_the_per_address_limit) {
  raise_own_fd_limit();
  live_server server{0, 0, 0, "hash_queue = 1000\n", "signup_per_ip = 5\n"};
  ASSERT_NE(server.port(), 0) << server.proc->log();
  std::vector<std::string> requests;
  for (int i = 0; i < 60; ++i)
    requests.push_back(request(
        "POST", "/api/v1/accounts",
        R"({"email":"many)" + std::to_string(i) +
            R"(@example.org","password":"correct horse","handle":"many)" +
            std::to_string(i) + "\"}"));
  auto counts = by_status(burst(server.port(), requests, {}));
  std::cout << "[abuse] 60 sign-ups from one address at once: "
            << describe(counts) << std::endl;
  EXPECT_EQ(counts[201], 5) << describe(counts);
  EXPECT_EQ(counts[429], 55) << describe(counts);
  server.stop_cleanly();
}

// Bodies shaped to be slow: 1 MiB forms of 149,000 keys to the public form and
// 1 MiB JSON objects to sign-in are refused after linear work, and /healthz
// stays quick while four attackers keep sending them.
TEST(abuse_auth, bodies_of_any_shape_are_read_in_linear_time) {
  raise_own_fd_limit();
  live_server server{0, 0};
  ASSERT_NE(server.port(), 0) << server.proc->log();
  auto port = server.port();
  sign_up(port, "shapes");
  std::string form;
  for (int i = 0; form.size() < 1000 * 1000; ++i)
    form += (i ? "&k" : "k") + std::to_string(i) + "=";
  std::string object = "{";
  for (int i = 0; object.size() < 1000 * 1000; ++i)
    object += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  object += "}";
  auto form_post =
      "POST /api/v1/public/shapes/subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
      std::to_string(form.size()) + "\r\nConnection: close\r\n\r\n" + form;
  auto json_post = request("POST", "/api/v1/session", object);

  // CPU per body, each alone.
  auto cpu0 = cpu_ms_of(server.pid());
  constexpr int rounds = 5;
  for (int i = 0; i < rounds; ++i) {
    auto f = ask(port, form_post);
    EXPECT_EQ(f.status, 400) << f.body;
    EXPECT_NE(f.body.find("more than"), std::string::npos) << f.body;
    auto j = ask(port, json_post);
    EXPECT_EQ(j.status, 400) << j.body;
  }
  auto cpu_per_body = double(cpu_ms_of(server.pid()) - cpu0) / (2 * rounds);
  std::cout << "[abuse] a 1 MiB body of 149k keys: " << cpu_per_body
            << " ms of server CPU each (was 33 s for the form, 12 s for JSON)"
            << std::endl;
  // Generous for the sanitizers and a busy machine: quadratic was ~10,000 ms.
  EXPECT_LT(cpu_per_body, 1000);

  // Health checks while four attackers send such bodies in a loop.
  std::atomic<bool> attacking{true};
  std::vector<std::thread> attackers;
  for (int t = 0; t < 4; ++t)
    attackers.emplace_back([&, t] {
      while (attacking)
        ask(port, t % 2 ? form_post : json_post);
    });
  latencies health;
  for (int i = 0; i < 100; ++i) {
    auto h = ask(port, request("GET", "/healthz"));
    EXPECT_EQ(h.status, 200);
    health.add(h.latency);
  }
  attacking = false;
  for (auto& t : attackers)
    t.join();
  auto sorted = health.all;
  std::sort(sorted.begin(), sorted.end());
  std::cout << "[abuse] /healthz under four 1 MiB attackers: median "
            << health.median().count() << " ms, p99 " << sorted[98].count()
            << " ms, max " << health.max().count() << " ms" << std::endl;
  EXPECT_LT(health.max(), timely);
  server.stop_cleanly();
}
