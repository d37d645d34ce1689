// A fresh, uniquely named directory under the system temp folder, removed on
// destruction.
#pragma once

#include <filesystem>
#include <random>
#include <string>

namespace ls::test {

class temp_dir {
public:
  temp_dir() {
    static constexpr char hex[] = "0123456789abcdef";
    std::random_device rd;
    std::string name = "ls-test-";
    for (int i = 0; i < 16; ++i)
      name.push_back(hex[rd() % 16]);
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// A path inside the directory, as a string.
  std::string sub(const std::string& name) const {
    return (path_ / name).string();
  }

private:
  std::filesystem::path path_;
};

} // namespace ls::test
