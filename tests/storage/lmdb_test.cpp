// The RAII LMDB wrapper: basic operations, cursors, nested transactions,
// isolation and a full map.
#include "storage/lmdb.hpp"
#include "storage/test_temp_dir.hpp"

#include <gtest/gtest.h>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace ls;

class lmdb_test : public ::testing::Test {
protected:
  void SetUp() override {
    dir = std::make_unique<test::temp_dir>();
    env = std::make_unique<lmdb::env>(dir->path().string(), 16 << 20, 4);
    auto t = lmdb::txn::write(*env);
    db = t.open("kv");
    t.commit();
  }
  void TearDown() override {
    env.reset();
    dir.reset();
  }

  /// The committed value of `key`, read in a fresh read transaction.
  std::optional<std::string> committed(std::string_view key) {
    auto t = lmdb::txn::read(*env);
    auto v = t.get(db, key);
    if (!v) return std::nullopt;
    return std::string{*v};
  }

  void put_committed(std::string_view key, std::string_view value) {
    auto t = lmdb::txn::write(*env);
    t.put(db, key, value);
    t.commit();
  }

  std::unique_ptr<test::temp_dir> dir;
  std::unique_ptr<lmdb::env> env;
  lmdb::dbi db{};
};

TEST_F(lmdb_test, put_get_del) {
  {
    auto t = lmdb::txn::write(*env);
    EXPECT_FALSE(t.get(db, "k"));
    t.put(db, "k", "v1");
    ASSERT_TRUE(t.get(db, "k"));
    EXPECT_EQ(*t.get(db, "k"), "v1");
    t.put(db, "k", "v2"); // overwrite
    EXPECT_EQ(*t.get(db, "k"), "v2");
    t.put(db, "empty", "");
    t.put(db, std::string_view{"nul\0key", 7}, std::string_view{"a\0b", 3});
    t.commit();
  }
  EXPECT_EQ(committed("k"), "v2");
  EXPECT_EQ(committed("empty"), "");
  EXPECT_EQ(committed(std::string_view{"nul\0key", 7}), std::string("a\0b", 3));
  EXPECT_FALSE(committed("nul"));
  {
    auto t = lmdb::txn::write(*env);
    EXPECT_TRUE(t.del(db, "k"));
    EXPECT_FALSE(t.del(db, "k")); // already gone
    EXPECT_FALSE(t.del(db, "never"));
    EXPECT_FALSE(t.get(db, "k"));
    t.commit();
  }
  EXPECT_FALSE(committed("k"));
  EXPECT_EQ(committed("empty"), "");
}

TEST_F(lmdb_test, put_if_absent) {
  auto t = lmdb::txn::write(*env);
  EXPECT_TRUE(t.put_if_absent(db, "k", "first"));
  EXPECT_FALSE(t.put_if_absent(db, "k", "second"));
  EXPECT_EQ(*t.get(db, "k"), "first");
  t.commit();
  EXPECT_EQ(committed("k"), "first");
  auto t2 = lmdb::txn::write(*env);
  EXPECT_FALSE(t2.put_if_absent(db, "k", "third"));
  EXPECT_TRUE(t2.del(db, "k"));
  EXPECT_TRUE(t2.put_if_absent(db, "k", "fourth"));
  t2.commit();
  EXPECT_EQ(committed("k"), "fourth");
}

TEST_F(lmdb_test, cursor_moves) {
  for (auto k : {"c", "a", "e", "ab"})
    put_committed(k, std::string{"v-"} + k);
  auto t = lmdb::txn::read(*env);
  lmdb::cursor cur{t, db};
  ASSERT_TRUE(cur.first());
  EXPECT_EQ(cur.key(), "a");
  EXPECT_EQ(cur.value(), "v-a");
  ASSERT_TRUE(cur.next());
  EXPECT_EQ(cur.key(), "ab");
  ASSERT_TRUE(cur.next());
  EXPECT_EQ(cur.key(), "c");
  ASSERT_TRUE(cur.next());
  EXPECT_EQ(cur.key(), "e");
  EXPECT_FALSE(cur.next()); // past the end

  ASSERT_TRUE(cur.last());
  EXPECT_EQ(cur.key(), "e");
  EXPECT_EQ(cur.value(), "v-e");
  ASSERT_TRUE(cur.prev());
  EXPECT_EQ(cur.key(), "c");

  ASSERT_TRUE(cur.seek("b")); // first key >= "b"
  EXPECT_EQ(cur.key(), "c");
  ASSERT_TRUE(cur.seek("c")); // exact
  EXPECT_EQ(cur.key(), "c");
  EXPECT_EQ(cur.value(), "v-c");
  ASSERT_TRUE(cur.seek(""));
  EXPECT_EQ(cur.key(), "a");
  ASSERT_TRUE(cur.seek("a"));
  EXPECT_FALSE(cur.prev()); // before the start
  EXPECT_FALSE(cur.seek("f"));
  // After a failed seek, last() still positions the cursor.
  ASSERT_TRUE(cur.last());
  EXPECT_EQ(cur.key(), "e");
}

