#include "metrics_scrape.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace imgproc {

absl::StatusOr<std::string> HttpGet(const std::string& hostport, const std::string& path, absl::Duration timeout) {
  const size_t colon = hostport.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat("a metrics address is host:port, got '", hostport, "'"));
  }
  std::string host = hostport.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);  // [::1]
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), hostport.substr(colon + 1).c_str(), &hints, &found); rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat(hostport, ": ", gai_strerror(rc)));
  }
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const timeval limit = absl::ToTimeval(timeout);  // Linux applies SO_SNDTIMEO to connect() too
  bool connected = false;
  if (fd >= 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    connected = connect(fd, found->ai_addr, found->ai_addrlen) == 0;
  }
  freeaddrinfo(found);
  std::string response;
  if (connected) {
    const std::string request =
        absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", hostport, "\r\nConnection: close\r\n\r\n");
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buffer[65536];
      ssize_t n;
      while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) response.append(buffer, static_cast<size_t>(n));
    }
  }
  if (fd >= 0) close(fd);
  if (!connected) return absl::UnavailableError(absl::StrCat("cannot connect to ", hostport));
  const size_t body = response.find("\r\n\r\n");
  const size_t status_end = response.find("\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || body == std::string::npos ||
      response.substr(0, status_end).find(" 200") == std::string::npos) {
    return absl::FailedPreconditionError(absl::StrCat("bad answer from http://", hostport, path, ": '",
                                                      response.substr(0, std::min<size_t>(status_end, 200)), "'"));
  }
  return response.substr(body + 4);
}

std::string SeriesKey(const std::string& name, const std::map<std::string, std::string>& labels) {
  if (labels.empty()) return name;
  std::string key = name + "{";
  bool first = true;
  for (const auto& [label, value] : labels) {
    absl::StrAppend(&key, first ? "" : ",", label, "=\"", value, "\"");
    first = false;
  }
  return key + "}";
}

std::map<std::string, Series> ParseExposition(const std::string& text) {
  std::map<std::string, Series> scrape;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    Series s;
    size_t i = line.find_first_of("{ \t");
    if (i == std::string::npos || i == 0) continue;
    s.name = line.substr(0, i);
    bool ok = true;
    if (line[i] == '{') {
      ++i;
      // Label values are quoted and may hold '}', ',', spaces and escapes, so they are read character by character.
      while (ok) {
        while (i < line.size() && (line[i] == ',' || line[i] == ' ')) ++i;
        if (i < line.size() && line[i] == '}') break;
        const size_t eq = line.find('=', i);
        ok = eq != std::string::npos && eq + 1 < line.size() && line[eq + 1] == '"';
        if (!ok) break;
        const std::string label = line.substr(i, eq - i);
        std::string value;
        for (i = eq + 2; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
        }
        ok = i < line.size();
        ++i;
        s.labels[label] = value;
      }
      ++i;  // past '}'
    }
    if (!ok || i >= line.size()) continue;
    const char* begin = line.c_str() + i;
    char* end = nullptr;
    s.value = std::strtod(begin, &end);  // also reads NaN, +Inf, -Inf
    if (end == begin) continue;
    std::string key = SeriesKey(s.name, s.labels);
    scrape[std::move(key)] = std::move(s);
  }
  return scrape;
}

}  // namespace imgproc
