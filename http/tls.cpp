#include "http/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

namespace nodepack::http {

namespace ssl = boost::asio::ssl;

namespace {

// Reads a PEM file ourselves first, so "missing" and "not PEM" get plain words instead of an
// OpenSSL reason code.
Result<std::string> read_pem(const std::filesystem::path& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(std::string(what) + " " + path.string() + ": cannot read the file");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().find("-----BEGIN ") == std::string::npos) {
    return fail(std::string(what) + " " + path.string() + ": not a PEM file (no \"-----BEGIN\" line)");
  }
  return text.str();
}

std::string openssl_reason(const boost::system::error_code& ec) {
  // The context calls leave the reason on OpenSSL's queue too; it is in ec already.
  ERR_clear_error();
  return ec.message();
}

}  // namespace

Result<std::shared_ptr<ssl::context>> make_server_tls_context(const TlsFiles& files) {
  if (files.cert.empty() || files.key.empty()) {
    return fail("TLS needs both a certificate (--tls-cert) and a private key (--tls-key)");
  }
  auto cert = read_pem(files.cert, "TLS certificate");
  if (!cert) {
    return cert.error();
  }
  auto key = read_pem(files.key, "TLS private key");
  if (!key) {
    return key.error();
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  ctx->use_certificate_chain(boost::asio::buffer(*cert), ec);
  if (ec) {
    return fail("TLS certificate " + files.cert.string() + ": " + openssl_reason(ec));
  }
  ctx->use_private_key(boost::asio::buffer(*key), ssl::context::pem, ec);
  if (ec && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) != X509_R_KEY_VALUES_MISMATCH) {
    return fail("TLS private key " + files.key.string() + ": " + openssl_reason(ec));
  }
  if (ec || SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    return fail("TLS private key " + files.key.string() + " does not belong to the certificate " + files.cert.string());
  }
  if (!files.client_ca.empty()) {
    auto ca = read_pem(files.client_ca, "TLS client CA");
    if (!ca) {
      return ca.error();
    }
    ctx->add_certificate_authority(boost::asio::buffer(*ca), ec);
    if (ec) {
      return fail("TLS client CA " + files.client_ca.string() + ": " + openssl_reason(ec));
    }
    // Tells clients which CAs we accept, so they pick the right certificate.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str())) {
      SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
    }
    ERR_clear_error();
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    // Session resumption with client certificates needs an id context, or OpenSSL refuses to resume.
    static constexpr unsigned char session_context[] = "nodepack";
    SSL_CTX_set_session_id_context(ctx->native_handle(), session_context, sizeof session_context - 1);
  }
  return ctx;
}

}  // namespace nodepack::http
