#!/usr/bin/env bash
# Install evgw as a hardened systemd service on Debian 12. Idempotent: run it again to upgrade.
#   sudo systemd/install.sh                  install or upgrade (packages from PyPI, hash-checked)
#   sudo systemd/install.sh --wheels DIR     offline: every package from the wheel folder DIR
#   systemd/install.sh --dry-run             print what it would do, change nothing
#   systemd/install.sh --root DIR            stage the install under DIR (a test or image build):
#                                            no apt, no user, no chown, `systemctl --root`
# The wheel folder is made on a machine with the same Debian and CPU architecture:
#   python3 -m pip download --require-hashes --no-deps -r requirements.lock -d DIR
# It never overwrites /etc/evgw/evgw.toml or an existing device key. The unit is enabled (and
# restarted if it was running) only once `evgw check` passes on the configuration; until
# then it says what is wrong and which command to run next.
# Python packages come from requirements.lock only: pinned, hash-checked, no resolver.
set -euo pipefail

SRC="$(cd "$(dirname "$0")/.." && pwd)"
LOCK="$SRC/requirements.lock"
USER_NAME=evgw
APT_PACKAGES=(python3 python3-venv fonts-wqy-zenhei)
DRY_RUN=0
ROOT=""
WHEELS=""

usage() { echo "usage: $0 [--dry-run] [--wheels DIR] [--root DIR]" >&2; exit 2; }
while [ "$#" -gt 0 ]; do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --wheels)
            [ "$#" -ge 2 ] || usage
            [ -d "$2" ] || { echo "install.sh: --wheels $2: no such folder" >&2; exit 2; }
            WHEELS="$(cd "$2" && pwd)"; shift ;;
        --root) [ "$#" -ge 2 ] || usage; ROOT="$(mkdir -p "$2" && cd "$2" && pwd)"; shift ;;
        *) usage ;;
    esac
    shift
done

# Paths as the running system sees them; $ROOT is prepended only where files are written.
PREFIX=/opt/evgw
VENV="$PREFIX/.venv"
CONF_DIR=/etc/evgw
CONFIG="$CONF_DIR/evgw.toml"
KEY_DIR="$CONF_DIR/keys"
KEY="$KEY_DIR/device.ed25519"
DATA_DIR=/var/lib/evgw
OLD_KEY="$DATA_DIR/keys/device.ed25519"
UNIT=/etc/systemd/system/evgw.service
BIN=/usr/local/bin/evgw
MAN=/usr/local/share/man/man1/evgw.1

run() {
    printf '+'; printf ' %q' "$@"; printf '\n'
    if [ "$DRY_RUN" -eq 0 ]; then "$@"; fi
}

# owner USER GROUP: install(1)'s ownership options, none when staging under --root.
owner() {
    if [ -z "$ROOT" ]; then printf '%s\n' -o "$1" -g "$2"; fi
}

