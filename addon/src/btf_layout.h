// The memory layout of a BTF type as a plain JS value, so the TS layer can
// compare two builds' maps and translate entries member by member.
#pragma once
#include <bpf/btf.h>
#include <napi.h>

namespace dsrlb {

// {kind: 'int'|'struct'|'union'|'array'|'other', name, size, members?: [{name,
// offset (bytes), type}], elem?, count?}; typedefs and qualifiers are looked
// through, enums read as ints of their size, bitfield members as 'other'.
Napi::Value BtfLayout(Napi::Env env, const btf* b, __u32 id);

}  // namespace dsrlb
