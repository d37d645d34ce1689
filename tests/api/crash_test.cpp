// kill -9 during a burst of subscribes: every subscribe that got its 201 is there afterwards.
#include "fixture.hpp"

#include <atomic>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <poll.h>
#include <regex>
#include <sys/wait.h>
#include <thread>

using namespace ls::test;
using namespace std::chrono_literals;

namespace {

/// The real binary in a child process; its stderr is read until it names its port.
class server_process {
public:
  server_process(const std::string& config_path) {
    int fds[2];
    if (::pipe(fds) != 0)
      return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 2);
      ::close(fds[0]);
      ::close(fds[1]);
      auto bin = std::string{LS_BINARY_DIR} + "/linkstacked";
      ::execl(bin.c_str(), bin.c_str(), "serve", "--config", config_path.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    err_ = fds[0];
    // Wait for "... (port N, ..." with a deadline.
    std::string log;
    std::regex port_re{R"(\(port (\d+),)"};
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{err_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0)
        continue;
      char buf[4096];
      auto n = ::read(err_, buf, sizeof buf);
      if (n <= 0)
        break;
      log.append(buf, n);
      std::smatch m;
      if (std::regex_search(log, m, port_re)) {
        port_ = static_cast<uint16_t>(std::stoi(m[1]));
        break;
      }
    }
    log_ = log;
  }
  ~server_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (err_ >= 0)
      ::close(err_);
  }
  uint16_t port() const { return port_; }
  const std::string& log() const { return log_; }
  void kill9() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  /// SIGTERM, then the exit status (or -1 when it did not exit within the deadline).
  int terminate(std::chrono::seconds deadline = 20s) {
    ::kill(pid_, SIGTERM);
    auto until = std::chrono::steady_clock::now() + deadline;
    int status = 0;
    while (std::chrono::steady_clock::now() < until) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      pollfd p{err_, POLLIN, 0}; // drain the log while waiting, so the child never blocks
      if (::poll(&p, 1, 50) > 0) {
        char buf[4096];
        if (::read(err_, buf, sizeof buf) <= 0)
          ::poll(nullptr, 0, 50);
      }
    }
    return -1;
  }

private:
  pid_t pid_ = -1;
  int err_ = -1;
  uint16_t port_ = 0;
  std::string log_;
};

std::string write_config(const std::string& dir) {
  auto path = dir + "/test.toml";
  std::ofstream f{path};
  f << "[server]\nlisten = \"127.0.0.1:0\"\n"
    << "[storage]\npath = \"" << dir << "/data\"\n"
    << "[security]\nsecret_key_file = \"" << dir << "/secret.key\"\n"
    << "[ratelimit]\nsubscribe_per_ip = 0\nsubscribe_per_handle = 0\n"
    << "[mailchimp]\nsandbox_listen = \"127.0.0.1:0\"\n"
    << "[log]\nlevel = \"info\"\n";
  return path;
}

} // namespace

TEST(crash, every_acknowledged_subscribe_survives_kill_9) {
  auto dir = temp_dir("crash");
  auto config = write_config(dir);
  std::string token;
  std::mutex mutex;
  std::vector<std::string> acknowledged; // subscriber ids that got 201
  {
    server_process server{config};
    ASSERT_NE(server.port(), 0) << server.log();
    auto port = server.port();
    auto signup = send(port, "POST", "/api/v1/accounts",
                       R"({"email":"crash@example.org","password":"correct horse","handle":"crash"})");
    ASSERT_EQ(signup.status, 201) << signup.body;
    token = str(signup.json()["api_token"]);

    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w)
      writers.emplace_back([&, w] {
        for (int i = 0; !stop; ++i) {
          auto r = send(port, "POST", "/api/v1/public/crash/subscribe",
                        R"({"email":"w)" + std::to_string(w) + "n" + std::to_string(i)
                          + R"(@example.com"})");
          if (r.status == 201) {
            std::lock_guard g{mutex};
            acknowledged.push_back(std::string{r.json()["subscriber_id"].get_string().value()});
          } else if (r.status == 0) {
            return; // the server is gone
          }
        }
      });
    // Kill once a good number of writes are acknowledged, while the writers are mid-burst.
    auto enough = ls::http::test::wait_until(
      [&] {
        std::lock_guard g{mutex};
        return acknowledged.size() >= 300;
      },
      60000ms);
    server.kill9();
    stop = true;
    for (auto& t : writers)
      t.join();
    ASSERT_TRUE(enough) << "the burst did not get going";
  }
  server_process again{config};
  ASSERT_NE(again.port(), 0) << again.log();
  size_t missing = 0;
  for (auto& id : acknowledged)
    if (send(again.port(), "GET", "/api/v1/subscribers/" + id, {},
             {{"authorization", "Bearer " + token}})
          .status
        != 200)
      ++missing;
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged";
  EXPECT_EQ(again.terminate(), 0) << "SIGTERM must end the service cleanly";
  std::filesystem::remove_all(dir);
}
