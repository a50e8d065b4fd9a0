#!/usr/bin/env bash
# Checks the system libraries and programs chapbook needs and, where it can (root with apt-get),
# installs the missing ones. Otherwise it prints the command that installs them and fails.
#   tools/system-deps.sh           what building needs: Pango for WeasyPrint, HarfBuzz subsetting
#   tools/system-deps.sh --tests   also what the tests run: Java (EPUBCheck), poppler-utils
#                                  (pdftotext, pdftoppm), Chromium (screenshot, live preview)
#                                  and LibreOffice Writer (opens the Word edition)
#   tools/system-deps.sh --checks  the same, and Node.js and npm for Ace and axe-core
set -euo pipefail

packages=()
# The linker cache, read once. Not `ldconfig -p | grep -q`: grep stops at the first match,
# ldconfig dies of SIGPIPE writing the rest, and pipefail fails the test of an installed library.
ldcache="$(ldconfig -p 2>/dev/null || true)"
have_lib() { [[ "$ldcache" == *"$1"* ]]; }
have_lib 'libpango-1.0.so.0' || packages+=(libpango-1.0-0)
have_lib 'libpangoft2-1.0.so.0' || packages+=(libpangoft2-1.0-0)
have_lib 'libharfbuzz-subset.so.0' || packages+=(libharfbuzz-subset0)
fc-list >/dev/null 2>&1 || packages+=(fontconfig)
python3 -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3-venv)
if [ "${1:-}" = "--tests" ] || [ "${1:-}" = "--checks" ]; then
  command -v java >/dev/null 2>&1 || packages+=(default-jre-headless)
  command -v pdftotext >/dev/null 2>&1 || packages+=(poppler-utils)
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
    || packages+=(chromium)  # the screenshot and live-preview tests, Ace and axe-core
  command -v script >/dev/null 2>&1 || packages+=(bsdutils)  # a terminal for the progress test
  command -v soffice >/dev/null 2>&1 \
    || packages+=(libreoffice-writer-nogui)  # opens the Word edition, as a reviewer would
fi
if [ "${1:-}" = "--bench" ]; then  # make bench compares with pandoc
  command -v pandoc >/dev/null 2>&1 || packages+=(pandoc)
fi
if [ "${1:-}" = "--checks" ]; then  # make check: Ace and axe-core run on Node.js
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi

[ ${#packages[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "chapbook: installing system packages: ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  exit 0
fi

echo "chapbook needs these system packages: ${packages[*]}" >&2
if command -v apt-get >/dev/null 2>&1; then
  echo "install them with:  sudo apt-get install ${packages[*]}" >&2
else
  echo "install Pango (for WeasyPrint) and a Java runtime with your system's package manager;" >&2
  echo "see https://doc.courtbouillon.org/weasyprint/stable/first_steps.html" >&2
fi
exit 1
