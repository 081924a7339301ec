// Server reflection against the real server: every service it lists must be describable, methods included,
// since that is what grpcurl and other generic clients need to call it.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "imgproc_testing/server_process.h"

namespace imgproc::testing {
namespace {

namespace reflection = ::grpc::reflection::v1alpha;

// One reflection stream. The server sends each file descriptor once per stream, so the files of every answer
// are kept in one database, from which later services resolve their imports.
class ReflectionSession {
 public:
  explicit ReflectionSession(const std::shared_ptr<grpc::Channel>& channel)
      : stub_(reflection::ServerReflection::NewStub(channel)) {
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    stream_ = stub_->ServerReflectionInfo(&context_);
  }
  ~ReflectionSession() {
    if (closed_) return;
    stream_->WritesDone();
    stream_->Finish();
  }

  // The services the server lists; empty, with `error` set, when the answer is not a service list.
  std::vector<std::string> ListServices(std::string* error) {
    reflection::ServerReflectionRequest request;
    request.set_list_services("");
    reflection::ServerReflectionResponse response;
    std::vector<std::string> names;
    if (!Ask(request, &response, error)) return names;
    if (!response.has_list_services_response()) {
      *error = "no list_services_response: " + response.ShortDebugString();
      return names;
    }
    for (const auto& service : response.list_services_response().service()) names.push_back(service.name());
    return names;
  }

  // The service's descriptor from the file that the server says declares it; null with `error` set when the
  // server cannot name that file or the files it sent do not describe the service.
  const google::protobuf::ServiceDescriptor* FindService(const std::string& name, std::string* error) {
    reflection::ServerReflectionRequest request;
    request.set_file_containing_symbol(name);
    reflection::ServerReflectionResponse response;
    if (!Ask(request, &response, error)) return nullptr;
    if (response.has_error_response()) {
      *error = "error_response " + std::to_string(response.error_response().error_code()) + ": " +
               response.error_response().error_message();
      return nullptr;
    }
    if (!response.has_file_descriptor_response()) {
      *error = "no file_descriptor_response: " + response.ShortDebugString();
      return nullptr;
    }
    for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      if (!file.ParseFromString(bytes)) {
        *error = "an unparseable FileDescriptorProto";
        return nullptr;
      }
      files_.Add(file);  // false for a file already added, which is fine
    }
    const google::protobuf::ServiceDescriptor* service = pool_.FindServiceByName(name);
    if (service == nullptr) *error = "the files the server sent do not declare " + name;
    return service;
  }

 private:
  bool Ask(const reflection::ServerReflectionRequest& request, reflection::ServerReflectionResponse* response,
           std::string* error) {
    if (closed_) {
      *error = "reflection stream already closed";
      return false;
    }
    if (!stream_->Write(request) || !stream_->Read(response)) {
      closed_ = true;
      *error = "reflection stream closed: " + stream_->Finish().error_message();
      return false;
    }
    return true;
  }

  std::unique_ptr<reflection::ServerReflection::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<reflection::ServerReflectionRequest, reflection::ServerReflectionResponse>>
      stream_;
  bool closed_ = false;
  google::protobuf::SimpleDescriptorDatabase files_;
  google::protobuf::DescriptorPool pool_{&files_};
};

std::set<std::string> MethodNames(const google::protobuf::ServiceDescriptor& service) {
  std::set<std::string> names;
  for (int i = 0; i < service.method_count(); ++i) names.insert(service.method(i)->name());
  return names;
}

TEST(ReflectionTest, EveryListedServiceResolvesWithItsMethods) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=1"});
  ASSERT_TRUE(server.started());
  ReflectionSession session(server.NewChannel());
  std::string error;
  const std::vector<std::string> listed = session.ListServices(&error);
  ASSERT_FALSE(listed.empty()) << error;

  // What each proto declares; a service listed beyond these must still resolve, with at least one method.
  const std::map<std::string, std::set<std::string>> declared = {
      {"imgproc.v1.ImageProcessorService",
       {"Process", "ProcessStream", "GetServerInfo", "ProcessBatch", "RegisterCudaSharedMemory",
        "UnregisterCudaSharedMemory"}},
      {"grpc.health.v1.Health", {"Check", "Watch"}},
      {"grpc.reflection.v1alpha.ServerReflection", {"ServerReflectionInfo"}},
  };
  for (const auto& [name, methods] : declared) {
    EXPECT_NE(std::find(listed.begin(), listed.end(), name), listed.end()) << name << " is not listed";
  }
  for (const std::string& name : listed) {
    SCOPED_TRACE(name);
    const google::protobuf::ServiceDescriptor* service = session.FindService(name, &error);
    ASSERT_NE(service, nullptr) << "listed but not describable: " << error;
    const auto it = declared.find(name);
    if (it != declared.end()) {
      EXPECT_EQ(MethodNames(*service), it->second);
    } else {
      EXPECT_GT(service->method_count(), 0);
    }
    // Each method's messages must resolve too, or a generic client cannot build a request.
    for (int i = 0; i < service->method_count(); ++i) {
      EXPECT_NE(service->method(i)->input_type(), nullptr) << service->method(i)->full_name();
      EXPECT_NE(service->method(i)->output_type(), nullptr) << service->method(i)->full_name();
    }
  }
  const google::protobuf::ServiceDescriptor* health = session.FindService("grpc.health.v1.Health", &error);
  ASSERT_NE(health, nullptr) << error;
  const google::protobuf::MethodDescriptor* check = health->FindMethodByName("Check");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->input_type()->full_name(), "grpc.health.v1.HealthCheckRequest");
  EXPECT_TRUE(health->FindMethodByName("Watch")->server_streaming());
}

}  // namespace
}  // namespace imgproc::testing
