// Manual-import hand-offs (Kit, Klaviyo, HubSpot): the job stays PENDING,
// its file is in the provider's import columns, "complete" ends it.
#include "mailchimp_fixture.hpp"

#include <atomic>
#include <set>
#include <thread>

using namespace ls::test;
using namespace std::chrono_literals;

namespace {

using row = std::vector<std::string>;

/// RFC 4180: quoted cells with doubled quotes, CRLF line ends.
std::vector<row> parse_csv(const std::string& body) {
  std::vector<row> rows;
  row current;
  std::string cell;
  bool quoted = false, in_cell = false;
  for (size_t i = 0; i < body.size(); ++i) {
    char ch = body[i];
    if (quoted) {
      if (ch == '"' && i + 1 < body.size() && body[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        cell += ch;
      }
    } else if (ch == '"' && cell.empty()) {
      quoted = in_cell = true;
    } else if (ch == ',') {
      current.push_back(std::move(cell));
      cell.clear();
    } else if (ch == '\r' && i + 1 < body.size() && body[i + 1] == '\n') {
      current.push_back(std::move(cell));
      cell.clear();
      rows.push_back(std::move(current));
      current.clear();
      ++i;
      in_cell = false;
    } else {
      cell += ch;
      in_cell = true;
    }
  }
  EXPECT_TRUE(current.empty() && cell.empty() && !in_cell)
      << "the file does not end with CRLF";
  return rows;
}

std::string joined(const row& r) {
  std::string out;
  for (auto& c : r)
    out += (out.empty() ? "" : "|") + c;
  return out;
}

std::string notes_of(const json_doc& job) {
  std::string out;
  for (auto n : simdjson::dom::array(job["notes"]))
    out += str(n) + "\n";
  return out;
}

class handoffs : public service_fixture {
protected:
  void adjust(ls::config::config& c) override {
    c.webhooks.allow_private_targets = true;
  }
  void SetUp() override {
    service_fixture::SetUp();
    a = signup("creator");
    auto r = as(a.token, "POST", "/api/v1/campaigns",
                R"({"name":"Promo","slug":"promo","fields":[
              {"key":"company","label":"Company","type":"text"},
              {"key":"colour","label":"Colour","type":"text"},
              {"key":"phone_number","label":"Work phone","type":"text"}]})");
    ASSERT_EQ(r.status, 201) << r.body;
    promo = str(r.json()["id"]);
    r = as(a.token, "POST", "/api/v1/campaigns",
           R"({"name":"Quiz","slug":"quiz","fields":[
                 {"key":"score","label":"Score","type":"text"}]})");
    ASSERT_EQ(r.status, 201) << r.body;
    quiz = str(r.json()["id"]);
  }
  /// One of each kind: a full row, a formula, phone-only, unsubscribed, and a
  /// quiz-only subscriber.
  void fans() {
    subscribe(a, R"({"email":"ana@example.com","name":"Ana Maria Lima",
                     "campaign":"promo","tags":["vip","early"],
                     "fields":{"company":"Acme","colour":"blue",
                               "phone_number":"555"}})");
    subscribe(a, R"({"email":"bob@example.com","first_name":"Bob",
                     "campaign":"promo","fields":{"colour":"=1+2"}})");
    subscribe(a, R"({"phone":"+14155550100","name":"Pat Phone",
                     "campaign":"promo"})");
    auto gone =
        subscribe(a, R"({"email":"gone@example.com","campaign":"promo"})");
    ASSERT_EQ(as(a.token, "PATCH", "/api/v1/subscribers/" + gone,
                 R"({"status":"unsubscribed"})")
                  .status,
              200);
    subscribe(a, R"({"email":"quiz@example.com","campaign":"quiz",
                     "fields":{"score":"9"}})");
  }
  json_doc create(const std::string& provider, const std::string& extra = {},
                  int expect = 202) {
    auto r = as(a.token, "POST", "/api/v1/sync-jobs",
                R"({"provider":")" + provider + R"(","scope":{"type":"all"})" +
                    extra + "}");
    EXPECT_EQ(r.status, expect) << r.body;
    return r.json();
  }
  std::vector<row> file(const std::string& id, const account& who) {
    auto r = as(who.token, "GET", "/api/v1/sync-jobs/" + id + "/file.csv");
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return {};
    EXPECT_EQ(r.header("content-type"), "text/csv; charset=utf-8");
    return parse_csv(r.body);
  }
  std::vector<row> file(const std::string& id) { return file(id, a); }
  int post(const std::string& id, const std::string& action,
           const account& who) {
    return as(who.token, "POST", "/api/v1/sync-jobs/" + id + "/" + action)
        .status;
  }
  int post(const std::string& id, const std::string& action) {
    return post(id, action, a);
  }
  /// The emails (first cells) of the data rows.
  static std::set<std::string> emails(const std::vector<row>& rows) {
    std::set<std::string> out;
    for (size_t i = 1; i < rows.size(); ++i)
      out.insert(rows[i].at(0));
    return out;
  }
  account a;
  std::string promo, quiz;
};

} // namespace

