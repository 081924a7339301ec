// The status macros (server/common/status_macros.h): a value flows on, an error returns from the caller.
#include "common/status_macros.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace imgproc::testing {
namespace {

absl::StatusOr<std::unique_ptr<std::string>> Named(bool ok) {
  if (!ok) return absl::InvalidArgumentError("no name");
  return std::make_unique<std::string>("dune");
}

// Move-only values move through the macro; the second use on another line declares its own temporary.
absl::StatusOr<std::string> BothNames(bool first_ok, bool second_ok, int& reached) {
  IMGPROC_ASSIGN_OR_RETURN(std::unique_ptr<std::string> first, Named(first_ok));
  ++reached;
  IMGPROC_ASSIGN_OR_RETURN(auto second, Named(second_ok));
  ++reached;
  return *first + "+" + *second;
}

absl::Status Checked(absl::Status status, int& reached) {
  IMGPROC_RETURN_IF_ERROR(status);
  ++reached;
  return absl::OkStatus();
}

TEST(StatusMacrosTest, AssignOrReturnPassesValuesOnAndReturnsTheFirstError) {
  int reached = 0;
  EXPECT_EQ(BothNames(true, true, reached).value(), "dune+dune");
  EXPECT_EQ(reached, 2);

  reached = 0;
  absl::StatusOr<std::string> failed = BothNames(true, false, reached);
  EXPECT_EQ(failed.status(), absl::InvalidArgumentError("no name"));
  EXPECT_EQ(reached, 1);

  reached = 0;
  EXPECT_FALSE(BothNames(false, true, reached).ok());
  EXPECT_EQ(reached, 0);
}

TEST(StatusMacrosTest, ReturnIfErrorStopsOnlyOnAnError) {
  int reached = 0;
  EXPECT_TRUE(Checked(absl::OkStatus(), reached).ok());
  EXPECT_EQ(reached, 1);
  EXPECT_EQ(Checked(absl::NotFoundError("gone"), reached), absl::NotFoundError("gone"));
  EXPECT_EQ(reached, 1);
}

}  // namespace
}  // namespace imgproc::testing
