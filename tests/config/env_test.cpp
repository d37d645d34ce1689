// LINKSTACKED_<SECTION>_<KEY> overrides.
#include "config_test_util.hpp"

#include <cstdlib>
#include <gmock/gmock.h>

using namespace ls::config;
using namespace ls::config::test;
using namespace std::chrono_literals;
using testing::HasSubstr;

namespace {

config with_env(const environment& env, std::string_view toml = "") {
  return parse(toml, test_file, env);
}

} // namespace

TEST(Env, EveryKeyHasAVariable) {
  // Setting each key's variable to a valid value is accepted (no "unknown
  // variable").
  const environment env = {
      {"LINKSTACKED_SERVER_LISTEN", "0.0.0.0:8080"},
      {"LINKSTACKED_SERVER_PUBLIC_URL", "https://example.com"},
      {"LINKSTACKED_SERVER_THREADS", "4"},
      {"LINKSTACKED_STORAGE_PATH", "/srv/data"},
      {"LINKSTACKED_STORAGE_MAP_SIZE", "2GiB"},
      {"LINKSTACKED_SECURITY_SECRET_KEY_FILE", "/srv/secret.key"},
      {"LINKSTACKED_SECURITY_HASH_THREADS", "3"},
      {"LINKSTACKED_SECURITY_HASH_QUEUE", "7"},
      {"LINKSTACKED_MAILCHIMP_MODE", "live"},
      {"LINKSTACKED_MAILCHIMP_CLIENT_ID", "1234"},
      {"LINKSTACKED_MAILCHIMP_CLIENT_SECRET", "abcd"},
      {"LINKSTACKED_MAILCHIMP_REDIRECT_URIS", "https://example.com/cb"},
      {"LINKSTACKED_MAILCHIMP_OAUTH_BASE_URL", "https://login.example.com"},
      {"LINKSTACKED_MAILCHIMP_API_BASE_URL", "https://{dc}.example.com/3.0"},
      {"LINKSTACKED_MAILCHIMP_MAX_CONNECTIONS", "3"},
      {"LINKSTACKED_MAILCHIMP_BATCH_SIZE", "100"},
      {"LINKSTACKED_MAILCHIMP_REQUEST_TIMEOUT", "30s"},
      {"LINKSTACKED_MAILCHIMP_SANDBOX_LISTEN", "127.0.0.1:4001"},
      {"LINKSTACKED_MAILCHIMP_SANDBOX_CONTROL_TOKEN",
       "a-sim-control-token-0123"},
      {"LINKSTACKED_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true"},
      {"LINKSTACKED_WEBHOOKS_TIMEOUT", "500ms"},
      {"LINKSTACKED_RATELIMIT_SUBSCRIBE_PER_IP", "0"},
      {"LINKSTACKED_RATELIMIT_SUBSCRIBE_PER_HANDLE", "50"},
      {"LINKSTACKED_RATELIMIT_SIGNUP_PER_IP", "4"},
      {"LINKSTACKED_RATELIMIT_CONNECT_PER_ACCOUNT", "0"},
      {"LINKSTACKED_ADMIN_TOKEN", "an-admin-token-of-32-characters!"},
      {"LINKSTACKED_METRICS_TOKEN", "a-metrics-token-for-prometheus"},
      {"LINKSTACKED_LOG_LEVEL", "trace"},
      {"LINKSTACKED_LOG_FORMAT", "json"},
  };
  ASSERT_EQ(env.size(), all_keys().size());
  for (const auto& key : all_keys())
    EXPECT_TRUE(env.contains(variable_of(key))) << key;
  const auto c = with_env(env);
  EXPECT_EQ(c.server.listen, "0.0.0.0:8080");
  EXPECT_EQ(c.server.public_url, "https://example.com");
  EXPECT_EQ(c.server.threads, 4u);
  EXPECT_EQ(c.storage.path, "/srv/data");
  EXPECT_EQ(c.storage.map_size, uint64_t{2} << 30);
  EXPECT_EQ(c.security.secret_key_file, "/srv/secret.key");
  EXPECT_EQ(c.security.hash_threads, 3u);
  EXPECT_EQ(c.security.hash_queue, 7u);
  EXPECT_EQ(c.mailchimp.mode, "live");
  EXPECT_EQ(c.mailchimp.client_id, "1234");
  EXPECT_EQ(c.mailchimp.client_secret, "abcd");
  EXPECT_EQ(c.mailchimp.redirect_uris,
            std::vector<std::string>{"https://example.com/cb"});
  EXPECT_EQ(c.mailchimp.oauth_base_url, "https://login.example.com");
  EXPECT_EQ(c.mailchimp.api_base_url, "https://{dc}.example.com/3.0");
  EXPECT_EQ(c.mailchimp.max_connections, 3u);
  EXPECT_EQ(c.mailchimp.batch_size, 100u);
  EXPECT_EQ(c.mailchimp.request_timeout, 30s);
  EXPECT_EQ(c.mailchimp.sandbox_listen, "127.0.0.1:4001");
  EXPECT_EQ(c.mailchimp.sandbox_control_token, "a-sim-control-token-0123");
  EXPECT_TRUE(c.webhooks.allow_private_targets);
  EXPECT_EQ(c.webhooks.timeout, 500ms);
  EXPECT_EQ(c.ratelimit.subscribe_per_ip, 0u);
  EXPECT_EQ(c.ratelimit.subscribe_per_handle, 50u);
  EXPECT_EQ(c.ratelimit.signup_per_ip, 4u);
  EXPECT_EQ(c.ratelimit.connect_per_account, 0u);
  EXPECT_EQ(c.admin.token, "an-admin-token-of-32-characters!");
  EXPECT_EQ(c.metrics.token, "a-metrics-token-for-prometheus");
  EXPECT_EQ(c.log.level, "trace");
  EXPECT_EQ(c.log.format, "json");
}

