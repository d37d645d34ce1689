// The SSRF guard of webhook targets: address ranges and URL forms.
#include "http/client/target_guard.hpp"

#include <cstdio>
#include <gtest/gtest.h>

using ls::http::check_target;
using ls::http::forbidden_address;

TEST(target_guard, special_ipv4_ranges_are_refused) {
  for (auto a : {"127.0.0.1",       "127.255.0.9",     "10.1.2.3",
                 "172.16.0.1",      "172.31.255.255",  "192.168.1.1",
                 "169.254.169.254", "100.64.0.1",      "100.127.255.255",
                 "0.0.0.0",         "0.1.2.3",         "224.0.0.1",
                 "239.255.255.250", "255.255.255.255", "240.0.0.1",
                 "192.0.2.1",       "198.51.100.7",    "203.0.113.9",
                 "198.18.0.1",      "198.19.255.255",  "192.0.0.8",
                 "192.88.99.1"})
    EXPECT_NE(forbidden_address(a), "") << a;
}

TEST(target_guard, public_ipv4_is_allowed) {
  for (auto a : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255",
                 "100.128.0.1", "100.63.255.255", "192.169.0.1", "198.20.0.1",
                 "223.255.255.254", "11.0.0.1"})
    EXPECT_EQ(forbidden_address(a), "") << a;
}

TEST(target_guard, special_ipv6_ranges_are_refused) {
  for (auto a : {"::1", "::", "fe80::1", "febf::1", "fc00::1", "fd12:3456::1",
                 "ff02::1", "2001:db8::1", "::ffff:127.0.0.1",
                 "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1",
                 "2002:7f00:1::", "2002:c0a8:101::1", "fec0::1", "2001::1",
                 "100::1", "::127.0.0.1"})
    EXPECT_NE(forbidden_address(a), "") << a;
  EXPECT_NE(forbidden_address("::ffff:127.0.0.1").find("inside IPv6"),
            std::string::npos);
}

// Found by tests/fuzz/address.cpp against IANA's IPv6 special-purpose
// registry: ranges that are not globally reachable were allowed.
TEST(target_guard, local_nat64_documentation_and_srv6_ranges_are_refused) {
  for (auto a : {"64:ff9b:1::a00:1", "64:ff9b:1:ffff::7f00:1", "3fff::1",
                 "3fff:fff:ffff::1", "5f00::1", "5f00:ffff::1"})
    EXPECT_NE(forbidden_address(a), "") << a;
  EXPECT_EQ(forbidden_address("3fff::1"), "a documentation address");
  EXPECT_EQ(forbidden_address("64:ff9b:1::a00:1"), "a local-use NAT64 address");
  // Their neighbours are public.
  for (auto a : {"64:ff9b:2::1", "3fff:1000::1", "5f01::1", "3ffe:ffff::1"})
    EXPECT_EQ(forbidden_address(a), "") << a;
}

// Every IPv6 form that carries an IPv4 address and leads to it (mapped
// ::ffff:0:0/96, compatible ::/96, NAT64 64:ff9b::/96, 6to4 2002::/16) gets
// the verdict of that address.
TEST(target_guard, ipv4_embeddings_agree_with_the_ipv4_address) {
  for (auto v4 : {"8.8.8.8", "1.1.1.1", "203.0.114.1", "10.0.0.1", "127.0.0.1",
                  "169.254.169.254", "192.168.1.1", "100.64.0.1", "0.0.0.0",
                  "224.0.0.1", "255.255.255.255"}) {
    unsigned a[4];
    ASSERT_EQ(std::sscanf(v4, "%u.%u.%u.%u", &a[0], &a[1], &a[2], &a[3]), 4);
    char hi[8], lo[8];
    std::snprintf(hi, sizeof hi, "%x", a[0] << 8 | a[1]);
    std::snprintf(lo, sizeof lo, "%x", a[2] << 8 | a[3]);
    bool refused = !forbidden_address(v4).empty();
    for (auto form : {std::string("::ffff:") + v4, std::string("::") + v4,
                      std::string("64:ff9b::") + v4,
                      "2002:" + std::string(hi) + ":" + lo + "::1"})
      EXPECT_EQ(!forbidden_address(form).empty(), refused)
          << v4 << " as " << form << ": " << forbidden_address(form);
  }
}

// SIIT's IPv4-translated form (RFC 2765) leads through a translator of the
// operator's own: refused whatever IPv4 address it carries.
TEST(target_guard, ipv4_translated_siit_addresses_are_refused_whole) {
  for (auto a :
       {"::ffff:0:10.0.0.1", "::ffff:0:127.0.0.1", "::ffff:0:169.254.169.254",
        "::ffff:0:192.168.0.1", "::ffff:0:8.8.8.8", "::ffff:0:0:0",
        "::ffff:0:ffff:ffff", "0:0:0:0:ffff:0:a00:1"})
    EXPECT_EQ(forbidden_address(a), "an IPv4-translated (SIIT) address") << a;
  // Literal hosts in URLs too, refused before any connection.
  auto t = check_target("http://[::ffff:0:a00:1]/hook", false);
  EXPECT_NE(t.error.find("SIIT"), std::string::npos) << t.error;
  EXPECT_TRUE(t.addresses.empty());
  // Its neighbours are the mapped form, judged by the IPv4 address inside.
  EXPECT_EQ(forbidden_address("::ffff:8.8.8.8"), "");
  EXPECT_EQ(forbidden_address("::ffff:10.0.0.1"),
            "a private address (inside IPv6)");
}

