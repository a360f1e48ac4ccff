#!/usr/bin/env bash
# Debian packages the tests start on their own (nothing is left running): promtool (prometheus) checks /metrics;
# PostgreSQL and Redis back the fleet's shared state, haproxy balances the fleet test. Each test starts its own
# servers on free loopback ports. python3-torch exports the models made outside this project; chromium runs the
# console's browser tests.
set -euo pipefail
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || need+=(redis-server)
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
# PyTorch builds the foreign models the tests serve (an optimum-layout classifier, a sentence-transformers embedder).
/usr/bin/python3 -c "import torch" >/dev/null 2>&1 || need+=(python3-torch)
# Without it PyTorch multiplies matrices with Debian's reference BLAS: one core, about 20 times slower to train.
ls /usr/lib/*/openblas-pthread/libblas.so.3 >/dev/null 2>&1 || need+=(libopenblas0-pthread)
# The console's tests drive the system browser (puppeteer-core downloads none).
[ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The packages start system-wide servers; the tests use their own, so these are not needed.
for service in postgresql redis-server haproxy; do $SUDO service "$service" stop >/dev/null 2>&1 || true; done
