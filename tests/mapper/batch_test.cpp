// classify_batch, skip_notes and merge: what a batch answer tells the creator.
#include "actors/mapper.hpp"
#include "http/codec/json.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <initializer_list>
#include <string>
#include <vector>

namespace {

using ls::mapper::batch_result;
using ls::mapper::classify_batch;
using ls::mapper::example_list;
using ls::mapper::merge;
using ls::mapper::skip_notes;
using testing::ElementsAre;
using testing::IsEmpty;

/// `email` followed by `rest` (built in place: `std::string + const char*`
/// trips a bogus GCC 12 -Warray-bounds once inlined).
std::string text(std::string_view email, std::string_view rest) {
  std::string s;
  s.reserve(email.size() + rest.size());
  s.append(email).append(rest);
  return s;
}

// The refusal texts of mailchimp.md §5 / §6, exactly.
std::string compliance(std::string_view email) {
  return text(email, " is in a compliance state due to unsubscribe, bounce, or "
                     "compliance review and cannot be subscribed.");
}
std::string forgotten(std::string_view email) {
  return text(email,
              " was permanently deleted and cannot be re-imported. The contact "
              "must re-subscribe to get back on the list.");
}
std::string fake(std::string_view email) {
  return text(email,
              " looks fake or invalid, please enter a real email address.");
}
std::string too_many(std::string_view email) {
  return text(email,
              " has signed up to a lot of lists very recently; we're not "
              "allowing more signups for now");
}
std::string exists(std::string_view email) {
  return text(
      email, " is already a list member, do you want to update? please provide "
             "update_existing:true in the request body");
}
const std::string invalid_address = "Please provide a valid email address.";
const std::string merge_invalid = "Your merge fields were invalid.";

struct refusal {
  std::string email, error, code = "ERROR_GENERIC", field = {}, message = {};
};

/// A batch answer as Mailchimp (and our simulator) writes it.
std::string answer(size_t created, size_t updated, const refusal* first,
                   const refusal* last, bool totals = true) {
  ls::json::writer w;
  w.begin_object().key("new_members").begin_array();
  for (size_t i = 0; i < created; ++i)
    w.begin_object().key("id").value("x").end_object();
  w.end_array().key("updated_members").begin_array();
  for (size_t i = 0; i < updated; ++i)
    w.begin_object().key("id").value("y").end_object();
  w.end_array().key("errors").begin_array();
  for (auto* e = first; e != last; ++e)
    w.begin_object()
        .key("email_address")
        .value(e->email)
        .key("error")
        .value(e->error)
        .key("error_code")
        .value(e->code)
        .key("field")
        .value(e->field)
        .key("field_message")
        .value(e->message)
        .end_object();
  w.end_array();
  if (totals)
    w.key("total_created")
        .value(static_cast<uint64_t>(created))
        .key("total_updated")
        .value(static_cast<uint64_t>(updated))
        .key("error_count")
        .value(static_cast<uint64_t>(last - first));
  w.end_object();
  return std::move(w).str();
}

std::string answer(size_t created, size_t updated,
                   std::initializer_list<refusal> errors, bool totals = true) {
  return answer(created, updated, errors.begin(), errors.end(), totals);
}

std::string answer(size_t created, size_t updated,
                   const std::vector<refusal>& errors) {
  return answer(created, updated, errors.data(), errors.data() + errors.size());
}

batch_result classify(const std::string& body) {
  std::string error;
  auto r = classify_batch(body, error);
  EXPECT_TRUE(r.has_value()) << error << "\n" << body;
  EXPECT_EQ(error, "");
  return r.value_or(batch_result{});
}

// -- classify_batch -----------------------------------------------------------

TEST(classify_batch, counts) {
  auto r = classify(answer(3, 2, {}));
  EXPECT_EQ(r.created, 3u);
  EXPECT_EQ(r.updated, 2u);
  EXPECT_EQ(r.errors(), 0u);
  // Without totals, the arrays are counted.
  r = classify(answer(4, 1, {}, false));
  EXPECT_EQ(r.created, 4u);
  EXPECT_EQ(r.updated, 1u);
  // Totals win over the arrays (Mailchimp may leave members out).
  r = classify(R"({"new_members":[],"updated_members":[],"errors":[],
                   "total_created":7,"total_updated":9,"error_count":0})");
  EXPECT_EQ(r.created, 7u);
  EXPECT_EQ(r.updated, 9u);
}

