#!/bin/sh
# On removal (deb: remove; rpm: 0 packages left) stop the timer if someone
# enabled it, and delete its metrics file: node_exporter must not go on
# reporting the last result forever. An upgrade keeps both.
set -e
case "$1" in
  remove|0)
    if [ -d /run/systemd/system ]; then
      systemctl disable --now ngxdoctor-check.timer >/dev/null 2>&1 || true
    fi
    rm -f /var/lib/node_exporter/textfile_collector/ngxdoctor.prom \
          /var/lib/node_exporter/textfile_collector/ngxdoctor.prom.tmp
    ;;
esac
exit 0
