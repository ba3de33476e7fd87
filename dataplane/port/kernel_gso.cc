#include "dataplane/port/kernel_gso.h"

#include <linux/if_packet.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <rte_mbuf.h>

#include "absl/strings/str_cat.h"

namespace stampede::port {
namespace {

// Room for a few hundred KiB of frames a NIC has not sent yet (a veth
// forwards at once and frees the socket's share).
constexpr int kSendBuffer = 4 << 20;

absl::Status SocketError(absl::string_view what, const std::string& iface) {
  return absl::InternalError(
      absl::StrCat(what, " (kernel GSO on ", iface, "): ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<KernelGso>> KernelGso::Open(const std::string& iface) {
  unsigned int index = if_nametoindex(iface.c_str());
  if (index == 0) return SocketError("no such interface", iface);
  // Protocol 0: the socket is never bound to a protocol, so the kernel
  // delivers nothing to it.
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return SocketError("AF_PACKET socket", iface);
  std::unique_ptr<KernelGso> gso(new KernelGso(fd));
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) != 0) {
    return SocketError("PACKET_VNET_HDR", iface);
  }
  int size = kSendBuffer;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size,
               sizeof(size));  // best effort without CAP_NET_ADMIN
  }
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = 0;
  address.sll_ifindex = static_cast<int>(index);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return SocketError("bind", iface);
  }
  return gso;
}

KernelGso::~KernelGso() { close(fd_); }

uint16_t KernelGso::Send(rte_mbuf* const* frames, uint16_t count) {
  uint16_t done = 0;
  while (done < count) {
    uint16_t chunk = std::min<uint16_t>(kMaxFrames, count - done);
    uint16_t sent = SendSome(frames + done, chunk);
    done += sent;
    if (sent < chunk) break;
  }
  return done;
}

uint16_t KernelGso::SendSome(rte_mbuf* const* frames, uint16_t count) {
  for (uint16_t i = 0; i < count; ++i) {
    uint16_t pieces = 0;
    for (rte_mbuf* s = frames[i]; s != nullptr && pieces < kMaxMbufsPerFrame; s = s->next) {
      pieces_[i][pieces++] = {rte_pktmbuf_mtod(s, void*), s->data_len};
    }
    messages_[i].msg_hdr = {};
    messages_[i].msg_hdr.msg_iov = pieces_[i].data();
    messages_[i].msg_hdr.msg_iovlen = pieces;
  }
  int sent = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {  // EINTR only
    sent = sendmmsg(fd_, messages_.data(), count, MSG_DONTWAIT);
    if (sent >= 0 || errno != EINTR) break;
  }
  if (sent < 0) sent = 0;  // the caller counts what was refused
  if (sent > 0) rte_pktmbuf_free_bulk(const_cast<rte_mbuf**>(frames), static_cast<unsigned>(sent));
  return static_cast<uint16_t>(sent);
}

}  // namespace stampede::port
