// Reading TOML: every key, strictness (unknown keys, wrong types, bad values),
// syntax errors.
#include "config_test_util.hpp"

#include <gmock/gmock.h>

using namespace ls::config;
using namespace ls::config::test;
using namespace std::chrono_literals;
using testing::HasSubstr;

TEST(Parse, AnEmptyFileGivesTheDefaults) {
  EXPECT_EQ(parse("", test_file), config{});
  EXPECT_EQ(parse("# nothing\n[server]\n[log]\n", test_file), config{});
}

TEST(Parse, ReadsEveryKey) {
  const auto c = parse(R"(
[server]
listen = "[::1]:8080"
public_url = "https://links.example.com/"
threads = 8

[storage]
path = "/var/lib/linkstacked"
map_size = "512MiB"

[security]
secret_key_file = "/etc/linkstacked/secret.key"

[mailchimp]
mode = "live"
client_id = "123456789012"
client_secret = "s3cr3t"
redirect_uris = ["https://links.example.com/dashboard/email-collection"]
oauth_base_url = "https://login.example.com/"
api_base_url = "https://{dc}.api.example.com/3.0"
max_connections = 10
batch_size = 250
request_timeout = "90s"
sandbox_listen = "0.0.0.0:4001"
sandbox_control_token = "sim-control-0123456789"

[webhooks]
allow_private_targets = true
timeout = 5

[ratelimit]
subscribe_per_ip = 0
subscribe_per_handle = 1000000

[admin]
token = "0123456789abcdef0123"

[metrics]
token = "prometheus-scrapes-with-this"

[log]
level = "debug"
format = "json"
)",
                       test_file);
  EXPECT_EQ(c.server.listen, "[::1]:8080");
  EXPECT_EQ(c.server.public_url,
            "https://links.example.com"); // trailing / removed
  EXPECT_EQ(c.server.threads, 8u);
  EXPECT_EQ(c.storage.path, "/var/lib/linkstacked");
  EXPECT_EQ(c.storage.map_size, uint64_t{512} << 20);
  EXPECT_EQ(c.security.secret_key_file, "/etc/linkstacked/secret.key");
  EXPECT_EQ(c.mailchimp.mode, "live");
  EXPECT_EQ(c.mailchimp.client_id, "123456789012");
  EXPECT_EQ(c.mailchimp.client_secret, "s3cr3t");
  EXPECT_EQ(c.mailchimp.redirect_uris,
            std::vector<std::string>{
                "https://links.example.com/dashboard/email-collection"});
  EXPECT_EQ(c.mailchimp.oauth_base_url, "https://login.example.com");
  EXPECT_EQ(c.mailchimp.api_base_url, "https://{dc}.api.example.com/3.0");
  EXPECT_EQ(c.mailchimp.max_connections, 10u);
  EXPECT_EQ(c.mailchimp.batch_size, 250u);
  EXPECT_EQ(c.mailchimp.request_timeout, 90s);
  EXPECT_EQ(c.mailchimp.sandbox_listen, "0.0.0.0:4001");
  EXPECT_EQ(c.mailchimp.sandbox_control_token, "sim-control-0123456789");
  EXPECT_TRUE(c.webhooks.allow_private_targets);
  EXPECT_EQ(c.webhooks.timeout, 5s);
  EXPECT_EQ(c.ratelimit.subscribe_per_ip, 0u);
  EXPECT_EQ(c.ratelimit.subscribe_per_handle, 1000000u);
  EXPECT_EQ(c.admin.token, "0123456789abcdef0123");
  EXPECT_EQ(c.metrics.token, "prometheus-scrapes-with-this");
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, "json");
}

TEST(Parse, AMissingKeyKeepsItsDefault) {
  const auto c = parse("[server]\nthreads = 3\n", test_file);
  config expected;
  expected.server.threads = 3;
  EXPECT_EQ(c, expected);
}