// Found by tests/fuzz/url.cpp: Boost.URL's port_number() wraps past 65535, so
// ":99999" passed; and Boost 1.81 reads "http://a.com:80:b.com/" as host
// a.com, port 80 and the path ":b.com/", which is no URL (RFC 3986: a path
// after an authority starts with "/"), so other parsers read it otherwise.
TEST(target_guard, url_form_refuses_big_ports_and_text_after_the_port) {
  for (auto url : {"http://example.com:99999/", "http://example.com:65536/",
                   "http://8.8.8.8:0100000/"})
    EXPECT_EQ(ls::http::check_url_form(url).error,
              "the URL has an invalid port")
        << url;
  for (auto url : {"http://a.com:80:b.com/", "http://[::1]:200:08820@"})
    EXPECT_EQ(ls::http::check_url_form(url).error,
              "the URL is malformed after its host and port")
        << url;
  auto t = ls::http::check_url_form("HTTPS://example.com:08443/x?y");
  EXPECT_EQ(t.error, "");
  EXPECT_EQ(t.scheme, "https");
  EXPECT_EQ(t.host, "example.com");
  EXPECT_EQ(t.port, "8443");
  EXPECT_TRUE(t.addresses.empty());
  EXPECT_EQ(ls::http::check_url_form("http://[::1]").host, "::1");
  EXPECT_EQ(ls::http::check_url_form("http://example.com").port, "80");
}

TEST(target_guard, public_ipv6_is_allowed) {
  for (auto a : {"2606:4700:4700::1111", "2a00:1450:4001::200e",
                 "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808"})
    EXPECT_EQ(forbidden_address(a), "") << a;
  EXPECT_EQ(forbidden_address("not-an-ip"), "not an IP address");
}

TEST(target_guard, old_ipv4_spellings_resolve_to_what_they_mean) {
  // Decimal, octal and hex forms of 127.0.0.1, as resolvers read them.
  for (auto url :
       {"http://2130706433/", "http://0177.0.0.1/", "http://0x7f.0.0.1/",
        "http://0x7f000001/", "http://127.1/", "http://017700000001/"}) {
    auto t = check_target(url, false);
    EXPECT_NE(t.error.find("loopback"), std::string::npos)
        << url << ": " << t.error;
    EXPECT_TRUE(t.addresses.empty());
  }
}

TEST(target_guard, a_name_resolving_to_a_private_address_is_refused) {
  auto t = check_target("https://localhost:8443/hook", false);
  EXPECT_NE(t.error.find("resolves to"), std::string::npos) << t.error;
  EXPECT_NE(t.error.find("public addresses"), std::string::npos);
  EXPECT_TRUE(t.addresses.empty());
  auto v6 = check_target("http://[::1]:8080/", false);
  EXPECT_NE(v6.error.find("loopback"), std::string::npos) << v6.error;
}

TEST(target_guard, bad_urls_say_why) {
  EXPECT_NE(check_target("ftp://8.8.8.8/", false).error.find("http://"),
            std::string::npos);
  EXPECT_NE(check_target("//8.8.8.8/x", false).error, "");
  EXPECT_NE(check_target("not a url", false).error, "");
  EXPECT_NE(check_target("http://user:pw@8.8.8.8/", false).error.find("user"),
            std::string::npos);
  EXPECT_NE(check_target("http:///path", false).error, "");
  EXPECT_NE(check_target("http://8.8.8.8:0/", false).error.find("port"),
            std::string::npos);
  EXPECT_NE(check_target("http://8.8.8.8/" + std::string(2100, 'a'), false)
                .error.find("2,000"),
            std::string::npos);
  EXPECT_NE(check_target("http://no-such-host.invalid/", false)
                .error.find("cannot be resolved"),
            std::string::npos);
}

TEST(target_guard, allowed_targets_keep_host_port_and_addresses) {
  auto t = check_target("https://8.8.8.8/hooks?x=1", false);
  EXPECT_EQ(t.error, "");
  EXPECT_EQ(t.scheme, "https");
  EXPECT_EQ(t.host, "8.8.8.8");
  EXPECT_EQ(t.port, "443");
  EXPECT_EQ(t.addresses, std::vector<std::string>{"8.8.8.8"});
  // allow_private_targets: loopback receivers in tests.
  auto local = check_target("HTTP://127.0.0.1:9000/in", true);
  EXPECT_EQ(local.error, "");
  EXPECT_EQ(local.scheme, "http");
  EXPECT_EQ(local.port, "9000");
  EXPECT_EQ(local.addresses, std::vector<std::string>{"127.0.0.1"});
}
