#include "actors/service.hpp"

#include "actors/api.hpp"
#include "actors/metrics.hpp"
#include "actors/store.hpp"
#include "actors/supervisor.hpp"
#include "http/server.hpp"
#include "storage/crypto.hpp"
#include "storage/database.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <optional>

namespace ls {

namespace {

caf::actor_system_config& make_system_config(caf::actor_system_config& c) {
  c.add_message_types<caf::id_block::ls>();
  c.set("scheduler.max-threads", size_t{4});
  c.set("logger.console-verbosity", caf::atom("quiet"));
  return c;
}

} // namespace

struct service::impl {
  // Declaration order is teardown order in reverse: the actor system goes last.
  caf::actor_system_config sys_cfg;
  caf::actor_system sys;
  std::shared_ptr<store::database> db;
  std::shared_ptr<metrics> stats;
  store_actor store;
  caf::actor root;
  std::unique_ptr<api::app> app;
  std::unique_ptr<http::server> server;
  bool stopped = false;

  impl(const config::config& cfg, std::function<void(std::string)> on_fatal)
    : sys(make_system_config(sys_cfg)) {
    crypto::init();
    auto key = crypto::load_or_create_key(cfg.security.secret_key_file);
    db = std::make_shared<store::database>(cfg.storage.path,
                                           cfg.storage.map_size);
    stats = std::make_shared<metrics>();
    store = sys.spawn<caf::detached>(store_impl, db, stats);
    if (!on_fatal)
      on_fatal = [](std::string) {};
    root = sys.spawn(supervisor,
                     std::vector<caf::actor>{caf::actor_cast<caf::actor>(store)},
                     std::move(on_fatal));
    app = std::make_unique<api::app>(sys, cfg, db, stats, store);
    app->secret_key = key;
    http::server_options opts;
    opts.listen = cfg.server.listen;
    opts.threads = cfg.server.threads;
    server = std::make_unique<http::server>(opts, api::make_handler(*app));
    try {
      server->start();
    } catch (...) {
      shutdown_actors();
      throw;
    }
  }

  void shutdown_actors() {
    caf::scoped_actor self{sys};
    self->monitor(root);
    caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {},
                  caf::after(std::chrono::seconds(10)) >> [] {
                    spdlog::warn("service: actors did not stop in time");
                  });
  }

  void stop(std::chrono::milliseconds grace) {
    if (stopped)
      return;
    stopped = true;
    server->stop_accepting();
    server->stop(grace); // in-flight requests finish; their writes are committed by then
    shutdown_actors();
    db->env().sync();
  }
};

service::service(const config::config& cfg,
                 std::function<void(std::string)> on_fatal)
  : impl_(std::make_unique<impl>(cfg, std::move(on_fatal))) {
}

service::~service() {
  stop();
}

uint16_t service::port() const {
  return impl_->server->port();
}

void service::stop(std::chrono::milliseconds grace) {
  impl_->stop(grace);
}

} // namespace ls