TEST(Parse, InlineTablesAndDottedKeysWork) {
  const auto c =
      parse("server = { threads = 5 }\nlog.level = \"warn\"\n", test_file);
  EXPECT_EQ(c.server.threads, 5u);
  EXPECT_EQ(c.log.level, "warn");
}

TEST(Parse, TheErrorMessageHasFileKeyAndReason) {
  auto e = error_of("[server]\nthreads = \"two\"\n");
  EXPECT_EQ(e.file(), "test.toml");
  EXPECT_EQ(e.key(), "server.threads");
  EXPECT_EQ(e.reason(), R"(must be an integer from 1 to 64 (got "two"))");
  EXPECT_STREQ(
      e.what(),
      R"(test.toml: server.threads: must be an integer from 1 to 64 (got "two"))");
}

TEST(Parse, WhatOmitsAnEmptyKey) {
  EXPECT_STREQ(config_error("f.toml", "", "cannot read: x").what(),
               "f.toml: cannot read: x");
}

// -- unknown sections and keys --

TEST(Parse, AnUnknownSectionIsAnError) {
  auto e = error_of("[server]\nthreads = 2\n[sever]\nlisten = \"a:1\"\n");
  EXPECT_EQ(e.key(), "sever");
  EXPECT_EQ(e.reason(), "unknown section (did you mean [server]?)");

  e = error_of("[tracing]\n");
  EXPECT_EQ(e.key(), "tracing");
  EXPECT_THAT(e.reason(), HasSubstr("unknown section; the sections are "
                                    "server, storage, security, mailchimp"));
}

TEST(Parse, AnUnknownKeyIsAnError) {
  auto e = error_of("[server]\nlisen = \"127.0.0.1:80\"\n");
  EXPECT_EQ(e.key(), "server.lisen");
  EXPECT_EQ(e.reason(), "unknown key (did you mean server.listen?)");

  e = error_of("[server]\nworkers = 4\n");
  EXPECT_EQ(e.key(), "server.workers");
  EXPECT_EQ(e.reason(),
            "unknown key; [server] has listen, public_url, threads");
}

TEST(Parse, AKeyOutsideASectionIsAnError) {
  auto e = error_of("listen = \"127.0.0.1:80\"\n");
  EXPECT_EQ(e.key(), "listen");
  EXPECT_EQ(e.reason(), "unknown key outside any section; the sections are "
                        "server, storage, security, mailchimp, webhooks, "
                        "ratelimit, admin, metrics, log");
}

TEST(Parse, ASectionMustBeATable) {
  auto e = error_of("server = 1\n");
  EXPECT_EQ(e.key(), "server");
  EXPECT_EQ(e.reason(), "must be a table, written [server] (got 1)");

  e = error_of("[[server]]\nthreads = 1\n");
  EXPECT_EQ(e.key(), "server");
  EXPECT_EQ(e.reason(), "must be a single table, written [server], not "
                        "[[server]]");
}

TEST(Parse, TheFirstProblemInTheFileIsReported) {
  // Alphabetically "listen" comes first; in the file "threads" does.
  auto e = error_of("[server]\nthreads = 0\nlisten = \"bad\"\n");
  EXPECT_EQ(e.key(), "server.threads");
  e = error_of("[zzz]\n[aaa]\n");
  EXPECT_EQ(e.key(), "zzz");
}

// -- syntax errors --

TEST(Parse, ASyntaxErrorNamesTheLine) {
  auto e = error_of("[server]\nthreads = 2\nlisten = \n");
  EXPECT_EQ(e.file(), "test.toml");
  EXPECT_EQ(e.key(), "");
  EXPECT_THAT(e.reason(), HasSubstr("TOML syntax error at line 3, column"));
  EXPECT_THAT(e.what(), HasSubstr("test.toml: TOML syntax error at line 3"));
}

TEST(Parse, ADuplicateKeyIsASyntaxError) {
  auto e = error_of("[log]\nlevel = \"info\"\nlevel = \"debug\"\n");
  EXPECT_THAT(e.reason(), HasSubstr("line 3"));
  EXPECT_THAT(e.reason(), HasSubstr("level"));
}

