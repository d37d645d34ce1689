// The versioned binary record codec: round trips, rejection of corrupt input,
// forward compatibility with appended fields.
#include "storage/records.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <limits>
#include <random>
#include <string>

namespace {

using namespace ls::store;

// -- field-wise comparison (the records have no operator==)
// ---------------------------------

void expect_same(const account& a, const account& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.email, b.email);
  EXPECT_EQ(a.handle, b.handle);
  EXPECT_EQ(a.password_hash, b.password_hash);
  EXPECT_EQ(a.created_at, b.created_at);
}

void expect_same(const session& a, const session& b) {
  EXPECT_EQ(a.account_id, b.account_id);
  EXPECT_EQ(a.csrf_token, b.csrf_token);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.expires_at, b.expires_at);
}

void expect_same(const campaign& a, const campaign& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.account_id, b.account_id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.slug, b.slug);
  ASSERT_EQ(a.fields.size(), b.fields.size());
  for (size_t i = 0; i < a.fields.size(); ++i) {
    EXPECT_EQ(a.fields[i].key, b.fields[i].key) << i;
    EXPECT_EQ(a.fields[i].label, b.fields[i].label) << i;
    EXPECT_EQ(a.fields[i].type, b.fields[i].type) << i;
    EXPECT_EQ(a.fields[i].required, b.fields[i].required) << i;
    EXPECT_EQ(a.fields[i].options, b.fields[i].options) << i;
  }
  EXPECT_EQ(a.default_tags, b.default_tags);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
}

void expect_same(const subscriber& a, const subscriber& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.account_id, b.account_id);
  EXPECT_EQ(a.email, b.email);
  EXPECT_EQ(a.phone, b.phone);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.first_name, b.first_name);
  EXPECT_EQ(a.last_name, b.last_name);
  EXPECT_EQ(a.fields, b.fields);
  EXPECT_EQ(a.tags, b.tags);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.campaign_id, b.campaign_id);
  EXPECT_EQ(a.campaign_ids, b.campaign_ids);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.subscribed_at, b.subscribed_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
  EXPECT_EQ(a.opt_in.at, b.opt_in.at);
  EXPECT_EQ(a.opt_in.ip, b.opt_in.ip);
  EXPECT_EQ(a.opt_in.user_agent, b.opt_in.user_agent);
  EXPECT_EQ(a.opt_in.campaign_id, b.opt_in.campaign_id);
  EXPECT_EQ(a.resubscribe_request.at, b.resubscribe_request.at);
  EXPECT_EQ(a.resubscribe_request.ip, b.resubscribe_request.ip);
  EXPECT_EQ(a.resubscribe_request.user_agent, b.resubscribe_request.user_agent);
  EXPECT_EQ(a.resubscribe_request.campaign_id,
            b.resubscribe_request.campaign_id);
}

// -- sample records with every field set
// ----------------------------------------------------

account full_account() {
  account a;
  a.id = "acc_0123456789abcdefghij";
  a.email = "zoë@exämple.com";
  a.handle = "zoë-✓";
  a.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  a.created_at = 1'709'164'800'123'456;
  return a;
}

session full_session() {
  session s;
  s.account_id = "acc_0123456789abcdefghij";
  s.csrf_token =
      "tok-🙂-" + std::string(300, 'x'); // a length that needs 2 varint bytes
  s.created_at = 1'709'164'800'000'000;
  s.expires_at = std::numeric_limits<int64_t>::max();
  return s;
}

campaign full_campaign() {
  campaign c;
  c.id = "cmp_0123456789abcdefghij";
  c.account_id = "acc_0123456789abcdefghij";
  c.name = "Frühling ☀ Newsletter";
  c.slug = "fruehling";
  c.fields = {
      {"email", "E-Mail", "email", true, {}},
      {"size", "Größe", "select", false, {"S", "M", "L", ""}},
      {"", "", "", false, {""}}, // empty strings everywhere
      {"agree", "Ich stimme zu ✔", "checkbox", true, {}},
  };
  c.default_tags = {"spring", "日本語", ""};
  c.created_at = -1; // before the epoch
  c.updated_at = std::numeric_limits<int64_t>::min();
  return c;
}

