#include "transport/message_parsing.h"

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/unknown_field_set.h"

namespace imgproc {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

// RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF (what protobuf checks in proto3 strings).
bool IsUtf8(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    size_t length = 1;
    unsigned char low = 0x80, high = 0xBF;  // the range of the byte after the lead
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;   // overlong
      if (lead == 0xED) high = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;   // overlong
      if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (i + length > text.size() || byte(i + 1) < low || byte(i + 1) > high) return false;
    for (size_t k = 2; k < length; ++k) {
      if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return false;
    }
    i += length;
  }
  return true;
}

// Why `fields`, read as wire format without a schema, are no `type`: the first string field that is not UTF-8 or
// embedded message that does not parse, as a path from the top ("operations[2].resize"); empty if none is found.
std::string FindUnparseableField(const UnknownFieldSet& fields, const Descriptor& type, const std::string& prefix) {
  std::map<int, int> occurrences;  // of each repeated field so far, to give its index
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& field = fields.field(i);
    const FieldDescriptor* descriptor = type.FindFieldByNumber(field.number());
    if (descriptor == nullptr || field.type() != UnknownField::TYPE_LENGTH_DELIMITED) continue;
    std::string path = absl::StrCat(prefix, descriptor->name());
    if (descriptor->is_repeated()) absl::StrAppend(&path, "[", occurrences[field.number()]++, "]");
    if (descriptor->type() == FieldDescriptor::TYPE_STRING && !IsUtf8(field.length_delimited())) {
      return absl::StrCat("field ", path, " is not UTF-8");
    }
    if (descriptor->type() != FieldDescriptor::TYPE_MESSAGE) continue;
    UnknownFieldSet nested;
    if (!nested.ParseFromString(field.length_delimited())) {
      return absl::StrCat("field ", path, " is no ", descriptor->message_type()->full_name(), " (not wire format)");
    }
    std::string why = FindUnparseableField(nested, *descriptor->message_type(), path + ".");
    if (!why.empty()) return why;
  }
  return "";
}

}  // namespace

absl::Status ParseRequestMessage(const grpc::ByteBuffer& bytes, google::protobuf::Message* request) {
  grpc::ByteBuffer shared(bytes);  // the reader takes a mutable buffer; this shares the slices
  grpc::ProtoBufferReader reader(&shared);
  {
    // Protobuf logs each string that is not UTF-8; the client is told instead, and a client must not fill the log.
    google::protobuf::LogSilencer quiet;
    if (reader.status().ok() && request->ParseFromZeroCopyStream(&reader)) return absl::OkStatus();
  }
  request->Clear();  // what parsed before the fault, a string that is not UTF-8 included, is no request
  // Only for refusals, so the second pass over the bytes costs nothing to a well-formed request.
  const std::string type = request->GetDescriptor()->full_name();
  UnknownFieldSet fields;
  grpc::ByteBuffer again(bytes);
  grpc::ProtoBufferReader second_reader(&again);
  if (!fields.ParseFromZeroCopyStream(&second_reader)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the request is no ", type, ": its ", bytes.Length(), " bytes are not protobuf wire format"));
  }
  std::string why = FindUnparseableField(fields, *request->GetDescriptor(), "");
  if (why.empty()) why = "its fields do not match the message's";
  return absl::InvalidArgumentError(absl::StrCat("the request is no valid ", type, ": ", why));
}

absl::Status SerializeMessage(const google::protobuf::Message& message, grpc::ByteBuffer* bytes) {
  bool own_buffer;
  const grpc::Status status =
      grpc::GenericSerialize<grpc::ProtoBufferWriter, google::protobuf::Message>(message, bytes, &own_buffer);
  if (status.ok()) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("cannot serialize ", message.GetDescriptor()->full_name(), ": ", status.error_message()));
}

absl::Status SerializeMessageWithBytes(const google::protobuf::Message& message, int field_number,
                                       std::string field_bytes, grpc::ByteBuffer* bytes) {
  if (field_bytes.empty()) return SerializeMessage(message, bytes);  // proto3 writes no empty bytes field
  std::string head;
  if (!message.SerializeToString(&head)) {
    return absl::InternalError(absl::StrCat("cannot serialize ", message.GetDescriptor()->full_name()));
  }
  // The field's key (wire type 2, length-delimited) and its length, as the varints of the wire format.
  const auto append_varint = [&head](uint64_t value) {
    for (; value >= 0x80; value >>= 7) head.push_back(static_cast<char>((value & 0x7f) | 0x80));
    head.push_back(static_cast<char>(value));
  };
  append_varint((static_cast<uint64_t>(field_number) << 3) | 2);
  append_varint(field_bytes.size());
  // The slice owns the bytes until gRPC has written them.
  auto* owned = new std::string(std::move(field_bytes));
  const grpc::Slice slices[] = {
      grpc::Slice(head),
      grpc::Slice(
          owned->data(), owned->size(), [](void* held) { delete static_cast<std::string*>(held); }, owned)};
  *bytes = grpc::ByteBuffer(slices, 2);
  return absl::OkStatus();
}

}  // namespace imgproc
