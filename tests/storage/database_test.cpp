// The schema and every query and change of the database. Changes run the way
// the STORE runs them: in a nested transaction that commits only when the
// outcome is ok.
#include "storage/crypto.hpp"
#include "storage/database.hpp"
#include "storage/test_temp_dir.hpp"

#include <algorithm>
#include <functional>
#include <gtest/gtest.h>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace ls;
using namespace ls::store;

class database_test : public ::testing::Test {
protected:
  void SetUp() override {
    crypto::init();
    dir = std::make_unique<test::temp_dir>();
    open();
  }
  void TearDown() override {
    db.reset();
    dir.reset();
  }

  void open(uint64_t map_size = 64 << 20, const std::string& name = "db") {
    db.reset();
    db = std::make_unique<database>(dir->sub(name), map_size);
  }
  std::string path() const { return dir->sub("db"); }

  /// Runs `fn` like the STORE does: nested transaction, kept only when ok.
  outcome change(const std::function<outcome(lmdb::txn&)>& fn) {
    auto t = lmdb::txn::write(db->env());
    outcome r;
    {
      auto child = lmdb::txn::nested(db->env(), t);
      r = fn(child);
      if (r)
        child.commit();
      else
        child.abort();
    }
    t.commit();
    return r;
  }

  account make_account(const std::string& email, const std::string& handle) {
    account a;
    a.id = crypto::random_id("acc_");
    a.email = email;
    a.handle = handle;
    a.password_hash = "$argon2id$placeholder";
    a.created_at = 1000;
    return a;
  }

  outcome insert(const account& a, const std::string& token_hash) {
    return change(
        [&](lmdb::txn& t) { return db->insert_account(t, a, token_hash); });
  }

  subscriber make_sub(const std::string& account_id, const std::string& email,
                      const std::string& phone = {}, int64_t at = 1000) {
    subscriber s;
    s.id = crypto::random_id("sub_");
    s.account_id = account_id;
    s.email = email;
    s.phone = phone;
    s.source = "form";
    s.subscribed_at = at;
    s.updated_at = at;
    s.opt_in = {at, "192.0.2.1", "test-agent", ""};
    return s;
  }

  /// Upserts and returns the stored record; `created` receives which happened.
  subscriber upsert(const subscriber& in, bool& created) {
    subscriber stored;
    auto r = change([&](lmdb::txn& t) {
      return db->upsert_subscriber(t, in, stored, created);
    });
    EXPECT_TRUE(r) << r.message;
    return stored;
  }
  subscriber upsert(const subscriber& in) {
    bool created = false;
    return upsert(in, created);
  }

  outcome modify(const std::string& account_id, const std::string& id,
                 const std::function<outcome(subscriber&)>& fn,
                 subscriber* result = nullptr) {
    subscriber out;
    auto r = change([&](lmdb::txn& t) {
      return db->modify_subscriber(t, account_id, id, fn, out);
    });
    if (result) *result = out;
    return r;
  }

  /// Every page of a newest-first listing, as ids.
  std::vector<std::string> list_all(const std::string& account_id,
                                    const subscriber_filter& f, size_t limit,
                                    size_t* pages = nullptr,
                                    size_t max_scan = 20000) {
    std::vector<std::string> ids;
    std::string cursor;
    size_t n = 0;
    do {
      auto page = db->subscribers(account_id, f, cursor, limit, max_scan);
      EXPECT_TRUE(page);
      if (!page) break;
      EXPECT_LE(page->items.size(), limit);
      for (auto& s : page->items) {
        EXPECT_EQ(s.account_id, account_id);
        ids.push_back(s.id);
      }
      cursor = page->next_cursor;
      EXPECT_LT(++n, 10000u);
    } while (!cursor.empty());
    if (pages) *pages = n;
    return ids;
  }

  std::vector<std::string> export_all(const std::string& account_id,
                                      const subscriber_filter& f, size_t limit,
                                      size_t* calls = nullptr) {
    std::vector<std::string> ids;
    std::string after;
    size_t n = 0;
    do {
      size_t rows = 0;
      after = db->export_page(account_id, f, after, limit,
                              [&](const subscriber& s) {
                                EXPECT_EQ(s.account_id, account_id);
                                ids.push_back(s.id);
                                ++rows;
                              });
      EXPECT_LE(rows, limit);
      EXPECT_LT(++n, 10000u);
    } while (!after.empty());
    if (calls) *calls = n;
    return ids;
  }

  std::unique_ptr<test::temp_dir> dir;
  std::unique_ptr<database> db;
  const std::string acc = crypto::random_id("acc_");
};

// -- schema
// ---------------------------------------------------------------------------------

TEST_F(database_test, reopening_keeps_data) {
  auto a = make_account("a@example.com", "alice");
  ASSERT_TRUE(insert(a, "hash-a"));
  EXPECT_TRUE(db->healthy());
  open();
  auto back = db->account_by_id(a.id);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->email, "a@example.com");
  EXPECT_TRUE(db->account_by_token_hash("hash-a"));
  open(); // and a third time
  EXPECT_TRUE(db->account_by_handle("alice"));
  db.reset();
  // The schema version is recorded.
  lmdb::env env{path(), 64 << 20, 32};
  auto t = lmdb::txn::read(env);
  auto meta = t.open("meta", 0);
  ASSERT_TRUE(t.get(meta, "schema_version"));
  EXPECT_EQ(*t.get(meta, "schema_version"),
            std::to_string(database::schema_version));
}

TEST_F(database_test, newer_schema_is_refused_with_a_clear_message) {
  db.reset();
  {
    lmdb::env env{path(), 64 << 20, 32};
    auto t = lmdb::txn::write(env);
    auto meta = t.open("meta");
    ASSERT_TRUE(t.get(meta, "schema_version"));
    EXPECT_EQ(*t.get(meta, "schema_version"),
              std::to_string(database::schema_version));
    t.put(meta, "schema_version", std::to_string(database::schema_version + 1));
    t.commit();
  }
  try {
    database newer{path(), 64 << 20};
    FAIL() << "a newer schema must be refused";
  } catch (const lmdb::error& e) {
    FAIL() << "expected a runtime_error about the schema, got " << e.what();
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("newer"), std::string::npos) << what;
    EXPECT_NE(
        what.find("schema " + std::to_string(database::schema_version + 1)),
        std::string::npos)
        << what;
  }
  // The refusal did not touch the data: the version is still the newer one.
  {
    lmdb::env env{path(), 64 << 20, 32};
    auto t = lmdb::txn::read(env);
    auto meta = t.open("meta", 0);
    EXPECT_EQ(*t.get(meta, "schema_version"),
              std::to_string(database::schema_version + 1));
  }
}