TEST(Parse, AnUnterminatedStringIsASyntaxError) {
  auto e = error_of("\n\n[server]\nlisten = \"127.0.0.1:80\n");
  EXPECT_THAT(e.reason(), HasSubstr("line 4"));
}

// -- wrong types --

TEST(Parse, WrongTypesNameTheKeyAndWhatWasGiven) {
  auto e = error_of("[server]\nthreads = \"4\"\n");
  EXPECT_EQ(e.key(), "server.threads");
  EXPECT_EQ(e.reason(), R"(must be an integer from 1 to 64 (got "4"))");

  e = error_of("[webhooks]\nallow_private_targets = 1\n");
  EXPECT_EQ(e.key(), "webhooks.allow_private_targets");
  EXPECT_EQ(e.reason(), "must be true or false (got 1)");

  e = error_of("[mailchimp]\nredirect_uris = [1, 2]\n");
  EXPECT_EQ(e.key(), "mailchimp.redirect_uris");
  EXPECT_EQ(e.reason(), "must be a non-empty list of absolute http or https "
                        "URLs (got [1, 2])");

  e = error_of("[mailchimp]\nredirect_uris = \"http://localhost/cb\"\n");
  EXPECT_EQ(e.key(), "mailchimp.redirect_uris");
  EXPECT_THAT(e.reason(), HasSubstr("must be a non-empty list"));

  e = error_of("[server]\nlisten = 3000\n");
  EXPECT_EQ(e.key(), "server.listen");
  EXPECT_EQ(e.reason(), "must be host:port or [ipv6]:port with a port from 0 "
                        "to 65535 (got 3000)");

  e = error_of("[mailchimp]\nclient_id = 42\n");
  EXPECT_EQ(e.key(), "mailchimp.client_id");
  EXPECT_EQ(e.reason(), "must be a string (got 42)");

  e = error_of("[server]\nthreads = 2.5\n");
  EXPECT_EQ(e.reason(), "must be an integer from 1 to 64 (got 2.5)");

  e = error_of("[log]\nlevel = { a = 1 }\n");
  EXPECT_EQ(e.key(), "log.level");
  EXPECT_THAT(e.reason(), HasSubstr("(got a table)"));

  e = error_of("[storage]\npath = 1979-05-27\n");
  EXPECT_EQ(e.key(), "storage.path");
  EXPECT_EQ(e.reason(), "must be a non-empty path (got 1979-05-27)");
}

// -- bad values: one row per rule --

struct bad_case {
  std::string section, key, value; ///< value in TOML syntax
  std::string reason;              ///< a substring of the reason expected
};

std::ostream& operator<<(std::ostream& os, const bad_case& c) {
  return os << c.section << "." << c.key << " = " << c.value;
}

class BadValue : public testing::TestWithParam<bad_case> {};

TEST_P(BadValue, IsRejectedNamingTheKey) {
  const auto& p = GetParam();
  auto e = error_of("[" + p.section + "]\n" + p.key + " = " + p.value + "\n");
  EXPECT_EQ(e.file(), "test.toml");
  EXPECT_EQ(e.key(), p.section + "." + p.key);
  EXPECT_THAT(e.reason(), HasSubstr(p.reason));
}

const std::string listen_rule =
    "must be host:port or [ipv6]:port with a port from 0 to 65535";
const std::string url_rule = "must be an absolute http or https URL";
const std::string size_rule = "must be a size from 1MiB to 64TiB";

