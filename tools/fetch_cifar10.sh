#!/usr/bin/env bash
# Downloads CIFAR-10 (binary version) for the CIFAR-10 experiments (ES-Single
# paper, App. C.5, Figs. 23 and 24; reader: inner/data/cifar_reader.h) into
# <data_dir>/cifar10/, checking the archive's published md5.
#
#   bash tools/fetch_cifar10.sh <data_dir>
#   export ES_SINGLE_DATA_DIR=<data_dir>
#
# Needs internet access, curl or wget, md5sum and tar. No package registry
# the project's machines reach ships CIFAR-10, so this script has NOT been
# run on them: it is written for users with internet access and was checked
# only for syntax (bash -n) and its argument handling. Source:
# https://www.cs.toronto.edu/~kriz/cifar.html (Krizhevsky, 2009); md5 from
# that page. The archive (162 MB) unpacks to cifar-10-batches-bin/ with
# data_batch_1.bin .. data_batch_5.bin, test_batch.bin, batches.meta.txt and
# readme.html; those files are moved into <data_dir>/cifar10/.
set -euo pipefail

readonly URL="https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
readonly MD5="c32a1d4ab5d03f1284b67883e8d87530"
readonly FILES=(data_batch_1.bin data_batch_2.bin data_batch_3.bin
                data_batch_4.bin data_batch_5.bin test_batch.bin)

if [[ $# -ne 1 || "$1" == "-h" || "$1" == "--help" ]]; then
  echo "usage: $0 <data_dir>   (writes <data_dir>/cifar10/*.bin)" >&2
  exit 2
fi
data_dir="$1"
dest="${data_dir%/}/cifar10"

have_all() {
  local f
  for f in "${FILES[@]}"; do
    [[ -f "$dest/$f" && $(stat -c %s "$dest/$f") -eq 30730000 ]] || return 1
  done
}
if have_all; then
  echo "CIFAR-10 already in $dest"
  exit 0
fi

mkdir -p "$dest"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/cifar10.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
archive="$tmp/cifar-10-binary.tar.gz"

echo "downloading $URL"
if command -v curl > /dev/null; then
  curl -fL --retry 3 -o "$archive" "$URL"
elif command -v wget > /dev/null; then
  wget -O "$archive" "$URL"
else
  echo "error: neither curl nor wget is installed" >&2
  exit 1
fi

got="$(md5sum "$archive" | cut -d' ' -f1)"
if [[ "$got" != "$MD5" ]]; then
  echo "error: md5 of the download is $got, expected $MD5 (corrupt or" \
       "changed archive; nothing was written to $dest)" >&2
  exit 1
fi

tar -xzf "$archive" -C "$tmp"
for f in "${FILES[@]}" batches.meta.txt readme.html; do
  if [[ -f "$tmp/cifar-10-batches-bin/$f" ]]; then
    mv "$tmp/cifar-10-batches-bin/$f" "$dest/$f"
  fi
done
if ! have_all; then
  echo "error: the archive did not contain the six expected files of" \
       "30730000 bytes each" >&2
  exit 1
fi
echo "CIFAR-10 is in $dest; export ES_SINGLE_DATA_DIR=${data_dir%/}"
