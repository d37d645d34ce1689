// Configuration parsing (config/config.hpp: parse) from TOML text and
// LINKSTACKED_* variables. The input is TOML, optionally followed by a line
// "#ENV" and NAME=VALUE lines.
// Properties: parse answers with a config or a config_error (nothing else is
// thrown) whose message names the file or the variable; an accepted config
// keeps its documented bounds, and written out as TOML it parses to the same
// config (so normalised URLs and durations are fixed points).
#include "config/config.hpp"

#include "fuzz.hpp"
#include "http/codec/validation.hpp"

#include <sstream>
#include <toml++/toml.h>

namespace {

toml::table as_toml(const ls::config::config& c) {
  auto ms = [](std::chrono::milliseconds d) {
    return std::to_string(d.count()) + "ms";
  };
  toml::array uris;
  for (auto& u : c.mailchimp.redirect_uris)
    uris.push_back(u);
  return toml::table{
      {"server", toml::table{{"listen", c.server.listen},
                             {"public_url", c.server.public_url},
                             {"threads", int64_t{c.server.threads}}}},
      {"storage",
       toml::table{{"path", c.storage.path},
                   {"map_size", static_cast<int64_t>(c.storage.map_size)}}},
      {"security",
       toml::table{{"secret_key_file", c.security.secret_key_file}}},
      {"mailchimp",
       toml::table{{"mode", c.mailchimp.mode},
                   {"client_id", c.mailchimp.client_id},
                   {"client_secret", c.mailchimp.client_secret},
                   {"redirect_uris", uris},
                   {"oauth_base_url", c.mailchimp.oauth_base_url},
                   {"api_base_url", c.mailchimp.api_base_url},
                   {"max_connections", int64_t{c.mailchimp.max_connections}},
                   {"batch_size", int64_t{c.mailchimp.batch_size}},
                   {"request_timeout", ms(c.mailchimp.request_timeout)},
                   {"sandbox_listen", c.mailchimp.sandbox_listen}}},
      {"webhooks",
       toml::table{{"allow_private_targets", c.webhooks.allow_private_targets},
                   {"timeout", ms(c.webhooks.timeout)}}},
      {"ratelimit",
       toml::table{{"subscribe_per_ip", int64_t{c.ratelimit.subscribe_per_ip}},
                   {"subscribe_per_handle",
                    int64_t{c.ratelimit.subscribe_per_handle}}}},
      {"admin", toml::table{{"token", c.admin.token}}},
      {"metrics", toml::table{{"token", c.metrics.token}}},
      {"log", toml::table{{"level", c.log.level}, {"format", c.log.format}}},
  };
}

bool all_utf8(const ls::config::config& c) {
  using ls::validation::is_utf8;
  bool ok = is_utf8(c.server.listen) && is_utf8(c.server.public_url) &&
            is_utf8(c.storage.path) && is_utf8(c.security.secret_key_file) &&
            is_utf8(c.mailchimp.client_id) &&
            is_utf8(c.mailchimp.client_secret) &&
            is_utf8(c.mailchimp.oauth_base_url) &&
            is_utf8(c.mailchimp.api_base_url) &&
            is_utf8(c.mailchimp.sandbox_listen) && is_utf8(c.admin.token) &&
            is_utf8(c.metrics.token);
  for (auto& u : c.mailchimp.redirect_uris)
    ok = ok && is_utf8(u);
  return ok;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = FUZZ_INPUT;
  std::string_view toml_text = in;
  ls::config::environment env;
  if (auto mark = in.find("\n#ENV\n"); mark != std::string_view::npos) {
    toml_text = in.substr(0, mark);
    auto rest = in.substr(mark + 6);
    while (!rest.empty()) {
      auto nl = rest.find('\n');
      auto line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view{}
                                          : rest.substr(nl + 1);
      auto eq = line.find('=');
      // A process environment has no NUL bytes in names or values.
      if (eq == std::string_view::npos ||
          line.find('\0') != std::string_view::npos)
        continue;
      env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
  }

  ls::config::config c;
  try {
    c = ls::config::parse(toml_text, "fuzz.toml", env);
  } catch (const ls::config::config_error& e) {
    FUZZ_CHECK(!e.reason().empty(), in);
    FUZZ_CHECK(e.file() == "fuzz.toml" || env.count(e.file()), in);
    FUZZ_CHECK(std::string_view(e.what()).starts_with(e.file() + ": "), in);
    return 0;
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, std::string(e.what()) + " | " + std::string(in));
  }

  FUZZ_CHECK(c.server.threads >= 1 && c.server.threads <= 64, in);
  FUZZ_CHECK(c.mailchimp.max_connections >= 1 &&
                 c.mailchimp.max_connections <= 10,
             in);
  FUZZ_CHECK(c.mailchimp.batch_size >= 1 && c.mailchimp.batch_size <= 500, in);
  FUZZ_CHECK(c.storage.map_size >= (uint64_t{1} << 20) &&
                 c.storage.map_size <= (uint64_t{64} << 40),
             in);
  FUZZ_CHECK(c.mailchimp.request_timeout.count() >= 1 &&
                 c.mailchimp.request_timeout.count() <= 600000 &&
                 c.webhooks.timeout.count() >= 1 &&
                 c.webhooks.timeout.count() <= 600000,
             in);
  FUZZ_CHECK(ls::config::parse_host_port(c.server.listen) &&
                 ls::config::parse_host_port(c.mailchimp.sandbox_listen),
             in);
  FUZZ_CHECK(!c.mailchimp.redirect_uris.empty() && !c.storage.path.empty(), in);
  for (auto* u : {&c.server.public_url, &c.mailchimp.oauth_base_url,
                  &c.mailchimp.api_base_url})
    FUZZ_CHECK((u->starts_with("http://") || u->starts_with("https://")) &&
                   !u->ends_with("/"),
               in);
  FUZZ_CHECK(c.admin.token.empty() || c.admin.token.size() >= 16, in);
  FUZZ_CHECK(c.metrics.token.empty() || c.metrics.token.size() >= 16, in);

  if (!all_utf8(c)) return 0; // TOML text holds only UTF-8
  std::ostringstream out;
  out << as_toml(c);
  try {
    auto again = ls::config::parse(out.str(), "again.toml");
    FUZZ_CHECK(again == c, out.str());
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, std::string(e.what()) + " | " + out.str());
  }
  return 0;
}
