// ids, tokens, hashes, password hashing, secretbox and the key file.
#include "storage/crypto.hpp"
#include "storage/test_temp_dir.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <set>
#include <string>
#include <sys/stat.h>

namespace {

using namespace ls;

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

void write_file(const std::string& path, const std::string& bytes,
                mode_t mode) {
  {
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out << bytes;
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

class crypto_test : public ::testing::Test {
protected:
  void SetUp() override { crypto::init(); }
};

TEST_F(crypto_test, random_id_format) {
  auto id = crypto::random_id("acc_");
  ASSERT_EQ(id.size(), 4 + crypto::id_random_chars);
  EXPECT_EQ(id.substr(0, 4), "acc_");
  for (char c : id.substr(4))
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) << id;
  EXPECT_EQ(crypto::random_id("").size(), crypto::id_random_chars);
  EXPECT_EQ(crypto::random_id("subscriber_").size(),
            11 + crypto::id_random_chars);
}

TEST_F(crypto_test, random_ids_are_unique_and_use_the_whole_alphabet) {
  std::set<std::string> ids;
  std::set<char> seen;
  for (int i = 0; i < 2000; ++i) {
    auto id = crypto::random_id("sub_");
    ids.insert(id);
    seen.insert(id.begin() + 4, id.end());
  }
  EXPECT_EQ(ids.size(), 2000u);
  EXPECT_EQ(seen.size(), 36u); // 40,000 draws over 36 symbols
}

TEST_F(crypto_test, random_token_is_base64url) {
  std::set<std::string> tokens;
  for (int i = 0; i < 200; ++i) {
    auto t = crypto::random_token();
    EXPECT_EQ(t.size(), 43u); // 32 bytes, unpadded
    for (char c : t)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                  c == '_')
          << t;
    auto raw = crypto::from_base64url(t);
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->size(), 32u);
    EXPECT_EQ(crypto::base64url(*raw), t);
    tokens.insert(t);
  }
  EXPECT_EQ(tokens.size(), 200u);
  EXPECT_EQ(crypto::random_token(16).size(), 22u);
  EXPECT_EQ(crypto::random_token(0), "");
}

TEST_F(crypto_test, base64url_round_trip_and_known_vectors) {
  EXPECT_EQ(crypto::base64url(""), "");
  EXPECT_EQ(crypto::base64url("f"), "Zg");
  EXPECT_EQ(crypto::base64url("fo"), "Zm8");
  EXPECT_EQ(crypto::base64url("foo"), "Zm9v");
  EXPECT_EQ(crypto::base64url("foob"), "Zm9vYg");
  EXPECT_EQ(crypto::base64url("\xfb\xff"),
            "-_8"); // '+' and '/' in standard base64
  std::string all;
  for (int i = 0; i < 256; ++i)
    all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); n += 17) {
    auto part = all.substr(0, n);
    auto back = crypto::from_base64url(crypto::base64url(part));
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, part) << n;
  }
  auto back = crypto::from_base64url(crypto::base64url(all));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, all);
}

TEST_F(crypto_test, from_base64url_rejects_invalid_text) {
  EXPECT_FALSE(crypto::from_base64url("Zm9v!"));
  EXPECT_FALSE(crypto::from_base64url("Zg==")); // padding is not URL-safe form
  EXPECT_FALSE(crypto::from_base64url("+/8"));  // standard alphabet
  EXPECT_FALSE(crypto::from_base64url("Z"));    // impossible length
  EXPECT_FALSE(crypto::from_base64url("Zm9v Zg")); // whitespace
  ASSERT_TRUE(crypto::from_base64url(""));
  EXPECT_EQ(*crypto::from_base64url(""), "");
}