subscriber full_subscriber() {
  subscriber s;
  s.id = "sub_0123456789abcdefghij";
  s.account_id = "acc_0123456789abcdefghij";
  s.email = "ünïcødé@example.org";
  s.phone = "+4915112345678";
  s.name = "Renée O'Brien";
  s.first_name = "Renée";
  s.last_name = "O'Brien ✈";
  s.fields = {{"", "empty key"}, {"city", "Zürich"}, {"note", ""}};
  s.tags = {"a", "vip", "ß"};
  s.source = "form";
  s.campaign_id = "cmp_0123456789abcdefghij";
  s.campaign_ids = {"cmp_0123456789abcdefghij", "cmp_zzzzzzzzzzzzzzzzzzzz"};
  s.status = "unsubscribed";
  s.subscribed_at = 1'709'164'800'000'001;
  s.updated_at = 1'709'164'900'000'002;
  s.opt_in.at = 1'709'164'800'000'001;
  s.opt_in.ip = "2001:db8::1";
  s.opt_in.user_agent = "Mozilla/5.0 (X11; Linux x86_64) ☃";
  s.opt_in.campaign_id = "cmp_0123456789abcdefghij";
  s.resubscribe_request.at = 1'709'165'000'000'003;
  s.resubscribe_request.ip = "192.0.2.9";
  s.resubscribe_request.user_agent = "curl/8 ☂";
  s.resubscribe_request.campaign_id = "cmp_zzzzzzzzzzzzzzzzzzzz";
  return s;
}

template <class T>
T round_trip(const T& x) {
  T out;
  EXPECT_TRUE(decode(encode(x), out));
  return out;
}

// -- round trips
// ----------------------------------------------------------------------------

TEST(codec, account_round_trip) {
  expect_same(round_trip(full_account()), full_account());
  expect_same(round_trip(account{}), account{});
}

TEST(codec, session_round_trip) {
  expect_same(round_trip(full_session()), full_session());
  expect_same(round_trip(session{}), session{});
}

TEST(codec, campaign_round_trip) {
  expect_same(round_trip(full_campaign()), full_campaign());
  expect_same(round_trip(campaign{}), campaign{});
}

TEST(codec, subscriber_round_trip) {
  expect_same(round_trip(full_subscriber()), full_subscriber());
  subscriber empty;
  empty.status.clear();
  expect_same(round_trip(empty), empty);
  expect_same(round_trip(subscriber{}), subscriber{});
}

TEST(codec, integer_extremes_round_trip) {
  for (int64_t v :
       {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{127}, int64_t{128},
        int64_t{-128}, int64_t{1} << 62, std::numeric_limits<int64_t>::max(),
        std::numeric_limits<int64_t>::min()}) {
    session s;
    s.created_at = v;
    s.expires_at = ~v; // not -v: -min() overflows
    auto back = round_trip(s);
    EXPECT_EQ(back.created_at, v);
    EXPECT_EQ(back.expires_at, ~v);
  }
}

TEST(codec, binary_strings_round_trip) {
  account a;
  static constexpr char raw[] = "\0\x01\xff\x80 nul inside";
  a.password_hash = std::string(raw, sizeof raw - 1);
  ASSERT_EQ(a.password_hash.size(), 15u);
  a.email = std::string(1, '\0');
  expect_same(round_trip(a), a);
}

TEST(codec, decode_overwrites_previous_contents) {
  // Decoding into a reused object must not leave old elements behind.
  auto big = full_subscriber();
  big.tags = {"1", "2", "3", "4", "5"};
  big.fields = {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}};
  subscriber small;
  small.tags = {"x"};
  small.fields = {{"k", "v"}};
  ASSERT_TRUE(decode(encode(small), big));
  expect_same(big, small);

  auto c = full_campaign();
  campaign few;
  few.fields = {{"only", "Only", "text", false, {}}};
  ASSERT_TRUE(decode(encode(few), c));
  expect_same(c, few);
}