TEST_F(handoffs, each_provider_gets_its_import_columns) {
  fans();
  struct expected {
    std::string provider, header;
  };
  for (auto& e : std::vector<expected>{
           {"kit", "Email address|First name|Last name|Phone|Company|colour|"
                   "phone_number|score|Tags"},
           {"klaviyo", "Email|First Name|Last Name|Phone Number|Organization|"
                       "colour|phone_number (custom field)|score|Tags"},
           {"hubspot", "Email|First Name|Last Name|Phone Number|Company Name|"
                       "colour|phone_number (custom field)|score|Tags"}}) {
    SCOPED_TRACE(e.provider);
    auto job = create(e.provider);
    auto id = str(job["id"]);
    EXPECT_EQ(id.rfind("job_", 0), 0u);
    EXPECT_EQ(str(job["provider"]), e.provider);
    EXPECT_EQ(str(job["status"]), "PENDING");
    EXPECT_TRUE(job["audience"].is_null());
    EXPECT_EQ(str(job["scope"]["type"]), "all");
    EXPECT_EQ(uint64_t(job["attempt"]), 1u);
    EXPECT_TRUE(job["finished_at"].is_null());
    EXPECT_EQ(uint64_t(job["progress"]["processed"]), 0u);

    auto r = as(a.token, "GET", "/api/v1/sync-jobs/" + id + "/file.csv");
    ASSERT_EQ(r.status, 200) << r.body;
    auto date = str(job["created_at"]).substr(0, 10);
    EXPECT_EQ(r.header("content-disposition"),
              "attachment; filename=\"linkstacked-" + e.provider + "-" + date +
                  ".csv\"");
    EXPECT_EQ(r.header("cache-control"), "no-store");
    EXPECT_TRUE(r.raw.chunked);
    auto rows = parse_csv(r.body);
    ASSERT_FALSE(rows.empty());
    EXPECT_EQ(joined(rows[0]), e.header);
    for (auto& line : rows)
      EXPECT_EQ(line.size(), rows[0].size()) << joined(line);
    // Ana: names split like the Mailchimp sync, company in the provider's own
    // column, the tags in one cell.
    std::string tags = e.provider == "hubspot" ? "early;vip" : "early,vip";
    std::string ana;
    for (auto& line : rows)
      if (line[0] == "ana@example.com") ana = joined(line);
    EXPECT_EQ(ana, "ana@example.com|Ana|Maria Lima||Acme|blue|555||" + tags);
    // The job reads the same way again.
    auto again = as(a.token, "GET", "/api/v1/sync-jobs/" + id).json();
    EXPECT_EQ(str(again["status"]), "PENDING");
  }
  auto list = as(a.token, "GET", "/api/v1/sync-jobs?provider=klaviyo").json();
  EXPECT_EQ(simdjson::dom::array(list["items"]).size(), 1u);
}

