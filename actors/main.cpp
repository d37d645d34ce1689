// linkstacked: the email-integrations service. Wires config, storage, actors
// and HTTP.
#include "actors/service.hpp"
#include "config/config.hpp"
#include "http/codec/time.hpp"
#include "http/codec/validation.hpp"
#include "storage/crypto.hpp"
#include "storage/database.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <pthread.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

namespace {

void setup_logging(const ls::config::config& cfg) {
  auto logger = spdlog::stderr_color_mt("linkstacked");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(cfg.log.level));
  if (cfg.log.format == "json")
    spdlog::set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","message":"%v"})",
        spdlog::pattern_time_type::utc);
  else
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v",
                        spdlog::pattern_time_type::utc);
}

int create_account(const ls::config::config& cfg,
                   const ls::config::command& cmd) {
  auto email = ls::validation::email(cmd.email);
  if (!email.ok()) {
    std::cerr << "email: " << email.error << "\n";
    return 2;
  }
  if (cmd.password.size() < 8) {
    std::cerr << "password: must be at least 8 characters\n";
    return 2;
  }
  ls::store::database db{cfg.storage.path, cfg.storage.map_size};
  ls::store::account a;
  a.id = ls::crypto::random_id("acc_");
  a.email = email.value;
  a.handle = cmd.handle;
  a.password_hash = ls::crypto::hash_password(cmd.password);
  a.created_at = ls::timefmt::now_us();
  auto token = "lst_" + ls::crypto::random_token(32);
  auto t = ls::lmdb::txn::write(db.env());
  auto r = db.insert_account(t, a, ls::crypto::sha256(token));
  if (!r) {
    std::cerr << r.field << ": " << r.message << "\n";
    return 1;
  }
  t.commit();
  std::cout << "account " << a.id
            << " created; API token (shown once): " << token << "\n";
  return 0;
}

/// Every connection is a file descriptor, and the usual soft limit (1024) is
/// far below what the HTTP server is built to hold (http::server_options::
/// max_connections, which it caps to this limit): raise the soft limit to the
/// hard one, as far as an unprivileged process may.
void raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  auto before = rl.rlim_cur;
  if (rl.rlim_cur != rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      spdlog::warn("linkstacked: cannot raise the open files limit from {} to "
                   "{}: {}",
                   before, rl.rlim_max, std::strerror(errno));
      return;
    }
  }
  if (rl.rlim_cur == RLIM_INFINITY)
    spdlog::info("linkstacked: open files limit: unlimited");
  else if (before != rl.rlim_cur)
    spdlog::info("linkstacked: open files limit raised from {} to {}", before,
                 rl.rlim_cur);
  else
    spdlog::info("linkstacked: open files limit {}", rl.rlim_cur);
}

int serve(const ls::config::config& cfg) {
  raise_fd_limit();
  // Signals are taken by sigwait() in this thread; every thread started below
  // inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ls::service svc{cfg, [](std::string) { ::kill(::getpid(), SIGTERM); }};
  spdlog::info(
      "linkstacked: serving on {} (port {}, public URL {}), data in {}",
      cfg.server.listen, svc.port(), cfg.server.public_url, cfg.storage.path);
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("linkstacked: {} received, shutting down", strsignal(sig));
  svc.stop();
  spdlog::info("linkstacked: stopped cleanly");
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  auto cmd = ls::config::parse_command_line(argc, argv, exit_code);
  if (!cmd) return exit_code;
  try {
    ls::crypto::init();
    auto cfg =
        ls::config::load(cmd->config_path, ls::config::process_environment());
    if (cmd->what == ls::config::command::check_config) {
      std::cout << cmd->config_path << ": ok\n";
      return 0;
    }
    setup_logging(cfg);
    if (cmd->what == ls::config::command::account_create)
      return create_account(cfg, *cmd);
    return serve(cfg);
  } catch (const ls::config::config_error& e) {
    std::cerr << "linkstacked: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "linkstacked: " << e.what() << "\n";
    return 1;
  }
}
