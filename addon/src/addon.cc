// Module entry: the functions are grouped by what they wrap (objects, maps,
// programs, attachment); see src/bpf/native.ts for the typed view.
#include <bpf/libbpf.h>

#include "common.h"

namespace {

Napi::Value LibbpfVersion(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), libbpf_version_string());
}

Napi::Value NumPossibleCpus(const Napi::CallbackInfo& info) {
  int n = libbpf_num_possible_cpus();
  if (n < 0) dsrlb::ThrowErrno(info.Env(), n, "libbpf_num_possible_cpus", "cpus");
  return Napi::Number::New(info.Env(), n);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("libbpfVersion", Napi::Function::New(env, LibbpfVersion));
  exports.Set("numPossibleCpus", Napi::Function::New(env, NumPossibleCpus));
  dsrlb::InitObject(env, exports);
  dsrlb::InitMap(env, exports);
  dsrlb::InitProg(env, exports);
  dsrlb::InitAttach(env, exports);
  dsrlb::InitLock(env, exports);
  dsrlb::InitBtfLayout(env, exports);
  dsrlb::InitRingBuffer(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(dsrlb_native, Init)