TEST(Env, OverridesTheFile) {
  const auto c = with_env({{"LINKSTACKED_SERVER_LISTEN", "0.0.0.0:9000"},
                           {"LINKSTACKED_SERVER_THREADS", "16"}},
                          "[server]\nlisten = \"127.0.0.1:1\"\nthreads = 4\n"
                          "public_url = \"http://a.example\"\n");
  EXPECT_EQ(c.server.listen, "0.0.0.0:9000");
  EXPECT_EQ(c.server.threads, 16u);
  EXPECT_EQ(c.server.public_url, "http://a.example"); // from the file
}

TEST(Env, String) {
  EXPECT_EQ(with_env({{"LINKSTACKED_LOG_LEVEL", "warn"}}).log.level, "warn");
  // A string value is taken as is: an empty token turns the admin API off.
  EXPECT_EQ(with_env({{"LINKSTACKED_ADMIN_TOKEN", ""}},
                     "[admin]\ntoken = \"0123456789abcdef\"\n")
                .admin.token,
            "");
  auto e = error_of("", {{"LINKSTACKED_LOG_LEVEL", "loud"}});
  EXPECT_EQ(e.file(), "LINKSTACKED_LOG_LEVEL");
  EXPECT_EQ(e.key(), "log.level");
  EXPECT_STREQ(e.what(), "LINKSTACKED_LOG_LEVEL: log.level: must be one of "
                         "trace, debug, info, warn, error, critical, off (got "
                         "\"loud\")");
}