TEST_F(lmdb_test, keys_lmdb_cannot_store_are_absent) {
  put_committed("a", "1");
  const std::string too_long(mdb_env_get_maxkeysize(env->handle()) + 1, 'k');
  auto t = lmdb::txn::write(*env);
  EXPECT_FALSE(t.get(db, ""));
  EXPECT_FALSE(t.get(db, too_long));
  EXPECT_FALSE(t.del(db, ""));
  EXPECT_FALSE(t.del(db, too_long));
  // Writing one is still an error.
  try {
    t.put(db, too_long, "v");
    FAIL() << "an over-long key must be refused";
  } catch (const lmdb::error& e) {
    EXPECT_EQ(e.code(), MDB_BAD_VALSIZE);
  }
}

TEST_F(lmdb_test, cursor_on_empty_database) {
  auto t = lmdb::txn::read(*env);
  lmdb::cursor cur{t, db};
  EXPECT_FALSE(cur.first());
  EXPECT_FALSE(cur.last());
  EXPECT_FALSE(cur.seek("a"));
}

TEST_F(lmdb_test, cursor_in_write_txn_sees_uncommitted) {
  put_committed("a", "1");
  auto t = lmdb::txn::write(*env);
  t.put(db, "b", "2");
  {
    lmdb::cursor cur{t, db};
    std::vector<std::string> keys;
    for (bool ok = cur.first(); ok; ok = cur.next())
      keys.emplace_back(cur.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"a", "b"}));
  } // closed before the commit
  t.commit();
  EXPECT_EQ(committed("b"), "2");
}

TEST_F(lmdb_test, nested_abort_discards_and_commit_keeps) {
  auto parent = lmdb::txn::write(*env);
  parent.put(db, "p", "parent");
  {
    auto child = lmdb::txn::nested(*env, parent);
    EXPECT_EQ(*child.get(db, "p"),
              "parent"); // the child sees the parent's changes
    child.put(db, "dropped", "x");
    child.put(db, "p", "changed by the aborted child");
    child.abort();
  }
  EXPECT_FALSE(parent.get(db, "dropped"));
  EXPECT_EQ(*parent.get(db, "p"), "parent");
  {
    auto child = lmdb::txn::nested(*env, parent);
    child.put(db, "kept", "y");
    child.commit();
  }
  EXPECT_EQ(*parent.get(db, "kept"), "y");
  {
    auto child = lmdb::txn::nested(*env, parent);
    child.put(db, "destroyed", "z");
  } // the destructor aborts
  EXPECT_FALSE(parent.get(db, "destroyed"));
  // Nothing is visible outside before the parent commits.
  EXPECT_FALSE(committed("p"));
  EXPECT_FALSE(committed("kept"));
  parent.commit();
  EXPECT_EQ(committed("p"), "parent");
  EXPECT_EQ(committed("kept"), "y");
  EXPECT_FALSE(committed("dropped"));
  EXPECT_FALSE(committed("destroyed"));
}

TEST_F(lmdb_test, committed_child_is_lost_when_parent_aborts) {
  {
    auto parent = lmdb::txn::write(*env);
    auto child = lmdb::txn::nested(*env, parent);
    child.put(db, "k", "v");
    child.commit();
    parent.abort();
  }
  EXPECT_FALSE(committed("k"));
}

TEST_F(lmdb_test, destructor_aborts_write) {
  {
    auto t = lmdb::txn::write(*env);
    t.put(db, "k", "v");
  }
  EXPECT_FALSE(committed("k"));
  // The writer lock was released: a new write transaction can start and commit.
  put_committed("k", "w");
  EXPECT_EQ(committed("k"), "w");
}