TEST(codec, field_lookup) {
  auto s = full_subscriber();
  ASSERT_NE(s.field("city"), nullptr);
  EXPECT_EQ(*s.field("city"), "Zürich");
  ASSERT_NE(s.field("note"), nullptr);
  EXPECT_EQ(*s.field("note"), "");
  EXPECT_EQ(s.field("missing"), nullptr);
}

// -- rejection
// ------------------------------------------------------------------------------

TEST(codec, decode_rejects_wrong_kind) {
  const std::string encoded[] = {encode(full_account()), encode(full_session()),
                                 encode(full_campaign()),
                                 encode(full_subscriber())};
  for (size_t i = 0; i < 4; ++i) {
    account a;
    session s;
    campaign c;
    subscriber sub;
    EXPECT_EQ(decode(encoded[i], a), i == 0) << i;
    EXPECT_EQ(decode(encoded[i], s), i == 1) << i;
    EXPECT_EQ(decode(encoded[i], c), i == 2) << i;
    EXPECT_EQ(decode(encoded[i], sub), i == 3) << i;
  }
}

TEST(codec, decode_rejects_unknown_version) {
  auto bytes = encode(full_account());
  for (int tag : {0x00, 0x10, 0x12, 0x1f, 0x21, 0xff}) {
    bytes[0] = static_cast<char>(tag);
    account a;
    EXPECT_FALSE(decode(bytes, a)) << "tag " << tag;
  }
}

template <class T>
void expect_every_prefix_rejected(const T& x) {
  auto bytes = encode(x);
  ASSERT_GT(bytes.size(), 1u);
  for (size_t n = 0; n < bytes.size(); ++n) {
    T out;
    EXPECT_FALSE(decode(std::string_view{bytes}.substr(0, n), out))
        << "accepted a prefix of " << n << " of " << bytes.size() << " bytes";
  }
}

TEST(codec, decode_rejects_truncation_at_every_length) {
  expect_every_prefix_rejected(full_account());
  expect_every_prefix_rejected(full_session());
  expect_every_prefix_rejected(full_campaign());
  expect_every_prefix_rejected(full_subscriber());
  expect_every_prefix_rejected(account{});
  expect_every_prefix_rejected(session{});
  expect_every_prefix_rejected(campaign{});
  expect_every_prefix_rejected(subscriber{});
}

TEST(codec, decode_rejects_garbage) {
  account a;
  session s;
  campaign c;
  subscriber sub;
  EXPECT_FALSE(decode("", a));
  EXPECT_FALSE(decode("hello, world", a));
  // A right tag followed by a varint that never ends (11 continuation bytes).
  auto endless = std::string(1, '\x11') + std::string(11, '\xff');
  EXPECT_FALSE(decode(endless, a));
  // A right tag and a string length far beyond the input.
  auto too_long = std::string("\x21\xff\xff\xff\x0f", 5) + "abc";
  EXPECT_FALSE(decode(too_long, s));
  // A campaign claiming 2^32 fields, and one claiming 100 fields with no bytes
  // left.
  EXPECT_FALSE(decode(std::string("\x31\0\0\0\0\x80\x80\x80\x80\x10", 10), c));
  EXPECT_FALSE(decode(encode(campaign{}).substr(0, 5) + "\x64", c));
  // A subscriber claiming more tags than bytes remain.
  auto sub_bytes = encode(subscriber{});
  EXPECT_FALSE(
      decode(sub_bytes.substr(0, 9) + "\x7f" + sub_bytes.substr(10), sub));
  // Random bytes under every tag must never crash. An empty subscriber takes 20
  // bytes in version 1 (24 in version 2), so these shorter inputs can never
  // decode as one.
  std::mt19937 rng{42};
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(rng() % 12, '\0');
    for (auto& b : bytes)
      b = static_cast<char>(rng());
    for (char tag : {'\x11', '\x21', '\x31', '\x41', '\x42'}) {
      auto in = std::string(1, tag) + bytes;
      (void)decode(in, a);
      (void)decode(in, s);
      (void)decode(in, c);
      EXPECT_FALSE(decode(in, sub));
    }
  }
  subscriber none;
  none.status.clear();
  EXPECT_EQ(encode(none).size(), 24u);
}