TEST(Env, MetricsToken) {
  EXPECT_EQ(with_env({{"LINKSTACKED_METRICS_TOKEN", "0123456789abcdef"}})
                .metrics.token,
            "0123456789abcdef");
  // Over the file, both ways: set, and emptied (/metrics open again).
  const std::string file = "[metrics]\ntoken = \"from-the-file-0123456\"\n";
  EXPECT_EQ(
      with_env({{"LINKSTACKED_METRICS_TOKEN", "from-the-env-0123456"}}, file)
          .metrics.token,
      "from-the-env-0123456");
  EXPECT_EQ(with_env({{"LINKSTACKED_METRICS_TOKEN", ""}}, file).metrics.token,
            "");
  // The same rules as in the file, and the value is not echoed.
  auto e = error_of("", {{"LINKSTACKED_METRICS_TOKEN", "hunter2-secret"}});
  EXPECT_EQ(e.file(), "LINKSTACKED_METRICS_TOKEN");
  EXPECT_EQ(e.key(), "metrics.token");
  EXPECT_EQ(e.reason(), "must be empty (/metrics open) or at least 16 "
                        "printable characters without spaces (got a string "
                        "of 14 characters)");
  EXPECT_THAT(e.what(), testing::Not(HasSubstr("hunter2")));
}

TEST(Env, Integer) {
  EXPECT_EQ(with_env({{"LINKSTACKED_MAILCHIMP_BATCH_SIZE", " 42 "}})
                .mailchimp.batch_size,
            42u);
  auto e = error_of("", {{"LINKSTACKED_SERVER_THREADS", "two"}});
  EXPECT_EQ(e.file(), "LINKSTACKED_SERVER_THREADS");
  EXPECT_EQ(e.key(), "server.threads");
  EXPECT_EQ(e.reason(), R"(must be an integer from 1 to 64 (got "two"))");
  for (const char* bad :
       {"", "-1", "+4", "4.0", "0x10", "99999999999999999999"}) {
    SCOPED_TRACE(bad);
    e = error_of("", {{"LINKSTACKED_SERVER_THREADS", bad}});
    EXPECT_EQ(e.key(), "server.threads");
    EXPECT_THAT(e.reason(), HasSubstr("must be an integer from 1 to 64"));
  }
}

