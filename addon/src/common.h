// Shared helpers of the native layer: errno -> JS errors that carry the
// libbpf log captured during the failing call, and argument conversions.
#pragma once
#include <bpf/bpf.h>
#include <napi.h>

#include <cerrno>
#include <string>

namespace dsrlb {

// Starts capturing libbpf's print output (warnings, verifier log) for the
// current call; LogTail returns the last `max` bytes captured since.
void LogCaptureBegin();
std::string LogTail(size_t max = 4096);

// Throws an Error with .errno (positive), .code (e.g. "ENOENT"), .op (the
// libbpf call), .subject (map/program/path) and .libbpfLog (captured tail).
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const std::string& op,
                             const std::string& subject);

// Throws a TypeError for a bad argument (programming error in the TS layer).
[[noreturn]] void ThrowType(Napi::Env env, const std::string& what);

// bpf_obj_get_info_by_fd for a map, program or link info struct; throws naming `subject`.
template <typename Info>
Info InfoByFd(Napi::Env env, int fd, const std::string& subject) {
  Info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len)) ThrowErrno(env, errno, "bpf_obj_get_info_by_fd", subject);
  return info;
}

int ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name);
uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i, const char* name);
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name);
Napi::Buffer<uint8_t> ArgBuffer(const Napi::CallbackInfo& info, size_t i, const char* name);
bool HasArg(const Napi::CallbackInfo& info, size_t i);

void InitObject(Napi::Env env, Napi::Object exports);
void InitMap(Napi::Env env, Napi::Object exports);
void InitProg(Napi::Env env, Napi::Object exports);
void InitAttach(Napi::Env env, Napi::Object exports);
void InitLock(Napi::Env env, Napi::Object exports);
void InitBtfLayout(Napi::Env env, Napi::Object exports);
void InitRingBuffer(Napi::Env env, Napi::Object exports);

}  // namespace dsrlb
