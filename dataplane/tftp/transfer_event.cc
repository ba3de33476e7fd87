#include "dataplane/tftp/transfer_event.h"

#include "dataplane/net/proto_wire.h"

namespace stampede::tftp {
namespace {

// stampede.v1.Event's fields (TftpTransfer's are numbered where written).
constexpr int kEventTime = 1;
constexpr int kEventTftpTransfer = 7;

}  // namespace

size_t EncodeTftpTransferEvent(const TransferReport& r,
                               std::span<std::byte, kMaxTftpTransferEventBytes> out) {
  // The TftpTransfer message first, into a scratch area, to know its length.
  std::byte body[kMaxTftpTransferEventBytes];
  net::ProtoWriter t(body);
  t.Fixed32Field(1, r.client_address);
  t.VarintField(2, r.client_port);
  char text[kMaxTransferFileBytes];
  bool file_truncated = false, detail_truncated = false;
  t.BytesField(3, text, net::EscapeLogged(r.file, kMaxTransferFileBytes, text, file_truncated));
  t.VarintField(4, file_truncated ? 1 : 0);
  t.VarintField(5, static_cast<uint8_t>(r.outcome));
  t.VarintField(6, r.error_code);
  t.BytesField(7, text,
               net::EscapeLogged(r.detail, kMaxTransferDetailBytes, text, detail_truncated,
                                 /*keep_spaces=*/true));
  t.VarintField(8, r.bytes);
  t.VarintField(9, r.size);
  t.VarintField(10, r.duration_us);
  t.VarintField(11, r.block_size);
  t.VarintField(12, r.window_size);
  t.VarintField(13, r.retransmits);

  net::ProtoWriter e(out.data());
  e.VarintField(kEventTime, r.time_ns);
  e.MessageField(kEventTftpTransfer, body, t.size());
  return e.size();
}

}  // namespace stampede::tftp
