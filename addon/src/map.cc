// Map operations on raw fds (maps of a loaded object, pinned maps opened by
// path, inner maps created at run time). Sizes come from the typed layer,
// which knows per-CPU value layouts.
#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "common.h"

namespace dsrlb {
namespace {

std::string FdSubject(int fd) { return "fd " + std::to_string(fd); }

// mapLookup(fd, key, valueSize) -> Buffer | null
Napi::Value MapLookup(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd");
  auto key = ArgBuffer(info, 1, "key");
  uint32_t size = ArgU32(info, 2, "valueSize");
  auto value = Napi::Buffer<uint8_t>::New(info.Env(), size);
  if (bpf_map_lookup_elem(fd, key.Data(), value.Data())) {
    if (errno == ENOENT) return info.Env().Null();
    ThrowErrno(info.Env(), errno, "bpf_map_lookup_elem", FdSubject(fd));
  }
  return value;
}

// mapUpdate(fd, key, value, flags)
Napi::Value MapUpdate(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd");
  auto key = ArgBuffer(info, 1, "key");
  auto value = ArgBuffer(info, 2, "value");
  uint64_t flags = HasArg(info, 3) ? ArgU32(info, 3, "flags") : uint32_t{BPF_ANY};
  if (bpf_map_update_elem(fd, key.Data(), value.Data(), flags))
    ThrowErrno(info.Env(), errno, "bpf_map_update_elem", FdSubject(fd));
  return info.Env().Undefined();
}

// mapDelete(fd, key) -> true if it existed
Napi::Value MapDelete(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd");
  auto key = ArgBuffer(info, 1, "key");
  if (bpf_map_delete_elem(fd, key.Data())) {
    if (errno == ENOENT) return Napi::Boolean::New(info.Env(), false);
    ThrowErrno(info.Env(), errno, "bpf_map_delete_elem", FdSubject(fd));
  }
  return Napi::Boolean::New(info.Env(), true);
}

// mapNextKey(fd, key | null, keySize) -> Buffer | null at the end
Napi::Value MapNextKey(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd");
  uint32_t size = ArgU32(info, 2, "keySize");
  const void* cur = HasArg(info, 1) ? ArgBuffer(info, 1, "key").Data() : nullptr;
  auto next = Napi::Buffer<uint8_t>::New(info.Env(), size);
  if (bpf_map_get_next_key(fd, cur, next.Data())) {
    if (errno == ENOENT) return info.Env().Null();
    ThrowErrno(info.Env(), errno, "bpf_map_get_next_key", FdSubject(fd));
  }
  return next;
}

// mapLookupBatch(fd, token | null, keySize, valueSize, max)
//   -> {keys, values, count, token, done}; token is opaque (a bucket index).
Napi::Value MapLookupBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  uint32_t key_size = ArgU32(info, 2, "keySize");
  uint32_t value_size = ArgU32(info, 3, "valueSize");
  uint32_t max = ArgU32(info, 4, "max");
  uint32_t token_size = std::max<uint32_t>(key_size, 8);
  auto keys = Napi::Buffer<uint8_t>::New(env, size_t(key_size) * max);
  auto values = Napi::Buffer<uint8_t>::New(env, size_t(value_size) * max);
  auto token = Napi::Buffer<uint8_t>::New(env, token_size);
  void* in = HasArg(info, 1) ? ArgBuffer(info, 1, "token").Data() : nullptr;
  __u32 count = max;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  bool done = false;
  if (bpf_map_lookup_batch(fd, in, token.Data(), keys.Data(), values.Data(), &count, &opts)) {
    if (errno != ENOENT) ThrowErrno(env, errno, "bpf_map_lookup_batch", FdSubject(fd));
    done = true;
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("keys", keys);
  out.Set("values", values);
  out.Set("count", count);
  out.Set("token", token);
  out.Set("done", done);
  return out;
}

// mapUpdateBatch(fd, keys, values, count, flags) -> count written
Napi::Value MapUpdateBatch(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd");
  auto keys = ArgBuffer(info, 1, "keys");
  auto values = ArgBuffer(info, 2, "values");
  __u32 count = ArgU32(info, 3, "count");
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = HasArg(info, 4) ? ArgU32(info, 4, "flags") : 0);
  if (bpf_map_update_batch(fd, keys.Data(), values.Data(), &count, &opts))
    ThrowErrno(info.Env(), errno, "bpf_map_update_batch", FdSubject(fd));
  return Napi::Number::New(info.Env(), count);
}

// mapDeleteBatch(fd, keys, count) -> count deleted
Napi::Value MapDeleteBatch(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd");
  auto keys = ArgBuffer(info, 1, "keys");
  __u32 count = ArgU32(info, 2, "count");
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  if (bpf_map_delete_batch(fd, keys.Data(), &count, &opts) && errno != ENOENT)
    ThrowErrno(info.Env(), errno, "bpf_map_delete_batch", FdSubject(fd));
  return Napi::Number::New(info.Env(), count);
}

// mapInfo(fd) -> {type, id, name, keySize, valueSize, maxEntries, flags}
Napi::Value MapInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_map_info mi = ObjInfo<bpf_map_info>(env, ArgInt(info, 0, "fd"), "map");
  Napi::Object out = Napi::Object::New(env);
  out.Set("type", mi.type);
  out.Set("id", mi.id);
  out.Set("name", mi.name);
  out.Set("keySize", mi.key_size);
  out.Set("valueSize", mi.value_size);
  out.Set("maxEntries", mi.max_entries);
  out.Set("flags", mi.map_flags);
  return out;
}