TEST_F(database_test, map_full_then_grow_map) {
  open(256 << 10, "small");
  const auto initial = db->env().map_size();
  const std::string big(16000, 's');
  auto write = [&](int i) {
    session s{acc, big, 1, 2};
    return change([&](lmdb::txn& t) {
      return db->put_session(t, "hash" + std::to_string(i), s);
    });
  };
  int i = 0;
  for (;; ++i) {
    ASSERT_LT(i, 100);
    try {
      ASSERT_TRUE(write(i));
    } catch (const lmdb::error& e) {
      ASSERT_TRUE(e.map_full()) << e.what();
      break;
    }
  }
  EXPECT_FALSE(db->session_by_hash("hash" + std::to_string(i)));
  EXPECT_EQ(db->grow_map(), initial * 2);
  EXPECT_EQ(db->env().map_size(), initial * 2);
  EXPECT_TRUE(write(i));
  auto s = db->session_by_hash("hash" + std::to_string(i));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->csrf_token, big);
  EXPECT_TRUE(db->session_by_hash("hash0"));
  EXPECT_TRUE(db->healthy());
}

// -- accounts
// -------------------------------------------------------------------------------

TEST_F(database_test, insert_account_and_lookups) {
  auto a = make_account("a@example.com", "alice");
  ASSERT_TRUE(insert(a, "hash-a"));
  for (auto found :
       {db->account_by_id(a.id), db->account_by_email("a@example.com"),
        db->account_by_handle("alice"), db->account_by_token_hash("hash-a")}) {
    ASSERT_TRUE(found);
    EXPECT_EQ(found->id, a.id);
    EXPECT_EQ(found->handle, "alice");
    EXPECT_EQ(found->password_hash, a.password_hash);
    EXPECT_EQ(found->created_at, 1000);
  }
  EXPECT_FALSE(db->account_by_id("acc_missing"));
  EXPECT_FALSE(db->account_by_email("b@example.com"));
  EXPECT_FALSE(db->account_by_handle("bob"));
  EXPECT_FALSE(db->account_by_token_hash("nope"));
  // Lookups with keys LMDB cannot hold (e.g. a handle from a URL) find nothing.
  EXPECT_FALSE(db->account_by_handle(""));
  EXPECT_FALSE(db->account_by_handle(std::string(600, 'h')));
  EXPECT_FALSE(db->account_by_email(std::string(1000, 'e')));
  EXPECT_FALSE(db->account_by_id(""));
  EXPECT_FALSE(db->session_by_hash(""));
}

TEST_F(database_test, insert_account_email_conflict_writes_nothing) {
  auto a = make_account("a@example.com", "alice");
  ASSERT_TRUE(insert(a, "hash-a"));
  auto b = make_account("a@example.com", "bob");
  auto r = insert(b, "hash-b");
  EXPECT_EQ(r.code, outcome::conflict);
  EXPECT_EQ(r.field, "email");
  EXPECT_FALSE(r.message.empty());
  EXPECT_FALSE(db->account_by_id(b.id));
  EXPECT_FALSE(db->account_by_handle("bob"));
  EXPECT_FALSE(db->account_by_token_hash("hash-b"));
  EXPECT_EQ(db->account_by_email("a@example.com")->id, a.id);
}

TEST_F(database_test, insert_account_handle_conflict_writes_nothing) {
  auto a = make_account("a@example.com", "alice");
  ASSERT_TRUE(insert(a, "hash-a"));
  auto c = make_account("c@example.com", "alice");
  auto r = insert(c, "hash-c");
  EXPECT_EQ(r.code, outcome::conflict);
  EXPECT_EQ(r.field, "handle");
  // The email index was written before the handle check failed: it must be
  // gone.
  EXPECT_FALSE(db->account_by_email("c@example.com"));
  EXPECT_FALSE(db->account_by_id(c.id));
  EXPECT_FALSE(db->account_by_token_hash("hash-c"));
  EXPECT_EQ(db->account_by_handle("alice")->id, a.id);
  // The email is still free.
  auto d = make_account("c@example.com", "carol");
  ASSERT_TRUE(insert(d, "hash-d"));
  EXPECT_EQ(db->account_by_email("c@example.com")->id, d.id);
}

TEST_F(database_test, set_api_token_replaces_the_old_one) {
  auto a = make_account("a@example.com", "alice");
  auto b = make_account("b@example.com", "bob");
  ASSERT_TRUE(insert(a, "hash-a1"));
  ASSERT_TRUE(insert(b, "hash-b1"));
  ASSERT_TRUE(change(
      [&](lmdb::txn& t) { return db->set_api_token(t, a.id, "hash-a2"); }));
  EXPECT_FALSE(db->account_by_token_hash("hash-a1"));
  ASSERT_TRUE(db->account_by_token_hash("hash-a2"));
  EXPECT_EQ(db->account_by_token_hash("hash-a2")->id, a.id);
  ASSERT_TRUE(change(
      [&](lmdb::txn& t) { return db->set_api_token(t, a.id, "hash-a3"); }));
  EXPECT_FALSE(db->account_by_token_hash("hash-a2"));
  EXPECT_EQ(db->account_by_token_hash("hash-a3")->id, a.id);
  // The other account's token is untouched.
  EXPECT_EQ(db->account_by_token_hash("hash-b1")->id, b.id);
}

// -- sessions
// -------------------------------------------------------------------------------

TEST_F(database_test, sessions_put_get_delete) {
  session s{acc, "csrf-1", 10, 20};
  ASSERT_TRUE(change(
      [&](lmdb::txn& t) { return db->put_session(t, "token-hash", s); }));
  auto back = db->session_by_hash("token-hash");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->account_id, acc);
  EXPECT_EQ(back->csrf_token, "csrf-1");
  EXPECT_EQ(back->created_at, 10);
  EXPECT_EQ(back->expires_at, 20);
  EXPECT_FALSE(db->session_by_hash("other"));
  s.csrf_token = "csrf-2";
  ASSERT_TRUE(change(
      [&](lmdb::txn& t) { return db->put_session(t, "token-hash", s); }));
  EXPECT_EQ(db->session_by_hash("token-hash")->csrf_token, "csrf-2");
  ASSERT_TRUE(change(
      [&](lmdb::txn& t) { return db->delete_session(t, "token-hash"); }));
  EXPECT_FALSE(db->session_by_hash("token-hash"));
  EXPECT_TRUE(change(
      [&](lmdb::txn& t) { return db->delete_session(t, "token-hash"); }));
}

// -- campaigns
// ------------------------------------------------------------------------------

campaign make_campaign(const std::string& account_id, const std::string& slug,
                       int64_t created) {
  campaign c;
  c.id = crypto::random_id("cmp_");
  c.account_id = account_id;
  c.name = "Campaign " + slug;
  c.slug = slug;
  c.fields = {{"email", "Email", "email", true, {}}};
  c.default_tags = {"t-" + slug};
  c.created_at = created;
  c.updated_at = created;
  return c;
}