TEST_F(lmdb_test, moved_from_txn_does_not_abort) {
  auto t = lmdb::txn::write(*env);
  t.put(db, "k", "v");
  auto moved = std::move(t);
  EXPECT_EQ(t.handle(), nullptr);
  moved.commit();
  EXPECT_EQ(committed("k"), "v");
}

TEST_F(lmdb_test, reads_see_committed_data_only) {
  put_committed("k", "old");
  auto before = lmdb::txn::read(*env); // a snapshot from before the write
  auto w = lmdb::txn::write(*env);
  w.put(db, "k", "new");
  w.put(db, "added", "1");
  {
    auto during = lmdb::txn::read(*env);
    EXPECT_EQ(*during.get(db, "k"), "old");
    EXPECT_FALSE(during.get(db, "added"));
  }
  w.commit();
  EXPECT_EQ(*before.get(db, "k"), "old"); // its snapshot is stable
  EXPECT_FALSE(before.get(db, "added"));
  EXPECT_EQ(committed("k"), "new");
  EXPECT_EQ(committed("added"), "1");
}

TEST_F(lmdb_test, errors_carry_the_code) {
  auto t = lmdb::txn::read(*env);
  try {
    t.put(db, "k", "v");
    FAIL() << "a put in a read-only transaction must throw";
  } catch (const lmdb::error& e) {
    EXPECT_EQ(e.code(), EACCES);
    EXPECT_FALSE(e.map_full());
    EXPECT_NE(std::string{e.what()}.find("lmdb put"), std::string::npos)
        << e.what();
  }
  lmdb::error full{"put", MDB_MAP_FULL};
  EXPECT_TRUE(full.map_full());
  EXPECT_EQ(full.code(), MDB_MAP_FULL);
}

TEST_F(lmdb_test, data_survives_reopening) {
  put_committed("k", "v");
  env.reset();
  env = std::make_unique<lmdb::env>(dir->path().string(), 16 << 20, 4);
  auto t = lmdb::txn::write(*env);
  db = t.open("kv", 0); // exists already: no MDB_CREATE needed
  t.commit();
  EXPECT_EQ(committed("k"), "v");
}

TEST_F(lmdb_test, opening_a_missing_database_without_create_fails) {
  auto t = lmdb::txn::write(*env);
  try {
    t.open("missing", 0);
    FAIL() << "expected MDB_NOTFOUND";
  } catch (const lmdb::error& e) {
    EXPECT_EQ(e.code(), MDB_NOTFOUND);
  }
}

TEST(lmdb_map, full_map_throws_and_growing_fixes_it) {
  test::temp_dir dir;
  lmdb::env env{dir.path().string(), 256 << 10, 2};
  lmdb::dbi db;
  {
    auto t = lmdb::txn::write(env);
    db = t.open("kv");
    t.commit();
  }
  const auto initial = env.map_size();
  EXPECT_EQ(initial, uint64_t{256} << 10);
  const std::string value(8000, 'x');
  auto write = [&](int i) {
    auto t = lmdb::txn::write(env);
    t.put(db, "key" + std::to_string(i), value);
    t.commit();
  };
  int i = 0;
  for (;; ++i) {
    ASSERT_LT(i, 200) << "256 KiB should fill up long before 1.6 MB";
    try {
      write(i);
    } catch (const lmdb::error& e) {
      ASSERT_TRUE(e.map_full()) << e.what();
      break;
    }
  }
  EXPECT_GT(i, 0);
  // Every earlier write is intact; the failed one left nothing.
  {
    auto t = lmdb::txn::read(env);
    EXPECT_TRUE(t.get(db, "key0"));
    EXPECT_FALSE(t.get(db, "key" + std::to_string(i)));
  }
  env.set_map_size(initial * 2);
  EXPECT_EQ(env.map_size(), initial * 2);
  EXPECT_NO_THROW(write(i));
  auto t = lmdb::txn::read(env);
  ASSERT_TRUE(t.get(db, "key" + std::to_string(i)));
  EXPECT_EQ(t.get(db, "key" + std::to_string(i))->size(), value.size());
}

TEST(lmdb_env, creates_missing_directories) {
  test::temp_dir dir;
  auto nested = dir.sub("a/b/c");
  lmdb::env env{nested, 1 << 20, 1};
  EXPECT_TRUE(std::filesystem::exists(nested + "/data.mdb"));
  env.sync();
}

} // namespace
