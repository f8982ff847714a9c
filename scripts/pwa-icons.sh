#!/usr/bin/env bash
# Regenerates the citizen PWA's PNG icons (pb_public/icons/) with ImageMagick.
# The PNGs are committed; run this only when the design changes.
# Drawn with primitives (no SVG delegate needed): a civic-blue square with a white
# speech bubble and a check mark. The glyph stays inside the central 80% so the
# same image works as a maskable icon.
set -euo pipefail
IM="${IM:-$(command -v magick || echo /usr/bin/convert)}"
cd "$(dirname "$0")/../pb_public/icons"
for size in 192 512; do
  s=$size
  "$IM" -size ${s}x${s} xc:'#1b4f9c' \
    -fill white -stroke none \
    -draw "roundrectangle $((s*24/100)),$((s*26/100)) $((s*76/100)),$((s*66/100)) $((s*6/100)),$((s*6/100))" \
    -draw "polygon $((s*34/100)),$((s*64/100)) $((s*34/100)),$((s*78/100)) $((s*48/100)),$((s*64/100))" \
    -fill none -stroke '#1b4f9c' -strokewidth $((s*5/100)) \
    -draw "line $((s*37/100)),$((s*46/100)) $((s*46/100)),$((s*55/100))" -draw "line $((s*46/100)),$((s*55/100)) $((s*63/100)),$((s*37/100))" \
    -strip PNG8:icon-${s}.png
done
ls -l icon-*.png
