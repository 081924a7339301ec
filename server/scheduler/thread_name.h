#pragma once

#include <pthread.h>

#include <string>

namespace imgproc {

// Names the calling thread for top -H, perf and gdb; Linux keeps the first 15 characters.
inline void NameThisThread(const std::string& name) { pthread_setname_np(pthread_self(), name.substr(0, 15).c_str()); }

}  // namespace imgproc
