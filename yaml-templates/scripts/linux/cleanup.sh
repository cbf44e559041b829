#!/usr/bin/env bash
# Shrinks the image before Image Builder generalizes it: package caches and logs.
set -euo pipefail

apt-get clean
rm -rf /var/lib/apt/lists/* /tmp/* /var/tmp/*
find /var/log -type f -name '*.log' -exec truncate --size 0 {} +
echo "[cleanup] done"
