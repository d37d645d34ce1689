#include "http/codec/time.hpp"

#include <ctime>
#include <gtest/gtest.h>
#include <limits>
#include <random>

namespace {

using ls::timefmt::parse_rfc3339;
using ls::timefmt::rfc3339;

constexpr int64_t s = 1'000'000;

TEST(TimeFormat, Table) {
  const std::pair<int64_t, std::string> cases[] = {
      {0, "1970-01-01T00:00:00.000Z"},
      {999, "1970-01-01T00:00:00.000Z"},
      {1000, "1970-01-01T00:00:00.001Z"},
      {1'234'567, "1970-01-01T00:00:01.234Z"},
      {951'782'400 * s, "2000-02-29T00:00:00.000Z"},
      {1'709'164'800 * s, "2024-02-29T00:00:00.000Z"},
      {1'795'661'594 * s + 123'456, "2026-11-26T02:53:14.123Z"},
      {253'402'300'799 * s + 999'999, "9999-12-31T23:59:59.999Z"},
      {-1, "1969-12-31T23:59:59.999Z"},
      {-s, "1969-12-31T23:59:59.000Z"},
      {-86'400 * s, "1969-12-31T00:00:00.000Z"},
  };
  for (auto& [us, str] : cases)
    EXPECT_EQ(rfc3339(us), str) << "us: " << us;
}

TEST(TimeFormat, MatchesGmtime) {
  std::mt19937_64 rng(3339);
  for (int i = 0; i < 20000; ++i) {
    // 0000-01-01 .. 9999-12-31
    int64_t secs =
        static_cast<int64_t>(rng() % 315'537'897'600ULL) - 62'167'219'200LL;
    int64_t us = secs * s + static_cast<int64_t>(rng() % s);
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    ASSERT_NE(gmtime_r(&t, &tm), nullptr);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                  tm.tm_min, tm.tm_sec,
                  static_cast<int>((us - secs * s) / 1000));
    ASSERT_EQ(rfc3339(us), buf) << "us: " << us;
  }
}

TEST(TimeFormat, ExtremesDoNotCrash) {
  for (int64_t us : {std::numeric_limits<int64_t>::min(),
                     std::numeric_limits<int64_t>::min() + 1,
                     std::numeric_limits<int64_t>::max(), int64_t{-1}}) {
    auto str = rfc3339(us);
    EXPECT_FALSE(str.empty());
    EXPECT_EQ(str.back(), 'Z');
  }
}

TEST(TimeNow, IsPlausible) {
  auto now = ls::timefmt::now_us();
  EXPECT_GT(now, 1'700'000'000 * s); // after 2023-11
  EXPECT_LT(now, 4'102'444'800 * s); // before 2100
  EXPECT_LE(now, ls::timefmt::now_us());
}

TEST(TimeParse, Accepts) {
  const int64_t base = 1'795'661'594 * s; // 2026-11-26T02:53:14Z
  const std::pair<std::string, int64_t> cases[] = {
      {"2026-11-26T02:53:14Z", base},
      {"2026-11-26t02:53:14z", base},
      {"2026-11-26T02:53:14.1Z", base + 100'000},
      {"2026-11-26T02:53:14.123Z", base + 123'000},
      {"2026-11-26T02:53:14.123456Z", base + 123'456},
      {"2026-11-26T02:53:14.1234569Z", base + 123'456}, // truncated
      {"2026-11-26T02:53:14.000000000000000000000000001Z", base},
      {"2026-11-26T03:53:14+01:00", base},
      {"2026-11-26T01:23:14-01:30", base},
      {"2026-11-26T02:53:14+00:00", base},
      {"2026-11-26T02:53:14-00:00", base},
      {"2026-11-27T02:52:14+23:59", base},
      {"1970-01-01T00:00:00Z", 0},
      {"1970-01-01T00:00:00.000001Z", 1},
      {"1970-01-01T00:59:59+01:00", -s},
      {"1969-12-31T23:59:59.999Z", -1000},
      {"2024-02-29T12:00:00Z", 1'709'208'000 * s},
      {"0000-01-01T00:00:00Z", -62'167'219'200LL * s},
      {"9999-12-31T23:59:59.999999Z", 253'402'300'799 * s + 999'999},
  };
  for (auto& [str, us] : cases)
    EXPECT_EQ(parse_rfc3339(str), us) << "input: " << str;
}

TEST(TimeParse, Refuses) {
  const std::string cases[] = {
      "",
      "garbage",
      "2026-11-26",
      "2026-11-26T02:53:14",    // no offset
      "2026-11-26 02:53:14Z",   // space separator
      "2026-11-26T02:53Z",      // no seconds
      "2026-11-26T02:53:14.Z",  // empty fraction
      "2026-11-26T02:53:14,1Z", // comma fraction
      "2026-11-26T02:53:14+0100",
      "2026-11-26T02:53:14+01",
      "2026-11-26T02:53:14+24:00",
      "2026-11-26T02:53:14+01:60",
      "2026-11-26T02:53:14ZZ",
      "2026-11-26T02:53:14Z ",
      " 2026-11-26T02:53:14Z",
      "2026-13-26T02:53:14Z",
      "2026-00-26T02:53:14Z",
      "2026-11-00T02:53:14Z",
      "2026-11-31T02:53:14Z",
      "2023-02-29T02:53:14Z",
      "2026-11-26T24:00:00Z",
      "2026-11-26T23:60:00Z",
      "2026-11-26T23:59:60Z", // leap seconds are refused
      "26-11-26T02:53:14Z",
      "+2026-11-26T02:53:14Z",
      "2026-1-26T02:53:14Z",
      "2026-11-26T2:53:14Z",
      "２０２６-11-26T02:53:14Z",
      std::string("2026-11-26T02:53:14\0Z", 21),
      "2026-11-26T02:53:14.1111111111111111111111111111111111111111111111Z",
  };
  for (auto& str : cases)
    EXPECT_EQ(parse_rfc3339(str), std::nullopt) << "input: " << str;
}

TEST(TimeParse, RoundTripsAtMillisecondPrecision) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 20000; ++i) {
    int64_t us = static_cast<int64_t>(rng() % (253'402'300'800ULL * s));
    if (i % 2) us -= static_cast<int64_t>(rng() % (62'167'219'200ULL * s));
    auto str = rfc3339(us);
    auto back = parse_rfc3339(str);
    ASSERT_TRUE(back) << str;
    int64_t ms_floor = us - ((us % 1000) + 1000) % 1000;
    ASSERT_EQ(*back, ms_floor) << str;
    ASSERT_EQ(rfc3339(*back), str);
  }
}

TEST(TimeParse, HostileBytes) {
  std::mt19937 rng(77);
  const std::string seed = "2026-11-26T02:53:14.123+01:00";
  for (int i = 0; i < 50000; ++i) {
    std::string str = seed;
    // Mutate a few characters of a valid stamp, or make random bytes.
    if (i % 3 == 0) {
      str.resize(rng() % 70);
      for (auto& c : str)
        c = static_cast<char>(rng());
    } else {
      for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k)
        str[rng() % str.size()] = "0123456789:-+.TZtz\xFF"[rng() % 19];
      if (rng() % 4 == 0) str.resize(rng() % str.size());
    }
    auto r = parse_rfc3339(str);
    if (r) {
      // Whatever parses must print as a valid instant between year -1 and
      // 10000.
      EXPECT_GE(*r, -62'167'219'200LL * s - 86'400LL * s);
      EXPECT_LE(*r, 253'402'300'800LL * s + 86'400LL * s);
    }
  }
}

} // namespace