INSTANTIATE_TEST_SUITE_P(
    Rules, BadValue,
    testing::Values(
        // listen addresses
        bad_case{"server", "listen", R"("localhost")", listen_rule},
        bad_case{"server", "listen", R"("127.0.0.1:65536")",
                 listen_rule + R"( (got "127.0.0.1:65536"))"},
        bad_case{"server", "listen", R"("::1:3000")", listen_rule},
        bad_case{"server", "listen", R"("[::1]")", listen_rule},
        bad_case{"server", "listen", R"("[zz::1]:80")", listen_rule},
        bad_case{"server", "listen", R"(":3000")", listen_rule},
        bad_case{"server", "listen", R"("host:-1")", listen_rule},
        bad_case{"server", "listen", R"("300.1.1.1:80")", listen_rule},
        bad_case{"server", "listen", R"("my host:80")", listen_rule},
        bad_case{"mailchimp", "sandbox_listen", R"("nope")", listen_rule},
        bad_case{"mailchimp", "sandbox_listen", R"("127.0.0.1:")", listen_rule},
        // URLs
        bad_case{"server", "public_url", R"("localhost:3000")",
                 url_rule + ", starting with http:// or https://"},
        bad_case{"server", "public_url", R"("ftp://example.com")",
                 url_rule + ", starting with http:// or https://"},
        bad_case{"server", "public_url", R"("http://")",
                 url_rule + ", with a host"},
        bad_case{"server", "public_url", R"("http://:80/")",
                 url_rule + ", with a host"},
        bad_case{"server", "public_url", R"("http://x.com/#top")",
                 url_rule + ", without a fragment"},
        bad_case{"server", "public_url", R"("http://x.com/?a=1")",
                 url_rule + ", without a query"},
        bad_case{"server", "public_url", R"("http://me@x.com/")",
                 url_rule + ", without user info"},
        bad_case{"server", "public_url", R"("http://x.com:0/")",
                 url_rule + ", with a port from 1 to 65535"},
        bad_case{"server", "public_url", R"("http://x.com:99999")",
                 url_rule + ", with a port from 1 to 65535"},
        bad_case{"server", "public_url", R"("http://x y.com/")",
                 url_rule + ", without spaces"},
        bad_case{"server", "public_url", R"("http://[::g]:80/")",
                 url_rule + ", with a valid IPv6 address in brackets"},
        bad_case{"server", "public_url", R"("")", url_rule},
        bad_case{"mailchimp", "redirect_uris", R"([])",
                 "must be a non-empty list of absolute http or https URLs"},
        bad_case{
            "mailchimp", "redirect_uris",
            R"(["http://localhost/cb", "/dashboard"])",
            R"(entry 2 must be an absolute http or https URL, starting with http:// or https:// (got "/dashboard"))"},
        bad_case{"mailchimp", "redirect_uris", R"(["http://localhost/cb#x"])",
                 "entry 1 " + url_rule + ", without a fragment"},
        bad_case{"mailchimp", "oauth_base_url", R"("login.mailchimp.com")",
                 url_rule},
        bad_case{
            "mailchimp", "api_base_url",
            R"("https://us1.api.mailchimp.com/3.0")",
            url_rule +
                R"( containing {dc} (got "https://us1.api.mailchimp.com/3.0"))"},
        bad_case{"mailchimp", "api_base_url", R"("{dc}.api.mailchimp.com")",
                 url_rule + " containing {dc}, starting with http://"},
        // integers
        bad_case{"server", "threads", "0",
                 "must be an integer from 1 to 64 (got 0)"},
        bad_case{"server", "threads", "65", "must be an integer from 1 to 64"},
        bad_case{"server", "threads", "-1",
                 "must be an integer from 1 to 64 (got -1)"},
        bad_case{"mailchimp", "max_connections", "0",
                 "must be an integer from 1 to 10"},
        bad_case{"mailchimp", "max_connections", "11",
                 "must be an integer from 1 to 10"},
        bad_case{"mailchimp", "batch_size", "0",
                 "must be an integer from 1 to 500"},
        bad_case{"mailchimp", "batch_size", "501",
                 "must be an integer from 1 to 500"},
        bad_case{"ratelimit", "subscribe_per_ip", "-1",
                 "must be an integer from 0 to 1000000"},
        bad_case{"ratelimit", "subscribe_per_ip", R"("30")",
                 "must be an integer from 0 to 1000000"},
        bad_case{"ratelimit", "subscribe_per_handle", "1000001",
                 "must be an integer from 0 to 1000000"},
        // sizes
        bad_case{"storage", "map_size", "1000",
                 size_rule + ": bytes as an integer"},
        bad_case{"storage", "map_size", "1048575", size_rule},
        bad_case{
            "storage", "map_size", R"("64MB")",
            size_rule +
                R"(: bytes as an integer, or a string such as "512MiB" or "4GiB" (units KiB, MiB, GiB, TiB) (got "64MB"))"},
        bad_case{"storage", "map_size", R"("1GB")", size_rule},
        bad_case{"storage", "map_size", R"("1gib")", size_rule},
        bad_case{"storage", "map_size", R"("1.5GiB")", size_rule},
        bad_case{"storage", "map_size", R"("0")", size_rule},
        bad_case{"storage", "map_size", R"("65TiB")", size_rule},
        bad_case{"storage", "map_size", R"("99999999999999999999GiB")",
                 size_rule},
        bad_case{"storage", "map_size", "-5", size_rule},
        bad_case{"storage", "map_size", "true", size_rule},
        // durations
        bad_case{
            "mailchimp", "request_timeout", "0",
            R"(must be a duration from 1ms to 10m: integer seconds or a string such as "120s", "500ms" or "2m" (got 0))"},
        bad_case{"mailchimp", "request_timeout", R"("0s")",
                 "must be a duration"},
        bad_case{"mailchimp", "request_timeout", R"("11m")", "to 10m"},
        bad_case{"mailchimp", "request_timeout", "601", "to 10m"},
        bad_case{"mailchimp", "request_timeout", R"("1h")", "to 10m"},
        bad_case{"mailchimp", "request_timeout", R"("2 days")",
                 "must be a duration"},
        bad_case{"mailchimp", "request_timeout", R"("5us")",
                 "must be a duration"},
        bad_case{"mailchimp", "request_timeout", R"("1.5s")",
                 "must be a duration"},
        bad_case{"mailchimp", "request_timeout", "-1", "must be a duration"},
        bad_case{"mailchimp", "request_timeout", "1.5", "must be a duration"},
        bad_case{"webhooks", "timeout", R"("0ms")", "must be a duration"},
        bad_case{"webhooks", "timeout", R"("soon")", "must be a duration"},
        // choices
        bad_case{"mailchimp", "mode", R"("production")",
                 R"(must be one of sandbox, live (got "production"))"},
        bad_case{"mailchimp", "mode", R"("Live")",
                 "must be one of sandbox, live"},
        bad_case{
            "log", "level", R"("verbose")",
            "must be one of trace, debug, info, warn, error, critical, off"},
        bad_case{"log", "level", R"("INFO")", "must be one of trace"},
        bad_case{"log", "format", R"("xml")", "must be one of text, json"},
        // booleans
        bad_case{"webhooks", "allow_private_targets", R"("true")",
                 R"(must be true or false (got "true"))"},
        // non-empty strings
        bad_case{"storage", "path", R"("")",
                 R"(must be a non-empty path (got ""))"},
        bad_case{"security", "secret_key_file", R"("")",
                 "must be a non-empty path"},
        // admin token
        bad_case{"admin", "token", R"("short")",
                 "must be empty (admin API off) or at least 16 printable "
                 "characters without spaces (got a string of 5 characters)"},
        bad_case{"admin", "token", R"("has spaces in it 0123456")",
                 "at least 16 printable characters without spaces"},
        bad_case{"admin", "token", "1234567890123456789",
                 "(got 1234567890123456789)"},
        // metrics token
        bad_case{"metrics", "token", R"("short")",
                 "must be empty (/metrics open) or at least 16 printable "
                 "characters without spaces (got a string of 5 characters)"},
        bad_case{"metrics", "token", R"("has spaces in it 0123456")",
                 "at least 16 printable characters without spaces"},
        bad_case{"metrics", "token", R"("tab\tin-the-token-0123")",
                 "at least 16 printable characters without spaces"},
        bad_case{"metrics", "token", "true", "(got true)"},
        // the sandbox's control token
        bad_case{"mailchimp", "sandbox_control_token", R"("short")",
                 "must be empty (a random one per start) or at least 16 "
                 "printable characters without spaces (got a string of 5 "
                 "characters)"},
        bad_case{"mailchimp", "sandbox_control_token",
                 R"("has spaces in it 0123456")",
                 "at least 16 printable characters without spaces"}));

TEST(Parse, SecretsAreNotEchoed) {
  auto e = error_of("[admin]\ntoken = \"hunter2-secret\"\n");
  EXPECT_THAT(e.what(), testing::Not(HasSubstr("hunter2")));
  EXPECT_THAT(e.what(), HasSubstr("a string of 14 characters"));
  e = error_of("[metrics]\ntoken = \"hunter2 secret with a space\"\n");
  EXPECT_EQ(e.key(), "metrics.token");
  EXPECT_THAT(e.what(), testing::Not(HasSubstr("hunter2")));
  EXPECT_THAT(e.what(), HasSubstr("a string of 27 characters"));
  e = error_of("[mailchimp]\nsandbox_control_token = \"hunter2 secret\"\n");
  EXPECT_THAT(e.what(), testing::Not(HasSubstr("hunter2")));
  EXPECT_THAT(e.what(), HasSubstr("a string of 14 characters"));
}

TEST(Parse, MetricsTokenIsOptional) {
  // Empty by default: /metrics stays open, as before the key existed.
  EXPECT_EQ(config{}.metrics.token, "");
  EXPECT_EQ(parse("[metrics]\n", test_file).metrics.token, "");
  EXPECT_EQ(parse("[metrics]\ntoken = \"\"\n", test_file).metrics.token, "");
  EXPECT_EQ(parse("[metrics]\ntoken = \"0123456789abcdef\"\n", test_file)
                .metrics.token,
            "0123456789abcdef");
  auto e = error_of("[metrics]\ntokn = \"0123456789abcdef\"\n");
  EXPECT_EQ(e.key(), "metrics.tokn");
  EXPECT_EQ(e.reason(), "unknown key (did you mean metrics.token?)");
}

// -- good values --

TEST(Parse, AcceptsListenAddressForms) {
  for (const char* listen :
       {"127.0.0.1:0", "0.0.0.0:65535", "localhost:3000", "[::]:80",
        "[::1]:8080", "[fe80::1%eth0]:80", "my-host.example.com:443"}) {
    SCOPED_TRACE(listen);
    auto c = parse(std::string("[server]\nlisten = \"") + listen + "\"\n",
                   test_file);
    EXPECT_EQ(c.server.listen, listen);
  }
}

TEST(Parse, ParseHostPortSplits) {
  EXPECT_EQ(parse_host_port("127.0.0.1:3000"), (host_port{"127.0.0.1", 3000}));
  EXPECT_EQ(parse_host_port("[::1]:0"), (host_port{"::1", 0}));
  EXPECT_EQ(parse_host_port("localhost:65535"),
            (host_port{"localhost", 65535}));
  EXPECT_FALSE(parse_host_port("localhost"));
  EXPECT_FALSE(parse_host_port("::1:80"));
  EXPECT_FALSE(parse_host_port("a:+80"));
  EXPECT_FALSE(parse_host_port("a:000080"));
}

TEST(Parse, AcceptsUrlForms) {
  auto c = parse(R"(
[server]
public_url = "HTTPS://[::1]:8443/base/"
[mailchimp]
redirect_uris = ["http://localhost:3000/cb?x=1", "https://a.example/cb/"]
oauth_base_url = "http://127.0.0.1:3001"
api_base_url = "http://127.0.0.1:3001/{dc}/3.0/"
)",
                 test_file);
  EXPECT_EQ(c.server.public_url, "https://[::1]:8443/base"); // normalized
  // Redirect URIs are compared exactly by OAuth servers: kept as written.
  EXPECT_EQ(c.mailchimp.redirect_uris[1], "https://a.example/cb/");
  EXPECT_EQ(c.mailchimp.api_base_url, "http://127.0.0.1:3001/{dc}/3.0");
}

