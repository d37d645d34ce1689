// Random bytes in every field: the mapper never crashes, never sends more
// than 255 bytes or an empty value, and its JSON always parses.
#include "actors/mapper.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <random>
#include <simdjson.h>
#include <string>
#include <vector>

namespace {

using ls::mapper::batch_body;
using ls::mapper::classify_batch;
using ls::mapper::member;
using ls::mapper::normalize_birthday;
using ls::mapper::skip_reason;
using ls::mapper::to_member;
using ls::store::subscriber;

struct fuzz {
  std::mt19937 rng{20240102};

  size_t below(size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  }

  /// Random bytes, sometimes long, sometimes mostly text-like.
  std::string bytes() {
    static constexpr size_t lengths[] = {0, 1, 3, 10, 40, 254, 255, 256, 1000};
    auto n = lengths[below(std::size(lengths))];
    static const std::string alphabet = "aZ09 /-.,:@\t\n\"\\<>"
                                        "\xC3\xA9"
                                        "\xE2\x82\xAC"
                                        "\xF0\x9F\x99\x82"
                                        "\xFF\x80\xC0\xED\xA0";
    std::string s;
    bool text = below(2) == 0;
    for (size_t i = 0; i < n; ++i)
      s += text ? alphabet[below(alphabet.size())]
                : static_cast<char>(below(256));
    return s;
  }

  std::string key() {
    static const char* keys[] = {"birthday", "DOB",      "birthDate",
                                 "company",  "employer", "ORGANIZATION",
                                 "lastName", "surname",  "fullName",
                                 "name",     "fname",    "address"};
    return below(4) == 0 ? bytes() : keys[below(std::size(keys))];
  }
};

bool valid_member_json(simdjson::dom::element m) {
  std::string_view email;
  if (m["email_address"].get(email)) return false;
  std::string_view status;
  if (m["status"].get(status) && m["status_if_new"].get(status)) return false;
  if (status != "subscribed" && status != "pending") return false;
  simdjson::dom::object mf;
  if (!m["merge_fields"].get(mf))
    for (auto [k, v] : mf) {
      std::string_view s;
      if (v.get(s) || s.empty() || s.size() > 255) return false;
    }
  simdjson::dom::array tags;
  if (!m["tags"].get(tags))
    for (auto t : tags) {
      std::string_view s;
      if (t.get(s) || s.empty() || s.size() > 255) return false;
    }
  return true;
}

TEST(hostile, random_subscribers_make_valid_batches) {
  fuzz f;
  simdjson::dom::parser parser;
  for (int round = 0; round < 300; ++round) {
    std::vector<member> members;
    for (int i = 0; i < 10; ++i) {
      subscriber s;
      s.email = f.bytes();
      if (f.below(4) != 0) s.email += "@example.org";
      s.phone = f.bytes();
      s.name = f.bytes();
      s.first_name = f.bytes();
      s.last_name = f.bytes();
      s.status = f.below(8) == 0 ? f.bytes() : "subscribed";
      for (size_t k = f.below(6); k > 0; --k)
        s.fields.emplace_back(f.key(), f.bytes());
      for (size_t k = f.below(4); k > 0; --k)
        s.tags.push_back(f.bytes());
      s.opt_in.ip = f.bytes();
      switch (f.below(3)) {
      case 0:
        s.opt_in.at =
            std::uniform_int_distribution<int64_t>(INT64_MIN, INT64_MAX)(f.rng);
        break;
      case 1:
        s.opt_in.at = 0;
        break;
      default:
        s.opt_in.at = std::uniform_int_distribution<int64_t>(
            0, 4'000'000'000'000'000)(f.rng);
      }
      skip_reason why = skip_reason::none;
      auto m = to_member(s, why);
      if (!m) {
        EXPECT_NE(why, skip_reason::none);
        continue;
      }
      for (auto& [k, v] : m->merge_fields) {
        EXPECT_FALSE(v.empty()) << k;
        EXPECT_LE(v.size(), 255u) << k;
        EXPECT_NE(k, "ADDRESS");
      }
      for (auto& t : m->tags) {
        EXPECT_FALSE(t.empty());
        EXPECT_LE(t.size(), 255u);
      }
      members.push_back(std::move(*m));
    }
    auto body = batch_body(members, f.below(2) == 0);
    simdjson::dom::element root;
    ASSERT_FALSE(parser.parse(body).get(root)) << body;
    simdjson::dom::array arr;
    ASSERT_FALSE(root["members"].get(arr));
    ASSERT_EQ(arr.size(), members.size());
    for (auto m : arr)
      ASSERT_TRUE(valid_member_json(m)) << body;
  }
}

TEST(hostile, random_birthdays) {
  fuzz f;
  for (int i = 0; i < 20000; ++i) {
    auto in = f.bytes();
    if (auto b = normalize_birthday(in)) {
      ASSERT_EQ(b->size(), 5u) << in;
      EXPECT_EQ((*b)[2], '/');
    }
  }
  // Near misses of real forms.
  const std::string alphabet = "0123456789/-. ,thsndofMarchJanuary";
  for (int i = 0; i < 20000; ++i) {
    std::string in;
    for (size_t n = f.below(16); n > 0; --n)
      in += alphabet[f.below(alphabet.size())];
    if (auto b = normalize_birthday(in)) {
      ASSERT_EQ(b->size(), 5u) << in;
      auto m = std::stoi(b->substr(0, 2)), d = std::stoi(b->substr(3, 2));
      EXPECT_GE(m, 1) << in;
      EXPECT_LE(m, 12) << in;
      EXPECT_GE(d, 1) << in;
      EXPECT_LE(d, 31) << in;
    }
  }
}

TEST(hostile, random_batch_answers) {
  fuzz f;
  const std::string valid =
      R"({"new_members":[{"id":"a"}],"updated_members":[],"errors":[)"
      R"({"email_address":"a@b.org","error":"a@b.org is in a compliance state",)"
      R"("error_code":"ERROR_GENERIC","field":"","field_message":""}],)"
      R"("total_created":1,"total_updated":0,"error_count":1})";
  for (int i = 0; i < 5000; ++i) {
    std::string body = valid;
    // Flip, delete or insert a few bytes.
    for (size_t n = f.below(4) + 1; n > 0; --n) {
      auto at = f.below(body.size());
      switch (f.below(3)) {
      case 0:
        body[at] = static_cast<char>(f.below(256));
        break;
      case 1:
        body.erase(at, 1);
        break;
      default:
        body.insert(at, f.bytes());
      }
    }
    std::string error;
    auto r = classify_batch(body, error);
    if (!r) {
      EXPECT_FALSE(error.empty());
    }
    std::string error2;
    (void)classify_batch(f.bytes(), error2);
  }
}

} // namespace
