// SVG rendering of a patched byte sequence. Plain string building: one
// <rect> per patch (alternating shade), one <line class="patch-start"> per
// patch, a <polyline> per run of finite entropies, the dashed threshold line,
// axes with tick labels, and one <text class="byte"> per byte.
#include "patching/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "core/error.h"

namespace blt::patching {

namespace {

constexpr double kCell = 14;  // px per byte
constexpr double kLeft = 64, kRight = 24, kTop = 44, kPlotH = 200, kBottom = 78;

std::string num(double v, int decimals = 2) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

// long: one SVG document written top to bottom (axes, bars, threshold, patches, legend) reads best whole.
std::string patch_svg(std::span<const uint8_t> bytes, std::span<const float> entropies,
                      std::span<const int32_t> patch_lengths, float threshold) {
  const int64_t n = static_cast<int64_t>(bytes.size());
  if (static_cast<int64_t>(entropies.size()) != n)
    throw ShapeError("[patch_svg] entropies (" + std::to_string(entropies.size()) + ") vs bytes (" +
                     std::to_string(n) + ")");
  int64_t total = 0;
  for (int32_t l : patch_lengths) {
    if (l < 0) throw ShapeError("[patch_svg] negative patch length " + std::to_string(l));
    total += l;
  }
  if (total != n && total != n + 1)
    throw ShapeError("[patch_svg] patch_lengths sum to " + std::to_string(total) + ", expected " +
                     std::to_string(n) + " or " + std::to_string(n + 1) + " (bytes " + std::to_string(n) +
                     ")");

  const int64_t n_cells = n + 1;  // the last cell is the next, not yet seen byte
  const double width = kLeft + static_cast<double>(n_cells) * kCell + kRight;
  const double height = kTop + kPlotH + kBottom;
  const double plot_bottom = kTop + kPlotH;
  double y_max = std::isfinite(threshold) ? static_cast<double>(threshold) : 0.0;
  for (float h : entropies)
    if (std::isfinite(h)) y_max = std::max(y_max, static_cast<double>(h));
  y_max = std::max(1.0, std::ceil(y_max * 1.1));
  auto x_of = [](double cell) { return kLeft + cell * kCell; };
  auto y_of = [&](double v) { return plot_bottom - std::clamp(v, 0.0, y_max) / y_max * kPlotH; };

  int64_t n_patches = 0;
  for (int32_t l : patch_lengths) n_patches += l > 0;
  std::string s;
  s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" + num(height) +
       "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
       "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s += "<rect x=\"0\" y=\"0\" width=\"" + num(width) + "\" height=\"" + num(height) + "\" fill=\"white\"/>\n";
  s += "<text x=\"" + num(kLeft) + "\" y=\"20\" font-size=\"13\">Entropy patching: " + std::to_string(n) +
       " bytes, " + std::to_string(n_patches) + " patches, threshold " + num(threshold, 4) + "</text>\n";

  // Patches: alternating shading and a start mark each.
  int64_t pos = 0, k = 0;
  for (int32_t l : patch_lengths) {
    if (l == 0) continue;
    const double x = x_of(static_cast<double>(pos));
    s += "<rect class=\"patch\" x=\"" + num(x) + "\" y=\"" + num(kTop) + "\" width=\"" + num(l * kCell) +
         "\" height=\"" + num(kPlotH) + "\" fill=\"" + (k % 2 ? "#eef3fb" : "#fbf6ee") + "\"/>\n";
    s += "<line class=\"patch-start\" x1=\"" + num(x) + "\" y1=\"" + num(kTop) + "\" x2=\"" + num(x) +
         "\" y2=\"" + num(plot_bottom + 22) + "\" stroke=\"#3465a4\" stroke-width=\"1\"/>\n";
    pos += l;
    ++k;
  }

  // Axes, ticks and labels.
  s += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(kTop) + "\" x2=\"" + num(kLeft) + "\" y2=\"" +
       num(plot_bottom) + "\" stroke=\"black\"/>\n";
  s += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(plot_bottom) + "\" x2=\"" + num(x_of(n_cells)) +
       "\" y2=\"" + num(plot_bottom) + "\" stroke=\"black\"/>\n";
  const double step = y_max <= 10 ? 1.0 : std::ceil(y_max / 8);
  for (double v = 0; v <= y_max + 1e-9; v += step) {
    s += "<line x1=\"" + num(kLeft - 4) + "\" y1=\"" + num(y_of(v)) + "\" x2=\"" + num(kLeft) + "\" y2=\"" +
         num(y_of(v)) + "\" stroke=\"black\"/>\n";
    s += "<text x=\"" + num(kLeft - 7) + "\" y=\"" + num(y_of(v) + 4) + "\" text-anchor=\"end\">" + num(v) +
         "</text>\n";
  }
  s += "<text x=\"16\" y=\"" + num(kTop + kPlotH / 2) +
       "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " + num(kTop + kPlotH / 2) +
       ")\">entropy of the next byte (nats)</text>\n";
  s += "<text x=\"" + num(kLeft) + "\" y=\"" + num(height - 10) +
       "\">bytes (space shown as _, other non-printable bytes as hex; last cell: next byte)</text>\n";
  for (int64_t i = 0; i < n_cells; i += 10)
    s += "<text x=\"" + num(x_of(i + 0.5)) + "\" y=\"" + num(plot_bottom + 38) +
         "\" text-anchor=\"middle\" font-size=\"8\" fill=\"#666\">" + std::to_string(i) + "</text>\n";

  // Threshold.
  if (std::isfinite(threshold)) {
    const double y = y_of(threshold);
    s += "<line class=\"threshold\" x1=\"" + num(kLeft) + "\" y1=\"" + num(y) + "\" x2=\"" +
         num(x_of(n_cells)) + "\" y2=\"" + num(y) + "\" stroke=\"#cc0000\" stroke-dasharray=\"6 4\"/>\n";
  }

  // Entropies: H[i] above byte i+1, one polyline per run of finite values.
  std::vector<std::string> runs(1);
  for (int64_t i = 0; i < n; ++i) {
    const float h = entropies[static_cast<size_t>(i)];
    if (!std::isfinite(h)) {
      if (!runs.back().empty()) runs.emplace_back();
      continue;
    }
    runs.back() += num(x_of(i + 1.5)) + "," + num(y_of(h)) + " ";
  }
  for (const std::string& r : runs)
    if (!r.empty())
      s += "<polyline class=\"entropy\" points=\"" + r.substr(0, r.size() - 1) +
           "\" fill=\"none\" stroke=\"#222\" stroke-width=\"1.5\"/>\n";
  for (int64_t i = 0; i < n; ++i) {
    const float h = entropies[static_cast<size_t>(i)];
    if (std::isfinite(h))
      s += "<circle cx=\"" + num(x_of(i + 1.5)) + "\" cy=\"" + num(y_of(h)) + "\" r=\"2\" fill=\"" +
           (std::isfinite(threshold) && h > threshold ? "#cc0000" : "#222") + "\"/>\n";
  }

  // Bytes along the x axis.
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t b = bytes[static_cast<size_t>(i)];
    const std::string x = num(x_of(i + 0.5)), y = num(plot_bottom + 16);
    if (b > 0x20 && b < 0x7F)
      s += "<text class=\"byte\" x=\"" + x + "\" y=\"" + y +
           "\" text-anchor=\"middle\" font-family=\"monospace\" "
           "font-size=\"12\">" +
           xml_escape(std::string(1, static_cast<char>(b))) + "</text>\n";
    else if (b == 0x20)
      s += "<text class=\"byte\" x=\"" + x + "\" y=\"" + y +
           "\" text-anchor=\"middle\" font-family=\"monospace\" "
           "font-size=\"12\" fill=\"#999\">_</text>\n";
    else {
      char hex[3];
      std::snprintf(hex, sizeof hex, "%02X", b);
      s += "<text class=\"byte\" x=\"" + x + "\" y=\"" + y +
           "\" text-anchor=\"middle\" font-family=\"monospace\" "
           "font-size=\"7\" fill=\"#888\">" +
           hex + "</text>\n";
    }
  }
  s += "</svg>\n";
  return s;
}

}  // namespace blt::patching