TEST(Parse, AcceptsSizeForms) {
  auto size = [](const std::string& v) {
    return parse("[storage]\nmap_size = " + v + "\n", test_file)
        .storage.map_size;
  };
  EXPECT_EQ(size("1048576"), 1048576u);
  EXPECT_EQ(size(R"("1048576")"), 1048576u);
  EXPECT_EQ(size(R"("1024KiB")"), 1048576u);
  EXPECT_EQ(size(R"("512MiB")"), uint64_t{512} << 20);
  EXPECT_EQ(size(R"("4 GiB")"), uint64_t{4} << 30);
  EXPECT_EQ(size(R"("2TiB")"), uint64_t{2} << 40);
  EXPECT_EQ(size(R"("64TiB")"), uint64_t{64} << 40);
}

TEST(Parse, AcceptsDurationForms) {
  auto timeout = [](const std::string& v) {
    return parse("[mailchimp]\nrequest_timeout = " + v + "\n", test_file)
        .mailchimp.request_timeout;
  };
  EXPECT_EQ(timeout("30"), 30s);
  EXPECT_EQ(timeout(R"("30")"), 30s);
  EXPECT_EQ(timeout(R"("120s")"), 120s);
  EXPECT_EQ(timeout(R"("500ms")"), 500ms);
  EXPECT_EQ(timeout(R"("1ms")"), 1ms);
  EXPECT_EQ(timeout(R"("2m")"), 2min);
  EXPECT_EQ(timeout(R"("10m")"), 10min);
  EXPECT_EQ(timeout("600"), 600s);
  EXPECT_EQ(
      parse("[webhooks]\ntimeout = \"250ms\"\n", test_file).webhooks.timeout,
      250ms);
}

