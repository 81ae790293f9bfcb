#!/usr/bin/env bash
# Installs everything the build, the tests and the experiments need on a fresh
# Debian 12 machine, from Debian's packages only. Idempotent: packages already
# present are left alone. Run as root (or with sudo available).
#
#   bash tools/setup.sh
set -euo pipefail

PACKAGES=(
  bazel-bootstrap        # Bazel 4.2.3, the only Bazel reachable offline
  bazel-rules-java       # @rules_java for Bazel's JDK toolchain
  default-jdk-headless   # Bazel needs a JDK
  g++
  libeigen3-dev          # Eigen 3.4 (incl. unsupported/Eigen/AutoDiff)
  libabsl-dev            # Abseil 20220623 LTS
  libdnnl-dev            # oneDNN 2.6 (v2 API)
  libgtest-dev libgmock-dev
  libbenchmark-dev       # Google Benchmark 1.7
  zlib1g-dev             # gzip IDX files
  libmujoco-dev          # MuJoCo 2.2.2 C API (Swimmer, Fig. 22)
  libsleef-dev           # vectorised exp/tanh (LSTM kernels), sin/cos/exp (toy 2D float32)
  librandom123-dev       # reference Philox4x32-10 (estimators/philox)
  nlohmann-json3-dev     # JSON sidecars and scoreboard
  libopenmpi-dev openmpi-bin  # Open MPI 4.1: the figures' *_mpi binaries and //experiments:mpi_test
  dataset-fashion-mnist  # FashionMNIST in IDX format (/usr/share/datasets)
  python3-matplotlib python3-numpy  # plotting scripts (run with /usr/bin/python3)
  git
  qemu-user              # //experiments:portable_bits_test runs binaries on emulated Intel/AMD CPUs
)

SUDO=""
if [[ "$(id -u)" != "0" ]]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
else
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

echo "setup: bazel $(bazel --version 2>/dev/null | head -1 || echo '?') at $(command -v bazel)"
echo "setup: done. Data: FashionMNIST from /usr/share/datasets/fashion-mnist;"
echo "       MNIST etc. from \$ES_SINGLE_DATA_DIR (CI: ../shared/data)."
