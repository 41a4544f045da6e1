// RingBuffer: a BPF ring buffer map (lbctl monitor's events) read with
// libbpf's ring_buffer__consume, called from JavaScript on a timer. Consuming
// on the JS thread keeps every record's lifetime inside one call (no thread,
// no ThreadSafeFunction to drain or release at exit, nothing running while
// Node exits on a signal): a monitor reads at human speed, and the ring
// holds DSRLB_MONITOR_RING_BYTES between two calls.
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"

namespace dsrlb {
namespace {

class RingBuffer : public Napi::ObjectWrap<RingBuffer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RingBuffer", {
      InstanceMethod("consume", &RingBuffer::Consume),
      InstanceMethod("close", &RingBuffer::Close),
    });
  }

  // new RingBuffer(mapFd): the fd stays the caller's; the ring maps its own pages.
  explicit RingBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingBuffer>(info) {
    int fd = ArgInt(info, 0, "mapFd");
    LogCaptureBegin();
    rb_ = ring_buffer__new(fd, OnSample, this, nullptr);
    if (!rb_) ThrowErrno(info.Env(), errno, "ring_buffer__new", "map fd " + std::to_string(fd));
  }

  ~RingBuffer() override { Release(); }

 private:
  static int OnSample(void* ctx, void* data, size_t size) {
    auto* self = static_cast<RingBuffer*>(ctx);
    uint32_t len = static_cast<uint32_t>(size);
    const auto* bytes = static_cast<const uint8_t*>(data);
    auto& out = self->batch_;
    out.insert(out.end(), reinterpret_cast<const uint8_t*>(&len), reinterpret_cast<const uint8_t*>(&len) + sizeof(len));
    out.insert(out.end(), bytes, bytes + size);
    return 0;
  }

  // consume() -> Buffer | null: every record waiting, each as a u32 length (host order) and its bytes.
  Napi::Value Consume(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!rb_) ThrowErrno(env, EBADF, "ring_buffer__consume", "ring buffer (closed)");
    batch_.clear();
    int n = ring_buffer__consume(rb_);
    if (n < 0) ThrowErrno(env, -n, "ring_buffer__consume", "ring buffer");
    if (batch_.empty()) return env.Null();
    return Napi::Buffer<uint8_t>::Copy(env, batch_.data(), batch_.size());
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  void Release() {
    if (rb_) ring_buffer__free(rb_);
    rb_ = nullptr;
  }

  ring_buffer* rb_ = nullptr;
  std::vector<uint8_t> batch_;
};

}  // namespace

void InitRingBuffer(Napi::Env env, Napi::Object exports) {
  exports.Set("RingBuffer", RingBuffer::Define(env));
}

}  // namespace dsrlb
