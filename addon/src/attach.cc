// Attaching programs: XDP on an ifindex, tc clsact (no TCX in libbpf 1.1),
// cgroup hooks (through links); the network namespace's cookie.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common.h"

namespace dsrlb {
namespace {

std::string Ifname(uint32_t ifindex) { return "ifindex " + std::to_string(ifindex); }

// xdpAttach(ifindex, progFd, flags): replaces whatever is attached in that mode.
Napi::Value XdpAttach(const Napi::CallbackInfo& info) {
  uint32_t ifindex = ArgU32(info, 0, "ifindex");
  LogCaptureBegin();
  int err = bpf_xdp_attach(ifindex, ArgInt(info, 1, "progFd"), ArgU32(info, 2, "flags"), nullptr);
  if (err) ThrowErrno(info.Env(), err, "bpf_xdp_attach", Ifname(ifindex));
  return info.Env().Undefined();
}

Napi::Value XdpDetach(const Napi::CallbackInfo& info) {
  uint32_t ifindex = ArgU32(info, 0, "ifindex");
  int err = bpf_xdp_detach(ifindex, ArgU32(info, 1, "flags"), nullptr);
  if (err) ThrowErrno(info.Env(), err, "bpf_xdp_detach", Ifname(ifindex));
  return info.Env().Undefined();
}

// xdpQuery(ifindex) -> {attachMode, progId, driverProgId, genericProgId}
Napi::Value XdpQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ifindex = ArgU32(info, 0, "ifindex");
  LIBBPF_OPTS(bpf_xdp_query_opts, opts);
  int err = bpf_xdp_query(ifindex, 0, &opts);
  if (err) ThrowErrno(env, err, "bpf_xdp_query", Ifname(ifindex));
  Napi::Object out = Napi::Object::New(env);
  out.Set("attachMode", opts.attach_mode);
  out.Set("progId", opts.prog_id);
  out.Set("driverProgId", opts.drv_prog_id);
  out.Set("genericProgId", opts.skb_prog_id);
  return out;
}

bpf_tc_attach_point AttachPoint(const Napi::CallbackInfo& info, size_t i) {
  std::string dir = ArgString(info, i, "direction");
  if (dir == "ingress") return BPF_TC_INGRESS;
  if (dir == "egress") return BPF_TC_EGRESS;
  ThrowType(info.Env(), "direction must be 'ingress' or 'egress'");
}

// tcAttach(ifindex, direction, progFd, handle, priority): creates the clsact
// qdisc when missing and replaces a filter at the same handle/priority.
Napi::Value TcAttach(const Napi::CallbackInfo& info) {
  uint32_t ifindex = ArgU32(info, 0, "ifindex");
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = AttachPoint(info, 1));
  int err = bpf_tc_hook_create(&hook);
  if (err && err != -EEXIST) ThrowErrno(info.Env(), err, "bpf_tc_hook_create", Ifname(ifindex));
  LIBBPF_OPTS(bpf_tc_opts, opts);
  opts.prog_fd = ArgInt(info, 2, "progFd");
  opts.flags = BPF_TC_F_REPLACE;
  opts.handle = ArgU32(info, 3, "handle");
  opts.priority = ArgU32(info, 4, "priority");
  err = bpf_tc_attach(&hook, &opts);
  if (err) ThrowErrno(info.Env(), err, "bpf_tc_attach", Ifname(ifindex));
  return Napi::Number::New(info.Env(), opts.prog_id);
}

// tcDetach(ifindex, direction, handle, priority)
Napi::Value TcDetach(const Napi::CallbackInfo& info) {
  uint32_t ifindex = ArgU32(info, 0, "ifindex");
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = AttachPoint(info, 1));
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = ArgU32(info, 2, "handle"), .priority = ArgU32(info, 3, "priority"));
  int err = bpf_tc_detach(&hook, &opts);
  if (err) ThrowErrno(info.Env(), err, "bpf_tc_detach", Ifname(ifindex));
  return info.Env().Undefined();
}

// tcQuery(ifindex, direction, handle, priority) -> prog id | null
Napi::Value TcQuery(const Napi::CallbackInfo& info) {
  uint32_t ifindex = ArgU32(info, 0, "ifindex");
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = AttachPoint(info, 1));
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = ArgU32(info, 2, "handle"), .priority = ArgU32(info, 3, "priority"));
  int err = bpf_tc_query(&hook, &opts);
  if (err == -ENOENT || err == -EINVAL) return info.Env().Null();
  if (err) ThrowErrno(info.Env(), err, "bpf_tc_query", Ifname(ifindex));
  return Napi::Number::New(info.Env(), opts.prog_id);
}

