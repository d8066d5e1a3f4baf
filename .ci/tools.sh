# Installs the tools ca-rotator needs on a fresh machine and puts them on PATH (sourced by
# .ci/run; also usable by hand: `. .ci/tools.sh && install_tools`).
# Deno comes from the npm registry; curl and the ssh client and server from Debian's packages
# (haproxy, iproute2, openssl, openssh-server, sudo and jq are installed by `deno task cluster setup`).
DENO_VERSION=2.9.6

install_tools() {
  local cache="${CA_ROTATOR_CACHE:-$HOME/.cache/ca-rotator}"
  local deno_dir="$cache/deno-$DENO_VERSION"
  if [ ! -x "$deno_dir/node_modules/.bin/deno" ]; then
    mkdir -p "$deno_dir"
    npm install --prefix "$deno_dir" --no-audit --no-fund "deno@$DENO_VERSION" >&2
  fi
  export PATH="$deno_dir/node_modules/.bin:$PATH"
  local missing=()
  command -v curl >/dev/null || missing+=(curl)
  command -v ssh >/dev/null || missing+=(openssh-client)
  command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
  deno --version | head -n 1
}
