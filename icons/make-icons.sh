#!/usr/bin/env bash
# Regenerates every icon from the SVG drawn below. Needs Debian's `librsvg2-bin` (rsvg-convert) and `imagemagick`
# (/usr/bin/convert).
# Tray icons: one per operator state, so the colour alone tells the state from across the room.
set -euo pipefail
cd "$(dirname "$0")"
convert=/usr/bin/convert

handset() { # $1 background colour, $2 ring colour
  cat <<SVG
<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 64 64">
  <circle cx="32" cy="32" r="30" fill="$1" stroke="$2" stroke-width="3"/>
  <path d="M 21 17 C 14 30 26 46 45 46" fill="none" stroke="#ffffff" stroke-width="6.5" stroke-linecap="round"/>
  <rect x="15.5" y="11" width="11" height="8" rx="3" fill="#ffffff" transform="rotate(30 21 15)"/>
  <rect x="41" y="41.5" width="8" height="11" rx="3" fill="#ffffff" transform="rotate(-55 45 47)"/>
</svg>
SVG
}

render() { # $1 name, $2 background, $3 ring
  handset "$2" "$3" > "/tmp/okp-${1//\//-}.svg"
  rsvg-convert -w 512 -h 512 "/tmp/okp-${1//\//-}.svg" -o "/tmp/okp-${1//\//-}.png"
  "$convert" "/tmp/okp-${1//\//-}.png" "PNG32:$1.png"
  rm -f "/tmp/okp-${1//\//-}.png"
  rm -f "/tmp/okp-${1//\//-}.svg"
}

render icon '#1e3a5f' '#ffd166'
"$convert" icon.png -resize 32x32 PNG32:32x32.png
"$convert" icon.png -resize 128x128 PNG32:128x128.png
"$convert" icon.png -resize 256x256 PNG32:128x128@2x.png
"$convert" icon.png -define icon:auto-resize=256,64,48,32,16 icon.ico

mkdir -p tray
for state in offline:'#7a7f87':'#4b4f55' ready:'#1f9d55':'#13683a' ringing:'#2f6fdf':'#1b4aa0' \
             talking:'#d64545':'#8f2525' break:'#e0a100':'#9a6e00'; do
  IFS=: read -r name bg ring <<<"$state"
  render "tray/$name" "$bg" "$ring"
  "$convert" "tray/$name.png" -resize 64x64 "PNG32:tray/$name.png"
done
