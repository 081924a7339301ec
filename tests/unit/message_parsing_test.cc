// Answers serialized with their pixels handed to gRPC uncopied (transport/message_parsing.h): the bytes on the wire
// parse to the very message that protobuf's own serialization of it gives, for every length of the field's varint.
#include "transport/message_parsing.h"

#include <grpcpp/support/byte_buffer.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace imgproc::testing {
namespace {

namespace pb = ::imgproc::v1;

std::string WireBytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& slice : slices) bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return bytes;
}

// A photo-like pattern, so that a misplaced byte shows.
std::string Pattern(size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + i / 977) & 0xff);
  return bytes;
}

TEST(MessageSerializationTest, TheFieldHandedOverReadsAsIfItHadBeenSet) {
  // Lengths whose varints take 1, 2, 3 and 4 bytes, and an empty field (which proto3 does not write).
  for (size_t size : {size_t{0}, size_t{1}, size_t{127}, size_t{128}, size_t{16383}, size_t{16384}, size_t{602112},
                      size_t{2097152}}) {
    pb::ProcessResponse answer;
    answer.set_request_id("r-7");
    answer.set_format(pb::IMAGE_FORMAT_RAW);
    answer.set_width(224);
    answer.set_height(224);
    answer.set_channels(3);
    answer.mutable_timings()->set_total_us(1234);
    pb::ProcessResponse expected = answer;
    expected.set_image(Pattern(size));

    grpc::ByteBuffer buffer;
    ASSERT_TRUE(SerializeMessageWithBytes(answer, pb::ProcessResponse::kImageFieldNumber, Pattern(size), &buffer).ok());
    const std::string wire = WireBytes(buffer);
    pb::ProcessResponse parsed;
    ASSERT_TRUE(parsed.ParseFromString(wire)) << size;
    EXPECT_EQ(parsed.SerializeAsString(), expected.SerializeAsString()) << size;
    EXPECT_EQ(parsed.image(), expected.image()) << size;
    EXPECT_EQ(wire.size(), expected.ByteSizeLong()) << size << ": the same length as protobuf's own serialization";
  }
}

TEST(MessageSerializationTest, ABatchsTensorComesAfterItsItems) {
  pb::ProcessBatchResponse answer;
  answer.set_request_id("batch");
  answer.add_shape(2);
  answer.add_shape(3);
  answer.add_items()->mutable_status()->set_code(3);
  answer.set_succeeded(1);
  grpc::ByteBuffer buffer;
  ASSERT_TRUE(
      SerializeMessageWithBytes(answer, pb::ProcessBatchResponse::kTensorFieldNumber, Pattern(70000), &buffer).ok());
  pb::ProcessBatchResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(WireBytes(buffer)));
  EXPECT_EQ(parsed.tensor(), Pattern(70000));
  EXPECT_EQ(parsed.items_size(), 1);
  EXPECT_EQ(parsed.succeeded(), 1);
  EXPECT_EQ(parsed.request_id(), "batch");
}

}  // namespace
}  // namespace imgproc::testing
