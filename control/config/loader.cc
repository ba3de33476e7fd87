#include "control/config/loader.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace stampede::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Refuses absurd inputs before they cost memory: a config is a few KiB.
constexpr size_t kMaxConfigBytes = 4 << 20;
constexpr int kMaxDepth = 16;

class YamlMapper {
 public:
  explicit YamlMapper(LoadedConfig& out) : out_(out) {}

  absl::Status Fill(const YAML::Node& node, Message& message, const std::string& path, int depth) {
    if (depth > kMaxDepth) return Error(node, path, "nested too deeply");
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsMap()) return Error(node, path, "expected a mapping of fields");
    const Descriptor* descriptor = message.GetDescriptor();
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) return Error(key, path, "a field name must be a plain word");
      std::string name = key.Scalar();
      std::string field_path = path.empty() ? name : absl::StrCat(path, ".", name);
      const FieldDescriptor* field = descriptor->FindFieldByName(name);
      if (field == nullptr) {
        return Error(
            key, field_path,
            absl::StrCat("unknown field '", name, "'; known here: ", KnownFields(*descriptor)));
      }
      if (!seen.insert(name).second) return Error(key, field_path, "given twice");
      Remember(field_path, entry.second.IsNull() ? key : entry.second);
      absl::Status status = field->is_repeated()
                                ? FillRepeated(entry.second, message, *field, field_path, depth)
                                : FillSingle(entry.second, message, *field, field_path, depth);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

 private:
  absl::Status FillRepeated(const YAML::Node& node, Message& message, const FieldDescriptor& field,
                            const std::string& path, int depth) {
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsSequence()) return Error(node, path, "expected a list");
    for (size_t i = 0; i < node.size(); ++i) {
      std::string item_path = absl::StrCat(path, "[", i, "]");
      Remember(item_path, node[i]);
      absl::Status status = FillSingle(node[i], message, field, item_path, depth);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  absl::Status FillSingle(const YAML::Node& node, Message& message, const FieldDescriptor& field,
                          const std::string& path, int depth) {
    const Reflection& reflection = *message.GetReflection();
    bool repeated = field.is_repeated();
    if (field.type() == FieldDescriptor::TYPE_MESSAGE) {
      Message* child = repeated ? reflection.AddMessage(&message, &field)
                                : reflection.MutableMessage(&message, &field);
      return Fill(node, *child, path, depth + 1);
    }
    // A DHCP option's value may be written as a YAML list too: its items
    // joined as Kea's comma-separated text (docs/dhcp.md#options).
    if (node.IsSequence() && field.full_name() == "stampede.v1.DhcpOption.data") {
      std::vector<std::string> items;
      for (const YAML::Node& item : node) {
        if (!item.IsScalar()) return Error(item, path, "expected a list of single values");
        items.push_back(item.Scalar());
      }
      reflection.SetString(&message, &field, absl::StrJoin(items, ", "));
      return absl::OkStatus();
    }
    if (!node.IsScalar()) return Error(node, path, "expected a single value");
    const std::string& text = node.Scalar();
    switch (field.cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        repeated ? reflection.AddString(&message, &field, text)
                 : reflection.SetString(&message, &field, text);
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_UINT32: {
        uint32_t value = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
          return Error(node, path,
                       absl::StrCat("'", text, "' is not a whole number 0..4294967295"));
        }
        repeated ? reflection.AddUInt32(&message, &field, value)
                 : reflection.SetUInt32(&message, &field, value);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        std::string lower = absl::AsciiStrToLower(text);
        if (lower != "true" && lower != "false") {
          return Error(node, path, absl::StrCat("'", text, "' is not true or false"));
        }
        repeated ? reflection.AddBool(&message, &field, lower == "true")
                 : reflection.SetBool(&message, &field, lower == "true");
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const EnumValueDescriptor* value =
            field.enum_type()->FindValueByName(absl::AsciiStrToUpper(text));
        if (value == nullptr || value->number() == 0) {
          std::vector<std::string> names;
          for (int i = 1; i < field.enum_type()->value_count(); ++i) {
            names.push_back(absl::AsciiStrToLower(field.enum_type()->value(i)->name()));
          }
          return Error(node, path,
                       absl::StrCat("'", text, "' is not one of: ", absl::StrJoin(names, ", ")));
        }
        repeated ? reflection.AddEnum(&message, &field, value)
                 : reflection.SetEnum(&message, &field, value);
        return absl::OkStatus();
      }
      default:
        return Error(node, path, "this field type is not supported in config files");
    }
  }

  static std::string KnownFields(const Descriptor& descriptor) {
    std::vector<std::string> names;
    for (int i = 0; i < descriptor.field_count(); ++i) names.push_back(descriptor.field(i)->name());
    return absl::StrJoin(names, ", ");
  }

  void Remember(const std::string& path, const YAML::Node& node) {
    out_.locations[path] = {node.Mark().line + 1, node.Mark().column + 1};
  }

  absl::Status Error(const YAML::Node& node, const std::string& path, absl::string_view problem) {
    std::string where = node.Mark().is_null() ? out_.file
                                              : absl::StrCat(out_.file, ":", node.Mark().line + 1,
                                                             ":", node.Mark().column + 1);
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", path.empty() ? "" : absl::StrCat(path, ": "), problem));
  }

  LoadedConfig& out_;
};

class TextErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit TextErrors(std::string file) : file_(std::move(file)) {}
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) first_ = absl::StrCat(file_, ":", line + 1, ":", column + 1, ": ", message);
  }
  const std::string& first() const { return first_; }

 private:
  std::string file_;
  std::string first_;
};

}  // namespace

std::string LoadedConfig::Where(const std::string& path) const {
  std::string probe = path;
  while (!probe.empty()) {
    auto it = locations.find(probe);
    if (it != locations.end()) {
      return absl::StrCat(file, ":", it->second.line, ":", it->second.column);
    }
    size_t cut = probe.find_last_of(".[");
    probe = cut == std::string::npos ? "" : probe.substr(0, cut);
  }
  return file;
}

Format FormatOf(std::string_view file) {
  absl::string_view name(file.data(), file.size());
  if (absl::EndsWith(name, ".json")) return Format::kJson;
  for (absl::string_view ext : {".textproto", ".txtpb", ".pbtxt"}) {
    if (absl::EndsWith(name, ext)) return Format::kText;
  }
  return Format::kYaml;
}

absl::StatusOr<LoadedConfig> ParseConfig(std::string_view text, std::string_view file,
                                         Format format) {
  LoadedConfig loaded;
  loaded.file = std::string(file);
  if (text.size() > kMaxConfigBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(loaded.file, ": ", text.size(), " bytes is too large for a config file"));
  }
  if (format == Format::kText) {
    google::protobuf::TextFormat::Parser parser;
    TextErrors errors(loaded.file);
    parser.RecordErrorsTo(&errors);
    if (!parser.ParseFromString(std::string(text), &loaded.config)) {
      return absl::InvalidArgumentError(errors.first().empty() ? loaded.file + ": cannot parse"
                                                               : errors.first());
    }
    return loaded;
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& error) {
    return absl::InvalidArgumentError(absl::StrCat(loaded.file, ":", error.mark.line + 1, ":",
                                                   error.mark.column + 1, ": ", error.msg));
  }
  YamlMapper mapper(loaded);
  if (absl::Status status = mapper.Fill(root, loaded.config, "", 0); !status.ok()) return status;
  return loaded;
}

absl::StatusOr<LoadedConfig> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::ostringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path, FormatOf(path));
}

}  // namespace stampede::config
