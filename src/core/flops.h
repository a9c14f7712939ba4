// FlopCounter: FLOPs actually executed, per named model component and per
// phase. Ops add what they ran (matmul 2·M·N·K, attention 4·Dh per unmasked
// query-key pair); backward counts as measured by the op (2x forward for the
// ops here). A FlopScope names the component for the ops recorded inside it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace blt {

class FlopCounter {
 public:
  struct Entry {
    std::string name;
    double forward = 0;
    double backward = 0;
  };

  FlopCounter() { entries_.push_back({"other"}); }

  // Index of a component, created on first use.
  int component(std::string_view name) {
    for (size_t i = 0; i < entries_.size(); ++i)
      if (entries_[i].name == name) return static_cast<int>(i);
    entries_.push_back({std::string(name)});
    return static_cast<int>(entries_.size() - 1);
  }
  int current() const { return current_; }
  void set_current(int c) { current_ = c; }

  void add_forward(int comp, double f) { entries_[comp].forward += f; }
  void add_backward(int comp, double f) { entries_[comp].backward += f; }

  const std::vector<Entry>& entries() const { return entries_; }
  double total_forward() const {
    double s = 0;
    for (const auto& e : entries_) s += e.forward;
    return s;
  }
  double total_backward() const {
    double s = 0;
    for (const auto& e : entries_) s += e.backward;
    return s;
  }
  void clear() {
    for (auto& e : entries_) e.forward = e.backward = 0;
  }

 private:
  std::vector<Entry> entries_;
  int current_ = 0;
};

// Sets the component of a counter for the lifetime of the scope.
class FlopScope {
 public:
  FlopScope(FlopCounter& c, std::string_view name) : c_(c), saved_(c.current()) { c.set_current(c.component(name)); }
  ~FlopScope() { c_.set_current(saved_); }
  FlopScope(const FlopScope&) = delete;
  FlopScope& operator=(const FlopScope&) = delete;

 private:
  FlopCounter& c_;
  int saved_;
};

}  // namespace blt
