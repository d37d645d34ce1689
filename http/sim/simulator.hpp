// The Mailchimp simulator: Mailchimp's OAuth host and the parts of the
// Marketing API v3 this project uses, true to the project's shared
// mailchimp.md, plus a control surface under /_sim/. It is an HTTP application
// on our own server (http/server.hpp); no Beast here.
#pragma once

#include "http/message.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ls::mcsim {

struct options {
  /// Seed the sandbox defaults (app sandbox-client/sandbox-secret, one user
  /// with two audiences and a few members in compliance states). false = start
  /// empty (`--empty`).
  bool seed_defaults = true;
  /// Redirect URIs of the default sandbox app.
  std::vector<std::string> sandbox_redirect_uris = {
      "http://localhost:3000/dashboard/email-collection",
      "http://127.0.0.1:3000/dashboard/email-collection"};
  std::chrono::milliseconds latency{0}; ///< added to every API and OAuth answer
  unsigned max_connections = 10; ///< in flight per Mailchimp user; more → 429
  /// How long an authorization code can be exchanged (Mailchimp: about 30 s).
  /// Tests set 0 to get codes that are already expired.
  std::chrono::milliseconds code_lifetime{30000};
  /// When not empty, access tokens are MACs under this key (bound to the user's
  /// login), so a restarted simulator with the same key still accepts the
  /// tokens it issued before (the in-process sandbox keeps the product
  /// connected across restarts). Revocation is then remembered only until the
  /// restart. Empty: random tokens, forgotten on restart.
  std::string token_key{};
  /// The secret every /_sim/ request must carry as `Authorization: Bearer
  /// <token>` (the control surface can rewrite OAuth apps, so a web page must
  /// not reach it). At least 16 printable characters without spaces; empty:
  /// a random one, read with simulator::control_token().
  std::string control_token{};
};

/// Thread-safe. The handler never blocks: latency and hangs use timers of their
/// own.
class simulator {
public:
  /// Throws std::invalid_argument when options::control_token is not empty
  /// and too short or has spaces.
  explicit simulator(options opts = {});
  ~simulator();
  simulator(const simulator&) = delete;
  simulator& operator=(const simulator&) = delete;

  /// Serves /oauth2/authorize|token|metadata, /3.0/… and /_sim/….
  http::request_handler handler();

  /// The control surface's token (options::control_token, or the random one
  /// made when that was empty). A secret: never log it.
  const std::string& control_token() const;

  /// The base URL clients reach this simulator at, e.g. "http://127.0.0.1:3001"
  /// (used in the metadata's api_endpoint and login_url). Set once the port is
  /// known.
  void set_base_url(std::string url);

  /// Registers (or replaces) an OAuth app, as POST /_sim/apps does; unlike
  /// those, apps registered here survive POST /_sim/reset (they are the
  /// embedding program's config).
  void add_app(const std::string& client_id, const std::string& client_secret,
               const std::vector<std::string>& redirect_uris);

  /// Stops timers and answers nothing more; pending hung requests are released.
  void stop();

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace ls::mcsim
