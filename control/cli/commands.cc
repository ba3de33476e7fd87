#include "control/cli/commands.h"

#include <chrono>
#include <ctime>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/cli/api_client.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace stampede::cli {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

bool ParseJson(const std::string& body, Struct& out) {
  return google::protobuf::util::JsonStringToMessage(body, &out).ok();
}

const Value& Field(const Struct& s, const std::string& name) {
  static const Value kNull;
  auto it = s.fields().find(name);
  return it == s.fields().end() ? kNull : it->second;
}

const Struct& Object(const Struct& s, const std::string& name) {
  return Field(s, name).struct_value();
}

uint64_t Number(const Struct& s, const std::string& name) {
  return static_cast<uint64_t>(Field(s, name).number_value());
}

std::string Text(const Struct& s, const std::string& name) { return Field(s, name).string_value(); }

bool Flag(const Struct& s, const std::string& name) { return Field(s, name).bool_value(); }

// Calls the API and reports transport errors and non-JSON answers on `err`.
bool Call(const std::string& api, const std::string& method, const std::string& target,
          ApiResponse& response, Struct& json, std::ostream& err) {
  absl::StatusOr<ApiResponse> answer = CallApi(api, method, target);
  if (!answer.ok()) {
    err << "stampede: " << answer.status().message() << "\n";
    return false;
  }
  response = *answer;
  if (!ParseJson(response.body, json)) {
    err << "stampede: unexpected answer (HTTP " << response.status << "): " << response.body;
    return false;
  }
  return true;
}

std::string FormatTime(uint64_t time_ns) {
  std::time_t seconds = static_cast<std::time_t>(time_ns / 1'000'000'000);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &tm);
  return absl::StrCat(text, ".", absl::Dec((time_ns / 1'000'000) % 1000, absl::kZeroPad3));
}

}  // namespace

int Status(const std::string& api, bool json, std::ostream& out, std::ostream& err) {
  ApiResponse response;
  Struct status;
  if (!Call(api, "GET", "/status", response, status, err)) return 1;
  if (json) {
    out << response.body;
    return response.status == 200 ? 0 : 1;
  }
  const Struct& control = Object(status, "control");
  const Struct& dataplane = Object(status, "dataplane");
  const Struct& counters = Object(status, "counters");
  const Struct& last = Object(control, "last_reload");
  bool alive = Flag(dataplane, "alive");
  uint64_t published = Number(control, "published_generation");
  uint64_t applied = Number(dataplane, "applied_generation");
  out << "instance    " << Text(status, "instance") << "  (config " << Text(status, "config")
      << ")\n";
  out << "control     pid " << Number(control, "pid") << ", up " << Number(control, "uptime_s")
      << " s, policy generation " << published << " published\n";
  out << "last reload " << (Flag(last, "ok") ? "ok" : "REFUSED") << " (" << Text(last, "reason")
      << ")";
  if (!Text(last, "error").empty()) out << ":\n  " << Text(last, "error");
  out << "\n";
  if (!alive) {
    out << "dataplane   NOT RUNNING (no heartbeat)\n";
  } else {
    out << "dataplane   pid " << Number(dataplane, "pid") << ", " << Number(dataplane, "workers")
        << " workers, "
        << (Text(dataplane, "policy_state") == "serving"
                ? absl::StrCat("serving generation ", applied,
                               applied == published ? " (current)" : " (behind)")
                : std::string("serving NOTHING (no policy applied yet)"))
        << "\n";
  }
  out << "policies    " << Number(dataplane, "policies_applied") << " applied, "
      << Number(dataplane, "policies_refused") << " refused";
  if (Number(dataplane, "refused_generation") != 0) {
    out << " (last refused: generation " << Number(dataplane, "refused_generation") << ")";
  }
  out << "\n";
  if (Flag(dataplane, "supervised")) {
    out << "supervisor  " << Number(dataplane, "restarts") << " restarts"
        << (Flag(dataplane, "settings_changed")
                ? ", dataplane settings changed: run `stampede restart-dataplane`"
                : "")
        << "\n";
  }
  out << "packets     rx " << Number(counters, "rx_packets") << ", tx "
      << Number(counters, "tx_packets") << ", dropped " << Number(counters, "drops") << "\n";
  const Struct& dhcp = Object(status, "dhcp");
  out << "dhcp        " << Number(dhcp, "offers") << " offers, " << Number(dhcp, "acks")
      << " acks, " << Number(dhcp, "naks") << " naks, " << Number(dhcp, "proxy_offers")
      << " proxy offers; pool exhausted " << Number(dhcp, "pool_exhausted") << ", rate limited "
      << Number(dhcp, "rate_limited") << ", unknown clients " << Number(dhcp, "unknown_clients")
      << "\n";
  const Struct& http = Object(status, "http");
  if (Number(http, "listening_port") == 0) {
    out << "http        not listening";
  } else {
    out << "http        port " << Number(http, "listening_port") << ", "
        << Number(http, "connections_open") << " connections open";
  }
  out << "; " << Number(http, "requests") << " requests (2xx " << Number(http, "responses_2xx")
      << ", 3xx " << Number(http, "responses_3xx") << ", 4xx " << Number(http, "responses_4xx")
      << ", 5xx " << Number(http, "responses_5xx") << "), transfers "
      << Number(http, "transfers_completed") << " completed, " << Number(http, "transfers_aborted")
      << " aborted, " << Number(http, "bytes_sent") << " bytes sent\n";
  return alive ? 0 : 3;
}

