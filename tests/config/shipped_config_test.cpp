// The shipped config/linkstacked.toml: it parses, holds every key, and equals
// the struct defaults.
#include "config_test_util.hpp"

#include <fstream>
#include <sstream>
#include <toml++/toml.h>

using namespace ls::config;
using namespace ls::config::test;
using namespace std::chrono_literals;

namespace {

const std::string shipped_path = LS_SOURCE_DIR "/config/linkstacked.toml";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

TEST(ShippedConfig, ParsesAndEqualsTheDefaultsFieldByField) {
  const config c = load(shipped_path);
  const config d;
  EXPECT_EQ(c.server.listen, d.server.listen);
  EXPECT_EQ(c.server.public_url, d.server.public_url);
  EXPECT_EQ(c.server.threads, d.server.threads);
  EXPECT_EQ(c.storage.path, d.storage.path);
  EXPECT_EQ(c.storage.map_size, d.storage.map_size);
  EXPECT_EQ(c.security.secret_key_file, d.security.secret_key_file);
  EXPECT_EQ(c.security.hash_threads, d.security.hash_threads);
  EXPECT_EQ(c.security.hash_queue, d.security.hash_queue);
  EXPECT_EQ(c.mailchimp.mode, d.mailchimp.mode);
  EXPECT_EQ(c.mailchimp.client_id, d.mailchimp.client_id);
  EXPECT_EQ(c.mailchimp.client_secret, d.mailchimp.client_secret);
  EXPECT_EQ(c.mailchimp.redirect_uris, d.mailchimp.redirect_uris);
  EXPECT_EQ(c.mailchimp.oauth_base_url, d.mailchimp.oauth_base_url);
  EXPECT_EQ(c.mailchimp.api_base_url, d.mailchimp.api_base_url);
  EXPECT_EQ(c.mailchimp.max_connections, d.mailchimp.max_connections);
  EXPECT_EQ(c.mailchimp.batch_size, d.mailchimp.batch_size);
  EXPECT_EQ(c.mailchimp.request_timeout, d.mailchimp.request_timeout);
  EXPECT_EQ(c.mailchimp.sandbox_listen, d.mailchimp.sandbox_listen);
  EXPECT_EQ(c.mailchimp.sandbox_control_token,
            d.mailchimp.sandbox_control_token);
  EXPECT_EQ(c.webhooks.allow_private_targets, d.webhooks.allow_private_targets);
  EXPECT_EQ(c.webhooks.timeout, d.webhooks.timeout);
  EXPECT_EQ(c.ratelimit.subscribe_per_ip, d.ratelimit.subscribe_per_ip);
  EXPECT_EQ(c.ratelimit.subscribe_per_handle, d.ratelimit.subscribe_per_handle);
  EXPECT_EQ(c.ratelimit.signup_per_ip, d.ratelimit.signup_per_ip);
  EXPECT_EQ(c.ratelimit.connect_per_account, d.ratelimit.connect_per_account);
  EXPECT_EQ(c.admin.token, d.admin.token);
  EXPECT_EQ(c.metrics.token, d.metrics.token);
  EXPECT_EQ(c.log.level, d.log.level);
  EXPECT_EQ(c.log.format, d.log.format);
  EXPECT_EQ(c, d); // and nothing was forgotten above
}

TEST(ShippedConfig, TheDefaultsAreTheDocumentedOnes) {
  const config d;
  EXPECT_EQ(d.storage.map_size, uint64_t{1} << 30);
  EXPECT_EQ(d.mailchimp.request_timeout, 120s);
  EXPECT_EQ(d.webhooks.timeout, 15s);
  EXPECT_EQ(d.mailchimp.max_connections, 9u);
}

TEST(ShippedConfig, EveryKeyIsPresentWithAComment) {
  const auto text = read_text(shipped_path);
  const toml::table root = toml::parse(text, shipped_path);
  size_t present = 0;
  for (const auto& key : all_keys()) {
    EXPECT_TRUE(root.at_path(key)) << key << " is missing from the file";
    ++present;
  }
  size_t file_keys = 0;
  for (auto&& [section, table] : root)
    file_keys += table.as_table() ? table.as_table()->size() : 1;
  EXPECT_EQ(file_keys, present) << "the file has keys the test does not know";

  // Every key line follows a comment (or, for a group of related keys, another
  // key line that does).
  std::istringstream lines(text);
  std::string line, previous;
  while (std::getline(lines, line)) {
    bool is_key = !line.empty() && line[0] != '#' && line[0] != '[' &&
                  line[0] != ' ' && line[0] != ']' &&
                  line.find(" = ") != std::string::npos;
    if (is_key) {
      bool previous_is_comment = previous.starts_with("#");
      bool previous_is_key = !previous.empty() && previous[0] != '#' &&
                             previous[0] != '[' &&
                             previous.find(" = ") != std::string::npos;
      EXPECT_TRUE(previous_is_comment || previous_is_key)
          << "no comment above: " << line;
    }
    if (!line.starts_with(" ") && !line.starts_with("]")) previous = line;
  }
}

TEST(ShippedConfig, TheReadmeDocumentsEveryKeyAndVariable) {
  const auto readme = read_text(LS_SOURCE_DIR "/config/README.md");
  ASSERT_FALSE(readme.empty());
  for (const auto& key : all_keys()) {
    EXPECT_NE(readme.find("`" + key + "`"), std::string::npos) << key;
    EXPECT_NE(readme.find(variable_of(key)), std::string::npos)
        << variable_of(key);
  }
}

TEST(Load, AMissingFileIsAConfigError) {
  try {
    (void)load("/nonexistent/linkstacked.toml");
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.file(), "/nonexistent/linkstacked.toml");
    EXPECT_EQ(e.key(), "");
    EXPECT_EQ(e.reason(), "cannot read: No such file or directory");
    EXPECT_STREQ(e.what(), "/nonexistent/linkstacked.toml: cannot read: No "
                           "such file or directory");
  }
}

TEST(Load, ADirectoryIsAConfigError) {
  try {
    (void)load(LS_SOURCE_DIR "/config");
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.reason(), "cannot read: Is a directory");
  }
}

TEST(Load, ErrorsNameThePathGiven) {
  const std::string path = testing::TempDir() + "ls_config_bad.toml";
  {
    std::ofstream out(path);
    out << "[server]\nthreads = 0\n";
  }
  try {
    (void)load(path);
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_EQ(e.key(), "server.threads");
  }
  std::remove(path.c_str());
}

TEST(Load, AppliesTheEnvironment) {
  auto c = load(shipped_path, {{"LINKSTACKED_SERVER_THREADS", "7"}});
  EXPECT_EQ(c.server.threads, 7u);
}
