// Helpers shared by the config tests.
#pragma once

#include "config/config.hpp"

#include <cctype>
#include <gtest/gtest.h>
#include <string>
#include <string_view>
#include <vector>

namespace ls::config::test {

inline constexpr const char* test_file = "test.toml";

/// The config_error that parsing `toml` (with `env`) throws; a test failure
/// when none is thrown.
inline config_error error_of(std::string_view toml,
                             const environment& env = {}) {
  try {
    (void)parse(toml, test_file, env);
    ADD_FAILURE() << "no config_error for:\n" << toml;
  } catch (const config_error& e) {
    return e;
  }
  return config_error("", "", "");
}

/// Every key of the contract, in the order of config/linkstacked.toml.
inline const std::vector<std::string>& all_keys() {
  static const std::vector<std::string> keys = {
      "server.listen",
      "server.public_url",
      "server.threads",
      "storage.path",
      "storage.map_size",
      "security.secret_key_file",
      "security.hash_threads",
      "security.hash_queue",
      "mailchimp.mode",
      "mailchimp.client_id",
      "mailchimp.client_secret",
      "mailchimp.redirect_uris",
      "mailchimp.oauth_base_url",
      "mailchimp.api_base_url",
      "mailchimp.max_connections",
      "mailchimp.batch_size",
      "mailchimp.request_timeout",
      "mailchimp.sandbox_listen",
      "mailchimp.sandbox_control_token",
      "webhooks.allow_private_targets",
      "webhooks.timeout",
      "ratelimit.subscribe_per_ip",
      "ratelimit.subscribe_per_handle",
      "ratelimit.signup_per_ip",
      "ratelimit.connect_per_account",
      "admin.token",
      "metrics.token",
      "log.level",
      "log.format",
  };
  return keys;
}

/// "server.listen" -> "LINKSTACKED_SERVER_LISTEN".
inline std::string variable_of(const std::string& key) {
  std::string out = "LINKSTACKED_";
  for (char c : key)
    out += c == '.' ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

} // namespace ls::config::test
