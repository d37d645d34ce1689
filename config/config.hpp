// The service configuration: every key of the contract (../shared/CONTRACT.md),
// read from TOML, overridden by LINKSTACKED_<SECTION>_<KEY> environment
// variables, strictly validated.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ls::config {

struct server_section {
  std::string listen =
      "127.0.0.1:3000"; ///< host:port, [v6]:port; port 0 = ephemeral
  /// http(s) URL, no query; parse() lower-cases the scheme and drops a
  /// trailing "/", so `public_url + "/path"` is safe.
  std::string public_url = "http://localhost:3000";
  unsigned threads = 2; ///< io threads for inbound HTTP, 1..64

  bool operator==(const server_section&) const = default;
};

struct storage_section {
  std::string path = "./data";
  uint64_t map_size = uint64_t{1} << 30; ///< bytes; grown on MDB_MAP_FULL

  bool operator==(const storage_section&) const = default;
};

struct security_section {
  std::string secret_key_file = "./data/secret.key";
  /// Password hashes (argon2id, 64 MiB each) computed at once; 0 = one per
  /// core. 0..64
  unsigned hash_threads = 0;
  /// Sign-ins and sign-ups waiting for a hashing thread; more get 503. 0..10000
  unsigned hash_queue = 16;

  bool operator==(const security_section&) const = default;
};

struct mailchimp_section {
  std::string mode = "sandbox"; ///< sandbox | live
  std::string client_id = "sandbox-client";
  std::string client_secret = "sandbox-secret";
  std::vector<std::string> redirect_uris = {
      "http://localhost:3000/dashboard/email-collection",
      "http://127.0.0.1:3000/dashboard/email-collection"};
  /// Base URLs: normalized like server.public_url; https in live mode.
  std::string oauth_base_url = "https://login.mailchimp.com";
  std::string api_base_url = "https://{dc}.api.mailchimp.com/3.0";
  unsigned max_connections = 9; ///< 1..10
  unsigned batch_size = 500;    ///< 1..500
  std::chrono::milliseconds request_timeout = std::chrono::seconds(120);
  std::string sandbox_listen = "127.0.0.1:3001";
  /// Secret of the in-process simulator's control surface (/_sim/), sent as
  /// `Authorization: Bearer <token>`. Empty: a random one per start, written
  /// to <storage.path>/sandbox-control-token (mode 0600).
  std::string sandbox_control_token;

  bool operator==(const mailchimp_section&) const = default;
};

struct webhooks_section {
  bool allow_private_targets = false;
  std::chrono::milliseconds timeout = std::chrono::seconds(15);

  bool operator==(const webhooks_section&) const = default;
};

struct ratelimit_section {
  unsigned subscribe_per_ip = 30;      ///< requests per minute; 0 = off
  unsigned subscribe_per_handle = 600; ///< requests per minute; 0 = off
  unsigned signup_per_ip = 10;         ///< account sign-ups per minute; 0 = off
  unsigned connect_per_account = 10; ///< Mailchimp connects per minute; 0 = off

  bool operator==(const ratelimit_section&) const = default;
};

struct admin_section {
  std::string token; ///< empty = /admin disabled

  bool operator==(const admin_section&) const = default;
};

struct metrics_section {
  /// Bearer token GET /metrics asks for; empty = open, as before the key.
  std::string token;

  bool operator==(const metrics_section&) const = default;
};

struct log_section {
  std::string level = "info";  ///< trace|debug|info|warn|error|critical|off
  std::string format = "text"; ///< text | json

  bool operator==(const log_section&) const = default;
};

struct config {
  server_section server;
  storage_section storage;
  security_section security;
  mailchimp_section mailchimp;
  webhooks_section webhooks;
  ratelimit_section ratelimit;
  admin_section admin;
  metrics_section metrics;
  log_section log;

  bool operator==(const config&) const = default;
};

/// A configuration problem: `file` (or the environment variable), `key`
/// ("server.listen") and what is wrong. what() renders all three in one line.
class config_error : public std::runtime_error {
public:
  config_error(std::string file, std::string key, std::string reason);
  const std::string& file() const { return file_; }
  const std::string& key() const { return key_; }
  const std::string& reason() const { return reason_; }

private:
  std::string file_, key_, reason_;
};

using environment = std::map<std::string, std::string>;

/// A listen address split: `host` without brackets ("127.0.0.1", "localhost",
/// "::1").
struct host_port {
  std::string host;
  uint16_t port = 0;

  bool operator==(const host_port&) const = default;
};

/// Splits "host:port" or "[v6]:port" (port 0..65535); nullopt when malformed.
/// Every listen address in a parsed config passes this.
std::optional<host_port> parse_host_port(std::string_view text);

/// The process environment's LINKSTACKED_* variables.
environment process_environment();

/// Parses TOML text (`file_name` is used in errors only), applies `env`
/// overrides, validates. Throws config_error.
config parse(std::string_view toml_text, std::string_view file_name,
             const environment& env = {});

/// Reads and parses a file. Throws config_error (also when the file cannot be
/// read).
config load(const std::string& path, const environment& env = {});

/// The parsed command line.
struct command {
  enum kind { serve, account_create, check_config } what = serve;
  std::string config_path = "config/linkstacked.toml";
  // account create
  std::string email, password, handle;
};

/// Parses argv with CLI11. Prints help or errors itself; returns nullopt with
/// `exit_code` set when the process should exit (after --help: 0, on a usage
/// error: non-zero).
std::optional<command> parse_command_line(int argc, char** argv,
                                          int& exit_code);

} // namespace ls::config