TEST_F(database_test, campaigns_put_list_and_lookups) {
  auto c1 = make_campaign(acc, "spring", 300);
  auto c2 = make_campaign(acc, "summer", 100);
  auto c3 = make_campaign(acc, "autumn", 200);
  auto other = make_campaign(crypto::random_id("acc_"), "winter", 50);
  for (auto* c : {&c1, &c2, &c3, &other})
    ASSERT_TRUE(change([&](lmdb::txn& t) { return db->put_campaign(t, *c); }));
  auto list = db->campaigns(acc);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].id, c2.id); // oldest first
  EXPECT_EQ(list[1].id, c3.id);
  EXPECT_EQ(list[2].id, c1.id);
  EXPECT_EQ(list[2].fields.size(), 1u);
  EXPECT_EQ(list[2].default_tags, std::vector<std::string>{"t-spring"});
  ASSERT_TRUE(db->campaign_by_id(acc, c1.id));
  EXPECT_EQ(db->campaign_by_id(acc, c1.id)->slug, "spring");
  EXPECT_EQ(db->campaign_by_slug(acc, "autumn")->id, c3.id);
  EXPECT_FALSE(db->campaign_by_slug(acc, "winter")); // another account's
  EXPECT_FALSE(db->campaign_by_id(acc, other.id));
  EXPECT_EQ(db->campaigns(other.account_id).size(), 1u);
  EXPECT_TRUE(db->campaigns(crypto::random_id("acc_")).empty());
}

TEST_F(database_test, campaigns_with_equal_times_order_by_id) {
  std::vector<campaign> cs;
  for (int i = 0; i < 5; ++i) {
    cs.push_back(make_campaign(acc, "s" + std::to_string(i), 100));
    ASSERT_TRUE(
        change([&](lmdb::txn& t) { return db->put_campaign(t, cs.back()); }));
  }
  std::sort(cs.begin(), cs.end(), [](auto& a, auto& b) { return a.id < b.id; });
  auto list = db->campaigns(acc);
  ASSERT_EQ(list.size(), cs.size());
  for (size_t i = 0; i < cs.size(); ++i)
    EXPECT_EQ(list[i].id, cs[i].id);
}

TEST_F(database_test, campaign_slug_conflicts) {
  auto c1 = make_campaign(acc, "spring", 1);
  ASSERT_TRUE(change([&](lmdb::txn& t) { return db->put_campaign(t, c1); }));
  auto dup = make_campaign(acc, "spring", 2);
  auto r = change([&](lmdb::txn& t) { return db->put_campaign(t, dup); });
  EXPECT_EQ(r.code, outcome::conflict);
  EXPECT_EQ(r.field, "slug");
  EXPECT_FALSE(db->campaign_by_id(acc, dup.id));
  // Same slug in another account is fine.
  auto elsewhere = make_campaign(crypto::random_id("acc_"), "spring", 2);
  EXPECT_TRUE(
      change([&](lmdb::txn& t) { return db->put_campaign(t, elsewhere); }));
  // Saving the campaign itself again with its own slug is fine.
  c1.name = "Renamed";
  EXPECT_TRUE(change([&](lmdb::txn& t) { return db->put_campaign(t, c1); }));
  EXPECT_EQ(db->campaign_by_id(acc, c1.id)->name, "Renamed");
  // Renaming a second campaign onto the first one's slug conflicts.
  auto c2 = make_campaign(acc, "summer", 3);
  ASSERT_TRUE(change([&](lmdb::txn& t) { return db->put_campaign(t, c2); }));
  c2.slug = "spring";
  EXPECT_EQ(
      change([&](lmdb::txn& t) { return db->replace_campaign(t, c2); }).code,
      outcome::conflict);
  EXPECT_EQ(db->campaign_by_id(acc, c2.id)->slug, "summer");
}

TEST_F(database_test, replace_and_delete_campaign) {
  auto missing = make_campaign(acc, "ghost", 1);
  auto r =
      change([&](lmdb::txn& t) { return db->replace_campaign(t, missing); });
  EXPECT_EQ(r.code, outcome::not_found);
  EXPECT_FALSE(db->campaign_by_id(acc, missing.id)); // replace did not insert
  auto c = make_campaign(acc, "spring", 1);
  ASSERT_TRUE(change([&](lmdb::txn& t) { return db->put_campaign(t, c); }));
  c.name = "Changed";
  c.updated_at = 99;
  ASSERT_TRUE(change([&](lmdb::txn& t) { return db->replace_campaign(t, c); }));
  EXPECT_EQ(db->campaign_by_id(acc, c.id)->name, "Changed");
  EXPECT_EQ(db->campaign_by_id(acc, c.id)->updated_at, 99);
  // Deleting needs the right account.
  EXPECT_EQ(change([&](lmdb::txn& t) {
              return db->delete_campaign(t, crypto::random_id("acc_"), c.id);
            }).code,
            outcome::not_found);
  ASSERT_TRUE(
      change([&](lmdb::txn& t) { return db->delete_campaign(t, acc, c.id); }));
  EXPECT_FALSE(db->campaign_by_id(acc, c.id));
  EXPECT_TRUE(db->campaigns(acc).empty());
  EXPECT_EQ(change([&](lmdb::txn& t) {
              return db->delete_campaign(t, acc, c.id);
            }).code,
            outcome::not_found);
  // The slug is free again.
  auto again = make_campaign(acc, "spring", 2);
  EXPECT_TRUE(change([&](lmdb::txn& t) { return db->put_campaign(t, again); }));
}

// -- subscribers: upsert
// --------------------------------------------------------------------

TEST_F(database_test, upsert_creates) {
  auto in = make_sub(acc, "new@example.com", "+15550001111", 5000);
  in.name = "New Person";
  in.tags = {"a", "b"};
  in.campaign_id = "cmp_1";
  in.campaign_ids = {"cmp_1"};
  bool created = false;
  auto stored = upsert(in, created);
  EXPECT_TRUE(created);
  EXPECT_EQ(stored.id, in.id);
  auto back = db->subscriber_by_id(acc, in.id);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->email, "new@example.com");
  EXPECT_EQ(back->phone, "+15550001111");
  EXPECT_EQ(back->name, "New Person");
  EXPECT_EQ(back->tags, in.tags);
  EXPECT_EQ(back->subscribed_at, 5000);
  EXPECT_EQ(back->status, "subscribed");
  EXPECT_EQ(db->subscriber_count(acc), 1u);
}

