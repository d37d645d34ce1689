// Token buckets and the sign-in failure throttle, driven with explicit time
// points.
#include "actors/ratelimit.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <memory>
#include <string>

namespace {

using namespace std::chrono_literals;
using ls::failure_throttle;
using ls::rate_limiter;

const rate_limiter::clock::time_point t0{std::chrono::hours(1000)};

/// How many takes succeed in a row at `now`, up to `max`.
unsigned allowed_in_a_row(rate_limiter& rl, const std::string& key,
                          rate_limiter::clock::time_point now,
                          unsigned max = 100000) {
  unsigned n = 0;
  while (n < max && rl.take(key, now) == 0)
    ++n;
  return n;
}

TEST(rate_limiter, burst_up_to_the_limit_then_retry_after) {
  rate_limiter rl{10}; // 10 a minute: one token every 6 s
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(rl.take("ip", t0), 0u) << i;
  auto wait = rl.take("ip", t0);
  EXPECT_EQ(wait, 6u);
  EXPECT_GT(rl.take("ip", t0), 0u); // still refused
  // Other keys have their own bucket.
  EXPECT_EQ(rl.take("other", t0), 0u);
}

TEST(rate_limiter, retry_after_is_at_least_one_second) {
  rate_limiter rl{600}; // 10 a second
  EXPECT_EQ(allowed_in_a_row(rl, "k", t0), 600u);
  EXPECT_EQ(rl.take("k", t0), 1u); // 0.1 s rounded up
}

TEST(rate_limiter, refills_with_time) {
  rate_limiter rl{60}; // one a second
  EXPECT_EQ(allowed_in_a_row(rl, "k", t0), 60u);
  EXPECT_EQ(rl.take("k", t0), 1u);
  EXPECT_GT(rl.take("k", t0 + 500ms), 0u); // half a token
  EXPECT_EQ(rl.take("k", t0 + 1s), 0u);    // a whole token
  EXPECT_GT(rl.take("k", t0 + 1s), 0u);
  EXPECT_EQ(allowed_in_a_row(rl, "k", t0 + 11s), 10u);
  // A long pause refills to the burst size, never beyond.
  EXPECT_EQ(allowed_in_a_row(rl, "k", t0 + 1h), 60u);
}

TEST(rate_limiter, retry_after_says_when_a_token_is_back) {
  // One token every 10 s; after the burst, 3 s pass: 7 s to go.
  auto exhausted = [] {
    auto rl = std::make_unique<rate_limiter>(6);
    EXPECT_EQ(allowed_in_a_row(*rl, "k", t0), 6u);
    EXPECT_EQ(rl->take("k", t0 + 3s), 7u);
    return rl;
  };
  EXPECT_GT(exhausted()->take("k", t0 + 10s - 1ms), 0u);
  EXPECT_EQ(exhausted()->take("k", t0 + 10s), 0u);
}

TEST(rate_limiter, zero_means_unlimited) {
  rate_limiter rl{0};
  for (int i = 0; i < 10000; ++i)
    ASSERT_EQ(rl.take("k", t0), 0u);
  EXPECT_EQ(rl.take("k"), 0u); // with the real clock too
}

TEST(rate_limiter, a_flood_of_keys_resets_the_table) {
  // More fresh keys than the table holds: it cannot prune by age, so it starts
  // over, and a key that was exhausted gets a fresh bucket.
  rate_limiter rl{60, 100};
  EXPECT_EQ(allowed_in_a_row(rl, "victim", t0), 60u);
  EXPECT_GT(rl.take("victim", t0), 0u);
  for (int i = 0; i < 100000; ++i)
    ASSERT_EQ(rl.take("flood" + std::to_string(i), t0), 0u);
  EXPECT_EQ(rl.take("victim", t0), 0u);
}

TEST(rate_limiter, pruning_drops_idle_buckets_and_keeps_active_ones) {
  rate_limiter rl{60, 10};
  for (int i = 0; i < 8; ++i) // idle keys, full again after a minute
    EXPECT_EQ(rl.take("old" + std::to_string(i), t0), 0u);
  EXPECT_EQ(allowed_in_a_row(rl, "active", t0 + 30s), 60u); // 9 keys
  EXPECT_EQ(rl.take("new1", t0 + 61s), 0u);                 // 10 keys: full
  // The next key prunes: the old buckets go, "active" (idle 31 s) stays.
  EXPECT_EQ(rl.take("new2", t0 + 61s), 0u);
  // Kept means it has refilled for 31 s only. Had the table been cleared
  // instead (no old bucket pruned), it would have a full bucket of 60.
  EXPECT_EQ(allowed_in_a_row(rl, "active", t0 + 61s), 31u);
}

TEST(rate_limiter, many_keys_stay_bounded_and_keep_working) {
  // Ten times the table size in distinct keys over time: every fresh key is
  // allowed and an exhausted key from the current minute stays limited while
  // the table has room for it.
  rate_limiter rl{2, 1000};
  for (int i = 0; i < 10000; ++i) {
    auto now = t0 + std::chrono::seconds(
                        i); // each key idle for more than a minute soon
    ASSERT_EQ(rl.take("key" + std::to_string(i), now), 0u) << i;
  }
  auto late = t0 + std::chrono::seconds(10000);
  EXPECT_EQ(allowed_in_a_row(rl, "fresh", late), 2u);
  EXPECT_EQ(rl.take("fresh", late), 30u);
}

using outcome = failure_throttle::result;

/// One whole failed attempt at `now`; false when it was not let in.
bool fail(failure_throttle& ft, const std::string& key,
          failure_throttle::clock::time_point now) {
  if (ft.begin(key, now) != 0) return false;
  ft.finish(key, outcome::failed, now);
  return true;
}

/// begin() and give the attempt back: the seconds to wait, or 0.
unsigned wait_of(failure_throttle& ft, const std::string& key,
                 failure_throttle::clock::time_point now) {
  auto w = ft.begin(key, now);
  if (w == 0) ft.finish(key, outcome::given_back, now);
  return w;
}

TEST(failure_throttle, locks_after_the_limit) {
  failure_throttle ft{3, 60s};
  EXPECT_EQ(wait_of(ft, "u", t0), 0u);
  ASSERT_TRUE(fail(ft, "u", t0));
  ASSERT_TRUE(fail(ft, "u", t0 + 1s));
  EXPECT_EQ(wait_of(ft, "u", t0 + 2s), 0u); // two failures: may try again
  ASSERT_TRUE(fail(ft, "u", t0 + 2s));
  EXPECT_EQ(wait_of(ft, "u", t0 + 2s), 58u); // until 60 s after the first
  EXPECT_EQ(wait_of(ft, "u", t0 + 59500ms), 1u);
  EXPECT_EQ(wait_of(ft, "other", t0 + 2s), 0u);
}

TEST(failure_throttle, unlocks_after_the_window) {
  failure_throttle ft{2, 30s};
  ASSERT_TRUE(fail(ft, "u", t0));
  ASSERT_TRUE(fail(ft, "u", t0));
  EXPECT_EQ(wait_of(ft, "u", t0 + 29s), 1u);
  EXPECT_EQ(wait_of(ft, "u", t0 + 30s), 0u);
  // A new window starts from scratch: one failure does not lock again.
  ASSERT_TRUE(fail(ft, "u", t0 + 31s));
  EXPECT_EQ(wait_of(ft, "u", t0 + 31s), 0u);
  ASSERT_TRUE(fail(ft, "u", t0 + 32s));
  EXPECT_EQ(wait_of(ft, "u", t0 + 32s), 29u);
}

TEST(failure_throttle, old_failures_outside_the_window_do_not_count) {
  failure_throttle ft{2, 30s};
  ASSERT_TRUE(fail(ft, "u", t0));
  ASSERT_TRUE(fail(ft, "u", t0 + 31s)); // the first expired: a new window
  EXPECT_EQ(wait_of(ft, "u", t0 + 31s), 0u);
}

TEST(failure_throttle, success_clears) {
  failure_throttle ft{2, 60s};
  ASSERT_TRUE(fail(ft, "u", t0));
  ASSERT_TRUE(fail(ft, "u", t0));
  EXPECT_GT(wait_of(ft, "u", t0), 0u);
  // A success can only come from an attempt let in: after the window here.
  ASSERT_EQ(ft.begin("u", t0 + 61s), 0u);
  ft.finish("u", outcome::succeeded, t0 + 61s);
  ASSERT_TRUE(fail(ft, "u", t0 + 62s)); // counting starts over
  EXPECT_EQ(wait_of(ft, "u", t0 + 62s), 0u);
  ft.finish("never-began", outcome::succeeded, t0); // harmless
}

TEST(failure_throttle, attempts_count_before_they_are_checked) {
  // 200 attempts arrive together, none finished yet: only `limit` are let in.
  failure_throttle ft{5, 900s};
  unsigned let_in = 0;
  for (int i = 0; i < 200; ++i)
    if (ft.begin("u", t0) == 0) ++let_in;
  EXPECT_EQ(let_in, 5u);
  // While they are being checked, the rest wait a second (they may succeed).
  EXPECT_EQ(ft.begin("u", t0), 1u);
  for (int i = 0; i < 5; ++i)
    ft.finish("u", outcome::failed, t0);
  // Five failures: locked for the window, the right password included.
  EXPECT_EQ(ft.begin("u", t0 + 1s), 899u);
}

TEST(failure_throttle, a_given_back_attempt_does_not_count) {
  failure_throttle ft{2, 60s};
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(ft.begin("u", t0), 0u) << i;
    ft.finish("u", outcome::given_back, t0);
  }
  ASSERT_TRUE(fail(ft, "u", t0));
  // A give-back (a success on an address key) keeps the failures.
  ASSERT_EQ(ft.begin("u", t0), 0u);
  ft.finish("u", outcome::given_back, t0);
  ASSERT_TRUE(fail(ft, "u", t0));
  EXPECT_EQ(ft.begin("u", t0), 60u);
}

} // namespace

TEST(address_key, ipv6_counts_by_its_64_and_ipv4_as_is) {
  EXPECT_EQ(ls::address_key("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(ls::address_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"),
            "2001:db8:1:2::/64");
  EXPECT_EQ(ls::address_key("2001:db8:1:2::1"),
            ls::address_key("2001:db8:1:2:ffff::9"));
  EXPECT_NE(ls::address_key("2001:db8:1:2::1"),
            ls::address_key("2001:db8:1:3::1"));
  EXPECT_EQ(ls::address_key("::1"), "::/64");
  EXPECT_EQ(ls::address_key("not an address"), "not an address");
  EXPECT_EQ(ls::address_key(""), "");
}
