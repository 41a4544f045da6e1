// BtfLayout and mapBtfLayout(fd): the key and value layout of a map in the
// kernel, read from the BTF the map was created with.
#include "btf_layout.h"

#include <bpf/bpf.h>
#include <linux/btf.h>

#include <cerrno>
#include <string>

#include "common.h"

namespace dsrlb {
namespace {

// Deeper nesting than any map key or value has: a cycle guard.
constexpr int kMaxDepth = 16;

Napi::Object Leaf(Napi::Env env, const char* kind, const std::string& name, __u32 size) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", kind);
  o.Set("name", name);
  o.Set("size", size);
  return o;
}

Napi::Value Describe(Napi::Env env, const btf* b, __u32 id, int depth) {
  __s32 resolved = btf__resolve_type(b, id);  // through typedefs and qualifiers
  if (resolved < 0 || depth > kMaxDepth) return Leaf(env, "other", "", 0);
  const btf_type* t = btf__type_by_id(b, resolved);
  std::string name = btf__name_by_offset(b, t->name_off);
  switch (btf_kind(t)) {
    case BTF_KIND_INT:
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
      return Leaf(env, "int", name, t->size);
    case BTF_KIND_ARRAY: {
      const struct btf_array* a = btf_array(t);
      Napi::Object o = Leaf(env, "array", name, static_cast<__u32>(btf__resolve_size(b, resolved)));
      o.Set("elem", Describe(env, b, a->type, depth + 1));
      o.Set("count", a->nelems);
      return o;
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      Napi::Object o = Leaf(env, btf_is_struct(t) ? "struct" : "union", name, t->size);
      Napi::Array members = Napi::Array::New(env);
      const btf_member* m = btf_members(t);
      for (int i = 0; i < btf_vlen(t); i++, m++) {
        Napi::Object mo = Napi::Object::New(env);
        mo.Set("name", btf__name_by_offset(b, m->name_off));
        mo.Set("offset", btf_member_bit_offset(t, i) / 8);
        bool bitfield = btf_member_bitfield_size(t, i) != 0 || btf_member_bit_offset(t, i) % 8 != 0;
        mo.Set("type", bitfield ? Napi::Value(Leaf(env, "other", "bitfield", 0)) : Describe(env, b, m->type, depth + 1));
        members.Set(i, mo);
      }
      o.Set("members", members);
      return o;
    }
    default:
      return Leaf(env, "other", name, static_cast<__u32>(btf__resolve_size(b, resolved)));
  }
}

// mapBtfLayout(fd) -> {key, value} (each null when the map has no BTF for it)
Napi::Value MapBtfLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  bpf_map_info mi = InfoByFd<bpf_map_info>(env, fd, "map fd " + std::to_string(fd));
  Napi::Object out = Napi::Object::New(env);
  out.Set("key", env.Null());
  out.Set("value", env.Null());
  if (mi.btf_id == 0) return out;
  btf* b = btf__load_from_kernel_by_id(mi.btf_id);
  if (!b) ThrowErrno(env, errno, "btf__load_from_kernel_by_id", "map " + std::string(mi.name));
  if (mi.btf_key_type_id) out.Set("key", BtfLayout(env, b, mi.btf_key_type_id));
  if (mi.btf_value_type_id) out.Set("value", BtfLayout(env, b, mi.btf_value_type_id));
  btf__free(b);
  return out;
}

}  // namespace

Napi::Value BtfLayout(Napi::Env env, const btf* b, __u32 id) {
  return Describe(env, b, id, 0);
}

void InitBtfLayout(Napi::Env env, Napi::Object exports) {
  exports.Set("mapBtfLayout", Napi::Function::New(env, MapBtfLayout));
}

}  // namespace dsrlb
