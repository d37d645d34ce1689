// Secrets, ids and hashes, all on libsodium.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace ls::crypto {

/// Initialises libsodium once (thread-safe); throws if it cannot.
void init();

/// `prefix` + 20 random characters of [0-9a-z] (~103 bits): "acc_3k9…". Fixed
/// length, so keys that concatenate ids sort and split predictably.
std::string random_id(std::string_view prefix);
inline constexpr size_t id_random_chars = 20;

/// `bytes` random bytes as unpadded base64url (URL- and cookie-safe).
std::string random_token(size_t bytes = 32);

/// SHA-256 of `data`, raw 32 bytes. Tokens are stored and looked up by this
/// hash.
std::string sha256(std::string_view data);

/// argon2id (libsodium's interactive limits) in libsodium's encoded form. Slow
/// on purpose.
std::string hash_password(std::string_view password);
bool verify_password(std::string_view encoded_hash, std::string_view password);

bool equal_constant_time(std::string_view a, std::string_view b);

std::string base64url(std::string_view bytes);
std::optional<std::string> from_base64url(std::string_view text);
/// Standard base64 with padding (RFC 4648 §4), as Standard Webhooks uses.
std::string base64(std::string_view bytes);
std::optional<std::string> from_base64(std::string_view text);

/// HMAC-SHA-256 of `message` under `key` (any length), raw 32 bytes.
std::string hmac_sha256(std::string_view key, std::string_view message);

/// A 32-byte secretbox key read from `path`; created (mode 0600, parent folders
/// too) when absent. Throws std::runtime_error with the path on failure or a
/// malformed file.
using secret_key = std::array<unsigned char, 32>;
secret_key load_or_create_key(const std::string& path);

/// nonce || secretbox(plaintext); open() returns nullopt when tampered or the
/// key is wrong.
std::string seal(const secret_key& key, std::string_view plaintext);
std::optional<std::string> open(const secret_key& key, std::string_view sealed);

} // namespace ls::crypto
