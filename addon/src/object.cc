// BpfObject: one libbpf bpf_object (an ELF file) from open to close.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/btf.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "btf_layout.h"
#include "common.h"

namespace dsrlb {
namespace {

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BpfObject", {
      InstanceMethod("setRodata", &BpfObject::SetRodata),
      InstanceMethod("setMaxEntries", &BpfObject::SetMaxEntries),
      InstanceMethod("reuseMapFd", &BpfObject::ReuseMapFd),
      InstanceMethod("load", &BpfObject::Load),
      InstanceMethod("programs", &BpfObject::Programs),
      InstanceMethod("maps", &BpfObject::Maps),
      InstanceMethod("btfStruct", &BpfObject::BtfStruct),
      InstanceMethod("btfEnum", &BpfObject::BtfEnum),
      InstanceMethod("mapLayouts", &BpfObject::MapLayouts),
      InstanceMethod("close", &BpfObject::Close),
    });
  }

  // new BpfObject(path, pinRoot?: string)
  explicit BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
    path_ = ArgString(info, 0, "path");
    std::string pin_root = HasArg(info, 1) ? ArgString(info, 1, "pinRoot") : "";
    LibbpfOpts opts{};
    opts.o.sz = sizeof(opts.o);
    if (!pin_root.empty()) opts.o.pin_root_path = pin_root.c_str();
    LogCaptureBegin();
    obj_ = bpf_object__open_file(path_.c_str(), &opts.o);
    int err = libbpf_get_error(obj_);
    if (err) {
      obj_ = nullptr;
      ThrowErrno(info.Env(), err, "bpf_object__open_file", path_);
    }
  }

  ~BpfObject() override { Release(); }

 private:
  // Keeps the struct's trailing padding zeroed as libbpf requires.
  struct LibbpfOpts {
    bpf_object_open_opts o;
  };

  bpf_object* Obj(Napi::Env env) {
    if (!obj_) ThrowErrno(env, EBADF, "bpf_object", path_ + " (closed)");
    return obj_;
  }

  bpf_map* FindMap(Napi::Env env, const std::string& name) {
    bpf_map* map = bpf_object__find_map_by_name(Obj(env), name.c_str());
    if (!map) ThrowErrno(env, ENOENT, "bpf_object__find_map_by_name", name);
    return map;
  }

  // setRodata(variable, bytes): overrides a `const volatile` global before load.
  Napi::Value SetRodata(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string var = ArgString(info, 0, "variable");
    Napi::Buffer<uint8_t> value = ArgBuffer(info, 1, "value");
    bpf_object* obj = Obj(env);
    bpf_map* rodata = nullptr;
    bpf_map* map;
    bpf_object__for_each_map(map, obj) {
      const char* n = bpf_map__name(map);
      size_t len = strlen(n);
      if (len >= 7 && strcmp(n + len - 7, ".rodata") == 0) rodata = map;
    }
    if (!rodata) ThrowErrno(env, ENOENT, "find .rodata", path_);
    const btf* b = bpf_object__btf(obj);
    int sec_id = b ? btf__find_by_name_kind(b, ".rodata", BTF_KIND_DATASEC) : -ENOENT;
    if (sec_id < 0) ThrowErrno(env, ENOENT, "btf .rodata datasec", path_);
    const btf_type* sec = btf__type_by_id(b, sec_id);
    const btf_var_secinfo* vs = btf_var_secinfos(sec);
    for (int i = 0; i < btf_vlen(sec); i++, vs++) {
      const btf_type* v = btf__type_by_id(b, vs->type);
      if (var != btf__name_by_offset(b, v->name_off)) continue;
      if (value.Length() != vs->size) ThrowErrno(env, EINVAL, "setRodata size", var);
      size_t size = 0;
      const void* init = bpf_map__initial_value(rodata, &size);
      std::vector<uint8_t> data(static_cast<const uint8_t*>(init), static_cast<const uint8_t*>(init) + size);
      memcpy(data.data() + vs->offset, value.Data(), vs->size);
      int err = bpf_map__set_initial_value(rodata, data.data(), data.size());
      if (err) ThrowErrno(env, err, "bpf_map__set_initial_value", var);
      return env.Undefined();
    }
    ThrowErrno(env, ENOENT, "setRodata", var);
  }

  // setMaxEntries(map, n): before load, e.g. small maps in tests.
  Napi::Value SetMaxEntries(const Napi::CallbackInfo& info) {
    std::string name = ArgString(info, 0, "map");
    int err = bpf_map__set_max_entries(FindMap(info.Env(), name), ArgU32(info, 1, "maxEntries"));
    if (err) ThrowErrno(info.Env(), err, "bpf_map__set_max_entries", name);
    return info.Env().Undefined();
  }

  // reuseMapFd(map, fd): use an existing kernel map instead of creating one.
  Napi::Value ReuseMapFd(const Napi::CallbackInfo& info) {
    std::string name = ArgString(info, 0, "map");
    int err = bpf_map__reuse_fd(FindMap(info.Env(), name), ArgInt(info, 1, "fd"));
    if (err) ThrowErrno(info.Env(), err, "bpf_map__reuse_fd", name);
    return info.Env().Undefined();
  }

  Napi::Value Load(const Napi::CallbackInfo& info) {
    LogCaptureBegin();
    int err = bpf_object__load(Obj(info.Env()));
    if (err) ThrowErrno(info.Env(), err, "bpf_object__load", path_);
    return info.Env().Undefined();
  }

  Napi::Value Programs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    bpf_program* prog;
    uint32_t i = 0;
    bpf_object__for_each_program(prog, Obj(env)) {
      Napi::Object p = Napi::Object::New(env);
      p.Set("name", bpf_program__name(prog));
      p.Set("section", bpf_program__section_name(prog));
      p.Set("type", static_cast<double>(bpf_program__type(prog)));
      p.Set("expectedAttachType", static_cast<double>(bpf_program__expected_attach_type(prog)));
      p.Set("fd", bpf_program__fd(prog));
      out.Set(i++, p);
    }
    return out;
  }

  Napi::Value Maps(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    bpf_map* map;
    uint32_t i = 0;
    bpf_object__for_each_map(map, Obj(env)) {
      Napi::Object m = Napi::Object::New(env);
      m.Set("name", bpf_map__name(map));
      m.Set("type", static_cast<double>(bpf_map__type(map)));
      m.Set("keySize", bpf_map__key_size(map));
      m.Set("valueSize", bpf_map__value_size(map));
      m.Set("maxEntries", bpf_map__max_entries(map));
      m.Set("flags", bpf_map__map_flags(map));
      m.Set("fd", bpf_map__fd(map));
      const char* pin = bpf_map__pin_path(map);
      m.Set("pinPath", pin ? Napi::Value(Napi::String::New(env, pin)) : env.Null());
      m.Set("internal", bpf_map__is_internal(map));
      out.Set(i++, m);
    }
    return out;
  }

  // btfStruct(name) -> the struct's layout (btf_layout.h) | null
  Napi::Value BtfStruct(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string name = ArgString(info, 0, "struct");
    const btf* b = bpf_object__btf(Obj(env));
    if (!b) return env.Null();
    int id = btf__find_by_name_kind(b, name.c_str(), BTF_KIND_STRUCT);
    if (id < 0) return env.Null();
    return BtfLayout(env, b, id);
  }

  // mapLayouts() -> [{name, key, value, innerValueSize}] for every map that is not internal, from the
  // object's BTF (readable before load: the layout decides where the maps are pinned).
  Napi::Value MapLayouts(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const btf* b = bpf_object__btf(Obj(env));
    Napi::Array out = Napi::Array::New(env);
    bpf_map* map;
    uint32_t i = 0;
    bpf_object__for_each_map(map, Obj(env)) {
      if (bpf_map__is_internal(map)) continue;
      Napi::Object m = Napi::Object::New(env);
      m.Set("name", bpf_map__name(map));
      __u32 key = bpf_map__btf_key_type_id(map);
      __u32 value = bpf_map__btf_value_type_id(map);
      m.Set("key", b && key ? BtfLayout(env, b, key) : env.Null());
      m.Set("value", b && value ? BtfLayout(env, b, value) : env.Null());
      const bpf_map* inner = bpf_map__inner_map(map);
      m.Set("inner", inner ? Napi::Value(Napi::String::New(env,
          std::to_string(bpf_map__type(inner)) + "/" + std::to_string(bpf_map__key_size(inner)) + "/" +
          std::to_string(bpf_map__value_size(inner)) + "/" + std::to_string(bpf_map__map_flags(inner))))
                       : env.Null());
      out.Set(i++, m);
    }
    return out;
  }

  // btfEnum(name) -> [{name, value}] | null
  Napi::Value BtfEnum(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string name = ArgString(info, 0, "enum");
    const btf* b = bpf_object__btf(Obj(env));
    if (!b) return env.Null();
    int id = btf__find_by_name_kind(b, name.c_str(), BTF_KIND_ENUM);
    if (id < 0) return env.Null();
    const btf_type* t = btf__type_by_id(b, id);
    Napi::Array out = Napi::Array::New(env);
    const struct btf_enum* e = btf_enum(t);
    for (int i = 0; i < btf_vlen(t); i++, e++) {
      Napi::Object eo = Napi::Object::New(env);
      eo.Set("name", btf__name_by_offset(b, e->name_off));
      eo.Set("value", e->val);
      out.Set(i, eo);
    }
    return out;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  void Release() {
    if (obj_) bpf_object__close(obj_);
    obj_ = nullptr;
  }

  std::string path_;
  bpf_object* obj_ = nullptr;
};

}  // namespace

void InitObject(Napi::Env env, Napi::Object exports) {
  exports.Set("BpfObject", BpfObject::Define(env));
}

}  // namespace dsrlb