TEST(Parse, AcceptsTheLimitsOfEachRange) {
  auto c = parse(R"(
[server]
threads = 64
[mailchimp]
max_connections = 1
batch_size = 1
[ratelimit]
subscribe_per_ip = 1000000
subscribe_per_handle = 0
[admin]
token = "0123456789abcdef"
)",
                 test_file);
  EXPECT_EQ(c.server.threads, 64u);
  EXPECT_EQ(c.mailchimp.max_connections, 1u);
  EXPECT_EQ(c.mailchimp.batch_size, 1u);
  EXPECT_EQ(c.ratelimit.subscribe_per_ip, 1000000u);
  EXPECT_EQ(c.ratelimit.subscribe_per_handle, 0u);
  EXPECT_EQ(c.admin.token, "0123456789abcdef");
}

// -- rules between keys --

const std::string live_ok = R"(
[mailchimp]
mode = "live"
client_id = "123456789012"
client_secret = "0123456789abcdef0123456789abcdef"
)";

TEST(LiveMode, AcceptsRealCredentialsAndHttps) {
  auto c = parse(live_ok, test_file);
  EXPECT_EQ(c.mailchimp.mode, "live");
}

TEST(LiveMode, RejectsTheSandboxCredentials) {
  auto e = error_of("[mailchimp]\nmode = \"live\"\n");
  EXPECT_EQ(e.file(), "test.toml");
  EXPECT_EQ(e.key(), "mailchimp.client_id");
  EXPECT_EQ(e.reason(),
            "must be your Mailchimp app's client id, not the sandbox one, when "
            "mailchimp.mode is live (got \"sandbox-client\")");

  e = error_of("[mailchimp]\nmode = \"live\"\nclient_id = \"123\"\n");
  EXPECT_EQ(e.key(), "mailchimp.client_secret");
  EXPECT_THAT(e.reason(), HasSubstr("not the sandbox one"));
}