TEST_F(database_test, upsert_same_email_adds_and_never_overwrites) {
  auto first = make_sub(acc, "m@example.com", "", 1000);
  first.name = "Old Name";
  first.first_name = "Old";
  first.last_name = "Person";
  first.fields = {{"city", "Berlin"}, {"note", ""}, {"size", "M"}};
  first.tags = {"b", "d"};
  first.campaign_id = "cmp_1";
  first.campaign_ids = {"cmp_1"};
  first.opt_in = {1000, "192.0.2.1", "ua-1", "cmp_1"};
  upsert(first);

  // Anyone may send this for the address: only additions are taken.
  auto again = make_sub(acc, "m@example.com", "+15557654321", 2000);
  again.name = "New Name";
  again.first_name = "";
  again.fields = {{"age", "40"}, {"city", "Hamburg"}, {"note", "filled"}};
  again.tags = {"c", "a", "b"};
  again.campaign_id = "cmp_2";
  again.campaign_ids = {"cmp_2"};
  again.opt_in = {2000, "198.51.100.7", "ua-2", "cmp_2"};
  bool created = true;
  auto stored = upsert(again, created);
  EXPECT_FALSE(created);
  EXPECT_EQ(stored.id, first.id);

  auto back = db->subscriber_by_id(acc, first.id);
  ASSERT_TRUE(back);
  EXPECT_FALSE(db->subscriber_by_id(acc, again.id));
  EXPECT_EQ(db->subscriber_count(acc), 1u);
  EXPECT_EQ(back->email, "m@example.com");
  EXPECT_EQ(back->phone, "");
  EXPECT_EQ(back->name, "Old Name");
  EXPECT_EQ(back->first_name, "Old");
  EXPECT_EQ(back->last_name, "Person");
  EXPECT_EQ(back->fields, (field_values{{"age", "40"},
                                        {"city", "Berlin"},
                                        {"note", "filled"},
                                        {"size", "M"}}));
  EXPECT_EQ(back->tags, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(back->subscribed_at, 1000); // the first signup is kept
  EXPECT_EQ(back->updated_at, 2000);
  EXPECT_EQ(back->campaign_id, "cmp_1");
  EXPECT_EQ(back->campaign_ids, (std::vector<std::string>{"cmp_1", "cmp_2"}));
  EXPECT_EQ(back->opt_in.ip, "192.0.2.1"); // consent unchanged
  EXPECT_EQ(back->status, "subscribed");
  EXPECT_EQ(back->resubscribe_request.at, 0);
  EXPECT_EQ(stored.tags, back->tags);
  EXPECT_EQ(stored.fields, back->fields);

  // A third signup through a campaign already listed does not duplicate it.
  auto third = make_sub(acc, "m@example.com", "", 3000);
  third.campaign_id = "cmp_1";
  upsert(third);
  EXPECT_EQ(db->subscriber_by_id(acc, first.id)->campaign_ids,
            (std::vector<std::string>{"cmp_1", "cmp_2"}));
  auto page = db->subscribers(acc, {}, "", 10);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].updated_at, 3000);
}

TEST_F(database_test, phone_only_subscriber_is_found_by_phone_only) {
  auto phone_only = make_sub(acc, "", "+15550002222", 1000);
  bool created = false;
  upsert(phone_only, created);
  ASSERT_TRUE(created);
  // The same phone again, still without email: the same subscriber.
  auto again = make_sub(acc, "", "+15550002222", 1500);
  again.tags = {"x"};
  auto stored = upsert(again, created);
  EXPECT_FALSE(created);
  EXPECT_EQ(stored.id, phone_only.id);
  EXPECT_EQ(db->subscriber_by_id(acc, phone_only.id)->tags,
            std::vector<std::string>{"x"});

  // An email with that phone is its own subscriber: a stranger who knows a
  // phone number cannot attach an email to it.
  stored =
      upsert(make_sub(acc, "p@example.com", "+15550002222", 2000), created);
  EXPECT_TRUE(created);
  EXPECT_NE(stored.id, phone_only.id);
  EXPECT_EQ(db->subscriber_by_id(acc, phone_only.id)->email, "");
  EXPECT_EQ(db->subscriber_count(acc), 2u);
  // The email finds its own.
  auto by_email = upsert(make_sub(acc, "p@example.com", "", 3000), created);
  EXPECT_FALSE(created);
  EXPECT_EQ(by_email.id, stored.id);
}

TEST_F(database_test, caps_hold_on_signups_and_changes) {
  auto s = make_sub(acc, "cap@example.com", "", 1000);
  for (size_t i = 0; i < ls::store::subscriber_limits::max_tags; ++i)
    s.tags.push_back("t" + std::to_string(1000 + i));
  std::sort(s.tags.begin(), s.tags.end());
  upsert(s);
  auto more = make_sub(acc, "cap@example.com", "", 2000);
  more.tags = {"one-too-many"};
  subscriber stored;
  bool created = false;
  auto r = change([&](lmdb::txn& t) {
    return db->upsert_subscriber(t, more, stored, created);
  });
  EXPECT_EQ(r.code, outcome::invalid);
  EXPECT_EQ(r.field, "tags");
  EXPECT_EQ(db->subscriber_by_id(acc, s.id)->tags.size(),
            ls::store::subscriber_limits::max_tags);
  // Large values: the whole record is bounded too.
  auto big = make_sub(acc, "big@example.com", "", 1000);
  for (int i = 0; i < 80; ++i)
    big.fields.emplace_back("f" + std::to_string(100 + i),
                            std::string(1000, 'x'));
  r = change([&](lmdb::txn& t) {
    return db->upsert_subscriber(t, big, stored, created);
  });
  EXPECT_EQ(r.code, outcome::invalid);
  EXPECT_FALSE(db->subscriber_by_id(acc, big.id));
  // The creator's own changes are held to the same caps.
  EXPECT_EQ(modify(acc, s.id,
                   [](subscriber& x) {
                     x.tags.push_back("zzz");
                     return outcome{};
                   })
                .code,
            outcome::invalid);
}

TEST_F(database_test, unsubscribed_then_signup_is_only_a_request) {
  auto first = make_sub(acc, "u@example.com", "", 1000);
  first.opt_in = {1000, "192.0.2.1", "ua-1", "cmp_1"};
  upsert(first);
  ASSERT_TRUE(modify(acc, first.id, [](subscriber& s) {
    s.status = "unsubscribed";
    s.updated_at = 1500;
    return outcome{};
  }));
  EXPECT_EQ(db->subscriber_by_id(acc, first.id)->status, "unsubscribed");

  auto again = make_sub(acc, "u@example.com", "", 2000);
  again.opt_in = {2000, "203.0.113.9", "ua-2", "cmp_2"};
  bool created = true;
  auto stored = upsert(again, created);
  EXPECT_FALSE(created);
  auto back = db->subscriber_by_id(acc, first.id);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->status, "unsubscribed");
  EXPECT_EQ(back->opt_in.at, 1000); // the consent on record is unchanged
  EXPECT_EQ(back->opt_in.ip, "192.0.2.1");
  EXPECT_EQ(back->resubscribe_request.at, 2000);
  EXPECT_EQ(back->resubscribe_request.ip, "203.0.113.9");
  EXPECT_EQ(back->resubscribe_request.user_agent, "ua-2");
  EXPECT_EQ(back->resubscribe_request.campaign_id, "cmp_2");
  EXPECT_EQ(back->subscribed_at, 1000);
  EXPECT_EQ(back->updated_at, 2000);
  EXPECT_EQ(stored.status, "unsubscribed");
}