TEST_F(handoffs, unsubscribed_and_phone_only_are_left_out_with_notes) {
  fans();
  for (std::string provider : {"kit", "hubspot"}) {
    SCOPED_TRACE(provider);
    auto job = create(provider);
    EXPECT_EQ(uint64_t(job["progress"]["total"]), 3u);
    EXPECT_EQ(uint64_t(job["skipped"]["phone_only"]), 1u);
    auto notes = notes_of(job);
    EXPECT_NE(notes.find("1 unsubscribed on LinkStacked is left out of the "
                         "file"),
              std::string::npos)
        << notes;
    EXPECT_NE(notes.find("1 phone-only subscriber is left out of the file: "),
              std::string::npos)
        << notes;
    auto rows = file(str(job["id"]));
    EXPECT_EQ(rows.size(), 4u);
    EXPECT_EQ(emails(rows),
              (std::set<std::string>{"ana@example.com", "bob@example.com",
                                     "quiz@example.com"}));
  }
  // Klaviyo takes a profile by phone number: the phone-only one is in the
  // file, its E.164 number as it is (no apostrophe the import would keep).
  auto job = create("klaviyo");
  EXPECT_EQ(uint64_t(job["progress"]["total"]), 4u);
  EXPECT_EQ(uint64_t(job["skipped"]["phone_only"]), 0u);
  auto notes = notes_of(job);
  EXPECT_NE(notes.find("1 unsubscribed on LinkStacked is left out"),
            std::string::npos);
  EXPECT_NE(notes.find("1 phone-only subscriber is in the file by phone "
                       "number; Klaviyo will not text them"),
            std::string::npos)
      << notes;
  auto r =
      as(a.token, "GET", "/api/v1/sync-jobs/" + str(job["id"]) + "/file.csv");
  EXPECT_NE(r.body.find("\r\n,Pat,Phone,+14155550100,,"), std::string::npos)
      << r.body;
  EXPECT_EQ(r.body.find("gone@example.com"), std::string::npos);
}

TEST_F(handoffs, cells_are_neutralised_like_the_csv_export) {
  fans();
  subscribe(a, R"x({"email":"eve@example.com","name":"@evil",
                    "campaign":"promo","tags":["-x","a;b"],
                    "fields":{"company":"+cmd|' /C calc'!A0",
                              "colour":"say \"hi\", ok"}})x");
  auto job = create("hubspot");
  auto r =
      as(a.token, "GET", "/api/v1/sync-jobs/" + str(job["id"]) + "/file.csv");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("bob@example.com,Bob,,,,'=1+2,,,\r\n"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("eve@example.com,'@evil,,,'+cmd|' /C calc'!A0,"
                        "\"say \"\"hi\"\", ok\",,,'-x;a b\r\n"),
            std::string::npos)
      << r.body;
}

TEST_F(handoffs, a_campaign_scope_holds_that_campaign_only) {
  fans();
  auto r =
      as(a.token, "POST", "/api/v1/sync-jobs",
         R"({"provider":"kit","scope":{"type":"campaign","campaign_id":")" +
             quiz + R"("}})");
  ASSERT_EQ(r.status, 202) << r.body;
  auto job = r.json();
  EXPECT_EQ(str(job["scope"]["type"]), "campaign");
  EXPECT_EQ(str(job["scope"]["campaign_id"]), quiz);
  EXPECT_EQ(uint64_t(job["progress"]["total"]), 1u);
  // Nothing was left out of this campaign: no notes.
  EXPECT_EQ(simdjson::dom::array(job["notes"]).size(), 0u);
  auto rows = file(str(job["id"]));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(joined(rows[0]),
            "Email address|First name|Last name|Phone|Company|score|Tags");
  EXPECT_EQ(joined(rows[1]), "quiz@example.com|||||9|");

  r = as(
      a.token, "POST", "/api/v1/sync-jobs",
      R"({"provider":"kit","scope":{"type":"campaign","campaign_id":"cmp_nope"}})");
  EXPECT_EQ(r.status, 422) << r.body;
}

