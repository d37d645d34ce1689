// parse_command_line: subcommands, options, --help and usage errors.
#include "config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace ls::config;
using testing::HasSubstr;

namespace {

struct outcome {
  std::optional<command> cmd;
  int exit_code = -1;
  std::string out, err;
};

outcome run(std::vector<std::string> args) {
  args.insert(args.begin(), "linkstacked");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  outcome r;
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  r.cmd = parse_command_line(static_cast<int>(args.size()), argv.data(),
                             r.exit_code);
  r.out = testing::internal::GetCapturedStdout();
  r.err = testing::internal::GetCapturedStderr();
  return r;
}

} // namespace

TEST(CommandLine, ServeWithTheDefaultConfig) {
  auto r = run({"serve"});
  ASSERT_TRUE(r.cmd);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.cmd->what, command::serve);
  EXPECT_EQ(r.cmd->config_path, "config/linkstacked.toml");
  EXPECT_EQ(r.out + r.err, "");
}

TEST(CommandLine, ServeWithAConfig) {
  auto r = run({"serve", "--config", "/etc/linkstacked.toml"});
  ASSERT_TRUE(r.cmd);
  EXPECT_EQ(r.cmd->what, command::serve);
  EXPECT_EQ(r.cmd->config_path, "/etc/linkstacked.toml");
  r = run({"serve", "-c", "other.toml"});
  ASSERT_TRUE(r.cmd);
  EXPECT_EQ(r.cmd->config_path, "other.toml");
  r = run({"serve", "--config=third.toml"});
  ASSERT_TRUE(r.cmd);
  EXPECT_EQ(r.cmd->config_path, "third.toml");
}

TEST(CommandLine, CheckConfig) {
  auto r = run({"check-config", "--config", "x.toml"});
  ASSERT_TRUE(r.cmd);
  EXPECT_EQ(r.cmd->what, command::check_config);
  EXPECT_EQ(r.cmd->config_path, "x.toml");
}

TEST(CommandLine, AccountCreate) {
  auto r = run({"account", "create", "--config", "c.toml", "--email",
                "ada@example.com", "--handle", "ada", "--password",
                "correct horse battery staple"});
  ASSERT_TRUE(r.cmd) << r.err;
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.cmd->what, command::account_create);
  EXPECT_EQ(r.cmd->config_path, "c.toml");
  EXPECT_EQ(r.cmd->email, "ada@example.com");
  EXPECT_EQ(r.cmd->handle, "ada");
  EXPECT_EQ(r.cmd->password, "correct horse battery staple");
}

TEST(CommandLine, AccountCreateNeedsEveryField) {
  auto r = run(
      {"account", "create", "--email", "ada@example.com", "--handle", "ada"});
  EXPECT_FALSE(r.cmd);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--password"));
}

TEST(CommandLine, AccountNeedsASubcommand) {
  auto r = run({"account"});
  EXPECT_FALSE(r.cmd);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("subcommand"));
}

TEST(CommandLine, HelpDescribesTheServiceAndListsTheSubcommands) {
  auto r = run({"--help"});
  EXPECT_FALSE(r.cmd);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("LinkStacked email-integrations server"));
  EXPECT_THAT(r.out, HasSubstr("linkstacked"));
  EXPECT_THAT(r.out, HasSubstr("serve"));
  EXPECT_THAT(r.out, HasSubstr("check-config"));
  EXPECT_THAT(r.out, HasSubstr("account"));
  EXPECT_THAT(r.out, HasSubstr("LINKSTACKED_<SECTION>_<KEY>"));
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(run({"-h"}).exit_code, 0);
}

TEST(CommandLine, SubcommandHelp) {
  auto r = run({"serve", "--help"});
  EXPECT_FALSE(r.cmd);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--config"));
  EXPECT_THAT(r.out, HasSubstr("config/linkstacked.toml")); // the default

  r = run({"account", "create", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--email"));
  EXPECT_THAT(r.out, HasSubstr("--handle"));
  EXPECT_THAT(r.out, HasSubstr("--password"));
}

TEST(CommandLine, ABadFlagIsAUsageError) {
  auto r = run({"serve", "--bogus"});
  EXPECT_FALSE(r.cmd);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--bogus"));
  EXPECT_EQ(r.out, "");
}

TEST(CommandLine, AnUnknownSubcommandIsAUsageError) {
  auto r = run({"frobnicate"});
  EXPECT_FALSE(r.cmd);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              HasSubstr("unknown subcommand \"frobnicate\" (the "
                        "subcommands are serve, check-config, account)"));
}

TEST(CommandLine, AMissingOptionValueIsAUsageError) {
  auto r = run({"serve", "--config"});
  EXPECT_FALSE(r.cmd);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--config"));
}

TEST(CommandLine, NoArgumentsPrintsHelpAndExits2) {
  auto r = run({});
  EXPECT_FALSE(r.cmd);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("serve"));
  EXPECT_THAT(r.err, HasSubstr("check-config"));
}

TEST(CommandLine, AnUnknownAccountSubcommandIsAUsageError) {
  auto r = run({"account", "delete", "--email", "a@b.c"});
  EXPECT_FALSE(r.cmd);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown subcommand \"delete\""));
  EXPECT_THAT(r.err, HasSubstr("create"));
}