// mapCreate(type, name, keySize, valueSize, maxEntries, flags, innerMapFd?) -> fd
Napi::Value MapCreate(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 1, "name");
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = ArgU32(info, 5, "flags"));
  if (HasArg(info, 6)) opts.inner_map_fd = ArgU32(info, 6, "innerMapFd");
  int fd = bpf_map_create(static_cast<bpf_map_type>(ArgU32(info, 0, "type")), name.c_str(),
                          ArgU32(info, 2, "keySize"), ArgU32(info, 3, "valueSize"),
                          ArgU32(info, 4, "maxEntries"), &opts);
  if (fd < 0) ThrowErrno(info.Env(), errno, "bpf_map_create", name);
  return Napi::Number::New(info.Env(), fd);
}

// objGet(path) -> fd of a pinned map or program
Napi::Value ObjGet(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "path");
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) ThrowErrno(info.Env(), errno, "bpf_obj_get", path);
  return Napi::Number::New(info.Env(), fd);
}

// objPin(fd, path)
Napi::Value ObjPin(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 1, "path");
  if (bpf_obj_pin(ArgInt(info, 0, "fd"), path.c_str())) ThrowErrno(info.Env(), errno, "bpf_obj_pin", path);
  return info.Env().Undefined();
}

// mapFdById(id) / progFdById(id) -> fd
Napi::Value MapFdById(const Napi::CallbackInfo& info) {
  uint32_t id = ArgU32(info, 0, "id");
  int fd = bpf_map_get_fd_by_id(id);
  if (fd < 0) ThrowErrno(info.Env(), errno, "bpf_map_get_fd_by_id", "map id " + std::to_string(id));
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value ProgFdById(const Napi::CallbackInfo& info) {
  uint32_t id = ArgU32(info, 0, "id");
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) ThrowErrno(info.Env(), errno, "bpf_prog_get_fd_by_id", "prog id " + std::to_string(id));
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd");
  if (close(fd)) ThrowErrno(info.Env(), errno, "close", FdSubject(fd));
  return info.Env().Undefined();
}

}  // namespace

void InitMap(Napi::Env env, Napi::Object exports) {
  exports.Set("mapLookup", Napi::Function::New(env, MapLookup));
  exports.Set("mapUpdate", Napi::Function::New(env, MapUpdate));
  exports.Set("mapDelete", Napi::Function::New(env, MapDelete));
  exports.Set("mapNextKey", Napi::Function::New(env, MapNextKey));
  exports.Set("mapLookupBatch", Napi::Function::New(env, MapLookupBatch));
  exports.Set("mapUpdateBatch", Napi::Function::New(env, MapUpdateBatch));
  exports.Set("mapDeleteBatch", Napi::Function::New(env, MapDeleteBatch));
  exports.Set("mapInfo", Napi::Function::New(env, MapInfo));
  exports.Set("mapCreate", Napi::Function::New(env, MapCreate));
  exports.Set("objGet", Napi::Function::New(env, ObjGet));
  exports.Set("objPin", Napi::Function::New(env, ObjPin));
  exports.Set("mapFdById", Napi::Function::New(env, MapFdById));
  exports.Set("progFdById", Napi::Function::New(env, ProgFdById));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
}

}  // namespace dsrlb
