// Numeric guards of the training loop: finding the first parameter whose
// values or gradients hold a NaN or an infinity (to name it when a loss or the
// global gradient norm turns non-finite), and a watch over the step losses
// that warns once when the loss rises far above its running minimum.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "core/error.h"
#include "nn/params.h"

namespace blt::train {

// Training stopped on a non-finite loss, gradient or weight; names the step and the tensor.
struct DivergenceError : Error {
  using Error::Error;
};

enum class ParamArena { Values, Grads };

// The name of the first parameter (declaration order) holding a non-finite entry in the chosen
// arena; nullopt when all are finite.
std::optional<std::string> first_non_finite(const nn::ParamRegistry& reg, ParamArena arena);

// Warns once when the mean of the last kRecent step losses exceeds both 2 x the running minimum
// and the minimum + 1 nat: a diverging run, not noise.
class LossWatch {
 public:
  static constexpr int kRecent = 3;
  // The warning to print the first time the rise is seen at `step`; nullopt otherwise.
  std::optional<std::string> observe(int64_t step, double loss);

 private:
  std::array<double, kRecent> recent_{};
  int64_t seen_ = 0;
  double min_ = 0;
  bool warned_ = false;
};

}  // namespace blt::train
