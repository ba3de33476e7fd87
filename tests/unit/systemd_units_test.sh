#!/bin/sh
# The systemd units in control/systemd parse and name valid settings
# (systemd-analyze verify). The binaries they start are not installed in a
# build tree, so that one complaint is expected and filtered; anything else
# systemd says about a unit fails the test.
set -u
units_dir=$1
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze missing"; exit 1; }
status=0
for unit in "$units_dir"/*.service; do
  complaints=$(systemd-analyze verify "$unit" 2>&1 |
    grep -v -E 'Command /usr/local/bin/stampede(-control|-dataplane)? is not executable')
  if [ -n "$complaints" ]; then
    echo "FAIL: $unit"
    echo "$complaints"
    status=1
  else
    echo "ok: $unit"
  fi
done
exit $status