TEST(LiveMode, RejectsEmptyCredentials) {
  auto e = error_of("[mailchimp]\nmode = \"live\"\nclient_id = "
                    "\"\"\nclient_secret = \"x\"\n");
  EXPECT_EQ(e.key(), "mailchimp.client_id");
  EXPECT_EQ(e.reason(), "must be set to your Mailchimp app's client id when "
                        "mailchimp.mode is live");

  e = error_of("[mailchimp]\nmode = \"live\"\nclient_id = \"1\"\nclient_secret "
               "= \"\"\n");
  EXPECT_EQ(e.key(), "mailchimp.client_secret");
  EXPECT_THAT(e.reason(), HasSubstr("must be set"));
}

TEST(LiveMode, RequiresHttpsBaseUrls) {
  auto e = error_of(live_ok + "oauth_base_url = \"http://login.example\"\n");
  EXPECT_EQ(e.key(), "mailchimp.oauth_base_url");
  EXPECT_EQ(e.reason(), "must be an https URL when mailchimp.mode is live "
                        "(got \"http://login.example\")");

  e = error_of(live_ok + "api_base_url = \"http://{dc}.example/3.0\"\n");
  EXPECT_EQ(e.key(), "mailchimp.api_base_url");
  EXPECT_THAT(e.reason(), HasSubstr("must be an https URL"));
}

