#!/usr/bin/env bash
# Headless Chromium renders the HTML report and notebooks in tests. Called by .ci/run only (never by `make test`:
# a test command must not change the system). Installs it when we can (root + apt); otherwise the browser tests
# skip with the command to run.
set -u
if { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; } \
   && command -v chromedriver >/dev/null 2>&1; then  # chromedriver: the eye test's Selenium tests drive the browser
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo ".ci/run: installing headless Chromium for the browser tests: apt-get install chromium chromium-driver"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
    || echo "could not install chromium: browser tests will be skipped"
else
  echo "chromium not found and cannot be installed here: browser tests will be skipped"
fi
exit 0