TEST(Env, Boolean) {
  auto flag = [](const char* v) {
    return with_env({{"LINKSTACKED_WEBHOOKS_ALLOW_PRIVATE_TARGETS", v}})
        .webhooks.allow_private_targets;
  };
  EXPECT_TRUE(flag("true"));
  EXPECT_TRUE(flag("1"));
  EXPECT_TRUE(flag("TRUE"));
  EXPECT_FALSE(flag("false"));
  EXPECT_FALSE(flag("0"));
  auto e =
      error_of("", {{"LINKSTACKED_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "yes"}});
  EXPECT_EQ(e.file(), "LINKSTACKED_WEBHOOKS_ALLOW_PRIVATE_TARGETS");
  EXPECT_EQ(e.key(), "webhooks.allow_private_targets");
  EXPECT_EQ(e.reason(), R"(must be true or false (or 1 or 0) (got "yes"))");
}

TEST(Env, List) {
  auto c = with_env({{"LINKSTACKED_MAILCHIMP_REDIRECT_URIS",
                      "http://localhost:3000/cb, https://app.example/cb"}});
  EXPECT_EQ(c.mailchimp.redirect_uris,
            (std::vector<std::string>{"http://localhost:3000/cb",
                                      "https://app.example/cb"}));
  auto e = error_of("", {{"LINKSTACKED_MAILCHIMP_REDIRECT_URIS", ""}});
  EXPECT_EQ(e.file(), "LINKSTACKED_MAILCHIMP_REDIRECT_URIS");
  EXPECT_EQ(e.key(), "mailchimp.redirect_uris");
  EXPECT_EQ(e.reason(), "must be a non-empty list of absolute http or https "
                        "URLs (got \"\")");
  e = error_of("", {{"LINKSTACKED_MAILCHIMP_REDIRECT_URIS",
                     "http://a.example/cb,,http://b.example/cb"}});
  EXPECT_EQ(e.reason(), "entry 2 must be an absolute http or https URL, "
                        "starting with http:// or https:// (got \"\")");
}

TEST(Env, Duration) {
  auto timeout = [](const char* v) {
    return with_env({{"LINKSTACKED_WEBHOOKS_TIMEOUT", v}}).webhooks.timeout;
  };
  EXPECT_EQ(timeout("90"), 90s);
  EXPECT_EQ(timeout("500ms"), 500ms);
  EXPECT_EQ(timeout("2m"), 2min);
  auto e = error_of("", {{"LINKSTACKED_WEBHOOKS_TIMEOUT", "0"}});
  EXPECT_EQ(e.file(), "LINKSTACKED_WEBHOOKS_TIMEOUT");
  EXPECT_EQ(e.key(), "webhooks.timeout");
  EXPECT_THAT(e.reason(), HasSubstr("must be a duration from 1ms to 10m"));
  EXPECT_THAT(e.reason(), HasSubstr("(got \"0\")"));
}

TEST(Env, Size) {
  auto map_size = [](const char* v) {
    return with_env({{"LINKSTACKED_STORAGE_MAP_SIZE", v}}).storage.map_size;
  };
  EXPECT_EQ(map_size("4GiB"), uint64_t{4} << 30);
  EXPECT_EQ(map_size("2097152"), 2097152u);
  auto e = error_of("", {{"LINKSTACKED_STORAGE_MAP_SIZE", "64MB"}});
  EXPECT_EQ(e.file(), "LINKSTACKED_STORAGE_MAP_SIZE");
  EXPECT_EQ(e.key(), "storage.map_size");
  EXPECT_THAT(e.reason(), HasSubstr("must be a size from 1MiB to 64TiB"));
}

TEST(Env, AnUnknownVariableIsAnError) {
  auto e = error_of("", {{"LINKSTACKED_SERVER_LISTN", "0.0.0.0:80"}});
  EXPECT_EQ(e.file(), "LINKSTACKED_SERVER_LISTN");
  EXPECT_EQ(e.key(), "");
  EXPECT_EQ(e.reason(), "unknown configuration variable (did you mean "
                        "LINKSTACKED_SERVER_LISTEN?)");
  EXPECT_STREQ(e.what(), "LINKSTACKED_SERVER_LISTN: unknown configuration "
                         "variable (did you mean LINKSTACKED_SERVER_LISTEN?)");

  e = error_of("", {{"LINKSTACKED_CONFIG", "x.toml"}});
  EXPECT_EQ(e.file(), "LINKSTACKED_CONFIG");
  EXPECT_THAT(e.reason(), HasSubstr("unknown configuration variable"));
}

TEST(Env, OtherVariablesAreIgnored) {
  EXPECT_EQ(with_env({{"PATH", "/bin"}, {"linkstacked_server_threads", "x"}}),
            config{});
}

TEST(Env, LiveModeErrorsNameTheVariableThatSetTheValue) {
  auto e =
      error_of("", {{"LINKSTACKED_MAILCHIMP_MODE", "live"},
                    {"LINKSTACKED_MAILCHIMP_CLIENT_ID", "sandbox-client"}});
  EXPECT_EQ(e.file(), "LINKSTACKED_MAILCHIMP_CLIENT_ID");
  EXPECT_EQ(e.key(), "mailchimp.client_id");
  // Not set anywhere: the file is named, where the key belongs.
  e = error_of("", {{"LINKSTACKED_MAILCHIMP_MODE", "live"},
                    {"LINKSTACKED_MAILCHIMP_CLIENT_ID", "1234"}});
  EXPECT_EQ(e.file(), "test.toml");
  EXPECT_EQ(e.key(), "mailchimp.client_secret");
}

TEST(Env, ProcessEnvironmentCollectsOnlyLinkstackedVariables) {
  ASSERT_EQ(setenv("LINKSTACKED_TEST_ONLY_VARIABLE", "a=b", 1), 0);
  const auto env = process_environment();
  unsetenv("LINKSTACKED_TEST_ONLY_VARIABLE");
  ASSERT_TRUE(env.contains("LINKSTACKED_TEST_ONLY_VARIABLE"));
  EXPECT_EQ(env.at("LINKSTACKED_TEST_ONLY_VARIABLE"), "a=b");
  for (const auto& [name, value] : env)
    EXPECT_TRUE(name.starts_with("LINKSTACKED_")) << name;
}