TEST_F(database_test,
       a_deleted_address_comes_back_unsubscribed_with_a_request) {
  auto first = make_sub(acc, "d@example.com", "", 1000);
  upsert(first);
  ASSERT_TRUE(change(
      [&](lmdb::txn& t) { return db->delete_subscriber(t, acc, first.id); }));
  auto again = make_sub(acc, "d@example.com", "", 2000);
  again.opt_in = {2000, "203.0.113.9", "ua-2", ""};
  bool created = false;
  auto stored = upsert(again, created);
  EXPECT_TRUE(created);
  EXPECT_EQ(stored.status, "unsubscribed");
  EXPECT_EQ(stored.resubscribe_request.at, 2000);
  EXPECT_EQ(stored.opt_in.at, 0);
  // Another account's deletions do not count here.
  auto elsewhere =
      make_sub("acc_otherotherotherother", "d@example.com", "", 3000);
  stored = upsert(elsewhere, created);
  EXPECT_TRUE(created);
  EXPECT_EQ(stored.status, "subscribed");
}

// -- subscribers: modify and delete
// ---------------------------------------------------------

TEST_F(database_test, modify_changes_email_and_reindexes) {
  auto s1 = make_sub(acc, "one@example.com", "", 1000);
  auto s2 = make_sub(acc, "two@example.com", "", 1001);
  upsert(s1);
  upsert(s2);
  subscriber result;
  ASSERT_TRUE(modify(
      acc, s1.id,
      [](subscriber& s) {
        s.email = "three@example.com";
        s.name = "Three";
        return outcome{};
      },
      &result));
  EXPECT_EQ(result.email, "three@example.com");
  EXPECT_EQ(db->subscriber_by_id(acc, s1.id)->email, "three@example.com");
  EXPECT_EQ(db->subscriber_by_id(acc, s1.id)->name, "Three");
  // The new email maps to s1 ...
  bool created = true;
  EXPECT_EQ(upsert(make_sub(acc, "three@example.com", "", 2000), created).id,
            s1.id);
  EXPECT_FALSE(created);
  // ... and s2 cannot take it.
  auto r = modify(acc, s2.id, [](subscriber& s) {
    s.email = "three@example.com";
    return outcome{};
  });
  EXPECT_EQ(r.code, outcome::conflict);
  EXPECT_EQ(r.field, "email");
  EXPECT_EQ(db->subscriber_by_id(acc, s2.id)->email, "two@example.com");
  // The failed change left s2's own index in place.
  EXPECT_EQ(upsert(make_sub(acc, "two@example.com", "", 2100), created).id,
            s2.id);
  EXPECT_FALSE(created);
  // The old email no longer maps to s1: a signup with it is a new subscriber.
  auto fresh = upsert(make_sub(acc, "one@example.com", "", 2200), created);
  EXPECT_TRUE(created);
  EXPECT_NE(fresh.id, s1.id);
  EXPECT_EQ(db->subscriber_count(acc), 3u);
}

TEST_F(database_test, modify_keeps_identity_and_validates) {
  auto s = make_sub(acc, "id@example.com", "", 1000);
  upsert(s);
  subscriber result;
  ASSERT_TRUE(modify(
      acc, s.id,
      [](subscriber& x) {
        x.id = "sub_hijacked";
        x.account_id = "acc_other";
        x.subscribed_at = 1;
        x.tags = {"t"};
        return outcome{};
      },
      &result));
  EXPECT_EQ(result.id, s.id);
  EXPECT_EQ(result.account_id, acc);
  EXPECT_EQ(result.subscribed_at, 1000);
  EXPECT_EQ(db->subscriber_by_id(acc, s.id)->tags,
            std::vector<std::string>{"t"});
  EXPECT_FALSE(db->subscriber_by_id(acc, "sub_hijacked"));
  EXPECT_EQ(db->subscriber_count(acc), 1u);

  auto r = modify(acc, s.id, [](subscriber& x) {
    x.email.clear();
    x.phone.clear();
    return outcome{};
  });
  EXPECT_EQ(r.code, outcome::invalid);
  EXPECT_EQ(db->subscriber_by_id(acc, s.id)->email, "id@example.com");

  r = modify(acc, s.id, [](subscriber& x) {
    x.name = "should not stick";
    return outcome::fail(outcome::invalid, "nope", "name");
  });
  EXPECT_EQ(r.code, outcome::invalid);
  EXPECT_EQ(r.field, "name");
  EXPECT_EQ(db->subscriber_by_id(acc, s.id)->name, "");

  r = modify(acc, "sub_missing", [](subscriber&) { return outcome{}; });
  EXPECT_EQ(r.code, outcome::not_found);
}

TEST_F(database_test, modify_from_email_to_phone_only) {
  auto s = make_sub(acc, "e@example.com", "+15550004444", 1000);
  upsert(s);
  ASSERT_TRUE(modify(acc, s.id, [](subscriber& x) {
    x.email.clear();
    return outcome{};
  }));
  bool created = true;
  // The phone now finds it; the old email does not.
  EXPECT_EQ(upsert(make_sub(acc, "", "+15550004444", 2000), created).id, s.id);
  EXPECT_FALSE(created);
  EXPECT_NE(upsert(make_sub(acc, "e@example.com", "", 2100), created).id, s.id);
  EXPECT_TRUE(created);
}