TEST(classify_batch, compliance_state_must_resubscribe) {
  auto r =
      classify(answer(0, 0,
                      {{"gone@gmail.com", compliance("gone@gmail.com")},
                       {"Bounced@Yahoo.com", compliance("Bounced@Yahoo.com"),
                        "ERROR_CONTACT_EXISTS"}}));
  EXPECT_EQ(r.must_resubscribe.count, 2u);
  EXPECT_THAT(r.must_resubscribe.examples,
              ElementsAre("gone@gmail.com", "Bounced@Yahoo.com"));
  EXPECT_EQ(r.errors(), 2u);
  EXPECT_EQ(r.other.count, 0u);
}

TEST(classify_batch, forgotten) {
  auto r = classify(
      answer(0, 0, {{"gdpr@outlook.com", forgotten("gdpr@outlook.com")}}));
  EXPECT_EQ(r.forgotten.count, 1u);
  EXPECT_THAT(r.forgotten.examples, ElementsAre("gdpr@outlook.com"));
}

TEST(classify_batch, invalid_emails) {
  auto r =
      classify(answer(0, 0,
                      {{"test@example.com", fake("test@example.com")},
                       {"nobody@", invalid_address, "ERROR_GENERIC",
                        "email_address", "This value should not be blank."},
                       {"", invalid_address}}));
  EXPECT_EQ(r.invalid_email.count, 3u);
  EXPECT_THAT(r.invalid_email.examples,
              ElementsAre("test@example.com", "nobody@"));
  EXPECT_EQ(r.other.count, 0u);
}

TEST(classify_batch, classified_by_text_never_by_code) {
  // ERROR_CONTACT_EXISTS with a compliance text is a compliance refusal; an
  // ERROR_GENERIC "already a list member" is "other".
  auto r = classify(answer(
      0, 0,
      {{"a@gmail.com", compliance("a@gmail.com"), "ERROR_CONTACT_EXISTS"},
       {"b@gmail.com", exists("b@gmail.com")}}));
  EXPECT_EQ(r.must_resubscribe.count, 1u);
  EXPECT_EQ(r.other.count, 1u);
}

TEST(classify_batch, other_reasons_are_kept) {
  auto r = classify(answer(
      1, 0,
      {{"jane@gmail.com", merge_invalid, "ERROR_GENERIC", "BIRTHDAY",
        "Please enter a month (01-12) and a day (01-31)"},
       {"joe@gmail.com", merge_invalid, "ERROR_GENERIC", "LNAME",
        "Please enter a value"},
       {"amy@gmail.com", merge_invalid, "ERROR_GENERIC", "LNAME",
        "Please enter a value"},
       {"busy@hotmail.com", too_many("busy@hotmail.com")},
       {"busy2@hotmail.com", too_many("busy2@hotmail.com")},
       {"dup@gmail.com", exists("dup@gmail.com"), "ERROR_CONTACT_EXISTS"},
       {"x@gmail.com", merge_invalid, "ERROR_GENERIC", "ADDRESS", ""}}));
  EXPECT_EQ(r.created, 1u);
  EXPECT_EQ(r.other.count, 7u);
  EXPECT_THAT(r.other.examples,
              ElementsAre("jane@gmail.com", "joe@gmail.com", "amy@gmail.com"));
  EXPECT_THAT(
      r.other_reasons,
      ElementsAre(
          "Your merge fields were invalid. (BIRTHDAY: Please enter a month "
          "(01-12) and a day (01-31))",
          "Your merge fields were invalid. (LNAME: Please enter a value)",
          "the contact has signed up to a lot of lists very recently; we're "
          "not "
          "allowing more signups for now",
          "the contact is already a list member, do you want to update? please "
          "provide update_existing:true in the request body",
          "Your merge fields were invalid. (ADDRESS)"));
}

TEST(classify_batch, at_most_five_reasons) {
  std::vector<refusal> errors;
  for (int i = 0; i < 8; ++i)
    errors.push_back({"r" + std::to_string(i) + "@gmail.com",
                      "reason " + std::to_string(i)});
  auto r = classify(answer(0, 0, errors));
  EXPECT_EQ(r.other.count, 8u);
  EXPECT_THAT(r.other_reasons, ElementsAre("reason 0", "reason 1", "reason 2",
                                           "reason 3", "reason 4"));
}

