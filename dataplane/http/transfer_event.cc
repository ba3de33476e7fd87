#include "dataplane/http/transfer_event.h"

#include "dataplane/net/proto_wire.h"

namespace stampede::http {
namespace {

// stampede.v1.Event's fields (HttpTransfer's are numbered where written).
constexpr int kEventTime = 1;
constexpr int kEventHttpTransfer = 6;

}  // namespace

size_t EncodeHttpTransferEvent(const TransferReport& r,
                               std::span<std::byte, kMaxHttpTransferEventBytes> out) {
  // The HttpTransfer message first, into a scratch area, to know its length.
  std::byte body[kMaxHttpTransferEventBytes];
  net::ProtoWriter t(body);
  t.Fixed32Field(1, r.client_address);
  t.VarintField(2, r.client_port);
  char text[kMaxTransferPathBytes];
  bool method_truncated = false, path_truncated = false;
  t.BytesField(3, text,
               net::EscapeLogged(r.method, kMaxTransferMethodBytes, text, method_truncated));
  t.BytesField(4, text, net::EscapeLogged(r.target, kMaxTransferPathBytes, text, path_truncated));
  t.VarintField(5, path_truncated ? 1 : 0);
  t.VarintField(6, r.status);
  t.VarintField(7, r.bytes);
  t.VarintField(8, r.length);
  t.VarintField(9, r.duration_us);
  t.VarintField(10, r.range ? 1 : 0);
  t.VarintField(11, r.range_first);
  t.VarintField(12, r.range_last);
  t.VarintField(13, static_cast<uint8_t>(r.outcome));
  t.VarintField(14, r.error);

  net::ProtoWriter e(out.data());
  e.VarintField(kEventTime, r.time_ns);
  e.MessageField(kEventHttpTransfer, body, t.size());
  return e.size();
}

}  // namespace stampede::http