int OpenCgroup(const Napi::CallbackInfo& info, const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) ThrowErrno(info.Env(), errno, "open cgroup", path);
  return fd;
}

// cgroupLinkCreate(path, progFd, attachType) -> link fd. A link, not
// bpf_prog_attach: it can be pinned (it outlives the agent), replaced in one
// step (linkUpdate) and is detached when its last pin and fd go.
Napi::Value CgroupLinkCreate(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "cgroupPath");
  int cg = OpenCgroup(info, path);
  LogCaptureBegin();
  int fd = bpf_link_create(ArgInt(info, 1, "progFd"), cg, static_cast<bpf_attach_type>(ArgU32(info, 2, "attachType")), nullptr);
  int saved = errno;
  close(cg);
  if (fd < 0) ThrowErrno(info.Env(), saved, "bpf_link_create", path);
  return Napi::Number::New(info.Env(), fd);
}

// linkUpdate(linkFd, progFd): the link runs the new program from now on.
Napi::Value LinkUpdate(const Napi::CallbackInfo& info) {
  int link = ArgInt(info, 0, "linkFd");
  if (bpf_link_update(link, ArgInt(info, 1, "progFd"), nullptr)) ThrowErrno(info.Env(), errno, "bpf_link_update", "link fd " + std::to_string(link));
  return info.Env().Undefined();
}

// linkDetach(linkFd): detaches now, whoever else holds the link.
Napi::Value LinkDetach(const Napi::CallbackInfo& info) {
  int link = ArgInt(info, 0, "linkFd");
  if (bpf_link_detach(link)) ThrowErrno(info.Env(), errno, "bpf_link_detach", "link fd " + std::to_string(link));
  return info.Env().Undefined();
}

// linkInfo(linkFd) -> {id, progId, type, attachType, cgroupId} (cgroupId as a
// bigint; 0 once detached).
Napi::Value LinkInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_link_info li = ObjInfo<bpf_link_info>(env, ArgInt(info, 0, "linkFd"), "link");
  Napi::Object out = Napi::Object::New(env);
  out.Set("id", li.id);
  out.Set("progId", li.prog_id);
  out.Set("type", li.type);
  bool cgroup = li.type == BPF_LINK_TYPE_CGROUP;
  out.Set("attachType", cgroup ? li.cgroup.attach_type : 0);
  out.Set("cgroupId", Napi::BigInt::New(env, static_cast<uint64_t>(cgroup ? li.cgroup.cgroup_id : 0)));
  return out;
}

// netnsCookie() -> this thread's network namespace cookie (SO_NETNS_COOKIE),
// as bpf_get_netns_cookie() gives it to programs.
Napi::Value NetnsCookie(const Napi::CallbackInfo& info) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) ThrowErrno(info.Env(), errno, "socket", "SO_NETNS_COOKIE");
  uint64_t cookie = 0;
  socklen_t len = sizeof(cookie);
  int err = getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len);
  int saved = errno;
  close(s);
  if (err) ThrowErrno(info.Env(), saved, "getsockopt", "SO_NETNS_COOKIE");
  return Napi::BigInt::New(info.Env(), cookie);
}

// ifNameToIndex(name) -> ifindex in this thread's network namespace (sysfs
// may show another namespace's devices after a bare setns/nsenter).
Napi::Value IfNameToIndex(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0, "name");
  unsigned idx = if_nametoindex(name.c_str());
  if (idx == 0) ThrowErrno(info.Env(), errno, "if_nametoindex", name);
  return Napi::Number::New(info.Env(), idx);
}

}  // namespace

void InitAttach(Napi::Env env, Napi::Object exports) {
 exports.Set("ifNameToIndex", Napi::Function::New(env, IfNameToIndex));
  exports.Set("xdpAttach", Napi::Function::New(env, XdpAttach));
  exports.Set("xdpDetach", Napi::Function::New(env, XdpDetach));
  exports.Set("xdpQuery", Napi::Function::New(env, XdpQuery));
  exports.Set("tcAttach", Napi::Function::New(env, TcAttach));
  exports.Set("tcDetach", Napi::Function::New(env, TcDetach));
  exports.Set("tcQuery", Napi::Function::New(env, TcQuery));
  exports.Set("cgroupLinkCreate", Napi::Function::New(env, CgroupLinkCreate));
  exports.Set("linkUpdate", Napi::Function::New(env, LinkUpdate));
  exports.Set("linkDetach", Napi::Function::New(env, LinkDetach));
  exports.Set("linkInfo", Napi::Function::New(env, LinkInfo));
  exports.Set("netnsCookie", Napi::Function::New(env, NetnsCookie));
}

}  // namespace dsrlb
