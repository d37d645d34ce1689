// A program of ours in a child process, for tests that need a real process
// (kill -9, the standalone simulator): its output is read until it says where
// it listens.
#pragma once

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <regex>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace ls::test {

class child_process {
public:
  /// Runs `argv` with stdout and stderr on one pipe, and reads until `ready` (a
  /// regex with one group: the port) matches or `deadline` passes; port() is 0
  /// then. A non-zero `max_files` becomes the child's RLIMIT_NOFILE (soft and
  /// hard).
  child_process(std::vector<std::string> argv, const std::string& ready,
                std::chrono::seconds deadline = std::chrono::seconds(20),
                rlim_t max_files = 0) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      if (max_files != 0) {
        rlimit rl{max_files, max_files};
        ::setrlimit(RLIMIT_NOFILE, &rl);
      }
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> args;
      for (auto& a : argv)
        args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
    std::regex re{ready};
    auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[4096];
      auto n = ::read(out_, buf, sizeof buf);
      if (n <= 0) break;
      log_.append(buf, static_cast<size_t>(n));
      std::smatch m;
      if (std::regex_search(log_, m, re)) {
        port_ = static_cast<uint16_t>(std::stoi(m[1]));
        break;
      }
    }
  }
  ~child_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& log() const { return log_; }
  /// Everything the child wrote so far (read without waiting), and whether it
  /// has died: what a test prints when the child stopped answering.
  std::string report() {
    for (;;) {
      pollfd p{out_, POLLIN, 0};
      if (out_ < 0 || ::poll(&p, 1, 0) <= 0) break;
      char buf[4096];
      auto n = ::read(out_, buf, sizeof buf);
      if (n <= 0) break;
      log_.append(buf, static_cast<size_t>(n));
    }
    int status = 0;
    std::string state = "running";
    if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      state = WIFSIGNALED(status)
                  ? "killed by signal " + std::to_string(WTERMSIG(status))
                  : "exited with " + std::to_string(WEXITSTATUS(status));
    }
    return "[child " + state + "]\n" + log_;
  }
  void kill9() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  /// SIGTERM, then the exit status (-1 when it did not exit within the
  /// deadline).
  int terminate(std::chrono::seconds deadline = std::chrono::seconds(20)) {
    ::kill(pid_, SIGTERM);
    auto until = std::chrono::steady_clock::now() + deadline;
    int status = 0;
    while (std::chrono::steady_clock::now() < until) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      pollfd p{out_, POLLIN,
               0}; // drain output meanwhile, so the child never blocks on it
      if (::poll(&p, 1, 50) > 0) {
        char buf[4096];
        auto n = ::read(out_, buf, sizeof buf);
        if (n > 0)
          log_.append(buf, static_cast<size_t>(n)); // e.g. sanitizer reports
        else
          ::poll(nullptr, 0, 50);
      }
    }
    return -1;
  }

private:
  pid_t pid_ = -1;
  int out_ = -1;
  uint16_t port_ = 0;
  std::string log_;
};

/// The real binary, serving with `config_path`; the port is read from its log.
struct server_process : child_process {
  explicit server_process(const std::string& config_path, rlim_t max_files = 0)
      : child_process({std::string{LS_BINARY_DIR} + "/linkstacked", "serve",
                       "--config", config_path},
                      R"(\(port (\d+),)", std::chrono::seconds(20), max_files) {
  }
};

} // namespace ls::test
