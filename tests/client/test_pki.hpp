// Test-time PKI with the OpenSSL 3 C API: a CA, server certificates signed by
// it, and the SSL_CTX a TLS test server uses.
#pragma once

#include <memory>
#include <openssl/types.h>
#include <string>
#include <vector>

namespace ls::http::test {

struct key_deleter {
  void operator()(EVP_PKEY* k) const;
};
struct cert_deleter {
  void operator()(X509* c) const;
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_deleter>;
using cert_ptr = std::unique_ptr<X509, cert_deleter>;

struct identity {
  key_ptr key;
  cert_ptr cert;
};

/// A self-signed CA (P-256, valid from an hour ago for a day).
identity make_ca(const std::string& common_name);

/// A server certificate signed by `ca` for the given DNS names and IP
/// addresses (subjectAltName), with extendedKeyUsage serverAuth.
identity issue_server(const identity& ca, const std::vector<std::string>& dns,
                      const std::vector<std::string>& ips);

/// A temporary PEM file holding `cert`; removed by the destructor.
class pem_file {
public:
  explicit pem_file(X509* cert);
  ~pem_file();
  pem_file(const pem_file&) = delete;
  pem_file& operator=(const pem_file&) = delete;
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

/// A server SSL_CTX presenting `id`; the caller owns the reference.
SSL_CTX* server_context(const identity& id);

} // namespace ls::http::test