TEST(classify_batch, odd_items) {
  auto r = classify(
      R"({"errors":[{},{"email_address":5,"error":null},"text",
                  {"email_address":"a@b.org","error":""}],"total_created":0})");
  EXPECT_EQ(r.other.count, 4u);
  EXPECT_THAT(r.other.examples, ElementsAre("a@b.org"));
  EXPECT_THAT(r.other_reasons, ElementsAre("no reason given"));
  r = classify(R"({"total_created":1,"errors":null})");
  EXPECT_EQ(r.created, 1u);
  r = classify(R"({"total_created":-1,"new_members":[1,2]})");
  EXPECT_EQ(r.created, 2u);
}

// Found by tests/fuzz/classify.cpp: an error text of only spaces or control
// characters gave an empty reason, and a note ending in "Mailchimp: ".
TEST(classify_batch, a_blank_error_text_is_no_reason) {
  auto r = classify(
      R"({"errors":[{"email_address":"a@b.org","error":" \t\u0001 "},
                  {"email_address":"c@d.org","error":"  ","field":"LNAME"}]})");
  EXPECT_EQ(r.other.count, 2u);
  EXPECT_THAT(r.other_reasons,
              ElementsAre("no reason given", "no reason given (LNAME)"));
  EXPECT_THAT(skip_notes(r, 0),
              ElementsAre("2 were refused by Mailchimp: no reason given / no "
                          "reason given (LNAME) (e.g. a@b.org, c@d.org)"));
}

TEST(classify_batch, not_a_batch_answer) {
  for (std::string body :
       {"", "not json", "[]", "42", "null", "{}", R"({"errors":{}})",
        R"({"total_created":1,"errors":"x"})", R"({"errors":[)",
        "<html>503</html>"}) {
    std::string error;
    EXPECT_EQ(classify_batch(body, error), std::nullopt) << body;
    EXPECT_NE(error, "") << body;
  }
}

// -- skip_notes
// ------------------------------------------------------------------

example_list examples(size_t count, std::vector<std::string> shown) {
  example_list l;
  l.count = count;
  l.examples = std::move(shown);
  return l;
}

TEST(skip_notes, wording_plural_with_ellipsis) {
  batch_result r;
  r.must_resubscribe = examples(12, {"a@x.com", "b@y.org", "c@z.net"});
  r.invalid_email = examples(3, {"t@example.com", "u@example.com", "v@"});
  r.forgotten = examples(2, {"g@gmail.com", "h@gmail.com"});
  r.other = examples(4, {"o@gmail.com", "p@gmail.com", "q@gmail.com"});
  r.other_reasons = {"Your merge fields were invalid. (LNAME: Please enter a "
                     "value)",
                     "reason two"};
  EXPECT_THAT(
      skip_notes(r, 5),
      ElementsAre(
          "12 must re-subscribe in Mailchimp before they can receive emails "
          "(e.g. a@x.com, b@y.org, c@z.net, …)",
          "3 were refused as invalid email addresses (e.g. t@example.com, "
          "u@example.com, v@)",
          "2 were permanently deleted in Mailchimp (GDPR) and cannot be "
          "re-imported (e.g. g@gmail.com, h@gmail.com)",
          "4 were refused by Mailchimp: Your merge fields were invalid. "
          "(LNAME: "
          "Please enter a value) / reason two (e.g. o@gmail.com, p@gmail.com, "
          "q@gmail.com, …)",
          "5 have only a phone number and were skipped"));
}

TEST(skip_notes, wording_singular) {
  batch_result r;
  r.must_resubscribe = examples(1, {"a@x.com"});
  r.invalid_email = examples(1, {"t@example.com"});
  r.forgotten = examples(1, {"g@gmail.com"});
  r.other = examples(1, {"o@gmail.com"});
  r.other_reasons = {"the contact has signed up to a lot of lists very "
                     "recently; we're not allowing more signups for now"};
  EXPECT_THAT(
      skip_notes(r, 1),
      ElementsAre(
          "1 must re-subscribe in Mailchimp before they can receive emails "
          "(e.g. a@x.com)",
          "1 was refused as an invalid email address (e.g. t@example.com)",
          "1 was permanently deleted in Mailchimp (GDPR) and cannot be "
          "re-imported (e.g. g@gmail.com)",
          "1 was refused by Mailchimp: the contact has signed up to a lot of "
          "lists very recently; we're not allowing more signups for now (e.g. "
          "o@gmail.com)",
          "1 has only a phone number and was skipped"));
}

