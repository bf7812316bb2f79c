#pragma once

// The TLS side of http::Server: a server context from PEM files (--tls-cert, --tls-key), TLS 1.2 or
// later only, optionally requiring client certificates signed by a given CA.

#include "common/result.hpp"

#include <boost/asio/ssl/context.hpp>

#include <filesystem>
#include <memory>

namespace nodepack::http {

struct TlsFiles {
  std::filesystem::path cert;       // PEM: the server certificate, then any intermediates
  std::filesystem::path key;        // PEM: its private key (unencrypted)
  std::filesystem::path client_ca;  // PEM: when set, clients must present a certificate it signed
};

// Loads and checks the files (readable, PEM, key matches certificate). Errors name the file and
// what is wrong with it; meant for start-up.
Result<std::shared_ptr<boost::asio::ssl::context>> make_server_tls_context(const TlsFiles& files);

}  // namespace nodepack::http
