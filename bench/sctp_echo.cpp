// sctp_echo: the ceiling for `registrar_load --transport sctp --server echo`, the least a
// server can do per request over SCTP: it receives a message and sends the same bytes back,
// with the same PPID, at once (one sctp_recvmsg and one sendmsg per message, SCTP_NODELAY as
// the registrar's sockets). One thread, epoll, one-to-one sockets; no parsing, no queue (a
// send that would block drops the answer and is counted: under the load generator's few
// requests in flight it never happens).
//
//   sctp_echo ADDR:PORT     prints "asap ADDR:PORT" and "enrp ADDR:PORT" when listening
//                           (the lines `rsplab registrar` prints), runs until SIGTERM
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/sctp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

volatile std::sig_atomic_t stop = 0;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "sctp_echo: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

void configure(int fd) {
  sctp_event_subscribe events{};
  events.sctp_data_io_event = 1;  // the PPID with each message
  const int on = 1;
  if (setsockopt(fd, IPPROTO_SCTP, SCTP_EVENTS, &events, sizeof events) != 0 ||
      setsockopt(fd, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on) != 0)
    die("setsockopt");
}

// Every whole message readable on `fd` back to its sender; false when the peer is gone.
bool echo(int fd, char* buffer, std::size_t size, unsigned long& dropped) {
  for (;;) {
    sctp_sndrcvinfo info{};
    int flags = 0;
    const int n = sctp_recvmsg(fd, buffer, size, nullptr, nullptr, &info, &flags);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    if (n == 0) return false;
    if ((flags & MSG_NOTIFICATION) || !(flags & MSG_EOR)) continue;  // not a whole message
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(sctp_sndrcvinfo))] = {};
    iovec iov{buffer, static_cast<std::size_t>(n)};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_SCTP;
    c->cmsg_type = SCTP_SNDRCV;
    c->cmsg_len = CMSG_LEN(sizeof(sctp_sndrcvinfo));
    sctp_sndrcvinfo out{};
    out.sinfo_ppid = info.sinfo_ppid;
    std::memcpy(CMSG_DATA(c), &out, sizeof out);
    if (sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) ++dropped;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: sctp_echo IPV4ADDR:PORT\n");
    return 2;
  }
  const std::string at = argv[1];
  const auto colon = at.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::atoi(at.substr(colon + 1).c_str())));
  if (colon == std::string::npos || inet_pton(AF_INET, at.substr(0, colon).c_str(), &sa.sin_addr) != 1) {
    std::fprintf(stderr, "sctp_echo: '%s' is not IPV4ADDR:PORT\n", argv[1]);
    return 2;
  }
  std::signal(SIGTERM, [](int) { stop = 1; });
  std::signal(SIGINT, [](int) { stop = 1; });
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_SCTP);
  if (listener < 0) die("socket");
  configure(listener);
  if (bind(listener, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("bind");
  if (listen(listener, 1024) != 0) die("listen");
  socklen_t len = sizeof sa;
  getsockname(listener, reinterpret_cast<sockaddr*>(&sa), &len);
  char address[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &sa.sin_addr, address, sizeof address);
  std::printf("asap %s:%u\nenrp %s:%u\n", address, ntohs(sa.sin_port), address, ntohs(sa.sin_port));
  std::fflush(stdout);

  const int ep = epoll_create1(0);
  epoll_event ev{EPOLLIN, {.fd = listener}};
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  static char buffer[65536];
  unsigned long dropped = 0;
  epoll_event ready[64];
  while (!stop) {
    const int n = epoll_wait(ep, ready, 64, 200);
    for (int i = 0; i < n; ++i) {
      const int fd = ready[i].data.fd;
      if (fd != listener) {
        if (!echo(fd, buffer, sizeof buffer, dropped)) close(fd);  // closing leaves the epoll set
        continue;
      }
      for (int c; (c = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
        configure(c);
        epoll_event e{EPOLLIN, {.fd = c}};
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
      }
    }
  }
  if (dropped > 0) std::fprintf(stderr, "sctp_echo: %lu answers dropped (send buffer full)\n", dropped);
  return 0;
}