// -- forward compatibility
// ------------------------------------------------------------------

TEST(codec, trailing_bytes_are_ignored) {
  const std::string extra("\x05\x01\xffnew field", 12);
  account a;
  ASSERT_TRUE(decode(encode(full_account()) + extra, a));
  expect_same(a, full_account());
  session s;
  ASSERT_TRUE(decode(encode(full_session()) + extra, s));
  expect_same(s, full_session());
  campaign c;
  ASSERT_TRUE(decode(encode(full_campaign()) + extra, c));
  expect_same(c, full_campaign());
  subscriber sub;
  ASSERT_TRUE(decode(encode(full_subscriber()) + extra, sub));
  expect_same(sub, full_subscriber());
}

TEST(codec, encoding_is_deterministic_and_tagged) {
  EXPECT_EQ(encode(full_subscriber()), encode(full_subscriber()));
  EXPECT_EQ(static_cast<uint8_t>(encode(account{})[0]), 0x11);
  EXPECT_EQ(static_cast<uint8_t>(encode(session{})[0]), 0x21);
  EXPECT_EQ(static_cast<uint8_t>(encode(campaign{})[0]), 0x31);
  EXPECT_EQ(static_cast<uint8_t>(encode(subscriber{})[0]), 0x42);
}

// Subscribers stored before re-subscribe requests (version 1) still read, with
// no request.
TEST(codec, version_1_subscribers_still_decode) {
  auto s = full_subscriber();
  s.resubscribe_request = {};
  auto v2 = encode(s);
  // Version 1 is version 2 without the request's four trailing fields (an
  // empty one is four bytes).
  auto v1 = "\x41" + v2.substr(1, v2.size() - 5);
  subscriber back;
  ASSERT_TRUE(decode(v1, back));
  expect_same(back, s);
}

} // namespace

namespace {

TEST(codec, webhook_records_round_trip) {
  webhook_endpoint w;
  w.account_id = "acc_0123456789abcdefghij";
  w.url = "https://hooks.example.com/ls?x=ü";
  w.events = {"subscriber.created", "sync_job.failed"};
  w.sealed_secret = std::string("\0\xff\x01", 3);
  w.sealed_previous = "old";
  w.previous_until = 5;
  w.status = "disabled";
  w.disabled_reason = "410 Gone";
  w.failing_since = -7;
  w.created_at = 1;
  w.updated_at = 2;
  auto w2 = round_trip(w);
  EXPECT_EQ(encode(w2), encode(w));
  EXPECT_EQ(w2.events, w.events);
  EXPECT_EQ(w2.sealed_secret, w.sealed_secret);

  webhook_delivery d;
  d.id = "dlv_0123456789abcdefghij";
  d.account_id = w.account_id;
  d.message_id = "msg_x";
  d.type = "subscriber.created";
  d.subject = "sub_1";
  d.body = R"({"type":"subscriber.created"})";
  d.created_at = 10;
  d.status = "failed";
  d.next_attempt_at = 11;
  d.attempts = {{12, 500, "boom", 3}, {13, 0, "timeout", 15000000}};
  auto d2 = round_trip(d);
  EXPECT_EQ(encode(d2), encode(d));
  ASSERT_EQ(d2.attempts.size(), 2u);
  EXPECT_EQ(d2.attempts[1].error, "timeout");
  // A truncated record is refused, not half-read.
  auto bytes = encode(d);
  webhook_delivery cut;
  EXPECT_FALSE(
      decode(std::string_view(bytes).substr(0, bytes.size() - 3), cut));
  EXPECT_FALSE(decode(encode(w), cut)); // the wrong kind
}

} // namespace