TEST_F(handoffs, since_last_handoff_takes_only_who_came_after_the_last_one) {
  fans();
  // No completed Kit hand-off yet: everyone, and a note saying so.
  auto first = create("kit", R"(,"since_last_handoff":true)");
  EXPECT_EQ(uint64_t(first["progress"]["total"]), 3u);
  EXPECT_NE(notes_of(first).find("no completed hand-off to Kit yet"),
            std::string::npos)
      << notes_of(first);
  auto first_id = str(first["id"]);
  // Someone who signs up after the job was created is not in its file (the
  // file is the job's snapshot) …
  subscribe(a, R"({"email":"late@example.com"})");
  EXPECT_EQ(emails(file(first_id)),
            (std::set<std::string>{"ana@example.com", "bob@example.com",
                                   "quiz@example.com"}));
  auto done =
      as(a.token, "POST", "/api/v1/sync-jobs/" + first_id + "/complete");
  ASSERT_EQ(done.status, 200) << done.body;

  // … but is in the next one, with whoever opted in again since.
  // Signing up again after unsubscribing is only a request until the person
  // confirms it (here: the creator, with their word); then a fresh opt-in.
  subscribe(a, R"({"email":"gone@example.com"})");
  auto gone = subscriber_id_of(a, R"({"email":"gone@example.com"})");
  ASSERT_EQ(as(a.token, "PATCH", "/api/v1/subscribers/" + gone,
               R"({"status":"subscribed"})")
                .status,
            200);
  subscribe(a, R"({"email":"new@example.com","tags":["x"]})");
  subscribe(a, R"({"phone":"+14155550199"})");
  auto second = create("kit", R"(,"since_last_handoff":true)");
  EXPECT_EQ(uint64_t(second["progress"]["total"]), 3u);
  EXPECT_EQ(uint64_t(second["skipped"]["phone_only"]), 1u);
  auto notes = notes_of(second);
  EXPECT_NE(notes.find("only subscribers added since the Kit hand-off of " +
                       str(first["created_at"])),
            std::string::npos)
      << notes;
  EXPECT_EQ(emails(file(str(second["id"]))),
            (std::set<std::string>{"late@example.com", "gone@example.com",
                                   "new@example.com"}));
  // Without the option, a hand-off holds everyone again.
  auto full = create("kit", R"(,"since_last_handoff":false)");
  EXPECT_EQ(uint64_t(full["progress"]["total"]), 6u);
  // A completed Kit hand-off says nothing about HubSpot.
  auto hubspot = create("hubspot", R"(,"since_last_handoff":true)");
  EXPECT_EQ(uint64_t(hubspot["progress"]["total"]), 6u);
  // Cancelled hand-offs do not count as done.
  auto third = create("kit", R"(,"since_last_handoff":true)");
  ASSERT_EQ(post(str(third["id"]), "cancel"), 200);
  auto fourth = create("kit", R"(,"since_last_handoff":true)");
  EXPECT_EQ(uint64_t(fourth["progress"]["total"]), 3u);
}

