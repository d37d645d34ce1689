#include "actors/service.hpp"

#include "actors/events.hpp"
#include "actors/integrations.hpp"
#include "actors/jobs.hpp"
#include "actors/metrics.hpp"
#include "actors/routes/api.hpp"
#include "actors/store.hpp"
#include "actors/supervisor.hpp"
#include "actors/webhooks.hpp"
#include "actors/worker_pool.hpp"
#include "http/client/client.hpp"
#include "http/server.hpp"
#include "http/sim/simulator.hpp"
#include "storage/crypto.hpp"
#include "storage/database.hpp"

#include <caf/all.hpp>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace ls {

namespace {

caf::actor_system_config& make_system_config(caf::actor_system_config& c) {
  c.add_message_types<caf::id_block::ls>();
  c.set("scheduler.max-threads", size_t{4});
  // Work sharing: idle workers wait on a condition variable. The default work
  // stealing polls and sleeps in a loop, which cost more CPU than the sync
  // itself while it waited on Mailchimp (scripts/bench sync).
  c.set("scheduler.policy", caf::atom("sharing"));
  c.set("logger.console-verbosity", caf::atom("quiet"));
  return c;
}

/// Writes `secret` and a newline to `path`, readable by the owner only. The
/// file is made anew each time, so one left with wider permissions is
/// replaced rather than reused.
void write_private_file(const std::string& path, std::string_view secret) {
  auto tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot create " + tmp + ": " +
                             std::strerror(errno));
  std::string text{secret};
  text += '\n';
  bool ok = ::write(fd, text.data(), text.size()) ==
            static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + path + ": " + err);
  }
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
  std::shared_ptr<http::client> client;
  // Sandbox mode: the Mailchimp simulator, in process on its own port.
  std::unique_ptr<mcsim::simulator> sim;
  std::unique_ptr<http::server> sim_server;
  integrations_actor integrations;
  fetcher_actor oauth_fetcher;
  mapper_actor mapper;
  event_bus_actor bus;
  webhook_actor webhooks;
  job_supervisor_actor jobs;
  worker_pool_actor hasher;
  worker_pool_actor resolver;
  std::unique_ptr<api::app> app;
  std::unique_ptr<http::server> server;
  bool stopped = false;

  std::string sandbox_base;

  impl(const config::config& cfg, std::function<void(std::string)> on_fatal,
       service_options opts)
      : sys(make_system_config(sys_cfg)) {
    crypto::init();
    auto key = crypto::load_or_create_key(cfg.security.secret_key_file);
    db = std::make_shared<store::database>(cfg.storage.path,
                                           cfg.storage.map_size);
    stats = std::make_shared<metrics>();
    store = sys.spawn<caf::detached>(store_impl, db, stats);
    client = std::make_shared<http::client>();
    auto endpoints = start_mailchimp(cfg, key);
    integrations_config icfg;
    icfg.db = db;
    icfg.client = client;
    icfg.store = store;
    icfg.key = key;
    icfg.endpoints = endpoints;
    icfg.max_connections = cfg.mailchimp.max_connections;
    icfg.request_timeout = cfg.mailchimp.request_timeout;
    icfg.retries.base = opts.retry_base;
    integrations = sys.spawn(integrations_impl, icfg);
    mapper = sys.spawn(mapper_impl);
    bus = sys.spawn(event_bus_impl, event_bus_options{});
    webhook_config wcfg;
    wcfg.db = db;
    wcfg.store = store;
    wcfg.bus = bus;
    wcfg.client = client;
    wcfg.key = key;
    wcfg.allow_private = cfg.webhooks.allow_private_targets;
    wcfg.timeout = cfg.webhooks.timeout;
    if (!opts.webhook_schedule.empty()) wcfg.schedule = opts.webhook_schedule;
    webhooks = sys.spawn<caf::detached>(webhook_impl, wcfg);
    jobs_config jcfg;
    jcfg.bus = bus;
    jcfg.webhooks = webhooks;
    jcfg.db = db;
    jcfg.store = store;
    jcfg.integrations = integrations;
    jcfg.mapper = mapper;
    jcfg.batch_size = cfg.mailchimp.batch_size;
    jcfg.max_in_flight = cfg.mailchimp.max_connections;
    jcfg.request_timeout = cfg.mailchimp.request_timeout;
    jobs = sys.spawn(job_supervisor_impl, jcfg);
    oauth_fetcher = sys.spawn(fetcher_impl, http_transport(client), size_t{32},
                              retry_policy{1, {}, {}, {}});
    auto cores = std::max(1u, std::thread::hardware_concurrency());
    hasher = spawn_worker_pool(
        sys, {"password-hasher",
              cfg.security.hash_threads ? cfg.security.hash_threads : cores,
              cfg.security.hash_queue});
    // Webhook target checks resolve DNS, which may block for seconds.
    resolver = spawn_worker_pool(sys, {"resolver", 2, 32});
    if (!on_fatal) on_fatal = [](std::string) {};
    root = sys.spawn(
        supervisor,
        std::vector<caf::actor>{caf::actor_cast<caf::actor>(store),
                                caf::actor_cast<caf::actor>(integrations),
                                caf::actor_cast<caf::actor>(oauth_fetcher),
                                caf::actor_cast<caf::actor>(mapper),
                                caf::actor_cast<caf::actor>(bus),
                                caf::actor_cast<caf::actor>(webhooks),
                                caf::actor_cast<caf::actor>(jobs),
                                caf::actor_cast<caf::actor>(hasher),
                                caf::actor_cast<caf::actor>(resolver)},
        std::move(on_fatal));
    app = std::make_unique<api::app>(sys, cfg, db, stats, store);
    app->secret_key = key;
    app->integrations = integrations;
    app->oauth_fetcher = oauth_fetcher;
    app->jobs = jobs;
    app->bus = bus;
    app->webhooks = webhooks;
    app->hasher = hasher;
    app->resolver = resolver;
    app->mailchimp_endpoints = endpoints;
    app->oauth_state_lifetime = opts.oauth_state_lifetime;
    app->oauth_clock = opts.oauth_clock;
    http::server_options http_opts;
    http_opts.listen = cfg.server.listen;
    http_opts.threads = cfg.server.threads;
    server = std::make_unique<http::server>(http_opts, api::make_handler(*app));
    try {
      server->start();
    } catch (...) {
      shutdown_actors();
      throw;
    }
    spdlog::info("http: at most {} connections (then the longest waiting for "
                 "a request makes room)",
                 server->connection_limit());
  }

  /// In sandbox mode, starts the simulator and points Mailchimp's URLs at it.
  mailchimp::endpoints start_mailchimp(const config::config& cfg,
                                       const crypto::secret_key& key) {
    if (cfg.mailchimp.mode != "sandbox")
      return {cfg.mailchimp.oauth_base_url, cfg.mailchimp.api_base_url};
    mcsim::options o;
    o.sandbox_redirect_uris = cfg.mailchimp.redirect_uris;
    // Tokens signed with a key derived from ours: a restart keeps sandbox
    // connections valid.
    o.token_key = crypto::base64url(
        crypto::sha256("mailchimp-sim:" + std::string{key.begin(), key.end()}));
    o.control_token = cfg.mailchimp.sandbox_control_token; // empty: random
    sim = std::make_unique<mcsim::simulator>(o);
    // A random token reaches whoever may read the data folder, and no log.
    auto token_file =
        (std::filesystem::path{cfg.storage.path} / "sandbox-control-token")
            .string();
    if (cfg.mailchimp.sandbox_control_token.empty()) {
      write_private_file(token_file, sim->control_token());
    } else {
      std::error_code ec; // a stale file would name a token no longer in use
      std::filesystem::remove(token_file, ec);
    }
    // The configured app, so connect works whatever client id the config names.
    sim->add_app(cfg.mailchimp.client_id, cfg.mailchimp.client_secret,
                 cfg.mailchimp.redirect_uris);
    http::server_options so;
    so.listen = cfg.mailchimp.sandbox_listen;
    so.threads = 1;
    sim_server = std::make_unique<http::server>(so, sim->handler());
    sim_server->start();
    auto host = cfg.mailchimp.sandbox_listen.substr(
        0, cfg.mailchimp.sandbox_listen.rfind(':'));
    if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
    auto base = "http://" + host + ":" + std::to_string(sim_server->port());
    sim->set_base_url(base);
    sandbox_base = base;
    if (cfg.mailchimp.sandbox_control_token.empty())
      spdlog::info("sandbox: Mailchimp simulator on {} (its /_sim/ control "
                   "token is in {})",
                   base, token_file);
    else
      spdlog::info("sandbox: Mailchimp simulator on {}", base);
    return {base, base + "/3.0"};
  }

  void shutdown_actors() {
    caf::scoped_actor self{sys};
    self->monitor(root);
    caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
    self->receive(
        [](const caf::down_msg&) {},
        caf::after(std::chrono::seconds(10)) >>
            [] { spdlog::warn("service: actors did not stop in time"); });
  }

  void stop(std::chrono::milliseconds grace) {
    if (stopped) return;
    stopped = true;
    server->stop_accepting();
    server->stop(
        grace); // in-flight requests finish; their writes are committed by then
    shutdown_actors();
    if (sim_server) {
      sim->stop();
      sim_server->stop(std::chrono::seconds(1));
    }
    client->stop();
    db->env().sync();
  }
};

service::service(const config::config& cfg,
                 std::function<void(std::string)> on_fatal,
                 service_options opts)
    : impl_(std::make_unique<impl>(cfg, std::move(on_fatal), opts)) {}

std::string service::sandbox_url() const {
  return impl_->sandbox_base;
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
