// bpb_vs_flops.svg: valid BPB (linear y) against training FLOPs (log10 x),
// one polyline with point marks per arm, decade ticks, axis labels and a
// legend. Arm names are from the fixed arm list, so no text needs escaping.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "experiment/results.h"

namespace blt::experiment {

namespace {

constexpr double kW = 760, kH = 460, kLeft = 70, kRight = 190, kTop = 30, kBottom = 60;
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                   "#8c564b", "#e377c2", "#17becf", "#7f7f7f"};

std::string num(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string text(double x, double y, const std::string& s, const char* extra = "") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" font-size=\"12\"" + extra + ">" + s + "</text>\n";
}

struct Axes {
  double x0, x1, y0, y1;  // log10 FLOPs range, BPB range
  double px(double flops) const {
    return kLeft + (std::log10(flops) - x0) / (x1 - x0) * (kW - kLeft - kRight);
  }
  double py(double bpb) const { return kTop + (y1 - bpb) / (y1 - y0) * (kH - kTop - kBottom); }
};

// The data range with a margin; a single value gets a unit-wide range around it.
Axes axes_for(const std::vector<ArmResult>& rs) {
  double fx0 = INFINITY, fx1 = -INFINITY, by0 = INFINITY, by1 = -INFINITY;
  for (const auto& r : rs)
    for (const auto& p : r.curve) {
      if (!(p.train_flops > 0) || !std::isfinite(p.valid_bpb)) continue;
      fx0 = std::min(fx0, std::log10(p.train_flops));
      fx1 = std::max(fx1, std::log10(p.train_flops));
      by0 = std::min(by0, p.valid_bpb);
      by1 = std::max(by1, p.valid_bpb);
    }
  if (!std::isfinite(fx0)) return {0, 1, 0, 1};
  if (fx1 - fx0 < 0.1) fx0 -= 0.5, fx1 += 0.5;
  if (by1 - by0 < 0.1) by0 -= 0.5, by1 += 0.5;
  const double mx = 0.05 * (fx1 - fx0), my = 0.05 * (by1 - by0);
  return {fx0 - mx, fx1 + mx, by0 - my, by1 + my};
}

std::string axes_svg(const Axes& a) {
  std::string s = "<rect x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" +
                  num(kW - kLeft - kRight) + "\" height=\"" + num(kH - kTop - kBottom) +
                  "\" fill=\"none\" stroke=\"#333\"/>\n";
  // Ticks at 1, 2 and 5 × each power of ten in range (1 only when the range spans over two decades).
  const bool wide = a.x1 - a.x0 > 2;
  for (double e = std::floor(a.x0); e <= a.x1; e += 1)
    for (int m : {1, 2, 5}) {
      const double v = e + std::log10(static_cast<double>(m));
      if (v < a.x0 || v > a.x1 || (wide && m != 1)) continue;
      const double x = kLeft + (v - a.x0) / (a.x1 - a.x0) * (kW - kLeft - kRight);
      s += "<line class=\"tick\" x1=\"" + num(x) + "\" y1=\"" + num(kH - kBottom) + "\" x2=\"" + num(x) +
           "\" y2=\"" + num(kH - kBottom + 5) + "\" stroke=\"#333\"/>\n";
      s += text(x - 14, kH - kBottom + 20, std::to_string(m) + "e" + std::to_string(static_cast<int>(e)));
    }
  for (int i = 0; i <= 4; ++i) {
    const double v = a.y0 + (a.y1 - a.y0) * i / 4, y = a.py(v);
    s += "<line class=\"tick\" x1=\"" + num(kLeft - 5) + "\" y1=\"" + num(y) + "\" x2=\"" + num(kLeft) +
         "\" y2=\"" + num(y) + "\" stroke=\"#333\"/>\n";
    s += text(kLeft - 44, y + 4, num(v));
  }
  s += text((kW - kRight + kLeft) / 2 - 120, kH - 15, "training FLOPs (executed, log scale)",
            " class=\"x-label\"");
  s += text(18, (kH - kBottom + kTop) / 2 + 60, "valid bits per byte",
            (" class=\"y-label\" transform=\"rotate(-90 18 " + num((kH - kBottom + kTop) / 2 + 60) + ")\"")
                .c_str());
  return s;
}

}  // namespace

std::string bpb_svg(const std::vector<ArmResult>& rs) {
  const Axes a = axes_for(rs);
  std::string s =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
      num(kW) + "\" height=\"" + num(kH) + "\" font-family=\"sans-serif\">\n" +
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" + axes_svg(a);
  size_t k = 0;
  for (const auto& r : rs) {
    if (r.curve.empty()) continue;
    const char* color = kColors[k % std::size(kColors)];
    std::string pts, marks;
    for (const auto& p : r.curve) {
      if (!(p.train_flops > 0) || !std::isfinite(p.valid_bpb)) continue;
      pts += num(a.px(p.train_flops)) + "," + num(a.py(p.valid_bpb)) + " ";
      marks += "<circle cx=\"" + num(a.px(p.train_flops)) + "\" cy=\"" + num(a.py(p.valid_bpb)) +
               "\" r=\"3\" fill=\"" + color + "\"/>\n";
    }
    s += "<polyline class=\"arm\" data-arm=\"" + r.arm + "\" fill=\"none\" stroke=\"" + color +
         "\" stroke-width=\"2\" points=\"" + pts + "\"/>\n" + marks;
    const double ly = kTop + 10 + 20 * static_cast<double>(k);
    s += "<line x1=\"" + num(kW - kRight + 15) + "\" y1=\"" + num(ly) + "\" x2=\"" + num(kW - kRight + 40) +
         "\" y2=\"" + num(ly) + "\" stroke=\"" + color + "\" stroke-width=\"2\"/>\n";
    s += text(kW - kRight + 46, ly + 4, r.arm, " class=\"legend\"");
    ++k;
  }
  return s + "</svg>\n";
}

}  // namespace blt::experiment