TEST_F(handoffs, cancel_retry_and_complete) {
  fans();
  auto job = create("klaviyo");
  auto id = str(job["id"]);
  auto total = uint64_t(job["progress"]["total"]);

  auto r = as(a.token, "POST", "/api/v1/sync-jobs/" + id + "/cancel");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(str(r.json()["status"]), "CANCELLED");
  r = as(a.token, "GET", "/api/v1/sync-jobs/" + id + "/file.csv");
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("retry it"), std::string::npos) << r.body;
  EXPECT_EQ(post(id, "complete"), 409);

  // Retry puts it back to PENDING and the file is there again.
  r = as(a.token, "POST", "/api/v1/sync-jobs/" + id + "/retry");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(str(r.json()["status"]), "PENDING");
  EXPECT_EQ(uint64_t(r.json()["attempt"]), 2u);
  EXPECT_TRUE(r.json()["finished_at"].is_null());
  EXPECT_EQ(file(id).size(), total + 1);
  // It stays PENDING: nothing runs a hand-off.
  EXPECT_EQ(str(as(a.token, "GET", "/api/v1/sync-jobs/" + id).json()["status"]),
            "PENDING");
  // The file can be downloaded again while the job is open.
  EXPECT_EQ(file(id).size(), total + 1);

  r = as(a.token, "POST", "/api/v1/sync-jobs/" + id + "/complete");
  ASSERT_EQ(r.status, 200) << r.body;
  auto done = r.json();
  EXPECT_EQ(str(done["status"]), "COMPLETED");
  EXPECT_FALSE(done["finished_at"].is_null());
  EXPECT_EQ(uint64_t(done["progress"]["processed"]), total);
  EXPECT_EQ(uint64_t(done["progress"]["total"]), total);
  EXPECT_EQ(str(as(a.token, "GET", "/api/v1/sync-jobs/" + id).json()["status"]),
            "COMPLETED");

  // Once completed: no file, no second completion, no cancel, no retry.
  r = as(a.token, "GET", "/api/v1/sync-jobs/" + id + "/file.csv");
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("marked imported"), std::string::npos) << r.body;
  EXPECT_EQ(post(id, "complete"), 409);
  EXPECT_EQ(post(id, "cancel"), 409);
  EXPECT_EQ(post(id, "retry"), 409);
  auto list = as(a.token, "GET", "/api/v1/sync-jobs?status=COMPLETED").json();
  EXPECT_EQ(simdjson::dom::array(list["items"]).size(), 1u);
}

TEST_F(handoffs, another_account_gets_404_and_bad_input_422) {
  fans();
  auto id = str(create("hubspot")["id"]);
  auto b = signup("stranger");
  EXPECT_EQ(as(b.token, "GET", "/api/v1/sync-jobs/" + id + "/file.csv").status,
            404);
  EXPECT_EQ(post(id, "complete", b), 404);
  EXPECT_EQ(post(id, "cancel", b), 404);
  EXPECT_EQ(post(id, "retry", b), 404);
  EXPECT_EQ(post("job_nope", "complete"), 404);
  EXPECT_EQ(as(a.token, "GET", "/api/v1/sync-jobs/job_nope/file.csv").status,
            404);
  EXPECT_EQ(call("GET", "/api/v1/sync-jobs/" + id + "/file.csv").status, 401);
  // The stranger's own hand-off is empty: nothing of ours leaks into it.
  auto theirs = as(b.token, "POST", "/api/v1/sync-jobs",
                   R"({"provider":"kit","scope":{"type":"all"}})");
  ASSERT_EQ(theirs.status, 202) << theirs.body;
  EXPECT_EQ(uint64_t(theirs.json()["progress"]["total"]), 0u);
  EXPECT_EQ(file(str(theirs.json()["id"]), b).size(), 1u);
  // Still PENDING for its owner.
  EXPECT_EQ(file(id).size(), 4u);

  create("kit", R"(,"since_last_handoff":"maybe")", 422);
  create("kit", R"(,"since":true)", 422);
  create("mailchimp", R"(,"since_last_handoff":true)", 422);
}

TEST_F(handoffs, completion_queues_the_sync_job_completed_webhook) {
  auto put = as(a.token, "PUT", "/api/v1/integrations/webhook",
                R"({"url":"http://127.0.0.1:1/hook",
                    "events":["sync_job.completed"]})");
  ASSERT_EQ(put.status, 201) << put.body;
  fans();
  auto id = str(create("kit")["id"]);
  ASSERT_EQ(post(id, "cancel"), 200); // not a completion: no message
  ASSERT_EQ(post(id, "retry"), 200);
  ASSERT_EQ(post(id, "complete"), 200);
  auto d = as(a.token, "GET", "/api/v1/integrations/webhook/deliveries").json();
  auto items = simdjson::dom::array(d["items"]);
  ASSERT_EQ(items.size(), 1u);
  auto first = *items.begin();
  EXPECT_EQ(str(first["type"]), "sync_job.completed");
  EXPECT_EQ(str(first["payload"]["type"]), "sync_job.completed");
  EXPECT_EQ(str(first["payload"]["data"]["id"]), id);
  EXPECT_EQ(str(first["payload"]["data"]["status"]), "COMPLETED");
  EXPECT_EQ(str(first["payload"]["data"]["provider"]), "kit");
}

