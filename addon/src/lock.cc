// An exclusive, non-blocking flock on a directory (the agent's bpffs root:
// bpffs holds no regular files, but any inode can carry a flock). The lock
// lives as long as the returned fd, so it goes with the process, crash or not.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "common.h"

namespace dsrlb {
namespace {

// lockDir(path) -> fd holding the lock, or -1 when another open file holds it
Napi::Value LockDir(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "path");
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) ThrowErrno(info.Env(), errno, "open", path);
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return Napi::Number::New(info.Env(), fd);
  int err = errno;
  close(fd);
  if (err == EWOULDBLOCK) return Napi::Number::New(info.Env(), -1);
  ThrowErrno(info.Env(), err, "flock", path);
}

}  // namespace

void InitLock(Napi::Env env, Napi::Object exports) {
  exports.Set("lockDir", Napi::Function::New(env, LockDir));
}

}  // namespace dsrlb
