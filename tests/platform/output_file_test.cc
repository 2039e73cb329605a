// OutputFile (platform/base/output_file.h): writes through a unique temporary file and a
// rename; never replaces a device, FIFO or directory; writes through symbolic links; leaves the
// target untouched on failure; and the model loader refuses a FIFO without blocking.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include "platform/base/mapped_file.h"
#include "platform/base/output_file.h"
#include "temp_files.h"

namespace fs = std::filesystem;
using namespace floe;

namespace {

struct TempDir {
  fs::path dir = testing::TempPath("output_file_test", "dir");
  TempDir() { fs::create_directories(dir); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Status WriteAll(const std::string& path, const std::string& text) {
  FLOE_ASSIGN_OR_RETURN(OutputFile f, OutputFile::Create(path));
  FLOE_RETURN_IF_ERROR(f.Write(text.data(), text.size()));
  return f.Commit();
}

size_t Entries(const fs::path& dir) {
  return size_t(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

}  // namespace

TEST_CASE("output file: new and replaced files, nothing left behind", "[unit]") {
  TempDir t;
  const fs::path out = t.dir / "model.gguf";
  REQUIRE(WriteAll(out.string(), "first").ok());
  CHECK(Read(out) == "first");
  fs::permissions(out, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  REQUIRE(WriteAll(out.string(), "second").ok());
  CHECK(Read(out) == "second");
  CHECK(fs::status(out).permissions() ==
        (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
  CHECK(Entries(t.dir) == 1);  // no temporary file left
}

TEST_CASE("output file: an uncommitted or failed write leaves the target as it was", "[unit]") {
  TempDir t;
  const fs::path out = t.dir / "state.bin";
  REQUIRE(WriteAll(out.string(), "kept").ok());
  {
    auto f = OutputFile::Create(out.string());
    REQUIRE(f.ok());
    REQUIRE(f->Write("lost", 4).ok());
  }  // dropped without Commit
  CHECK(Read(out) == "kept");
  CHECK(Entries(t.dir) == 1);
}

TEST_CASE("output file: an existing OUT.tmp is not clobbered", "[unit]") {
  // Issue 27 item 4: the GGUF writer used OUT.tmp as its temporary name.
  TempDir t;
  const fs::path out = t.dir / "model.gguf";
  { std::ofstream(t.dir / "model.gguf.tmp") << "someone else's"; }
  REQUIRE(WriteAll(out.string(), "model").ok());
  CHECK(Read(t.dir / "model.gguf.tmp") == "someone else's");
  CHECK(Read(out) == "model");
}

TEST_CASE("output file: devices, FIFOs and directories are refused, not replaced", "[unit]") {
  // Issue 27 item 4: `floe convert ... -o /dev/full` replaced the device node with a file.
  TempDir t;
  const fs::path fifo = t.dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  Status st = WriteAll(fifo.string(), "x");
  CHECK(st.code() == StatusCode::kIoError);
  CHECK(st.message().find("not a regular file") != std::string::npos);
  CHECK(fs::is_fifo(fifo));
  CHECK(WriteAll(t.dir.string(), "x").code() == StatusCode::kIoError);
  CHECK(fs::is_directory(t.dir));
  if (fs::exists("/dev/full")) {
    CHECK(WriteAll("/dev/full", "x").code() == StatusCode::kIoError);
    CHECK(fs::is_character_file("/dev/full"));
  }
  CHECK(Entries(t.dir) == 1);
}

TEST_CASE("output file: a symbolic link is written through, a dangling one is refused", "[unit]") {
  TempDir t;
  const fs::path target = t.dir / "real.gguf", link = t.dir / "link.gguf";
  REQUIRE(WriteAll(target.string(), "old").ok());
  fs::create_symlink(target, link);
  REQUIRE(WriteAll(link.string(), "new").ok());
  CHECK(fs::is_symlink(link));
  CHECK(Read(target) == "new");
  const fs::path dangling = t.dir / "dangling";
  fs::create_symlink(t.dir / "nowhere", dangling);
  CHECK(WriteAll(dangling.string(), "x").code() == StatusCode::kIoError);
  CHECK(!fs::exists(t.dir / "nowhere"));
}

TEST_CASE("a FIFO as a model path is refused at once and not waited on", "[unit]") {
  // Issue 27 item 3: MappedFile::Open opened before checking the file type, and opening a FIFO
  // for reading blocks until a writer appears.
  TempDir t;
  const fs::path fifo = t.dir / "model.gguf";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto opened =
      std::async(std::launch::async, [&] { return MappedFile::Open(fifo.string()).status(); });
  if (opened.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    const int w = ::open(fifo.c_str(), O_WRONLY);  // a writer unblocks the reader
    if (w >= 0) ::close(w);
    opened.wait();
    FAIL("opening a FIFO blocked");
  }
  const Status st = opened.get();
  CHECK(st.code() == StatusCode::kIoError);
  CHECK(st.message().find("not a regular file") != std::string::npos);
}