TEST_F(crypto_test, sha256_known_vectors) {
  EXPECT_EQ(hex(crypto::sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(crypto::sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(crypto::sha256("x").size(), 32u);
  EXPECT_NE(crypto::sha256("a"), crypto::sha256("b"));
}

TEST_F(crypto_test, password_hash_and_verify) {
  auto h = crypto::hash_password("correct horse ✓");
  EXPECT_EQ(h.rfind("$argon2id$", 0), 0u) << h;
  EXPECT_TRUE(crypto::verify_password(h, "correct horse ✓"));
  EXPECT_FALSE(crypto::verify_password(h, "correct horse"));
  EXPECT_FALSE(crypto::verify_password("not a hash", "correct horse ✓"));
  EXPECT_FALSE(crypto::verify_password("", ""));
}

TEST_F(crypto_test, equal_constant_time) {
  EXPECT_TRUE(crypto::equal_constant_time("", ""));
  EXPECT_TRUE(crypto::equal_constant_time("abc", "abc"));
  EXPECT_FALSE(crypto::equal_constant_time("abc", "abd"));
  EXPECT_FALSE(crypto::equal_constant_time("abc", "abcd"));
  EXPECT_FALSE(crypto::equal_constant_time("abc", ""));
}

crypto::secret_key make_key(unsigned char seed) {
  crypto::secret_key k;
  for (size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<unsigned char>(seed + i);
  return k;
}

TEST_F(crypto_test, seal_open_round_trip) {
  auto key = make_key(1);
  for (std::string plain :
       {std::string{}, std::string{"hello"}, std::string("bin\0ary", 7),
        std::string(5000, 'z')}) {
    auto sealed = crypto::seal(key, plain);
    EXPECT_EQ(sealed.size(), 24 + 16 + plain.size());
    auto opened = crypto::open(key, sealed);
    ASSERT_TRUE(opened);
    EXPECT_EQ(*opened, plain);
  }
  // A fresh nonce each time.
  EXPECT_NE(crypto::seal(key, "same"), crypto::seal(key, "same"));
}

TEST_F(crypto_test, open_detects_tampering) {
  auto key = make_key(1);
  auto sealed = crypto::seal(key, "secret refresh token");
  for (size_t i = 0; i < sealed.size(); ++i) {
    auto bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(crypto::open(key, bad)) << "flipped byte " << i;
  }
  EXPECT_FALSE(crypto::open(key, sealed.substr(0, sealed.size() - 1)));
  EXPECT_FALSE(crypto::open(key, sealed + "x"));
  EXPECT_FALSE(crypto::open(key, ""));
  EXPECT_FALSE(
      crypto::open(key, std::string(39, '\0'))); // shorter than nonce + MAC
  EXPECT_FALSE(crypto::open(key, std::string(40, '\0')));
}

TEST_F(crypto_test, open_with_the_wrong_key_fails) {
  auto sealed = crypto::seal(make_key(1), "secret");
  EXPECT_FALSE(crypto::open(make_key(2), sealed));
  EXPECT_TRUE(crypto::open(make_key(1), sealed));
}

class key_file_test : public crypto_test {
protected:
  test::temp_dir dir;
};

TEST_F(key_file_test, creates_a_private_key_file_and_reads_it_back) {
  auto path = dir.sub("secrets/nested/master.key");
  auto key = crypto::load_or_create_key(path);
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(mode_of(path), 0600);
  auto bytes = read_file(path);
  ASSERT_EQ(bytes.size(), 32u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(key.data()), key.size()),
            bytes);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_EQ(crypto::load_or_create_key(path), key);
  EXPECT_EQ(read_file(path), bytes); // reading does not rewrite
  // Two different files get different keys.
  EXPECT_NE(crypto::load_or_create_key(dir.sub("other.key")), key);
}

TEST_F(key_file_test, reads_an_existing_key) {
  auto path = dir.sub("given.key");
  std::string bytes(32, '\0');
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<char>(0xA0 + i);
  write_file(path, bytes, 0600);
  auto key = crypto::load_or_create_key(path);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(key.data()), key.size()),
            bytes);
}

TEST_F(key_file_test, refuses_a_file_readable_by_others) {
  auto path = dir.sub("open.key");
  write_file(path, std::string(32, 'k'), 0644);
  try {
    crypto::load_or_create_key(path);
    FAIL() << "a 0644 key file must be refused";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("chmod 600"), std::string::npos) << what;
  }
  write_file(path, std::string(32, 'k'), 0640);
  EXPECT_THROW(crypto::load_or_create_key(path), std::runtime_error);
  EXPECT_EQ(read_file(path), std::string(32, 'k')); // never replaced
}

TEST_F(key_file_test, refuses_a_file_of_the_wrong_size) {
  for (size_t n : {0, 16, 31, 33, 64}) {
    auto path = dir.sub("size" + std::to_string(n) + ".key");
    write_file(path, std::string(n, 'k'), 0600);
    try {
      crypto::load_or_create_key(path);
      FAIL() << n << " bytes must be refused";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string{e.what()}.find("exactly 32 bytes"),
                std::string::npos)
          << e.what();
    }
    EXPECT_EQ(read_file(path).size(), n);
  }
}

TEST_F(key_file_test, unreadable_path_throws_with_the_path) {
  // A directory where the file should be: opening it for reading works but
  // read() fails, so ask for a file below a regular file instead, which cannot
  // exist.
  auto blocker = dir.sub("plain");
  write_file(blocker, "x", 0600);
  auto path = blocker + "/key";
  try {
    crypto::load_or_create_key(path);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string{e.what()}.find(blocker), std::string::npos)
        << e.what();
  }
}

TEST(crypto, hmac_sha256_matches_rfc_4231) {
  // Test case 2 of RFC 4231.
  auto mac = crypto::hmac_sha256("Jefe", "what do ya want for nothing?");
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : mac) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  EXPECT_EQ(out,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Keys longer than a block are hashed first (test case 6).
  EXPECT_EQ(crypto::hmac_sha256(std::string(131, '\xaa'),
                                "Test Using Larger Than Block-Size Key - "
                                "Hash Key First")
                .size(),
            32u);
}

TEST(crypto, base64_round_trips_and_refuses_garbage) {
  EXPECT_EQ(crypto::base64("hello"), "aGVsbG8=");
  EXPECT_EQ(crypto::from_base64("aGVsbG8="), "hello");
  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  EXPECT_EQ(crypto::from_base64(crypto::base64(all)), all);
  EXPECT_EQ(crypto::from_base64("aGVsbG8"), std::nullopt); // padding missing
  EXPECT_EQ(crypto::from_base64("a*b="), std::nullopt);
  EXPECT_EQ(crypto::from_base64url(crypto::base64url(all)), all);
}

} // namespace