TEST_F(database_test, delete_removes_every_index) {
  auto with_email = make_sub(acc, "d@example.com", "+15550005555", 1000);
  auto phone_only = make_sub(acc, "", "+15550006666", 1001);
  auto keep = make_sub(acc, "k@example.com", "", 1002);
  upsert(with_email);
  upsert(phone_only);
  upsert(keep);
  ASSERT_EQ(db->subscriber_count(acc), 3u);
  for (auto* s : {&with_email, &phone_only})
    ASSERT_TRUE(change(
        [&](lmdb::txn& t) { return db->delete_subscriber(t, acc, s->id); }));
  EXPECT_FALSE(db->subscriber_by_id(acc, with_email.id));
  EXPECT_FALSE(db->subscriber_by_id(acc, phone_only.id));
  EXPECT_EQ(db->subscriber_count(acc), 1u);
  EXPECT_EQ(list_all(acc, {}, 10), std::vector<std::string>{keep.id});
  EXPECT_EQ(export_all(acc, {}, 10), std::vector<std::string>{keep.id});
  // The contact indexes are gone: the same email and phone sign up as new
  // subscribers.
  bool created = false;
  EXPECT_NE(upsert(make_sub(acc, "d@example.com", "", 2000), created).id,
            with_email.id);
  EXPECT_TRUE(created);
  EXPECT_NE(upsert(make_sub(acc, "", "+15550006666", 2001), created).id,
            phone_only.id);
  EXPECT_TRUE(created);
  // Deleting again, or in another account, is not_found.
  EXPECT_EQ(change([&](lmdb::txn& t) {
              return db->delete_subscriber(t, acc, with_email.id);
            }).code,
            outcome::not_found);
  EXPECT_EQ(change([&](lmdb::txn& t) {
              return db->delete_subscriber(t, crypto::random_id("acc_"),
                                           keep.id);
            }).code,
            outcome::not_found);
  EXPECT_TRUE(db->subscriber_by_id(acc, keep.id));
}

TEST_F(database_test, delete_keeps_a_phone_index_owned_by_someone_else) {
  // b is phone-only with phone P; a has an email and later the same phone P (a
  // is indexed by email only). Deleting a must not drop b's phone index.
  auto b = make_sub(acc, "", "+15550007777", 1000);
  upsert(b);
  auto a = make_sub(acc, "a@example.com", "", 1001);
  upsert(a);
  ASSERT_TRUE(modify(acc, a.id, [](subscriber& x) {
    x.phone = "+15550007777";
    return outcome{};
  }));
  ASSERT_TRUE(change(
      [&](lmdb::txn& t) { return db->delete_subscriber(t, acc, a.id); }));
  bool created = true;
  EXPECT_EQ(upsert(make_sub(acc, "", "+15550007777", 2000), created).id, b.id);
  EXPECT_FALSE(created);
}

// -- subscribers: listing, filters, export
// --------------------------------------------------

