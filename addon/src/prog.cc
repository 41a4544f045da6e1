// Program operations that do not attach: BPF_PROG_RUN and program info.
#include <bpf/bpf.h>

#include <cerrno>
#include <string>

#include "common.h"

namespace dsrlb {
namespace {

// progTestRun(fd, data, ctx | null, repeat, dataOutSize) -> {retval, dataOut, duration}
// duration is the kernel's mean nanoseconds per run.
Napi::Value ProgTestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  auto data = ArgBuffer(info, 1, "data");
  uint32_t repeat = ArgU32(info, 3, "repeat");
  uint32_t out_size = ArgU32(info, 4, "dataOutSize");
  auto out = Napi::Buffer<uint8_t>::New(env, out_size);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data.Data(), .data_out = out.Data(),
              .data_size_in = static_cast<__u32>(data.Length()), .data_size_out = out_size,
              .repeat = static_cast<int>(repeat));
  if (HasArg(info, 2)) {
    auto ctx = ArgBuffer(info, 2, "ctx");
    opts.ctx_in = ctx.Data();
    opts.ctx_size_in = static_cast<__u32>(ctx.Length());
  }
  if (bpf_prog_test_run_opts(fd, &opts)) ThrowErrno(env, errno, "bpf_prog_test_run_opts", "prog fd " + std::to_string(fd));
  Napi::Object res = Napi::Object::New(env);
  res.Set("retval", opts.retval);
  res.Set("dataOut", Napi::Buffer<uint8_t>::Copy(env, out.Data(), opts.data_size_out));
  res.Set("duration", opts.duration);
  return res;
}

// progInfo(fd) -> {id, type, name}
Napi::Value ProgInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_prog_info pi = ObjInfo<bpf_prog_info>(env, ArgInt(info, 0, "fd"), "prog");
  Napi::Object out = Napi::Object::New(env);
  out.Set("id", pi.id);
  out.Set("type", pi.type);
  out.Set("name", pi.name);
  return out;
}

}  // namespace

void InitProg(Napi::Env env, Napi::Object exports) {
  exports.Set("progTestRun", Napi::Function::New(env, ProgTestRun));
  exports.Set("progInfo", Napi::Function::New(env, ProgInfo));
}

}  // namespace dsrlb
