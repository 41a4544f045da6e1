#include "common.h"

#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace dsrlb {
namespace {

// libbpf reports through one global print callback; the addon is used from
// the JS thread only, so one buffer per thread is enough.
thread_local std::string captured;
constexpr size_t kCaptureLimit = 1 << 20;

int Print(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  // One message can be the whole verifier log, and its tail matters most:
  // size the buffer to the message instead of truncating it.
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return 0;
  std::string msg(static_cast<size_t>(n) + 1, '\0');
  vsnprintf(msg.data(), msg.size(), fmt, args);
  msg.resize(static_cast<size_t>(n));
  captured.append(msg);
  if (captured.size() > kCaptureLimit) captured.erase(0, captured.size() - kCaptureLimit);
  return 0;
}

struct PrintInstaller {
  PrintInstaller() { libbpf_set_print(Print); }
} installer;

const char* ErrnoName(int err) {
  switch (err) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(EBADF) E(EAGAIN)
    E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(ENODEV) E(ENOTDIR) E(EISDIR)
    E(EINVAL) E(ENFILE) E(EMFILE) E(ENOSPC) E(ERANGE) E(ENOSYS) E(EOPNOTSUPP)
    E(ENOTEMPTY) E(ELOOP) E(ENOMSG) E(EPROTO) E(ENOTSOCK) E(ESTALE) E(ENODATA)
#undef E
    default: return "EUNKNOWN";
  }
}

}  // namespace

void LogCaptureBegin() { captured.clear(); }

std::string LogTail(size_t max) {
  if (captured.size() <= max) return captured;
  return captured.substr(captured.size() - max);
}

void ThrowErrno(Napi::Env env, int err, const std::string& op, const std::string& subject) {
  if (err < 0) err = -err;
  std::string msg = op + "(" + subject + "): " + std::strerror(err);
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("op", Napi::String::New(env, op));
  e.Set("subject", Napi::String::New(env, subject));
  e.Set("libbpfLog", Napi::String::New(env, LogTail()));
  throw e;
}

void ThrowType(Napi::Env env, const std::string& what) {
  throw Napi::TypeError::New(env, what);
}

bool HasArg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && !info[i].IsUndefined() && !info[i].IsNull();
}

int ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!HasArg(info, i) || !info[i].IsNumber()) ThrowType(info.Env(), std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().Int32Value();
}

uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!HasArg(info, i) || !info[i].IsNumber()) ThrowType(info.Env(), std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().Uint32Value();
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!HasArg(info, i) || !info[i].IsString()) ThrowType(info.Env(), std::string(name) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

Napi::Buffer<uint8_t> ArgBuffer(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!HasArg(info, i) || !info[i].IsBuffer()) ThrowType(info.Env(), std::string(name) + " must be a Buffer");
  return info[i].As<Napi::Buffer<uint8_t>>();
}

}  // namespace dsrlb