TEST(skip_notes, only_kinds_with_a_count) {
  EXPECT_THAT(skip_notes(batch_result{}, 0), IsEmpty());
  batch_result r;
  r.created = 10;
  r.forgotten = examples(5, {"a@b.org"});
  EXPECT_THAT(skip_notes(r, 0),
              ElementsAre("5 were permanently deleted in Mailchimp (GDPR) and "
                          "cannot be re-imported (e.g. a@b.org, …)"));
  EXPECT_THAT(skip_notes(batch_result{}, 2),
              ElementsAre("2 have only a phone number and were skipped"));
}

TEST(skip_notes, without_examples_or_reasons) {
  batch_result r;
  r.other = examples(2, {});
  r.invalid_email = examples(1, {});
  EXPECT_THAT(skip_notes(r, 0),
              ElementsAre("1 was refused as an invalid email address",
                          "2 were refused by Mailchimp"));
}

TEST(skip_notes, from_a_classified_answer) {
  auto r = classify(answer(0, 0,
                           {{"one@gmail.com", compliance("one@gmail.com")},
                            {"two@gmail.com", compliance("two@gmail.com")},
                            {"three@gmail.com", compliance("three@gmail.com")},
                            {"four@gmail.com", compliance("four@gmail.com")}}));
  EXPECT_THAT(skip_notes(r, 0),
              ElementsAre("4 must re-subscribe in Mailchimp before they can "
                          "receive emails (e.g. one@gmail.com, two@gmail.com, "
                          "three@gmail.com, …)"));
}

// -- example_list and merge
// ----------------------------------------------------------

TEST(example_list, keeps_three_distinct) {
  example_list l;
  for (auto e : {"a@x.org", "a@x.org", "", "b@x.org", "c@x.org", "d@x.org"})
    l.add(e);
  EXPECT_EQ(l.count, 6u);
  EXPECT_THAT(l.examples, ElementsAre("a@x.org", "b@x.org", "c@x.org"));
}

TEST(merge, counts_add_examples_keep_the_first_three) {
  batch_result a, b;
  a.created = 1;
  a.updated = 2;
  a.must_resubscribe = examples(2, {"a1@x.org", "a2@x.org"});
  a.other = examples(1, {"o1@x.org"});
  a.other_reasons = {"r1", "r2", "r3"};
  b.created = 10;
  b.updated = 20;
  b.must_resubscribe = examples(5, {"b1@x.org", "b2@x.org", "b3@x.org"});
  b.invalid_email = examples(1, {"i@x.org"});
  b.forgotten = examples(4, {"f1@x.org", "f2@x.org", "f3@x.org"});
  b.other = examples(1, {"o1@x.org"});
  b.other_reasons = {"r2", "r4", "r5", "r6"};
  merge(a, b);
  EXPECT_EQ(a.created, 11u);
  EXPECT_EQ(a.updated, 22u);
  EXPECT_EQ(a.must_resubscribe.count, 7u);
  EXPECT_THAT(a.must_resubscribe.examples,
              ElementsAre("a1@x.org", "a2@x.org", "b1@x.org"));
  EXPECT_EQ(a.invalid_email.count, 1u);
  EXPECT_THAT(a.invalid_email.examples, ElementsAre("i@x.org"));
  EXPECT_EQ(a.forgotten.count, 4u);
  EXPECT_THAT(a.forgotten.examples,
              ElementsAre("f1@x.org", "f2@x.org", "f3@x.org"));
  EXPECT_EQ(a.other.count, 2u);
  EXPECT_THAT(a.other.examples, ElementsAre("o1@x.org"));
  EXPECT_THAT(a.other_reasons, ElementsAre("r1", "r2", "r3", "r4", "r5"));
  EXPECT_EQ(a.errors(), 14u);
}

TEST(merge, many_batches) {
  batch_result total;
  for (int i = 0; i < 10; ++i) {
    auto email = "m" + std::to_string(i) + "@gmail.com";
    merge(total, classify(answer(50, 1, {{email, compliance(email)}})));
  }
  EXPECT_EQ(total.created, 500u);
  EXPECT_EQ(total.updated, 10u);
  EXPECT_EQ(total.must_resubscribe.count, 10u);
  EXPECT_THAT(total.must_resubscribe.examples,
              ElementsAre("m0@gmail.com", "m1@gmail.com", "m2@gmail.com"));
}

} // namespace