TEST_F(handoffs, the_file_streams_many_pages) {
  // More rows than one page (1,000), from eight writers at once; every tenth
  // one phone-only, left out of a Kit file.
  std::vector<std::thread> writers;
  std::atomic<int> ok{0};
  for (int w = 0; w < 8; ++w)
    writers.emplace_back([&, w] {
      for (int k = 0; k < 150; ++k) {
        auto body = k % 10 == 0
                        ? R"({"phone":"+1415201)" +
                              std::to_string(1000 + w * 150 + k) + "\"}"
                        : R"({"email":"bulk)" + std::to_string(w) + "-" +
                              std::to_string(k) + R"(@example.com"})";
        if (send(port, "POST", "/api/v1/public/creator/subscribe", body)
                .status == 202)
          ++ok;
      }
    });
  for (auto& t : writers)
    t.join();
  ASSERT_EQ(ok, 1200);
  auto job = create("kit");
  EXPECT_EQ(uint64_t(job["progress"]["total"]), 1080u);
  EXPECT_EQ(uint64_t(job["skipped"]["phone_only"]), 120u);
  auto r =
      as(a.token, "GET", "/api/v1/sync-jobs/" + str(job["id"]) + "/file.csv");
  ASSERT_EQ(r.status, 200);
  EXPECT_GE(r.raw.chunks.size(), 2u);
  auto rows = parse_csv(r.body);
  EXPECT_EQ(rows.size(), 1081u);
  EXPECT_EQ(emails(rows).size(), 1080u);
}

namespace {

/// A Mailchimp sync next to the hand-offs: it has no file and is not
/// completed by hand.
class handoff_and_mailchimp : public mailchimp_connect {
protected:
  void SetUp() override {
    mailchimp_connect::SetUp();
    ASSERT_FALSE(connect_and_choose().empty());
  }
};

} // namespace

TEST_F(handoff_and_mailchimp, a_mailchimp_job_has_no_file_and_no_complete) {
  subscribe(a, R"({"email":"fan@example.com"})");
  auto r = as(a.token, "POST", "/api/v1/sync-jobs",
              R"({"provider":"mailchimp","scope":{"type":"all"}})");
  ASSERT_EQ(r.status, 202) << r.body;
  auto id = str(r.json()["id"]);
  auto file = as(a.token, "GET", "/api/v1/sync-jobs/" + id + "/file.csv");
  EXPECT_EQ(file.status, 409);
  EXPECT_NE(file.body.find("Mailchimp"), std::string::npos) << file.body;
  auto done = as(a.token, "POST", "/api/v1/sync-jobs/" + id + "/complete");
  EXPECT_EQ(done.status, 409);
  EXPECT_NE(done.body.find("completes on its own"), std::string::npos)
      << done.body;
  // A hand-off queued meanwhile does not wait behind the sync.
  auto kit = as(a.token, "POST", "/api/v1/sync-jobs",
                R"({"provider":"kit","scope":{"type":"all"}})");
  ASSERT_EQ(kit.status, 202) << kit.body;
  EXPECT_EQ(str(kit.json()["status"]), "PENDING");
  EXPECT_EQ(as(a.token, "GET",
               "/api/v1/sync-jobs/" + str(kit.json()["id"]) + "/file.csv")
                .status,
            200);
  ls::http::test::wait_until(
      [&] {
        auto s =
            str(as(a.token, "GET", "/api/v1/sync-jobs/" + id).json()["status"]);
        return s == "COMPLETED" || s == "FAILED";
      },
      20000ms);
}
