#include "storage/crypto.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sodium.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace ls::crypto {

void init() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium failed to initialise");
}

std::string random_id(std::string_view prefix) {
  static constexpr char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out{prefix};
  out.reserve(prefix.size() + id_random_chars);
  for (size_t i = 0; i < id_random_chars; ++i)
    out.push_back(alphabet[randombytes_uniform(36)]);
  return out;
}

namespace {

std::string to_base64(std::string_view bytes, int variant) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(),
                    reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::optional<std::string> from_base64(std::string_view text, int variant) {
  std::string out(text.size(), '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()),
                        out.size(), text.data(), text.size(), nullptr, &len,
                        &end, variant) != 0 ||
      end != text.data() + text.size())
    return std::nullopt;
  out.resize(len);
  return out;
}

} // namespace

std::string base64url(std::string_view bytes) {
  return to_base64(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

std::optional<std::string> from_base64url(std::string_view text) {
  return from_base64(text, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

std::string base64(std::string_view bytes) {
  return to_base64(bytes, sodium_base64_VARIANT_ORIGINAL);
}

std::optional<std::string> from_base64(std::string_view text) {
  return from_base64(text, sodium_base64_VARIANT_ORIGINAL);
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(
      &st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(
      &st, reinterpret_cast<const unsigned char*>(message.data()),
      message.size());
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&st,
                               reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string random_token(size_t bytes) {
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  return base64url(raw);
}

std::string sha256(std::string_view data) {
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()),
                     reinterpret_cast<const unsigned char*>(data.data()),
                     data.size());
  return out;
}

std::string hash_password(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("password hashing ran out of memory");
  return out;
}

bool verify_password(std::string_view encoded_hash, std::string_view password) {
  std::string h{encoded_hash}; // needs a NUL-terminated string
  return crypto_pwhash_str_verify(h.c_str(), password.data(),
                                  password.size()) == 0;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

secret_key load_or_create_key(const std::string& path) {
  secret_key key;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    std::error_code ec;
    auto parent = std::filesystem::path{path}.parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    crypto_secretbox_keygen(key.data());
    auto tmp = path + ".tmp";
    int w = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w < 0)
      throw std::runtime_error("cannot create " + tmp + ": " +
                               std::strerror(errno));
    bool ok = ::write(w, key.data(), key.size()) ==
                  static_cast<ssize_t>(key.size()) &&
              ::fsync(w) == 0;
    ::close(w);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
      throw std::runtime_error("cannot write " + path + ": " +
                               std::strerror(errno));
    return key;
  }
  if (fd < 0)
    throw std::runtime_error("cannot read " + path + ": " +
                             std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) == 0 && (st.st_mode & 077) != 0) {
    ::close(fd);
    throw std::runtime_error(path + ": secret key file must not be readable by "
                                    "group or others (chmod 600)");
  }
  auto n = ::read(fd, key.data(), key.size());
  char extra;
  auto more = ::read(fd, &extra, 1);
  ::close(fd);
  if (n != static_cast<ssize_t>(key.size()) || more != 0)
    throw std::runtime_error(path +
                             ": secret key file must hold exactly 32 bytes");
  return key;
}

std::string seal(const secret_key& key, std::string_view plaintext) {
  std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                      plaintext.size(),
                  '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(
      nonce + crypto_secretbox_NONCEBYTES,
      reinterpret_cast<const unsigned char*>(plaintext.data()),
      plaintext.size(), nonce, key.data());
  return out;
}

std::optional<std::string> open(const secret_key& key,
                                std::string_view sealed) {
  if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    return std::nullopt;
  auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
  auto body = sealed.substr(crypto_secretbox_NONCEBYTES);
  std::string out(body.size() - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(
          reinterpret_cast<unsigned char*>(out.data()),
          reinterpret_cast<const unsigned char*>(body.data()), body.size(),
          nonce, key.data()) != 0)
    return std::nullopt;
  return out;
}

} // namespace ls::crypto