if [ "$DRY_RUN" -eq 0 ] && [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (or with --dry-run to see what it would do)" >&2
    exit 1
fi

# (1) Debian packages the service needs at run time.
if [ -z "$ROOT" ]; then
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
fi

# (2) A dedicated system user without a login shell or home of its own, and its group
# `evgw`: members may read the configuration and run `evgw status` without sudo.
if [ -z "$ROOT" ] && ! getent passwd "$USER_NAME" >/dev/null; then
    run useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
        --shell /usr/sbin/nologin --comment "evgw recording gateway" "$USER_NAME"
fi

# (3) The program: a root-owned virtualenv the service can read but not change. Every
# dependency (and the build backend) is pinned with its sha256 in the lock; evgw itself is
# then built from this tree with that backend and nothing fetched.
if [ ! -x "$ROOT$VENV/bin/python" ]; then
    run python3 -m venv "$ROOT$VENV"
fi
offline=()
if [ -n "$WHEELS" ]; then
    offline=(--no-index --find-links "$WHEELS")
fi
run "$ROOT$VENV/bin/python" -m pip install -q --require-hashes --no-deps "${offline[@]}" \
    -r "$LOCK"
run "$ROOT$VENV/bin/python" -m pip install -q --no-deps --no-index --no-build-isolation "$SRC"

# (3b) On PATH, with its manual page (generated from the installed command line).
run install -d -m 0755 "$ROOT$(dirname "$BIN")" "$ROOT$(dirname "$MAN")"
if [ -e "$ROOT$BIN" ] && [ ! -L "$ROOT$BIN" ]; then
    echo "= $BIN exists and is not our link: left as it is; evgw is $VENV/bin/evgw"
else
    run ln -sfn "$VENV/bin/evgw" "$ROOT$BIN"
fi
run "$ROOT$VENV/bin/python" -m gateway.cli.manpage --output "$ROOT$MAN"

# (4) Configuration: readable by the service's group only (it may hold camera passwords).
# shellcheck disable=SC2046  # owner prints zero or four words
run install -d $(owner root "$USER_NAME") -m 0750 "$ROOT$CONF_DIR"
if [ ! -e "$ROOT$CONFIG" ]; then
    # shellcheck disable=SC2046
    run install $(owner root "$USER_NAME") -m 0640 "$SRC/config/evgw.example.toml" \
        "$ROOT$CONFIG"
else
    echo "= $CONFIG exists: left as it is"
fi

# (5) The data dir, the service user's; its group may enter it, and reads only the index
# (the unit makes that 0640; everything else stays 0600). The device signing key is root's,
# outside every path the service may write; the unit hands the service a copy
# (LoadCredential=). A key from an older install in the data dir is moved there, keeping the
# device's identity.
# shellcheck disable=SC2046
run install -d $(owner "$USER_NAME" "$USER_NAME") -m 0750 "$ROOT$DATA_DIR"
# shellcheck disable=SC2046
run install -d $(owner root root) -m 0700 "$ROOT$KEY_DIR"
if [ ! -e "$ROOT$KEY" ] && [ -e "$ROOT$OLD_KEY" ]; then
    run mv "$ROOT$OLD_KEY" "$ROOT$OLD_KEY.pub" "$ROOT$KEY_DIR/"
    if [ -z "$ROOT" ]; then run chown root:root "$KEY" "$KEY.pub"; fi
    run chmod 0600 "$ROOT$KEY"
    echo "= moved the device key to $KEY: set [keys] signing_key = \"$KEY\" in $CONFIG"
elif [ ! -e "$ROOT$KEY" ]; then
    run "$ROOT$VENV/bin/evgw" keygen --out "$ROOT$KEY_DIR"
else
    echo "= $KEY exists: left as it is (public key: $KEY.pub)"
fi

# (6) The unit, enabled at boot only once the configuration passes `evgw check`; restarted
# now only if it was already running (an upgrade).
run install -d -m 0755 "$ROOT$(dirname "$UNIT")"
run install -m 0644 "$SRC/systemd/evgw.service" "$ROOT$UNIT"
systemctl=(systemctl)
if [ -n "$ROOT" ]; then
    systemctl=(systemctl "--root=$ROOT")
elif [ -d /run/systemd/system ]; then
    run systemctl daemon-reload
fi
checked=0
if [ "$DRY_RUN" -eq 1 ]; then
    run "$VENV/bin/evgw" check --config "$CONFIG"
    echo "= (dry run) the unit is enabled only if that check passes"
    checked=1
elif "$ROOT$VENV/bin/evgw" check --config "$ROOT$CONFIG"; then
    checked=1
fi
if [ "$checked" -eq 1 ]; then
    run "${systemctl[@]}" enable evgw.service
    if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then
        run systemctl try-restart evgw.service
    fi
    [ "$DRY_RUN" -eq 1 ] || cat <<EOF
= $CONFIG passes \`evgw check\`: the unit is enabled at boot.
Next: give the archive the device public key in $KEY.pub, then:
    systemctl start evgw && journalctl -fu evgw
EOF
elif "${systemctl[@]}" is-enabled --quiet evgw.service 2>/dev/null; then
    cat <<EOF
= $CONFIG does not pass \`evgw check\` (every problem is listed above): the unit stays
enabled as it was but is NOT restarted onto this version.
Next: fix $CONFIG, then run
    evgw check && systemctl try-restart evgw
EOF
else
    cat <<EOF
= the unit is NOT enabled: $CONFIG does not pass \`evgw check\` (every problem is listed above).
Next: edit $CONFIG (gateway id, cameras, [keys] recipients, [upload]), then run
    evgw check && systemctl enable --now evgw
EOF
fi
cat <<EOF
Users in the group $USER_NAME may run \`evgw status\` without sudo: usermod -aG $USER_NAME NAME
EOF