int Reload(const std::string& api, std::ostream& out, std::ostream& err) {
  ApiResponse response;
  Struct result;
  if (!Call(api, "POST", "/reload", response, result, err)) return 1;
  if (!Flag(result, "ok")) {
    err << "stampede: config refused, the running policy stays:\n" << Text(result, "error") << "\n";
    return 1;
  }
  out << (Flag(result, "published") ? "published generation " : "unchanged, generation ")
      << Number(result, "generation") << "\n";
  return 0;
}

int Events(const std::string& api, uint64_t since, bool follow, std::ostream& out,
           std::ostream& err) {
  // Bounded per request; --follow runs until the operator interrupts it.
  for (;;) {
    ApiResponse response;
    Struct page;
    if (!Call(api, "GET", absl::StrCat("/events?since=", since), response, page, err)) return 1;
    for (const Value& value : Field(page, "events").list_value().values()) {
      const Struct& e = value.struct_value();
      out << FormatTime(Number(e, "time_ns")) << "  " << Number(e, "seq") << "  "
          << Text(e, "source") << " " << Text(e, "kind");
      if (Number(e, "generation") != 0) out << " generation=" << Number(e, "generation");
      if (!Text(e, "detail").empty()) out << " " << Text(e, "detail");
      out << "\n";
    }
    out.flush();
    since = Number(page, "next");
    if (!follow) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// GETs `target` for a listing command: with --json prints the body as it
// is. Returns the body to print as a table, or nullopt with `exit_code` set.
std::optional<Struct> GetListing(const std::string& api, const std::string& target, bool json,
                                 std::ostream& out, std::ostream& err, int& exit_code) {
  ApiResponse response;
  Struct result;
  exit_code = 1;
  if (!Call(api, "GET", target, response, result, err)) return std::nullopt;
  if (response.status != 200) {
    err << "stampede: " << Text(result, "error") << "\n";
    return std::nullopt;
  }
  exit_code = 0;
  if (!json) return result;
  out << response.body;
  return std::nullopt;
}

int Leases(const std::string& api, bool json, std::ostream& out, std::ostream& err) {
  int exit_code = 0;
  std::optional<Struct> result = GetListing(api, "/leases", json, out, err, exit_code);
  if (!result) return exit_code;
  out << absl::StrFormat("%-16s %-20s %-9s %-23s %s\n", "ADDRESS", "CLIENT", "STATE", "EXPIRES",
                         "HOST");
  for (const Value& value : Field(*result, "leases").list_value().values()) {
    const Struct& l = value.struct_value();
    out << absl::StrFormat("%-16s %-20s %-9s %-23s %s\n", Text(l, "address"), Text(l, "client"),
                           Text(l, "state"), FormatTime(Number(l, "expires_unix_ms") * 1'000'000),
                           Text(l, "host"));
  }
  return 0;
}

namespace {

// One step of a machine's boot: what, how it ended, how much.
std::string StepText(const Struct& step) {
  std::string kind = Text(step, "kind"), outcome = Text(step, "outcome");
  std::string text = absl::StrFormat("%-5s %-10s %s", kind, outcome, Text(step, "what"));
  if (kind == "lease" || kind == "proxy") {
    return Text(step, "detail").empty() ? text
                                        : absl::StrCat(text, "  (", Text(step, "detail"), ")");
  }
  if (outcome == "refused") {
    return absl::StrCat(text, "  (error ", Number(step, "status"), ": ", Text(step, "detail"), ")");
  }
  if (kind == "http") absl::StrAppend(&text, "  ", Number(step, "status"));
  double seconds = static_cast<double>(Number(step, "duration_us")) / 1e6;
  absl::StrAppend(&text, absl::StrFormat("  %u of %u bytes in %.3f s", Number(step, "bytes"),
                                         Number(step, "size"), seconds));
  if (Number(step, "count") > 1) absl::StrAppend(&text, " (", Number(step, "count"), " ranges)");
  if (!Text(step, "detail").empty()) {
    absl::StrAppend(&text, "  (",
                    kind == "tftp" ? absl::StrCat("error ", Number(step, "status"), ": ") : "",
                    Text(step, "detail"), ")");
  }
  return text;
}

}  // namespace

int Boots(const std::string& api, const std::string& machine, bool json, bool failed,
          std::ostream& out, std::ostream& err) {
  int exit_code = 0;
  std::string target = !machine.empty() ? absl::StrCat("/boots?client=", machine)
                       : failed         ? "/boots?failed=1"
                                        : "/boots";
  std::optional<Struct> result = GetListing(api, target, json, out, err, exit_code);
  if (!result) return exit_code;
  if (machine.empty()) {
    out << absl::StrFormat("%-20s %-15s %-16s %-14s %-12s %6s %5s %9s %6s %12s  %-23s %s\n",
                           "CLIENT", "ADDRESS", "HOST", "ARCH", "PROFILE", "LEASES", "FILES",
                           "NOT-FOUND", "FAILED", "BYTES", "LAST SEEN", "LAST STEP");
    for (const Value& value : Field(*result, "machines").list_value().values()) {
      const Struct& m = value.struct_value();
      auto dash = [&](const char* name) { return Text(m, name).empty() ? "-" : Text(m, name); };
      out << absl::StrFormat("%-20s %-15s %-16s %-14s %-12s %6u %5u %9u %6u %12u  %-23s %s\n",
                             dash("client"), Text(m, "address"), dash("host"), dash("arch"),
                             dash("profile"), Number(m, "leases"), Number(m, "files"),
                             Number(m, "not_found"), Number(m, "failed"), Number(m, "bytes"),
                             FormatTime(Number(m, "last_ns")), StepText(Object(m, "last")));
    }
    out << Number(*result, "total") << " machines, " << Number(*result, "failing")
        << " failing (no file yet, or the last transfer failed)\n";
    if (Number(*result, "evicted") > 0) {
      out << Number(*result, "evicted") << " machines seen longest ago are no longer listed\n";
    }
    return 0;
  }
  const Struct& m = Object(*result, "machine");
  out << "client  " << (Text(m, "client").empty() ? "- (known by address only)" : Text(m, "client"))
      << "  address " << Text(m, "address") << "  host "
      << (Text(m, "host").empty() ? "-" : Text(m, "host"));
  if (!Text(m, "arch").empty()) out << "  arch " << Text(m, "arch");
  if (!Text(m, "profile").empty()) out << "  profile " << Text(m, "profile");
  out << "\n";
  uint64_t first = Number(m, "first_ns");
  out << "first seen " << FormatTime(first) << "; leases " << Number(m, "leases");
  if (Number(m, "proxy") > 0) out << ", proxyDHCP answers " << Number(m, "proxy");
  out << ", files " << Number(m, "files") << ", not found " << Number(m, "not_found") << ", failed "
      << Number(m, "failed") << ", bytes " << Number(m, "bytes") << "\n";
  if (Number(m, "steps_dropped") > 0) {
    out << "(" << Number(m, "steps_dropped") << " earlier steps no longer kept)\n";
  }
  for (const Value& value : Field(m, "steps").list_value().values()) {
    const Struct& step = value.struct_value();
    uint64_t t = Number(step, "time_ns");
    double since = t >= first ? static_cast<double>(t - first) / 1e9 : 0;
    out << absl::StrFormat("  +%9.3f s  %s\n", since, StepText(step));
  }
  return 0;
}

int Images(const std::string& api, bool json, std::ostream& out, std::ostream& err) {
  int exit_code = 0;
  std::optional<Struct> result = GetListing(api, "/images", json, out, err, exit_code);
  if (!result) return exit_code;
  out << "folder " << Text(*result, "folder") << "\n";
  out << absl::StrFormat("%-24s %-8s %7s %9s %s\n", "IMAGE", "SERVED", "FILES", "WARNINGS",
                         "VOLUME / WHY NOT");
  for (const Value& value : Field(*result, "images").list_value().values()) {
    const Struct& i = value.struct_value();
    bool served = Field(i, "served").bool_value();
    out << absl::StrFormat("%-24s %-8s %7d %9d %s\n", Text(i, "name"), served ? "yes" : "no",
                           static_cast<int64_t>(Number(i, "files")),
                           static_cast<int64_t>(Number(i, "warnings")),
                           served ? Text(i, "volume_id") : Text(i, "error"));
    if (served) {
      const Struct& d = Field(i, "detected").struct_value();
      out << "    is: " << Text(d, "family") << " " << Text(d, "distro") << " "
          << Text(d, "version") << " (" << Text(d, "why") << ")\n";
      if (Field(d, "sanboot").bool_value()) {
        out << "    boots: the whole image (iPXE sanboot over HTTP)\n";
      } else {
        // One kernel for both firmwares (a Linux EFI stub), else each by name.
        std::string kernel = Text(d, "kernel"), efi_kernel = Text(d, "efi_kernel");
        out << "    boots:";
        if (!kernel.empty())
          out << " " << (kernel == efi_kernel || efi_kernel.empty() ? "" : "(BIOS) ") << kernel;
        if (!efi_kernel.empty() && efi_kernel != kernel)
          out << (kernel.empty() ? " " : ", ") << "(UEFI) " << efi_kernel;
        for (const Value& initrd : Field(d, "initrds").list_value().values()) {
          out << " + " << initrd.string_value();
        }
        out << "\n    cmdline: " << Text(d, "cmdline") << "\n";
      }
    }
    for (const Value& warning : Field(i, "first_warnings").list_value().values()) {
      out << "    warning: " << warning.string_value() << "\n";
    }
  }
  return 0;
}

int RestartDataplane(const std::string& api, std::ostream& out, std::ostream& err) {
  ApiResponse response;
  Struct result;
  if (!Call(api, "POST", "/dataplane/restart", response, result, err)) return 1;
  if (response.status != 200) {
    err << "stampede: " << Text(result, "error") << "\n";
    return 1;
  }
  out << "dataplane restarted, pid " << Number(result, "pid") << "\n";
  return 0;
}

}  // namespace stampede::cli
