#!/usr/bin/env bash
# Install evgw as a hardened systemd service on Debian 12. Idempotent: run it again to upgrade.
#   sudo systemd/install.sh            install or upgrade
#   systemd/install.sh --dry-run       print what it would do, change nothing
# It never overwrites /etc/evgw/evgw.toml or an existing device key, and does not start a
# service that was not running: edit the configuration first, then `systemctl start evgw`.
# Python packages come from requirements.lock only: pinned, hash-checked, no resolver.
set -euo pipefail

SRC="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX=/opt/evgw
VENV="$PREFIX/.venv"
LOCK="$SRC/requirements.lock"
CONF_DIR=/etc/evgw
KEY_DIR="$CONF_DIR/keys"
KEY="$KEY_DIR/device.ed25519"
DATA_DIR=/var/lib/evgw
OLD_KEY="$DATA_DIR/keys/device.ed25519"
UNIT=/etc/systemd/system/evgw.service
USER_NAME=evgw
APT_PACKAGES=(python3 python3-venv fonts-wqy-zenhei)
DRY_RUN=0

case "${1:-}" in
    --dry-run) DRY_RUN=1 ;;
    "") ;;
    *) echo "usage: $0 [--dry-run]" >&2; exit 2 ;;
esac

run() {
    printf '+'; printf ' %q' "$@"; printf '\n'
    if [ "$DRY_RUN" -eq 0 ]; then "$@"; fi
}

if [ "$DRY_RUN" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (or with --dry-run to see what it would do)" >&2
    exit 1
fi

# (1) Debian packages the service needs at run time.
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
fi

# (2) A dedicated system user without a login shell or home of its own.
if ! getent passwd "$USER_NAME" >/dev/null; then
    run useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
        --shell /usr/sbin/nologin --comment "evgw recording gateway" "$USER_NAME"
fi

# (3) The program: a root-owned virtualenv the service can read but not change. Every
# dependency (and the build backend) is pinned with its sha256 in the lock; evgw itself is
# then built from this tree with that backend and nothing fetched.
if [ ! -x "$VENV/bin/python" ]; then
    run python3 -m venv "$VENV"
fi
run "$VENV/bin/python" -m pip install -q --require-hashes --no-deps -r "$LOCK"
run "$VENV/bin/python" -m pip install -q --no-deps --no-index --no-build-isolation "$SRC"

# (4) Configuration: readable by the service's group only (it may hold camera passwords).
run install -d -o root -g "$USER_NAME" -m 0750 "$CONF_DIR"
if [ ! -e "$CONF_DIR/evgw.toml" ]; then
    run install -o root -g "$USER_NAME" -m 0640 "$SRC/config/evgw.example.toml" \
        "$CONF_DIR/evgw.toml"
else
    echo "= $CONF_DIR/evgw.toml exists: left as it is"
fi

# (5) The data dir, the service user's. The device signing key is root's, outside every
# path the service may write; the unit hands the service a copy (LoadCredential=). A key
# from an older install in the data dir is moved there, keeping the device's identity.
run install -d -o "$USER_NAME" -g "$USER_NAME" -m 0700 "$DATA_DIR"
run install -d -o root -g root -m 0700 "$KEY_DIR"
if [ ! -e "$KEY" ] && [ -e "$OLD_KEY" ]; then
    run mv "$OLD_KEY" "$OLD_KEY.pub" "$KEY_DIR/"
    run chown root:root "$KEY" "$KEY.pub"
    run chmod 0600 "$KEY"
    echo "= moved the device key to $KEY: set [keys] signing_key = \"$KEY\" in $CONF_DIR/evgw.toml"
elif [ ! -e "$KEY" ]; then
    run "$VENV/bin/evgw" keygen --out "$KEY_DIR"
else
    echo "= $KEY exists: left as it is (public key: $KEY.pub)"
fi

# (6) The unit: enabled at boot; restarted now only if it was already running (an upgrade).
run install -m 0644 "$SRC/systemd/evgw.service" "$UNIT"
if [ -d /run/systemd/system ]; then
    run systemctl daemon-reload
    run systemctl enable evgw.service
    run systemctl try-restart evgw.service
else
    run systemctl enable evgw.service
    echo "= systemd is not running here: the unit is enabled for the next boot"
fi

cat <<EOF
Next: edit $CONF_DIR/evgw.toml (gateway id, cameras, [keys] recipients, [upload]), give the
archive the device public key in $KEY.pub, then: systemctl start evgw && journalctl -fu evgw
EOF
