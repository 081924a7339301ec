#include "metrics/http_exposer.h"

#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace imgproc {
namespace {

enum MHD_Result Reply(MHD_Connection* connection, unsigned status, const std::string& body) {
  MHD_Response* response =
      MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
  const enum MHD_Result queued = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return queued;
}

// Called by libmicrohttpd once the request line and headers are in (a GET has no body to wait for).
enum MHD_Result HandleRequest(void* registry, MHD_Connection* connection, const char* url, const char* method,
                              const char*, const char*, size_t* upload_data_size, void**) {
  if (*upload_data_size != 0) {  // a body we do not read: drop it and answer once it is over
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (std::strcmp(url, "/metrics") != 0)
    return Reply(connection, MHD_HTTP_NOT_FOUND, "only GET /metrics is served here\n");
  if (std::strcmp(method, MHD_HTTP_METHOD_GET) != 0 && std::strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
    return Reply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics is served here\n");
  }
  auto* r = static_cast<prometheus::Registry*>(registry);
  return Reply(connection, MHD_HTTP_OK, prometheus::TextSerializer().Serialize(r->Collect()));
}

// The listening socket is made here rather than by libmicrohttpd, so that "host:port" means what it means for
// the gRPC port (names, IPv6 in brackets, port 0) and the port the kernel picked can be read back.
absl::StatusOr<int> Listen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos)
    return absl::InvalidArgumentError(absl::StrCat("metrics address '", listen, "' needs host:port"));
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);  // [::]
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat("metrics address '", listen, "': ", gai_strerror(rc)));
  }
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
    const std::string why = std::strerror(errno);
    freeaddrinfo(found);
    if (fd >= 0) close(fd);
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", listen, ": ", why));
  }
  freeaddrinfo(found);
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  return ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& listen, std::shared_ptr<prometheus::Registry> registry, MetricsHttpLimits limits) {
  absl::StatusOr<int> fd = Listen(listen);
  if (!fd.ok()) return fd.status();
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer(BoundPort(*fd), std::move(registry)));
  // Epoll (or poll) in a pool of threads: a connection costs a thread only while its request is answered.
  // MHD_USE_TURBO is left out on purpose: it would skip the checks of a client that shuts its side early.
  server->daemon_ = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC, 0, nullptr, nullptr, &HandleRequest,
                                     server->registry_.get(), MHD_OPTION_LISTEN_SOCKET, *fd,
                                     MHD_OPTION_THREAD_POOL_SIZE, static_cast<unsigned>(limits.threads),
                                     MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned>(limits.max_connections),
                                     MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(limits.idle_timeout_seconds),
                                     MHD_OPTION_CONNECTION_MEMORY_LIMIT, limits.max_request_bytes, MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    close(*fd);
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", listen, ": libmicrohttpd did not start"));
  }
  return server;
}

MetricsHttpServer::~MetricsHttpServer() {
  if (daemon_ == nullptr) return;
  // Quiescing hands the listening socket back (MHD_USE_ITC makes that possible in every thread mode), so that it
  // is closed exactly once, here.
  const MHD_socket listening = MHD_quiesce_daemon(daemon_);
  MHD_stop_daemon(daemon_);
  if (listening != MHD_INVALID_SOCKET) close(listening);
}

}  // namespace imgproc