TEST(LiveMode, TlsVerificationCannotBeTurnedOff) {
  // No key, in the file or in the environment, weakens TLS: whatever it is
  // called, it is refused as unknown and the service does not start.
  for (std::string section : {"mailchimp", "webhooks", "server"})
    for (std::string name : {"tls_verify", "verify_tls", "ssl_verify",
                             "verify_peer", "insecure", "insecure_skip_verify",
                             "tls_insecure", "allow_invalid_certificates"}) {
      auto toml = section == "mailchimp"
                      ? live_ok + name + " = false\n"
                      : live_ok + "[" + section + "]\n" + name + " = false\n";
      auto e = error_of(toml);
      EXPECT_EQ(e.key(), section + "." + name);
      EXPECT_THAT(e.reason(), HasSubstr("unknown key")) << e.what();
      std::string variable = "LINKSTACKED_" + section + "_" + name;
      for (auto& ch : variable)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      auto from_env = error_of(live_ok, {{variable, "false"}});
      EXPECT_EQ(from_env.file(), variable) << from_env.what();
    }
}

TEST(LiveMode, SandboxModeAllowsAnything) {
  auto c = parse("[mailchimp]\nclient_id = \"\"\nclient_secret = \"\"\n"
                 "oauth_base_url = \"http://127.0.0.1:3001\"\n",
                 test_file);
  EXPECT_EQ(c.mailchimp.client_id, "");
}

TEST(SandboxMode, TheSimulatorNeedsItsOwnPort) {
  auto e = error_of("[server]\nlisten = \"0.0.0.0:3000\"\n"
                    "[mailchimp]\nsandbox_listen = \"127.0.0.1:3000\"\n");
  EXPECT_EQ(e.key(), "mailchimp.sandbox_listen");
  EXPECT_THAT(e.reason(), HasSubstr("must not use the port of server.listen"));

  // Port 0 (ephemeral) on both is fine, as is the same port on another address.
  EXPECT_NO_THROW(parse("[server]\nlisten = \"127.0.0.1:0\"\n[mailchimp]\n"
                        "sandbox_listen = \"127.0.0.1:0\"\n",
                        test_file));
  EXPECT_NO_THROW(parse("[server]\nlisten = \"127.0.0.1:3000\"\n[mailchimp]\n"
                        "sandbox_listen = \"127.0.0.2:3000\"\n",
                        test_file));
  // In live mode the simulator does not run.
  EXPECT_NO_THROW(
      parse(live_ok + "sandbox_listen = \"127.0.0.1:3000\"\n", test_file));
}