TEST_F(database_test, listing_pages_newest_first_exactly_once) {
  // 120 subscribers; several share a signup time, so the id breaks ties.
  std::vector<subscriber> all;
  for (int i = 0; i < 120; ++i) {
    all.push_back(make_sub(acc, "s" + std::to_string(i) + "@example.com", "",
                           1'700'000'000'000'000 + i / 3));
  }
  ASSERT_TRUE(change([&](lmdb::txn& t) {
    for (auto& s : all) {
      subscriber stored;
      bool created = false;
      if (auto r = db->upsert_subscriber(t, s, stored, created); !r) return r;
    }
    return outcome{};
  }));
  // Subscribers of another account sort before and after this one's.
  for (int i = 0; i < 3; ++i) {
    upsert(make_sub("acc_0000000000000000000" + std::to_string(i), "x@x.com"));
    upsert(make_sub("acc_zzzzzzzzzzzzzzzzzzz" + std::to_string(i), "x@x.com"));
  }
  auto expected = all;
  std::sort(expected.begin(), expected.end(), [](auto& a, auto& b) {
    return std::tie(a.subscribed_at, a.id) > std::tie(b.subscribed_at, b.id);
  });
  std::vector<std::string> expected_ids;
  for (auto& s : expected)
    expected_ids.push_back(s.id);

  auto p1 = db->subscribers(acc, {}, "", 50);
  ASSERT_TRUE(p1);
  EXPECT_EQ(p1->items.size(), 50u);
  EXPECT_FALSE(p1->next_cursor.empty());
  auto p2 = db->subscribers(acc, {}, p1->next_cursor, 50);
  ASSERT_TRUE(p2);
  EXPECT_EQ(p2->items.size(), 50u);
  EXPECT_FALSE(p2->next_cursor.empty());
  auto p3 = db->subscribers(acc, {}, p2->next_cursor, 50);
  ASSERT_TRUE(p3);
  EXPECT_EQ(p3->items.size(), 20u);
  EXPECT_TRUE(p3->next_cursor.empty());
  std::vector<std::string> got;
  for (auto* p : {&*p1, &*p2, &*p3})
    for (auto& s : p->items)
      got.push_back(s.id);
  EXPECT_EQ(got, expected_ids);

  // Other page sizes, including exact divisors (no empty trailing page) and 1.
  for (size_t limit : {1u, 7u, 40u, 60u, 119u, 120u, 121u, 500u}) {
    size_t pages = 0;
    EXPECT_EQ(list_all(acc, {}, limit, &pages), expected_ids) << limit;
    EXPECT_EQ(pages, (120 + limit - 1) / limit) << limit;
  }
}

TEST_F(database_test, listing_with_a_scan_limit_still_finds_everything) {
  std::vector<std::string> tagged; // newest first
  for (int i = 0; i < 60; ++i) {
    auto s =
        make_sub(acc, "s" + std::to_string(i) + "@example.com", "", 1000 + i);
    if (i % 10 == 0) s.tags = {"rare"};
    upsert(s);
    if (i % 10 == 0) tagged.insert(tagged.begin(), s.id);
  }
  subscriber_filter f;
  f.tags = {"rare"};
  // Only 7 records looked at per call: pages may be short (or empty) but carry
  // on.
  auto page = db->subscribers(acc, f, "", 50, 7);
  ASSERT_TRUE(page);
  EXPECT_LE(page->items.size(), 1u);
  EXPECT_FALSE(page->next_cursor.empty());
  size_t pages = 0;
  EXPECT_EQ(list_all(acc, f, 50, &pages, 7), tagged);
  EXPECT_GT(pages, 1u);
}

TEST_F(database_test, malformed_cursor_is_rejected) {
  upsert(make_sub(acc, "a@example.com"));
  EXPECT_FALSE(db->subscribers(acc, {}, "x", 10));
  EXPECT_FALSE(db->subscribers(acc, {}, "short cursor", 10));
  EXPECT_FALSE(db->subscribers(acc, {}, std::string(200, 'z'), 10));
  EXPECT_TRUE(db->subscribers(acc, {}, "", 10));
}

TEST_F(database_test, empty_account_lists_nothing) {
  auto page = db->subscribers(acc, {}, "", 10);
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->items.empty());
  EXPECT_TRUE(page->next_cursor.empty());
  EXPECT_EQ(db->subscriber_count(acc), 0u);
  EXPECT_TRUE(export_all(acc, {}, 10).empty());
}

TEST_F(database_test, filters) {
  auto a = make_sub(acc, "alice@example.com", "+15551110000", 1000);
  a.first_name = "Alice";
  a.last_name = "Smith";
  a.tags = {"news", "vip"};
  a.campaign_ids = {"cmp_1"};
  auto b = make_sub(acc, "bob@example.org", "", 1001);
  b.name = "Bobby Tables";
  b.tags = {"news"};
  b.campaign_ids = {"cmp_1", "cmp_2"};
  auto c = make_sub(acc, "", "+4915112345678", 1002);
  c.last_name = "MÜLLER";
  c.campaign_ids = {"cmp_2"};
  for (auto* s : {&a, &b, &c})
    upsert(*s);

  auto ids = [&](subscriber_filter f) { return list_all(acc, f, 10); };
  using v = std::vector<std::string>;
  EXPECT_EQ(ids({}), (v{c.id, b.id, a.id}));
  EXPECT_EQ(ids({"cmp_1", {}, {}}), (v{b.id, a.id}));
  EXPECT_EQ(ids({"cmp_2", {}, {}}), (v{c.id, b.id}));
  EXPECT_EQ(ids({"cmp_3", {}, {}}), v{});
  EXPECT_EQ(ids({"", {"vip"}, {}}), v{a.id});
  EXPECT_EQ(ids({"", {"vip", "news"}, {}}), (v{b.id, a.id})); // any of
  EXPECT_EQ(ids({"", {"nope", "vip"}, {}}), v{a.id});
  EXPECT_EQ(ids({"", {"nope"}, {}}), v{});
  // q: case-insensitive substring of email, phone or names.
  EXPECT_EQ(ids({"", {}, "ALICE"}), v{a.id});       // email and first name
  EXPECT_EQ(ids({"", {}, "smi"}), v{a.id});         // last name
  EXPECT_EQ(ids({"", {}, "tables"}), v{b.id});      // name
  EXPECT_EQ(ids({"", {}, "EXAMPLE.ORG"}), v{b.id}); // email
  EXPECT_EQ(ids({"", {}, "example"}), (v{b.id, a.id}));
  EXPECT_EQ(ids({"", {}, "+49151"}), v{c.id}); // phone
  EXPECT_EQ(ids({"", {}, "1110"}), v{a.id});
  EXPECT_EQ(ids({"", {}, "MÜLLER"}), v{c.id}); // exact bytes match
  EXPECT_EQ(ids({"", {}, "zzz"}), v{});
  // Combined filters must all hold.
  EXPECT_EQ(ids({"cmp_1", {"news"}, "bob"}), v{b.id});
  EXPECT_EQ(ids({"cmp_2", {"vip"}, {}}), v{});
  // The filter on its own.
  subscriber_filter f{"", {}, "ALI"};
  EXPECT_TRUE(f.matches(a));
  EXPECT_FALSE(f.matches(b));
  // Exports apply the same filter.
  EXPECT_EQ(export_all(acc, {"cmp_1", {}, {}}, 10), (v{a.id, b.id}));
}

TEST_F(database_test, export_pages_oldest_first_and_resumes) {
  std::vector<std::string> expected; // oldest first
  ASSERT_TRUE(change([&](lmdb::txn& t) {
    for (int i = 0; i < 120; ++i) {
      auto s =
          make_sub(acc, "e" + std::to_string(i) + "@example.com", "", 5000 + i);
      expected.push_back(s.id);
      subscriber stored;
      bool created = false;
      if (auto r = db->upsert_subscriber(t, s, stored, created); !r) return r;
    }
    return outcome{};
  }));
  upsert(make_sub("acc_zzzzzzzzzzzzzzzzzzzz", "other@example.com", "", 1));
  upsert(make_sub("acc_00000000000000000000", "other@example.com", "", 9999));

  std::vector<std::string> got;
  auto row = [&](const subscriber& s) { got.push_back(s.id); };
  auto after = db->export_page(acc, {}, "", 50, row);
  EXPECT_EQ(got.size(), 50u);
  ASSERT_FALSE(after.empty());
  after = db->export_page(acc, {}, after, 50, row);
  EXPECT_EQ(got.size(), 100u);
  ASSERT_FALSE(after.empty());
  after = db->export_page(acc, {}, after, 50, row);
  EXPECT_EQ(got.size(), 120u);
  EXPECT_TRUE(after.empty());
  EXPECT_EQ(got, expected);
  for (size_t limit : {1u, 30u, 119u, 120u, 1000u})
    EXPECT_EQ(export_all(acc, {}, limit), expected) << limit;
}

TEST_F(database_test, accounts_never_mix) {
  auto other = crypto::random_id("acc_");
  std::vector<std::string> mine, theirs; // oldest first
  for (int i = 0; i < 30; ++i) {
    // Same emails in both accounts, interleaved times.
    auto m = make_sub(acc, "p" + std::to_string(i) + "@example.com", "",
                      1000 + 2 * i);
    auto t = make_sub(other, "p" + std::to_string(i) + "@example.com", "",
                      1001 + 2 * i);
    bool created = false;
    upsert(m, created);
    EXPECT_TRUE(created);
    upsert(t, created);
    EXPECT_TRUE(created)
        << "same email in another account is another subscriber";
    mine.push_back(m.id);
    theirs.push_back(t.id);
  }
  EXPECT_EQ(db->subscriber_count(acc), 30u);
  EXPECT_EQ(db->subscriber_count(other), 30u);
  EXPECT_EQ(export_all(acc, {}, 7), mine);
  EXPECT_EQ(export_all(other, {}, 7), theirs);
  auto newest_first = [](std::vector<std::string> v) {
    std::reverse(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(list_all(acc, {}, 7), newest_first(mine));
  EXPECT_EQ(list_all(other, {}, 7), newest_first(theirs));
  EXPECT_FALSE(db->subscriber_by_id(acc, theirs[0]));
  EXPECT_FALSE(db->subscriber_by_id(other, mine[0]));
  // A cursor from one account used in the other never yields the first
  // account's rows.
  auto p = db->subscribers(other, {}, "", 5);
  ASSERT_TRUE(p);
  auto cross = db->subscribers(acc, {}, p->next_cursor, 100);
  ASSERT_TRUE(cross);
  for (auto& s : cross->items)
    EXPECT_EQ(s.account_id, acc);
  size_t rows = 0;
  auto after = db->export_page(other, {}, "", 3, [&](const subscriber&) {});
  db->export_page(acc, {}, after, 100, [&](const subscriber& s) {
    EXPECT_EQ(s.account_id, acc);
    ++rows;
  });
  EXPECT_LE(rows, 30u);
  // Changes need the right account too.
  EXPECT_EQ(modify(other, mine[0], [](subscriber&) { return outcome{}; }).code,
            outcome::not_found);
}

} // namespace

TEST_F(database_test, webhook_outbox_keeps_a_pending_index) {
  const std::string acc = "acc_" + std::string(crypto::id_random_chars, 'w');
  webhook_endpoint w;
  w.account_id = acc;
  w.url = "https://example.com/hook";
  w.events = {"subscriber.created"};
  ASSERT_TRUE(change([&](lmdb::txn& t) {
    EXPECT_FALSE(db->webhook_wants(t, acc, "subscriber.created"));
    return db->put_webhook(t, w);
  }));
  auto make = [&](int64_t at) {
    webhook_delivery d;
    d.id = crypto::random_id("dlv_");
    d.account_id = acc;
    d.message_id = crypto::random_id("msg_");
    d.type = "subscriber.created";
    d.created_at = at;
    return d;
  };
  auto older = make(100), newer = make(200);
  ASSERT_TRUE(change([&](lmdb::txn& t) {
    EXPECT_TRUE(db->webhook_wants(t, acc, "subscriber.created"));
    EXPECT_FALSE(db->webhook_wants(t, acc, "subscriber.deleted"));
    EXPECT_FALSE(db->webhook_wants(t, "acc_other", "subscriber.created"));
    db->put_delivery(t, newer);
    return db->put_delivery(t, older);
  }));
  auto pending_ids = [&] {
    std::vector<std::string> ids;
    db->visit_pending(acc, [&](webhook_delivery& d) {
      ids.push_back(d.id);
      return true;
    });
    return ids;
  };
  EXPECT_EQ(pending_ids(), (std::vector<std::string>{older.id, newer.id}));
  EXPECT_EQ(db->pending_accounts(), std::vector<std::string>{acc});
  // Another account's delivery: listed once, and not visited for `acc`.
  auto elsewhere = make(150), elsewhere_too = make(160);
  elsewhere.account_id = elsewhere_too.account_id =
      "acc_" + std::string(crypto::id_random_chars, 'x');
  ASSERT_TRUE(change([&](lmdb::txn& t) {
    db->put_delivery(t, elsewhere);
    return db->put_delivery(t, elsewhere_too);
  }));
  EXPECT_EQ(db->pending_accounts(),
            (std::vector<std::string>{acc, elsewhere.account_id}));
  EXPECT_EQ(pending_ids(), (std::vector<std::string>{older.id, newer.id}));
  // One at a time, oldest first, stopping when asked.
  std::vector<std::string> visited;
  db->visit_pending(acc, [&](webhook_delivery& d) {
    visited.push_back(d.id);
    return false;
  });
  EXPECT_EQ(visited, (std::vector<std::string>{older.id}));
  visited.clear();
  db->visit_pending(
      acc,
      [&](webhook_delivery& d) {
        visited.push_back(d.id);
        return true;
      },
      1);
  EXPECT_EQ(visited.size(), 1u);
  db->visit_pending("acc_zzzz", [&](webhook_delivery&) {
    ADD_FAILURE() << "another account's delivery";
    return true;
  });
  // Delivered: out of the index, still in the log (newest first).
  older.status = "delivered";
  ASSERT_TRUE(change([&](lmdb::txn& t) { return db->put_delivery(t, older); }));
  EXPECT_EQ(pending_ids(), std::vector<std::string>{newer.id});
  auto log = db->deliveries(acc, "", "", 10);
  ASSERT_TRUE(log.has_value());
  ASSERT_EQ(log->items.size(), 2u);
  EXPECT_EQ(log->items[0].id, newer.id);
  EXPECT_EQ(db->deliveries(acc, "delivered", "", 10)->items.size(), 1u);
  EXPECT_EQ(db->delivery_by_id(acc, older.id)->status, "delivered");
  EXPECT_FALSE(db->delivery_by_id("acc_other", older.id).has_value());
  // Removing the webhook fails what still waited.
  ASSERT_TRUE(change([&](lmdb::txn& t) { return db->delete_webhook(t, acc); }));
  EXPECT_TRUE(pending_ids().empty());
  EXPECT_EQ(db->pending_accounts(),
            std::vector<std::string>{elsewhere.account_id});
  EXPECT_EQ(db->delivery_by_id(acc, newer.id)->status, "failed");
  EXPECT_FALSE(db->webhook_of(acc).has_value());
  EXPECT_EQ(
      change([&](lmdb::txn& t) { return db->delete_webhook(t, acc); }).code,
      outcome::not_found);
}

namespace {

using namespace ls;
using namespace ls::store;

class oauth_states : public ::testing::Test {
protected:
  void SetUp() override {
    crypto::init();
    dir = std::make_unique<test::temp_dir>();
    db = std::make_unique<database>(dir->sub("db"), 64 << 20);
  }
  outcome change(const std::function<outcome(lmdb::txn&)>& fn) {
    auto t = lmdb::txn::write(db->env());
    auto r = fn(t);
    if (r) t.commit();
    return r;
  }
  std::unique_ptr<test::temp_dir> dir;
  std::unique_ptr<database> db;
};

} // namespace

// Expired states go oldest first, a few per call, through the expiry index:
// a connect costs the same however many states there are.
TEST_F(oauth_states, purge_takes_the_oldest_expired_few_at_a_time) {
  constexpr int64_t day = int64_t{24} * 3600 * 1000000;
  const int64_t now = 10 * day;
  std::vector<std::string> old_hashes, fresh_hashes;
  ASSERT_TRUE(change([&](lmdb::txn& t) {
    for (int i = 0; i < 40; ++i) {
      oauth_state s;
      s.account_id = "acc_x";
      s.expires_at = now - 2 * day + i; // expired more than a day ago
      old_hashes.push_back(crypto::sha256("old" + std::to_string(i)));
      db->put_oauth_state(t, old_hashes.back(), s);
    }
    for (int i = 0; i < 5; ++i) {
      oauth_state s;
      s.account_id = "acc_x";
      s.expires_at = now + i; // still valid
      fresh_hashes.push_back(crypto::sha256("fresh" + std::to_string(i)));
      db->put_oauth_state(t, fresh_hashes.back(), s);
    }
    return outcome{};
  }));
  ASSERT_TRUE(change([&](lmdb::txn& t) {
    db->purge_oauth_states(t, now, 16);
    return outcome{};
  }));
  for (int i = 0; i < 40; ++i)
    EXPECT_EQ(db->oauth_state_by_hash(old_hashes[i]).has_value(), i >= 16) << i;
  for (int round = 0; round < 3; ++round)
    ASSERT_TRUE(change([&](lmdb::txn& t) {
      db->purge_oauth_states(t, now, 16);
      return outcome{};
    }));
  for (auto& h : old_hashes)
    EXPECT_FALSE(db->oauth_state_by_hash(h));
  for (auto& h : fresh_hashes)
    EXPECT_TRUE(db->oauth_state_by_hash(h));
}
