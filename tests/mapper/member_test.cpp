// to_member, split_name, clip_utf8 and batch_body: a subscriber as Mailchimp
// sees it.
#include "actors/mapper.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <string>
#include <utility>
#include <vector>

namespace {

using ls::mapper::batch_body;
using ls::mapper::clip_utf8;
using ls::mapper::member;
using ls::mapper::skip_reason;
using ls::mapper::split_name;
using ls::mapper::to_member;
using ls::store::subscriber;
using testing::ElementsAre;
using testing::IsEmpty;
using testing::Pair;

using name = std::pair<std::string, std::string>;

subscriber sub(std::string email = "ada@example.org") {
  subscriber s;
  s.id = "sub_1";
  s.email = std::move(email);
  return s;
}

member map(const subscriber& s) {
  skip_reason why = skip_reason::phone_only;
  auto m = to_member(s, why);
  EXPECT_TRUE(m.has_value());
  EXPECT_EQ(why, skip_reason::none);
  return m.value_or(member{});
}

/// The value of a merge tag, or "<absent>".
std::string merge(const member& m, std::string_view tag) {
  for (auto& [k, v] : m.merge_fields)
    if (k == tag) return v;
  return "<absent>";
}

// -- split_name ---------------------------------------------------------------

TEST(split_name, words) {
  EXPECT_EQ(split_name("Ada"), name("Ada", ""));
  EXPECT_EQ(split_name("Ada Lovelace"), name("Ada", "Lovelace"));
  EXPECT_EQ(split_name("Ada King Lovelace"), name("Ada", "King Lovelace"));
  EXPECT_EQ(split_name(""), name("", ""));
  EXPECT_EQ(split_name("   "), name("", ""));
}

TEST(split_name, extra_spaces) {
  EXPECT_EQ(split_name("  Ada   King \t Lovelace  "),
            name("Ada", "King Lovelace"));
  EXPECT_EQ(split_name("\tAda\n"), name("Ada", ""));
}

TEST(split_name, unicode) {
  EXPECT_EQ(split_name("José Álvarez Núñez"), name("José", "Álvarez Núñez"));
  EXPECT_EQ(split_name("Zoë\xC2\xA0"
                       "Brontë"), // no-break space
            name("Zoë", "Brontë"));
  EXPECT_EQ(split_name("山田\xE3\x80\x80太郎"), // ideographic space
            name("山田", "太郎"));
  EXPECT_EQ(split_name("Łukasz 🙂 Nowak"), name("Łukasz", "🙂 Nowak"));
}

// -- clip_utf8 ----------------------------------------------------------------

TEST(clip_utf8, short_values_unchanged) {
  EXPECT_EQ(clip_utf8("abc"), "abc");
  EXPECT_EQ(clip_utf8(std::string(255, 'a')), std::string(255, 'a'));
  EXPECT_EQ(clip_utf8(""), "");
}

TEST(clip_utf8, cuts_at_255_bytes) {
  EXPECT_EQ(clip_utf8(std::string(300, 'a')), std::string(255, 'a'));
}

TEST(clip_utf8, never_splits_a_character) {
  // 254 ASCII bytes, then "é" (2 bytes) would end at byte 256: dropped whole.
  auto s = std::string(254, 'a') + "é";
  EXPECT_EQ(clip_utf8(s), std::string(254, 'a'));
  // 253 + "é" ends exactly at 255: kept.
  s = std::string(253, 'a') + "éx";
  EXPECT_EQ(clip_utf8(s), std::string(253, 'a') + "é");
  // Three- and four-byte characters straddling the limit.
  for (size_t pad = 250; pad <= 255; ++pad) {
    auto euro = clip_utf8(std::string(pad, 'a') + "€€€");
    EXPECT_LE(euro.size(), 255u);
    EXPECT_EQ((euro.size() - pad) % 3, 0u) << pad;
    auto emoji = clip_utf8(std::string(pad, 'a') + "🙂🙂🙂");
    EXPECT_LE(emoji.size(), 255u);
    EXPECT_EQ((emoji.size() - pad) % 4, 0u) << pad;
  }
  // Only multi-byte characters: 85 three-byte ones are exactly 255 bytes.
  std::string euros;
  for (int i = 0; i < 100; ++i)
    euros += "€";
  EXPECT_EQ(clip_utf8(euros).size(), 255u);
  std::string emojis;
  for (int i = 0; i < 100; ++i)
    emojis += "🙂";
  EXPECT_EQ(clip_utf8(emojis).size(), 252u);
}

TEST(clip_utf8, other_limits_and_invalid_bytes) {
  EXPECT_EQ(clip_utf8("héllo", 2), "h");
  EXPECT_EQ(clip_utf8("héllo", 3), "hé");
  EXPECT_EQ(clip_utf8("abc", 0), "");
  EXPECT_EQ(clip_utf8("\xFF\xFF\xFF\xFF", 2), "\xFF\xFF");
}

// -- to_member: skips
// --------------------------------------------------------------

TEST(to_member, phone_only_is_skipped) {
  auto s = sub("");
  s.phone = "+14155550100";
  skip_reason why = skip_reason::none;
  EXPECT_EQ(to_member(s, why), std::nullopt);
  EXPECT_EQ(why, skip_reason::phone_only);
  s.email = "   ";
  EXPECT_EQ(to_member(s, why), std::nullopt);
  EXPECT_EQ(why, skip_reason::phone_only);
}

TEST(to_member, unsubscribed_is_skipped) {
  auto s = sub();
  s.status = "unsubscribed";
  skip_reason why = skip_reason::none;
  EXPECT_EQ(to_member(s, why), std::nullopt);
  EXPECT_EQ(why, skip_reason::unsubscribed);
  // Unsubscribed wins over phone-only; unknown statuses are never subscribed.
  s.email.clear();
  EXPECT_EQ(to_member(s, why), std::nullopt);
  EXPECT_EQ(why, skip_reason::unsubscribed);
  s.status = "weird";
  s.email = "a@b.org";
  EXPECT_EQ(to_member(s, why), std::nullopt);
  EXPECT_EQ(why, skip_reason::unsubscribed);
}

// A re-subscribe request from the public form goes to Mailchimp as
// "pending" (its confirmation email is the person's proof), with the
// request's own signup time and address, in any audience.
TEST(to_member, a_resubscribe_request_goes_as_pending) {
  auto s = sub();
  s.status = "unsubscribed";
  s.opt_in = {1'600'000'000'000'000, "192.0.2.1", "old", ""};
  s.resubscribe_request = {1'700'000'000'000'000, "198.51.100.7", "new", ""};
  skip_reason why = skip_reason::unsubscribed;
  auto m = to_member(s, why);
  ASSERT_TRUE(m);
  EXPECT_EQ(why, skip_reason::none);
  EXPECT_EQ(m->status, "pending");
  EXPECT_EQ(m->ip_signup, "198.51.100.7");
  for (bool double_optin : {false, true}) {
    auto body = batch_body({*m}, double_optin);
    EXPECT_NE(body.find(R"("status":"pending")"), std::string::npos) << body;
  }
  // Without a request, still skipped.
  s.resubscribe_request = {};
  EXPECT_EQ(to_member(s, why), std::nullopt);
  EXPECT_EQ(why, skip_reason::unsubscribed);
}

TEST(to_member, why_is_reset_when_sent) {
  skip_reason why = skip_reason::unsubscribed;
  EXPECT_TRUE(to_member(sub(), why).has_value());
  EXPECT_EQ(why, skip_reason::none);
}

// -- to_member: fields
// ----------------------------------------------------------

TEST(to_member, email_only) {
  auto m = map(sub("  Ada@Example.ORG "));
  EXPECT_EQ(m.email, "ada@example.org");
  EXPECT_EQ(m.status, "subscribed");
  EXPECT_THAT(m.merge_fields, IsEmpty());
  EXPECT_THAT(m.tags, IsEmpty());
  EXPECT_EQ(m.ip_signup, "");
  EXPECT_EQ(m.timestamp_signup, "");
}

TEST(to_member, every_field) {
  auto s = sub();
  s.first_name = "Ada";
  s.last_name = "Lovelace";
  s.phone = "+447700900123";
  s.fields = {{"birthday", "1815-12-10"}, {"company", "Analytical Engines"}};
  s.tags = {"vip", "webinar"};
  s.opt_in.at = 1704164645'123456; // 2024-01-02T03:04:05.123456Z
  s.opt_in.ip = "203.0.113.7";
  auto m = map(s);
  EXPECT_THAT(m.merge_fields,
              ElementsAre(Pair("FNAME", "Ada"), Pair("LNAME", "Lovelace"),
                          Pair("PHONE", "+447700900123"),
                          Pair("COMPANY", "Analytical Engines"),
                          Pair("BIRTHDAY", "12/10")));
  EXPECT_THAT(m.tags, ElementsAre("vip", "webinar"));
  EXPECT_EQ(m.ip_signup, "203.0.113.7");
  EXPECT_EQ(m.timestamp_signup, "2024-01-02T03:04:05+00:00");
}

TEST(to_member, names_from_the_name_column) {
  auto s = sub();
  s.name = "  Ada   King  Lovelace ";
  auto m = map(s);
  EXPECT_EQ(merge(m, "FNAME"), "Ada");
  EXPECT_EQ(merge(m, "LNAME"), "King Lovelace");
  s.name = "Ada";
  m = map(s);
  EXPECT_EQ(merge(m, "FNAME"), "Ada");
  EXPECT_EQ(merge(m, "LNAME"), "<absent>");
}

TEST(to_member, columns_take_precedence_over_custom_fields) {
  auto s = sub();
  s.first_name = "Ada";
  s.last_name = "Lovelace";
  s.name = "Augusta Byron";
  s.fields = {{"fullName", "Someone Else"},
              {"first_name", "Custom"},
              {"lastName", "Custom"}};
  auto m = map(s);
  EXPECT_EQ(merge(m, "FNAME"), "Ada");
  EXPECT_EQ(merge(m, "LNAME"), "Lovelace");
}

TEST(to_member, first_name_column_then_custom_then_name) {
  auto s = sub();
  s.name = "Augusta Byron";
  s.fields = {{"FirstName", "Ada"}};
  EXPECT_EQ(merge(map(s), "FNAME"), "Ada");
  s.fields = {{"fname", "Ada"}};
  EXPECT_EQ(merge(map(s), "FNAME"), "Ada");
  s.fields = {};
  EXPECT_EQ(merge(map(s), "FNAME"), "Augusta");
  // The first name comes from first_name, the last from the rest of name.
  s.first_name = "Ada";
  auto m = map(s);
  EXPECT_EQ(merge(m, "FNAME"), "Ada");
  EXPECT_EQ(merge(m, "LNAME"), "Byron");
}

TEST(to_member, last_name_from_custom_fields_before_the_split) {
  auto s = sub();
  s.name = "Ada King";
  for (auto key :
       {"lastName", "last_name", "Surname", "SURNAME", "Last Name", "lname"}) {
    s.fields = {{key, "Lovelace"}};
    auto m = map(s);
    EXPECT_EQ(merge(m, "FNAME"), "Ada") << key;
    EXPECT_EQ(merge(m, "LNAME"), "Lovelace") << key;
  }
}

TEST(to_member, full_name_custom_field) {
  auto s = sub();
  for (auto key : {"fullName", "full_name", "FULLNAME", "name", "Name"}) {
    s.fields = {{key, "Grace Brewster Hopper"}};
    auto m = map(s);
    EXPECT_EQ(merge(m, "FNAME"), "Grace") << key;
    EXPECT_EQ(merge(m, "LNAME"), "Brewster Hopper") << key;
  }
  // The name column wins over the custom field.
  s.name = "Ada Lovelace";
  EXPECT_EQ(merge(map(s), "LNAME"), "Lovelace");
}

TEST(to_member, company_keys_case_insensitive) {
  auto s = sub();
  for (auto key : {"company", "Company", "COMPANY", "organization",
                   "ORGANIZATION", "Organisation", "employer", "Employer"}) {
    s.fields = {{key, "Acme"}};
    EXPECT_EQ(merge(map(s), "COMPANY"), "Acme") << key;
  }
  // company is preferred over organization over employer.
  s.fields = {{"Employer", "C"}, {"ORGANIZATION", "B"}, {"company", "A"}};
  EXPECT_EQ(merge(map(s), "COMPANY"), "A");
  s.fields = {{"Employer", "C"}, {"ORGANIZATION", "B"}, {"company", " "}};
  EXPECT_EQ(merge(map(s), "COMPANY"), "B");
}

TEST(to_member, birthday_keys_case_insensitive) {
  auto s = sub();
  for (auto key : {"birthday", "Birthday", "DOB", "dob", "birthDate",
                   "birth_date", "Date of Birth"}) {
    s.fields = {{key, "4th of March"}};
    EXPECT_EQ(merge(map(s), "BIRTHDAY"), "03/04") << key;
  }
}

TEST(to_member, unreadable_birthday_is_not_sent) {
  auto s = sub();
  s.fields = {{"birthday", "03/04"}}; // ambiguous
  EXPECT_EQ(merge(map(s), "BIRTHDAY"), "<absent>");
  s.fields = {{"dob", "soon"}};
  EXPECT_EQ(merge(map(s), "BIRTHDAY"), "<absent>");
  // Another alias that parses is used.
  s.fields = {{"birthday", "n/a"}, {"dob", "1990-03-04"}};
  EXPECT_EQ(merge(map(s), "BIRTHDAY"), "03/04");
}

TEST(to_member, address_is_never_sent) {
  auto s = sub();
  s.fields = {{"address", "1 Main St, Springfield"},
              {"ADDRESS", "x"},
              {"favourite_colour", "blue"}};
  auto m = map(s);
  EXPECT_THAT(m.merge_fields, IsEmpty());
  auto body = batch_body({m}, false);
  EXPECT_EQ(body.find("ADDRESS"), std::string::npos);
  EXPECT_EQ(body.find("Springfield"), std::string::npos);
}

TEST(to_member, empty_values_are_not_sent) {
  auto s = sub();
  s.first_name = "   ";
  s.last_name = "";
  s.phone = "\t";
  s.name = " ";
  s.fields = {{"company", ""}, {"birthday", " "}, {"surname", "\n"}};
  s.tags = {"", "  ", "ok"};
  auto m = map(s);
  EXPECT_THAT(m.merge_fields, IsEmpty());
  EXPECT_THAT(m.tags, ElementsAre("ok"));
  auto body = batch_body({m}, false);
  EXPECT_EQ(body.find("\"\""), std::string::npos) << body;
}

TEST(to_member, values_are_clipped_and_cleaned) {
  auto s = sub();
  std::string long_name;
  for (int i = 0; i < 200; ++i)
    long_name += "é";
  s.first_name = long_name; // 400 bytes
  s.fields = {{"company", "Acme\x01\nInc\xFF"}};
  s.tags = {std::string(300, 't')};
  auto m = map(s);
  EXPECT_EQ(merge(m, "FNAME").size(), 254u); // 127 × "é"
  EXPECT_EQ(merge(m, "COMPANY"), "Acme  Inc\xEF\xBF\xBD");
  ASSERT_EQ(m.tags.size(), 1u);
  EXPECT_EQ(m.tags[0].size(), 255u);
}

TEST(to_member, tags_keep_order_without_duplicates) {
  auto s = sub();
  s.tags = {"a", "b", " a ", "c"};
  EXPECT_THAT(map(s).tags, ElementsAre("a", "b", "c"));
}

TEST(to_member, signup_ip_and_time) {
  auto s = sub();
  s.opt_in.ip = "2001:db8::1";
  s.opt_in.at = 0;
  auto m = map(s);
  EXPECT_EQ(m.ip_signup, "2001:db8::1");
  EXPECT_EQ(m.timestamp_signup, ""); // unknown: not sent
  s.opt_in.ip = "not an ip";
  s.opt_in.at = 1;
  m = map(s);
  EXPECT_EQ(m.ip_signup, "");
  EXPECT_EQ(m.timestamp_signup, "1970-01-01T00:00:00+00:00");
  s.opt_in.ip = "999.1.1.1";
  EXPECT_EQ(map(s).ip_signup, "");
  s.opt_in.at = -5;
  EXPECT_EQ(map(s).timestamp_signup, "");
  s.opt_in.at = INT64_MAX; // far past year 9999: not sent
  EXPECT_EQ(map(s).timestamp_signup, "");
}

// -- batch_body
// -------------------------------------------------------------------

TEST(batch_body, shape) {
  auto s = sub("Ada@Example.org");
  s.name = "Ada Lovelace";
  s.phone = "+447700900123";
  s.tags = {"vip"};
  s.opt_in.ip = "203.0.113.7";
  s.opt_in.at = 1704164645'000000;
  auto a = map(s);
  auto b = map(sub("bob@example.net"));
  auto body = batch_body({a, b}, false);

  simdjson::dom::parser p;
  simdjson::dom::element root;
  ASSERT_FALSE(p.parse(body).get(root)) << body;
  ASSERT_TRUE(root.is_object());
  EXPECT_EQ(root["update_existing"].get_bool().value(), true);
  EXPECT_EQ(root["sync_tags"].get_bool().value(), false);
  simdjson::dom::array members;
  ASSERT_FALSE(root["members"].get(members));
  ASSERT_EQ(members.size(), 2u);
  auto m0 = members.at(0).value();
  EXPECT_EQ(m0["email_address"].get_string().value(), "ada@example.org");
  EXPECT_EQ(m0["status"].get_string().value(), "subscribed");
  EXPECT_EQ(m0["status_if_new"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(m0["merge_fields"]["FNAME"].get_string().value(), "Ada");
  EXPECT_EQ(m0["merge_fields"]["LNAME"].get_string().value(), "Lovelace");
  EXPECT_EQ(m0["merge_fields"]["PHONE"].get_string().value(), "+447700900123");
  EXPECT_EQ(m0["merge_fields"]["COMPANY"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(m0["tags"].at(0).get_string().value(), "vip");
  EXPECT_EQ(m0["tags"].get_array().size(), 1u);
  EXPECT_EQ(m0["ip_signup"].get_string().value(), "203.0.113.7");
  EXPECT_EQ(m0["timestamp_signup"].get_string().value(),
            "2024-01-02T03:04:05+00:00");
  auto m1 = members.at(1).value();
  EXPECT_EQ(m1["email_address"].get_string().value(), "bob@example.net");
  // Nothing empty is sent.
  EXPECT_EQ(m1["merge_fields"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(m1["tags"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(m1["ip_signup"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(m1["timestamp_signup"].error(), simdjson::NO_SUCH_FIELD);
}

TEST(batch_body, double_optin_sends_pending_to_new_members_only) {
  auto body = batch_body({map(sub()), map(sub("b@example.net"))}, true);
  simdjson::dom::parser p;
  simdjson::dom::element root;
  ASSERT_FALSE(p.parse(body).get(root)) << body;
  for (auto m : root["members"].get_array()) {
    EXPECT_EQ(m["status_if_new"].get_string().value(), "pending");
    // No "status": members already subscribed stay subscribed.
    EXPECT_EQ(m["status"].error(), simdjson::NO_SUCH_FIELD);
  }
}

TEST(batch_body, empty_batch) {
  EXPECT_EQ(batch_body({}, false),
            R"({"members":[],"update_existing":true,"sync_tags":false})");
}

TEST(batch_body, escapes_hostile_text) {
  member m;
  m.email = "a\"b\\c@x.org";
  m.status = "subscribed";
  m.merge_fields = {{"FNAME", "</script><b>\"x\""}};
  m.tags = {"\xFF\xFE"};
  auto body = batch_body({m}, false);
  simdjson::dom::parser p;
  simdjson::dom::element root;
  ASSERT_FALSE(p.parse(body).get(root)) << body;
  auto m0 = root["members"].at(0);
  EXPECT_EQ(m0["email_address"].get_string().value(), "a\"b\\c@x.org");
  EXPECT_EQ(m0["merge_fields"]["FNAME"].get_string().value(),
            "</script><b>\"x\"");
}

} // namespace
