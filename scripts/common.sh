# Shared by run.sh and test.sh: install what is missing, or say exactly what to install.

# ensure_packages PKG...: installs the Debian packages that are not installed yet (as root),
# or prints the apt-get line and fails (as anyone else).
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "==> Installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "Missing Debian packages. Install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
}

ensure_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "The .NET 10 SDK is missing: install it (https://dot.net) and run this again." >&2
    exit 1
  fi
}

# ensure_commands CMD:PKG...: like ensure_packages, for commands that may come from elsewhere
# (node and npm are often installed from nodejs.org rather than Debian).
ensure_commands() {
  local pkgs=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || pkgs+=(${pair#*:})
  done
  [ ${#pkgs[@]} -eq 0 ] || ensure_packages "${pkgs[@]}"
}

# What building and running the platform needs: git (version stamp), npm (Bootstrap assets),
# bubblewrap (the sandbox of query workers).
ensure_run_prerequisites() {
  ensure_dotnet
  ensure_commands git:git node:nodejs npm:"nodejs npm" bwrap:bubblewrap
}
